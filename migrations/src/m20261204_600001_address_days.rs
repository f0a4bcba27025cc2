//! Address concentration (docs/integrity.md): per ward, Vietnam day and client address (its
//! keyed hash with that day's key, never the address), how many online responses the writer
//! has registered. The writer adds a batch's responses with one upsert and reads the new
//! totals back in the same statement, so concurrent batches and instances agree on which
//! responses are past the day's allowance.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("address_days")
                    .col(string_len("ward_code", 5))
                    .col(string_len("day", 10))
                    .col(string_len("ip_hash", 64))
                    .col(big_integer("n"))
                    .primary_key(Index::create().col("ward_code").col("day").col("ip_hash"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("address_days").to_owned())
            .await
    }
}
