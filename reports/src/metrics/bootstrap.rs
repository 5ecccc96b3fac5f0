//! 95 % intervals of the headline numbers by a seeded bootstrap over
//! devices (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*,
//! ch. 13, percentile intervals): each resample draws the fleet's devices
//! with replacement — a device's alerts, faults, failures and predictions
//! go together, since they are not independent of one another — and
//! recomputes every number from the devices' tallies
//! ([`super::prediction::Tally`]) and labelled predictions. Models of one
//! run are resampled with the *same* draws, so the difference of two
//! models' numbers in each resample gives a paired interval: "trend −
//! threshold: ΔF1 = 0.12 [0.03, 0.21]" says whether a lead is real.
//!
//! Resample `r` draws from the stream `(seed, r, "bootstrap")`, so the
//! intervals are the same for one run seed whatever the thread count.

use std::collections::BTreeMap;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::Params;
use super::calibration::{BINS, Histogram, average_precision};
use super::prediction::{Tally, f1, fa_rate};

/// What one model brings to the bootstrap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelData {
    /// Devices' tallies at the run's threshold.
    pub tallies: Vec<Tally>,
    /// The threshold grid.
    pub thresholds: Vec<f64>,
    /// Per device (with any cost at some threshold): its expected cost at
    /// each threshold of the grid.
    pub costs: Vec<(u32, Vec<f64>)>,
    /// Each device's labelled predictions as a histogram over
    /// [`BINS`]: (home, [(bin, positives, negatives)]).
    pub histograms: Vec<Histogram>,
}

/// The headline numbers, each `None` where undefined.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Headline {
    /// TP / judged episodes.
    pub precision: Option<f64>,
    /// Caught / failures and prevented failures.
    pub recall: Option<f64>,
    /// F1.
    pub f1: Option<f64>,
    /// Average precision of the predictions.
    pub pr_auc: Option<f64>,
    /// Median lead time [days].
    pub lead_time_days_median: Option<f64>,
    /// False alarms per healthy device-year.
    pub false_alarms_per_healthy_device_year: Option<f64>,
    /// Expected cost at the run's threshold.
    pub expected_cost: Option<f64>,
    /// The threshold of least expected cost.
    pub cost_optimal_threshold: Option<f64>,
    /// The expected cost there.
    pub cost_at_optimum: Option<f64>,
}

/// The names of [`Headline`]'s numbers, in order.
pub const NAMES: [&str; 9] = [
    "precision",
    "recall",
    "f1",
    "pr_auc",
    "lead_time_days_median",
    "false_alarms_per_healthy_device_year",
    "expected_cost",
    "cost_optimal_threshold",
    "cost_at_optimum",
];

impl Headline {
    /// The numbers in [`NAMES`] order.
    pub fn values(&self) -> [Option<f64>; 9] {
        [
            self.precision,
            self.recall,
            self.f1,
            self.pr_auc,
            self.lead_time_days_median,
            self.false_alarms_per_healthy_device_year,
            self.expected_cost,
            self.cost_optimal_threshold,
            self.cost_at_optimum,
        ]
    }
}

/// A 95 % interval `[lo, hi]` of each headline number (`None`: undefined
/// in too many resamples, or no resamples).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Intervals(pub BTreeMap<&'static str, Option<[f64; 2]>>);

/// A paired difference `this − other` with its interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    /// The difference on the run's fleet.
    pub value: Option<f64>,
    /// Its 95 % interval over the resamples.
    pub interval: Option<[f64; 2]>,
}

impl Diff {
    /// Whether the whole interval lies above zero.
    pub fn above_zero(&self) -> bool {
        self.interval.is_some_and(|[lo, _]| lo > 0.0)
    }

    /// Whether the whole interval lies below zero.
    pub fn below_zero(&self) -> bool {
        self.interval.is_some_and(|[_, hi]| hi < 0.0)
    }
}

/// One model against another on the same devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versus {
    /// The other model.
    pub other: String,
    /// F1 of this model minus the other's.
    pub f1: Diff,
    /// PR-AUC difference.
    pub pr_auc: Diff,
    /// Median lead time difference [days].
    pub lead_time_days_median: Diff,
    /// Expected cost difference (negative: this one is cheaper).
    pub expected_cost: Diff,
    /// This model's F1 is higher, the paired interval above zero.
    pub beats_on_f1: bool,
    /// This model's expected cost is lower, the paired interval below
    /// zero.
    pub beats_on_cost: bool,
}

/// Every model's headline at weights `w` (a multiplicity per home; homes
/// beyond `w`'s length weigh 1).
pub fn headline(d: &ModelData, w: &[u32], p: &Params) -> Headline {
    let weight = |h: u32| f64::from(w.get(h as usize).copied().unwrap_or(1));
    let duration = (p.end_ms - p.start_ms).max(0);
    let (mut tp, mut judged, mut events, mut caught, mut cost) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut fa = [0.0f64; 4];
    let mut healthy = [0.0f64; 4];
    let mut in_tallies = 0.0;
    let mut leads: Vec<(f64, f64)> = Vec::new();
    for t in &d.tallies {
        let k = weight(t.home);
        if k == 0.0 {
            continue;
        }
        in_tallies += k;
        tp += k * t.true_positives as f64;
        judged += k * t.judged as f64;
        events += k * t.events as f64;
        caught += k * t.caught as f64;
        cost += k * t.cost(p);
        for c in 0..4 {
            fa[c] += k * t.false_alarms[c] as f64;
            healthy[c] += k * t.healthy_ms[c] as f64;
        }
        leads.extend(t.leads.iter().map(|&l| (l, k)));
    }
    let rest = p.homes as f64 - in_tallies;
    for h in &mut healthy {
        *h += rest * duration as f64;
    }
    let precision = (judged > 0.0).then(|| tp / judged);
    let recall = (events > 0.0).then(|| caught / events);
    let fa_counts: [u64; 4] = fa.map(|x| x.round() as u64);
    let healthy_ms: [i64; 4] = healthy.map(|x| x.round() as i64);
    let mut totals = vec![0.0; d.thresholds.len()];
    for (h, costs) in &d.costs {
        let k = weight(*h);
        if k == 0.0 {
            continue;
        }
        for (t, c) in totals.iter_mut().zip(costs) {
            *t += k * c;
        }
    }
    // Of equal costs the highest threshold (fewest alarms) wins.
    let optimum = totals
        .iter()
        .enumerate()
        .rev()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(k, c)| (d.thresholds[k], *c));
    Headline {
        precision,
        recall,
        f1: f1(precision, recall),
        pr_auc: binned_average_precision(&d.histograms, &weight),
        lead_time_days_median: weighted_median(&mut leads),
        false_alarms_per_healthy_device_year: fa_rate(&fa_counts, &healthy_ms),
        expected_cost: Some(cost),
        cost_optimal_threshold: optimum.map(|o| o.0),
        cost_at_optimum: optimum.map(|o| o.1),
    }
}

/// The average precision of weighted device histograms.
fn binned_average_precision(histograms: &[Histogram], weight: &impl Fn(u32) -> f64) -> Option<f64> {
    let mut totals = [(0.0f64, 0.0f64); BINS];
    for (home, cells) in histograms {
        let k = weight(*home);
        if k == 0.0 {
            continue;
        }
        for &(b, pos, neg) in cells {
            let t = &mut totals[b as usize];
            t.0 += k * f64::from(pos);
            t.1 += k * f64::from(neg);
        }
    }
    let steps: Vec<(f64, f64)> = totals
        .iter()
        .rev()
        .filter(|t| t.0 + t.1 > 0.0)
        .copied()
        .collect();
    average_precision(&steps)
}

/// The median of values with integer weights (each value repeated its
/// weight times; linear interpolation between the middle two, as NumPy).
fn weighted_median(v: &mut [(f64, f64)]) -> Option<f64> {
    let n: f64 = v.iter().map(|x| x.1).sum();
    if n < 1.0 {
        return None;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let h = (n - 1.0) * 0.5;
    let at = |i: f64| {
        let mut seen = 0.0;
        for &(x, k) in v.iter() {
            seen += k;
            if seen > i {
                return x;
            }
        }
        v[v.len() - 1].0
    };
    let (lo, hi) = (at(h.floor()), at(h.ceil()));
    Some(lo + (h - h.floor()) * (hi - lo))
}

/// The results of a bootstrap of several models.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bootstrap {
    /// Each model's intervals.
    pub intervals: Vec<Intervals>,
    /// Each model against every other: `versus[a][b]` is `a − b`.
    pub versus: Vec<Vec<Versus>>,
}

/// The 2.5 % and 97.5 % points of the defined values of `xs`, if at least
/// 90 % of them are defined.
fn interval(xs: &mut [f64], resamples: usize) -> Option<[f64; 2]> {
    if xs.is_empty() || (xs.len() as f64) < 0.9 * resamples as f64 {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let h = (xs.len() - 1) as f64 * p;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
    };
    Some([q(0.025), q(0.975)])
}

/// Bootstraps `models` (named `names`) over the fleet's `p.homes` devices,
/// `p.bootstrap` resamples seeded by `p.seed`; `points` are each model's
/// headline on the fleet itself.
pub fn run(models: &[ModelData], names: &[String], points: &[Headline], p: &Params) -> Bootstrap {
    run_strata(&[(models, p)], names, points, p.bootstrap as usize)
}

/// A stratified bootstrap over several fleets (strata): each resample
/// draws every fleet's devices with replacement from that fleet's own
/// stream (`(p.seed, r, "bootstrap")`, so a fleet alone gives [`run`]'s
/// draws) and takes each number's mean over the fleets where it is
/// defined (a macro-average: every fleet counts alike). `models[m]` of
/// every stratum is the same model; `points` its macro-averaged values.
pub fn run_strata(
    strata: &[(&[ModelData], &Params)],
    names: &[String],
    points: &[Headline],
    resamples: usize,
) -> Bootstrap {
    let models = names.len();
    // samples[model][metric] over the resamples.
    let mut samples: Vec<Vec<Vec<Option<f64>>>> =
        vec![vec![Vec::with_capacity(resamples); NAMES.len()]; models];
    let any = strata.iter().any(|(_, p)| p.homes > 0);
    let mut weights: Vec<Vec<u32>> = strata
        .iter()
        .map(|(_, p)| vec![0; usize::try_from(p.homes).unwrap_or(0)])
        .collect();
    for r in 0..if any { resamples } else { 0 } {
        for ((_, p), w) in strata.iter().zip(&mut weights) {
            let homes = w.len();
            if homes == 0 {
                continue;
            }
            let mut rng = sim_core::stream(p.seed, r as u64, "bootstrap");
            w.iter_mut().for_each(|x| *x = 0);
            for _ in 0..homes {
                w[rng.random_range(0..homes)] += 1;
            }
        }
        for (m, per) in samples.iter_mut().enumerate() {
            let mut sums = [(0.0, 0u32); NAMES.len()];
            for ((data, p), w) in strata.iter().zip(&weights) {
                let Some(d) = data.get(m) else { continue };
                for (k, v) in headline(d, w, p).values().into_iter().enumerate() {
                    if let Some(v) = v {
                        sums[k].0 += v;
                        sums[k].1 += 1;
                    }
                }
            }
            for (k, (sum, n)) in sums.into_iter().enumerate() {
                per[k].push((n > 0).then(|| sum / f64::from(n)));
            }
        }
    }
    let n = if any { resamples } else { 0 };
    let intervals = samples
        .iter()
        .map(|per| {
            Intervals(
                NAMES
                    .iter()
                    .zip(per)
                    .map(|(name, xs)| {
                        let mut xs: Vec<f64> = xs.iter().flatten().copied().collect();
                        (*name, interval(&mut xs, n))
                    })
                    .collect(),
            )
        })
        .collect();
    let diff = |a: usize, b: usize, k: usize| {
        let mut xs: Vec<f64> = samples[a][k]
            .iter()
            .zip(&samples[b][k])
            .filter_map(|(x, y)| Some((*x)? - (*y)?))
            .collect();
        let pa = points[a].values()[k];
        let pb = points[b].values()[k];
        Diff {
            value: pa.zip(pb).map(|(x, y)| x - y),
            interval: interval(&mut xs, n),
        }
    };
    let index = |name: &str| NAMES.iter().position(|n| *n == name).unwrap_or(0);
    let versus = (0..models)
        .map(|a| {
            (0..models)
                .filter(|&b| b != a)
                .map(|b| {
                    let f1 = diff(a, b, index("f1"));
                    let cost = diff(a, b, index("expected_cost"));
                    Versus {
                        other: names[b].clone(),
                        f1,
                        pr_auc: diff(a, b, index("pr_auc")),
                        lead_time_days_median: diff(a, b, index("lead_time_days_median")),
                        expected_cost: cost,
                        beats_on_f1: f1.above_zero(),
                        beats_on_cost: cost.below_zero(),
                    }
                })
                .collect()
        })
        .collect();
    Bootstrap { intervals, versus }
}

/// The mean of each number over `points` where it is defined (a fleet
/// without failures has no recall, and does not pull the mean to 0).
pub fn macro_average(points: &[Headline]) -> Headline {
    let mut sums = [(0.0, 0u32); NAMES.len()];
    for h in points {
        for (k, v) in h.values().into_iter().enumerate() {
            if let Some(v) = v {
                sums[k].0 += v;
                sums[k].1 += 1;
            }
        }
    }
    let v: Vec<Option<f64>> = sums
        .iter()
        .map(|&(s, n)| (n > 0).then(|| s / f64::from(n)))
        .collect();
    Headline {
        precision: v[0],
        recall: v[1],
        f1: v[2],
        pr_auc: v[3],
        lead_time_days_median: v[4],
        false_alarms_per_healthy_device_year: v[5],
        expected_cost: v[6],
        cost_optimal_threshold: v[7],
        cost_at_optimum: v[8],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::prediction::tests::{alert, bearing, params};
    use crate::metrics::prediction::{Truth, score};

    #[test]
    fn weighted_medians_repeat_values() {
        assert_eq!(weighted_median(&mut [(3.0, 1.0), (1.0, 1.0)]), Some(2.0));
        assert_eq!(weighted_median(&mut [(3.0, 2.0), (1.0, 1.0)]), Some(3.0));
        assert_eq!(weighted_median(&mut [(3.0, 0.0)]), None);
    }

    fn data(alerts: &[crate::metrics::prediction::AlertAt], truth: &Truth) -> ModelData {
        let s = score(alerts, truth, &params());
        ModelData {
            costs: s
                .devices
                .iter()
                .map(|t| (t.home, vec![t.cost(&params())]))
                .collect(),
            thresholds: vec![0.72],
            tallies: s.devices,
            histograms: Vec::new(),
        }
    }

    #[test]
    fn weights_of_one_give_the_score_itself() {
        let mut truth = Truth::default();
        for h in 0..5 {
            bearing(&mut truth, h, 10, 50);
        }
        let alerts = [alert(0, 40, 0), alert(1, 45, 0), alert(7, 40, 0)];
        let p = params();
        let s = score(&alerts, &truth, &p);
        let h = headline(&data(&alerts, &truth), &[1; 10], &p);
        assert_eq!(h.precision, s.precision);
        assert_eq!(h.recall, s.recall);
        assert_eq!(h.f1, s.f1);
        assert_eq!(h.expected_cost, Some(s.expected_cost));
        assert_eq!(h.lead_time_days_median, s.lead_time_days.median);
        let rate = h.false_alarms_per_healthy_device_year.unwrap();
        assert!((rate - s.false_alarms_per_healthy_device_year.unwrap()).abs() < 1e-9);
        // Home 0 twice and home 1 never: two catches of 10 days.
        let mut w = [1; 10];
        w[0] = 2;
        w[1] = 0;
        let h = headline(&data(&alerts, &truth), &w, &p);
        assert_eq!(h.lead_time_days_median, Some(10.0));
        assert_eq!(h.recall, Some(2.0 / 5.0));
    }

    #[test]
    fn a_real_lead_has_a_paired_interval_above_zero() {
        // 40 homes, 20 fail; model a catches 18 of them with 2 false
        // alarms, model b alerts every home at its first day (before the
        // onsets: 40 false alarms, nothing caught).
        let p = Params {
            homes: 40,
            bootstrap: 200,
            seed: 7,
            ..params()
        };
        let mut truth = Truth::default();
        for h in 0..20 {
            bearing(&mut truth, h, 10, 50);
        }
        let mut a: Vec<_> = (0..18).map(|h| alert(h, 40, 0)).collect();
        a.extend([alert(30, 40, 0), alert(31, 40, 0)]);
        let b: Vec<_> = (0..40).map(|h| alert(h, 1, 0)).collect();
        let models = [data(&a, &truth), data(&b, &truth)];
        let names = ["a".to_owned(), "b".to_owned()];
        let points: Vec<Headline> = models.iter().map(|d| headline(d, &[1; 40], &p)).collect();
        let boot = run(&models, &names, &points, &p);
        let v = &boot.versus[0][0];
        assert_eq!(v.other, "b");
        assert!(v.beats_on_f1 && v.beats_on_cost, "{v:?}");
        assert!(!boot.versus[1][0].beats_on_f1);
        let [lo, hi] = boot.intervals[0].0["recall"].unwrap();
        assert!(lo < 0.9 && 0.9 < hi && hi <= 1.0, "{lo} {hi}");
        // Seeded: the same intervals again.
        assert_eq!(run(&models, &names, &points, &p), boot);
        // Two copies of the fleet as strata: the same point values, and
        // the first stratum's draws are the fleet's own.
        let twice = run_strata(&[(&models, &p), (&models, &p)], &names, &points, 200);
        assert_eq!(twice.versus[0][0].f1.value, v.f1.value);
        assert_eq!(twice, boot, "identical strata average to the fleet");
        assert_eq!(macro_average(&[points[0], points[0]]), points[0]);
    }
}
