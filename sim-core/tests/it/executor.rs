//! The windowed parallel executor: determinism across thread counts,
//! causality, progress and error handling.

use proptest::prelude::*;
use rand::{Rng, RngExt};
use sim_core::{
    Deliveries, Entity, Envelope, ExecError, Executor, Outbox, Progress, RunPlan, Scheduler,
    SimDuration, SimRng, SimTime, Window, stream,
};

/// Folds a value into a running trace hash (FNV-1a style over u64 words).
fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(17)
}

#[derive(Debug)]
enum Ev {
    /// A local timer: do some work, maybe send.
    Tick,
    /// A reply from the exchange.
    Reply(u64),
}

/// A random workload entity: timers at random intervals, messages with random
/// payloads, replies folded into its state.
struct Worker {
    id: u64,
    rng: SimRng,
    sched: Scheduler<Ev>,
    trace: u64,
    send_probability: f64,
    mean_tick_ms: u64,
}

impl Worker {
    fn new(seed: u64, id: u64, start: SimTime, send_probability: f64, mean_tick_ms: u64) -> Worker {
        let mut rng = stream(seed, id, "worker");
        let mut sched = Scheduler::new(start);
        let first = SimDuration::from_millis(rng.random_range(0..=mean_tick_ms));
        sched.schedule_after(first, Ev::Tick);
        Worker {
            id,
            rng,
            sched,
            trace: id,
            send_probability,
            mean_tick_ms,
        }
    }
}

impl Entity for Worker {
    type Message = u64;
    type Delivery = u64;

    fn advance(&mut self, until: SimTime, outbox: &mut Outbox<u64>) {
        let Worker {
            rng,
            sched,
            trace,
            send_probability,
            mean_tick_ms,
            id,
        } = self;
        sched.run_before(until, |s, ev| {
            let now = s.now();
            match ev {
                Ev::Tick => {
                    let v = rng.next_u64();
                    *trace = mix(mix(*trace, now.as_millis() as u64), v);
                    if rng.random_bool(*send_probability) {
                        outbox.send(now, v ^ *id);
                    }
                    let next = SimDuration::from_millis(rng.random_range(1..=2 * *mean_tick_ms));
                    s.schedule_after(next, Ev::Tick);
                }
                Ev::Reply(v) => *trace = mix(mix(*trace, now.as_millis() as u64), v),
            }
        });
    }

    fn deliver(&mut self, at: SimTime, delivery: u64) {
        self.sched.schedule_at(at, Ev::Reply(delivery));
    }

    fn next_event_time(&self) -> Option<SimTime> {
        self.sched.next_event_time()
    }
}

/// A stateful "server": handles messages in the order given, replies to the
/// sender after a random latency ≥ the minimum, and sometimes forwards to
/// another entity. Its state depends on the message order, so any
/// nondeterminism in ordering shows up in the result.
struct Server {
    rng: SimRng,
    state: u64,
    min_latency: SimDuration,
    entities: usize,
    log: Vec<(i64, usize, u32)>,
}

impl Server {
    fn handle(&mut self, window: Window, msgs: Vec<Envelope<u64>>, out: &mut Deliveries<u64>) {
        self.state = mix(self.state, window.index);
        for m in msgs {
            assert!(m.sent_at >= window.start && m.sent_at < window.end);
            self.log.push((m.sent_at.as_millis(), m.from, m.seq));
            self.state = mix(self.state, m.message);
            let latency =
                self.min_latency + SimDuration::from_millis(self.rng.random_range(0..500));
            out.push(m.from, m.sent_at + latency, self.state);
            if self.state.is_multiple_of(3) {
                let to = (self.state as usize) % self.entities;
                out.push(to, m.sent_at + latency, !self.state);
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    traces: Vec<u64>,
    server_state: u64,
    log_hash: u64,
    windows: u64,
    messages: u64,
    deliveries: u64,
}

#[derive(Debug, Clone)]
struct Workload {
    seed: u64,
    entities: usize,
    minutes: u64,
    min_latency_ms: u64,
    send_probability: f64,
    mean_tick_ms: u64,
    max_window_s: u64,
}

fn simulate(w: &Workload, threads: usize) -> Outcome {
    let start: SimTime = "2026-07-01T00:00:00Z".parse().unwrap();
    let mut workers: Vec<Worker> = (0..w.entities as u64)
        .map(|id| Worker::new(w.seed, id, start, w.send_probability, w.mean_tick_ms))
        .collect();
    let min_latency = SimDuration::from_millis(w.min_latency_ms);
    let mut server = Server {
        rng: stream(w.seed, u64::MAX, "server"),
        state: 0,
        min_latency,
        entities: w.entities,
        log: Vec::new(),
    };
    let plan = RunPlan {
        start,
        end: start + SimDuration::from_mins(w.minutes),
        lookahead: min_latency,
        max_window: SimDuration::from_secs(w.max_window_s),
    };
    let exec = Executor::new(threads).unwrap();
    let stats = exec
        .run(
            &mut workers,
            plan,
            |win, msgs, out| server.handle(win, msgs, out),
            |_| {},
        )
        .unwrap();
    let log_hash = server.log.iter().fold(0, |h, &(t, from, seq)| {
        mix(mix(mix(h, t as u64), from as u64), u64::from(seq))
    });
    Outcome {
        traces: workers.iter().map(|w| w.trace).collect(),
        server_state: server.state,
        log_hash,
        windows: stats.windows,
        messages: stats.messages,
        deliveries: stats.deliveries,
    }
}

#[test]
fn a_busy_fleet_gives_identical_results_on_1_2_and_4_threads() {
    let w = Workload {
        seed: 7,
        entities: 200,
        minutes: 20,
        min_latency_ms: 200,
        send_probability: 0.5,
        mean_tick_ms: 2_000,
        max_window_s: 60,
    };
    let one = simulate(&w, 1);
    assert!(one.messages > 20_000, "workload too light: {one:?}");
    assert!(one.deliveries > one.messages);
    assert_eq!(one, simulate(&w, 2));
    assert_eq!(one, simulate(&w, 4));
}

#[test]
fn a_different_seed_gives_a_different_run() {
    let mut w = Workload {
        seed: 1,
        entities: 20,
        minutes: 5,
        min_latency_ms: 100,
        send_probability: 0.5,
        mean_tick_ms: 1_000,
        max_window_s: 1,
    };
    let a = simulate(&w, 2);
    w.seed = 2;
    assert_ne!(a.traces, simulate(&w, 2).traces);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random workloads: the result with 4 threads equals the result with 1.
    #[test]
    fn thread_count_never_changes_the_result(
        seed in any::<u64>(),
        entities in 1usize..60,
        minutes in 1u64..6,
        min_latency_ms in 1u64..2_000,
        send_probability in 0.0f64..1.0,
        mean_tick_ms in 20u64..20_000,
        max_window_s in 2u64..120,
    ) {
        let w = Workload {
            seed, entities, minutes, min_latency_ms, send_probability, mean_tick_ms, max_window_s,
        };
        let one = simulate(&w, 1);
        let four = simulate(&w, 4);
        prop_assert_eq!(one, four, "seed {} — reproduce with {:?}", seed, w);
    }
}

/// An entity that records what it was asked to do.
#[derive(Default)]
struct Recorder {
    advanced_to: Vec<SimTime>,
    delivered: Vec<(SimTime, u32)>,
}

impl Entity for Recorder {
    type Message = u32;
    type Delivery = u32;
    fn advance(&mut self, until: SimTime, outbox: &mut Outbox<u32>) {
        // Send at the window's last millisecond: the latest legal send time.
        outbox.send(
            until - SimDuration::from_millis(1),
            self.advanced_to.len() as u32,
        );
        self.advanced_to.push(until);
    }
    fn deliver(&mut self, at: SimTime, d: u32) {
        self.delivered.push((at, d));
    }
    fn next_event_time(&self) -> Option<SimTime> {
        // Always busy: something to do at its current local time.
        Some(self.advanced_to.last().copied().unwrap_or(SimTime::EPOCH))
    }
}

#[test]
fn windows_tile_the_run_and_the_last_one_is_trimmed() {
    let start = SimTime::from_secs(0);
    let plan = RunPlan {
        start,
        end: SimTime::from_secs(25),
        lookahead: SimDuration::from_secs(10),
        max_window: SimDuration::from_secs(60),
    };
    let mut ents = vec![Recorder::default(), Recorder::default()];
    let mut windows = Vec::new();
    let mut progress: Vec<Progress> = Vec::new();
    let stats = Executor::new(2)
        .unwrap()
        .run(
            &mut ents,
            plan,
            |w, msgs, out| {
                windows.push((w.index, w.start, w.end, msgs.len()));
                for m in msgs {
                    out.push(m.from, w.end, m.message);
                }
            },
            |p| progress.push(*p),
        )
        .unwrap();
    let s = SimTime::from_secs;
    assert_eq!(
        windows,
        [
            (0, s(0), s(10), 2),
            (1, s(10), s(20), 2),
            (2, s(20), s(25), 2)
        ]
    );
    assert_eq!(ents[0].advanced_to, [s(10), s(20), s(25)]);
    assert_eq!(ents[1].delivered, [(s(10), 0), (s(20), 1), (s(25), 2)]);
    assert_eq!(stats.windows, 3);
    assert_eq!(stats.messages, 6);
    assert_eq!(stats.deliveries, 6);
    let fractions: Vec<f64> = progress.iter().map(Progress::fraction).collect();
    assert_eq!(fractions, [0.4, 0.8, 1.0]);
    assert_eq!(progress.last().unwrap().now, s(25));
}

#[test]
fn messages_reach_the_exchange_in_canonical_order() {
    // Entity i sends at (3 - i) ms into the window, twice: the exchange must
    // see them sorted by send time, then sender, then the sender's order.
    struct Sender(u64);
    impl Entity for Sender {
        type Message = ();
        type Delivery = ();
        fn advance(&mut self, until: SimTime, outbox: &mut Outbox<()>) {
            let at = until - SimDuration::from_millis(100) + SimDuration::from_millis(3 - self.0);
            outbox.send(at, ());
            outbox.send(at, ());
        }
        fn deliver(&mut self, _: SimTime, _: ()) {}
        fn next_event_time(&self) -> Option<SimTime> {
            Some(SimTime::EPOCH)
        }
    }
    let mut ents: Vec<Sender> = (0..4).map(Sender).collect();
    let mut order = Vec::new();
    Executor::new(3)
        .unwrap()
        .run(
            &mut ents,
            RunPlan {
                start: SimTime::EPOCH,
                end: SimTime::from_millis(100),
                lookahead: SimDuration::from_millis(100),
                max_window: SimDuration::from_millis(100),
            },
            |_, msgs, _| order.extend(msgs.iter().map(|m| (m.sent_at.as_millis(), m.from, m.seq))),
            |_| {},
        )
        .unwrap();
    assert_eq!(
        order,
        [
            (0, 3, 0),
            (0, 3, 1),
            (1, 2, 0),
            (1, 2, 1),
            (2, 1, 0),
            (2, 1, 1),
            (3, 0, 0),
            (3, 0, 1)
        ]
    );
}

#[test]
fn a_delivery_into_the_past_is_a_causality_error() {
    let mut ents = vec![Recorder::default()];
    let err = Executor::new(1)
        .unwrap()
        .run(
            &mut ents,
            RunPlan {
                start: SimTime::EPOCH,
                end: SimTime::from_secs(10),
                lookahead: SimDuration::from_secs(5),
                max_window: SimDuration::from_secs(5),
            },
            |w, _, out| out.push(0, w.end - SimDuration::from_millis(1), 0),
            |_| {},
        )
        .unwrap_err();
    assert_eq!(
        err,
        ExecError::Causality {
            to: 0,
            at: SimTime::from_millis(4_999),
            window_end: SimTime::from_secs(5)
        }
    );
    assert!(err.to_string().contains("at least the lookahead"), "{err}");
}

#[test]
fn bad_plans_and_addresses_are_errors_not_panics() {
    assert_eq!(Executor::new(0).unwrap_err(), ExecError::ZeroThreads);
    let exec = Executor::new(1).unwrap();
    assert_eq!(exec.threads(), 1);
    let mut ents = vec![Recorder::default()];
    let plan = RunPlan {
        start: SimTime::from_secs(10),
        end: SimTime::from_secs(20),
        lookahead: SimDuration::ZERO,
        max_window: SimDuration::from_secs(1),
    };
    assert_eq!(
        exec.run(&mut ents, plan, |_, _, _| {}, |_| {}),
        Err(ExecError::ZeroLookahead)
    );
    let inverted = RunPlan {
        lookahead: SimDuration::from_secs(2),
        ..plan
    };
    assert!(matches!(
        exec.run(&mut ents, inverted, |_, _, _| {}, |_| {}),
        Err(ExecError::MaxWindowBelowLookahead { .. })
    ));
    let backwards = RunPlan {
        end: SimTime::from_secs(5),
        lookahead: SimDuration::from_secs(1),
        ..plan
    };
    assert!(matches!(
        exec.run(&mut ents, backwards, |_, _, _| {}, |_| {}),
        Err(ExecError::EndBeforeStart { .. })
    ));
    let ok = RunPlan {
        lookahead: SimDuration::from_secs(1),
        ..plan
    };
    assert_eq!(
        exec.run(&mut ents, ok, |w, _, out| out.push(1, w.end, 0), |_| {}),
        Err(ExecError::UnknownEntity { to: 1, entities: 1 })
    );
}

#[test]
fn the_exchange_can_stop_the_run_after_a_window() {
    let s = SimTime::from_secs;
    let plan = RunPlan {
        start: s(0),
        end: s(100),
        lookahead: SimDuration::from_secs(10),
        max_window: SimDuration::from_secs(10),
    };
    let mut ents = vec![Recorder::default()];
    let stats = Executor::new(1)
        .unwrap()
        .run(
            &mut ents,
            plan,
            |w, msgs, out| {
                for m in msgs {
                    out.push(m.from, w.end, m.message);
                }
                if w.index == 1 {
                    out.stop();
                }
            },
            |_| {},
        )
        .unwrap();
    assert!(stats.stopped);
    assert_eq!(stats.windows, 2);
    assert_eq!(ents[0].advanced_to, [s(10), s(20)]);
    // The stopping window's deliveries are made.
    assert_eq!(ents[0].delivered, [(s(10), 0), (s(20), 1)]);
}

#[test]
fn an_empty_run_does_nothing() {
    let mut ents = vec![Recorder::default()];
    let t = SimTime::from_secs(3);
    let stats = Executor::new(1)
        .unwrap()
        .run(
            &mut ents,
            RunPlan {
                start: t,
                end: t,
                lookahead: SimDuration::from_secs(1),
                max_window: SimDuration::from_secs(1),
            },
            |_, _, _| panic!("no window to exchange"),
            |_| {},
        )
        .unwrap();
    assert_eq!(stats.windows, 0);
    assert!(!stats.stopped);
    assert!(ents[0].advanced_to.is_empty());
}

/// An entity with a fixed list of timer instants; it sends at each.
struct Sparse {
    sched: Scheduler<()>,
}

impl Sparse {
    fn new(at_secs: &[i64]) -> Sparse {
        let mut sched = Scheduler::new(SimTime::EPOCH);
        for &s in at_secs {
            sched.schedule_at(SimTime::from_secs(s), ());
        }
        Sparse { sched }
    }
}

impl Entity for Sparse {
    type Message = ();
    type Delivery = ();
    fn advance(&mut self, until: SimTime, outbox: &mut Outbox<()>) {
        self.sched
            .run_before(until, |s, ()| outbox.send(s.now(), ()));
    }
    fn deliver(&mut self, at: SimTime, (): ()) {
        self.sched.schedule_at(at, ());
    }
    fn next_event_time(&self) -> Option<SimTime> {
        self.sched.next_event_time()
    }
}

fn sparse_plan(max_window_s: u64) -> RunPlan {
    RunPlan {
        start: SimTime::EPOCH,
        end: SimTime::from_secs(3_600),
        lookahead: SimDuration::from_millis(100),
        max_window: SimDuration::from_secs(max_window_s),
    }
}

#[test]
fn idle_stretches_are_crossed_in_few_windows() {
    // Two entities with events at 10 s, 1000 s and 1000 s; a window of the
    // 100 ms lookahead would need 36,000 windows for the hour.
    let mut ents = vec![Sparse::new(&[10, 1_000]), Sparse::new(&[1_000])];
    let mut windows = Vec::new();
    let stats = Executor::new(2)
        .unwrap()
        .run(
            &mut ents,
            sparse_plan(3_600),
            |w, msgs, _| windows.push((w.start.as_millis(), w.end.as_millis(), msgs.len())),
            |_| {},
        )
        .unwrap();
    assert_eq!(
        windows,
        [
            (0, 10_100, 1),
            (10_100, 1_000_100, 2),
            (1_000_100, 3_600_000, 0),
        ]
    );
    assert_eq!(stats.messages, 3);
}

#[test]
fn max_window_and_wake_bound_how_late_the_exchange_runs() {
    let mut ents = vec![Sparse::new(&[3_000])];
    let mut ends = Vec::new();
    Executor::new(1)
        .unwrap()
        .run(
            &mut ents,
            sparse_plan(1_000),
            |w, _, out| {
                ends.push(secs(w.end));
                if w.index == 0 {
                    // A server timer due at 1500 s.
                    out.wake_at(SimTime::from_secs(1_500));
                }
            },
            |_| {},
        )
        .unwrap();
    // 1000 s (max_window), 1500 s (wake), 2500 s (max_window),
    // 3000.1 s (event + lookahead), then to the end.
    assert_eq!(ends, [1_000.0, 1_500.0, 2_500.0, 3_000.1, 3_600.0]);
}

#[test]
fn deliveries_become_events_that_shape_the_next_window() {
    // One entity sends at 10 s; the exchange answers at 500 s. The next
    // window must end right after 500 s so the reply is handled, and the
    // entity's follow-up message reaches the exchange then.
    let mut ents = vec![Sparse::new(&[10])];
    let mut seen = Vec::new();
    Executor::new(1)
        .unwrap()
        .run(
            &mut ents,
            sparse_plan(3_600),
            |w, msgs, out| {
                for m in msgs {
                    seen.push((secs(w.end), secs(m.sent_at)));
                    if m.sent_at == SimTime::from_secs(10) {
                        out.push(m.from, SimTime::from_secs(500), ());
                    }
                }
            },
            |_| {},
        )
        .unwrap();
    assert_eq!(seen, [(10.1, 10.0), (500.1, 500.0)]);
}

/// An instant in seconds, for readable window assertions.
fn secs(t: SimTime) -> f64 {
    t.as_millis() as f64 / 1e3
}
