//! Rate limits (docs/console.md), with governor.
//!
//! Every request is keyed by the device cookie when it carries one the server signed, else by
//! the client address (a staff console page with a live session, by that session); a generous per-address ceiling sits above the per-device limits, so that
//! fifty residents with their own phones behind one carrier address all get through while a
//! client flooding without cookies (or minting cookies) is held back. The client address is the
//! TCP peer, or — only when the peer is one of `trusted_proxies` — the address the proxy put in
//! `trusted_proxy_header`. Limiter memory is bounded: [`Limiters::housekeeping`] (run every
//! few seconds by `serve`) drops the keys whose state is back to fresh, and a limiter that still
//! tracks more than `max_tracked_keys` keys is reset.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;

/// A keyed limiter on the server's [`Clock`].
type KeyedLimiter<K> = RateLimiter<K, DefaultKeyedStateStore<K>, Clock, NoOpMiddleware<Nanos>>;

use crate::app::AppState;
use crate::config::RateLimitConfig;

/// An address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<IpNet> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// How the client address is found.
#[derive(Debug, Clone, Default)]
pub struct ClientAddressRule {
    pub header: Option<header::HeaderName>,
    pub proxies: Vec<IpNet>,
}

impl ClientAddressRule {
    pub fn from_config(cfg: &RateLimitConfig) -> Self {
        ClientAddressRule {
            header: cfg
                .trusted_proxy_header
                .as_deref()
                .and_then(|h| header::HeaderName::from_bytes(h.as_bytes()).ok()),
            proxies: cfg
                .trusted_proxies
                .iter()
                .filter_map(|p| IpNet::parse(p))
                .collect(),
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|n| n.contains(ip))
    }

    /// The client address: the peer, unless the peer is a trusted proxy and sent the header;
    /// then the right-most address in the header that is not itself a trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        let Some(name) = &self.header else {
            return peer;
        };
        if !self.trusted(peer) {
            return peer;
        }
        let mut chain: Vec<IpAddr> = Vec::new();
        for value in headers.get_all(name) {
            let Ok(v) = value.to_str() else { return peer };
            for part in v.split(',') {
                match parse_forwarded_ip(part) {
                    Some(ip) => chain.push(ip),
                    None => return peer,
                }
            }
        }
        // Walk from the right: the last hop we do not run ourselves is the client.
        chain
            .iter()
            .rev()
            .copied()
            .find(|ip| !self.trusted(*ip))
            .or(chain.first().copied())
            .unwrap_or(peer)
    }
}

fn parse_forwarded_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    // `1.2.3.4:5678` or `[2001:db8::1]:443`.
    s.parse::<SocketAddr>().ok().map(|a| canonical(a.ip()))
}

/// What a request is keyed by: its staff session (console pages), its signed device cookie,
/// or its address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    Session(String),
    Device(String),
    Address(String),
}

/// A keyed limiter whose memory is bounded.
pub struct Bounded<K: Hash + Eq + Clone> {
    quota: Quota,
    clock: Clock,
    inner: RwLock<Arc<KeyedLimiter<K>>>,
    /// Counts the refusals (`hailong_rate_limited_total`; a no-op without metrics).
    refused: metrics::Counter,
}

impl<K: Hash + Eq + Clone> Bounded<K> {
    pub fn new(quota: Quota) -> Self {
        Self::with_clock(quota, Clock::system())
    }

    /// A limiter measuring time on `clock`.
    pub fn with_clock(quota: Quota, clock: Clock) -> Self {
        Bounded {
            quota,
            inner: RwLock::new(Arc::new(KeyedLimiter::dashmap_with_clock(
                quota,
                clock.clone(),
            ))),
            clock,
            refused: metrics::Counter::noop(),
        }
    }

    fn current(&self) -> Arc<KeyedLimiter<K>> {
        match self.inner.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// `Ok` and one cell used, or `Err(wait)`.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let limiter = self.current();
        limiter.check_key(key).map_err(|not_until| {
            self.refused.increment(1);
            not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()))
        })
    }

    pub fn len(&self) -> usize {
        self.current().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets keys back at a fresh state; resets the limiter when still over `max_keys`.
    pub fn housekeeping(&self, max_keys: usize) {
        let limiter = self.current();
        limiter.retain_recent();
        limiter.shrink_to_fit();
        if limiter.len() > max_keys {
            tracing::warn!(
                keys = limiter.len(),
                max_keys,
                "a rate limiter tracks too many keys: starting it afresh"
            );
            if let Ok(mut g) = self.inner.write() {
                *g = Arc::new(KeyedLimiter::dashmap_with_clock(
                    self.quota,
                    self.clock.clone(),
                ));
            }
        }
    }
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(nz(n))
}

fn per_second(n: u32, burst: u32) -> Quota {
    Quota::per_second(nz(n)).allow_burst(nz(burst.max(n)))
}

/// Every limiter of the server.
pub struct Limiters {
    pub enabled: bool,
    pub rule: ClientAddressRule,
    max_keys: usize,
    /// Page views per device (or per address without a cookie).
    pub pages: Bounded<ClientKey>,
    /// Page views per address, whatever the cookies.
    pub address_pages: Bounded<IpAddr>,
    /// Submissions per (device or address, ward).
    pub submissions: Bounded<(ClientKey, String)>,
    /// Submissions per (address, ward), whatever the cookies.
    pub address_submissions: Bounded<(IpAddr, String)>,
    /// Staff sign-in failures, per (account, address) and per address.
    pub logins: crate::auth::lockout::LoginFailures,
    /// JSON API calls per token hash (or per address).
    pub api: Bounded<String>,
}

/// A refusal: how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    pub fn seconds(&self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }

    /// Sets `Retry-After` (whole seconds, at least one) on `resp`.
    pub fn set_on(&self, resp: &mut Response) {
        if let Ok(v) = HeaderValue::from_str(&self.seconds().max(1).to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
}

impl IntoResponse for RetryAfter {
    /// A bare 429 with `Retry-After`; the error-page layer renders the Vietnamese page (or the
    /// JSON error on `/api/`) and keeps the header.
    fn into_response(self) -> Response {
        let mut r = (StatusCode::TOO_MANY_REQUESTS, "too many requests").into_response();
        self.set_on(&mut r);
        r
    }
}

impl Limiters {
    pub fn new(cfg: &RateLimitConfig) -> Self {
        Self::with_clock(cfg, &Clock::system())
    }

    /// The limiters of `cfg`, measuring time on `clock` (the server's).
    pub fn with_clock(cfg: &RateLimitConfig, clock: &Clock) -> Self {
        Limiters {
            enabled: cfg.enabled,
            rule: ClientAddressRule::from_config(cfg),
            max_keys: cfg.max_tracked_keys.max(1000),
            pages: Bounded::with_clock(
                per_second(cfg.pages_per_second, cfg.pages_burst),
                clock.clone(),
            ),
            address_pages: Bounded::with_clock(
                per_second(cfg.address_pages_per_second, cfg.address_pages_burst),
                clock.clone(),
            ),
            submissions: Bounded::with_clock(per_minute(cfg.submissions_per_minute), clock.clone()),
            address_submissions: Bounded::with_clock(
                per_minute(cfg.address_submissions_per_minute),
                clock.clone(),
            ),
            logins: crate::auth::lockout::LoginFailures::new(
                cfg.logins_per_minute,
                cfg.address_logins_per_minute,
            ),
            api: Bounded::with_clock(per_minute(cfg.api_per_minute), clock.clone()),
        }
    }

    fn both<A: Hash + Eq + Clone, B: Hash + Eq + Clone>(
        &self,
        first: (&Bounded<A>, &A),
        ceiling: (&Bounded<B>, &B),
    ) -> Result<(), RetryAfter> {
        if !self.enabled {
            return Ok(());
        }
        // The own key first: a refused client does not use up the shared ceiling.
        first.0.check(first.1).map_err(RetryAfter)?;
        ceiling.0.check(ceiling.1).map_err(RetryAfter)
    }

    /// One page view.
    pub fn check_page(&self, key: &ClientKey, ip: IpAddr) -> Result<(), RetryAfter> {
        self.both((&self.pages, key), (&self.address_pages, &ip))
    }

    /// One survey submission to `ward`.
    pub fn check_submission(
        &self,
        key: &ClientKey,
        ip: IpAddr,
        ward: &str,
    ) -> Result<(), RetryAfter> {
        self.both(
            (&self.submissions, &(key.clone(), ward.to_string())),
            (&self.address_submissions, &(ip, ward.to_string())),
        )
    }

    /// Before checking a staff password for `email` from `ip`: `Ok(None)` when limits are
    /// off, the attempt to report with [`Limiters::login_succeeded`] when the password is
    /// right, or how long to wait when this account has failed too often from this address,
    /// or this address too often over every account.
    pub fn begin_login(
        &self,
        ip: IpAddr,
        email: &str,
    ) -> Result<Option<crate::auth::lockout::LoginAttempt>, RetryAfter> {
        if !self.enabled {
            return Ok(None);
        }
        self.logins
            .begin(
                &email.trim().to_lowercase(),
                &crate::privacy::keys::client_prefix(ip),
                std::time::Instant::now(),
            )
            .map(Some)
            .map_err(RetryAfter)
    }

    /// The password of a [`Limiters::begin_login`] attempt was right: it is no failure.
    pub fn login_succeeded(&self, attempt: Option<crate::auth::lockout::LoginAttempt>) {
        if let Some(a) = attempt {
            self.logins.succeeded(a, std::time::Instant::now());
        }
    }

    /// One JSON API call with the bearer token `token` (or, without one, from `ip`).
    pub fn check_api(&self, token: Option<&str>, ip: IpAddr) -> Result<(), RetryAfter> {
        if !self.enabled {
            return Ok(());
        }
        let key = match token {
            Some(t) => format!("token:{}", crate::privacy::keys::sha256_hex(t)),
            None => format!("ip:{}", crate::privacy::keys::client_prefix(ip)),
        };
        self.api.check(&key).map_err(RetryAfter)
    }

    /// Counts each limiter's refusals in `metrics`, labelled with its `[rate_limit]` name.
    pub fn count_refusals(&mut self, metrics: &crate::monitor::Metrics) {
        self.pages.refused = metrics.rate_limited("pages");
        self.address_pages.refused = metrics.rate_limited("address_pages");
        self.submissions.refused = metrics.rate_limited("submissions");
        self.address_submissions.refused = metrics.rate_limited("address_submissions");
        self.logins.refused = metrics.rate_limited("logins");
        self.api.refused = metrics.rate_limited("api");
    }

    /// Bounds the limiters' memory; `serve` runs this every few seconds.
    pub fn housekeeping(&self) {
        self.pages.housekeeping(self.max_keys);
        self.address_pages.housekeeping(self.max_keys);
        self.submissions.housekeeping(self.max_keys);
        self.address_submissions.housekeeping(self.max_keys);
        self.logins
            .housekeeping(self.max_keys, std::time::Instant::now());
        self.api.housekeeping(self.max_keys);
    }

    /// Keys tracked over every limiter.
    pub fn tracked_keys(&self) -> usize {
        self.pages.len()
            + self.address_pages.len()
            + self.submissions.len()
            + self.address_submissions.len()
            + self.logins.len()
            + self.api.len()
    }
}

/// The name of the device cookie.
pub const DEVICE_COOKIE: &str = "hl_dev";

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Who is asking: the client address (after the trusted-proxy rule) and the device id of a
/// cookie the server signed.
#[derive(Debug, Clone)]
pub struct Client {
    pub ip: IpAddr,
    pub device: Option<String>,
}

impl Client {
    pub fn key(&self) -> ClientKey {
        match &self.device {
            Some(d) => ClientKey::Device(d.clone()),
            None => ClientKey::Address(crate::privacy::keys::client_prefix(self.ip)),
        }
    }
}

/// The client of a request (the peer address comes from `ConnectInfo`; without it, as under
/// `oneshot` tests, the unspecified address).
pub fn client_of(state: &AppState, req_headers: &HeaderMap, peer: Option<SocketAddr>) -> Client {
    let peer = peer.map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    let ip = state.limiters.rule.client(peer, req_headers);
    let device =
        cookie(req_headers, DEVICE_COOKIE).and_then(|v| state.secrets.verify_device_cookie(v));
    Client { ip, device }
}

fn peer_of(req: &Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// Middleware on every route (`web::router` adds it once): page views for the public pages and
/// the staff console (per session when signed in), API calls per bearer token (or address) for `/api/`; static files and the
/// health check are not limited. It also puts the [`Client`] into the request's extensions.
pub async fn page_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let exempt = path.starts_with("/static/") || path == "/healthz";
    let is_api = path.starts_with("/api/");
    let client = client_of(&state, req.headers(), peer_of(&req));
    let checked = if exempt {
        Ok(())
    } else if is_api {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        state.limiters.check_api(token, client.ip)
    } else {
        // Signed-in staff are limited per session (an office behind one address does not share
        // one allowance); the per-address ceiling still holds.
        let session = if state.limiters.enabled {
            crate::web::staff::session_limit_key(&state, &mut req).await
        } else {
            None
        };
        let key = session.map_or_else(|| client.key(), ClientKey::Session);
        state.limiters.check_page(&key, client.ip)
    };
    if let Err(wait) = checked {
        return wait.into_response();
    }
    req.extensions_mut().insert(client);
    next.run(req).await
}

/// Runs [`Limiters::housekeeping`] every `every` until the task is dropped.
pub async fn housekeeping_loop(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        state.limiters.housekeeping();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(header: &str, proxies: &[&str]) -> ClientAddressRule {
        ClientAddressRule::from_config(&RateLimitConfig {
            trusted_proxy_header: Some(header.into()),
            trusted_proxies: proxies.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn forwarded_address_only_from_trusted_proxies() {
        let r = rule("X-Forwarded-For", &["10.0.0.0/8"]);
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            r.client(proxy, &xff("198.51.100.7")),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Spoofed left-most entries are ignored: the right-most untrusted hop wins.
        assert_eq!(
            r.client(proxy, &xff("1.1.1.1, 198.51.100.7, 10.9.9.9")),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Anyone else's header is ignored.
        assert_eq!(r.client(stranger, &xff("198.51.100.7")), stranger);
        // Garbage in the header: the peer.
        assert_eq!(r.client(proxy, &xff("not an address")), proxy);
        // No header configured: the peer, whatever is sent.
        let none = ClientAddressRule::default();
        assert_eq!(none.client(proxy, &xff("198.51.100.7")), proxy);
    }

    #[test]
    fn cidr_blocks() {
        let n = IpNet::parse("192.168.0.0/16").unwrap();
        assert!(n.contains("192.168.44.1".parse().unwrap()));
        assert!(!n.contains("192.169.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:192.168.1.1".parse().unwrap()));
        let six = IpNet::parse("2001:db8::/32").unwrap();
        assert!(six.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("nonsense").is_none());
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }

    #[test]
    fn logins_and_api_tokens_are_limited_separately() {
        let cfg = RateLimitConfig {
            logins_per_minute: 3,
            address_logins_per_minute: 5,
            api_per_minute: 2,
            ..Default::default()
        };
        let l = Limiters::new(&cfg);
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..3 {
            assert!(l.begin_login(ip, "a@x.vn").unwrap().is_some());
        }
        let wait = l
            .begin_login(ip, "A@x.vn")
            .err()
            .expect("the account waits here");
        assert!(wait.seconds() >= 1);
        // The same account from another address: fine, and a right password is no failure.
        let other: IpAddr = "198.51.100.2".parse().unwrap();
        for _ in 0..10 {
            l.login_succeeded(l.begin_login(other, "a@x.vn").unwrap());
        }
        assert!(l.check_api(Some("tok1"), ip).is_ok());
        assert!(l.check_api(Some("tok1"), ip).is_ok());
        assert!(l.check_api(Some("tok1"), ip).is_err());
        assert!(l.check_api(Some("tok2"), ip).is_ok());
        let off = Limiters::new(&RateLimitConfig {
            enabled: false,
            logins_per_minute: 1,
            ..Default::default()
        });
        for _ in 0..10 {
            assert!(off.begin_login(ip, "a@x.vn").unwrap().is_none());
        }
    }

    #[test]
    fn memory_is_bounded() {
        let b: Bounded<u32> = Bounded::new(Quota::per_second(nz(1000)));
        for k in 0..5000 {
            let _ = b.check(&k);
        }
        assert!(b.len() >= 5000);
        // Fresh-state keys are dropped once their cells have been replenished …
        std::thread::sleep(Duration::from_millis(1100));
        b.housekeeping(1_000_000);
        assert_eq!(b.len(), 0);
        // … and an over-full limiter starts afresh.
        let slow: Bounded<u32> = Bounded::new(Quota::per_hour(nz(1)));
        for k in 0..3000 {
            let _ = slow.check(&k);
        }
        slow.housekeeping(1000);
        assert_eq!(slow.len(), 0);
    }
}
