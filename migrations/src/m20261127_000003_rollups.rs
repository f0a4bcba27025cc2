//! Exact additive rollups per ward × month × sex-age cell × metric (count, Σ, Σ²), from which
//! every figure of the satisfaction measure is derived without reading raw responses; and the
//! values of the other ward-score criteria.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("rollups")
                    .col(string_len("ward_code", 5))
                    .col(string_len("month", 7))
                    .col(string_len("cell", 8))
                    .col(string("metric"))
                    .col(big_integer("n"))
                    .col(double("sum"))
                    .col(double("sumsq"))
                    .primary_key(
                        Index::create()
                            .col("ward_code")
                            .col("month")
                            .col("cell")
                            .col("metric"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("criteria_values")
                    .col(string_len("ward_code", 5))
                    .col(string_len("period", 7))
                    .col(string("criterion"))
                    .col(double("value"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(
                        Index::create()
                            .col("ward_code")
                            .col("period")
                            .col("criterion"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_criteria_unit")
                            .from("criteria_values", "ward_code")
                            .to("units", "code"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["criteria_values", "rollups"] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
