//! The labelled dataset of `thermotwin run --export-dataset`: each feature
//! row of `features.parquet` labelled from the ground truth (what was wrong,
//! and how long until the unit failed), streamed into `dataset.parquet`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::metrics::{MetricsError, Params, TruthEvent, fleet, ground_truth, read_table};
use crate::schema::{DATASET, FEATURES, feature_columns};
use crate::tables::{TableError, TableWriter, V, floats, ints, texts};

/// Why the dataset could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A table could not be read.
    #[error(transparent)]
    Read(#[from] MetricsError),
    /// The dataset could not be written.
    #[error(transparent)]
    Write(#[from] TableError),
    /// The raw features could not be removed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
}

/// One home's ground truth, as labels need it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct History {
    /// Fault onsets: (time, fault).
    pub onsets: Vec<(i64, String)>,
    /// Failures: (time, fault).
    pub failures: Vec<(i64, String)>,
    /// Technician visits: (time, faults repaired, after a failure).
    pub visits: Vec<(i64, Vec<String>, bool)>,
}

/// The labels of a row at `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// The fault in progress (or that failed the unit), if any.
    pub fault: Option<String>,
    /// The unit is down.
    pub failed: bool,
    /// Hours to the next failure, unless a repair comes first.
    pub time_to_failure_h: Option<f64>,
}

impl History {
    /// Whether `fault` was repaired in `(from, to]`.
    fn repaired(&self, fault: &str, from: i64, to: i64) -> bool {
        self.visits
            .iter()
            .any(|(at, faults, _)| *at > from && *at <= to && faults.iter().any(|f| f == fault))
    }

    /// The labels at `t`.
    pub fn labels(&self, t: i64) -> Labels {
        // Down: failed at or before t, no repair after the failure yet.
        let down = self
            .failures
            .iter()
            .filter(|(at, f)| *at <= t && !self.repaired(f, *at, t))
            .max_by_key(|(at, _)| *at);
        let in_progress = self
            .onsets
            .iter()
            .filter(|(at, f)| {
                *at <= t
                    && !self.repaired(f, *at, t)
                    && !self
                        .failures
                        .iter()
                        .any(|(ft, ff)| ff == f && *ft >= *at && *ft <= t)
            })
            .max_by_key(|(at, _)| *at);
        let next = self
            .failures
            .iter()
            .filter(|(at, f)| *at > t && !self.repaired(f, t, *at - 1))
            .min_by_key(|(at, _)| *at);
        Labels {
            fault: down.or(in_progress).map(|(_, f)| f.clone()),
            failed: down.is_some(),
            time_to_failure_h: next.map(|(at, _)| (at - t) as f64 / 3_600_000.0),
        }
    }
}

/// Each home's history from `ground_truth.parquet`.
pub fn histories(dir: &Path) -> Result<BTreeMap<i64, History>, MetricsError> {
    let mut out: BTreeMap<i64, History> = BTreeMap::new();
    ground_truth(dir, |at, home, event| {
        let hist = out.entry(home).or_default();
        match event {
            TruthEvent::Onset(f) => hist.onsets.push((at, f.to_owned())),
            TruthEvent::Failure(f, _) => hist.failures.push((at, f.to_owned())),
            TruthEvent::WouldFail { .. } | TruthEvent::SensorFault(_) => {}
            TruthEvent::Visit(faults, after_failure) => {
                let repaired = faults
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                hist.visits.push((at, repaired, after_failure));
            }
        }
    })?;
    Ok(out)
}

/// Labels `features.parquet` of run folder `dir` into `dataset.parquet`
/// (removing the raw features); returns the rows written.
pub fn label(dir: &Path, p: &Params) -> Result<u64, DatasetError> {
    let fleet = fleet(dir)?;
    let histories = histories(dir)?;
    let empty = History::default();
    let mut out = TableWriter::create(dir, DATASET)?;
    let features: Vec<&str> = feature_columns().collect();
    let mut columns = vec!["at", "device_id"];
    columns.extend(&features);
    let mut write_error = None;
    read_table(dir, FEATURES.name, &columns, |df| {
        let at = ints(df, "at")?;
        let dev = texts(df, "device_id")?;
        let values = features
            .iter()
            .map(|c| floats(df, c))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, (t, d)) in at.into_iter().zip(dev).enumerate() {
            let (Some(t), Some(d)) = (t, d) else {
                continue;
            };
            let home = fleet.home_of.get(d).copied();
            let labels = home
                .and_then(|h| histories.get(&i64::from(h)))
                .unwrap_or(&empty)
                .labels(t);
            let within = labels.time_to_failure_h.is_some_and(|h| {
                let ms = h * 3_600_000.0;
                ms >= p.window_min_ms as f64 && ms <= p.window_max_ms as f64
            });
            let mut row = vec![
                V::Time(t),
                V::Int(home.map_or(-1, i64::from)),
                V::Text(d.to_owned()),
            ];
            row.extend(
                values
                    .iter()
                    .map(|col| V::OptFloat(col[i].filter(|v| v.is_finite()))),
            );
            row.extend([
                V::OptText(labels.fault),
                V::Bool(labels.failed),
                V::OptFloat(labels.time_to_failure_h),
                V::Bool(within),
            ]);
            if let Err(e) = out.push(row) {
                write_error.get_or_insert(e);
            }
        }
        Ok(())
    })?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let rows = out.finish()?;
    let raw = dir.join(format!("{}.parquet", FEATURES.name));
    std::fs::remove_file(&raw).map_err(|e| DatasetError::Io {
        path: raw.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn labels_follow_onsets_failures_and_repairs() {
        let hist = History {
            onsets: vec![
                (10 * H, "bearing_wear".into()),
                (100 * H, "bearing_wear".into()),
            ],
            failures: vec![(50 * H, "bearing_wear".into())],
            visits: vec![
                (60 * H, vec!["bearing_wear".into()], true),
                (120 * H, vec!["bearing_wear".into()], false),
            ],
        };
        let at = |h: i64| hist.labels(h * H);
        // Healthy, the failure 45 h ahead.
        assert_eq!(
            at(5),
            Labels {
                fault: None,
                failed: false,
                time_to_failure_h: Some(45.0)
            }
        );
        // Wearing.
        assert_eq!(at(20).fault.as_deref(), Some("bearing_wear"));
        assert_eq!(at(20).time_to_failure_h, Some(30.0));
        // Down until the repair at 60 h.
        assert!(at(55).failed && at(55).fault.is_some());
        assert_eq!(at(55).time_to_failure_h, None);
        // Repaired: healthy; the second wear is repaired before failing.
        assert_eq!(at(70).fault, None);
        assert!(!at(70).failed);
        assert_eq!(at(110).fault.as_deref(), Some("bearing_wear"));
        assert_eq!(at(110).time_to_failure_h, None);
        assert_eq!(at(130).fault, None);
    }
}
