//! Several instances (docs/architecture.md): two `hailong serve` processes started at the same moment
//! on one fresh PostgreSQL database (the start-up advisory lock keeps their migrations and
//! first unit load apart), then: concurrent submissions to both are all stored; one device is
//! counted once across instances; an invitation token raced on both is counted once; a staff
//! session made on one works on the other; the outbox is sent exactly once by two workers.

use std::collections::HashSet;
use std::time::Duration;

use hailong::entities::response;
use sea_orm::{
    ColumnTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};

use crate::helpers::{fresh_postgres, postgres_url, run_cli, stderr, stdout};
use crate::mailsink::SmtpSink;
use crate::public::VALID;
use crate::serverproc::{self, ServerProcess};

/// Every test is bounded: no hang survives this.
const TEST_TIMEOUT: Duration = Duration::from_secs(240);

/// Two servers on one fresh PostgreSQL database, and a connection to it for the checks.
struct Pair {
    a: ServerProcess,
    b: ServerProcess,
    db_url: String,
    db: DatabaseConnection,
    dir: tempfile::TempDir,
    drop: (String, String),
}

impl Pair {
    /// Starts both servers at once (extra environment for both), waits for both to serve.
    async fn start(admin: &str, env: &[(&str, &str)]) -> Pair {
        let (db_url, admin, name) = fresh_postgres(admin).await;
        let dir = tempfile::tempdir().unwrap();
        let a = serverproc::start(&db_url, dir.path(), env);
        let b = serverproc::start(&db_url, dir.path(), env);
        let (a, b) = tokio::task::spawn_blocking(move || (a.ready(), b.ready()))
            .await
            .expect("both servers start");
        let db = Database::connect(&db_url)
            .await
            .expect("connect to the test db");
        Pair {
            a,
            b,
            db_url,
            db,
            dir,
            drop: (admin, name),
        }
    }

    fn cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        run_cli(&self.db_url, self.dir.path(), args, stdin)
    }

    fn verify_ok(&self) {
        let out = self.cli(&["index", "verify"], None);
        assert!(
            out.status.success(),
            "index verify: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }

    /// Stops both servers (SIGTERM, clean exit expected) and drops the database.
    async fn finish(self) {
        let Pair { a, b, db, drop, .. } = self;
        let logs = format!("A:\n{}\nB:\n{}", a.log(), b.log());
        let (ok_a, ok_b) = tokio::task::spawn_blocking(move || (a.stop(), b.stop()))
            .await
            .unwrap();
        assert!(
            ok_a && ok_b,
            "both servers exit cleanly on SIGTERM:\n{logs}"
        );
        db.close().await.ok();
        let (admin, name) = drop;
        if let Ok(admin) = Database::connect(&admin).await {
            use sea_orm::ConnectionTrait;
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            admin.close().await.ok();
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Posts a survey form; returns the status and the `Location` header.
async fn post_survey(
    c: &reqwest::Client,
    url: &str,
    body: &str,
    cookie: Option<&str>,
) -> (u16, Option<String>) {
    let mut req = c
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    let r = req.send().await.expect("POST the survey");
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), location)
}

/// The receipt in `/s/{ward}/thanks?r=RECEIPT`.
fn receipt_of(location: &str) -> String {
    location
        .split("r=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .unwrap_or_else(|| panic!("no receipt in {location}"))
        .to_string()
}

async fn count(
    db: &DatabaseConnection,
    ward: &str,
    status: Option<&str>,
    flag: Option<&str>,
) -> u64 {
    let mut q = response::Entity::find().filter(response::Column::WardCode.eq(ward));
    if let Some(s) = status {
        q = q.filter(response::Column::Status.eq(s));
    }
    if let Some(f) = flag {
        q = q.filter(response::Column::FlagReason.eq(f));
    }
    q.count(db).await.unwrap()
}

/// Runs `body` against a fresh pair of servers, or skips loudly without PostgreSQL.
macro_rules! on_two_instances {
    ($name:ident, $env:expr, |$pair:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[cfg_attr(not(hailong_postgres), ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL")]
        async fn $name() {
            let Some(admin) = postgres_url(concat!(module_path!(), "::", stringify!($name)))
            else {
                return;
            };
            tokio::time::timeout(TEST_TIMEOUT, async {
                let $pair = Pair::start(&admin, $env).await;
                $body
                $pair.finish().await;
            })
            .await
            .expect("the test finishes in time");
        }
    };
}

on_two_instances!(concurrent_submissions_to_both_are_all_stored, &[], |pair| {
    const TOTAL: usize = 240;
    const TASKS: usize = 16;
    const WARDS: [&str; 4] = ["00004", "00008", "00025", "00070"];
    let bases = [pair.a.url(""), pair.b.url("")];
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let bases = bases.clone();
        tasks.push(tokio::spawn(async move {
            let c = client();
            let mut out = Vec::new();
            for i in (t..TOTAL).step_by(TASKS) {
                let url = format!("{}/s/{}", bases[i % 2], WARDS[i % WARDS.len()]);
                out.push(post_survey(&c, &url, VALID, None).await);
            }
            out
        }));
    }
    let mut receipts = HashSet::new();
    for t in tasks {
        for (status, location) in t.await.unwrap() {
            assert_eq!(status, 303, "every submission is acknowledged");
            receipts.insert(receipt_of(&location.expect("a Location")));
        }
    }
    assert_eq!(receipts.len(), TOTAL, "one distinct receipt per submission");
    let stored: HashSet<String> = response::Entity::find()
        .all(&pair.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.receipt)
        .collect();
    assert_eq!(
        stored, receipts,
        "exactly the acknowledged responses are stored"
    );
    pair.verify_ok();
});

on_two_instances!(one_device_is_counted_once_across_instances, &[], |pair| {
    let c = client();
    // The device cookie made by A is honoured by B (one server secret in the database).
    let cookie_from = |r: &reqwest::Response| {
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let r = c.get(pair.a.url("/s/00082")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let phone = cookie_from(&r);
    assert!(phone.starts_with("hl_dev="), "{phone}");
    for server in [&pair.a, &pair.b] {
        let (status, _) = post_survey(&c, &server.url("/s/00082"), VALID, Some(&phone)).await;
        assert_eq!(status, 303);
    }
    assert_eq!(count(&pair.db, "00082", None, None).await, 2);
    assert_eq!(count(&pair.db, "00082", Some("counted"), None).await, 1);
    assert_eq!(
        count(&pair.db, "00082", Some("flagged"), Some("duplicate_device")).await,
        1
    );

    // Another device (its cookie made by B) submitting six times at once to both.
    let r = c.get(pair.b.url("/s/00091")).send().await.unwrap();
    let other = cookie_from(&r);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let url = [&pair.a, &pair.b][i % 2].url("/s/00091");
        let other = other.clone();
        tasks.push(tokio::spawn(async move {
            post_survey(&client(), &url, VALID, Some(&other)).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 303);
    }
    assert_eq!(count(&pair.db, "00091", Some("counted"), None).await, 1);
    assert_eq!(
        count(&pair.db, "00091", Some("flagged"), Some("duplicate_device")).await,
        5
    );
    pair.verify_ok();
});

on_two_instances!(an_invitation_raced_on_both_is_counted_once, &[], |pair| {
    const N: usize = 6;
    let out = pair.cli(
        &[
            "tokens",
            "issue",
            "--ward",
            "00097",
            "--count",
            &N.to_string(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let tokens: Vec<String> = stdout(&out)
        .lines()
        .skip(1)
        .map(|l| {
            let url = l.split(',').nth(1).expect("a url column");
            url.split("t=").nth(1).expect("a token").to_string()
        })
        .collect();
    assert_eq!(tokens.len(), N);
    let mut acknowledged = 0;
    for t in &tokens {
        let body = format!("{VALID}&t={t}");
        let (ca, cb) = (client(), client());
        let (url_a, url_b) = (pair.a.url("/s/00097"), pair.b.url("/s/00097"));
        let (ra, rb) = tokio::join!(
            post_survey(&ca, &url_a, &body, None),
            post_survey(&cb, &url_b, &body, None),
        );
        let mut statuses = [ra.0, rb.0];
        statuses.sort();
        assert_eq!(statuses, [303, 410], "one use counts, the other is told no");
        acknowledged += 1;
        // A third use on either instance: refused, nothing stored.
        let (status, _) = post_survey(&client(), &pair.b.url("/s/00097"), &body, None).await;
        assert_eq!(status, 410);
    }
    assert_eq!(
        count(&pair.db, "00097", Some("counted"), None).await,
        acknowledged
    );
    let all = count(&pair.db, "00097", None, None).await;
    let lost_races = count(&pair.db, "00097", Some("flagged"), Some("token_invalid")).await;
    assert_eq!(all, acknowledged + lost_races, "nothing else is stored");
    pair.verify_ok();
});

on_two_instances!(
    a_staff_session_from_one_instance_works_on_the_other,
    &[],
    |pair| {
        const PASSWORD: &str = "mật khẩu đủ dài cho hai máy";
        let out = pair.cli(
            &[
                "users",
                "add",
                "--email",
                "canbo@cand.vn",
                "--role",
                "ward:00004",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        // Sign in on A (its login form sets the double-submit cookie).
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let page = browser
            .get(pair.a.url("/staff/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = crate::staff::hidden_csrf(&page);
        let r = browser
            .post(pair.a.url("/staff/login"))
            .form(&[
                ("email", "canbo@cand.vn"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "signed in on A");
        let session = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|v| v.starts_with("hl_staff="))
            .expect("a session cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string();
        // Only that cookie, on B: the console opens, with the session's CSRF token.
        let c = client();
        let get_staff = |server: &ServerProcess| {
            c.get(server.url("/staff"))
                .header("cookie", &session)
                .send()
        };
        let r = get_staff(&pair.b).await.unwrap();
        assert_eq!(r.status(), 200, "the session made on A works on B");
        let csrf_b = crate::staff::hidden_csrf(&r.text().await.unwrap());
        assert_eq!(get_staff(&pair.a).await.unwrap().status(), 200);
        // Signing out on B ends the session on A too.
        let r = c
            .post(pair.b.url("/staff/logout"))
            .header("cookie", &session)
            .form(&[("csrf", &csrf_b)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let r = get_staff(&pair.a).await.unwrap();
        assert_eq!(r.status(), 303, "the session is gone on A");
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/staff/login"),
        );
    }
);

/// Both workers poll every 20 ms; no digest.
const MAIL_CONFIG: &str = "[mail]\npoll_interval_ms = 20\nweekly_digest = false\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn two_workers_send_each_message_exactly_once() {
    let Some(admin) = postgres_url("instances::two_workers_send_each_message_exactly_once") else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let sink = SmtpSink::start().await;
        let conf_dir = tempfile::tempdir().unwrap();
        let conf = conf_dir.path().join("hailong.toml");
        std::fs::write(&conf, MAIL_CONFIG).unwrap();
        let smtp = sink.url();
        let conf = conf.display().to_string();
        let env = [
            ("HAILONG_SMTP_URL", smtp.as_str()),
            ("HAILONG_CONFIG", conf.as_str()),
        ];
        let pair = Pair::start(&admin, &env).await;
        // An invitation enqueued by the command line, and a batch enqueued directly.
        let out = pair.cli(
            &[
                "users",
                "invite",
                "--email",
                "moi@cand.vn",
                "--role",
                "ward:00004",
            ],
            None,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        const N: usize = 40;
        for i in 0..N {
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
            hailong::mail::outbox::enqueue(&pair.db, msg).await.unwrap();
        }
        let want = N + 1;
        let got = sink.wait_for(want, 60).await;
        assert_eq!(got.len(), want, "every message arrives");
        // Long enough for a second sending to show up (a lease is 300 s, polls are 20 ms).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let got = sink.messages();
        assert_eq!(got.len(), want, "nothing is sent twice");
        let rcpts: HashSet<String> = got.iter().flat_map(|m| m.rcpt.clone()).collect();
        assert_eq!(rcpts.len(), want, "each message exactly once");
        assert!(rcpts.contains("moi@cand.vn"), "{rcpts:?}");
        use sea_orm::ConnectionTrait;
        let row = pair
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                pair.db.get_database_backend(),
                "SELECT COUNT(*) FROM outbox WHERE status = 'sent'".to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), want as i64);
        pair.finish().await;
    })
    .await
    .expect("the test finishes in time");
}
