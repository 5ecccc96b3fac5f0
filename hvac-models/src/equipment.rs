//! Heating and cooling equipment driven by thermostat relays: a heat pump with
//! electric backup, or an air conditioner with a gas or electric furnace.
//!
//! Steady-state performance follows EnergyPlus's single-speed DX coil model
//! (EnergyPlus Engineering Reference, "Single-Speed Electric DX Air Cooling
//! Coil" and "… Heating Coil"): capacity = rated × CapFT, power = capacity ×
//! EIR_rated × EIRFT, with the default curves in [`curves`]. The indoor wet
//! bulb comes from the air temperature and a fixed indoor relative humidity by
//! Stull (2011).
//!
//! Cycling losses: after each compressor start the delivered capacity rises as
//! `1 − e^(−t/τ)` (τ ≈ 1 min; O'Neal & Katipamula 1991, "Performance
//! degradation during on-off cycling of single-speed air conditioners and heat
//! pumps") while the power draw is immediate; a step's output is the exact mean
//! of that ramp over the step. This is what makes short cycles cost energy, in
//! place of EnergyPlus's part-load-fraction curve (the thermostat cycles the
//! unit explicitly here).
//!
//! Frost and defrost: between 17 °F and 45 °F the outdoor coil frosts and
//! the unit reverses to clear it, so a heat pump's integrated capacity and
//! power fall below their steady-state values; [`defrost_factors`] takes the
//! DOE test procedure's default for a unit whose frost-accumulation test was
//! not run (10 CFR 430 Subpart B, Appendix M, §3.9.1: at 35 °F, 0.90 × the
//! capacity and 0.985 × the power interpolated between 17 °F and 47 °F),
//! fading linearly to none at 17 °F and at 45 °F (the frosting range the
//! California Simulation Engine's ASHP model uses).
//!
//! Heating lockout: below `min_outdoor_heating_c` the heat pump's compressor
//! does not run; a heating call (`Y`) then energises the backup heat instead,
//! as an air handler's outdoor-thermostat kit does.
//!
//! Relays use the 24 VAC thermostat convention: `Y` compressor, `O` reversing
//! valve energised for cooling, `W` heat (backup strips on a heat pump, the
//! furnace on an AC system), `G` indoor fan.

pub mod curves;

use sim_core::{SimDuration, SimTime};

use crate::params::{ParamError, check_range};

/// The kind of system in the home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemKind {
    /// An air-source heat pump (heats and cools) with electric strip backup.
    HeatPump,
    /// A central air conditioner with a gas furnace.
    AcGasFurnace,
    /// A central air conditioner with an electric furnace.
    AcElectricFurnace,
}

impl SystemKind {
    /// Every kind.
    pub const ALL: [SystemKind; 3] = [
        SystemKind::HeatPump,
        SystemKind::AcGasFurnace,
        SystemKind::AcElectricFurnace,
    ];

    /// The scenario files' name (`heat_pump`, `ac_gas_furnace`,
    /// `ac_electric_furnace`).
    pub fn as_str(self) -> &'static str {
        match self {
            SystemKind::HeatPump => "heat_pump",
            SystemKind::AcGasFurnace => "ac_gas_furnace",
            SystemKind::AcElectricFurnace => "ac_electric_furnace",
        }
    }
}

/// Equipment parameters. Defaults: a 3-ton (10.55 kW) unit, cooling COP 3.5
/// (EER ≈ 12) and heating COP 3.4 at AHRI rating conditions, 10 kW backup,
/// 400 W blower, −12 °C compressor lockout, 95 % AFUE furnace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EquipmentParams {
    /// The system type.
    pub kind: SystemKind,
    /// Total cooling capacity at AHRI rating conditions [W], 1,000 to 50,000.
    pub rated_cooling_w: f64,
    /// Cooling COP at rating conditions, 1.5 to 8.
    pub rated_cooling_cop: f64,
    /// Heat pump heating capacity at 8.33 °C [W], 1,000 to 50,000.
    pub rated_heating_w: f64,
    /// Heat pump heating COP at 8.33 °C, 1.5 to 6.
    pub rated_heating_cop: f64,
    /// Outdoor temperature below which the compressor does not heat [°C],
    /// −40 to 10.
    pub min_outdoor_heating_c: f64,
    /// Output of the backup strips or the furnace [W], 0 to 60,000.
    pub backup_heat_w: f64,
    /// Gas furnace annual fuel utilisation efficiency, 0.5 to 1.
    pub furnace_afue: f64,
    /// Indoor blower power [W], 0 to 2,000; its heat goes into the air.
    pub fan_w: f64,
    /// Time constant of the capacity rise after a compressor start [s],
    /// 0 to 600.
    pub startup_tau_s: f64,
    /// Indoor relative humidity assumed for the coil's wet bulb [%], 10 to 90.
    pub indoor_rel_humidity_pct: f64,
}

impl Default for EquipmentParams {
    fn default() -> Self {
        EquipmentParams {
            kind: SystemKind::HeatPump,
            rated_cooling_w: 10_550.0,
            rated_cooling_cop: 3.5,
            rated_heating_w: 10_550.0,
            rated_heating_cop: 3.4,
            min_outdoor_heating_c: -12.0,
            backup_heat_w: 10_000.0,
            furnace_afue: 0.95,
            fan_w: 400.0,
            startup_tau_s: 60.0,
            indoor_rel_humidity_pct: 50.0,
        }
    }
}

impl EquipmentParams {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_range("rated_cooling_w", self.rated_cooling_w, 1_000.0, 50_000.0)?;
        check_range("rated_cooling_cop", self.rated_cooling_cop, 1.5, 8.0)?;
        check_range("rated_heating_w", self.rated_heating_w, 1_000.0, 50_000.0)?;
        check_range("rated_heating_cop", self.rated_heating_cop, 1.5, 6.0)?;
        check_range(
            "min_outdoor_heating_c",
            self.min_outdoor_heating_c,
            -40.0,
            10.0,
        )?;
        check_range("backup_heat_w", self.backup_heat_w, 0.0, 60_000.0)?;
        check_range("furnace_afue", self.furnace_afue, 0.5, 1.0)?;
        check_range("fan_w", self.fan_w, 0.0, 2_000.0)?;
        check_range("startup_tau_s", self.startup_tau_s, 0.0, 600.0)?;
        check_range(
            "indoor_rel_humidity_pct",
            self.indoor_rel_humidity_pct,
            10.0,
            90.0,
        )
    }
}

/// The thermostat's relay outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Relays {
    /// `Y`: compressor.
    pub y_compressor: bool,
    /// `O`: reversing valve in cooling position (heat pumps; an AC ignores it
    /// and always cools).
    pub o_cool: bool,
    /// `W`: backup strips (heat pump) or furnace (AC systems).
    pub w_heat: bool,
    /// `G`: indoor fan.
    pub g_fan: bool,
}

/// The compressor's condition, from the degradation models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Health {
    /// Multiplier on capacity (refrigerant charge), 0 to 1.
    pub capacity_factor: f64,
    /// Multiplier on the energy input ratio (≥ 1 for a degraded unit).
    pub eir_factor: f64,
    /// Multiplier on the running current (capacitor, bearing friction).
    pub current_factor: f64,
    /// Multiplier on how long a start draws locked-rotor current (≥ 1; a
    /// weak run capacitor gives hard, slow starts).
    pub start_duration_factor: f64,
    /// The compressor has failed: it neither runs nor draws power.
    pub compressor_failed: bool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            capacity_factor: 1.0,
            eir_factor: 1.0,
            current_factor: 1.0,
            start_duration_factor: 1.0,
            compressor_failed: false,
        }
    }
}

/// What the compressor is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressorMode {
    /// Not running.
    Off,
    /// Heat pump heating.
    Heating,
    /// Cooling.
    Cooling,
}

/// Mean outputs over one step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EquipmentOutput {
    /// Heat delivered to the indoor air, including fan heat [W] (negative
    /// when cooling).
    pub q_air_w: f64,
    /// Compressor + outdoor fan electric power [W].
    pub compressor_w: f64,
    /// Indoor blower power [W].
    pub fan_w: f64,
    /// Resistance heat electric power [W] (strips or electric furnace).
    pub resistance_w: f64,
    /// Gas input power [W].
    pub gas_w: f64,
}

impl EquipmentOutput {
    /// Total electric power [W].
    pub fn electric_w(&self) -> f64 {
        self.compressor_w + self.fan_w + self.resistance_w
    }
}

/// Runtime totals.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Runtime {
    /// Compressor running time [s].
    pub compressor_s: f64,
    /// Backup or furnace heat time [s].
    pub backup_s: f64,
    /// Indoor fan time [s].
    pub fan_s: f64,
    /// Compressor starts.
    pub starts: u64,
    /// Short cycles: starts less than [`SHORT_CYCLE_OFF`] after the
    /// compressor last stopped.
    pub short_cycles: u64,
    /// Electric energy [J].
    pub electric_j: f64,
    /// Gas energy [J].
    pub gas_j: f64,
}

/// A compressor restarted sooner than this after stopping is short-cycling:
/// the 5-minute minimum off time that thermostats' compressor protection
/// commonly enforces (device-firmware's `min_off` default), so refrigerant
/// pressures equalise before the compressor starts against them again —
/// what compressor makers' short-cycling guidance asks for.
pub const SHORT_CYCLE_OFF: SimDuration = SimDuration::from_secs(300);

/// One home's equipment.
#[derive(Debug, Clone)]
pub struct Equipment {
    params: EquipmentParams,
    mode: CompressorMode,
    running_since: Option<SimTime>,
    stopped_at: Option<SimTime>,
    runtime: Runtime,
}

/// Indoor wet-bulb temperature [°C] from dry bulb [°C] and relative humidity
/// [%], by Stull (2011), "Wet-bulb temperature from relative humidity and air
/// temperature", J. Appl. Meteor. Climatol. 50 (±0.3 K for 5–99 % RH).
pub fn wet_bulb_c(dry_bulb_c: f64, rel_humidity_pct: f64) -> f64 {
    let t = dry_bulb_c;
    let rh = rel_humidity_pct;
    t * (0.151_977 * (rh + 8.313_659).sqrt()).atan() + (t + rh).atan() - (rh - 1.676_331).atan()
        + 0.003_918_38 * rh.powf(1.5) * (0.023_101 * rh).atan()
        - 4.686_035
}

impl Equipment {
    /// Equipment with validated `params`, everything off.
    pub fn new(params: EquipmentParams) -> Result<Equipment, ParamError> {
        params.validate()?;
        Ok(Equipment {
            params,
            mode: CompressorMode::Off,
            running_since: None,
            stopped_at: None,
            runtime: Runtime::default(),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &EquipmentParams {
        &self.params
    }

    /// What the compressor is doing now.
    pub fn mode(&self) -> CompressorMode {
        self.mode
    }

    /// When the compressor last started, if it is running.
    pub fn running_since(&self) -> Option<SimTime> {
        self.running_since
    }

    /// Runtime totals so far.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Steady-state cooling (capacity [W], compressor power [W]) at the given
    /// temperatures for a healthy unit.
    pub fn cooling_performance(&self, indoor_c: f64, outdoor_c: f64) -> (f64, f64) {
        let p = &self.params;
        let wb = wet_bulb_c(indoor_c, p.indoor_rel_humidity_pct);
        let capacity = p.rated_cooling_w * curves::COOL_CAP_FT.eval(wb, outdoor_c);
        let power = capacity / p.rated_cooling_cop * curves::COOL_EIR_FT.eval(wb, outdoor_c);
        (capacity, power)
    }

    /// Heat pump heating (capacity [W], compressor power [W]) integrated
    /// over frost and defrost cycles ([`defrost_factors`]).
    pub fn heating_performance(&self, outdoor_c: f64) -> (f64, f64) {
        let p = &self.params;
        let capacity = p.rated_heating_w * curves::HEAT_CAP_FT.eval(outdoor_c);
        let power = capacity / p.rated_heating_cop * curves::HEAT_EIR_FT.eval(outdoor_c);
        let (cap_f, power_f) = defrost_factors(outdoor_c);
        (capacity * cap_f, power * power_f)
    }

    /// Whether `relays` call a heat pump to heat at `outdoor_c` below its
    /// lockout: the outdoor thermostat keeps the compressor off (nothing in
    /// the outdoor unit is energised) and the backup heats instead.
    pub fn locked_out(&self, relays: Relays, outdoor_c: f64) -> bool {
        self.params.kind == SystemKind::HeatPump
            && relays.y_compressor
            && !relays.o_cool
            && outdoor_c < self.params.min_outdoor_heating_c
    }

    /// What the compressor would do under `relays` at `outdoor_c`.
    pub fn compressor_mode(
        &self,
        relays: Relays,
        outdoor_c: f64,
        health: &Health,
    ) -> CompressorMode {
        if !relays.y_compressor || health.compressor_failed {
            return CompressorMode::Off;
        }
        match self.params.kind {
            _ if self.locked_out(relays, outdoor_c) => CompressorMode::Off,
            SystemKind::HeatPump if !relays.o_cool => CompressorMode::Heating,
            _ => CompressorMode::Cooling,
        }
    }

    /// Applies `relays` at `t0` and returns the mean outputs over
    /// `[t0, t0 + dt)`, with the indoor air at `indoor_c` and outdoors at
    /// `outdoor_c` (both taken as constant over the step).
    pub fn step(
        &mut self,
        t0: SimTime,
        dt: SimDuration,
        relays: Relays,
        indoor_c: f64,
        outdoor_c: f64,
        health: &Health,
    ) -> EquipmentOutput {
        let p = self.params;
        let mode = self.compressor_mode(relays, outdoor_c, health);
        if mode != self.mode {
            self.running_since = (mode != CompressorMode::Off).then_some(t0);
            if mode == CompressorMode::Off {
                self.stopped_at = Some(t0);
            } else {
                self.runtime.starts += 1;
                if self.mode == CompressorMode::Off
                    && self
                        .stopped_at
                        .is_some_and(|at| t0.saturating_duration_since(at) < SHORT_CYCLE_OFF)
                {
                    self.runtime.short_cycles += 1;
                }
            }
            self.mode = mode;
        }
        let h = dt.as_secs_f64();
        let mut out = EquipmentOutput::default();

        let ramp = self.running_since.map_or(0.0, |since| {
            let a = t0.saturating_duration_since(since).as_secs_f64();
            mean_ramp(a, a + h, p.startup_tau_s)
        });
        match mode {
            CompressorMode::Off => {}
            CompressorMode::Cooling => {
                let (cap, power) = self.cooling_performance(indoor_c, outdoor_c);
                out.q_air_w -= cap * health.capacity_factor * ramp;
                out.compressor_w = power * health.capacity_factor * health.eir_factor;
            }
            CompressorMode::Heating => {
                let (cap, power) = self.heating_performance(outdoor_c);
                out.q_air_w += cap * health.capacity_factor * ramp;
                out.compressor_w = power * health.capacity_factor * health.eir_factor;
            }
        }
        // Backup / furnace: W, or a heat pump's Y heating call below lockout.
        let backup = relays.w_heat || self.locked_out(relays, outdoor_c);
        if backup {
            out.q_air_w += p.backup_heat_w;
            match p.kind {
                SystemKind::AcGasFurnace => out.gas_w = p.backup_heat_w / p.furnace_afue,
                SystemKind::HeatPump | SystemKind::AcElectricFurnace => {
                    out.resistance_w = p.backup_heat_w
                }
            }
            self.runtime.backup_s += h;
        }
        // The blower runs with G and whenever the unit heats or cools.
        if relays.g_fan || mode != CompressorMode::Off || backup {
            out.fan_w = p.fan_w;
            out.q_air_w += p.fan_w;
            self.runtime.fan_s += h;
        }
        if mode != CompressorMode::Off {
            self.runtime.compressor_s += h;
        }
        self.runtime.electric_j += out.electric_w() * h;
        self.runtime.gas_j += out.gas_w * h;
        debug_assert!(out.q_air_w.is_finite() && out.compressor_w >= 0.0);
        out
    }
}

/// Multipliers on a heat pump's steady (capacity, power) for frost and
/// defrost at `outdoor_c`: 0.90 and 0.985 at 35 °F (DOE Appendix M's
/// default, see the module doc), 1 at and beyond 17 °F and 45 °F, linear
/// between.
pub fn defrost_factors(outdoor_c: f64) -> (f64, f64) {
    let c = |f: f64| (f - 32.0) * 5.0 / 9.0;
    let (lo, peak, hi) = (c(17.0), c(35.0), c(45.0));
    let w = if outdoor_c <= lo || outdoor_c >= hi {
        0.0
    } else if outdoor_c <= peak {
        (outdoor_c - lo) / (peak - lo)
    } else {
        (hi - outdoor_c) / (hi - peak)
    };
    (1.0 - 0.10 * w, 1.0 - 0.015 * w)
}

/// Mean of `1 − e^(−t/τ)` over `[a, b]` (`τ = 0`: a step to 1).
fn mean_ramp(a: f64, b: f64, tau: f64) -> f64 {
    if tau <= 0.0 {
        return 1.0;
    }
    if b <= a {
        return 1.0 - (-a / tau).exp();
    }
    1.0 - tau * ((-a / tau).exp() - (-b / tau).exp()) / (b - a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime::from_secs(s as i64)
    }

    fn cool() -> Relays {
        Relays {
            y_compressor: true,
            o_cool: true,
            w_heat: false,
            g_fan: true,
        }
    }

    fn heat() -> Relays {
        Relays {
            y_compressor: true,
            o_cool: false,
            w_heat: false,
            g_fan: true,
        }
    }

    #[test]
    fn stull_wet_bulb_matches_the_rating_condition() {
        // AHRI cooling rating: 26.7 °C (80 °F) dry bulb, 19.4 °C (67 °F) wet
        // bulb, which is about 51 % relative humidity.
        let wb = wet_bulb_c(26.67, 51.0);
        assert!((wb - 19.44).abs() < 0.3, "{wb}");
    }

    #[test]
    fn rated_cooling_and_heating_at_steady_state() {
        let mut e = Equipment::new(EquipmentParams {
            startup_tau_s: 0.0,
            ..EquipmentParams::default()
        })
        .unwrap();
        let (cap, power) = e.cooling_performance(26.67, 35.0);
        assert!((cap / 10_550.0 - 1.0).abs() < 0.02, "{cap}");
        assert!((cap / power - 3.5).abs() < 0.1, "COP {}", cap / power);
        let out = e.step(
            t(0),
            SimDuration::from_mins(10),
            cool(),
            26.67,
            35.0,
            &Health::default(),
        );
        assert!((out.q_air_w - (-cap + 400.0)).abs() < 1e-6);
        assert_eq!(out.fan_w, 400.0);
        let (hcap, hpow) = e.heating_performance(8.33);
        assert!((hcap / 10_550.0 - 1.0).abs() < 0.01);
        assert!((hcap / hpow - 3.4).abs() < 0.05);
    }

    #[test]
    fn startup_ramp_costs_capacity_not_power() {
        let mut e = Equipment::new(EquipmentParams::default()).unwrap();
        let h = Health::default();
        let (cap, _) = e.cooling_performance(24.0, 32.0);
        let first = e.step(t(0), SimDuration::from_secs(60), cool(), 24.0, 32.0, &h);
        // Mean of 1 − e^(−t/60 s) over the first minute: 1 − (1 − e^-1) = e^-1.
        let expected = (-1.0f64).exp();
        assert!(((-first.q_air_w + 400.0) / cap - expected).abs() < 1e-9);
        let later = e.step(t(3_600), SimDuration::from_secs(60), cool(), 24.0, 32.0, &h);
        assert!(((-later.q_air_w + 400.0) / cap - 1.0).abs() < 1e-9);
        assert_eq!(first.compressor_w, later.compressor_w);
        assert_eq!(e.runtime().starts, 1);
        // Stopping and restarting counts a new start and a new ramp.
        e.step(
            t(3_660),
            SimDuration::from_secs(300),
            Relays::default(),
            24.0,
            32.0,
            &h,
        );
        let again = e.step(t(3_960), SimDuration::from_secs(60), cool(), 24.0, 32.0, &h);
        assert_eq!(e.runtime().starts, 2);
        assert!((again.q_air_w - first.q_air_w).abs() < 1e-9);
        // That restart came exactly 300 s after the stop: not a short cycle.
        assert_eq!(e.runtime().short_cycles, 0);
    }

    #[test]
    fn a_restart_within_five_minutes_of_a_stop_is_a_short_cycle() {
        let mut e = Equipment::new(EquipmentParams::default()).unwrap();
        let h = Health::default();
        let off = Relays::default();
        let mut at = 0;
        // Run 60 s, rest `rest` s, then start again.
        for rest in [299, 300, 10] {
            e.step(t(at), SimDuration::from_secs(60), cool(), 24.0, 32.0, &h);
            e.step(
                t(at + 60),
                SimDuration::from_secs(rest),
                off,
                24.0,
                32.0,
                &h,
            );
            at += 60 + rest;
        }
        e.step(t(at), SimDuration::from_secs(60), cool(), 24.0, 32.0, &h);
        assert_eq!(e.runtime().starts, 4);
        // 299 s and 10 s rests are short; 300 s is not; the first start had
        // no stop before it.
        assert_eq!(e.runtime().short_cycles, 2);
    }

    #[test]
    fn heat_pump_locks_out_in_deep_cold_and_backup_takes_over() {
        let mut e = Equipment::new(EquipmentParams::default()).unwrap();
        let h = Health::default();
        let mild = e.step(t(0), SimDuration::from_mins(5), heat(), 20.0, 0.0, &h);
        assert!(mild.compressor_w > 0.0 && mild.resistance_w == 0.0);
        let frigid = e.step(t(300), SimDuration::from_mins(5), heat(), 20.0, -20.0, &h);
        assert_eq!(frigid.compressor_w, 0.0);
        assert_eq!(frigid.resistance_w, 10_000.0);
        assert_eq!(frigid.q_air_w, 10_400.0);
        assert_eq!(e.mode(), CompressorMode::Off);
    }

    #[test]
    fn furnaces_burn_gas_or_resistance() {
        let w = Relays {
            w_heat: true,
            ..Relays::default()
        };
        let mut gas = Equipment::new(EquipmentParams {
            kind: SystemKind::AcGasFurnace,
            backup_heat_w: 20_000.0,
            ..EquipmentParams::default()
        })
        .unwrap();
        let out = gas.step(
            t(0),
            SimDuration::from_mins(1),
            w,
            20.0,
            -5.0,
            &Health::default(),
        );
        assert!((out.gas_w - 20_000.0 / 0.95).abs() < 1e-9);
        assert_eq!(out.resistance_w, 0.0);
        assert_eq!(out.q_air_w, 20_400.0);
        // An AC system's Y always cools, whatever O says.
        assert_eq!(
            gas.compressor_mode(heat(), 30.0, &Health::default()),
            CompressorMode::Cooling
        );
    }

    #[test]
    fn a_failed_compressor_delivers_nothing() {
        let mut e = Equipment::new(EquipmentParams::default()).unwrap();
        let failed = Health {
            compressor_failed: true,
            ..Health::default()
        };
        let out = e.step(
            t(0),
            SimDuration::from_mins(10),
            cool(),
            27.0,
            38.0,
            &failed,
        );
        assert_eq!(out.compressor_w, 0.0);
        assert_eq!(out.q_air_w, 400.0, "only the blower's heat");
        assert_eq!(e.runtime().starts, 0);
    }

    #[test]
    fn degraded_health_scales_capacity_and_power() {
        let mut a = Equipment::new(EquipmentParams::default()).unwrap();
        let mut b = a.clone();
        let leak = Health {
            capacity_factor: 0.8,
            eir_factor: 1.1,
            ..Health::default()
        };
        let healthy = a.step(
            t(0),
            SimDuration::from_hours(1),
            cool(),
            25.0,
            35.0,
            &Health::default(),
        );
        let leaky = b.step(t(0), SimDuration::from_hours(1), cool(), 25.0, 35.0, &leak);
        let cap = |o: &EquipmentOutput| -(o.q_air_w - 400.0);
        assert!((cap(&leaky) / cap(&healthy) - 0.8).abs() < 1e-9);
        assert!((leaky.compressor_w / healthy.compressor_w - 0.88).abs() < 1e-9);
    }

    #[test]
    fn validation_names_the_field() {
        let bad = EquipmentParams {
            rated_cooling_cop: 0.5,
            ..EquipmentParams::default()
        };
        assert_eq!(Equipment::new(bad).unwrap_err().name, "rated_cooling_cop");
    }
}
