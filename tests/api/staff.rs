//! The staff console: accounts, sessions, CSRF, the login rate limit, role scopes on
//! every staff route, the ward inbox and exports.

use crate::both;
use crate::helpers::{Backend, TestApp, stderr, stdout};

/// A browser of one staff member: its own cookie jar.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

pub fn hidden_csrf(body: &str) -> String {
    let at = body
        .find("name=\"csrf\" value=\"")
        .expect("a CSRF field in the page");
    body[at + 19..at + 19 + 64].to_string()
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .unwrap(),
            base: app.url(""),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in; returns the status of the login POST.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::StatusCode {
        let page = self.get("/staff/login").await.text().await.unwrap();
        let csrf = hidden_csrf(&page);
        self.post(
            "/staff/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
        .status()
    }

    /// The CSRF token of the session, read from a console page.
    pub async fn csrf(&self) -> String {
        hidden_csrf(&self.get("/staff").await.text().await.unwrap())
    }
}

pub const PW: &str = "mật khẩu đủ dài 123";

/// Adds a user directly in the database (the CLI is tested on its own).
pub async fn add_user(app: &TestApp, email: &str, role: &str) -> i64 {
    let scope = hailong::auth::Scope::parse(role).unwrap();
    let hash = hailong::auth::password::hash(PW).unwrap();
    hailong::store::staff::add_user(&app.state.db, email, &scope, &hash)
        .await
        .unwrap()
}

pub async fn signed_in(app: &TestApp, email: &str, role: &str) -> Browser {
    add_user(app, email, role).await;
    let b = Browser::new(app);
    assert_eq!(b.login(email, PW).await, 303, "{email} signs in");
    b
}

/// A survey answer with a comment, submitted by a resident of `ward`.
pub async fn submit(app: &TestApp, ward: &str, comment: &str, overall: u8) {
    let body = format!(
        "{}&comment={}",
        crate::public::VALID.replace("overall=3", &format!("overall={overall}")),
        form_urlencoded::byte_serialize(comment.as_bytes()).collect::<String>()
    );
    let r = reqwest::Client::new()
        .post(app.url(&format!("/s/{ward}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection() || r.status() == 200,
        "{}",
        r.status()
    );
}

both!(users_add_command, |app| {
    let o = app.cli(&[
        "users",
        "add",
        "--email",
        "CAP@example.vn",
        "--role",
        "ward:00004",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let pw = out
        .lines()
        .find_map(|l| l.strip_prefix("password (shown only this once): "))
        .expect("the generated password is printed once")
        .to_string();
    assert!(pw.len() >= 20, "{pw}");
    let b = Browser::new(app);
    assert_eq!(b.login("cap@example.vn", &pw).await, 303);
    // Stored as argon2id, never in clear.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM staff_users WHERE password_hash LIKE '$argon2id$%'")
            .await,
        1
    );
    // --password-stdin, a duplicate, bad roles and unknown units.
    let o = app.cli_with(
        &[
            "users",
            "add",
            "--email",
            "bo@example.vn",
            "--role",
            "ministry",
            "--password-stdin",
        ],
        Some("mot mat khau rat dai\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("password"));
    let b = Browser::new(app);
    assert_eq!(b.login("bo@example.vn", "mot mat khau rat dai").await, 303);
    let o = app.cli(&[
        "users",
        "add",
        "--email",
        "cap@example.vn",
        "--role",
        "ministry",
    ]);
    assert!(!o.status.success() && stderr(&o).contains("already exists"));
    let o = app.cli(&[
        "users",
        "add",
        "--email",
        "x@example.vn",
        "--role",
        "ward:99999",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("no such"),
        "{}",
        stderr(&o)
    );
    let o = app.cli(&["users", "add", "--email", "x@example.vn", "--role", "admin"]);
    assert_eq!(o.status.code(), Some(2));
    let o = app.cli_with(
        &[
            "users",
            "add",
            "--email",
            "y@example.vn",
            "--role",
            "ministry",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    assert!(!o.status.success() && stderr(&o).contains("12"));
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_users").await, 2);
});

both!(login_logout_and_cookies, |app| {
    add_user(app, "w@example.vn", "ward:00004").await;
    let b = Browser::new(app);
    // Not signed in: to the login page, then back.
    let r = b.get("/staff/wards/00004/feedback").await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/staff/login?next=")
    );
    // Unknown e-mail and wrong password get the same answer.
    let page = b.get("/staff/login").await.text().await.unwrap();
    assert!(page.contains("name=\"email\"") && page.contains("name=\"password\""));
    let csrf = hidden_csrf(&page);
    let wrong = b
        .post(
            "/staff/login",
            &[
                ("email", "w@example.vn"),
                ("password", "wrong password!"),
                ("csrf", &csrf),
            ],
        )
        .await;
    let unknown = b
        .post(
            "/staff/login",
            &[
                ("email", "nobody@example.vn"),
                ("password", "wrong password!"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let (w, u) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert!(w.contains("không đúng"));
    assert_eq!(
        w.replace("w@example.vn", "E"),
        u.replace("nobody@example.vn", "E"),
        "same page for an unknown e-mail and a wrong password"
    );
    // A login without the CSRF field is refused.
    let r = b
        .post(
            "/staff/login",
            &[("email", "w@example.vn"), ("password", PW)],
        )
        .await;
    assert_eq!(r.status(), 403);
    // Signing in sets an HttpOnly, SameSite cookie.
    let r = b
        .post(
            "/staff/login",
            &[("email", "W@Example.vn"), ("password", PW), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("hl_staff="))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http base URL");
    assert_eq!(b.get("/staff").await.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_sessions").await, 1);
    // Logout needs the CSRF token, then ends the session server-side.
    assert_eq!(b.post("/staff/logout", &[]).await.status(), 403);
    let csrf = b.csrf().await;
    assert_eq!(
        b.post("/staff/logout", &[("csrf", &csrf)]).await.status(),
        303
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_sessions").await, 0);
    assert_eq!(b.get("/staff").await.status(), 303);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookie_over_https() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.base_url = "https://hailong.example.vn".into()
    })
    .await;
    add_user(&app, "w@example.vn", "ward:00004").await;
    let b = Browser::new(&app);
    let page = b.get("/staff/login").await;
    let set = page.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.contains("Secure"), "{set}");
    app.finish().await;
}

both!(password_change, |app| {
    let b = signed_in(app, "w@example.vn", "ward:00004").await;
    let other = Browser::new(app);
    assert_eq!(other.login("w@example.vn", PW).await, 303);
    let csrf = b.csrf().await;
    let r = b
        .post(
            "/staff/password",
            &[
                ("csrf", &csrf),
                ("current", "nope nope nope"),
                ("new", "mật khẩu mới rất dài"),
                ("confirm", "mật khẩu mới rất dài"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = b
        .post(
            "/staff/password",
            &[
                ("csrf", &csrf),
                ("current", PW),
                ("new", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = b
        .post(
            "/staff/password",
            &[
                ("current", PW),
                ("new", "mật khẩu mới rất dài"),
                ("confirm", "mật khẩu mới rất dài"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403, "no CSRF token");
    let r = b
        .post(
            "/staff/password",
            &[
                ("csrf", &csrf),
                ("current", PW),
                ("new", "mật khẩu mới rất dài"),
                ("confirm", "mật khẩu mới rất dài"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    // The other session ended; this one lives; the new password works, the old one not.
    assert_eq!(other.get("/staff").await.status(), 303);
    assert_eq!(b.get("/staff").await.status(), 200);
    let fresh = Browser::new(app);
    assert_eq!(fresh.login("w@example.vn", PW).await, 401);
    assert_eq!(
        fresh.login("w@example.vn", "mật khẩu mới rất dài").await,
        303
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_when_idle_and_absolutely() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let b = signed_in(&app, "w@example.vn", "ward:00004").await;
    assert_eq!(b.get("/staff").await.status(), 200);
    // Idle: last seen 31 minutes ago (default idle limit 30).
    let old = (chrono::Utc::now() - chrono::Duration::minutes(31)).to_rfc3339();
    exec(
        &app,
        &format!("UPDATE staff_sessions SET last_seen_at = '{old}'"),
    )
    .await;
    assert_eq!(b.get("/staff").await.status(), 303);
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_sessions").await, 0);
    // Absolute: signed in 13 hours ago, even if active a second ago.
    assert_eq!(b.login("w@example.vn", PW).await, 303);
    let old = (chrono::Utc::now() - chrono::Duration::hours(13)).to_rfc3339();
    exec(
        &app,
        &format!("UPDATE staff_sessions SET created_at = '{old}'"),
    )
    .await;
    assert_eq!(b.get("/staff").await.status(), 303);
    app.finish().await;
}

pub async fn exec(app: &TestApp, sql: &str) {
    use sea_orm::ConnectionTrait;
    app.state.db.execute_unprepared(sql).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited() {
    // Addresses come from X-Forwarded-For (a trusted proxy), so one test can be many clients.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.logins_per_minute = 3;
        c.rate_limit.address_logins_per_minute = 3;
        c.rate_limit.pages_per_second = 1000;
        c.rate_limit.pages_burst = 1000;
        c.rate_limit.address_pages_per_second = 1000;
        c.rate_limit.address_pages_burst = 1000;
        c.rate_limit.trusted_proxies = vec!["127.0.0.1".into()];
        c.rate_limit.trusted_proxy_header = Some("x-forwarded-for".into());
    })
    .await;
    add_user(&app, "w@example.vn", "ward:00004").await;
    let b = Browser::new(&app);
    let csrf = hidden_csrf(&b.get("/staff/login").await.text().await.unwrap());
    let attempt = |from: String, email: &'static str, pw: &'static str| {
        let b = &b;
        let csrf = csrf.clone();
        async move {
            b.client
                .post(format!("{}/staff/login", b.base))
                .header("x-forwarded-for", from)
                .form(&[("email", email), ("password", pw), ("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    // Per account and address: three wrong passwords, then even the right one waits there …
    for _ in 1..=3 {
        let r = attempt("203.0.113.1".into(), "w@example.vn", "wrong password!").await;
        assert_eq!(r.status(), 401);
    }
    let r = attempt("203.0.113.1".into(), "w@example.vn", PW).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().await.unwrap().contains("quá nhiều"));

    // Per address: one address trying three accounts, then a fourth is refused.
    for email in ["a@example.vn", "b@example.vn", "c@example.vn"] {
        assert_eq!(
            attempt("198.51.100.7".into(), email, "x").await.status(),
            401
        );
    }
    assert_eq!(
        attempt("198.51.100.7".into(), "d@example.vn", "x")
            .await
            .status(),
        429
    );
    // The account that waits at 203.0.113.1 still signs in from another address (a success
    // clears the form's cookie, so this comes last).
    assert_eq!(
        attempt("192.0.2.1".into(), "w@example.vn", PW)
            .await
            .status(),
        303
    );
    app.finish().await;
}

// Every staff route for every role: allowed (200) or 404, never a leak.
both!(every_role_against_every_route, |app| {
    submit(app, "00004", "Đèn đường hỏng", 2).await;
    submit(app, "25747", "Cảm ơn các anh", 5).await;
    let id_04 = app
        .count("SELECT MIN(id) FROM responses WHERE ward_code = '00004'")
        .await;
    let id_79 = app
        .count("SELECT MIN(id) FROM responses WHERE ward_code = '25747'")
        .await;
    let ward = signed_in(app, "ward@example.vn", "ward:00004").await;
    let prov = signed_in(app, "prov@example.vn", "province:01").await;
    let bo = signed_in(app, "bo@example.vn", "ministry").await;
    let routes = [
        "/staff".to_string(),
        "/staff/password".into(),
        "/staff/exports".into(),
        "/staff/provinces/01".into(),
        "/staff/provinces/79".into(),
        "/staff/wards/00004".into(),
        "/staff/wards/00008".into(),
        "/staff/wards/25747".into(),
        "/staff/wards/00004/feedback".into(),
        "/staff/wards/25747/feedback".into(),
        format!("/staff/wards/00004/feedback/{id_04}"),
        format!("/staff/wards/25747/feedback/{id_79}"),
        format!("/staff/wards/00004/feedback/{id_79}"),
        "/staff/exports/responses.csv".into(),
        "/staff/exports/responses.csv?ward=00004".into(),
        "/staff/exports/responses.csv?ward=25747".into(),
        "/staff/exports/responses.csv?province=01".into(),
        "/staff/exports/responses.csv?province=79".into(),
        "/staff/exports/responses.xlsx?ward=00004".into(),
        "/staff/exports/responses.xlsx?province=79".into(),
    ];
    // (route index → expected status) for ward, province, ministry.
    let expect = |who: &str, path: &str| -> u16 {
        let p79 =
            path.contains("25747") || path.contains("provinces/79") || path.contains("province=79");
        let mismatch = path.ends_with(&format!("00004/feedback/{id_79}"));
        if mismatch {
            return 404;
        }
        let outside = match who {
            "ward" => {
                p79 || path.contains("00008")
                    || path.contains("/provinces/")
                    || path.contains("province=01")
            }
            "prov" => p79,
            _ => false,
        };
        if outside { 404 } else { 200 }
    };
    for (who, b) in [("ward", &ward), ("prov", &prov), ("bo", &bo)] {
        for path in &routes {
            let r = b.get(path).await;
            assert_eq!(r.status().as_u16(), expect(who, path), "{who} GET {path}");
            let body = r.bytes().await.unwrap();
            if expect(who, path) == 404 {
                // Exactly the page of something that does not exist.
                let none = b.get("/staff/wards/99999").await;
                assert_eq!(none.status(), 404);
                assert_eq!(body, none.bytes().await.unwrap(), "{who} {path}");
            }
        }
    }
    // Outside the scope, a state change is 404 too (and nothing changes).
    let csrf = ward.csrf().await;
    let r = ward
        .post(
            &format!("/staff/wards/25747/feedback/{id_79}/status"),
            &[("csrf", &csrf), ("status", "in_progress")],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.count("SELECT COUNT(*) FROM feedback_states").await, 0);
});

both!(ward_inbox_workflow, |app| {
    submit(app, "00004", "Xe máy đỗ tràn vỉa hè đường Đội Cấn", 2).await;
    submit(app, "00004", "Cán bộ rất nhiệt tình", 5).await;
    submit(app, "00008", "Phường khác", 1).await;
    let w = signed_in(app, "w@example.vn", "ward:00004").await;
    let colleague = add_user(app, "c@example.vn", "ward:00004").await;
    let stranger = add_user(app, "s@example.vn", "ward:00008").await;
    let page = w
        .get("/staff/wards/00004/feedback")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Xe máy đỗ tràn vỉa hè") && page.contains("Cán bộ rất nhiệt tình"));
    assert!(!page.contains("Phường khác"));
    // Newest first.
    assert!(page.find("Cán bộ rất nhiệt tình").unwrap() < page.find("Xe máy đỗ").unwrap());
    // Score band filter.
    let low = w
        .get("/staff/wards/00004/feedback?band=low")
        .await
        .text()
        .await
        .unwrap();
    assert!(low.contains("Xe máy đỗ") && !low.contains("Cán bộ rất nhiệt tình"));
    let web = w
        .get("/staff/wards/00004/feedback?channel=paper")
        .await
        .text()
        .await
        .unwrap();
    assert!(!web.contains("Xe máy đỗ"));
    assert_eq!(
        w.get("/staff/wards/00004/feedback?period=2026-13")
            .await
            .status(),
        400
    );
    let id = {
        use sea_orm::EntityTrait;
        hailong::entities::response::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.answers["overall"] == 2)
            .expect("the response with overall 2")
            .id
    };
    let item = format!("/staff/wards/00004/feedback/{id}");
    let csrf = w.csrf().await;
    // CSRF: missing or wrong → 403, nothing changes.
    assert_eq!(
        w.post(&format!("{item}/status"), &[("status", "in_progress")])
            .await
            .status(),
        403
    );
    assert_eq!(
        w.post(
            &format!("{item}/status"),
            &[("status", "in_progress"), ("csrf", &"0".repeat(64))]
        )
        .await
        .status(),
        403
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM feedback_states").await, 0);
    // new → in progress → resolved; resolved → new is not a move.
    assert_eq!(
        w.post(
            &format!("{item}/status"),
            &[("status", "in_progress"), ("csrf", &csrf)]
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        w.post(
            &format!("{item}/status"),
            &[("status", "resolved"), ("csrf", &csrf)]
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        w.post(
            &format!("{item}/status"),
            &[("status", "new"), ("csrf", &csrf)]
        )
        .await
        .status(),
        400
    );
    let page = w.get(&item).await.text().await.unwrap();
    assert!(page.contains("Đã giải quyết"), "status shown");
    let resolved = w
        .get("/staff/wards/00004/feedback?status=resolved")
        .await
        .text()
        .await
        .unwrap();
    assert!(resolved.contains("Xe máy đỗ") && !resolved.contains("Cán bộ rất nhiệt tình"));
    let new = w
        .get("/staff/wards/00004/feedback?status=new")
        .await
        .text()
        .await
        .unwrap();
    assert!(!new.contains("Xe máy đỗ") && new.contains("Cán bộ rất nhiệt tình"));
    // Assignment: a colleague of the ward, never someone of another ward.
    let c = colleague.to_string();
    assert_eq!(
        w.post(
            &format!("{item}/assign"),
            &[("assignee", &c), ("csrf", &csrf)]
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM feedback_states WHERE assignee_id = {colleague}"
        ))
        .await,
        1
    );
    let s = stranger.to_string();
    assert_eq!(
        w.post(
            &format!("{item}/assign"),
            &[("assignee", &s), ("csrf", &csrf)]
        )
        .await
        .status(),
        400
    );
    // Notes.
    assert_eq!(
        w.post(
            &format!("{item}/notes"),
            &[("body", "Đã liên hệ tổ dân phố"), ("csrf", &csrf)]
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        w.post(&format!("{item}/notes"), &[("body", "  "), ("csrf", &csrf)])
            .await
            .status(),
        400
    );
    let page = w.get(&item).await.text().await.unwrap();
    assert!(page.contains("Đã liên hệ tổ dân phố") && page.contains("c@example.vn"));
    // Every change is in the audit log, which only the ministry reads.
    for (action, n) in [
        ("feedback_status", 2),
        ("feedback_assign", 1),
        ("feedback_note", 1),
        ("login", 1),
    ] {
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND actor = 'w@example.vn'")).await,
            n,
            "{action}"
        );
    }
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM audit_log WHERE target = 'response:{id}' AND detail LIKE '%resolved%'")).await, 1);
    assert_eq!(w.get("/staff/audit").await.status(), 404);
    let bo = signed_in(app, "bo@example.vn", "ministry").await;
    let log = bo
        .get("/staff/audit?action=feedback_status")
        .await
        .text()
        .await
        .unwrap();
    assert!(log.contains("w@example.vn") && log.contains(&format!("Phiếu số {id}")));
    assert!(log.contains("Đổi trạng thái xử lý ý kiến") && log.contains("Sau: Đã giải quyết"));
    // An "issue" answer alone makes an inbox item, which `with_comment=1` leaves out.
    let issue_only = format!(
        "{}&issue=C%C6%B0%E1%BB%9Bp+gi%E1%BA%ADt",
        crate::public::VALID
    );
    let r = app.post_form("/s/00004", &issue_only).await;
    assert_eq!(r.status(), 303);
    let all = w
        .get("/staff/wards/00004/feedback")
        .await
        .text()
        .await
        .unwrap();
    assert!(all.contains("Cướp giật") && all.contains("Cán bộ rất nhiệt tình"));
    let commented = w
        .get("/staff/wards/00004/feedback?with_comment=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(!commented.contains("Cướp giật") && commented.contains("Cán bộ rất nhiệt tình"));
});

both!(free_text_is_masked_for_staff, |app| {
    submit(
        app,
        "00004",
        "Gọi tôi 0912 345 678, email an@example.vn, xe 29A-123.45",
        3,
    )
    .await;
    let w = signed_in(app, "w@example.vn", "ward:00004").await;
    let page = w
        .get("/staff/wards/00004/feedback")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("0912 345 678")
            && !page.contains("an@example.vn")
            && !page.contains("29A-123.45"),
        "{page}"
    );
    assert!(page.contains("đã ẩn"));
    let csv = w
        .get("/staff/exports/responses.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(!csv.contains("0912 345 678") && !csv.contains("an@example.vn"));
});

both!(csv_export_is_scoped_and_has_no_contact_data, |app| {
    let body = format!(
        "{}&comment=G%C3%B3p+%C3%BD&contact_email=dan%40example.vn&contact_consent=on",
        crate::public::VALID
    );
    app.post_form("/s/00004", &body).await;
    submit(app, "00008", "Ngọc Hà", 4).await;
    submit(app, "25747", "Thủ Dầu Một", 4).await;
    let prov = signed_in(app, "p@example.vn", "province:01").await;
    let r = prov.get("/staff/exports/responses.csv").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = r.text().await.unwrap();
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert!(headers.iter().any(|h| h == "comment") && headers.iter().any(|h| h == "a1"));
    assert!(!headers.iter().any(|h| h.contains("contact")));
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "the two wards of province 01");
    assert!(!text.contains("dan@example.vn"));
    let ward_col = headers.iter().position(|h| h == "ward_code").unwrap();
    let mut wards: Vec<&str> = rows.iter().map(|r| &r[ward_col]).collect();
    wards.sort();
    assert_eq!(wards, ["00004", "00008"]);
    let one = prov
        .get("/staff/exports/responses.csv?ward=00008&period=2020-Q1")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(one.lines().count(), 1, "header only: no response in 2020");
    let bo = signed_in(app, "bo@example.vn", "ministry").await;
    let all = bo
        .get("/staff/exports/responses.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(all.lines().count(), 4);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND actor = 'p@example.vn'"
        )
        .await,
        2
    );
    let x = bo.get("/staff/exports/responses.xlsx").await;
    assert_eq!(x.status(), 200);
    let bytes = x.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX (zip) file");
    assert_eq!(
        bo.get("/staff/exports/responses.csv?period=bad")
            .await
            .status(),
        400
    );
});

both!(api_tokens_shown_once_hashed_and_revocable, |app| {
    use axum::routing::get;
    use hailong::web::caller::Caller;
    use tower::ServiceExt;
    let bo = signed_in(app, "bo@example.vn", "ministry").await;
    let ward = signed_in(app, "w@example.vn", "ward:00004").await;
    assert_eq!(
        ward.get("/staff/tokens").await.status(),
        404,
        "ministry only"
    );
    let csrf = bo.csrf().await;
    assert_eq!(
        bo.post("/staff/tokens", &[("name", "Cổng dữ liệu")])
            .await
            .status(),
        403
    );
    let page = bo
        .post(
            "/staff/tokens",
            &[("name", "Cổng dữ liệu"), ("csrf", &csrf)],
        )
        .await
        .text()
        .await
        .unwrap();
    let at = page.find("id=\"new-token\">").expect("the token is shown") + 15;
    let token = page[at..at + 67].to_string();
    assert!(token.starts_with("hl_"), "{token}");
    // Stored hashed, shown once.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
    let again = bo.get("/staff/tokens").await.text().await.unwrap();
    assert!(again.contains("Cổng dữ liệu") && !again.contains(&token));
    // The Caller extractor the JSON API uses.
    let router = axum::Router::new()
        .route(
            "/who",
            get(|c: Caller| async move {
                match c {
                    Caller::Public => "public".to_string(),
                    Caller::Staff(u) => format!("staff {}", u.email),
                    Caller::Token { name, .. } => format!("token {name}"),
                }
            }),
        )
        .with_state(app.state.clone());
    let call = |auth: Option<String>| {
        let router = router.clone();
        async move {
            let mut req = axum::http::Request::builder().uri("/who");
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let resp = router
                .oneshot(req.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    assert_eq!(call(None).await, (200, "public".into()));
    assert_eq!(
        call(Some(format!("Bearer {token}"))).await,
        (200, "token Cổng dữ liệu".into())
    );
    assert_eq!(call(Some("Bearer hl_nope".into())).await.0, 401);
    assert_eq!(call(Some("Basic abc".into())).await.0, 401);
    let mut h = axum::http::HeaderMap::new();
    h.insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert!(
        Caller::from_headers(&app.state, &h)
            .await
            .unwrap()
            .sees_all_values()
    );
    let public = Caller::from_headers(&app.state, &axum::http::HeaderMap::new())
        .await
        .unwrap();
    assert!(!public.sees_all_values());
    let id = app.count("SELECT id FROM api_tokens").await;
    assert_eq!(
        bo.post(&format!("/staff/tokens/{id}/revoke"), &[("csrf", &csrf)])
            .await
            .status(),
        303
    );
    assert_eq!(
        call(Some(format!("Bearer {token}"))).await.0,
        401,
        "revoked"
    );
    assert_eq!(
        bo.post(&format!("/staff/tokens/{id}/revoke"), &[("csrf", &csrf)])
            .await
            .status(),
        404
    );
});

both!(dashboard_province_and_criteria, |app| {
    // 35 paper ballots of 00004 this quarter, with varied answers.
    let today = chrono::Utc::now()
        .with_timezone(&hailong::period::vietnam())
        .format("%Y-%m-%d")
        .to_string();
    let mut csv = String::from(
        "ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,used_procedures,overall,trust\n",
    );
    for i in 0..35u32 {
        let v = |k: u32| 1 + (i * k + i / 3) % 5;
        csv.push_str(&format!(
            "00004,{today},{},{},{},{},{},{},{},{},{},{},no,{},{}\n",
            if i % 2 == 0 { "m" } else { "f" },
            ["18-34", "35-54", "55+"][(i % 3) as usize],
            v(1),
            v(2),
            v(3),
            v(1),
            v(2),
            v(3),
            v(1),
            v(4),
            v(2),
            (i * 3) % 11
        ));
    }
    let file = app.write_file("paper.csv", &csv);
    let o = app.cli(&["responses", "import", &file]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = signed_in(app, "w@example.vn", "ward:00004").await;
    let page = w.get("/staff/wards/00004").await.text().await.unwrap();
    assert!(
        page.contains("<svg") && page.contains("<polyline") || page.contains("<line"),
        "a chart"
    );
    assert!(
        page.contains("Độ tin cậy thấp"),
        "n_eff 35: low reliability"
    );
    assert!(page.contains("Chỉ số hài lòng"));
    assert!(!page.contains("style="), "no inline style");
    assert_eq!(
        w.get("/staff/wards/00004?period=2026-Q9").await.status(),
        400
    );
    let csrf = w.csrf().await;
    let q = hailong::period::Period::current_quarter().to_string();
    // A ward officer may not enter criteria.
    let r = w
        .post(
            "/staff/wards/00004/criteria",
            &[("csrf", &csrf), ("period", &q), ("c_security_order", "80")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let p = signed_in(app, "p@example.vn", "province:01").await;
    let csrf = p.csrf().await;
    let r = p
        .post(
            "/staff/wards/00004/criteria",
            &[
                ("csrf", &csrf),
                ("period", &q),
                ("c_security_order", "180"),
                ("c_force_building", "75,5"),
                ("c_urban_civility", "sáu mươi"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422, "0..100 only, every bad field named");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("“180” không phải là số từ 0 đến 100"),
        "{page}"
    );
    assert!(
        page.contains("“sáu mươi” không phải là số từ 0 đến 100"),
        "{page}"
    );
    assert_eq!(page.matches(r#"aria-invalid="true""#).count(), 2, "{page}");
    assert!(
        page.contains(r#"value="75,5""#),
        "what was typed is kept: {page}"
    );
    assert!(
        page.contains("Bảo đảm an ninh, trật tự"),
        "criteria in words"
    );
    assert!(!page.contains(">security_order<"), "no raw criterion id");
    assert_eq!(app.count("SELECT COUNT(*) FROM criteria_values").await, 0);
    let r = p
        .post(
            "/staff/wards/00004/criteria",
            &[
                ("csrf", &csrf),
                ("period", &q),
                ("c_security_order", "80"),
                ("c_force_building", "75,5"),
                ("c_urban_civility", "60"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.contains("saved=1"), "{to}");
    let page = p.get(&to).await.text().await.unwrap();
    assert!(page.contains("Đã lưu các tiêu chí"), "a confirmation");
    assert!(
        page.contains(r#"value="75,5""#),
        "the stored value, decimal comma"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM criteria_values WHERE ward_code = '00004'")
            .await,
        3
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'criteria_edit'")
            .await,
        1
    );
    let r = p
        .post(
            "/staff/wards/25747/criteria",
            &[("csrf", &csrf), ("period", &q), ("c_security_order", "80")],
        )
        .await;
    assert_eq!(r.status(), 404, "outside the province");
    // The province page: ranked wards, search without accents, sort, α.
    let page = p.get("/staff/provinces/01").await.text().await.unwrap();
    assert!(page.contains("Phường Ba Đình") && page.contains("Cronbach"));
    let found = p
        .get("/staff/provinces/01?q=ngoc+ha")
        .await
        .text()
        .await
        .unwrap();
    assert!(found.contains("Phường Ngọc Hà") && !found.contains("Phường Ba Đình"));
    let by_n = p
        .get("/staff/provinces/01?sort=n")
        .await
        .text()
        .await
        .unwrap();
    let first_row = by_n.split("<tbody>").nth(1).unwrap();
    assert!(
        first_row.find("00004").unwrap() < 400,
        "the ward with responses first when sorted by n"
    );
    let bo = signed_in(app, "bo@example.vn", "ministry").await;
    assert_eq!(bo.get("/staff/wards/00004").await.status(), 200);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ministry_sees_the_pilot_group_side_by_side() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.staff.pilot_wards = vec!["00004".into(), "25747".into()];
    })
    .await;
    let bo = signed_in(&app, "bo@example.vn", "ministry").await;
    let page = bo.get("/staff").await.text().await.unwrap();
    let pilot = &page[page.find("h-pilot").expect("the pilot table")..];
    assert!(pilot.contains("Phường Ba Đình") && pilot.contains("Phường Thủ Dầu Một"));
    let p = signed_in(&app, "p@example.vn", "province:01").await;
    assert!(
        !p.get("/staff")
            .await
            .text()
            .await
            .unwrap()
            .contains("h-pilot")
    );
    app.finish().await;
}

/// Volatile parts of a page (tokens, receipts, times, ids, the config hash) made stable.
fn redact(page: &str) -> String {
    let rules = [
        (r"[0-9a-f]{64}", "[TOKEN]"),
        (
            r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}",
            "[RECEIPT]",
        ),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[TIME]"),
        (r"feedback/\d+", "feedback/[ID]"),
        (r"v1 · [0-9a-f]{16}", "v1 · [HASH]"),
    ];
    let mut s = page.to_string();
    for (re, to) in rules {
        s = regex::Regex::new(re)
            .unwrap()
            .replace_all(&s, to)
            .into_owned();
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_of_the_main_pages() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let anon = Browser::new(&app);
    insta::assert_snapshot!(
        "login",
        redact(&anon.get("/staff/login").await.text().await.unwrap())
    );
    submit(&app, "00004", "Đèn đường hẻm 12 bị hỏng, gọi 0987654321", 2).await;
    let w = signed_in(&app, "w@example.vn", "ward:00004").await;
    insta::assert_snapshot!(
        "inbox",
        redact(
            &w.get("/staff/wards/00004/feedback")
                .await
                .text()
                .await
                .unwrap()
        )
    );
    let id = app.count("SELECT MIN(id) FROM responses").await;
    insta::assert_snapshot!(
        "feedback_item",
        redact(
            &w.get(&format!("/staff/wards/00004/feedback/{id}"))
                .await
                .text()
                .await
                .unwrap()
        )
    );
    insta::assert_snapshot!(
        "ward_dashboard",
        redact(
            &w.get("/staff/wards/00004?period=2025-Q1")
                .await
                .text()
                .await
                .unwrap()
        )
    );
    let p = signed_in(&app, "p@example.vn", "province:79").await;
    insta::assert_snapshot!(
        "province",
        redact(
            &p.get("/staff/provinces/79?period=2025-Q1&q=thu")
                .await
                .text()
                .await
                .unwrap()
        )
    );
    app.finish().await;
}

crate::both!(aggregate_exports_follow_scope, |app| {
    let f = app.write_file("b.csv", crate::cli::REFERENCE_BALLOTS);
    assert!(app.cli(&["responses", "import", &f]).status.success());
    let ministry = signed_in(app, "bo@bocongan.gov.vn", "ministry").await;
    let r = ministry
        .get("/staff/exports/aggregates.csv?period=2026-Q1&province=01")
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert!(
        header.contains(&"index") && header.contains(&"dim_procedures") && header.contains(&"rank")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows.len() as i64,
        app.count("SELECT COUNT(*) FROM units WHERE province_code = '01'")
            .await
    );
    let ward = rows
        .iter()
        .find(|l| l.starts_with("01,00004,"))
        .expect("ward 00004");
    let cells: Vec<&str> = ward.split(',').collect();
    let index: f64 = cells[header.iter().position(|h| *h == "index").unwrap()]
        .parse()
        .unwrap();
    assert!((index - 66.412377).abs() < 1e-6, "{index}");
    assert_eq!(
        cells[header.iter().position(|h| *h == "status").unwrap()],
        "insufficient_data"
    );
    let xlsx = ministry
        .get("/staff/exports/aggregates.xlsx?period=2026-Q1&ward=00004")
        .await;
    assert_eq!(xlsx.status(), 200);
    assert!(
        xlsx.bytes().await.unwrap().starts_with(b"PK"),
        "an XLSX (zip) file"
    );
    assert_eq!(
        ministry
            .get("/staff/exports/aggregates.csv?period=2026-Q9")
            .await
            .status(),
        400
    );
    assert!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND target LIKE 'aggregates%'"
        )
        .await
            >= 2
    );

    // A ward user gets their own ward only; anything else is 404.
    let ward = signed_in(app, "cb@cand.vn", "ward:00004").await;
    let text = ward
        .get("/staff/exports/aggregates.csv?period=2026-Q1")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(",00004,"));
    assert_eq!(
        ward.get("/staff/exports/aggregates.csv?ward=00008")
            .await
            .status(),
        404
    );
    assert_eq!(
        ward.get("/staff/exports/aggregates.csv?province=01")
            .await
            .status(),
        404
    );
    // A province user: their province, not another.
    let prov = signed_in(app, "tinh@cand.vn", "province:01").await;
    assert_eq!(
        prov.get("/staff/exports/aggregates.csv").await.status(),
        200
    );
    assert_eq!(
        prov.get("/staff/exports/aggregates.csv?province=79")
            .await
            .status(),
        404
    );
    // Not signed in: the login page, never data.
    let anon = app.get("/staff/exports/aggregates.csv").await;
    assert_ne!(anon.status(), 200);
});

crate::both!(ministry_overview_shows_the_national_trend, |app| {
    let f = app.write_file("b.csv", crate::cli::REFERENCE_BALLOTS);
    assert!(app.cli(&["responses", "import", &f]).status.success());
    // Pooled over every ward, unweighted: with one ward it is that ward's unweighted index.
    let q1 = hailong::period::Period::parse("2026-Q1").unwrap();
    let national =
        hailong::store::figures::national_figures(&app.state.db, app.state.measure_ctx(), q1)
            .await
            .unwrap();
    assert_eq!(national.n, 12);
    assert!((national.index.unwrap().value - 66.412377).abs() < 1e-6);
    let trend = hailong::store::figures::national_trend(
        &app.state.db,
        app.state.measure_ctx(),
        q1.prev(),
        q1.next(),
    )
    .await
    .unwrap();
    assert_eq!(
        trend.iter().map(|p| p.figures.n).collect::<Vec<_>>(),
        vec![0, 12, 0]
    );
    let ministry = signed_in(app, "bo@bocongan.gov.vn", "ministry").await;
    let page = ministry.get("/staff").await.text().await.unwrap();
    assert!(
        page.contains("Xu hướng toàn quốc"),
        "national trend section"
    );
    assert!(page.contains("<svg"), "a server-drawn chart");
    if hailong::period::Period::current_quarter() <= (0..7).fold(q1, |p, _| p.next()) {
        assert!(page.contains("66,4"), "the pooled 2026-Q1 index is listed");
    }
    // Other roles do not get it.
    let ward = signed_in(app, "cb@cand.vn", "ward:00004").await;
    assert!(
        !ward
            .get("/staff")
            .await
            .text()
            .await
            .unwrap()
            .contains("Xu hướng toàn quốc")
    );
});

crate::both!(reviewers_include_flagged_responses, |app| {
    // The same phone answers twice this quarter: the second answer is stored flagged.
    assert_eq!(app.get("/s/00004").await.status(), 200);
    for _ in 0..2 {
        assert_eq!(
            app.post_form("/s/00004", crate::public::VALID)
                .await
                .status(),
            303
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM responses WHERE status = 'flagged'")
            .await,
        1
    );
    let id = app
        .count("SELECT id FROM responses WHERE status = 'flagged'")
        .await;

    // A ward user may not review (not even its own ward).
    let ward = signed_in(app, "cb@cand.vn", "ward:00004").await;
    assert_eq!(ward.get("/staff/wards/00004/flagged").await.status(), 404);
    let csrf = ward.csrf().await;
    let path = format!("/staff/wards/00004/flagged/{id}/include");
    assert_eq!(ward.post(&path, &[("csrf", &csrf)]).await.status(), 404);

    let prov = signed_in(app, "tinh@cand.vn", "province:01").await;
    let page = prov.get("/staff/wards/00004/flagged").await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(
        body.contains("Cùng thiết bị đã trả lời trong quý"),
        "{body}"
    );
    assert!(
        !body.contains("duplicate_device"),
        "the reason in words, not its code"
    );
    // Another province's reviewer sees a 404; a missing CSRF token is refused.
    let other = signed_in(app, "hcm@cand.vn", "province:79").await;
    assert_eq!(other.get("/staff/wards/00004/flagged").await.status(), 404);
    assert_eq!(prov.post(&path, &[]).await.status(), 403);
    let csrf = prov.csrf().await;
    assert_eq!(prov.post(&path, &[("csrf", &csrf)]).await.status(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM responses WHERE status = 'flagged'")
            .await,
        0
    );
    assert!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE target = 'response:{id}'"
        ))
        .await
            >= 1
    );
    let out = app.cli(&["index", "verify"]);
    assert!(out.status.success(), "{}", crate::helpers::stderr(&out));
    // And out again.
    let path = format!("/staff/wards/00004/responses/{id}/exclude");
    assert_eq!(prov.post(&path, &[("csrf", &csrf)]).await.status(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM responses WHERE status = 'flagged'")
            .await,
        1
    );
    let out = app.cli(&["index", "verify"]);
    assert!(out.status.success(), "{}", crate::helpers::stderr(&out));
});
