//! The public pages in a real browser: headless Chromium through chromedriver runs axe-core
//! (WCAG 2.1 AA) on every public page at phone and desktop width, checks the p1/p2 behaviour
//! with JavaScript on and off, and answers the survey with JavaScript on and off
//! (`tests/browser/check.mjs`). Needs node, chromium, chromedriver and axe-core
//! (`npm install --prefix tests/browser axe-core@4`); without them `cargo test` reports it as
//! ignored, naming the first one missing (see build.rs).

use std::path::PathBuf;

use crate::helpers::{Backend, TestApp, repo_path};

fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    let runs = |cmd: &str| {
        std::process::Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !runs("node") {
        missing.push("node".to_string());
    }
    for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        if !std::path::Path::new(bin).exists() {
            missing.push(bin.to_string());
        }
    }
    if !axe_path().exists() {
        missing.push(format!(
            "{} (npm install --prefix tests/browser axe-core@4)",
            axe_path().display()
        ));
    }
    missing
}

fn axe_path() -> PathBuf {
    std::env::var("AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_path("tests/browser/node_modules/axe-core/axe.min.js"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    hailong_axe_missing = "chromium",
    ignore = "needs chromium: apt-get install chromium"
)]
#[cfg_attr(
    hailong_axe_missing = "chromedriver",
    ignore = "needs chromedriver: apt-get install chromium-driver"
)]
#[cfg_attr(
    hailong_axe_missing = "node",
    ignore = "needs node: apt-get install nodejs"
)]
#[cfg_attr(
    hailong_axe_missing = "axe-core",
    ignore = "needs axe-core: npm install --prefix tests/browser axe-core@4"
)]
async fn public_pages_pass_axe_and_work_without_javascript() {
    let missing = missing_tools();
    assert!(
        missing.is_empty(),
        "the browser test cannot run, missing: {}",
        missing.join(", ")
    );
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shots = app.dir.path().join("shots");
    let base = format!("http://{}", app.addr);
    let script = repo_path("tests/browser/check.mjs");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&base)
        .arg(&shots)
        .env("AXE_JS", axe_path())
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ok"), "{stdout}");
    // Both answers (JavaScript on and off) were stored.
    assert!(app.count("SELECT COUNT(*) AS n FROM responses").await >= 2);
    app.finish().await;
}

/// The public results pages (with published, low-reliability and insufficient wards, and an
/// approved note) and the pages that lead to them pass axe at 390 px and 1280 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    hailong_axe_missing = "chromium",
    ignore = "needs chromium: apt-get install chromium"
)]
#[cfg_attr(
    hailong_axe_missing = "chromedriver",
    ignore = "needs chromedriver: apt-get install chromium-driver"
)]
#[cfg_attr(
    hailong_axe_missing = "node",
    ignore = "needs node: apt-get install nodejs"
)]
#[cfg_attr(
    hailong_axe_missing = "axe-core",
    ignore = "needs axe-core: npm install --prefix tests/browser axe-core@4"
)]
async fn results_pages_pass_axe_at_phone_and_desktop_width() {
    let missing = missing_tools();
    assert!(
        missing.is_empty(),
        "the browser test cannot run, missing: {}",
        missing.join(", ")
    );
    let app = TestApp::spawn(Backend::Sqlite).await;
    crate::results::seed(&app).await;
    crate::results::approved_note(&app, "00004", "2026-Q3", "Đã lắp thêm đèn ở ngõ 12.").await;
    let shots = std::env::var("RESULTS_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| app.dir.path().join("shots"));
    let pages = [
        ("country", "/results?period=2026-Q3"),
        ("province", "/results/provinces/01?period=2026-Q3"),
        ("ward", "/results/wards/00004?period=2026-Q3"),
        ("ward-low", "/results/wards/00008?period=2026-Q3"),
        ("ward-none", "/results/wards/00025?period=2026-Q3"),
        ("ward-en", "/results/wards/00004?period=2026-Q3&lang=en"),
        ("method", "/results/method"),
        ("home", "/"),
        ("survey", "/s/00004"),
    ]
    .map(|(n, p)| format!("{n}={p}"))
    .join(",");
    let out = tokio::process::Command::new("node")
        .arg(repo_path("tests/browser/check.mjs"))
        .arg(format!("http://{}", app.addr))
        .arg(&shots)
        .env("AXE_JS", axe_path())
        .env("ONLY_PAGES", pages)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(stdout.matches("axe 0 violations").count(), 18, "{stdout}");
    app.finish().await;
}

/// The thank-you page with its private link, the private page (Vietnamese and English), its
/// 422 with nothing ticked and the confirmation pass axe at 390 px and 1280 px, reached as a
/// resident reaches them (screenshots in `PRIVACY_SHOTS` when set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    hailong_axe_missing = "chromium",
    ignore = "needs chromium: apt-get install chromium"
)]
#[cfg_attr(
    hailong_axe_missing = "chromedriver",
    ignore = "needs chromedriver: apt-get install chromium-driver"
)]
#[cfg_attr(
    hailong_axe_missing = "node",
    ignore = "needs node: apt-get install nodejs"
)]
#[cfg_attr(
    hailong_axe_missing = "axe-core",
    ignore = "needs axe-core: npm install --prefix tests/browser axe-core@4"
)]
async fn privacy_pages_pass_axe_at_phone_and_desktop_width() {
    let missing = missing_tools();
    assert!(
        missing.is_empty(),
        "the browser test cannot run, missing: {}",
        missing.join(", ")
    );
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shots = std::env::var("PRIVACY_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| app.dir.path().join("shots"));
    let pages = [
        ("thanks", "submit:/s/00004"),
        ("privacy", "follow:/privacy/"),
        ("privacy-en", "same:?lang=en"),
        ("privacy-422", "click:.rights button[type=submit]"),
        (
            "privacy-done",
            "click:input[name=erase_text];.rights button[type=submit]",
        ),
    ]
    .map(|(n, p)| format!("{n}={p}"))
    .join(",");
    let out = tokio::process::Command::new("node")
        .arg(repo_path("tests/browser/check.mjs"))
        .arg(format!("http://{}", app.addr))
        .arg(&shots)
        .env("AXE_JS", axe_path())
        .env("ONLY_PAGES", pages)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(stdout.matches("axe 0 violations").count(), 10, "{stdout}");
    // Each width answered once and erased its text once through the pages.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM responses").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'privacy.erase_text'")
            .await,
        2
    );
    app.finish().await;
}

/// The signed-in console pages of each kind of staff user pass axe at 390 px and 1280 px: a
/// ward officer (home, dashboard, inbox, an item, flagged responses, notes), a province
/// analyst (its overview and review page with a withheld complaint, a flagged response and a
/// note awaiting approval, the province's posters) and the ministry (home, audit log with
/// filters and with invalid ones, pilot group, a province's posters, mail, API tokens, exports).
/// Screenshots in `STAFF_SHOTS` when set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    hailong_axe_missing = "chromium",
    ignore = "needs chromium: apt-get install chromium"
)]
#[cfg_attr(
    hailong_axe_missing = "chromedriver",
    ignore = "needs chromedriver: apt-get install chromium-driver"
)]
#[cfg_attr(
    hailong_axe_missing = "node",
    ignore = "needs node: apt-get install nodejs"
)]
#[cfg_attr(
    hailong_axe_missing = "axe-core",
    ignore = "needs axe-core: npm install --prefix tests/browser axe-core@4"
)]
async fn staff_pages_pass_axe_at_phone_and_desktop_width() {
    use crate::staff::{PW, add_user, submit};
    let missing = missing_tools();
    assert!(
        missing.is_empty(),
        "the browser test cannot run, missing: {}",
        missing.join(", ")
    );
    let app = TestApp::spawn(Backend::Sqlite).await;
    crate::results::seed(&app).await;
    submit(&app, "00004", "Đèn đường ngõ 12 hỏng đã lâu", 2).await;
    // A complaint about an officer: withheld from the ward, on the province's review page.
    submit(&app, "00004", "Cán bộ đòi tiền khi làm thủ tục", 1).await;
    // A flagged response of the province.
    let id = app
        .count("SELECT MIN(id) FROM responses WHERE ward_code = '00008'")
        .await;
    hailong::store::flags::exclude(&app.state.db, &app.state.catalog, id, "test")
        .await
        .unwrap();
    add_user(&app, "w@example.vn", "ward:00004").await;
    add_user(&app, "p@example.vn", "province:01").await;
    add_user(&app, "m@example.vn", "ministry").await;
    hailong::store::pilot::add(&app.state.db, "00004", "m@example.vn")
        .await
        .unwrap();
    let w = crate::staff::signed_in(&app, "w2@example.vn", "ward:00004").await;
    let c = w.csrf().await;
    let r = w
        .post(
            "/staff/wards/00004/actions",
            &[
                ("csrf", &c),
                ("period", "2026-Q3"),
                ("text", "Đã lắp thêm đèn ở ngõ 12."),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let shots = std::env::var("STAFF_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| app.dir.path().join("shots"));
    let signin = |email: &str| format!("signin:{email} {PW}");
    let pages = [
        ("ward-home", signin("w@example.vn")),
        ("ward-dashboard", "/staff/wards/00004".into()),
        ("ward-inbox", "/staff/wards/00004/feedback".into()),
        ("ward-item", "follow:/staff/wards/00004/feedback/".into()),
        ("ward-flagged", "/staff/wards/00004/flagged".into()),
        ("ward-notes", "/staff/wards/00004/actions".into()),
        ("province-home", signin("p@example.vn")),
        ("province", "/staff/provinces/01".into()),
        (
            "province-posters",
            "follow:/staff/provinces/01/posters".into(),
        ),
        ("province-review", "/staff/provinces/01/review".into()),
        ("ministry-home", signin("m@example.vn")),
        ("ministry-audit", "/staff/audit".into()),
        (
            "ministry-audit-filtered",
            "/staff/audit?from=01/01/2026&actor=example&action=login".into(),
        ),
        (
            "ministry-audit-invalid",
            "/staff/audit?from=31/02/2026&to=x".into(),
        ),
        ("ministry-pilot", "/staff/pilot?added=00004".into()),
        (
            "ministry-pilot-invalid",
            "click:section[aria-labelledby=h-add] button[type=submit]".into(),
        ),
        ("ministry-posters", "/staff/provinces/12/posters".into()),
        ("ministry-mail", "/staff/mail".into()),
        ("ministry-tokens", "/staff/tokens".into()),
        ("ministry-exports", "/staff/exports".into()),
    ];
    let list = pages
        .iter()
        .map(|(n, p)| format!("{n}={p}"))
        .collect::<Vec<_>>()
        .join(",");
    let out = tokio::process::Command::new("node")
        .arg(repo_path("tests/browser/check.mjs"))
        .arg(format!("http://{}", app.addr))
        .arg(&shots)
        .env("AXE_JS", axe_path())
        .env("ONLY_PAGES", list)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.matches("axe 0 violations").count(),
        2 * pages.len(),
        "{stdout}"
    );
    app.finish().await;
}

/// The staff accounts pages (the list with a confirmation, the English list, an account, the
/// invitation form and its 422) pass axe at 390 px and 1280 px, signed in as the ministry
/// through a session cookie (screenshots in `ACCOUNTS_SHOTS` when set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    hailong_axe_missing = "chromium",
    ignore = "needs chromium: apt-get install chromium"
)]
#[cfg_attr(
    hailong_axe_missing = "chromedriver",
    ignore = "needs chromedriver: apt-get install chromium-driver"
)]
#[cfg_attr(
    hailong_axe_missing = "node",
    ignore = "needs node: apt-get install nodejs"
)]
#[cfg_attr(
    hailong_axe_missing = "axe-core",
    ignore = "needs axe-core: npm install --prefix tests/browser axe-core@4"
)]
async fn staff_accounts_pages_pass_axe_at_phone_and_desktop_width() {
    let missing = missing_tools();
    assert!(
        missing.is_empty(),
        "the browser test cannot run, missing: {}",
        missing.join(", ")
    );
    use crate::staff::add_user;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bo = add_user(&app, "bo@example.vn", "ministry").await;
    add_user(&app, "tinh01@example.vn", "province:01").await;
    let w = add_user(&app, "badinh@example.vn", "ward:00004").await;
    add_user(&app, "ngocha@example.vn", "ward:00008").await;
    let off = add_user(&app, "nghiviec@example.vn", "ward:00008").await;
    hailong::store::accounts::set_active(&app.state.db, off, false, "cli")
        .await
        .unwrap();
    // A sign-in of the ward officer, and the ministry's session for the browser.
    hailong::store::staff::create_session(&app.state.db, w)
        .await
        .unwrap();
    let token = hailong::store::staff::create_session(&app.state.db, bo)
        .await
        .unwrap();
    let shots = std::env::var("ACCOUNTS_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| app.dir.path().join("shots"));
    let pages = [
        ("users", format!("cookie:hl_staff={token};/staff/users")),
        (
            "users-done",
            format!("/staff/users?done=deactivated&id={off}"),
        ),
        ("users-en", "/staff/users?lang=en".to_string()),
        ("user", format!("/staff/users/{w}")),
        ("users-new", "/staff/users/new?province=01".to_string()),
        ("users-new-422", "click:#send-invite".to_string()),
    ]
    .map(|(n, p)| format!("{n}={p}"))
    .join(",");
    let out = tokio::process::Command::new("node")
        .arg(repo_path("tests/browser/check.mjs"))
        .arg(format!("http://{}", app.addr))
        .arg(&shots)
        .env("AXE_JS", axe_path())
        .env("ONLY_PAGES", pages)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(stdout.matches("axe 0 violations").count(), 12, "{stdout}");
    // The 422 was reached by sending the empty form, once per width; nothing was added.
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_users").await, 5);
    app.finish().await;
}
