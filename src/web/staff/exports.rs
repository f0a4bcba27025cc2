//! Exports: `GET /staff/exports` (the form), `GET /staff/exports/responses.csv` and `.xlsx`
//! with `ward=`, `province=`, `period=` filters. Rows are read in pages by id and streamed, so
//! that any number of rows exports in bounded memory; free text is masked; contact data is
//! never read.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::{Staff, audit, render};
use crate::app::{AppState, DEFAULT_SURVEY};
use crate::auth::Scope;
use crate::csvout::{Cell, CsvOut};
use crate::entities::response;
use crate::error::{AppError, AppResult};
use crate::period::Period;
use crate::store::exports::{self, ExportFilter};
use crate::store::responses::AnswerRow;
use crate::store::{feedback, units};
use crate::web::reads::Reads;
use crate::web::stream::{Chunk, channel_body};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/exports", get(page))
        .route("/staff/exports/responses.csv", get(responses_csv))
        .route("/staff/exports/responses.xlsx", get(responses_xlsx))
}

/// Rows per database page.
const PAGE: u64 = 1000;

#[derive(Deserialize, Default, Debug)]
pub struct ExportQuery {
    pub ward: Option<String>,
    pub province: Option<String>,
    pub period: Option<String>,
}

async fn page(State(state): State<AppState>, staff: Staff) -> AppResult<Response> {
    let mut ctx = staff.context();
    let provinces: Vec<_> = units::provinces(&state.db)
        .await?
        .into_iter()
        .filter(|p| staff.scope().contains_province(&p.code))
        .map(|p| serde_json::json!({"code": p.code, "name": p.name}))
        .collect();
    ctx.insert("provinces", &provinces);
    ctx.insert("current_quarter", &Period::current_quarter().to_string());
    render(&state, "staff/exports.html", &ctx)
}

/// Checks the filters against the scope: a ward or province outside it is `404`, exactly as
/// one that does not exist.
async fn resolve(state: &AppState, scope: &Scope, q: &ExportQuery) -> AppResult<ExportFilter> {
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let ward = nonempty(&q.ward);
    let province = nonempty(&q.province);
    if let Some(w) = &ward {
        feedback::ward_in_scope(&state.db, scope, w)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    if let Some(p) = &province {
        // A ward user may name their own ward's province only through `ward=`.
        let found = units::find_province(&state.db, p).await?;
        if found.is_none() || !scope.contains_province(p) {
            return Err(AppError::NotFound);
        }
    }
    let period = nonempty(&q.period)
        .map(|p| Period::parse(&p))
        .transpose()
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    Ok(ExportFilter {
        ward,
        province,
        period,
    })
}

/// The exported question columns: every question of the survey except contact data, then
/// `sex` and `age`.
fn question_columns(state: &AppState) -> Vec<String> {
    let mut cols: Vec<String> = state
        .catalog
        .get(DEFAULT_SURVEY)
        .map(|s| {
            s.questions
                .iter()
                .map(|q| q.id.clone())
                .filter(|id| !id.starts_with("contact_"))
                .collect()
        })
        .unwrap_or_default();
    for extra in ["sex", "age"] {
        if !cols.iter().any(|c| c == extra) {
            cols.push(extra.to_string());
        }
    }
    cols
}

const FIXED: [&str; 9] = [
    "response_id",
    "receipt",
    "ward_code",
    "province_code",
    "submitted_at",
    "month",
    "channel",
    "status",
    "survey_version",
];

/// One row's cells (free text masked; a blank cell is an unanswered question, `na` an
/// explicit "not applicable"). Ids, versions and scores are numbers; everything else is text.
fn row_cells(
    r: &response::Model,
    answers: &[AnswerRow],
    province: &str,
    questions: &[String],
) -> Vec<Cell> {
    let text = |s: &str| Cell::Text(s.to_string());
    let mut cells = vec![
        Cell::Int(r.id),
        text(&r.receipt),
        text(&r.ward_code),
        text(province),
        Cell::Time(r.submitted_at),
        text(&r.month),
        text(&r.channel),
        text(&r.status),
        Cell::Int(i64::from(r.survey_version)),
    ];
    for q in questions {
        let cell = match answers.iter().find(|a| &a.question_id == q) {
            None => Cell::Empty,
            Some(a) => match (&a.value_num, &a.value_text) {
                (Some(n), _) => Cell::Int(i64::from(*n)),
                (None, Some(t)) if q == "comment" || q == "issue" => {
                    Cell::Text(super::feedback::masked(t))
                }
                (None, Some(t)) => text(t),
                (None, None) => text("na"),
            },
        };
        cells.push(cell);
    }
    cells
}

fn file_name(f: &ExportFilter, ext: &str) -> String {
    let mut name = String::from("hailong-responses");
    if let Some(p) = &f.province {
        name.push_str(&format!("-p{p}"));
    }
    if let Some(w) = &f.ward {
        name.push_str(&format!("-w{w}"));
    }
    if let Some(p) = f.period {
        name.push_str(&format!("-{p}"));
    }
    format!("{name}.{ext}")
}

async fn start(
    state: &AppState,
    staff: &Staff,
    q: &ExportQuery,
    format: &str,
) -> AppResult<ExportFilter> {
    let filter = resolve(state, staff.scope(), q).await?;
    audit::record(
        state,
        Some(&staff.user),
        "export",
        &format!("responses.{format}"),
        serde_json::json!({
            "ward": filter.ward, "province": filter.province,
            "period": filter.period.map(|p| p.to_string()),
        }),
    )
    .await;
    Ok(filter)
}

async fn responses_csv(
    State(state): State<AppState>,
    staff: Staff,
    reads: Reads,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let filter = start(&state, &staff, &q, "csv").await?;
    let provinces = exports::province_of_wards(reads.db()).await?;
    let db = reads.db().clone();
    let questions = question_columns(&state);
    let scope = staff.scope().clone();
    let name = file_name(&filter, "csv");
    // Two pages in flight at most: the database is read as fast as the client takes the file.
    let (tx, body) = channel_body(2);
    tokio::spawn(async move {
        let header: Vec<&str> = FIXED
            .iter()
            .copied()
            .chain(questions.iter().map(String::as_str))
            .collect();
        let started = CsvOut::new(Vec::with_capacity(256 * 1024)).and_then(|mut w| {
            w.text_row(&header)?;
            let bytes = w.take_bytes()?;
            Ok((w, bytes))
        });
        let Ok((mut w, first)) = started else { return };
        if tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        let mut after = 0i64;
        loop {
            let page = match exports::responses_page(&db, &scope, &filter, after, PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "export: database error mid-stream");
                    let _ = tx.send(Err(std::io::Error::other("database error"))).await;
                    return;
                }
            };
            let Some(last) = page.last() else { break };
            after = last.0.id;
            let written: std::io::Result<Vec<u8>> = page
                .iter()
                .try_for_each(|(r, answers)| {
                    let province = provinces
                        .get(&r.ward_code)
                        .map(String::as_str)
                        .unwrap_or("");
                    w.row(&row_cells(r, answers, province, &questions))
                })
                .map_err(std::io::Error::from)
                .and_then(|()| w.take_bytes());
            // An error chunk cuts the download: a client never takes half a file for a whole.
            let chunk = written.map(Bytes::from);
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return; // the client went away, or the file is cut
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// Sends what rust_xlsxwriter writes to the response body, chunk by chunk.
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 256 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

async fn responses_xlsx(
    State(state): State<AppState>,
    staff: Staff,
    reads: Reads,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    use rust_xlsxwriter::Workbook;
    let filter = start(&state, &staff, &q, "xlsx").await?;
    let provinces = exports::province_of_wards(reads.db()).await?;
    let db = reads.db().clone();
    let questions = question_columns(&state);
    let scope = staff.scope().clone();
    let name = file_name(&filter, "xlsx");
    let (tx, body) = channel_body(4);
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let fail = |tx: &mpsc::Sender<Chunk>, what: String| {
            tracing::error!(error = %what, "xlsx export failed");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        };
        let mut wb = Workbook::new();
        // Constant-memory mode: each finished row goes to a temporary file, not to memory.
        let ws = match wb.add_worksheet_with_constant_memory() {
            Ok(ws) => ws,
            Err(e) => return fail(&tx, e.to_string()),
        };
        let _ = ws.set_name("responses");
        let header: Vec<&str> = FIXED
            .iter()
            .copied()
            .chain(questions.iter().map(String::as_str))
            .collect();
        for (c, h) in header.iter().enumerate() {
            if let Err(e) = ws.write_string(0, c as u16, *h) {
                return fail(&tx, e.to_string());
            }
        }
        let mut row: u32 = 1;
        let mut after = 0i64;
        // Excel's limit is 1,048,576 rows per sheet; past it a new sheet continues.
        loop {
            let page =
                match handle.block_on(exports::responses_page(&db, &scope, &filter, after, PAGE)) {
                    Ok(p) => p,
                    Err(e) => return fail(&tx, e.to_string()),
                };
            let Some(last) = page.last() else { break };
            after = last.0.id;
            for (r, answers) in &page {
                if row >= 1_048_576 {
                    // Continue on a new sheet.
                    match wb.add_worksheet_with_constant_memory() {
                        Ok(_) => {}
                        Err(e) => return fail(&tx, e.to_string()),
                    }
                    row = 0;
                }
                let ws = match wb.worksheets_mut().last_mut() {
                    Some(ws) => ws,
                    None => return fail(&tx, "no worksheet".into()),
                };
                let province = provinces
                    .get(&r.ward_code)
                    .map(String::as_str)
                    .unwrap_or("");
                for (c, cell) in row_cells(r, answers, province, &questions)
                    .iter()
                    .enumerate()
                {
                    if let Err(e) = cell.write_xlsx(ws, row, c as u16) {
                        return fail(&tx, e.to_string());
                    }
                }
                row += 1;
            }
        }
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(256 * 1024),
        };
        if let Err(e) = wb.save_to_writer(&mut out) {
            return fail(&tx, e.to_string());
        }
        let _ = std::io::Write::flush(&mut out);
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}
