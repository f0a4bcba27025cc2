//! Assisted interviews (`channel = assisted`): who entered each one. One row per interview,
//! written in the response's transaction; the interviewer is a staff user of role
//! `interviewer:{ward}`. Kept apart from `responses` so that the hot insert of online
//! responses is unchanged, and indexed by interviewer for the province's per-interviewer
//! figures.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("response_interviewers")
                    .col(big_integer("response_id").primary_key())
                    .col(big_integer("interviewer_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_response_interviewers_response")
                            .from("response_interviewers", "response_id")
                            .to("responses", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_response_interviewers_user")
                            .from("response_interviewers", "interviewer_id")
                            .to("staff_users", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_response_interviewers_user")
                    .table("response_interviewers")
                    .col("interviewer_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("response_interviewers").to_owned())
            .await
    }
}
