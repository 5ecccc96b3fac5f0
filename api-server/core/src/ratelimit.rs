//! Request limits as the seeds' tables state them: N requests per window,
//! counted per key (an access token, or a device and endpoint), against the
//! request's time, never the OS clock.
//!
//! The algorithm is a fixed window per key: the window opens at the key's
//! first request and admits `limit` requests until it closes; the next
//! request after that opens a new one. This is exactly "60 requests / 1
//! minute" as the tables read, gives clients an exact `X-RateLimit-Reset`,
//! and is cheap (two integers per key). A client that paces itself to never
//! exceed `limit` in *any* sliding window (as the firmware does) is never
//! refused.

use std::collections::HashMap;
use std::hash::Hash;

use sim_core::{SimDuration, SimTime};

/// What the limiter decided, with everything the response headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The limit of the window.
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// When the window closes.
    pub reset_at: SimTime,
}

impl Decision {
    /// Seconds until the window closes, rounded up (`Retry-After`).
    pub fn retry_after_s(&self, now: SimTime) -> u64 {
        self.reset_at
            .saturating_duration_since(now)
            .as_secs_ceil()
            .max(1)
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    opened: SimTime,
    count: u32,
}

/// The longest window of any limit the server applies (OTA downloads: 5 an
/// hour): a window opened longer ago than this is closed, whatever its key.
pub const LONGEST_WINDOW: SimDuration = SimDuration::from_hours(1);

/// Fixed-window counters for keys of type `K`.
#[derive(Debug)]
pub struct Limiter<K> {
    windows: HashMap<K, Window, foldhash::fast::FixedState>,
}

impl<K: Hash + Eq> Default for Limiter<K> {
    fn default() -> Self {
        Limiter {
            windows: HashMap::default(),
        }
    }
}

impl<K: Hash + Eq> Limiter<K> {
    /// Counts a request for `key` at `now` against `limit` per `window`.
    pub fn check(&mut self, key: K, now: SimTime, limit: u32, window: SimDuration) -> Decision {
        let w = self.windows.entry(key).or_insert(Window {
            opened: now,
            count: 0,
        });
        if now >= w.opened + window || now < w.opened {
            *w = Window {
                opened: now,
                count: 0,
            };
        }
        let reset_at = w.opened + window;
        if w.count >= limit {
            return Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset_at,
            };
        }
        w.count += 1;
        Decision {
            allowed: true,
            limit,
            remaining: limit - w.count,
            reset_at,
        }
    }

    /// Forgets windows that closed before `now` (bounded memory).
    pub fn evict_closed(&mut self, now: SimTime, window: SimDuration) {
        self.windows.retain(|_, w| now < w.opened + window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_the_limit_then_refuses_until_the_window_closes() {
        let mut l = Limiter::default();
        let minute = SimDuration::from_mins(1);
        let t0 = SimTime::from_secs(1_000);
        for i in 0..60 {
            let d = l.check("dev", t0 + SimDuration::from_millis(i * 10), 60, minute);
            assert!(d.allowed);
            assert_eq!(d.remaining, 59 - i as u32);
        }
        let refused = l.check("dev", t0 + SimDuration::from_secs(20), 60, minute);
        assert!(!refused.allowed);
        assert_eq!(refused.reset_at, t0 + minute);
        assert_eq!(
            refused.retry_after_s(t0 + SimDuration::from_millis(20_500)),
            40
        );
        // Other keys are independent.
        assert!(l.check("other", t0, 60, minute).allowed);
        // The window closes: allowed again.
        assert!(l.check("dev", t0 + minute, 60, minute).allowed);
        l.evict_closed(t0 + SimDuration::from_mins(5), minute);
        assert!(l.windows.is_empty());
    }
}
