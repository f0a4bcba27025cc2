//! The server's clock: the wall time submissions are stamped with and the time the rate
//! limiters measure, from one source.
//!
//! A running server's clock is the system's. It can be moved forward ([`Clock::advance`]),
//! never back, which lets an in-process simulation (`benches/integrity_sim.rs`) run a day of
//! traffic in seconds through the real handlers, limiters and writer. Nothing in the server
//! moves it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use governor::nanos::Nanos;

/// Wall time and monotonic time, both moved by the same forward offset. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Clock {
    start: Instant,
    /// Nanoseconds the clock has been moved forward.
    offset: Arc<AtomicU64>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Clock {
            start: Instant::now(),
            offset: Arc::new(AtomicU64::new(0)),
        }
    }

    fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset.load(Ordering::Relaxed))
    }

    /// The current wall time.
    pub fn now(&self) -> DateTime<Utc> {
        let offset = self.offset.load(Ordering::Relaxed);
        if offset == 0 {
            return Utc::now();
        }
        Utc::now() + chrono::Duration::nanoseconds(i64::try_from(offset).unwrap_or(i64::MAX))
    }

    /// Moves this clock (and every clone of it) forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl governor::clock::Clock for Clock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.start.elapsed() + self.offset())
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;
    use std::time::Duration;

    #[test]
    fn advancing_moves_wall_and_limiter_time_together() {
        use governor::clock::Reference;
        let c = Clock::system();
        let clone = c.clone();
        let (wall, mono) = (c.now(), governor::clock::Clock::now(&c));
        clone.advance(Duration::from_secs(3600));
        let moved = c.now() - wall;
        assert!(moved >= chrono::Duration::seconds(3600), "{moved}");
        assert!(moved < chrono::Duration::seconds(3660), "{moved}");
        let later = governor::clock::Clock::now(&c);
        assert!(
            later.duration_since(mono) >= governor::nanos::Nanos::from(Duration::from_secs(3600))
        );
    }
}
