//! A tiny SMTP server for the tests: listens on loopback on a free port, accepts every message
//! and keeps it; it can be stopped and started again on the same port. Plus a small MIME reader
//! (RFC 2047 subjects, quoted-printable and base64 parts) to check what arrived.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt: Vec<String>,
    pub data: String,
}

pub struct SmtpSink {
    pub port: u16,
    pub inbox: Arc<Mutex<Vec<Received>>>,
    task: Option<JoinHandle<()>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let task = Some(tokio::spawn(serve(listener, inbox.clone())));
        SmtpSink { port, inbox, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops accepting and drops open connections: clients get "connection refused".
    pub async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.task = Some(tokio::spawn(serve(listener, self.inbox.clone())));
    }

    pub fn messages(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits (up to `secs`) until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let m = self.messages();
            if m.len() >= n || tokio::time::Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn serve(listener: TcpListener, inbox: Arc<Mutex<Vec<Received>>>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        let inbox = inbox.clone();
        // Connections live in the JoinSet: aborting `serve` drops them too.
        conns.spawn(async move {
            let _ = session(sock, inbox).await;
        });
    }
}

async fn session(
    sock: tokio::net::TcpStream,
    inbox: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink ESMTP\r\n").await?;
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        if cmd.starts_with("EHLO") {
            w.write_all(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if cmd.starts_with("HELO") || cmd.starts_with("MAIL FROM") || cmd == "NOOP" {
            w.write_all(b"250 ok\r\n").await?;
        } else if cmd.starts_with("RSET") {
            rcpt.clear();
            w.write_all(b"250 ok\r\n").await?;
        } else if cmd.starts_with("RCPT TO") {
            let addr = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or_default()
                .to_string();
            rcpt.push(addr);
            w.write_all(b"250 ok\r\n").await?;
        } else if cmd == "DATA" {
            w.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            inbox.lock().unwrap().push(Received {
                rcpt: std::mem::take(&mut rcpt),
                data,
            });
            w.write_all(b"250 queued\r\n").await?;
        } else if cmd == "QUIT" {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 not implemented\r\n").await?;
        }
    }
}

/// A received message, decoded.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub headers: Vec<(String, String)>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Parsed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn split_head(raw: &str) -> (Vec<(String, String)>, String) {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in head.lines() {
        if l.starts_with(' ') || l.starts_with('\t') {
            if let Some(last) = headers.last_mut() {
                last.1.push_str(l);
            }
        } else if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    (headers, body.to_string())
}

/// Decodes RFC 2047 encoded words (UTF-8, B or Q).
pub fn decode_words(v: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut rest = v;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let after = &rest[start + 2..];
        let parts: Vec<&str> = after.splitn(3, '?').collect();
        if parts.len() < 3 {
            out.push_str(&rest[start..]);
            return out;
        }
        let (enc, tail) = (parts[1], parts[2]);
        let Some(end) = tail.find("?=") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let payload = &tail[..end];
        let bytes = if enc.eq_ignore_ascii_case("b") {
            base64::engine::general_purpose::STANDARD
                .decode(payload)
                .expect("base64 word")
        } else {
            quoted_printable::decode(
                payload.replace('_', " "),
                quoted_printable::ParseMode::Robust,
            )
            .expect("q word")
        };
        out.push_str(&String::from_utf8(bytes).expect("utf-8 word"));
        rest = &tail[end + 2..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

fn decode_part(headers: &[(String, String)], body: &str) -> String {
    use base64::Engine;
    let cte = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-transfer-encoding"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    match cte.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("base64 body"),
            )
            .expect("utf-8 body")
        }
        "quoted-printable" => String::from_utf8(
            quoted_printable::decode(body, quoted_printable::ParseMode::Robust).expect("qp body"),
        )
        .expect("utf-8 body"),
        _ => body.to_string(),
    }
}

/// Parses a `multipart/alternative` message with a text and an HTML part.
pub fn parse(raw: &str) -> Parsed {
    let (headers, body) = split_head(raw);
    let ctype = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let boundary = ctype
        .split("boundary=")
        .nth(1)
        .map(|b| {
            b.trim_matches('"')
                .split(';')
                .next()
                .unwrap()
                .trim_matches('"')
                .to_string()
        })
        .expect("a multipart message");
    let mut text = String::new();
    let mut html = String::new();
    for part in body.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let (ph, pb) = split_head(part.trim_start_matches('\n'));
        let pt = ph
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default();
        let decoded = decode_part(&ph, pb.trim_end_matches('\n'));
        if pt.starts_with("text/plain") {
            text = decoded;
        } else if pt.starts_with("text/html") {
            html = decoded;
        }
    }
    let subject = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("subject"))
        .map(|(_, v)| decode_words(v))
        .unwrap_or_default();
    Parsed {
        headers,
        subject,
        text,
        html,
    }
}
