//! `trend`: an exponential degradation model with a Bayesian update per
//! report.

use super::stats::{Centred, DecayingSums};
use super::{BEARING_ISSUE, DeviceModel, Prediction, Predictor, Sample, normal_cdf};

const MS_PER_DAY: f64 = 86_400_000.0;

/// The exponential degradation model of Gebraeel, Lawley, Li & Ryan (2005),
/// "Residual-life distributions from component degradation signals: a
/// Bayesian approach", IIE Transactions 37(6):543–557, on the peak
/// acceleration of the compressor's bearing.
///
/// The signal follows `S(t) = θ·exp(β·t + ε(t))`, so its logarithm is linear
/// in time, `L(t) = ln S(t) = θ' + β·t + ε(t)`, with normal priors on the
/// level and the rate and normal errors: the posterior of (θ', β) after each
/// report is again normal (conjugate linear regression, updated in O(1)
/// from five running sums). The error has a white part (σ, the
/// report-to-report scatter) and a Brownian part (σ_b per √day, Gebraeel's
/// second error model), so the forecast `L(t + H)` is normal with variance
/// `[1 H]·Σ·[1 H]ᵀ + σ² + σ_b²·H`. The confidence is the probability that the
/// signal has crossed the failure level `D` by then:
///
/// ```text
///   P(T ≤ t + H) ≈ Φ((μ_L(t + H) − ln D) / sd_L(t + H))        (Gebraeel 2005, eq. 13)
/// ```
///
/// Departures from the paper, for a fleet whose units run for months: old
/// reports are forgotten with a half-life (exponential forgetting of the
/// sufficient statistics, as in recursive least squares), so the fit follows
/// the recent rate, and the regression is centred on the latest report, so
/// the level's prior is on the current level.
///
/// Defaults: `D` = 5.0 g (the peak acceleration of the simulator's bearing
/// at seizure is 5.2 g, `hvac_models::vibration` at severity 1), horizon 10
/// days, σ = 0.10 (the log-scatter of the peak in a degrading bearing),
/// σ_b = 0.07 per √day, half-life 2 days (short: an exponential fitted
/// over a long stretch of a concave signal overshoots at its end), priors level N(ln 0.25 g, 1²) and
/// rate N(0, 0.5² per day²), a first prediction after 30 reports. An
/// exponential fitted to a linearly growing signal overestimates the
/// growth, so the horizon is shorter than the alert window it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// Failure level of the peak acceleration `D` [g].
    pub failure_g: f64,
    /// Horizon `H` of the failure probability [days].
    pub horizon_days: f64,
    /// White error σ of `ln S`.
    pub noise: f64,
    /// Brownian error σ_b of `ln S` [per √day].
    pub diffusion_per_sqrt_day: f64,
    /// Half-life of a report's weight [days].
    pub half_life_days: f64,
    /// Prior mean and standard deviation of the current level `ln S`.
    pub prior_level: (f64, f64),
    /// Prior standard deviation of the rate [per day] (mean 0).
    pub prior_rate_sd: f64,
    /// Reports before the first prediction.
    pub min_reports: u32,
}

impl Default for Trend {
    fn default() -> Self {
        Trend {
            failure_g: 5.0,
            horizon_days: 10.0,
            noise: 0.10,
            diffusion_per_sqrt_day: 0.07,
            half_life_days: 2.0,
            prior_level: (0.25f64.ln(), 1.0),
            prior_rate_sd: 0.5,
            min_reports: 30,
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
    origin_ms: Option<i64>,
    sums: DecayingSums,
}

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
        let ms = r.received_at.as_millis();
        let origin = *self.origin_ms.get_or_insert(ms);
        let day = (ms - origin) as f64 / MS_PER_DAY;
        self.add(day, r.amplitude_g.max(1e-3).ln());
        if self.sums.count() < self.p.min_reports {
            return;
        }
        let p = &self.p;
        let h = p.horizon_days;
        let f = self.forecast(h);
        let sd = (f.var + p.noise * p.noise + p.diffusion_per_sqrt_day.powi(2) * h).sqrt();
        let confidence = normal_cdf((f.mean - p.failure_g.ln()) / sd).clamp(0.0, 1.0);
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
    ) -> Vec<crate::state::VibrationReport> {
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
        // forecast 10 days on.
        let mut m = TrendModel {
            p: Trend::default(),
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

    #[test]
    fn the_confidence_is_the_crossing_probability() {
        // A level exactly at ln D in H days: probability one half.
        let p = Trend {
            prior_rate_sd: 10.0,
            prior_level: (0.0, 100.0),
            ..Trend::default()
        };
        // Rate r: ln S(20 + H) = ln 5 when ln S(t) = ln 5 − r·(20 + H − t).
        let (r, h) = (0.05, p.horizon_days);
        let reports = series(20.0, 60, |d| {
            (5f64.ln() - r * (20.0 - 60.0 / 86_400.0 + h - d)).exp()
        });
        let c = last(&p, &reports).unwrap().confidence;
        assert!((c - 0.5).abs() < 0.01, "{c}");
    }

    #[test]
    fn a_healthy_bearing_is_quiet_and_a_failing_one_is_flagged_in_time() {
        // Healthy: 0.22 g flat with 3 % scatter (hvac-models at severity 0).
        let wobble = |d: f64| 1.0 + 0.03 * (d * 977.0).sin();
        let healthy = series(30.0, 120, |d| 0.22 * wobble(d));
        assert!(last(&Trend::default(), &healthy).unwrap().confidence < 0.01);
        // Failing: the peak grows linearly from 0.22 g to 5.2 g over 40
        // days (a worn bearing, hvac-models' features): the confidence
        // rises and passes 0.72 well before the end, but not in the first
        // half.
        let failing = |d: f64| (0.22 + 4.98 * d / 40.0) * wobble(d);
        let at = |days: f64| {
            last(&Trend::default(), &series(days, 120, failing))
                .unwrap()
                .confidence
        };
        assert!(at(15.0) < 0.72, "{}", at(15.0));
        assert!(at(36.0) >= 0.72, "{}", at(36.0));
        assert!(at(25.0) < at(36.0));
    }
}
