//! Connections (docs/hardening.md, "Connections"): a half-sent header is closed after
//! `server.header_timeout_secs` while the server keeps answering, and open connections are
//! capped per client address and overall. Linux routes all of 127.0.0.0/8 to the loopback, so
//! client sockets bound to 127.0.0.2, .3 and .4 are three client addresses.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{Backend, TestApp};

/// A connection to `to` from the loopback address `from`.
pub async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(format!("{from}:0").parse().unwrap())
        .unwrap_or_else(|e| panic!("bind a client socket to {from}: {e}"));
    socket.connect(to).await.unwrap()
}

/// `GET path` on an open connection (kept alive); the status, or `None` when the server
/// closed the connection instead of answering.
async fn get_on(s: &mut TcpStream, path: &str) -> Option<u16> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) => return None,
            Err(_) => panic!("no answer to GET {path} within 10 s"),
        };
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let head = &text[..end];
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .expect("a Content-Length");
            if buf.len() >= end + 4 + len {
                return head.split(' ').nth(1)?.parse().ok();
            }
        }
    }
}

/// Whether the server closes `s` (end of stream or reset) within `within`, without answering.
async fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // hyper may answer a timed-out header with an error status before it closes.
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// A request made on a connection that was opened past a cap: closed at once, never answered.
async fn refused(from: &str, to: SocketAddr) -> bool {
    let mut s = connect_from(from, to).await;
    let t = Instant::now();
    // Writing may already fail: the server closed the socket.
    let answered = get_on(&mut s, "/healthz").await.is_some();
    !answered && t.elapsed() < Duration::from_secs(2)
}

/// Retries `f` for up to three seconds (the server notices a closed connection a moment later).
async fn eventually(mut f: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..30 {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_closed_after_the_timeout_while_healthz_answers() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.server.header_timeout_secs = 1).await;
    let start = Instant::now();
    let mut held = Vec::new();
    for _ in 0..64 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: aaaa")
            .await
            .unwrap();
        held.push(s);
    }
    // The server answers others while the half-sent headers wait.
    let mut fresh = TcpStream::connect(app.addr).await.unwrap();
    assert_eq!(get_on(&mut fresh, "/healthz").await, Some(200));
    for s in &mut held {
        assert!(
            closed_by_server(s, Duration::from_secs(5)).await,
            "a half-sent header was still open after 5 s"
        );
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "closed before the timeout: {took:?}"
    );
    // A connection that finished its headers in time was served (above); new ones still are.
    let mut later = TcpStream::connect(app.addr).await.unwrap();
    assert_eq!(get_on(&mut later, "/healthz").await, Some(200));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_per_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.max_connections_per_address = 4;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = connect_from("127.0.0.2", app.addr).await;
        assert_eq!(get_on(&mut s, "/healthz").await, Some(200));
        held.push(s);
    }
    assert!(
        refused("127.0.0.2", app.addr).await,
        "a fifth connection from 127.0.0.2 was served"
    );
    // Another address is not affected, and the four open connections still work.
    let mut other = connect_from("127.0.0.3", app.addr).await;
    assert_eq!(get_on(&mut other, "/healthz").await, Some(200));
    for s in &mut held {
        assert_eq!(get_on(s, "/healthz").await, Some(200));
    }
    // A closed connection gives its place back.
    drop(held.pop());
    assert!(
        eventually(async || {
            let mut s = connect_from("127.0.0.2", app.addr).await;
            get_on(&mut s, "/healthz").await == Some(200)
        })
        .await,
        "127.0.0.2 did not get its place back"
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_overall() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.max_connections = 5;
    })
    .await;
    let mut held = Vec::new();
    for from in [
        "127.0.0.2",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.3",
        "127.0.0.3",
    ] {
        let mut s = connect_from(from, app.addr).await;
        assert_eq!(get_on(&mut s, "/healthz").await, Some(200));
        held.push(s);
    }
    assert!(
        refused("127.0.0.4", app.addr).await,
        "a sixth connection was served"
    );
    drop(held.swap_remove(0));
    assert!(
        eventually(async || {
            let mut s = connect_from("127.0.0.4", app.addr).await;
            get_on(&mut s, "/healthz").await == Some(200)
        })
        .await,
        "no place came free"
    );
    app.finish().await;
}
