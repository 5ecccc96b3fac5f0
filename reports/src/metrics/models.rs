//! Every predictor of a run scored alike: its alerts replayed from its
//! predictions, then scored against the ground truth
//! ([`super::prediction::score`]) at the run's threshold and across the
//! threshold grid ([`super::sweep`]).
//!
//! The replay applies the server's alert rule to each model's predictions:
//! a prediction at or above the threshold raises an alert for its device
//! and issue unless one is open; an alert stays open until an alert of that
//! device and issue is resolved (the technician's visit, which also resets
//! the device's models on the server). Resolutions and alerts created by
//! integrations come from the run's alerts table, so they are the same for
//! every model and threshold — an open-loop replay: only the primary's
//! alerts sent technicians. For the primary model at the run's threshold
//! the replay gives back the run's own alerts; a shadow model is scored
//! exactly as it would have been as the primary, had its alerts not changed
//! what the technicians did (`bench-ml --each-primary` measures that
//! closed-loop effect).
//!
//! The replay streams: predictions come in table order (each device's in
//! time order) and only open-alert flags and the alerts themselves are kept.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::prediction::{AlertAt, Score, Truth, score};
use super::sweep::{self, Sweep};
use super::{Params, Quantiles};

/// An alert-table event of a home: an integration's alert opened, or an
/// alert (any source) resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    at: i64,
    open: bool,
    issue: u32,
}

/// The replay of every model's alerts at every threshold.
#[derive(Debug)]
pub struct Replay {
    thresholds: Vec<f64>,
    models: Vec<String>,
    issues: HashMap<String, u32>,
    /// Per home: its events in time order and how many were applied.
    events: HashMap<u32, (Vec<Event>, usize)>,
    /// Integration alerts open: (home, issue).
    external: HashMap<(u32, u32), u32>,
    /// Per (home, issue, model): a bit per threshold with an open alert.
    open: HashMap<(u32, u32, u16), u64>,
    /// Per model and threshold: the alerts.
    alerts: Vec<Vec<Vec<AlertAt>>>,
    /// Per model: predictions seen.
    predictions: Vec<u64>,
}

impl Replay {
    /// A replay at `thresholds` (at most 64) of the models named `models`
    /// (more are added as they appear).
    pub fn new(thresholds: Vec<f64>, models: &[String]) -> Replay {
        let mut r = Replay {
            thresholds: thresholds.into_iter().take(64).collect(),
            models: Vec::new(),
            issues: HashMap::new(),
            events: HashMap::new(),
            external: HashMap::new(),
            open: HashMap::new(),
            alerts: Vec::new(),
            predictions: Vec::new(),
        };
        for m in models {
            r.model(m);
        }
        r
    }

    fn model(&mut self, name: &str) -> u16 {
        if let Some(i) = self.models.iter().position(|m| m == name) {
            return i as u16;
        }
        self.models.push(name.to_owned());
        self.alerts.push(vec![Vec::new(); self.thresholds.len()]);
        self.predictions.push(0);
        (self.models.len() - 1) as u16
    }

    fn issue(&mut self, issue: &str) -> u32 {
        if let Some(&i) = self.issues.get(issue) {
            return i;
        }
        let n = self.issues.len() as u32;
        self.issues.insert(issue.to_owned(), n);
        n
    }

    /// Notes an alert of the alerts table: created at `created` (by an
    /// integration when `integration`), resolved at `resolved`. All must be
    /// noted before the first prediction.
    pub fn alert(
        &mut self,
        home: u32,
        issue: &str,
        created: i64,
        integration: bool,
        resolved: Option<i64>,
    ) {
        let issue = self.issue(issue);
        let (events, _) = self.events.entry(home).or_default();
        if integration {
            events.push(Event {
                at: created,
                open: true,
                issue,
            });
        }
        if let Some(at) = resolved {
            events.push(Event {
                at,
                open: false,
                issue,
            });
        }
        // Kept in order (opens before closes at the same instant): a home
        // has few alerts, and predictions walk the list many times.
        events.sort_by_key(|e| (e.at, !e.open, e.issue));
    }

    /// Applies the events of `home` up to `t`.
    fn catch_up(&mut self, home: u32, t: i64) {
        let Some((events, done)) = self.events.get_mut(&home) else {
            return;
        };
        while let Some(e) = events.get(*done).copied() {
            if e.at > t {
                break;
            }
            *done += 1;
            if e.open {
                *self.external.entry((home, e.issue)).or_default() += 1;
            } else {
                if let Some(n) = self.external.get_mut(&(home, e.issue)) {
                    *n = n.saturating_sub(1);
                }
                for m in 0..self.models.len() as u16 {
                    self.open.remove(&(home, e.issue, m));
                }
            }
        }
    }

    /// Takes in one prediction of model `model`.
    pub fn prediction(&mut self, model: &str, home: u32, t: i64, issue: &str, confidence: f64) {
        let m = self.model(model);
        let issue = self.issue(issue);
        self.catch_up(home, t);
        self.predictions[m as usize] += 1;
        if self.external.get(&(home, issue)).is_some_and(|&n| n > 0) {
            return;
        }
        let open = self.open.entry((home, issue, m)).or_default();
        for (k, &th) in self.thresholds.iter().enumerate() {
            let bit = 1u64 << k;
            if confidence >= th && *open & bit == 0 {
                *open |= bit;
                self.alerts[m as usize][k].push((home, t));
            }
        }
    }

    /// The models, in order (the primary first when it was named).
    pub fn models(&self) -> &[String] {
        &self.models
    }

    /// Model `m`'s alerts at each threshold.
    pub fn alerts(&self, m: usize) -> &[Vec<AlertAt>] {
        &self.alerts[m]
    }

    /// The thresholds.
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    /// Predictions of model `m`.
    pub fn predictions(&self, m: usize) -> u64 {
        self.predictions[m]
    }
}

/// One model's row of the leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// The predictor's name.
    pub name: String,
    /// Whether its alerts acted (technicians) in this run.
    pub primary: bool,
    /// Predictions it made.
    pub predictions: u64,
    /// Alert episodes at the run's threshold.
    pub episodes: u64,
    /// Of which true positives.
    pub true_positives: u64,
    /// Of which false alarms.
    pub false_alarms: u64,
    /// Failures neither predicted nor prevented after an alert.
    pub missed: u64,
    /// Precision at the run's threshold.
    pub precision: Option<f64>,
    /// Recall at the run's threshold.
    pub recall: Option<f64>,
    /// F1 at the run's threshold.
    pub f1: Option<f64>,
    /// Area under the precision–recall curve over the threshold grid.
    pub pr_auc: Option<f64>,
    /// Lead time [days] of the failures it predicted.
    pub lead_time_days: Quantiles,
    /// False alarms per 1,000 device-years.
    pub false_alarms_per_1000_device_years: f64,
    /// Expected cost at the run's threshold.
    pub expected_cost: f64,
    /// The threshold of least expected cost.
    pub cost_optimal_threshold: Option<f64>,
}

/// The area under the precision–recall curve of a sweep: average precision
/// over its thresholds, Σ (Rₖ − Rₖ₋₁)·Pₖ from the highest threshold down
/// (scikit-learn's `average_precision_score`, on the threshold grid rather
/// than every distinct score). `None` when no threshold recalls anything.
pub fn pr_auc(s: &Sweep) -> Option<f64> {
    let mut area = 0.0;
    let mut last_recall = 0.0;
    let mut any = false;
    for pt in s.points.iter().rev() {
        let (Some(r), Some(p)) = (pt.recall, pt.precision) else {
            continue;
        };
        if r > last_recall {
            area += (r - last_recall) * p;
            last_recall = r;
        }
        any |= r > 0.0;
    }
    any.then_some(area)
}

/// Scores model `m` of a finished replay: at the run's threshold and over
/// the grid. Also returns the sweep and the score at the run's threshold.
pub fn score_model(
    replay: &Replay,
    m: usize,
    primary: bool,
    truth: &Truth,
    p: &Params,
) -> (ModelScore, Sweep, Score) {
    let thresholds = replay.thresholds();
    let alerts = replay.alerts(m);
    let sweep = sweep::sweep(thresholds, alerts, truth, p);
    let at = thresholds
        .iter()
        .position(|&t| t == p.threshold)
        .map(|k| alerts[k].as_slice())
        .unwrap_or(&[]);
    let s = score(at, truth, p);
    let row = ModelScore {
        name: replay.models()[m].clone(),
        primary,
        predictions: replay.predictions(m),
        episodes: s.episodes,
        true_positives: s.true_positives,
        false_alarms: s.false_alarms,
        missed: s.missed,
        precision: s.precision,
        recall: s.recall,
        f1: s.f1,
        pr_auc: pr_auc(&sweep),
        lead_time_days: s.lead_time_days.clone(),
        false_alarms_per_1000_device_years: s.false_alarms_per_device_year * 1_000.0,
        expected_cost: s.expected_cost,
        cost_optimal_threshold: sweep.cost_optimal_threshold,
    };
    (row, sweep, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn an_open_alert_holds_back_the_next_until_it_is_resolved() {
        let mut r = Replay::new(vec![0.5, 0.72], &["a".into(), "b".into()]);
        // Home 0's bearing alert resolved on day 3; an integration opened
        // one on home 1 on day 1, resolved on day 2.
        r.alert(0, "bearing", DAY, false, Some(3 * DAY));
        r.alert(1, "bearing", DAY, true, Some(2 * DAY));
        for (day, c) in [(1, 0.8), (2, 0.9), (4, 0.6), (5, 0.8)] {
            r.prediction("a", 0, day * DAY, "bearing", c);
        }
        // Model b: another issue is not held back by the bearing alert.
        r.prediction("b", 0, DAY, "leak", 0.9);
        r.prediction("b", 0, 2 * DAY, "leak", 0.9);
        // Home 1: held back while the integration's alert is open.
        r.prediction("a", 1, DAY + 1, "bearing", 0.9);
        r.prediction("a", 1, 2 * DAY + 1, "bearing", 0.9);
        let a = r.alerts(0);
        // At 0.5: day 1 (open until day 3), day 4; home 1 after day 2.
        assert_eq!(a[0], vec![(0, DAY), (0, 4 * DAY), (1, 2 * DAY + 1)]);
        // At 0.72: day 1, then day 5 (day 4's 0.6 is below).
        assert_eq!(a[1], vec![(0, DAY), (0, 5 * DAY), (1, 2 * DAY + 1)]);
        assert_eq!(r.alerts(1)[1], vec![(0, DAY)]);
        assert_eq!((r.predictions(0), r.predictions(1)), (6, 2));
        assert_eq!(r.models(), ["a", "b"]);
    }

    #[test]
    fn average_precision_steps_down_the_thresholds() {
        let pt = |threshold, precision, recall| sweep::Point {
            threshold,
            episodes: 1,
            precision,
            recall,
            f1: None,
            false_alarms_per_device_year: 0.0,
            expected_cost: 0.0,
        };
        let s = Sweep {
            default_threshold: 0.5,
            cost_optimal_threshold: None,
            points: vec![
                pt(0.1, Some(0.25), Some(1.0)),
                pt(0.5, Some(0.5), Some(0.5)),
                pt(0.9, None, Some(0.0)),
            ],
        };
        // 0.5 × 0.5 + 0.5 × 0.25.
        assert_eq!(pr_auc(&s), Some(0.375));
        let nothing = Sweep {
            points: vec![pt(0.9, None, Some(0.0))],
            ..s
        };
        assert_eq!(pr_auc(&nothing), None);
    }
}
