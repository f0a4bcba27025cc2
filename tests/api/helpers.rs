//! Test helpers: spawn the app on a fresh database, run the CLI, and the PostgreSQL switch.

use std::path::PathBuf;
use std::process::Output;

use hailong::app::{App, AppState};
use hailong::config::Config;
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
    pub db_url: String,
    pub dir: tempfile::TempDir,
    pub state: AppState,
    /// The `/metrics` listener, when the configuration sets `metrics_listen`.
    pub metrics_addr: Option<std::net::SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pg_drop: Option<(String, String)>,
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn log_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            hailong::telemetry::init();
        }
    });
}

/// The PostgreSQL server for tests (`HAILONG_TEST_POSTGRES_URL`). A test that calls this is
/// marked `#[cfg_attr(not(hailong_postgres), ignore = "needs PostgreSQL: set
/// HAILONG_TEST_POSTGRES_URL")]`, so that without the variable cargo reports it as ignored;
/// run anyway (`--include-ignored`, or the variable unset after the build), it fails here
/// instead of passing without having run. Never `None`: the `Option` keeps the callers'
/// `let Some(url) = … else` form.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("HAILONG_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => panic!(
            "{test} needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
             (without it, mark the test #[cfg_attr(not(hailong_postgres), ignore = \"…\")] so that it is reported as ignored)"
        ),
    }
}

fn random_name() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    format!("hl_t_{:016x}", rng.r#gen::<u64>())
}

/// Creates a fresh PostgreSQL database; returns (its URL, admin URL, its name).
pub async fn fresh_postgres(admin_url: &str) -> (String, String, String) {
    let name = random_name();
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to the test PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    admin.close().await.ok();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("postgres URL with a database name");
    let base_no_query = base.to_string();
    (
        format!("{base_no_query}/{name}"),
        admin_url.to_string(),
        name,
    )
}

/// Drops a database made by [`fresh_postgres`] (best effort).
pub async fn drop_postgres(admin_url: &str, name: &str) {
    if let Ok(db) = Database::connect(admin_url).await {
        let _ = db
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        db.close().await.ok();
    }
}

pub fn test_config(db_url: &str, dir: &std::path::Path) -> Config {
    let mut cfg = Config {
        database_url: db_url.to_string(),
        listen: "127.0.0.1:0".into(),
        surveys_dir: repo_path("surveys"),
        mail_dir: dir.join("mail"),
        ..Default::default()
    };
    cfg.rate_limit.enabled = false;
    // Every test client answers from the loopback address: the address rule would flag them
    // past the tenth per ward and day. Its tests set the allowance they need.
    cfg.integrity.address_counted_per_day = 1000;
    cfg
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A second server instance on the database of another (it does not drop the database).
    pub async fn spawn_on(db_url: &str) -> TestApp {
        Self::spawn_inner(Some(db_url.to_string()), Backend::Sqlite, |_| {}).await
    }

    /// As [`TestApp::spawn_on`], with the configuration tweaked.
    pub async fn spawn_on_with(db_url: &str, tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_inner(Some(db_url.to_string()), Backend::Sqlite, tweak).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_inner(None, backend, tweak).await
    }

    async fn spawn_inner(
        shared: Option<String>,
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        log_once();
        let dir = tempfile::tempdir().unwrap();
        let (db_url, pg_drop) = match (shared, backend) {
            (Some(url), _) => (url, None),
            (None, backend) => match backend {
                Backend::Sqlite => (
                    format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
                    None,
                ),
                Backend::Postgres => {
                    let admin =
                        postgres_url("TestApp::spawn(Backend::Postgres)").expect("never None");
                    let (url, admin, name) = fresh_postgres(&admin).await;
                    (url, Some((admin, name)))
                }
            },
        };
        let mut cfg = test_config(&db_url, dir.path());
        tweak(&mut cfg);
        let app = App::build(cfg).await.expect("the app builds");
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let state = app.state();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap();
        TestApp {
            addr,
            client,
            db_url,
            dir,
            state,
            metrics_addr,
            shutdown: Some(tx),
            handle: Some(handle),
            pg_drop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_form(&self, path: &str, body: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string())
            .send()
            .await
            .expect("POST")
    }

    /// Runs the `hailong` binary against this app's database.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with(args, None)
    }

    pub fn cli_with(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(&self.db_url, self.dir.path(), args, stdin)
    }

    /// Writes a file into the test's folder and returns its path.
    pub fn write_file(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }

    /// A count from SQL, for checking what was (not) written.
    pub async fn count(&self, sql: &str) -> i64 {
        use sea_orm::Statement;
        let backend = self.state.db.get_database_backend();
        let row = self
            .state
            .db
            .query_one_raw(Statement::from_string(backend, sql.to_string()))
            .await
            .unwrap()
            .expect("a row");
        row.try_get_by_index::<i64>(0).expect("an integer")
    }

    /// Stops the server (waiting for in-flight requests) and drops a PostgreSQL database.
    pub async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
        if let Some((admin, name)) = self.pg_drop.take() {
            drop_postgres(&admin, &name).await;
        }
    }
}

pub fn run_cli(db_url: &str, dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hailong"));
    cmd.args(args)
        .current_dir(dir)
        .env("HAILONG_DATABASE_URL", db_url)
        .env("HAILONG_SURVEYS_DIR", repo_path("surveys"))
        .env("HAILONG_MAIL_DIR", dir.join("mail"))
        .env_remove("HAILONG_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run hailong");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Defines a test that runs on SQLite (`NAME::sqlite`) and on PostgreSQL (`NAME::postgres`);
/// without `HAILONG_TEST_POSTGRES_URL` at build time the PostgreSQL one is reported as ignored.
#[macro_export]
macro_rules! both {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::helpers::{Backend, TestApp};

            async fn run($app: &TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::spawn(Backend::Sqlite).await;
                run(&app).await;
                app.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(hailong_postgres),
                ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
            )]
            async fn postgres() {
                let app = TestApp::spawn(Backend::Postgres).await;
                run(&app).await;
                app.finish().await;
            }
        }
    };
}
