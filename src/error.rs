//! One error type for the web layer. Users see a clear message in their language; the logs get
//! the cause; database text never reaches a user.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The thing asked for does not exist — or is outside the caller's scope, which looks the same.
    #[error("not found")]
    NotFound,
    /// Bad input on the JSON API.
    #[error("{0}")]
    BadRequest(String),
    #[error("request body is not valid")]
    UnprocessableBody(String),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("template error: {0}")]
    Template(#[from] tera::Error),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::UnprocessableBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Db(_) | AppError::Template(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        // The HTML rendering of errors happens in the error-page middleware of `web`, which
        // sees this marker and the status; here we only carry a safe message.
        let message = match &self {
            AppError::BadRequest(m) | AppError::UnprocessableBody(m) => m.clone(),
            AppError::NotFound => "not found".into(),
            _ => "internal error".into(),
        };
        let mut resp = (status, message.clone()).into_response();
        resp.extensions_mut().insert(ErrorMessage(message));
        resp
    }
}

/// Carried on error responses so the error-page layer can render a page or JSON.
#[derive(Clone, Debug)]
pub struct ErrorMessage(pub String);
