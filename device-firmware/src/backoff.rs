//! Retrying and pacing: exponential backoff with full jitter, `Retry-After`,
//! request timeouts, and a sliding-window guard per endpoint so the firmware
//! never exceeds the server's published rate limits.
//!
//! Full jitter (Brooker, "Exponential Backoff And Jitter", AWS Architecture
//! Blog, 2015): after the n-th consecutive failure wait a uniform random time
//! in `[0, min(cap, base·2ⁿ)]`, which spreads a fleet's retries after an
//! outage instead of synchronising them.

use std::collections::VecDeque;

use rand::RngExt;
use rand::rngs::ChaCha8Rng;

use crate::http::RequestId;
use crate::time::Instant;

/// Exponential backoff with full jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ms: u64,
    cap_ms: u64,
    failures: u32,
}

impl Backoff {
    /// Backoff starting at `base_ms`, never longer than `cap_ms`.
    pub fn new(base_ms: u64, cap_ms: u64) -> Backoff {
        Backoff {
            base_ms: base_ms.max(1),
            cap_ms: cap_ms.max(base_ms.max(1)),
            failures: 0,
        }
    }

    /// The upper bound of the next delay: `min(cap, base·2ⁿ)`.
    pub fn ceiling_ms(&self) -> u64 {
        let exp = self.failures.min(62);
        self.base_ms.saturating_mul(1u64 << exp).min(self.cap_ms)
    }

    /// Records a failure and draws the delay before the next attempt.
    pub fn next_delay_ms(&mut self, rng: &mut ChaCha8Rng) -> u64 {
        let ceiling = self.ceiling_ms();
        self.failures = self.failures.saturating_add(1);
        rng.random_range(0..=ceiling)
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Back to the first delay, after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// At most `limit` sends in any sliding `window_ms`.
#[derive(Debug, Clone)]
pub struct RateGuard {
    limit: usize,
    window_ms: u64,
    sent: VecDeque<Instant>,
}

impl RateGuard {
    /// A guard allowing `limit` sends per `window_ms`.
    pub fn new(limit: usize, window_ms: u64) -> RateGuard {
        RateGuard {
            limit: limit.max(1),
            window_ms,
            sent: VecDeque::with_capacity(limit.max(1)),
        }
    }

    /// The earliest instant at or after `now` when one more send is allowed.
    pub fn earliest(&self, now: Instant) -> Instant {
        if self.sent.len() < self.limit {
            return now;
        }
        // The send `limit` places back must leave the window first.
        let oldest = self.sent[self.sent.len() - self.limit];
        now.max(oldest.plus_ms(self.window_ms))
    }

    /// Records a send at `now`.
    pub fn record(&mut self, now: Instant) {
        self.sent.push_back(now);
        while self.sent.len() > self.limit {
            self.sent.pop_front();
        }
    }
}

/// One recurring exchange with the server (telemetry upload, settings
/// refresh, command poll, …): when it is next due, whether a request is in
/// flight, its backoff and its rate guard.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) next_due: Instant,
    pub(crate) in_flight: Option<(RequestId, Instant)>,
    pub(crate) backoff: Backoff,
    pub(crate) guard: RateGuard,
}

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 2xx.
    Success,
    /// 429 with the server's `Retry-After` [s] (rounded up by the server).
    RateLimited(Option<u64>),
    /// 5xx, a transport error, or no answer before the deadline.
    Failed,
    /// Another 4xx: retrying unchanged would fail again.
    Rejected,
}

impl Task {
    pub(crate) fn new(first_due: Instant, backoff: Backoff, guard: RateGuard) -> Task {
        Task {
            next_due: first_due,
            in_flight: None,
            backoff,
            guard,
        }
    }

    /// Whether a request may be sent now.
    pub(crate) fn ready(&self, now: Instant) -> bool {
        self.in_flight.is_none() && now >= self.next_due && now >= self.guard.earliest(now)
    }

    /// When the task next needs attention: its request's deadline, or when it
    /// is due and allowed.
    pub(crate) fn wake_at(&self, now: Instant) -> Instant {
        match self.in_flight {
            Some((_, deadline)) => deadline,
            None => self.next_due.max(self.guard.earliest(now)),
        }
    }

    pub(crate) fn sent(&mut self, id: RequestId, now: Instant, timeout_ms: u64) {
        self.guard.record(now);
        self.in_flight = Some((id, now.plus_ms(timeout_ms)));
    }

    /// Whether `id` is this task's request in flight.
    pub(crate) fn owns(&self, id: RequestId) -> bool {
        self.in_flight.is_some_and(|(i, _)| i == id)
    }

    /// Settles the request in flight; `interval_ms` is the regular period
    /// after a success. Returns the delay chosen.
    pub(crate) fn settle(
        &mut self,
        now: Instant,
        outcome: Outcome,
        interval_ms: u64,
        rng: &mut ChaCha8Rng,
    ) -> u64 {
        self.in_flight = None;
        let delay = match outcome {
            Outcome::Success => {
                self.backoff.reset();
                interval_ms
            }
            // Honour Retry-After exactly; without one, back off.
            Outcome::RateLimited(Some(s)) => s.saturating_mul(1000),
            Outcome::RateLimited(None) | Outcome::Failed => self.backoff.next_delay_ms(rng),
            // A rejected request is not retried early: wait a full period.
            Outcome::Rejected => interval_ms,
        };
        self.next_due = now.plus_ms(delay);
        delay
    }

    /// If the request in flight has passed its deadline, settles it as
    /// failed and returns its id.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        interval_ms: u64,
        rng: &mut ChaCha8Rng,
    ) -> Option<RequestId> {
        match self.in_flight {
            Some((id, deadline)) if now >= deadline => {
                self.settle(now, Outcome::Failed, interval_ms, rng);
                Some(id)
            }
            _ => None,
        }
    }
}

/// Classifies a response status.
pub(crate) fn outcome_of(status: u16, retry_after_s: Option<u64>) -> Outcome {
    match status {
        200..=299 => Outcome::Success,
        429 => Outcome::RateLimited(retry_after_s),
        400..=499 => Outcome::Rejected,
        _ => Outcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn full_jitter_doubles_its_ceiling_up_to_the_cap() {
        let mut b = Backoff::new(1_000, 60_000);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ceilings: Vec<u64> = (0..8)
            .map(|_| {
                let c = b.ceiling_ms();
                let d = b.next_delay_ms(&mut rng);
                assert!(d <= c);
                c
            })
            .collect();
        assert_eq!(
            ceilings,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]
        );
        b.reset();
        assert_eq!(b.ceiling_ms(), 1_000);
    }

    #[test]
    fn rate_guard_allows_exactly_the_limit_per_window() {
        let mut g = RateGuard::new(5, 3_600_000);
        let t0 = Instant(0);
        for i in 0..5 {
            let t = t0.plus_secs(i * 60);
            assert_eq!(g.earliest(t), t);
            g.record(t);
        }
        // The sixth waits until the first leaves the hour.
        assert_eq!(g.earliest(t0.plus_secs(300)), t0.plus_secs(3_600));
    }

    #[test]
    fn tasks_honour_retry_after_and_back_off_on_failures() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut t = Task::new(
            Instant(0),
            Backoff::new(1_000, 300_000),
            RateGuard::new(60, 60_000),
        );
        assert!(t.ready(Instant(0)));
        t.sent(RequestId(1), Instant(0), 10_000);
        assert!(!t.ready(Instant(1)));
        assert!(t.owns(RequestId(1)) && !t.owns(RequestId(2)));
        assert_eq!(t.wake_at(Instant(1)), Instant(10_000));
        t.settle(
            Instant(500),
            Outcome::RateLimited(Some(17)),
            60_000,
            &mut rng,
        );
        assert_eq!(t.next_due, Instant(17_500));
        t.sent(RequestId(2), Instant(17_500), 10_000);
        assert_eq!(t.expire(Instant(20_000), 60_000, &mut rng), None);
        assert_eq!(
            t.expire(Instant(27_500), 60_000, &mut rng),
            Some(RequestId(2))
        );
        assert!(t.next_due <= Instant(27_500 + 1_000));
        assert_eq!(outcome_of(503, None), Outcome::Failed);
        assert_eq!(outcome_of(404, None), Outcome::Rejected);
        assert_eq!(outcome_of(201, None), Outcome::Success);
    }

    proptest! {
        /// Backoff delays always stay within [0, min(cap, base·2ⁿ)].
        #[test]
        fn backoff_delays_stay_within_bounds(seed in any::<u64>(), base in 1u64..10_000, cap in 1u64..1_000_000, n in 0usize..80) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut b = Backoff::new(base, cap);
            for i in 0..n {
                let bound = base.saturating_mul(1u64 << (i.min(62) as u32)).min(cap.max(base));
                let d = b.next_delay_ms(&mut rng);
                prop_assert!(d <= bound, "failure {}: {} > {}", i, d, bound);
            }
        }

        /// Whatever the send attempts, a guarded sender never exceeds its
        /// limit in any window.
        #[test]
        fn guarded_sends_never_exceed_the_limit(gaps in prop::collection::vec(0u64..20_000, 1..400), limit in 1usize..20) {
            let window = 60_000;
            let mut g = RateGuard::new(limit, window);
            let mut now = Instant(0);
            let mut sent = Vec::new();
            for gap in gaps {
                now = now.plus_ms(gap);
                let at = g.earliest(now);
                g.record(at);
                sent.push(at);
                now = at;
            }
            for (i, &t) in sent.iter().enumerate() {
                let in_window = sent[i..].iter().take_while(|&&u| u.0 < t.0 + window as i64).count();
                prop_assert!(in_window <= limit);
            }
        }
    }
}
