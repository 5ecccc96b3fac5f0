//! Metrics of a run folder, computed from its Parquet tables (read through
//! polars in bounded slices, [`crate::tables::scan`]) into the
//! `metrics` section of `summary.json`:
//!
//! ```text
//! fleet ─┐ device ids → homes, prices
//! ground_truth ─┬─► prediction (alerts)  ─► prediction
//! alerts ───────┤   models (replay of each model's predictions)
//! predictions ──┘       ─► models (leaderboard), threshold_sweep (primary)
//! requests, telemetry, firmware_events ──► rate_limits
//! homes ─────────────────────────────────► comfort_energy
//! ota_events, commands, webhooks ────────► operations
//! ```
//!
//! Each part is plain logic over rows ([`prediction`], [`models`], [`sweep`],
//! [`traffic`], [`comfort`], [`operations`]), tested on hand-built rows
//! with known answers; [`compute`] only reads the tables into them.

pub mod bootstrap;
pub mod calibration;
pub mod comfort;
pub mod models;
pub mod operations;
pub mod prediction;
pub mod sweep;
pub mod traffic;

use std::collections::BTreeMap;
use std::path::Path;

use polars_core::prelude::PolarsResult;
use serde::{Deserialize, Serialize};

use crate::tables::{bools, floats, ints, scan, texts};

/// What the metrics need from the scenario (stored in `summary.json`
/// under `evaluation`, so `thermotwin report` recomputes the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Params {
    /// Run start [ms since the Unix epoch].
    pub start_ms: i64,
    /// Run end [ms].
    pub end_ms: i64,
    /// Homes in the fleet.
    pub homes: u64,
    /// An alert predicts a failure at `T` if it lands at or after
    /// `T − window_max` and at or before `T − window_min` [ms].
    pub window_min_ms: i64,
    /// See `window_min_ms`.
    pub window_max_ms: i64,
    /// The run's alert threshold.
    pub threshold: f64,
    /// Cost of a failure nobody foresaw.
    pub cost_missed_failure: f64,
    /// Cost of a technician visit.
    pub cost_truck_roll: f64,
    /// Comfort band [°C].
    pub comfort_band_c: (f64, f64),
    /// The run's predictors: the primary, then the shadows.
    pub models: Vec<String>,
    /// Alerts of one device and fault within this span of the episode's
    /// first are one episode [ms].
    pub episode_span_ms: i64,
    /// Bootstrap resamples of the devices for each interval (0: none).
    pub bootstrap: u32,
    /// Seed of the bootstrap and the `random` baseline (the run's seed).
    pub seed: u64,
    /// Whether the run followed repaired faults to their counterfactual
    /// failures (`would_fail` rows).
    pub counterfactuals: bool,
    /// Each fault's mean life under the scenario (for the hint of a run
    /// with no failure to score).
    pub fault_life: Vec<FaultLife>,
}

/// A fault's mean life from onset to failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultLife {
    /// The fault (`bearing_wear`, …).
    pub fault: String,
    /// Mean life [h].
    pub hours: f64,
    /// Whether those are compressor running hours (else calendar hours).
    pub running: bool,
    /// The scenario key that sets its pace.
    pub key: String,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            start_ms: 0,
            end_ms: 0,
            homes: 0,
            window_min_ms: 86_400_000,
            window_max_ms: 30 * 86_400_000,
            threshold: 0.72,
            cost_missed_failure: 3_000.0,
            cost_truck_roll: 150.0,
            comfort_band_c: (20.0, 25.0),
            models: Vec::new(),
            episode_span_ms: 7 * 86_400_000,
            bootstrap: 1_000,
            seed: 0,
            counterfactuals: true,
            fault_life: Vec::new(),
        }
    }
}

impl Params {
    /// Device-years of the run (homes × duration).
    pub fn device_years(&self) -> f64 {
        self.homes as f64 * (self.end_ms - self.start_ms) as f64 / (365.25 * 86_400_000.0)
    }
}

/// Count, mean and quantiles of a sample (linear interpolation between
/// order statistics, NumPy's default); all `None` for an empty sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// Sample size.
    pub count: u64,
    /// Mean.
    pub mean: Option<f64>,
    /// 10th percentile.
    pub p10: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
}

impl Quantiles {
    /// The quantiles of `xs` (NaNs ignored).
    pub fn of(mut xs: Vec<f64>) -> Quantiles {
        xs.retain(|x| !x.is_nan());
        if xs.is_empty() {
            return Quantiles::default();
        }
        xs.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let h = (xs.len() - 1) as f64 * p;
            let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
            xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
        };
        Quantiles {
            count: xs.len() as u64,
            mean: Some(xs.iter().sum::<f64>() / xs.len() as f64),
            p10: Some(q(0.10)),
            median: Some(q(0.5)),
            p90: Some(q(0.90)),
            p99: Some(q(0.99)),
            max: xs.last().copied(),
        }
    }
}

/// `a / b`, `None` when `b` is 0.
pub fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Every metric of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// The run's alerts against the ground truth.
    pub prediction: prediction::Score,
    /// Why the prediction numbers are empty, and what to change (`None`
    /// when there were failures to score).
    pub prediction_note: Option<String>,
    /// The primary's alerts replayed at thresholds 0.05 … 0.95.
    pub threshold_sweep: sweep::Sweep,
    /// Every predictor scored alike (the primary first): the leaderboard.
    pub models: Vec<models::ModelScore>,
    /// Requests, 429s, Retry-After, telemetry delivery.
    pub rate_limits: traffic::RateLimits,
    /// Comfort and energy.
    pub comfort_energy: comfort::ComfortEnergy,
    /// OTA, commands, webhooks.
    pub operations: operations::Operations,
    /// The ground truth the scores came from (for the charts; not in
    /// `summary.json`).
    #[serde(skip)]
    pub truth: prediction::Truth,
    /// The predictor's alerts, (home, time) (for the charts).
    #[serde(skip)]
    pub alerts: Vec<prediction::AlertAt>,
    /// What each model of `models` brings to a bootstrap (for a suite's
    /// aggregate over fleets).
    #[serde(skip)]
    pub model_data: Vec<bootstrap::ModelData>,
}

/// Why metrics could not be computed.
#[derive(Debug, thiserror::Error)]
#[error("{table}.parquet: {message}")]
pub struct MetricsError {
    /// The table.
    pub table: &'static str,
    /// What failed.
    pub message: String,
}

/// The fleet table: device ids to homes, homes' prices.
#[derive(Debug, Default)]
pub(crate) struct Fleet {
    pub(crate) home_of: BTreeMap<String, u32>,
    pub(crate) price: BTreeMap<u32, f64>,
    pub(crate) percentile: BTreeMap<i64, f64>,
}

pub(crate) fn read_table(
    dir: &Path,
    table: &'static str,
    columns: &[&str],
    f: impl FnMut(&polars_core::prelude::DataFrame) -> PolarsResult<()>,
) -> Result<(), MetricsError> {
    scan(&dir.join(format!("{table}.parquet")), columns, f).map_err(|e| MetricsError {
        table,
        message: e.to_string(),
    })
}

pub(crate) fn home_index(h: i64) -> u32 {
    u32::try_from(h).unwrap_or(u32::MAX)
}

pub(crate) fn fleet(dir: &Path) -> Result<Fleet, MetricsError> {
    let mut out = Fleet::default();
    read_table(
        dir,
        "fleet",
        &["home", "device_id", "price_per_kwh", "rollout_percentile"],
        |df| {
            let (home, dev, price, pct) = (
                ints(df, "home")?,
                texts(df, "device_id")?,
                floats(df, "price_per_kwh")?,
                floats(df, "rollout_percentile")?,
            );
            for (((h, d), p), pct) in home.into_iter().zip(dev).zip(price).zip(pct) {
                let h = h.unwrap_or(-1);
                if let Some(pct) = pct {
                    out.percentile.insert(h, pct);
                }
                let h = home_index(h);
                out.home_of.insert(d.unwrap_or_default().to_owned(), h);
                out.price.insert(h, p.unwrap_or(0.0));
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// One event of `ground_truth.parquet`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TruthEvent<'a> {
    /// A fault began.
    Onset(&'a str),
    /// A sensor began to misreport (its kind).
    SensorFault(&'a str),
    /// The compressor failed of a fault that began at `onset`.
    Failure(&'a str, i64),
    /// A repaired fault (begun at `onset`, repaired at `repaired_at`) would
    /// have failed now.
    WouldFail {
        fault: &'a str,
        onset: i64,
        repaired_at: i64,
    },
    /// A technician visited: the faults repaired (comma-separated; empty:
    /// none), and whether the unit had failed.
    Visit(&'a str, bool),
}

/// Calls `f(at, home, event)` for each event of the ground truth.
pub(crate) fn ground_truth(
    dir: &Path,
    mut f: impl FnMut(i64, i64, TruthEvent<'_>),
) -> Result<(), MetricsError> {
    read_table(
        dir,
        "ground_truth",
        &["at", "home", "event", "fault", "onset", "repaired_at"],
        |df| {
            let (at, home, event, fault) = (
                ints(df, "at")?,
                ints(df, "home")?,
                texts(df, "event")?,
                texts(df, "fault")?,
            );
            let (onset, repaired) = (ints(df, "onset")?, ints(df, "repaired_at")?);
            for (i, (((at, h), e), fault)) in
                at.into_iter().zip(home).zip(event).zip(fault).enumerate()
            {
                let (at, home, fault) =
                    (at.unwrap_or(0), h.unwrap_or(-1), fault.unwrap_or_default());
                let onset = onset[i].unwrap_or(at);
                let event = match e.unwrap_or_default() {
                    "onset" => TruthEvent::Onset(fault),
                    "failure" => TruthEvent::Failure(fault, onset),
                    "would_fail" => TruthEvent::WouldFail {
                        fault,
                        onset,
                        repaired_at: repaired[i].unwrap_or(onset),
                    },
                    "visit_prevented" | "visit_unnecessary" => TruthEvent::Visit(fault, false),
                    "visit_after_failure" => TruthEvent::Visit(fault, true),
                    "sensor_fault" => TruthEvent::SensorFault(fault),
                    _ => continue,
                };
                f(at, home, event);
            }
            Ok(())
        },
    )
}

pub(crate) fn truth(dir: &Path) -> Result<prediction::Truth, MetricsError> {
    let mut t = prediction::Truth::default();
    ground_truth(dir, |at, home, event| {
        let home = home_index(home);
        match event {
            TruthEvent::SensorFault(kind) => t.sensor_faults.push(prediction::SensorFault {
                home,
                at,
                kind: kind.to_owned(),
            }),
            TruthEvent::Onset(fault) => t.onsets.push(prediction::Onset {
                home,
                at,
                fault: fault.to_owned(),
            }),
            TruthEvent::Failure(fault, onset) => t.failures.push(prediction::Failure {
                home,
                at,
                fault: fault.to_owned(),
                onset,
            }),
            TruthEvent::WouldFail {
                fault,
                onset,
                repaired_at,
            } => t.would_fail.push(prediction::WouldFail {
                home,
                at,
                fault: fault.to_owned(),
                onset,
                repaired_at,
            }),
            TruthEvent::Visit(faults, after_failure) => t.visits.push(prediction::Visit {
                home,
                at,
                repaired: faults
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned)
                    .collect(),
                after_failure,
            }),
        }
    })?;
    Ok(t)
}

/// One row of the alerts table.
#[derive(Debug, Clone)]
pub(crate) struct AlertRow {
    home: u32,
    issue: String,
    created: i64,
    integration: bool,
    resolved: Option<i64>,
}

/// The alerts table's rows (of known devices); counts the predictor's
/// alerts by issue into `by_issue`.
pub(crate) fn read_alerts(
    dir: &Path,
    fleet: &Fleet,
    by_issue: &mut std::collections::HashMap<String, u64>,
) -> Result<Vec<AlertRow>, MetricsError> {
    let home = |d: Option<&str>| d.and_then(|d| fleet.home_of.get(d)).copied();
    let mut rows = Vec::new();
    read_table(
        dir,
        "alerts",
        &["created_at", "device_id", "source", "issue", "resolved_at"],
        |df| {
            let (at, dev, src, issue, resolved) = (
                ints(df, "created_at")?,
                texts(df, "device_id")?,
                texts(df, "source")?,
                texts(df, "issue")?,
                ints(df, "resolved_at")?,
            );
            for ((((at, d), s), i), r) in at.into_iter().zip(dev).zip(src).zip(issue).zip(resolved)
            {
                let (Some(created), Some(h)) = (at, home(d)) else {
                    continue;
                };
                let integration = s != Some("predictor");
                let issue = i.unwrap_or_default().to_owned();
                if !integration {
                    *by_issue.entry(issue.clone()).or_default() += 1;
                }
                rows.push(AlertRow {
                    home: h,
                    issue,
                    created,
                    integration,
                    resolved: r,
                });
            }
            Ok(())
        },
    )?;
    Ok(rows)
}

/// The predictor's alerts; every alert (any source) goes into `replay`.
pub(crate) fn alerts(rows: &[AlertRow], replay: &mut models::Replay) -> Vec<prediction::AlertAt> {
    let mut alerts = Vec::new();
    for a in rows {
        replay.alert(a.home, &a.issue, a.created, a.integration, a.resolved);
        if !a.integration {
            alerts.push(prediction::AlertAt {
                home: a.home,
                at: a.created,
                class: prediction::class_of_issue(&a.issue),
            });
        }
    }
    alerts
}

/// Computes every metric of the run folder `dir`.
pub fn compute(dir: &Path, p: &Params) -> Result<Metrics, MetricsError> {
    let fleet = fleet(dir)?;
    let home = |d: Option<&str>| d.and_then(|d| fleet.home_of.get(d)).copied();
    let truth = truth(dir)?;

    let mut alerts_by_issue = std::collections::HashMap::new();
    let run_alerts = read_alerts(dir, &fleet, &mut alerts_by_issue)?;
    let facts = prediction::Facts::new(&truth);
    let mut replay = models::Replay::new(sweep::thresholds(p.threshold), &p.models)
        .with_labels(calibration::Labeler::new(&facts, p));
    if !p.models.is_empty() {
        replay = replay.with_baselines(&alerts_by_issue, p);
    }
    let alerts = alerts(&run_alerts, &mut replay);
    read_table(
        dir,
        "predictions",
        &["at", "device_id", "model", "issue", "confidence"],
        |df| {
            let (at, dev, model, issue, conf) = (
                ints(df, "at")?,
                texts(df, "device_id")?,
                texts(df, "model")?,
                texts(df, "issue")?,
                floats(df, "confidence")?,
            );
            for ((((at, d), m), i), c) in at.into_iter().zip(dev).zip(model).zip(issue).zip(conf) {
                if let (Some(at), Some(h), Some(c)) = (at, home(d), c) {
                    replay.prediction(m.unwrap_or_default(), h, at, i.unwrap_or_default(), c);
                }
            }
            Ok(())
        },
    )?;
    let mut scores = Vec::new();
    let mut data = Vec::new();
    let mut threshold_sweep = None;
    for m in 0..replay.models().len() {
        let (row, sweep, _, d) = models::score_model(&replay, m, m == 0, &facts, p);
        if m == 0 {
            threshold_sweep = Some(sweep);
        }
        scores.push(row);
        data.push(d);
    }
    models::bootstrap(&mut scores, &data, p);
    let model_data = data;
    let threshold_sweep = threshold_sweep.unwrap_or_else(|| {
        sweep::sweep(
            replay.thresholds(),
            &vec![Vec::new(); replay.thresholds().len()],
            &facts,
            p,
        )
        .0
    });

    let mut traffic = traffic::Traffic::new(p.start_ms, p.end_ms - p.start_ms);
    read_table(
        dir,
        "requests",
        &[
            "arrival",
            "client",
            "tier",
            "endpoint",
            "status",
            "retry_after_s",
        ],
        |df| {
            let (at, client, tier, endpoint) = (
                ints(df, "arrival")?,
                texts(df, "client")?,
                texts(df, "tier")?,
                texts(df, "endpoint")?,
            );
            let (status, retry) = (ints(df, "status")?, ints(df, "retry_after_s")?);
            for (((((at, c), t), e), s), r) in at
                .into_iter()
                .zip(client)
                .zip(tier)
                .zip(endpoint)
                .zip(status)
                .zip(retry)
            {
                traffic.request(
                    at.unwrap_or(0),
                    c.unwrap_or_default(),
                    t.unwrap_or_default(),
                    e.unwrap_or_default(),
                    u16::try_from(s.unwrap_or(0)).unwrap_or(0),
                    r.and_then(|r| u64::try_from(r).ok()),
                );
            }
            Ok(())
        },
    )?;
    if dir.join("telemetry.parquet").exists() {
        read_table(
            dir,
            "telemetry",
            &["received_at", "device_id", "measured_at", "seq"],
            |df| {
                let (rx, dev, m, seq) = (
                    ints(df, "received_at")?,
                    texts(df, "device_id")?,
                    ints(df, "measured_at")?,
                    ints(df, "seq")?,
                );
                for (((rx, d), m), q) in rx.into_iter().zip(dev).zip(m).zip(seq) {
                    traffic.reading(
                        d.unwrap_or_default(),
                        q.and_then(|q| u64::try_from(q).ok()),
                        m.unwrap_or(0),
                        rx.unwrap_or(0),
                    );
                }
                Ok(())
            },
        )?;
    }
    read_table(dir, "firmware_events", &["event"], |df| {
        let dropped = texts(df, "event")?
            .into_iter()
            .filter(|e| *e == Some("reading_dropped"))
            .count();
        traffic.dropped(dropped as u64);
        Ok(())
    })?;

    let mut comfort = comfort::Comfort::new(p.start_ms, p.comfort_band_c);
    let mut running = (0u64, 0u64);
    read_table(
        dir,
        "homes",
        &[
            "at",
            "home",
            "energy_kwh",
            "discomfort_kh",
            "compressor_starts",
            "short_cycles",
            "compressor",
        ],
        |df| {
            let (at, home, e, d) = (
                ints(df, "at")?,
                ints(df, "home")?,
                floats(df, "energy_kwh")?,
                floats(df, "discomfort_kh")?,
            );
            for c in bools(df, "compressor")? {
                running.0 += u64::from(c == Some(true));
                running.1 += 1;
            }
            let (starts, short) = (ints(df, "compressor_starts")?, ints(df, "short_cycles")?);
            for (((((at, h), e), d), st), sh) in at
                .into_iter()
                .zip(home)
                .zip(e)
                .zip(d)
                .zip(starts)
                .zip(short)
            {
                comfort.sample(
                    home_index(h.unwrap_or(-1)),
                    at.unwrap_or(0),
                    e.unwrap_or(0.0),
                    d.unwrap_or(0.0),
                    st.map_or(0, |x| x.max(0) as u64),
                    sh.map_or(0, |x| x.max(0) as u64),
                );
            }
            Ok(())
        },
    )?;

    let mut ops = operations::Ops::new(p.start_ms).with_percentiles(fleet.percentile.clone());
    read_table(
        dir,
        "ota_events",
        &["at", "source", "home", "version", "event", "detail"],
        |df| {
            let (at, src, home, ver) = (
                ints(df, "at")?,
                texts(df, "source")?,
                ints(df, "home")?,
                texts(df, "version")?,
            );
            let (ev, det) = (texts(df, "event")?, texts(df, "detail")?);
            for (((((at, s), h), v), e), d) in
                at.into_iter().zip(src).zip(home).zip(ver).zip(ev).zip(det)
            {
                ops.ota(
                    at.unwrap_or(0),
                    s.unwrap_or_default(),
                    h,
                    v.unwrap_or_default(),
                    e.unwrap_or_default(),
                    d,
                );
            }
            Ok(())
        },
    )?;
    read_table(
        dir,
        "commands",
        &["created_at", "status", "delivered_at", "finished_at"],
        |df| {
            let (c, s, d, f) = (
                ints(df, "created_at")?,
                texts(df, "status")?,
                ints(df, "delivered_at")?,
                ints(df, "finished_at")?,
            );
            for (((c, s), d), f) in c.into_iter().zip(s).zip(d).zip(f) {
                ops.command(c.unwrap_or(0), s.unwrap_or_default(), d, f);
            }
            Ok(())
        },
    )?;
    read_table(dir, "webhooks", &["event", "verified", "attempt"], |df| {
        let (e, v, a) = (
            texts(df, "event")?,
            bools(df, "verified")?,
            ints(df, "attempt")?,
        );
        for ((e, v), a) in e.into_iter().zip(v).zip(a) {
            let attempt = a.and_then(|a| u32::try_from(a).ok()).unwrap_or(1);
            ops.webhook(e.unwrap_or_default(), v.unwrap_or(false), attempt);
        }
        Ok(())
    })?;

    let prediction = prediction::score_facts(&alerts, &facts, p);
    let duty = (running.1 > 0).then(|| running.0 as f64 / running.1 as f64);
    Ok(Metrics {
        prediction_note: nothing_to_score(&prediction, &truth, p, duty),
        prediction,
        threshold_sweep,
        models: scores,
        rate_limits: traffic.finish(),
        comfort_energy: comfort.finish(&fleet.price),
        operations: ops.finish(),
        truth,
        alerts,
        model_data,
    })
}

/// Why a run has no failure to score, and what to change: `None` when
/// it has one. `duty` is the fleet's compressor duty cycle (share of the
/// homes table's samples with the compressor on).
pub fn nothing_to_score(
    s: &prediction::Score,
    truth: &prediction::Truth,
    p: &Params,
    duty: Option<f64>,
) -> Option<String> {
    if s.failures + s.prevented > 0 {
        return None;
    }
    let days = (p.end_ms - p.start_ms) as f64 / 86_400_000.0;
    if truth.onsets.is_empty() {
        return Some(format!(
            "0 failures to score: no fault began in these {days:.0} days; raise a fault's incidence ([faults.bearing] incidence, …) or run longer (--days)"
        ));
    }
    let mut onsets: BTreeMap<&str, u64> = BTreeMap::new();
    for o in &truth.onsets {
        *onsets.entry(o.fault.as_str()).or_default() += 1;
    }
    let began: Vec<String> = onsets.iter().map(|(f, n)| format!("{n} {f}")).collect();
    let mut note = format!(
        "0 failures to score: {} fault(s) began ({}) but none failed{} before the end",
        truth.onsets.len(),
        began.join(", "),
        if s.prevented_censored > 0 {
            " (repairs came too early for their failure to fall within the run)"
        } else {
            ""
        }
    );
    for life in p
        .fault_life
        .iter()
        .filter(|l| onsets.contains_key(l.fault.as_str()))
    {
        if life.running {
            match duty.filter(|d| *d > 0.0) {
                Some(d) => {
                    let need = life.hours / (24.0 * d);
                    note.push_str(&format!(
                        "; {} takes ≈ {:.0} running hours from onset to failure and the compressors ran ≈ {:.1} h a day, ≈ {:.0} days: try --days {:.0} or a faster {}",
                        life.fault,
                        life.hours,
                        24.0 * d,
                        need,
                        (days + need).ceil(),
                        life.key
                    ));
                }
                None => note.push_str(&format!(
                    "; {} takes ≈ {:.0} running hours from onset to failure and the compressors hardly ran: try a hotter or colder season",
                    life.fault, life.hours
                )),
            }
        } else {
            note.push_str(&format!(
                "; {} takes ≈ {:.0} days from onset to failure: try --days {:.0} or a faster {}",
                life.fault,
                life.hours / 24.0,
                (days + life.hours / 24.0).ceil(),
                life.key
            ));
        }
    }
    Some(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_score_says_why_and_what_to_change() {
        let p = Params {
            start_ms: 0,
            end_ms: 10 * 86_400_000,
            fault_life: vec![FaultLife {
                fault: "bearing_wear".into(),
                hours: 120.0,
                running: true,
                key: "[faults.bearing] rate_um_per_h".into(),
            }],
            ..Params::default()
        };
        let mut truth = prediction::Truth::default();
        let s = prediction::score(&[], &truth, &p);
        assert!(
            nothing_to_score(&s, &truth, &p, None)
                .unwrap()
                .contains("no fault began")
        );
        truth.onsets.push(prediction::Onset {
            home: 0,
            at: 86_400_000,
            fault: "bearing_wear".into(),
        });
        let s = prediction::score(&[], &truth, &p);
        // 120 running hours at 6 h a day: 20 days more.
        let note = nothing_to_score(&s, &truth, &p, Some(0.25)).unwrap();
        assert!(note.contains("1 bearing_wear"), "{note}");
        assert!(note.contains("≈ 20 days: try --days 30"), "{note}");
    }

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let q = Quantiles::of(vec![4.0, 1.0, 3.0, 2.0, f64::NAN]);
        assert_eq!(q.count, 4);
        assert_eq!(q.mean, Some(2.5));
        assert_eq!(q.median, Some(2.5));
        assert!((q.p10.unwrap() - 1.3).abs() < 1e-12);
        assert_eq!(q.max, Some(4.0));
        assert_eq!(Quantiles::of(vec![]), Quantiles::default());
        assert_eq!(ratio(1, 0), None);
    }
}
