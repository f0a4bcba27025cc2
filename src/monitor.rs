//! Prometheus metrics on `HAILONG_METRICS_LISTEN` (see docs/deployment.md for the queries).
//!
//! Built on the `metrics` crate's types with `metrics-exporter-prometheus`'s recorder, one
//! recorder per application (not the process-wide one), so that two applications in one process
//! (the tests) count apart. With the variable unset nothing is kept: every handle is a no-op.
//!
//! The hot paths stay cheap: the submission counters and the writer's histograms are registered
//! once; the writer records one sample per batch, never per row. The HTTP counters are keyed by
//! the matched route template (`/s/{ward_code}`), never the raw path, so their number is bounded
//! by the routes and statuses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::app::AppState;

static META: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

pub const HTTP_REQUESTS: &str = "hailong_http_requests_total";
pub const HTTP_DURATION: &str = "hailong_http_request_duration_seconds";
pub const SUBMISSIONS: &str = "hailong_submissions_total";
pub const BATCH_SIZE: &str = "hailong_writer_batch_size";
pub const COMMIT_SECONDS: &str = "hailong_writer_commit_seconds";
pub const OUTBOX: &str = "hailong_outbox_messages";
pub const RATE_LIMITED: &str = "hailong_rate_limited_total";
pub const READS: &str = "hailong_reads_total";
pub const STANDBY_LAG: &str = "hailong_standby_lag_seconds";

/// The route label of requests no route matched (404s of unknown paths).
pub const UNMATCHED: &str = "unmatched";

/// What a submission came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// Stored and counted.
    Counted,
    /// Stored, flagged (excluded until a reviewer includes it).
    Flagged,
    /// Not stored: invalid, rate-limited, or an invitation link that cannot be used.
    Refused,
}

/// The application's metrics; cheap to clone. `Metrics::off()` keeps nothing.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Live>>);

struct Live {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    counted: Counter,
    flagged: Counter,
    refused: Counter,
    batch_size: Histogram,
    commit_seconds: Histogram,
}

fn key(name: &'static str, labels: Vec<Label>) -> Key {
    Key::from_parts(name, labels)
}

impl Metrics {
    pub fn off() -> Self {
        Metrics(None)
    }

    /// A recorder with the histograms' buckets and every metric described.
    pub fn on() -> Self {
        const SECONDS: &[f64] = &[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        const SIZES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
        let builder = [HTTP_DURATION, COMMIT_SECONDS]
            .into_iter()
            .try_fold(PrometheusBuilder::new(), |b, name| {
                b.set_buckets_for_metric(Matcher::Full(name.into()), SECONDS)
            })
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), SIZES))
            .expect("bucket lists are not empty");
        let recorder = builder.build_recorder();
        let describe =
            |name: &'static str, unit: Option<Unit>, text: &'static str| (name, unit, text);
        for (name, unit, text) in [
            describe(
                HTTP_REQUESTS,
                None,
                "HTTP requests answered, by route template and status",
            ),
            describe(
                HTTP_DURATION,
                Some(Unit::Seconds),
                "Time to answer an HTTP request (to the response head), by route template",
            ),
            describe(
                SUBMISSIONS,
                None,
                "Survey submissions, by outcome (counted, flagged, refused)",
            ),
            describe(
                BATCH_SIZE,
                Some(Unit::Count),
                "Submissions stored per group-commit transaction",
            ),
            describe(
                COMMIT_SECONDS,
                Some(Unit::Seconds),
                "Time to store and commit one group-commit batch",
            ),
            describe(
                OUTBOX,
                Some(Unit::Count),
                "Messages in the e-mail outbox, by status",
            ),
            describe(
                RATE_LIMITED,
                None,
                "Requests refused by a rate limit, by limit",
            ),
            describe(
                READS,
                None,
                "Requests whose reads went to the standby or the primary (to), and why \
                 (standby, own_write, lagging, unreachable); only with HAILONG_DATABASE_READ_URL",
            ),
            describe(
                STANDBY_LAG,
                Some(Unit::Seconds),
                "How late the standby was at the last probe; -1 while it does not answer",
            ),
        ] {
            match name {
                HTTP_DURATION | BATCH_SIZE | COMMIT_SECONDS => {
                    recorder.describe_histogram(name.into(), unit, text.into())
                }
                OUTBOX | STANDBY_LAG => recorder.describe_gauge(name.into(), unit, text.into()),
                _ => recorder.describe_counter(name.into(), unit, text.into()),
            }
        }
        let outcome = |v: &'static str| {
            recorder.register_counter(&key(SUBMISSIONS, vec![Label::new("outcome", v)]), &META)
        };
        let live = Live {
            counted: outcome("counted"),
            flagged: outcome("flagged"),
            refused: outcome("refused"),
            batch_size: recorder.register_histogram(&Key::from_static_name(BATCH_SIZE), &META),
            commit_seconds: recorder
                .register_histogram(&Key::from_static_name(COMMIT_SECONDS), &META),
            handle: recorder.handle(),
            recorder,
        };
        Metrics(Some(Arc::new(live)))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// One submission's outcome.
    pub fn submission(&self, outcome: Submission) {
        if let Some(m) = &self.0 {
            match outcome {
                Submission::Counted => m.counted.increment(1),
                Submission::Flagged => m.flagged.increment(1),
                Submission::Refused => m.refused.increment(1),
            }
        }
    }

    /// One committed batch of the group-commit writer: its size and how long it took.
    pub fn batch(&self, size: usize, took: Duration) {
        if let Some(m) = &self.0 {
            m.batch_size.record(size as f64);
            m.commit_seconds.record(took.as_secs_f64());
        }
    }

    /// The counter of requests refused by the rate limit `limit` (a no-op handle when off).
    pub fn rate_limited(&self, limit: &'static str) -> Counter {
        match &self.0 {
            Some(m) => m
                .recorder
                .register_counter(&key(RATE_LIMITED, vec![Label::new("limit", limit)]), &META),
            None => Counter::noop(),
        }
    }

    /// One request's reads routed `to` the standby or the primary, and `why`.
    pub fn read_routed(&self, to: &'static str, why: &'static str) {
        if let Some(m) = &self.0 {
            m.recorder
                .register_counter(
                    &key(READS, vec![Label::new("to", to), Label::new("why", why)]),
                    &META,
                )
                .increment(1);
        }
    }

    /// The standby's lag at the last probe (`None`: it does not answer).
    pub fn standby_lag(&self, lag: Option<Duration>) {
        if let Some(m) = &self.0 {
            m.recorder
                .register_gauge(&Key::from_static_name(STANDBY_LAG), &META)
                .set(lag.map_or(-1.0, |l| l.as_secs_f64()));
        }
    }

    fn outbox_gauge(&self, status: &'static str) -> Gauge {
        match &self.0 {
            Some(m) => m
                .recorder
                .register_gauge(&key(OUTBOX, vec![Label::new("status", status)]), &META),
            None => Gauge::noop(),
        }
    }

    /// One answered HTTP request.
    fn request(&self, route: &str, status: u16, took: Duration) {
        if let Some(m) = &self.0 {
            let route = Label::new("route", route.to_string());
            m.recorder
                .register_counter(
                    &key(
                        HTTP_REQUESTS,
                        vec![route.clone(), Label::new("status", status.to_string())],
                    ),
                    &META,
                )
                .increment(1);
            m.recorder
                .register_histogram(&key(HTTP_DURATION, vec![route]), &META)
                .record(took.as_secs_f64());
        }
    }

    /// The Prometheus text of every metric.
    pub fn render(&self) -> String {
        self.0
            .as_ref()
            .map(|m| m.handle.render())
            .unwrap_or_default()
    }

    /// Drains the histograms' samples into their buckets (bounds their memory between scrapes).
    pub fn upkeep(&self) {
        if let Some(m) = &self.0 {
            m.handle.run_upkeep();
        }
    }
}

/// Middleware on every route (`web::router` adds it): counts the request under its route
/// template and status, and times it.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.metrics.is_on() {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();
    let resp = next.run(req).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    state
        .metrics
        .request(route, resp.status().as_u16(), started.elapsed());
    resp
}

/// `GET /metrics` on the metrics listener.
async fn scrape(State(metrics): State<Metrics>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

/// The metrics listener's router: `GET /metrics` only.
pub fn router(metrics: Metrics) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(metrics)
}

/// Serves `/metrics` on `listener`, and refreshes the outbox gauges and the histograms every
/// `every`, until the returned tasks are aborted.
pub fn spawn(
    state: &AppState,
    listener: tokio::net::TcpListener,
    every: Duration,
) -> Vec<tokio::task::JoinHandle<()>> {
    let metrics = state.metrics.clone();
    let serve = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(metrics)).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    let state = state.clone();
    let refresh = tokio::spawn(async move {
        use crate::mail::outbox::{FAILED, PENDING, SENT};
        let gauges = [PENDING, SENT, FAILED].map(|s| (s, state.metrics.outbox_gauge(s)));
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            for (status, gauge) in &gauges {
                match crate::mail::outbox::count(&state.db, status).await {
                    Ok(n) => gauge.set(n as f64),
                    Err(e) => tracing::warn!(error = %e, "cannot count the outbox for the metrics"),
                }
            }
            state.metrics.upkeep();
        }
    });
    vec![serve, refresh]
}
