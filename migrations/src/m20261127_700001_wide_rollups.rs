//! Wide rollups: one row per ward × month × sex-age cell with an (n, Σ, Σ²) column
//! triple per metric slot, instead of one row per metric. A response then adds to one row
//! instead of about 35, and a ward's quarter is 36 rows to read instead of about 1,260.
//!
//! `rollup_slots` maps each metric name (`resp`, `score`, `dim:access`, `alpha:all:a1`, …) to
//! its slot, assigned once and never changed. The rows of the old long table are moved over
//! (slots in metric order) and the old table is dropped.
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{prelude::*, schema::*};

/// Metric slots per row: the columns `n0, s0, q0` … `n63, s63, q63`.
pub const SLOTS: usize = 64;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("rollup_slots")
                    .col(string("metric").primary_key())
                    .col(integer("slot").unique_key())
                    .to_owned(),
            )
            .await?;
        let mut table = Table::create();
        table
            .table("rollup_cells")
            .col(string_len("ward_code", 5))
            .col(string_len("month", 7))
            .col(string_len("cell", 8));
        for i in 0..SLOTS {
            table
                .col(big_integer(format!("n{i}")).default(0))
                .col(double(format!("s{i}")).default(0.0))
                .col(double(format!("q{i}")).default(0.0));
        }
        table.primary_key(Index::create().col("ward_code").col("month").col("cell"));
        manager.create_table(table.to_owned()).await?;

        // Move the long rows over, one slot at a time.
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let metrics = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT DISTINCT metric FROM rollups ORDER BY metric",
            ))
            .await?;
        if metrics.len() > SLOTS {
            return Err(DbErr::Migration(format!(
                "{} rollup metrics do not fit in {SLOTS} slots",
                metrics.len()
            )));
        }
        for (slot, row) in metrics.iter().enumerate() {
            let metric: String = row.try_get("", "metric")?;
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm_migration::sea_orm::DatabaseBackend::Postgres => {
                        "INSERT INTO rollup_slots (metric, slot) VALUES ($1, $2)"
                    }
                    _ => "INSERT INTO rollup_slots (metric, slot) VALUES (?, ?)",
                },
                [metric.clone().into(), (slot as i32).into()],
            ))
            .await?;
            let (n, s, q) = (format!("n{slot}"), format!("s{slot}"), format!("q{slot}"));
            let param = match backend {
                sea_orm_migration::sea_orm::DatabaseBackend::Postgres => "$1",
                _ => "?",
            };
            // `WHERE true` keeps SQLite's parser from reading ON CONFLICT as a join clause.
            let sql = format!(
                "INSERT INTO rollup_cells (ward_code, month, cell, {n}, {s}, {q}) \
                 SELECT ward_code, month, cell, n, sum, sumsq FROM rollups \
                 WHERE metric = {param} AND true \
                 ON CONFLICT (ward_code, month, cell) DO UPDATE SET \
                 {n} = excluded.{n}, {s} = excluded.{s}, {q} = excluded.{q}"
            );
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [metric.into()],
            ))
            .await?;
        }
        manager
            .drop_table(Table::drop().table("rollups").to_owned())
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the wide rollups cannot be turned back into the long table; rebuild from a backup"
                .into(),
        ))
    }
}
