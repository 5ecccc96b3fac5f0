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
    #[serde(default)]
    pub models: Vec<String>,
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
    /// The compressor failed of a fault.
    Failure(&'a str),
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
        &["at", "home", "event", "fault"],
        |df| {
            let (at, home, event, fault) = (
                ints(df, "at")?,
                ints(df, "home")?,
                texts(df, "event")?,
                texts(df, "fault")?,
            );
            for (((at, h), e), fault) in at.into_iter().zip(home).zip(event).zip(fault) {
                let (at, home, fault) =
                    (at.unwrap_or(0), h.unwrap_or(-1), fault.unwrap_or_default());
                let event = match e.unwrap_or_default() {
                    "onset" => TruthEvent::Onset(fault),
                    "failure" => TruthEvent::Failure(fault),
                    "visit_prevented" | "visit_unnecessary" => TruthEvent::Visit(fault, false),
                    "visit_after_failure" => TruthEvent::Visit(fault, true),
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
            TruthEvent::Onset(_) => t.onsets.push((home, at)),
            TruthEvent::Failure(fault) => t.failures.push(prediction::Failure {
                home,
                at,
                fault: fault.to_owned(),
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

/// The predictor's alerts: (home, created at); every alert (any source)
/// goes into `replay`.
pub(crate) fn alerts(
    dir: &Path,
    fleet: &Fleet,
    replay: &mut models::Replay,
) -> Result<Vec<prediction::AlertAt>, MetricsError> {
    let home = |d: Option<&str>| d.and_then(|d| fleet.home_of.get(d)).copied();
    let mut alerts = Vec::new();
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
                let (Some(at), Some(h)) = (at, home(d)) else {
                    continue;
                };
                let integration = s != Some("predictor");
                replay.alert(h, i.unwrap_or_default(), at, integration, r);
                if !integration {
                    alerts.push((h, at));
                }
            }
            Ok(())
        },
    )?;
    Ok(alerts)
}

/// Computes every metric of the run folder `dir`.
pub fn compute(dir: &Path, p: &Params) -> Result<Metrics, MetricsError> {
    let fleet = fleet(dir)?;
    let home = |d: Option<&str>| d.and_then(|d| fleet.home_of.get(d)).copied();
    let truth = truth(dir)?;

    let mut replay = models::Replay::new(sweep::thresholds(p.threshold), &p.models);
    let alerts = alerts(dir, &fleet, &mut replay)?;
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
    let mut threshold_sweep = None;
    for m in 0..replay.models().len() {
        let (row, sweep, _) = models::score_model(&replay, m, m == 0, &truth, p);
        if m == 0 {
            threshold_sweep = Some(sweep);
        }
        scores.push(row);
    }
    let threshold_sweep = threshold_sweep.unwrap_or_else(|| {
        sweep::sweep(
            replay.thresholds(),
            &vec![Vec::new(); replay.thresholds().len()],
            &truth,
            p,
        )
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
        ],
        |df| {
            let (at, home, e, d) = (
                ints(df, "at")?,
                ints(df, "home")?,
                floats(df, "energy_kwh")?,
                floats(df, "discomfort_kh")?,
            );
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

    Ok(Metrics {
        prediction: prediction::score(&alerts, &truth, p),
        threshold_sweep,
        models: scores,
        rate_limits: traffic.finish(),
        comfort_energy: comfort.finish(&fleet.price),
        operations: ops.finish(),
        truth,
        alerts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
