//! The audit trail of staff actions: recording (into `audit_log`, issue 5) and the ministry's
//! page that reads it.

use axum::Router;

use crate::app::AppState;
use crate::store::staff::StaffUser;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// Records one staff action in the append-only `audit_log`. The action it records has
/// already happened, so a failure to write does not undo it: it is logged as an error.
pub async fn record(
    state: &AppState,
    actor: Option<&StaffUser>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    let actor = actor.map_or("-", |a| a.email.as_str());
    let detail = (!detail.as_object().is_some_and(|o| o.is_empty())).then(|| detail.to_string());
    if let Err(e) = crate::store::audit::record(&state.db, actor, action, target, detail).await {
        tracing::error!(error = %e, action, "cannot write the audit log");
    }
}
