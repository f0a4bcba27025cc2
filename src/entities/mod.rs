//! sea-orm entities, one per table, written entity-first to match `migrations/`.
//! Behaviour lives in `crate::store`, never here.
pub mod answer;
pub mod api_token;
pub mod contact;
pub mod criteria_value;
pub mod feedback_note;
pub mod feedback_state;
pub mod margin;
pub mod province;
pub mod response;
pub mod rollup;
pub mod staff_session;
pub mod staff_user;
pub mod unit;
