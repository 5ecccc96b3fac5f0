//! The one place in thermotwin that reads the operating system's clock.
//!
//! clippy's `disallowed-methods` (see `clippy.toml`) forbids
//! `SystemTime::now` and `Instant::now` everywhere else.

use std::time::{SystemTime, UNIX_EPOCH};

use super::Clock;
use crate::time::SimTime;

/// Wall-clock time from the operating system, for `thermotwin serve` and for
/// timing a run's wall duration. Never used inside a simulation.
///
/// Successive reads never go backwards, even if the OS clock is stepped back
/// (NTP): the clock returns the latest instant it has already returned.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

static LATEST_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(i64::MIN);

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The system-clock module.
    fn now(&self) -> SimTime {
        let ms = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
        };
        let previous = LATEST_MS.fetch_max(ms, std::sync::atomic::Ordering::Relaxed);
        SimTime::from_millis(previous.max(ms))
    }
}

/// Measures wall time spent in a piece of work (e.g. a model's inference),
/// for reports of what the simulator costs. Never read by a simulation.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    /// Starts measuring.
    #[allow(clippy::disallowed_methods)] // The system-clock module.
    pub fn start() -> Stopwatch {
        Stopwatch(std::time::Instant::now())
    }

    /// Nanoseconds since [`Stopwatch::start`].
    pub fn elapsed_ns(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}
