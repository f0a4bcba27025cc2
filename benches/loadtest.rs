//! Load test of the rate limits (docs/configuration.md), loopback only and bounded in time:
//! fifty residents with their own phones (device cookies) behind one address, and one client
//! flooding without cookies from the same address. Every resident must get through, the
//! flooder must be held back, and the residents' p99 latency must stay low.
//!
//! `cargo run --release -p hailong-bench --bin loadtest -- [SECONDS]` (default 10, at most 60). It starts its own
//! server on 127.0.0.1 with a temporary SQLite database and the default limits, prints figures
//! and exits non-zero when a condition fails.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const RESIDENTS: usize = 50;
const FLOOD_TASKS: usize = 4;
const WARD: &str = "00004";
const BODY: &str =
    "a1=4&a2=4&r1=3&r2=2&s1=3&s2=3&c1=2&c2=3&used_procedures=no&overall=3&trust=6&sex=m&age=18-34";

struct Reply {
    status: u16,
    cookie: Option<String>,
    location: Option<String>,
}

/// One HTTP/1.1 request on a fresh loopback connection.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(addr).await?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut cookie = None;
    let mut location = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "set-cookie" => cookie = v.trim().split(';').next().map(str::to_string),
                "location" => location = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    Ok(Reply {
        status,
        cookie,
        location,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(2, 60);
    let dir = std::env::temp_dir().join(format!("hailong-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let config = hailong::config::Config {
        database_url: format!("sqlite://{}?mode=rwc", dir.join("load.db").display()),
        listen: "127.0.0.1:0".into(),
        surveys_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../surveys"),
        mail_dir: dir.join("mail"),
        ..Default::default()
    };
    let limits = config.rate_limit.clone();
    let app = hailong::app::App::build(config)
        .await
        .expect("the app builds");
    let addr = app.local_addr();
    let state = app.state();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));

    // The residents' phones already hold their device cookie (they opened the form earlier):
    // fifty first visits from one address, spread over 2.5 seconds, before the flood starts.
    let mut cookies = Vec::new();
    for _ in 0..RESIDENTS {
        match request(addr, "GET", &format!("/s/{WARD}"), None, None).await {
            Ok(Reply {
                status: 200,
                cookie: Some(c),
                ..
            }) => cookies.push(c),
            Ok(r) => {
                eprintln!("a first visit was answered {}", r.status);
                return std::process::ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("a first visit failed: {e}");
                return std::process::ExitCode::from(1);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    // The flooder: no cookies, as fast as it can, submissions and page views.
    let flood_sent = Arc::new(AtomicU64::new(0));
    let flood_limited = Arc::new(AtomicU64::new(0));
    let flood_accepted = Arc::new(AtomicU64::new(0));
    let mut flooders = Vec::new();
    for t in 0..FLOOD_TASKS {
        let (sent, limited, accepted) = (
            flood_sent.clone(),
            flood_limited.clone(),
            flood_accepted.clone(),
        );
        flooders.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let r = if (i + t as u64).is_multiple_of(2) {
                    request(addr, "POST", &format!("/s/{WARD}"), None, Some(BODY)).await
                } else {
                    request(addr, "GET", &format!("/s/{WARD}"), None, None).await
                };
                sent.fetch_add(1, Ordering::Relaxed);
                match r.map(|r| r.status) {
                    Ok(429) => limited.fetch_add(1, Ordering::Relaxed),
                    Ok(303) => accepted.fetch_add(1, Ordering::Relaxed),
                    _ => 0,
                };
            }
        }));
    }
    // Let the flood start first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Fifty residents: open the form again, answer, see the thank-you page, then
    // keep browsing once a second until the end.
    let mut residents = Vec::new();
    for (n, cookie) in cookies.into_iter().enumerate() {
        residents.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis((n as u64 * 37) % 1000)).await;
            let mut lat = Vec::new();
            let mut failures = Vec::new();
            let t = Instant::now();
            match request(addr, "GET", &format!("/s/{WARD}"), Some(&cookie), None).await {
                Ok(r) if r.status == 200 => {}
                Ok(r) => failures.push(format!("form: {}", r.status)),
                Err(e) => failures.push(format!("form: {e}")),
            }
            lat.push(t.elapsed());
            let t = Instant::now();
            let sent = request(
                addr,
                "POST",
                &format!("/s/{WARD}"),
                Some(&cookie),
                Some(BODY),
            )
            .await;
            lat.push(t.elapsed());
            let mut answered = false;
            match sent {
                Ok(Reply {
                    status: 303,
                    location: Some(loc),
                    ..
                }) => {
                    answered = true;
                    let t = Instant::now();
                    match request(addr, "GET", &loc, Some(&cookie), None).await {
                        Ok(r) if r.status == 200 => {}
                        Ok(r) => failures.push(format!("thanks: {}", r.status)),
                        Err(e) => failures.push(format!("thanks: {e}")),
                    }
                    lat.push(t.elapsed());
                }
                Ok(r) => failures.push(format!("submit: {}", r.status)),
                Err(e) => failures.push(format!("submit: {e}")),
            }
            while Instant::now() + Duration::from_secs(1) < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let t = Instant::now();
                match request(addr, "GET", "/", Some(&cookie), None).await {
                    Ok(r) if r.status == 200 => {}
                    Ok(r) => failures.push(format!("browse: {}", r.status)),
                    Err(e) => failures.push(format!("browse: {e}")),
                }
                lat.push(t.elapsed());
            }
            (lat, failures, answered)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    let mut answered = 0;
    for r in residents {
        let (lat, fail, ok) = r.await.expect("resident task");
        latencies.extend(lat);
        failures.extend(fail);
        answered += usize::from(ok);
    }
    for f in flooders {
        let _ = f.await;
    }
    latencies.sort();
    let stored = {
        use sea_orm::{EntityTrait, PaginatorTrait};
        hailong::entities::response::Entity::find()
            .count(&state.db)
            .await
            .unwrap_or(0)
    };
    let tracked = state.limiters.tracked_keys();
    let _ = stop_tx.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);

    let sent = flood_sent.load(Ordering::Relaxed);
    let limited = flood_limited.load(Ordering::Relaxed);
    let accepted = flood_accepted.load(Ordering::Relaxed);
    let p50 = percentile(&latencies, 0.50);
    let p99 = percentile(&latencies, 0.99);
    let max = latencies.last().copied().unwrap_or_default();
    println!("duration: {seconds} s, all clients on 127.0.0.1");
    println!(
        "limits: {} submissions/min per device per ward, {} per address per ward; pages {}/s (burst {}) per device, {}/s (burst {}) per address",
        limits.submissions_per_minute,
        limits.address_submissions_per_minute,
        limits.pages_per_second,
        limits.pages_burst,
        limits.address_pages_per_second,
        limits.address_pages_burst
    );
    println!(
        "residents: {answered}/{RESIDENTS} answered, {} requests, {} failures; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        failures.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!(
        "flooder: {sent} requests ({:.0}/s), {limited} answered 429 ({:.1}%), {accepted} submissions accepted",
        sent as f64 / seconds as f64,
        100.0 * limited as f64 / sent.max(1) as f64
    );
    println!("responses stored: {stored}; limiter keys tracked at the end: {tracked}");
    for f in failures.iter().take(10) {
        println!("  resident failure: {f}");
    }
    let ok = answered == RESIDENTS
        && failures.is_empty()
        && accepted <= u64::from(limits.submissions_per_minute) * (1 + seconds.div_ceil(60))
        && limited > sent / 2
        && p99 < Duration::from_millis(500);
    if ok {
        println!("PASS");
        std::process::ExitCode::SUCCESS
    } else {
        println!("FAIL");
        std::process::ExitCode::from(1)
    }
}
