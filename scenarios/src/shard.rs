//! A shard: one server account with its homes, its integrations and its
//! technicians — the unit the executor runs in parallel.
//!
//! Accounts share nothing a request can change (tokens, rate limits,
//! devices, automations, webhooks, ids: DESIGN.md, "Execution model"), so a
//! shard is a sequential discrete-event simulation of its own: inside a
//! window it handles, in exact time order, each home's events (physics,
//! firmware), each request when it reaches the server (through the shared
//! axum `Router`, the virtual clock at its arrival), each response when it
//! gets back after the modelled latency, the integrations' jobs and the
//! account's server timers (`tick_account` when the account asks for it).
//! No response is delayed to a window boundary and no message crosses
//! shards, so windows are as long as the work across accounts allows:
//!
//! ```text
//!  window [t, t + W)          ┌ shard 0: homes ⇄ server(account 0) ┐
//!   parallel (rayon) ───────► │ shard 1: homes ⇄ server(account 1) │ ─► table rows,
//!                             └ …                                  ┘    sorted by time
//!  between windows: OTA publishing, rollout decisions (tick_global),
//!  outside models' batches, tables
//! ```
//!
//! The window `W` ([`window`]) is [`SYNC`] (a minute) when a run has work
//! across accounts to do between windows — OTA releases to publish and roll
//! out, outside models to feed — and [`QUIET_SYNC`] (15 minutes) when it has
//! none. A shard's results do not depend on `W` (nothing inside a window
//! waits for its end); what does is locality: a shard visited once a minute
//! handles two or three requests per visit and finds its home, firmware and
//! account state gone from the cache each time, while one visited every
//! 15 minutes handles about thirty on warm state — the heatwave fleet of
//! 1,000 homes runs about a quarter faster (README "Performance").
//!
//! Ties at one instant go: requests reaching the server, then integration
//! jobs, then the account's timers, then the homes (by their index), so a
//! run does not depend on the thread count.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use sim_core::exec::{Entity, Outbox};
use sim_core::{SimDuration, SimTime};

use crate::home::{HomeSim, Inbound, Message, Outgoing, Record};
use crate::server::{AccountSide, RequestRow, Shared, handle_home};

/// How often shards meet when the run has work across accounts: OTA
/// releases are published, rollout batches advance or halt, outside models
/// answer for the window's feature rows, and the tables are written at these
/// boundaries.
pub const SYNC: SimDuration = SimDuration::from_secs(60);

/// How often shards meet when nothing across accounts needs them to (no OTA
/// release, no outside model): the tables are written, tokens that expired
/// are forgotten and the progress bar moves. Long enough that a shard's
/// state stays warm in the cache over dozens of requests, short enough that
/// a window's rows (about 30 requests per home) stay a few megabytes.
pub const QUIET_SYNC: SimDuration = SimDuration::from_mins(15);

/// The window of a run: [`SYNC`] if it has work across accounts
/// (`coordinated`), [`QUIET_SYNC`] if not.
pub fn window(coordinated: bool) -> SimDuration {
    if coordinated { SYNC } else { QUIET_SYNC }
}

/// What a shard hands to the run's tables.
#[derive(Debug)]
pub enum Output {
    /// A home's record.
    Record(Record),
    /// A request the server handled.
    Request(RequestRow),
}

/// A request on its way to the server.
#[derive(Debug)]
struct Pending {
    arrival: SimTime,
    order: u64,
    out: Box<Outgoing>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.arrival, self.order) == (other.arrival, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.arrival, self.order).cmp(&(other.arrival, other.order))
    }
}

/// One account and its homes.
pub struct Shard {
    shared: Arc<Shared>,
    side: AccountSide,
    homes: Vec<HomeSim>,
    /// Each home's device id, for technician visits.
    device_ids: Vec<Arc<str>>,
    /// The homes' next events; an entry whose time is no longer its home's
    /// is stale and skipped.
    queue: BinaryHeap<Reverse<(SimTime, u32)>>,
    pending: BinaryHeap<Reverse<Pending>>,
    order: u64,
    tick_next: SimTime,
    alerts_seen: usize,
    t: SimTime,
    scratch: Outbox<Message>,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("account", &self.side.id)
            .field("homes", &self.homes.len())
            .field("t", &self.t)
            .finish_non_exhaustive()
    }
}

impl Shard {
    /// A shard of `side`'s account with `homes` (in fleet order), starting
    /// at `start`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        side: AccountSide,
        homes: Vec<HomeSim>,
        device_ids: Vec<Arc<str>>,
        start: SimTime,
    ) -> Shard {
        let queue = homes
            .iter()
            .enumerate()
            .filter_map(|(i, h)| Some(Reverse((h.next_event_time()?, i as u32))))
            .collect();
        Shard {
            shared,
            side,
            homes,
            device_ids,
            queue,
            pending: BinaryHeap::new(),
            order: 0,
            tick_next: start,
            alerts_seen: 0,
            t: start,
            scratch: Outbox::new(),
        }
    }

    /// The shard's homes, in fleet order.
    pub fn homes(&self) -> &[HomeSim] {
        &self.homes
    }

    /// The account's counts.
    pub fn stats(&self) -> &crate::server::Stats {
        &self.side.stats
    }

    /// The time of the earliest valid entry of the homes' queue.
    fn next_home(&mut self) -> SimTime {
        while let Some(&Reverse((t, i))) = self.queue.peek() {
            if self.homes[i as usize].next_event_time() == Some(t) {
                return t;
            }
            self.queue.pop();
        }
        SimTime::MAX
    }

    fn deliver(&mut self, home: usize, at: SimTime, inbound: Inbound) {
        let Ok(local) = self.homes.binary_search_by_key(&home, HomeSim::index) else {
            return;
        };
        self.deliver_local(local, at, inbound);
    }

    fn deliver_local(&mut self, local: usize, at: SimTime, inbound: Inbound) {
        let h = &mut self.homes[local];
        h.deliver(at, inbound);
        if let Some(t) = h.next_event_time() {
            self.queue.push(Reverse((t, local as u32)));
        }
    }

    /// Routes what the homes sent: records to the tables, requests into the
    /// network (a lost one comes back as a transport error).
    fn route(&mut self, out: &mut Outbox<Output>) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for (at, m) in scratch.drain() {
            match m {
                Message::Record(r) => out.send(at, Output::Record(r)),
                Message::Request(o) if o.lost => {
                    self.side.stats.lost += 1;
                    let (home, arrival, id) = (o.home, o.arrival, o.request.id);
                    self.deliver(home, arrival, Inbound::TransportError(id));
                }
                Message::Request(o) => {
                    self.order += 1;
                    self.pending.push(Reverse(Pending {
                        arrival: o.arrival,
                        order: self.order,
                        out: o,
                    }));
                }
            }
        }
        self.scratch = scratch;
    }

    /// After the server did something at `t`: hand on the request rows,
    /// note when the account's timers are next due, and send technicians
    /// to new alerts that ask for dispatch (the predictor's; an
    /// integration's with `dispatch: true`).
    fn after_server(&mut self, t: SimTime, out: &mut Outbox<Output>) {
        for row in self.side.stats.rows.drain(..) {
            out.send(row.arrival, Output::Request(row));
        }
        let delay = self.shared.visits_delay;
        let seen = self.alerts_seen;
        let Some((wake, new, seen_now)) = self.shared.state.with_account(self.side.id, |acc| {
            let new: Vec<(String, String, SimTime)> = match delay {
                Some(_) if acc.alerts.len() > seen => acc.alerts[seen..]
                    .iter()
                    .filter(|a| a.dispatch)
                    .map(|a| (a.alert_id.clone(), a.device_id.clone(), a.created_at))
                    .collect(),
                _ => Vec::new(),
            };
            (acc.wake(), new, acc.alerts.len())
        }) else {
            return;
        };
        self.tick_next = self.tick_next.min(wake);
        // Alerts without dispatch (an integration's, unless it asked) get no
        // visit.
        self.alerts_seen = seen_now;
        let Some(delay) = delay else {
            return;
        };
        for (alert, device, at) in new {
            let Some(local) = self.device_ids.iter().position(|d| **d == *device) else {
                continue;
            };
            let visit = (at + delay).max(t);
            self.deliver_local(local, visit, Inbound::Visit);
            self.side.resolve_at(visit, alert);
        }
    }
}

impl Entity for Shard {
    type Message = Output;
    type Delivery = std::convert::Infallible;

    fn advance(&mut self, until: SimTime, out: &mut Outbox<Output>) {
        loop {
            let home = self.next_home();
            let arrival = self.pending.peek().map_or(SimTime::MAX, |p| p.0.arrival);
            let job = self.side.next_job();
            let t = home.min(arrival).min(job).min(self.tick_next);
            if t >= until {
                break;
            }
            if arrival == t {
                let Some(Reverse(p)) = self.pending.pop() else {
                    break;
                };
                let (home, at, inbound) = handle_home(&self.shared, *p.out, &mut self.side.stats);
                self.deliver(home, at, inbound);
            } else if job == t {
                self.side.run_jobs(&self.shared, t);
            } else if self.tick_next == t {
                self.tick_next = self.shared.state.tick_account(self.side.id, t);
            } else {
                let Some(Reverse((_, i))) = self.queue.pop() else {
                    break;
                };
                let i = i as usize;
                self.homes[i].step(&mut self.scratch);
                if let Some(next) = self.homes[i].next_event_time() {
                    self.queue.push(Reverse((next, i as u32)));
                }
                self.route(out);
                continue;
            }
            self.after_server(t, out);
        }
        // Every home's physics (and what it records) keeps step with the
        // windows.
        for h in &mut self.homes {
            h.advance(until, &mut self.scratch);
        }
        self.route(out);
        self.t = until;
    }

    /// Always the shard's own time: it takes part in every window, so its
    /// homes' physics and records keep step with the run.
    fn next_event_time(&self) -> Option<SimTime> {
        Some(self.t)
    }

    fn deliver(&mut self, _: SimTime, delivery: std::convert::Infallible) {
        match delivery {}
    }
}
