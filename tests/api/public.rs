//! Public pages and survey submission (docs/api.md).

use crate::both;
use crate::helpers::TestApp;

/// Every stored answer of every response.
async fn stored_answers(app: &TestApp) -> Vec<hailong::store::responses::AnswerRow> {
    use sea_orm::EntityTrait;
    hailong::entities::response::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .iter()
        .flat_map(|r| hailong::store::responses::AnswerRow::from_json(&r.answers))
        .collect()
}

/// A complete, valid answer set for the ward-police survey (respondent 1 of the reference vector, docs/method.md).
pub const VALID: &str = "a1=4&a2=4&r1=3&r2=2&s1=3&s2=3&c1=2&c2=3&used_procedures=no\
&overall=3&trust=6&sex=m&age=18-34";

both!(healthz_answers, |app| {
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
});

both!(index_finds_wards_without_javascript, |app| {
    let r = app.get("/").await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("Thành phố Hà Nội"), "province list");
    assert!(body.contains("QR"), "explains the QR posters");
    // Accent-free search, a plain GET form.
    let body = app.get("/?q=ba+dinh").await.text().await.unwrap();
    assert!(body.contains("Phường Ba Đình"), "search without accents");
    assert!(
        body.contains("s/00004\"") || body.contains("s&#x2F;00004\""),
        "link to the survey"
    );
    let body = app
        .get("/?province=01&q=Ho%C3%A0n+Ki%E1%BA%BFm")
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("Phường Hoàn Kiếm"));
    let en = app.get("/?lang=en").await.text().await.unwrap();
    assert!(en.contains("lang=\"en\""));
});

both!(
    survey_page_is_small_accessible_and_worded_by_unit_type,
    |app| {
        let r = app.get("/s/00004").await;
        assert_eq!(r.status(), 200);
        let csp = r
            .headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(
            r.headers().get("x-content-type-options").unwrap(),
            "nosniff"
        );
        let body = r.text().await.unwrap();
        assert!(body.contains("Công an phường"), "unit word of a phường");
        assert!(body.contains("<fieldset") && body.contains("<legend"));
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "nothing from another host"
        );
        let css = app.get("/static/app.css").await.text().await.unwrap();
        let js = app.get("/static/survey.js").await.text().await.unwrap();
        let total = body.len() + css.len() + js.len();
        assert!(total < 30 * 1024, "survey page weighs {total} bytes");
        // A xã and a đặc khu get their own unit word.
        let xa = sea_orm_unit_of_kind(app, "xã").await;
        let body = app.get(&format!("/s/{xa}")).await.text().await.unwrap();
        assert!(body.contains("Công an xã"));
        let dk = sea_orm_unit_of_kind(app, "đặc khu").await;
        let body = app.get(&format!("/s/{dk}")).await.text().await.unwrap();
        assert!(body.contains("Công an đặc khu"));
        let en = app.get("/s/00004?lang=en").await.text().await.unwrap();
        assert!(en.contains("lang=\"en\"") && en.contains("ward police"));
    }
);

async fn sea_orm_unit_of_kind(app: &crate::helpers::TestApp, kind: &str) -> String {
    use hailong::entities::unit;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    unit::Entity::find()
        .filter(unit::Column::Kind.eq(kind))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .code
}

both!(unknown_ward_is_404_in_vietnamese, |app| {
    for path in ["/s/99999", "/s/abc", "/s/000040"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains("Không tìm thấy"), "{body}");
    }
    let r = app.post_form("/s/99999", VALID).await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM responses").await, 0);
});

both!(valid_submission_is_stored_then_redirected, |app| {
    let body = format!(
        "{VALID}&comment=C%C3%A1n+b%E1%BB%99+t%E1%BA%ADn+t%C3%ACnh&contact_email=dan%40example.vn&contact_consent=on"
    );
    let r = app.post_form("/s/00004", &body).await;
    assert_eq!(r.status(), 303);
    let location = r
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(location.starts_with("/s/00004/thanks?r="), "{location}");
    let receipt = location
        .split("r=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    // Stored before the redirect: one response, one row per answered question, contact apart.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM responses WHERE channel = 'web' AND ward_code = '00004' AND survey_id = 'ward-police' AND survey_version = 1").await, 1);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM responses WHERE receipt = '{receipt}'"
        ))
        .await,
        1
    );
    let answers = stored_answers(app).await;
    assert!(answers.len() >= 12);
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.question_id == "a1" && a.value_num == Some(4))
            .count(),
        1
    );
    assert!(
        answers
            .iter()
            .all(|a| !a.question_id.starts_with("contact"))
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM contacts WHERE email = 'dan@example.vn'")
            .await,
        1
    );
    assert!(
        app.count("SELECT COUNT(*) AS n FROM rollup_cells").await > 0,
        "rollups updated in the same transaction"
    );
    let page = app.get(&location).await;
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(text.contains(&receipt), "receipt shown");
});

both!(
    invalid_submission_rerenders_with_errors_and_keeps_answers,
    |app| {
        // a1 out of range, overall missing, trust out of range; a2 = 5 must stay checked.
        let body = "a1=7&a2=5&r1=3&r2=2&s1=3&s2=3&c1=2&c2=3&used_procedures=no&trust=11&comment=gi%E1%BB%AF+nguy%C3%AAn";
        let r = app.post_form("/s/00004", body).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("role=\"alert\""), "errors announced");
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("giữ nguyên"), "text answers kept");
        assert!(
            html.contains("value=\"5\" checked")
                || html.contains("value=\"5\"  checked")
                || html.contains("checked value=\"5\""),
            "radio answers kept"
        );
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM responses").await, 0);
        assert!(stored_answers(app).await.is_empty());
    }
);

both!(procedure_items_count_only_when_used, |app| {
    let body = VALID.replace("used_procedures=no", "used_procedures=no&p1=5&p2=5");
    assert_eq!(app.post_form("/s/00004", &body).await.status(), 303);
    assert!(
        stored_answers(app)
            .await
            .iter()
            .all(|a| a.question_id != "p1" && a.question_id != "p2")
    );
    let body = VALID.replace("used_procedures=no", "used_procedures=yes&p1=4&p2=na");
    assert_eq!(app.post_form("/s/00004", &body).await.status(), 303);
    assert_eq!(
        stored_answers(app)
            .await
            .iter()
            .filter(|a| a.question_id == "p1" && a.value_num == Some(4))
            .count(),
        1
    );
    // With JavaScript off a resident who did not use procedures may answer `na`.
    let body = VALID.replace("used_procedures=no", "used_procedures=no&p1=na&p2=na");
    assert_eq!(app.post_form("/s/00004", &body).await.status(), 303);
});

both!(malformed_bodies_are_refused_cleanly, |app| {
    // Invalid UTF-8.
    let r = app
        .client
        .post(app.url("/s/00004"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"a1=4&comment=%FF%FE".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("không hợp lệ"));
    // Oversized.
    // The server answers 413 before reading the whole body and closes the connection; the
    // client can then see a reset instead of the answer, so a transport error is retried.
    let big = format!("{VALID}&comment={}", "a".repeat(64 * 1024));
    // A client of its own, so that the connection the server closes is never reused.
    let mut answered = None;
    for _ in 0..5 {
        let sent = reqwest::Client::new()
            .post(app.url("/s/00004"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await;
        if let Ok(r) = sent {
            answered = Some(r);
            break;
        }
    }
    let r = answered.expect("the server answers an oversized body");
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("quá lớn"));
    // Not a form.
    let r = app
        .client
        .post(app.url("/s/00004"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // A field given twice.
    let r = app.post_form("/s/00004", &format!("{VALID}&a1=5")).await;
    assert_eq!(r.status(), 422);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM responses").await, 0);
});
