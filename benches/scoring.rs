//! Scoring a fleet's predictors with the bootstrap (issue 19's target:
//! 2,000 devices × 1,000 resamples in at most 2 s): a synthetic 90-day
//! fleet of 2,000 devices, 10 % with a bearing fault that fails (or is
//! repaired first, its counterfactual failure known), two models
//! predicting every hour (one that sees the fault coming, one noisy) and
//! the `always` and `random` baselines fed the first's predictions. The
//! replay of the predictions (done once, outside the measurement) is timed
//! on its own as `scoring/replay`.
//!
//! `cargo bench --bench scoring`

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::RngExt;
use reports::metrics::Params;
use reports::metrics::calibration::Labeler;
use reports::metrics::models::{self, Replay};
use reports::metrics::prediction::{Facts, Failure, Onset, Truth, Visit, WouldFail};
use reports::metrics::sweep;

/// The allocator the `thermotwin` binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const HOMES: u32 = 2_000;
const DAYS: i64 = 90;

fn params() -> Params {
    Params {
        start_ms: 0,
        end_ms: DAYS * DAY,
        homes: u64::from(HOMES),
        models: vec!["seer".into(), "noisy".into()],
        bootstrap: 1_000,
        seed: 7,
        ..Params::default()
    }
}

/// The fleet's truth and, per home, its bearing failure time (if any).
fn truth() -> (Truth, Vec<Option<i64>>) {
    let mut rng = sim_core::stream(1, 0, "scoring-bench");
    let mut t = Truth::default();
    let mut fails = vec![None; HOMES as usize];
    for home in 0..HOMES {
        if !rng.random_bool(0.1) {
            continue;
        }
        let onset = rng.random_range(0..60) * DAY;
        let at = onset + rng.random_range(10..40) * DAY;
        let fault = "bearing_wear".to_owned();
        t.onsets.push(Onset {
            home,
            at: onset,
            fault: fault.clone(),
        });
        if rng.random_bool(0.5) && at < DAYS * DAY {
            t.failures.push(Failure {
                home,
                at,
                fault,
                onset,
            });
        } else {
            let repaired = at - 5 * DAY;
            t.visits.push(Visit {
                home,
                at: repaired,
                repaired: vec![fault.clone()],
                after_failure: false,
            });
            if at < DAYS * DAY {
                t.would_fail.push(WouldFail {
                    home,
                    at,
                    fault,
                    onset,
                    repaired_at: repaired,
                });
            }
        }
        fails[home as usize] = Some(at);
    }
    (t, fails)
}

fn replay(truth: &Truth, fails: &[Option<i64>], p: &Params) -> Replay {
    let alerts: HashMap<String, u64> = [("Compressor bearing degradation".to_owned(), 300)].into();
    let mut r = Replay::new(sweep::thresholds(p.threshold), &p.models)
        .with_labels(Labeler::new(&Facts::new(truth), p))
        .with_baselines(&alerts, p);
    let mut rng = sim_core::stream(2, 0, "scoring-bench");
    for home in 0..HOMES {
        for hour in 0..DAYS * 24 {
            let t = hour * HOUR;
            let ahead = fails[home as usize].map_or(f64::INFINITY, |f| (f - t) as f64 / DAY as f64);
            let seer = if ahead > 0.0 {
                (1.0 / (1.0 + (ahead / 5.0).exp())).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let noise: f64 = rng.random();
            let issue = "Compressor bearing degradation";
            r.prediction("seer", home, t, issue, (seer * 0.9 + 0.1 * noise).min(1.0));
            r.prediction("noisy", home, t, issue, (0.5 * seer + 0.5 * noise).min(1.0));
        }
    }
    r
}

fn scoring(c: &mut Criterion) {
    let p = params();
    let (truth, fails) = truth();
    let mut group = c.benchmark_group("scoring");
    group.sample_size(10);
    group.bench_function("replay", |b| {
        b.iter(|| black_box(replay(&truth, &fails, &p)))
    });
    let r = replay(&truth, &fails, &p);
    group.bench_function("score_and_bootstrap_2000x1000", |b| {
        b.iter(|| {
            let facts = Facts::new(&truth);
            let mut rows = Vec::new();
            let mut data = Vec::new();
            for m in 0..r.models().len() {
                let (row, _, _, d) = models::score_model(&r, m, m == 0, &facts, &p);
                rows.push(row);
                data.push(d);
            }
            models::bootstrap(&mut rows, &data, &p);
            black_box(rows)
        })
    });
    group.finish();
}

criterion_group!(benches, scoring);
criterion_main!(benches);
