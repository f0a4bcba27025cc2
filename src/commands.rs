//! The data commands: unit, margin and paper-ballot imports, and `index verify`.
//! Each file import is atomic: every bad line is named, and nothing is written when any is bad.
//! The `users` commands are in [`users`].

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{MarginsCommand, UnitsCommand};
use crate::config::Config;
use crate::store::csvio::{LineErrors, read_csv, read_text_file};
use crate::store::{self, ballots, units};

pub mod users;

fn report(file: &Path, errors: &LineErrors) -> ExitCode {
    eprintln!("{}: không nhập gì / nothing was imported:", file.display());
    for line in errors.to_string().lines() {
        eprintln!("  {line}");
    }
    ExitCode::from(1)
}

pub(crate) async fn open(config: &Config) -> Result<sea_orm::DatabaseConnection, ExitCode> {
    let (db, _) = crate::db::open_with_units(&config.database_url)
        .await
        .map_err(|e| {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        })?;
    Ok(db)
}

pub async fn units(config: Config, command: UnitsCommand) -> ExitCode {
    let db = match open(&config).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    match command {
        UnitsCommand::Import { file, allow_move } => {
            let rows = match read_text_file(&file).and_then(|t| units::parse_units(&t)) {
                Ok(rows) => rows,
                Err(e) => return report(&file, &e),
            };
            use crate::store::unit_moves::{ImportError, import_units};
            match import_units(&db, &rows, allow_move, "cli").await {
                Ok(moves) => {
                    for m in &moves {
                        println!("moved {m}");
                    }
                    println!("imported {} units from {}", rows.len(), file.display());
                    ExitCode::SUCCESS
                }
                Err(ImportError::Refused(held)) => {
                    eprintln!(
                        "{}: nothing was imported: these units have responses, staff or posters \
                         and would move to another province (không nhập gì: các đơn vị sau đã có \
                         dữ liệu và sẽ chuyển sang tỉnh/thành khác); give --allow-move to move them:",
                        file.display()
                    );
                    for m in &held {
                        eprintln!("  {m}");
                    }
                    ExitCode::from(1)
                }
                Err(ImportError::Db(e)) => {
                    eprintln!("error: nothing was imported: {e}");
                    ExitCode::from(1)
                }
            }
        }
        UnitsCommand::Margins {
            command: MarginsCommand::Import { file },
        } => {
            let text = match read_text_file(&file) {
                Ok(t) => t,
                Err(e) => return report(&file, &e),
            };
            let rows = match units::parse_margins(&db, &text).await {
                Ok(rows) => rows,
                Err(e) => return report(&file, &e),
            };
            match units::replace_margins(&db, rows).await {
                Ok(n) => {
                    println!("imported {n} margin cells from {}", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: nothing was imported: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// `hailong responses import FILE.csv`: paper ballots, channel `paper`, streamed (see
/// `store::ballots`).
pub async fn import_responses(config: Config, file: &Path) -> ExitCode {
    let catalog = match crate::app::load_catalog(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let Some(survey) = catalog.get(crate::app::DEFAULT_SURVEY) else {
        eprintln!(
            "error: the survey `{}` is missing",
            crate::app::DEFAULT_SURVEY
        );
        return ExitCode::from(1);
    };
    let db = match open(&config).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let known: HashSet<String> = match units::all_units(&db).await {
        Ok(u) => u.into_iter().map(|u| u.code).collect(),
        Err(e) => {
            eprintln!("error: cannot read the units: {e}");
            return ExitCode::from(1);
        }
    };
    let tera = match crate::templates::load() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: the templates are not valid: {e}");
            return ExitCode::from(1);
        }
    };
    let mail = crate::mail::alerts::MailCtx {
        tera: &tera,
        base_url: &config.base_url,
        cfg: &config.mail,
    };
    let rules = ballots::BallotRules::new(survey, &known);
    // Paper ballots alert the ward's officers like online responses (one alert per ward).
    match ballots::import_file(&db, &rules, file, &config.integrity, &mail).await {
        Ok(n) => {
            println!("imported {n} paper ballots from {}", file.display());
            ExitCode::SUCCESS
        }
        Err(ballots::ImportError::Lines(e)) => report(file, &e),
        Err(ballots::ImportError::Db(e)) => {
            eprintln!("error: nothing was imported: {e}");
            ExitCode::from(1)
        }
    }
}

/// Parses a paper-ballot text into responses ready to store; every bad line is named.
pub fn parse_ballots(
    survey: &crate::survey::definition::Survey,
    known_wards: &HashSet<String>,
    text: &str,
) -> Result<Vec<store::responses::NewResponse>, LineErrors> {
    ballots::parse_text(&ballots::BallotRules::new(survey, known_wards), text)
}

/// One criterion value to store.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionValue {
    pub ward_code: String,
    pub period: crate::period::Period,
    pub criterion: String,
    pub value: f64,
}

/// Parses a criteria file (`ward_code,period,criterion,value`); every bad line is named.
pub fn parse_scores(
    config: &Config,
    known_wards: &HashSet<String>,
    text: &str,
) -> Result<Vec<CriterionValue>, LineErrors> {
    let table = read_csv(text, &["ward_code", "period", "criterion", "value"])?;
    let entered: Vec<&str> = config
        .score
        .criteria
        .iter()
        .map(|c| c.id.as_str())
        .filter(|c| *c != crate::measure::score::SATISFACTION)
        .collect();
    let mut errors = LineErrors::default();
    let mut out = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for rec in &table.records {
        let line = rec.line;
        let ward = rec.get("ward_code").trim().to_string();
        if !known_wards.contains(&ward) {
            errors.push2(
                line,
                format!("ward_code `{ward}` không có trong danh sách đơn vị"),
                format!("unknown ward_code `{ward}`"),
            );
        }
        let period_text = rec.get("period").trim();
        let period = match crate::period::Period::parse(period_text) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push2(
                    line,
                    format!(
                        "period `{period_text}` không hợp lệ — giá trị cho phép: YYYY-Qn hoặc YYYY-MM"
                    ),
                    e.to_string(),
                );
                None
            }
        };
        let criterion = rec.get("criterion").trim().to_string();
        if criterion == crate::measure::score::SATISFACTION {
            errors.push2(
                line,
                "tiêu chí `satisfaction` được tính từ phiếu khảo sát, không nhập",
                "criterion `satisfaction` is computed from the survey, not imported",
            );
        } else if !entered.contains(&criterion.as_str()) {
            errors.push2(
                line,
                format!(
                    "tiêu chí `{criterion}` không có — giá trị cho phép: {}",
                    entered.join(", ")
                ),
                format!(
                    "unknown criterion `{criterion}` (configured: {})",
                    entered.join(", ")
                ),
            );
        }
        let value_text = rec.get("value").trim();
        let value = match value_text.parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Some(v),
            _ => {
                errors.push2(
                    line,
                    format!("value `{value_text}` không phải số từ 0 đến 100"),
                    format!("value `{value_text}` is not a number from 0 to 100"),
                );
                None
            }
        };
        if let (Some(period), Some(value)) = (period, value) {
            if let Some(first) = seen.insert((ward.clone(), period, criterion.clone()), line) {
                errors.push2(
                    line,
                    format!("lặp lại dòng {first}"),
                    format!("repeats line {first}"),
                );
            }
            out.push(CriterionValue {
                ward_code: ward,
                period,
                criterion,
                value,
            });
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push2(1, "tệp không có giá trị nào", "the file has no values");
    }
    errors.into_result(out)
}

/// `hailong scores import FILE.csv`.
pub async fn import_scores(config: Config, file: &Path) -> ExitCode {
    let db = match open(&config).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let text = match read_text_file(file) {
        Ok(t) => t,
        Err(e) => return report(file, &e),
    };
    let known: HashSet<String> = match units::all_units(&db).await {
        Ok(u) => u.into_iter().map(|u| u.code).collect(),
        Err(e) => return fail_code(format!("cannot read the units: {e}")),
    };
    let values = match parse_scores(&config, &known, &text) {
        Ok(v) => v,
        Err(e) => return report(file, &e),
    };
    let result = async {
        use sea_orm::TransactionTrait;
        let txn = db.begin().await?;
        for v in &values {
            store::figures::set_criterion(&txn, &v.ward_code, v.period, &v.criterion, v.value)
                .await?;
        }
        txn.commit().await
    }
    .await;
    match result {
        Ok(()) => {
            println!(
                "imported {} criterion values from {}",
                values.len(),
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail_code(format!("nothing was imported: {e}")),
    }
}

/// `hailong index verify`.
pub async fn verify(config: Config) -> ExitCode {
    let catalog = match crate::app::load_catalog(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let db = match crate::db::open(&config.database_url).await {
        Ok(db) => db,
        Err(e) => return fail_code(e),
    };
    match store::verify::verify(&db, &catalog).await {
        Ok(report) if report.differences.is_empty() => {
            println!(
                "ok: {} rollup rows match a full recompute of {} counted responses",
                report.rows_checked, report.responses
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            for d in &report.differences {
                eprintln!("difference: {d}");
            }
            eprintln!(
                "error: {} rollup row(s) differ from a full recompute",
                report.differences.len()
            );
            ExitCode::from(1)
        }
        Err(e) => fail_code(e),
    }
}

fn fail_code(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(1)
}

/// `hailong mail digest`: enqueues the digest for every province and ministry user now.
pub async fn mail_digest(config: Config) -> ExitCode {
    let catalog = match crate::app::load_catalog(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let Some(survey) = catalog.get(crate::app::DEFAULT_SURVEY) else {
        eprintln!(
            "error: the survey `{}` is missing",
            crate::app::DEFAULT_SURVEY
        );
        return ExitCode::from(1);
    };
    let spec = crate::intake::scale_spec(survey);
    let hash = config.method_hash();
    let ctx = crate::store::figures::MeasureCtx {
        spec: &spec,
        method: &config.method,
        criteria: &config.score.criteria,
        config_hash: &hash,
    };
    let tera = match crate::templates::load() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: the templates are not valid: {e}");
            return ExitCode::from(1);
        }
    };
    let db = match open(&config).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let secret = match crate::privacy::keys::server_secret(&db).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read the server secret: {e}");
            return ExitCode::from(1);
        }
    };
    let result = async {
        let txn = store::begin_write(&db).await?;
        let n = crate::mail::digest::enqueue_digests(
            &txn,
            &tera,
            ctx,
            &config.base_url,
            &secret,
            chrono::Utc::now(),
            None,
        )
        .await?;
        txn.commit().await?;
        Ok::<usize, sea_orm::DbErr>(n)
    }
    .await;
    match result {
        Ok(n) => {
            println!("enqueued {n} digests; the server's mail worker sends them");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: nothing was enqueued: {e}");
            ExitCode::from(1)
        }
    }
}

/// `hailong privacy purge`: applies the retention periods of `[privacy]` and `[mail]` now.
pub async fn privacy_purge(config: Config) -> ExitCode {
    let catalog = match crate::app::load_catalog(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let db = match open(&config).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let retention = crate::privacy::retention::Retention::of(&config, &catalog);
    match crate::privacy::retention::purge_all(&db, &retention, chrono::Utc::now()).await {
        Ok(p) => {
            println!(
                "deleted {} contact e-mail(s) older than {} days",
                p.contacts, retention.contact_days
            );
            println!(
                "erased the free text of {} response(s) older than {} days (their scores stay counted)",
                p.texts, retention.text_days
            );
            println!(
                "emptied {} message(s) sent more than {} days ago",
                p.sent_mail, retention.sent_mail_days
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: the purge stopped: {e}");
            ExitCode::from(1)
        }
    }
}
