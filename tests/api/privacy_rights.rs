//! A resident's rights over their own answer (docs/privacy.md): the private link from the
//! thank-you page, erasing the contact address and the free text from every table and every
//! staff page while the scores stay counted, withdrawing the consent to a reply, the 404 of an
//! altered link, the audit entries, and the retention purges of old text and sent mail.
//!
//! "Gone from every table" is checked generically: every column of every table the database
//! lists (sqlite_master / information_schema) is read as text and searched, so a table added
//! later is searched too.

use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};

use crate::both;
use crate::helpers::{Backend, TestApp, stdout};
use crate::staff::{Browser, add_user, signed_in};

const ERASED: &str = "[đã xoá theo yêu cầu]";

/// Runs `$body` with an app on SQLite and, when configured, PostgreSQL; `$tweak` adjusts the
/// configuration (here: a mail worker that does not send during the test).
macro_rules! both_with {
    ($name:ident, $tweak:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: &TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::spawn_with(Backend::Sqlite, $tweak).await;
                run(&app).await;
                app.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(hailong_postgres), ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL")]
            async fn postgres() {
                let app = TestApp::spawn_with(Backend::Postgres, $tweak).await;
                run(&app).await;
                app.finish().await;
            }
        }
    };
}

/// Mail waits in the outbox: the worker's first look is at start, the next an hour later.
fn quiet_mail(c: &mut hailong::config::Config) {
    c.mail.poll_interval_ms = 3_600_000;
    c.mail.weekly_digest = false;
}

/// `prefix` and 16 random letters: nothing the masking would take for a number.
fn unique(prefix: &str) -> String {
    let hex = format!("{:016x}", rand::random::<u64>());
    let letters: String = hex
        .bytes()
        .map(|b| match b {
            b'0'..=b'9' => (b'g' + (b - b'0')) as char,
            _ => b as char,
        })
        .collect();
    format!("{prefix}{letters}")
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What a resident's browser gets from one answer.
struct Answered {
    /// The thank-you page.
    thanks: String,
    thanks_headers: reqwest::header::HeaderMap,
    /// `/privacy/{token}`, read from the thank-you page.
    link: String,
    receipt: String,
}

/// Answers the survey of 00004 in a browser of its own (with cookies, like a phone) and reads
/// the private link off the thank-you page.
async fn answer(
    app: &TestApp,
    overall: u8,
    comment: Option<&str>,
    email: Option<&str>,
) -> Answered {
    let mut body = crate::public::VALID.replace("overall=3", &format!("overall={overall}"));
    if let Some(c) = comment {
        body.push_str(&format!("&comment={}", enc(c)));
    }
    if let Some(e) = email {
        body.push_str(&format!("&contact_email={}&contact_consent=on", enc(e)));
    }
    let phone = Browser::new(app);
    let r = phone
        .client
        .post(app.url("/s/00004"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        !location.contains("privacy") && location.len() < 60,
        "the private link is not in the redirect: {location}"
    );
    let receipt = location.split("r=").nth(1).unwrap()[..12].to_string();
    let r = phone.get(&location).await;
    assert_eq!(r.status(), 200);
    let thanks_headers = r.headers().clone();
    let thanks = r.text().await.unwrap();
    let link = link_in(&thanks).expect("the thank-you page shows the private link");
    Answered {
        thanks,
        thanks_headers,
        link,
        receipt,
    }
}

/// The first `/privacy/{token}` link of a page.
fn link_in(page: &str) -> Option<String> {
    let re = regex::Regex::new(r#"href="(/privacy/[0-9]+-[0-9a-f]{32})"#).unwrap();
    re.captures(page).map(|c| c[1].to_string())
}

fn form_token(page: &str) -> String {
    let re = regex::Regex::new(r#"name="form_token" value="([0-9a-f]+)""#).unwrap();
    re.captures(page).expect("the form's hidden field")[1].to_string()
}

async fn post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// Every (table, column) whose text holds `needle` (case-insensitive), over every table and
/// column the database lists.
async fn found_in(app: &TestApp, needle: &str) -> Vec<String> {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let q = |sql: String| Statement::from_string(backend, sql);
    let tables: Vec<String> = match backend {
        DbBackend::Postgres => db
            .query_all_raw(q(
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                    .into(),
            ))
            .await
            .unwrap(),
        _ => db
            .query_all_raw(q(
                "SELECT name FROM sqlite_master WHERE type = 'table'".into()
            ))
            .await
            .unwrap(),
    }
    .into_iter()
    .map(|r| r.try_get::<String>("", "name").unwrap())
    .collect();
    assert!(tables.len() >= 20, "the tables are listed: {tables:?}");
    let mut hits = Vec::new();
    for t in tables {
        let columns: Vec<String> = match backend {
            DbBackend::Postgres => db
                .query_all_raw(q(format!(
                    "SELECT column_name::text AS name FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = '{t}'"
                )))
                .await
                .unwrap(),
            _ => db
                .query_all_raw(q(format!("SELECT name FROM pragma_table_info('{t}')")))
                .await
                .unwrap(),
        }
        .into_iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .collect();
        for c in columns {
            let n = app
                .count(&format!(
                    "SELECT COUNT(*) AS n FROM \"{t}\" WHERE LOWER(CAST(\"{c}\" AS TEXT)) LIKE '%{}%'",
                    needle.to_lowercase()
                ))
                .await;
            if n > 0 {
                hits.push(format!("{t}.{c}"));
            }
        }
    }
    hits
}

async fn ward_n(app: &TestApp) -> i64 {
    let r = app.get("/api/v1/wards/00004/satisfaction").await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["n"].as_i64().unwrap_or_else(|| panic!("n in {v}"))
}

fn verify_passes(app: &TestApp) {
    let out = app.cli(&["index", "verify"]);
    assert!(
        out.status.success(),
        "index verify: {}\n{}",
        stdout(&out),
        crate::helpers::stderr(&out)
    );
}

async fn response_id(app: &TestApp, receipt: &str) -> i64 {
    app.count(&format!(
        "SELECT id AS n FROM responses WHERE receipt = '{receipt}'"
    ))
    .await
}

both_with!(
    erasing_contact_and_text_leaves_no_trace,
    quiet_mail,
    |app| {
        add_user(app, "canbo.phuong@example.vn", "ward:00004").await;
        let officer = signed_in(app, "truong.phuong@example.vn", "ward:00004").await;
        let marker = unique("dauvet");
        let email = format!("{}@example.vn", unique("nguoidan"));
        // overall 1: the ward's officers are alerted, with the comment quoted in the alert.
        let comment = format!("Đèn đường ngõ 12 hỏng đã lâu {marker} mong sửa sớm");
        let a = answer(app, 1, Some(&comment), Some(&email)).await;
        let id = response_id(app, &a.receipt).await;
        // The thank-you page explains the link plainly and sends no Referer on, cached nowhere.
        assert!(a.thanks.contains(
        "Giữ đường dẫn này nếu anh/chị muốn rút lại đồng ý hoặc xoá thông tin liên hệ, ý kiến đã viết"
    ));
        assert_eq!(a.thanks_headers["referrer-policy"], "no-referrer");
        assert_eq!(a.thanks_headers["cache-control"], "no-store");
        // The secret is stored nowhere, only its hash.
        let secret = a.link.rsplit('-').next().unwrap().to_string();
        assert!(found_in(app, &secret).await.is_empty());
        assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM privacy_links WHERE response_id = {id} AND secret_hash = '{}'",
            hailong::privacy::keys::sha256_hex(&secret)
        ))
        .await,
        1
    );
        // An officer replies: a message to the resident waits in the outbox.
        let item = format!("/staff/wards/00004/feedback/{id}");
        let csrf = officer.csrf().await;
        let r = officer
            .post(
                &format!("{item}/reply"),
                &[
                    ("body", "Chúng tôi đã báo điện lực."),
                    ("csrf", csrf.as_str()),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        // Before: the marker and the address are stored (the search can find them).
        let before = found_in(app, &marker).await;
        assert!(
            before.contains(&"responses.answers".to_string()),
            "{before:?}"
        );
        assert!(
            before.iter().any(|h| h.starts_with("outbox.body")),
            "the alert quotes it: {before:?}"
        );
        let before = found_in(app, &email).await;
        assert!(before.contains(&"contacts.email".to_string()), "{before:?}");
        assert!(
            before.contains(&"outbox.recipient".to_string()),
            "{before:?}"
        );
        let n = ward_n(app).await;
        assert!(n >= 1);

        // The private page says what is kept, in plain Vietnamese, and sends no Referer on.
        let r = app.get(&a.link).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let page = r.text().await.unwrap();
        assert!(page.contains("Chúng tôi giữ gì về ý kiến này"));
        assert!(page.contains(&marker), "the text as officers see it");
        assert!(!page.contains(&email), "the address is only hinted");
        assert!(page.contains("730 ngày"));
        for f in ["withdraw_consent", "erase_contact", "erase_text"] {
            assert!(page.contains(&format!("name=\"{f}\" value=\"on\"")), "{f}");
        }
        let en = app
            .get(&format!("{}?lang=en", a.link))
            .await
            .text()
            .await
            .unwrap();
        assert!(en.contains("What we keep about this answer"));

        let token = form_token(&page);
        let r = post(
            app,
            &a.link,
            &[
                ("form_token", token.as_str()),
                ("erase_contact", "on"),
                ("erase_text", "on"),
            ],
        )
        .await;
        assert_eq!(r.status(), 200);
        let done = r.text().await.unwrap();
        assert!(done.contains("Đã xoá địa chỉ e-mail"), "{done}");
        assert!(done.contains("Đã xoá ý kiến anh/chị đã viết"), "{done}");
        assert!(done.contains("vẫn được tính"));

        // Gone from every table, the outbox included; the placeholder stands in its place.
        assert_eq!(found_in(app, &marker).await, Vec::<String>::new());
        assert_eq!(found_in(app, &email).await, Vec::<String>::new());
        assert!(
            found_in(app, ERASED)
                .await
                .contains(&"responses.answers".to_string())
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM contacts WHERE response_id = {id}"
            ))
            .await,
            0
        );
        // The reply waiting for the resident will not be sent.
        assert_eq!(
            app.count(
                "SELECT COUNT(*) AS n FROM outbox WHERE kind = 'reply' AND status = 'pending'"
            )
            .await,
            0
        );
        // Nor on the staff pages or in the exports.
        let inbox = officer
            .get("/staff/wards/00004/feedback")
            .await
            .text()
            .await
            .unwrap();
        assert!(!inbox.contains(&marker));
        let item_page = officer.get(&item).await.text().await.unwrap();
        assert!(!item_page.contains(&marker));
        assert!(item_page.contains(ERASED), "the item shows the placeholder");
        let ministry = signed_in(app, "bo@example.vn", "ministry").await;
        let csv = ministry
            .get("/staff/exports/responses.csv?ward=00004")
            .await
            .text()
            .await
            .unwrap();
        assert!(csv.contains(&a.receipt), "the response is exported");
        assert!(!csv.contains(&marker) && !csv.contains(&email));
        assert!(csv.contains(ERASED));
        // The scores stay counted.
        assert_eq!(ward_n(app).await, n);
        verify_passes(app);
        // Audited as the resident's, with the response and never the link.
        for action in ["privacy.erase_contact", "privacy.erase_text"] {
            assert_eq!(
                app.count(&format!(
                    "SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'resident' \
                 AND action = '{action}' AND target = 'response:{id}'"
                ))
                .await,
                1,
                "{action}"
            );
        }
        assert!(
            found_in(app, &secret).await.is_empty(),
            "the secret is stored nowhere"
        );
        // The page now says what is left.
        let page = app.get(&a.link).await.text().await.unwrap();
        assert!(page.contains("Đã xoá theo yêu cầu của anh/chị"));
        assert!(page.contains("Không lưu địa chỉ e-mail nào"));
        assert!(!page.contains("name=\"erase_text\""));
    }
);

both!(an_altered_or_unknown_link_answers_404, |app| {
    let a = answer(app, 4, Some("Cán bộ nhiệt tình, chu đáo"), None).await;
    assert_eq!(app.get(&a.link).await.status(), 200);
    let (head, secret) = a.link.rsplit_once('-').unwrap();
    let flipped = {
        let mut s: Vec<char> = secret.chars().collect();
        s[5] = if s[5] == 'a' { 'b' } else { 'a' };
        s.into_iter().collect::<String>()
    };
    let id: i64 = head.trim_start_matches("/privacy/").parse().unwrap();
    for bad in [
        format!("{head}-{flipped}"),
        format!("/privacy/{}-{secret}", id + 1),
        format!("{head}-{}", &secret[..31]),
        format!("{}0", a.link),
        "/privacy/1-00000000000000000000000000000000".to_string(),
        "/privacy/nothing".to_string(),
    ] {
        let r = app.get(&bad).await;
        assert_eq!(r.status(), 404, "{bad}");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer", "{bad}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains("Đường dẫn riêng này không đúng"),
            "{bad}: {body}"
        );
        assert!(body.contains("lang=\"vi\""));
        let r = post(app, &bad, &[("erase_text", "on")]).await;
        assert_eq!(r.status(), 404, "POST {bad}");
    }
    let r = app.get(&format!("{head}-{flipped}?lang=en")).await;
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("This private link is not right")
    );
    // The text is untouched by all that.
    let id = response_id(app, &a.receipt).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE target = 'response:{id}'"
        ))
        .await,
        0
    );
});

both!(
    a_request_with_nothing_ticked_is_refused_with_the_form,
    |app| {
        let a = answer(
            app,
            4,
            Some("Thủ tục nhanh gọn, cảm ơn"),
            Some("an.nguyen@example.vn"),
        )
        .await;
        let page = app.get(&a.link).await.text().await.unwrap();
        let token = form_token(&page);
        let r = post(app, &a.link, &[("form_token", token.as_str())]).await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("Anh/chị chưa chọn việc nào"), "{body}");
        assert!(body.contains("name=\"erase_contact\""), "the form again");
        // Without the form's hidden field, nothing is done.
        let r = post(app, &a.link, &[("erase_text", "on")]).await;
        assert_eq!(r.status(), 403);
        let r = post(
            app,
            &a.link,
            &[("erase_text", "on"), ("form_token", "0123")],
        )
        .await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM contacts").await,
            1,
            "nothing was erased"
        );
        assert!(
            found_in(app, "Thủ tục nhanh gọn")
                .await
                .contains(&"responses.answers".to_string())
        );
        // In English, the same.
        let r = post(
            app,
            &format!("{}?lang=en", a.link),
            &[("form_token", token.as_str())],
        )
        .await;
        assert_eq!(r.status(), 422);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("You have not chosen anything")
        );
    }
);

both_with!(withdrawing_consent_stops_replies, quiet_mail, |app| {
    let officer = signed_in(app, "canbo@example.vn", "ward:00004").await;
    let email = format!("{}@example.vn", unique("dan"));
    let a = answer(
        app,
        2,
        Some("Xin hỏi thủ tục đăng ký tạm trú"),
        Some(&email),
    )
    .await;
    let id = response_id(app, &a.receipt).await;
    let item = format!("/staff/wards/00004/feedback/{id}");
    let csrf = officer.csrf().await;
    let r = officer
        .post(
            &format!("{item}/reply"),
            &[
                ("body", "Anh/chị mang căn cước đến trụ sở."),
                ("csrf", csrf.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'reply' AND status = 'pending'")
            .await,
        1
    );
    let page = app.get(&a.link).await.text().await.unwrap();
    let token = form_token(&page);
    let r = post(
        app,
        &a.link,
        &[("form_token", token.as_str()), ("withdraw_consent", "on")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let done = r.text().await.unwrap();
    assert!(done.contains("Đã rút lại đồng ý nhận trả lời"), "{done}");
    assert!(done.contains("Đã huỷ 1 thư đang chờ gửi"), "{done}");
    // The waiting reply is cancelled, without its address; no reply can be written now.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'reply' AND status = 'pending'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'reply' AND status = 'cancelled' AND recipient = '(deleted)'")
            .await,
        1
    );
    let r = officer
        .post(
            &format!("{item}/reply"),
            &[("body", "Thư thứ hai"), ("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(r.status(), 400, "no reply after the consent is withdrawn");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'reply'")
            .await,
        1
    );
    // Nor a follow-up, once due.
    let n = hailong::mail::replies::enqueue_due_followups(
        &app.state.db,
        &app.state.tera,
        &app.state.config.base_url,
        app.state.secrets.server(),
        Utc::now() + Duration::days(30),
    )
    .await
    .unwrap();
    assert_eq!(n, 0);
    // The address is still kept (not asked to erase), the consent not; the text too.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM contacts WHERE response_id = {id} AND consent = false"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'resident' \
             AND action = 'privacy.withdraw_consent' AND target = 'response:{id}'"
        ))
        .await,
        1
    );
    let page = app.get(&a.link).await.text().await.unwrap();
    assert!(page.contains("Anh/chị đã rút lại đồng ý"));
    assert!(!page.contains("name=\"withdraw_consent\""));
    // Asking again does nothing more, and says so.
    let r = post(
        app,
        &a.link,
        &[("form_token", token.as_str()), ("withdraw_consent", "on")],
    )
    .await;
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Không còn đồng ý nào để rút lại")
    );
});

both_with!(old_text_and_sent_mail_are_purged, quiet_mail, |app| {
    add_user(app, "canbo@example.vn", "ward:00004").await;
    let old_marker = unique("cu");
    let new_marker = unique("moi");
    let old = answer(
        app,
        1,
        Some(&format!("Ý kiến cũ {old_marker} về trật tự")),
        None,
    )
    .await;
    let recent = answer(
        app,
        1,
        Some(&format!("Ý kiến mới {new_marker} về trật tự")),
        None,
    )
    .await;
    let old_id = response_id(app, &old.receipt).await;
    let n = ward_n(app).await;
    use hailong::entities::{outbox, response};
    let db = &app.state.db;
    let now = Utc::now();
    // The first response was given 731 days ago; its alert was sent then.
    response::Entity::update_many()
        .col_expr(
            response::Column::SubmittedAt,
            Expr::value(now - Duration::days(731)),
        )
        .filter(response::Column::Id.eq(old_id))
        .exec(db)
        .await
        .unwrap();
    let alerts: Vec<outbox::Model> = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("ward_alert"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 2, "one alert per answer");
    let (first, second) = (
        alerts[0].id.min(alerts[1].id),
        alerts[0].id.max(alerts[1].id),
    );
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value("sent"))
        .col_expr(
            outbox::Column::SentAt,
            Expr::value(Some(now - Duration::days(31))),
        )
        .filter(outbox::Column::Id.eq(first))
        .exec(db)
        .await
        .unwrap();
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value("sent"))
        .col_expr(
            outbox::Column::SentAt,
            Expr::value(Some(now - Duration::days(29))),
        )
        .filter(outbox::Column::Id.eq(second))
        .exec(db)
        .await
        .unwrap();

    let out = app.cli(&["privacy", "purge"]);
    assert!(out.status.success(), "{}", crate::helpers::stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains("erased the free text of 1 response(s) older than 730 days"),
        "{said}"
    );
    assert!(
        said.contains("emptied 1 message(s) sent more than 30 days ago"),
        "{said}"
    );

    assert_eq!(found_in(app, &old_marker).await, Vec::<String>::new());
    let kept = found_in(app, &new_marker).await;
    assert!(kept.contains(&"responses.answers".to_string()), "{kept:?}");
    assert!(
        kept.iter().any(|h| h.starts_with("outbox.body")),
        "a recent sent mail keeps its body: {kept:?}"
    );
    let purged = outbox::Entity::find_by_id(first)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (purged.body_text.as_str(), purged.body_html.as_str()),
        ("", "")
    );
    assert_eq!(purged.status, "sent");
    assert_eq!(purged.kind, "ward_alert");
    assert_eq!(purged.recipient, "canbo@example.vn");
    assert!(purged.sent_at.is_some());
    // The old response's scores stay counted; its page says its text is gone.
    assert_eq!(ward_n(app).await, n);
    verify_passes(app);
    let page = app.get(&old.link).await.text().await.unwrap();
    assert!(page.contains("Đã xoá theo yêu cầu"));
    assert!(
        app.get(&recent.link)
            .await
            .text()
            .await
            .unwrap()
            .contains(&new_marker)
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'system' AND action = 'privacy.purge_text'")
            .await,
        1
    );
    // A second run finds nothing left.
    let again = stdout(&app.cli(&["privacy", "purge"]));
    assert!(
        again.contains("erased the free text of 0 response(s)"),
        "{again}"
    );
    assert!(again.contains("emptied 0 message(s)"), "{again}");
});

/// The thank-you page shows the link only to the browser that sent the answer, and only for
/// that answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_reaches_only_the_browser_that_answered() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let a = answer(&app, 4, None, None).await;
    let location = format!("/s/00004/thanks?r={}", a.receipt);
    // Another browser opening the same thank-you page sees no link.
    let other = Browser::new(&app)
        .get(&location)
        .await
        .text()
        .await
        .unwrap();
    assert!(other.contains(&a.receipt));
    assert_eq!(link_in(&other), None);
    // A cookie of another answer shows nothing on this one's page.
    let b = answer(&app, 4, None, None).await;
    let token = b.link.trim_start_matches("/privacy/");
    let r = reqwest::Client::new()
        .get(app.url(&location))
        .header("cookie", format!("hl_link={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(link_in(&r.text().await.unwrap()), None);
    // A response without free text or address still gets its page, with nothing to erase.
    let page = app.get(&a.link).await.text().await.unwrap();
    assert!(page.contains("Không còn gì để rút lại hay xoá"));
    assert!(!page.contains("<form method=\"post\""));
    // The log never shows the token (the request span writes the path without it).
    assert_eq!(hailong::web::logged_path(&a.link), "/privacy/{token}");
    assert_eq!(hailong::web::logged_path("/s/00004"), "/s/00004");
    app.finish().await;
}

/// Private pages are rate-limited like every public page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_pages_are_rate_limited() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.pages_per_second = 1;
        c.rate_limit.pages_burst = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            app.get("/privacy/1-00000000000000000000000000000000")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses[0], 404);
    assert!(statuses.contains(&429), "{statuses:?}");
    app.finish().await;
}

/// The survey's notice and the private page say the same: how long, who sees what.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_and_the_private_page_agree() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.privacy.text_retention_days = 400;
        c.privacy.contact_retention_days = 60;
    })
    .await;
    let survey = app.get("/s/00004").await.text().await.unwrap();
    assert!(
        survey.contains("được giữ 400 ngày rồi xoá"),
        "text retention"
    );
    assert!(survey.contains("được xoá sau 60 ngày"), "contact retention");
    assert!(
        survey.contains("đường dẫn riêng"),
        "the notice announces the link"
    );
    let a = answer(
        &app,
        4,
        Some("Mọi việc đều tốt cả"),
        Some("ba.tran@example.vn"),
    )
    .await;
    let page = app.get(&a.link).await.text().await.unwrap();
    assert!(
        page.contains("(400 ngày sau khi anh/chị gửi)"),
        "text retention"
    );
    assert!(
        page.contains("(60 ngày sau khi anh/chị gửi)"),
        "contact retention"
    );
    assert!(page.contains("không cán bộ nào nhìn thấy"));
    app.finish().await;
}
