//! HTTP: public pages, the JSON API and shared middleware. Each module exports its router.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::error::{AppError, ErrorMessage};

pub mod api;
pub mod caller;
pub mod followup;
pub mod form;
pub mod privacy;
pub mod public;
pub mod reach;
pub mod reads;
pub mod results;
pub mod staff;
pub mod stream;
pub mod survey;

/// The interface language: Vietnamese first, English with `?lang=en`.
pub use crate::survey::Lang;

pub fn router(state: AppState) -> Router {
    let cfg = &state.config;
    let timeout = Duration::from_secs(cfg.request_timeout_secs);
    let body_limit = cfg.max_body_bytes;
    let hsts = cfg.base_url.starts_with("https://");
    Router::new()
        .merge(public::routes())
        .merge(staff::routes())
        .merge(api::routes())
        .merge(reach::routes())
        .merge(results::routes())
        .merge(followup::routes())
        .merge(privacy::routes())
        .route("/healthz", get(healthz))
        .route("/static/{file}", get(static_file))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            reads::note_staff_writes,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ratelimit::page_limit,
        ))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), error_pages))
        .layer(middleware::from_fn(move |req, next| {
            security_headers(req, next, hsts)
        }))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::monitor::track,
        ))
        .with_state(state)
}

/// 200 when the database answers and the last attempt to store did not fail; 503 otherwise
/// (see `docs/hardening.md`, "Health").
async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) if state.writer.health().is_failing() => {
            (StatusCode::SERVICE_UNAVAILABLE, "storing fails\n").into_response()
        }
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn static_file(Path(file): Path<String>) -> Response {
    match crate::templates::STATIC_FILES
        .iter()
        .find(|(name, _, _)| *name == file)
    {
        Some((_, ctype, body)) => (
            [
                (header::CONTENT_TYPE, *ctype),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => AppError::NotFound.into_response(),
    }
}

async fn fallback() -> AppError {
    AppError::NotFound
}

/// The request span of the HTTP trace: method, path and version, with a resident's private
/// link (`/privacy/{token}`) written without its token, and no query string (a receipt or an
/// invitation token has no place in a log either).
fn request_span(req: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %logged_path(req.uri().path()),
        version = ?req.version(),
    )
}

/// The path as logs may show it.
pub fn logged_path(path: &str) -> &str {
    if path.starts_with("/privacy/") {
        privacy::LOGGED_PATH
    } else {
        path
    }
}

/// Pages that show or are reached by a resident's private link: the thank-you page and
/// `/privacy/…`. They are never cached and send no Referer on.
fn is_private_page(path: &str) -> bool {
    path.starts_with("/privacy/") || (path.starts_with("/s/") && path.ends_with("/thanks"))
}

/// Security headers on every response (docs/console.md): a CSP without inline scripts, no framing,
/// no sniffing, a strict referrer policy (none at all from the private pages), and HSTS when
/// served over https.
async fn security_headers(req: Request, next: Next, hsts: bool) -> Response {
    let private = is_private_page(req.uri().path());
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if private {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if private {
            "no-referrer"
        } else {
            "same-origin"
        }),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    resp
}

/// Turns bare error responses (from handlers, the router, the body limit or the timeout) into
/// a page in Vietnamese and English, or a JSON error on `/api/`.
async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let lang = Lang::from_query(
        req.uri()
            .query()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang"))
            .map(|(_, v)| v.into_owned())
            .as_deref(),
    );
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    // Handlers that render their own page (the 422 survey form, 429) mark it as final.
    if resp.extensions().get::<FinalPage>().is_some() {
        return resp;
    }
    let detail = resp.extensions().get::<ErrorMessage>().map(|m| m.0.clone());
    let retry_after = resp.headers().get(header::RETRY_AFTER).cloned();
    let mut out = if is_api {
        let message = detail.unwrap_or_else(|| api_message(status).to_string());
        (
            status,
            axum::Json(serde_json::json!({ "error": message, "status": status.as_u16() })),
        )
            .into_response()
    } else {
        render_error_page(&state, status, lang, detail.as_deref())
    };
    if let Some(r) = retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, r);
    }
    out
}

/// Marks an error response whose body is already the page to show.
#[derive(Clone, Copy, Debug)]
pub struct FinalPage;

fn api_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not found",
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large",
        StatusCode::REQUEST_TIMEOUT => "request timed out",
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed",
        StatusCode::TOO_MANY_REQUESTS => "too many requests",
        s if s.is_server_error() => "internal error",
        _ => "bad request",
    }
}

/// (Vietnamese title, Vietnamese text, English title, English text) per status.
fn error_texts(status: StatusCode) -> (&'static str, &'static str, &'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => (
            "Không tìm thấy trang",
            "Trang hoặc phường, xã anh/chị tìm không tồn tại. Vui lòng kiểm tra lại đường dẫn hoặc mã QR.",
            "Page not found",
            "The page or the ward you are looking for does not exist. Please check the link or the QR code.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Nội dung gửi quá lớn",
            "Nội dung anh/chị gửi vượt quá giới hạn cho phép. Vui lòng rút ngắn ý kiến và gửi lại.",
            "Submission too large",
            "What you sent is larger than allowed. Please shorten your comments and send it again.",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "Hết thời gian chờ",
            "Yêu cầu mất quá nhiều thời gian. Vui lòng thử lại.",
            "Request timed out",
            "The request took too long. Please try again.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "Thao tác không được hỗ trợ",
            "Địa chỉ này không hỗ trợ thao tác đó.",
            "Method not allowed",
            "This address does not support that action.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "Định dạng không được hỗ trợ",
            "Phiếu khảo sát phải được gửi từ biểu mẫu trên trang.",
            "Unsupported format",
            "The survey must be sent from the form on the page.",
        ),
        StatusCode::FORBIDDEN => (
            "Không được phép",
            "Anh/chị không thể dùng đường dẫn này.",
            "Not allowed",
            "You cannot use this link.",
        ),
        StatusCode::GONE => (
            "Đường dẫn không còn dùng được",
            "Đường dẫn này đã được sử dụng hoặc đã hết hạn.",
            "This link can no longer be used",
            "This link has been used already or has expired.",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "Quá nhiều yêu cầu",
            "Anh/chị đã gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng đợi một lát rồi thử lại.",
            "Too many requests",
            "You have sent too many requests in a short time. Please wait a moment and try again.",
        ),
        s if s.is_server_error() => (
            "Hệ thống đang gặp sự cố",
            "Đã có lỗi xảy ra phía máy chủ. Câu trả lời của anh/chị chưa được lưu; vui lòng thử lại sau ít phút.",
            "Something went wrong",
            "An error occurred on the server. Your answers were not saved; please try again in a few minutes.",
        ),
        _ => (
            "Yêu cầu không hợp lệ",
            "Dữ liệu gửi lên không hợp lệ. Vui lòng quay lại biểu mẫu và thử lại.",
            "Invalid request",
            "The data sent is not valid. Please go back to the form and try again.",
        ),
    }
}

pub fn render_error_page(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    detail: Option<&str>,
) -> Response {
    let (vt, vx, et, ex) = error_texts(status);
    let (title, text) = match lang {
        Lang::Vi => (vt, vx),
        Lang::En => (et, ex),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert("status", &status.as_u16());
    ctx.insert("title", title);
    ctx.insert("text", text);
    // Only messages we wrote ourselves reach this point (AppError never carries database text).
    ctx.insert(
        "detail",
        &detail.filter(|d| *d != "not found" && *d != "internal error"),
    );
    let body = match state.tera.render("errors/error.html", &ctx) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot render the error page");
            format!("{status} {vt} / {et}")
        }
    };
    let mut resp = (status, Html(body)).into_response();
    resp.extensions_mut().insert(FinalPage);
    resp
}

/// A helper for handlers: an HTML response.
pub fn html(body: String) -> Response {
    Html(body).into_response()
}

pub fn empty(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .body(Body::empty())
        .unwrap_or_default()
}
