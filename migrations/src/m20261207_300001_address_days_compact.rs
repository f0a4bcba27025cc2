//! A smaller `address_days`: keyed (day, ward, address key) where the address key is the first
//! 16 hex digits (64 bits) of the day's address hash, and on SQLite a `WITHOUT ROWID` table.
//! The first layout stored the 64-digit hash twice (the rowid table and its primary-key index),
//! about 190 bytes per address and day, and every new address dirtied two random pages: on a
//! busy day the table outgrew the page cache and cost the writer about a third of its
//! throughput. Day first keeps a day's rows together, so today's part stays in the cache and
//! the daily purge of old days is one range. Existing counts are carried over.
use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let rowid = if manager.get_database_backend() == DbBackend::Sqlite {
            " WITHOUT ROWID"
        } else {
            ""
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE address_counts (day VARCHAR(10) NOT NULL, ward_code VARCHAR(5) NOT NULL, \
             ip_key VARCHAR(16) NOT NULL, n BIGINT NOT NULL, \
             PRIMARY KEY (day, ward_code, ip_key)){rowid}"
        ))
        .await?;
        db.execute_unprepared(
            "INSERT INTO address_counts (day, ward_code, ip_key, n) \
             SELECT day, ward_code, substr(ip_hash, 1, 16), SUM(n) FROM address_days \
             GROUP BY day, ward_code, substr(ip_hash, 1, 16)",
        )
        .await?;
        db.execute_unprepared("DROP TABLE address_days").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE address_days (ward_code VARCHAR(5) NOT NULL, day VARCHAR(10) NOT NULL, \
             ip_hash VARCHAR(64) NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (ward_code, day, ip_hash))",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO address_days (ward_code, day, ip_hash, n) \
             SELECT ward_code, day, ip_key, n FROM address_counts",
        )
        .await?;
        db.execute_unprepared("DROP TABLE address_counts").await?;
        Ok(())
    }
}
