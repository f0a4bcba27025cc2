//! A browser test in headless Chromium through WebDriver (Debian's chromium and
//! chromium-driver): a ward officer signs in, opens a comment, changes its status and sees the
//! change. Without chromium or chromedriver `cargo test` reports it as ignored, naming the one
//! missing (see build.rs).

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::staff::{PW, add_user, submit};

pub struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    child: std::process::Child,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    async fn start() -> Result<Driver, String> {
        let args = ["--window-size=1280,900"].map(String::from);
        Self::start_with(&args, json!({})).await
    }

    /// Starts chromedriver on a port of its choosing (it logs the port once it listens) and
    /// opens a headless Chromium session with these extra command-line arguments and
    /// preferences.
    pub async fn start_with(extra_args: &[String], prefs: Value) -> Result<Driver, String> {
        use std::io::BufRead;
        let mut child = std::process::Command::new("/usr/bin/chromedriver")
            .arg("--port=0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run /usr/bin/chromedriver: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads chromedriver's output to its end, so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let port = line
                    .split_once("started successfully on port ")
                    .and_then(|(_, p)| p.trim_end_matches('.').trim().parse::<u16>().ok());
                if let Some(port) = port
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(port);
                }
            }
        });
        let port = match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(port) => port,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("chromedriver did not report its port: {e}"));
            }
        };
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ]
        .map(String::from)
        .to_vec();
        args.extend_from_slice(extra_args);
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"args": args, "prefs": prefs}}}});
        let session = async {
            let r: Value = http
                .post(format!("{base}/session"))
                .json(&caps)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            r["value"]["sessionId"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("no session: {r}"))
        }
        .await;
        match session {
            Ok(session) => Ok(Driver {
                http,
                base,
                session,
                child,
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("chromedriver opened no Chromium session: {e}"))
            }
        }
    }

    pub async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).json(&body),
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(v["value"].get("error").is_none(), "{path}: {v}");
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({"url": url})).await;
    }

    /// Finds an element, waiting up to 10 s for it (pages load slower on a busy machine).
    pub async fn find(&self, css: &str) -> String {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let mut last = Value::Null;
        for _ in 0..100 {
            let body = json!({"using": "css selector", "value": css});
            let v: Value = self
                .http
                .post(&url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_string();
            }
            last = v;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no element {css}: {last}");
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd("POST", &format!("/element/{id}/click"), json!({}))
            .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.cmd("GET", &format!("/element/{id}/text"), json!({}))
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn screenshot(&self, name: &str, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
        let png = self.cmd("GET", "/screenshot", json!({})).await;
        use base64::Engine;
        if let Some(b64) = png.as_str()
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64)
        {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("{name}.png")), bytes);
        }
    }

    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    hailong_webdriver_missing = "chromium",
    ignore = "needs chromium: apt-get install chromium"
)]
#[cfg_attr(
    hailong_webdriver_missing = "chromedriver",
    ignore = "needs chromedriver: apt-get install chromium-driver"
)]
async fn ward_officer_changes_a_status_in_chromium() {
    let d = Driver::start().await.unwrap_or_else(|e| panic!("{e}"));
    let app = TestApp::spawn(Backend::Sqlite).await;
    submit(&app, "00004", "Hẻm 5 tối quá, cần thêm đèn", 2).await;
    add_user(&app, "w@example.vn", "ward:00004").await;
    d.goto(&app.url("/staff/login")).await;
    d.screenshot("login-phone", 390, 844).await;
    d.type_into("#email", "w@example.vn").await;
    d.type_into("#password", PW).await;
    d.click("button[type=submit]").await;
    // Signed in: the console's navigation is there.
    d.find("nav.staffnav").await;
    d.goto(&app.url("/staff/wards/00004/feedback")).await;
    d.screenshot("inbox-desktop", 1280, 900).await;
    d.screenshot("inbox-phone", 390, 844).await;
    d.click("article.item h2 a").await;
    assert!(d.text("#comment").await.contains("Hẻm 5 tối quá"));
    assert_eq!(d.text("#current-status").await.trim(), "Mới");
    d.click("#status option[value=in_progress]").await;
    d.click("#save-status").await;
    d.find("#current-status.st-in_progress").await;
    assert_eq!(
        d.text("#current-status").await.trim(),
        "Đang xử lý",
        "the change is shown"
    );
    d.screenshot("item-phone", 390, 844).await;
    d.screenshot("item-desktop", 1280, 900).await;
    d.goto(&app.url("/staff/wards/00004")).await;
    d.screenshot("dashboard-desktop", 1280, 1400).await;
    d.screenshot("dashboard-phone", 390, 1400).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM feedback_states WHERE status = 'in_progress'")
            .await,
        1
    );
    d.quit().await;
    app.finish().await;
}
