//! E-mail against a real SMTP server on loopback (`mailsink`): each message kind
//! arrives with the right recipient, subject and body; with the server stopped messages wait
//! in the outbox and arrive once it is back; two workers on one database send each message
//! once; a message that keeps failing is marked failed and shown to the ministry. Snapshots of
//! every message's text and HTML parts, volatile parts redacted.

use std::time::Duration;

use crate::helpers::{Backend, TestApp};
use crate::mailsink::{Parsed, SmtpSink, parse};
use crate::staff::{add_user, hidden_csrf, signed_in};

/// The app with its mail worker pointed at `sink`, polling fast, retrying after 1 s.
async fn spawn_mailing(
    backend: Backend,
    sink: &SmtpSink,
    tweak: impl FnOnce(&mut hailong::config::Config),
) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(backend, move |c| {
        c.smtp_url = Some(url);
        c.mail.poll_interval_ms = 50;
        c.mail.backoff_base_secs = 1;
        c.mail.backoff_max_secs = 1;
        c.mail.weekly_digest = false;
        tweak(c);
    })
    .await
}

/// Runs `$body` with `(app, sink)` on SQLite and, when configured, PostgreSQL.
macro_rules! both_mail {
    ($name:ident, $tweak:expr, |$app:ident, $sink:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: &TestApp, $sink: &mut SmtpSink) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let mut sink = SmtpSink::start().await;
                let app = spawn_mailing(Backend::Sqlite, &sink, $tweak).await;
                run(&app, &mut sink).await;
                app.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(hailong_postgres), ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL")]
            async fn postgres() {
                let mut sink = SmtpSink::start().await;
                let app = spawn_mailing(Backend::Postgres, &sink, $tweak).await;
                run(&app, &mut sink).await;
                app.finish().await;
            }
        }
    };
}

const RESIDENT: &str = "nguoidan.bimat@example.vn";

/// A resident's answer with a comment, an overall score and optionally a contact address.
async fn answer(app: &TestApp, ward: &str, comment: &str, overall: u8, contact: Option<&str>) {
    let mut body = format!(
        "{}&comment={}",
        crate::public::VALID.replace("overall=3", &format!("overall={overall}")),
        form_urlencoded::byte_serialize(comment.as_bytes()).collect::<String>()
    );
    if let Some(c) = contact {
        body.push_str(&format!(
            "&contact_email={}&contact_consent=on",
            form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
        ));
    }
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url(&format!("/s/{ward}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert_eq!(
        status,
        303,
        "the answer is accepted: {}",
        r.text().await.unwrap_or_default()
    );
}

async fn wait_until(app: &TestApp, sql: &str, want: i64, secs: u64) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let n = app.count(sql).await;
        if n == want || tokio::time::Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Replaces what changes from run to run: dates, times, receipts, ids, tokens.
fn redact(s: &str) -> String {
    let rules = [
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[datetime]"),
        (r"\d{2}/\d{2}/\d{4}", "[date]"),
        (
            r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}",
            "[receipt]",
        ),
        (r"/r/[0-9]+\.[0-9a-f]{32}/", "/r/[token]/"),
        (r"/feedback/\d+", "/feedback/[id]"),
        (r"\d{4}-Q[1-4]", "[quarter]"),
        (
            r"/mail/unsubscribe/\d+\.[0-9a-f]{32}",
            "/mail/unsubscribe/[token]",
        ),
        (
            r"/staff/reset/\d+-\d+-[0-9a-f]{16}\.[0-9a-f]{32}",
            "/staff/reset/[token]",
        ),
    ];
    // Tera escapes `/` in HTML as `&#x2F;`: undo it so that one set of rules fits both parts.
    let mut out = s.replace("&#x2F;", "/");
    for (re, to) in rules {
        out = regex::Regex::new(re)
            .unwrap()
            .replace_all(&out, to)
            .into_owned();
    }
    out
}

fn snapshot(name: &str, m: &Parsed) {
    insta::assert_snapshot!(
        format!("{name}_text"),
        redact(&format!("Subject: {}\n\n{}", m.subject, m.text))
    );
    insta::assert_snapshot!(format!("{name}_html"), redact(&m.html));
}

fn by_rcpt<'a>(msgs: &'a [Parsed], rcpts: &[Vec<String>], to: &str) -> Vec<&'a Parsed> {
    msgs.iter()
        .zip(rcpts)
        .filter(|(_, r)| r.iter().any(|x| x == to))
        .map(|(m, _)| m)
        .collect()
}

both_mail!(ward_alerts_reach_the_wards_officers, |_| {}, |app, sink| {
    add_user(app, "canbo1@cand.vn", "ward:00004").await;
    add_user(app, "canbo2@cand.vn", "ward:00004").await;
    add_user(app, "khac@cand.vn", "ward:25747").await;
    add_user(app, "tinh@cand.vn", "province:01").await;
    // A very low score with the resident's address: alert, without the address.
    answer(app, "00004", "Chờ cả buổi sáng", 1, Some(RESIDENT)).await;
    let got = sink.wait_for(2, 20).await;
    assert_eq!(got.len(), 2, "one alert per officer of the ward");
    let mut rcpts: Vec<String> = got.iter().flat_map(|m| m.rcpt.clone()).collect();
    rcpts.sort();
    assert_eq!(rcpts, ["canbo1@cand.vn", "canbo2@cand.vn"]);
    let m = parse(&got[0].data);
    assert!(m.subject.contains("Cảnh báo phản ánh"), "{}", m.subject);
    assert!(
        m.subject.contains("Công an phường Ba Đình"),
        "{}",
        m.subject
    );
    assert!(
        m.text
            .contains("http://127.0.0.1:8080/staff/wards/00004/feedback"),
        "{}",
        m.text
    );
    assert!(m.text.contains("1/5"), "{}", m.text);
    for part in [&got[0].data, &got[1].data, &m.text, &m.html] {
        assert!(
            !part.contains(RESIDENT),
            "the resident's address never appears"
        );
        assert!(!part.contains("nguoidan"), "not even encoded");
    }
    snapshot("ward_alert", &m);
    // A misconduct keyword written without accents: the complaint is withheld from the ward,
    // and the province's user is alerted instead; a good answer alerts nobody.
    answer(app, "00004", "Can bo doi HOI LO khi lam giay to", 4, None).await;
    answer(app, "00004", "Cán bộ nhiệt tình", 5, None).await;
    let got = sink.wait_for(3, 20).await;
    assert_eq!(got.len(), 3);
    // Alerts are enqueued in the response's transaction, which committed before the answer
    // came back: a fourth message would already be in the outbox.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox").await,
        3,
        "the good answer alerted nobody"
    );
    assert_eq!(got[2].rcpt, ["tinh@cand.vn"]);
    let m = parse(&got[2].data);
    assert!(m.subject.contains("Phản ánh về cán bộ"), "{}", m.subject);
    assert!(m.text.contains("hối lộ"), "names the keyword: {}", m.text);
    assert!(
        m.text
            .contains("http://127.0.0.1:8080/staff/provinces/01/review"),
        "{}",
        m.text
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'ward_alert' AND status = 'sent'")
            .await,
        2
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'misconduct_alert' AND status = 'sent'"
        )
        .await,
        1
    );
});

both_mail!(
    replies_and_follow_ups_reach_the_resident,
    |c| c.mail.followup_days = 0,
    |app, sink| {
        let officer = signed_in(app, "canbo@cand.vn", "ward:00004").await;
        answer(app, "00004", "Đèn đường hỏng ở ngõ 5", 3, Some(RESIDENT)).await;
        answer(app, "00004", "Không để lại địa chỉ", 3, None).await;
        let ids: Vec<i64> = {
            use sea_orm::{EntityTrait, QueryOrder};
            hailong::entities::response::Entity::find()
                .order_by_asc(hailong::entities::response::Column::Id)
                .all(&app.state.db)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        let item = format!("/staff/wards/00004/feedback/{}", ids[0]);
        let page = officer.get(&item).await.text().await.unwrap();
        assert!(page.contains("/reply"), "a reply form");
        assert!(
            !page.contains(RESIDENT),
            "the officer never sees the address"
        );
        let other = officer
            .get(&format!("/staff/wards/00004/feedback/{}", ids[1]))
            .await
            .text()
            .await
            .unwrap();
        assert!(!other.contains("/reply\""), "no form without an address");
        // Without the CSRF token: refused, nothing sent.
        let r = officer
            .post(&format!("{item}/reply"), &[("body", "Xin chào")])
            .await;
        assert_eq!(r.status(), 403);
        let csrf = hidden_csrf(&page);
        let r = officer
            .post(
                &format!("{item}/reply"),
                &[
                    ("csrf", &csrf),
                    ("body", "Chúng tôi đã báo điện lực sửa đèn trong tuần này."),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        // No address, no reply.
        let r = officer
            .post(
                &format!("/staff/wards/00004/feedback/{}/reply", ids[1]),
                &[("csrf", &csrf), ("body", "Xin chào")],
            )
            .await;
        assert_eq!(r.status(), 400);
        // The reply, then (followup_days = 0) the follow-up.
        let got = sink.wait_for(2, 20).await;
        assert_eq!(got.len(), 2);
        let parsed: Vec<Parsed> = got.iter().map(|m| parse(&m.data)).collect();
        let rcpts: Vec<Vec<String>> = got.iter().map(|m| m.rcpt.clone()).collect();
        assert_eq!(by_rcpt(&parsed, &rcpts, RESIDENT).len(), 2);
        let reply = parsed
            .iter()
            .find(|m| m.subject.contains("trả lời ý kiến"))
            .expect("the reply");
        assert!(
            reply.text.contains("báo điện lực sửa đèn"),
            "{}",
            reply.text
        );
        let follow = parsed
            .iter()
            .find(|m| m.subject.contains("đã được giải quyết chưa"))
            .expect("the follow-up");
        snapshot("reply", reply);
        snapshot("followup", follow);
        let yes = follow
            .text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Đã giải quyết: "))
            .expect("a yes link")
            .to_string();
        let path = yes.trim_start_matches("http://127.0.0.1:8080");
        assert!(path.starts_with("/r/") && path.ends_with("/yes"), "{path}");
        // A tampered token is refused.
        let bad = path.replace("/yes", "").replacen('.', ".0", 1);
        assert_eq!(app.get(&format!("{bad}/yes")).await.status(), 404);
        let r = app.get(path).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Cảm ơn"));
        let page = officer.get(&item).await.text().await.unwrap();
        assert!(
            page.contains("đã được giải quyết"),
            "the answer shows on the item"
        );
        // The resident's address is not kept in the outbox once sent.
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM outbox WHERE recipient = '{RESIDENT}'"
            ))
            .await,
            0
        );
        // The follow-up is sent once, however long the worker runs.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sink.messages().len(), 2);
    }
);

both_mail!(
    messages_wait_while_the_server_is_down,
    |_| {},
    |app, sink| {
        add_user(app, "canbo@cand.vn", "ward:00004").await;
        sink.stop().await;
        answer(app, "00004", "Rất tệ", 1, None).await;
        // Tried, failed, still pending.
        let tried = wait_until(
        app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND attempts >= 1 AND last_error IS NOT NULL",
        1,
        20,
    )
    .await;
        assert_eq!(tried, 1, "the failed try is recorded and the message waits");
        assert!(sink.messages().is_empty());
        sink.restart().await;
        let got = sink.wait_for(1, 20).await;
        assert_eq!(got.len(), 1, "it arrives once the server is back");
        assert_eq!(got[0].rcpt, ["canbo@cand.vn"]);
        assert_eq!(
            wait_until(
                app,
                "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
                1,
                10
            )
            .await,
            1
        );
    }
);

both_mail!(
    a_message_that_keeps_failing_is_shown_to_the_ministry,
    |c| c.mail.max_attempts = 2,
    |app, sink| {
        add_user(app, "canbo@cand.vn", "ward:00004").await;
        sink.stop().await;
        answer(app, "00004", "Rất tệ", 1, None).await;
        let failed = wait_until(
            app,
            "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND attempts = 2",
            1,
            20,
        )
        .await;
        assert_eq!(failed, 1, "failed after max_attempts");
        let ministry = signed_in(app, "bo@cand.vn", "ministry").await;
        let page = ministry.get("/staff/mail").await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(
            page.contains("canbo@cand.vn") && page.contains("ward_alert"),
            "{page}"
        );
        let ward = signed_in(app, "canbo2@cand.vn", "ward:00004").await;
        assert_eq!(ward.get("/staff/mail").await.status(), 404);
        // The ministry puts it back in the queue; it arrives once the server is back.
        sink.restart().await;
        let id = app.count("SELECT MAX(id) FROM outbox").await;
        let csrf = hidden_csrf(&page);
        let r = ministry
            .post(&format!("/staff/mail/{id}/retry"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(sink.wait_for(1, 20).await.len(), 1);
    }
);

/// Two server instances on one database: every message is sent exactly once.
async fn two_workers(backend: Backend) {
    let sink = SmtpSink::start().await;
    let a = spawn_mailing(backend, &sink, |c| c.mail.poll_interval_ms = 10).await;
    let b = TestApp::spawn_on_with(&a.db_url, {
        let url = sink.url();
        move |c| {
            c.smtp_url = Some(url);
            c.mail.poll_interval_ms = 10;
        }
    })
    .await;
    const N: usize = 40;
    for i in 0..N {
        let db = if i % 2 == 0 { &a.state.db } else { &b.state.db };
        let msg = hailong::mail::Message {
            kind: "ward_alert",
            to: format!("nguoi{i}@cand.vn"),
            subject: format!("Thư số {i}"),
            text: format!("nội dung {i}"),
            html: format!("<p>nội dung {i}</p>"),
            headers: vec![],
            ref_key: None,
            dedup_key: None,
        };
        hailong::mail::outbox::enqueue(db, msg).await.unwrap();
    }
    let got = sink.wait_for(N, 30).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = sink.messages();
    assert_eq!(got.len(), N);
    assert_eq!(got_after.len(), N, "nothing is sent twice");
    let mut rcpts: Vec<String> = got_after.iter().flat_map(|m| m.rcpt.clone()).collect();
    rcpts.sort();
    rcpts.dedup();
    assert_eq!(rcpts.len(), N, "each message exactly once");
    assert_eq!(
        a.count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
            .await,
        N as i64
    );
    b.finish().await;
    a.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_send_each_message_once_sqlite() {
    two_workers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn two_workers_send_each_message_once_postgres() {
    two_workers(Backend::Postgres).await;
}

/// Claims race directly: of many concurrent claims of one message, exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_have_one_winner() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.mail.poll_interval_ms = 3_600_000).await;
    let msg = hailong::mail::Message {
        kind: "ward_alert",
        to: "a@cand.vn".into(),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
        headers: vec![],
        ref_key: None,
        dedup_key: None,
    };
    hailong::mail::outbox::enqueue(&app.state.db, msg)
        .await
        .unwrap();
    // The worker ticks once at start; let it pass, then reset the message to unclaimed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    crate::staff::exec(
        &app,
        "UPDATE outbox SET status = 'pending', claimed_until = NULL",
    )
    .await;
    let id = app.count("SELECT MAX(id) FROM outbox").await;
    let now = chrono::Utc::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = app.state.db.clone();
        tasks.push(tokio::spawn(async move {
            hailong::mail::outbox::claim(&db, id, now, chrono::Duration::seconds(60))
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    app.finish().await;
}

/// Without SMTP, messages are written as `.eml` files to the mail folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_messages_are_eml_files() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.mail.poll_interval_ms = 50).await;
    add_user(&app, "canbo@cand.vn", "ward:00004").await;
    answer(&app, "00004", "Tệ", 1, None).await;
    let dir = app.dir.path().join("mail");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let files = loop {
        let files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if !files.is_empty() || tokio::time::Instant::now() > deadline {
            break files;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(files.len(), 1, "one .eml file");
    let raw = std::fs::read_to_string(files[0].path()).unwrap();
    let m = parse(&raw);
    assert!(m.subject.contains("Cảnh báo phản ánh"));
    assert!(raw.contains("canbo@cand.vn"));
    app.finish().await;
}

both_mail!(
    weekly_digest_with_one_click_unsubscribe,
    |_| {},
    |app, sink| {
        add_user(app, "tinh@cand.vn", "province:01").await;
        add_user(app, "bo@cand.vn", "ministry").await;
        add_user(app, "canbo@cand.vn", "ward:00004").await;
        let o = app.cli(&["mail", "digest"]);
        assert!(o.status.success(), "{}", crate::helpers::stderr(&o));
        assert!(crate::helpers::stdout(&o).contains("enqueued 2 digests"));
        let got = sink.wait_for(2, 20).await;
        assert_eq!(got.len(), 2);
        let mut rcpts: Vec<String> = got.iter().flat_map(|m| m.rcpt.clone()).collect();
        rcpts.sort();
        assert_eq!(
            rcpts,
            ["bo@cand.vn", "tinh@cand.vn"],
            "province and ministry only"
        );
        let (prov_raw, _) = got
            .iter()
            .map(|m| (m, &m.rcpt[0]))
            .find(|(_, r)| *r == "tinh@cand.vn")
            .unwrap();
        let m = parse(&prov_raw.data);
        assert!(m.subject.contains("Bản tin tuần"), "{}", m.subject);
        assert!(
            m.text.contains("Hà Nội") || m.text.contains("(01)"),
            "{}",
            m.text
        );
        assert_eq!(
            m.header("List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        let lu = m
            .header("List-Unsubscribe")
            .expect("List-Unsubscribe")
            .to_string();
        let url = lu.trim_matches(['<', '>']);
        assert!(
            url.starts_with("http://127.0.0.1:8080/mail/unsubscribe/"),
            "{url}"
        );
        assert!(m.text.contains(url), "the link is in the body too");
        snapshot(
            "digest",
            &Parsed {
                text: regex::Regex::new(r"/mail/unsubscribe/\d+\.[0-9a-f]{32}")
                    .unwrap()
                    .replace_all(&m.text, "/mail/unsubscribe/[token]")
                    .into_owned(),
                html: regex::Regex::new(r"/mail/unsubscribe/\d+\.[0-9a-f]{32}")
                    .unwrap()
                    .replace_all(&m.html, "/mail/unsubscribe/[token]")
                    .into_owned(),
                ..m.clone()
            },
        );
        let path = url.trim_start_matches("http://127.0.0.1:8080");
        // A GET only asks (a link scanner unsubscribes nobody); a tampered token is refused.
        assert_eq!(app.get(path).await.status(), 200);
        assert_eq!(app.count("SELECT COUNT(*) FROM mail_optouts").await, 0);
        let bad = format!("{}x", &path[..path.len() - 1]);
        assert_eq!(
            app.post_form(&bad, "List-Unsubscribe=One-Click")
                .await
                .status(),
            404
        );
        // The one-click POST of RFC 8058.
        let r = app.post_form(path, "List-Unsubscribe=One-Click").await;
        assert_eq!(r.status(), 200);
        assert_eq!(app.count("SELECT COUNT(*) FROM mail_optouts").await, 1);
        let o = app.cli(&["mail", "digest"]);
        assert!(crate::helpers::stdout(&o).contains("enqueued 1 digests"));
        let got = sink.wait_for(3, 20).await;
        assert_eq!(
            got[2].rcpt,
            ["bo@cand.vn"],
            "the unsubscribed user gets none"
        );
    }
);

both_mail!(invitations_and_password_resets, |_| {}, |app, sink| {
    let o = app.cli(&[
        "users",
        "invite",
        "--email",
        "Moi@CAND.vn",
        "--role",
        "ward:00004",
    ]);
    assert!(o.status.success(), "{}", crate::helpers::stderr(&o));
    let bad = app.cli(&["users", "invite", "--email", "x", "--role", "ward:00004"]);
    assert!(!bad.status.success());
    let got = sink.wait_for(1, 20).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt, ["moi@cand.vn"]);
    let m = parse(&got[0].data);
    assert!(m.subject.contains("Mời anh/chị"), "{}", m.subject);
    let link = |text: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with("http://127.0.0.1:8080/staff/reset/"))
            .expect("a reset link")
            .trim_start_matches("http://127.0.0.1:8080")
            .to_string()
    };
    let path = link(&m.text);
    snapshot(
        "invite",
        &Parsed {
            text: m.text.replace(&path, "/staff/reset/[token]"),
            html: m.html.replace(&path, "/staff/reset/[token]"),
            ..m.clone()
        },
    );
    let b = crate::staff::Browser::new(app);
    let page = b.get(&path).await;
    assert_eq!(page.status(), 200);
    let csrf = hidden_csrf(&page.text().await.unwrap());
    let pw = "mật khẩu mới thật dài 42";
    let r = b
        .post(
            &path,
            &[("csrf", &csrf), ("password", pw), ("confirm", "khác")],
        )
        .await;
    assert_eq!(r.status(), 422, "the two passwords must match");
    let r = b
        .post(&path, &[("csrf", &csrf), ("password", pw), ("confirm", pw)])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        b.login("moi@cand.vn", pw).await,
        303,
        "signs in with the new password"
    );
    // Single use.
    assert_eq!(
        crate::staff::Browser::new(app).get(&path).await.status(),
        404
    );
    // Forgot password: the same answer for a known and an unknown address; a link only to the
    // known one.
    let f = crate::staff::Browser::new(app);
    let page = f.get("/staff/forgot").await.text().await.unwrap();
    let csrf = hidden_csrf(&page);
    let known = f
        .post(
            "/staff/forgot",
            &[("csrf", &csrf), ("email", "moi@cand.vn")],
        )
        .await;
    assert_eq!(known.status(), 200);
    let known = known.text().await.unwrap();
    let unknown = f
        .post("/staff/forgot", &[("csrf", &csrf), ("email", "ai@cand.vn")])
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(known, unknown, "the page tells nothing");
    // Asking again at once sends no second mail.
    let again = f
        .post(
            "/staff/forgot",
            &[("csrf", &csrf), ("email", "moi@cand.vn")],
        )
        .await;
    assert_eq!(again.status(), 200);
    let got = sink.wait_for(2, 20).await;
    assert_eq!(got.len(), 2);
    // The reset link is enqueued before the page is answered: a second one for the repeated
    // request would already be in the outbox.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE LOWER(recipient) LIKE '%moi@cand.vn%'")
            .await,
        2,
        "the invitation and one reset link"
    );
    assert_eq!(got[1].rcpt, ["moi@cand.vn"]);
    let m = parse(&got[1].data);
    assert!(m.subject.contains("Đặt lại mật khẩu"));
    let reset = link(&m.text);
    snapshot(
        "password_reset",
        &Parsed {
            text: m.text.replace(&reset, "/staff/reset/[token]"),
            html: m.html.replace(&reset, "/staff/reset/[token]"),
            ..m.clone()
        },
    );
    let tampered = format!("{}x", &reset[..reset.len() - 1]);
    assert_eq!(f.get(&tampered).await.status(), 404);
    assert_eq!(f.get(&reset).await.status(), 200);
});

crate::both!(paper_ballots_alert_once_per_ward_and_officer, |app| {
    add_user(app, "canbo@cand.vn", "ward:00004").await;
    let f = app.write_file("ballots.csv", crate::cli::REFERENCE_BALLOTS);
    let out = app.cli(&["responses", "import", &f]);
    assert!(out.status.success(), "{}", crate::helpers::stderr(&out));
    // Two of the twelve ballots have overall = 2: one alert listing both, to the one officer,
    // written in the import's transaction.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'ward_alert'")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'ward_alert' \
             AND recipient = 'canbo@cand.vn' AND body_text LIKE '%vừa nhận 2 phản ánh%'"
        )
        .await,
        1
    );
    // A refused file enqueues nothing.
    let bad = app.write_file(
        "bad.csv",
        "ward_code,submitted_at,sex,age,overall\n99999,2026-02-01,m,18-34,1\n",
    );
    assert!(!app.cli(&["responses", "import", &bad]).status.success());
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1);
});

both_mail!(
    weekly_digest_lists_a_significant_drop,
    |_| {},
    |app, sink| {
        add_user(app, "tinh@cand.vn", "province:01").await;
        // Ward 00004: 40 satisfied residents last quarter, 40 dissatisfied ones this quarter.
        let current = hailong::period::Period::current_quarter();
        let day = |p: hailong::period::Period| format!("{}-01", p.months()[0]);
        let mut csv =
            String::from("ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,overall,trust\n");
        for i in 0..40 {
            let (hi, lo) = (4 + i % 2, 1 + i % 2);
            csv.push_str(&format!(
                "00004,{},m,35-54,{hi},{hi},{hi},{hi},{hi},{hi},{hi},{hi},{hi},9\n",
                day(current.prev())
            ));
            csv.push_str(&format!(
                "00004,{},f,35-54,{lo},{lo},{lo},{lo},{lo},{lo},{lo},{lo},{lo},2\n",
                day(current)
            ));
        }
        let f = app.write_file("drop.csv", &csv);
        let o = app.cli(&["responses", "import", &f]);
        assert!(o.status.success(), "{}", crate::helpers::stderr(&o));
        // The paper ballots alert the ward's officers (none here); now the digest.
        let o = app.cli(&["mail", "digest"]);
        assert!(o.status.success(), "{}", crate::helpers::stderr(&o));
        let got = sink.wait_for(1, 20).await;
        let digest = got
            .iter()
            .find(|m| m.rcpt == ["tinh@cand.vn"])
            .expect("the province user's digest");
        let m = parse(&digest.data);
        assert!(m.text.contains("Giảm rõ rệt"), "{}", m.text);
        assert!(m.text.contains("Phường Ba Đình (00004)"), "{}", m.text);
        assert!(m.text.contains("1 significant drop(s)"), "{}", m.text);
    }
);

/// Reset requests share the sign-in failure counts (per account and address, per address): a
/// client cannot make the server mail address after address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_requests_are_rate_limited() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.logins_per_minute = 2;
        c.rate_limit.address_logins_per_minute = 2;
    })
    .await;
    add_user(&app, "moi@cand.vn", "ward:00004").await;
    let f = crate::staff::Browser::new(&app);
    let page = f.get("/staff/forgot").await.text().await.unwrap();
    let csrf = hidden_csrf(&page);
    for e in ["a@cand.vn", "b@cand.vn"] {
        let r = f
            .post("/staff/forgot", &[("csrf", &csrf), ("email", e)])
            .await;
        assert_eq!(r.status(), 200);
    }
    let r = f
        .post(
            "/staff/forgot",
            &[("csrf", &csrf), ("email", "moi@cand.vn")],
        )
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let text = r.text().await.unwrap();
    assert!(text.contains("Có quá nhiều yêu cầu"), "{text}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'password_reset'")
            .await,
        0,
        "the limited request mailed nobody"
    );
    app.finish().await;
}
