//! Typed configuration, read once at start-up.
//!
//! Every setting can be given in an optional TOML file (`--config FILE` or `HAILONG_CONFIG`) and
//! overridden by the environment; the environment wins. The README documents each variable.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::measure::MethodConfig;
use crate::measure::score::{Criterion, default_criteria, validate_criteria};

/// The most group-commit writers on PostgreSQL (each holds a connection).
pub const MAX_PG_WRITERS: usize = 32;

/// The whole configuration of one `hailong` process.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `HAILONG_DATABASE_URL`: `sqlite://hailong.db?mode=rwc` (default) or `postgres://…`.
    pub database_url: String,
    /// `[database]`: a streaming standby that heavy reads go to (PostgreSQL only).
    pub database: DatabaseConfig,
    /// `HAILONG_LISTEN`: the address the HTTP server binds.
    pub listen: String,
    /// `HAILONG_BASE_URL`: the public URL printed in QR codes and e-mails.
    pub base_url: String,
    /// `HAILONG_SURVEYS_DIR`: the folder of survey definitions.
    pub surveys_dir: PathBuf,
    /// `HAILONG_RATE_LIMIT=off` turns every rate limit off.
    pub rate_limit: RateLimitConfig,
    /// `HAILONG_SMTP_URL`: unset means mail is written as `.eml` files to `mail_dir`.
    pub smtp_url: Option<String>,
    /// `HAILONG_MAIL_FROM`.
    pub mail_from: String,
    /// `HAILONG_MAIL_DIR`.
    pub mail_dir: PathBuf,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Seconds after which a request is answered with 408.
    pub request_timeout_secs: u64,
    /// `HAILONG_PG_WRITERS`: on PostgreSQL, how many group-commit writers store submissions
    /// side by side, each with its own connection (SQLite has one writer).
    pub pg_writers: usize,
    /// The satisfaction method's tunable thresholds (docs/method.md).
    pub method: MethodConfig,
    /// Ward-score criteria and their weights (docs/method.md step 11).
    pub score: ScoreSettings,
    /// Staff console: sessions and the pilot group (the login limit is `rate_limit.logins_per_minute`).
    pub staff: StaffConfig,
    /// What is kept about residents, and for how long (docs/console.md).
    pub privacy: PrivacyConfig,
    /// Duplicate and burst flags (docs/console.md).
    pub integrity: IntegrityConfig,
    /// E-mail: retries, alerts, follow-ups, links.
    pub mail: MailConfig,
    /// What the public pages say about who runs the survey and whom to ask.
    pub public: PublicConfig,
    /// `HAILONG_METRICS_LISTEN`: the address of the Prometheus `/metrics` listener, apart from
    /// the public one; unset (the default) means no metrics are kept or served.
    pub metrics_listen: Option<String>,
    /// Backups `serve` takes and rotates itself (see docs/deployment.md).
    pub backup: BackupConfig,
    /// How connections are served: the header timeout and the connection caps.
    pub server: ServerConfig,
}

/// `[database]`: where reads go besides the primary (`database_url`), see docs/deployment.md.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `HAILONG_DATABASE_READ_URL`: a PostgreSQL streaming standby of the primary. Console
    /// pages, exports, the JSON API and the public results read from it; writes, sign-ins,
    /// survey pages and a staff session's reads right after its own change use the primary.
    /// Unset: every query uses the primary.
    pub read_url: Option<String>,
    /// Seconds the standby may lag behind the primary: past this, console pages say their
    /// figures may be late by about that much, and exports, the API and the public results
    /// read from the primary until it catches up.
    pub read_max_lag_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            read_url: None,
            read_max_lag_secs: 30,
        }
    }
}

/// `[server]`: how connections are served (docs/hardening.md, "Connections").
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Seconds a client has to send a request's complete headers; a connection that has not
    /// is closed. It also bounds how long an idle keep-alive connection stays open.
    pub header_timeout_secs: u64,
    /// Open connections at most; past this a new connection is closed at once.
    pub max_connections: usize,
    /// Open connections from one client address (an IPv4 address, an IPv6 /64) at most; past
    /// this a new connection from it is closed at once. `rate_limit.trusted_proxies` are
    /// capped only by `max_connections`.
    pub max_connections_per_address: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_timeout_secs: 10,
            max_connections: 10_000,
            max_connections_per_address: 512,
        }
    }
}

/// `[public]`: the issuing unit shown on every survey page, and a contact line, per province
/// if wanted:
///
/// ```toml
/// [public]
/// issuer = "Công an thành phố Hà Nội"
/// contact = "Đường dây nóng: 069 123 4567"
/// [public.provinces."01"]
/// contact = "Phòng Cảnh sát quản lý hành chính, Công an TP Hà Nội: 069 219 4567"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicConfig {
    /// The unit that issues the survey, shown above every survey form (at most 200 characters).
    pub issuer: String,
    /// The contact line of provinces without one of their own; unset: the page asks residents
    /// to turn to their ward's police office.
    pub contact: Option<String>,
    /// Per two-digit province code, that province's contact line.
    pub provinces: std::collections::BTreeMap<String, ProvincePublic>,
}

/// `[public.provinces."01"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvincePublic {
    /// One line, at most 300 characters.
    pub contact: String,
}

impl Default for PublicConfig {
    fn default() -> Self {
        Self {
            issuer: "Bộ Công an".into(),
            contact: None,
            provinces: Default::default(),
        }
    }
}

impl PublicConfig {
    /// The contact line of a province: its own, else the general one.
    pub fn contact_of(&self, province_code: &str) -> Option<&str> {
        self.provinces
            .get(province_code)
            .map(|p| p.contact.as_str())
            .or(self.contact.as_deref())
    }

    fn validate(&self) -> Result<(), String> {
        let line = |what: &str, s: &str, max: usize| {
            let n = s.chars().count();
            if s.trim().is_empty() || n > max || s.chars().any(char::is_control) {
                Err(format!(
                    "public: {what} must be one line of 1 to {max} characters (it has {n})"
                ))
            } else {
                Ok(())
            }
        };
        line("issuer", &self.issuer, 200)?;
        if let Some(c) = &self.contact {
            line("contact", c, 300)?;
        }
        for (code, p) in &self.provinces {
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "public.provinces: `{code}` is not a two-digit province code such as \"01\""
                ));
            }
            line(&format!("provinces.\"{code}\".contact"), &p.contact, 300)?;
        }
        Ok(())
    }
}

/// `[backup]`: scheduled backups taken by `serve`; off while `dir` is unset.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// The folder the backups are written to (`hailong-YYYYMMDDTHHMMSSZ.db`, or `.dump` on
    /// PostgreSQL); unset: `serve` takes none.
    pub dir: Option<PathBuf>,
    /// Hours between two backups; the first is taken at start when the newest in `dir` is
    /// older than that.
    pub every_hours: u32,
    /// How many backups are kept: after each one the oldest beyond this are deleted.
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            dir: None,
            every_hours: 24,
            keep: 7,
        }
    }
}

/// `[mail]`: the outbox worker and the messages it sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Tries before a message is marked `failed` (shown to ministry users on `/staff/mail`).
    pub max_attempts: u32,
    /// The wait after the first failed try; it doubles after each further failure.
    pub backoff_base_secs: u64,
    /// The longest wait between two tries.
    pub backoff_max_secs: u64,
    /// How long a worker owns a message it claimed; after that another worker may retry it.
    pub lease_secs: u64,
    /// How often the worker looks for due messages, in milliseconds.
    pub poll_interval_ms: u64,
    /// Days after an officer's reply when the resident is asked whether the issue was resolved.
    pub followup_days: u32,
    /// A response whose `overall` answer is at most this alerts the ward's officers.
    pub alert_max_overall: i32,
    /// Words in a comment or issue that alert the ward's officers (matched without accents too).
    pub alert_keywords: Vec<String>,
    /// Words in a comment or issue that name misconduct by the police (matched like
    /// `alert_keywords`): such a response is withheld from its ward (inbox and alerts) until a
    /// province or ministry user releases it, and the province's users are alerted instead.
    pub misconduct_keywords: Vec<String>,
    /// Whether the worker enqueues the weekly digest (Mondays, Vietnam time).
    pub weekly_digest: bool,
    /// Hours an invitation link stays valid.
    pub invite_valid_hours: u32,
    /// Minutes a password-reset link stays valid.
    pub reset_valid_minutes: u32,
    /// Days the bodies of sent messages are kept; then only their kind, recipient, subject,
    /// status and times stay.
    pub sent_retention_days: u32,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_base_secs: 60,
            backoff_max_secs: 6 * 3600,
            lease_secs: 300,
            poll_interval_ms: 2000,
            followup_days: 7,
            alert_max_overall: 2,
            alert_keywords: vec!["hối lộ".into(), "tiêu cực".into(), "sách nhiễu".into()],
            misconduct_keywords: [
                "hối lộ",
                "tiêu cực",
                "sách nhiễu",
                "đòi tiền",
                "bảo kê",
                "đánh người",
            ]
            .map(String::from)
            .to_vec(),
            weekly_digest: true,
            invite_valid_hours: 72,
            reset_valid_minutes: 60,
            sent_retention_days: 30,
        }
    }
}

/// `[staff]`: the staff console's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaffConfig {
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: u64,
    /// A session ends this many hours after the login, however active.
    pub session_absolute_hours: u64,
    /// The pilot group of model wards shown side by side to the ministry (ward codes).
    pub pilot_wards: Vec<String>,
}

impl Default for StaffConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            pilot_wards: Vec::new(),
        }
    }
}

/// The `[rate_limit]` section. Requests are keyed by the device cookie when the client sends
/// one we signed, else by the client address; a generous per-address ceiling also holds back a
/// client that mints many cookies.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Survey submissions per device cookie (or per address without one) per minute, per ward.
    pub submissions_per_minute: u32,
    /// Survey submissions per address per minute per ward, whatever the cookies (the ceiling
    /// for everybody behind one carrier address).
    pub address_submissions_per_minute: u32,
    /// Page views per device cookie (or per address without one) per second, and the burst.
    pub pages_per_second: u32,
    pub pages_burst: u32,
    /// Page views per address per second, whatever the cookies, and the burst.
    pub address_pages_per_second: u32,
    pub address_pages_burst: u32,
    /// Wrong staff passwords per minute for one account from one address (all may come at
    /// once); then that account waits at that address. A right password is not counted.
    pub logins_per_minute: u32,
    /// Wrong staff passwords per minute from one address over every account; then that
    /// address waits. Failures never make a right password from another address wait.
    pub address_logins_per_minute: u32,
    /// JSON API requests per minute, per API token (or per address without one).
    pub api_per_minute: u32,
    /// The header a trusted reverse proxy puts the client address in (e.g. `X-Forwarded-For`,
    /// `X-Real-IP`); read only when the peer address is one of `trusted_proxies`.
    pub trusted_proxy_header: Option<String>,
    /// Addresses or CIDR blocks of the reverse proxies in front of the server.
    pub trusted_proxies: Vec<String>,
    /// Keys each limiter may track before it forgets them all (memory bound).
    pub max_tracked_keys: usize,
}

/// The `[privacy]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Days a contact e-mail is kept before the background task deletes it.
    pub contact_retention_days: u32,
    /// Days free text (comment and issue) is kept before it is erased (replaced by
    /// "[đã xoá theo yêu cầu]"; the scores stay counted).
    pub text_retention_days: u32,
}

/// The `[integrity]` section: when online responses are flagged `same_address` or `burst`
/// (docs/integrity.md).
///
/// Address concentration: of the online responses from one address (its keyed hash) to one
/// ward on one Vietnam calendar day, the first `address_counted_per_day` count; later ones
/// are stored flagged `same_address` (0 turns the rule off). Responses with a valid invitation
/// token are exempt.
///
/// Burst: a ward's usual rate is its online responses per `burst_window_minutes` averaged over
/// the `burst_baseline_days` before the current window (burst-flagged ones left out). A
/// response is flagged when the window up to it holds more than
/// `max(burst_min_per_window, burst_factor × usual rate)` online responses of its ward, not
/// counting those already flagged as a device's or an address's repeats.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IntegrityConfig {
    pub address_counted_per_day: u32,
    pub burst_window_minutes: u32,
    pub burst_baseline_days: u32,
    pub burst_factor: f64,
    pub burst_min_per_window: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreSettings {
    /// Criterion id → weight; `satisfaction` is the satisfaction index itself.
    pub criteria: Vec<Criterion>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://hailong.db?mode=rwc".into(),
            database: DatabaseConfig::default(),
            listen: "127.0.0.1:8080".into(),
            base_url: "http://127.0.0.1:8080".into(),
            surveys_dir: PathBuf::from("surveys"),
            rate_limit: RateLimitConfig::default(),
            smtp_url: None,
            mail_from: "Hài Lòng <no-reply@hailong.local>".into(),
            mail_dir: PathBuf::from("mail"),
            max_body_bytes: 16 * 1024,
            request_timeout_secs: 15,
            pg_writers: 2,
            method: MethodConfig::default(),
            score: ScoreSettings::default(),
            staff: StaffConfig::default(),
            privacy: PrivacyConfig::default(),
            integrity: IntegrityConfig::default(),
            mail: MailConfig::default(),
            public: PublicConfig::default(),
            server: ServerConfig::default(),
            metrics_listen: None,
            backup: BackupConfig::default(),
        }
    }
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            contact_retention_days: 90,
            text_retention_days: 730,
        }
    }
}

impl Default for IntegrityConfig {
    fn default() -> Self {
        Self {
            address_counted_per_day: 10,
            burst_window_minutes: 60,
            burst_baseline_days: 28,
            burst_factor: 10.0,
            burst_min_per_window: 20,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            submissions_per_minute: 6,
            address_submissions_per_minute: 120,
            pages_per_second: 20,
            pages_burst: 60,
            address_pages_per_second: 100,
            address_pages_burst: 300,
            logins_per_minute: 10,
            address_logins_per_minute: 30,
            api_per_minute: 120,
            trusted_proxy_header: None,
            trusted_proxies: Vec::new(),
            max_tracked_keys: 200_000,
        }
    }
}

impl Default for ScoreSettings {
    fn default() -> Self {
        Self {
            criteria: default_criteria(),
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Reads the optional file, then the environment (which wins), then checks the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &env)
    }

    /// As [`Config::load`], with the environment given explicitly (for tests).
    pub fn load_from(file: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| get("HAILONG_CONFIG").map(PathBuf::from));
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path,
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        if let Some(v) = get("HAILONG_DATABASE_URL") {
            cfg.database_url = v;
        }
        if let Some(v) = get("HAILONG_DATABASE_READ_URL") {
            cfg.database.read_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = get("HAILONG_LISTEN") {
            cfg.listen = v;
        }
        if let Some(v) = get("HAILONG_BASE_URL") {
            cfg.base_url = v;
        }
        if let Some(v) = get("HAILONG_SURVEYS_DIR") {
            cfg.surveys_dir = PathBuf::from(v);
        }
        if let Some(v) = get("HAILONG_RATE_LIMIT") {
            cfg.rate_limit.enabled = match v.to_ascii_lowercase().as_str() {
                "off" | "0" | "false" | "no" => false,
                "on" | "1" | "true" | "yes" => true,
                other => {
                    return Err(ConfigError::Invalid(format!(
                        "HAILONG_RATE_LIMIT must be `on` or `off`, not `{other}`"
                    )));
                }
            };
        }
        if let Some(v) = get("HAILONG_SMTP_URL").filter(|v| !v.is_empty()) {
            cfg.smtp_url = Some(v);
        }
        if let Some(v) = get("HAILONG_MAIL_FROM") {
            cfg.mail_from = v;
        }
        if let Some(v) = get("HAILONG_MAIL_DIR") {
            cfg.mail_dir = PathBuf::from(v);
        }
        if let Some(v) = get("HAILONG_PG_WRITERS") {
            cfg.pg_writers = v.trim().parse().map_err(|_| {
                ConfigError::Invalid(format!(
                    "HAILONG_PG_WRITERS must be a number of writers from 1 to {MAX_PG_WRITERS}, not `{v}`"
                ))
            })?;
        }
        if let Some(v) = get("HAILONG_METRICS_LISTEN") {
            cfg.metrics_listen = Some(v).filter(|v| !v.trim().is_empty());
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(format!("listen address `{}` is not HOST:PORT", self.listen));
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return bad(format!(
                "base URL `{}` must start with http:// or https://",
                self.base_url
            ));
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            return bad(format!(
                "database URL must start with sqlite: or postgres://, not `{}`",
                redact_url(&self.database_url)
            ));
        }
        if let Some(read) = &self.database.read_url {
            if !self.is_postgres() {
                return bad(format!(
                    "HAILONG_DATABASE_READ_URL (`{}`) names a PostgreSQL standby, but the database \
                     is SQLite (`{}`): a read replica needs PostgreSQL as HAILONG_DATABASE_URL; \
                     unset HAILONG_DATABASE_READ_URL (`[database] read_url`)",
                    redact_url(read),
                    redact_url(&self.database_url)
                ));
            }
            if !read.starts_with("postgres") {
                return bad(format!(
                    "HAILONG_DATABASE_READ_URL must start with postgres://, not `{}`",
                    redact_url(read)
                ));
            }
        }
        if self.database.read_max_lag_secs == 0 {
            return bad("database.read_max_lag_secs must be at least 1".into());
        }
        let m = &self.method;
        if m.min_cell == 0 || m.weight_cap <= 1.0 || m.insufficient_below > m.published_from {
            return bad(
                "method: min_cell ≥ 1, weight_cap > 1 and insufficient_below ≤ published_from"
                    .into(),
            );
        }
        if !(0.0..=1.0).contains(&m.satisfied_model_ward) || !(0.0..1.0).contains(&m.q_threshold) {
            return bad("method: satisfied_model_ward and q_threshold must lie in [0, 1]".into());
        }
        validate_criteria(&self.score.criteria)
            .map_err(|e| ConfigError::Invalid(format!("score: {e}")))?;
        let st = &self.staff;
        if st.session_idle_minutes == 0 || st.session_absolute_hours == 0 {
            return bad(
                "staff: session_idle_minutes and session_absolute_hours must be ≥ 1".into(),
            );
        }
        if let Some(w) = st
            .pilot_wards
            .iter()
            .find(|w| w.len() != 5 || !w.bytes().all(|b| b.is_ascii_digit()))
        {
            return bad(format!(
                "staff: pilot ward `{w}` is not a 5-digit ward code"
            ));
        }
        let r = &self.rate_limit;
        if [
            r.submissions_per_minute,
            r.address_submissions_per_minute,
            r.pages_per_second,
            r.pages_burst,
            r.address_pages_per_second,
            r.address_pages_burst,
            r.logins_per_minute,
            r.address_logins_per_minute,
            r.api_per_minute,
        ]
        .contains(&0)
        {
            return bad("rate_limit: every limit must be at least 1 (use enabled = false)".into());
        }
        for p in &r.trusted_proxies {
            if crate::ratelimit::IpNet::parse(p).is_none() {
                return bad(format!(
                    "rate_limit.trusted_proxies: `{p}` is not an address or CIDR block"
                ));
            }
        }
        if let Some(h) = &r.trusted_proxy_header
            && axum::http::HeaderName::from_bytes(h.as_bytes()).is_err()
        {
            return bad(format!(
                "rate_limit.trusted_proxy_header `{h}` is not a header name"
            ));
        }
        if self.privacy.contact_retention_days == 0 {
            return bad("privacy.contact_retention_days must be at least 1".into());
        }
        if self.privacy.text_retention_days == 0 {
            return bad("privacy.text_retention_days must be at least 1".into());
        }
        self.public.validate().map_err(ConfigError::Invalid)?;
        let i = &self.integrity;
        if i.burst_window_minutes == 0
            || i.burst_baseline_days == 0
            || i.burst_min_per_window == 0
            || !i.burst_factor.is_finite()
            || i.burst_factor < 1.0
        {
            return bad(
                "integrity: burst window, baseline and minimum ≥ 1, burst_factor ≥ 1".into(),
            );
        }
        let ml = &self.mail;
        if ml.max_attempts == 0
            || ml.backoff_base_secs == 0
            || ml.backoff_max_secs < ml.backoff_base_secs
            || ml.lease_secs < 30
            || ml.poll_interval_ms == 0
            || ml.invite_valid_hours == 0
            || ml.reset_valid_minutes == 0
        {
            return bad(
                "mail: max_attempts, backoff_base_secs, poll_interval_ms and link lifetimes ≥ 1, \
                 backoff_max_secs ≥ backoff_base_secs, lease_secs ≥ 30"
                    .into(),
            );
        }
        if ml.sent_retention_days == 0 {
            return bad("mail.sent_retention_days must be at least 1".into());
        }
        if let Some(url) = &self.smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return bad(format!(
                "HAILONG_SMTP_URL must start with smtp:// or smtps://, not `{}`",
                redact_url(url)
            ));
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return bad(format!(
                "HAILONG_MAIL_FROM `{}` is not an address such as `Hài Lòng <no-reply@example.vn>`",
                self.mail_from
            ));
        }
        let sv = &self.server;
        for (name, value) in [
            ("header_timeout_secs", sv.header_timeout_secs),
            ("max_connections", sv.max_connections as u64),
            (
                "max_connections_per_address",
                sv.max_connections_per_address as u64,
            ),
        ] {
            if value == 0 {
                return bad(format!(
                    "server.{name} must be at least 1 (zero would refuse every connection)"
                ));
            }
        }
        if self.max_body_bytes < 1024 {
            return bad("max_body_bytes must be at least 1024".into());
        }
        if let Some(m) = &self.metrics_listen
            && m.parse::<std::net::SocketAddr>().is_err()
        {
            return bad(format!(
                "HAILONG_METRICS_LISTEN `{m}` is not HOST:PORT (e.g. 127.0.0.1:9464)"
            ));
        }
        let b = &self.backup;
        if b.every_hours == 0 || b.every_hours > 24 * 366 || b.keep == 0 {
            return bad(format!(
                "backup: every_hours must be from 1 to 8784 and keep at least 1 (got every_hours = {}, keep = {})",
                b.every_hours, b.keep
            ));
        }
        if b.dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            return bad("backup.dir must name a folder (leave it out to take no backups)".into());
        }
        if !(1..=MAX_PG_WRITERS).contains(&self.pg_writers) {
            return bad(format!(
                "pg_writers must be from 1 to {MAX_PG_WRITERS}, not {}",
                self.pg_writers
            ));
        }
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// A stable hash of the settings that change published figures (docs/method.md: every figure
    /// records the hash of the configuration it used).
    pub fn method_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = serde_json::json!({
            "method_version": crate::measure::METHOD_VERSION,
            "method": self.method,
            "criteria": self.score.criteria,
        })
        .to_string();
        hex::encode(&Sha256::digest(text.as_bytes())[..8])
    }
}

/// The URL with any password replaced, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &cred[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let c = Config::load_from(None, &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert!(c.database_url.starts_with("sqlite://hailong.db"));
        assert!(c.rate_limit.enabled);
    }

    #[test]
    fn environment_wins_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("h.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:9000\"\nbase_url = \"https://x.vn\"\n",
        )
        .unwrap();
        let c = Config::load_from(Some(&f), &env(&[("HAILONG_LISTEN", "127.0.0.1:9001")])).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9001");
        assert_eq!(c.base_url, "https://x.vn");
        let c = Config::load_from(None, &env(&[("HAILONG_RATE_LIMIT", "off")])).unwrap();
        assert!(!c.rate_limit.enabled);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Config::load_from(None, &env(&[("HAILONG_RATE_LIMIT", "maybe")])).is_err());
        assert!(Config::load_from(None, &env(&[("HAILONG_LISTEN", "nowhere")])).is_err());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("h.toml");
        std::fs::write(
            &f,
            "[score]\ncriteria = [{id = \"satisfaction\", weight = 0.5}, {id = \"x\", weight = 0.4}]\n",
        )
        .unwrap();
        let e = Config::load_from(Some(&f), &[]).unwrap_err().to_string();
        assert!(e.contains("sum to"), "{e}");
        std::fs::write(&f, "nonsense = 1\n").unwrap();
        assert!(matches!(
            Config::load_from(Some(&f), &[]),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn postgresql_writers_are_a_small_positive_number() {
        assert_eq!(Config::load_from(None, &[]).unwrap().pg_writers, 2);
        let c = Config::load_from(None, &env(&[("HAILONG_PG_WRITERS", "3")])).unwrap();
        assert_eq!(c.pg_writers, 3);
        for bad in ["0", "33", "two", ""] {
            let e = Config::load_from(None, &env(&[("HAILONG_PG_WRITERS", bad)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains("writers"), "{bad}: {e}");
        }
    }

    #[test]
    fn server_limits_have_defaults_and_refuse_zero() {
        let c = Config::load_from(None, &[]).unwrap();
        assert_eq!(c.server.header_timeout_secs, 10);
        assert_eq!(c.server.max_connections, 10_000);
        assert_eq!(c.server.max_connections_per_address, 512);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("h.toml");
        std::fs::write(&f, "[server]\nheader_timeout_secs = 3\n").unwrap();
        let c = Config::load_from(Some(&f), &[]).unwrap();
        assert_eq!(c.server.header_timeout_secs, 3);
        for key in [
            "header_timeout_secs",
            "max_connections",
            "max_connections_per_address",
        ] {
            std::fs::write(&f, format!("[server]\n{key} = 0\n")).unwrap();
            let e = Config::load_from(Some(&f), &[]).unwrap_err().to_string();
            assert!(
                e.contains(&format!("server.{key} must be at least 1")),
                "{e}"
            );
        }
        std::fs::write(&f, "[server]\nmax_conections = 5\n").unwrap();
        assert!(matches!(
            Config::load_from(Some(&f), &[]),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn metrics_and_backups_are_checked() {
        let c = Config::load_from(None, &[]).unwrap();
        assert_eq!(c.metrics_listen, None);
        assert_eq!(c.backup, BackupConfig::default());
        let c =
            Config::load_from(None, &env(&[("HAILONG_METRICS_LISTEN", "127.0.0.1:9464")])).unwrap();
        assert_eq!(c.metrics_listen.as_deref(), Some("127.0.0.1:9464"));
        let e = Config::load_from(None, &env(&[("HAILONG_METRICS_LISTEN", "9464")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("HAILONG_METRICS_LISTEN"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("h.toml");
        std::fs::write(
            &f,
            "[backup]\ndir = \"/var/backups/hailong\"\nevery_hours = 6\nkeep = 28\n",
        )
        .unwrap();
        let c = Config::load_from(Some(&f), &[]).unwrap();
        assert_eq!(c.backup.dir, Some(PathBuf::from("/var/backups/hailong")));
        assert_eq!((c.backup.every_hours, c.backup.keep), (6, 28));
        for bad in ["every_hours = 0", "keep = 0", "dir = \"\"", "often = 1"] {
            std::fs::write(&f, format!("[backup]\n{bad}\n")).unwrap();
            assert!(Config::load_from(Some(&f), &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_public_section_is_read_and_checked() {
        let c = Config::load_from(None, &[]).unwrap();
        assert_eq!(c.public.issuer, "Bộ Công an");
        assert_eq!(c.public.contact_of("01"), None);
        assert_eq!(c.privacy.text_retention_days, 730);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("h.toml");
        std::fs::write(
            &f,
            "[public]\nissuer = \"Công an TP Hà Nội\"\ncontact = \"Chung: 1900\"\n\
             [public.provinces.\"01\"]\ncontact = \"Hà Nội: 069 123\"\n",
        )
        .unwrap();
        let c = Config::load_from(Some(&f), &[]).unwrap();
        assert_eq!(c.public.issuer, "Công an TP Hà Nội");
        assert_eq!(c.public.contact_of("01"), Some("Hà Nội: 069 123"));
        assert_eq!(c.public.contact_of("79"), Some("Chung: 1900"));
        for bad in [
            "[public]\nissuer = \"\"\n",
            "[public.provinces.\"1\"]\ncontact = \"x\"\n",
            "[public.provinces.\"01\"]\ncontact = \"a\\nb\"\n",
            "[privacy]\ntext_retention_days = 0\n",
        ] {
            std::fs::write(&f, bad).unwrap();
            let e = Config::load_from(Some(&f), &[]).unwrap_err().to_string();
            assert!(
                e.contains("public") || e.contains("text_retention"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn retention_periods_have_defaults_and_refuse_zero() {
        let c = Config::load_from(None, &[]).unwrap();
        assert_eq!(c.privacy.text_retention_days, 730);
        assert_eq!(c.privacy.contact_retention_days, 90);
        assert_eq!(c.mail.sent_retention_days, 30);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("h.toml");
        std::fs::write(
            &f,
            "[privacy]\ntext_retention_days = 365\n[mail]\nsent_retention_days = 7\n",
        )
        .unwrap();
        let c = Config::load_from(Some(&f), &[]).unwrap();
        assert_eq!(c.privacy.text_retention_days, 365);
        assert_eq!(c.mail.sent_retention_days, 7);
        for (file, key) in [
            (
                "[mail]\nsent_retention_days = 0\n",
                "mail.sent_retention_days",
            ),
            (
                "[privacy]\ntext_retention_days = 0\n",
                "privacy.text_retention_days",
            ),
            (
                "[privacy]\ncontact_retention_days = 0\n",
                "privacy.contact_retention_days",
            ),
        ] {
            std::fs::write(&f, file).unwrap();
            let e = Config::load_from(Some(&f), &[]).unwrap_err().to_string();
            assert!(e.contains(&format!("{key} must be at least 1")), "{e}");
        }
        std::fs::write(&f, "[mail]\nsent_retention_days = -1\n").unwrap();
        assert!(matches!(
            Config::load_from(Some(&f), &[]),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn a_read_url_needs_postgresql() {
        let c = Config::load_from(None, &[]).unwrap();
        assert_eq!(c.database, DatabaseConfig::default());
        assert_eq!(c.database.read_max_lag_secs, 30);
        let e = Config::load_from(
            None,
            &env(&[("HAILONG_DATABASE_READ_URL", "postgres://u:pw@standby/db")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("SQLite") && e.contains("HAILONG_DATABASE_READ_URL"),
            "{e}"
        );
        assert!(!e.contains("pw"), "{e}");
        let pg = ("HAILONG_DATABASE_URL", "postgres://u@primary/db");
        let c = Config::load_from(
            None,
            &env(&[pg, ("HAILONG_DATABASE_READ_URL", "postgres://u@standby/db")]),
        )
        .unwrap();
        assert_eq!(
            c.database.read_url.as_deref(),
            Some("postgres://u@standby/db")
        );
        let c = Config::load_from(None, &env(&[pg, ("HAILONG_DATABASE_READ_URL", "")])).unwrap();
        assert_eq!(c.database.read_url, None);
        let e = Config::load_from(
            None,
            &env(&[pg, ("HAILONG_DATABASE_READ_URL", "mysql://x/db")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("postgres://"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("h.toml");
        std::fs::write(
            &f,
            "database_url = \"postgres://u@p/db\"\n[database]\nread_url = \"postgres://u@s/db\"\nread_max_lag_secs = 5\n",
        )
        .unwrap();
        let c = Config::load_from(Some(&f), &[]).unwrap();
        assert_eq!(c.database.read_url.as_deref(), Some("postgres://u@s/db"));
        assert_eq!(c.database.read_max_lag_secs, 5);
        std::fs::write(&f, "[database]\nread_max_lag_secs = 0\n").unwrap();
        assert!(Config::load_from(Some(&f), &[]).is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
