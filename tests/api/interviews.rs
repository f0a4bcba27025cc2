//! Assisted interviews (docs/integrity.md): the `interviewer:{ward}` role, its interview page, what it
//! may not open, how its interviews are stored (channel `assisted`, never device-, address- or
//! burst-flagged) and the province page's figures per channel and per interviewer.

use crate::both;
use crate::helpers::{Backend, TestApp, stderr, stdout};
use crate::staff::{Browser, PW, add_user, hidden_csrf, signed_in};

/// A complete answer with every scale item and `overall` at `x` (so every respondent score
/// is (x − 1) × 25), and `extra` fields appended.
fn answers(x: u8, extra: &str) -> String {
    format!(
        "a1={x}&a2={x}&r1={x}&r2={x}&s1={x}&s2={x}&c1={x}&c2={x}&used_procedures=no\
         &overall={x}&trust=6&sex=f&age=35-54{extra}"
    )
}

/// Posts a raw form body from this browser (its cookies) and returns the response.
async fn post_body(b: &Browser, path: &str, body: String) -> reqwest::Response {
    b.client
        .post(format!("{}{path}", b.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The CSRF token of the interview page of `ward`.
async fn interview_csrf(b: &Browser, ward: &str) -> String {
    let page = b
        .get(&format!("/staff/interview/{ward}"))
        .await
        .text()
        .await
        .unwrap();
    hidden_csrf(&page)
}

/// Enters one interview; returns the redirect's `Location`.
async fn interview(b: &Browser, ward: &str, x: u8) -> String {
    let csrf = interview_csrf(b, ward).await;
    let r = post_body(
        b,
        &format!("/staff/interview/{ward}"),
        answers(x, &format!("&csrf={csrf}")),
    )
    .await;
    assert_eq!(r.status(), 303, "an interview is stored");
    r.headers()["location"].to_str().unwrap().to_string()
}

/// A resident's own answer through the plain link, from a client without cookies.
async fn resident(app: &TestApp, ward: &str, x: u8) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url(&format!("/s/{ward}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(answers(x, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

both!(
    an_interviewer_role_is_added_and_invited_from_the_cli,
    |app| {
        let added = app.cli(&[
            "users",
            "add",
            "--email",
            "MTTQ.BaDinh@example.vn",
            "--role",
            "interviewer:00004",
        ]);
        assert!(added.status.success(), "{}", stderr(&added));
        assert!(
            stdout(&added).contains("interviewer:00004"),
            "{}",
            stdout(&added)
        );
        let invited = app.cli(&[
            "users",
            "invite",
            "--email",
            "dtv2@example.vn",
            "--role",
            "interviewer:00004",
        ]);
        assert!(invited.status.success(), "{}", stderr(&invited));
        assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM staff_users WHERE role = 'interviewer' AND scope_code = '00004'"
        )
        .await,
        2
    );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox WHERE recipient = 'dtv2@example.vn'")
                .await,
            1,
            "the invitation is in the outbox"
        );
        // A malformed role is a usage error; a ward that does not exist is refused.
        let bad = app.cli(&[
            "users",
            "add",
            "--email",
            "x@example.vn",
            "--role",
            "interviewer:4",
        ]);
        assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
        assert!(
            stderr(&bad).contains("interviewer:CODE"),
            "{}",
            stderr(&bad)
        );
        let none = app.cli(&[
            "users",
            "add",
            "--email",
            "y@example.vn",
            "--role",
            "interviewer:99999",
        ]);
        assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    }
);

both!(an_interviewer_signs_in_to_the_interview_page, |app| {
    add_user(app, "dtv@example.vn", "interviewer:00004").await;
    let b = Browser::new(app);
    let page = b
        .get("/staff/login?next=/staff/wards/00004")
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_csrf(&page);
    let r = b
        .post(
            "/staff/login",
            &[
                ("email", "dtv@example.vn"),
                ("password", PW),
                ("csrf", &csrf),
                ("next", "/staff/wards/00004"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/staff/interview/00004",
        "whatever `next` says"
    );
    let r = b.get("/staff/interview/00004").await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    // The resident's questions, in the resident's words, for a phường.
    assert!(page.contains("Nhập phiếu phỏng vấn"), "{page}");
    assert!(page.contains("Điều tra viên – Phường Ba Đình"), "{page}");
    assert!(
        page.contains("Cán bộ Công an phường tiếp đón, hướng dẫn người dân lịch sự, tận tình."),
        "{page}"
    );
    assert!(page.contains("name=\"overall\""));
    assert!(page.contains("name=\"csrf\""));
    assert!(page.contains("width=device-width"));
    // Its navigation offers nothing it may not open.
    assert!(!page.contains("href=\"/staff/exports"), "{page}");
    assert!(!page.contains("href=\"/staff\""), "{page}");
    // Signed in already, the login page sends it back to its page.
    let r = b.get("/staff/login").await;
    assert_eq!(r.headers()["location"], "/staff/interview/00004");
});

/// With the address allowance at 3 per ward and day (the tests' default is 1000).
async fn spawn_strict(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| c.integrity.address_counted_per_day = 3).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interviews_are_assisted_recorded_and_never_flagged_sqlite() {
    let app = spawn_strict(Backend::Sqlite).await;
    never_flagged(&app).await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn interviews_are_assisted_recorded_and_never_flagged_postgres() {
    let app = spawn_strict(Backend::Postgres).await;
    never_flagged(&app).await;
    app.finish().await;
}

async fn never_flagged(app: &TestApp) {
    let id = add_user(app, "dtv@example.vn", "interviewer:00004").await;
    let b = Browser::new(app);
    assert_eq!(b.login("dtv@example.vn", PW).await, 303);
    // The interviewer's browser also holds a resident's device cookie, and has answered the
    // survey itself from the same address: a second resident answer would be flagged, an
    // interview never is.
    let survey = b.get("/s/00004").await;
    assert!(
        survey
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("hl_dev=")),
        "the survey page set a device cookie"
    );
    assert_eq!(
        post_body(&b, "/s/00004", answers(3, "")).await.status(),
        303
    );
    assert_eq!(
        post_body(&b, "/s/00004", answers(3, "")).await.status(),
        303
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM responses WHERE flag_reason = 'duplicate_device'")
            .await,
        1,
        "the cookie is a device"
    );
    // More interviews from one browser and one address than the address allowance (3) and
    // the burst minimum (20) allow for online answers.
    let mut last = String::new();
    for i in 0..24 {
        last = interview(&b, "00004", 2 + (i % 4) as u8).await;
    }
    assert!(last.starts_with("/staff/interview/00004?saved="), "{last}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM responses WHERE channel = 'assisted'")
            .await,
        24
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM responses WHERE channel = 'assisted' AND status = 'counted' \
             AND flag_reason IS NULL AND device_hash IS NULL"
        )
        .await,
        24,
        "every interview counts, with no device"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM response_interviewers ri JOIN responses r ON r.id = ri.response_id \
             WHERE ri.interviewer_id = {id} AND r.channel = 'assisted' AND r.ward_code = '00004'"
        ))
        .await,
        24,
        "each records its interviewer"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM response_origins o JOIN responses r ON r.id = o.response_id \
             WHERE r.channel = 'assisted'"
        )
        .await,
        0,
        "no address is kept"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM privacy_links p JOIN responses r ON r.id = p.response_id \
             WHERE r.channel = 'assisted'"
        )
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'interview.enter' AND actor = 'dtv@example.vn'")
            .await,
        24,
        "every interview is audited"
    );
    // The confirmation and an empty form for the next interview.
    let receipt = last.rsplit('=').next().unwrap().to_string();
    let page = b.get(&last).await.text().await.unwrap();
    assert!(page.contains("Đã lưu phiếu phỏng vấn"), "{page}");
    assert!(page.contains(&receipt));
    assert!(page.contains("Anh/chị đã nhập 24 phiếu"), "{page}");
    assert!(!page.contains(" checked"), "the form is empty");
    // A receipt that is not this interviewer's shows no confirmation.
    let page = b
        .get("/staff/interview/00004?saved=AAAA-AAAA-AA")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Đã lưu phiếu phỏng vấn"));
    // The ward's index counts them all: 1 resident answer + 24 interviews.
    let v: serde_json::Value = reqwest::get(app.url("/api/v1/wards/00004/satisfaction"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["n"], 25, "{v}");
    let verify = app.cli(&["index", "verify"]);
    assert!(verify.status.success(), "{}", stdout(&verify));
}

both!(an_interviewer_sees_nothing_else, |app| {
    let b = signed_in(app, "dtv@example.vn", "interviewer:00004").await;
    // The console's home sends it to its page.
    let r = b.get("/staff").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/staff/interview/00004");
    for path in [
        "/staff/wards/00004",
        "/staff/wards/00004/feedback",
        "/staff/wards/00008",
        "/staff/provinces/01",
        "/staff/provinces/01/review",
        "/staff/exports",
        "/staff/exports/responses.csv?ward=00004",
        "/staff/exports/aggregates.csv?province=01",
        "/staff/tokens",
        "/staff/audit",
        "/staff/mail",
        "/staff/interview/00008",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status(), 403, "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("Phường Ngọc Hà"), "{path}: {body}");
    }
    // The API refuses the session in JSON, never reading it as the public.
    let r = b.get("/api/v1/wards/00004/satisfaction").await;
    assert_eq!(r.status(), 403);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], 403, "{v}");
    // Another ward's page refuses a POST too, even with the session's own token.
    let csrf = interview_csrf(&b, "00004").await;
    let r = post_body(
        &b,
        "/staff/interview/00008",
        answers(4, &format!("&csrf={csrf}")),
    )
    .await;
    assert_eq!(r.status(), 403);
    // So do state-changing console routes.
    let r = b
        .post(
            "/staff/wards/00004/actions",
            &[("csrf", &csrf), ("period", "2026-Q1"), ("text", "x")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM responses").await, 0);
    // Police staff do not interview about themselves.
    let w = signed_in(app, "w@example.vn", "ward:00004").await;
    assert_eq!(w.get("/staff/interview/00004").await.status(), 403);
    let p = signed_in(app, "p@example.vn", "province:01").await;
    assert_eq!(p.get("/staff/interview/00004").await.status(), 403);
    // It may still change its password and sign out.
    assert_eq!(b.get("/staff/password").await.status(), 200);
    assert_eq!(
        b.post("/staff/logout", &[("csrf", &csrf)]).await.status(),
        303
    );
    assert_eq!(
        b.get("/staff/interview/00004").await.status(),
        303,
        "signed out"
    );
});

both!(an_interview_needs_the_csrf_token, |app| {
    let b = signed_in(app, "dtv@example.vn", "interviewer:00004").await;
    let r = post_body(&b, "/staff/interview/00004", answers(4, "")).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("CSRF"));
    let wrong = "0".repeat(64);
    let r = post_body(
        &b,
        "/staff/interview/00004",
        answers(4, &format!("&csrf={wrong}")),
    )
    .await;
    assert_eq!(r.status(), 403);
    // Another browser's token is no token either.
    let other = signed_in(app, "dtv2@example.vn", "interviewer:00004").await;
    let theirs = interview_csrf(&other, "00004").await;
    let r = post_body(
        &b,
        "/staff/interview/00004",
        answers(4, &format!("&csrf={theirs}")),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM responses").await, 0);
});

both!(an_invalid_interview_is_422_with_what_was_typed, |app| {
    let b = signed_in(app, "dtv@example.vn", "interviewer:00004").await;
    let csrf = interview_csrf(&b, "00004").await;
    // No `overall` (required) and a trust of 11; the rest is kept.
    let body = format!(
        "a1=4&a2=2&r1=na&used_procedures=yes&p1=5&trust=11&comment={}&csrf={csrf}",
        form_urlencoded::byte_serialize("Đường ngõ 7 GIỮ LẠI tối".as_bytes()).collect::<String>()
    );
    let r = post_body(&b, "/staff/interview/00004", body).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Vui lòng kiểm tra lại"), "{page}");
    assert!(
        page.contains("id=\"e-overall\""),
        "the error is beside its question"
    );
    assert!(page.contains("id=\"e-trust\""), "{page}");
    assert!(
        page.contains("Đường ngõ 7 GIỮ LẠI tối"),
        "the comment is kept"
    );
    for kept in [
        "name=\"a1\" value=\"4\" checked",
        "name=\"a2\" value=\"2\" checked",
        "name=\"r1\" value=\"na\" checked",
        "name=\"used_procedures\" value=\"yes\" checked",
        "name=\"p1\" value=\"5\" checked",
    ] {
        assert!(page.contains(kept), "{kept}: {page}");
    }
    assert!(page.contains("name=\"csrf\""), "the form can be sent again");
    assert_eq!(app.count("SELECT COUNT(*) FROM responses").await, 0);
});

both!(the_province_page_shows_channels_and_interviewers, |app| {
    // Residents online: two at 3 (S = 50), two at 2 (S = 25).
    for x in [3, 3, 2, 2] {
        resident(app, "00004", x).await;
    }
    // Interviewer A: three at 5 and one at 4 (I = 93.75); B like the residents (I = 37.5).
    let a = signed_in(app, "dtv.a@example.vn", "interviewer:00004").await;
    for x in [5, 5, 5, 4] {
        interview(&a, "00004", x).await;
    }
    let bb = signed_in(app, "dtv.b@example.vn", "interviewer:00004").await;
    for x in [3, 3, 2, 2] {
        interview(&bb, "00004", x).await;
    }
    let p = signed_in(app, "tinh@example.vn", "province:01").await;
    let r = p.get("/staff/provinces/01").await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let section = &page[page.find("id=\"by-channel\"").expect("the section")..];
    // Per channel, in words, with n and the index with its interval.
    let row = |name: &str| {
        let at = section
            .find(name)
            .unwrap_or_else(|| panic!("{name}: {section}"));
        section[at..at + section[at..].find("</tr>").unwrap()].to_string()
    };
    let web = row("<td>Trực tuyến</td>");
    assert!(web.contains(">4<") && web.contains(">37,5<"), "{web}");
    // I = 37.5, v = 4/3 · 625/16 = 52.083, t(0.975, 3) = 3.182446: 14.5–60.5.
    assert!(web.contains("14,5–60,5"), "{web}");
    let assisted = row("<td>Phỏng vấn trực tiếp</td>");
    assert!(
        assisted.contains(">8<") && assisted.contains(">65,6<"),
        "{assisted}"
    );
    // Per interviewer, against the rest of the ward.
    let ra = row("<td>dtv.a@example.vn</td>");
    assert!(ra.contains("Phường Ba Đình"), "{ra}");
    assert!(ra.contains(">93,8<"), "{ra}");
    assert!(ra.contains(">37,5<"), "the rest of the ward: {ra}");
    assert!(ra.contains("+56,3"), "{ra}");
    assert!(ra.contains("khác biệt rõ"), "A stands out: {ra}");
    let rb = row("<td>dtv.b@example.vn</td>");
    assert!(rb.contains(">37,5<") && rb.contains(">65,6<"), "{rb}");
    assert!(rb.contains("−28,1"), "{rb}");
    // English numbers under ?lang=en.
    let en = p
        .get("/staff/provinces/01?lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        en.contains(">Interview<") || en.contains("Interview</td>"),
        "{en}"
    );
    assert!(en.contains("93.8"), "{en}");
});

/// axe-core's WCAG 2.1 A and AA rules on the page the driver shows: the violations, each with
/// the elements at fault (`AXE_JS` or tests/browser/node_modules, as the other browser tests).
async fn axe_violations(d: &crate::staff_browser::Driver) -> Vec<serde_json::Value> {
    let path = std::env::var("AXE_JS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            crate::helpers::repo_path("tests/browser/node_modules/axe-core/axe.min.js")
        });
    let src = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("axe-core at {}: {e}", path.display()));
    d.cmd(
        "POST",
        "/execute/sync",
        serde_json::json!({"script": format!("{src}\nreturn true;"), "args": []}),
    )
    .await;
    let out = d
        .cmd(
            "POST",
            "/execute/async",
            serde_json::json!({"script": "const done = arguments[arguments.length - 1];\
                axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
                .then(r => done(JSON.stringify(r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target)})))))\
                .catch(e => done(JSON.stringify([{id: 'axe-error', help: String(e)}])));", "args": []}),
        )
        .await;
    serde_json::from_str(out.as_str().expect("axe answers a string")).unwrap()
}

/// An interviewer signs in on a phone (390 px wide), enters an interview by tapping the
/// answers, sees the confirmation and an empty form; the page passes axe before and after.
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
async fn an_interviewer_enters_an_interview_on_a_phone_in_chromium() {
    use crate::staff_browser::Driver;
    let d = Driver::start_with(
        &["--window-size=390,844".to_string()],
        serde_json::json!({}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = add_user(&app, "dtv@example.vn", "interviewer:00004").await;
    d.goto(&app.url("/staff/login")).await;
    d.type_into("#email", "dtv@example.vn").await;
    d.type_into("#password", PW).await;
    d.click("button[type=submit]").await;
    // Signed in, it lands on its interview page.
    d.find("#save-interview").await;
    let url = d.cmd("GET", "/url", serde_json::json!({})).await;
    assert!(
        url.as_str().unwrap().ends_with("/staff/interview/00004"),
        "{url}"
    );
    let v = axe_violations(&d).await;
    assert!(v.is_empty(), "axe on the interview page: {v:#?}");
    // The page fits the phone: nothing wider than the window.
    let wide = d
        .cmd(
            "POST",
            "/execute/sync",
            serde_json::json!({"script": "return document.documentElement.scrollWidth > window.innerWidth;", "args": []}),
        )
        .await;
    assert_eq!(
        wide,
        serde_json::json!(false),
        "no horizontal scrolling at 390 px"
    );
    d.screenshot("interview-phone", 390, 2400).await;
    for q in ["a1", "a2", "r1", "r2", "s1", "s2", "c1", "c2", "overall"] {
        d.click(&format!("input[name={q}][value=\"4\"]")).await;
    }
    d.click("input[name=used_procedures][value=no]").await;
    d.click("input[name=trust][value=\"8\"]").await;
    d.type_into("#f-comment-0", "Phỏng vấn tại nhà văn hoá tổ 5")
        .await;
    d.click("#save-interview").await;
    let saved = d.text("#saved").await;
    assert!(saved.contains("Đã lưu phiếu phỏng vấn"), "{saved}");
    let checked = d
        .cmd(
            "POST",
            "/execute/sync",
            serde_json::json!({"script": "return document.querySelectorAll('form.survey input:checked').length;", "args": []}),
        )
        .await;
    assert_eq!(
        checked,
        serde_json::json!(0),
        "an empty form for the next interview"
    );
    let v = axe_violations(&d).await;
    assert!(v.is_empty(), "axe after saving: {v:#?}");
    d.screenshot("interview-saved-phone", 390, 844).await;
    d.screenshot("interview-desktop", 1280, 2000).await;
    // The province sees the interview in its figures per channel and per interviewer, beside
    // residents' own answers and another interviewer's.
    for x in [3, 4, 2] {
        resident(&app, "00004", x).await;
    }
    let other = signed_in(&app, "mttq.badinh@example.vn", "interviewer:00004").await;
    for x in [2, 2, 3] {
        interview(&other, "00004", x).await;
    }
    d.click("nav.staffnav button[type=submit]").await;
    d.find("#email").await;
    add_user(&app, "tinh@example.vn", "province:01").await;
    d.type_into("#email", "tinh@example.vn").await;
    d.type_into("#password", PW).await;
    d.click("button[type=submit]").await;
    d.find("nav.staffnav").await;
    d.goto(&app.url("/staff/provinces/01#by-channel")).await;
    assert!(d.text("#by-interviewer").await.contains("dtv@example.vn"));
    for (name, width) in [
        ("province-section-phone", 390),
        ("province-section-desktop", 1280),
    ] {
        d.cmd(
            "POST",
            "/window/rect",
            serde_json::json!({"width": width, "height": 1000}),
        )
        .await;
        let id = d.find("#by-channel").await;
        let png = d
            .cmd(
                "GET",
                &format!("/element/{id}/screenshot"),
                serde_json::json!({}),
            )
            .await;
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM responses r JOIN response_interviewers ri ON ri.response_id = r.id \
             WHERE r.channel = 'assisted' AND ri.interviewer_id = {id} AND r.status = 'counted'"
        ))
        .await,
        1
    );
    d.quit().await;
    app.finish().await;
}
