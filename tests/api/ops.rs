//! Operations (docs/deployment.md): the start-up warning about a loopback `base_url`, and the
//! shipped deployment files checked by their own tools (`systemd-analyze verify`, `nginx -t`)
//! where those are installed.

use std::path::Path;
use std::process::Command;

use crate::helpers::repo_path;
use crate::serverproc;

const WARNING: &str = "HAILONG_BASE_URL is a loopback address";

/// Starts `hailong serve` with `env`, stops it, and returns what it logged.
async fn log_of(env: &'static [(&'static str, &'static str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let server = serverproc::start(&db_url, &path, env).ready();
        let log = server.log();
        assert!(server.stop(), "a clean stop:\n{log}");
        log
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_warns_when_public_but_base_url_is_loopback() {
    let log = log_of(&[
        ("HAILONG_LISTEN", "0.0.0.0:0"),
        ("HAILONG_BASE_URL", "http://127.0.0.1:8080"),
    ])
    .await;
    let line = log
        .lines()
        .find(|l| l.contains(WARNING))
        .unwrap_or_else(|| panic!("no warning in:\n{log}"));
    assert!(line.contains(r#""level":"WARN""#), "{line}");
    assert!(
        line.contains("QR codes") && line.contains("e-mails"),
        "{line}"
    );

    for env in [
        // Public, with a public base URL.
        &[
            ("HAILONG_LISTEN", "0.0.0.0:0"),
            ("HAILONG_BASE_URL", "https://hailong.example.vn"),
        ][..],
        // Loopback behind a proxy, with the default base URL.
        &[("HAILONG_LISTEN", "127.0.0.1:0")][..],
    ] {
        let log = log_of(env).await;
        assert!(!log.contains(WARNING), "{env:?}:\n{log}");
    }
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
#[cfg_attr(
    hailong_tool_missing = "systemd-analyze",
    ignore = "needs systemd-analyze: apt-get install systemd"
)]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    // `verify` checks that each command exists: the units name /usr/local/bin/hailong, which
    // is this build's binary here.
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for unit in [
        "hailong.service",
        "hailong-backup.service",
        "hailong-backup.timer",
    ] {
        let text = std::fs::read_to_string(repo_path(&format!("deploy/systemd/{unit}")))
            .unwrap()
            .replace("/usr/local/bin/hailong", env!("CARGO_BIN_EXE_hailong"));
        let path = dir.path().join(unit);
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "systemd-analyze verify:\n{out}");
    // Warnings about our units count too (the host's own units may warn about themselves).
    let ours: Vec<&str> = out.lines().filter(|l| l.contains("hailong")).collect();
    assert!(ours.is_empty(), "systemd-analyze verify warns:\n{out}");
}

#[test]
fn the_hardening_of_the_unit_is_there() {
    let unit = std::fs::read_to_string(repo_path("deploy/systemd/hailong.service")).unwrap();
    for line in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=hailong",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "LimitNOFILE=",
        "Environment=HAILONG_BASE_URL=",
    ] {
        assert!(
            unit.contains(line),
            "hailong.service lacks `{}`",
            line.trim()
        );
    }
}

/// A self-signed certificate and key for `host`, written into `dir` with openssl.
fn self_signed(dir: &Path, host: &str) -> bool {
    Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .arg("-subj")
        .arg(format!("/CN={host}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
#[cfg_attr(
    hailong_tool_missing = "nginx",
    ignore = "needs nginx: apt-get install nginx"
)]
#[cfg_attr(
    hailong_tool_missing = "openssl",
    ignore = "needs openssl: apt-get install openssl"
)]
fn the_nginx_site_passes_nginx_t() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(self_signed(root, "hailong.example.vn"), "openssl req");
    // The shipped site, with the certificate paths pointed at the test's own, inside a minimal
    // main configuration that runs unprivileged in the test's folder.
    let site = std::fs::read_to_string(repo_path("deploy/nginx/hailong.conf"))
        .unwrap()
        .replace(
            "/etc/ssl/certs/hailong.example.vn.pem",
            &root.join("cert.pem").display().to_string(),
        )
        .replace(
            "/etc/ssl/private/hailong.example.vn.key",
            &root.join("key.pem").display().to_string(),
        );
    assert!(site.contains(&root.join("cert.pem").display().to_string()));
    std::fs::write(root.join("hailong.conf"), site).unwrap();
    let mime = ["/etc/nginx/mime.types"]
        .iter()
        .find(|p| Path::new(p).exists())
        .map(|p| format!("include {p};"))
        .unwrap_or_default();
    let main = format!(
        "pid {r}/nginx.pid;\nerror_log {r}/error.log;\nevents {{}}\nhttp {{\n  {mime}\n  \
         access_log off;\n  client_body_temp_path {r}/body;\n  proxy_temp_path {r}/proxy;\n  \
         fastcgi_temp_path {r}/fastcgi;\n  uwsgi_temp_path {r}/uwsgi;\n  scgi_temp_path {r}/scgi;\n  \
         include {r}/hailong.conf;\n}}\n",
        r = root.display()
    );
    std::fs::write(root.join("nginx.conf"), main).unwrap();
    let o = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(root)
        .arg("-e")
        .arg(root.join("error.log"))
        .arg("-c")
        .arg(root.join("nginx.conf"))
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "nginx -t:\n{out}");
    assert!(out.contains("test is successful"), "{out}");
    assert!(!out.contains("[warn]"), "nginx -t warns:\n{out}");
}

#[test]
fn the_nginx_site_and_trusted_proxies_agree() {
    let site = std::fs::read_to_string(repo_path("deploy/nginx/hailong.conf")).unwrap();
    let doc = std::fs::read_to_string(repo_path("docs/deployment.md")).unwrap();
    for directive in [
        "limit_conn ",
        "client_header_timeout",
        "client_body_timeout",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "ssl_certificate ",
        "listen 443 ssl",
    ] {
        assert!(site.contains(directive), "the site lacks `{directive}`");
    }
    for setting in [
        "trusted_proxy_header = \"X-Forwarded-For\"",
        "trusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]",
    ] {
        assert!(
            doc.contains(setting),
            "docs/deployment.md lacks `{setting}`"
        );
    }
    // The shipped configuration is one `hailong` accepts, with the same proxy settings.
    let f = repo_path("deploy/hailong.toml");
    let shipped = std::fs::read_to_string(&f).unwrap();
    assert!(shipped.contains("trusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]"));
    let cfg = hailong::config::Config::load_from(Some(&f), &[]).unwrap();
    assert_eq!(cfg.rate_limit.trusted_proxies, ["127.0.0.1/32", "::1/128"]);
    assert_eq!(
        cfg.rate_limit.trusted_proxy_header.as_deref(),
        Some("X-Forwarded-For")
    );
    assert!(cfg.backup.dir.is_some() && cfg.metrics_listen.is_some());
    assert!(!hailong::app::base_url_is_loopback(&cfg.base_url));
}

#[test]
fn the_grafana_dashboard_queries_the_metrics_the_server_serves() {
    use hailong::monitor::*;
    let text = std::fs::read_to_string(repo_path("deploy/grafana/hailong.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let known = [
        HTTP_REQUESTS,
        HTTP_DURATION,
        SUBMISSIONS,
        BATCH_SIZE,
        COMMIT_SECONDS,
        OUTBOX,
        RATE_LIMITED,
    ];
    let mut queried = std::collections::HashSet::new();
    let panels = dash["panels"].as_array().expect("panels");
    for target in panels
        .iter()
        .filter_map(|p| p["targets"].as_array())
        .flatten()
    {
        let expr = target["expr"].as_str().expect("an expression");
        let names: Vec<&str> = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("hailong_"))
            .collect();
        assert!(!names.is_empty(), "{expr}");
        for name in names {
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(known.contains(&base), "unknown metric {name} in {expr}");
            queried.insert(base);
        }
    }
    assert_eq!(queried.len(), known.len(), "every metric has a panel");
}
