//! The reach commands: `hailong tokens issue` and `hailong posters` (docs/console.md).

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::config::Config;
use crate::store::{posters, tokens, units};
use crate::web::reach::{poster_url, render_poster, survey_url};

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}

async fn open(config: &Config) -> Result<sea_orm::DatabaseConnection, ExitCode> {
    let (db, _) = crate::db::open_with_units(&config.database_url)
        .await
        .map_err(|e| fail(format!("{e:#}")))?;
    Ok(db)
}

/// `--expires`: a date (valid through that day, Vietnam time) or an ISO 8601 date-time.
pub fn parse_expiry(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        d.and_hms_opt(23, 59, 59)
            .and_then(|n| crate::period::vietnam().from_local_datetime(&n).single())
            .map(|t| t.with_timezone(&Utc))
    } else {
        crate::period::parse_instant(s)
    }
    .ok_or_else(|| format!("--expires `{s}` is not a date (YYYY-MM-DD) or ISO 8601 date-time"))?;
    if t <= now {
        return Err(format!("--expires `{s}` is in the past"));
    }
    Ok(t)
}

/// `hailong tokens issue --ward CODE --count N [--expires DATE] [--qr DIR]`: prints a CSV of
/// single-use links; with `--qr`, writes one PNG per link into DIR.
pub async fn issue_tokens(
    config: Config,
    ward: &str,
    count: usize,
    expires: Option<&str>,
    qr_dir: Option<&Path>,
) -> ExitCode {
    if !(1..=100_000).contains(&count) {
        return fail("--count must be between 1 and 100000");
    }
    let expires_at = match expires.map(|e| parse_expiry(e, Utc::now())).transpose() {
        Ok(e) => e,
        Err(m) => return fail(m),
    };
    let db = match open(&config).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    match units::find_unit(&db, ward).await {
        Ok(Some(_)) => {}
        Ok(None) => return fail(format!("unknown ward code `{ward}`")),
        Err(e) => return fail(e),
    }
    if let Some(dir) = qr_dir
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return fail(format!("cannot create {}: {e}", dir.display()));
    }
    let issued = match tokens::issue(&db, ward, count, expires_at).await {
        Ok(t) => t,
        Err(e) => return fail(format!("no token was issued: {e}")),
    };
    let mut out = match crate::csvout::CsvOut::new(std::io::stdout().lock()) {
        Ok(out) => out,
        Err(_) => return fail("cannot write to standard output"),
    };
    let mut header = vec!["ward_code", "url", "expires_at"];
    if qr_dir.is_some() {
        header.push("qr_file");
    }
    if out.text_row(&header).is_err() {
        return fail("cannot write to standard output");
    }
    let expiry = expires_at.map(|e| e.to_rfc3339()).unwrap_or_default();
    for (i, t) in issued.iter().enumerate() {
        let url = format!("{}?t={t}", survey_url(&config.base_url, ward));
        let mut rec = vec![ward.to_string(), url.clone(), expiry.clone()];
        if let Some(dir) = qr_dir {
            let name = format!("{ward}-{:05}.png", i + 1);
            let png = match crate::qr::png(&url, 8) {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            if let Err(e) = std::fs::write(dir.join(&name), png) {
                return fail(format!("cannot write {}: {e}", dir.join(&name).display()));
            }
            rec.push(name);
        }
        if out.text_row(&rec).is_err() {
            return fail("cannot write to standard output");
        }
    }
    if out.flush().is_err() {
        return fail("cannot write to standard output");
    }
    ExitCode::SUCCESS
}

/// `hailong posters --province 01 --out DIR`: every unit's poster (HTML + QR PNG).
pub async fn write_posters(config: Config, province: &str, out: &Path) -> ExitCode {
    let db = match open(&config).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    let secret = match crate::privacy::keys::server_secret(&db).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let tera = match crate::templates::load() {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let list = match units::units_of_province(&db, province).await {
        Ok(l) if !l.is_empty() => l,
        Ok(_) => {
            return fail(format!(
                "unknown province code `{province}` (or it has no units)"
            ));
        }
        Err(e) => return fail(e),
    };
    if let Err(e) = std::fs::create_dir_all(out) {
        return fail(format!("cannot create {}: {e}", out.display()));
    }
    let css = crate::templates::STATIC_FILES
        .iter()
        .find(|(n, _, _)| *n == "poster.css")
        .map_or("", |(_, _, body)| *body);
    if let Err(e) = std::fs::write(out.join("poster.css"), css) {
        return fail(format!(
            "cannot write {}: {e}",
            out.join("poster.css").display()
        ));
    }
    let mut written = 0usize;
    for u in list {
        let info = match units::find_unit(&db, &u.code).await {
            Ok(Some(i)) => i,
            Ok(None) => continue,
            Err(e) => return fail(e),
        };
        let id = match posters::current(&db, &secret, &info.code).await {
            Ok(id) => id,
            Err(e) => return fail(e),
        };
        let page = match render_poster(&tera, &config.base_url, &info, &id, "poster.css") {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        let png = match crate::qr::png(&poster_url(&config.base_url, &info.code, &id), 10) {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        for (name, bytes) in [
            (format!("{}.html", info.code), page.into_bytes()),
            (format!("{}.png", info.code), png),
        ] {
            if let Err(e) = std::fs::write(out.join(&name), bytes) {
                return fail(format!("cannot write {}: {e}", out.join(&name).display()));
            }
        }
        written += 1;
    }
    println!(
        "wrote {written} posters (HTML and QR PNG) for province {province} to {}",
        out.display()
    );
    ExitCode::SUCCESS
}

/// `hailong posters revoke ID`.
pub async fn revoke_poster(config: Config, id: &str) -> ExitCode {
    let db = match open(&config).await {
        Ok(db) => db,
        Err(c) => return c,
    };
    match posters::revoke(&db, id, "cli").await {
        Ok(true) => {
            println!("revoked poster {id}; its QR code now counts as an ordinary web response");
            ExitCode::SUCCESS
        }
        Ok(false) => fail(format!("no poster `{id}`, or it was already revoked")),
        Err(e) => fail(e),
    }
}
