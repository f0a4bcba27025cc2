//! Every stored response updated three indexes on `responses` besides its primary key; each
//! insert dirties a page of each, written to the log at every commit. The index on
//! (ward, month) is served by the burst index on (ward, time, channel, flag), whose first column
//! is the ward: a ward's inbox or export reads the ward's rows from it and filters the months.
//! The satisfaction figures never read `responses` (they read the rollups).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_responses_ward_month")
                    .table("responses")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_responses_ward_month")
                    .table("responses")
                    .col("ward_code")
                    .col("month")
                    .to_owned(),
            )
            .await
    }
}
