//! The 240 V split-phase supply at the outdoor unit and the current the
//! thermostat's sensor reads.
//!
//! - Voltage: nominal 240 V (ANSI C84.1 Range A allows ±5 %: 228–252 V) with
//!   Gaussian measurement/grid noise, a drop across the branch circuit while
//!   the unit draws current (`V = V_s − I·R_line`), and voltage sags as a
//!   Poisson process (IEEE 1159 defines a sag as 10–90 % of nominal for
//!   0.5 cycle to 1 min; most last under 2 s).
//! - Current: `I = P / (V·PF)`; in the first moments after a start the
//!   compressor draws its locked-rotor current (typically 5–7 × the running
//!   current for a few hundred milliseconds; NEMA MG 1 code letters), scaled by
//!   the health model's current factor (weak run capacitor, bearing drag).

use rand::RngExt;
use rand_distr::{Distribution, Exp, StandardNormal};
use sim_core::{SimDuration, SimRng, SimTime};

use crate::equipment::Health;
use crate::params::{ParamError, check_range};

/// Supply and motor-electrical parameters. Defaults: 240 V, σ = 1 V noise,
/// 0.1 Ω branch circuit, 0.2 sags per day of mean depth 15 % lasting 1.5 s on
/// average, power factor 0.85, locked-rotor current 5.5 × running for 300 ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupplyParams {
    /// Nominal voltage [V], 100 to 480.
    pub nominal_v: f64,
    /// Standard deviation of the voltage noise [V], 0 to 20.
    pub noise_sigma_v: f64,
    /// Branch-circuit resistance [Ω], 0 to 2.
    pub line_resistance_ohm: f64,
    /// Mean voltage sags per day, 0 to 100.
    pub sags_per_day: f64,
    /// Mean sag depth as a fraction of nominal, 0.1 to 0.9.
    pub sag_depth_fraction: f64,
    /// Mean sag duration [s], 0.01 to 60.
    pub sag_duration_s: f64,
    /// Compressor power factor, 0.5 to 1.
    pub power_factor: f64,
    /// Locked-rotor current as a multiple of the running current, 1 to 10.
    pub locked_rotor_multiple: f64,
    /// How long the starting current lasts [ms], 0 to 5,000.
    pub inrush_ms: f64,
}

impl Default for SupplyParams {
    fn default() -> Self {
        SupplyParams {
            nominal_v: 240.0,
            noise_sigma_v: 1.0,
            line_resistance_ohm: 0.1,
            sags_per_day: 0.2,
            sag_depth_fraction: 0.15,
            sag_duration_s: 1.5,
            power_factor: 0.85,
            locked_rotor_multiple: 5.5,
            inrush_ms: 300.0,
        }
    }
}

impl SupplyParams {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_range("nominal_v", self.nominal_v, 100.0, 480.0)?;
        check_range("noise_sigma_v", self.noise_sigma_v, 0.0, 20.0)?;
        check_range("line_resistance_ohm", self.line_resistance_ohm, 0.0, 2.0)?;
        check_range("sags_per_day", self.sags_per_day, 0.0, 100.0)?;
        check_range("sag_depth_fraction", self.sag_depth_fraction, 0.1, 0.9)?;
        check_range("sag_duration_s", self.sag_duration_s, 0.01, 60.0)?;
        check_range("power_factor", self.power_factor, 0.5, 1.0)?;
        check_range(
            "locked_rotor_multiple",
            self.locked_rotor_multiple,
            1.0,
            10.0,
        )?;
        check_range("inrush_ms", self.inrush_ms, 0.0, 5_000.0)
    }
}

/// A voltage sag: `[start, end)` at `depth` below nominal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sag {
    /// Start of the sag.
    pub start: SimTime,
    /// End of the sag.
    pub end: SimTime,
    /// Depth as a fraction of nominal.
    pub depth: f64,
}

/// One home's supply: draws its sags lazily as time moves forward, from the
/// home's own stream.
#[derive(Debug)]
pub struct Supply {
    params: SupplyParams,
    rng: SimRng,
    current_sag: Option<Sag>,
    next_sag_start: SimTime,
}

/// A reading of the unit's electrical state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElectricalReading {
    /// Voltage at the unit [V].
    pub voltage_v: f64,
    /// Current drawn by the unit [A].
    pub current_a: f64,
}

impl Supply {
    /// A supply with validated `params`, sags drawn from `rng` starting at
    /// `start`.
    pub fn new(
        params: SupplyParams,
        mut rng: SimRng,
        start: SimTime,
    ) -> Result<Supply, ParamError> {
        params.validate()?;
        let next_sag_start = start + Self::gap(&params, &mut rng);
        Ok(Supply {
            params,
            rng,
            current_sag: None,
            next_sag_start,
        })
    }

    fn gap(p: &SupplyParams, rng: &mut SimRng) -> SimDuration {
        if p.sags_per_day <= 0.0 {
            return SimDuration::MAX;
        }
        let days: f64 = Exp::new(p.sags_per_day).map_or(f64::INFINITY, |e| e.sample(rng));
        SimDuration::from_secs_f64(days * 86_400.0).unwrap_or(SimDuration::MAX)
    }

    /// The parameters.
    pub fn params(&self) -> &SupplyParams {
        &self.params
    }

    /// The sag in effect at `t`, if any. Calls must not go back in time.
    pub fn sag_at(&mut self, t: SimTime) -> Option<Sag> {
        if let Some(s) = self.current_sag {
            if t < s.end {
                return (t >= s.start).then_some(s);
            }
            self.current_sag = None;
        }
        while t >= self.next_sag_start {
            let p = self.params;
            let start = self.next_sag_start;
            let duration = Exp::new(1.0 / p.sag_duration_s)
                .map_or(p.sag_duration_s, |e| e.sample(&mut self.rng));
            let depth = (p.sag_depth_fraction * (0.5 + self.rng.random::<f64>())).clamp(0.1, 0.9);
            let end =
                start + SimDuration::from_secs_f64(duration).unwrap_or(SimDuration::from_secs(60));
            self.next_sag_start = end + Self::gap(&p, &mut self.rng);
            if t < end {
                self.current_sag = Some(Sag { start, end, depth });
                return self.current_sag;
            }
        }
        None
    }

    /// What the sensors read at `t` while the unit draws `power_w` (compressor
    /// plus fan), `since_start` after the compressor started (`None`: not
    /// running), in condition `health` (its current and start-duration
    /// factors).
    pub fn read(
        &mut self,
        t: SimTime,
        power_w: f64,
        since_start: Option<SimDuration>,
        health: &Health,
    ) -> ElectricalReading {
        let p = self.params;
        let sag = self.sag_at(t).map_or(0.0, |s| s.depth);
        let noise: f64 = StandardNormal.sample(&mut self.rng);
        let source_v = p.nominal_v * (1.0 - sag) + p.noise_sigma_v * noise;
        let running_a = power_w.max(0.0) / (source_v * p.power_factor) * health.current_factor;
        let inrush_ms = p.inrush_ms * health.start_duration_factor;
        let inrush = since_start.is_some_and(|d| (d.as_millis() as f64) < inrush_ms);
        let current_a = if inrush {
            running_a * p.locked_rotor_multiple
        } else {
            running_a
        };
        ElectricalReading {
            voltage_v: (source_v - current_a * p.line_resistance_ohm).max(0.0),
            current_a,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::stream;

    fn supply(p: SupplyParams) -> Supply {
        Supply::new(p, stream(1, 1, "supply"), SimTime::EPOCH).unwrap()
    }

    #[test]
    fn a_three_ton_compressor_draws_its_running_current() {
        // 3.5 kW at 240 V and PF 0.85: 17.2 A, as a 3-ton unit's ~17.6 A RLA.
        let mut s = supply(SupplyParams {
            noise_sigma_v: 0.0,
            sags_per_day: 0.0,
            line_resistance_ohm: 0.0,
            ..SupplyParams::default()
        });
        let healthy = Health::default();
        let running = Some(SimDuration::from_secs(60));
        let r = s.read(SimTime::from_secs(10), 3_500.0, running, &healthy);
        assert!((r.current_a - 17.16).abs() < 0.01, "{}", r.current_a);
        assert_eq!(r.voltage_v, 240.0);
        let starting = Some(SimDuration::from_millis(100));
        let inrush = s.read(SimTime::from_secs(11), 3_500.0, starting, &healthy);
        assert!((inrush.current_a / r.current_a - 5.5).abs() < 1e-9);
        let later = Some(SimDuration::from_millis(800));
        let after = s.read(SimTime::from_secs(12), 3_500.0, later, &healthy);
        assert!(
            (after.current_a - r.current_a).abs() < 1e-9,
            "inrush over after 300 ms"
        );
        let weak = Health {
            current_factor: 1.15,
            start_duration_factor: 3.0,
            ..Health::default()
        };
        let weak_capacitor = s.read(SimTime::from_secs(13), 3_500.0, running, &weak);
        assert!((weak_capacitor.current_a / r.current_a - 1.15).abs() < 1e-9);
        let hard_start = s.read(SimTime::from_secs(14), 3_500.0, later, &weak);
        assert!(
            hard_start.current_a > 5.0 * r.current_a,
            "a hard start still draws locked-rotor current at 800 ms"
        );
    }

    #[test]
    fn load_drops_the_voltage_and_noise_has_its_spread() {
        let mut s = supply(SupplyParams {
            sags_per_day: 0.0,
            ..SupplyParams::default()
        });
        let n = 20_000;
        let (mut sum, mut sq) = (0.0, 0.0);
        for i in 0..n {
            let v = s
                .read(SimTime::from_secs(i), 0.0, None, &Health::default())
                .voltage_v;
            sum += v;
            sq += v * v;
        }
        let mean = sum / n as f64;
        let sd = (sq / n as f64 - mean * mean).sqrt();
        assert!(
            (mean - 240.0).abs() < 0.05 && (sd - 1.0).abs() < 0.05,
            "{mean} ± {sd}"
        );
        let loaded = (0..1000)
            .map(|i| {
                s.read(
                    SimTime::from_secs(n + i),
                    4_000.0,
                    Some(SimDuration::from_secs(9)),
                    &Health::default(),
                )
                .voltage_v
            })
            .sum::<f64>()
            / 1000.0;
        // I ≈ 19.6 A across 0.1 Ω: about 2 V lower.
        assert!((240.0 - loaded - 1.96).abs() < 0.2, "{loaded}");
    }

    #[test]
    fn sags_arrive_at_the_stated_rate_and_depth() {
        let mut s = supply(SupplyParams {
            sags_per_day: 5.0,
            ..SupplyParams::default()
        });
        let days = 400;
        let mut sags = Vec::new();
        let mut t = SimTime::EPOCH;
        let end = SimTime::EPOCH + SimDuration::from_days(days);
        // Probe every 100 ms around each sag by jumping from sag to sag.
        while t < end {
            if let Some(sag) = s.sag_at(t) {
                sags.push(sag);
                t = sag.end;
            } else {
                t = s.next_sag_start.min(end);
            }
        }
        let rate = sags.len() as f64 / days as f64;
        assert!((rate - 5.0).abs() < 0.4, "{rate} sags/day");
        let mean_depth = sags.iter().map(|s| s.depth).sum::<f64>() / sags.len() as f64;
        assert!((mean_depth - 0.15).abs() < 0.02, "{mean_depth}");
        assert!(
            sags.iter()
                .all(|s| (0.1..=0.9).contains(&s.depth) && s.end > s.start)
        );
        // During a sag the voltage reads low.
        let sag = sags[0];
        let mut again = supply(SupplyParams {
            sags_per_day: 5.0,
            noise_sigma_v: 0.0,
            ..SupplyParams::default()
        });
        let v = again
            .read(sag.start, 0.0, None, &Health::default())
            .voltage_v;
        assert!((v - 240.0 * (1.0 - sag.depth)).abs() < 1e-9, "{v}");
    }
}
