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
//!
//! Against the weather (energy reports carry the outdoor temperature at the
//! device's location when the server has a weather source):
//! - current against expected: the unit's own line of running current on
//!   outdoor temperature, fitted to its first [`EXPECTED_REPORTS`] running
//!   reports, gives the current expected at each later report's outdoor
//!   temperature; the feature is the weighted mean (1-day half-life) of
//!   current over expected. A compressor's power rises with the condensing
//!   temperature (the DOE-2 / EnergyPlus EIR-f(T) curves the simulator's
//!   equipment follows), so the plain ratio to a baseline swings with the
//!   afternoon heat; this one does not, and shows the extra current of a
//!   weak capacitor or a dragging bearing.
//! - runtime per degree-hour: runtime minutes over degree-hours (|outdoor −
//!   18.3 °C| × hours, the 65 °F base of ASHRAE's degree-days, Handbook —
//!   Fundamentals ch. 14), both weighted with a 1-day half-life: the load a
//!   home puts on its unit grows with the degree-hours, so a unit that needs
//!   more runtime for the same weather lost capacity (a leak). The ENERGY
//!   STAR connected-thermostat metrics (EPA 2017) regress runtime on the
//!   same temperature difference.

use super::Sample;
use super::stats::{DecayingSums, FirstLine, FirstMean};

/// The features' names, in the order of [`FeatureState::values`].
pub const NAMES: [&str; 13] = [
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
    "current_vs_expected",
    "runtime_per_degree_hour",
];

const MS_PER_DAY: f64 = 86_400_000.0;
const SLOW_DAYS: f64 = 2.0;
const FAST_DAYS: f64 = 1.0;
const BASELINE_REPORTS: u32 = 24;
/// Running reports with an outdoor temperature in the unit's line of
/// current on outdoor temperature (about a day of summer running: its
/// swing from night to afternoon).
pub const EXPECTED_REPORTS: u32 = 144;
/// The outdoor temperatures' spread [K] below which the line is flat.
const MIN_OUTDOOR_SPREAD_K: f64 = 1.0;
/// The degree-hours' base: 65 °F.
pub const DEGREE_BASE_C: f64 = 18.333;
/// Vibration reports before the features are given.
pub const MIN_REPORTS: u32 = 30;
/// Days from the first vibration report to the latest before the features
/// are given: a slope per day fitted to a few hours is noise. A day was
/// not enough where compressors run little (a spring month of
/// `bearing-fleet.toml`): the kurtosis slope of a healthy unit's first
/// rows, fitted to about 30 reports, then reached three times the training
/// rows' spread, and a trained classifier alerted on 10 of 300 healthy
/// units in their first hours of features; from a day and a half, none.
pub const MIN_SPAN_DAYS: f64 = 1.5;

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
    /// The running current's line on outdoor temperature (first
    /// [`EXPECTED_REPORTS`] running reports).
    expected: FirstLine,
    /// Current over expected, after the line's reports.
    vs_expected: DecayingSums,
    /// Runtime minutes and degree-hours of the periods with an outdoor
    /// temperature.
    runtime: DecayingSums,
    degree_hours: DecayingSums,
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
                    let runtime = (r.runtime_mins as f64).min(minutes);
                    self.duty.add(day, runtime / minutes, FAST_DAYS);
                    if let Some(t) = r.outdoor_c {
                        let degree_hours = (t - DEGREE_BASE_C).abs() * minutes / 60.0;
                        self.runtime.add(day, runtime, FAST_DAYS);
                        self.degree_hours.add(day, degree_hours, FAST_DAYS);
                    }
                }
                self.last_period_ms = Some(start);
                if r.runtime_mins > 0 {
                    self.current.add(day, r.current_a, FAST_DAYS);
                    self.baseline.add(r.current_a, BASELINE_REPORTS);
                    if let Some(t) = r.outdoor_c
                        && !self.expected.add(t, r.current_a, EXPECTED_REPORTS)
                        && let Some(e) = self
                            .expected
                            .at(t, EXPECTED_REPORTS, MIN_OUTDOOR_SPREAD_K)
                            .filter(|&e| e > 0.0)
                    {
                        self.vs_expected.add(day, r.current_a / e, FAST_DAYS);
                    }
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
            or_nan(self.vs_expected.mean()),
            or_nan(
                self.runtime
                    .mean()
                    .zip(self.degree_hours.mean())
                    .filter(|&(_, d)| d > 1e-6)
                    .map(|(r, d)| r / d),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use sim_core::SimTime;

    use super::*;
    use crate::records::EnergyReport;

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
        assert_eq!(brief.values(), None, "under 1.5 days of reports");
        // Energy reports from long before do not lengthen the span.
        let mut late = FeatureState::default();
        late.observe(Sample::Energy(&EnergyReport {
            period_start: SimTime::from_secs(0),
            runtime_mins: 0,
            voltage_v: 240.0,
            current_a: 0.0,
            received_at: SimTime::from_secs(300),
            outdoor_c: None,
        }));
        for i in 0..40 {
            late.observe(Sample::Vibration(&crate::predictors::testing::vibration(
                5 * 86_400 + i * 60,
                0.2,
            )));
        }
        assert_eq!(late.values(), None, "under 1.5 days of vibration reports");
        // Energy: 30 running reports at 10 A then 12 A, every 5 minutes,
        // 4 minutes of running each.
        for i in 0..60 {
            let r = EnergyReport {
                period_start: SimTime::from_secs(40 * 3_600 + i * 300),
                runtime_mins: 4,
                voltage_v: 240.0,
                current_a: if i < 30 { 10.0 } else { 12.0 },
                received_at: SimTime::from_secs(40 * 3_600 + i * 300 + 300),
                outdoor_c: None,
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
        // Without outdoor temperatures, nothing against the weather.
        assert!(get("current_vs_expected").is_nan() && get("runtime_per_degree_hour").is_nan());
    }

    #[test]
    fn current_and_runtime_are_weighed_against_the_weather() {
        let mut f = FeatureState::default();
        for i in 0..40 {
            f.observe(Sample::Vibration(&crate::predictors::testing::vibration(
                i * 3_600,
                0.2,
            )));
        }
        // Every 5 minutes for 3 days: the outdoor temperature swings 20–36
        // °C over the day; the unit runs 4 minutes in 5 and draws
        // 8 A + 0.1 A/K, 10 % more from day 2.
        let report = |i: i64, ageing: f64| {
            let hour = (i % 288) as f64 / 12.0;
            let t = 28.0 - 8.0 * (std::f64::consts::TAU * hour / 24.0).cos();
            EnergyReport {
                period_start: SimTime::from_secs(i * 300),
                runtime_mins: 4,
                voltage_v: 240.0,
                current_a: (8.0 + 0.1 * t) * ageing,
                received_at: SimTime::from_secs(i * 300 + 300),
                outdoor_c: Some(t),
            }
        };
        let get = |f: &FeatureState, name: &str| {
            f.values().unwrap()[NAMES.iter().position(|n| *n == name).unwrap()]
        };
        for i in 0..2 * 288 {
            f.observe(Sample::Energy(&report(i, 1.0)));
        }
        // The line through the first 144 reports predicts the rest.
        assert!((get(&f, "current_vs_expected") - 1.0).abs() < 1e-9);
        // The plain ratio to the first 24 reports' mean (the night) does
        // not: the afternoon's current is higher.
        assert!((get(&f, "current_ratio") - 1.0).abs() > 0.02);
        // 4 minutes per |t − 18.333| × 5/60 degree-hours, weighted alike.
        let (mut runtime, mut degree_hours) = (DecayingSums::default(), DecayingSums::default());
        for i in 1..2 * 288 {
            let r = report(i, 1.0);
            let day = i as f64 * 300.0 / 86_400.0;
            runtime.add(day, 4.0, FAST_DAYS);
            degree_hours.add(
                day,
                (r.outdoor_c.unwrap() - DEGREE_BASE_C).abs() * 5.0 / 60.0,
                FAST_DAYS,
            );
        }
        let expected = runtime.mean().unwrap() / degree_hours.mean().unwrap();
        assert!((get(&f, "runtime_per_degree_hour") - expected).abs() < 1e-9);
        // A day drawing 10 % more: the ratio to expected climbs towards 1.1.
        for i in 2 * 288..3 * 288 {
            f.observe(Sample::Energy(&report(i, 1.1)));
        }
        let v = get(&f, "current_vs_expected");
        assert!(v > 1.05 && v < 1.1, "{v}");
    }
}
