//! The alert-threshold sweep: a model's alerts replayed at thresholds
//! 0.05, 0.10 … 0.95 (and the run's own) by the server's rule
//! ([`super::models::Replay`]), each set scored like the run's alerts
//! ([`super::prediction::score`]).
//!
//! This is an open-loop replay: technicians were sent at the run's
//! threshold, so a failure they prevented stays prevented at every
//! threshold (counted as caught only where an alert at that threshold came
//! before the visit). The cost-optimal threshold minimises
//! `missed × cost of a miss + episodes × cost of a truck roll`; of equal
//! costs the highest threshold (fewest alarms) wins.

use serde::Serialize;

use super::Params;
use super::prediction::{AlertAt, Truth, score};

/// The score at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The threshold.
    pub threshold: f64,
    /// Alert episodes.
    pub episodes: u64,
    /// TP / (TP + false alarms).
    pub precision: Option<f64>,
    /// Caught / (failures + prevented).
    pub recall: Option<f64>,
    /// F1.
    pub f1: Option<f64>,
    /// False alarms per device-year.
    pub false_alarms_per_device_year: f64,
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
    /// Every threshold, ascending.
    pub points: Vec<Point>,
}

/// The thresholds swept: 0.05 … 0.95 by 0.05, plus `default` if it is not
/// one of them.
pub fn thresholds(default: f64) -> Vec<f64> {
    let mut t: Vec<f64> = (1..=19).map(|k| f64::from(k) / 20.0).collect();
    if !t.contains(&default) {
        t.push(default);
        t.sort_by(f64::total_cmp);
    }
    t
}

/// Scores `alerts[k]`, the alerts at `thresholds[k]`, against `truth`.
pub fn sweep(thresholds: &[f64], alerts: &[Vec<AlertAt>], truth: &Truth, p: &Params) -> Sweep {
    let mut points = Vec::new();
    for (&threshold, alerts) in thresholds.iter().zip(alerts) {
        let s = score(alerts, truth, p);
        points.push(Point {
            threshold,
            episodes: s.episodes,
            precision: s.precision,
            recall: s.recall,
            f1: s.f1,
            false_alarms_per_device_year: s.false_alarms_per_device_year,
            expected_cost: s.expected_cost,
        });
    }
    let cost_optimal_threshold = points
        .iter()
        .rev()
        .min_by(|a, b| a.expected_cost.total_cmp(&b.expected_cost))
        .map(|pt| pt.threshold);
    Sweep {
        default_threshold: p.threshold,
        cost_optimal_threshold,
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::super::prediction::Failure;
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
            comfort_band_c: (20.0, 25.0),
            models: vec![],
        };
        let truth = Truth {
            failures: vec![Failure {
                home: 0,
                at: 50 * DAY,
                fault: "bearing_wear".into(),
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
        let s = sweep(replay.thresholds(), replay.alerts(0), &truth, &p);
        let cost = |t: f64| {
            s.points
                .iter()
                .find(|pt| pt.threshold == t)
                .unwrap()
                .expected_cost
        };
        // ≤ 0.30: three trucks; 0.35–0.50: two; 0.55–0.80: a miss and a
        // truck; above: a miss.
        assert_eq!(cost(0.3), 3.0);
        assert_eq!(cost(0.35), 2.0);
        assert_eq!(cost(0.5), 2.0);
        assert_eq!(cost(0.72), 11.0);
        assert_eq!(cost(0.85), 10.0);
        assert_eq!(s.cost_optimal_threshold, Some(0.5));
        assert_eq!(s.points.len(), 20);
        assert_eq!(s.default_threshold, 0.72);
        let at_half = s.points.iter().find(|pt| pt.threshold == 0.5).unwrap();
        assert_eq!((at_half.precision, at_half.recall), (Some(0.5), Some(1.0)));
    }

    #[test]
    fn a_default_on_the_grid_is_not_repeated() {
        assert_eq!(thresholds(0.5).len(), 19);
        assert_eq!(thresholds(0.72)[14], 0.72);
    }
}
