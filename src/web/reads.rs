//! The read connection of a request, as an extractor: handlers of heavy reads take
//! [`Reads`] (exports, the JSON API, public results and open data) or [`ConsoleReads`] (staff
//! console pages) and read through `reads.db()`; everything else uses `state.db`, the primary.
//! Where a read goes is decided once, by `replica::ReadRouter::route`:
//!
//! ```ignore
//! async fn inbox(State(state): State<AppState>, staff: Staff, reads: ConsoleReads) -> … {
//!     let items = feedback::inbox(reads.db(), …).await?;
//!     let mut ctx = staff.context();
//!     reads.mark(&mut ctx); // the "figures may be late" notice, when the standby lags
//! }
//! ```
//!
//! [`note_staff_writes`] is the other half of read-your-writes: after a staff request that
//! may have changed data, it keeps the primary's WAL position in the session row.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;

use crate::app::AppState;
use crate::auth::session::{SESSION_COOKIE, read_cookie};
use crate::replica::Route;

/// The connection a request's reads use: the standby or the primary.
pub struct Reads {
    db: DatabaseConnection,
    pub route: Route,
}

impl Reads {
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    async fn resolve(parts: &mut Parts, state: &AppState, console: bool) -> Result<Self, Response> {
        // Without a standby nothing is looked up: every read is on the primary.
        let session_lsn = if state.reads.has_standby() {
            crate::web::staff::resolved_session(parts, state)
                .await
                .map_err(IntoResponse::into_response)?
                .and_then(|s| s.last_write_lsn)
        } else {
            None
        };
        let (db, route) = state.reads.route(session_lsn, console);
        if state.reads.has_standby() {
            state.metrics.read_routed(
                if route.standby { "standby" } else { "primary" },
                route.why.as_str(),
            );
        }
        Ok(Reads {
            db: db.clone(),
            route,
        })
    }
}

impl FromRequestParts<AppState> for Reads {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Reads::resolve(parts, state, false).await
    }
}

/// The reads of a staff console page: past the lag limit it still reads the standby, and
/// [`ConsoleReads::mark`] puts the notice on the page.
pub struct ConsoleReads(pub Reads);

impl std::ops::Deref for ConsoleReads {
    type Target = Reads;
    fn deref(&self) -> &Reads {
        &self.0
    }
}

impl ConsoleReads {
    /// Puts `stale_secs` (the standby's lag, when past the limit) into a page's context;
    /// `staff/layout.html` shows "Số liệu có thể chậm khoảng N giây so với thực tế".
    pub fn mark(&self, ctx: &mut tera::Context) {
        ctx.insert("stale_secs", &self.0.route.lag_notice);
    }
}

impl FromRequestParts<AppState> for ConsoleReads {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Reads::resolve(parts, state, true).await.map(ConsoleReads)
    }
}

/// Middleware (`web::router` adds it): with a standby, after a `/staff` request other than
/// GET or HEAD that succeeded (or redirected), notes the primary's WAL position in the
/// session row of the request's session, or of the session its response signs in, so that
/// the session's next reads use the primary until the standby has replayed its change.
pub async fn note_staff_writes(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if !state.reads.has_standby()
        || matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || !req.uri().path().starts_with("/staff")
    {
        return next.run(req).await;
    }
    let mut session = read_cookie(req.headers(), SESSION_COOKIE);
    let resp = next.run(req).await;
    if resp.status().is_client_error() || resp.status().is_server_error() {
        return resp;
    }
    // A sign-in: the session it starts.
    if let Some(new) = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .and_then(|kv| kv.trim().strip_prefix(SESSION_COOKIE))
                .and_then(|rest| rest.strip_prefix('='))
                .filter(|value| !value.is_empty())
                .map(str::to_string)
        })
    {
        session = Some(new);
    }
    if let Some(token) = session.filter(|t| t.len() == 64) {
        let id = crate::auth::sha256_hex(&token);
        if let Err(e) = crate::store::staff::note_write(&state.db, &id).await {
            tracing::warn!(
                error = %e,
                "cannot note a staff change for read-your-writes: the next page may not show it yet"
            );
        }
    }
    resp
}
