//! Burst detection counts a ward's recent online responses, flagged or not, on every batch of
//! submissions: an index that covers the whole count (ward, time, channel, flag) answers it
//! without reading the response rows. It replaces the index on (ward, time).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_responses_burst")
                    .table("responses")
                    .col("ward_code")
                    .col("submitted_at")
                    .col("channel")
                    .col("flag_reason")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_responses_ward_submitted")
                    .table("responses")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_responses_ward_submitted")
                    .table("responses")
                    .col("ward_code")
                    .col("submitted_at")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_responses_burst")
                    .table("responses")
                    .to_owned(),
            )
            .await
    }
}
