//! The pilot group in the database: seeded once from `[staff] pilot_wards`, edited by the
//! ministry at `/staff/pilot` (by code or by name, accents optional; CSRF; a confirmation;
//! audited), read by the ministry's home; nobody else may see or change it.

use crate::helpers::{Backend, TestApp};
use crate::staff::signed_in;

fn csrf_of(page: &str) -> String {
    crate::staff::hidden_csrf(page)
}

/// The pilot section of the ministry's home.
async fn home_pilot(b: &crate::staff::Browser) -> String {
    let page = b.get("/staff").await.text().await.unwrap();
    let at = page.find("h-pilot").expect("the pilot section");
    let end = page[at..].find("</section>").unwrap();
    page[at..at + end].to_string()
}

async fn run(app: &TestApp) {
    // Seeded from the configuration at start, once, audited; an unknown code left out.
    assert_eq!(app.count("SELECT COUNT(*) FROM pilot_wards").await, 1);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'pilot.seed' AND actor = 'system'"
        )
        .await,
        1
    );
    let bo = signed_in(app, "bo@example.vn", "ministry").await;
    let section = home_pilot(&bo).await;
    assert!(section.contains("Phường Ba Đình") && section.contains("/staff/pilot"));

    let page = bo.get("/staff/pilot").await.text().await.unwrap();
    assert!(page.contains("Phường Ba Đình") && page.contains("Tệp cấu hình"));
    let csrf = csrf_of(&page);

    // By name, accents optional: one unit is added at once, then confirmed.
    let r = bo
        .post("/staff/pilot", &[("csrf", &csrf), ("ward", " ngoc ha ")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/staff/pilot?added=00008");
    let done = bo
        .get("/staff/pilot?added=00008")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        done.contains("Đã thêm Phường Ngọc Hà (00008), Thành phố Hà Nội vào nhóm thí điểm."),
        "{done}"
    );
    // By code, zero-padding optional.
    let r = bo
        .post(
            "/staff/pilot?lang=en",
            &[("csrf", &csrf), ("ward", "25747")],
        )
        .await;
    assert_eq!(r.headers()["location"], "/staff/pilot?added=25747&lang=en");
    let en = bo
        .get("/staff/pilot?added=25747&lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(en.contains("was added to the pilot group"));

    // Already there, nothing found, several found, nothing typed: 422, the text kept.
    for (typed, says) in [
        ("00004", "Phường Ba Đình (00004) đã có trong nhóm thí điểm."),
        (
            "không có phường này",
            "Không tìm thấy phường, xã nào có mã hoặc tên",
        ),
        (
            "99999",
            "Không tìm thấy phường, xã nào có mã hoặc tên “99999”",
        ),
        (
            "an",
            "phường, xã khớp với “an”. Hãy chọn một đơn vị dưới đây",
        ),
        ("  ", "Hãy nhập mã (ví dụ 00004) hoặc tên phường, xã"),
    ] {
        let r = bo
            .post("/staff/pilot", &[("csrf", &csrf), ("ward", typed)])
            .await;
        assert_eq!(r.status(), 422, "{typed}");
        let body = r.text().await.unwrap();
        assert!(body.contains(says), "{typed}: {body}");
        assert!(body.contains(r#"id="p-ward-err""#) && body.contains(r#"aria-invalid="true""#));
        assert!(
            body.contains(&format!(r#"value="{}""#, typed.trim())),
            "{typed} kept"
        );
    }
    // Several found: each is offered with its own button.
    let r = bo
        .post("/staff/pilot", &[("csrf", &csrf), ("ward", "an")])
        .await;
    let several = r.text().await.unwrap();
    assert!(
        several
            .matches(r#"<input type="hidden" name="ward" value=""#)
            .count()
            >= 2
    );
    // Without the CSRF token: refused, nothing written.
    let r = bo
        .post("/staff/pilot", &[("csrf", "0"), ("ward", "00010")])
        .await;
    assert_eq!(r.status(), 403);
    let r = bo.post("/staff/pilot/00004/remove", &[]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM pilot_wards").await, 3);

    // The home reads the group from the database.
    let section = home_pilot(&bo).await;
    for name in ["Phường Ba Đình", "Phường Ngọc Hà", "Phường Thủ Dầu Một"] {
        assert!(section.contains(name), "{name}");
    }
    // Remove: confirmed, audited, gone from the home.
    let r = bo
        .post("/staff/pilot/00004/remove", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/staff/pilot?removed=00004");
    let done = bo
        .get("/staff/pilot?removed=00004")
        .await
        .text()
        .await
        .unwrap();
    assert!(done.contains("Đã bỏ Phường Ba Đình (00004), Thành phố Hà Nội khỏi nhóm thí điểm."));
    assert!(!home_pilot(&bo).await.contains("Phường Ba Đình"));
    assert_eq!(
        bo.post("/staff/pilot/00004/remove", &[("csrf", &csrf)])
            .await
            .status(),
        404,
        "not in the group any more"
    );
    for (action, n) in [("pilot.add", 2), ("pilot.remove", 1)] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' \
                 AND actor = 'bo@example.vn' AND target LIKE 'ward:%'"
            ))
            .await,
            n,
            "{action}"
        );
    }
    let log = bo.get("/staff/audit").await.text().await.unwrap();
    assert!(log.contains("Thêm phường, xã vào nhóm thí điểm"));
    assert!(log.contains("Bỏ phường, xã khỏi nhóm thí điểm"));
    assert!(log.contains("Lập nhóm thí điểm từ tệp cấu hình"));

    // Nobody else sees or changes it.
    for role in ["province:01", "ward:00004"] {
        let email = format!("{}@example.vn", role.replace(':', "-"));
        let b = signed_in(app, &email, role).await;
        let their = b.csrf().await;
        assert_eq!(b.get("/staff/pilot").await.status(), 404, "{role}");
        assert_eq!(
            b.post("/staff/pilot", &[("csrf", &their), ("ward", "00010")])
                .await
                .status(),
            404,
            "{role}"
        );
        assert_eq!(
            b.post("/staff/pilot/00008/remove", &[("csrf", &their)])
                .await
                .status(),
            404,
            "{role}"
        );
        assert!(
            !b.get("/staff")
                .await
                .text()
                .await
                .unwrap()
                .contains("h-pilot")
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM pilot_wards").await, 2);

    // A group the console emptied stays empty: the configuration seeds only once.
    for code in ["00008", "25747"] {
        let r = bo
            .post(&format!("/staff/pilot/{code}/remove"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status(), 303);
    }
    let again = hailong::store::pilot::seed_from_config(&app.state.db, &["00004".to_string()])
        .await
        .unwrap();
    assert!(again.added.is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM pilot_wards").await, 0);
    let section = home_pilot(&bo).await;
    assert!(section.contains("Chưa có đơn vị nào trong nhóm thí điểm."));
}

fn config(c: &mut hailong::config::Config) {
    c.staff.pilot_wards = vec!["00004".into(), "99999".into()];
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ministry_edits_the_pilot_group_sqlite() {
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    run(&app).await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn the_ministry_edits_the_pilot_group_postgres() {
    let app = TestApp::spawn_with(Backend::Postgres, config).await;
    run(&app).await;
    app.finish().await;
}

/// An empty configuration seeds nothing; a database whose group was never edited takes the
/// configured units that exist (an existing deployment upgrading), each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_group_seeds_an_unedited_database() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM pilot_wards").await, 0);
    let seeded = hailong::store::pilot::seed_from_config(
        &app.state.db,
        &["00004".to_string(), "00004".to_string(), "12".to_string()],
    )
    .await
    .unwrap();
    assert_eq!(seeded.added, vec!["00004".to_string()]);
    assert_eq!(seeded.unknown, vec!["12".to_string()]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM pilot_wards WHERE added_by = 'config'")
            .await,
        1
    );
    app.finish().await;
}
