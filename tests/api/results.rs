//! The public results (docs/open-data.md): pages that show exactly the API's figures in
//! Vietnamese form and never an insufficient ward's, rank bands against their formula, the
//! "Anh/chị nói, chúng tôi làm" approval flow with its scopes, and the open data equal to the
//! API on both backends.

use serde_json::Value;

use crate::both;
use crate::helpers::{TestApp, stderr};
use crate::staff::signed_in;

/// Paper ballots for `ward` on `date`: `count` respondents around the agreement `level`
/// (1–5), cycling through the six sex × age cells, with a deterministic spread.
pub fn ballots(ward: &str, date: &str, count: usize, level: i32, seed: u64) -> String {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) % 3) as i32 - 1
    };
    let cells = [
        ("m", "18-34"),
        ("m", "35-54"),
        ("m", "55+"),
        ("f", "18-34"),
        ("f", "35-54"),
        ("f", "55+"),
    ];
    let mut out = String::new();
    for i in 0..count {
        let (sex, age) = cells[i % 6];
        let mut row = format!("{ward},{date},{sex},{age}");
        for _ in 0..8 {
            row.push_str(&format!(",{}", (level + next()).clamp(1, 5)));
        }
        row.push_str(",no,,");
        row.push_str(&format!(",{}", (level + next()).clamp(1, 5)));
        row.push_str(&format!(",{}", (level * 2 + next()).clamp(0, 10)));
        out.push_str(&row);
        out.push('\n');
    }
    out
}

pub const HEADER: &str =
    "ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,used_procedures,p1,p2,overall,trust\n";

/// Four wards of Hà Nội in 2026-Q3: 00004 published (60), 00008 low reliability (40), 00025
/// insufficient (29, just below 30), 00070 published (55, July); 00004 also in 2026-Q2.
pub async fn seed(app: &TestApp) {
    let mut csv = HEADER.to_string();
    csv.push_str(&ballots("00004", "2026-08-10", 60, 4, 1));
    csv.push_str(&ballots("00008", "2026-08-11", 40, 3, 2));
    csv.push_str(&ballots("00025", "2026-08-12", 29, 2, 3));
    csv.push_str(&ballots("00070", "2026-07-05", 55, 3, 4));
    csv.push_str(&ballots("00004", "2026-05-20", 50, 3, 5));
    let f = app.write_file("ballots.csv", &csv);
    let out = app.cli(&["responses", "import", &f]);
    assert!(out.status.success(), "{}", stderr(&out));
}

async fn json(app: &TestApp, path: &str) -> Value {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// The page, with the `/` that tera escapes in text and attributes put back.
async fn page(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap().replace("&#x2F;", "/")
}

/// A figure as the Vietnamese pages write it: one decimal, decimal comma.
fn vi(v: &Value) -> String {
    let x = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    format!("{:.1}", (x * 10.0).round() / 10.0).replace('.', ",")
}

fn vi_pct(v: &Value) -> String {
    format!("{}%", vi(&Value::from(v.as_f64().unwrap() * 100.0)))
}

/// The text of the element with `id`.
fn by_id(page: &str, id: &str) -> Option<String> {
    let at = page.find(&format!("id=\"{id}\">"))? + id.len() + 6;
    Some(page[at..at + page[at..].find('<')?].to_string())
}

both!(ward_page_shows_the_api_figures_in_vietnamese_form, |app| {
    seed(app).await;
    for (ward, status) in [("00004", "published"), ("00008", "low_reliability")] {
        let api = json(
            app,
            &format!("/api/v1/wards/{ward}/satisfaction?period=2026-Q3"),
        )
        .await;
        assert_eq!(api["status"], status, "{api}");
        let p = page(app, &format!("/results/wards/{ward}?period=2026-Q3")).await;
        assert_eq!(
            by_id(&p, "index-value"),
            Some(vi(&api["index"]["value"])),
            "{ward}"
        );
        assert_eq!(by_id(&p, "index-low"), Some(vi(&api["index"]["ci_low"])));
        assert_eq!(by_id(&p, "index-high"), Some(vi(&api["index"]["ci_high"])));
        assert_eq!(
            by_id(&p, "satisfied-value"),
            Some(vi_pct(&api["satisfied_share"]["value"]))
        );
        assert_eq!(by_id(&p, "trust-value"), Some(vi(&api["trust"]["value"])));
        assert_eq!(by_id(&p, "n-value"), Some(api["n"].to_string()));
        // Drawn, with the same figures in words as its text alternative.
        let words = format!(
            "Chỉ số hài lòng {} trên thang 0–100; khoảng tin cậy 95% từ {} đến {}.",
            vi(&api["index"]["value"]),
            vi(&api["index"]["ci_low"]),
            vi(&api["index"]["ci_high"])
        );
        assert!(
            p.contains(&format!("role=\"img\" aria-label=\"{words}\"")),
            "{ward}"
        );
        assert!(p.contains(&format!("<p id=\"index-words\">{words}</p>")));
        // Dimensions in words, with the API's values.
        assert!(p.contains("<th scope=\"row\">An ninh, trật tự</th>"));
        assert!(p.contains(&format!(
            "<th scope=\"row\">Thái độ, tác phong của cán bộ</th><td class=\"num\">{}</td>",
            vi(&api["dimensions"]["service"]["value"])
        )));
        assert_eq!(
            p.contains("class=\"caution\""),
            status == "low_reliability",
            "{ward}"
        );
        assert!(p.contains("href=\"/results/method\""));
        assert!(p.contains(&format!("href=\"/s/{ward}\"")));
        // No dot decimals on a Vietnamese page.
        let dotted = format!("{:.1}", api["index"]["value"].as_f64().unwrap());
        assert!(!p.contains(&format!(">{dotted}<")), "{ward}: {dotted}");
    }
    // The trend: quarters with the API's trend figures, the change flag in words.
    let trend = json(
        app,
        "/api/v1/wards/00004/trend?granularity=quarter&from=2026-Q2&to=2026-Q3",
    )
    .await;
    let p = page(app, "/results/wards/00004?period=2026-Q3").await;
    for pt in trend["points"].as_array().unwrap() {
        let label = match pt["period"].as_str().unwrap() {
            "2026-Q2" => "Quý 2/2026",
            _ => "Quý 3/2026",
        };
        let row = format!(
            "<th scope=\"row\">{label}</th><td class=\"num\">{}</td><td>{}–{}</td>",
            vi(&pt["index"]["value"]),
            vi(&pt["index"]["ci_low"]),
            vi(&pt["index"]["ci_high"])
        );
        assert!(p.contains(&row), "{row}");
    }
    let flag = &trend["points"][1]["change"];
    let words = match flag.as_str() {
        Some("significant_rise") => "Tăng rõ rệt so với kỳ trước",
        Some("significant_drop") => "Giảm rõ rệt so với kỳ trước",
        _ => "Không thay đổi rõ rệt",
    };
    assert!(p.contains(words), "{flag}");
    // English second.
    let en = page(app, "/results/wards/00004?period=2026-Q3&lang=en").await;
    let api = json(app, "/api/v1/wards/00004/satisfaction?period=2026-Q3").await;
    let dotted = format!(
        "{:.1}",
        (api["index"]["value"].as_f64().unwrap() * 10.0).round() / 10.0
    );
    assert_eq!(by_id(&en, "index-value"), Some(dotted));
    assert!(en.contains("lang=\"en\""));
});

both!(an_insufficient_ward_shows_no_figure_anywhere, |app| {
    seed(app).await;
    let period = hailong::period::Period::parse("2026-Q3").unwrap();
    // What the public must never see (the ministry would).
    let f = hailong::store::figures::ward_figures(
        &app.state.db,
        app.state.measure_ctx(),
        "00025",
        period,
    )
    .await
    .unwrap();
    assert_eq!(f.status, hailong::measure::Status::InsufficientData);
    assert!(f.n_eff < 30.0 && f.n_eff > 28.0, "{}", f.n_eff);
    let idx = f.index.expect("computable for the ministry");
    let hidden: Vec<String> = [idx.value, idx.ci_low, idx.ci_high, f.trust.0.unwrap()]
        .iter()
        .flat_map(|v| {
            let r = (v * 10.0).round() / 10.0;
            [format!("{r:.1}").replace('.', ","), format!("{r:.1}")]
        })
        .collect();
    for path in [
        "/results/wards/00025?period=2026-Q3",
        "/results/wards/00025?period=2026-Q3&lang=en",
    ] {
        let p = page(app, path).await;
        if path.ends_with("en") {
            assert!(p.contains("Not enough answers to publish yet"));
        } else {
            assert!(p.contains("Chưa đủ ý kiến để công bố"));
        }
        assert!(by_id(&p, "index-value").is_none(), "{path}");
        assert!(!p.contains("role=\"img\""), "{path}: no chart");
        assert!(!p.contains("<svg"), "{path}: no chart at all");
        for h in &hidden {
            assert!(!p.contains(h.as_str()), "{path} shows {h}");
        }
        assert!(!p.contains("id=\"n-value\""));
    }
    // On the province page: named, never with a figure.
    let p = page(app, "/results/provinces/01?period=2026-Q3").await;
    let row = p
        .find("<a href=\"/results/wards/00025?period=2026-Q3\">")
        .expect("the ward is listed");
    let details = p.find("<details").expect("listed among the unpublished");
    assert!(row > details, "00025 is not in the ranked table");
    assert!(!p[row..].contains("class=\"num\""));
    // Nor in the open data.
    let od = json(app, "/open-data/aggregates.json").await;
    assert!(
        od["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["ward_code"] != "00025")
    );
});

both!(rank_bands_follow_the_formula, |app| {
    seed(app).await;
    let r = json(app, "/api/v1/provinces/01/ranking?period=2026-Q3").await;
    let wards = r["wards"].as_array().unwrap();
    let ranked: Vec<&Value> = wards.iter().filter(|w| !w["rank"].is_null()).collect();
    let k = ranked.len();
    assert_eq!(k, 3, "00004, 00008, 00070: {r}");
    let ci = |w: &Value| {
        (
            w["index"]["ci_low"].as_f64().unwrap(),
            w["index"]["ci_high"].as_f64().unwrap(),
        )
    };
    let p = page(app, "/results/provinces/01?period=2026-Q3").await;
    for w in &ranked {
        let (lo, hi) = ci(w);
        let better = ranked.iter().filter(|o| ci(o).0 > hi).count();
        let worse = ranked.iter().filter(|o| ci(o).1 < lo).count();
        assert_eq!(w["rank_low"], 1 + better, "{w}");
        assert_eq!(w["rank_high"], k - worse, "{w}");
        let band = if 1 + better == k - worse {
            format!("hạng {}", 1 + better)
        } else {
            format!("hạng {}–{}", 1 + better, k - worse)
        };
        let code = w["ward_code"].as_str().unwrap();
        let row = format!(
            "<td class=\"band\">{band}</td><th scope=\"row\"><a href=\"/results/wards/{code}?period=2026-Q3\">"
        );
        assert!(p.contains(&row), "{row}");
        // The row's figures are the API's, in Vietnamese form.
        let at = p.find(&row).unwrap();
        let cells = format!(
            "<td class=\"num\">{}</td><td>{}–{}",
            vi(&w["index"]["value"]),
            vi(&w["index"]["ci_low"]),
            vi(&w["index"]["ci_high"])
        );
        assert!(p[at..].contains(&cells), "{cells}");
    }
    for w in wards.iter().filter(|w| w["rank"].is_null()) {
        assert!(w["rank_low"].is_null() && w["rank_high"].is_null(), "{w}");
    }
    // The published 00004 (level 4) is clearly above the insufficient one, which is unranked.
    let top = ranked.iter().find(|w| w["ward_code"] == "00004").unwrap();
    assert_eq!(top["rank_low"], 1);
});

both!(open_data_equals_the_api, |app| {
    seed(app).await;
    let od = json(app, "/open-data/aggregates.json").await;
    assert_eq!(od["licence"]["name"], "CC BY 4.0");
    assert!(
        od["licence"]["attribution"]["vi"]
            .as_str()
            .unwrap()
            .contains("Hài Lòng")
    );
    let names: Vec<&str> = od["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for c in [
        "ward_code",
        "province_name",
        "n_eff",
        "index_ci_low",
        "dim_service",
        "config_hash",
    ] {
        assert!(names.contains(&c), "{c}");
    }
    let rows = od["rows"].as_array().unwrap();
    let mut seen: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["ward_code"].as_str().unwrap(),
                r["period"].as_str().unwrap()
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "00004 2026-05",
            "00004 2026-08",
            "00004 2026-Q2",
            "00004 2026-Q3",
            "00008 2026-08",
            "00008 2026-Q3",
            "00070 2026-07",
            "00070 2026-Q3",
        ]
    );
    for row in rows {
        let code = row["ward_code"].as_str().unwrap();
        let period = row["period"].as_str().unwrap();
        let api = json(
            app,
            &format!("/api/v1/wards/{code}/satisfaction?period={period}"),
        )
        .await;
        for key in [
            "ward_code",
            "ward_name",
            "period",
            "n",
            "n_eff",
            "weighting",
            "status",
            "index",
            "satisfied_share",
            "trust",
            "dimensions",
            "method_version",
            "config_hash",
        ] {
            assert_eq!(row[key], api[key], "{code} {period} {key}");
        }
        assert_eq!(row["province_code"], "01");
        assert_eq!(row["province_name"], "Thành phố Hà Nội");
    }
    // The CSV: a BOM, the same rows, the same numbers.
    let r = app.get("/open-data/aggregates.csv").await;
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let head = reader.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), rows.len());
    for rec in &records {
        let row = rows
            .iter()
            .find(|r| r["ward_code"] == rec[col("ward_code")] && r["period"] == rec[col("period")])
            .expect("the same rows");
        let same = |csv_col: &str, v: &Value| {
            let x: f64 = rec[col(csv_col)].parse().unwrap();
            assert_eq!(x, v.as_f64().unwrap(), "{csv_col}");
        };
        same("index", &row["index"]["value"]);
        same("index_ci_high", &row["index"]["ci_high"]);
        same("satisfied_share_ci_low", &row["satisfied_share"]["ci_low"]);
        same("n_eff", &row["n_eff"]);
        same("dim_security", &row["dimensions"]["security"]["value"]);
        same("trust", &row["trust"]["value"]);
    }
});

both!(notes_are_approved_by_the_province_and_then_public, |app| {
    seed(app).await;
    let ward = signed_in(app, "cap@example.vn", "ward:00004").await;
    let other_ward = signed_in(app, "khac@example.vn", "ward:00008").await;
    let province = signed_in(app, "tinh@example.vn", "province:01").await;
    let far = signed_in(app, "xa@example.vn", "province:79").await;
    let ministry = signed_in(app, "bo@example.vn", "ministry").await;
    let text = "Đã lắp thêm đèn chiếu sáng ở ngõ 12 phố Đội Cấn theo phản ánh của người dân.";

    // The ward dashboard carries the form.
    let dash = ward.get("/staff/wards/00004").await.text().await.unwrap();
    assert!(dash.contains("action=\"/staff/wards/00004/actions\""));
    // Without the CSRF field: refused, nothing stored.
    let r = ward
        .post(
            "/staff/wards/00004/actions",
            &[("period", "2026-Q3"), ("text", text)],
        )
        .await;
    assert_eq!(r.status(), 403);
    // Too long: 422, the form kept, a Vietnamese message; nothing stored.
    let csrf = ward.csrf().await;
    let long = "ơ".repeat(501);
    let r = ward
        .post(
            "/staff/wards/00004/actions",
            &[("csrf", &csrf), ("period", "2026-Q3"), ("text", &long)],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("tối đa 500 ký tự"), "{body}");
    assert!(body.contains(&format!(">{long}</textarea>")));
    let r = ward
        .post(
            "/staff/wards/00004/actions",
            &[("csrf", &csrf), ("period", "quý ba"), ("text", text)],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains(text), "the text is kept");
    assert_eq!(app.count("SELECT COUNT(*) FROM action_notes").await, 0);
    // Outside the scope, or not a ward user of it: 404.
    for (b, who) in [
        (&other_ward, "another ward"),
        (&province, "the province"),
        (&ministry, "the ministry"),
    ] {
        let c = b.csrf().await;
        let r = b
            .post(
                "/staff/wards/00004/actions",
                &[("csrf", &c), ("period", "2026-Q3"), ("text", text)],
            )
            .await;
        assert_eq!(r.status(), 404, "{who}");
    }
    // The ward's own user: stored pending, confirmed.
    let r = ward
        .post(
            "/staff/wards/00004/actions",
            &[("csrf", &csrf), ("period", "2026-Q3"), ("text", text)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let body = ward.get(&to).await.text().await.unwrap();
    assert!(
        body.contains("Đã gửi ghi chú") && body.contains("Chờ duyệt"),
        "{body}"
    );
    let id = app
        .count("SELECT MAX(id) FROM action_notes")
        .await
        .to_string();
    // Not public while pending.
    let public = page(app, "/results/wards/00004?period=2026-Q3").await;
    assert!(!public.contains(text));
    // The province's review page lists it; others cannot decide on it.
    let review = province
        .get("/staff/provinces/01/review")
        .await
        .text()
        .await
        .unwrap();
    assert!(review.contains(text) && review.contains(&format!("/staff/actions/{id}/approve")));
    assert_eq!(far.get("/staff/provinces/01/review").await.status(), 404);
    assert_eq!(ward.get("/staff/provinces/01/review").await.status(), 404);
    for (b, who) in [(&ward, "the ward itself"), (&far, "another province")] {
        let c = b.csrf().await;
        let r = b
            .post(&format!("/staff/actions/{id}/approve"), &[("csrf", &c)])
            .await;
        assert_eq!(r.status(), 404, "{who}");
    }
    let c = province.csrf().await;
    assert_eq!(
        province
            .post(&format!("/staff/actions/{id}/approve"), &[])
            .await
            .status(),
        403,
        "CSRF"
    );
    assert_eq!(
        province
            .post("/staff/actions/999999/approve", &[("csrf", &c)])
            .await
            .status(),
        404
    );
    // Approved: public at once, audited; a second decision is refused.
    let r = province
        .post(&format!("/staff/actions/{id}/approve"), &[("csrf", &c)])
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/staff/provinces/01/review")
    );
    let public = page(app, "/results/wards/00004?period=2026-Q3").await;
    assert!(
        public.contains(text),
        "approved notes show on the results page"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'action_note_approve' AND actor = 'tinh@example.vn'").await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'action_note_add'")
            .await,
        1
    );
    let r = province
        .post(&format!("/staff/actions/{id}/reject"), &[("csrf", &c)])
        .await;
    assert_eq!(r.status(), 409);
    // A rejected note never shows.
    let other = "Ghi chú sẽ không được duyệt.";
    ward.post(
        "/staff/wards/00004/actions",
        &[("csrf", &csrf), ("period", "2026-Q3"), ("text", other)],
    )
    .await;
    let id2 = app.count("SELECT MAX(id) FROM action_notes").await;
    let cm = ministry.csrf().await;
    let r = ministry
        .post(&format!("/staff/actions/{id2}/reject"), &[("csrf", &cm)])
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        !page(app, "/results/wards/00004?period=2026-Q3")
            .await
            .contains(other)
    );
    let dash = ward.get("/staff/wards/00004").await.text().await.unwrap();
    assert!(dash.contains("Không được duyệt") && dash.contains("Đã duyệt, đang công khai"));
});

both!(results_pages_are_light_complete_and_cached, |app| {
    seed(app).await;
    let client = reqwest::Client::new();
    for path in [
        "/results?period=2026-Q3",
        "/results/provinces/01?period=2026-Q3",
        "/results/wards/00004?period=2026-Q3",
        "/results/wards/00025?period=2026-Q3",
        "/results/method",
        "/results?period=2026-Q3&lang=en",
    ] {
        let r = client
            .get(app.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-encoding"], "gzip", "{path}");
        let size = r.bytes().await.unwrap().len();
        assert!(size <= 30 * 1024, "{path}: {size} bytes compressed");
        let body = page(app, path).await;
        assert!(
            !body.contains("<script"),
            "{path}: complete without JavaScript"
        );
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}"
        );
    }
    // The country page compares provinces with the API's pooled figures.
    let p = page(app, "/results?period=2026-Q3").await;
    assert!(p.contains("<a href=\"/results/provinces/01?period=2026-Q3\">Thành phố Hà Nội</a>"));
    assert!(p.contains("Theo tỉnh, thành phố"));
    // A cached page: a new response within the minute is not seen until it expires (the
    // approval of a note clears the cache, tested above).
    let before = page(app, "/results/wards/00070?period=2026-Q3").await;
    let f = app.write_file(
        "more.csv",
        &format!("{}{}", HEADER, ballots("00070", "2026-07-06", 5, 5, 9)),
    );
    assert!(app.cli(&["responses", "import", &f]).status.success());
    let again = page(app, "/results/wards/00070?period=2026-Q3").await;
    assert_eq!(
        by_id(&before, "index-value"),
        by_id(&again, "index-value"),
        "served from the cache"
    );
    app.state.results.clear();
    let fresh = page(app, "/results/wards/00070?period=2026-Q3").await;
    assert_ne!(by_id(&before, "n-value"), by_id(&fresh, "n-value"));
    // Bad input: a clear 400 in Vietnamese; unknown units 404.
    let r = app.get("/results/wards/00004?period=2026-13").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("không hợp lệ"));
    assert_eq!(app.get("/results/wards/99999").await.status(), 404);
    assert_eq!(app.get("/results/provinces/99").await.status(), 404);
});

both!(every_public_page_leads_to_the_results, |app| {
    let home = page(app, "/").await;
    assert!(home.contains("href=\"/results\""));
    let search = page(app, "/?q=ba+dinh").await;
    assert!(search.contains("href=\"/results/wards/00004\""));
    let poster = page(app, "/poster/00004").await;
    assert!(poster.contains("/results/wards/00004"), "the poster");
    let survey = page(app, "/s/00004").await;
    assert!(survey.contains("Kết quả khảo sát được công khai"));
    assert!(survey.contains("href=\"/results/wards/00004\""));
    // A survey answer, then the thank-you page: what the receipt is for, and the results.
    let r = app.post_form("/s/00004", crate::public::VALID).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let thanks = page(app, &to).await;
    assert!(thanks.contains("Mã này cho biết ý kiến của anh/chị đã được ghi nhận"));
    assert!(thanks.contains("href=\"/results/wards/00004\""));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survey_page_names_its_issuer_parts_and_privacy() {
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.public.issuer = "Công an thành phố Hà Nội".into();
        c.public.contact = Some("Đường dây nóng chung: 069 000 0000".into());
        c.public.provinces.insert(
            "01".into(),
            hailong::config::ProvincePublic {
                contact: "Phòng PC06 <Hà Nội>: 069 219 4567".into(),
            },
        );
        c.privacy.text_retention_days = 365;
    })
    .await;
    let p = page(&app, "/s/00004").await;
    assert!(p.contains("Đơn vị thực hiện: <strong>Công an thành phố Hà Nội</strong>"));
    assert!(
        p.contains("Phòng PC06 &lt;Hà Nội&gt;: 069 219 4567"),
        "escaped, per province"
    );
    // Another province falls back to the general line.
    let hcm = page(&app, "/s/25747").await;
    assert!(hcm.contains("Đường dây nóng chung: 069 000 0000"));
    // Parts with a progress cue, no JavaScript needed.
    assert!(p.contains("<h2>Phần 1/9: Thái độ, tác phong của cán bộ</h2>"));
    assert!(p.contains("<h2>Phần 9/9: "));
    assert!(!p.contains("Phần 10/"));
    // The privacy notice, in plain words, above the submit button.
    let privacy = p
        .find("Chúng tôi giữ gì, giữ bao lâu, ai được xem")
        .unwrap();
    let button = p.find("<button type=\"submit\">").unwrap();
    assert!(privacy < button);
    assert!(p.contains("giữ 365 ngày rồi xoá"));
    assert!(p.contains("được xoá sau 90 ngày"));
    assert!(!p.contains("băm"), "no jargon");
    // The plan-cached page and a page rendered for a poster say the same.
    let poster_id =
        hailong::store::posters::current(&app.state.db, app.state.secrets.server(), "00004")
            .await
            .unwrap();
    let with_poster = page(&app, &format!("/s/00004?p={poster_id}")).await;
    assert!(with_poster.contains("Phòng PC06 &lt;Hà Nội&gt;"));
    let en = page(&app, "/s/00004?lang=en").await;
    assert!(en.contains("<h2>Part 1/9: ") && en.contains("Issued by"));
    app.finish().await;
}

/// A note of `ward` for `period`, written by the ward and approved by its province.
pub async fn approved_note(app: &TestApp, ward: &str, period: &str, text: &str) {
    let w = signed_in(app, &format!("w{ward}@example.vn"), &format!("ward:{ward}")).await;
    let c = w.csrf().await;
    let r = w
        .post(
            &format!("/staff/wards/{ward}/actions"),
            &[("csrf", &c), ("period", period), ("text", text)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let id = app.count("SELECT MAX(id) FROM action_notes").await;
    let p = signed_in(app, &format!("p{ward}@example.vn"), "province:01").await;
    let c = p.csrf().await;
    let r = p
        .post(&format!("/staff/actions/{id}/approve"), &[("csrf", &c)])
        .await;
    assert_eq!(r.status(), 303);
}
