//! The login rate limit (governor): per client address and per e-mail address, so that neither
//! one address trying many accounts nor many addresses trying one account get far.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::StaffConfig;

pub struct LoginLimiter {
    enabled: bool,
    by_addr: DefaultKeyedRateLimiter<IpAddr>,
    by_email: DefaultKeyedRateLimiter<String>,
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).expect("at least 1"))
}

impl LoginLimiter {
    pub fn new(cfg: &StaffConfig, enabled: bool) -> Self {
        Self {
            enabled,
            by_addr: RateLimiter::keyed(quota(cfg.logins_per_minute_per_address)),
            by_email: RateLimiter::keyed(quota(cfg.logins_per_minute_per_email)),
        }
    }

    /// One login attempt: `Err(wait)` when over either limit.
    pub fn check(&self, addr: IpAddr, email: &str) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        let now = DefaultClock::default().now();
        let email = email.trim().to_lowercase();
        let a = self.by_addr.check_key(&addr);
        let e = self.by_email.check_key(&email);
        // Keep the maps small: forget keys whose state is back to full.
        if self.by_addr.len() > 10_000 {
            self.by_addr.retain_recent();
        }
        if self.by_email.len() > 10_000 {
            self.by_email.retain_recent();
        }
        match (a, e) {
            (Ok(_), Ok(_)) => Ok(()),
            (Err(n), _) | (_, Err(n)) => Err(n.wait_time_from(now)),
        }
    }
}
