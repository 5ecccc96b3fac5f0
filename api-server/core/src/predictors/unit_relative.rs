//! The unit-relative baseline: alert when a unit's vibration has doubled
//! against its own early level.

use std::collections::VecDeque;

use super::stats::FirstMean;
use super::zones::median;
use super::{BEARING_ISSUE, DeviceModel, Prediction, Predictor, Sample};

/// The baseline every run scores in shadow (`unit-relative`): the median
/// peak acceleration of the last `window` reports over the mean of the
/// unit's first `baseline_reports`. Grading a machine against its own
/// baseline rather than a class limit is ISO 13373-1:2002's advice (§6), and
/// a doubling of the overall level — 6 dB — is the classic change alarm of
/// vibration monitoring practice. The confidence is 1 once the ratio
/// reaches `factor`, and below that rises from 0 (no rise) to 0.5, so any
/// alert threshold above 0.5 alerts exactly at `factor`× and lower ones
/// earlier. It learns nothing from failures: the floor a trained or
/// physics-informed model must beat.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRelative {
    /// Reports whose mean peak is the unit's baseline.
    pub baseline_reports: u32,
    /// Reports in the median.
    pub window: usize,
    /// The rise over the baseline that alerts.
    pub factor: f64,
}

impl Default for UnitRelative {
    fn default() -> Self {
        UnitRelative {
            baseline_reports: 30,
            window: 10,
            factor: 2.0,
        }
    }
}

impl Predictor for UnitRelative {
    fn name(&self) -> &str {
        super::UNIT_RELATIVE
    }

    fn device_model(&self) -> Box<dyn DeviceModel> {
        Box::new(UnitModel {
            p: self.clone(),
            baseline: FirstMean::default(),
            recent: VecDeque::with_capacity(self.window),
            scratch: Vec::with_capacity(self.window),
        })
    }
}

#[derive(Debug)]
struct UnitModel {
    p: UnitRelative,
    baseline: FirstMean,
    recent: VecDeque<f64>,
    scratch: Vec<f64>,
}

impl DeviceModel for UnitModel {
    fn observe(&mut self, sample: Sample<'_>, out: &mut Vec<Prediction>) {
        let Sample::Vibration(r) = sample else {
            return;
        };
        let n = self.p.baseline_reports.max(1);
        self.baseline.add(r.amplitude_g, n);
        let window = self.p.window.max(1);
        if self.recent.len() == window {
            self.recent.pop_front();
        }
        self.recent.push_back(r.amplitude_g);
        let Some(base) = self.baseline.mean(n).filter(|b| *b > 0.0) else {
            return;
        };
        self.scratch.clear();
        self.scratch.extend(self.recent.iter().copied());
        let ratio = median(&mut self.scratch) / base;
        let factor = self.p.factor.max(1.0 + 1e-9);
        let confidence = if ratio >= factor {
            1.0
        } else {
            0.5 * ((ratio - 1.0) / (factor - 1.0)).clamp(0.0, 1.0)
        };
        out.push(Prediction {
            issue: BEARING_ISSUE.into(),
            confidence: (confidence * 1_000.0).round() / 1_000.0,
            recommended_action: super::action_for(confidence).into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::last_of_peaks;
    use super::*;

    fn predict(peaks: &[f64]) -> Option<Prediction> {
        last_of_peaks(&UnitRelative::default(), peaks)
    }

    #[test]
    fn a_doubling_over_the_units_own_baseline_alerts() {
        // Nothing until 30 reports make the baseline.
        assert_eq!(predict(&[0.4; 29]), None);
        // A loud healthy unit (3 g) stays at 0; so does a quiet one.
        assert_eq!(predict(&[3.0; 40]).unwrap().confidence, 0.0);
        assert_eq!(predict(&[0.2; 40]).unwrap().confidence, 0.0);
        // 1.5× its baseline: half way to the alarm, 0.25 (values exact in
        // binary).
        let mut peaks = vec![0.25; 30];
        peaks.extend([0.375; 10]);
        assert_eq!(predict(&peaks).unwrap().confidence, 0.25);
        // 2× (6 dB): alert.
        let mut peaks = vec![0.25; 30];
        peaks.extend([0.5; 10]);
        let p = predict(&peaks).unwrap();
        assert_eq!(p.confidence, 1.0);
        assert_eq!(p.issue, BEARING_ISSUE);
        // One spike does not move the median.
        let mut peaks = vec![0.4; 39];
        peaks.push(5.0);
        assert_eq!(predict(&peaks).unwrap().confidence, 0.0);
    }
}
