//! PostgreSQL: `pg_dump -Fc` of the database, and a readability check of a dump with
//! `pg_restore --list`. The password never goes on a command line (where `ps` shows it): it is
//! handed to the child in `PGPASSWORD`, and the URL it gets has none.

use std::path::Path;
use std::time::Instant;

use tokio::process::Command;

use super::{BackupError, Written, finish, partial_path};

/// The first bytes of a `pg_dump -Fc` file.
pub const MAGIC: &[u8; 5] = b"PGDMP";

/// Query parameters of a `postgres://` URL that libpq understands; the others (sqlx's own, such
/// as `statement-cache-capacity`) are left out of what `pg_dump` gets.
const LIBPQ_PARAMS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "application_name",
    "options",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "connect_timeout",
    "target_session_attrs",
    "channel_binding",
    "gssencmode",
];

/// A PostgreSQL URL split for libpq: the URL without its password, and the password.
#[derive(Debug, PartialEq, Eq)]
pub struct LibpqTarget {
    pub url: String,
    pub password: Option<String>,
}

/// Splits the password (in the user part or a `password=` parameter) out of `url`.
pub fn libpq_target(url: &str) -> Result<LibpqTarget, BackupError> {
    let bad = || {
        BackupError::Failed(format!(
            "the database URL `{}` is not postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
            crate::config::redact_url(url)
        ))
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], &before_query[i..]),
        None => (before_query, ""),
    };
    let mut password = None;
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, pw)) => {
                password = Some(percent_decode(pw).ok_or_else(bad)?);
                format!("{user}@{host}")
            }
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let mut kept = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "password" {
            password = Some(percent_decode(v).ok_or_else(bad)?);
        } else if LIBPQ_PARAMS.contains(&k) {
            kept.push(pair);
        }
    }
    let mut out = format!("{scheme}://{authority}{path}");
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    Ok(LibpqTarget { url: out, password })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn command(program: &str, target: &LibpqTarget) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_remove("PGPASSWORD")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(pw) = &target.password {
        cmd.env("PGPASSWORD", pw);
    }
    cmd
}

fn not_installed(program: &str) -> BackupError {
    BackupError::Failed(format!(
        "{program} is not on PATH, so a PostgreSQL backup cannot be taken: install the PostgreSQL \
         client tools of the server's major version or newer (Debian: apt-get install \
         postgresql-client), or run `pg_dump -Fc --file=FILE postgres://…` yourself \
         (see docs/deployment.md)"
    ))
}

/// Runs `pg_dump -Fc` on the database `url` into `out`.
pub async fn dump(url: &str, out: &Path) -> Result<Written, BackupError> {
    let started = Instant::now();
    let target = libpq_target(url)?;
    let partial = partial_path(out);
    let mut cmd = command("pg_dump", &target);
    cmd.arg("--format=custom")
        .arg("--no-password")
        .arg(format!("--file={}", partial.display()))
        .arg(format!("--dbname={}", target.url));
    let output = match cmd.output().await {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_installed("pg_dump")),
        Err(e) => return Err(BackupError::Failed(format!("cannot run pg_dump: {e}"))),
    };
    let made = if output.status.success() {
        Ok(())
    } else {
        Err(BackupError::Failed(format!(
            "pg_dump failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    };
    finish(&partial, out, started, made)
}

/// Checks that `file` is a whole `pg_dump -Fc` archive: `pg_restore --list` reads its table of
/// contents. Returns how many entries it lists.
pub async fn check_dump(file: &Path) -> Result<usize, BackupError> {
    let output = Command::new("pg_restore")
        .arg("--list")
        .arg(file)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await;
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_installed("pg_restore"));
        }
        Err(e) => return Err(BackupError::Failed(format!("cannot run pg_restore: {e}"))),
    };
    if !output.status.success() {
        return Err(BackupError::Failed(format!(
            "{} is not a readable PostgreSQL dump: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let entries = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .count();
    if !text.contains("TABLE DATA public responses") {
        return Err(BackupError::Failed(format!(
            "{} is a PostgreSQL dump but holds no responses table: not a Hài Lòng database",
            file.display()
        )));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        let t = libpq_target("postgres://hl:s%40cr%3At@db.example.vn:5433/hailong?sslmode=require&statement-cache-capacity=100").unwrap();
        assert_eq!(
            t.url,
            "postgres://hl@db.example.vn:5433/hailong?sslmode=require"
        );
        assert_eq!(t.password.as_deref(), Some("s@cr:t"));
        let t = libpq_target("postgres://postgres@127.0.0.1:5432/x").unwrap();
        assert_eq!(t.url, "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(t.password, None);
        let t = libpq_target("postgresql://h/x?password=p%20w&user=u").unwrap();
        assert_eq!(t.url, "postgresql://h/x?user=u");
        assert_eq!(t.password.as_deref(), Some("p w"));
        assert!(libpq_target("postgres://u:%zz@h/x").is_err());
        assert!(libpq_target("nonsense").is_err());
    }
}
