//! The 240 V split-phase supply at the outdoor unit and the current the
//! thermostat's sensor reads.
//!
//! - Voltage: nominal 240 V (ANSI C84.1 Range A allows ±5 %: 228–252 V) with
//!   Gaussian measurement/grid noise, a drop across the branch circuit while
//!   the unit draws current (`V = V_s − I·R_line`), and voltage sags as a
//!   Poisson process (IEEE 1159 defines a sag as 10–90 % of nominal for
//!   0.5 cycle to 1 min; most last under 2 s).
//! - Current, as a current transformer on the compressor's common lead
//!   reads it (where Copeland's Comfort Alert diagnostic module senses
//!   compressor current; the condenser fan, the blower and the backup
//!   strips are not in it): `I = P / (V·PF)` of the compressor alone
//!   ([`SupplyParams::condenser_fan_w`] is the part of the outdoor unit's
//!   draw that is the fan's), scaled by the health model's current factor
//!   (weak run capacitor, bearing drag). In the first moments after a start the
//!   compressor draws its locked-rotor current. A compressor that is
//!   energised but cannot turn (seized bearing, dead run capacitor) draws
//!   locked-rotor current until its internal overload protector opens,
//!   then nothing until the protector has cooled and closes again, and
//!   tries again ([`Motor::Stalled`]); a unit stopped by its low-pressure
//!   switch or its outdoor lockout draws nothing.
//!
//! Defaults from published data: a 3-ton single-phase unit's nameplate
//! (Carrier 38YDA-036 heat pump, 208/230 V, electrical data: compressor
//! RLA 17.6 A, LRA 90.0 A; outdoor fan 1/4 hp, FLA 1.5 A) gives the
//! locked-rotor multiple 90.0 / 17.6 = 5.1; the running power factor 0.97 is
//! the single-phase compressor motor's in the WECC composite load model's
//! air-conditioner performance model (WECC MVWG 2012, "WECC Composite Load
//! Model" / CMPLDW motor D, `CompPF` = 0.97: a permanent-split-capacitor
//! motor's run capacitor brings it near unity).

use rand::RngExt;
use rand_distr::{Distribution, Exp, StandardNormal};
use sim_core::{SimDuration, SimRng, SimTime};

use crate::equipment::Health;
use crate::params::{ParamError, check_range};

/// Supply and motor-electrical parameters. Defaults: 240 V, σ = 1 V noise,
/// 0.1 Ω branch circuit, 0.2 sags per day of mean depth 15 % lasting 1.5 s on
/// average, power factor 0.97, locked-rotor current 5.1 × running for
/// 300 ms (see the module's sources), a 250 W condenser fan (a 1/4 hp
/// motor's input), and a stalled compressor's overload protector opening
/// after 10 s at locked-rotor current and closing again 15 min later.
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
    /// Condenser fan power [W]: the part of the outdoor unit's draw that is
    /// not the compressor's (and not on the compressor's lead), 0 to 2,000.
    pub condenser_fan_w: f64,
    /// How long a stalled compressor draws locked-rotor current before its
    /// overload protector opens [s], 0.1 to 120.
    pub overload_trip_s: f64,
    /// How long the open protector takes to close again [s], 10 to 7,200.
    pub overload_reset_s: f64,
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
            power_factor: 0.97,
            locked_rotor_multiple: 90.0 / 17.6,
            inrush_ms: 300.0,
            condenser_fan_w: 250.0,
            overload_trip_s: 10.0,
            overload_reset_s: 900.0,
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
        check_range("inrush_ms", self.inrush_ms, 0.0, 5_000.0)?;
        check_range("condenser_fan_w", self.condenser_fan_w, 0.0, 2_000.0)?;
        check_range("overload_trip_s", self.overload_trip_s, 0.1, 120.0)?;
        check_range("overload_reset_s", self.overload_reset_s, 10.0, 7_200.0)
    }
}

/// What the compressor motor is doing, for its current.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Motor {
    /// Not energised (no call, lockout, low-pressure switch open): the
    /// outdoor unit draws nothing.
    Off,
    /// Turning, for `since` after its start, drawing `compressor_w` (the
    /// compressor alone, without the condenser fan).
    Running {
        /// Time since the start.
        since: SimDuration,
        /// The compressor's electric power [W].
        compressor_w: f64,
    },
    /// Energised but unable to turn (seized, or a dead run capacitor) for
    /// `since`: locked-rotor current until the overload protector opens,
    /// then nothing until it closes and the motor tries again. `rated_w`:
    /// the compressor's running power when it last ran (locked-rotor
    /// current is a multiple of the running current).
    Stalled {
        /// Time since the stalled call began.
        since: SimDuration,
        /// The compressor's running power [W].
        rated_w: f64,
    },
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

    /// What the sensors read at `t` with the compressor motor in `motor`,
    /// in condition `health` (its current and start-duration factors).
    pub fn read(&mut self, t: SimTime, motor: Motor, health: &Health) -> ElectricalReading {
        let p = self.params;
        let sag = self.sag_at(t).map_or(0.0, |s| s.depth);
        let noise: f64 = StandardNormal.sample(&mut self.rng);
        let source_v = p.nominal_v * (1.0 - sag) + p.noise_sigma_v * noise;
        let amps = |w: f64| w.max(0.0) / (source_v * p.power_factor);
        let current_a = match motor {
            Motor::Off => 0.0,
            Motor::Running {
                since,
                compressor_w,
            } => {
                let running_a = amps(compressor_w) * health.current_factor;
                let inrush_ms = p.inrush_ms * health.start_duration_factor;
                if (since.as_millis() as f64) < inrush_ms {
                    running_a * p.locked_rotor_multiple
                } else {
                    running_a
                }
            }
            Motor::Stalled { since, rated_w } => {
                let cycle = p.overload_trip_s + p.overload_reset_s;
                let phase = since.as_secs_f64() % cycle;
                if phase < p.overload_trip_s {
                    amps(rated_w) * p.locked_rotor_multiple
                } else {
                    0.0
                }
            }
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

    fn quiet() -> SupplyParams {
        SupplyParams {
            noise_sigma_v: 0.0,
            sags_per_day: 0.0,
            line_resistance_ohm: 0.0,
            ..SupplyParams::default()
        }
    }

    fn running(ms: u64, compressor_w: f64) -> Motor {
        Motor::Running {
            since: SimDuration::from_millis(ms),
            compressor_w,
        }
    }

    #[test]
    fn a_three_ton_compressor_starts_at_its_nameplate_locked_rotor_current() {
        // Carrier 38YDA-036 electrical data (208/230 V): compressor RLA
        // 17.6 A, LRA 90.0 A. A compressor running at 17.6 A draws 90.0 A
        // in its first 300 ms.
        let mut s = supply(quiet());
        let healthy = Health::default();
        let w = 17.6 * 240.0 * 0.97;
        let r = s.read(SimTime::from_secs(10), running(60_000, w), &healthy);
        assert!((r.current_a - 17.6).abs() < 1e-9, "{}", r.current_a);
        assert_eq!(r.voltage_v, 240.0);
        let inrush = s.read(SimTime::from_secs(11), running(100, w), &healthy);
        assert!(
            (inrush.current_a - 90.0).abs() < 1e-9,
            "{}",
            inrush.current_a
        );
        let after = s.read(SimTime::from_secs(12), running(800, w), &healthy);
        assert!(
            (after.current_a - r.current_a).abs() < 1e-9,
            "inrush over after 300 ms"
        );
        let weak = Health {
            current_factor: 1.15,
            start_duration_factor: 3.0,
            ..Health::default()
        };
        let weak_capacitor = s.read(SimTime::from_secs(13), running(60_000, w), &weak);
        assert!((weak_capacitor.current_a / r.current_a - 1.15).abs() < 1e-9);
        let hard_start = s.read(SimTime::from_secs(14), running(800, w), &weak);
        assert!(
            hard_start.current_a >= 90.0,
            "a hard start still draws locked-rotor current at 800 ms"
        );
        assert_eq!(
            s.read(SimTime::from_secs(15), Motor::Off, &healthy)
                .current_a,
            0.0
        );
    }

    #[test]
    fn a_stalled_compressor_trips_on_its_overload_and_retries() {
        let p = quiet();
        let mut s = supply(p);
        let h = Health {
            compressor_failed: true,
            ..Health::default()
        };
        let w = 17.6 * 240.0 * 0.97;
        let stalled = |secs: f64| Motor::Stalled {
            since: SimDuration::from_secs_f64(secs).unwrap(),
            rated_w: w,
        };
        let mut at = 0;
        let mut read = |m: Motor| {
            at += 1;
            s.read(SimTime::from_secs(at), m, &h).current_a
        };
        assert!((read(stalled(2.0)) - 90.0).abs() < 1e-9, "locked rotor");
        assert_eq!(read(stalled(11.0)), 0.0, "protector open");
        assert_eq!(read(stalled(900.0)), 0.0);
        assert!((read(stalled(911.0)) - 90.0).abs() < 1e-9, "tries again");
        // Over a long stall the locked-rotor share is trip / (trip + reset).
        let n = 9_100;
        let locked = (0..n)
            .filter(|&k| read(stalled(f64::from(k) * 0.1)) > 1.0)
            .count();
        assert!((locked as f64 / n as f64 - 10.0 / 910.0).abs() < 1e-3);
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
                .read(SimTime::from_secs(i), Motor::Off, &Health::default())
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
                    running(9_000, 4_000.0 - 250.0),
                    &Health::default(),
                )
                .voltage_v
            })
            .sum::<f64>()
            / 1000.0;
        // I = 4 kW / (240 V · 0.97) ≈ 17.2 A across 0.1 Ω: 1.72 V lower.
        assert!((240.0 - loaded - 1.72).abs() < 0.2, "{loaded}");
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
            .read(sag.start, Motor::Off, &Health::default())
            .voltage_v;
        assert!((v - 240.0 * (1.0 - sag.depth)).abs() < 1e-9, "{v}");
    }
}
