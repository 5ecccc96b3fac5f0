//! `trend`: an exponential degradation model with a Bayesian update per
//! report.

use super::stats::{Centred, DecayingSums, FirstMean};
use super::{BEARING_ISSUE, DeviceModel, Prediction, Predictor, Sample, normal_cdf};

const MS_PER_DAY: f64 = 86_400_000.0;

/// The exponential degradation model of Gebraeel, Lawley, Li & Ryan (2005),
/// "Residual-life distributions from component degradation signals: a
/// Bayesian approach", IIE Transactions 37(6):543–557, on the peak
/// acceleration of the compressor's bearing.
///
/// The signal follows `S(t) = φ + θ·exp(β·t + ε(t))`: a constant baseline φ
/// (the unit's healthy level) plus an exponentially growing defect term
/// (the paper's form; a spall grows in proportion to its size, see
/// `hvac_models::degradation`). φ is set per unit from its own first
/// reports, so the excess's logarithm is linear in time,
/// `L(t) = ln(S(t) − φ) = θ' + β·t + ε(t)`, with normal priors on the level
/// and the rate and normal errors: the posterior of (θ', β) after each
/// report is again normal (conjugate linear regression, updated in O(1)
/// from five running sums). The error has a white part (σ, the
/// report-to-report scatter) and a Brownian part (σ_b per √day, Gebraeel's
/// second error model), so the forecast `L(t + H)` is normal with variance
/// `[1 H]·Σ·[1 H]ᵀ + σ² + σ_b²·H`. The confidence is the probability that the
/// signal has crossed the failure level `D` by then:
///
/// ```text
///   P(T ≤ t + H) ≈ Φ((μ_L(t + H) − ln(D − φ)) / sd_L(t + H))     (Gebraeel 2005, eq. 13)
/// ```
///
/// Departures from the paper, for a fleet whose units run for months: old
/// reports are forgotten with a half-life (exponential forgetting of the
/// sufficient statistics, as in recursive least squares), so the fit follows
/// the recent rate — wear advances only while the compressor runs, so the
/// rate in calendar time changes with the weather — and the regression is
/// centred on the latest report, so the level's prior is on the current
/// level. φ is a share of the unit's mean peak over its first reports
/// rather than all of it: the peak of a healthy bearing is the background's
/// extreme, of which the defect's impacts replace a part as they grow, and
/// an excess of half the healthy level keeps `ln(S − φ)` of a healthy unit
/// flat instead of the logarithm of noise around zero.
///
/// The failure level is the unit's own: `D` = `failure_multiple` × the mean
/// peak of its first reports, a tenfold (+20 dB) rise over its baseline —
/// the "danger" step condition-monitoring practice puts above a machine's
/// own baseline when grading a rolling-element bearing's trend (ISO
/// 13373-1:2002 grades vibration against each machine's baseline). The
/// multiple is chosen a priori, not fitted: units differ in loudness and in
/// the level they fail at, and no simulator constant enters the model.
///
/// Defaults: `D` = 10 × the unit's baseline mean, horizon 15
/// days (half the default 30-day alert window), σ = 0.20 (the log-scatter of
/// the excess over φ), σ_b = 0.07 per √day, half-life 0.5 days, priors
/// level N(ln 0.25 g, 1²) and rate N(0, 0.5² per day²), φ = 0.5 × the mean
/// of the first 30 reports, and a first prediction after 30 more reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// Failure level `D` of the peak acceleration as a multiple of the
    /// unit's baseline mean (its first `min_reports` reports), above 1.
    pub failure_multiple: f64,
    /// Horizon `H` of the failure probability [days].
    pub horizon_days: f64,
    /// White error σ of `ln(S − φ)`.
    pub noise: f64,
    /// Brownian error σ_b of `ln(S − φ)` [per √day].
    pub diffusion_per_sqrt_day: f64,
    /// Half-life of a report's weight [days].
    pub half_life_days: f64,
    /// Prior mean and standard deviation of the current level `ln(S − φ)`.
    pub prior_level: (f64, f64),
    /// Prior standard deviation of the rate [per day] (mean 0).
    pub prior_rate_sd: f64,
    /// Reports that set the baseline, and reports of the regression
    /// before the first prediction.
    pub min_reports: u32,
    /// φ as a share of the mean peak of the unit's first `min_reports`
    /// reports, 0 to below 1.
    pub baseline_share: f64,
}

impl Default for Trend {
    fn default() -> Self {
        Trend {
            failure_multiple: 10.0,
            horizon_days: 15.0,
            noise: 0.20,
            diffusion_per_sqrt_day: 0.07,
            half_life_days: 0.5,
            prior_level: (0.25f64.ln(), 1.0),
            prior_rate_sd: 0.5,
            min_reports: 30,
            baseline_share: 0.5,
        }
    }
}

impl Predictor for Trend {
    fn name(&self) -> &str {
        "trend"
    }

    fn device_model(&self) -> Box<dyn DeviceModel> {
        Box::new(TrendModel {
            p: self.clone(),
            ..TrendModel::default()
        })
    }
}

/// One device's model: the forgotten sums of (day, ln S) since its first
/// report (days counted from it).
#[derive(Debug, Default)]
struct TrendModel {
    p: Trend,
    /// The mean peak of the first `min_reports` reports (the baseline).
    baseline: FirstMean,
    origin_ms: Option<i64>,
    sums: DecayingSums,
}

/// The smallest excess over the baseline taken into the regression [g]
/// (a report below φ: the logarithm needs a positive value).
const MIN_EXCESS_G: f64 = 1e-3;

/// The posterior forecast of `ln S` at `h` days after the latest report:
/// (mean, variance of the parameters' part).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Forecast {
    mean: f64,
    var: f64,
}

impl TrendModel {
    fn add(&mut self, day: f64, l: f64) {
        self.sums.add(day, l, self.p.half_life_days);
    }

    /// The posterior of (level now, rate) and the forecast `h` days ahead.
    fn forecast(&self, h: f64) -> Forecast {
        let p = &self.p;
        // Sums centred on the latest report.
        let Centred {
            s0,
            s1,
            s2,
            sy: sl,
            s1y: s1l,
        } = self.sums.centred();
        let w = 1.0 / (p.noise * p.noise);
        let (m0, sd0) = p.prior_level;
        // Posterior precision A and A·μ = b (2×2, solved in closed form).
        let a00 = 1.0 / (sd0 * sd0) + w * s0;
        let a01 = w * s1;
        let a11 = 1.0 / (p.prior_rate_sd * p.prior_rate_sd) + w * s2;
        let b0 = m0 / (sd0 * sd0) + w * sl;
        let b1 = w * s1l;
        let det = a00 * a11 - a01 * a01;
        let level = (a11 * b0 - a01 * b1) / det;
        let rate = (a00 * b1 - a01 * b0) / det;
        // Σ = A⁻¹; [1 h]·Σ·[1 h]ᵀ.
        let var = (a11 - 2.0 * h * a01 + h * h * a00) / det;
        Forecast {
            mean: level + rate * h,
            var,
        }
    }
}

impl DeviceModel for TrendModel {
    fn observe(&mut self, sample: Sample<'_>, out: &mut Vec<Prediction>) {
        let Sample::Vibration(r) = sample else {
            return;
        };
        let p = &self.p;
        let peak = r.amplitude_g;
        // The unit's own baseline first: φ from its first reports.
        if self.baseline.add(peak, p.min_reports) {
            return;
        }
        let Some(mean) = self.baseline.mean(p.min_reports) else {
            return;
        };
        let phi = p.baseline_share * mean;
        let ms = r.received_at.as_millis();
        let origin = *self.origin_ms.get_or_insert(ms);
        let day = (ms - origin) as f64 / MS_PER_DAY;
        self.add(day, (peak - phi).max(MIN_EXCESS_G).ln());
        if self.sums.count() < self.p.min_reports {
            return;
        }
        let p = &self.p;
        let h = p.horizon_days;
        let f = self.forecast(h);
        let sd = (f.var + p.noise * p.noise + p.diffusion_per_sqrt_day.powi(2) * h).sqrt();
        let level = (p.failure_multiple * mean - phi).max(MIN_EXCESS_G).ln();
        let confidence = normal_cdf((f.mean - level) / sd).clamp(0.0, 1.0);
        let recommended_action = super::action_for(confidence);
        out.push(Prediction {
            issue: BEARING_ISSUE.into(),
            confidence: (confidence * 1e4).round() / 1e4,
            recommended_action: recommended_action.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{last, vibration};
    use super::*;

    /// Reports every `step_s` seconds for `days`, the peak from `f(day)`.
    fn series(
        days: f64,
        step_s: i64,
        f: impl Fn(f64) -> f64,
    ) -> Vec<crate::records::VibrationReport> {
        let n = (days * 86_400.0 / step_s as f64) as i64;
        (0..n)
            .map(|i| {
                let t = i * step_s;
                vibration(t, f(t as f64 / 86_400.0))
            })
            .collect()
    }

    #[test]
    fn the_posterior_recovers_a_known_exponential() {
        // Noise-free ln S = ln 0.3 + 0.1·t over 20 days: the posterior
        // (dominated by data) gives the rate and the level back, and the
        // forecast 10 days on (a long memory: all 20 days count).
        let mut m = TrendModel {
            p: Trend {
                half_life_days: 100.0,
                ..Trend::default()
            },
            ..TrendModel::default()
        };
        for i in 0..2_000 {
            let day = f64::from(i) * 0.01;
            m.add(day, 0.3f64.ln() + 0.1 * day);
        }
        let f = m.forecast(10.0);
        let expected = 0.3f64.ln() + 0.1 * (19.99 + 10.0);
        assert!((f.mean - expected).abs() < 1e-3, "{f:?} vs {expected}");
        assert!(f.var > 0.0 && f.var < 1e-3, "{f:?}");
    }

    /// 30 baseline reports at `base` g (φ = base / 2), then the series.
    fn with_baseline(
        base: f64,
        rest: &[crate::records::VibrationReport],
    ) -> Vec<crate::records::VibrationReport> {
        let mut all: Vec<_> = (0..30).map(|i| vibration(i - 30, base)).collect();
        all.extend_from_slice(rest);
        all
    }

    #[test]
    fn the_confidence_is_the_crossing_probability() {
        // An excess over φ whose level reaches exactly ln(D − φ) in H days:
        // probability one half.
        let p = Trend {
            prior_rate_sd: 10.0,
            prior_level: (0.0, 100.0),
            ..Trend::default()
        };
        let phi: f64 = 0.2;
        // A baseline mean of 2φ = 0.4 g: D = 10 × 0.4 g = 4 g.
        // Rate r: ln(S(20 + H) − φ) = ln(4 − φ).
        let (r, h) = (0.05, p.horizon_days);
        let reports = series(20.0, 60, |d| {
            phi + ((4.0 - phi).ln() - r * (20.0 - 60.0 / 86_400.0 + h - d)).exp()
        });
        let c = last(&p, &with_baseline(2.0 * phi, &reports))
            .unwrap()
            .confidence;
        assert!((c - 0.5).abs() < 0.01, "{c}");
    }

    #[test]
    fn the_baseline_comes_first() {
        // 30 reports set φ, 30 more start the regression: no prediction
        // before the 60th.
        let reports = series(1.0, 60, |_| 0.3);
        assert!(last(&Trend::default(), &reports[..59]).is_none());
        assert!(last(&Trend::default(), &reports[..60]).is_some());
    }

    #[test]
    fn healthy_bearings_quiet_or_loud_are_quiet_and_a_failing_one_is_flagged_ahead_of_the_zones() {
        // Healthy: flat with 3 % scatter, at 0.22 g (hvac-models at
        // severity 0) and at 1.5 g (a loud installation: zone C of the
        // threshold model).
        let wobble = |d: f64| 1.0 + 0.03 * (d * 977.0).sin();
        for level in [0.22, 1.5] {
            let healthy = series(30.0, 120, |d| level * wobble(d));
            let c = last(&Trend::default(), &healthy).unwrap().confidence;
            assert!(c < 0.01, "{level} g: {c}");
        }
        // Failing: a spall growing 50-fold over a 20-day wear life, as
        // hvac-models (severity (e^{k·s} − 1)/(e^k − 1) at s = day/20, the
        // impacts 5 g at seizure over a 0.22 g background): the confidence
        // passes 0.72 about a horizon (15 days) ahead, not long before.
        let failing = |d: f64| {
            let k = 50f64.ln();
            let severity = (k * d / 20.0).exp_m1() / k.exp_m1();
            (0.22f64).max(0.11 + 5.0 * severity) * wobble(d)
        };
        // The first report at which a model's confidence reaches 0.72.
        let first_alert = |p: &dyn Predictor| {
            let mut m = p.device_model();
            let mut out = Vec::new();
            series(20.0, 120, failing).iter().find_map(|r| {
                out.clear();
                m.observe(Sample::Vibration(r), &mut out);
                out.last()
                    .filter(|c| c.confidence >= 0.72)
                    .map(|_| r.received_at.as_millis() as f64 / MS_PER_DAY)
            })
        };
        let trend = first_alert(&Trend::default()).unwrap();
        assert!((4.0..=9.0).contains(&trend), "day {trend}");
        // The zones of the threshold model (1 g) come days later.
        let zones = first_alert(&crate::predictors::SeverityZones::default()).unwrap();
        assert!(zones > trend + 3.0, "day {zones} vs {trend}");
    }
}
