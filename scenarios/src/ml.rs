//! Training the `logistic` predictor (`thermotwin ml train`): a logistic
//! classifier per fault, fitted to a run's labelled dataset
//! (`dataset.parquet`, see `reports::dataset`): the positives of a fault's
//! class are the rows whose unit had that fault and failed of it at most
//! the evaluation's `window_max` later (the last hours before a failure
//! included: they are the clearest examples of a failing unit, even though
//! an alert then comes too late to count); rows of a unit whose fault was in
//! progress but whose failure lies beyond the run's end (censored) or was
//! pre-empted by a repair are left out, their label unknown.

use std::path::Path;

use api_server::predictors::features::NAMES;
use api_server::predictors::logistic::{self, Class, FORMAT, LogisticFile};
use reports::tables::{floats, scan, texts};

/// Each fault's class: (fault, the issue its predictions name).
pub const ISSUES: [(&str, &str); 3] = [
    ("bearing_wear", api_server::predictors::BEARING_ISSUE),
    ("refrigerant_leak", "Refrigerant leak (low charge)"),
    ("capacitor_ageing", "Run capacitor degradation"),
];

/// Each class's inputs (aligned with [`ISSUES`]): the features through
/// which its fault shows in the physics, each comparing a unit with itself
/// or with the weather — slopes, rises over the unit's own baseline,
/// kurtosis (dimensionless), the current's ratio to the unit's baseline and
/// to what it draws at that outdoor temperature, the duty cycle, the
/// runtime per degree-hour. Absolute
/// levels (peak, RMS, current) differ more between installations than
/// between a healthy and a failing unit (a healthy unit may be as loud as a
/// worn one), so a classifier fitted to a few dozen units learns those units
/// instead of the fault: on 24-home training fleets, models with them raised
/// 10–26 false alarms per 96 evaluation homes where these inputs raise none.
/// - bearing wear: the spall's growth (Li et al. 1999) raises the peak and
///   RMS exponentially and makes the signal impulsive (kurtosis); its drag
///   adds at most 5 % current, lost in the weather's swing of the current,
///   so the bearing class reads vibration only;
/// - refrigerant leak: lost capacity lengthens the runtime (duty, runtime
///   per degree-hour) and changes the current;
/// - capacitor ageing: the current rises over the unit's baseline and over
///   what the weather explains.
pub const INPUTS: [&[&str]; 3] = [
    &[
        "log_peak_slope_per_day",
        "log_peak_rise",
        "rms_slope_per_day",
        "kurtosis_mean",
        "kurtosis_slope_per_day",
    ],
    ELECTRICAL,
    ELECTRICAL,
];

/// The leak's and the capacitor's inputs.
const ELECTRICAL: &[&str] = &[
    "current_ratio",
    "duty",
    "current_vs_expected",
    "runtime_per_degree_hour",
];

/// The L2 penalty on standardised weights, per row of the dataset.
pub const L2: f64 = 1e-4;

/// A trained model and what it was trained on.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// The model file.
    pub file: LogisticFile,
    /// Rows of the dataset.
    pub rows: usize,
    /// Each fault's positive rows (faults without any get no class).
    pub positives: Vec<(&'static str, usize)>,
}

/// A dataset row's class: `Some(Some(k))` a positive of `ISSUES[k]`,
/// `Some(None)` a negative of every class, `None` unknown (a fault in
/// progress whose failure is not in the run: left out).
fn label(fault: Option<&str>, ttf_h: Option<f64>, window_max_h: f64) -> Option<Option<usize>> {
    match (fault, ttf_h) {
        (None, _) => Some(None),
        (Some(_), None) => None,
        (Some(f), Some(h)) => Some(
            (h <= window_max_h)
                .then(|| ISSUES.iter().position(|(k, _)| *k == f))
                .flatten(),
        ),
    }
}

/// Why a model could not be trained; each names the dataset.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The dataset cannot be read.
    #[error("{path}: {source}")]
    Dataset {
        /// The dataset file.
        path: String,
        /// The table reader's error.
        source: reports::tables::PolarsError,
    },
    /// A classifier's fit did not converge.
    #[error("the {fault} classifier did not converge")]
    NoConvergence {
        /// The fault it recognises.
        fault: &'static str,
    },
    /// No positive example of any fault.
    #[error(
        "{path}: no unit failed within the prediction window, so there is nothing to learn; run the training fleet longer, with more faults, or with a wider [evaluation] window"
    )]
    NothingToLearn {
        /// The dataset file.
        path: String,
    },
}

/// Fits a class per fault to the dataset `path`, whose positives fail at
/// most `window_max_h` hours later.
pub fn train(path: &Path, window_max_h: f64) -> Result<Trained, TrainError> {
    let mut x: Vec<[f64; NAMES.len()]> = Vec::new();
    let mut labels: Vec<Option<usize>> = Vec::new();
    let mut columns: Vec<&str> = NAMES.to_vec();
    columns.extend(["fault", "time_to_failure_h"]);
    scan(path, &columns, |df| {
        let values = NAMES
            .iter()
            .map(|c| floats(df, c))
            .collect::<Result<Vec<_>, _>>()?;
        let fault = texts(df, "fault")?;
        let ttf = floats(df, "time_to_failure_h")?;
        for (i, (f, h)) in fault.into_iter().zip(ttf).enumerate() {
            let Some(label) = label(f, h, window_max_h) else {
                continue;
            };
            let mut row = [f64::NAN; NAMES.len()];
            for (j, col) in values.iter().enumerate() {
                row[j] = col[i].unwrap_or(f64::NAN);
            }
            x.push(row);
            labels.push(label);
        }
        Ok(())
    })
    .map_err(|source| TrainError::Dataset {
        path: path.display().to_string(),
        source,
    })?;
    let mut classes = Vec::new();
    let mut positives = Vec::new();
    for (k, (fault, issue)) in ISSUES.iter().enumerate() {
        let y: Vec<bool> = labels.iter().map(|l| *l == Some(k)).collect();
        let n = y.iter().filter(|&&v| v).count();
        positives.push((*fault, n));
        if n == 0 {
            continue;
        }
        let inputs = NAMES.map(|name| INPUTS[k].contains(&name));
        let fit = logistic::fit(&x, &y, L2, &inputs).ok_or(TrainError::NoConvergence { fault })?;
        classes.push(Class {
            fault: (*fault).to_owned(),
            issue: (*issue).to_owned(),
            action: "Schedule HVAC inspection within 14 days".to_owned(),
            mean: fit.mean,
            scale: fit.scale,
            weights: fit.weights,
            bias: fit.bias,
        });
    }
    if classes.is_empty() {
        return Err(TrainError::NothingToLearn {
            path: path.display().to_string(),
        });
    }
    Ok(Trained {
        file: LogisticFile {
            format: FORMAT,
            features: NAMES.iter().map(|s| (*s).to_owned()).collect(),
            classes,
        },
        rows: x.len(),
        positives,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_reads_known_features() {
        for inputs in INPUTS {
            assert!(!inputs.is_empty());
            assert!(inputs.iter().all(|f| NAMES.contains(f)), "{inputs:?}");
        }
    }

    #[test]
    fn rows_are_labelled_by_the_time_to_failure_and_censored_ones_left_out() {
        let w = 720.0;
        // Healthy: a negative of every class.
        assert_eq!(label(None, None, w), Some(None));
        // Failing within the window, the last hours included: positive.
        assert_eq!(label(Some("bearing_wear"), Some(300.0), w), Some(Some(0)));
        assert_eq!(label(Some("bearing_wear"), Some(0.5), w), Some(Some(0)));
        assert_eq!(
            label(Some("capacitor_ageing"), Some(720.0), w),
            Some(Some(2))
        );
        // Failing later than the window: negative.
        assert_eq!(label(Some("refrigerant_leak"), Some(721.0), w), Some(None));
        // A fault whose failure the run did not see: unknown, left out.
        assert_eq!(label(Some("bearing_wear"), None, w), None);
    }
}
