//! Read-your-writes with a read replica: after a staff session changes something, the
//! primary's WAL position is kept in its session row, and that session's reads use the primary
//! until the standby has replayed past it. In the row, so that every instance behind a load
//! balancer knows it. NULL: the session has changed nothing (or no standby is configured).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("staff_sessions")
                    .add_column(big_integer_null("last_write_lsn"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("staff_sessions")
                    .drop_column("last_write_lsn")
                    .to_owned(),
            )
            .await
    }
}
