//! Engineered features of one device's diagnostics, updated in O(1) per
//! report: the inputs of feature-based models and of the labelled dataset
//! (`thermotwin run --export-dataset`).
//!
//! Vibration (per report while the compressor runs): the latest peak, and
//! for ln(peak), RMS and kurtosis an exponentially weighted mean and
//! least-squares slope per day with a 2-day half-life
//! ([`DecayingSums`]), and the rise of ln(peak)'s mean over the unit's own
//! baseline (the mean ln peak of its first [`MIN_REPORTS`] reports: a loud
//! healthy unit has no rise, a wearing bearing's grows). Energy (per 5-minute report): the running current's
//! weighted mean (1-day half-life) and its ratio to the unit's baseline —
//! the mean of its first 24 running reports, so a weak capacitor or a worn
//! bearing that draws more current shows as a ratio above one — and the
//! duty cycle (runtime over the period, 1-day half-life), which rises when a
//! leak costs capacity.

use super::Sample;
use super::stats::{DecayingSums, FirstMean};

/// The features' names, in the order of [`FeatureState::values`].
pub const NAMES: [&str; 11] = [
    "peak_g",
    "log_peak_mean",
    "log_peak_slope_per_day",
    "log_peak_rise",
    "rms_mean_g",
    "rms_slope_per_day",
    "kurtosis_mean",
    "kurtosis_slope_per_day",
    "current_a",
    "current_ratio",
    "duty",
];

const MS_PER_DAY: f64 = 86_400_000.0;
const SLOW_DAYS: f64 = 2.0;
const FAST_DAYS: f64 = 1.0;
const BASELINE_REPORTS: u32 = 24;
/// Vibration reports before the features are given.
pub const MIN_REPORTS: u32 = 30;
/// Days from the first vibration report to the latest before the features
/// are given: a slope per day fitted to a few hours is noise.
pub const MIN_SPAN_DAYS: f64 = 1.0;

/// One device's running features.
#[derive(Debug, Clone, Default)]
pub struct FeatureState {
    origin_ms: Option<i64>,
    peak: f64,
    log_peak: DecayingSums,
    /// The first and the latest vibration report's day.
    vibration_days: Option<(f64, f64)>,
    /// The mean ln peak of the first [`MIN_REPORTS`] reports.
    peak_baseline: FirstMean,
    rms: DecayingSums,
    kurtosis: DecayingSums,
    current: DecayingSums,
    /// The mean running current of the first [`BASELINE_REPORTS`] running
    /// reports.
    baseline: FirstMean,
    duty: DecayingSums,
    last_period_ms: Option<i64>,
}

impl FeatureState {
    fn day(&mut self, ms: i64) -> f64 {
        let origin = *self.origin_ms.get_or_insert(ms);
        (ms - origin) as f64 / MS_PER_DAY
    }

    /// Takes in one report.
    pub fn observe(&mut self, sample: Sample<'_>) {
        let day = self.day(sample.received_ms());
        match sample {
            Sample::Vibration(r) => {
                self.peak = r.amplitude_g;
                let first = self.vibration_days.map_or(day, |(first, _)| first);
                self.vibration_days = Some((first, day));
                let l = r.amplitude_g.max(1e-3).ln();
                self.log_peak.add(day, l, SLOW_DAYS);
                self.peak_baseline.add(l, MIN_REPORTS);
                if let Some(rms) = r.rms_g {
                    self.rms.add(day, rms, SLOW_DAYS);
                }
                if let Some(k) = r.kurtosis {
                    self.kurtosis.add(day, k, SLOW_DAYS);
                }
            }
            Sample::Energy(r) => {
                let start = r.period_start.as_millis();
                if let Some(prev) = self.last_period_ms.filter(|&p| start > p) {
                    let minutes = (start - prev) as f64 / 60_000.0;
                    let duty = (r.runtime_mins as f64 / minutes).clamp(0.0, 1.0);
                    self.duty.add(day, duty, FAST_DAYS);
                }
                self.last_period_ms = Some(start);
                if r.runtime_mins > 0 {
                    self.current.add(day, r.current_a, FAST_DAYS);
                    self.baseline.add(r.current_a, BASELINE_REPORTS);
                }
            }
        }
    }

    /// The features (NaN where not known yet), once [`MIN_REPORTS`]
    /// vibration reports came in over at least [`MIN_SPAN_DAYS`] (from the
    /// first vibration report: a unit may report energy for days before
    /// its compressor first runs).
    pub fn values(&self) -> Option<[f64; NAMES.len()]> {
        let span = self
            .vibration_days
            .map_or(0.0, |(first, last)| last - first);
        if self.log_peak.count() < MIN_REPORTS || span < MIN_SPAN_DAYS {
            return None;
        }
        let or_nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
        let current = self.current.mean();
        let baseline = self.baseline.mean(BASELINE_REPORTS).filter(|&b| b > 0.0);
        let log_peak = self.log_peak.mean();
        Some([
            self.peak,
            or_nan(log_peak),
            or_nan(self.log_peak.slope()),
            or_nan(
                log_peak
                    .zip(self.peak_baseline.mean(MIN_REPORTS))
                    .map(|(m, b)| m - b),
            ),
            or_nan(self.rms.mean()),
            or_nan(self.rms.slope()),
            or_nan(self.kurtosis.mean()),
            or_nan(self.kurtosis.slope()),
            or_nan(current),
            or_nan(current.zip(baseline).map(|(c, b)| c / b)),
            or_nan(self.duty.mean()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use sim_core::SimTime;

    use super::*;
    use crate::state::EnergyReport;

    #[test]
    fn features_follow_the_reports() {
        let mut f = FeatureState::default();
        // 40 vibration reports an hour apart, the peak doubling over them.
        for i in 0..40 {
            let mut r =
                crate::predictors::testing::vibration(i * 3_600, 0.2 * 2f64.powf(i as f64 / 39.0));
            r.rms_g = Some(0.1);
            f.observe(Sample::Vibration(&r));
            if i == 10 {
                assert_eq!(f.values(), None, "too few reports");
            }
        }
        // As many reports a minute apart: too short a span for a slope.
        let mut brief = FeatureState::default();
        for i in 0..40 {
            brief.observe(Sample::Vibration(&crate::predictors::testing::vibration(
                i * 60,
                0.2,
            )));
        }
        assert_eq!(brief.values(), None, "under a day of reports");
        // Energy reports from long before do not lengthen the span.
        let mut late = FeatureState::default();
        late.observe(Sample::Energy(&EnergyReport {
            period_start: SimTime::from_secs(0),
            runtime_mins: 0,
            voltage_v: 240.0,
            current_a: 0.0,
            received_at: SimTime::from_secs(300),
        }));
        for i in 0..40 {
            late.observe(Sample::Vibration(&crate::predictors::testing::vibration(
                5 * 86_400 + i * 60,
                0.2,
            )));
        }
        assert_eq!(late.values(), None, "under a day of vibration reports");
        // Energy: 30 running reports at 10 A then 12 A, every 5 minutes,
        // 4 minutes of running each.
        for i in 0..60 {
            let r = EnergyReport {
                period_start: SimTime::from_secs(40 * 3_600 + i * 300),
                runtime_mins: 4,
                voltage_v: 240.0,
                current_a: if i < 30 { 10.0 } else { 12.0 },
                received_at: SimTime::from_secs(40 * 3_600 + i * 300 + 300),
            };
            f.observe(Sample::Energy(&r));
        }
        let v = f.values().unwrap();
        let get = |name: &str| v[NAMES.iter().position(|n| *n == name).unwrap()];
        assert!((get("peak_g") - 0.4).abs() < 1e-12);
        // ln 2 over 39 hours: 0.4266 per day.
        let slope = 2f64.ln() / (39.0 / 24.0);
        assert!(
            (get("log_peak_slope_per_day") - slope).abs() < 1e-9,
            "{v:?}"
        );
        // The rise: the mean over the first 30 reports' mean ln peak,
        // ln 0.2 + ln 2·14.5/39.
        let baseline = 0.2f64.ln() + 2f64.ln() * 14.5 / 39.0;
        assert!(
            (get("log_peak_rise") - (get("log_peak_mean") - baseline)).abs() < 1e-12,
            "{v:?}"
        );
        assert!(get("log_peak_rise") > 0.1, "{v:?}");
        assert!((get("rms_mean_g") - 0.1).abs() < 1e-12);
        assert!(get("rms_slope_per_day").abs() < 1e-9);
        assert!((get("duty") - 0.8).abs() < 1e-9);
        // Baseline 10 A (the first 24 running reports); the recent mean is
        // between 10 and 12 A.
        let (c, ratio) = (get("current_a"), get("current_ratio"));
        assert!(c > 10.5 && c < 12.0, "{c}");
        assert!((ratio - c / 10.0).abs() < 1e-12);
        assert!(get("kurtosis_mean") > 4.0);
    }
}
