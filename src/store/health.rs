//! Whether the last attempt to store failed: `/healthz` answers 503 while it did, so that a
//! monitor or load balancer sees a server whose writes fail (a full disk, a read-only or
//! broken database) even though the database still answers reads. The writer records the
//! outcome of every batch it stores, one atomic store per batch. See `docs/hardening.md`,
//! "Health".

use std::sync::atomic::{AtomicBool, Ordering};

/// The outcome of the last attempt to store, shared by the writers and `/healthz`.
#[derive(Debug, Default)]
pub struct StoreHealth {
    failing: AtomicBool,
}

impl StoreHealth {
    /// Records an attempt: `stored` is whether anything of it was stored.
    pub fn record(&self, stored: bool) {
        self.failing.store(!stored, Ordering::Relaxed);
    }

    /// Records a batch: it stored something unless every one of its results is an error (a
    /// batch split after a failure stores the good submissions, which shows storing works).
    pub fn record_results<T, E>(&self, results: &[Result<T, E>]) {
        self.record(results.is_empty() || results.iter().any(Result::is_ok));
    }

    /// Whether the last attempt failed (until one succeeds).
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_until_an_attempt_stores() {
        let h = StoreHealth::default();
        assert!(!h.is_failing());
        h.record_results::<(), ()>(&[Err(()), Err(())]);
        assert!(h.is_failing());
        h.record_results::<(), ()>(&[Err(())]);
        assert!(h.is_failing());
        h.record_results::<(), ()>(&[Err(()), Ok(())]);
        assert!(!h.is_failing());
        h.record(false);
        assert!(h.is_failing());
        h.record(true);
        assert!(!h.is_failing());
    }
}
