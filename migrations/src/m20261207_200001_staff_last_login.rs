//! When each staff user last signed in, for the accounts page (`/staff/users`) and
//! `hailong users list`. NULL: never signed in. Filled from the audit log's `login` entries,
//! so accounts that signed in before this column existed do not show "never".
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("staff_users")
                    .add_column(timestamp_with_time_zone_null("last_login_at"))
                    .to_owned(),
            )
            .await?;
        // Plain SQL that both backends read the same way.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE staff_users SET last_login_at = (SELECT MAX(a.at) FROM audit_log a \
                 WHERE a.action = 'login' AND a.actor = staff_users.email)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("staff_users")
                    .drop_column("last_login_at")
                    .to_owned(),
            )
            .await
    }
}
