//! The conservative, windowed parallel executor of DESIGN.md's execution
//! model.
//!
//! ```text
//!  window k = [t_k, e_k)
//!  ┌──────────── parallel (rayon) ────────────┐
//!  │ entity 0: advance(e_k) ─► outbox 0       │   every delivery is due at
//!  │ entity 1: advance(e_k) ─► outbox 1       │   least L (the lookahead,
//!  │   …                                      │   the minimum latency) after
//!  └──────────────────────────────────────────┘   its message was sent
//!            │ messages sorted by (sent_at, from, seq)
//!            ▼
//!   exchange(window, messages, &mut deliveries)   ── caller's step, once
//!            │ deliveries, each due at ≥ e_k          per window, in order
//!            ▼
//!   entity.deliver(at, …) in push order
//! ```
//!
//! Window ends adapt to the work (conservative lookahead, as in Chandy–Misra
//! and YAWNS-style windowed PDES): an entity sends only while handling one of
//! its events, so no message of the next window can be sent before `T`, the
//! earliest pending event of any entity, and none of its deliveries can be due
//! before `T + L`. The next window therefore ends at
//!
//! ```text
//!   e = min(end, max(t + L, min(T + L, t + max_window, wake)))
//! ```
//!
//! where `wake` is the earliest time the exchange asked to run again (for its
//! own timers). A busy fleet gets windows of `L`; an idle stretch is crossed
//! in one window instead of thousands.
//!
//! Every entity advances on its own state only, the exchange sees messages
//! in a canonical order, and deliveries reach each entity in the order the
//! exchange produced them; so a run's result does not depend on the thread
//! count or on how rayon splits the work.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::time::{SimDuration, SimTime};

/// Index of an entity in the slice handed to [`Executor::run`].
pub type EntityId = usize;

/// A simulated object that advances on its own between exchanges: a home with
/// its physics and firmware, a server partition, a test workload.
pub trait Entity: Send {
    /// What the entity sends out during a window (an HTTP request, say).
    type Message: Send;
    /// What the exchange hands back to it (a response, say).
    type Delivery: Send;

    /// Processes every local event strictly before `until` (the half-open
    /// window), sending messages through `outbox` stamped with their send
    /// times, and leaves the entity's local time at `until`.
    ///
    /// The executor calls it only in windows where the entity has an event
    /// (its [`Entity::next_event_time`] is before `until`); an idle entity
    /// keeps its older local time until then, so its next `advance` may
    /// cover several windows at once.
    ///
    /// Messages may only be sent while handling an event, stamped with that
    /// event's time: the executor relies on it to size windows.
    fn advance(&mut self, until: SimTime, outbox: &mut Outbox<Self::Message>);

    /// The time of the entity's earliest pending event, if any.
    fn next_event_time(&self) -> Option<SimTime>;

    /// Accepts a delivery due at `at` (never earlier than the end of the
    /// window just run); the entity schedules it as a local event.
    fn deliver(&mut self, at: SimTime, delivery: Self::Delivery);
}

/// Messages one entity sent during a window, in send order.
#[derive(Debug)]
pub struct Outbox<M> {
    messages: Vec<(SimTime, M)>,
}

impl<M> Default for Outbox<M> {
    fn default() -> Self {
        Outbox::new()
    }
}

impl<M> Outbox<M> {
    /// An empty outbox (an entity made of entities collects its parts'
    /// messages in one).
    pub fn new() -> Outbox<M> {
        Outbox {
            messages: Vec::new(),
        }
    }

    /// Takes the messages sent so far, in send order.
    pub fn drain(&mut self) -> std::vec::Drain<'_, (SimTime, M)> {
        self.messages.drain(..)
    }

    /// Sends `message` at local time `sent_at`.
    pub fn send(&mut self, sent_at: SimTime, message: M) {
        self.messages.push((sent_at, message));
    }

    /// Number of messages sent so far in this window.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether nothing was sent in this window yet.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

/// A message with its sender and send time, as the exchange sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<M> {
    /// When it was sent (the sender's local time).
    pub sent_at: SimTime,
    /// The sending entity.
    pub from: EntityId,
    /// The sender's send order within this window, from 0.
    pub seq: u32,
    /// The message itself.
    pub message: M,
}

/// The deliveries the exchange produces for one window, and when it wants to
/// run next.
#[derive(Debug)]
pub struct Deliveries<D> {
    items: Vec<(EntityId, SimTime, D)>,
    wake: SimTime,
    stop: bool,
}

impl<D> Deliveries<D> {
    /// Asks for the next window to end no later than `at` (but no earlier
    /// than one lookahead after it starts), so the exchange runs then: for a
    /// server timer, a retry, a scheduled automation.
    pub fn wake_at(&mut self, at: SimTime) {
        self.wake = self.wake.min(at);
    }

    /// Delivers `delivery` to entity `to`, due at `at`.
    pub fn push(&mut self, to: EntityId, at: SimTime, delivery: D) {
        self.items.push((to, at, delivery));
    }

    /// Ends the run after this window (the exchange met an error it cannot
    /// go on from); [`RunStats::stopped`] says so. This window's deliveries
    /// are still made.
    pub fn stop(&mut self) {
        self.stop = true;
    }

    /// Number of deliveries queued so far.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no delivery is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The simulated span one exchange step covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Zero-based window number.
    pub index: u64,
    /// Inclusive start.
    pub start: SimTime,
    /// Exclusive end: every entity's local time after the window.
    pub end: SimTime,
}

/// Where a run stands, reported after every window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Start of the run.
    pub start: SimTime,
    /// End of the run.
    pub end: SimTime,
    /// Simulated time reached (the end of the last window).
    pub now: SimTime,
    /// Windows completed.
    pub windows: u64,
    /// Messages entities sent so far.
    pub messages: u64,
    /// Deliveries made so far.
    pub deliveries: u64,
}

impl Progress {
    /// Fraction of the simulated span done, 0.0 to 1.0.
    pub fn fraction(&self) -> f64 {
        let total = self.end.saturating_duration_since(self.start).as_millis();
        if total == 0 {
            return 1.0;
        }
        self.now.saturating_duration_since(self.start).as_millis() as f64 / total as f64
    }
}

/// Totals of a finished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStats {
    /// Windows run.
    pub windows: u64,
    /// Messages entities sent.
    pub messages: u64,
    /// Deliveries made.
    pub deliveries: u64,
    /// Whether the exchange stopped the run before its end
    /// ([`Deliveries::stop`]).
    pub stopped: bool,
}

/// Why a run could not start or had to stop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The thread count was zero.
    #[error("threads must be at least 1")]
    ZeroThreads,
    /// The thread pool could not be built.
    #[error("cannot build a thread pool of {threads} threads: {reason}")]
    ThreadPool {
        /// Requested thread count.
        threads: usize,
        /// What rayon reported.
        reason: String,
    },
    /// The lookahead was zero.
    #[error("the lookahead (minimum latency) must be positive")]
    ZeroLookahead,
    /// The longest window was shorter than the lookahead.
    #[error("max_window ({max_window}) must be at least the lookahead ({lookahead})")]
    MaxWindowBelowLookahead {
        /// Requested longest window.
        max_window: SimDuration,
        /// Requested lookahead.
        lookahead: SimDuration,
    },
    /// The run would end before it starts.
    #[error("the run ends ({end}) before it starts ({start})")]
    EndBeforeStart {
        /// Requested start.
        start: SimTime,
        /// Requested end.
        end: SimTime,
    },
    /// The exchange addressed an entity that does not exist.
    #[error("delivery to entity {to}, but there are only {entities}")]
    UnknownEntity {
        /// The addressee.
        to: EntityId,
        /// How many entities the run has.
        entities: usize,
    },
    /// The exchange produced a delivery due inside the window already run,
    /// which would reach the entity in its past: the window is longer than
    /// the minimum latency the exchange models.
    #[error(
        "causality violated: delivery to entity {to} due at {at}, before the end of window {window_end}; deliveries must come at least the lookahead after their message"
    )]
    Causality {
        /// The addressee.
        to: EntityId,
        /// When the delivery was due.
        at: SimTime,
        /// End of the window just run.
        window_end: SimTime,
    },
}

/// The span and window bounds of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlan {
    /// Start of the run: every entity's local time at the beginning.
    pub start: SimTime,
    /// End of the run (exclusive for events).
    pub end: SimTime,
    /// The minimum time from a message's sending to any delivery it causes
    /// (the modelled minimum network latency): the shortest window.
    pub lookahead: SimDuration,
    /// The longest window: how late the exchange may run after an idle
    /// stretch (bounds the lag of server-side timers that do not ask to wake).
    pub max_window: SimDuration,
}

/// A window's messages, emptied out of the outboxes in (send time, sender,
/// sender's order) order.
///
/// An entity sends in time order (it handles its events in order), so the
/// outboxes are merged: each message is moved once, a heap keyed by
/// (next send time, sender) picks the next outbox, and a run of one sender's
/// messages that all come first is taken without touching the heap. This
/// replaced concatenating the outboxes and sorting stably by send time, which
/// moved each message (a few hundred bytes in a fleet run) about log n times
/// per window. An outbox out of time order falls back to that sort, which
/// gives the same order.
fn collect_sorted<M>(outboxes: &mut [Outbox<M>]) -> Vec<Envelope<M>> {
    let envelope = |from: EntityId, (seq, (sent_at, message)): (usize, (SimTime, M))| Envelope {
        sent_at,
        from,
        seq: u32::try_from(seq).unwrap_or(u32::MAX),
        message,
    };
    let mut messages = Vec::with_capacity(outboxes.iter().map(Outbox::len).sum());
    if !outboxes
        .iter()
        .all(|o| o.messages.is_sorted_by_key(|(t, _)| *t))
    {
        for (from, outbox) in outboxes.iter_mut().enumerate() {
            messages.extend(
                outbox
                    .messages
                    .drain(..)
                    .enumerate()
                    .map(|m| envelope(from, m)),
            );
        }
        // Stable sort: (from, seq) order is already the tie-break.
        messages.sort_by_key(|m| m.sent_at);
        return messages;
    }
    let mut heads: BinaryHeap<Reverse<(SimTime, EntityId)>> = outboxes
        .iter()
        .enumerate()
        .filter_map(|(from, o)| Some(Reverse((o.messages.first()?.0, from))))
        .collect();
    let mut drains: Vec<_> = outboxes
        .iter_mut()
        .map(|o| o.messages.drain(..).enumerate().peekable())
        .collect();
    while let Some(Reverse((_, from))) = heads.pop() {
        let Some(drain) = drains.get_mut(from) else {
            continue;
        };
        // This sender's messages go while they sort before every other head.
        let next = heads.peek().map(|Reverse(k)| *k);
        while let Some(m) = drain.next() {
            messages.push(envelope(from, m));
            let Some((_, (t, _))) = drain.peek() else {
                break;
            };
            if next.is_some_and(|k| (*t, from) > k) {
                heads.push(Reverse((*t, from)));
                break;
            }
        }
    }
    messages
}

/// Windows with fewer entities due than this run them on the calling
/// thread (waking the pool costs more than a few entities' work).
const SEQUENTIAL_BELOW: usize = 8;

/// Runs entities in windows on a fixed-size rayon pool.
#[derive(Debug)]
pub struct Executor {
    pool: rayon::ThreadPool,
    threads: usize,
}

impl Executor {
    /// An executor with its own pool of `threads` worker threads.
    pub fn new(threads: usize) -> Result<Executor, ExecError> {
        if threads == 0 {
            return Err(ExecError::ZeroThreads);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("thermotwin-sim-{i}"))
            .build()
            .map_err(|e| ExecError::ThreadPool {
                threads,
                reason: e.to_string(),
            })?;
        Ok(Executor { pool, threads })
    }

    /// Worker thread count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on this executor's pool, so that rayon calls inside it (in an
    /// exchange step that partitions server work, say) use these threads.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Advances `entities` from `plan.start` to `plan.end` in windows (see
    /// the module docs for how long each is), calling `exchange` once after
    /// every window, also when no message was sent, and `progress` after
    /// every exchange.
    ///
    /// Messages reach the exchange sorted by (send time, sender, sender's
    /// order). Deliveries must be due at or after the window's end; they reach
    /// each entity in the order the exchange pushed them.
    pub fn run<E, X, P>(
        &self,
        entities: &mut [E],
        plan: RunPlan,
        mut exchange: X,
        mut progress: P,
    ) -> Result<RunStats, ExecError>
    where
        E: Entity,
        X: FnMut(Window, Vec<Envelope<E::Message>>, &mut Deliveries<E::Delivery>) + Send,
        P: FnMut(&Progress) + Send,
    {
        if plan.lookahead.is_zero() {
            return Err(ExecError::ZeroLookahead);
        }
        if plan.max_window < plan.lookahead {
            return Err(ExecError::MaxWindowBelowLookahead {
                max_window: plan.max_window,
                lookahead: plan.lookahead,
            });
        }
        if plan.end < plan.start {
            return Err(ExecError::EndBeforeStart {
                start: plan.start,
                end: plan.end,
            });
        }
        let n = entities.len();
        self.pool.install(|| {
            let mut outboxes: Vec<Outbox<E::Message>> = (0..n).map(|_| Outbox::new()).collect();
            let mut stats = RunStats {
                windows: 0,
                messages: 0,
                deliveries: 0,
                stopped: false,
            };
            // Each entity's next event: only those due in a window advance.
            let mut next: Vec<SimTime> = entities
                .iter()
                .map(|e| e.next_event_time().unwrap_or(SimTime::MAX))
                .collect();
            let mut next_event = next.iter().copied().min().unwrap_or(SimTime::MAX);
            let mut wake = SimTime::MAX;
            let mut window_start = plan.start;
            // Kept from window to window: it grows once, not every window.
            let mut delivery_buf = Vec::new();
            while window_start < plan.end {
                let shortest = window_start + plan.lookahead;
                let wanted = (next_event + plan.lookahead)
                    .min(window_start + plan.max_window)
                    .min(wake);
                let window_end = shortest.max(wanted).min(plan.end);
                let window = Window {
                    index: stats.windows,
                    start: window_start,
                    end: window_end,
                };

                let step = |((entity, outbox), next): (
                    (&mut E, &mut Outbox<E::Message>),
                    &mut SimTime,
                )| {
                    if *next < window_end {
                        entity.advance(window_end, outbox);
                        *next = entity.next_event_time().unwrap_or(SimTime::MAX);
                    }
                    *next
                };
                // Few entities due: not worth waking the pool.
                let due = next.iter().filter(|t| **t < window_end).count();
                let entity_next = if due < SEQUENTIAL_BELOW || self.threads == 1 {
                    entities
                        .iter_mut()
                        .zip(outboxes.iter_mut())
                        .zip(next.iter_mut())
                        .map(step)
                        .min()
                } else {
                    entities
                        .par_iter_mut()
                        .zip(outboxes.par_iter_mut())
                        .zip(next.par_iter_mut())
                        .map(step)
                        .min()
                }
                .unwrap_or(SimTime::MAX);

                if cfg!(debug_assertions) {
                    for (from, outbox) in outboxes.iter().enumerate() {
                        for (t, _) in &outbox.messages {
                            assert!(
                                *t >= window_start && *t < window_end,
                                "entity {from} sent at {t}, outside {window:?}"
                            );
                        }
                    }
                }
                let messages = collect_sorted(&mut outboxes);
                let sent = messages.len();

                let mut deliveries = Deliveries {
                    items: std::mem::take(&mut delivery_buf),
                    wake: SimTime::MAX,
                    stop: false,
                };
                exchange(window, messages, &mut deliveries);

                let delivered = deliveries.items.len();
                next_event = entity_next;
                for (to, at, delivery) in deliveries.items.drain(..) {
                    let Some(entity) = entities.get_mut(to) else {
                        return Err(ExecError::UnknownEntity { to, entities: n });
                    };
                    if at < window_end {
                        return Err(ExecError::Causality { to, at, window_end });
                    }
                    entity.deliver(at, delivery);
                    next[to] = next[to].min(at);
                    next_event = next_event.min(at);
                }
                wake = deliveries.wake;
                delivery_buf = deliveries.items;

                stats.windows += 1;
                stats.messages += sent as u64;
                stats.deliveries += delivered as u64;
                progress(&Progress {
                    start: plan.start,
                    end: plan.end,
                    now: window_end,
                    windows: stats.windows,
                    messages: stats.messages,
                    deliveries: stats.deliveries,
                });
                window_start = window_end;
                if deliveries.stop {
                    stats.stopped = true;
                    break;
                }
            }
            Ok(stats)
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The order the executor promises: a stable sort of the concatenated
    /// outboxes by send time, each message numbered within its outbox.
    fn sorted_reference(outboxes: &[Vec<(i64, u32)>]) -> Vec<(i64, usize, u32, u32)> {
        let mut all: Vec<_> = outboxes
            .iter()
            .enumerate()
            .flat_map(|(from, o)| {
                o.iter()
                    .enumerate()
                    .map(move |(seq, (t, m))| (*t, from, seq as u32, *m))
            })
            .collect();
        all.sort_by_key(|m| m.0);
        all
    }

    fn collected(outboxes: &[Vec<(i64, u32)>]) -> Vec<(i64, usize, u32, u32)> {
        let mut boxes: Vec<Outbox<u32>> = outboxes
            .iter()
            .map(|o| {
                let mut b = Outbox::new();
                for (t, m) in o {
                    b.send(SimTime::from_millis(*t), *m);
                }
                b
            })
            .collect();
        let out = collect_sorted(&mut boxes);
        assert!(boxes.iter().all(Outbox::is_empty), "outboxes emptied");
        out.into_iter()
            .map(|e| (e.sent_at.as_millis(), e.from, e.seq, e.message))
            .collect()
    }

    #[test]
    fn merge_breaks_ties_by_sender_then_order() {
        let boxes = vec![
            vec![(5, 0), (5, 1), (9, 2)],
            vec![],
            vec![(1, 3), (5, 4), (5, 5), (6, 6)],
            vec![(5, 7)],
        ];
        let order: Vec<u32> = collected(&boxes).iter().map(|m| m.3).collect();
        assert_eq!(order, [3, 0, 1, 4, 5, 7, 6, 2]);
    }

    proptest! {
        /// Time-ordered outboxes (the merge) and unordered ones (the
        /// fallback sort) both come out as the stable sort would have them.
        #[test]
        fn merge_equals_stable_sort(
            mut boxes in proptest::collection::vec(
                proptest::collection::vec((0i64..20, any::<u32>()), 0..12), 0..9),
            ordered in any::<bool>(),
        ) {
            if ordered {
                for b in &mut boxes {
                    b.sort_by_key(|m| m.0);
                }
            }
            prop_assert_eq!(collected(&boxes), sorted_reference(&boxes));
        }
    }
}
