//! A model's predictions as probabilities: each prediction of a fault
//! class is labelled from the ground truth — positive when a fault of that
//! class was in progress and failed (really, or counterfactually after a
//! repair) within `[t + window_min, t + window_max]` — and scored as a
//! classifier over the full confidence range:
//!
//! - **average precision** (PR-AUC), defined as scikit-learn's
//!   `average_precision_score`: `AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ` over the model's
//!   distinct confidences from the highest down (ties form one step);
//! - the **Brier score**, the mean of `(confidence − label)²`;
//! - a **reliability table**: ten bins of confidence `[0, 0.1) … [0.9, 1]`,
//!   each with its count, mean confidence and observed positive share.
//!
//! The bootstrap's intervals of the average precision are taken on each
//! device's histogram over [`BINS`] logit-spaced bins (the point value is
//! exact): a resample then costs the devices' filled bins, not every
//! prediction again.
//!
//! Predictions whose label is unknown are left out: while the unit is down,
//! or when the window runs past the end of the run with the fault's
//! failure not known (still in progress, or a repair whose counterfactual
//! was not followed).

use serde::{Deserialize, Serialize};

use super::Params;
use super::prediction::{Facts, Instances};

/// Labels predictions from the ground truth.
#[derive(Debug, Clone)]
pub struct Labeler {
    instances: Instances,
    window: (i64, i64),
    end_ms: i64,
    counterfactuals: bool,
}

impl Labeler {
    /// The labeler of a truth's facts under `p`'s window.
    pub fn new(facts: &Facts, p: &Params) -> Labeler {
        Labeler {
            instances: facts.instances.clone(),
            window: (p.window_min_ms, p.window_max_ms),
            end_ms: p.end_ms,
            counterfactuals: p.counterfactuals,
        }
    }

    /// The label of a prediction of fault class `class` for `home` at `t`:
    /// `Some(true)` when that fault failed (or would have) within the
    /// window, `Some(false)` when it did not, `None` when unknown.
    pub fn label(&self, home: u32, class: u8, t: i64) -> Option<bool> {
        let list = self.instances.get(&home).map_or(&[][..], Vec::as_slice);
        if list.iter().any(|i| i.down_at(t)) {
            return None;
        }
        let (w_min, w_max) = self.window;
        let Some(i) = list.iter().find(|i| i.class == class && i.judges(t)) else {
            return Some(false);
        };
        match i.failure_time() {
            Some(f) => Some(f >= t + w_min && f <= t + w_max),
            None if t + w_max > self.end_ms => None,
            None if i.repaired.is_some() && !self.counterfactuals => None,
            None => Some(false),
        }
    }
}

/// One bin of the reliability table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// Lower edge of the bin's confidences.
    pub from: f64,
    /// Upper edge (exclusive but for the last).
    pub to: f64,
    /// Predictions in it.
    pub count: u64,
    /// Their mean confidence.
    pub mean_confidence: Option<f64>,
    /// The share of them that were positive.
    pub observed: Option<f64>,
}

/// Calibration of one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Labelled predictions.
    pub predictions: u64,
    /// Of which positive.
    pub positives: u64,
    /// Mean squared error of the confidence against the label.
    pub brier: Option<f64>,
    /// Ten bins of confidence.
    pub reliability: Vec<Bin>,
}

/// Bins of the bootstrap's confidence histograms: 256 on the logit scale
/// from −10 to 10 (confidences 4.5·10⁻⁵ to 1 − 4.5·10⁻⁵, finer than any
/// alert threshold near 0 or 1), 0 and 1 in the end bins.
pub const BINS: usize = 256;

/// The histogram bin of `confidence` (see [`BINS`]).
pub fn bin(confidence: f64) -> u16 {
    let c = confidence.clamp(0.0, 1.0);
    if c <= 0.0 {
        return 0;
    }
    if c >= 1.0 {
        return (BINS - 1) as u16;
    }
    let logit = (c / (1.0 - c)).ln().clamp(-10.0, 10.0);
    (((logit + 10.0) / 20.0 * (BINS - 1) as f64).round() as usize).min(BINS - 1) as u16
}

/// A device's histogram of labelled predictions: (home, [(bin, positives,
/// negatives)]), bins ascending.
pub type Histogram = (u32, Vec<(u16, u32, u32)>);

/// One model's labelled predictions, accumulated as they stream by: exact
/// counts per distinct confidence (for the average precision), the Brier
/// sum and reliability bins, and each device's histogram over [`BINS`]
/// (for the bootstrap).
/// Sums are taken over the distinct confidences in order, so they do not
/// depend on the order predictions came in (the tables' row order may).
#[derive(Debug, Clone, Default)]
pub struct Scored {
    exact: std::collections::HashMap<u64, (f64, f64)>,
    histograms: std::collections::HashMap<(u32, u16), (u32, u32)>,
}

impl Scored {
    /// Takes in one labelled prediction of `home`.
    pub fn add(&mut self, home: u32, confidence: f64, positive: bool) {
        let c = if confidence.is_finite() {
            confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let e = self.exact.entry(c.to_bits()).or_default();
        if positive {
            e.0 += 1.0;
        } else {
            e.1 += 1.0;
        }
        let h = self.histograms.entry((home, bin(c))).or_default();
        if positive {
            h.0 += 1;
        } else {
            h.1 += 1;
        }
    }

    /// scikit-learn's `average_precision_score` of every prediction taken
    /// in (`None` without a positive), and the calibration.
    pub fn finish(&self) -> (Option<f64>, Calibration) {
        // The distinct confidences from the highest down (bits of
        // non-negative floats order as the floats do).
        let mut steps: Vec<(u64, (f64, f64))> = self.exact.iter().map(|(b, c)| (*b, *c)).collect();
        steps.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
        let counts: Vec<(f64, f64)> = steps.iter().map(|s| s.1).collect();
        let ap = average_precision(&counts);
        drop(counts);
        (
            ap,
            calibration(steps.iter().rev().map(|(b, c)| (f64::from_bits(*b), *c))),
        )
    }
}

/// The Brier score and reliability table of distinct confidences with
/// their (positives, negatives), in ascending order.
fn calibration(ascending: impl Iterator<Item = (f64, (f64, f64))>) -> Calibration {
    let mut squares = 0.0;
    let mut bins = [(0u64, 0.0f64, 0u64); 10];
    for (c, (pos, neg)) in ascending {
        squares += pos * (c - 1.0).powi(2) + neg * c * c;
        let b = &mut bins[((c * 10.0).floor() as usize).min(9)];
        b.0 += (pos + neg) as u64;
        b.1 += (pos + neg) * c;
        b.2 += pos as u64;
    }
    let n: u64 = bins.iter().map(|b| b.0).sum();
    Calibration {
        predictions: n,
        positives: bins.iter().map(|b| b.2).sum(),
        brier: (n > 0).then(|| squares / n as f64),
        reliability: bins
            .iter()
            .enumerate()
            .map(|(k, &(count, sum, pos))| Bin {
                from: k as f64 / 10.0,
                to: (k + 1) as f64 / 10.0,
                count,
                mean_confidence: (count > 0).then(|| sum / count as f64),
                observed: (count > 0).then(|| pos as f64 / count as f64),
            })
            .collect(),
    }
}

impl Scored {
    /// Each device's histogram: (home, [(bin, positives, negatives)]),
    /// homes and bins ascending.
    pub fn histograms(&self) -> Vec<Histogram> {
        let mut cells: Vec<_> = self.histograms.iter().collect();
        cells.sort_unstable_by_key(|c| *c.0);
        let mut out: Vec<Histogram> = Vec::new();
        for (&(home, b), &(pos, neg)) in cells {
            match out.last_mut() {
                Some((h, v)) if *h == home => v.push((b, pos, neg)),
                _ => out.push((home, vec![(b, pos, neg)])),
            }
        }
        out
    }
}

/// scikit-learn's `average_precision_score` from its steps: the
/// (positives, negatives) at each distinct confidence, from the highest
/// down. `AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ`; `None` without a positive.
pub fn average_precision(steps: &[(f64, f64)]) -> Option<f64> {
    let positives: f64 = steps.iter().map(|s| s.0).sum();
    if positives <= 0.0 {
        return None;
    }
    let (mut tp, mut fp, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
    for &(pos, neg) in steps {
        tp += pos;
        fp += neg;
        if tp + fp > 0.0 {
            let recall = tp / positives;
            ap += (recall - last_recall) * tp / (tp + fp);
            last_recall = recall;
        }
    }
    Some(ap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::prediction::tests::{DAY, bearing, params};

    fn scored(pairs: &[(f64, bool)]) -> Scored {
        let mut s = Scored::default();
        for (k, &(c, positive)) in pairs.iter().enumerate() {
            s.add(k as u32 % 3, c, positive);
        }
        s
    }

    /// The fixtures of `tests/fixtures/average_precision.json`, computed
    /// once with scikit-learn (`tests/fixtures/average_precision.py`).
    #[test]
    fn average_precision_matches_scikit_learn() {
        let text = include_str!("../../tests/fixtures/average_precision.json");
        let cases: serde_json::Value = serde_json::from_str(text).unwrap();
        let cases = cases["cases"].as_array().unwrap();
        assert!(cases.len() >= 5);
        for case in cases {
            let scores: Vec<f64> = serde_json::from_value(case["scores"].clone()).unwrap();
            let labels: Vec<u8> = serde_json::from_value(case["labels"].clone()).unwrap();
            let pairs: Vec<(f64, bool)> = scores
                .iter()
                .zip(&labels)
                .map(|(&s, &l)| (s, l == 1))
                .collect();
            let s = scored(&pairs);
            let want = case["average_precision"].as_f64().unwrap();
            let (got, c) = s.finish();
            let got = got.unwrap();
            assert!(
                (got - want).abs() < 1e-9,
                "{}: {got} vs {want}",
                case["name"]
            );
            let brier = case["brier"].as_f64().unwrap();
            assert!((c.brier.unwrap() - brier).abs() < 1e-9, "{}", case["name"]);
        }
    }

    #[test]
    fn histograms_keep_each_devices_counts() {
        let s = scored(&[(0.9, true), (0.9, false), (0.2, false), (0.0, false)]);
        let h = s.histograms();
        // Homes 0, 1, 2 (the fourth prediction is home 0's again).
        assert_eq!(h.len(), 3);
        assert_eq!(h[0], (0, vec![(0, 0, 1), (bin(0.9), 1, 0)]));
        assert!(bin(0.2) < bin(0.5) && bin(0.5) < bin(0.9));
        assert!(bin(0.999) < bin(0.9999) && bin(0.9999) < bin(1.0));
        assert_eq!((bin(0.0), bin(1.0)), (0, 255));
        assert_eq!(scored(&[(0.5, false)]).finish().0, None);
    }

    #[test]
    fn reliability_bins_count_and_average() {
        let c = scored(&[(0.05, false), (0.15, true), (0.95, true), (1.0, true)])
            .finish()
            .1;
        assert_eq!(c.predictions, 4);
        assert_eq!(c.reliability.len(), 10);
        assert_eq!(c.reliability[0].count, 1);
        assert_eq!(c.reliability[9].count, 2);
        assert_eq!(c.reliability[9].observed, Some(1.0));
        assert!((c.reliability[9].mean_confidence.unwrap() - 0.975).abs() < 1e-12);
        // (0.05² + 0.85² + 0.05² + 0) / 4.
        assert!((c.brier.unwrap() - (0.0025 + 0.7225 + 0.0025) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn labels_follow_the_window_the_onset_and_the_end() {
        let mut truth = crate::metrics::prediction::Truth::default();
        // Bearing from day 10 to a failure on day 50.
        bearing(&mut truth, 0, 10, 50);
        let l = Labeler::new(&crate::metrics::prediction::Facts::new(&truth), &params());
        assert_eq!(l.label(0, 0, 30 * DAY), Some(true));
        assert_eq!(l.label(0, 0, 15 * DAY), Some(false), "35 days ahead");
        assert_eq!(l.label(0, 0, 5 * DAY), Some(false), "before the onset");
        assert_eq!(l.label(0, 1, 30 * DAY), Some(false), "another fault");
        assert_eq!(l.label(0, 0, 60 * DAY), None, "down");
        assert_eq!(l.label(1, 0, 60 * DAY), Some(false), "healthy");
        // A fault in progress at the end: unknown when the window passes
        // the end.
        truth.onsets.push(crate::metrics::prediction::Onset {
            home: 2,
            at: 80 * DAY,
            fault: "bearing_wear".into(),
        });
        let l = Labeler::new(&crate::metrics::prediction::Facts::new(&truth), &params());
        assert_eq!(l.label(2, 0, 90 * DAY), None);
    }
}
