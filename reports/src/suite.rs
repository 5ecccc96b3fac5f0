//! A benchmark suite's result: every model scored on every fleet, then
//! aggregated per model over the fleets — each number the mean over the
//! fleets where it is defined (a macro-average: a small fleet counts as
//! much as a large one), its 95 % interval from a stratified bootstrap
//! (each fleet's devices resampled within the fleet,
//! [`crate::metrics::bootstrap::run_strata`]) and the paired differences
//! between models on the same resamples. Written as the suite's
//! `leaderboard.json` and `suite.html`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::html::{escape, num};
use crate::leaderboard::with_interval;
use crate::metrics::Params;
use crate::metrics::bootstrap::{self, Headline, ModelData, NAMES, Versus};
use crate::metrics::models::ModelScore;

/// One fleet of a suite, scored.
#[derive(Debug, Clone)]
pub struct FleetResult {
    /// The fleet's name (its scenario file's stem).
    pub name: String,
    /// `accelerated` or `field`.
    pub label: String,
    /// Its run folder.
    pub dir: std::path::PathBuf,
    /// What its metrics were computed with.
    pub params: Params,
    /// Its leaderboard rows.
    pub rows: Vec<ModelScore>,
    /// What each row's model brings to the bootstrap.
    pub data: Vec<ModelData>,
}

/// A model's row of the suite's leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuiteRow {
    /// The model.
    pub name: String,
    /// Whether it is a baseline.
    pub baseline: bool,
    /// Each headline number's mean over the fleets where it is defined.
    pub values: std::collections::BTreeMap<&'static str, Option<f64>>,
    /// Their 95 % intervals.
    pub intervals: std::collections::BTreeMap<&'static str, Option<[f64; 2]>>,
    /// Paired differences against every other model.
    pub versus: Vec<Versus>,
    /// Per fleet: F1 and expected cost with their intervals, as text.
    pub fleets: Vec<(String, Option<f64>, f64)>,
}

/// Aggregates the fleets' scores per model (the models named as in the
/// first fleet; a model missing from a fleet is left out there).
pub fn aggregate(fleets: &[FleetResult], resamples: usize) -> Vec<SuiteRow> {
    let Some(first) = fleets.first() else {
        return Vec::new();
    };
    let names: Vec<String> = first.rows.iter().map(|r| r.name.clone()).collect();
    // Per fleet, the data in `names` order (empty where missing).
    let data: Vec<Vec<ModelData>> = fleets
        .iter()
        .map(|f| {
            names
                .iter()
                .map(|n| {
                    f.rows
                        .iter()
                        .position(|r| &r.name == n)
                        .map(|i| f.data[i].clone())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let points: Vec<Headline> = names
        .iter()
        .map(|n| {
            let per: Vec<Headline> = fleets
                .iter()
                .filter_map(|f| {
                    f.rows
                        .iter()
                        .find(|r| &r.name == n)
                        .map(ModelScore::headline)
                })
                .collect();
            bootstrap::macro_average(&per)
        })
        .collect();
    let strata: Vec<(&[ModelData], &Params)> = data
        .iter()
        .zip(fleets)
        .map(|(d, f)| (d.as_slice(), &f.params))
        .collect();
    let b = bootstrap::run_strata(&strata, &names, &points, resamples);
    names
        .iter()
        .zip(points)
        .zip(b.intervals)
        .zip(b.versus)
        .map(|(((name, point), iv), versus)| SuiteRow {
            name: name.clone(),
            baseline: first.rows.iter().any(|r| &r.name == name && r.baseline),
            values: NAMES.iter().copied().zip(point.values()).collect(),
            intervals: iv.0,
            versus,
            fleets: fleets
                .iter()
                .filter_map(|f| {
                    let r = f.rows.iter().find(|r| &r.name == name)?;
                    Some((f.name.clone(), r.f1, r.expected_cost))
                })
                .collect(),
        })
        .collect()
}

/// The aggregate as a text table (models, then baselines), with the
/// paired differences of each model against each baseline.
pub fn text(rows: &[SuiteRow]) -> String {
    let heads = [
        "model",
        "precision",
        "recall",
        "F1",
        "PR-AUC",
        "lead median [d]",
        "false alarms /healthy device-yr",
        "expected cost",
    ];
    let keys = [
        ("precision", 3),
        ("recall", 3),
        ("f1", 3),
        ("pr_auc", 3),
        ("lead_time_days_median", 1),
        ("false_alarms_per_healthy_device_year", 2),
        ("expected_cost", 0),
    ];
    let mut table: Vec<Vec<String>> = vec![heads.iter().map(|h| (*h).to_owned()).collect()];
    let ordered = rows
        .iter()
        .filter(|r| !r.baseline)
        .chain(rows.iter().filter(|r| r.baseline));
    for r in ordered {
        let mut cells = vec![if r.baseline {
            format!("{} (baseline)", r.name)
        } else {
            r.name.clone()
        }];
        for (k, places) in keys {
            cells.push(with_interval(
                r.values.get(k).copied().flatten(),
                r.intervals.get(k),
                places,
            ));
        }
        table.push(cells);
    }
    let widths: Vec<usize> = (0..heads.len())
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        for (i, c) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - c.chars().count());
            if i == 0 {
                let _ = write!(out, "{c}{pad}");
            } else {
                let _ = write!(out, "  {pad}{c}");
            }
        }
        out.push('\n');
    }
    out.push_str("paired differences over the suite (95 % stratified bootstrap intervals):\n");
    for r in rows.iter().filter(|r| !r.baseline) {
        for v in &r.versus {
            let _ = writeln!(
                out,
                "{} − {}: ΔF1 = {}, Δcost = {}{}",
                r.name,
                v.other,
                with_interval(v.f1.value, Some(&v.f1.interval), 3),
                with_interval(v.expected_cost.value, Some(&v.expected_cost.interval), 0),
                match (v.beats_on_f1, v.beats_on_cost) {
                    (true, true) => " — beats it on both",
                    (true, false) => " — beats it on F1",
                    (false, true) => " — beats it on cost",
                    (false, false) => "",
                }
            );
        }
    }
    out
}

/// `suite.html`: the aggregate, then each fleet's F1 and cost per model,
/// with links to the fleets' own reports.
pub fn page(name: &str, description: &str, fleets: &[FleetResult], rows: &[SuiteRow]) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>thermotwin suite — {0}</title><style>body{{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}table{{border-collapse:collapse;margin:.8em 0}}td,th{{border:1px solid #ddd;padding:.3em .6em}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}th{{background:#f3f6f9}}</style></head><body><h1>Benchmark suite: {0}</h1><p>{1}</p>",
        escape(name),
        escape(description)
    );
    h.push_str("<p>Each number is the mean over the fleets where it is defined, with its 95 % interval from a bootstrap of each fleet's devices; baselines are marked. A model beats a baseline when the paired interval of the difference excludes zero.</p><pre>");
    h.push_str(&escape(&text(rows)));
    h.push_str(
        "</pre><h2>Per fleet</h2><table><tr><th>fleet</th><th>kind</th><th>homes</th><th>days</th>",
    );
    for r in rows {
        let _ = write!(h, "<th>{} F1 · cost</th>", escape(&r.name));
    }
    h.push_str("</tr>\n");
    for f in fleets {
        let _ = write!(
            h,
            "<tr><td><a href=\"{}/report.html\">{}</a></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            escape(
                &f.dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            escape(&f.name),
            escape(&f.label),
            f.params.homes,
            num(
                Some((f.params.end_ms - f.params.start_ms) as f64 / 86_400_000.0),
                0
            ),
        );
        for r in rows {
            let cell = r
                .fleets
                .iter()
                .find(|x| x.0 == f.name)
                .map(|x| format!("{} · {}", num(x.1, 3), num(Some(x.2), 0)))
                .unwrap_or_else(|| "–".into());
            let _ = write!(h, "<td class=\"n\">{}</td>", escape(&cell));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></body></html>\n");
    h
}
