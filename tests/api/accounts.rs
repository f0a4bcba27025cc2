//! Staff accounts (docs/console.md, "Accounts"): the list within one's scope, inviting,
//! changing roles, deactivating (which ends sessions at once), reactivating, re-sending the
//! invitation, CSRF, the audit entries of the console and of the CLI, and `users list`.

use crate::both;
use crate::helpers::{TestApp, stderr, stdout};
use crate::staff::{Browser, PW, add_user, signed_in};

async fn id_of(app: &TestApp, email: &str) -> i64 {
    app.count(&format!(
        "SELECT id FROM staff_users WHERE email = '{email}'"
    ))
    .await
}

async fn role_of(app: &TestApp, email: &str) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.state.db.get_database_backend();
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT role, scope_code FROM staff_users WHERE email = '{email}'"),
        ))
        .await
        .unwrap()
        .expect("the user");
    let role: String = row.try_get("", "role").unwrap();
    let code: Option<String> = row.try_get("", "scope_code").unwrap();
    match code {
        Some(c) => format!("{role}:{c}"),
        None => role,
    }
}

async fn audits(app: &TestApp, action: &str, actor: &str, target: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND actor = '{actor}' \
         AND target = '{target}'"
    ))
    .await
}

/// The page, with the `/` that Tera escapes as `&#x2F;` (in dates) read back.
async fn text(r: reqwest::Response) -> String {
    r.text().await.unwrap().replace("&#x2F;", "/")
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The users of two provinces, signed in where needed.
struct Cast {
    bo: Browser,
    prov: Browser,
    ward: Browser,
}

async fn cast(app: &TestApp) -> Cast {
    let bo = signed_in(app, "bo@example.vn", "ministry").await;
    let prov = signed_in(app, "tinh01@example.vn", "province:01").await;
    let ward = signed_in(app, "badinh@example.vn", "ward:00004").await;
    add_user(app, "ngocha@example.vn", "ward:00008").await;
    add_user(app, "tinh79@example.vn", "province:79").await;
    add_user(app, "hcm@example.vn", "ward:25747").await;
    Cast { bo, prov, ward }
}

both!(province_sees_and_changes_only_its_own, |app| {
    let c = cast(app).await;
    // A ward user manages no accounts.
    assert_eq!(c.ward.get("/staff/users").await.status(), 403);
    assert_eq!(c.ward.get("/staff/users/new").await.status(), 403);
    let ngocha = id_of(app, "ngocha@example.vn").await;
    let ward_csrf = c.ward.csrf().await;
    let r = c
        .ward
        .post(
            &format!("/staff/users/{ngocha}/deactivate"),
            &[("csrf", &ward_csrf)],
        )
        .await;
    assert_eq!(r.status(), 403);
    // The province: its own role and its wards', in words, never as codes.
    let r = c.prov.get("/staff/users").await;
    assert_eq!(r.status(), 200);
    let page = text(r).await;
    for seen in [
        "tinh01@example.vn",
        "badinh@example.vn",
        "ngocha@example.vn",
    ] {
        assert!(page.contains(seen), "{seen} in {page}");
    }
    for unseen in ["bo@example.vn", "tinh79@example.vn", "hcm@example.vn"] {
        assert!(!page.contains(unseen), "{unseen} shown to the province");
    }
    assert!(page.contains("Công an phường Ba Đình"), "{page}");
    assert!(page.contains("Công an thành phố Hà Nội"), "{page}");
    assert!(!page.contains("ward:00004"), "a code on the page");
    assert!(page.contains("Đang hoạt động"));
    // Signed in just now; the others never.
    assert!(page.contains("Chưa đăng nhập"));
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap())
        .format("%d/%m/%Y")
        .to_string();
    assert!(page.contains(&today), "{today} in {page}");
    assert!(
        page.contains("href=\"/staff/users\""),
        "the navigation link"
    );
    // The ministry sees everyone.
    let all = text(c.bo.get("/staff/users").await).await;
    for e in [
        "bo@example.vn",
        "tinh01@example.vn",
        "tinh79@example.vn",
        "hcm@example.vn",
        "badinh@example.vn",
    ] {
        assert!(all.contains(e), "{e} for the ministry");
    }
    assert!(all.contains("Bộ Công an"));
    assert!(all.contains("Công an thành phố Hồ Chí Minh"), "{all}");
    // Filters: text with or without accents, level, state.
    let f = text(c.bo.get("/staff/users?q=ba+dinh").await).await;
    assert!(f.contains("badinh@example.vn") && !f.contains("ngocha@example.vn"));
    let f = text(c.bo.get("/staff/users?level=province").await).await;
    assert!(f.contains("tinh79@example.vn") && !f.contains("hcm@example.vn"));
    let f = text(c.bo.get("/staff/users?active=0").await).await;
    assert!(!f.contains("hcm@example.vn"));

    // Outside its scope the province gets 404 and changes nothing.
    let hcm = id_of(app, "hcm@example.vn").await;
    let bo_id = id_of(app, "bo@example.vn").await;
    let csrf = c.prov.csrf().await;
    for id in [hcm, bo_id] {
        assert_eq!(
            c.prov.get(&format!("/staff/users/{id}")).await.status(),
            404
        );
        for action in ["deactivate", "reactivate", "resend"] {
            let r = c
                .prov
                .post(&format!("/staff/users/{id}/{action}"), &[("csrf", &csrf)])
                .await;
            assert_eq!(r.status(), 404, "{action} {id}");
        }
        let r = c
            .prov
            .post(
                &format!("/staff/users/{id}/role"),
                &[("csrf", &csrf), ("role", "ward:00004")],
            )
            .await;
        assert_eq!(r.status(), 404);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM staff_users WHERE active = false")
            .await,
        0
    );
    assert_eq!(role_of(app, "hcm@example.vn").await, "ward:25747");

    // Inside its scope, it cannot grant the ministry or another province's roles: 422, the
    // message beside the field, nothing changed.
    for role in [
        "ministry",
        "province:79",
        "ward:25747",
        "ward:99999",
        "admin",
    ] {
        let r = c
            .prov
            .post(
                &format!("/staff/users/{ngocha}/role"),
                &[("csrf", &csrf), ("role", role)],
            )
            .await;
        assert_eq!(r.status(), 422, "{role}");
        let body = text(r).await;
        assert!(body.contains("id=\"r-role-err\""), "{role}: {body}");
        assert!(body.contains("aria-invalid=\"true\""));
    }
    assert_eq!(role_of(app, "ngocha@example.vn").await, "ward:00008");
    // The picker offers only its province and wards.
    let picker = text(c.prov.get(&format!("/staff/users/{ngocha}")).await).await;
    assert!(picker.contains("value=\"ward:00004\""));
    assert!(picker.contains("value=\"province:01\""));
    assert!(!picker.contains("value=\"ministry\""));
    assert!(!picker.contains("value=\"province:79\""));
    assert!(!picker.contains("value=\"ward:25747\""));

    // Inviting: a ministry role is refused, what was typed is kept.
    let r = c
        .prov
        .post(
            "/staff/users",
            &[
                ("csrf", &csrf),
                ("email", "Moi@Example.vn"),
                ("role", "ministry"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = text(r).await;
    assert!(body.contains("value=\"Moi@Example.vn\""), "{body}");
    assert!(
        body.contains("trong phạm vi tỉnh, thành phố của mình"),
        "{body}"
    );
    // A malformed e-mail, and one that exists.
    let r = c
        .prov
        .post(
            "/staff/users",
            &[
                ("csrf", &csrf),
                ("email", "khong-phai-email"),
                ("role", "ward:00008"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = text(r).await;
    assert!(body.contains("id=\"u-email-err\""), "{body}");
    assert!(body.contains("Địa chỉ e-mail không hợp lệ"));
    assert!(
        body.contains("value=\"ward:00008\" selected"),
        "the role kept"
    );
    let r = c
        .prov
        .post(
            "/staff/users",
            &[
                ("csrf", &csrf),
                ("email", "ngocha@example.vn"),
                ("role", "ward:00008"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(text(r).await.contains("Đã có tài khoản"));
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_users").await, 6);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'invite'")
            .await,
        0
    );
    // A valid invitation: the account, the message, the audit, the confirmation.
    let r = c
        .prov
        .post(
            "/staff/users",
            &[
                ("csrf", &csrf),
                ("email", "Moi@Example.vn"),
                ("role", "ward:00008"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/staff/users?done=invited&id="), "{to}");
    let page = text(c.prov.get(&to).await).await;
    assert!(
        page.contains("Đã tạo tài khoản moi@example.vn (Công an phường Ngọc Hà)"),
        "{page}"
    );
    assert_eq!(role_of(app, "moi@example.vn").await, "ward:00008");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'invite' AND recipient = 'moi@example.vn'"
        )
        .await,
        1
    );
    assert_eq!(
        audits(app, "user_invited", "tinh01@example.vn", "moi@example.vn").await,
        1
    );
});

both!(deactivation_ends_sessions_at_once, |app| {
    let c = cast(app).await;
    let w = id_of(app, "badinh@example.vn").await;
    assert_eq!(c.ward.get("/staff/wards/00004").await.status(), 200);
    // A second session of the same user, in another browser.
    let other = Browser::new(app);
    assert_eq!(other.login("badinh@example.vn", PW).await, 303);
    let ended = app
        .count(&format!(
            "SELECT COUNT(*) FROM staff_sessions WHERE user_id = {w}"
        ))
        .await;
    assert_eq!(ended, 2);
    let csrf = c.prov.csrf().await;
    let r = c
        .prov
        .post(&format!("/staff/users/{w}/deactivate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(to, format!("/staff/users?done=deactivated&id={w}"));
    let page = text(c.prov.get(&to).await).await;
    assert!(
        page.contains("Đã khoá tài khoản badinh@example.vn"),
        "{page}"
    );
    assert!(page.contains("Đã khoá"));
    // Both old cookies are signed out at once; the rows are gone; no new sign-in.
    for b in [&c.ward, &other] {
        let r = b.get("/staff/wards/00004").await;
        assert_eq!(r.status(), 303);
        assert!(location(&r).starts_with("/staff/login"), "{}", location(&r));
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM staff_sessions WHERE user_id = {w}"
        ))
        .await,
        0
    );
    assert_eq!(c.ward.login("badinh@example.vn", PW).await, 401);
    assert_eq!(
        audits(
            app,
            "user_deactivated",
            "tinh01@example.vn",
            "badinh@example.vn"
        )
        .await,
        1
    );
    // Again: nothing changes, nothing is audited.
    let r = c
        .prov
        .post(&format!("/staff/users/{w}/deactivate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&r), format!("/staff/users?done=unchanged&id={w}"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'user_deactivated'")
            .await,
        1
    );
    // Reactivated, the officer signs in with the old password.
    let r = c
        .prov
        .post(&format!("/staff/users/{w}/reactivate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        location(&r),
        format!("/staff/users?done=reactivated&id={w}")
    );
    let page = text(c.prov.get(&location(&r)).await).await;
    assert!(page.contains("Đã mở khoá tài khoản badinh@example.vn"));
    assert_eq!(c.ward.login("badinh@example.vn", PW).await, 303);
    assert_eq!(c.ward.get("/staff/wards/00004").await.status(), 200);
    assert_eq!(
        audits(
            app,
            "user_reactivated",
            "tinh01@example.vn",
            "badinh@example.vn"
        )
        .await,
        1
    );
    // Nobody deactivates themselves.
    let me = id_of(app, "tinh01@example.vn").await;
    let r = c
        .prov
        .post(&format!("/staff/users/{me}/deactivate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 422);
    assert!(text(r).await.contains("không thể tự khoá"));
    assert_eq!(c.prov.get("/staff/users").await.status(), 200);
    let bo_csrf = c.bo.csrf().await;
    let bo = id_of(app, "bo@example.vn").await;
    let r =
        c.bo.post(
            &format!("/staff/users/{bo}/deactivate"),
            &[("csrf", &bo_csrf)],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM staff_users WHERE active = false")
            .await,
        0
    );
});

both!(role_change_resend_and_csrf, |app| {
    let c = cast(app).await;
    let w = id_of(app, "badinh@example.vn").await;
    let csrf = c.bo.csrf().await;
    // Without or with a wrong CSRF token: 403, nothing changes.
    for form in [vec![], vec![("csrf", "0".repeat(64))]] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for action in ["deactivate", "reactivate", "resend"] {
            let r =
                c.bo.post(&format!("/staff/users/{w}/{action}"), &form)
                    .await;
            assert_eq!(r.status(), 403, "{action} {form:?}");
        }
        let mut with_role = form.clone();
        with_role.push(("role", "ward:00008"));
        let r =
            c.bo.post(&format!("/staff/users/{w}/role"), &with_role)
                .await;
        assert_eq!(r.status(), 403);
        let mut invite = form.clone();
        invite.extend([("email", "x@example.vn"), ("role", "ward:00008")]);
        assert_eq!(c.bo.post("/staff/users", &invite).await.status(), 403);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM staff_users WHERE active = false")
            .await,
        0
    );
    assert_eq!(role_of(app, "badinh@example.vn").await, "ward:00004");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);

    // The ministry's picker lists the wards of the province chosen first.
    let p = text(c.bo.get(&format!("/staff/users/{w}?province=79")).await).await;
    assert!(p.contains("value=\"ward:25747\""), "{p}");
    assert!(p.contains("value=\"ministry\"") && p.contains("value=\"province:79\""));
    assert!(!p.contains("value=\"ward:00008\""));
    // Without a choice, those of the account's own province, its role selected.
    let p = text(c.bo.get(&format!("/staff/users/{w}")).await).await;
    assert!(p.contains("value=\"ward:00004\" selected"), "{p}");
    // A role change takes effect on the officer's open session.
    let r =
        c.bo.post(
            &format!("/staff/users/{w}/role"),
            &[("csrf", &csrf), ("role", "ward:00008")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = text(c.bo.get(&location(&r)).await).await;
    assert!(
        page.contains("Đã đổi vai trò của badinh@example.vn thành Công an phường Ngọc Hà."),
        "{page}"
    );
    assert_eq!(role_of(app, "badinh@example.vn").await, "ward:00008");
    assert_eq!(c.ward.get("/staff/wards/00008").await.status(), 200);
    assert_eq!(c.ward.get("/staff/wards/00004").await.status(), 404);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user_role_changed' \
             AND actor = 'bo@example.vn' AND target = 'badinh@example.vn' \
             AND detail LIKE '%\"from\":\"ward:00004\"%' AND detail LIKE '%\"to\":\"ward:00008\"%'"
        )
        .await,
        1
    );
    // The same role again changes nothing; one's own role cannot be changed.
    let r =
        c.bo.post(
            &format!("/staff/users/{w}/role"),
            &[("csrf", &csrf), ("role", "ward:00008")],
        )
        .await;
    assert_eq!(location(&r), format!("/staff/users?done=unchanged&id={w}"));
    let bo = id_of(app, "bo@example.vn").await;
    let r =
        c.bo.post(
            &format!("/staff/users/{bo}/role"),
            &[("csrf", &csrf), ("role", "province:01")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(role_of(app, "bo@example.vn").await, "ministry");
    // The ministry gives a province role.
    let t79 = id_of(app, "tinh79@example.vn").await;
    let r =
        c.bo.post(
            &format!("/staff/users/{t79}/role"),
            &[("csrf", &csrf), ("role", "province:01")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(role_of(app, "tinh79@example.vn").await, "province:01");

    // Re-sending: for an account that has never signed in; 409 for one that has.
    let hcm = id_of(app, "hcm@example.vn").await;
    let page = text(c.bo.get(&format!("/staff/users/{hcm}")).await).await;
    assert!(page.contains("id=\"resend\""));
    let r =
        c.bo.post(&format!("/staff/users/{hcm}/resend"), &[("csrf", &csrf)])
            .await;
    assert_eq!(r.status(), 303);
    let page = text(c.bo.get(&location(&r)).await).await;
    assert!(
        page.contains("Đã gửi lại thư mời tới hcm@example.vn"),
        "{page}"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'invite' AND recipient = 'hcm@example.vn'"
        )
        .await,
        1
    );
    assert_eq!(
        audits(app, "user_invite_resent", "bo@example.vn", "hcm@example.vn").await,
        1
    );
    let page = text(c.bo.get(&format!("/staff/users/{w}")).await).await;
    assert!(
        !page.contains("id=\"resend\""),
        "signed in: no resend button"
    );
    let r =
        c.bo.post(&format!("/staff/users/{w}/resend"), &[("csrf", &csrf)])
            .await;
    assert_eq!(r.status(), 409);
    assert!(text(r).await.contains("đã đăng nhập"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'invite'")
            .await,
        1
    );
    // English pages.
    let en = text(c.bo.get("/staff/users?lang=en").await).await;
    assert!(en.contains("Staff accounts") && en.contains("Ward police of Phường Ngọc Hà"));
});

both!(users_cli_list_deactivate_reactivate_audited, |app| {
    let o = app.cli(&[
        "users",
        "add",
        "--email",
        "Cli@Example.vn",
        "--role",
        "ward:00004",
        "--password-stdin",
    ]);
    // No password on stdin: refused before anything is written.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = app.cli_with(
        &[
            "users",
            "add",
            "--email",
            "Cli@Example.vn",
            "--role",
            "ward:00004",
            "--password-stdin",
        ],
        Some(&format!("{PW}\n")),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = app.cli(&[
        "users",
        "invite",
        "--email",
        "moi@example.vn",
        "--role",
        "province:79",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(audits(app, "user_added", "cli", "cli@example.vn").await, 1);
    assert_eq!(
        audits(app, "user_invited", "cli", "moi@example.vn").await,
        1
    );
    // Signed in once, so that `list` shows a time.
    let b = Browser::new(app);
    assert_eq!(b.login("cli@example.vn", PW).await, 303);
    assert_eq!(b.get("/staff").await.status(), 200);

    let o = app.cli(&["users", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("EMAIL"), "{out}");
    for col in ["ROLE", "UNIT", "ACTIVE", "LAST SIGN-IN"] {
        assert!(lines[0].contains(col), "{out}");
    }
    let cli_line = lines
        .iter()
        .find(|l| l.starts_with("cli@example.vn"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(cli_line.contains("ward:00004"), "{cli_line}");
    assert!(cli_line.contains("Công an phường Ba Đình"), "{cli_line}");
    assert!(cli_line.contains(" yes "), "{cli_line}");
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap())
        .format("%d/%m/%Y")
        .to_string();
    assert!(cli_line.contains(&today), "{cli_line}");
    let moi = lines
        .iter()
        .find(|l| l.starts_with("moi@example.vn"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        moi.contains("Công an thành phố Hồ Chí Minh") && moi.ends_with("never"),
        "{moi}"
    );
    assert!(out.ends_with("2 account(s)\n"), "{out}");
    // Columns line up: ROLE starts at the same place on every line.
    let at = lines[0].find("ROLE").unwrap();
    assert_eq!(cli_line.find("ward:00004"), Some(at), "{out}");

    // Unknown and malformed e-mails.
    let o = app.cli(&["users", "deactivate", "--email", "ai@example.vn"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no staff user has the e-mail ai@example.vn"));
    let o = app.cli(&["users", "reactivate", "--email", "ai@example.vn"]);
    assert_eq!(o.status.code(), Some(1));
    let o = app.cli(&["users", "deactivate", "--email", "not-an-email"]);
    assert_eq!(o.status.code(), Some(2));
    // Deactivating ends the session at once.
    let o = app.cli(&["users", "deactivate", "--email", "CLI@example.vn"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("deactivated cli@example.vn"));
    let r = b.get("/staff").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        audits(app, "user_deactivated", "cli", "cli@example.vn").await,
        1
    );
    let o = app.cli(&["users", "deactivate", "--email", "cli@example.vn"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("already deactivated"));
    assert_eq!(
        audits(app, "user_deactivated", "cli", "cli@example.vn").await,
        1
    );
    let listed = stdout(&app.cli(&["users", "list"]));
    let line = listed
        .lines()
        .find(|l| l.starts_with("cli@example.vn"))
        .unwrap();
    assert!(line.contains(" no "), "{line}");
    let o = app.cli(&["users", "reactivate", "--email", "cli@example.vn"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        audits(app, "user_reactivated", "cli", "cli@example.vn").await,
        1
    );
    assert_eq!(b.login("cli@example.vn", PW).await, 303);
});

/// The migration that adds `last_login_at` fills it from the audit log's sign-ins.
async fn last_login_is_filled_from_the_audit_log(url: &str) {
    use hailong::entities::{audit_log, staff_user};
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ActiveValue::NotSet, ConnectionTrait, Database, EntityTrait, Set};
    let db = Database::connect(url).await.unwrap();
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name().contains("staff_last_login"))
        .expect("the migration") as u32;
    Migrator::up(&db, Some(before)).await.unwrap();
    for (email, created) in [
        ("a@example.vn", "2026-01-01 00:00:00+00:00"),
        ("b@example.vn", "2026-01-02 00:00:00+00:00"),
    ] {
        db.execute_unprepared(&format!(
            "INSERT INTO staff_users (email, password_hash, role, scope_code, active, created_at) \
             VALUES ('{email}', 'x', 'ministry', NULL, true, '{created}')"
        ))
        .await
        .unwrap();
    }
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    for (actor, action, when) in [
        ("a@example.vn", "login", "2026-03-01T08:00:00Z"),
        ("a@example.vn", "login", "2026-05-04T09:30:00Z"),
        ("a@example.vn", "logout", "2026-06-01T00:00:00Z"),
        ("b@example.vn", "login_failed", "2026-05-01T00:00:00Z"),
    ] {
        audit_log::Entity::insert(audit_log::ActiveModel {
            id: NotSet,
            at: Set(at(when)),
            actor: Set(actor.into()),
            action: Set(action.into()),
            target: Set(actor.into()),
            detail: Set(None),
        })
        .exec(&db)
        .await
        .unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let users: std::collections::HashMap<String, Option<chrono::DateTime<chrono::Utc>>> =
        staff_user::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|u| (u.email, u.last_login_at))
            .collect();
    assert_eq!(users["a@example.vn"], Some(at("2026-05-04T09:30:00Z")));
    assert_eq!(users["b@example.vn"], None);
    db.close().await.ok();
}

#[tokio::test]
async fn last_login_is_filled_from_the_audit_log_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    last_login_is_filled_from_the_audit_log(&url).await;
}

#[tokio::test]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn last_login_is_filled_from_the_audit_log_postgres() {
    use crate::helpers::{drop_postgres, fresh_postgres, postgres_url};
    let Some(admin) = postgres_url("accounts::last_login_is_filled_from_the_audit_log_postgres")
    else {
        return;
    };
    let (url, admin, name) = fresh_postgres(&admin).await;
    last_login_is_filled_from_the_audit_log(&url).await;
    drop_postgres(&admin, &name).await;
}
