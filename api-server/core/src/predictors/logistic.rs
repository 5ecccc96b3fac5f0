//! `logistic`: one logistic-regression classifier per issue over the
//! engineered features ([`super::features`]), trained offline on a
//! labelled dataset and loaded from a JSON file.

use std::sync::Arc;

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::features::{FeatureState, NAMES};
use super::{DeviceModel, Prediction, Predictor, Sample};

/// The file format's version.
pub const FORMAT: u32 = 1;

/// A trained model: one classifier per issue (the JSON file `thermotwin ml
/// train` writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticFile {
    /// [`FORMAT`].
    pub format: u32,
    /// The feature names, in order (must be [`NAMES`]).
    pub features: Vec<String>,
    /// One classifier per issue.
    pub classes: Vec<Class>,
}

/// One issue's classifier: `P(failure within the window) = σ(b + Σ wᵢ·zᵢ)`
/// with `zᵢ = (xᵢ − meanᵢ) / scaleᵢ` (0 for a feature not known yet: the
/// training mean).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Class {
    /// The fault it recognises (`bearing_wear`, …).
    pub fault: String,
    /// The issue its predictions name.
    pub issue: String,
    /// The recommended action.
    pub action: String,
    /// Standardisation: each feature's training mean…
    pub mean: Vec<f64>,
    /// …and standard deviation.
    pub scale: Vec<f64>,
    /// Weights of the standardised features.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
}

/// Why a model file is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// It could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// It is not JSON of the model file's shape.
    #[error("{path} is not a logistic model file: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// It has the shape but not this version's contents.
    #[error("{path} is not a logistic model file: {source}")]
    Unusable {
        /// The file.
        path: String,
        /// What is wrong.
        source: ModelError,
    },
}

/// What is wrong with a model's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Another format version.
    #[error("format {0} (expected {FORMAT})")]
    Format(u32),
    /// Other features than this version's.
    #[error("features {0:?} (expected {NAMES:?})")]
    Features(Vec<String>),
    /// No classifier.
    #[error("no classes")]
    NoClasses,
    /// A classifier's vectors are not one per feature.
    #[error("class {0:?}: expected {n} means, scales and weights", n = NAMES.len())]
    Dimensions(String),
    /// A classifier's parameter is not finite, or a scale not positive.
    #[error("class {0:?}: a parameter is not finite (or a scale not positive)")]
    NotFinite(String),
}

impl LogisticFile {
    /// Checks the format, the feature list and each class's dimensions.
    pub fn check(&self) -> Result<(), ModelError> {
        if self.format != FORMAT {
            return Err(ModelError::Format(self.format));
        }
        if self.features != NAMES {
            return Err(ModelError::Features(self.features.clone()));
        }
        if self.classes.is_empty() {
            return Err(ModelError::NoClasses);
        }
        for c in &self.classes {
            let n = NAMES.len();
            if c.mean.len() != n || c.scale.len() != n || c.weights.len() != n {
                return Err(ModelError::Dimensions(c.fault.clone()));
            }
            let finite = c
                .mean
                .iter()
                .chain(&c.weights)
                .chain([&c.bias])
                .all(|v| v.is_finite());
            if !finite || c.scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
                return Err(ModelError::NotFinite(c.fault.clone()));
            }
        }
        Ok(())
    }

    /// Reads and checks a model file.
    pub fn load(path: &std::path::Path) -> Result<LogisticFile, LoadError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::Read {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let file: LogisticFile = serde_json::from_str(&text).map_err(|e| LoadError::Invalid {
            path: p.clone(),
            message: e.to_string(),
        })?;
        file.check()
            .map_err(|source| LoadError::Unusable { path: p, source })?;
        Ok(file)
    }
}

/// The `logistic` predictor: a loaded [`LogisticFile`].
#[derive(Debug, Clone)]
pub struct Logistic {
    name: String,
    model: Arc<LogisticFile>,
}

impl Logistic {
    /// A predictor of `model`, called `name` in tables, once it checks.
    pub fn new(model: LogisticFile, name: String) -> Result<Logistic, ModelError> {
        model.check()?;
        Ok(Logistic::from_checked(model, name))
    }

    /// A predictor of a model [`LogisticFile::load`] has checked.
    pub(crate) fn from_checked(model: LogisticFile, name: String) -> Logistic {
        Logistic {
            name,
            model: Arc::new(model),
        }
    }
}

impl Predictor for Logistic {
    fn name(&self) -> &str {
        &self.name
    }

    fn device_model(&self) -> Box<dyn DeviceModel> {
        Box::new(LogisticDevice {
            model: self.model.clone(),
            features: FeatureState::default(),
        })
    }
}

#[derive(Debug)]
struct LogisticDevice {
    model: Arc<LogisticFile>,
    features: FeatureState,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Class {
    /// The probability for features `x`.
    pub fn probability(&self, x: &[f64]) -> f64 {
        let z: f64 = x
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .zip(&self.weights)
            .map(|(((x, m), s), w)| if x.is_finite() { w * (x - m) / s } else { 0.0 })
            .sum();
        sigmoid(self.bias + z)
    }
}

impl DeviceModel for LogisticDevice {
    fn observe(&mut self, sample: Sample<'_>, out: &mut Vec<Prediction>) {
        self.features.observe(sample);
        // Predictions after vibration reports (the energy reports only
        // update the features).
        if !matches!(sample, Sample::Vibration(_)) {
            return;
        }
        let Some(x) = self.features.values() else {
            return;
        };
        for c in &self.model.classes {
            let p = c.probability(&x);
            out.push(Prediction {
                issue: c.issue.clone().into(),
                confidence: (p * 1e4).round() / 1e4,
                recommended_action: c.action.clone().into(),
            });
        }
    }
}

/// A fitted classifier's parameters (see [`Class`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// Each feature's training mean.
    pub mean: Vec<f64>,
    /// Each feature's training standard deviation.
    pub scale: Vec<f64>,
    /// Weights of the standardised features.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
}

/// Fits one classifier to rows `x` (features, NaN where unknown) and
/// labels `y` by L2-regularised maximum likelihood (penalty `l2 · n` on the
/// standardised weights, not the intercept), with damped Newton–Raphson steps
/// (iteratively reweighted least squares; Hastie, Tibshirani & Friedman,
/// "The Elements of Statistical Learning", 2nd ed., §4.4.1). Returns the
/// standardisation, weights and intercept, or `None` without both classes.
///
/// Only the features marked in `inputs` enter the classifier; the others
/// keep their standardisation (so the file describes the data) and a weight
/// of zero.
pub fn fit(
    x: &[[f64; NAMES.len()]],
    y: &[bool],
    l2: f64,
    inputs: &[bool; NAMES.len()],
) -> Option<Fitted> {
    let n = x.len().min(y.len());
    let positives = y[..n].iter().filter(|&&v| v).count();
    if positives == 0 || positives == n {
        return None;
    }
    let k = NAMES.len();
    let mut mean = vec![0.0; k];
    let mut scale = vec![1.0; k];
    for j in 0..k {
        let vals: Vec<f64> = x[..n]
            .iter()
            .map(|r| r[j])
            .filter(|v| v.is_finite())
            .collect();
        if vals.is_empty() {
            continue;
        }
        let m = vals.iter().sum::<f64>() / vals.len() as f64;
        let var = vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / vals.len() as f64;
        mean[j] = m;
        scale[j] = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
    }
    // A row of the design: intercept, then the standardised features (0
    // where unknown: the training mean; 0 for a feature left out).
    let row = |r: &[f64; NAMES.len()]| {
        DVector::from_fn(k + 1, |j, _| {
            if j == 0 {
                1.0
            } else {
                let v = r[j - 1];
                if inputs[j - 1] && v.is_finite() {
                    (v - mean[j - 1]) / scale[j - 1]
                } else {
                    0.0
                }
            }
        })
    };
    let mut beta = DVector::zeros(k + 1);
    let prior = positives as f64 / n as f64;
    beta[0] = (prior / (1.0 - prior)).ln();
    // The penalty grows with the data, so its weight against the
    // likelihood does not depend on the dataset's size.
    let mut penalty = DMatrix::identity(k + 1, k + 1) * (l2 * n as f64);
    penalty[(0, 0)] = 0.0;
    // A feature left out has no gradient; a unit curvature keeps the
    // Hessian invertible (its weight stays zero whatever `l2`).
    for (j, _) in inputs.iter().enumerate().filter(|(_, used)| !**used) {
        penalty[(j + 1, j + 1)] = penalty[(j + 1, j + 1)].max(1.0);
    }
    // The penalised log-likelihood (numerically stable log σ).
    let objective = |beta: &DVector<f64>| {
        let mut ll = -0.5 * beta.dot(&(&penalty * beta));
        for (r, &label) in x[..n].iter().zip(&y[..n]) {
            let z = row(r).dot(beta);
            let z = if label { z } else { -z };
            ll -= if z > 0.0 {
                (-z).exp().ln_1p()
            } else {
                -z + z.exp().ln_1p()
            };
        }
        ll
    };
    let mut current = objective(&beta);
    for _ in 0..50 {
        // Gradient and Hessian of the penalised log-likelihood, one row at
        // a time (no n × k design matrix in memory).
        let mut gradient = -(&penalty * &beta);
        let mut hessian = penalty.clone();
        for (r, &label) in x[..n].iter().zip(&y[..n]) {
            let xi = row(r);
            let p = sigmoid(xi.dot(&beta));
            gradient.axpy(f64::from(u8::from(label)) - p, &xi, 1.0);
            hessian.ger((p * (1.0 - p)).max(1e-12), &xi, &xi, 1.0);
        }
        let step = hessian.cholesky()?.solve(&gradient);
        // Newton's step, halved until the objective improves (a damped
        // Newton method: plain steps can diverge on nearly separable data).
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..40 {
            let candidate = &beta + &step * t;
            let value = objective(&candidate);
            if value.is_finite() && value >= current {
                beta = candidate;
                current = value;
                improved = true;
                break;
            }
            t /= 2.0;
        }
        if !improved || (&step * t).amax() < 1e-8 {
            break;
        }
    }
    beta.iter().all(|b| b.is_finite()).then(|| Fitted {
        mean,
        scale,
        weights: beta.iter().skip(1).copied().collect(),
        bias: beta[0],
    })
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    #[test]
    fn fitting_recovers_a_known_logistic_model() {
        // P(y) = σ(−1 + 2·x₀), x₀ standard normal; the other features noise.
        let mut rng = sim_core::stream(7, 0, "logistic-test");
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..20_000 {
            let mut row = [0.0; NAMES.len()];
            for v in &mut row {
                // Box–Muller from two uniforms.
                let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                *v = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            }
            row[9] = f64::NAN; // never known: contributes nothing
            y.push(rng.random::<f64>() < sigmoid(-1.0 + 2.0 * row[0]));
            x.push(row);
        }
        let Fitted {
            mean,
            scale,
            weights: w,
            bias: b,
        } = fit(&x, &y, 1e-6, &[true; NAMES.len()]).unwrap();
        // Back on the raw scale: w₀/scale₀ ≈ 2, b − w₀·mean₀/scale₀ ≈ −1.
        let w0 = w[0] / scale[0];
        let b0 = b - w[0] * mean[0] / scale[0];
        assert!((w0 - 2.0).abs() < 0.1, "{w0}");
        assert!((b0 + 1.0).abs() < 0.1, "{b0}");
        assert!(w[1..9].iter().all(|v| v.abs() < 0.1), "{w:?}");
        assert_eq!(w[9], 0.0);
        // Without x₀ among the inputs: its weight is zero and the model
        // falls back on the base rate.
        let mut inputs = [true; NAMES.len()];
        inputs[0] = false;
        let without = fit(&x, &y, 1e-6, &inputs).unwrap();
        assert_eq!(without.weights[0], 0.0);
        assert!((without.scale[0] - scale[0]).abs() < 1e-12);
        assert!(without.weights.iter().all(|v| v.abs() < 0.1), "{without:?}");
        // One class only: nothing to fit.
        assert!(fit(&x, &vec![false; x.len()], 1e-6, &[true; NAMES.len()]).is_none());
    }

    #[test]
    fn separable_data_gives_a_bounded_confident_model() {
        // y = (x₀ > 0) exactly: plain Newton steps would run off to
        // infinity; the damped, penalised fit stays finite and confident.
        let x: Vec<[f64; NAMES.len()]> = (0..2_000)
            .map(|i| {
                let mut r = [0.0; NAMES.len()];
                r[0] = f64::from(i - 1_000) / 100.0 + 0.005;
                r[1] = f64::from(i % 7);
                r
            })
            .collect();
        let y: Vec<bool> = x.iter().map(|r| r[0] > 0.0).collect();
        let f = fit(&x, &y, 1e-4, &[true; NAMES.len()]).unwrap();
        assert!(
            f.weights.iter().all(|w| w.is_finite() && w.abs() < 100.0),
            "{f:?}"
        );
        let class = Class {
            fault: "f".into(),
            issue: "i".into(),
            action: "a".into(),
            mean: f.mean,
            scale: f.scale,
            weights: f.weights,
            bias: f.bias,
        };
        let at = |x0: f64| {
            let mut r = [0.0; NAMES.len()];
            r[0] = x0;
            r[1] = 3.0;
            class.probability(&r)
        };
        assert!(
            at(2.0) > 0.95 && at(-2.0) < 0.05,
            "{} {}",
            at(2.0),
            at(-2.0)
        );
    }

    #[test]
    fn a_model_file_is_checked_and_predicts_per_issue() {
        let n = NAMES.len();
        let class = Class {
            fault: "bearing_wear".into(),
            issue: crate::predictors::BEARING_ISSUE.into(),
            action: "Schedule HVAC inspection within 14 days".into(),
            mean: vec![0.0; n],
            scale: vec![1.0; n],
            weights: {
                let mut w = vec![0.0; n];
                w[0] = 3.0; // peak_g
                w
            },
            bias: -3.0,
        };
        let file = LogisticFile {
            format: FORMAT,
            features: NAMES.iter().map(|s| (*s).to_owned()).collect(),
            classes: vec![class.clone()],
        };
        let p = Logistic::new(file.clone(), "logistic:m.json".into()).unwrap();
        assert_eq!(p.name(), "logistic:m.json");
        // 30 reports two hours apart at 1 g: σ(−3 + 3) = 0.5; at 2 g:
        // σ(3) ≈ 0.95.
        let reports: Vec<_> = (0..30)
            .map(|i| {
                crate::predictors::testing::vibration(i * 7_200, if i < 29 { 1.0 } else { 2.0 })
            })
            .collect();
        let last = crate::predictors::testing::last(&p, &reports).unwrap();
        assert_eq!(last.issue, crate::predictors::BEARING_ISSUE);
        assert!((last.confidence - sigmoid(3.0)).abs() < 1e-4, "{last:?}");
        // Bad files name what is wrong.
        let mut bad = file.clone();
        bad.features.pop();
        assert!(bad.check().unwrap_err().to_string().contains("features"));
        let mut bad = file;
        bad.classes[0].scale[2] = 0.0;
        assert_eq!(
            Logistic::new(bad, "l".into()).unwrap_err(),
            ModelError::NotFinite("bearing_wear".into())
        );
        let dir = std::env::temp_dir().join(format!("thermotwin-logistic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.json");
        std::fs::write(&path, "{\"format\": 1}").unwrap();
        let e = LogisticFile::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("m.json") && e.contains("not a logistic model"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
