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

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::bootstrap::{self, Headline, ModelData, Versus};
use super::calibration::{Calibration, Labeler, Scored};
use super::prediction::{AlertAt, Facts, Score, class_of_issue, score_facts};
use super::sweep::{self, Sweep};
use super::{Params, Quantiles};

/// The baselines scored beside every run's models: `always` (an alert at
/// each of the primary's predictions: every device with a report),
/// `random` (seeded, firing at the primary's alert rate) and
/// `unit-relative` (the server's own baseline predictor: the unit's median
/// peak against its first reports).
pub const BASELINES: [&str; 3] = ["always", "random", "unit-relative"];

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
    /// Each issue's fault class.
    classes: Vec<u8>,
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
    /// Labels predictions from the ground truth (for PR-AUC and
    /// calibration).
    labeler: Option<Labeler>,
    /// Per model: its labelled predictions.
    scored: Vec<Scored>,
    /// The `always` and `random` baselines, fed the primary's predictions.
    baselines: Option<Baselines>,
}

/// How the `always` and `random` baselines follow the primary.
#[derive(Debug)]
struct Baselines {
    seed: u64,
    start_ms: i64,
    /// Per issue: the primary's alerts per device-millisecond.
    rate: HashMap<u32, f64>,
    /// Per (home, issue): the primary's last prediction.
    last: HashMap<(u32, u32), i64>,
    threshold: f64,
    /// The models `always` and `random`.
    always: u16,
    random: u16,
}

/// A uniform number in (0, 1) from a hash of the inputs (SplitMix64's
/// finaliser), so a baseline's draw does not depend on reading order.
fn unit_hash(seed: u64, home: u32, t: i64, issue: u32) -> f64 {
    let mut z = seed
        ^ u64::from(home).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ (t as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9)
        ^ u64::from(issue).wrapping_mul(0x94d0_49bb_1331_11eb);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

impl Replay {
    /// A replay at `thresholds` (at most 64) of the models named `models`
    /// (more are added as they appear).
    pub fn new(thresholds: Vec<f64>, models: &[String]) -> Replay {
        let mut r = Replay {
            thresholds: thresholds.into_iter().take(64).collect(),
            models: Vec::new(),
            issues: HashMap::new(),
            classes: Vec::new(),
            events: HashMap::new(),
            external: HashMap::new(),
            open: HashMap::new(),
            alerts: Vec::new(),
            predictions: Vec::new(),
            labeler: None,
            scored: Vec::new(),
            baselines: None,
        };
        for m in models {
            r.model(m);
        }
        r
    }

    /// Labels every prediction with `labeler` (for PR-AUC and calibration).
    pub fn with_labels(mut self, labeler: Labeler) -> Replay {
        self.labeler = Some(labeler);
        self
    }

    /// Adds the `always` and `random` baselines, fed the predictions of
    /// the first model (the primary): at each of its predictions `always`
    /// says 1 and `random` a seeded draw that reaches `p.threshold` with
    /// probability `1 − e^{−λ·Δt}`, `λ` the primary's alerts of that issue
    /// per device-millisecond (`alerts_by_issue`, from the alerts table)
    /// and `Δt` the time since the primary's last prediction of the device
    /// and issue: a Poisson alarm at the primary's rate, blind to the unit.
    pub fn with_baselines(mut self, alerts_by_issue: &HashMap<String, u64>, p: &Params) -> Replay {
        let device_ms = (p.homes as f64 * (p.end_ms - p.start_ms) as f64).max(1.0);
        let mut rate = HashMap::new();
        for (issue, n) in alerts_by_issue {
            let i = self.issue(issue);
            rate.insert(i, *n as f64 / device_ms);
        }
        let (always, random) = (self.model(BASELINES[0]), self.model(BASELINES[1]));
        self.baselines = Some(Baselines {
            seed: p.seed,
            start_ms: p.start_ms,
            rate,
            last: HashMap::new(),
            threshold: p.threshold,
            always,
            random,
        });
        self
    }

    fn model(&mut self, name: &str) -> u16 {
        if let Some(i) = self.models.iter().position(|m| m == name) {
            return i as u16;
        }
        self.models.push(name.to_owned());
        self.alerts.push(vec![Vec::new(); self.thresholds.len()]);
        self.predictions.push(0);
        self.scored.push(Scored::default());
        (self.models.len() - 1) as u16
    }

    fn issue(&mut self, issue: &str) -> u32 {
        if let Some(&i) = self.issues.get(issue) {
            return i;
        }
        let n = self.issues.len() as u32;
        self.issues.insert(issue.to_owned(), n);
        self.classes.push(class_of_issue(issue));
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
        // One label for the instant, whichever models speak at it.
        let class = self.classes[issue as usize];
        let label = self.labeler.as_ref().and_then(|l| l.label(home, class, t));
        self.predict(m, home, t, issue, confidence, label);
        if m != 0 {
            return;
        }
        let Some(b) = self.baselines.as_mut() else {
            return;
        };
        let last = b.last.insert((home, issue), t).unwrap_or(b.start_ms);
        let lambda = b.rate.get(&issue).copied().unwrap_or(0.0);
        let q = -(-lambda * (t - last).max(0) as f64).exp_m1();
        let u = unit_hash(b.seed, home, t, issue);
        // U^a reaches the threshold τ with probability q: a = ln τ / ln(1 − q)
        // (τ in (0, 1); at τ = 1 a draw below q says 1).
        let tau = b.threshold;
        let random = if q <= 0.0 {
            u * tau * 0.5
        } else if q >= 1.0 || tau <= 0.0 {
            1.0
        } else if tau >= 1.0 {
            if u < q { 1.0 } else { u * 0.5 }
        } else {
            u.powf(tau.ln() / (1.0 - q).ln())
        };
        let (always, rnd) = (b.always, b.random);
        self.predict(always, home, t, issue, 1.0, label);
        self.predict(rnd, home, t, issue, random, label);
    }

    /// Takes in model `m`'s prediction at `t`, labelled `label` (`None`:
    /// unknown, or no labeler).
    fn predict(
        &mut self,
        m: u16,
        home: u32,
        t: i64,
        issue: u32,
        confidence: f64,
        label: Option<bool>,
    ) {
        self.predictions[m as usize] += 1;
        let class = self.classes[issue as usize];
        if let Some(positive) = label {
            self.scored[m as usize].add(home, confidence, positive);
        }
        if self.external.get(&(home, issue)).is_some_and(|&n| n > 0) {
            return;
        }
        let open = self.open.entry((home, issue, m)).or_default();
        for (k, &th) in self.thresholds.iter().enumerate() {
            let bit = 1u64 << k;
            if confidence >= th && *open & bit == 0 {
                *open |= bit;
                self.alerts[m as usize][k].push(AlertAt { home, at: t, class });
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

    /// Model `m`'s labelled predictions (none without a labeler).
    pub fn scored(&self, m: usize) -> &Scored {
        &self.scored[m]
    }
}

/// One model's row of the leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// The predictor's name.
    pub name: String,
    /// Whether its alerts acted (technicians) in this run.
    pub primary: bool,
    /// Whether it is a baseline (`always`, `random`, `unit-relative`),
    /// scored in every run as the floor a model must beat.
    #[serde(default)]
    pub baseline: bool,
    /// Predictions it made.
    pub predictions: u64,
    /// Alerts at the run's threshold (each a technician visit).
    #[serde(default)]
    pub alerts: u64,
    /// Alert episodes at the run's threshold.
    pub episodes: u64,
    /// Of which true positives.
    pub true_positives: u64,
    /// Of which false alarms.
    pub false_alarms: u64,
    /// The false alarms by what the unit had (a sensor fault's kind,
    /// `another_fault`, `healthy`).
    #[serde(default)]
    pub false_alarms_by_cause: BTreeMap<String, u64>,
    /// Of which early (the fault was real, its failure beyond the window).
    #[serde(default)]
    pub early: u64,
    /// Failures and prevented failures not caught.
    pub missed: u64,
    /// Precision at the run's threshold.
    pub precision: Option<f64>,
    /// Recall at the run's threshold.
    pub recall: Option<f64>,
    /// F1 at the run's threshold.
    pub f1: Option<f64>,
    /// Average precision of its predictions over their full confidence
    /// range (scikit-learn's `average_precision_score`).
    pub pr_auc: Option<f64>,
    /// Lead time [days] of the failures it caught.
    pub lead_time_days: Quantiles,
    /// False alarms per healthy device-year.
    #[serde(default)]
    pub false_alarms_per_healthy_device_year: Option<f64>,
    /// Expected cost at the run's threshold.
    pub expected_cost: f64,
    /// The threshold of least expected cost.
    pub cost_optimal_threshold: Option<f64>,
    /// The expected cost at that threshold.
    #[serde(default)]
    pub cost_at_optimum: Option<f64>,
    /// Brier score and reliability of its predictions.
    #[serde(default)]
    pub calibration: Calibration,
    /// 95 % bootstrap intervals of the headline numbers.
    #[serde(default)]
    pub intervals: BTreeMap<String, Option<[f64; 2]>>,
    /// Paired differences against every other model of the run.
    #[serde(default)]
    pub versus: Vec<Versus>,
}

impl ModelScore {
    /// Its headline numbers (as the bootstrap resamples them).
    pub fn headline(&self) -> Headline {
        Headline {
            precision: self.precision,
            recall: self.recall,
            f1: self.f1,
            pr_auc: self.pr_auc,
            lead_time_days_median: self.lead_time_days.median,
            false_alarms_per_healthy_device_year: self.false_alarms_per_healthy_device_year,
            expected_cost: Some(self.expected_cost),
            cost_optimal_threshold: self.cost_optimal_threshold,
            cost_at_optimum: self.cost_at_optimum,
        }
    }
}

/// Scores model `m` of a finished replay: at the run's threshold and over
/// the grid. Also returns the sweep, the score at the run's threshold and
/// what the bootstrap needs.
pub fn score_model(
    replay: &Replay,
    m: usize,
    primary: bool,
    facts: &Facts,
    p: &Params,
) -> (ModelScore, Sweep, Score, ModelData) {
    let thresholds = replay.thresholds();
    let alerts = replay.alerts(m);
    let (sweep, scores) = sweep::sweep(thresholds, alerts, facts, p);
    let at = thresholds.iter().position(|&t| t == p.threshold);
    let s = match at {
        Some(k) => scores[k].clone(),
        None => score_facts(&[], facts, p),
    };
    let mut costs: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for (k, sc) in scores.iter().enumerate() {
        for t in &sc.devices {
            let c = t.cost(p);
            if c != 0.0 {
                costs
                    .entry(t.home)
                    .or_insert_with(|| vec![0.0; scores.len()])[k] = c;
            }
        }
    }
    let scored = replay.scored(m);
    let (pr_auc, calibration) = scored.finish();
    let data = ModelData {
        tallies: s.devices.clone(),
        thresholds: thresholds.to_vec(),
        costs: costs.into_iter().collect(),
        histograms: scored.histograms(),
    };
    let name = replay.models()[m].clone();
    let row = ModelScore {
        baseline: BASELINES.contains(&name.as_str()),
        name,
        primary,
        predictions: replay.predictions(m),
        alerts: s.alerts,
        episodes: s.episodes,
        true_positives: s.true_positives,
        false_alarms: s.false_alarms,
        false_alarms_by_cause: s.false_alarms_by_cause.clone(),
        early: s.early,
        missed: s.missed,
        precision: s.precision,
        recall: s.recall,
        f1: s.f1,
        pr_auc,
        lead_time_days: s.lead_time_days.clone(),
        false_alarms_per_healthy_device_year: s.false_alarms_per_healthy_device_year,
        expected_cost: s.expected_cost,
        cost_optimal_threshold: sweep.cost_optimal_threshold,
        cost_at_optimum: sweep.cost_at_optimum,
        calibration,
        intervals: BTreeMap::new(),
        versus: Vec::new(),
    };
    (row, sweep, s, data)
}

/// Adds each model's intervals and paired differences, from a bootstrap
/// over the fleet's devices.
pub fn bootstrap(rows: &mut [ModelScore], data: &[ModelData], p: &Params) {
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    // The fleet's own values (the PR-AUC exact, not binned).
    let points: Vec<Headline> = rows.iter().map(ModelScore::headline).collect();
    let b = bootstrap::run(data, &names, &points, p);
    for ((row, iv), vs) in rows.iter_mut().zip(b.intervals).zip(b.versus) {
        row.intervals = iv.0.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        row.versus = vs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn the_random_baseline_fires_at_the_primarys_rate() {
        // The primary alerted 50 times on 100 homes over 100 days: 0.005
        // alerts per device-day. Fed its daily predictions, random fires as
        // a Poisson process at that rate, so a device has fired by the end
        // with probability 1 − e^{−0.5} = 0.39; its first firing opens an
        // alert that nothing resolves: about 39 alerts (σ ≈ 5).
        const DAY: i64 = 86_400_000;
        let p = Params {
            end_ms: 100 * DAY,
            homes: 100,
            seed: 3,
            models: vec!["m".into()],
            ..Params::default()
        };
        let issue = "Compressor bearing degradation";
        let mut r = Replay::new(vec![p.threshold], &p.models)
            .with_baselines(&[(issue.to_owned(), 50)].into(), &p);
        for home in 0..100 {
            for day in 1..=100 {
                r.prediction("m", home, day * DAY, issue, 0.1);
            }
        }
        assert_eq!(r.models(), ["m", "always", "random"]);
        assert_eq!(r.predictions(2), 10_000);
        let fired = r.alerts(2)[0].len();
        assert!((24..=54).contains(&fired), "{fired}");
        // always alerts every device once (nothing resolves them).
        assert_eq!(r.alerts(1)[0].len(), 100);
    }

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
        let at = |list: &[AlertAt]| list.iter().map(|a| (a.home, a.at)).collect::<Vec<_>>();
        // At 0.5: day 1 (open until day 3), day 4; home 1 after day 2.
        assert_eq!(at(&a[0]), vec![(0, DAY), (0, 4 * DAY), (1, 2 * DAY + 1)]);
        // At 0.72: day 1, then day 5 (day 4's 0.6 is below).
        assert_eq!(at(&a[1]), vec![(0, DAY), (0, 5 * DAY), (1, 2 * DAY + 1)]);
        assert_eq!(at(&r.alerts(1)[1]), vec![(0, DAY)]);
        // Each alert names its issue's fault: "bearing" is bearing wear,
        // "leak" a refrigerant leak.
        assert!(a[0].iter().all(|a| a.class == 0));
        assert_eq!(r.alerts(1)[1][0].class, 1);
        assert_eq!((r.predictions(0), r.predictions(1)), (6, 2));
        assert_eq!(r.models(), ["a", "b"]);
    }
}
