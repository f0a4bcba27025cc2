//! Building the application (database, migrations, units, surveys, templates, router) and
//! serving it with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::survey::catalog::Catalog;

/// The survey residents answer on `/s/{ward_code}`.
pub const DEFAULT_SURVEY: &str = "ward-police";

/// Everything a request handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    /// The primary database: every write, and the reads that must see the latest state.
    pub db: DatabaseConnection,
    /// Where the heavy reads go: the standby of `HAILONG_DATABASE_READ_URL`, or the primary
    /// (handlers take a `web::reads::Reads` or `ConsoleReads`, see `replica`).
    pub reads: crate::replica::ReadRouter,
    pub config: Config,
    pub catalog: Catalog,
    pub tera: tera::Tera,
    /// Staff console: session policy, dummy password hash, cookie settings.
    pub staff: crate::auth::session::StaffRuntime,
    /// The default survey's instrument as the measure sees it, computed once.
    pub spec: crate::measure::ScaleSpec,
    /// The hash of the method configuration recorded with every figure.
    pub config_hash: String,
    /// Rate limiters (docs/console.md); switched off by `HAILONG_RATE_LIMIT=off`.
    pub limiters: crate::ratelimit::Limiters,
    /// The server secret and the day's address key, shared by every instance via the database.
    pub secrets: crate::privacy::keys::Secrets,
    /// The time submissions are stamped with and the rate limiters measure (the system's).
    pub clock: crate::clock::Clock,
    /// Where the mail worker sends (SMTP or `.eml` files).
    pub mail: crate::mail::transport::Transport,
    /// The group-commit writer that stores online submissions.
    pub writer: crate::store::writer::Writer,
    /// Every unit in memory, reloaded every minute.
    pub units: crate::store::units::UnitCache,
    /// The survey page of each unit kind and language, rendered once.
    pub pages: crate::web::survey::PageCache,
    /// The public results pages and open data, rendered at most once a minute per page.
    pub results: crate::web::results::PageCache,
    /// Permits for the reads that pool many wards (province rankings, the national trend):
    /// under a burst of such requests, a few run at once and the rest wait their turn, which
    /// bounds the memory they take together.
    pub heavy_reads: tokio::sync::Semaphore,
    /// Rankings being computed: requests for the same province and period that arrive while
    /// one is computed wait for it and share its result instead of computing it again.
    /// Prometheus metrics (kept only with `HAILONG_METRICS_LISTEN`).
    pub metrics: crate::monitor::Metrics,
    /// Keyed by province, period and whether it is read from the standby.
    rankings: std::sync::Mutex<
        std::collections::HashMap<(String, crate::period::Period, bool), RankingFlight>,
    >,
}

type RankingFlight =
    Arc<tokio::sync::OnceCell<Result<Arc<Vec<crate::store::figures::RankedRow>>, String>>>;

/// How many reads that pool many wards run at once.
pub const HEAVY_READS: usize = 2;

impl Inner {
    /// The ranking of a province's wards (see `store::figures::province_ranking`) read from
    /// `reads`, taking one of the [`HEAVY_READS`] permits.
    pub async fn province_ranking(
        &self,
        reads: &crate::web::reads::Reads,
        province: &str,
        period: crate::period::Period,
    ) -> Result<Vec<crate::store::figures::RankedRow>, sea_orm::DbErr> {
        let key = (province.to_string(), period, reads.route.standby);
        let flight = {
            let mut g = self
                .rankings
                .lock()
                .map_err(|_| sea_orm::DbErr::Custom("ranking lock poisoned".into()))?;
            g.entry(key.clone()).or_default().clone()
        };
        let result = flight
            .get_or_init(|| async {
                let computed = async {
                    let _permit = self
                        .heavy_reads
                        .acquire()
                        .await
                        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
                    crate::store::figures::province_ranking(
                        reads.db(),
                        self.measure_ctx(),
                        province,
                        period,
                    )
                    .await
                }
                .await;
                // Later requests compute afresh: only those that arrived meanwhile share this.
                if let Ok(mut g) = self.rankings.lock()
                    && g.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight))
                {
                    g.remove(&key);
                }
                computed.map(Arc::new).map_err(|e| e.to_string())
            })
            .await;
        match result {
            Ok(rows) => Ok(rows.as_ref().clone()),
            Err(e) => Err(sea_orm::DbErr::Custom(e.clone())),
        }
    }

    /// The national trend (see `store::figures::national_trend`) read from `db`, taking a
    /// heavy-read permit.
    pub async fn national_trend(
        &self,
        db: &DatabaseConnection,
        from: crate::period::Period,
        to: crate::period::Period,
    ) -> Result<Vec<crate::store::figures::TrendPoint>, sea_orm::DbErr> {
        let _permit = self
            .heavy_reads
            .acquire()
            .await
            .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
        crate::store::figures::national_trend(db, self.measure_ctx(), from, to).await
    }

    pub fn measure_ctx(&self) -> crate::store::figures::MeasureCtx<'_> {
        crate::store::figures::MeasureCtx {
            spec: &self.spec,
            method: &self.config.method,
            criteria: &self.config.score.criteria,
            config_hash: &self.config_hash,
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// A built application that owns its listener (so tests can bind port 0).
pub struct App {
    listener: TcpListener,
    state: AppState,
    /// The `/metrics` listener, with `HAILONG_METRICS_LISTEN`.
    metrics_listener: Option<TcpListener>,
}

/// Loads and validates every survey file, with the problems listed.
pub fn load_catalog(config: &Config) -> anyhow::Result<Catalog> {
    Catalog::load(&config.surveys_dir).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        anyhow::anyhow!(
            "the survey definitions in {} are not valid:\n{}",
            config.surveys_dir.display(),
            list.join("\n")
        )
    })
}

/// Probes the standby every second (see `replica`), until the application is dropped.
fn spawn_standby_probe(inner: &Arc<Inner>) {
    if !inner.reads.has_standby() {
        return;
    }
    let weak = Arc::downgrade(inner);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::replica::PROBE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(app) = weak.upgrade() else { break };
            app.reads.probe().await;
            app.metrics.standby_lag(match app.reads.health() {
                crate::replica::Health::Up { lag, .. } => Some(lag),
                _ => None,
            });
        }
    });
}

/// Reloads the in-memory unit list every minute, until the application is dropped.
fn spawn_unit_refresh(inner: &Arc<Inner>) {
    let weak = Arc::downgrade(inner);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(app) = weak.upgrade() else { break };
            if let Err(e) = app.units.refresh(&app.db).await {
                tracing::warn!(error = %e, "cannot reload the unit list");
            }
        }
    });
}

impl App {
    /// Opens the database, applies migrations, loads the unit list on an empty database,
    /// validates `surveys/`, parses templates and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        Self::build_with_clock(config, crate::clock::Clock::system()).await
    }

    /// As [`App::build`], with submissions stamped and rate limits measured on `clock` (a
    /// simulation moves it forward; a server keeps the system's).
    pub async fn build_with_clock(
        config: Config,
        clock: crate::clock::Clock,
    ) -> anyhow::Result<App> {
        crate::replica::check_config(&config)?;
        let catalog = load_catalog(&config)?;
        let Some(survey) = catalog.get(DEFAULT_SURVEY) else {
            anyhow::bail!(
                "the survey `{DEFAULT_SURVEY}` is missing from {}",
                config.surveys_dir.display()
            );
        };
        let spec = crate::intake::scale_spec(survey);
        let config_hash = config.method_hash();
        let tera = crate::templates::load().context("the page templates are not valid")?;
        let (db, loaded) = crate::db::open_with_units(&config.database_url).await?;
        if loaded > 0 {
            tracing::info!(
                units = loaded,
                "loaded the shipped list of administrative units"
            );
        }
        let seeded = crate::store::pilot::seed_from_config(&db, &config.staff.pilot_wards)
            .await
            .context("cannot set up the pilot group from [staff] pilot_wards")?;
        if !seeded.added.is_empty() {
            tracing::info!(
                wards = ?seeded.added,
                "the pilot group was set up from [staff] pilot_wards; edit it at /staff/pilot"
            );
        }
        if !seeded.unknown.is_empty() {
            tracing::warn!(
                codes = ?seeded.unknown,
                "[staff] pilot_wards names codes that are not units; they were left out"
            );
        }
        let secrets = crate::privacy::keys::Secrets::load(&db)
            .await
            .context("cannot read or create the server keys")?;
        let metrics = match config.metrics_listen {
            Some(_) => crate::monitor::Metrics::on(),
            None => crate::monitor::Metrics::off(),
        };
        let mut limiters = crate::ratelimit::Limiters::with_clock(&config.rate_limit, &clock);
        limiters.count_refusals(&metrics);
        if !config.rate_limit.enabled {
            tracing::warn!("HAILONG_RATE_LIMIT=off: every rate limit is switched off");
        }
        let staff = crate::auth::session::StaffRuntime::new(&config)?;
        let mail = crate::mail::transport::Transport::from_config(&config)?;
        let (writer, pending) =
            crate::store::writer::Writer::open(&config.database_url, config.pg_writers).await?;
        let units = crate::store::units::UnitCache::load(&db).await?;
        let reads = crate::replica::ReadRouter::open(&config, db.clone()).await?;
        let state = AppState(Arc::new(Inner {
            db,
            reads,
            config,
            catalog,
            tera,
            staff,
            spec,
            config_hash,
            limiters,
            secrets,
            clock,
            mail,
            writer,
            units,
            pages: Default::default(),
            results: Default::default(),
            heavy_reads: tokio::sync::Semaphore::new(HEAVY_READS),
            metrics,
            rankings: Default::default(),
        }));
        // Bound last, so that a connection is accepted only once everything else is ready.
        let listener = TcpListener::bind(&state.config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", state.config.listen))?;
        let metrics_listener = match &state.config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| {
                format!("cannot listen on {addr} (HAILONG_METRICS_LISTEN) for the metrics")
            })?),
            None => None,
        };
        warn_loopback_base_url(&state.config, &listener);
        crate::store::writer::Writer::start(&state.0, pending);
        spawn_unit_refresh(&state.0);
        spawn_standby_probe(&state.0);
        Ok(App {
            listener,
            state,
            metrics_listener,
        })
    }

    /// The address of the `/metrics` listener, with `HAILONG_METRICS_LISTEN`.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = crate::web::router(self.state.clone());
        tracing::info!(addr = %self.local_addr(), "serving");
        // Background work: bound the rate limiters' memory, purge personal data past its retention.
        let mut tasks = vec![
            tokio::spawn(crate::ratelimit::housekeeping_loop(
                self.state.clone(),
                std::time::Duration::from_secs(10),
            )),
            tokio::spawn(crate::privacy::retention::purge_loop(
                self.state.db.clone(),
                crate::privacy::retention::Retention::of(&self.state.config, &self.state.catalog),
                std::time::Duration::from_secs(3600),
            )),
            tokio::spawn(crate::mail::worker::run(
                self.state.clone(),
                self.state.mail.clone(),
            )),
        ];
        if let Some(l) = self.metrics_listener {
            tracing::info!(addr = %l.local_addr()?, "serving metrics on /metrics");
            let every = std::time::Duration::from_secs(10);
            tasks.extend(crate::monitor::spawn(&self.state, l, every));
        }
        tasks.push(tokio::spawn(crate::backup::schedule::run(
            self.state.config.database_url.clone(),
            self.state.config.backup.clone(),
        )));
        let served = crate::server::serve(
            self.listener,
            router,
            &self.state.config.server,
            self.state.limiters.rule.proxies.clone(),
            shutdown,
        )
        .await;
        for t in &tasks {
            t.abort();
        }
        served?;
        self.state.reads.close().await;
        self.state.db.clone().close().await.ok();
        tracing::info!("stopped");
        Ok(())
    }
}

/// Warns when the server listens on a public address while `base_url` still names the local
/// machine: QR codes, posters and e-mail links would then point residents and staff at
/// their own device.
fn warn_loopback_base_url(config: &Config, listener: &TcpListener) {
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    if addr.ip().is_loopback() || !base_url_is_loopback(&config.base_url) {
        return;
    }
    tracing::warn!(
        listen = %addr,
        base_url = %config.base_url,
        "the server listens on a non-loopback address but HAILONG_BASE_URL is a loopback address: \
         QR codes, posters and the links in e-mails will point at the reader's own device and not \
         work; set HAILONG_BASE_URL to the public address, e.g. https://hailong.example.vn"
    );
}

/// Whether the host of `url` is `localhost` or a loopback address.
pub fn base_url_is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Completes on Ctrl-C or SIGTERM. The signals are caught from this call on, not from the
/// future's first poll: `serve` calls it before it starts listening, so that a SIGTERM that
/// comes as soon as a connection is accepted lets that request finish instead of ending the
/// process by the signal's default action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let caught = {
        use tokio::signal::unix::{SignalKind, signal};
        [SignalKind::interrupt(), SignalKind::terminate()].map(|kind| {
            signal(kind)
                .map_err(|e| tracing::warn!(error = %e, "cannot catch a signal"))
                .ok()
        })
    };
    async move {
        #[cfg(unix)]
        {
            let [interrupt, terminate] = caught;
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {},
                _ = wait(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_base_urls_are_recognised() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "https://LOCALHOST:8443/x",
            "http://[::1]:8080/",
            "http://127.1.2.3",
            "http://app.localhost",
        ] {
            assert!(super::base_url_is_loopback(url), "{url}");
        }
        for url in [
            "https://hailong.example.vn",
            "http://10.0.0.5:8080",
            "http://[2001:db8::1]/",
            "http://localhost.example.vn",
        ] {
            assert!(!super::base_url_is_loopback(url), "{url}");
        }
    }
}
