//! Schema migrations for Hài Lòng. Append-only: one change per file, backend-neutral schema
//! helpers only, so the same files run on SQLite and PostgreSQL.
pub use sea_orm_migration::prelude::*;

mod m20261127_000001_admin_units;
mod m20261127_000002_responses;
mod m20261127_000003_rollups;
mod m20261127_100001_integrity;
mod m20261127_200001_staff;
mod m20261127_400001_mail;
mod m20261127_700001_wide_rollups;
mod m20261127_700002_burst_index;
mod m20261128_000001_inline_answers;
mod m20261128_000002_drop_ward_month_index;
mod m20261128_100001_writer_lookups;
mod m20261203_300001_action_notes;
mod m20261204_300001_withheld;
mod m20261204_400001_privacy_links;
mod m20261204_500001_session_write_lsn;
mod m20261204_600001_address_days;
mod m20261207_100001_response_interviewers;
mod m20261207_200001_staff_last_login;
mod m20261207_300001_address_days_compact;
mod m20261207_400002_audit_log_indexes;
mod m20261207_400003_pilot_wards;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_admin_units::Migration),
            Box::new(m20261127_000002_responses::Migration),
            Box::new(m20261127_000003_rollups::Migration),
            Box::new(m20261127_100001_integrity::Migration),
            Box::new(m20261127_200001_staff::Migration),
            Box::new(m20261127_400001_mail::Migration),
            Box::new(m20261127_700001_wide_rollups::Migration),
            Box::new(m20261127_700002_burst_index::Migration),
            Box::new(m20261128_000001_inline_answers::Migration),
            Box::new(m20261128_000002_drop_ward_month_index::Migration),
            Box::new(m20261128_100001_writer_lookups::Migration),
            Box::new(m20261203_300001_action_notes::Migration),
            Box::new(m20261204_300001_withheld::Migration),
            Box::new(m20261204_400001_privacy_links::Migration),
            Box::new(m20261204_500001_session_write_lsn::Migration),
            Box::new(m20261204_600001_address_days::Migration),
            Box::new(m20261207_100001_response_interviewers::Migration),
            Box::new(m20261207_200001_staff_last_login::Migration),
            Box::new(m20261207_300001_address_days_compact::Migration),
            Box::new(m20261207_400002_audit_log_indexes::Migration),
            Box::new(m20261207_400003_pilot_wards::Migration),
        ]
    }
}
