//! Staff accounts, their server-side sessions, API tokens for the ministry's integrations, and
//! the ward inbox's workflow state (status, assignee) and internal notes on feedback.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("staff_users")
                    .col(big_pk_auto("id"))
                    .col(string_uniq("email"))
                    // argon2id PHC string.
                    .col(string("password_hash"))
                    // `ministry`, `province` or `ward`.
                    .col(string_len("role", 16))
                    // The province or ward code of the role; NULL for the ministry.
                    .col(string_len_null("scope_code", 5))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("staff_sessions")
                    // SHA-256 of the cookie value: a leaked table does not give live sessions.
                    .col(string_len("id", 64).primary_key())
                    .col(big_integer("user_id"))
                    .col(string_len("csrf", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_sessions_user")
                            .from("staff_sessions", "user_id")
                            .to("staff_users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_sessions_user")
                    .table("staff_sessions")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("api_tokens")
                    .col(big_pk_auto("id"))
                    .col(string("name"))
                    // SHA-256 of the token (tokens are 256-bit random, so a plain hash is enough).
                    .col(string_len_uniq("token_hash", 64))
                    .col(big_integer("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_tokens_user")
                            .from("api_tokens", "created_by")
                            .to("staff_users", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("feedback_states")
                    .col(big_integer("response_id").primary_key())
                    // `new`, `in_progress`, `resolved` or `not_actionable` (no row means `new`).
                    .col(string_len("status", 16))
                    .col(big_integer_null("assignee_id"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feedback_states_response")
                            .from("feedback_states", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feedback_states_assignee")
                            .from("feedback_states", "assignee_id")
                            .to("staff_users", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("feedback_notes")
                    .col(big_pk_auto("id"))
                    .col(big_integer("response_id"))
                    .col(big_integer("author_id"))
                    .col(text("body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feedback_notes_response")
                            .from("feedback_notes", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feedback_notes_author")
                            .from("feedback_notes", "author_id")
                            .to("staff_users", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_notes_response")
                    .table("feedback_notes")
                    .col("response_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "feedback_notes",
            "feedback_states",
            "api_tokens",
            "staff_sessions",
            "staff_users",
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
