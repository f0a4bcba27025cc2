//! Integrity: invitation tokens, posters and QR codes, duplicate and burst flags, exclusion and
//! inclusion with rollups that still verify, privacy, rate limits and the trusted-proxy rule,
//! security headers and time limits.

use std::time::Duration;

use chrono::Utc;
use hailong::store::responses::Channel;
use hailong::store::{flags, posters, tokens};

use crate::both;
use crate::helpers::{Backend, TestApp, stderr, stdout};
use crate::public::VALID;

fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn post_with(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    body: &str,
) -> reqwest::Response {
    client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn count_where(app: &TestApp, cond: &str) -> i64 {
    app.count(&format!("SELECT COUNT(*) AS n FROM responses WHERE {cond}"))
        .await
}

fn verify_ok(app: &TestApp) {
    let out = app.cli(&["index", "verify"]);
    assert!(
        out.status.success(),
        "index verify: {}{}",
        stdout(&out),
        stderr(&out)
    );
}

// ---------------------------------------------------------------- invitation tokens

fn issued_links(app: &TestApp, args: &[&str]) -> Vec<String> {
    let out = app.cli(args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    // A CSV, with the byte-order mark every CSV of the product starts with.
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("\u{feff}ward_code,url,expires_at")
    );
    lines
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect()
}

fn path_of(url: &str) -> String {
    let i = url.find("/s/").unwrap();
    url[i..].to_string()
}

both!(
    invitation_tokens_work_once_for_their_ward_before_expiry,
    |app| {
        let qr_dir = app.dir.path().join("qr");
        let links = issued_links(
            app,
            &[
                "tokens",
                "issue",
                "--ward",
                "00004",
                "--count",
                "3",
                "--expires",
                "2099-12-31",
                "--qr",
                qr_dir.to_str().unwrap(),
            ],
        );
        assert_eq!(links.len(), 3);
        assert!(links[0].contains("/s/00004?t="), "{}", links[0]);
        assert_eq!(
            std::fs::read_dir(&qr_dir).unwrap().count(),
            3,
            "one QR per link"
        );
        // Stored hashed: the token text is nowhere in the table.
        let token = links[0].split("t=").nth(1).unwrap().to_string();
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM invitation_tokens WHERE token_hash = '{token}'"
            ))
            .await,
            0
        );
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM invitation_tokens")
                .await,
            3
        );

        // First use: the form carries the token; the response is channel `token`.
        let path = path_of(&links[0]);
        let r = app.get(&path).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains(&token), "hidden field t");
        let r = app
            .post_form("/s/00004", &format!("{VALID}&t={token}"))
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(
            count_where(app, "channel = 'token' AND status = 'counted'").await,
            1
        );

        // Second use: a clear page, nothing stored.
        let r = app.get(&path).await;
        assert_eq!(r.status(), 410);
        assert!(r.text().await.unwrap().contains("đã được sử dụng"));
        let r = app
            .post_form("/s/00004", &format!("{VALID}&t={token}"))
            .await;
        assert_eq!(r.status(), 410);
        assert!(r.text().await.unwrap().contains("không được tính"));
        assert_eq!(count_where(app, "1 = 1").await, 1);

        // Another ward: refused.
        let other = links[1].split("t=").nth(1).unwrap();
        let r = app.get(&format!("/s/00008?t={other}")).await;
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("không hợp lệ"));
        let r = app
            .post_form("/s/00008", &format!("{VALID}&t={other}"))
            .await;
        assert_eq!(r.status(), 403);
        // A made-up token: refused.
        let r = app
            .post_form(
                "/s/00004",
                &format!("{VALID}&t=00112233445566778899aabbccddeeff"),
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(count_where(app, "1 = 1").await, 1);

        // Expired.
        let expired = tokens::issue(
            &app.state.db,
            "00004",
            1,
            Some(Utc::now() - chrono::Duration::hours(1)),
        )
        .await
        .unwrap();
        let r = app.get(&format!("/s/00004?t={}", expired[0])).await;
        assert_eq!(r.status(), 410);
        assert!(r.text().await.unwrap().contains("hết hạn"));
        let r = app
            .post_form("/s/00004", &format!("{VALID}&t={}", expired[0]))
            .await;
        assert_eq!(r.status(), 410);
        assert_eq!(count_where(app, "1 = 1").await, 1);

        // Bad command lines fail clearly.
        let out = app.cli(&["tokens", "issue", "--ward", "99999", "--count", "1"]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("unknown ward"));
        let out = app.cli(&[
            "tokens",
            "issue",
            "--ward",
            "00004",
            "--count",
            "1",
            "--expires",
            "2001-01-01",
        ]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("past"));
        verify_ok(app);
    }
);

both!(a_token_raced_twice_is_counted_once, |app| {
    let t = tokens::issue(&app.state.db, "00004", 1, None)
        .await
        .unwrap();
    let survey = app.state.catalog.get("ward-police").unwrap();
    let pairs = hailong::web::form::decode(VALID.as_bytes()).unwrap();
    let valid = hailong::intake::parse(survey, &pairs, hailong::survey::Mode::Web).unwrap();
    let mut a = hailong::intake::new_response(survey, &valid, "00004", Channel::Token, Utc::now());
    a.token_hash = Some(hailong::privacy::keys::sha256_hex(&t[0]));
    let b = a.clone();
    hailong::store::write_batch(&app.state.db, &[a, b])
        .await
        .unwrap();
    assert_eq!(count_where(app, "status = 'counted'").await, 1);
    assert_eq!(count_where(app, "flag_reason = 'token_invalid'").await, 1);
    verify_ok(app);
});

// ---------------------------------------------------------------- posters and QR codes

fn poster_id_in(html: &str) -> String {
    let i = html.find("Mã áp phích: ").unwrap() + "Mã áp phích: ".len();
    html[i..].split('<').next().unwrap().trim().to_string()
}

both!(qr_codes_and_posters, |app| {
    let r = app.get("/qr/00004.svg").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    assert!(r.text().await.unwrap().contains("<svg"));
    let r = app.get("/qr/00004.png").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(&r.bytes().await.unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    for bad in [
        "/qr/99999.png",
        "/qr/00004.gif",
        "/qr/00004",
        "/poster/99999",
    ] {
        assert_eq!(app.get(bad).await.status(), 404, "{bad}");
    }
    let r = app.get("/poster/00004").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Công an phường Ba Đình"),
        "unit type and full name"
    );
    assert!(html.contains("<svg"), "QR inline");
    assert!(html.contains("s&#x2F;00004"), "short URL");
    assert!(html.contains("quét mã QR"), "invitation");
    assert!(html.contains("poster.css"));
    assert!(!html.contains("<script") && !html.contains("style="));
    let css = app.get("/static/poster.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.text().await.unwrap().contains("@page"));
    let id = poster_id_in(&html);
    assert!(id.starts_with("00004-"), "{id}");
    // The same poster until it is revoked.
    let again = app.get("/poster/00004").await.text().await.unwrap();
    assert_eq!(poster_id_in(&again), id);

    // A valid id → channel poster.
    let r = app.post_form("/s/00004", &format!("{VALID}&p={id}")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(count_where(app, "channel = 'poster'").await, 1);
    // Forged ids (another signature, another ward) → channel web, still counted.
    let forged = format!("{}0000000000000000", &id[..id.len() - 16]);
    let r = app
        .post_form("/s/00004", &format!("{VALID}&p={forged}"))
        .await;
    assert_eq!(r.status(), 303);
    let r = app.post_form("/s/00008", &format!("{VALID}&p={id}")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(count_where(app, "channel = 'poster'").await, 1);
    assert_eq!(
        count_where(app, "channel = 'web' AND status = 'counted'").await,
        2
    );

    // Revoked → web; the poster page then shows a new id.
    let out = app.cli(&["posters", "revoke", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!app.cli(&["posters", "revoke", &id]).status.success());
    let r = app.post_form("/s/00004", &format!("{VALID}&p={id}")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(count_where(app, "channel = 'poster'").await, 1);
    let fresh = poster_id_in(&app.get("/poster/00004").await.text().await.unwrap());
    assert_ne!(fresh, id);
    assert!(
        posters::is_valid(&app.state.db, app.state.secrets.server(), &fresh, "00004")
            .await
            .unwrap()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'poster.revoke'")
            .await,
        1
    );
});

both!(posters_for_a_whole_province, |app| {
    let out_dir = app.dir.path().join("posters");
    let out = app.cli(&[
        "posters",
        "--province",
        "01",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let units = app
        .count("SELECT COUNT(*) AS n FROM units WHERE province_code = '01'")
        .await as usize;
    assert!(units > 100);
    let files: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.iter().filter(|f| f.ends_with(".html")).count(), units);
    assert_eq!(files.iter().filter(|f| f.ends_with(".png")).count(), units);
    assert!(files.contains(&"poster.css".to_string()));
    let html = std::fs::read_to_string(out_dir.join("00004.html")).unwrap();
    let id = poster_id_in(&html);
    assert!(
        posters::is_valid(&app.state.db, app.state.secrets.server(), &id, "00004")
            .await
            .unwrap()
    );
    let out = app.cli(&[
        "posters",
        "--province",
        "77",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
});

// ---------------------------------------------------------------- duplicates, bursts, review

both!(
    one_counted_response_per_device_per_ward_per_quarter,
    |app| {
        let phone = cookie_client();
        let r = phone.get(app.url("/s/00004")).send().await.unwrap();
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("hl_dev="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(cookie.contains("Max-Age="), "{cookie}");
        assert!(!cookie.contains("Secure"), "no Secure flag on http");
        // The cookie is set once.
        let r = phone.get(app.url("/s/00004")).send().await.unwrap();
        assert!(r.headers().get("set-cookie").is_none());
        for _ in 0..3 {
            assert_eq!(
                post_with(app, &phone, "/s/00004", VALID).await.status(),
                303
            );
        }
        assert_eq!(count_where(app, "status = 'counted'").await, 1);
        assert_eq!(
            count_where(app, "flag_reason = 'duplicate_device'").await,
            2
        );
        // Another ward is another count.
        assert_eq!(
            post_with(app, &phone, "/s/00008", VALID).await.status(),
            303
        );
        assert_eq!(count_where(app, "status = 'counted'").await, 2);
        // Another phone counts.
        let other = cookie_client();
        other.get(app.url("/s/00004")).send().await.unwrap();
        assert_eq!(
            post_with(app, &other, "/s/00004", VALID).await.status(),
            303
        );
        assert_eq!(count_where(app, "status = 'counted'").await, 3);
        // A forged cookie is no device at all.
        let r = app
            .client
            .post(app.url("/s/00004"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "cookie",
                format!("hl_dev={}.{}", "a".repeat(32), "0".repeat(32)),
            )
            .body(VALID)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(count_where(app, "device_hash IS NULL").await, 1);
        // No raw cookie value is stored, only its keyed hash.
        let value = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("hl_dev=");
        let id = value.split('.').next().unwrap();
        assert_eq!(
            count_where(app, &format!("device_hash LIKE '%{id}%'")).await,
            0
        );
        verify_ok(app);
    }
);

both!(duplicates_inside_one_batch_and_paper_ballots, |app| {
    let survey = app.state.catalog.get("ward-police").unwrap();
    let pairs = hailong::web::form::decode(VALID.as_bytes()).unwrap();
    let valid = hailong::intake::parse(survey, &pairs, hailong::survey::Mode::Web).unwrap();
    let mut a = hailong::intake::new_response(survey, &valid, "00004", Channel::Web, Utc::now());
    a.device_hash = Some("d".repeat(64));
    let b = a.clone();
    // Paper ballots are never device-flagged, even with a device hash.
    let mut p = hailong::intake::new_response(survey, &valid, "00004", Channel::Paper, Utc::now());
    p.device_hash = Some("d".repeat(64));
    let q = p.clone();
    hailong::store::write_batch(&app.state.db, &[a, b, p, q])
        .await
        .unwrap();
    assert_eq!(count_where(app, "status = 'counted'").await, 3);
    assert_eq!(
        count_where(app, "flag_reason = 'duplicate_device'").await,
        1
    );
    assert_eq!(
        count_where(app, "channel = 'paper' AND status = 'flagged'").await,
        0
    );
    verify_ok(app);
});

both!(concurrent_submissions_are_all_stored, |app| {
    // Cookieless and cookie-holding submissions at once: the transactions that read before
    // writing (burst counts) must not fail under concurrent writers.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let url = app.url(if i % 2 == 0 { "/s/00004" } else { "/s/00008" });
        tasks.push(tokio::spawn(async move {
            let c = cookie_client();
            if i % 4 == 0 {
                c.get(url.clone()).send().await.unwrap();
            }
            c.post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(VALID)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 303);
    }
    assert_eq!(count_where(app, "status = 'counted'").await, 16);
    verify_ok(app);
});

mod concurrent_instances {
    use super::*;

    /// Two server instances on one PostgreSQL database: the same device submitting to both at
    /// once is counted once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[cfg_attr(
        not(hailong_postgres),
        ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
    )]
    async fn postgres() {
        let app = TestApp::spawn(Backend::Postgres).await;
        let url = app.db_url.clone();
        let second = TestApp::spawn_on(&url).await;
        let survey = app.state.catalog.get("ward-police").unwrap().clone();
        let pairs = hailong::web::form::decode(VALID.as_bytes()).unwrap();
        let valid = hailong::intake::parse(&survey, &pairs, hailong::survey::Mode::Web).unwrap();
        let mut r =
            hailong::intake::new_response(&survey, &valid, "00004", Channel::Web, Utc::now());
        r.device_hash = Some("e".repeat(64));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let db = if i % 2 == 0 {
                app.state.db.clone()
            } else {
                second.state.db.clone()
            };
            let r = r.clone();
            tasks.push(tokio::spawn(async move {
                hailong::store::write_batch(&db, &[r]).await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(count_where(&app, "status = 'counted'").await, 1);
        assert_eq!(
            count_where(&app, "flag_reason = 'duplicate_device'").await,
            7
        );
        verify_ok(&app);
        second.finish().await;
        app.finish().await;
    }
}

mod bursts {
    use super::*;

    async fn run(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.integrity.burst_min_per_window = 5;
            c.integrity.burst_window_minutes = 60;
        })
        .await;
        for _ in 0..8 {
            assert_eq!(app.post_form("/s/00004", VALID).await.status(), 303);
        }
        assert_eq!(count_where(&app, "status = 'counted'").await, 5);
        assert_eq!(count_where(&app, "flag_reason = 'burst'").await, 3);
        // Another ward is not affected.
        assert_eq!(app.post_form("/s/00008", VALID).await.status(), 303);
        assert_eq!(
            count_where(&app, "ward_code = '00008' AND status = 'counted'").await,
            1
        );
        // A ward whose usual rate is high tolerates more: four responses every two hours over
        // the 28-day baseline is a usual rate of 2 per hour, so the threshold is 10 × 2 = 20.
        let survey = app.state.catalog.get("ward-police").unwrap();
        let pairs = hailong::web::form::decode(VALID.as_bytes()).unwrap();
        let valid = hailong::intake::parse(survey, &pairs, hailong::survey::Mode::Web).unwrap();
        let mut history = Vec::new();
        for h in 2..(2 + 28 * 24 / 2) {
            for _ in 0..4 {
                history.push(hailong::intake::new_response(
                    survey,
                    &valid,
                    "00025",
                    Channel::Web,
                    Utc::now() - chrono::Duration::hours(h as i64 * 2),
                ));
            }
        }
        let rules = hailong::config::IntegrityConfig {
            burst_min_per_window: 1_000_000,
            ..app.state.config.integrity.clone()
        };
        hailong::store::write_batch_with(&app.state.db, &history, &rules)
            .await
            .unwrap();
        for _ in 0..12 {
            assert_eq!(app.post_form("/s/00025", VALID).await.status(), 303);
        }
        assert_eq!(
            count_where(&app, "ward_code = '00025' AND flag_reason = 'burst'").await,
            0
        );
        // Paper ballots are never burst-flagged.
        let mut csv = String::from(
            "ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,used_procedures,overall,trust\n",
        );
        let today = Utc::now().format("%Y-%m-%d");
        for _ in 0..20 {
            csv.push_str(&format!("00004,{today},m,18-34,4,4,3,2,3,3,2,3,no,3,6\n"));
        }
        let file = app.write_file("paper.csv", &csv);
        let out = app.cli(&["responses", "import", &file]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            count_where(&app, "channel = 'paper' AND status = 'counted'").await,
            20
        );
        verify_ok(&app);
        app.finish().await;
    }

    /// The writer remembers that a ward's window held more than its threshold, and stops
    /// counting it: until the window moves past the responses it counted, when it counts again.
    async fn known_counts_last_as_long_as_the_window_holds_them(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.integrity.burst_min_per_window = 3;
            c.integrity.burst_window_minutes = 60;
        })
        .await;
        let survey = app.state.catalog.get("ward-police").unwrap();
        let pairs = hailong::web::form::decode(VALID.as_bytes()).unwrap();
        let valid = hailong::intake::parse(survey, &pairs, hailong::survey::Mode::Web).unwrap();
        let at = |minutes: i64| {
            hailong::intake::new_response(
                survey,
                &valid,
                "00004",
                Channel::Web,
                Utc::now() - chrono::Duration::minutes(minutes),
            )
        };
        let rules = app.state.config.integrity.clone();
        let caches = hailong::store::responses::BatchCaches::default();
        let store = |batch: Vec<hailong::store::responses::NewResponse>| {
            let (db, rules, caches) = (&app.state.db, &rules, &caches);
            async move {
                let txn = hailong::store::begin_write(db).await.unwrap();
                let out = hailong::store::responses::insert_batch_outcomes(
                    &txn,
                    &batch,
                    rules,
                    None,
                    Some(caches),
                )
                .await
                .unwrap();
                txn.commit().await.unwrap();
                out.into_iter().map(|o| o.flag).collect::<Vec<_>>()
            }
        };
        let burst = Some(hailong::store::integrity::BURST.to_string());
        // Four in one batch: the fourth is past the threshold of three.
        assert_eq!(
            store(vec![at(100), at(100), at(100), at(100)]).await,
            [None, None, None, burst.clone()]
        );
        // The window ending 90 minutes ago holds all four: counted up to the cap, remembered.
        assert_eq!(store(vec![at(90)]).await, std::slice::from_ref(&burst));
        // Still holding them 50 minutes ago: flagged on what was remembered.
        assert_eq!(store(vec![at(50)]).await, std::slice::from_ref(&burst));
        // 35 minutes ago the window (95 to 35 minutes ago) has lost the first four and holds
        // two: counted again, and under the threshold.
        assert_eq!(store(vec![at(35)]).await, [None]);
        assert_eq!(count_where(&app, "flag_reason = 'burst'").await, 3);
        verify_ok(&app);
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn known_counts_sqlite() {
        known_counts_last_as_long_as_the_window_holds_them(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(hailong_postgres),
        ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
    )]
    async fn known_counts_postgres() {
        known_counts_last_as_long_as_the_window_holds_them(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(hailong_postgres),
        ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
    )]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}

both!(exclusion_and_inclusion_keep_rollups_exact, |app| {
    let phone = cookie_client();
    phone.get(app.url("/s/00004")).send().await.unwrap();
    let first = "a1=5&a2=5&r1=5&r2=5&s1=5&s2=5&c1=5&c2=5&used_procedures=no&overall=5&trust=10&sex=f&age=55%2B";
    assert_eq!(
        post_with(app, &phone, "/s/00004", first).await.status(),
        303
    );
    assert_eq!(
        post_with(app, &phone, "/s/00004", VALID).await.status(),
        303
    );
    assert_eq!(app.post_form("/s/00004", VALID).await.status(), 303);
    verify_ok(app);
    let id_of = |cond: &'static str| async move {
        use hailong::entities::response;
        use sea_orm::{EntityTrait, QueryFilter, QueryOrder};
        response::Entity::find()
            .filter(sea_orm::sea_query::Expr::cust(cond))
            .order_by_asc(response::Column::Id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let rollup_total = || async {
        hailong::store::rollups::read_all(&app.state.db)
            .await
            .unwrap()
            .values()
            .map(|a| a.n)
            .sum::<i64>()
    };
    let n_before = rollup_total().await;
    let counted = id_of("status = 'counted'").await;
    let dup = id_of("flag_reason = 'duplicate_device'").await;
    let cat = &app.state.catalog;
    assert_eq!(
        flags::exclude(&app.state.db, cat, counted, "reviewer@x.vn")
            .await
            .unwrap(),
        flags::Change::Done
    );
    assert_eq!(
        flags::exclude(&app.state.db, cat, counted, "reviewer@x.vn")
            .await
            .unwrap(),
        flags::Change::AlreadyThere
    );
    assert!(rollup_total().await < n_before);
    verify_ok(app);
    assert_eq!(
        flags::include(&app.state.db, cat, dup, "reviewer@x.vn")
            .await
            .unwrap(),
        flags::Change::Done
    );
    verify_ok(app);
    assert_eq!(
        flags::include(&app.state.db, cat, counted, "reviewer@x.vn")
            .await
            .unwrap(),
        flags::Change::Done
    );
    verify_ok(app);
    assert_eq!(count_where(app, "status = 'counted'").await, 3);
    assert!(matches!(
        flags::include(&app.state.db, cat, 999_999, "x").await,
        Err(flags::FlagError::NotFound(_))
    ));
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'reviewer@x.vn'")
            .await,
        3
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'response.exclude' AND target LIKE 'response:%'")
            .await,
        1
    );
});

// ---------------------------------------------------------------- privacy

both!(no_raw_address_is_stored_and_contacts_are_purged, |app| {
    let body = format!("{VALID}&contact_email=dan%40example.vn&contact_consent=on");
    assert_eq!(app.post_form("/s/00004", &body).await.status(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM response_origins")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM response_origins WHERE ip_hash LIKE '%127.0.0.1%' OR LENGTH(ip_hash) <> 64")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM server_keys WHERE name LIKE 'ip_key:%'")
            .await,
        1
    );
    // Old keys are deleted when a new day's key is made.
    hailong::privacy::keys::ip_key(
        &app.state.db,
        chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM server_keys WHERE name LIKE 'ip_key:%'")
            .await,
        1
    );
    // Contacts: kept within the retention, purged after.
    assert_eq!(app.post_form("/s/00008", &body).await.status(), 303);
    let old = Utc::now() - chrono::Duration::days(91);
    use hailong::entities::contact;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let first_id: i64 = app
        .count("SELECT MIN(response_id) AS n FROM contacts")
        .await;
    contact::Entity::update_many()
        .col_expr(contact::Column::CreatedAt, Expr::value(old))
        .filter(contact::Column::ResponseId.eq(first_id))
        .exec(&app.state.db)
        .await
        .unwrap();
    let n = hailong::privacy::retention::purge_contacts(&app.state.db, 90, Utc::now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM contacts").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM responses").await,
        2,
        "answers stay"
    );
    // The survey page states what is kept and for how long.
    let page = app.get("/s/00004").await.text().await.unwrap();
    assert!(page.contains("90 ngày"), "retention stated");
    assert!(page.contains("không lưu địa chỉ mạng (IP)"));
});

#[tokio::test]
async fn survey_page_states_the_configured_retention() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.privacy.contact_retention_days = 30).await;
    let page = app.get("/s/00004").await.text().await.unwrap();
    assert!(page.contains("30 ngày"));
    let en = app.get("/s/00004?lang=en").await.text().await.unwrap();
    assert!(en.contains("30 days"));
    app.finish().await;
}

// ---------------------------------------------------------------- rate limits

async fn limited(tweak: impl FnOnce(&mut hailong::config::Config)) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.submissions_per_minute = 2;
        tweak(c);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookieless_flood_is_held_back_while_phones_get_through() {
    let app = limited(|_| {}).await;
    // The flooder (no cookies).
    let flooder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(
            post_with(&app, &flooder, "/s/00004", VALID)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&codes[..2], &[303, 303]);
    assert!(codes[2..].iter().all(|c| *c == 429), "{codes:?}");
    let r = post_with(&app, &flooder, "/s/00004", VALID).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let page = r.text().await.unwrap();
    assert!(page.contains("Quá nhiều yêu cầu"), "Vietnamese page");
    // Twenty residents with their own phones, same address: all get through.
    for _ in 0..20 {
        let phone = cookie_client();
        assert_eq!(
            phone
                .get(app.url("/s/00004"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            post_with(&app, &phone, "/s/00004", VALID).await.status(),
            303
        );
    }
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_address_comes_only_from_a_trusted_proxy() {
    let post_as = |app: &TestApp, ip: &'static str| {
        let req = app
            .client
            .post(app.url("/s/00004"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", ip)
            .body(VALID);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // Behind a trusted proxy (the test client is on 127.0.0.1): keyed by the header.
    let app = limited(|c| {
        c.rate_limit.trusted_proxy_header = Some("X-Forwarded-For".into());
        c.rate_limit.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    assert_eq!(post_as(&app, "198.51.100.1").await, 303);
    assert_eq!(post_as(&app, "198.51.100.1").await, 303);
    assert_eq!(post_as(&app, "198.51.100.1").await, 429);
    assert_eq!(post_as(&app, "198.51.100.2").await, 303, "another client");
    assert_eq!(
        post_as(&app, "203.0.113.5, 198.51.100.1").await,
        429,
        "spoofed left entry ignored"
    );
    app.finish().await;
    // The header configured but the peer not trusted: the header is ignored.
    let app = limited(|c| {
        c.rate_limit.trusted_proxy_header = Some("X-Forwarded-For".into());
        c.rate_limit.trusted_proxies = vec!["10.0.0.0/8".into()];
    })
    .await;
    assert_eq!(post_as(&app, "198.51.100.1").await, 303);
    assert_eq!(post_as(&app, "198.51.100.2").await, 303);
    assert_eq!(
        post_as(&app, "198.51.100.3").await,
        429,
        "anyone can send the header"
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_views_are_limited_generously_and_can_be_switched_off() {
    let app = limited(|c| {
        c.rate_limit.pages_per_second = 1;
        c.rate_limit.pages_burst = 5;
    })
    .await;
    let bare = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(
            bare.get(app.url("/"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 5, "{codes:?}");
    assert_eq!(codes.last(), Some(&429));
    // The JSON API is limited per token (or per address), with a JSON 429.
    let api = limited(|c| c.rate_limit.api_per_minute = 2).await;
    let call = |token: &'static str| {
        let req = bare
            .get(api.url("/api/v1/wards/00004/satisfaction"))
            .header("authorization", format!("Bearer {token}"));
        async move { req.send().await.unwrap() }
    };
    assert_ne!(call("one").await.status(), 429);
    assert_ne!(call("one").await.status(), 429);
    let r = call("one").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().await.unwrap().contains("\"status\":429"));
    assert_ne!(call("two").await.status(), 429, "another token");
    api.finish().await;
    // Static files and the health check are not limited.
    for _ in 0..10 {
        assert_eq!(
            bare.get(app.url("/static/app.css"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            bare.get(app.url("/healthz")).send().await.unwrap().status(),
            200
        );
    }
    app.finish().await;
    // Off: no limit at all.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.rate_limit.enabled = false;
        c.rate_limit.pages_per_second = 1;
        c.rate_limit.pages_burst = 1;
        c.rate_limit.submissions_per_minute = 1;
    })
    .await;
    for _ in 0..10 {
        assert_eq!(bare.get(app.url("/")).send().await.unwrap().status(), 200);
        assert_eq!(app.post_form("/s/00004", VALID).await.status(), 303);
    }
    app.finish().await;
}

// ---------------------------------------------------------------- headers and time limits

fn assert_security_headers(r: &reqwest::Response, hsts: bool) {
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{csp} lacks {part}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(
        h.contains_key("strict-transport-security"),
        hsts,
        "{}",
        r.url()
    );
    if hsts {
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .contains("max-age=")
        );
    }
}

#[tokio::test]
async fn security_headers_on_every_response() {
    for (base, hsts) in [
        ("http://127.0.0.1:8080", false),
        ("https://hailong.example", true),
    ] {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.base_url = base.into()).await;
        for path in [
            "/",
            "/s/00004",
            "/static/app.css",
            "/healthz",
            "/nowhere",
            "/qr/00004.png",
            "/poster/00004",
        ] {
            let r = app.get(path).await;
            assert_security_headers(&r, hsts);
        }
        let r = app.post_form("/s/00004", "a1=9").await;
        assert_eq!(r.status(), 422);
        assert_security_headers(&r, hsts);
        if hsts {
            let r = reqwest::Client::new()
                .get(app.url("/s/00004"))
                .send()
                .await
                .unwrap();
            let c = r.headers()["set-cookie"].to_str().unwrap().to_string();
            assert!(c.contains("Secure"), "{c}");
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn a_slow_request_times_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.request_timeout_secs = 1).await;
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(
        b"POST /s/00004 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\na1=4",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("answered within the time limit")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    drop(s);
    app.finish().await;
}

// ---------------------------------------------------------------- address concentration

mod address_rules {
    use super::*;
    use crate::staff::{hidden_csrf, signed_in};

    /// An app with the default allowance of ten per address, ward and day, that takes the
    /// client address from `X-Forwarded-For` (the tests' proxy is the loopback address).
    async fn spawn(backend: Backend, allowance: u32) -> TestApp {
        TestApp::spawn_with(backend, |c| {
            c.integrity.address_counted_per_day = allowance;
            c.rate_limit.trusted_proxy_header = Some("X-Forwarded-For".into());
            c.rate_limit.trusted_proxies = vec!["127.0.0.0/8".into()];
        })
        .await
    }

    /// One answer from `ip` without a device cookie, as a fresh browser sends it.
    async fn answer_from(app: &TestApp, ip: &str, ward: &str, extra: &str) -> u16 {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(app.url(&format!("/s/{ward}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", ip)
            .body(format!("{VALID}{extra}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn counted(app: &TestApp, ward: &str) -> i64 {
        count_where(app, &format!("ward_code = '{ward}' AND status = 'counted'")).await
    }

    async fn the_eleventh_answer_of_an_address_waits_for_review(backend: Backend) {
        let app = spawn(backend, 10).await;
        // The default allowance is ten.
        assert_eq!(
            hailong::config::IntegrityConfig::default().address_counted_per_day,
            10
        );
        for i in 1..=11 {
            // Every answer is acknowledged, the eleventh too.
            assert_eq!(
                answer_from(&app, "203.0.113.7", "00004", "").await,
                303,
                "{i}"
            );
        }
        assert_eq!(counted(&app, "00004").await, 10);
        assert_eq!(count_where(&app, "flag_reason = 'same_address'").await, 1);
        // The same address in another ward, and another address in this ward, count.
        assert_eq!(answer_from(&app, "203.0.113.7", "00008", "").await, 303);
        assert_eq!(counted(&app, "00008").await, 1);
        assert_eq!(answer_from(&app, "203.0.113.8", "00004", "").await, 303);
        assert_eq!(counted(&app, "00004").await, 11);
        // The next Vietnam day the address has its ten again.
        app.state.clock.advance(Duration::from_secs(24 * 3600));
        for _ in 0..10 {
            assert_eq!(answer_from(&app, "203.0.113.7", "00004", "").await, 303);
        }
        assert_eq!(counted(&app, "00004").await, 21);
        assert_eq!(answer_from(&app, "203.0.113.7", "00004", "").await, 303);
        assert_eq!(count_where(&app, "flag_reason = 'same_address'").await, 2);
        // No raw address is stored, only keyed hashes.
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM address_counts WHERE ip_key LIKE '%203.0.113%' OR LENGTH(ip_key) <> 16")
                .await,
            0
        );
        verify_ok(&app);
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn eleventh_sqlite() {
        the_eleventh_answer_of_an_address_waits_for_review(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(hailong_postgres),
        ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
    )]
    async fn eleventh_postgres() {
        the_eleventh_answer_of_an_address_waits_for_review(Backend::Postgres).await;
    }

    /// A ward meeting on the office Wi-Fi: a reviewer includes the address's group in one step.
    async fn a_reviewer_includes_an_address_group_at_once(backend: Backend) {
        let app = spawn(backend, 10).await;
        for _ in 0..14 {
            assert_eq!(answer_from(&app, "198.51.100.20", "00004", "").await, 303);
        }
        // Another address past its allowance: a group of its own.
        for _ in 0..12 {
            assert_eq!(answer_from(&app, "198.51.100.21", "00004", "").await, 303);
        }
        assert_eq!(counted(&app, "00004").await, 20);
        assert_eq!(count_where(&app, "flag_reason = 'same_address'").await, 6);
        verify_ok(&app);

        let prov = signed_in(&app, "tinh@cand.vn", "province:01").await;
        let page = prov.get("/staff/wards/00004/flagged").await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("Nhóm địa chỉ 1"), "{html}");
        assert!(html.contains("Nhóm địa chỉ 2"));
        assert!(html.contains("Tính tất cả 4 ý kiến của nhóm này"));
        assert!(html.contains("Tính tất cả 2 ý kiến của nhóm này"));
        assert!(
            html.contains("Nhiều ý kiến từ cùng một địa chỉ mạng trong ngày"),
            "the reason in words"
        );
        // Neither the address nor its hash is on the page.
        let hash: String = {
            use sea_orm::{EntityTrait, QueryOrder};
            hailong::entities::response_origin::Entity::find()
                .order_by_asc(hailong::entities::response_origin::Column::ResponseId)
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap()
                .ip_hash
        };
        assert!(!html.contains(&hash) && !html.contains(&hash[..16]));
        assert!(!html.contains("198.51.100"));
        let at = html.find("Tính tất cả 4 ý kiến").unwrap();
        let form = &html[..at];
        let action_at = form.rfind("action=\"").unwrap() + 8;
        let action = form[action_at..].split('"').next().unwrap().to_string();
        assert!(action.contains("/flagged/groups/"), "{action}");
        // Without the CSRF field nothing moves.
        let r = prov.post(&action, &[]).await;
        assert_ne!(r.status(), 303);
        assert_eq!(counted(&app, "00004").await, 20);
        // A ward user cannot review its own ward.
        let ward_user = signed_in(&app, "phuong@cand.vn", "ward:00004").await;
        let csrf = ward_user.csrf().await;
        let r = ward_user.post(&action, &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), 404);
        assert_eq!(counted(&app, "00004").await, 20);

        let csrf = hidden_csrf(&html);
        let r = prov.post(&action, &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), 303);
        assert_eq!(
            r.headers()["location"],
            "/staff/wards/00004/flagged?included=4"
        );
        assert_eq!(counted(&app, "00004").await, 24);
        assert_eq!(count_where(&app, "flag_reason = 'same_address'").await, 2);
        verify_ok(&app);
        // One audit entry for the group, naming the ward, the day and the count.
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'response.include_group' AND target = 'ward:00004' AND detail LIKE '%\"count\":4%' AND detail LIKE '%\"day\":\"20%'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE 'response.include%'")
                .await,
            1
        );
        // Again: nothing is left in that group.
        let r = prov.post(&action, &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), 404);
        let page = prov
            .get("/staff/wards/00004/flagged?included=4")
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("Đã tính 4 ý kiến vào chỉ số."));
        assert!(page.contains("Nhóm địa chỉ 1") && !page.contains("Nhóm địa chỉ 2"));
        verify_ok(&app);
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_sqlite() {
        a_reviewer_includes_an_address_group_at_once(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(hailong_postgres),
        ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
    )]
    async fn group_postgres() {
        a_reviewer_includes_an_address_group_at_once(Backend::Postgres).await;
    }

    /// A shared household phone: an invitation token counts even when the phone has answered
    /// this quarter, and even past its address's allowance.
    async fn a_token_counts_on_a_phone_that_already_answered(backend: Backend) {
        let app = spawn(backend, 2).await;
        let phone = cookie_client();
        phone.get(app.url("/s/00004")).send().await.unwrap();
        let post = |body: String| {
            phone
                .post(app.url("/s/00004"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-forwarded-for", "192.0.2.50")
                .body(body)
                .send()
        };
        assert_eq!(post(VALID.to_string()).await.unwrap().status(), 303);
        assert_eq!(post(VALID.to_string()).await.unwrap().status(), 303);
        assert_eq!(
            count_where(&app, "flag_reason = 'duplicate_device'").await,
            1
        );
        // The address's second place goes to another phone; a third is past the allowance.
        assert_eq!(answer_from(&app, "192.0.2.50", "00004", "").await, 303);
        assert_eq!(answer_from(&app, "192.0.2.50", "00004", "").await, 303);
        assert_eq!(count_where(&app, "flag_reason = 'same_address'").await, 1);
        let t = tokens::issue(&app.state.db, "00004", 2, None)
            .await
            .unwrap();
        for token in &t {
            assert_eq!(
                post(format!("{VALID}&t={token}")).await.unwrap().status(),
                303
            );
        }
        assert_eq!(
            count_where(&app, "channel = 'token' AND status = 'counted'").await,
            2
        );
        assert_eq!(counted(&app, "00004").await, 4);
        // The token left the phone's slot as it was: its next plain answer is still a repeat.
        assert_eq!(post(VALID.to_string()).await.unwrap().status(), 303);
        assert_eq!(
            count_where(&app, "flag_reason = 'duplicate_device'").await,
            2
        );
        // The inbox filter knows the channel, and names it in words.
        let prov = signed_in(&app, "tinh@cand.vn", "province:01").await;
        let page = prov.get("/staff/wards/00004/feedback?channel=token").await;
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("Mã mời"));
        verify_ok(&app);
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn token_sqlite() {
        a_token_counts_on_a_phone_that_already_answered(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(hailong_postgres),
        ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
    )]
    async fn token_postgres() {
        a_token_counts_on_a_phone_that_already_answered(Backend::Postgres).await;
    }

    /// Concurrent batches (two instances on PostgreSQL, one pool's connections on SQLite) agree
    /// on the allowance: of 24 answers from one address, exactly ten count.
    async fn concurrent_batches_share_one_allowance(backend: Backend) {
        let app = spawn(backend, 10).await;
        let second = match backend {
            Backend::Postgres => Some(TestApp::spawn_on(&app.db_url).await),
            Backend::Sqlite => None,
        };
        let survey = app.state.catalog.get("ward-police").unwrap().clone();
        let pairs = hailong::web::form::decode(VALID.as_bytes()).unwrap();
        let valid = hailong::intake::parse(&survey, &pairs, hailong::survey::Mode::Web).unwrap();
        let mut r =
            hailong::intake::new_response(&survey, &valid, "00004", Channel::Web, Utc::now());
        r.ip_hash = Some(("a".repeat(64), "2026-12-04".into()));
        let rules = app.state.config.integrity.clone();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let db = match (&second, i % 2) {
                (Some(s), 1) => s.state.db.clone(),
                _ => app.state.db.clone(),
            };
            let batch = vec![r.clone(), r.clone(), r.clone()];
            let rules = rules.clone();
            tasks.push(tokio::spawn(async move {
                hailong::store::write_batch_with(&db, &batch, &rules)
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(counted(&app, "00004").await, 10);
        assert_eq!(count_where(&app, "flag_reason = 'same_address'").await, 14);
        assert_eq!(
            app.count("SELECT n FROM address_counts").await,
            24,
            "one row, every answer in it"
        );
        verify_ok(&app);
        if let Some(s) = second {
            s.finish().await;
        }
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_sqlite() {
        concurrent_batches_share_one_allowance(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[cfg_attr(
        not(hailong_postgres),
        ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
    )]
    async fn concurrent_postgres() {
        concurrent_batches_share_one_allowance(Backend::Postgres).await;
    }
}
