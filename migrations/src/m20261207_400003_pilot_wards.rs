//! The pilot group of model wards, edited by the ministry in the console (`/staff/pilot`).
//! One row per unit in the group: who added it and when. `serve` fills it once from
//! `[staff] pilot_wards` of the configuration (docs/console.md, "Pilot group").
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("pilot_wards")
                    .col(string_len("ward_code", 5).primary_key())
                    .col(timestamp_with_time_zone("added_at"))
                    .col(string("added_by"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pilot_wards_unit")
                            .from("pilot_wards", "ward_code")
                            .to("units", "code")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("pilot_wards").to_owned())
            .await
    }
}
