//! sea-orm entities, one per table, written entity-first to match `migrations/`.
//! Behaviour lives in `crate::store`, never here.
pub mod answer;
pub mod audit_log;
pub mod contact;
pub mod criteria_value;
pub mod device_quarter;
pub mod invitation_token;
pub mod margin;
pub mod poster;
pub mod province;
pub mod response;
pub mod response_origin;
pub mod rollup;
pub mod server_key;
pub mod unit;
