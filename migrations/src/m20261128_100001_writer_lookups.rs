//! What the group-commit writer looks up in every batch gets what makes it cheap.
//!
//! * `staff_users (scope_code)`: the writer asks which of a batch's wards have an officer to
//!   alert. Without an index PostgreSQL planned that query anew for every batch (half a
//!   millisecond of a batch's time), because the writer's session avoids sequential scans.
//! * On PostgreSQL, `rollup_cells` keeps a third of each page free: a rollup row is updated in
//!   place by every response of its cell, and an updated row that fits on its own page is a
//!   heap-only update, with no new entry in the primary key's index.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_users_scope")
                    .table("staff_users")
                    .col("scope_code")
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE rollup_cells SET (fillfactor = 66)")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE rollup_cells RESET (fillfactor)")
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_staff_users_scope")
                    .table("staff_users")
                    .to_owned(),
            )
            .await
    }
}
