//! Complaints about the police do not go to the accused: a response naming misconduct is
//! withheld from its ward's inbox, item pages, exports and alerts, its province's users are
//! alerted instead, and a province user releases it on the review page; its scores count
//! throughout. Flagged responses of the province are counted in bulk from the same page.

use crate::both;
use crate::helpers::{TestApp, stderr, stdout};
use crate::staff::{Browser, hidden_csrf, signed_in, submit};

/// Bodies (text and HTML) of the outbox messages of `kind`, with their recipients.
async fn outbox_of(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.state.db.get_database_backend();
    app.state
        .db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT recipient AS t, body_text || body_html AS b FROM outbox WHERE kind = '{kind}'"
            ),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "t").unwrap(),
                r.try_get::<String>("", "b").unwrap(),
            )
        })
        .collect()
}

async fn text(b: &Browser, path: &str) -> (u16, String) {
    let r = b.get(path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn id_with(app: &TestApp, marker: &str) -> i64 {
    app.count(&format!(
        "SELECT id AS n FROM responses WHERE CAST(answers AS TEXT) LIKE '%{marker}%'"
    ))
    .await
}

async fn n_of_ward(app: &TestApp) -> f64 {
    let v: serde_json::Value = reqwest::get(app.url("/api/v1/wards/00004/satisfaction"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["n"].as_f64().unwrap_or_else(|| panic!("no n in {v}"))
}

both!(
    a_complaint_about_officers_is_withheld_from_the_ward,
    |app| {
        let ward = signed_in(app, "canbo@cand.vn", "ward:00004").await;
        let province = signed_in(app, "tinh@cand.vn", "province:01").await;
        // Accents optional: "doi tien" is "đòi tiền".
        submit(
            app,
            "00004",
            "Cán bộ doi tien MARKWITHHELD mới làm giấy tờ",
            1,
        )
        .await;
        submit(app, "00004", "Đèn ngõ hỏng MARKPLAIN", 1).await;
        let withheld = id_with(app, "MARKWITHHELD").await;
        let plain = id_with(app, "MARKPLAIN").await;
        assert!(withheld > 0 && plain > 0);
        // The scores count: the ward's n holds both.
        assert_eq!(n_of_ward(app).await, 2.0);

        // The ward sees the plain one only: inbox, item page, export.
        let (s, inbox) = text(&ward, "/staff/wards/00004/feedback").await;
        assert_eq!(s, 200);
        assert!(inbox.contains("MARKPLAIN"), "{inbox}");
        assert!(
            !inbox.contains("MARKWITHHELD"),
            "withheld text in the ward inbox"
        );
        let (s, _) = text(&ward, &format!("/staff/wards/00004/feedback/{withheld}")).await;
        assert_eq!(s, 404, "the withheld item is not the ward's to read");
        let (s, csv) = text(&ward, "/staff/exports/responses.csv?ward=00004").await;
        assert_eq!(s, 200);
        assert!(
            csv.contains("MARKPLAIN") && !csv.contains("MARKWITHHELD"),
            "{csv}"
        );
        assert!(csv.contains("[đang chờ cấp trên xem xét]"), "{csv}");

        // The ward's alert leaves it out; the province's users are alerted about it.
        let receipt = app
            .count(&format!(
                "SELECT COUNT(*) AS n FROM responses WHERE id = {withheld}"
            ))
            .await;
        assert_eq!(receipt, 1);
        for (to, body) in outbox_of(app, "ward_alert").await {
            assert_eq!(to, "canbo@cand.vn");
            assert!(!body.contains("MARKWITHHELD"), "{body}");
            assert!(body.contains("MARKPLAIN"), "{body}");
        }
        let province_alerts = outbox_of(app, "misconduct_alert").await;
        assert_eq!(province_alerts.len(), 1, "{province_alerts:?}");
        assert_eq!(province_alerts[0].0, "tinh@cand.vn");
        assert!(province_alerts[0].1.contains("MARKWITHHELD"));
        assert!(province_alerts[0].1.contains("đòi tiền"));
        assert!(province_alerts[0].1.contains("/staff/provinces/01/review"));

        // The province reads it, with every answer, on its review page; the ward may not.
        let (s, page) = text(&province, "/staff/provinces/01/review").await;
        assert_eq!(s, 200);
        assert!(page.contains("MARKWITHHELD"), "{page}");
        assert!(page.contains("đòi tiền"), "the keyword is named");
        assert!(page.contains(&format!("id=\"withheld-{withheld}\"")));
        assert!(
            !page.contains("MARKPLAIN"),
            "only withheld items are listed"
        );
        let (s, _) = text(&ward, "/staff/provinces/01/review").await;
        assert_eq!(s, 404);
        let csrf = ward.csrf().await;
        let r = ward
            .post(
                "/staff/provinces/01/review/release",
                &[("csrf", &csrf), ("ids", &withheld.to_string())],
            )
            .await;
        assert_eq!(r.status(), 404, "a ward cannot release its own complaint");
        // Nothing ticked: told so, nothing released.
        let csrf = hidden_csrf(&page);
        let r = province
            .post("/staff/provinces/01/review/release", &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(to.ends_with("done=none&n=0"), "{to}");
        // Without the CSRF token: refused.
        let r = province
            .post(
                "/staff/provinces/01/review/release",
                &[("ids", &withheld.to_string())],
            )
            .await;
        assert_eq!(r.status(), 403);
        let r = province
            .post(
                "/staff/provinces/01/review/release",
                &[("csrf", &csrf), ("ids", &withheld.to_string())],
            )
            .await;
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(to.ends_with("done=released&n=1"), "{to}");
        let (_, page) = text(&province, &to).await;
        assert!(page.contains("Đã chuyển 1 ý kiến cho đơn vị"), "{page}");
        assert!(page.contains("Không có ý kiến nào đang giữ lại."));

        // Released: the ward reads it now.
        let (_, inbox) = text(&ward, "/staff/wards/00004/feedback").await;
        assert!(inbox.contains("MARKWITHHELD"), "{inbox}");
        let (s, _) = text(&ward, &format!("/staff/wards/00004/feedback/{withheld}")).await;
        assert_eq!(s, 200);
        // Audited: withheld by the system, released by the province user.
        assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'response.withhold' AND target = 'response:{withheld}' AND actor = 'system'"
        ))
        .await,
        1
    );
        assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'response.release' AND target = 'response:{withheld}' AND actor = 'tinh@cand.vn'"
        ))
        .await,
        1
    );
        assert_eq!(n_of_ward(app).await, 2.0);
    }
);

both!(flagged_responses_of_a_province_are_counted_in_bulk, |app| {
    let province = signed_in(app, "tinh@cand.vn", "province:01").await;
    // One phone answers three times: the second and third are flagged duplicate_device.
    let phone = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    phone.get(app.url("/s/00004")).send().await.unwrap();
    for _ in 0..3 {
        let r = phone
            .post(app.url("/s/00004"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(crate::public::VALID.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
    }
    assert_eq!(n_of_ward(app).await, 1.0);
    let (s, page) = text(&province, "/staff/provinces/01/review").await;
    assert_eq!(s, 200);
    assert_eq!(
        page.matches("Cùng thiết bị đã trả lời trong quý").count(),
        2,
        "the reason in words"
    );
    assert!(
        !page.contains("duplicate_device"),
        "no raw code on the page"
    );
    let ids: Vec<i64> = {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = app.state.db.get_database_backend();
        app.state
            .db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id FROM responses WHERE status = 'flagged' ORDER BY id",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<i64>("", "id").unwrap())
            .collect()
    };
    assert_eq!(ids.len(), 2);
    let csrf = hidden_csrf(&page);
    let (a, b) = (ids[0].to_string(), ids[1].to_string());
    let r = province
        .post(
            "/staff/provinces/01/review/include",
            &[("csrf", &csrf), ("ids", &a), ("ids", &b)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("done=included&n=2"), "{to}");
    let (_, page) = text(&province, &to).await;
    assert!(page.contains("Đã tính 2 phiếu vào chỉ số."), "{page}");
    assert_eq!(n_of_ward(app).await, 3.0);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'response.include'")
            .await,
        2
    );
    // A province user of another province cannot count them.
    let other = signed_in(app, "hcm@cand.vn", "province:79").await;
    let csrf = other.csrf().await;
    let r = other
        .post(
            "/staff/provinces/01/review/include",
            &[("csrf", &csrf), ("ids", &a)],
        )
        .await;
    assert_eq!(r.status(), 404);
    let out = app.cli(&["index", "verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
});

both!(
    a_withheld_complaint_can_be_taken_out_of_the_index_in_bulk,
    |app| {
        let province = signed_in(app, "tinh@cand.vn", "province:01").await;
        submit(app, "00004", "Cán bộ đòi tiền, mã XK1", 1).await;
        submit(app, "00004", "Cán bộ sách nhiễu, mã XK2", 1).await;
        assert_eq!(
            n_of_ward(app).await,
            2.0,
            "a withheld complaint's scores count"
        );
        let (s, page) = text(&province, "/staff/provinces/01/review").await;
        assert_eq!(s, 200);
        // What the resident wrote comes before the scores.
        let first = &page[page.find("withheld-").expect("a complaint is listed")..];
        let answers = &first[first.find("<dd>").unwrap()..];
        assert!(answers.starts_with("<dd>Cán bộ"), "text first: {answers}");
        assert!(answers.contains("&#x2F;5</dd>"), "then the scores");
        let (a, b) = (id_with(app, "XK1").await, id_with(app, "XK2").await);
        let csrf = hidden_csrf(&page);
        let r = province
            .post(
                "/staff/provinces/01/review/exclude",
                &[("csrf", &csrf), ("ids", &a.to_string())],
            )
            .await;
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(to.ends_with("done=excluded&n=1"), "{to}");
        let (_, page) = text(&province, &to).await;
        assert!(page.contains("Đã loại 1 phiếu khỏi chỉ số"), "{page}");
        assert_eq!(n_of_ward(app).await, 1.0);
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'response.exclude'")
                .await,
            1
        );
        // Without the CSRF token nothing changes; another province's user gets 404.
        let r = province
            .post(
                "/staff/provinces/01/review/exclude",
                &[("ids", &b.to_string())],
            )
            .await;
        assert_eq!(r.status(), 403);
        let other = signed_in(app, "hcm@cand.vn", "province:79").await;
        let csrf = other.csrf().await;
        let r = other
            .post(
                "/staff/provinces/01/review/exclude",
                &[("csrf", &csrf), ("ids", &b.to_string())],
            )
            .await;
        assert_eq!(r.status(), 404);
        assert_eq!(n_of_ward(app).await, 1.0);
        let out = app.cli(&["index", "verify"]);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }
);
