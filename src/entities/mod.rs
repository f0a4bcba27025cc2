//! sea-orm entities, one per table, written entity-first to match `migrations/`.
//! Behaviour lives in `crate::store`, never here.
pub mod action_note;
pub mod api_token;
pub mod audit_log;
pub mod contact;
pub mod criteria_value;
pub mod device_quarter;
pub mod feedback_note;
pub mod feedback_reply;
pub mod feedback_state;
pub mod invitation_token;
pub mod mail_optout;
pub mod margin;
pub mod outbox;
pub mod pilot_ward;
pub mod poster;
pub mod privacy_link;
pub mod province;
pub mod response;
pub mod response_interviewer;
pub mod response_origin;
pub mod server_key;
pub mod staff_session;
pub mod staff_user;
pub mod unit;
pub mod withheld_response;
