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

use crate::state::{EnergyReport, VibrationReport};

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
pub const SPECS: &str = "threshold, trend, unit-relative, logistic:PATH or cmd:COMMAND";

/// The predictor a specification names (see [`SPECS`]); the error says
/// what is wrong (an unknown name, a model file that cannot be used).
pub fn by_spec(spec: &str) -> Result<Arc<dyn Predictor>, String> {
    if let Some(p) = built_in(spec) {
        return Ok(p);
    }
    if let Some(path) = spec.strip_prefix("logistic:") {
        let path = std::path::Path::new(path);
        let file = logistic::LogisticFile::load(path).map_err(|e| e.to_string())?;
        return Ok(Arc::new(logistic::Logistic::new(file, spec_name(spec))?));
    }
    if let Some(command) = spec.strip_prefix("cmd:") {
        if command.trim().is_empty() {
            return Err(format!("{spec:?} names no command; expected cmd:COMMAND"));
        }
        return Ok(Arc::new(outside::Outside::new(spec, command.trim())));
    }
    Err(format!("{spec:?} is not a predictor; expected {SPECS}"))
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
