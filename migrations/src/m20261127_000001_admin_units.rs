//! Provinces, their units (phường, xã, đặc khu) and the population margins used for weighting.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("provinces")
                    .col(string_len("code", 2).primary_key())
                    .col(string("name"))
                    .col(string("kind"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("units")
                    .col(string_len("code", 5).primary_key())
                    .col(string_len("province_code", 2))
                    .col(string("name"))
                    .col(string("kind"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_units_province")
                            .from("units", "province_code")
                            .to("provinces", "code"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_units_province")
                    .table("units")
                    .col("province_code")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("margins")
                    .col(string_len("ward_code", 5))
                    .col(string_len("sex", 1))
                    .col(string_len("age", 5))
                    .col(double("share"))
                    .primary_key(Index::create().col("ward_code").col("sex").col("age"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_margins_unit")
                            .from("margins", "ward_code")
                            .to("units", "code"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["margins", "units", "provinces"] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
