//! Integrity, privacy and reach (docs/console.md): the staff audit log, the one-device-per-ward-per-
//! quarter register, invitation tokens, posters, server keys (the HMAC secret and the daily
//! address-hashing keys) and the hashed origin of each online response.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Append-only: rows are inserted, never updated or deleted by the application.
        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(string("actor"))
                    .col(string("action"))
                    .col(string("target"))
                    .col(text_null("detail"))
                    .to_owned(),
            )
            .await?;
        // The first response of a device (keyed hash of its cookie) per ward and quarter. The
        // primary key makes "insert, or learn that the device already answered" atomic on both
        // databases, across transactions and server instances.
        manager
            .create_table(
                Table::create()
                    .table("device_quarters")
                    .col(string_len("ward_code", 5))
                    .col(string_len("device_hash", 64))
                    .col(string_len("quarter", 7))
                    .col(big_integer_null("response_id"))
                    .primary_key(
                        Index::create()
                            .col("ward_code")
                            .col("device_hash")
                            .col("quarter"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("invitation_tokens")
                    // SHA-256 of the token, hex; the token itself is never stored.
                    .col(string_len("token_hash", 64).primary_key())
                    .col(string_len("ward_code", 5))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(big_integer_null("response_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_tokens_unit")
                            .from("invitation_tokens", "ward_code")
                            .to("units", "code"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("posters")
                    // `{ward_code}-{serial}-{signature}`: signed with the server secret.
                    .col(string_len("id", 64).primary_key())
                    .col(string_len("ward_code", 5))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_posters_unit")
                            .from("posters", "ward_code")
                            .to("units", "code"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_posters_ward")
                    .table("posters")
                    .col("ward_code")
                    .to_owned(),
            )
            .await?;
        // `server_secret` (created on first start, shared by every instance) and
        // `ip_key:YYYY-MM-DD` (one random key per day, deleted after two days).
        manager
            .create_table(
                Table::create()
                    .table("server_keys")
                    .col(string_len("name", 64).primary_key())
                    .col(string_len("value", 128))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("response_origins")
                    .col(big_integer("response_id").primary_key())
                    // HMAC of the client address with the day's key; never the address.
                    .col(string_len("ip_hash", 64))
                    .col(string_len("day", 10))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_response_origins_response")
                            .from("response_origins", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Burst detection counts a ward's recent online responses.
        manager
            .create_index(
                Index::create()
                    .name("idx_responses_ward_submitted")
                    .table("responses")
                    .col("ward_code")
                    .col("submitted_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_responses_ward_submitted")
                    .table("responses")
                    .to_owned(),
            )
            .await?;
        for t in [
            "response_origins",
            "server_keys",
            "posters",
            "invitation_tokens",
            "device_quarters",
            "audit_log",
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
