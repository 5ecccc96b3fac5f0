//! Running statistics in O(1) per sample, for device models.

/// Exponentially forgotten sums of samples `(t, y)`: Σw, Σw·t, Σw·t², Σw·y,
/// Σw·t·y, each sample's weight halving every `half_life` (in the units of
/// `t`) — the sufficient statistics of a weighted linear regression of `y`
/// on `t`, as in recursive least squares with a forgetting factor (Ljung &
/// Söderström 1983, "Theory and Practice of Recursive Identification").
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DecayingSums {
    s0: f64,
    st: f64,
    stt: f64,
    sy: f64,
    sty: f64,
    last_t: f64,
    count: u32,
}

/// The sums centred on the latest sample's `t` (so `t` is "time since now").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Centred {
    /// Σw.
    pub s0: f64,
    /// Σw·(t − t_last).
    pub s1: f64,
    /// Σw·(t − t_last)².
    pub s2: f64,
    /// Σw·y.
    pub sy: f64,
    /// Σw·(t − t_last)·y.
    pub s1y: f64,
}

impl DecayingSums {
    /// Adds a sample (`t` not before the last one's).
    pub fn add(&mut self, t: f64, y: f64, half_life: f64) {
        if self.count > 0 {
            let decay = (-(t - self.last_t).max(0.0) / half_life * std::f64::consts::LN_2).exp();
            self.s0 *= decay;
            self.st *= decay;
            self.stt *= decay;
            self.sy *= decay;
            self.sty *= decay;
        }
        self.s0 += 1.0;
        self.st += t;
        self.stt += t * t;
        self.sy += y;
        self.sty += t * y;
        self.last_t = t;
        self.count = self.count.saturating_add(1);
    }

    /// Samples added.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The latest sample's `t`.
    pub fn last_t(&self) -> f64 {
        self.last_t
    }

    /// The sums centred on the latest sample.
    pub fn centred(&self) -> Centred {
        let c = self.last_t;
        Centred {
            s0: self.s0,
            s1: self.st - c * self.s0,
            s2: self.stt - 2.0 * c * self.st + c * c * self.s0,
            sy: self.sy,
            s1y: self.sty - c * self.sy,
        }
    }

    /// The weighted mean of `y`; `None` before the first sample.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sy / self.s0)
    }

    /// The weighted least-squares slope of `y` on `t`; `None` while the
    /// samples' times do not spread.
    pub fn slope(&self) -> Option<f64> {
        let c = self.centred();
        let det = c.s0 * c.s2 - c.s1 * c.s1;
        (det > 1e-12 * c.s0 * c.s0.max(1.0)).then(|| (c.s0 * c.s1y - c.s1 * c.sy) / det)
    }
}

/// The mean of a stream's first `n` values — a unit's own baseline — in
/// O(1): later values are not taken.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FirstMean {
    sum: f64,
    count: u32,
}

impl FirstMean {
    /// Takes `v` while fewer than `n` values came in; whether it did.
    pub fn add(&mut self, v: f64, n: u32) -> bool {
        if self.count >= n {
            return false;
        }
        self.sum += v;
        self.count += 1;
        true
    }

    /// The mean, once `n` values (at least one) came in.
    pub fn mean(&self, n: u32) -> Option<f64> {
        (self.count >= n && self.count > 0).then(|| self.sum / f64::from(self.count))
    }
}

/// The least-squares line `y = a + b·x` through a stream's first `n`
/// points — a unit's own baseline as a function of a condition (its running
/// current against the outdoor temperature) — in O(1): later points are not
/// taken.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FirstLine {
    count: u32,
    sx: f64,
    sy: f64,
    sxx: f64,
    sxy: f64,
}

impl FirstLine {
    /// Takes `(x, y)` while fewer than `n` points came in; whether it did.
    pub fn add(&mut self, x: f64, y: f64, n: u32) -> bool {
        if self.count >= n {
            return false;
        }
        self.count += 1;
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.sxy += x * y;
        true
    }

    /// The line at `x`, once `n` points (at least one) came in; flat at
    /// their mean `y` while their `x` spread (standard deviation) is under
    /// `min_spread`, where a slope would be noise.
    pub fn at(&self, x: f64, n: u32, min_spread: f64) -> Option<f64> {
        if self.count < n || self.count == 0 {
            return None;
        }
        let c = f64::from(self.count);
        let (mx, my) = (self.sx / c, self.sy / c);
        let var = (self.sxx / c - mx * mx).max(0.0);
        if var < min_spread * min_spread {
            return Some(my);
        }
        let slope = (self.sxy / c - mx * my) / var;
        Some(my + slope * (x - mx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_gives_its_slope_and_old_samples_fade() {
        let mut s = DecayingSums::default();
        assert_eq!((s.mean(), s.slope()), (None, None));
        for i in 0..100 {
            let t = f64::from(i) * 0.1;
            s.add(t, 2.0 + 0.5 * t, 1.0);
        }
        assert!((s.slope().unwrap() - 0.5).abs() < 1e-9);
        // After a long flat stretch the old ramp is forgotten.
        for i in 100..400 {
            s.add(f64::from(i) * 0.1, 1.0, 1.0);
        }
        assert!(s.slope().unwrap().abs() < 1e-6);
        assert!((s.mean().unwrap() - 1.0).abs() < 1e-6);
        assert_eq!(s.count(), 400);
        // Equal weights within one instant: the plain mean.
        let mut m = DecayingSums::default();
        m.add(0.0, 1.0, 1.0);
        m.add(0.0, 3.0, 1.0);
        assert_eq!(m.mean(), Some(2.0));
        assert_eq!(m.slope(), None);
    }

    #[test]
    fn the_first_mean_keeps_only_the_first_values() {
        let mut m = FirstMean::default();
        assert_eq!(m.mean(0), None);
        assert!(m.add(1.0, 3) && m.add(2.0, 3));
        assert_eq!(m.mean(3), None, "two of three");
        assert!(m.add(6.0, 3));
        assert!(!m.add(100.0, 3));
        assert_eq!(m.mean(3), Some(3.0));
    }

    #[test]
    fn the_first_line_fits_the_first_points() {
        // y = 10 + 0.2·x over x = 20…30, then points off the line.
        let mut l = FirstLine::default();
        for i in 0..11 {
            let x = 20.0 + f64::from(i);
            assert!(l.add(x, 10.0 + 0.2 * x, 11));
        }
        assert!(!l.add(25.0, 100.0, 11));
        assert!((l.at(35.0, 11, 1.0).unwrap() - 17.0).abs() < 1e-9);
        assert_eq!(l.at(35.0, 12, 1.0), None, "not yet 12 points");
        // Points at one x: the flat mean.
        let mut flat = FirstLine::default();
        flat.add(25.0, 10.0, 2);
        flat.add(25.0, 12.0, 2);
        assert_eq!(flat.at(40.0, 2, 1.0), Some(11.0));
    }
}
