//! Counting sign-in failures (docs/hardening.md, "Sign-in and staff limits").
//!
//! Failures are counted per (account, address) and per address, never per account alone: a
//! flood of wrong passwords from one address then cannot keep the real user, signing in from
//! another address, out. Each count is a leaky bucket (GCRA) holding `burst` failures that
//! drains at one failure per `60 s / burst`. An attempt takes its place in both buckets before
//! the password is checked (so that parallel attempts cannot all slip past a nearly full
//! bucket) and gives it back when the password is right: only failures stay counted.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A leaky bucket of failures per key, whose memory [`Failures::housekeeping`] bounds.
pub struct Failures<K> {
    /// How long one failure takes to drain.
    interval: Duration,
    /// How far ahead of now a key's bucket may reach: room for `burst` failures.
    tolerance: Duration,
    /// Per key: the time at which its bucket is empty again.
    buckets: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq + Clone> Failures<K> {
    /// `per_minute` failures a minute, all of which may come at once.
    pub fn per_minute(per_minute: u32) -> Self {
        let burst = per_minute.max(1);
        let interval = Duration::from_secs(60) / burst;
        Failures {
            interval,
            tolerance: interval * burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Instant>> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes room for one failure of `key`, or says how long until there is room.
    pub fn reserve(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut b = self.lock();
        let empty_at = b.get(key).copied().filter(|t| *t > now).unwrap_or(now);
        let next = empty_at + self.interval;
        if next > now + self.tolerance {
            return Err(next - (now + self.tolerance));
        }
        b.insert(key.clone(), next);
        Ok(())
    }

    /// Gives back the room [`Failures::reserve`] took (the attempt did not fail).
    pub fn release(&self, key: &K, now: Instant) {
        let mut b = self.lock();
        if let Some(t) = b.get_mut(key) {
            match t.checked_sub(self.interval) {
                Some(earlier) if earlier > now => *t = earlier,
                _ => {
                    b.remove(key);
                }
            }
        }
    }

    /// Forgets every failure of `key`.
    pub fn clear(&self, key: &K) {
        self.lock().remove(key);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the keys whose bucket has drained; forgets all of them when still over
    /// `max_keys` (memory stays bounded under a flood of new keys).
    pub fn housekeeping(&self, max_keys: usize, now: Instant) {
        let mut b = self.lock();
        b.retain(|_, t| *t > now);
        if b.len() > max_keys {
            tracing::warn!(
                keys = b.len(),
                max_keys,
                "the sign-in failure counts track too many keys: starting afresh"
            );
            b.clear();
        }
        b.shrink_to_fit();
    }
}

/// The sign-in failures of the staff console: per (account, address) and per address.
pub struct LoginFailures {
    pub per_account_address: Failures<(String, String)>,
    pub per_address: Failures<String>,
    /// Counts refused attempts (a metric; a no-op unless metrics are on).
    pub refused: metrics::Counter,
}

/// One sign-in attempt that has taken its place in both counts.
#[must_use = "a right password must be reported with `LoginFailures::succeeded`"]
pub struct LoginAttempt {
    account_address: (String, String),
    address: String,
}

impl LoginFailures {
    /// `per_account_address` failures a minute for one account from one address, and
    /// `per_address` failures a minute from one address over every account.
    pub fn new(per_account_address: u32, per_address: u32) -> Self {
        LoginFailures {
            per_account_address: Failures::per_minute(per_account_address),
            per_address: Failures::per_minute(per_address),
            refused: metrics::Counter::noop(),
        }
    }

    /// Before checking the password of `account` (a normalised e-mail) from `address`
    /// (a client prefix): the attempt, or how long to wait when either count is full.
    pub fn begin(
        &self,
        account: &str,
        address: &str,
        now: Instant,
    ) -> Result<LoginAttempt, Duration> {
        let attempt = LoginAttempt {
            account_address: (account.to_string(), address.to_string()),
            address: address.to_string(),
        };
        if let Err(wait) = self
            .per_account_address
            .reserve(&attempt.account_address, now)
        {
            self.refused.increment(1);
            return Err(wait);
        }
        if let Err(wait) = self.per_address.reserve(&attempt.address, now) {
            self.per_account_address
                .release(&attempt.account_address, now);
            self.refused.increment(1);
            return Err(wait);
        }
        Ok(attempt)
    }

    /// The password was right: the attempt is not a failure, and the account's earlier
    /// failures from this address are forgotten (the address's count over every account
    /// keeps the others).
    pub fn succeeded(&self, attempt: LoginAttempt, now: Instant) {
        self.per_account_address.clear(&attempt.account_address);
        self.per_address.release(&attempt.address, now);
    }

    pub fn housekeeping(&self, max_keys: usize, now: Instant) {
        self.per_account_address.housekeeping(max_keys, now);
        self.per_address.housekeeping(max_keys, now);
    }

    pub fn len(&self) -> usize {
        self.per_account_address.len() + self.per_address.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_its_burst_then_drains() {
        let f: Failures<u8> = Failures::per_minute(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(f.reserve(&1, t0).is_ok());
        }
        let wait = f.reserve(&1, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert!(f.reserve(&2, t0).is_ok(), "another key has its own bucket");
        // One failure drains every 20 s.
        assert!(f.reserve(&1, t0 + Duration::from_secs(19)).is_err());
        assert!(f.reserve(&1, t0 + Duration::from_secs(20)).is_ok());
        assert!(f.reserve(&1, t0 + Duration::from_secs(20)).is_err());
        // Released room is room again.
        f.release(&1, t0 + Duration::from_secs(20));
        assert!(f.reserve(&1, t0 + Duration::from_secs(20)).is_ok());
        // Drained keys are forgotten.
        f.housekeeping(100, t0 + Duration::from_secs(120));
        assert!(f.is_empty());
    }

    #[test]
    fn right_passwords_are_not_failures() {
        let l = LoginFailures::new(3, 5);
        let t = Instant::now();
        for _ in 0..10 {
            let a = l.begin("w@x.vn", "192.0.2.1", t).unwrap();
            l.succeeded(a, t);
        }
        // Two failures, then a success forgets the account's failures from that address.
        for _ in 0..2 {
            let _failed = l.begin("w@x.vn", "192.0.2.1", t).unwrap();
        }
        let a = l.begin("w@x.vn", "192.0.2.1", t).unwrap();
        l.succeeded(a, t);
        for _ in 0..3 {
            let _failed = l.begin("w@x.vn", "192.0.2.1", t).unwrap();
        }
        assert!(l.begin("w@x.vn", "192.0.2.1", t).is_err());
    }

    #[test]
    fn failures_from_one_address_never_lock_out_another() {
        let l = LoginFailures::new(3, 5);
        let t = Instant::now();
        for _ in 0..20 {
            let _ = l.begin("w@x.vn", "192.0.2.1", t);
        }
        assert!(l.begin("w@x.vn", "192.0.2.1", t).is_err());
        let a = l.begin("w@x.vn", "192.0.2.2", t).expect("another address");
        l.succeeded(a, t);
        // The address's own count over every account: 5 failures, then even another account
        // waits; a refused attempt does not use the per-(account, address) room.
        for e in ["a@x.vn", "b@x.vn"] {
            let _failed = l.begin(e, "192.0.2.1", t).unwrap();
        }
        assert!(l.begin("c@x.vn", "192.0.2.1", t).is_err());
        assert!(
            !l.per_account_address
                .lock()
                .contains_key(&("c@x.vn".to_string(), "192.0.2.1".to_string()))
        );
    }
}
