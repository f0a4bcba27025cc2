//! The resident's private link to their own answer (`/privacy/{id}-{secret}`): one row per
//! online response, written in the response's transaction. The link's 128 random bits are kept
//! only as their SHA-256; the response id in the link selects the row, so the lookup is the
//! primary key and the table grows at its end like `responses` does.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("privacy_links")
                    .col(big_integer("response_id").primary_key())
                    .col(string_len("secret_hash", 64))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_privacy_links_response")
                            .from("privacy_links", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("privacy_links").to_owned())
            .await
    }
}
