//! "Anh/chị nói, chúng tôi làm" (you said, we did): short notes a ward writes on what it did
//! about what residents raised in a period, shown publicly once its province approves them.
//! `state` is `pending`, `approved` or `rejected`; the reviewer and the time are kept.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("action_notes")
                    .col(big_pk_auto("id"))
                    .col(string_len("ward_code", 5))
                    .col(string_len("period", 7))
                    .col(text("body"))
                    .col(string_len("state", 16))
                    .col(big_integer("author_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(big_integer_null("reviewer_id"))
                    .col(timestamp_with_time_zone_null("reviewed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_action_notes_ward")
                            .from("action_notes", "ward_code")
                            .to("units", "code"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_action_notes_author")
                            .from("action_notes", "author_id")
                            .to("staff_users", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_action_notes_reviewer")
                            .from("action_notes", "reviewer_id")
                            .to("staff_users", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_action_notes_ward_state")
                    .table("action_notes")
                    .col("ward_code")
                    .col("state")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("action_notes").to_owned())
            .await
    }
}
