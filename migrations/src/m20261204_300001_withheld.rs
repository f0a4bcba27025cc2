//! Responses withheld from their ward: a comment or issue that names misconduct by the police
//! ("hối lộ", "đòi tiền"…) is kept from the accused ward's inbox and alerts until a province or
//! ministry user releases it. The scores count as usual; only who may read the text changes.
//! One row per withheld response: the keywords found, when, and who released it and when.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("withheld_responses")
                    .col(big_integer("response_id").primary_key())
                    .col(string_len("ward_code", 5))
                    .col(text("keywords"))
                    .col(timestamp_with_time_zone("withheld_at"))
                    .col(timestamp_with_time_zone_null("released_at"))
                    .col(text_null("released_by"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_withheld_responses_response")
                            .from("withheld_responses", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_withheld_responses_ward")
                    .table("withheld_responses")
                    .col("ward_code")
                    .col("released_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("withheld_responses").to_owned())
            .await
    }
}
