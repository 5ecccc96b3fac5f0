//! The baseline predictor: vibration severity zones.

use std::collections::VecDeque;

use super::{BEARING_ISSUE, DeviceModel, Prediction, Predictor, Sample};

/// The baseline (`threshold`): vibration severity zones in the spirit of
/// ISO 10816-1 (class I, small machines). The standard grades overall
/// vibration into zones A (new), B (unrestricted operation), C (restricted;
/// plan maintenance) and D (damage likely). Rolling-bearing defects show up
/// as high-frequency impacts whose velocity is small, so the baseline grades
/// the *peak acceleration* the thermostat reports, with zone limits set for
/// a small hermetic compressor: A < 0.5 g ≤ B < 1.0 g ≤ C < 2.0 g ≤ D. It
/// uses the median of the last 10 reports (robust to single spikes); the
/// confidence is the zone's base (A 0.10, B 0.40, C 0.70, D 0.90), plus up
/// to 0.08 for a rising trend across the window (the later half's median
/// against the earlier half's) and 0.02 for impulsiveness (median kurtosis
/// above 4), at most 0.99, rounded to 0.01. Energy reports are not used.
#[derive(Debug, Clone, PartialEq)]
pub struct SeverityZones {
    /// Zone limits of the peak acceleration [g]: A/B, B/C, C/D.
    pub limits_g: [f64; 3],
    /// Reports per assessment window (at least 3).
    pub window: usize,
}

impl Default for SeverityZones {
    fn default() -> Self {
        SeverityZones {
            limits_g: [0.5, 1.0, 2.0],
            window: 10,
        }
    }
}

impl Predictor for SeverityZones {
    fn name(&self) -> &str {
        "threshold"
    }

    fn device_model(&self) -> Box<dyn DeviceModel> {
        Box::new(ZonesModel {
            p: self.clone(),
            recent: VecDeque::with_capacity(self.window),
            scratch: Vec::with_capacity(self.window),
        })
    }
}

#[derive(Debug)]
struct ZonesModel {
    p: SeverityZones,
    /// The last `window` reports: (peak, kurtosis or 0).
    recent: VecDeque<(f64, f64)>,
    scratch: Vec<f64>,
}

/// The median of `v` (not empty); reorders it.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl ZonesModel {
    fn median_of(&mut self, range: std::ops::Range<usize>, kurtosis: bool) -> f64 {
        self.scratch.clear();
        self.scratch.extend(
            self.recent
                .range(range)
                .map(|&(peak, k)| if kurtosis { k } else { peak }),
        );
        median(&mut self.scratch)
    }
}

impl DeviceModel for ZonesModel {
    fn observe(&mut self, sample: Sample<'_>, out: &mut Vec<Prediction>) {
        let Sample::Vibration(r) = sample else {
            return;
        };
        if self.recent.len() == self.p.window.max(3) {
            self.recent.pop_front();
        }
        self.recent
            .push_back((r.amplitude_g, r.kurtosis.unwrap_or(0.0)));
        let n = self.recent.len();
        if n < 3 {
            return;
        }
        let peak = self.median_of(0..n, false);
        let zone = self.p.limits_g.iter().filter(|&&l| peak >= l).count();
        let base = [0.10, 0.40, 0.70, 0.90][zone];
        let half = n / 2;
        let early = self.median_of(0..half, false);
        let late = self.median_of(n - half..n, false);
        let rising = if early > 0.0 {
            ((late / early - 1.0) / 0.5).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let impulsive = if self.median_of(0..n, true) > 4.0 {
            0.02
        } else {
            0.0
        };
        let confidence = (base + 0.08 * rising + impulsive).min(0.99);
        let recommended_action = match zone {
            0 => "No action needed; keep monitoring",
            1 => "Monitor vibration; inspect at the next routine service",
            2 => "Schedule HVAC inspection within 14 days",
            _ => "Schedule HVAC inspection within 3 days; compressor bearing failure likely",
        };
        out.push(Prediction {
            issue: BEARING_ISSUE.into(),
            confidence: (confidence * 100.0).round() / 100.0,
            recommended_action: recommended_action.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::last_of_peaks;
    use super::*;

    fn predict(peaks: &[f64]) -> Option<Prediction> {
        last_of_peaks(&SeverityZones::default(), peaks)
    }

    #[test]
    fn zones_set_the_confidence_and_trends_raise_it() {
        assert_eq!(predict(&[0.2, 0.2]), None, "too little data");
        let healthy = predict(&[0.2; 10]).unwrap();
        assert!((healthy.confidence - 0.12).abs() < 1e-9, "{healthy:?}");
        let zone_c = predict(&[1.5; 10]).unwrap();
        assert!((zone_c.confidence - 0.72).abs() < 1e-9, "{zone_c:?}");
        assert!(zone_c.recommended_action.contains("14 days"));
        // Rising through zone C: more confident.
        let rising = predict(&[1.1, 1.1, 1.2, 1.2, 1.3, 1.6, 1.7, 1.8, 1.9, 1.9]).unwrap();
        assert!(rising.confidence > zone_c.confidence, "{rising:?}");
        let zone_d = predict(&[3.0; 10]).unwrap();
        assert!(zone_d.confidence >= 0.9 && zone_d.confidence <= 0.99);
        // One spike does not move the median.
        let spike = predict(&[0.2, 0.2, 0.2, 0.2, 9.0, 0.2, 0.2, 0.2, 0.2, 0.2]).unwrap();
        assert!(spike.confidence < 0.2);
    }

    #[test]
    fn only_the_last_window_counts() {
        // Twenty healthy reports, then ten in zone C: as if only the ten.
        let mut peaks = vec![0.2; 20];
        peaks.extend([1.5; 10]);
        assert_eq!(predict(&peaks), predict(&[1.5; 10]));
    }
}
