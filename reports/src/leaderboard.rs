//! The predictors' leaderboard: every model of a run scored alike
//! ([`crate::metrics::models`]), with what its inference cost
//! (`timings.json`, measured by the runner), for the terminal, JSON and
//! `report.html`.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::html::num;
use crate::metrics::models::ModelScore;

/// The run folder's file of measured timings (wall time, each predictor's
/// inference time); unlike `summary.json` it differs from run to run.
pub const TIMINGS: &str = "timings.json";

/// The run folder's `timings.json`, if the run left one that parses.
pub fn read_timings(dir: &std::path::Path) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join(TIMINGS)).ok()?;
    serde_json::from_str(&text).ok()
}

/// One row: a model's scores and its cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    /// The scores.
    pub score: &'a ModelScore,
    /// Wall time per report the model took in [µs].
    pub us_per_report: Option<f64>,
    /// Its inference time over the run's simulation time on all threads.
    pub share_of_run: Option<f64>,
}

/// The leaderboard of `models`, with their costs from `timings` (the
/// contents of `timings.json`) where it names them.
pub fn entries<'a>(models: &'a [ModelScore], timings: Option<&Value>) -> Vec<Entry<'a>> {
    let budget_ns = timings.and_then(|t| {
        let wall = t["simulation_wall_s"].as_f64()?;
        let threads = t["threads"].as_f64()?;
        (wall > 0.0 && threads > 0.0).then_some(wall * threads * 1e9)
    });
    models
        .iter()
        .map(|score| {
            let cost = timings
                .and_then(|t| t["models"].as_array())
                .and_then(|ms| ms.iter().find(|m| m["name"] == score.name.as_str()));
            let nanos = cost.and_then(|c| c["nanos"].as_f64());
            let reports = cost.and_then(|c| c["reports"].as_f64());
            Entry {
                score,
                us_per_report: nanos
                    .zip(reports)
                    .and_then(|(n, r)| (r > 0.0).then(|| n / r / 1e3)),
                share_of_run: nanos.zip(budget_ns).map(|(n, b)| n / b),
            }
        })
        .collect()
}

/// `v` with its interval, "0.83 [0.71, 0.95]" (the value alone without
/// one; "–" without a value).
pub fn with_interval(v: Option<f64>, iv: Option<&Option<[f64; 2]>>, places: usize) -> String {
    match (v, iv.copied().flatten()) {
        (Some(_), Some([lo, hi])) => format!(
            "{} [{}, {}]",
            num(v, places),
            num(Some(lo), places),
            num(Some(hi), places)
        ),
        _ => num(v, places),
    }
}

/// The column heads and each entry's cells, as text: the models first,
/// then the baselines (a model's "beats" cell names the baselines it beats
/// on F1 and on expected cost, each by a paired interval that excludes 0).
pub fn cells(entries: &[Entry<'_>]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let heads = vec![
        "model",
        "precision",
        "recall",
        "F1",
        "PR-AUC",
        "Brier",
        "lead median [d]",
        "false alarms /healthy device-yr",
        "expected cost",
        "cost-optimal threshold",
        "beats (F1 & cost)",
        "µs/report",
    ];
    let mut ordered: Vec<&Entry<'_>> = entries.iter().filter(|e| !e.score.baseline).collect();
    ordered.extend(entries.iter().filter(|e| e.score.baseline));
    let rows = ordered
        .into_iter()
        .map(|e| {
            let s = e.score;
            let iv = |k: &str| s.intervals.get(k);
            let beats: Vec<&str> = s
                .versus
                .iter()
                .filter(|v| {
                    v.beats_on_f1
                        && v.beats_on_cost
                        && entries
                            .iter()
                            .any(|o| o.score.baseline && o.score.name == v.other)
                })
                .map(|v| v.other.as_str())
                .collect();
            vec![
                match (s.primary, s.baseline) {
                    (true, _) => format!("{} (primary)", s.name),
                    (false, true) => format!("{} (baseline)", s.name),
                    _ => s.name.clone(),
                },
                with_interval(s.precision, iv("precision"), 3),
                with_interval(s.recall, iv("recall"), 3),
                with_interval(s.f1, iv("f1"), 3),
                with_interval(s.pr_auc, iv("pr_auc"), 3),
                num(s.calibration.brier, 3),
                with_interval(s.lead_time_days.median, iv("lead_time_days_median"), 1),
                with_interval(
                    s.false_alarms_per_healthy_device_year,
                    iv("false_alarms_per_healthy_device_year"),
                    2,
                ),
                with_interval(Some(s.expected_cost), iv("expected_cost"), 0),
                with_interval(s.cost_optimal_threshold, iv("cost_optimal_threshold"), 2),
                if s.baseline {
                    String::new()
                } else if beats.is_empty() {
                    "none".into()
                } else {
                    beats.join(", ")
                },
                num(e.us_per_report, 2),
            ]
        })
        .collect();
    (heads, rows)
}

/// Each model against each other, paired: ΔF1 and Δ expected cost with
/// their intervals, one line per pair (baselines only as the other side).
pub fn pairs(entries: &[Entry<'_>]) -> String {
    let mut out = String::new();
    for e in entries.iter().filter(|e| !e.score.baseline) {
        for v in &e.score.versus {
            let _ = writeln!(
                out,
                "{} − {}: ΔF1 = {}, Δcost = {}, ΔPR-AUC = {}",
                e.score.name,
                v.other,
                diff(&v.f1, 3),
                diff(&v.expected_cost, 0),
                diff(&v.pr_auc, 3),
            );
        }
    }
    out
}

fn diff(d: &crate::metrics::bootstrap::Diff, places: usize) -> String {
    with_interval(d.value, Some(&d.interval), places)
}

/// The leaderboard as an aligned text table.
pub fn text(entries: &[Entry<'_>]) -> String {
    let (heads, rows) = cells(entries);
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([heads[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..heads.len()).map(width).collect();
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i == 0 {
                let _ = write!(out, "{c}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{c}", " ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(
        &mut out,
        &heads.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
    );
    for r in &rows {
        line(&mut out, r);
    }
    let pairs = pairs(entries);
    if !pairs.is_empty() {
        out.push_str("paired differences (95 % bootstrap intervals over devices):\n");
        out.push_str(&pairs);
    }
    out
}

/// The leaderboard as JSON: each model's scores, plus its inference cost.
pub fn json(entries: &[Entry<'_>]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(e.score).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    o.insert("inference_us_per_report".into(), json!(e.us_per_report));
                    o.insert("inference_share_of_run".into(), json!(e.share_of_run));
                }
                v
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Quantiles;

    fn score(name: &str, primary: bool) -> ModelScore {
        ModelScore {
            name: name.into(),
            primary,
            predictions: 10,
            episodes: 2,
            true_positives: 1,
            false_alarms: 1,
            false_alarms_by_cause: Default::default(),
            missed: 0,
            precision: Some(0.5),
            recall: Some(1.0),
            f1: Some(2.0 / 3.0),
            pr_auc: Some(0.75),
            lead_time_days: Quantiles::default(),
            false_alarms_per_healthy_device_year: Some(12.5),
            expected_cost: 300.0,
            cost_optimal_threshold: Some(0.5),
            baseline: false,
            alerts: 3,
            early: 0,
            cost_at_optimum: Some(250.0),
            calibration: Default::default(),
            intervals: [("f1".to_owned(), Some([0.5, 0.8]))].into_iter().collect(),
            versus: Vec::new(),
        }
    }

    #[test]
    fn costs_come_from_the_timings_by_name() {
        let models = [score("threshold", true), score("trend", false)];
        let timings = json!({
            "simulation_wall_s": 10.0,
            "threads": 2,
            "models": [
                {"name": "trend", "reports": 1000, "predictions": 900, "nanos": 2_000_000},
                {"name": "threshold", "reports": 0, "predictions": 0, "nanos": 0},
            ],
        });
        let e = entries(&models, Some(&timings));
        assert_eq!(e[0].us_per_report, None, "no reports: no rate");
        assert_eq!(e[0].share_of_run, Some(0.0));
        assert_eq!(e[1].us_per_report, Some(2.0));
        assert_eq!(e[1].share_of_run, Some(1e-4));
        let t = text(&e);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("threshold (primary)  "), "{t}");
        assert!(lines[2].ends_with("  2.00"), "{t}");
        // Columns line up.
        assert_eq!(lines[0].chars().count(), lines[2].chars().count());
        // Intervals beside their numbers.
        assert!(lines[1].contains("0.667 [0.500, 0.800]"), "{t}");
        let j = json(&e);
        assert_eq!(j[1]["inference_us_per_report"], 2.0);
        assert_eq!(j[1]["name"], "trend");
        assert!(
            entries(&models, None)
                .iter()
                .all(|e| e.us_per_report.is_none())
        );
    }
}
