//! Vibration features computed on the device from an accelerometer window:
//! peak amplitude [g], dominant frequency [Hz] (the largest line of a real
//! FFT, planned once and reused), RMS [g] and kurtosis. These are what the
//! firmware reports to `POST /v1/diagnostics/vibration` (amplitude, frequency,
//! duration_ms, plus rms and kurtosis as optional fields).

use std::sync::Arc;

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};

/// Features of one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Peak absolute acceleration [g].
    pub peak_g: f64,
    /// Frequency of the largest spectral line above DC [Hz].
    pub dominant_hz: f64,
    /// Root mean square [g].
    pub rms_g: f64,
    /// Kurtosis (fourth standardised moment; 3 for Gaussian noise, 1.5 for a
    /// pure tone, large for impulsive signals).
    pub kurtosis: f64,
}

/// Computes [`Features`] for windows of one length, reusing the FFT plan and
/// buffers.
pub struct FeatureExtractor {
    len: usize,
    fft: Arc<dyn Fft<f64>>,
    buffer: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

impl std::fmt::Debug for FeatureExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureExtractor")
            .field("len", &self.len)
            .finish()
    }
}

impl FeatureExtractor {
    /// An extractor for windows of `len` samples (at least 2).
    pub fn new(len: usize) -> FeatureExtractor {
        let len = len.max(2);
        let fft = FftPlanner::new().plan_fft_forward(len);
        let scratch = vec![Complex64::default(); fft.get_inplace_scratch_len()];
        FeatureExtractor {
            len,
            fft,
            buffer: vec![Complex64::default(); len],
            scratch,
        }
    }

    /// The window length this extractor was planned for.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the planned window is empty (never: at least 2 samples).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Features of `signal` sampled at `sample_rate_hz`; `None` if the window
    /// has the wrong length or holds a non-finite sample.
    pub fn extract(&mut self, signal: &[f64], sample_rate_hz: f64) -> Option<Features> {
        if signal.len() != self.len
            || !signal.iter().all(|x| x.is_finite())
            || sample_rate_hz <= 0.0
        {
            return None;
        }
        let n = signal.len() as f64;
        let mean = signal.iter().sum::<f64>() / n;
        let (mut m2, mut m4, mut peak) = (0.0, 0.0, 0.0f64);
        for &x in signal {
            let d = x - mean;
            let d2 = d * d;
            m2 += d2;
            m4 += d2 * d2;
            peak = peak.max(x.abs());
        }
        m2 /= n;
        m4 /= n;
        for (c, &x) in self.buffer.iter_mut().zip(signal) {
            *c = Complex64::new(x, 0.0);
        }
        self.fft
            .process_with_scratch(&mut self.buffer, &mut self.scratch);
        let half = self.len / 2;
        let (k, _) =
            self.buffer[1..half.max(2)]
                .iter()
                .enumerate()
                .fold((0, 0.0), |best, (i, c)| {
                    let m = c.norm_sqr();
                    if m > best.1 { (i + 1, m) } else { best }
                });
        Some(Features {
            peak_g: peak,
            dominant_hz: k as f64 * sample_rate_hz / n,
            rms_g: (m2 + mean * mean).sqrt(),
            kurtosis: if m2 > 0.0 { m4 / (m2 * m2) } else { 0.0 },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pure_tone_has_known_features() {
        // 1 g at 100 Hz, 1024 samples at 1024 Hz: RMS 1/√2, kurtosis 1.5.
        let fs = 1_024.0;
        let x: Vec<f64> = (0..1_024)
            .map(|i| (std::f64::consts::TAU * 100.0 * i as f64 / fs).sin())
            .collect();
        let f = FeatureExtractor::new(1_024).extract(&x, fs).unwrap();
        assert!((f.dominant_hz - 100.0).abs() < 1e-9);
        assert!((f.rms_g - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-9);
        assert!((f.kurtosis - 1.5).abs() < 1e-9);
        assert!((f.peak_g - 1.0).abs() < 1e-3);
    }

    #[test]
    fn an_impulse_train_is_kurtotic() {
        let mut x = vec![0.0; 1_024];
        for i in (0..1_024).step_by(128) {
            x[i] = 5.0;
        }
        let f = FeatureExtractor::new(1_024).extract(&x, 1_024.0).unwrap();
        assert_eq!(f.peak_g, 5.0);
        assert!(f.kurtosis > 5.0, "{f:?}");
        // Lines at multiples of 8 Hz, all equal: the first wins.
        assert_eq!(f.dominant_hz, 8.0);
    }

    #[test]
    fn bad_windows_are_refused() {
        let mut e = FeatureExtractor::new(256);
        assert!(e.extract(&[0.0; 128], 256.0).is_none());
        let mut x = vec![0.0; 256];
        x[3] = f64::NAN;
        assert!(e.extract(&x, 256.0).is_none());
        assert!(e.extract(&[0.0; 256], 0.0).is_none());
    }
}
