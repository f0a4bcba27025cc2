//! The satisfaction measure over HTTP (docs/api.md, docs/method.md): paper ballots in, figures out.

use serde_json::Value;

use crate::cli::REFERENCE_BALLOTS;
use crate::helpers::{Backend, TestApp, stderr};

const MARGINS: &str = "ward_code,sex,age,share\n\
    00004,m,18-34,.17\n00004,m,35-54,.17\n00004,m,55+,.14\n\
    00004,f,18-34,.17\n00004,f,35-54,.18\n00004,f,55+,.17\n";

fn close(v: &Value, expected: f64) {
    let x = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    assert!((x - expected).abs() < 1e-6, "{x} != {expected}");
}

async fn import(app: &TestApp, name: &str, args: &[&str], content: &str) {
    let f = app.write_file(name, content);
    let mut a: Vec<&str> = args.to_vec();
    a.push(&f);
    let out = app.cli(&a);
    assert!(out.status.success(), "{:?}: {}", args, stderr(&out));
}

async fn json(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.get(path).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// An app whose status thresholds let the twelve reference respondents be published.
async fn low_threshold_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.method.insufficient_below = 5.0;
        c.method.published_from = 8.0;
    })
    .await
}

async fn reference_vector_over_http(backend: Backend) {
    let app = low_threshold_app(backend).await;
    import(&app, "b.csv", &["responses", "import"], REFERENCE_BALLOTS).await;

    // Without margins: unweighted.
    let (s, v) = json(&app, "/api/v1/wards/00004/satisfaction?period=2026-Q1").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["weighting"], "none");
    assert_eq!(v["n"], 12);
    assert_eq!(v["status"], "published");
    close(&v["index"]["value"], 66.412377);
    close(&v["index"]["ci_low"], 52.567168);
    close(&v["index"]["ci_high"], 80.257587);
    close(&v["satisfied_share"]["value"], 0.666667);
    close(&v["satisfied_share"]["ci_low"], 0.390622);
    close(&v["satisfied_share"]["ci_high"], 0.861880);
    close(&v["dimensions"]["service"]["value"], 77.083333);
    close(&v["dimensions"]["procedures"]["value"], 66.071429);
    assert_eq!(v["dimensions"]["procedures"]["n"], 7);
    close(&v["trust"]["value"], 75.833333);
    assert_eq!(v["method_version"], 1);
    assert!(v["config_hash"].as_str().is_some_and(|h| h.len() == 16));
    // The month holds the same responses.
    let (_, m) = json(&app, "/api/v1/wards/00004/satisfaction?period=2026-02").await;
    close(&m["index"]["value"], 66.412377);

    // Cronbach's α pooled over the province's wards for the quarter (only 00004 has data).
    let alpha = hailong::store::figures::province_alpha(
        &app.state.db,
        app.state.measure_ctx(),
        "01",
        hailong::period::Period::parse("2026-Q1").unwrap(),
    )
    .await
    .unwrap();
    let all = alpha["all"].value.expect("α of the whole scale");
    assert!((all - 0.963975).abs() < 1e-6, "{all}");
    assert_eq!(alpha["all"].n, 12);
    assert!(alpha.contains_key("service") && alpha.contains_key("procedures"));

    // With margins: raked (four cells have fewer than 3 respondents).
    import(&app, "m.csv", &["units", "margins", "import"], MARGINS).await;
    let (_, v) = json(&app, "/api/v1/wards/00004/satisfaction?period=2026-Q1").await;
    assert_eq!(v["weighting"], "raked");
    close(&v["index"]["value"], 60.444980);
    close(&v["n_eff"], 9.559428);
    close(&v["index"]["ci_low"], 47.892220);
    close(&v["index"]["ci_high"], 72.997741);
    close(&v["satisfied_share"]["value"], 0.485);
    close(&v["satisfied_share"]["ci_low"], 0.221684);
    close(&v["dimensions"]["procedures"]["value"], 61.326577);
    close(&v["trust"]["value"], 70.654);

    // The reference vector's composite: post-stratified I_w with criteria 70, 85, 60.
    import(
        &app,
        "s.csv",
        &["scores", "import"],
        "ward_code,period,criterion,value\n00004,2026-Q1,security_order,70\n00004,2026-Q1,force_building,85\n",
    )
    .await;
    let (_, sc) = json(&app, "/api/v1/wards/00004/score?period=2026-Q1").await;
    assert_eq!(sc["status"], "incomplete", "{sc}");
    assert!(sc["value"].is_null());
    import(
        &app,
        "s2.csv",
        &["scores", "import"],
        "ward_code,period,criterion,value\n00004,2026-Q1,urban_civility,60\n",
    )
    .await;
    let (_, sc) = json(&app, "/api/v1/wards/00004/score?period=2026-Q1").await;
    assert_eq!(sc["status"], "complete", "{sc}");
    // Raked I_w here (the default min_cell): 0.4·60.444980 + 0.25·70 + 0.2·85 + 0.15·60.
    close(
        &sc["value"],
        0.4 * 60.444980 + 0.25 * 70.0 + 0.2 * 85.0 + 0.15 * 60.0,
    );
    assert_eq!(sc["model_ward"], false, "satisfied share 0.485 < 0.80");
    assert_eq!(sc["parts"].as_array().unwrap().len(), 4);
    app.finish().await;

    // Post-stratified (min_cell 1) gives the reference composite exactly.
    let app = TestApp::spawn_with(backend, |c| {
        c.method.insufficient_below = 5.0;
        c.method.published_from = 8.0;
        c.method.min_cell = 1;
    })
    .await;
    import(&app, "b.csv", &["responses", "import"], REFERENCE_BALLOTS).await;
    import(&app, "m.csv", &["units", "margins", "import"], MARGINS).await;
    let (_, v) = json(&app, "/api/v1/wards/00004/satisfaction?period=2026-Q1").await;
    assert_eq!(v["weighting"], "post_stratified");
    close(&v["index"]["value"], 60.451654);
    close(&v["n_eff"], 9.558706);
    import(
        &app,
        "s.csv",
        &["scores", "import"],
        "ward_code,period,criterion,value\n00004,2026-Q1,security_order,70\n00004,2026-Q1,force_building,85\n00004,2026-Q1,urban_civility,60\n",
    )
    .await;
    let (_, sc) = json(&app, "/api/v1/wards/00004/score?period=2026-Q1").await;
    close(&sc["value"], 67.680662);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_vector_over_http_sqlite() {
    reference_vector_over_http(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn reference_vector_over_http_postgres() {
    reference_vector_over_http(Backend::Postgres).await;
}

crate::both!(public_callers_get_nulls_when_insufficient, |app| {
    let f = app.write_file("b.csv", REFERENCE_BALLOTS);
    assert!(app.cli(&["responses", "import", &f]).status.success());
    let (s, v) = json(app, "/api/v1/wards/00004/satisfaction?period=2026-Q1").await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "insufficient_data");
    assert_eq!(v["n"], 12);
    assert!(v["n_eff"].as_f64().unwrap() > 11.9);
    assert!(v["index"]["value"].is_null() && v["index"]["ci_low"].is_null());
    assert!(v["satisfied_share"]["value"].is_null());
    assert!(v["dimensions"]["service"]["value"].is_null());
    assert!(v["trust"]["value"].is_null());
    // Ranking: an insufficient ward is never ranked, and shows no index.
    let (s, r) = json(app, "/api/v1/provinces/01/ranking?period=2026-Q1").await;
    assert_eq!(s, 200);
    let w = r["wards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["ward_code"] == "00004")
        .unwrap()
        .clone();
    assert!(w["rank"].is_null() && w["shrunk"].is_null() && w["index"]["value"].is_null());

    // A ministry API token always gets the values.
    let out = app.cli_with(
        &[
            "users",
            "add",
            "--email",
            "bo@bocongan.gov.vn",
            "--role",
            "ministry",
            "--password-stdin",
        ],
        Some("mat-khau-rat-dai-2026\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let uid = app.count("SELECT id FROM staff_users").await;
    let (_, token) = hailong::store::api_tokens::create(&app.state.db, "Cổng dữ liệu", uid)
        .await
        .unwrap();
    let v: Value = app
        .client
        .get(app.url("/api/v1/wards/00004/satisfaction?period=2026-Q1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "insufficient_data");
    close(&v["index"]["value"], 66.412377);
    close(&v["trust"]["value"], 75.833333);
    // A bad token is refused, not treated as public.
    let r = app
        .client
        .get(app.url("/api/v1/wards/00004/satisfaction?period=2026-Q1"))
        .bearer_auth("hl_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
});

crate::both!(bad_periods_and_unknown_wards, |app| {
    for path in [
        "/api/v1/wards/00004/satisfaction?period=2026-Q5",
        "/api/v1/wards/00004/satisfaction?period=last-year",
        "/api/v1/wards/00004/trend?granularity=week",
        "/api/v1/wards/00004/trend?granularity=month&from=2026-Q1",
        "/api/v1/wards/00004/trend?granularity=month&from=2026-05&to=2026-01",
        "/api/v1/wards/00004/trend?granularity=month&from=2000-01&to=2026-01",
        "/api/v1/provinces/01/ranking?period=2026-13",
        "/api/v1/wards/00004/score?period=Q1",
    ] {
        let (s, v) = json(app, path).await;
        assert_eq!(s, 400, "{path}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {v}"
        );
    }
    for path in [
        "/api/v1/wards/99999/satisfaction",
        "/api/v1/wards/99999/trend",
        "/api/v1/wards/99999/score",
        "/api/v1/provinces/99/ranking",
    ] {
        let (s, v) = json(app, path).await;
        assert_eq!(s, 404, "{path}: {v}");
        assert!(v["error"].is_string());
    }
});

crate::both!(periods_follow_vietnam_time, |app| {
    let csv = "ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,overall,trust\n\
        00004,2026-03-31T23:30:00+07:00,m,18-34,4,4,4,4,4,4,4,4,4,8\n\
        00004,2026-03-31T17:30:00Z,m,18-34,2,2,2,2,2,2,2,2,2,3\n\
        00004,2026-03-31 23:59,f,55+,5,5,5,5,5,5,5,5,5,9\n";
    let f = app.write_file("t.csv", csv);
    assert!(app.cli(&["responses", "import", &f]).status.success());
    let (_, q1) = json(app, "/api/v1/wards/00004/satisfaction?period=2026-Q1").await;
    let (_, q2) = json(app, "/api/v1/wards/00004/satisfaction?period=2026-Q2").await;
    assert_eq!(q1["n"], 2, "23:30 Vietnam time on 31 March is Q1");
    assert_eq!(
        q2["n"], 1,
        "17:30 UTC on 31 March is 1 April in Vietnam: Q2"
    );
    let (_, apr) = json(app, "/api/v1/wards/00004/satisfaction?period=2026-04").await;
    assert_eq!(apr["n"], 1);
});

/// Four wards of one province with different levels in two quarters: ranks follow the
/// shrunken estimates, change flags appear, the trend has one point per period.
async fn ranking_and_trend(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.method.insufficient_below = 5.0;
        c.method.published_from = 8.0;
    })
    .await;
    let wards = ["00004", "00008", "00025", "00070"];
    let mut csv =
        String::from("ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,overall,trust\n");
    // Deterministic spread: ward k answers around level 1 + k; in Q2 ward 00004 jumps up.
    for (k, w) in wards.iter().enumerate() {
        for i in 0..12 {
            for (quarter_day, bump) in [
                ("2026-02-10", 0),
                ("2026-05-10", if k == 0 { 2 } else { 0 }),
            ] {
                let base = (1 + k + (i % 3) + bump).min(5);
                let alt = (base + (i % 2)).min(5);
                csv.push_str(&format!(
                    "{w},{quarter_day},m,18-34,{base},{alt},{base},{alt},{base},{alt},{base},{alt},{base},{}\n",
                    (base * 2).min(10)
                ));
            }
        }
    }
    let f = app.write_file("r.csv", &csv);
    let out = app.cli(&["responses", "import", &f]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (s, r) = json(&app, "/api/v1/provinces/01/ranking?period=2026-Q1").await;
    assert_eq!(s, 200);
    let rows = r["wards"].as_array().unwrap();
    let ranked: Vec<&Value> = rows.iter().filter(|w| !w["rank"].is_null()).collect();
    assert_eq!(ranked.len(), 4, "{r}");
    // Ranked first, 1 = best, in rank order; the highest-level ward is first.
    for (i, w) in ranked.iter().enumerate() {
        assert_eq!(w["rank"], i + 1);
    }
    assert_eq!(ranked[0]["ward_code"], "00070");
    assert_eq!(ranked[3]["ward_code"], "00004");
    assert!(rows[4]["rank"].is_null(), "unranked wards follow");
    // Shrinkage pulls every estimate toward the mean, never past it.
    for w in &ranked {
        let raw = w["index"]["value"].as_f64().unwrap();
        let shrunk = w["shrunk"].as_f64().unwrap();
        assert!(shrunk.is_finite() && (shrunk - raw).abs() < 50.0);
    }
    // Q2: ward 00004 rose sharply; the change is flagged significant_rise.
    let (_, r2) = json(&app, "/api/v1/provinces/01/ranking?period=2026-Q2").await;
    let w4 = r2["wards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["ward_code"] == "00004")
        .unwrap()
        .clone();
    assert_eq!(w4["change"], "significant_rise", "{r2}");
    let (s, t) = json(
        &app,
        "/api/v1/wards/00004/trend?granularity=quarter&from=2025-Q4&to=2026-Q2",
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let pts = t["points"].as_array().unwrap();
    assert_eq!(pts.len(), 3);
    assert_eq!(pts[0]["period"], "2025-Q4");
    assert_eq!(pts[0]["n"], 0);
    assert_eq!(pts[0]["status"], "insufficient_data");
    assert!(pts[1]["change"].is_null(), "no usable previous period");
    assert_eq!(pts[2]["change"], "significant_rise");
    let (_, tm) = json(
        &app,
        "/api/v1/wards/00004/trend?granularity=month&from=2026-01&to=2026-06",
    )
    .await;
    assert_eq!(tm["points"].as_array().unwrap().len(), 6);
    assert_eq!(tm["points"][1]["n"], 12);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranking_and_trend_sqlite() {
    ranking_and_trend(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn ranking_and_trend_postgres() {
    ranking_and_trend(Backend::Postgres).await;
}

crate::both!(scores_import_is_atomic, |app| {
    let bad = "ward_code,period,criterion,value\n\
        00004,2026-Q1,security_order,70\n\
        00004,2026-Q1,satisfaction,70\n\
        00004,2026-Q1,bravery,70\n\
        00004,2026-Q9,force_building,70\n\
        99999,2026-Q1,force_building,70\n\
        00004,2026-Q1,urban_civility,101\n";
    let f = app.write_file("bad.csv", bad);
    let out = app.cli(&["scores", "import", &f]);
    assert!(!out.status.success());
    let err = stderr(&out);
    for line in ["line 3", "line 4", "line 5", "line 6", "line 7"] {
        assert!(err.contains(line), "{line}: {err}");
    }
    assert!(!err.contains("line 2:"), "{err}");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM criteria_values").await,
        0
    );
});

/// A ministry API token for `app` (a ministry user is added through the CLI).
async fn ministry_token(app: &TestApp) -> String {
    let out = app.cli_with(
        &[
            "users",
            "add",
            "--email",
            "thongke@bocongan.gov.vn",
            "--role",
            "ministry",
            "--password-stdin",
        ],
        Some("mat-khau-rat-dai-2026\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let uid = app
        .count("SELECT id FROM staff_users WHERE email = 'thongke@bocongan.gov.vn'")
        .await;
    hailong::store::api_tokens::create(&app.state.db, "Thống kê", uid)
        .await
        .unwrap()
        .1
}

crate::both!(one_respondent_gives_the_ministry_an_index, |app| {
    let csv = "ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,overall,trust\n\
        00004,2026-02-10,m,18-34,4,4,4,4,4,4,4,4,4,8\n";
    import(app, "one.csv", &["responses", "import"], csv).await;
    let token = ministry_token(app).await;
    let v: Value = app
        .client
        .get(app.url("/api/v1/wards/00004/satisfaction?period=2026-Q1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["n"], 1);
    assert_eq!(v["status"], "insufficient_data");
    close(&v["index"]["value"], 75.0);
    assert!(v["index"]["ci_low"].is_null() && v["index"]["ci_high"].is_null());
    // The public still sees no figure.
    let (_, public) = json(app, "/api/v1/wards/00004/satisfaction?period=2026-Q1").await;
    assert!(public["index"]["value"].is_null());
});

crate::both!(a_certain_drop_without_spread_is_flagged, |app| {
    // 40 identical ballots per quarter: no spread, the index moves 75 -> 25.
    let mut csv =
        String::from("ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,overall,trust\n");
    for _ in 0..40 {
        csv.push_str("00004,2026-02-10,m,18-34,4,4,4,4,4,4,4,4,4,8\n");
        csv.push_str("00004,2026-05-10,m,18-34,2,2,2,2,2,2,2,2,2,3\n");
    }
    import(app, "flat.csv", &["responses", "import"], &csv).await;
    let (s, t) = json(
        app,
        "/api/v1/wards/00004/trend?granularity=quarter&from=2026-Q1&to=2026-Q2",
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let points = t["points"].as_array().unwrap();
    close(&points[0]["index"]["value"], 75.0);
    close(&points[1]["index"]["value"], 25.0);
    assert_eq!(points[1]["change"], "significant_drop", "{t}");
});
