//! Serving HTTP/1.1 connections: a header-read timeout, caps on open connections (overall and
//! per client address), graceful shutdown, and the open-file limit. The design and the matching
//! reverse-proxy settings are in docs/hardening.md ("Connections").

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::ServerConfig;
use crate::ratelimit::IpNet;

/// How often, at most, a refused connection is logged (a flood must not flood the log).
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max_connections` are open.
    Total,
    /// `max_connections_per_address` are open from this client address.
    Address,
}

/// The open connections, overall and per client address.
pub struct ConnectionCounter {
    max_total: usize,
    max_per_address: usize,
    /// Peers not capped per address (the trusted reverse proxies: every client comes through them).
    exempt: Vec<IpNet>,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    refused: u64,
    last_logged: Option<Instant>,
}

/// An admitted connection; dropping it gives its place back.
pub struct Admitted {
    counter: Arc<ConnectionCounter>,
    address: Option<IpAddr>,
}

/// The part of a peer address that identifies a client: an IPv4 address whole (IPv4-mapped
/// IPv6 as IPv4), an IPv6 address by its /64 prefix (a home or phone usually owns a whole /64).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

impl ConnectionCounter {
    pub fn new(max_total: usize, max_per_address: usize, exempt: Vec<IpNet>) -> Self {
        ConnectionCounter {
            max_total,
            max_per_address,
            exempt,
            counts: Mutex::new(Counts::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `peer`, or says which cap it is over.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, Refused> {
        let address = (!self.exempt.iter().any(|n| n.contains(peer))).then(|| address_key(peer));
        let mut c = self.lock();
        let refused = if c.total >= self.max_total {
            Some(Refused::Total)
        } else {
            match address {
                Some(a) => {
                    let n = c.per_address.entry(a).or_insert(0);
                    if *n >= self.max_per_address {
                        Some(Refused::Address)
                    } else {
                        *n += 1;
                        None
                    }
                }
                None => None,
            }
        };
        if let Some(why) = refused {
            c.refused += 1;
            let now = Instant::now();
            if c.last_logged.is_none_or(|t| now - t >= REFUSAL_LOG_EVERY) {
                c.last_logged = Some(now);
                tracing::warn!(
                    reason = ?why,
                    peer = %peer,
                    open = c.total,
                    refused_so_far = c.refused,
                    "too many open connections: closing new ones at once"
                );
            }
            return Err(why);
        }
        c.total += 1;
        drop(c);
        Ok(Admitted {
            counter: self.clone(),
            address,
        })
    }

    /// Open connections: overall, and from `peer`'s address.
    pub fn open(&self, peer: IpAddr) -> (usize, usize) {
        let c = self.lock();
        let from = c.per_address.get(&address_key(peer)).copied().unwrap_or(0);
        (c.total, from)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut c = self.counter.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(a) = self.address
            && let Some(n) = c.per_address.get_mut(&a)
        {
            *n -= 1;
            if *n == 0 {
                c.per_address.remove(&a);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets the
/// requests in flight finish, and returns once every connection has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &ServerConfig,
    exempt: Vec<IpNet>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let counter = Arc::new(ConnectionCounter::new(
        settings.max_connections,
        settings.max_connections_per_address,
        exempt,
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(settings.header_timeout_secs))
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Over a cap: the stream is dropped here, which closes the connection at once.
        let Ok(admitted) = counter.admit(peer.ip()) else {
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            // Handlers and the rate limits read the peer address from here.
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(req)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, peer = %peer, "connection ended with an error");
            }
            drop(admitted);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// An error from `accept`: a connection reset before it was accepted is no problem; anything
/// else (typically no file descriptor left) is logged and accepting pauses a moment, so that
/// a full descriptor table does not become a busy loop.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Raises the soft limit on open files to the hard limit (a server holding many connections
/// needs one descriptor each); returns the limit now in force. Warns when it is still below
/// what `max_connections` needs.
pub fn raise_open_file_limit(max_connections: usize) -> Option<u64> {
    let before = rlimit::Resource::NOFILE.get().ok();
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(now) => {
            tracing::info!(
                before = before.map(|(soft, _)| soft),
                now,
                "open-file limit"
            );
            // Descriptors besides connections: the database, log and mail files, the listener.
            let needed = u64::try_from(max_connections)
                .unwrap_or(u64::MAX)
                .saturating_add(256);
            if now < needed {
                tracing::warn!(
                    limit = now,
                    max_connections,
                    "the open-file limit is below max_connections + 256: raise the hard limit \
                     (LimitNOFILE= in the systemd unit, or ulimit -Hn) or lower max_connections"
                );
            }
            Some(now)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn caps_count_overall_and_per_address() {
        let c = Arc::new(ConnectionCounter::new(
            4,
            2,
            vec![IpNet::parse("10.0.0.1").unwrap()],
        ));
        let a1 = c.admit(ip("192.0.2.1")).unwrap();
        let _a2 = c.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(c.admit(ip("192.0.2.1")).err(), Some(Refused::Address));
        let _b = c.admit(ip("192.0.2.2")).unwrap();
        // A trusted proxy is capped only by the overall number.
        let _p = c.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(c.admit(ip("10.0.0.1")).err(), Some(Refused::Total));
        assert_eq!(c.admit(ip("192.0.2.3")).err(), Some(Refused::Total));
        assert_eq!(c.open(ip("192.0.2.1")), (4, 2));
        drop(a1);
        assert_eq!(c.open(ip("192.0.2.1")), (3, 1));
        let _a3 = c.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(c.admit(ip("192.0.2.1")).err(), Some(Refused::Total));
    }

    #[test]
    fn ipv6_clients_are_counted_by_prefix() {
        let c = Arc::new(ConnectionCounter::new(100, 1, Vec::new()));
        let _a = c.admit(ip("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            c.admit(ip("2001:db8:1:2:ffff::9")).err(),
            Some(Refused::Address)
        );
        assert!(c.admit(ip("2001:db8:1:3::1")).is_ok());
        let _m = c.admit(ip("::ffff:192.0.2.7")).unwrap();
        assert_eq!(c.admit(ip("192.0.2.7")).err(), Some(Refused::Address));
    }

    #[test]
    fn places_are_given_back_and_forgotten() {
        let c = Arc::new(ConnectionCounter::new(10, 10, Vec::new()));
        let held: Vec<_> = (0..5).map(|_| c.admit(ip("192.0.2.1")).unwrap()).collect();
        assert_eq!(c.open(ip("192.0.2.1")), (5, 5));
        drop(held);
        assert_eq!(c.open(ip("192.0.2.1")), (0, 0));
        assert!(c.lock().per_address.is_empty());
    }
}
