//! Who is calling the JSON API: the public, a signed-in staff member (session cookie), or an
//! integration with a ministry API token (`Authorization: Bearer hl_…`).
//!
//! ```ignore
//! async fn satisfaction(caller: Caller, …) {
//!     let unit = find_unit(…).filter(|u| caller.allows_ward(u)).ok_or(AppError::NotFound)?;
//!     let show_all_values = caller.sees_all_values();
//! }
//! ```

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::store::staff::StaffUser;
use crate::store::units::UnitInfo;
use crate::web::staff::Staff;

#[derive(Debug, Clone)]
pub enum Caller {
    Public,
    Staff(StaffUser),
    /// A live ministry API token (its id and name).
    Token {
        id: i64,
        name: String,
    },
}

impl Caller {
    /// Ministry callers (a ministry session or an API token) always get the values, even
    /// where the status is `insufficient_data` (docs/api.md).
    pub fn sees_all_values(&self) -> bool {
        match self {
            Caller::Public => false,
            Caller::Staff(u) => u.scope.is_ministry(),
            Caller::Token { .. } => true,
        }
    }

    /// Whether this caller may read the ward: staff only within their scope (outside it the
    /// API answers 404, as for a ward that does not exist); the public and tokens everywhere.
    pub fn allows_ward(&self, unit: &UnitInfo) -> bool {
        match self {
            Caller::Staff(u) => u.scope.contains_ward(unit),
            _ => true,
        }
    }

    /// Whether this caller may read a whole province (a ward user may not).
    pub fn allows_province(&self, code: &str) -> bool {
        match self {
            Caller::Staff(u) => u.scope.contains_province(code),
            _ => true,
        }
    }
}

impl Caller {
    /// The caller of a request known only by its headers (for handlers that take a
    /// `HeaderMap` rather than the extractor). `Err` is the 401 of a bad or revoked token.
    pub async fn from_headers(
        state: &AppState,
        headers: &axum::http::HeaderMap,
    ) -> Result<Caller, Response> {
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        parts.headers = headers.clone();
        <Caller as FromRequestParts<AppState>>::from_request_parts(&mut parts, state).await
    }
}

fn unauthorized(message: &str) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({"error": message, "status": 401})),
    )
        .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r.extensions_mut().insert(crate::web::FinalPage);
    r
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            // A bad or revoked token is refused, never silently treated as public.
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(|| unauthorized("Authorization must be `Bearer <token>`"))?;
            return match crate::store::api_tokens::verify(&state.db, token).await {
                Ok(Some(t)) => Ok(Caller::Token {
                    id: t.id,
                    name: t.name,
                }),
                Ok(None) => Err(unauthorized("invalid or revoked API token")),
                Err(e) => Err(crate::error::AppError::from(e).into_response()),
            };
        }
        // An interviewer's session is refused (403), never read as the public: it reads nothing.
        match <Staff as axum::extract::OptionalFromRequestParts<AppState>>::from_request_parts(
            parts, state,
        )
        .await?
        {
            Some(s) => Ok(Caller::Staff(s.user)),
            None => Ok(Caller::Public),
        }
    }
}
