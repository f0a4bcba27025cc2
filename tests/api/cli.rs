//! The command line: imports, survey checks, verify, start-up failures, graceful shutdown.

use std::io::{Read, Write};
use std::time::Duration;

use crate::both;
use crate::helpers::{repo_path, run_cli, stderr, stdout};

/// The twelve respondents of the reference vector (docs/method.md) as paper ballots, in 2026-Q1.
pub const REFERENCE_BALLOTS: &str = "\
ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,used_procedures,p1,p2,overall,trust
00004,2026-02-01,m,18-34,4,4,3,2,3,3,2,3,no,,,3,6
00004,2026-02-01,m,35-54,5,4,4,4,4,4,3,3,yes,4,4,4,8
00004,2026-02-01,m,35-54,3,3,2,2,3,2,2,2,yes,2,3,2,4
00004,2026-02-01,m,55+,5,5,5,4,4,5,4,4,yes,5,5,5,10
00004,2026-02-01,m,55+,4,5,4,4,5,4,3,4,no,na,na,4,9
00004,2026-02-01,m,55+,5,4,4,5,4,4,4,3,yes,4,5,5,9
00004,2026-02-01,f,18-34,3,4,3,3,2,3,3,3,yes,3,4,3,7
00004,2026-02-01,f,35-54,4,4,4,3,3,3,3,4,no,,,4,8
00004,2026-02-01,f,35-54,2,3,2,1,2,2,1,2,yes,2,2,2,3
00004,2026-02-01,f,55+,5,5,4,4,4,4,4,4,no,,,5,10
00004,2026-02-01,f,55+,4,4,4,4,3,4,3,3,yes,4,4,4,8
00004,2026-02-01,f,55+,5,4,5,5,5,5,4,5,no,,,4,9
";

both!(paper_ballots_import_atomically_and_verify, |app| {
    let f = app.write_file("ballots.csv", REFERENCE_BALLOTS);
    let out = app.cli(&["responses", "import", &f]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("imported 12"));
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM responses WHERE channel = 'paper'")
            .await,
        12
    );
    let out = app.cli(&["index", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A file with bad lines: every one named, nothing written.
    let bad = "ward_code,submitted_at,sex,age,a1,overall\n\
               00004,2026-02-01,m,18-34,4,3\n\
               99999,2026-02-01,m,18-34,4,3\n\
               00004,yesterday,m,18-34,4,3\n\
               00004,2026-02-01,q,18-34,9,3\n";
    let f = app.write_file("bad.csv", bad);
    let out = app.cli(&["responses", "import", &f]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("line 3") && err.contains("99999"), "{err}");
    assert!(err.contains("line 4") && err.contains("yesterday"), "{err}");
    assert!(err.contains("line 5") && err.contains("a1"), "{err}");
    assert!(!err.contains("line 2"), "{err}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM responses").await, 12);

    // A missing column, an unknown column.
    let f = app.write_file("nocol.csv", "ward_code,sex,age,a1\n00004,m,18-34,4\n");
    let out = app.cli(&["responses", "import", &f]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("missing column(s): submitted_at"),
        "{}",
        stderr(&out)
    );
    let f = app.write_file(
        "unk.csv",
        "ward_code,submitted_at,sex,age,zz\n00004,2026-01-01,m,18-34,1\n",
    );
    let out = app.cli(&["responses", "import", &f]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("`zz`"));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM responses").await, 12);

    // Tampering with a rollup is caught and named.
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .execute_unprepared(&format!(
            "UPDATE rollup_cells SET n{slot} = n{slot} + 1 WHERE cell = 'm:55+'",
            slot = app
                .count("SELECT CAST(slot AS BIGINT) AS n FROM rollup_slots WHERE metric = 'score'")
                .await
        ))
        .await
        .unwrap();
    let out = app.cli(&["index", "verify"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cell m:55+ metric score"),
        "{}",
        stderr(&out)
    );
});

both!(units_and_margins_import, |app| {
    let good = "province_code,province_name,province_type,ward_code,ward_name,ward_type\n\
                01,Thành phố Hà Nội,thành phố trung ương,99001,Phường Thử Nghiệm,phường\n";
    let f = app.write_file("units.csv", good);
    let out = app.cli(&["units", "import", &f]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM units").await, 3322);
    let bad = "province_code,province_name,ward_code,ward_name,ward_type\n01,x,99002,y,phường\n";
    let f = app.write_file("units-bad.csv", bad);
    let out = app.cli(&["units", "import", &f]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("province_type"));

    let margins = "ward_code,sex,age,share\n\
        00004,m,18-34,.17\n00004,m,35-54,.17\n00004,m,55+,.14\n\
        00004,f,18-34,.17\n00004,f,35-54,.18\n00004,f,55+,.17\n";
    let f = app.write_file("m.csv", margins);
    let out = app.cli(&["units", "margins", "import", &f]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM margins").await, 6);
    let off = margins.replace(".14", ".15").replace("00004", "00008");
    let f = app.write_file("m-bad.csv", &off);
    let out = app.cli(&["units", "margins", "import", &f]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("sum to"), "{}", stderr(&out));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM margins").await, 6);
    // A present cell with a share of 0, or a missing cell, is refused, naming the line.
    let zero = "ward_code,sex,age,share
        00008,m,18-34,.34
00008,m,35-54,0
00008,m,55+,.14
        00008,f,18-34,.17
00008,f,35-54,.18
00008,f,55+,.17
";
    let f = app.write_file("m-zero.csv", zero);
    let out = app.cli(&["units", "margins", "import", &f]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("above 0"), "{}", stderr(&out));
    let five = "ward_code,sex,age,share
        00008,m,18-34,.31
00008,m,55+,.14
        00008,f,18-34,.20
00008,f,35-54,.18
00008,f,55+,.17
";
    let f = app.write_file("m-five.csv", five);
    let out = app.cli(&["units", "margins", "import", &f]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("lacks the cells m 35-54"),
        "{}",
        stderr(&out)
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM margins").await, 6);
});

#[test]
fn surveys_check_reports_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(repo_path("surveys/ward-police.toml")).unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("x.db").display());
    let out = run_cli(
        &db,
        dir.path(),
        &["surveys", "check", repo_path("surveys").to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ward-police"));

    // A broken copy: an unknown kind.
    let bad_dir = dir.path().join("bad");
    std::fs::create_dir(&bad_dir).unwrap();
    let broken = good.replacen("kind = \"likert5\"", "kind = \"likert7\"", 1);
    assert_ne!(broken, good);
    std::fs::write(bad_dir.join("ward-police.toml"), broken).unwrap();
    let out = run_cli(
        &db,
        dir.path(),
        &["surveys", "check", bad_dir.to_str().unwrap()],
        None,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("ward-police.toml") && err.contains("likert7"),
        "{err}"
    );

    // `serve` refuses to start on it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hailong"))
        .arg("serve")
        .current_dir(dir.path())
        .env("HAILONG_DATABASE_URL", &db)
        .env("HAILONG_SURVEYS_DIR", &bad_dir)
        .env("HAILONG_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("likert7"));
}

#[test]
fn serve_fails_clearly_on_a_bad_database_or_a_busy_port() {
    let dir = tempfile::tempdir().unwrap();
    let run = |db: &str, listen: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hailong"))
            .arg("serve")
            .current_dir(dir.path())
            .env("HAILONG_DATABASE_URL", db)
            .env("HAILONG_SURVEYS_DIR", repo_path("surveys"))
            .env("HAILONG_LISTEN", listen)
            .output()
            .unwrap()
    };
    let out = run("sqlite:///nonexistent-dir/x/y.db?mode=rwc", "127.0.0.1:0");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot open the database"),
        "{}",
        stderr(&out)
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("ok.db").display());
    let out = run(&db, &format!("127.0.0.1:{port}"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot listen on"),
        "{}",
        stderr(&out)
    );

    let out = run(&db, "not-an-address");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display());
    // The server binds port 0 and logs its address; tower-http's debug line tells when a
    // request's head has been read and handed to the router.
    let server = crate::serverproc::start(
        &db,
        dir.path(),
        &[("RUST_LOG", "warn,hailong=info,tower_http=debug")],
    )
    .ready();
    let mut s = std::net::TcpStream::connect(server.addr).expect("connect to the server");
    let body = crate::public::VALID;
    let head = format!(
        "POST /s/00004 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body.as_bytes()[..10]).unwrap();
    let wait = Duration::from_secs(30);
    server.wait_for_log(
        "started processing request",
        Some("tower_http::trace::on_request"),
        wait,
    );
    // SIGTERM while the request is in flight (its body not yet complete).
    server.sigterm();
    server.wait_for_log("shutting down: finishing in-flight requests", None, wait);
    s.write_all(&body.as_bytes()[10..]).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 303"), "{resp}");
    assert!(
        server.exits_within(wait),
        "the server exits with 0 after the request"
    );
}
