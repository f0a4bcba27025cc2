//! Where reads go: the primary (`HAILONG_DATABASE_URL`), or a PostgreSQL streaming standby
//! (`HAILONG_DATABASE_READ_URL`, docs/deployment.md "Reads from the standby").
//!
//! A probe asks both servers once a second how far the standby is: the primary's WAL position
//! (`pg_current_wal_lsn()`), kept with the time it was read, and the standby's replayed
//! position (`pg_last_wal_replay_lsn()`). The standby holds everything the primary had written
//! at the newest of those moments whose position it has replayed, so its lag is the time since
//! then (to within the probe's second), whether or not the primary is busy. Each read then picks
//! a connection from that answer without asking the database again:
//!
//! * no standby configured, not probed yet, or not answering: the primary;
//! * a staff session whose last change (its `last_write_lsn`) the standby has not replayed:
//!   the primary, so a page right after a staff action shows it;
//! * the standby lagging more than `[database] read_max_lag_secs`: console pages still read it
//!   and say their figures may be late ([`Route::lag_notice`]); exports, the API and the
//!   public results read the primary;
//! * otherwise the standby.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

use crate::config::{Config, redact_url};

/// How often the standby is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long a probe waits for the standby before counting it as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How far back the primary's positions are kept (one a second).
const HISTORY: usize = 3600;

/// What the last probe found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Health {
    /// Not probed yet.
    Unknown,
    /// Answering. `replay_lsn` is `None` when the read URL is not in recovery (not a standby,
    /// e.g. promoted): then it is as current as the primary.
    Up {
        replay_lsn: Option<i64>,
        lag: Duration,
    },
    /// Refused, failed or timed out.
    Down,
}

/// Why a read went where it went (the `why` label of `hailong_reads_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// No standby is configured.
    NoStandby,
    /// The standby answered the last probe, within the lag limit (or a console page past it).
    Standby,
    /// The standby has not replayed the session's own last change yet.
    OwnWrite,
    /// The standby lags past `read_max_lag_secs` (exports, API, public results).
    Lagging,
    /// The standby does not answer, or has not been probed yet.
    Unreachable,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::NoStandby => "no_standby",
            Why::Standby => "standby",
            Why::OwnWrite => "own_write",
            Why::Lagging => "lagging",
            Why::Unreachable => "unreachable",
        }
    }
}

/// Where one request reads, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Route {
    pub standby: bool,
    pub why: Why,
    /// The standby's lag in whole seconds when it is past the limit and this read still goes to
    /// it (console pages): the page says its figures may be about this late.
    pub lag_notice: Option<u64>,
}

/// The read side of the application: the primary and, when configured, the standby.
pub struct ReadRouter {
    primary: DatabaseConnection,
    standby: Option<Standby>,
    /// A WAL position every read waits for on the standby (reading the primary meanwhile):
    /// set by [`ReadRouter::fence`] after a change that pages shared by everybody show.
    fence: AtomicI64,
}

struct Standby {
    db: DatabaseConnection,
    url: String,
    max_lag: Duration,
    probe: Mutex<Probe>,
}

struct Probe {
    health: Health,
    /// The primary's WAL position at each probe, oldest first.
    history: VecDeque<(Instant, i64)>,
    /// Whether "not a standby" has been logged.
    told_not_in_recovery: bool,
}

impl ReadRouter {
    /// Every read on the primary.
    pub fn primary_only(primary: DatabaseConnection) -> ReadRouter {
        ReadRouter {
            primary,
            standby: None,
            fence: AtomicI64::new(0),
        }
    }

    /// The router of `config`: with `[database] read_url`, a pool on the standby that connects
    /// when first used (a standby that is down at start does not stop the server: reads use
    /// the primary until it answers), probed once before this returns.
    pub async fn open(config: &Config, primary: DatabaseConnection) -> anyhow::Result<ReadRouter> {
        let Some(url) = &config.database.read_url else {
            tracing::info!(
                "reads: every query uses the primary database (HAILONG_DATABASE_READ_URL is unset)"
            );
            return Ok(Self::primary_only(primary));
        };
        check_config(config)?;
        let mut opts = ConnectOptions::new(url.clone());
        opts.sqlx_logging(false)
            .connect_lazy(true)
            .min_connections(0)
            .max_connections(16)
            .acquire_timeout(PROBE_TIMEOUT)
            .connect_timeout(PROBE_TIMEOUT);
        let db = Database::connect(opts).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot use HAILONG_DATABASE_READ_URL {}: {e}",
                redact_url(url)
            )
        })?;
        let router = ReadRouter {
            primary,
            fence: AtomicI64::new(0),
            standby: Some(Standby {
                db,
                url: redact_url(url),
                max_lag: Duration::from_secs(config.database.read_max_lag_secs),
                probe: Mutex::new(Probe {
                    health: Health::Unknown,
                    history: VecDeque::new(),
                    told_not_in_recovery: false,
                }),
            }),
        };
        router.probe().await;
        tracing::info!(
            standby = %redact_url(url),
            health = ?router.health(),
            max_lag_secs = config.database.read_max_lag_secs,
            "reads: staff console pages, exports, the JSON API and the public results and open \
             data read from the standby; writes, sign-ins, survey and thank-you pages, the review \
             queue, feedback items and a staff session's reads until the standby has replayed its \
             own last change use the primary, as does every read while the standby does not \
             answer; past the lag limit console pages show a notice and the others use the primary"
        );
        Ok(router)
    }

    /// The primary (writes, and reads that must see the latest state).
    pub fn primary(&self) -> &DatabaseConnection {
        &self.primary
    }

    pub fn has_standby(&self) -> bool {
        self.standby.is_some()
    }

    /// What the last probe found (`Unknown` without a standby).
    pub fn health(&self) -> Health {
        match &self.standby {
            Some(s) => s.probe.lock().map_or(Health::Down, |p| p.health),
            None => Health::Unknown,
        }
    }

    /// Where a read goes. `session_lsn`: the reading staff session's `last_write_lsn`;
    /// `console`: a console page, which may read a lagging standby and say so.
    pub fn route(&self, session_lsn: Option<i64>, console: bool) -> (&DatabaseConnection, Route) {
        let Some(s) = &self.standby else {
            return (&self.primary, primary(Why::NoStandby));
        };
        let (replay_lsn, lag) = match self.health() {
            Health::Up { replay_lsn, lag } => (replay_lsn, lag),
            Health::Unknown | Health::Down => {
                return (&self.primary, primary(Why::Unreachable));
            }
        };
        let fence = self.fence.load(Ordering::Relaxed);
        let wanted = session_lsn.map_or(fence, |mine| mine.max(fence));
        if let Some(replayed) = replay_lsn
            && replayed < wanted
        {
            return (&self.primary, primary(Why::OwnWrite));
        }
        if lag > s.max_lag {
            if !console {
                return (&self.primary, primary(Why::Lagging));
            }
            return (
                &s.db,
                Route {
                    standby: true,
                    why: Why::Standby,
                    lag_notice: Some(lag.as_secs_f64().round() as u64),
                },
            );
        }
        (
            &s.db,
            Route {
                standby: true,
                why: Why::Standby,
                lag_notice: None,
            },
        )
    }

    /// After a change that shared pages show (the public results, kept for a minute): every
    /// read uses the primary until the standby has replayed the primary's current position.
    pub async fn fence(&self) {
        if self.standby.is_none() {
            return;
        }
        match self.primary_lsn().await {
            Some(lsn) => {
                self.fence.fetch_max(lsn, Ordering::Relaxed);
            }
            None => tracing::warn!("cannot read the primary's WAL position for a read fence"),
        }
    }

    async fn primary_lsn(&self) -> Option<i64> {
        match self
            .primary
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn",
            ))
            .await
        {
            Ok(Some(row)) => row.try_get::<i64>("", "lsn").ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the primary's WAL position");
                None
            }
        }
    }

    /// Asks the primary and the standby where they are, and keeps the answer (see the module).
    pub async fn probe(&self) {
        let Some(s) = &self.standby else { return };
        let primary_lsn = self.primary_lsn().await;
        let sampled = Instant::now();
        let asked = tokio::time::timeout(
            PROBE_TIMEOUT,
            s.db.query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_is_in_recovery() AS recovery, \
                 (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS replay, \
                 EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS since_xact",
            )),
        )
        .await;
        let answer = match asked {
            Ok(Ok(Some(row))) => (|| -> Result<_, sea_orm::DbErr> {
                Ok((
                    row.try_get::<bool>("", "recovery")?,
                    row.try_get::<Option<i64>>("", "replay")?,
                    row.try_get::<Option<f64>>("", "since_xact")?,
                ))
            })()
            .map_err(|e| e.to_string()),
            Ok(Ok(None)) => Err("no row".to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        };
        let Ok(mut p) = s.probe.lock() else { return };
        if let Some(lsn) = primary_lsn {
            p.history.push_back((sampled, lsn));
            while p.history.len() > HISTORY {
                p.history.pop_front();
            }
        }
        let before = p.health;
        p.health = match answer {
            Err(e) => {
                if before != Health::Down {
                    tracing::warn!(
                        standby = %s.url,
                        error = %e,
                        "the standby does not answer: reads use the primary until it does"
                    );
                }
                Health::Down
            }
            Ok((false, _, _)) => {
                if !p.told_not_in_recovery {
                    p.told_not_in_recovery = true;
                    tracing::warn!(
                        standby = %s.url,
                        "HAILONG_DATABASE_READ_URL is not in recovery (not a standby, or promoted): \
                         reading from it as from a current copy"
                    );
                }
                Health::Up {
                    replay_lsn: None,
                    lag: Duration::ZERO,
                }
            }
            Ok((true, replay, since_xact)) => {
                let replay = replay.unwrap_or(0);
                let lag = lag_of(&p.history, replay, since_xact, Instant::now());
                if before == Health::Down || before == Health::Unknown {
                    tracing::info!(standby = %s.url, lag_secs = lag.as_secs(), "the standby answers");
                }
                Health::Up {
                    replay_lsn: Some(replay),
                    lag,
                }
            }
        };
        // The positions the standby has replayed are no longer needed.
        let replayed = replay_or_zero(p.health);
        while p.history.front().is_some_and(|&(_, lsn)| lsn <= replayed) {
            p.history.pop_front();
        }
    }

    /// Closes both pools.
    pub async fn close(&self) {
        if let Some(s) = &self.standby {
            let _ = s.db.clone().close().await;
        }
    }
}

/// Refuses a read URL that is not PostgreSQL, or beside a SQLite database (the configuration
/// file check says the same; this holds for a `Config` built in code too).
pub fn check_config(config: &Config) -> anyhow::Result<()> {
    if let Some(url) = &config.database.read_url
        && (!config.is_postgres() || !url.starts_with("postgres"))
    {
        anyhow::bail!(
            "HAILONG_DATABASE_READ_URL (`{}`) must be a PostgreSQL standby of a PostgreSQL \
             database, but HAILONG_DATABASE_URL is `{}`{}",
            redact_url(url),
            redact_url(&config.database_url),
            if config.is_postgres() {
                ""
            } else {
                " (SQLite): unset HAILONG_DATABASE_READ_URL (`[database] read_url`)"
            }
        );
    }
    Ok(())
}

fn primary(why: Why) -> Route {
    Route {
        standby: false,
        why,
        lag_notice: None,
    }
}

fn replay_or_zero(h: Health) -> i64 {
    match h {
        Health::Up {
            replay_lsn: Some(r),
            ..
        } => r,
        _ => 0,
    }
}

/// How late the standby is: the time since the oldest kept probe whose position it has not
/// replayed (the primary had something then that the standby still lacks), which is at most a
/// probe interval short of the truth; zero when it has replayed every kept position. When even
/// the oldest kept position is missing and the history is full, at least the time since the
/// last transaction it replayed.
fn lag_of(
    history: &VecDeque<(Instant, i64)>,
    replay: i64,
    since_xact: Option<f64>,
    now: Instant,
) -> Duration {
    let Some(&(missing_since, _)) = history.iter().find(|(_, lsn)| *lsn > replay) else {
        return if history.is_empty() {
            Duration::from_secs_f64(since_xact.unwrap_or(0.0).max(0.0))
        } else {
            Duration::ZERO
        };
    };
    let lag = now.saturating_duration_since(missing_since);
    let oldest_missing = history.front().is_some_and(|&(_, lsn)| lsn > replay);
    if oldest_missing && history.len() >= HISTORY {
        lag.max(Duration::from_secs_f64(since_xact.unwrap_or(0.0).max(0.0)))
    } else {
        lag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_oldest_change_the_standby_lacks() {
        let t0 = Instant::now();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let h: VecDeque<_> = [(s(0), 100), (s(1), 100), (s(2), 250), (s(3), 300)].into();
        let now = s(10);
        // Caught up: no lag, however long ago the last transaction was.
        assert_eq!(lag_of(&h, 300, Some(5000.0), now), Duration::ZERO);
        // Lacks position 250, which the primary had at second 2: 8 s late.
        assert_eq!(lag_of(&h, 120, Some(1.0), now), Duration::from_secs(8));
        assert_eq!(lag_of(&h, 250, None, now), Duration::from_secs(7));
        // Lacks everything kept: the oldest sample's age (the history is not full).
        assert_eq!(lag_of(&h, 50, Some(60.0), now), Duration::from_secs(10));
        // Nothing kept yet: the time since the last replayed transaction.
        assert_eq!(
            lag_of(&VecDeque::new(), 0, Some(4.0), now),
            Duration::from_secs(4)
        );
        // A full history that the standby is wholly behind.
        let full: VecDeque<_> = (0..HISTORY as u64)
            .map(|i| (s(i), 1000 + i as i64))
            .collect();
        let later = s(HISTORY as u64);
        assert_eq!(
            lag_of(&full, 10, Some(7200.0), later),
            Duration::from_secs(7200)
        );
    }
}
