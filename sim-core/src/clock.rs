//! Where "now" comes from: the [`Clock`] trait, the [`VirtualClock`] the
//! simulator drives, and the [`SystemClock`] that `thermotwin serve` uses.
//!
//! Everything that needs the time holds an `Arc<dyn Clock>` (or is handed a
//! [`SimTime`]) instead of asking the operating system, so the same server and
//! models run unchanged on virtual time in a simulation and on wall-clock time
//! in production (DESIGN.md "Time and randomness").

mod system;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::time::SimTime;

pub use system::{Stopwatch, SystemClock};

/// A source of the current instant.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> SimTime;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> SimTime {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> SimTime {
        (**self).now()
    }
}

/// A clock that only moves when the simulation moves it.
///
/// Clones share one instant (an `Arc<AtomicI64>`), so the scheduler can keep
/// one handle and give others to the server; reading it costs one relaxed
/// atomic load. Time never goes backwards: [`VirtualClock::set`] panics if
/// asked to (a bug in the driver, not bad input).
#[derive(Clone)]
pub struct VirtualClock {
    now_ms: Arc<AtomicI64>,
}

impl VirtualClock {
    /// A clock standing at `start`.
    pub fn new(start: SimTime) -> VirtualClock {
        VirtualClock {
            now_ms: Arc::new(AtomicI64::new(start.as_millis())),
        }
    }

    /// Moves the clock to `t`.
    ///
    /// # Panics
    /// If `t` is earlier than the clock's current instant.
    pub fn set(&self, t: SimTime) {
        let previous = self.now_ms.fetch_max(t.as_millis(), Ordering::Relaxed);
        assert!(
            previous <= t.as_millis(),
            "VirtualClock moved backwards: from {} to {t}",
            SimTime::from_millis(previous)
        );
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: crate::time::SimDuration) {
        // fetch_update so concurrent advances add up rather than overwrite.
        let add = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .now_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |ms| {
                Some(ms.saturating_add(add))
            });
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> SimTime {
        SimTime::from_millis(self.now_ms.load(Ordering::Relaxed))
    }
}

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VirtualClock").field(&self.now()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimDuration;

    #[test]
    fn virtual_clock_moves_only_when_told_and_clones_share_it() {
        let start: SimTime = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = VirtualClock::new(start);
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        assert_eq!(clock.now(), start);
        assert_eq!(shared.now(), start);
        clock.set(start + SimDuration::from_secs(3601));
        assert_eq!(shared.now(), start + SimDuration::from_secs(3601));
        clock.advance(SimDuration::from_millis(5));
        assert_eq!(shared.now().as_millis(), start.as_millis() + 3_601_005);
        // Setting the same instant again is allowed.
        clock.set(shared.now());
    }

    #[test]
    #[should_panic(expected = "moved backwards")]
    fn virtual_clock_refuses_to_go_backwards() {
        let clock = VirtualClock::new(SimTime::from_secs(100));
        clock.set(SimTime::from_secs(99));
    }

    #[test]
    fn virtual_clock_is_shared_across_threads() {
        let clock = VirtualClock::new(SimTime::EPOCH);
        std::thread::scope(|s| {
            for _ in 0..4 {
                let c = clock.clone();
                s.spawn(move || {
                    for _ in 0..1000 {
                        c.advance(SimDuration::from_millis(1));
                    }
                });
            }
        });
        assert_eq!(clock.now(), SimTime::from_millis(4000));
    }

    #[test]
    fn system_clock_reads_a_plausible_wall_time() {
        let now = SystemClock.now();
        // Later than 2024-01-01 and earlier than 2200-01-01.
        assert!(now > "2024-01-01T00:00:00Z".parse().unwrap(), "{now}");
        assert!(now < "2200-01-01T00:00:00Z".parse().unwrap(), "{now}");
        assert!(SystemClock.now() >= now);
    }
}
