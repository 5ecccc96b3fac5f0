//! Alert-level prediction scoring, as in PHM practice (Saxena et al.,
//! "Metrics for evaluating performance of prognostic techniques", PHM 2008;
//! the prediction-window rule of the PHM Society data challenges):
//!
//! - a failure at `T` counts as **predicted** when an alert lands in
//!   `[T − W_max, T − W_min]`; its **lead time** is `T` minus the earliest
//!   such alert;
//! - alerts are **deduplicated** into episodes: one device's alerts less
//!   than `W_max` apart are one episode (one truck roll, one alarm);
//! - an episode is a **true positive** when one of its alerts has a
//!   failure of that device in `[t + W_min, t + W_max]`, or a technician
//!   visit that repaired a real fault in `[t, t + W_max]` (the loop
//!   prevented the failure the alert foresaw); otherwise a **false alarm**,
//!   unless its window runs past the end of the run while the device had
//!   a fault in progress (**censored**: the failure may come after the
//!   end). The ground truth decides: an alert on a device with no fault
//!   in progress is a false alarm however late it comes;
//! - alerts while the device is already failed (after a failure, before its
//!   repair) predict nothing and are dropped;
//! - failures prevented by a visit count as predicted when an alert came at
//!   most `W_max` before the visit.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Params, Quantiles, ratio};

/// A failure of the ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Fleet index of the home.
    pub home: u32,
    /// When [ms].
    pub at: i64,
    /// Fault type (`bearing_wear`, …).
    pub fault: String,
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
    /// Whether the unit had already failed (a repair, not a prevention).
    pub after_failure: bool,
}

/// What really happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    /// Fault onsets: home and time [ms], any order.
    pub onsets: Vec<(u32, i64)>,
    /// Failures, any order.
    pub failures: Vec<Failure>,
    /// Technician visits, any order.
    pub visits: Vec<Visit>,
}

/// An alert (or a prediction at or above a threshold): home and time [ms].
pub type AlertAt = (u32, i64);

/// Counts of one fault type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FaultScore {
    /// Failures of this type.
    pub failures: u64,
    /// Of which predicted in the window.
    pub predicted: u64,
    /// Faults of this type a technician repaired before they failed.
    pub prevented: u64,
    /// Recall: (predicted + prevented with a prior alert) / (failures +
    /// prevented).
    pub recall: Option<f64>,
    /// Lead time [days] of the predicted failures.
    pub lead_time_days: Quantiles,
}

/// The score of one set of alerts against the truth.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Score {
    /// Alert episodes after deduplication (post-failure alerts excluded).
    pub episodes: u64,
    /// Episodes that foresaw a failure or led to a prevention.
    pub true_positives: u64,
    /// Episodes that foresaw nothing.
    pub false_alarms: u64,
    /// Episodes whose window ran past the end of the run on a device with
    /// a fault in progress.
    pub censored: u64,
    /// Alerts dropped because the unit had already failed.
    pub post_failure_alerts: u64,
    /// Failures that happened.
    pub failures: u64,
    /// Of which an alert came in the window.
    pub predicted: u64,
    /// Failures prevented by technician visits (a real fault repaired
    /// before it failed).
    pub prevented: u64,
    /// Prevented failures with an alert at most `W_max` before the visit.
    pub prevented_after_alert: u64,
    /// Visits that found nothing to repair.
    pub unnecessary_visits: u64,
    /// Failures neither predicted nor prevented after an alert.
    pub missed: u64,
    /// TP / (TP + false alarms).
    pub precision: Option<f64>,
    /// (predicted + prevented after an alert) / (failures + prevented).
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
    /// Lead time [days] of the predicted failures.
    pub lead_time_days: Quantiles,
    /// Each predicted failure's lead time [days] (for the histogram; not
    /// in `summary.json`).
    #[serde(skip)]
    pub lead_times: Vec<f64>,
    /// False alarms per device-year of the fleet.
    pub false_alarms_per_device_year: f64,
    /// missed × cost of a miss + episodes × cost of a truck roll.
    pub expected_cost: f64,
    /// The same by fault type.
    pub by_fault: BTreeMap<String, FaultScore>,
}

/// Scores `alerts` (any order, duplicates allowed) against `truth`.
pub fn score(alerts: &[AlertAt], truth: &Truth, p: &Params) -> Score {
    let (w_min, w_max) = (p.window_min_ms, p.window_max_ms);
    let mut by_home: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for &(h, t) in alerts {
        by_home.entry(h).or_default().push(t);
    }
    let mut failures: BTreeMap<u32, Vec<&Failure>> = BTreeMap::new();
    for f in &truth.failures {
        failures.entry(f.home).or_default().push(f);
    }
    let mut onsets: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for &(h, t) in &truth.onsets {
        onsets.entry(h).or_default().push(t);
    }
    let mut visits: BTreeMap<u32, Vec<&Visit>> = BTreeMap::new();
    for v in &truth.visits {
        visits.entry(v.home).or_default().push(v);
    }
    let mut s = Score::default();
    let mut leads = Vec::new();
    let mut fault_leads: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for fs in failures.values_mut() {
        fs.sort_by_key(|f| f.at);
    }
    for vs in visits.values_mut() {
        vs.sort_by_key(|v| v.at);
    }
    let homes: std::collections::BTreeSet<u32> = by_home
        .keys()
        .chain(failures.keys())
        .chain(visits.keys())
        .copied()
        .collect();
    for home in homes {
        let fs = failures.get(&home).map_or(&[][..], Vec::as_slice);
        let vs = visits.get(&home).map_or(&[][..], Vec::as_slice);
        let os = onsets.get(&home).map_or(&[][..], Vec::as_slice);
        // A fault in progress at `t`: begun, not repaired since.
        let faulty = |t: i64| {
            os.iter().any(|&o| {
                o <= t
                    && !vs
                        .iter()
                        .any(|v| !v.repaired.is_empty() && v.at >= o && v.at <= t)
            })
        };
        let mut ts = by_home.remove(&home).unwrap_or_default();
        ts.sort_unstable();
        // Drop alerts while the unit is down: after a failure, before the
        // next repair.
        let down = |t: i64| {
            fs.iter().any(|f| {
                f.at <= t
                    && !vs
                        .iter()
                        .any(|v| v.after_failure && v.at >= f.at && v.at <= t)
            })
        };
        let before = ts.len();
        ts.retain(|&t| !down(t));
        s.post_failure_alerts += (before - ts.len()) as u64;
        let foresees = |t: i64| {
            fs.iter().any(|f| f.at >= t + w_min && f.at <= t + w_max)
                || vs.iter().any(|v| {
                    !v.after_failure && !v.repaired.is_empty() && v.at >= t && v.at <= t + w_max
                })
        };
        // Episodes: alerts less than W_max apart.
        let mut i = 0;
        while i < ts.len() {
            let mut j = i + 1;
            while j < ts.len() && ts[j] - ts[j - 1] < w_max {
                j += 1;
            }
            s.episodes += 1;
            if ts[i..j].iter().any(|&t| foresees(t)) {
                s.true_positives += 1;
            } else if ts[j - 1] + w_max > p.end_ms && faulty(ts[j - 1]) {
                s.censored += 1;
            } else {
                s.false_alarms += 1;
            }
            i = j;
        }
        for f in fs {
            s.failures += 1;
            let e = s.by_fault.entry(f.fault.clone()).or_default();
            e.failures += 1;
            let first = ts.iter().find(|&&t| t >= f.at - w_max && t <= f.at - w_min);
            if let Some(&t) = first {
                s.predicted += 1;
                e.predicted += 1;
                let days = (f.at - t) as f64 / 86_400_000.0;
                leads.push(days);
                fault_leads.entry(&f.fault).or_default().push(days);
            }
        }
        for v in vs {
            if v.repaired.is_empty() {
                s.unnecessary_visits += 1;
                continue;
            }
            if v.after_failure {
                continue;
            }
            s.prevented += 1;
            let alerted = ts.iter().any(|&t| t <= v.at && t >= v.at - w_max);
            if alerted {
                s.prevented_after_alert += 1;
            }
            for fault in &v.repaired {
                s.by_fault.entry(fault.clone()).or_default().prevented += 1;
            }
        }
    }
    let events = s.failures + s.prevented;
    let caught = s.predicted + s.prevented_after_alert;
    s.missed = events - caught;
    s.precision = ratio(s.true_positives, s.true_positives + s.false_alarms);
    s.recall = ratio(caught, events);
    s.f1 = match (s.precision, s.recall) {
        (Some(pr), Some(re)) if pr + re > 0.0 => Some(2.0 * pr * re / (pr + re)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    s.lead_time_days = Quantiles::of(leads.clone());
    s.lead_times = leads;
    s.false_alarms_per_device_year =
        s.false_alarms as f64 / p.device_years().max(f64::MIN_POSITIVE);
    s.expected_cost =
        s.missed as f64 * p.cost_missed_failure + s.episodes as f64 * p.cost_truck_roll;
    for (fault, e) in &mut s.by_fault {
        // Prevented faults of a type count as caught (their alert led to
        // the visit); per type there is no alert attribution finer than that.
        e.recall = ratio(e.predicted + e.prevented, e.failures + e.prevented);
        e.lead_time_days = Quantiles::of(fault_leads.remove(fault.as_str()).unwrap_or_default());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

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
        }
    }

    fn failure(home: u32, day: i64) -> Failure {
        Failure {
            home,
            at: day * DAY,
            fault: "bearing_wear".into(),
        }
    }

    #[test]
    fn two_of_three_judged_alerts_foresee_a_failure() {
        let truth = Truth {
            // Home 4's fault began on day 90; home 5 has none.
            onsets: vec![(4, 90 * DAY)],
            failures: vec![failure(0, 50), failure(1, 60), failure(3, 70)],
            visits: vec![],
        };
        // Home 0: 10 days ahead; home 1: 5 days ahead (and again, a
        // duplicate, 3 days ahead); home 2: nothing follows; home 4: too
        // close to the end to judge, its fault in progress; home 5: as
        // late, but healthy — a false alarm.
        let alerts = [
            (0, 40 * DAY),
            (1, 55 * DAY),
            (1, 57 * DAY),
            (2, 20 * DAY),
            (4, 95 * DAY),
            (5, 95 * DAY),
        ];
        let s = score(&alerts, &truth, &params());
        assert_eq!(s.episodes, 5);
        assert_eq!((s.true_positives, s.false_alarms, s.censored), (2, 2, 1));
        assert_eq!(s.precision, Some(0.5));
        assert_eq!((s.failures, s.predicted, s.missed), (3, 2, 1));
        assert_eq!(s.recall, Some(2.0 / 3.0));
        // 2 · ½ · ⅔ / (½ + ⅔) = 4/7.
        assert!((s.f1.unwrap() - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!(s.lead_time_days.median, Some(7.5));
        // Linear interpolation between 5 and 10 days at 10 %.
        assert!((s.lead_time_days.p10.unwrap() - 5.5).abs() < 1e-12);
        // 2 false alarms over 10 homes × 100 days.
        assert!((s.false_alarms_per_device_year - 2.0 * 365.25 / 1_000.0).abs() < 1e-12);
        assert_eq!(s.expected_cost, 10.0 + 5.0);
        // Without home 5's late alert: precision exactly 2/3.
        let s = score(&alerts[..5], &truth, &params());
        assert_eq!((s.true_positives, s.false_alarms, s.censored), (2, 1, 1));
        assert_eq!(s.precision, Some(2.0 / 3.0));
        assert!((s.f1.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn alerts_outside_the_window_do_not_predict() {
        let truth = Truth {
            failures: vec![failure(0, 50), failure(1, 50)],
            ..Truth::default()
        };
        // 31 days ahead is too early; 12 h ahead is too late to act.
        let alerts = [(0, 19 * DAY), (1, 50 * DAY - DAY / 2)];
        let s = score(&alerts, &truth, &params());
        assert_eq!((s.predicted, s.true_positives, s.false_alarms), (0, 0, 2));
        assert_eq!(s.recall, Some(0.0));
        assert_eq!(s.precision, Some(0.0));
        assert_eq!(s.f1, Some(0.0));
    }

    #[test]
    fn prevented_failures_count_and_alerts_after_a_failure_do_not() {
        let truth = Truth {
            onsets: vec![],
            failures: vec![failure(1, 30)],
            visits: vec![
                Visit {
                    home: 0,
                    at: 42 * DAY,
                    repaired: vec!["bearing_wear".into()],
                    after_failure: false,
                },
                Visit {
                    home: 1,
                    at: 35 * DAY,
                    repaired: vec!["bearing_wear".into()],
                    after_failure: true,
                },
                Visit {
                    home: 2,
                    at: 22 * DAY,
                    repaired: vec![],
                    after_failure: false,
                },
            ],
        };
        let alerts = [
            (0, 40 * DAY), // led to the prevention
            (1, 31 * DAY), // the unit is down: not a prediction
            (2, 20 * DAY), // the technician found nothing
        ];
        let s = score(&alerts, &truth, &params());
        assert_eq!(s.post_failure_alerts, 1);
        assert_eq!((s.true_positives, s.false_alarms), (1, 1));
        assert_eq!((s.prevented, s.prevented_after_alert), (1, 1));
        assert_eq!(s.unnecessary_visits, 1);
        // Events: home 1's failure (missed) and home 0's prevention.
        assert_eq!(s.recall, Some(0.5));
        assert_eq!(s.by_fault["bearing_wear"].prevented, 1);
        assert_eq!(s.by_fault["bearing_wear"].failures, 1);
    }

    #[test]
    fn nothing_to_judge_gives_no_ratios() {
        let s = score(&[], &Truth::default(), &params());
        assert_eq!((s.precision, s.recall, s.f1), (None, None, None));
        assert_eq!(s.lead_time_days, Quantiles::default());
        assert_eq!(s.expected_cost, 0.0);
    }
}
