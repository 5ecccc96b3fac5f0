//! Per-entity scheduling: an entity's local clock plus its pending events.
//!
//! Each home in a fleet (its physics and its firmware driver) owns one
//! [`Scheduler`]; the windowed executor asks it to run up to a window's end,
//! and it hands events back in (time, insertion) order while keeping `now`
//! equal to the time of the event being handled.

use crate::queue::{EventHandle, EventQueue};
use crate::time::{SimDuration, SimTime};

/// An entity's local virtual time and its pending events of type `E`.
///
/// `now` only moves forward: to the time of each event handed out, and to the
/// limit of a completed `run_*` or [`Scheduler::advance_to`] call.
#[derive(Debug)]
pub struct Scheduler<E> {
    now: SimTime,
    queue: EventQueue<E>,
}

impl<E> Scheduler<E> {
    /// A scheduler whose local clock stands at `start`, with nothing pending.
    pub fn new(start: SimTime) -> Scheduler<E> {
        Scheduler {
            now: start,
            queue: EventQueue::new(),
        }
    }

    /// The entity's current local time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of pending events.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// The time of the next pending event.
    pub fn next_event_time(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Schedules `event` at the instant `at`.
    ///
    /// # Panics
    /// If `at` is earlier than [`Scheduler::now`]: an entity cannot schedule
    /// into its own past (that would break causality).
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> EventHandle {
        assert!(
            at >= self.now,
            "event scheduled in the past: at {at}, now {}",
            self.now
        );
        self.queue.push(at, event)
    }

    /// Schedules `event` after `delay` from now.
    pub fn schedule_after(&mut self, delay: SimDuration, event: E) -> EventHandle {
        self.queue.push(self.now + delay, event)
    }

    /// Cancels a pending event, returning it; `None` if it already ran or was
    /// cancelled.
    pub fn cancel(&mut self, handle: EventHandle) -> Option<E> {
        self.queue.cancel(handle)
    }

    /// Whether the event behind `handle` is still pending.
    pub fn is_pending(&self, handle: EventHandle) -> bool {
        self.queue.contains(handle)
    }

    /// Hands out the next event at or before `limit` (inclusive), moving `now`
    /// to its time; `None` when there is none, leaving `now` unchanged.
    pub fn pop_until(&mut self, limit: SimTime) -> Option<E> {
        let (at, event) = self.queue.pop_if_at_or_before(limit)?;
        debug_assert!(at >= self.now);
        self.now = at;
        Some(event)
    }

    /// Hands out the next event strictly before `limit`, moving `now` to its
    /// time; `None` when there is none, leaving `now` unchanged.
    pub fn pop_before(&mut self, limit: SimTime) -> Option<E> {
        match self.queue.peek_time() {
            Some(at) if at < limit => self.pop_until(at),
            _ => None,
        }
    }

    /// Moves `now` to `t` with no event handed out.
    ///
    /// # Panics
    /// If `t` is before `now`, or an event is pending before `t` (it would be
    /// skipped).
    pub fn advance_to(&mut self, t: SimTime) {
        assert!(
            t >= self.now,
            "advance_to({t}) is before now ({})",
            self.now
        );
        if let Some(next) = self.queue.peek_time() {
            assert!(next >= t, "advance_to({t}) would skip an event at {next}");
        }
        self.now = t;
    }

    /// Handles every event at or before `limit` in order, then moves `now` to
    /// `limit`. The handler may schedule and cancel events, including ones at
    /// the current time, which run in this same call. Returns how many events
    /// were handled.
    pub fn run_until(&mut self, limit: SimTime, mut handler: impl FnMut(&mut Self, E)) -> usize {
        let mut handled = 0;
        while let Some(event) = self.pop_until(limit) {
            handler(self, event);
            handled += 1;
        }
        self.advance_to(limit.max(self.now));
        handled
    }

    /// Handles every event strictly before `limit` in order, then moves `now`
    /// to `limit` (events at `limit` stay pending). This is the half-open
    /// window `[now, limit)` the windowed executor advances entities over.
    pub fn run_before(&mut self, limit: SimTime, mut handler: impl FnMut(&mut Self, E)) -> usize {
        let mut handled = 0;
        while let Some(event) = self.pop_before(limit) {
            handler(self, event);
            handled += 1;
        }
        self.advance_to(limit.max(self.now));
        handled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn run_until_is_inclusive_and_sets_now_to_the_limit() {
        let mut s = Scheduler::new(t(0));
        s.schedule_at(t(5), "five");
        s.schedule_at(t(10), "ten");
        s.schedule_at(t(11), "eleven");
        let mut seen = Vec::new();
        let n = s.run_until(t(10), |s, e| seen.push((s.now(), e)));
        assert_eq!(n, 2);
        assert_eq!(seen, [(t(5), "five"), (t(10), "ten")]);
        assert_eq!(s.now(), t(10));
        assert_eq!(s.next_event_time(), Some(t(11)));
    }

    #[test]
    fn run_before_is_exclusive() {
        let mut s = Scheduler::new(t(0));
        s.schedule_at(t(10), "ten");
        assert_eq!(s.run_before(t(10), |_, _| panic!("must not run")), 0);
        assert_eq!(s.now(), t(10));
        assert_eq!(s.pending(), 1);
        assert_eq!(s.run_before(t(11), |_, _| {}), 1);
    }

    #[test]
    fn handlers_can_schedule_follow_ups_that_run_in_the_same_call() {
        let mut s = Scheduler::new(t(0));
        s.schedule_after(SimDuration::from_secs(1), 0u32);
        let mut ticks = Vec::new();
        s.run_until(t(5), |s, n| {
            ticks.push((s.now(), n));
            // A same-time event runs after this one, FIFO.
            if n == 0 {
                s.schedule_at(s.now(), 100);
            }
            if n < 3 {
                s.schedule_after(SimDuration::from_secs(2), n + 1);
            }
        });
        assert_eq!(
            ticks,
            [(t(1), 0), (t(1), 100), (t(3), 1), (t(5), 2)],
            "a periodic timer and a same-time follow-up"
        );
        assert_eq!(s.next_event_time(), Some(t(7)));
    }

    #[test]
    fn cancelled_timers_do_not_fire() {
        let mut s = Scheduler::new(t(0));
        let a = s.schedule_at(t(1), "a");
        s.schedule_at(t(2), "b");
        assert!(s.is_pending(a));
        assert_eq!(s.cancel(a), Some("a"));
        assert!(!s.is_pending(a));
        let mut seen = Vec::new();
        s.run_until(t(3), |_, e| seen.push(e));
        assert_eq!(seen, ["b"]);
    }

    #[test]
    fn time_never_goes_backwards() {
        let mut s: Scheduler<()> = Scheduler::new(t(10));
        s.run_until(t(20), |_, _| {});
        assert_eq!(s.now(), t(20));
        // A limit in the past leaves now where it is.
        s.run_until(t(15), |_, _| {});
        assert_eq!(s.now(), t(20));
    }

    #[test]
    #[should_panic(expected = "scheduled in the past")]
    fn scheduling_into_the_past_is_a_bug() {
        let mut s = Scheduler::new(t(10));
        s.schedule_at(t(9), ());
    }

    #[test]
    #[should_panic(expected = "would skip an event")]
    fn advance_to_refuses_to_skip_events() {
        let mut s = Scheduler::new(t(0));
        s.schedule_at(t(5), ());
        s.advance_to(t(6));
    }
}
