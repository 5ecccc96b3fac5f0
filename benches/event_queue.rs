//! The classic "hold" benchmark of a pending-event set (Vaucher & Duval 1975;
//! the standard DES queue benchmark): the queue is kept at a fixed number of
//! pending events, and each operation pops the earliest event and schedules one
//! new event at `now + Exp(mean 1 s)`. Reported as events (hold operations) per
//! second on one core; the Exp draw is part of each operation, as in SimPy's
//! version of the benchmark.
//!
//! `cargo bench --bench event_queue`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::RngExt;
use rand_distr::Exp;
use sim_core::{EventQueue, Scheduler, SimDuration, SimRng, SimTime, stream};

/// The allocator the `thermotwin` binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hold operations per measured iteration.
const BATCH: u64 = 10_000;

fn exp_ms(rng: &mut SimRng, exp: &Exp<f64>) -> SimDuration {
    // Exp with mean 1 s, in whole milliseconds.
    SimDuration::from_millis((rng.sample(exp) * 1000.0) as u64)
}

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold");
    group.throughput(Throughput::Elements(BATCH));
    let exp = Exp::new(1.0).expect("rate 1 is valid");
    for pending in [1_000u64, 100_000] {
        group.bench_with_input(
            BenchmarkId::new("event_queue", pending),
            &pending,
            |b, &n| {
                let mut rng = stream(1, 0, "hold-bench");
                let mut q: EventQueue<u64> = EventQueue::with_capacity(n as usize);
                for i in 0..n {
                    q.push(SimTime::EPOCH + exp_ms(&mut rng, &exp), i);
                }
                b.iter(|| {
                    for _ in 0..BATCH {
                        let (now, ev) = q.pop().expect("queue is kept full");
                        q.push(now + exp_ms(&mut rng, &exp), black_box(ev));
                    }
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("scheduler", pending), &pending, |b, &n| {
            let mut rng = stream(1, 0, "hold-bench");
            let mut s: Scheduler<u64> = Scheduler::new(SimTime::EPOCH);
            for i in 0..n {
                s.schedule_after(exp_ms(&mut rng, &exp), i);
            }
            b.iter(|| {
                for _ in 0..BATCH {
                    let ev = s.pop_until(SimTime::MAX).expect("scheduler is kept full");
                    let delay = exp_ms(&mut rng, &exp);
                    s.schedule_after(delay, black_box(ev));
                }
            });
        });
    }
    group.finish();
}

/// A timer-heavy pattern: every event schedules a replacement and cancels a
/// timeout it armed earlier (as firmware request timeouts do).
fn hold_with_cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold_with_cancel");
    group.throughput(Throughput::Elements(BATCH));
    let exp = Exp::new(1.0).expect("rate 1 is valid");
    group.bench_function("event_queue/1000", |b| {
        let mut rng = stream(2, 0, "hold-bench");
        let mut q: EventQueue<u64> = EventQueue::with_capacity(2_000);
        let mut timeouts = std::collections::VecDeque::new();
        for i in 0..1_000 {
            q.push(SimTime::EPOCH + exp_ms(&mut rng, &exp), i);
        }
        b.iter(|| {
            for _ in 0..BATCH {
                let (now, ev) = q.pop().expect("queue is kept full");
                q.push(now + exp_ms(&mut rng, &exp), ev);
                timeouts.push_back(q.push(now + SimDuration::from_secs(30), u64::MAX));
                if timeouts.len() > 16 {
                    let h = timeouts.pop_front().expect("non-empty");
                    black_box(q.cancel(h));
                }
            }
        });
    });
    group.finish();
}

criterion_group!(benches, hold, hold_with_cancel);
criterion_main!(benches);
