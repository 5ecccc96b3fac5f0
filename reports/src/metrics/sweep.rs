//! The alert-threshold sweep: a model's alerts replayed at thresholds
//! 0.02, 0.04 … 0.98, 0.99, 0.995, 0.999 (and the run's own) by the
//! server's rule
//! ([`super::models::Replay`]), each set scored like the run's alerts
//! ([`super::prediction::score`]).
//!
//! This is an open-loop replay: technicians were sent at the run's
//! threshold, so a failure they prevented stays prevented at every
//! threshold (counted as caught only where an alert at that threshold came
//! before the visit). The cost-optimal threshold minimises
//! `missed × cost of a miss + alerts × cost of a truck roll`; of equal
//! costs the highest threshold (fewest alarms) wins. The grid reaches
//! 0.999 because probabilistic models saturate near 1.

use serde::Serialize;

use super::Params;
use super::prediction::{AlertAt, Facts, Score, score_facts};

/// The score at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The threshold.
    pub threshold: f64,
    /// Alerts (technician visits).
    pub alerts: u64,
    /// Alert episodes.
    pub episodes: u64,
    /// TP / (TP + false alarms).
    pub precision: Option<f64>,
    /// Caught / (failures + prevented).
    pub recall: Option<f64>,
    /// F1.
    pub f1: Option<f64>,
    /// False alarms per healthy device-year.
    pub false_alarms_per_healthy_device_year: Option<f64>,
    /// Expected cost.
    pub expected_cost: f64,
}

/// The sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    /// The run's threshold (the account default is 0.72).
    pub default_threshold: f64,
    /// The threshold of least expected cost.
    pub cost_optimal_threshold: Option<f64>,
    /// The expected cost there.
    pub cost_at_optimum: Option<f64>,
    /// Every threshold, ascending.
    pub points: Vec<Point>,
}

/// The thresholds swept: 0.02 … 0.98 by 0.02, then 0.99, 0.995 and 0.999,
/// plus `default` if it is not one of them.
pub fn thresholds(default: f64) -> Vec<f64> {
    let mut t: Vec<f64> = (1..=49).map(|k| f64::from(k) / 50.0).collect();
    t.extend([0.99, 0.995, 0.999]);
    if !t.contains(&default) {
        t.push(default);
        t.sort_by(f64::total_cmp);
    }
    t
}

/// Scores `alerts[k]`, the alerts at `thresholds[k]`, against the facts
/// of the truth; also returns each threshold's score.
pub fn sweep(
    thresholds: &[f64],
    alerts: &[Vec<AlertAt>],
    facts: &Facts,
    p: &Params,
) -> (Sweep, Vec<Score>) {
    let mut points = Vec::new();
    let mut scores = Vec::new();
    for (&threshold, alerts) in thresholds.iter().zip(alerts) {
        let s = score_facts(alerts, facts, p);
        points.push(Point {
            threshold,
            alerts: s.alerts,
            episodes: s.episodes,
            precision: s.precision,
            recall: s.recall,
            f1: s.f1,
            false_alarms_per_healthy_device_year: s.false_alarms_per_healthy_device_year,
            expected_cost: s.expected_cost,
        });
        scores.push(s);
    }
    let optimum = points
        .iter()
        .rev()
        .min_by(|a, b| a.expected_cost.total_cmp(&b.expected_cost));
    let sweep = Sweep {
        default_threshold: p.threshold,
        cost_optimal_threshold: optimum.map(|pt| pt.threshold),
        cost_at_optimum: optimum.map(|pt| pt.expected_cost),
        points,
    };
    (sweep, scores)
}

#[cfg(test)]
mod tests {
    use super::super::prediction::{Failure, Truth};
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn the_cheapest_threshold_is_found_and_the_default_is_on_the_grid() {
        let p = Params {
            start_ms: 0,
            end_ms: 100 * DAY,
            homes: 3,
            window_min_ms: DAY,
            window_max_ms: 30 * DAY,
            threshold: 0.72,
            cost_missed_failure: 10.0,
            cost_truck_roll: 1.0,
            ..Params::default()
        };
        let truth = Truth {
            failures: vec![Failure {
                home: 0,
                at: 50 * DAY,
                fault: "bearing_wear".into(),
                onset: 0,
            }],
            ..Truth::default()
        };
        // Home 0 fails and says 0.5 five days before; homes 1 and 2 never
        // fail and say 0.3 and 0.8.
        let predictions = [(0, 45 * DAY, 0.5), (1, 20 * DAY, 0.3), (2, 30 * DAY, 0.8)];
        let mut replay = super::super::models::Replay::new(thresholds(p.threshold), &[]);
        for (h, t, c) in predictions {
            replay.prediction("m", h, t, "bearing", c);
        }
        let (s, scores) = sweep(
            replay.thresholds(),
            replay.alerts(0),
            &Facts::new(&truth),
            &p,
        );
        assert_eq!(scores.len(), s.points.len());
        let cost = |t: f64| {
            s.points
                .iter()
                .find(|pt| pt.threshold == t)
                .unwrap()
                .expected_cost
        };
        // ≤ 0.30: three trucks; 0.32–0.50: two; 0.52–0.80: a miss and a
        // truck; above: a miss.
        assert_eq!(cost(0.3), 3.0);
        assert_eq!(cost(0.32), 2.0);
        assert_eq!(cost(0.5), 2.0);
        assert_eq!(cost(0.72), 11.0);
        assert_eq!(cost(0.86), 10.0);
        assert_eq!(cost(0.999), 10.0);
        assert_eq!(s.cost_optimal_threshold, Some(0.5));
        assert_eq!(s.cost_at_optimum, Some(2.0));
        assert_eq!(s.points.len(), 52);
        assert_eq!(s.default_threshold, 0.72);
        let at_half = s.points.iter().find(|pt| pt.threshold == 0.5).unwrap();
        assert_eq!((at_half.precision, at_half.recall), (Some(0.5), Some(1.0)));
    }

    #[test]
    fn a_default_on_the_grid_is_not_repeated() {
        assert_eq!(thresholds(0.5).len(), 52);
        assert_eq!(thresholds(0.72)[35], 0.72);
        assert_eq!(thresholds(0.73).len(), 53);
        assert_eq!(thresholds(0.73)[36], 0.73);
    }
}
