//! Alert-level prediction scoring, as in PHM practice (Saxena et al.,
//! "Metrics for evaluating performance of prognostic techniques", PHM 2008;
//! the prediction-window rule of the PHM Society data challenges), with the
//! rules that keep a trivial model from winning (REFERENCE.md, "How alerts
//! are scored", has a worked example of each):
//!
//! 1. **Fault-matched.** An alert is scored for the fault its issue names
//!    ([`class_of_issue`]); it predicts only a fault of that class, and is
//!    otherwise a false alarm of its class.
//! 2. **No credit before onset.** An alert judges the fault *instance* of
//!    its class in progress at the alert (begun, not yet failed or
//!    repaired); with none, it is a false alarm.
//! 3. **The window.** The instance's failure time `T` — its real failure,
//!    or, for a fault a technician repaired first, when it *would* have
//!    failed (the ground truth's counterfactual `would_fail`) — must lie in
//!    `[t + W_min, t + W_max]`: then the alert is a true positive (and a
//!    repair a prevented failure); `T` later is an **early** alert, `T`
//!    sooner a **late** one (neither is a true positive). When `T` is not
//!    known (the fault still in progress at the run's end, or its
//!    counterfactual failure beyond it) the alert is **censored** if its
//!    window runs past the end, and early otherwise (the failure lies
//!    beyond the window).
//! 4. **Every truck roll counts.** One device's alerts of one fault within
//!    `episode_span` of the first are one *episode* (one alarm in
//!    precision), never chained further; every alert is a technician
//!    visit in the expected cost.
//! 5. **Healthy time.** False alarms of a fault are counted per device-year
//!    without that fault in progress; the headline adds the faults' rates
//!    (what a healthy unit suffers a year).
//!
//! Alerts while the unit is down (after a failure, before its repair)
//! predict nothing and are dropped. The per-device tallies ([`Tally`]) feed
//! the bootstrap intervals ([`super::bootstrap`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Params, Quantiles, ratio};

/// The fault classes, in order: the simulator's three faults, then
/// `other` (an issue that names none of them).
pub const CLASSES: [&str; 4] = [
    "bearing_wear",
    "refrigerant_leak",
    "capacitor_ageing",
    "other",
];

/// The index of `other` in [`CLASSES`].
pub const OTHER: u8 = 3;

/// The fault class an alert's or a prediction's issue names, by keywords
/// (case-insensitive): `bearing` → bearing wear; `refrigerant`, `leak` or
/// `charge` → refrigerant leak; `capacitor` → capacitor ageing; anything
/// else → `other` (a false alarm whatever happens).
pub fn class_of_issue(issue: &str) -> u8 {
    let i = issue.to_ascii_lowercase();
    if i.contains("bearing") {
        0
    } else if i.contains("refrigerant") || i.contains("leak") || i.contains("charge") {
        1
    } else if i.contains("capacitor") {
        2
    } else {
        OTHER
    }
}

/// The class of a fault's name in the ground truth (`bearing_wear`, …).
pub fn class_of_fault(fault: &str) -> u8 {
    CLASSES[..3]
        .iter()
        .position(|c| *c == fault)
        .map_or(OTHER, |i| i as u8)
}

/// A fault onset of the ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Onset {
    /// Fleet index of the home.
    pub home: u32,
    /// When [ms].
    pub at: i64,
    /// Fault type (`bearing_wear`, …).
    pub fault: String,
}

/// A failure of the ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Fleet index of the home.
    pub home: u32,
    /// When [ms].
    pub at: i64,
    /// Fault type (`bearing_wear`, …).
    pub fault: String,
    /// When that fault began [ms].
    pub onset: i64,
}

/// A counterfactual failure: when a repaired fault would have failed.
#[derive(Debug, Clone, PartialEq)]
pub struct WouldFail {
    /// Fleet index of the home.
    pub home: u32,
    /// When it would have failed [ms].
    pub at: i64,
    /// Fault type.
    pub fault: String,
    /// When it began [ms].
    pub onset: i64,
    /// When a technician repaired it [ms].
    pub repaired_at: i64,
}

/// A technician visit of the ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// Fleet index of the home.
    pub home: u32,
    /// When [ms].
    pub at: i64,
    /// Faults repaired (empty: an unnecessary visit).
    pub repaired: Vec<String>,
    /// Whether the unit had already failed.
    pub after_failure: bool,
}

/// What really happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    /// Fault onsets, any order.
    pub onsets: Vec<Onset>,
    /// Failures, any order.
    pub failures: Vec<Failure>,
    /// Counterfactual failures of repaired faults, any order.
    pub would_fail: Vec<WouldFail>,
    /// Technician visits, any order.
    pub visits: Vec<Visit>,
    /// Sensor-fault onsets, any order.
    pub sensor_faults: Vec<SensorFault>,
}

/// A sensor began to misreport (not a compressor fault: an alert it causes
/// is a false alarm, counted under its kind).
#[derive(Debug, Clone, PartialEq)]
pub struct SensorFault {
    /// Fleet index of the home.
    pub home: u32,
    /// Onset [ms].
    pub at: i64,
    /// Its kind (`accelerometer_attenuated`, …).
    pub kind: String,
}

/// An alert (or a prediction at or above a threshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertAt {
    /// Fleet index of the home.
    pub home: u32,
    /// When [ms].
    pub at: i64,
    /// The fault class its issue names ([`class_of_issue`]).
    pub class: u8,
}

/// How an alert or an episode was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Judged {
    FalseAlarm,
    Late,
    Early,
    Censored,
    True,
}

/// What one device contributed to a score: the bootstrap resamples these.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Fleet index of the home.
    pub home: u32,
    /// Alerts judged (each a technician visit).
    pub alerts: u64,
    /// Episodes that were true positives.
    pub true_positives: u64,
    /// Episodes judged (true positives, early, late and false alarms).
    pub judged: u64,
    /// False-alarm episodes by class.
    pub false_alarms: [u64; 4],
    /// Time without a fault of each class in progress [ms].
    pub healthy_ms: [i64; 4],
    /// Failures (real or counterfactual) whose time is known.
    pub events: u64,
    /// Of which caught by an alert in the window.
    pub caught: u64,
    /// Lead times of the caught events [days].
    pub leads: Vec<f64>,
}

impl Tally {
    /// Expected cost of this device's alerts and misses.
    pub fn cost(&self, p: &Params) -> f64 {
        self.alerts as f64 * p.cost_truck_roll
            + (self.events - self.caught) as f64 * p.cost_missed_failure
    }
}

/// Counts of one fault class.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FaultScore {
    /// Alert episodes naming this fault.
    pub episodes: u64,
    /// Of which true positives.
    pub true_positives: u64,
    /// Of which false alarms.
    pub false_alarms: u64,
    /// Of which early (the fault was real, its failure beyond the window).
    pub early: u64,
    /// Of which late (the failure came before `window_min`).
    pub late: u64,
    /// Of which censored (the window runs past the end of the run).
    pub censored: u64,
    /// Failures of this fault.
    pub failures: u64,
    /// Repairs whose counterfactual failure came within the run.
    pub prevented: u64,
    /// Repairs whose counterfactual failure lies beyond the run (not
    /// scored).
    pub prevented_censored: u64,
    /// Failures and prevented failures caught by an alert in the window.
    pub caught: u64,
    /// Caught / (failures + prevented).
    pub recall: Option<f64>,
    /// True positives / judged episodes.
    pub precision: Option<f64>,
    /// Lead time [days] of the caught failures.
    pub lead_time_days: Quantiles,
    /// Device-years without this fault in progress.
    pub healthy_device_years: f64,
    /// False alarms per healthy device-year.
    pub false_alarms_per_healthy_device_year: Option<f64>,
}

/// Alert episodes by the fault they named (rows, [`CLASSES`]) and what the
/// unit really had at the first alert (columns: the classes, then `none`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confusion {
    /// Row labels: the fault an episode named.
    pub named: Vec<String>,
    /// Column labels: the fault in progress at the episode's first alert
    /// (the named one first when both were), `none` for a healthy unit.
    pub actual: Vec<String>,
    /// `counts[named][actual]`.
    pub counts: Vec<Vec<u64>>,
}

impl Default for Confusion {
    fn default() -> Self {
        Confusion {
            named: CLASSES.iter().map(|c| (*c).to_owned()).collect(),
            actual: CLASSES[..3]
                .iter()
                .map(|c| (*c).to_owned())
                .chain(["none".to_owned()])
                .collect(),
            counts: vec![vec![0; 4]; 4],
        }
    }
}

/// The score of one set of alerts against the truth.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Score {
    /// Alerts judged (post-failure alerts excluded): each a technician
    /// visit in the expected cost.
    pub alerts: u64,
    /// Alert episodes (alerts of one device and fault within
    /// `episode_span` of the first).
    pub episodes: u64,
    /// Episodes that foresaw a failure of the fault they named in the
    /// window.
    pub true_positives: u64,
    /// Episodes with no fault of their class in progress.
    pub false_alarms: u64,
    /// Episodes whose fault's failure came later than the window (a repair
    /// months early prevented nothing yet).
    pub early: u64,
    /// Episodes whose fault failed sooner than `window_min`.
    pub late: u64,
    /// Episodes whose window ran past the end of the run with their fault
    /// in progress (not judged).
    pub censored: u64,
    /// Alerts dropped because the unit had already failed.
    pub post_failure_alerts: u64,
    /// Failures that happened.
    pub failures: u64,
    /// Faults repaired before they failed whose counterfactual failure came
    /// within the run (prevented failures).
    pub prevented: u64,
    /// Repairs whose counterfactual failure lies beyond the run's end.
    pub prevented_censored: u64,
    /// Visits that found nothing to repair.
    pub unnecessary_visits: u64,
    /// Failures and prevented failures caught by an alert of their fault in
    /// the window.
    pub caught: u64,
    /// Failures and prevented failures not caught.
    pub missed: u64,
    /// TP / (TP + early + late + false alarms).
    pub precision: Option<f64>,
    /// Caught / (failures + prevented).
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
    /// Lead time [days] of the caught failures.
    pub lead_time_days: Quantiles,
    /// Each caught failure's lead time [days] (for the histogram; not in
    /// `summary.json`).
    #[serde(skip)]
    pub lead_times: Vec<f64>,
    /// False alarms per healthy device-year: each fault's false alarms over
    /// the device-years without it in progress, added over the faults.
    pub false_alarms_per_healthy_device_year: Option<f64>,
    /// alerts × cost of a truck roll + missed × cost of a miss.
    pub expected_cost: f64,
    /// The same by fault.
    pub by_fault: BTreeMap<String, FaultScore>,
    /// Episodes by the fault named and the fault present.
    pub confusion: Confusion,
    /// False-alarm episodes by what the unit had at the first alert: a
    /// sensor fault (its kind; the earliest begun if several), another
    /// compressor fault (`another_fault`), or nothing (`healthy`).
    pub false_alarms_by_cause: BTreeMap<String, u64>,
    /// Each device's share (devices with an alert or a fault; the others
    /// were healthy throughout). Not in `summary.json`.
    #[serde(skip)]
    pub devices: Vec<Tally>,
}

/// One fault instance of a home: begun at `onset`, ended by a failure, a
/// repair or the end of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Instance {
    pub(crate) class: u8,
    pub(crate) onset: i64,
    /// Failed at.
    pub(crate) failed: Option<i64>,
    /// Repaired at (after a failure or before one).
    pub(crate) repaired: Option<i64>,
    /// Would have failed at (repaired before failing).
    pub(crate) would_fail: Option<i64>,
}

/// Each home's fault instances, in onset order.
pub(crate) type Instances = BTreeMap<u32, Vec<Instance>>;

impl Instance {
    /// The end of the time an alert can judge it: its failure or repair.
    fn judged_until(&self) -> i64 {
        self.failed.or(self.repaired).unwrap_or(i64::MAX)
    }

    /// Whether an alert at `t` judges it: begun, not yet failed or
    /// repaired.
    pub(crate) fn judges(&self, t: i64) -> bool {
        self.onset <= t && t < self.judged_until()
    }

    /// Whether it holds the unit down at `t`: failed, not yet repaired.
    pub(crate) fn down_at(&self, t: i64) -> bool {
        self.failed.is_some_and(|f| f <= t) && self.repaired.is_none_or(|r| t < r)
    }

    /// The failure it ended in, real or counterfactual, if known.
    pub(crate) fn failure_time(&self) -> Option<i64> {
        self.failed.or(self.would_fail)
    }

    /// In progress (begun, not repaired; failed counts) over `[onset, end)`.
    fn active_until(&self, end_ms: i64) -> i64 {
        self.repaired.unwrap_or(end_ms)
    }
}

/// Each home's fault instances, from the truth.
pub(crate) fn instances(truth: &Truth) -> Instances {
    let mut out: BTreeMap<u32, Vec<Instance>> = BTreeMap::new();
    let mut add = |home: u32, class: u8, onset: i64| {
        let v = out.entry(home).or_default();
        if !v.iter().any(|i| i.class == class && i.onset == onset) {
            v.push(Instance {
                class,
                onset,
                failed: None,
                repaired: None,
                would_fail: None,
            });
        }
    };
    for o in &truth.onsets {
        add(o.home, class_of_fault(&o.fault), o.at);
    }
    for f in &truth.failures {
        add(f.home, class_of_fault(&f.fault), f.onset);
    }
    for w in &truth.would_fail {
        add(w.home, class_of_fault(&w.fault), w.onset);
    }
    for v in out.values_mut() {
        v.sort_by_key(|i| (i.onset, i.class));
    }
    for f in &truth.failures {
        let class = class_of_fault(&f.fault);
        if let Some(i) = out.get_mut(&f.home).and_then(|v| {
            v.iter_mut()
                .find(|i| i.class == class && i.onset == f.onset)
        }) {
            i.failed = Some(f.at);
        }
    }
    let mut visits: Vec<&Visit> = truth.visits.iter().collect();
    visits.sort_by_key(|v| (v.at, v.home));
    for v in visits {
        let Some(list) = out.get_mut(&v.home) else {
            continue;
        };
        for fault in &v.repaired {
            let class = class_of_fault(fault);
            // The instance of that fault in progress at the visit.
            if let Some(i) = list
                .iter_mut()
                .filter(|i| i.class == class && i.onset <= v.at && i.repaired.is_none())
                .last()
            {
                i.repaired = Some(v.at);
            }
        }
    }
    for w in &truth.would_fail {
        let class = class_of_fault(&w.fault);
        if let Some(i) = out.get_mut(&w.home).and_then(|v| {
            v.iter_mut()
                .find(|i| i.class == class && i.onset == w.onset && i.failed.is_none())
        }) {
            i.would_fail = Some(w.at);
            i.repaired.get_or_insert(w.repaired_at);
        }
    }
    out
}

/// The truth as scoring reads it — each home's fault instances and the
/// visits that found nothing — built once and scored against many sets of
/// alerts (every model at every threshold of the sweep).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub(crate) instances: Instances,
    unnecessary_visits: u64,
    /// Each home's sensor faults: (onset, kind), by onset.
    sensor_faults: BTreeMap<u32, Vec<(i64, String)>>,
}

impl Facts {
    /// The facts of `truth`.
    pub fn new(truth: &Truth) -> Facts {
        Facts {
            instances: instances(truth),
            unnecessary_visits: truth
                .visits
                .iter()
                .filter(|v| v.repaired.is_empty())
                .count() as u64,
            sensor_faults: {
                let mut m: BTreeMap<u32, Vec<(i64, String)>> = BTreeMap::new();
                for f in &truth.sensor_faults {
                    m.entry(f.home).or_default().push((f.at, f.kind.clone()));
                }
                for v in m.values_mut() {
                    v.sort();
                }
                m
            },
        }
    }
}

/// Scores `alerts` (any order, duplicates allowed) against `truth`.
pub fn score(alerts: &[AlertAt], truth: &Truth, p: &Params) -> Score {
    score_facts(alerts, &Facts::new(truth), p)
}

/// Scores `alerts` against the facts of a truth ([`Facts::new`]).
pub fn score_facts(alerts: &[AlertAt], facts: &Facts, p: &Params) -> Score {
    let (w_min, w_max) = (p.window_min_ms, p.window_max_ms);
    let span = p.episode_span_ms.max(1);
    let duration = (p.end_ms - p.start_ms).max(0);
    let mut by_home: BTreeMap<u32, Vec<AlertAt>> = BTreeMap::new();
    for a in alerts {
        by_home.entry(a.home).or_default().push(*a);
    }
    let instances = &facts.instances;
    let mut s = Score {
        unnecessary_visits: facts.unnecessary_visits,
        ..Score::default()
    };
    let mut fault_leads: [Vec<f64>; 4] = Default::default();
    let mut per_class: [FaultScore; 4] = Default::default();
    let mut healthy_ms = [0i64; 4];
    let homes: std::collections::BTreeSet<u32> =
        by_home.keys().chain(instances.keys()).copied().collect();
    let none: Vec<Instance> = Vec::new();
    for home in homes {
        let list = instances.get(&home).unwrap_or(&none);
        let mut tally = Tally {
            home,
            healthy_ms: [duration; 4],
            ..Tally::default()
        };
        for i in list {
            let from = i.onset.clamp(p.start_ms, p.end_ms);
            let to = i.active_until(p.end_ms).clamp(p.start_ms, p.end_ms);
            tally.healthy_ms[i.class as usize] -= (to - from).max(0);
        }
        // Alerts while the unit is down (failed, not yet repaired) are
        // dropped.
        let down = |t: i64| list.iter().any(|i| i.down_at(t));
        let mut ts = by_home.remove(&home).unwrap_or_default();
        ts.sort_unstable();
        ts.dedup();
        let before = ts.len();
        ts.retain(|a| !down(a.at));
        s.post_failure_alerts += (before - ts.len()) as u64;
        tally.alerts = ts.len() as u64;
        // The instance of class `c` in progress at `t`.
        let at = |c: u8, t: i64| list.iter().position(|i| i.class == c && i.judges(t));
        let judge = |a: &AlertAt| -> (Judged, Option<usize>) {
            let Some(k) = at(a.class, a.at) else {
                return (Judged::FalseAlarm, None);
            };
            let i = &list[k];
            let verdict = match i.failure_time() {
                Some(t) if t < a.at + w_min => Judged::Late,
                Some(t) if t <= a.at + w_max => Judged::True,
                Some(_) => Judged::Early,
                // Not known: still in progress at the end, or repaired
                // with a counterfactual failure beyond the end (known to
                // be beyond only when counterfactuals were followed).
                None if a.at + w_max > p.end_ms => Judged::Censored,
                None if i.repaired.is_some() && !p.counterfactuals => Judged::Censored,
                None => Judged::Early,
            };
            (verdict, Some(k))
        };
        let mut first_catch: Vec<Option<i64>> = vec![None; list.len()];
        for class in 0..4u8 {
            let mine: Vec<&AlertAt> = ts.iter().filter(|a| a.class == class).collect();
            let fs = &mut per_class[class as usize];
            let mut j = 0;
            while j < mine.len() {
                let start = mine[j].at;
                let mut best = Judged::FalseAlarm;
                let mut matched = false;
                while j < mine.len() && mine[j].at < start + span {
                    let (verdict, k) = judge(mine[j]);
                    if let (Judged::True, Some(k)) = (verdict, k) {
                        let first = first_catch[k].get_or_insert(mine[j].at);
                        *first = (*first).min(mine[j].at);
                    }
                    matched |= k.is_some();
                    best = best.max(verdict);
                    j += 1;
                }
                fs.episodes += 1;
                let column = if matched {
                    class as usize
                } else {
                    list.iter()
                        .find(|i| {
                            i.onset <= start && start < i.active_until(p.end_ms) && i.class != OTHER
                        })
                        .map_or(3, |i| i.class as usize)
                };
                s.confusion.counts[class as usize][column] += 1;
                match best {
                    Judged::True => {
                        fs.true_positives += 1;
                        tally.true_positives += 1;
                    }
                    Judged::Censored => fs.censored += 1,
                    Judged::Early => fs.early += 1,
                    Judged::Late => fs.late += 1,
                    Judged::FalseAlarm => {
                        fs.false_alarms += 1;
                        tally.false_alarms[class as usize] += 1;
                        let sensor = facts
                            .sensor_faults
                            .get(&home)
                            .and_then(|v| v.iter().find(|(at, _)| *at <= start));
                        let cause = match (sensor, column) {
                            (Some((_, kind)), _) => kind.as_str(),
                            (None, 3) => "healthy",
                            (None, _) => "another_fault",
                        };
                        *s.false_alarms_by_cause.entry(cause.to_owned()).or_default() += 1;
                    }
                }
                if best != Judged::Censored {
                    tally.judged += 1;
                }
            }
        }
        for (k, i) in list.iter().enumerate() {
            let fs = &mut per_class[i.class as usize];
            let known = match (i.failed, i.repaired) {
                (Some(_), _) => {
                    fs.failures += 1;
                    true
                }
                (None, Some(_)) if i.would_fail.is_some() => {
                    fs.prevented += 1;
                    true
                }
                (None, Some(_)) => {
                    fs.prevented_censored += 1;
                    false
                }
                (None, None) => false,
            };
            if !known {
                continue;
            }
            tally.events += 1;
            if let (Some(first), Some(t)) = (first_catch[k], i.failure_time()) {
                tally.caught += 1;
                fs.caught += 1;
                let days = (t - first) as f64 / 86_400_000.0;
                tally.leads.push(days);
                fault_leads[i.class as usize].push(days);
            }
        }
        s.alerts += tally.alerts;
        s.caught += tally.caught;
        for (total, own) in healthy_ms.iter_mut().zip(tally.healthy_ms) {
            *total += own - duration;
        }
        s.devices.push(tally);
    }
    // The totals: the classes' sums.
    for fs in &per_class {
        s.episodes += fs.episodes;
        s.true_positives += fs.true_positives;
        s.false_alarms += fs.false_alarms;
        s.early += fs.early;
        s.late += fs.late;
        s.censored += fs.censored;
        s.failures += fs.failures;
        s.prevented += fs.prevented;
        s.prevented_censored += fs.prevented_censored;
    }
    // Devices never mentioned were healthy throughout.
    for h in &mut healthy_ms {
        *h += duration * p.homes as i64;
    }
    let events = s.failures + s.prevented;
    s.missed = events - s.caught;
    s.precision = ratio(
        s.true_positives,
        s.true_positives + s.early + s.late + s.false_alarms,
    );
    s.recall = ratio(s.caught, events);
    s.f1 = f1(s.precision, s.recall);
    let mut leads: Vec<f64> = fault_leads.iter().flatten().copied().collect();
    leads.sort_by(f64::total_cmp);
    s.lead_time_days = Quantiles::of(leads.clone());
    s.lead_times = leads;
    let fa: [u64; 4] = std::array::from_fn(|c| per_class[c].false_alarms);
    s.false_alarms_per_healthy_device_year = fa_rate(&fa, &healthy_ms);
    s.expected_cost = s.alerts as f64 * p.cost_truck_roll + s.missed as f64 * p.cost_missed_failure;
    for (c, mut fs) in per_class.into_iter().enumerate() {
        if fs.episodes + fs.failures + fs.prevented + fs.prevented_censored == 0 {
            continue;
        }
        fs.recall = ratio(fs.caught, fs.failures + fs.prevented);
        fs.precision = ratio(
            fs.true_positives,
            fs.true_positives + fs.early + fs.late + fs.false_alarms,
        );
        fs.lead_time_days = Quantiles::of(std::mem::take(&mut fault_leads[c]));
        fs.healthy_device_years = years(healthy_ms[c]);
        fs.false_alarms_per_healthy_device_year =
            (healthy_ms[c] > 0).then(|| fs.false_alarms as f64 / years(healthy_ms[c]));
        s.by_fault.insert(CLASSES[c].to_owned(), fs);
    }
    s
}

/// Milliseconds as years of 365.25 days.
pub fn years(ms: i64) -> f64 {
    ms as f64 / (365.25 * 86_400_000.0)
}

/// The harmonic mean of precision and recall (0 when both are 0).
pub fn f1(precision: Option<f64>, recall: Option<f64>) -> Option<f64> {
    match (precision, recall) {
        (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    }
}

/// Σ over the classes of false alarms over healthy device-years; `None`
/// when no class has healthy time (or every class with false alarms has
/// none).
pub fn fa_rate(false_alarms: &[u64; 4], healthy_ms: &[i64; 4]) -> Option<f64> {
    let mut rate = 0.0;
    let mut any = false;
    for (&fa, &healthy) in false_alarms.iter().zip(healthy_ms) {
        if healthy > 0 {
            rate += fa as f64 / years(healthy);
            any = true;
        } else if fa > 0 {
            return None;
        }
    }
    any.then_some(rate)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const DAY: i64 = 86_400_000;
    const BEARING: u8 = 0;
    const LEAK: u8 = 1;

    pub(crate) fn params() -> Params {
        Params {
            start_ms: 0,
            end_ms: 100 * DAY,
            homes: 10,
            window_min_ms: DAY,
            window_max_ms: 30 * DAY,
            threshold: 0.72,
            cost_missed_failure: 10.0,
            cost_truck_roll: 1.0,
            comfort_band_c: (20.0, 25.0),
            models: vec![],
            ..Params::default()
        }
    }

    pub(crate) fn alert(home: u32, day: i64, class: u8) -> AlertAt {
        AlertAt {
            home,
            at: day * DAY,
            class,
        }
    }

    fn onset(home: u32, day: i64, fault: &str) -> Onset {
        Onset {
            home,
            at: day * DAY,
            fault: fault.into(),
        }
    }

    /// A bearing fault of `home` from day `from` to its failure on `day`.
    pub(crate) fn bearing(truth: &mut Truth, home: u32, from: i64, day: i64) {
        truth.onsets.push(onset(home, from, "bearing_wear"));
        truth.failures.push(Failure {
            home,
            at: day * DAY,
            fault: "bearing_wear".into(),
            onset: from * DAY,
        });
    }

    fn visit(home: u32, day: i64, repaired: &[&str], after_failure: bool) -> Visit {
        Visit {
            home,
            at: day * DAY,
            repaired: repaired.iter().map(|f| (*f).to_owned()).collect(),
            after_failure,
        }
    }

    #[test]
    fn issues_name_their_fault() {
        assert_eq!(class_of_issue("Compressor bearing degradation"), 0);
        assert_eq!(class_of_issue("Refrigerant leak (low charge)"), 1);
        assert_eq!(class_of_issue("Run capacitor degradation"), 2);
        assert_eq!(class_of_issue("Filter clogged"), OTHER);
        assert_eq!(class_of_fault("capacitor_ageing"), 2);
        assert_eq!(class_of_fault("unknown"), OTHER);
    }

    #[test]
    fn two_of_three_judged_alerts_foresee_a_failure() {
        let mut truth = Truth::default();
        for (h, d) in [(0, 50), (1, 60), (3, 70)] {
            bearing(&mut truth, h, 10, d);
        }
        // Home 4's fault began on day 90 and is in progress at the end.
        truth.onsets.push(onset(4, 90, "bearing_wear"));
        // Home 0: 10 days ahead; home 1: 5 days ahead (and again, the same
        // episode, 3 days ahead); home 2: nothing follows; home 4: too
        // close to the end to judge, its fault in progress; home 5: as
        // late, but healthy — a false alarm.
        let alerts = [
            alert(0, 40, BEARING),
            alert(1, 55, BEARING),
            alert(1, 57, BEARING),
            alert(2, 20, BEARING),
            alert(4, 95, BEARING),
            alert(5, 95, BEARING),
        ];
        let s = score(&alerts, &truth, &params());
        assert_eq!((s.alerts, s.episodes), (6, 5));
        assert_eq!((s.true_positives, s.false_alarms, s.censored), (2, 2, 1));
        assert_eq!(s.precision, Some(0.5));
        assert_eq!((s.failures, s.caught, s.missed), (3, 2, 1));
        assert_eq!(s.recall, Some(2.0 / 3.0));
        // 2 · ½ · ⅔ / (½ + ⅔) = 4/7.
        assert!((s.f1.unwrap() - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!(s.lead_time_days.median, Some(7.5));
        // Linear interpolation between 5 and 10 days at 10 %.
        assert!((s.lead_time_days.p10.unwrap() - 5.5).abs() < 1e-12);
        // 2 false alarms over the bearing-healthy time: 10 homes × 100
        // days less homes 0, 1, 3 (40, 50, 60 days faulty: failed units
        // stay faulty until repaired, here never) and home 4 (10 days).
        let healthy_days = 1_000.0 - 90.0 - 90.0 - 90.0 - 10.0;
        let rate = s.false_alarms_per_healthy_device_year.unwrap();
        assert!((rate - 2.0 * 365.25 / healthy_days).abs() < 1e-9, "{rate}");
        // Every alert a truck roll, and the miss.
        assert_eq!(s.expected_cost, 6.0 + 10.0);
    }

    #[test]
    fn alerts_outside_the_window_do_not_predict() {
        let mut truth = Truth::default();
        bearing(&mut truth, 0, 0, 50);
        bearing(&mut truth, 1, 0, 50);
        // 31 days ahead is too early; 12 h ahead is too late to act.
        let alerts = [
            alert(0, 19, BEARING),
            AlertAt {
                home: 1,
                at: 50 * DAY - DAY / 2,
                class: BEARING,
            },
        ];
        let s = score(&alerts, &truth, &params());
        assert_eq!((s.caught, s.true_positives), (0, 0));
        assert_eq!((s.early, s.late, s.false_alarms), (1, 1, 0));
        assert_eq!(s.recall, Some(0.0));
        assert_eq!(s.precision, Some(0.0));
        assert_eq!(s.f1, Some(0.0));
    }

    #[test]
    fn a_leak_alert_does_not_predict_a_bearing_failure() {
        let mut truth = Truth::default();
        bearing(&mut truth, 0, 10, 50);
        let s = score(&[alert(0, 40, LEAK)], &truth, &params());
        assert_eq!((s.true_positives, s.false_alarms), (0, 1));
        assert_eq!((s.failures, s.caught), (1, 0));
        assert_eq!(s.by_fault["refrigerant_leak"].false_alarms, 1);
        assert_eq!(s.by_fault["bearing_wear"].recall, Some(0.0));
        // The confusion table: a leak named, a bearing found.
        assert_eq!(s.confusion.counts[1][0], 1);
        assert_eq!(s.confusion.counts.iter().flatten().sum::<u64>(), 1);
        // The bearing alert on the same truth is a true positive.
        let s = score(&[alert(0, 40, BEARING)], &truth, &params());
        assert_eq!((s.true_positives, s.caught), (1, 1));
        assert_eq!(s.confusion.counts[0][0], 1);
    }

    #[test]
    fn an_alert_before_the_onset_earns_nothing() {
        // A 60-day window so the failure on day 50 lies within it from day
        // 0; the fault began on day 20.
        let p = Params {
            window_max_ms: 60 * DAY,
            ..params()
        };
        let mut truth = Truth::default();
        bearing(&mut truth, 0, 20, 50);
        let s = score(&[alert(0, 5, BEARING)], &truth, &p);
        assert_eq!((s.true_positives, s.false_alarms, s.caught), (0, 1, 0));
        assert_eq!(s.confusion.counts[0][3], 1, "named bearing, found none");
    }

    #[test]
    fn repairs_are_prevented_failures_only_when_the_counterfactual_is_in_the_window() {
        let mut truth = Truth::default();
        // Home 0: repaired on day 42 (alert day 40), would have failed on
        // day 55: in the window, a prevented failure. Home 1: repaired on
        // day 22 (alert day 20), would have failed on day 80: early. Home
        // 2: repaired on day 80, the counterfactual beyond the end:
        // censored (the alert's window runs past the end). Home 3:
        // repaired on day 30, counterfactual beyond the end although the
        // alert's window closed on day 58: early.
        for (h, from, alerted, repaired, would) in [
            (0, 10, 40, 42, Some(55)),
            (1, 10, 20, 22, Some(80)),
            (2, 70, 78, 80, None),
            (3, 10, 28, 30, None),
        ] {
            truth.onsets.push(onset(h, from, "bearing_wear"));
            truth
                .visits
                .push(visit(h, repaired, &["bearing_wear"], false));
            if let Some(d) = would {
                truth.would_fail.push(WouldFail {
                    home: h,
                    at: d * DAY,
                    fault: "bearing_wear".into(),
                    onset: from * DAY,
                    repaired_at: repaired * DAY,
                });
            }
            let _ = alerted;
        }
        let alerts = [
            alert(0, 40, BEARING),
            alert(1, 20, BEARING),
            alert(2, 78, BEARING),
            alert(3, 28, BEARING),
        ];
        let s = score(&alerts, &truth, &params());
        assert_eq!(s.true_positives, 1);
        assert_eq!((s.early, s.censored, s.false_alarms), (2, 1, 0));
        assert_eq!((s.prevented, s.prevented_censored), (2, 2));
        // Events: the two prevented failures known; home 0's caught.
        assert_eq!((s.caught, s.missed), (1, 1));
        assert_eq!(s.lead_time_days.median, Some(15.0));
        assert_eq!(s.precision, Some(1.0 / 3.0));
        // Without counterfactuals followed, home 3 is censored too.
        let p = Params {
            counterfactuals: false,
            ..params()
        };
        let mut blind = truth.clone();
        blind.would_fail.clear();
        let s = score(&alerts, &blind, &p);
        assert_eq!((s.true_positives, s.censored), (0, 4));
        assert_eq!((s.prevented, s.prevented_censored), (0, 4));
    }

    #[test]
    fn a_unit_re_alerting_after_every_visit_pays_for_every_visit() {
        // A healthy unit alerts, a technician comes two days later and
        // finds nothing, it alerts again the next day, for 90 days: 30
        // alerts, every one a truck roll; episodes of 7 days from their
        // first alert (not chained): days 0, 3 and 6 make one, 9, 12, 15
        // the next … 10 episodes over the 30 alerts.
        let p = params();
        let mut truth = Truth::default();
        let mut alerts = Vec::new();
        for k in 0..30 {
            alerts.push(alert(0, 3 * k, BEARING));
            truth.visits.push(visit(0, 3 * k + 2, &[], false));
        }
        let s = score(&alerts, &truth, &p);
        assert_eq!(s.alerts, 30);
        assert_eq!(s.episodes, 10);
        assert_eq!(s.false_alarms, 10);
        assert_eq!(s.unnecessary_visits, 30);
        assert_eq!(s.expected_cost, 30.0 * p.cost_truck_roll);
    }

    #[test]
    fn false_alarms_count_against_healthy_time_only() {
        // One home of two, a bearing fault from day 0 to a repair on day
        // 50 (no counterfactual within the run), then healthy. Bearing-
        // healthy time: 100 + 50 days; leak-healthy: 200 days.
        let p = Params {
            homes: 2,
            ..params()
        };
        let mut truth = Truth::default();
        truth.onsets.push(onset(0, 0, "bearing_wear"));
        truth.visits.push(visit(0, 50, &["bearing_wear"], false));
        let alerts = [
            alert(1, 10, BEARING),
            alert(1, 60, LEAK),
            alert(0, 70, BEARING),
        ];
        let s = score(&alerts, &truth, &p);
        assert_eq!(s.false_alarms, 3);
        let b = &s.by_fault["bearing_wear"];
        assert!((b.healthy_device_years - 150.0 / 365.25).abs() < 1e-12);
        let want = 2.0 / (150.0 / 365.25) + 1.0 / (200.0 / 365.25);
        let rate = s.false_alarms_per_healthy_device_year.unwrap();
        assert!((rate - want).abs() < 1e-9, "{rate} vs {want}");
        // No healthy time at all: no rate.
        assert_eq!(fa_rate(&[1, 0, 0, 0], &[0, 0, 0, 0]), None);
    }

    #[test]
    fn false_alarms_are_counted_by_their_cause() {
        // Home 0: an attenuated accelerometer from day 5; home 1: a leak in
        // progress; home 2: healthy. A bearing alert on each is a false
        // alarm; home 0's alert before its sensor fault began is healthy.
        let p = Params {
            homes: 3,
            ..params()
        };
        let mut truth = Truth::default();
        truth.sensor_faults.push(SensorFault {
            home: 0,
            at: 5 * DAY,
            kind: "accelerometer_attenuated".into(),
        });
        truth.onsets.push(onset(1, 0, "refrigerant_leak"));
        let alerts = [
            alert(0, 1, BEARING),
            alert(0, 20, BEARING),
            alert(1, 20, BEARING),
            alert(2, 20, BEARING),
        ];
        let s = score(&alerts, &truth, &p);
        assert_eq!(s.false_alarms, 4);
        let by = |k: &str| s.false_alarms_by_cause.get(k).copied();
        assert_eq!(by("accelerometer_attenuated"), Some(1));
        assert_eq!(by("another_fault"), Some(1));
        assert_eq!(by("healthy"), Some(2));
    }

    #[test]
    fn alerts_after_a_failure_are_dropped_until_the_repair() {
        let mut truth = Truth::default();
        bearing(&mut truth, 1, 0, 30);
        truth.visits.push(visit(1, 35, &["bearing_wear"], true));
        // Down from day 30 to 35: dropped; day 40: a new fault? No: a false
        // alarm on the repaired unit.
        let s = score(
            &[alert(1, 31, BEARING), alert(1, 40, BEARING)],
            &truth,
            &params(),
        );
        assert_eq!(s.post_failure_alerts, 1);
        assert_eq!((s.alerts, s.false_alarms), (1, 1));
        assert_eq!((s.failures, s.missed), (1, 1));
    }

    #[test]
    fn nothing_to_judge_gives_no_ratios() {
        let s = score(&[], &Truth::default(), &params());
        assert_eq!((s.precision, s.recall, s.f1), (None, None, None));
        assert_eq!(s.lead_time_days, Quantiles::default());
        assert_eq!(s.expected_cost, 0.0);
        assert_eq!(s.false_alarms_per_healthy_device_year, Some(0.0));
    }
}
