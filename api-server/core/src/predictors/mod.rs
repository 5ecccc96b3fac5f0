//! Failure predictors: the [`Predictor`] trait and the built-in models.
//!
//! A predictor is a factory of per-device models ([`DeviceModel`]): the
//! server keeps one model per device beside the account's other state and
//! feeds it every diagnostics report the device submits, in arrival order.
//! A model does O(1) work per report — it keeps running statistics, never
//! rescans the history — and answers with its current prediction for each
//! issue it assesses. When an alert of the device is resolved (a technician
//! serviced the unit) the device's models start afresh.
//!
//! Built in:
//!
//! | name | model |
//! |---|---|
//! | `threshold` | [`SeverityZones`]: ISO 10816-style severity zones of the peak acceleration |
//! | `unit-relative` | [`UnitRelative`]: the baseline every run scores — the unit's median peak against its own first reports |
//! | `trend` | [`Trend`]: Gebraeel's exponential degradation model with a Bayesian update per report |
//! | `logistic:PATH` | [`logistic::Logistic`]: a logistic classifier per issue over engineered features, trained offline |
//! | `cmd:COMMAND` | [`outside::Outside`]: a model in any language, run as a subprocess by the runner |

use std::borrow::Cow;
use std::sync::Arc;

use crate::records::{EnergyReport, VibrationReport};

pub mod features;
pub mod logistic;
pub mod outside;
pub mod stats;
mod trend;
mod unit_relative;
mod zones;

pub use trend::Trend;
pub use unit_relative::UnitRelative;
pub use zones::SeverityZones;

/// The issue the bearing models assess (the AURRA seed's example issue).
pub const BEARING_ISSUE: &str = "Compressor bearing degradation";

/// A maintenance prediction for one issue of a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// What is wrong, for people ("Compressor bearing degradation").
    pub issue: Cow<'static, str>,
    /// Confidence, 0–1.
    pub confidence: f64,
    /// What to do.
    pub recommended_action: Cow<'static, str>,
}

/// One diagnostics report, as a device model takes it in.
#[derive(Debug, Clone, Copy)]
pub enum Sample<'a> {
    /// `POST /v1/diagnostics/vibration`.
    Vibration(&'a VibrationReport),
    /// `POST /v1/diagnostics/energy`.
    Energy(&'a EnergyReport),
}

impl Sample<'_> {
    /// When the server received it [ms since the epoch].
    pub fn received_ms(&self) -> i64 {
        match self {
            Sample::Vibration(r) => r.received_at.as_millis(),
            Sample::Energy(r) => r.received_at.as_millis(),
        }
    }
}

/// A failure predictor: makes the model of each device.
pub trait Predictor: Send + Sync + std::fmt::Debug {
    /// A short name for tables and leaderboards (`threshold`, `trend`, …).
    fn name(&self) -> &str;
    /// A fresh model of one device (new, or just serviced).
    fn device_model(&self) -> Box<dyn DeviceModel>;
    /// For an outside model, the command that runs it: its device models
    /// predict nothing, the runner sends it the devices' feature rows
    /// ([`outside`]).
    fn command(&self) -> Option<&str> {
        None
    }
}

/// The model of one device: takes in its reports one at a time.
pub trait DeviceModel: Send + std::fmt::Debug {
    /// Takes in one report (O(1) work) and pushes onto `out` the device's
    /// prediction for each issue the model assesses, if this report changed
    /// what it knows (nothing while it has too little data, or for a kind
    /// of report it does not use).
    fn observe(&mut self, sample: Sample<'_>, out: &mut Vec<Prediction>);
}

/// The built-in predictors' names.
pub const BUILT_IN: [&str; 3] = ["threshold", "trend", UNIT_RELATIVE];

/// The name of the unit-relative baseline, which every run scores in
/// shadow.
pub const UNIT_RELATIVE: &str = "unit-relative";

/// A built-in predictor by name, with its defaults; `None` for another name.
pub fn built_in(name: &str) -> Option<Arc<dyn Predictor>> {
    match name {
        "threshold" => Some(Arc::new(SeverityZones::default())),
        "trend" => Some(Arc::new(Trend::default())),
        UNIT_RELATIVE => Some(Arc::new(UnitRelative::default())),
        _ => None,
    }
}

/// What a predictor specification names: a built-in (`threshold`,
/// `trend`, `unit-relative`), a trained logistic model (`logistic:PATH` to
/// the file `thermotwin ml train` wrote) or an outside model
/// (`cmd:COMMAND`).
pub const SPECS: &str = "threshold, trend, unit-relative (each optionally with parameters, e.g. trend:failure_multiple=8,horizon_days=10), logistic:PATH or cmd:COMMAND";

/// Why a predictor specification names no usable predictor.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// Not a built-in, `logistic:PATH` or `cmd:COMMAND`.
    #[error("{spec:?} is not a predictor; expected {SPECS}")]
    Unknown {
        /// The specification.
        spec: String,
    },
    /// `cmd:` with nothing after it.
    #[error("{spec:?} names no command; expected cmd:COMMAND")]
    NoCommand {
        /// The specification.
        spec: String,
    },
    /// The logistic model file cannot be used.
    #[error(transparent)]
    Model(#[from] logistic::LoadError),
    /// A parameter is not `key=value`.
    #[error("{spec:?}: {pair:?} is not key=value")]
    NotKeyValue {
        /// The specification.
        spec: String,
        /// The malformed part.
        pair: String,
    },
    /// A parameter's value is not a number.
    #[error("{spec:?}: {key} = {value:?} is not a number")]
    NotANumber {
        /// The specification.
        spec: String,
        /// The parameter.
        key: String,
        /// Its value as written.
        value: String,
    },
    /// A parameter's value is out of its range.
    #[error("{spec:?}: {key} = {value} is out of range: expected {lo} to {hi}")]
    OutOfRange {
        /// The specification.
        spec: String,
        /// The parameter.
        key: String,
        /// Its value.
        value: f64,
        /// The lowest allowed.
        lo: f64,
        /// The highest allowed.
        hi: f64,
    },
    /// The model has no such parameter.
    #[error("{spec:?}: {model} has no parameter {key:?}; it has {known}")]
    UnknownParameter {
        /// The specification.
        spec: String,
        /// The built-in.
        model: String,
        /// The parameter given.
        key: String,
        /// The parameters it has.
        known: &'static str,
    },
    /// `threshold`'s zone limits do not rise.
    #[error("{spec:?}: the zone limits must rise: ab_g < bc_g < cd_g, got {limits:?}")]
    ZonesNotRising {
        /// The specification.
        spec: String,
        /// The limits given.
        limits: [f64; 3],
    },
}

/// The predictor a specification names (see [`SPECS`]); the error says
/// what is wrong (an unknown name, a model file that cannot be used).
pub fn by_spec(spec: &str) -> Result<Arc<dyn Predictor>, SpecError> {
    if let Some(p) = built_in(spec) {
        return Ok(p);
    }
    if let Some((name, params)) = spec.split_once(':')
        && BUILT_IN.contains(&name)
    {
        return with_parameters(spec, name, params);
    }
    if let Some(path) = spec.strip_prefix("logistic:") {
        let file = logistic::LogisticFile::load(std::path::Path::new(path))?;
        return Ok(Arc::new(logistic::Logistic::from_checked(
            file,
            spec_name(spec),
        )));
    }
    if let Some(command) = spec.strip_prefix("cmd:") {
        if command.trim().is_empty() {
            return Err(SpecError::NoCommand {
                spec: spec.to_owned(),
            });
        }
        return Ok(Arc::new(outside::Outside::new(spec, command.trim())));
    }
    Err(SpecError::Unknown {
        spec: spec.to_owned(),
    })
}

/// A built-in under the name of its specification (with its parameters),
/// so two settings of one model are told apart in tables and leaderboards.
#[derive(Debug)]
struct Named {
    name: String,
    inner: Arc<dyn Predictor>,
}

impl Predictor for Named {
    fn name(&self) -> &str {
        &self.name
    }

    fn device_model(&self) -> Box<dyn DeviceModel> {
        self.inner.device_model()
    }
}

/// `(key, value)` pairs of `k=v,k=v`; the error names what is malformed.
fn pairs(spec: &str, params: &str) -> Result<Vec<(String, f64)>, SpecError> {
    params
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').ok_or_else(|| SpecError::NotKeyValue {
                spec: spec.to_owned(),
                pair: kv.to_owned(),
            })?;
            let value: f64 = v.trim().parse().map_err(|_| SpecError::NotANumber {
                spec: spec.to_owned(),
                key: k.to_owned(),
                value: v.to_owned(),
            })?;
            Ok((k.trim().to_owned(), value))
        })
        .collect()
}

/// A built-in with parameters set in its specification
/// (`trend:failure_multiple=8,horizon_days=10`): each key named, each value
/// in its range, or an error naming the key, the value and the range.
fn with_parameters(spec: &str, name: &str, params: &str) -> Result<Arc<dyn Predictor>, SpecError> {
    let inner = parameterised(spec, name, params)?;
    Ok(Arc::new(Named {
        name: spec.to_owned(),
        inner,
    }))
}

fn parameterised(spec: &str, name: &str, params: &str) -> Result<Arc<dyn Predictor>, SpecError> {
    let check = |k: &str, v: f64, lo: f64, hi: f64| {
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(SpecError::OutOfRange {
                spec: spec.to_owned(),
                key: k.to_owned(),
                value: v,
                lo,
                hi,
            })
        }
    };
    let unknown = |k: &str, known: &'static str| SpecError::UnknownParameter {
        spec: spec.to_owned(),
        model: name.to_owned(),
        key: k.to_owned(),
        known,
    };
    let kv = pairs(spec, params)?;
    match name {
        "trend" => {
            let mut t = Trend::default();
            for (k, v) in kv {
                match k.as_str() {
                    "failure_multiple" => t.failure_multiple = check(&k, v, 1.01, 1_000.0)?,
                    "horizon_days" => t.horizon_days = check(&k, v, 0.1, 365.0)?,
                    "half_life_days" => t.half_life_days = check(&k, v, 0.01, 365.0)?,
                    "noise" => t.noise = check(&k, v, 0.001, 10.0)?,
                    "baseline_share" => t.baseline_share = check(&k, v, 0.0, 0.99)?,
                    "min_reports" => t.min_reports = check(&k, v, 2.0, 10_000.0)? as u32,
                    _ => {
                        return Err(unknown(
                            &k,
                            "failure_multiple, horizon_days, half_life_days, noise, baseline_share, min_reports",
                        ));
                    }
                }
            }
            Ok(Arc::new(t))
        }
        "threshold" => {
            let mut z = SeverityZones::default();
            for (k, v) in kv {
                match k.as_str() {
                    "ab_g" => z.limits_g[0] = check(&k, v, 0.01, 10.0)?,
                    "bc_g" => z.limits_g[1] = check(&k, v, 0.01, 10.0)?,
                    "cd_g" => z.limits_g[2] = check(&k, v, 0.01, 10.0)?,
                    "window" => z.window = check(&k, v, 3.0, 1_000.0)? as usize,
                    _ => return Err(unknown(&k, "ab_g, bc_g, cd_g, window")),
                }
            }
            if !(z.limits_g[0] < z.limits_g[1] && z.limits_g[1] < z.limits_g[2]) {
                return Err(SpecError::ZonesNotRising {
                    spec: spec.to_owned(),
                    limits: z.limits_g,
                });
            }
            Ok(Arc::new(z))
        }
        _ => {
            let mut u = UnitRelative::default();
            for (k, v) in kv {
                match k.as_str() {
                    "factor" => u.factor = check(&k, v, 1.01, 100.0)?,
                    "baseline_reports" => {
                        u.baseline_reports = check(&k, v, 2.0, 10_000.0)? as u32;
                    }
                    "window" => u.window = check(&k, v, 1.0, 1_000.0)? as usize,
                    _ => return Err(unknown(&k, "factor, baseline_reports, window")),
                }
            }
            Ok(Arc::new(u))
        }
    }
}

/// The name tables and leaderboards give the predictor of `spec`: a
/// built-in's name, `logistic:FILE` (the file's name without its folder)
/// for a logistic model, the specification itself for an outside model.
pub fn spec_name(spec: &str) -> String {
    match spec.strip_prefix("logistic:") {
        Some(path) => format!(
            "logistic:{}",
            std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.into(), |f| f.to_string_lossy())
        ),
        None => spec.to_owned(),
    }
}

/// The action the built-in models recommend at `confidence` of a bearing
/// (or any) failure: from "keep monitoring" to "inspect within 3 days".
pub fn action_for(confidence: f64) -> &'static str {
    if confidence >= 0.9 {
        "Schedule HVAC inspection within 3 days; compressor bearing failure likely"
    } else if confidence >= 0.5 {
        "Schedule HVAC inspection within 14 days"
    } else if confidence >= 0.1 {
        "Monitor vibration; inspect at the next routine service"
    } else {
        "No action needed; keep monitoring"
    }
}

/// The standard normal distribution function Φ.
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
pub(crate) mod testing {
    use sim_core::SimTime;

    use super::*;

    /// A vibration report at `t_s` seconds with peak `peak_g`.
    pub(crate) fn vibration(t_s: i64, peak_g: f64) -> VibrationReport {
        VibrationReport {
            timestamp: SimTime::from_secs(t_s),
            amplitude_g: peak_g,
            frequency_hz: 1_200.0,
            duration_ms: 1_000,
            rms_g: None,
            kurtosis: Some(4.5),
            received_at: SimTime::from_secs(t_s),
        }
    }

    /// A fresh model of `p` fed one vibration report a minute with these
    /// peaks; the last prediction.
    pub(crate) fn last_of_peaks(p: &dyn Predictor, peaks: &[f64]) -> Option<Prediction> {
        let reports: Vec<_> = peaks
            .iter()
            .enumerate()
            .map(|(i, &peak)| vibration(i as i64 * 60, peak))
            .collect();
        last(p, &reports)
    }

    /// Feeds `reports` to a fresh model of `p`; the last prediction.
    pub(crate) fn last(p: &dyn Predictor, reports: &[VibrationReport]) -> Option<Prediction> {
        let mut m = p.device_model();
        let mut out = Vec::new();
        for r in reports {
            out.clear();
            m.observe(Sample::Vibration(r), &mut out);
        }
        out.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_take_parameters_in_their_specification() {
        let p = by_spec("trend:failure_multiple=8,horizon_days=10").unwrap();
        assert_eq!(p.name(), "trend:failure_multiple=8,horizon_days=10");
        assert!(by_spec("threshold:ab_g=0.4,bc_g=0.8,cd_g=1.6,window=5").is_ok());
        assert!(by_spec("unit-relative:factor=3").is_ok());
        let e = by_spec("trend:failure_multiple=0.5")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("failure_multiple = 0.5 is out of range: expected 1.01 to 1000"),
            "{e}"
        );
        let e = by_spec("trend:level=3").unwrap_err().to_string();
        assert!(
            e.contains("has no parameter \"level\"") && e.contains("failure_multiple"),
            "{e}"
        );
        let e = by_spec("trend:failure_multiple").unwrap_err().to_string();
        assert!(e.contains("is not key=value"), "{e}");
        let e = by_spec("threshold:ab_g=2,bc_g=1").unwrap_err();
        assert!(
            matches!(e, SpecError::ZonesNotRising { limits, .. } if limits[0] == 2.0),
            "{e}"
        );
        assert!(e.to_string().contains("must rise"), "{e}");
        assert!(matches!(
            by_spec("logistic:/nonexistent/m.json"),
            Err(SpecError::Model(logistic::LoadError::Read { .. }))
        ));
        assert_eq!(
            by_spec("cmd:  ").unwrap_err().to_string(),
            "\"cmd:  \" names no command; expected cmd:COMMAND"
        );
    }

    #[test]
    fn the_normal_distribution_function_has_its_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-12);
        assert!((normal_cdf(-1.0) - 0.158_655_253_931_457_05).abs() < 1e-12);
    }

    #[test]
    fn built_ins_are_found_by_name() {
        for name in BUILT_IN {
            assert_eq!(
                built_in(name).map(|p| p.name().to_owned()).as_deref(),
                Some(name)
            );
        }
        assert!(built_in("nope").is_none());
    }
}
