//! Responses (one row each) and their answers (one row per answered question), plus contact
//! e-mails kept apart from both.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("responses")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("receipt", 16))
                    .col(string_len("ward_code", 5))
                    .col(string("survey_id"))
                    .col(integer("survey_version"))
                    .col(string_len("channel", 8))
                    .col(timestamp_with_time_zone("submitted_at"))
                    // Calendar month in Asia/Ho_Chi_Minh time, `YYYY-MM`: the rollup period.
                    .col(string_len("month", 7))
                    .col(string_len("cell", 8))
                    // `counted` or `flagged`: flagged responses are stored but kept out of rollups.
                    .col(string_len("status", 8))
                    .col(string_null("flag_reason"))
                    .col(string_null("device_hash"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_responses_unit")
                            .from("responses", "ward_code")
                            .to("units", "code"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_responses_ward_month")
                    .table("responses")
                    .col("ward_code")
                    .col("month")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("answers")
                    .col(big_integer("response_id"))
                    .col(string("question_id"))
                    // Numeric answers (Likert 1–5, scale 0–10); NULL with `value_text` NULL means `na`.
                    .col(integer_null("value_num"))
                    .col(text_null("value_text"))
                    .primary_key(Index::create().col("response_id").col("question_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_answers_response")
                            .from("answers", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("contacts")
                    .col(big_integer("response_id").primary_key())
                    .col(string("email"))
                    .col(boolean("consent"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contacts_response")
                            .from("contacts", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["contacts", "answers", "responses"] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
