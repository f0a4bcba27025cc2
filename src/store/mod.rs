//! Queries and writes over the entities; rollup maintenance.

pub mod accounts;
pub mod actions;
pub mod api_tokens;
pub mod audit;
pub mod ballots;
pub mod csvio;
pub mod exports;
pub mod feedback;
pub mod figures;
pub mod flags;
pub mod health;
pub mod integrity;
pub mod interviews;
pub mod pilot;
pub mod posters;
pub mod privacy;
pub mod responses;
pub mod rollups;
pub mod staff;
pub mod tokens;
pub mod unit_moves;
pub mod units;
pub mod verify;
pub mod withheld;
pub mod writer;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// Begins a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`, waiting up to the busy timeout): a deferred transaction that reads first
/// (the burst count, a flag transition) would otherwise fail with SQLITE_BUSY when it upgrades
/// to writing while another connection writes. PostgreSQL gets a plain `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Splits `items` into chunks of `max` and one chunk of what is left, so that a bulk statement
/// over a batch is one statement (two above `max`). Each row count is a statement shape of its
/// own, prepared once per connection: the writer's batches take at most [`writer::MAX_BATCH`]
/// rows, so the shapes are few, and one round trip per table and batch costs less than the
/// splits into powers of two that kept the shapes fewer still (measured on PostgreSQL, where
/// each statement is a round trip to another process).
pub(crate) fn exact_chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    items.chunks(max.max(1)).collect()
}

/// The responses of `period`: by month key, and by submission time, which lets the burst
/// index (ward, time, …) serve a ward's inbox and exports (see [`crate::period::Period::bounds`]).
pub(crate) fn in_period(period: crate::period::Period) -> sea_orm::Condition {
    use crate::entities::response;
    use sea_orm::ColumnTrait;
    let (from, to) = period.bounds();
    sea_orm::Condition::all()
        .add(response::Column::Month.is_in(period.months()))
        .add(response::Column::SubmittedAt.gte(from))
        .add(response::Column::SubmittedAt.lt(to))
}

/// A list of values bound as one JSON array parameter, for `{column} IN (SELECT value FROM
/// json_each(?))` on SQLite and `{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST($1
/// AS jsonb))))` on PostgreSQL: the statement has one shape whatever the number of values, so
/// it is prepared and planned once per connection (an `IN (?, ?, …)` list is a new statement
/// for every length). The index on `column` still serves it: SQLite looks each value up,
/// PostgreSQL gets an `= ANY(array)` index condition. [`in_json_list_sql`] writes the
/// condition; the writer's statements that use it (the burst counts, the staffed wards) are
/// written out as text, not built by the query builder for every batch.
pub(crate) fn json_list(values: &[String]) -> sea_orm::Value {
    sea_orm::Value::from(serde_json::Value::from(values.to_vec()))
}

/// The condition that `column` is one of the values of a [`json_list`] bound as the
/// statement's first parameter.
pub(crate) fn in_json_list_sql(backend: sea_orm::DbBackend, column: &str) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => {
            format!("{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST($1 AS jsonb))))")
        }
        _ => format!("{column} IN (SELECT value FROM json_each(?))"),
    }
}

/// The text of a multi-row statement `{head} VALUES (…), (…) {tail}` with `rows` rows of
/// `cols` placeholders in the backend's style, built once per shape and then shared: the hot
/// bulk writes skip the query builder, and the database reuses the prepared statement.
pub(crate) fn values_sql(
    backend: sea_orm::DbBackend,
    head: &str,
    cols: usize,
    rows: usize,
    tail: &str,
) -> std::sync::Arc<str> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};
    // By (backend, columns, rows), the few statements of that shape: looked up without
    // copying or hashing the heads, which run to kilobytes for the rollup upsert.
    type Shapes = HashMap<(bool, usize, usize), Vec<(Box<str>, Box<str>, Arc<str>)>>;
    static CACHE: LazyLock<Mutex<Shapes>> = LazyLock::new(Default::default);
    let pg = backend == sea_orm::DbBackend::Postgres;
    let key = (pg, cols, rows);
    if let Some(sql) = CACHE.lock().ok().and_then(|c| {
        c.get(&key)?
            .iter()
            .find(|(h, t, _)| **h == *head && **t == *tail)
            .map(|(_, _, sql)| sql.clone())
    }) {
        return sql;
    }
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * cols * 5 + 16);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    let mut p = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            p += 1;
            if pg {
                sql.push('$');
                sql.push_str(&p.to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    if !tail.is_empty() {
        sql.push(' ');
        sql.push_str(tail);
    }
    let sql: Arc<str> = sql.into();
    if let Ok(mut c) = CACHE.lock() {
        // A bounded number of shapes in practice; the bound keeps a bug from growing it.
        if c.len() > 4096 {
            c.clear();
        }
        c.entry(key)
            .or_default()
            .push((head.into(), tail.into(), sql.clone()));
    }
    sql
}

/// Executes `{head} VALUES (…), (…) {tail}` over `values`, rows of `cols` values in the order
/// of the columns of `head`, in chunks (see [`exact_chunks`]) of at most `max_rows`
/// rows and the backend's parameter budget. SQLite takes up to 32,766 bound parameters; on
/// PostgreSQL a statement is kept to about a thousand, because sqlx sends larger ones over TCP
/// in a way that meets delayed ACKs (40 ms stalls, measured on loopback).
pub(crate) async fn execute_rows(
    db: &impl sea_orm::ConnectionTrait,
    head: &str,
    cols: usize,
    values: Vec<sea_orm::Value>,
    tail: &str,
    max_rows: usize,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let budget = match backend {
        sea_orm::DbBackend::Sqlite => 30_000,
        _ => 1_000,
    };
    let rows: Vec<usize> = (0..values.len() / cols.max(1)).collect();
    let mut values = values.into_iter();
    for chunk in exact_chunks(&rows, (budget / cols.max(1)).clamp(1, max_rows)) {
        let part: Vec<sea_orm::Value> = values.by_ref().take(chunk.len() * cols).collect();
        let sql = values_sql(backend, head, cols, chunk.len(), tail);
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend, &*sql, part,
        ))
        .await?;
    }
    Ok(())
}

/// Stores responses in one transaction; returns their receipts after the commit.
pub async fn write_batch(
    db: &DatabaseConnection,
    batch: &[responses::NewResponse],
) -> Result<Vec<String>, DbErr> {
    let txn = begin_write(db).await?;
    let receipts = responses::insert_batch(&txn, batch).await?;
    txn.commit().await?;
    Ok(receipts)
}

/// As [`write_batch`], with the configured integrity rules.
pub async fn write_batch_with(
    db: &DatabaseConnection,
    batch: &[responses::NewResponse],
    rules: &crate::config::IntegrityConfig,
) -> Result<Vec<String>, DbErr> {
    let txn = begin_write(db).await?;
    let receipts = responses::insert_batch_with(&txn, batch, rules).await?;
    txn.commit().await?;
    Ok(receipts)
}

/// As [`write_batch_with`], enqueuing the ward alerts the batch causes in the same transaction.
pub async fn write_batch_mailing(
    db: &DatabaseConnection,
    batch: &[responses::NewResponse],
    rules: &crate::config::IntegrityConfig,
    mail: &crate::mail::alerts::MailCtx<'_>,
) -> Result<Vec<String>, DbErr> {
    let txn = begin_write(db).await?;
    let receipts = responses::insert_batch_mailing(&txn, batch, rules, Some(mail)).await?;
    txn.commit().await?;
    Ok(receipts)
}

#[cfg(test)]
mod tests {
    use super::exact_chunks;

    #[test]
    fn values_sql_numbers_placeholders_per_backend() {
        use sea_orm::DbBackend;
        let pg = super::values_sql(
            DbBackend::Postgres,
            "INSERT INTO t (a, b)",
            2,
            2,
            "RETURNING a",
        );
        assert_eq!(
            &*pg,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) RETURNING a"
        );
        let lite = super::values_sql(DbBackend::Sqlite, "INSERT INTO t (a, b)", 2, 3, "");
        assert_eq!(&*lite, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)");
    }

    #[test]
    fn chunks_are_full_but_the_last_and_keep_everything_in_order() {
        for n in 0..300usize {
            let items: Vec<usize> = (0..n).collect();
            let chunks = exact_chunks(&items, 64);
            let flat: Vec<usize> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
            assert_eq!(flat, items);
            assert_eq!(chunks.len(), n.div_ceil(64));
            for c in &chunks[..chunks.len().saturating_sub(1)] {
                assert_eq!(c.len(), 64);
            }
        }
    }
}
