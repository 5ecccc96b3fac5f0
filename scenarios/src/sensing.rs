//! The outdoor unit's sensors as the thermostat reads them, and their
//! faults.
//!
//! **Where each diagnostic comes from.** The AURRA diagnostics endpoints
//! take vibration windows (`POST /v1/diagnostics/vibration`: amplitude,
//! frequency, duration, RMS, kurtosis) and electrical readings
//! (`POST /v1/diagnostics/energy`: voltage, current, runtime) from the
//! thermostat. thermotwin models the hardware that implies: an
//! accelerometer on the compressor's shell in the outdoor unit and a
//! current transformer on the compressor's common lead (where Copeland's
//! Comfort Alert module senses it: not the condenser fan, nor the blower
//! and the backup strips, which sit in the indoor air handler on their own
//! circuit), both wired to the thermostat (or its hub), which samples them
//! and computes the features itself. So:
//!
//! - the accelerometer sees the compressor only while it turns; a
//!   stopped, locked-out, tripped or seized compressor gives it nothing but
//!   its own noise ([`hvac_models::vibration::VibrationParams::idle`]); the
//!   firmware samples it only while `Y` is on and the clamp reads the
//!   compressor drawing current (`vibration_min_current_a`);
//! - the clamp reads the compressor's own current (a weak run capacitor
//!   raises it), its locked-rotor current at
//!   each start and while it is stalled, until its overload protector
//!   opens (`hvac_models::electrics::Motor`).
//!
//! **Sensor faults** (`[[sensing.faults]]`) are a home's own, drawn from its
//! stream `sensor-fault-<n>` (the n-th entry): whether the home has it
//! (`incidence`) and its onset (uniform over `onset_max_days`). From onset
//! the sensor misreports as its kind says; the ground truth records the
//! onset (`event = sensor_fault`). A sensor fault is not a compressor fault:
//! an alert it causes is a false alarm.

use rand::RngExt;
use sim_core::{SimDuration, SimRng, SimTime, stream};

use crate::schema::{SensorFaultKind, SensorFaultSpec};

/// One home's sensor fault.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorFault {
    /// What goes wrong.
    pub kind: SensorFaultKind,
    /// From when.
    pub onset: SimTime,
    /// Share of readings lost (dropouts).
    pub probability: f64,
    /// Factor on the reading (attenuated, miswired).
    pub gain: f64,
    /// Sensitivity change per day (drift).
    pub per_day: f64,
}

impl SensorFault {
    /// The fault's parameters as the ground truth's `detail`.
    pub fn detail(&self) -> String {
        use SensorFaultKind as K;
        match self.kind {
            K::AccelerometerDropout | K::ClampDropout => {
                format!("probability={}", self.probability)
            }
            K::AccelerometerDrift | K::ClampDrift => format!("per_day={}", self.per_day),
            K::AccelerometerAttenuated | K::ClampMiswired => format!("gain={}", self.gain),
            K::AccelerometerStuck | K::ClampStuck => String::new(),
        }
    }

    fn active(&self, t: SimTime) -> bool {
        t >= self.onset
    }

    fn drift_gain(&self, t: SimTime) -> f64 {
        let days = t.saturating_duration_since(self.onset).as_secs_f64() / 86_400.0;
        (1.0 + self.per_day * days).max(0.0)
    }
}

/// Draws home `home`'s sensor faults from `specs`, starting at `start`.
pub fn draw(seed: u64, home: u64, start: SimTime, specs: &[SensorFaultSpec]) -> Vec<SensorFault> {
    use SensorFaultKind as K;
    specs
        .iter()
        .enumerate()
        .filter_map(|(n, spec)| {
            let mut rng: SimRng = stream(seed, home, &format!("sensor-fault-{n}"));
            let has = rng.random::<f64>() < spec.incidence;
            let u = rng.random::<f64>();
            if !has {
                return None;
            }
            let onset = start
                + SimDuration::from_secs_f64(u * spec.onset_max_days * 86_400.0)
                    .unwrap_or(SimDuration::ZERO);
            let gain = spec.gain.unwrap_or(match spec.kind {
                K::ClampMiswired => 0.5,
                _ => 0.3,
            });
            Some(SensorFault {
                kind: spec.kind,
                onset,
                probability: spec.probability,
                gain,
                per_day: spec.per_day,
            })
        })
        .collect()
}

/// What the accelerometer gives for one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Accel {
    /// Nothing (a dropout).
    Missing,
    /// The signal times `gain` (1: as it is).
    Scaled(f64),
    /// A constant output at this value [g].
    Stuck(f64),
}

/// A home's sensors: their faults and what they latched.
#[derive(Debug, Clone, Default)]
pub struct Sensors {
    faults: Vec<SensorFault>,
    /// Faults whose onset has been recorded.
    announced: usize,
    /// The last RMS the accelerometer gave [g] (a stuck sensor holds it).
    last_rms_g: Option<f64>,
    stuck_g: Option<f64>,
    last_current_a: Option<f64>,
    stuck_a: Option<f64>,
}

impl Sensors {
    /// Sensors with `faults`.
    pub fn new(mut faults: Vec<SensorFault>) -> Sensors {
        faults.sort_by_key(|f| f.onset);
        Sensors {
            faults,
            ..Sensors::default()
        }
    }

    /// The faults.
    pub fn faults(&self) -> &[SensorFault] {
        &self.faults
    }

    /// Faults whose onset is at or before `t` and not yet announced.
    pub fn onsets_until(&mut self, t: SimTime) -> &[SensorFault] {
        let from = self.announced;
        while self.announced < self.faults.len() && self.faults[self.announced].onset <= t {
            self.announced += 1;
        }
        &self.faults[from..self.announced]
    }

    /// What the accelerometer gives at `t` (draws a dropout from `rng` only
    /// when the home has one active).
    pub fn accelerometer(&mut self, t: SimTime, rng: &mut SimRng) -> Accel {
        use SensorFaultKind as K;
        let mut gain = 1.0;
        for f in self.faults.iter().filter(|f| f.active(t)) {
            match f.kind {
                K::AccelerometerDropout if rng.random::<f64>() < f.probability => {
                    return Accel::Missing;
                }
                K::AccelerometerStuck => {
                    let held = self.stuck_g.or(self.last_rms_g).unwrap_or(0.0);
                    self.stuck_g = Some(held);
                    return Accel::Stuck(held);
                }
                K::AccelerometerDrift => gain *= f.drift_gain(t),
                K::AccelerometerAttenuated => gain *= f.gain,
                _ => {}
            }
        }
        Accel::Scaled(gain)
    }

    /// Notes the RMS of a window the accelerometer gave.
    pub fn saw_rms(&mut self, rms_g: f64) {
        self.last_rms_g = Some(rms_g);
    }

    /// What the clamp reads at `t` when the current is `true_a`.
    pub fn clamp(&mut self, t: SimTime, true_a: f64, rng: &mut SimRng) -> Option<f64> {
        use SensorFaultKind as K;
        let mut reading = true_a;
        for f in self.faults.iter().filter(|f| f.active(t)) {
            match f.kind {
                K::ClampDropout if rng.random::<f64>() < f.probability => return None,
                K::ClampStuck => {
                    let held = *self
                        .stuck_a
                        .get_or_insert(self.last_current_a.unwrap_or(0.0));
                    return Some(held);
                }
                K::ClampDrift => reading *= f.drift_gain(t),
                K::ClampMiswired => reading *= f.gain,
                _ => {}
            }
        }
        self.last_current_a = Some(reading);
        Some(reading)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(kind: SensorFaultKind, onset_s: i64) -> SensorFault {
        SensorFault {
            kind,
            onset: SimTime::from_secs(onset_s),
            probability: 0.5,
            gain: 0.3,
            per_day: 0.1,
        }
    }

    #[test]
    fn each_fault_misreports_from_its_onset_on() {
        use SensorFaultKind as K;
        let mut rng = stream(1, 1, "t");
        let before = SimTime::from_secs(99);
        let after = SimTime::from_secs(100 + 86_400 * 5);
        let mut s = Sensors::new(vec![fault(K::AccelerometerAttenuated, 100)]);
        assert_eq!(s.accelerometer(before, &mut rng), Accel::Scaled(1.0));
        assert_eq!(s.accelerometer(after, &mut rng), Accel::Scaled(0.3));
        let mut s = Sensors::new(vec![fault(K::AccelerometerDrift, 100)]);
        // +10 % a day for five days.
        let Accel::Scaled(g) = s.accelerometer(after, &mut rng) else {
            panic!()
        };
        assert!((g - 1.5).abs() < 1e-9);
        let mut s = Sensors::new(vec![fault(K::AccelerometerStuck, 100)]);
        s.saw_rms(0.07);
        assert_eq!(s.accelerometer(before, &mut rng), Accel::Scaled(1.0));
        s.saw_rms(0.09);
        assert_eq!(s.accelerometer(after, &mut rng), Accel::Stuck(0.09));
        s.saw_rms(2.0);
        assert_eq!(s.accelerometer(after, &mut rng), Accel::Stuck(0.09));
        let mut s = Sensors::new(vec![fault(K::AccelerometerDropout, 100)]);
        let lost = (0..10_000)
            .filter(|_| s.accelerometer(after, &mut rng) == Accel::Missing)
            .count();
        assert!((lost as f64 / 10_000.0 - 0.5).abs() < 0.02, "{lost}");

        let mut s = Sensors::new(vec![fault(K::ClampMiswired, 100)]);
        assert_eq!(s.clamp(before, 10.0, &mut rng), Some(10.0));
        assert_eq!(s.clamp(after, 10.0, &mut rng), Some(3.0));
        let mut s = Sensors::new(vec![fault(K::ClampStuck, 100)]);
        assert_eq!(s.clamp(before, 12.0, &mut rng), Some(12.0));
        assert_eq!(s.clamp(after, 0.0, &mut rng), Some(12.0));
        assert_eq!(s.clamp(after, 30.0, &mut rng), Some(12.0));
        let mut s = Sensors::new(vec![fault(K::ClampDrift, 100)]);
        assert!((s.clamp(after, 10.0, &mut rng).unwrap() - 15.0).abs() < 1e-9);
        let mut s = Sensors::new(vec![fault(K::ClampDropout, 100)]);
        let lost = (0..10_000)
            .filter(|_| s.clamp(after, 10.0, &mut rng).is_none())
            .count();
        assert!((lost as f64 / 10_000.0 - 0.5).abs() < 0.02, "{lost}");
    }

    #[test]
    fn faults_are_drawn_at_their_incidence_and_announced_once() {
        let spec = SensorFaultSpec {
            kind: SensorFaultKind::ClampMiswired,
            incidence: 0.25,
            onset_max_days: 10.0,
            probability: 0.5,
            gain: None,
            per_day: 0.0,
        };
        let start = SimTime::from_secs(0);
        let homes: Vec<Vec<SensorFault>> = (0..4_000)
            .map(|h| draw(7, h, start, std::slice::from_ref(&spec)))
            .collect();
        let with = homes.iter().filter(|f| !f.is_empty()).count();
        assert!((with as f64 / 4_000.0 - 0.25).abs() < 0.02, "{with}");
        let end = start + SimDuration::from_days(10);
        for f in homes.iter().flatten() {
            assert!(f.onset >= start && f.onset <= end);
            assert_eq!(f.gain, 0.5, "a miswired clamp's default");
        }
        assert_eq!(draw(7, 3, start, std::slice::from_ref(&spec)), homes[3]);
        let faults = homes.into_iter().find(|f| !f.is_empty()).unwrap();
        let onset = faults[0].onset;
        let mut s = Sensors::new(faults);
        assert!(
            s.onsets_until(onset - SimDuration::from_millis(1))
                .is_empty()
        );
        assert_eq!(s.onsets_until(end).len(), 1);
        assert!(s.onsets_until(end).is_empty());
    }
}
