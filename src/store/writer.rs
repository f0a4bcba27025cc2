//! Group commit: a writer on a thread of its own stores the online submissions; one
//! per server on SQLite, `pg_writers` (two by default) on PostgreSQL, taking turns at one queue.
//!
//! Request handlers validate, rate-limit and prepare a [`NewResponse`] on their own tasks, then
//! hand it to the writer and wait. The writer takes every submission that is waiting (up to
//! [`MAX_BATCH`]), stores them in one transaction (responses, answers, contacts, integrity
//! checks, rollups and the ward alerts, see [`super::responses::insert_batch_mailing`]),
//! commits, and only once the commit is on disk answers each handler, which only then sends its
//! 303. A batch costs one fsync of the WAL (SQLite) or one commit round trip (PostgreSQL),
//! whatever its size, so throughput grows with the load while a lone submission is stored at
//! once: the writer never waits for a batch to fill. On SQLite the fsync runs on a thread of
//! its own while the writer stores the next batch (see `crate::sqlite_direct`), which answers
//! the handlers after it.
//!
//! If a batch fails (a deadlock with another instance on PostgreSQL, one response that breaks a
//! constraint), nothing of it is stored and each of its submissions is retried alone, so one
//! bad submission never costs the others theirs. A submission is acknowledged only after its
//! own commit; one whose transaction failed gets the error and its handler answers 500.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbErr};
use tokio::sync::{mpsc, oneshot};

use super::responses::{BatchCaches, NewResponse, Outcome, insert_batch_outcomes};
use crate::app::Inner;

/// The most submissions one transaction stores.
pub const MAX_BATCH: usize = 256;

/// How many submissions may wait for the writer before handlers wait to enqueue.
const QUEUE: usize = 4096;

struct Job {
    response: NewResponse,
    reply: oneshot::Sender<Result<Outcome, DbErr>>,
}

/// The handle request handlers submit through; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    stats: Arc<Stats>,
    caches: Arc<super::responses::BatchCaches>,
    health: Arc<super::health::StoreHealth>,
}

/// Counters of what the writer committed.
#[derive(Debug, Default)]
pub struct Stats {
    batches: AtomicU64,
    stored: AtomicU64,
    split: AtomicU64,
}

impl Stats {
    /// (transactions committed, submissions stored, failed batches split into single ones).
    pub fn get(&self) -> (u64, u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.stored.load(Ordering::Relaxed),
            self.split.load(Ordering::Relaxed),
        )
    }
}

/// The writers' threads, waiting for [`Writer::start`] to hand them the application.
pub struct Pending(Vec<oneshot::Sender<Weak<Inner>>>);

/// The queue the writers take their batches from: one writer at a time takes everything that
/// is waiting, then lets the next one take what arrives while it stores.
type Queue = Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>;

impl Writer {
    /// Opens the writers' connections to `url` (see `crate::db::connect_writer`), each on a
    /// thread of its own with a runtime of its own, and leaves them waiting for
    /// [`Writer::start`]. SQLite has one writer whatever `pg_writers` says (it takes one
    /// writer at a time); PostgreSQL has `pg_writers`, storing their batches side by side as
    /// several server instances would.
    ///
    /// Request handlers never share those threads. On SQLite the writer drives the database in
    /// place and blocks while a statement runs (see [`crate::sqlite_direct`]); on PostgreSQL
    /// each connection's socket is polled by its writer's runtime, so that an answer from the
    /// database wakes the writer at once instead of waiting behind queued requests.
    pub async fn open(
        url: &str,
        pg_writers: usize,
    ) -> Result<(Writer, Pending), crate::db::DbOpenError> {
        let count = if url.starts_with("postgres") {
            pg_writers.max(1)
        } else {
            1
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let queue: Queue = Arc::new(tokio::sync::Mutex::new(rx));
        let stats = Arc::new(Stats::default());
        let cannot = |cause: String| crate::db::DbOpenError::Connect {
            url: crate::config::redact_url(url),
            cause: format!("cannot start the writer's thread: {cause}"),
        };
        let mut starts = Vec::with_capacity(count);
        for i in 0..count {
            let (opened_tx, opened) = oneshot::channel();
            let (start, started) = oneshot::channel::<Weak<Inner>>();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| cannot(e.to_string()))?;
            let url_owned = url.to_string();
            let task_stats = stats.clone();
            let queue = queue.clone();
            let name = if count == 1 {
                "hailong-writer".to_string()
            } else {
                format!("hailong-writer-{i}")
            };
            std::thread::Builder::new()
                .name(name)
                .spawn(move || {
                    runtime.block_on(async move {
                        let db = crate::db::connect_writer(&url_owned).await;
                        let db = match db {
                            Ok(db) => {
                                if opened_tx.send(Ok(())).is_err() {
                                    return;
                                }
                                db
                            }
                            Err(e) => {
                                let _ = opened_tx.send(Err(e));
                                return;
                            }
                        };
                        // Without an application (it failed to start), the thread ends here.
                        if let Ok(app) = started.await {
                            run(app, &db, queue, task_stats).await;
                        }
                    })
                })
                .map_err(|e| cannot(e.to_string()))?;
            opened
                .await
                .map_err(|_| cannot("it stopped while opening".into()))??;
            starts.push(start);
        }
        Ok((
            Writer {
                tx,
                stats,
                caches: Arc::default(),
                health: Arc::default(),
            },
            Pending(starts),
        ))
    }

    /// Starts storing for the application `inner`. The writers hold only a weak reference:
    /// they stop when the application is dropped and the queue is empty.
    pub fn start(inner: &Arc<Inner>, pending: Pending) {
        for start in pending.0 {
            if start.send(Arc::downgrade(inner)).is_err() {
                tracing::error!("a writer's thread has stopped: submissions cannot be stored");
            }
        }
    }

    /// What the writers have committed since the start.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether the last batch failed to store (see [`super::health`]).
    pub fn health(&self) -> &super::health::StoreHealth {
        &self.health
    }

    /// Stores `response` durably; returns after the commit.
    pub async fn submit(&self, response: NewResponse) -> Result<Outcome, DbErr> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { response, reply })
            .await
            .map_err(|_| DbErr::Custom("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| DbErr::Custom("the writer dropped the submission".into()))?
    }
}

async fn run(app: Weak<Inner>, db: &DatabaseConnection, queue: Queue, stats: Arc<Stats>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        // The queue is held only while taking a batch, not while storing it.
        let taken = queue.lock().await.recv_many(&mut jobs, MAX_BATCH).await;
        if taken == 0 {
            break;
        }
        let Some(app) = app.upgrade() else {
            for job in jobs.drain(..) {
                let _ = job
                    .reply
                    .send(Err(DbErr::Custom("the server is stopping".into())));
            }
            continue;
        };
        store(&app, db, &mut jobs, &stats).await;
    }
}

/// Stores `jobs` and answers every job once what was committed is on disk. On SQLite the
/// flush runs on its own thread (see `crate::sqlite_direct`) while this writer stores the next
/// batch; that thread answers.
async fn store(app: &Inner, db: &DatabaseConnection, jobs: &mut Vec<Job>, stats: &Stats) {
    let (batch, replies): (Vec<NewResponse>, Vec<_>) =
        jobs.drain(..).map(|j| (j.response, j.reply)).unzip();
    let (results, unflushed) = store_batch_unflushed(app, db, &batch, stats).await;
    let health = app.writer.health.clone();
    let answer = move |flushed: Result<(), DbErr>| {
        let results = after_flush(results, flushed);
        health.record_results(&results);
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    };
    match unflushed {
        Some(durable) => {
            durable.then(move |r| answer(crate::sqlite_direct::flush_outcome(Some(r))))
        }
        None => answer(Ok(())),
    }
}

/// The batch's results once its flush is done: a failed flush fails every stored one.
fn after_flush(
    results: Vec<Result<Outcome, DbErr>>,
    flushed: Result<(), DbErr>,
) -> Vec<Result<Outcome, DbErr>> {
    match flushed {
        Ok(()) => results,
        Err(e) => results
            .into_iter()
            .map(|r| r.and(Err(DbErr::Custom(e.to_string()))))
            .collect(),
    }
}

/// Stores `batch` in one transaction, or each response alone if that fails; one result per
/// response, in order, once it is on disk. (What the writer task does with each batch it
/// takes.)
pub async fn store_batch(
    app: &Inner,
    db: &DatabaseConnection,
    batch: &[NewResponse],
    stats: &Stats,
) -> Vec<Result<Outcome, DbErr>> {
    let (results, unflushed) = store_batch_unflushed(app, db, batch, stats).await;
    let results = match unflushed {
        Some(durable) => after_flush(results, durable.flushed().await),
        None => results,
    };
    app.writer.health.record_results(&results);
    results
}

/// As [`store_batch`], returning before SQLite's commits are flushed to disk, with what
/// flushes them: nothing may be acknowledged before that.
async fn store_batch_unflushed(
    app: &Inner,
    db: &DatabaseConnection,
    batch: &[NewResponse],
    stats: &Stats,
) -> (
    Vec<Result<Outcome, DbErr>>,
    Option<crate::sqlite_direct::Durable>,
) {
    match commit(app, db, batch, stats).await {
        Ok((outcomes, unflushed)) => (outcomes.into_iter().map(Ok).collect(), unflushed),
        Err(e) if batch.len() > 1 => {
            tracing::warn!(error = %e, size = batch.len(), "a batch failed; storing its submissions one by one");
            stats.split.fetch_add(1, Ordering::Relaxed);
            let mut results = Vec::with_capacity(batch.len());
            // One flush after the last commit covers the ones before.
            let mut last = None;
            for r in batch {
                results.push(commit(app, db, std::slice::from_ref(r), stats).await.map(
                    |(mut v, unflushed)| {
                        last = unflushed.or(last.take());
                        v.pop().expect("one outcome per response")
                    },
                ));
            }
            (results, last)
        }
        Err(e) => (vec![Err(e)], None),
    }
}

async fn commit(
    app: &Inner,
    db: &DatabaseConnection,
    batch: &[NewResponse],
    stats: &Stats,
) -> Result<(Vec<Outcome>, Option<crate::sqlite_direct::Durable>), DbErr> {
    let mail = crate::mail::alerts::MailCtx {
        tera: &app.tera,
        base_url: &app.config.base_url,
        cfg: &app.config.mail,
    };
    let started = std::time::Instant::now();
    let (outcomes, unflushed) = commit_batch_unflushed(
        db,
        batch,
        &app.config.integrity,
        Some(&mail),
        Some(&app.writer.caches),
    )
    .await?;
    let took = started.elapsed();
    app.metrics.batch(batch.len(), took);
    tracing::debug!(
        size = batch.len(),
        us = took.as_micros() as u64,
        "batch committed"
    );
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats
        .stored
        .fetch_add(outcomes.len() as u64, Ordering::Relaxed);
    Ok((outcomes, unflushed))
}

/// Whether `db` is the writer's direct SQLite connection ([`crate::sqlite_direct`]), the one
/// connection of sea-orm's mock kind the server makes.
fn is_direct(db: &DatabaseConnection) -> bool {
    matches!(db.inner, DatabaseConnectionType::MockDatabaseConnection(_))
}

/// Stores `batch` in one transaction on the writer's connection `db` (see
/// `crate::db::connect_writer`) and commits, returning once the commit is on disk: what the
/// writer does with each batch.
pub async fn commit_batch(
    db: &DatabaseConnection,
    batch: &[NewResponse],
    rules: &crate::config::IntegrityConfig,
    mail: Option<&crate::mail::alerts::MailCtx<'_>>,
    caches: Option<&BatchCaches>,
) -> Result<Vec<Outcome>, DbErr> {
    let (outcomes, unflushed) = commit_batch_unflushed(db, batch, rules, mail, caches).await?;
    if let Some(durable) = unflushed {
        durable.flushed().await?;
    }
    Ok(outcomes)
}

/// As [`commit_batch`], returning before a commit on the direct SQLite connection is flushed
/// to disk, with what flushes it (see `crate::sqlite_direct::take_unsynced`).
async fn commit_batch_unflushed(
    db: &DatabaseConnection,
    batch: &[NewResponse],
    rules: &crate::config::IntegrityConfig,
    mail: Option<&crate::mail::alerts::MailCtx<'_>>,
    caches: Option<&BatchCaches>,
) -> Result<(Vec<Outcome>, Option<crate::sqlite_direct::Durable>), DbErr> {
    if !is_direct(db) {
        let txn = super::begin_write(db).await?;
        let outcomes = insert_batch_outcomes(&txn, batch, rules, mail, caches).await?;
        txn.commit().await?;
        return Ok((outcomes, None));
    }
    // The direct connection takes the transaction statements themselves, so that a failed
    // COMMIT is an error here (and the batch is not acknowledged).
    db.execute_unprepared("BEGIN IMMEDIATE").await?;
    let stored = async {
        known_wards(db, batch).await?;
        insert_batch_outcomes(db, batch, rules, mail, caches).await
    }
    .await;
    let done = match stored {
        Ok(outcomes) => db
            .execute_unprepared("COMMIT")
            .await
            .map(|_| (outcomes, crate::sqlite_direct::take_unsynced())),
        Err(e) => Err(e),
    };
    if done.is_err() {
        // Nothing of a failed batch stays (a failed COMMIT may leave the transaction open).
        if let Err(e) = db.execute_unprepared("ROLLBACK").await {
            tracing::debug!(error = %e, "rollback after a failed batch");
        }
    }
    done
}

/// Fails unless every ward of `batch` is in `units`: on the direct SQLite connection, which
/// leaves foreign keys to the writer (see `crate::sqlite_direct`), what the responses' key to
/// their unit would check. One statement per batch, inside its transaction.
async fn known_wards(db: &DatabaseConnection, batch: &[NewResponse]) -> Result<(), DbErr> {
    let mut wards: Vec<String> = batch.iter().map(|r| r.ward_code.clone()).collect();
    wards.sort();
    wards.dedup();
    let unknown = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "SELECT value AS ward_code FROM json_each(?) WHERE value NOT IN (SELECT code FROM units)",
            [super::json_list(&wards)],
        ))
        .await?;
    match unknown.first() {
        None => Ok(()),
        Some(row) => {
            let ward: String = row.try_get("", "ward_code")?;
            Err(DbErr::Custom(format!(
                "FOREIGN KEY constraint failed: no unit has the ward code `{ward}`"
            )))
        }
    }
}
