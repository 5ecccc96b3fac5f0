//! Release gates: limits on metrics that decide whether a run passes (a
//! firmware team's release check). Each gate set in a scenario's `[gates]`
//! is evaluated against [`Metrics`]; a gate whose metric has no value (no
//! failures to recall, no OTA to succeed) fails, saying so — a gate that
//! cannot be checked must not pass silently.

use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;

/// The limits (each optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gates {
    /// Minimum alert recall (0–1).
    pub min_recall: Option<f64>,
    /// Minimum alert precision (0–1).
    pub min_precision: Option<f64>,
    /// Maximum false alarms per device-year.
    pub max_false_alarms_per_device_year: Option<f64>,
    /// Minimum median lead time [days].
    pub min_lead_time_days: Option<f64>,
    /// Maximum compressor short cycles, fleet total.
    pub max_short_cycle_violations: Option<f64>,
    /// Minimum share of readings delivered (0–1).
    pub min_telemetry_delivery: Option<f64>,
    /// Maximum p99 delay from measurement to storage [s].
    pub max_p99_delivery_delay_s: Option<f64>,
    /// Maximum mean K·h outside the comfort band per home.
    pub max_comfort_kh_per_home: Option<f64>,
    /// Minimum OTA success rate over every release (0–1).
    pub min_ota_success: Option<f64>,
    /// Maximum share of requests answered 429 (0–1).
    pub max_rate_limited_share: Option<f64>,
}

/// Whether a gate is a floor or a ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The value must be at least the limit.
    Min,
    /// The value must be at most the limit.
    Max,
}

/// One gate's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The gate's key in `[gates]`.
    pub gate: &'static str,
    /// Floor or ceiling.
    pub bound: Bound,
    /// The limit.
    pub limit: f64,
    /// The metric's value (`None`: the run gave it no value).
    pub value: Option<f64>,
    /// Whether it passed.
    pub passed: bool,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.bound {
            Bound::Min => "≥",
            Bound::Max => "≤",
        };
        match self.value {
            Some(v) => write!(f, "{}: {v:.4} (must be {op} {})", self.gate, self.limit),
            None => write!(
                f,
                "{}: no value in this run (must be {op} {})",
                self.gate, self.limit
            ),
        }
    }
}

/// Evaluates every gate that is set, in declaration order.
pub fn evaluate(g: &Gates, m: &Metrics) -> Vec<Verdict> {
    let p = &m.prediction;
    let rl = &m.rate_limits;
    let gates: [(&'static str, Option<f64>, Bound, Option<f64>); 10] = [
        ("min_recall", g.min_recall, Bound::Min, p.recall),
        ("min_precision", g.min_precision, Bound::Min, p.precision),
        (
            "max_false_alarms_per_device_year",
            g.max_false_alarms_per_device_year,
            Bound::Max,
            p.false_alarms_per_healthy_device_year,
        ),
        (
            "min_lead_time_days",
            g.min_lead_time_days,
            Bound::Min,
            p.lead_time_days.median,
        ),
        (
            "max_short_cycle_violations",
            g.max_short_cycle_violations,
            Bound::Max,
            Some(m.comfort_energy.short_cycle_violations as f64),
        ),
        (
            "min_telemetry_delivery",
            g.min_telemetry_delivery,
            Bound::Min,
            rl.telemetry.delivery_ratio,
        ),
        (
            "max_p99_delivery_delay_s",
            g.max_p99_delivery_delay_s,
            Bound::Max,
            rl.telemetry.delay_s.p99,
        ),
        (
            "max_comfort_kh_per_home",
            g.max_comfort_kh_per_home,
            Bound::Max,
            m.comfort_energy.discomfort_kh_per_home.mean,
        ),
        (
            "min_ota_success",
            g.min_ota_success,
            Bound::Min,
            m.operations.ota_success_rate,
        ),
        (
            "max_rate_limited_share",
            g.max_rate_limited_share,
            Bound::Max,
            rl.rate_limited_share,
        ),
    ];
    gates
        .into_iter()
        .filter_map(|(gate, limit, bound, value)| {
            let limit = limit?;
            let passed = value.is_some_and(|v| match bound {
                Bound::Min => v >= limit,
                Bound::Max => v <= limit,
            });
            Some(Verdict {
                gate,
                bound,
                limit,
                value,
                passed,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Quantiles, comfort, operations, prediction, sweep, traffic};

    fn metrics(recall: Option<f64>, short_cycles: u64) -> Metrics {
        Metrics {
            prediction_note: None,
            prediction: prediction::Score {
                recall,
                false_alarms_per_healthy_device_year: Some(0.5),
                ..Default::default()
            },
            threshold_sweep: sweep::Sweep {
                default_threshold: 0.72,
                cost_optimal_threshold: None,
                cost_at_optimum: None,
                points: vec![],
            },
            rate_limits: traffic::RateLimits::default(),
            comfort_energy: comfort::ComfortEnergy {
                short_cycle_violations: short_cycles,
                discomfort_kh_per_home: Quantiles::of(vec![1.0, 3.0]),
                ..Default::default()
            },
            operations: operations::Operations::default(),
            models: vec![],
            truth: prediction::Truth::default(),
            model_data: Vec::new(),
            alerts: vec![],
        }
    }

    #[test]
    fn floors_ceilings_and_missing_values() {
        let g = Gates {
            min_recall: Some(0.8),
            max_short_cycle_violations: Some(0.0),
            max_comfort_kh_per_home: Some(2.0),
            max_false_alarms_per_device_year: Some(1.0),
            ..Gates::default()
        };
        let v = evaluate(&g, &metrics(Some(0.75), 2));
        let names: Vec<_> = v.iter().map(|v| (v.gate, v.passed)).collect();
        assert_eq!(
            names,
            [
                ("min_recall", false),
                ("max_false_alarms_per_device_year", true),
                ("max_short_cycle_violations", false),
                ("max_comfort_kh_per_home", true),
            ]
        );
        assert_eq!(v[0].to_string(), "min_recall: 0.7500 (must be ≥ 0.8)");
        // Exactly at the limit passes; no value fails.
        let v = evaluate(&g, &metrics(Some(0.8), 0));
        assert!(v.iter().all(|v| v.passed));
        let v = evaluate(&g, &metrics(None, 0));
        assert!(!v[0].passed);
        assert_eq!(
            v[0].to_string(),
            "min_recall: no value in this run (must be ≥ 0.8)"
        );
        assert!(evaluate(&Gates::default(), &metrics(None, 9)).is_empty());
    }
}
