//! The thermostat's control loop: from the sensed temperature and the
//! effective targets to the relay outputs (`Y` compressor, `O` reversing valve
//! for cooling, `W` heat — backup strips on a heat pump, the furnace on an AC
//! system — and `G` fan).
//!
//! - Hysteresis: heating starts when the temperature falls `differential`
//!   below the heat setpoint and stops when it reaches the setpoint; cooling
//!   mirrors it above the cool setpoint.
//! - Auto mode keeps the cool setpoint at least `auto_min_gap_f` above the
//!   heat setpoint (raising the cool setpoint if needed) and changes over only
//!   through an idle compressor.
//! - Compressor protection (the classic anti-short-cycle timer): once started
//!   the compressor runs at least `min_on`, once stopped it rests at least
//!   `min_off` — also after boot and after a power loss, and whatever a
//!   command or schedule asks. Only a loss of power stops it early.
//! - Backup heat (heat pumps with aux strips): `W` joins the compressor when
//!   the temperature is `aux_differential_f` or more below the setpoint, or
//!   a heating call has lasted `aux_delay` without reaching the setpoint.

use serde::{Deserialize, Serialize};

use crate::time::{Instant, c_to_f};

/// Operating mode, as the AURRA API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Heat only.
    Heat,
    /// Cool only.
    Cool,
    /// Heat or cool to stay between the two setpoints.
    Auto,
    /// Nothing runs (the fan may, if set to on).
    Off,
}

impl Mode {
    /// The API's name for the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Heat => "heat",
            Mode::Cool => "cool",
            Mode::Auto => "auto",
            Mode::Off => "off",
        }
    }
}

/// Fan setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FanMode {
    /// The fan runs with the equipment.
    Auto,
    /// The fan runs continuously.
    On,
}

/// The equipment wired to the thermostat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Equipment {
    /// A heat pump (Y heats and, with O, cools), with or without backup strips on W.
    HeatPump {
        /// Backup electric strips wired to W.
        aux_heat: bool,
    },
    /// An air conditioner on Y and a furnace on W.
    AcFurnace,
}

/// The relay outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Relays {
    /// `Y`: compressor.
    pub y_compressor: bool,
    /// `O`: reversing valve in cooling position.
    pub o_cool: bool,
    /// `W`: backup heat or furnace.
    pub w_heat: bool,
    /// `G`: fan.
    pub g_fan: bool,
}

/// Control tunables. Defaults: 1 °F differential, 3 min minimum on, 5 min
/// minimum off, at most 3 compressor cycles an hour, 3 °F auto gap, backup
/// heat at 3 °F below setpoint or after 15 min of heating that has not
/// reached it.
///
/// The cycle rate: residential thermostats are set up for about 3 cycles an
/// hour on a compressor (heat pump or air conditioner; 5 for a gas
/// furnace, 9 for electric heat: the installer "cycle rate" settings), so
/// a compressor starts at most once every 60/3 = 20 minutes. Without it a
/// hysteresis controller on a fast air node cycles at the rate its minimum
/// on and off times allow (≈ 5 an hour at mid load on this fleet).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControlConfig {
    /// What is wired to the thermostat.
    pub equipment: Equipment,
    /// Hysteresis [°F], 0.5 to 1.0.
    pub differential_f: f64,
    /// Minimum compressor run time [ms].
    pub min_on_ms: u64,
    /// Minimum compressor rest time [ms].
    pub min_off_ms: u64,
    /// At most this many compressor starts an hour: a start waits until
    /// `60 / n` minutes after the last one (0: no limit), 0 to 12.
    pub max_cycles_per_hour: f64,
    /// Minimum gap between heat and cool setpoints in auto mode [°F].
    pub auto_min_gap_f: f64,
    /// Backup heat when this far below the heat setpoint [°F].
    pub aux_differential_f: f64,
    /// Backup heat when a heating call lasts this long [ms].
    pub aux_delay_ms: u64,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            equipment: Equipment::HeatPump { aux_heat: true },
            differential_f: 1.0,
            min_on_ms: 3 * 60_000,
            min_off_ms: 5 * 60_000,
            max_cycles_per_hour: 3.0,
            auto_min_gap_f: 3.0,
            aux_differential_f: 3.0,
            aux_delay_ms: 15 * 60_000,
        }
    }
}

/// The effective targets after schedules, holds and Eco Mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    /// Mode.
    pub mode: Mode,
    /// Heat setpoint [°F].
    pub heat_f: f64,
    /// Cool setpoint [°F].
    pub cool_f: f64,
    /// Fan setting.
    pub fan: FanMode,
}

/// What the equipment is being asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// Nothing.
    Idle,
    /// Heat.
    Heat,
    /// Cool.
    Cool,
}

/// The control loop's state.
#[derive(Debug, Clone)]
pub struct Controller {
    cfg: ControlConfig,
    call: Call,
    call_since: Instant,
    compressor_on: bool,
    /// Last compressor start (when on) or stop (when off).
    compressor_changed: Instant,
    /// Last compressor start.
    last_start: Option<Instant>,
    /// The compressor's current direction (O), kept while it runs.
    cooling_valve: bool,
    aux_on: bool,
    relays: Relays,
    starts: u64,
}

impl Controller {
    /// A controller that has just booted at `now`: everything off, and the
    /// compressor treated as just stopped, so it rests `min_off` first.
    pub fn new(cfg: ControlConfig, now: Instant) -> Controller {
        Controller {
            cfg,
            call: Call::Idle,
            call_since: now,
            compressor_on: false,
            compressor_changed: now,
            last_start: None,
            cooling_valve: false,
            aux_on: false,
            relays: Relays::default(),
            starts: 0,
        }
    }

    /// The tunables.
    pub fn config(&self) -> &ControlConfig {
        &self.cfg
    }

    /// The relay outputs now.
    pub fn relays(&self) -> Relays {
        self.relays
    }

    /// The current call.
    pub fn call(&self) -> Call {
        self.call
    }

    /// Compressor starts so far.
    pub fn starts(&self) -> u64 {
        self.starts
    }

    /// Power is lost at `now`: every relay drops at once (the only way the
    /// compressor stops before `min_on`), and the rest timer restarts.
    pub fn power_loss(&mut self, now: Instant) {
        if self.compressor_on {
            self.compressor_on = false;
            self.compressor_changed = now;
        }
        self.compressor_changed = self.compressor_changed.max(now);
        // The cycle-rate timer does not survive: the rest runs from the loss.
        self.last_start = None;
        self.call = Call::Idle;
        self.call_since = now;
        self.aux_on = false;
        self.relays = Relays::default();
    }

    /// When the compressor may next change state on its own timers: the end
    /// of `min_on` while running, of `min_off` while resting.
    pub fn protection_until(&self) -> Instant {
        if self.compressor_on {
            self.compressor_changed.plus_ms(self.cfg.min_on_ms)
        } else {
            let rest = self.compressor_changed.plus_ms(self.cfg.min_off_ms);
            self.cycle_gap_ms()
                .zip(self.last_start)
                .map_or(rest, |(gap, start)| rest.max(start.plus_ms(gap)))
        }
    }

    /// The shortest time between two starts [ms] (none without a limit).
    fn cycle_gap_ms(&self) -> Option<u64> {
        let n = self.cfg.max_cycles_per_hour;
        (n > 0.0).then(|| (3_600_000.0 / n).round() as u64)
    }

    fn wanted_call(&self, temp_f: f64, t: &Targets) -> Call {
        let d = self.cfg.differential_f;
        // Auto keeps the cool setpoint at least the gap above the heat one.
        let cool_f = match t.mode {
            Mode::Auto => t.cool_f.max(t.heat_f + self.cfg.auto_min_gap_f),
            _ => t.cool_f,
        };
        // A running call continues until its setpoint is reached; a new one
        // starts `differential` beyond it.
        let heat_want = |current: bool| {
            if current {
                temp_f < t.heat_f
            } else {
                temp_f <= t.heat_f - d
            }
        };
        let cool_want = |current: bool| {
            if current {
                temp_f > cool_f
            } else {
                temp_f >= cool_f + d
            }
        };
        let heating = self.call == Call::Heat;
        let cooling = self.call == Call::Cool;
        match t.mode {
            Mode::Off => Call::Idle,
            Mode::Heat if heat_want(heating) => Call::Heat,
            Mode::Cool if cool_want(cooling) => Call::Cool,
            Mode::Heat | Mode::Cool => Call::Idle,
            Mode::Auto => match self.call {
                Call::Heat if heat_want(true) => Call::Heat,
                Call::Cool if cool_want(true) => Call::Cool,
                _ if heat_want(false) => Call::Heat,
                _ if cool_want(false) => Call::Cool,
                _ => Call::Idle,
            },
        }
    }

    /// Runs the control loop at `now` with the sensed temperature (`None`: the
    /// sensor failed, so nothing new starts) and the effective targets.
    pub fn step(&mut self, now: Instant, temp_c: Option<f64>, targets: &Targets) -> Relays {
        let call = temp_c.map_or(Call::Idle, |c| self.wanted_call(c_to_f(c), targets));
        if call != self.call {
            self.call = call;
            self.call_since = now;
        }
        let heat_pump = matches!(self.cfg.equipment, Equipment::HeatPump { .. });

        // What the compressor should do, and in which direction.
        let (want_compressor, want_cooling) = match (call, heat_pump) {
            (Call::Cool, _) => (true, true),
            (Call::Heat, true) => (true, false),
            _ => (false, self.cooling_valve),
        };
        if self.compressor_on {
            let ran_ms = now.ms_since(self.compressor_changed);
            // Stop when no longer wanted, or to change direction, but only
            // after min_on.
            let must_change = !want_compressor || want_cooling != self.cooling_valve;
            if must_change && ran_ms >= self.cfg.min_on_ms {
                self.compressor_on = false;
                self.compressor_changed = now;
            }
        } else if want_compressor
            && now.ms_since(self.compressor_changed) >= self.cfg.min_off_ms
            && self
                .cycle_gap_ms()
                .zip(self.last_start)
                .is_none_or(|(gap, start)| now.ms_since(start) >= gap)
        {
            self.compressor_on = true;
            self.compressor_changed = now;
            self.last_start = Some(now);
            self.cooling_valve = want_cooling;
            self.starts += 1;
        } else if !self.compressor_on {
            // The valve may move while the compressor rests.
            self.cooling_valve = want_cooling;
        }

        // W: the furnace heats on an AC system; backup strips stage in on a
        // heat pump.
        let temp_f = temp_c.map(c_to_f);
        self.aux_on = match (self.cfg.equipment, call) {
            (Equipment::AcFurnace, Call::Heat) => true,
            (Equipment::HeatPump { aux_heat: true }, Call::Heat) => {
                let far_below =
                    temp_f.is_some_and(|f| f <= targets.heat_f - self.cfg.aux_differential_f);
                let too_long = now.ms_since(self.call_since) >= self.cfg.aux_delay_ms;
                // Once on, stays on until the call ends.
                self.aux_on || far_below || too_long
            }
            _ => false,
        };

        self.relays = Relays {
            y_compressor: self.compressor_on,
            o_cool: self.cooling_valve && heat_pump,
            w_heat: self.aux_on,
            g_fan: targets.fan == FanMode::On || self.compressor_on,
        };
        self.relays
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::f_to_c;
    use proptest::prelude::*;

    fn targets(mode: Mode, heat_f: f64, cool_f: f64) -> Targets {
        Targets {
            mode,
            heat_f,
            cool_f,
            fan: FanMode::Auto,
        }
    }

    fn at_min(m: u64) -> Instant {
        Instant(1_000_000_000).plus_secs(m * 60)
    }

    #[test]
    fn heating_hysteresis_with_protection_after_boot() {
        let mut c = Controller::new(ControlConfig::default(), at_min(0));
        let t = targets(Mode::Heat, 70.0, 76.0);
        // 69.5 °F: inside the differential, no call.
        assert_eq!(c.step(at_min(0), Some(f_to_c(69.5)), &t), Relays::default());
        // 68.9 °F: a call, but the compressor rests 5 min after boot.
        let r = c.step(at_min(1), Some(f_to_c(68.9)), &t);
        assert_eq!(c.call(), Call::Heat);
        assert!(!r.y_compressor);
        let r = c.step(at_min(5), Some(f_to_c(68.9)), &t);
        assert!(r.y_compressor && r.g_fan && !r.o_cool && !r.w_heat, "{r:?}");
        // Reaching 70 °F ends the call, but min_on keeps it running to 3 min.
        assert!(c.step(at_min(6), Some(f_to_c(70.1)), &t).y_compressor);
        assert!(!c.step(at_min(8), Some(f_to_c(70.1)), &t).y_compressor);
        assert_eq!(c.starts(), 1);
    }

    #[test]
    fn cooling_sets_the_reversing_valve() {
        let mut c = Controller::new(ControlConfig::default(), at_min(0));
        let t = targets(Mode::Cool, 68.0, 74.0);
        let r = c.step(at_min(6), Some(f_to_c(75.2)), &t);
        assert!(r.y_compressor && r.o_cool && r.g_fan);
        // AC + furnace: no O terminal use.
        let mut ac = Controller::new(
            ControlConfig {
                equipment: Equipment::AcFurnace,
                ..ControlConfig::default()
            },
            at_min(0),
        );
        let r = ac.step(at_min(6), Some(f_to_c(75.2)), &t);
        assert!(r.y_compressor && !r.o_cool);
        // Furnace heat is W alone.
        let r = ac.step(
            at_min(20),
            Some(f_to_c(60.0)),
            &targets(Mode::Heat, 68.0, 74.0),
        );
        assert!(r.w_heat);
    }

    #[test]
    fn backup_heat_stages_in_when_far_below_or_slow() {
        let mut c = Controller::new(ControlConfig::default(), at_min(0));
        let t = targets(Mode::Heat, 70.0, 76.0);
        // 66 °F: 4 °F below — strips at once (even while the compressor rests).
        let r = c.step(at_min(1), Some(f_to_c(66.0)), &t);
        assert!(r.w_heat && !r.y_compressor);
        let mut slow = Controller::new(ControlConfig::default(), at_min(0));
        slow.step(at_min(10), Some(f_to_c(68.5)), &t);
        assert!(!slow.relays().w_heat);
        assert!(!slow.step(at_min(24), Some(f_to_c(68.8)), &t).w_heat);
        assert!(
            slow.step(at_min(25), Some(f_to_c(68.8)), &t).w_heat,
            "15 min without reaching 70 °F"
        );
        assert!(!slow.step(at_min(30), Some(f_to_c(70.2)), &t).w_heat);
    }

    #[test]
    fn auto_keeps_the_gap_and_changes_over_through_idle() {
        // (No cycle-rate limit: the changeover waits for min_off alone.)
        let cfg = ControlConfig {
            max_cycles_per_hour: 0.0,
            ..ControlConfig::default()
        };
        let mut c = Controller::new(cfg, at_min(0));
        // Setpoints only 1 °F apart: cool is raised to heat + 3 = 73 °F.
        let t = targets(Mode::Auto, 70.0, 71.0);
        assert_eq!(c.step(at_min(6), Some(f_to_c(73.5)), &t), Relays::default());
        let r = c.step(at_min(7), Some(f_to_c(74.1)), &t);
        assert!(r.y_compressor && r.o_cool);
        // Suddenly cold: the compressor must run 3 min, rest 5, then heat.
        assert!(c.step(at_min(8), Some(f_to_c(68.0)), &t).y_compressor);
        let r = c.step(at_min(10), Some(f_to_c(68.0)), &t);
        assert!(!r.y_compressor, "stopped after min_on");
        assert!(!c.step(at_min(14), Some(f_to_c(68.0)), &t).y_compressor);
        let r = c.step(at_min(15), Some(f_to_c(68.0)), &t);
        assert!(r.y_compressor && !r.o_cool, "heating after min_off");
    }

    #[test]
    fn at_most_three_starts_an_hour() {
        // 3 an hour: a start at minute 6, a stop at 9, a new call at 15
        // waits until minute 26; with the limit off it starts at 15 (min_off
        // from the stop at 10 is over).
        let t = targets(Mode::Heat, 70.0, 76.0);
        for (limit, restart) in [(3.0, 26), (0.0, 15)] {
            let cfg = ControlConfig {
                max_cycles_per_hour: limit,
                ..ControlConfig::default()
            };
            let mut c = Controller::new(cfg, at_min(0));
            assert!(c.step(at_min(6), Some(f_to_c(68.5)), &t).y_compressor);
            assert!(!c.step(at_min(10), Some(f_to_c(70.5)), &t).y_compressor);
            for m in 11..restart {
                assert!(
                    !c.step(at_min(m), Some(f_to_c(68.5)), &t).y_compressor,
                    "{limit}: minute {m}"
                );
            }
            assert!(c.step(at_min(restart), Some(f_to_c(68.5)), &t).y_compressor);
            assert_eq!(c.protection_until(), at_min(restart + 3));
        }
    }

    #[test]
    fn off_mode_fan_on_and_failed_sensor() {
        let mut c = Controller::new(ControlConfig::default(), at_min(0));
        let t = Targets {
            fan: FanMode::On,
            ..targets(Mode::Off, 70.0, 74.0)
        };
        let r = c.step(at_min(10), Some(f_to_c(50.0)), &t);
        assert_eq!(
            r,
            Relays {
                g_fan: true,
                ..Relays::default()
            }
        );
        let r = c.step(at_min(11), None, &targets(Mode::Heat, 70.0, 74.0));
        assert_eq!(r, Relays::default(), "no sensor, no heat");
    }

    #[test]
    fn power_loss_is_the_only_early_stop() {
        let mut c = Controller::new(ControlConfig::default(), at_min(0));
        let t = targets(Mode::Cool, 68.0, 74.0);
        assert!(c.step(at_min(6), Some(f_to_c(80.0)), &t).y_compressor);
        c.power_loss(at_min(7));
        assert_eq!(c.relays(), Relays::default());
        // Power back at once: the compressor rests min_off from the loss.
        assert!(!c.step(at_min(7), Some(f_to_c(80.0)), &t).y_compressor);
        assert!(c.step(at_min(12), Some(f_to_c(80.0)), &t).y_compressor);
    }

    #[derive(Debug, Clone)]
    enum Input {
        Tick { mins: u64, temp_f: f64, mode: u8 },
        PowerLoss,
    }

    fn input() -> impl Strategy<Value = Input> {
        prop_oneof![
            20 => (0u64..4, 55.0f64..90.0, 0u8..4).prop_map(|(mins, temp_f, mode)| Input::Tick { mins, temp_f, mode }),
            1 => Just(Input::PowerLoss),
        ]
    }

    proptest! {
        /// Whatever the temperatures, modes and power losses: two compressor
        /// starts are never closer than min_off (plus the run between them),
        /// and a run is never shorter than min_on unless power was lost.
        #[test]
        fn compressor_protection_always_holds(inputs in prop::collection::vec(input(), 1..400), seconds in 1u64..60) {
            let cfg = ControlConfig::default();
            let mut c = Controller::new(cfg, at_min(0));
            let mut now = at_min(0);
            let mut last_start: Option<Instant> = None;
            let mut last_stop = Some(now);
            let mut was_on = false;
            for i in inputs {
                match i {
                    Input::Tick { mins, temp_f, mode } => {
                        now = now.plus_secs(mins * 60 + seconds);
                        let mode = [Mode::Heat, Mode::Cool, Mode::Auto, Mode::Off][mode as usize];
                        let on = c.step(now, Some(f_to_c(temp_f)), &targets(mode, 68.0, 74.0)).y_compressor;
                        if on && !was_on {
                            if let Some(stop) = last_stop {
                                prop_assert!(now.ms_since(stop) >= cfg.min_off_ms, "restart after {} ms", now.ms_since(stop));
                            }
                            if let Some(start) = last_start {
                                prop_assert!(now.ms_since(start) >= 20 * 60_000, "starts {} ms apart", now.ms_since(start));
                            }
                            last_start = Some(now);
                        }
                        if !on && was_on {
                            let ran = now.ms_since(last_start.unwrap());
                            prop_assert!(ran >= cfg.min_on_ms, "ran only {} ms", ran);
                            last_stop = Some(now);
                        }
                        was_on = on;
                    }
                    Input::PowerLoss => {
                        c.power_loss(now);
                        last_start = None;
                        if was_on {
                            last_stop = Some(now);
                        }
                        last_stop = last_stop.max(Some(now));
                        was_on = false;
                    }
                }
            }
        }
    }
}
