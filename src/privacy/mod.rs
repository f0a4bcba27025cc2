//! Privacy (docs/console.md, docs/privacy.md): masking free text for staff, keyed hashing of
//! addresses and devices with keys shared by every instance, and the retention purges of contact
//! e-mails, old free text and the bodies of sent mail. A resident's own erasure requests are in
//! `store::privacy`.
//!
//! Free-text answers are stored as written and masked on read ([`mask_text`]): whoever shows a
//! comment, issue or reply to staff must pass it through `mask_text` first.

pub mod keys;
pub mod mask;
pub mod retention;

pub use mask::mask_text;
