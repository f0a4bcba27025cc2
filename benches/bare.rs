//! The yardstick of `cargo run --release -p hailong-bench --bin bench`: the barest axum 0.8 server, serving a
//! 3 KB static page on `GET /` and parsing a 17-field form into a 303 on `POST /s/{ward_code}`.
//! Every throughput the harness reports for Hài Lòng is also given as a ratio to this.
//!
//! Usage: `bare [ADDR]` (default `127.0.0.1:0`); prints `listening on http://ADDR`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

/// A static page of about 3 KB.
fn page() -> &'static str {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| {
        let mut s = String::from(
            "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Khảo sát</title></head><body><main>",
        );
        let mut i = 0;
        while s.len() < 3000 {
            s.push_str(&format!(
                "<p>Câu hỏi {i}: Cán bộ tiếp đón, hướng dẫn người dân lịch sự, tận tình.</p>"
            ));
            i += 1;
        }
        s.push_str("</main></body></html>");
        s
    })
}

async fn static_page() -> Html<&'static str> {
    Html(page())
}

async fn form(Path(code): Path<String>, body: Bytes) -> Response {
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    if fields.len() < 17 {
        return (StatusCode::UNPROCESSABLE_ENTITY, "missing fields").into_response();
    }
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/s/{code}/thanks"))],
    )
        .into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let app = Router::new()
        .route("/", get(static_page))
        .route("/s/{ward_code}", axum::routing::post(form));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
