//! The pending-event set: a priority queue ordered by (time, insertion
//! sequence), so events at equal times come out first in, first out, with
//! O(log n) cancellation by handle.
//!
//! ```text
//!   heap: [Key{time, seq, slot}] ── binary min-heap on (time, seq)
//!                       │ slot
//!                       ▼
//!   slots: [Slot{seq, event}]  ◄── free list of vacant slots
//! ```
//!
//! Payloads live in a slab of slots; the heap holds small fixed-size keys, so
//! sifting never moves a payload. A key is live while its slot still holds the
//! event with the key's sequence number; cancelling vacates the slot and leaves
//! a stale key behind, which is discarded when it reaches the top. The top of
//! the heap is always live, and the heap is rebuilt when stale keys outnumber
//! live ones, so memory stays proportional to the pending events.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

/// Identifies one scheduled event so that it can be cancelled.
///
/// A handle stays valid until its event is popped or cancelled; afterwards
/// cancelling with it does nothing, even if its slot has been reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventHandle {
    slot: u32,
    seq: u64,
}

impl EventHandle {
    /// The event's insertion sequence number: unique within its queue and
    /// increasing in the order events were scheduled.
    pub fn seq(self) -> u64 {
        self.seq
    }
}

#[derive(Clone, Copy)]
struct Key {
    time: SimTime,
    seq: u64,
    slot: u32,
}

impl Key {
    /// (time, seq) as one integer: the time with its sign bit flipped (so
    /// unsigned order is signed order) above the sequence number. One 128-bit
    /// comparison orders two keys.
    #[inline(always)]
    fn rank(&self) -> u128 {
        (u128::from(self.time.as_millis() as u64 ^ (1 << 63)) << 64) | u128::from(self.seq)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.seq == other.seq
    }
}
impl Eq for Key {}

// Reversed, so that std's max-heap pops the earliest (time, seq) first. The
// comparison operators are spelled out because the heap's sifting calls them
// directly.
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
    #[inline(always)]
    fn lt(&self, other: &Key) -> bool {
        self.rank() > other.rank()
    }
    #[inline(always)]
    fn le(&self, other: &Key) -> bool {
        self.rank() >= other.rank()
    }
    #[inline(always)]
    fn gt(&self, other: &Key) -> bool {
        self.rank() < other.rank()
    }
    #[inline(always)]
    fn ge(&self, other: &Key) -> bool {
        self.rank() <= other.rank()
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        other.rank().cmp(&self.rank())
    }
}

struct Slot<E> {
    seq: u64,
    event: Option<E>,
}

/// A priority queue of events of type `E`, earliest first, FIFO among equal
/// times, with cancellation.
pub struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    slots: Vec<Slot<E>>,
    free: Vec<u32>,
    next_seq: u64,
    live: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> EventQueue<E> {
        EventQueue::with_capacity(0)
    }

    /// An empty queue with room for `n` pending events before it allocates.
    pub fn with_capacity(n: usize) -> EventQueue<E> {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            next_seq: 0,
            live: 0,
        }
    }

    /// Number of pending (scheduled, not cancelled, not popped) events.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Schedules `event` at `time`. Among events at the same time, those pushed
    /// earlier pop first.
    ///
    /// # Panics
    /// If more than `u32::MAX` events are pending at once.
    pub fn push(&mut self, time: SimTime, event: E) -> EventHandle {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Slot {
                    seq,
                    event: Some(event),
                };
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len())
                    .expect("EventQueue holds at most u32::MAX pending events");
                self.slots.push(Slot {
                    seq,
                    event: Some(event),
                });
                slot
            }
        };
        self.heap.push(Key { time, seq, slot });
        self.live += 1;
        EventHandle { slot, seq }
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|k| k.time)
    }

    /// Removes and returns the earliest pending event with its time.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let key = self.heap.pop()?;
        let slot = &mut self.slots[key.slot as usize];
        debug_assert_eq!(slot.seq, key.seq, "heap top must be live");
        let event = slot
            .event
            .take()
            .expect("invariant: the top of the heap is always a live event");
        self.free.push(key.slot);
        self.live -= 1;
        self.discard_stale_top();
        Some((key.time, event))
    }

    /// Removes the earliest pending event if its time is at most `limit`.
    pub fn pop_if_at_or_before(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        match self.peek_time() {
            Some(t) if t <= limit => self.pop(),
            _ => None,
        }
    }

    /// Cancels the event behind `handle`, returning it if it was still pending.
    pub fn cancel(&mut self, handle: EventHandle) -> Option<E> {
        let slot = self.slots.get_mut(handle.slot as usize)?;
        if slot.seq != handle.seq {
            return None;
        }
        let event = slot.event.take()?;
        self.free.push(handle.slot);
        self.live -= 1;
        self.discard_stale_top();
        if self.heap.len() > 2 * self.live + 64 {
            let slots = &self.slots;
            self.heap.retain(|k| {
                slots[k.slot as usize].seq == k.seq && slots[k.slot as usize].event.is_some()
            });
        }
        Some(event)
    }

    /// Whether the event behind `handle` is still pending.
    pub fn contains(&self, handle: EventHandle) -> bool {
        self.slots
            .get(handle.slot as usize)
            .is_some_and(|s| s.seq == handle.seq && s.event.is_some())
    }

    /// Removes every pending event. Handles issued before stay invalid.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.slots.clear();
        self.free.clear();
        self.live = 0;
    }

    fn discard_stale_top(&mut self) {
        while let Some(top) = self.heap.peek() {
            let slot = &self.slots[top.slot as usize];
            if slot.seq == top.seq && slot.event.is_some() {
                return;
            }
            self.heap.pop();
        }
    }
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("pending", &self.live)
            .field("next_time", &self.peek_time())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(ms: i64) -> SimTime {
        SimTime::from_millis(ms)
    }

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::new();
        for (time, name) in [(30, "c"), (10, "a"), (20, "b"), (40, "d")] {
            q.push(t(time), name);
        }
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            [(t(10), "a"), (t(20), "b"), (t(30), "c"), (t(40), "d")]
        );
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn equal_times_are_fifo() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.push(t(5), i);
        }
        q.push(t(4), -1);
        assert_eq!(q.pop(), Some((t(4), -1)));
        for i in 0..100 {
            assert_eq!(q.pop(), Some((t(5), i)));
        }
    }

    #[test]
    fn cancel_removes_exactly_one_event() {
        let mut q = EventQueue::new();
        let a = q.push(t(1), "a");
        let b = q.push(t(2), "b");
        let c = q.push(t(3), "c");
        assert_eq!(q.cancel(b), Some("b"));
        assert_eq!(q.cancel(b), None, "second cancel is a no-op");
        assert!(!q.contains(b) && q.contains(a) && q.contains(c));
        assert_eq!(q.len(), 2);
        // Cancelling the earliest updates the head.
        assert_eq!(q.cancel(a), Some("a"));
        assert_eq!(q.peek_time(), Some(t(3)));
        assert_eq!(q.pop(), Some((t(3), "c")));
        assert_eq!(q.cancel(c), None, "popped events cannot be cancelled");
    }

    #[test]
    fn stale_handle_does_not_cancel_a_reused_slot() {
        let mut q = EventQueue::new();
        let old = q.push(t(1), "old");
        assert_eq!(q.pop(), Some((t(1), "old")));
        let new = q.push(t(2), "new"); // reuses the slot
        assert_eq!(q.cancel(old), None);
        assert!(q.contains(new));
        assert_eq!(q.pop(), Some((t(2), "new")));
    }

    #[test]
    fn mass_cancellation_keeps_memory_bounded() {
        let mut q = EventQueue::new();
        let handles: Vec<_> = (0..10_000).map(|i| q.push(t(i), i)).collect();
        for h in &handles[..9_990] {
            q.cancel(*h);
        }
        assert_eq!(q.len(), 10);
        assert!(
            q.heap.len() <= 2 * q.len() + 64,
            "heap {} keys",
            q.heap.len()
        );
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(rest, (9_990..10_000).collect::<Vec<_>>());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(i64),
        Pop,
        Cancel(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0i64..50).prop_map(Op::Push),
            2 => Just(Op::Pop),
            1 => (0usize..200).prop_map(Op::Cancel),
        ]
    }

    proptest! {
        /// The queue behaves like a sorted list of (time, seq) with removal.
        #[test]
        fn matches_a_reference_model(ops in prop::collection::vec(op(), 0..300)) {
            let mut q = EventQueue::new();
            let mut model: Vec<(i64, u64)> = Vec::new();
            let mut handles = Vec::new();
            for op in ops {
                match op {
                    Op::Push(time) => {
                        let h = q.push(t(time), h_seq(&handles));
                        model.push((time, h.seq()));
                        handles.push(h);
                    }
                    Op::Pop => {
                        model.sort();
                        let expected = (!model.is_empty()).then(|| model.remove(0));
                        let got = q.pop().map(|(time, seq)| (time.as_millis(), seq));
                        prop_assert_eq!(got, expected);
                    }
                    Op::Cancel(i) => {
                        if let Some(&h) = handles.get(i) {
                            let in_model = model.iter().position(|&(_, s)| s == h.seq());
                            let got = q.cancel(h);
                            prop_assert_eq!(got.is_some(), in_model.is_some());
                            if let Some(pos) = in_model {
                                model.remove(pos);
                            }
                        }
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(
                    q.peek_time().map(SimTime::as_millis),
                    model.iter().min().map(|&(time, _)| time)
                );
            }
        }
    }

    /// The payload is the sequence number the queue will assign next.
    fn h_seq(handles: &[EventHandle]) -> u64 {
        handles.len() as u64
    }
}
