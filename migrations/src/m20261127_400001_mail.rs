//! E-mail: the durable outbox the worker sends from, officers' replies to residents with the
//! residents' follow-up answers, and digest opt-outs.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .col(big_pk_auto("id"))
                    // `ward_alert`, `reply`, `followup`, `digest`, `invite`, `password_reset`.
                    .col(string_len("kind", 32))
                    .col(string("recipient"))
                    .col(text("subject"))
                    .col(text("body_text"))
                    .col(text("body_html"))
                    // Extra headers as a JSON array of [name, value] pairs.
                    .col(text("headers"))
                    // `pending`, `sent` or `failed`.
                    .col(string_len("status", 16))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    // A worker's lease: nobody else may send the message before this time.
                    .col(timestamp_with_time_zone_null("claimed_until"))
                    .col(text_null("last_error"))
                    // Enqueue-once key (e.g. one digest per user and week); NULL for most.
                    .col(string_len_null("dedup_key", 128).unique_key())
                    // What caused the message, e.g. `response:42`.
                    .col(string_len_null("ref_key", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_due")
                    .table("outbox")
                    .col("status")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("feedback_replies")
                    .col(big_pk_auto("id"))
                    .col(big_integer("response_id"))
                    .col(big_integer("author_id"))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("followup_due_at"))
                    .col(timestamp_with_time_zone_null("followup_enqueued_at"))
                    // The resident's one-click answer: `yes` or `no`.
                    .col(string_len_null("resolved", 8))
                    .col(timestamp_with_time_zone_null("answered_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feedback_replies_response")
                            .from("feedback_replies", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feedback_replies_author")
                            .from("feedback_replies", "author_id")
                            .to("staff_users", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_replies_response")
                    .table("feedback_replies")
                    .col("response_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("mail_optouts")
                    .col(big_integer("user_id").primary_key())
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mail_optouts_user")
                            .from("mail_optouts", "user_id")
                            .to("staff_users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["mail_optouts", "feedback_replies", "outbox"] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
