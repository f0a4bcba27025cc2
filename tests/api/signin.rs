//! Sign-in and staff limits (docs/hardening.md): failures from one address never lock the
//! real user out from another, staff pages are limited per session, the login form's cookie is
//! signed, and `next=` never leaves the console. Client addresses are real: Linux routes all
//! of 127.0.0.0/8 to the loopback, so clients bound to 127.0.0.2 and 127.0.0.3 are two.

use crate::both;
use crate::helpers::{Backend, TestApp};
use crate::staff::{Browser, PW, add_user, hidden_csrf};

/// A browser whose connections come from the loopback address `from`.
fn browser_from(app: &TestApp, from: &str) -> Browser {
    Browser {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .local_address(Some(from.parse().unwrap()))
            .build()
            .unwrap(),
        base: app.url(""),
    }
}

/// Limits on, with page limits high enough not to matter.
fn limits_on(c: &mut hailong::config::Config) {
    c.rate_limit.enabled = true;
    c.rate_limit.pages_per_second = 1000;
    c.rate_limit.pages_burst = 1000;
    c.rate_limit.address_pages_per_second = 1000;
    c.rate_limit.address_pages_burst = 1000;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_from_one_address_never_lock_out_another() {
    let app = TestApp::spawn_with(Backend::Sqlite, limits_on).await;
    add_user(&app, "w@example.vn", "ward:00004").await;
    let attacker = browser_from(&app, "127.0.0.2");
    let csrf = hidden_csrf(&attacker.get("/staff/login").await.text().await.unwrap());
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let r = attacker
            .post(
                "/staff/login",
                &[
                    ("email", "w@example.vn"),
                    ("password", "doán bừa 123456"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        statuses.push(r.status().as_u16());
    }
    // The default: ten failures a minute for one account from one address.
    assert_eq!(&statuses[..10], &[401; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429; 10], "{statuses:?}");
    // The attacker's address waits, even with the right password …
    let r = attacker
        .post(
            "/staff/login",
            &[("email", "w@example.vn"), ("password", PW), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 429);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Đăng nhập sai quá nhiều lần")
    );
    // … while the real user, from another address, signs in.
    let user = browser_from(&app, "127.0.0.3");
    assert_eq!(user.login("w@example.vn", PW).await, 303);
    assert_eq!(user.get("/staff").await.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_sessions").await, 1);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_over_many_accounts_hold_back_only_their_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        limits_on(c);
        c.rate_limit.address_logins_per_minute = 4;
    })
    .await;
    add_user(&app, "w@example.vn", "ward:00004").await;
    let sprayer = browser_from(&app, "127.0.0.2");
    let csrf = hidden_csrf(&sprayer.get("/staff/login").await.text().await.unwrap());
    let mut statuses = Vec::new();
    for i in 0..6 {
        let email = format!("u{i}@example.vn");
        let r = sprayer
            .post(
                "/staff/login",
                &[
                    ("email", &email),
                    ("password", "sai rồi 1234"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
    let user = browser_from(&app, "127.0.0.3");
    assert_eq!(user.login("w@example.vn", PW).await, 303);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_pages_are_limited_per_session() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.pages_per_second = 1;
        c.rate_limit.pages_burst = 5;
        c.rate_limit.address_pages_per_second = 1000;
        c.rate_limit.address_pages_burst = 1000;
    })
    .await;
    let id = add_user(&app, "w@example.vn", "ward:00004").await;
    let mut sessions = Vec::new();
    for _ in 0..2 {
        sessions.push(
            hailong::store::staff::create_session(&app.state.db, id)
                .await
                .unwrap(),
        );
    }
    // Every client below comes from 127.0.0.1, like an office behind one address.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = async |cookie: &str, path: &str| {
        let mut r = client.get(app.url(path));
        if !cookie.is_empty() {
            r = r.header("cookie", cookie);
        }
        r.send().await.unwrap().status().as_u16()
    };
    let until_limited = async |cookie: &str, path: &str| {
        for n in 0..20 {
            if get(cookie, path).await == 429 {
                return n;
            }
        }
        panic!("never limited");
    };
    let first = format!("hl_staff={}", sessions[0]);
    let second = format!("hl_staff={}", sessions[1]);
    let served = until_limited(&first, "/staff").await;
    assert!((5..=7).contains(&served), "{served} pages before 429");
    // The second session has its own allowance.
    for _ in 0..4 {
        assert_eq!(get(&second, "/staff").await, 200);
    }
    // Visitors are still limited per address, and a made-up session cookie is a visitor.
    let anonymous = until_limited("", "/staff/login").await;
    assert!((5..=7).contains(&anonymous), "{anonymous}");
    assert_eq!(
        get(&format!("hl_staff={}", "ab".repeat(32)), "/staff").await,
        429
    );
    assert_eq!(get(&second, "/staff").await, 200);
    app.finish().await;
}

both!(a_planted_login_cookie_is_refused, |app| {
    add_user(app, "w@example.vn", "ward:00004").await;
    let planted = "c0ffee".repeat(10) + "abcd";
    let signed_looking = format!(
        "{planted}.{}.{}",
        chrono::Utc::now().timestamp(),
        "0".repeat(64)
    );
    for cookie in [planted.clone(), signed_looking] {
        let r = reqwest::Client::new()
            .post(app.url("/staff/login"))
            .header("cookie", format!("hl_login={cookie}"))
            .form(&[
                ("email", "w@example.vn"),
                ("password", PW),
                ("csrf", planted.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{cookie}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains("Biểu mẫu đã hết hạn hoặc không hợp lệ"),
            "{body}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_sessions").await, 0);
    // The login page replaces the planted cookie with one it signed, and that one works.
    let b = Browser::new(app);
    let page = b
        .client
        .get(app.url("/staff/login"))
        .header("cookie", format!("hl_login={planted}"))
        .send()
        .await
        .unwrap();
    let set = page.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(!set.contains(&planted), "{set}");
    let csrf = hidden_csrf(&page.text().await.unwrap());
    assert_ne!(csrf, planted);
    let r = b
        .post(
            "/staff/login",
            &[("email", "w@example.vn"), ("password", PW), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_sessions").await, 1);
});

/// `next=` values that must not be followed.
const BAD_NEXT: &[&str] = &[
    "/staff\r\nSet-Cookie: evil=1",
    "/staff/wards\nLocation: https://evil.example",
    "/staff\r",
    "/staff/\t",
    "/staff/ x",
    "/staff\u{0}",
    "//evil.example",
    "//evil.example/staff",
    "/staff//evil.example",
    "/staff/../x",
    "/staff/./x",
    "/staff/%2e%2e/x",
    "/staff/%2E%2E/%2e%2E/api",
    "/staff/%0d%0aSet-Cookie:%20x=1",
    "/staff\\evil",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/staff",
    "http:/staff",
    "javascript:alert(1)",
    "/staffevil",
    "/staff/login",
    "/s/00004",
    "",
];

/// The value of the login form's hidden `next` field.
fn hidden_next(page: &str) -> String {
    let field = "name=\"next\" value=\"";
    let at = page.find(field).expect("a next field") + field.len();
    let len = page[at..].find('"').unwrap();
    page[at..at + len]
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

both!(next_never_leaves_the_console, |app| {
    add_user(app, "w@example.vn", "ward:00004").await;
    for next in BAD_NEXT {
        let b = Browser::new(app);
        // The form does not carry it …
        let page = b
            .client
            .get(app.url("/staff/login"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(hidden_next(&page), "/staff", "{next:?} was put in the form");
        // … and a login that sends it anyway goes to /staff.
        let r = b
            .post(
                "/staff/login",
                &[
                    ("email", "w@example.vn"),
                    ("password", PW),
                    ("csrf", &hidden_csrf(&page)),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "{next:?}");
        assert_eq!(r.headers()["location"], "/staff", "{next:?}");
    }
    // A path inside the console is kept; signed in, the login page sends one on to it.
    let b = Browser::new(app);
    let good = "/staff/wards/00004/feedback?page=2";
    let page = b
        .client
        .get(app.url("/staff/login"))
        .query(&[("next", good)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(hidden_next(&page), good);
    assert_eq!(b.login("w@example.vn", PW).await, 303);
    for (next, to) in [("//evil.example", "/staff"), (good, good)] {
        let r = b
            .client
            .get(app.url("/staff/login"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], to, "{next:?}");
    }
});
