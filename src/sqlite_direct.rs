//! The group-commit writer's SQLite connection, driven in place.
//!
//! Through sqlx, every statement is a hand-off: the calling task sends it to the connection's
//! own thread and sleeps until the answer comes back. Under load both hops wait for a core,
//! and a batch of a dozen statements spent most of its time waiting (a one-row query took about
//! 150 µs on this 2-core machine while wrk ran). This connection runs each statement on the
//! thread that asks, through rusqlite, with its prepared statements cached. The writer task
//! runs on a thread of its own (`store::writer`), so blocking there keeps no request waiting.
//!
//! To sea-orm it is a connection of its `mock` kind (the one public way to put a connection of
//! one's own under sea-orm: its `proxy` kind does not build beside sqlx-sqlite in 2.0.4), so
//! that the writer runs the same storing code on SQLite and PostgreSQL. Values are bound as sqlx binds them (timestamps as RFC 3339 text, JSON as
//! text, booleans as 0/1), so what it writes reads back through the pool unchanged. Rows come
//! back keyed by column name, typed by the column's declared type: code on this connection
//! reads columns by name (such a row orders its columns by name, not as selected).
//!
//! Transactions are plain statements (`BEGIN IMMEDIATE`, `COMMIT`, `ROLLBACK`) run with
//! [`sea_orm::ConnectionTrait::execute_unprepared`], so that a failed commit is an error the
//! writer sees; sea-orm's transaction API cannot report one on such a connection.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{
    DatabaseConnection, DatabaseConnectionType, DbBackend, DbErr, ExecResult, MockDatabase,
    MockDatabaseConnection, MockDatabaseTrait, MockExecResult, QueryResult, Statement, Value,
};

/// A rusqlite connection behind sea-orm's mock interface.
struct Direct {
    conn: rusqlite::Connection,
    checkpoints: Checkpoints,
    wal_sync: WalSync,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sqlite_direct::Direct")
    }
}

/// Opens the database file of the SQLite `url` directly, with the writer's settings (WAL, a
/// busy timeout, an 8 MB page cache; see [`configure`]). `None` for an
/// in-memory database, which a second connection would not see.
///
/// Its commits are flushed to disk by [`WalSync`], off the writer's thread, instead of inside
/// `COMMIT` (`synchronous=NORMAL` on this connection only): whoever commits takes the commit's
/// [`Durable`] with [`take_unsynced`] and acknowledges nothing before it is flushed. Every
/// other connection keeps `synchronous=FULL`.
///
/// Why not a larger cache: when a b-tree page splits, SQLite swaps pages under a temporary
/// page number past the end of any database (the lock-byte page's), and the cache then holds a
/// page number larger than the database, so that every commit after a split scans the cache's
/// whole hash table to drop it. A batch splits a page nearly every time, and with a 32 MB
/// cache that scan was 5 % of the writer's time. The pages the writer reads again (the
/// b-trees' upper levels) fit in 8 MB many times over; its leaves are spread over the whole
/// database and come from the operating system's page cache whatever this cache's size.
pub async fn connect(url: &str) -> Result<Option<DatabaseConnection>, DbErr> {
    let opts =
        SqliteConnectOptions::from_str(url).map_err(|e| DbErr::Custom(format!("{url}: {e}")))?;
    let path = opts.get_filename();
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" || url.contains("memory") {
        return Ok(None);
    }
    let conn = rusqlite::Connection::open(path).map_err(err)?;
    configure(&conn)?;
    let wal_sync = WalSync::start(wal_path(path))?;
    // One prepared statement per shape of the bulk statements (see `store::exact_chunks`).
    conn.set_prepared_statement_cache_capacity(512);
    // Replaces SQLite's own checkpoint after a commit (also a WAL hook): see [`Checkpoints`].
    conn.wal_hook(Some(note_wal_pages));
    let checkpoints = Checkpoints::start(path)?;
    let conn = MockDatabaseConnection::new(Direct {
        conn,
        checkpoints,
        wal_sync,
    });
    Ok(Some(DatabaseConnection::from(
        DatabaseConnectionType::MockDatabaseConnection(std::sync::Arc::new(conn)),
    )))
}

/// The writer connection's settings: WAL, `synchronous=NORMAL` (the flushing thread makes each
/// commit durable, see [`WalSync`]), an 8 MB page cache, the query planner's stability
/// guarantee, and no foreign-key enforcement.
///
/// The guarantee makes a statement's plan independent of the values bound to it. Without it, a
/// bound `LIMIT` (the capped burst count, whose cap changes from batch to batch) marks the
/// prepared statement stale whenever its value changes, and SQLite parses and plans it again
/// before running it: about a tenth of the writer's time under load, measured with perf.
///
/// Foreign keys: an immediate foreign key makes SQLite keep a statement journal for every
/// multi-row insert (a copy of each page it changes, so that the statement alone can be undone)
/// and look up each row's parent. The writer's rows reference only the batch's own responses,
/// written in the same transaction, and wards, which `store::writer` checks once per batch
/// (units are never deleted); see [`in_batch_sql`] for the statement journal's other cause.
/// Every other connection enforces them.
fn configure(conn: &rusqlite::Connection) -> Result<(), DbErr> {
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; \
         PRAGMA cache_size = -8000; PRAGMA temp_store = MEMORY;",
    )
    .map_err(err)?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(err)?;
    Ok(())
}

/// The WAL file of the database at `path` (SQLite names it so).
fn wal_path(path: &std::path::Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    std::path::PathBuf::from(name)
}

/// Flushes the writer's commits to disk, on a thread of its own: the fsync that
/// `synchronous=FULL` runs inside every `COMMIT`, moved off the writer's path.
///
/// With `synchronous=FULL` the writer waits for the disk inside `COMMIT`, holding the write
/// lock, and the submissions queued behind it wait with it while the cores have nothing to do.
/// With `synchronous=NORMAL` SQLite writes a commit's pages to the WAL and does not flush them
/// (it still flushes the WAL and the database file around every checkpoint, and the WAL's
/// header when the WAL starts again); this thread then runs `fdatasync` on the WAL file, and
/// the commit's submissions are acknowledged only after it returned. So an acknowledged
/// submission is on disk exactly as with `synchronous=FULL`, and survives a power loss, while
/// the writer is already storing the next batch; one flush covers every commit written before
/// it started (a group commit of the flushes too).
///
/// A commit that is not flushed yet can be read by other connections; nobody has been told it
/// is stored. A failed flush fails every commit waiting for it: their submissions are not
/// acknowledged.
#[derive(Clone)]
struct WalSync {
    tx: std::sync::mpsc::Sender<Waiter>,
}

/// What to do once the WAL is flushed (or could not be).
type Waiter = Box<dyn FnOnce(Result<(), String>) + Send>;

impl WalSync {
    fn start(wal: std::path::PathBuf) -> Result<WalSync, DbErr> {
        let (tx, rx) = std::sync::mpsc::channel::<Waiter>();
        std::thread::Builder::new()
            .name("hailong-wal-sync".into())
            .spawn(move || {
                let mut file: Option<(std::fs::File, u64)> = None;
                // Ends when the connection and every `Durable` are dropped.
                while let Ok(first) = rx.recv() {
                    // Every commit waiting was written before this flush starts.
                    let mut waiting = vec![first];
                    waiting.extend(rx.try_iter());
                    let flushed = flush(&wal, &mut file).map_err(|e| {
                        tracing::error!(error = %e, wal = %wal.display(), "cannot flush the WAL: the commits waiting for it are not acknowledged");
                        e.to_string()
                    });
                    for w in waiting {
                        w(flushed.clone());
                    }
                }
            })
            .map_err(|e| DbErr::Custom(format!("cannot start the WAL's flushing thread: {e}")))?;
        Ok(WalSync { tx })
    }
}

/// `fdatasync` of the WAL file at `wal`, through `file` (opened again if the file at that path
/// is another one). No WAL file means nothing to flush: SQLite removes it only after copying
/// every page into the database file and flushing that.
fn flush(wal: &std::path::Path, file: &mut Option<(std::fs::File, u64)>) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let ino = match std::fs::metadata(wal) {
        Ok(m) => m.ino(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if file.as_ref().is_none_or(|(_, known)| *known != ino) {
        *file = Some((std::fs::File::open(wal)?, ino));
    }
    match file {
        Some((f, _)) => f.sync_data(),
        None => Ok(()),
    }
}

/// A commit on the direct connection that is not flushed to disk yet (see [`WalSync`]).
/// Dropped unused, it still has the WAL flushed.
pub struct Durable(Option<WalSync>);

impl Durable {
    /// Runs `then` on the flushing thread once the commit is on disk, or with the error that
    /// kept it from being flushed.
    pub fn then(mut self, then: impl FnOnce(Result<(), String>) + Send + 'static) {
        let Some(sync) = self.0.take() else {
            return then(Ok(()));
        };
        if let Err(refused) = sync.tx.send(Box::new(then)) {
            (refused.0)(Err("the WAL's flushing thread has stopped".into()));
        }
    }

    /// Waits until the commit is on disk.
    pub async fn flushed(self) -> Result<(), DbErr> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.then(move |r| {
            let _ = tx.send(r);
        });
        flush_outcome(rx.await.ok())
    }

    /// Blocks until the commit is on disk (for a statement that committed by itself).
    fn wait(self) -> Result<(), DbErr> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.then(move |r| {
            let _ = tx.send(r);
        });
        flush_outcome(rx.recv().ok())
    }
}

/// What the flushing thread answered (`None`: it stopped without answering), as an error.
pub(crate) fn flush_outcome(answered: Option<Result<(), String>>) -> Result<(), DbErr> {
    answered
        .ok_or_else(|| DbErr::Custom("the WAL's flushing thread has stopped".into()))?
        .map_err(|e| DbErr::Custom(format!("cannot flush the WAL to disk: {e}")))
}

impl Drop for Durable {
    fn drop(&mut self) {
        if let Some(sync) = self.0.take() {
            let _ = sync.tx.send(Box::new(|_| {}));
        }
    }
}

/// The last commit on this thread's direct connection, if it is not flushed yet: whoever runs
/// `COMMIT` on it takes it right after, and acknowledges nothing before it is flushed.
pub fn take_unsynced() -> Option<Durable> {
    UNSYNCED.with(|u| u.take())
}

/// New WAL pages (128 MB) after which the writer wakes the checkpointer: 32 times SQLite's
/// own interval for its automatic checkpoint. Submissions spread over many wards rewrite the
/// same few thousand pages (the wards' rollup rows and burst-index leaves) batch after batch;
/// a checkpoint copies each page once however often the WAL holds it, so a longer interval
/// writes the database file less often per submission, and its writes compete less with the
/// WAL's flushes on the disk. 8,000 pages measured about 10 % more durable submissions per
/// second than SQLite's 1,000 (three alternating pairs of 8 s runs); 32,000, with the restart
/// below at 128,000, 4.5 % more than 8,000 and 32,000, and a p99 of 4.4 ms instead of 5.3 ms
/// (four alternating pairs of 8 s runs on a fresh database; 16,000 and 64,000 fell between).
#[cfg(not(test))]
const CHECKPOINT_PAGES: i32 = 32000;
/// A hundredth in unit tests, so that the test of checkpoints and restarts writes a few
/// megabytes instead of a gigabyte (the ratio to [`RESTART_PAGES`] is kept).
#[cfg(test)]
const CHECKPOINT_PAGES: i32 = 320;

/// WAL pages (512 MB) after which the writer starts the WAL again from its beginning. The WAL
/// file keeps that size once reached; after a crash SQLite reads it through once to recover.
#[cfg(not(test))]
const RESTART_PAGES: i32 = 128_000;
/// A hundredth in unit tests, as [`CHECKPOINT_PAGES`].
#[cfg(test)]
const RESTART_PAGES: i32 = 1280;

/// Pages the writer copies itself, at most, to start the WAL again (see [`Checkpoints`]).
const CATCH_UP_PAGES: i64 = 256;

thread_local! {
    /// The WAL's size in pages after the last commit on this thread's direct connection.
    static WAL_PAGES: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
    /// This thread's last commit on its direct connection, until taken (see [`take_unsynced`]).
    static UNSYNCED: std::cell::Cell<Option<Durable>> = const { std::cell::Cell::new(None) };
}

fn note_wal_pages(_: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|p| p.set(pages));
    Ok(())
}

/// Checkpoints: copying the WAL's pages into the database file, off the writer's path.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: every
/// submission of that batch waits while a thousand pages are copied and the database file is
/// fsynced. Here a thread of its own, with a connection of its own, runs a passive checkpoint
/// each time the WAL has grown by [`CHECKPOINT_PAGES`]; the writer goes on appending to the WAL
/// meanwhile. A passive checkpoint never blocks the writer or a reader.
///
/// A WAL that is checkpointed while it grows never starts again from its beginning, because
/// it is never wholly copied when a transaction starts. So once it holds [`RESTART_PAGES`], the
/// writer, before its next transaction, copies the few pages the checkpointer has not (at most
/// [`CATCH_UP_PAGES`]; otherwise it wakes the checkpointer and waits for a later batch), and
/// that transaction starts the WAL again, as after SQLite's own checkpoint.
///
/// Durability does not depend on checkpoints: a commit is in the WAL, fsynced
/// (`synchronous=FULL`), before its submissions are acknowledged.
struct Checkpoints {
    wake: std::sync::mpsc::SyncSender<()>,
    /// Pages of the WAL the checkpointer has copied, in its last run.
    copied: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// The WAL's size in pages when the checkpointer was last woken.
    woken_at: std::cell::Cell<i32>,
}

impl Checkpoints {
    fn start(path: &std::path::Path) -> Result<Checkpoints, DbErr> {
        let conn = rusqlite::Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;")
            .map_err(err)?;
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let copied = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let copied_by_thread = copied.clone();
        let db_file = std::fs::File::open(path)
            .map_err(|e| DbErr::Custom(format!("{}: {e}", path.display())))?;
        std::thread::Builder::new()
            .name("hailong-checkpoint".into())
            .spawn(move || {
                // Ends when the writer's connection is dropped.
                while woken.recv().is_ok() {
                    if let Some((_, done)) = passive_checkpoint(&conn, "checkpoint") {
                        flush_copied(&db_file);
                        copied_by_thread.store(done, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
            .map_err(|e| DbErr::Custom(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpoints {
            wake,
            copied,
            woken_at: std::cell::Cell::new(0),
        })
    }

    /// Before the writer's transaction on `conn`: starts the WAL again when it is long and
    /// (almost) wholly copied.
    fn before_transaction(&self, conn: &rusqlite::Connection) {
        let pages = WAL_PAGES.with(|p| p.get());
        if pages < RESTART_PAGES {
            return;
        }
        let left = i64::from(pages) - self.copied.load(std::sync::atomic::Ordering::Relaxed);
        if left > CATCH_UP_PAGES {
            // Full: a wake-up is pending already.
            let _ = self.wake.try_send(());
            return;
        }
        if let Some((wal, done)) = passive_checkpoint(conn, "the writer's checkpoint")
            && wal == done
        {
            WAL_PAGES.with(|p| p.set(0));
            self.woken_at.set(0);
            self.copied.store(0, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// After a commit: wakes the checkpointer when the WAL has grown enough since last time.
    fn after_commit(&self) {
        let pages = WAL_PAGES.with(|p| p.get());
        if pages < self.woken_at.get() {
            // The WAL started again.
            self.woken_at.set(0);
        }
        if pages - self.woken_at.get() >= CHECKPOINT_PAGES {
            let _ = self.wake.try_send(());
            self.woken_at.set(pages);
        }
    }
}

/// Flushes to disk the pages a partial checkpoint copied into the database file `db`.
///
/// SQLite flushes the database file only when a checkpoint copies the WAL's last page, and not
/// even then when a commit added to the WAL while it copied (under load, nearly always). So
/// the pages copied over the WAL's whole cycle (about 30,000 under load) waited in the
/// operating system's cache for one flush, which came in the writer's own checkpoint before
/// the WAL starts again: 23–31 ms there, every submission waiting meanwhile, on a database of
/// 300 MB (the writer's largest batches under load went from 22–44 ms to 5 ms with this
/// flush). Flushing after each of the checkpointer's runs, off the writer's path, leaves the
/// writer's checkpoint only the pages copied since (about 1 ms). Durability does not depend
/// on it: a failure is logged, and SQLite's own flush at the end of the cycle still runs.
fn flush_copied(db: &std::fs::File) {
    let started = std::time::Instant::now();
    match db.sync_data() {
        Ok(()) => tracing::debug!(
            us = started.elapsed().as_micros() as u64,
            "checkpointed pages flushed"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot flush the checkpointed pages"),
    }
}

/// Runs a passive checkpoint on `conn`: (pages in the WAL, pages copied), or `None` if it could
/// not run now.
fn passive_checkpoint(conn: &rusqlite::Connection, who: &str) -> Option<(i64, i64)> {
    let started = std::time::Instant::now();
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    }) {
        Ok((busy, wal, copied)) => {
            let us = started.elapsed().as_micros() as u64;
            tracing::debug!(busy, wal, copied, us, "{who}");
            (busy == 0).then_some((wal, copied))
        }
        Err(e) => {
            tracing::warn!(error = %e, "{who} failed");
            None
        }
    }
}

/// The text an `INSERT` runs with on this connection: inside a transaction, `INSERT OR
/// ROLLBACK`, so that a row breaking a constraint ends the whole transaction at once instead of
/// undoing the one statement.
///
/// Every transaction on this connection is a writer's batch, rolled back whole on any error
/// and then stored one submission at a time (`store::writer`), so undoing one statement is
/// never needed; without that need SQLite keeps no statement journal for a multi-row insert or
/// upsert (measured: together with the foreign keys left to the writer, about 6 % of the
/// writer's CPU time per submission). Outside a transaction the text is unchanged.
fn in_batch_sql(sql: &str, autocommit: bool) -> std::borrow::Cow<'_, str> {
    match sql.strip_prefix("INSERT INTO ") {
        Some(rest) if !autocommit => format!("INSERT OR ROLLBACK INTO {rest}").into(),
        _ => sql.into(),
    }
}

fn err(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("SQLite: {e}"))
}

impl Direct {
    fn run_exec(&self, st: &Statement) -> Result<MockExecResult, DbErr> {
        let conn = &self.conn;
        let values = st.values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[]);
        let rows_affected = if values.is_empty() && !st.sql.contains('?') {
            // Transaction control and other fixed statements.
            if st.sql.starts_with("BEGIN") {
                self.checkpoints.before_transaction(conn);
            }
            conn.execute_batch(&st.sql).map_err(err)?;
            if st.sql.starts_with("COMMIT") {
                // Replacing an untaken one has that one flushed (see `Durable`'s drop).
                UNSYNCED.with(|u| u.set(Some(Durable(Some(self.wal_sync.clone())))));
            }
            self.checkpoints.after_commit();
            conn.changes()
        } else {
            let sql = in_batch_sql(&st.sql, conn.is_autocommit());
            let mut stmt = conn.prepare_cached(&sql).map_err(err)?;
            bind(&mut stmt, values)?;
            let changed = stmt.raw_execute().map_err(err)? as u64;
            if changed > 0 && conn.is_autocommit() {
                // A write outside a transaction committed by itself: flushed before it returns.
                Durable(Some(self.wal_sync.clone())).wait()?;
            }
            changed
        };
        Ok(MockExecResult {
            last_insert_id: u64::try_from(conn.last_insert_rowid()).unwrap_or(0),
            rows_affected,
        })
    }

    fn run_query(&self, st: &Statement) -> Result<Vec<BTreeMap<String, Value>>, DbErr> {
        let values = st.values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[]);
        let mut stmt = self.conn.prepare_cached(&st.sql).map_err(err)?;
        bind(&mut stmt, values)?;
        let columns: Vec<(String, Decl)> = stmt
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), Decl::of(c.decl_type())))
            .collect();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            let mut values = BTreeMap::new();
            for (i, (name, decl)) in columns.iter().enumerate() {
                let v = row.get_ref(i).map_err(err)?;
                values.insert(name.clone(), decl.read(v)?);
            }
            out.push(values);
        }
        Ok(out)
    }
}

// sea-orm turns rows and counts into its own result types only inside its `MockDatabase`, so
// each answer is handed through a fresh one, loaded with that answer alone.
impl MockDatabaseTrait for Direct {
    fn execute(&mut self, _counter: usize, stmt: Statement) -> Result<ExecResult, DbErr> {
        let done = self.run_exec(&stmt)?;
        MockDatabase::new(DbBackend::Sqlite)
            .append_exec_results([done])
            .execute(0, stmt)
    }

    fn query(&mut self, _counter: usize, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let rows = self.run_query(&stmt)?;
        MockDatabase::new(DbBackend::Sqlite)
            .append_query_results([rows])
            .query(0, stmt)
    }

    // sea-orm's transactions cannot report a failed COMMIT on this connection: the writer
    // runs BEGIN IMMEDIATE / COMMIT itself. Anything else starting one is a bug, said loudly.
    fn begin(&mut self) {
        tracing::error!("sea-orm transaction on the direct SQLite connection: not supported");
    }

    fn commit(&mut self) {
        tracing::error!("sea-orm transaction on the direct SQLite connection: not supported");
    }

    fn rollback(&mut self) {
        tracing::error!("sea-orm transaction on the direct SQLite connection: not supported");
    }

    fn drain_transaction_log(&mut self) -> Vec<sea_orm::Transaction> {
        Vec::new()
    }

    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    fn ping(&self) -> Result<(), DbErr> {
        self.conn.execute_batch("SELECT 1").map_err(err)
    }
}

/// Binds `values` in order, as sqlx would encode them for SQLite.
fn bind(stmt: &mut rusqlite::CachedStatement<'_>, values: &[Value]) -> Result<(), DbErr> {
    for (i, v) in values.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, encode(v)?).map_err(err)?;
    }
    Ok(())
}

fn encode(v: &Value) -> Result<ToSqlOutput<'_>, DbErr> {
    fn int<T: Into<i64> + Copy>(x: &Option<T>) -> ToSqlOutput<'static> {
        ToSqlOutput::Owned(x.map_or(Sql::Null, |x| Sql::Integer(x.into())))
    }
    fn text(s: Option<String>) -> ToSqlOutput<'static> {
        ToSqlOutput::Owned(s.map_or(Sql::Null, Sql::Text))
    }
    Ok(match v {
        Value::Bool(b) => int(&b.map(i64::from)),
        Value::TinyInt(x) => int(x),
        Value::SmallInt(x) => int(x),
        Value::Int(x) => int(x),
        Value::BigInt(x) => int(x),
        Value::TinyUnsigned(x) => int(x),
        Value::SmallUnsigned(x) => int(x),
        Value::Unsigned(x) => int(x),
        Value::BigUnsigned(x) => match x {
            Some(x) => ToSqlOutput::Owned(Sql::Integer(
                i64::try_from(*x).map_err(|e| DbErr::Custom(e.to_string()))?,
            )),
            None => ToSqlOutput::Owned(Sql::Null),
        },
        Value::Float(x) => ToSqlOutput::Owned(x.map_or(Sql::Null, |x| Sql::Real(f64::from(x)))),
        Value::Double(x) => ToSqlOutput::Owned(x.map_or(Sql::Null, Sql::Real)),
        Value::String(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::String(None) => ToSqlOutput::Owned(Sql::Null),
        Value::Char(c) => text(c.map(String::from)),
        Value::Bytes(Some(b)) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        Value::Bytes(None) => ToSqlOutput::Owned(Sql::Null),
        Value::Json(j) => text(
            j.as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| DbErr::Custom(e.to_string()))?,
        ),
        // sqlx: `to_rfc3339_opts(SecondsFormat::AutoSi, false)`.
        Value::ChronoDateTimeUtc(t) => {
            text(t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
        }
        Value::ChronoDateTimeWithTimeZone(t) => {
            text(t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
        }
        Value::ChronoDateTimeLocal(t) => {
            text(t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
        }
        Value::ChronoDateTime(t) => text(t.map(|t| t.format("%F %T%.f").to_string())),
        Value::ChronoDate(d) => text(d.map(|d| d.format("%F").to_string())),
        Value::ChronoTime(t) => text(t.map(|t| t.format("%T%.f").to_string())),
        other => {
            return Err(DbErr::Custom(format!(
                "the direct SQLite connection cannot bind {other:?}"
            )));
        }
    })
}

/// What a column's declared type says its values are.
#[derive(Clone, Copy)]
enum Decl {
    Timestamp,
    Bool,
    Json,
    Real,
    Text,
    /// An expression, or a type that tells nothing more than the stored value.
    Any,
}

impl Decl {
    fn of(decl: Option<&str>) -> Decl {
        let Some(d) = decl.map(str::to_ascii_lowercase) else {
            return Decl::Any;
        };
        if d.starts_with("timestamp") {
            Decl::Timestamp
        } else if d == "boolean" || d == "bool" {
            Decl::Bool
        } else if d.starts_with("json") {
            Decl::Json
        } else if d == "double" || d == "real" || d == "float" {
            Decl::Real
        } else if d.starts_with("varchar") || d == "text" || d.starts_with("char") {
            Decl::Text
        } else {
            Decl::Any
        }
    }

    /// The value as sea-orm reads it (integers as `BigInt`: read them as `i64`).
    fn read(self, v: ValueRef<'_>) -> Result<Value, DbErr> {
        let text = |b: &[u8]| -> Result<String, DbErr> {
            String::from_utf8(b.to_vec()).map_err(|e| DbErr::Custom(e.to_string()))
        };
        Ok(match (self, v) {
            (Decl::Timestamp, ValueRef::Null) => Value::ChronoDateTimeUtc(None),
            (Decl::Timestamp, ValueRef::Text(t)) => {
                Value::ChronoDateTimeUtc(Some(parse_timestamp(&text(t)?)?))
            }
            (Decl::Bool, ValueRef::Null) => Value::Bool(None),
            (Decl::Bool, ValueRef::Integer(i)) => Value::Bool(Some(i != 0)),
            (Decl::Json, ValueRef::Null) => Value::Json(None),
            (Decl::Json, ValueRef::Text(t)) => Value::Json(Some(Box::new(
                serde_json::from_slice(t).map_err(|e| DbErr::Custom(e.to_string()))?,
            ))),
            (Decl::Real, ValueRef::Null) => Value::Double(None),
            (Decl::Text, ValueRef::Null) => Value::String(None),
            (_, ValueRef::Null) => Value::BigInt(None),
            (_, ValueRef::Integer(i)) => Value::BigInt(Some(i)),
            (_, ValueRef::Real(f)) => Value::Double(Some(f)),
            (_, ValueRef::Text(t)) => Value::String(Some(text(t)?)),
            (_, ValueRef::Blob(b)) => Value::Bytes(Some(b.to_vec())),
        })
    }
}

/// A timestamp as sqlx writes it (RFC 3339), or as SQLite's own functions do (UTC).
fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, DbErr> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .map(|t| t.and_utc())
        .map_err(|_| DbErr::Custom(format!("not a timestamp: {s}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ConnectionTrait;

    /// Inside a transaction an insert that breaks a constraint ends the whole transaction (the
    /// writer rolls its batch back whole anyway): nothing of it stays, and the next batch
    /// starts clean. Outside one, an insert is left as written.
    #[tokio::test]
    async fn a_failed_insert_in_a_batch_ends_the_batch() {
        assert_eq!(
            super::in_batch_sql("INSERT INTO t (a) VALUES (?)", true),
            "INSERT INTO t (a) VALUES (?)"
        );
        assert_eq!(
            super::in_batch_sql("INSERT INTO t (a) VALUES (?)", false),
            "INSERT OR ROLLBACK INTO t (a) VALUES (?)"
        );
        assert_eq!(
            super::in_batch_sql("UPDATE t SET a = ?", false),
            "UPDATE t SET a = ?"
        );
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display());
        let direct = connect(&url).await.unwrap().expect("a file database");
        direct
            .execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL)")
            .await
            .unwrap();
        let two = |a: Option<&str>| {
            Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO t (a) VALUES (?), (?)",
                [Value::from("first"), Value::from(a.map(str::to_string))],
            )
        };
        let count = |direct: &DatabaseConnection| {
            let direct = direct.clone();
            async move {
                let rows = direct
                    .query_all_raw(Statement::from_string(
                        DbBackend::Sqlite,
                        "SELECT COUNT(*) AS n FROM t",
                    ))
                    .await
                    .unwrap();
                rows[0].try_get::<i64>("", "n").unwrap()
            }
        };
        direct.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        direct.execute_raw(two(Some("x"))).await.unwrap();
        let failed = direct.execute_raw(two(None)).await.unwrap_err();
        assert!(failed.to_string().contains("NOT NULL"), "{failed}");
        // The transaction is over: its first statement's rows are gone too.
        let again = direct.execute_unprepared("ROLLBACK").await.unwrap_err();
        assert!(again.to_string().contains("no transaction"), "{again}");
        assert_eq!(count(&direct).await, 0);
        let _ = take_unsynced();
        direct.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        direct.execute_raw(two(Some("y"))).await.unwrap();
        direct.execute_unprepared("COMMIT").await.unwrap();
        take_unsynced()
            .expect("the commit's flush")
            .flushed()
            .await
            .unwrap();
        assert_eq!(count(&direct).await, 2);
    }

    /// A commit on the direct connection leaves what flushes it, once; a write outside a
    /// transaction is flushed before it returns and leaves nothing; the flush reaches the disk
    /// through the WAL file and answers.
    #[tokio::test]
    async fn each_commit_leaves_its_flush_and_a_lone_write_is_flushed_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let direct = connect(&url).await.unwrap().expect("a file database");
        let _ = take_unsynced();
        direct
            .execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let insert = |id: i64| {
            Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO t (id) VALUES (?)",
                [Value::from(id)],
            )
        };
        // Outside a transaction: flushed in place, nothing left to take.
        direct.execute_raw(insert(1)).await.unwrap();
        assert!(take_unsynced().is_none());
        direct.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        direct.execute_raw(insert(2)).await.unwrap();
        assert!(take_unsynced().is_none(), "nothing to flush before COMMIT");
        direct.execute_unprepared("COMMIT").await.unwrap();
        let durable = take_unsynced().expect("the commit's flush");
        assert!(take_unsynced().is_none(), "taken once");
        durable.flushed().await.unwrap();
        // Answered on the flushing thread, in order of the commits.
        let (tx, rx) = std::sync::mpsc::channel();
        for id in 3..6 {
            direct.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
            direct.execute_raw(insert(id)).await.unwrap();
            direct.execute_unprepared("COMMIT").await.unwrap();
            let tx = tx.clone();
            take_unsynced()
                .unwrap()
                .then(move |r| tx.send((id, r)).unwrap());
        }
        let answered: Vec<(i64, Result<(), String>)> = rx.iter().take(3).collect();
        assert_eq!(answered, vec![(3, Ok(())), (4, Ok(())), (5, Ok(()))]);
        // A rolled-back transaction leaves nothing.
        direct.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        direct.execute_raw(insert(9)).await.unwrap();
        direct.execute_unprepared("ROLLBACK").await.unwrap();
        assert!(take_unsynced().is_none());
        // No WAL file (a database that is not open anywhere) is nothing to flush.
        let mut none = None;
        flush(&dir.path().join("absent.db-wal"), &mut none).unwrap();
        assert!(none.is_none());
    }

    /// The writer's statements keep their plan whatever is bound to them: the capped burst
    /// count binds a `LIMIT` that changes from batch to batch, which without the planner's
    /// stability guarantee has SQLite parse and plan the statement again at each change.
    #[test]
    fn a_new_bound_limit_does_not_prepare_the_statement_again() {
        use rusqlite::StatementStatus;
        let dir = tempfile::tempdir().unwrap();
        let reprepares = |qpsg: bool| {
            let conn = rusqlite::Connection::open(dir.path().join(format!("{qpsg}.db"))).unwrap();
            if qpsg {
                super::configure(&conn).unwrap();
            }
            conn.execute_batch(
                "CREATE TABLE t (w TEXT, at INTEGER); CREATE INDEX t_w_at ON t (w, at); \
                 INSERT INTO t VALUES ('a', 1), ('a', 2), ('a', 3), ('b', 1);",
            )
            .unwrap();
            let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM t WHERE w = ?1 AND at > ?2 LIMIT ?3)";
            let mut counts = Vec::new();
            for (w, cap) in [("a", 2), ("a", 5), ("b", 7), ("a", 1)] {
                let mut stmt = conn.prepare_cached(sql).unwrap();
                counts.push(
                    stmt.query_row(rusqlite::params![w, 0, cap], |r| r.get::<_, i64>(0))
                        .unwrap(),
                );
            }
            assert_eq!(counts, [2, 3, 1, 1], "counts stop at the bound limit");
            let stmt = conn.prepare_cached(sql).unwrap();
            stmt.get_status(StatementStatus::RePrepare)
        };
        // Without the guarantee each new limit prepares it again: what this test would see.
        assert!(reprepares(false) > 0);
        assert_eq!(reprepares(true), 0);
    }

    #[tokio::test]
    async fn the_wal_is_checkpointed_beside_the_writer_and_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sea_orm::Database::connect(&url).await.unwrap();
        pool.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
            .await
            .unwrap();
        let direct = connect(&url).await.unwrap().expect("a file database");
        // 16 pages per commit, until the WAL has started again after its restart length (or
        // well past it, which fails below). Past that length, each commit leaves the
        // checkpointer a moment, as the writer's other work does under load.
        let mut commits = 0;
        let mut restarted = false;
        while !restarted && commits < (RESTART_PAGES as usize + 3 * CHECKPOINT_PAGES as usize) / 16
        {
            let i = commits;
            let before = WAL_PAGES.with(|p| p.get());
            if before >= RESTART_PAGES {
                std::thread::sleep(Duration::from_millis(2));
            }
            direct.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
            direct
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "INSERT INTO t (id, b) VALUES (?, ?)",
                    [
                        Value::from(i as i64),
                        Value::from(vec![7u8; 16 * 4096 - 200]),
                    ],
                ))
                .await
                .unwrap();
            direct.execute_unprepared("COMMIT").await.unwrap();
            commits += 1;
            restarted = WAL_PAGES.with(|p| p.get()) < before;
        }
        assert!(
            restarted,
            "the WAL did not start again in {commits} commits"
        );
        // The WAL started again: it holds fewer frames than were written, and what it held
        // before is in the database file, copied by the checkpoints.
        let other = rusqlite::Connection::open(&path).unwrap();
        let mut frames = -1;
        for _ in 0..500 {
            // -1 while the checkpointer's own checkpoint runs.
            frames = other
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
                .unwrap();
            if frames >= 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            (0..i64::from(RESTART_PAGES)).contains(&frames),
            "{frames} frames in the WAL after {} pages written",
            commits * 16
        );
        let on_disk = std::fs::metadata(&path).unwrap().len();
        assert!(
            on_disk > u64::from(RESTART_PAGES as u32) * 4096 / 2,
            "the database file holds {on_disk} bytes"
        );
        let n: i64 = other
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, commits as i64);
    }

    #[tokio::test]
    async fn writes_what_the_pool_reads_and_reads_what_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("d.db").display());
        let pool = sea_orm::Database::connect(&url).await.unwrap();
        pool.execute_unprepared(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, at timestamp_with_timezone_text, \
             ok boolean, doc jsonb_text, x double, name varchar(8), n INTEGER)",
        )
        .await
        .unwrap();
        let direct = connect(&url).await.unwrap().expect("a file database");
        let at: DateTime<Utc> = "2026-11-28T03:04:05.123456Z".parse().unwrap();
        let doc = serde_json::json!({"a1": 4, "issue": "Trộm cắp \"xe\""});
        direct.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        direct
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO t (at, ok, doc, x, name, n) VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)",
                [
                    Value::from(at),
                    Value::from(true),
                    Value::from(doc.clone()),
                    Value::from(2.5),
                    Value::from("Hà Nội"),
                    Value::from(7i64),
                    Value::ChronoDateTimeUtc(None),
                    Value::Bool(None),
                    Value::Json(None),
                    Value::Double(None),
                    Value::String(None),
                    Value::BigInt(None),
                ],
            ))
            .await
            .unwrap();
        direct.execute_unprepared("COMMIT").await.unwrap();
        // The pool (sqlx) reads what the direct connection wrote, with the same encodings:
        // the timestamp compares as text against a bound value.
        let row = pool
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT at, ok, doc, x, name, n FROM t WHERE at = ?",
                [Value::from(at)],
            ))
            .await
            .unwrap()
            .expect("the row, found by its timestamp as sqlx binds it");
        assert_eq!(row.try_get::<DateTime<Utc>>("", "at").unwrap(), at);
        assert!(row.try_get::<bool>("", "ok").unwrap());
        assert_eq!(row.try_get::<serde_json::Value>("", "doc").unwrap(), doc);
        assert_eq!(row.try_get::<String>("", "name").unwrap(), "Hà Nội");
        // And the direct connection reads both rows back, typed, by name.
        let rows = direct
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT id, at, ok, doc, x, name, n, COUNT(*) OVER () AS total FROM t ORDER BY id",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].try_get::<DateTime<Utc>>("", "at").unwrap(), at);
        assert!(rows[0].try_get::<bool>("", "ok").unwrap());
        assert_eq!(
            rows[0].try_get::<serde_json::Value>("", "doc").unwrap(),
            doc
        );
        assert_eq!(rows[0].try_get::<f64>("", "x").unwrap(), 2.5);
        assert_eq!(rows[0].try_get::<i64>("", "n").unwrap(), 7);
        assert_eq!(rows[0].try_get::<i64>("", "total").unwrap(), 2);
        assert_eq!(
            rows[1].try_get::<Option<DateTime<Utc>>>("", "at").unwrap(),
            None
        );
        assert_eq!(rows[1].try_get::<Option<bool>>("", "ok").unwrap(), None);
        assert_eq!(rows[1].try_get::<Option<String>>("", "name").unwrap(), None);
        assert_eq!(rows[1].try_get::<Option<i64>>("", "n").unwrap(), None);
        // A failed statement is an error, and a rolled-back transaction leaves nothing.
        direct.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        direct
            .execute_unprepared("INSERT INTO t (id) VALUES (1000)")
            .await
            .unwrap();
        assert!(
            direct
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "INSERT INTO t (id) VALUES (?)",
                    [Value::from(1000i64)],
                ))
                .await
                .is_err()
        );
        // The failed insert ended the transaction (see `in_batch_sql`).
        assert!(direct.execute_unprepared("ROLLBACK").await.is_err());
        let n = pool
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COUNT(*) AS n FROM t",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn timestamps_parse_in_the_forms_sqlite_holds() {
        let want: DateTime<Utc> = "2026-11-28T03:04:05Z".parse().unwrap();
        for s in [
            "2026-11-28T03:04:05+00:00",
            "2026-11-28T10:04:05+07:00",
            "2026-11-28 03:04:05",
            "2026-11-28 03:04:05.000",
        ] {
            assert_eq!(parse_timestamp(s).unwrap(), want, "{s}");
        }
        assert!(parse_timestamp("yesterday").is_err());
    }
}
