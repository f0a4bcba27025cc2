//! The audit trail of staff actions: recording (into `audit_log`, issue 5) and the ministry's
//! page that reads it.

use axum::Router;

use crate::app::AppState;
use crate::store::staff::StaffUser;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// Records one staff action. Never fails the request: a failure to write is logged loudly.
pub async fn record(
    _state: &AppState,
    actor: Option<&StaffUser>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    // Until `store::audit` (issue 5) is merged, the trail goes to the log.
    tracing::info!(
        target: "audit",
        actor = actor.map(|a| a.email.as_str()).unwrap_or("-"),
        action,
        target_ref = target,
        detail = %detail,
        "staff action"
    );
}
