//! Compressor degradation with ground truth: bearing wear, refrigerant leaks
//! and run-capacitor ageing, each a seeded stochastic process with a
//! scenario-set incidence (the chance a home has the fault at all), a random
//! onset and a rate. The simulator records when each fault began and when the
//! compressor failed; the firmware only ever sees the symptoms.
//!
//! - **Bearing wear** is a stationary gamma process in compressor *runtime*
//!   after onset (van Noortwijk 2009, "A survey of the application of gamma
//!   processes in maintenance", Reliab. Eng. Syst. Saf. 94): wear increments
//!   over runtime Δ are Gamma(α·Δ, β), so wear is monotone, its mean grows at
//!   `α·β` µm per running hour and its coefficient of variation at runtime `t`
//!   is `1/√(α·t)`. Because gamma shapes add, the process is sampled exactly
//!   whatever the step lengths. The compressor seizes when wear reaches the
//!   failure threshold, so `P(T ≤ t) = P(W(t) ≥ w_f)` exactly. The
//!   vibration comes from the spall the wear opens, and a spall grows in
//!   proportion to its own size: the propagation law of Li, Billington,
//!   Zhang, Kurfess, Danyluk & Liang (1999), "Adaptive prognostics for
//!   rolling element bearing condition", Mech. Syst. Signal Process. 13(1),
//!   `dD/dN = C₀·D^m`, with `m = 1`. Against wear, the spall is then
//!   `D = D₀·e^{k·W/w_f}` with `k = ln(D_f/D₀)`, from its initial size `D₀` at
//!   onset to the critical size `D_f` at seizure, and the defect severity
//!   that drives the impacts is `(D − D₀)/(D_f − D₀) = (e^{k·s} − 1)/(e^k − 1)`
//!   at wear fraction `s`: faint for most of the life, then growing
//!   exponentially — the signal shape Gebraeel et al. (2005) fit to bearing
//!   vibration. A ratio `D_f/D₀` of 1 gives the linear limit, severity `s`.
//! - **Refrigerant leak**: after onset the charge decays exponentially in
//!   calendar time, `c = e^{−k·t}`. Capacity falls and power per unit of
//!   capacity rises with undercharge, after the trends measured by Kim &
//!   Braun (2012), "Evaluation of the impacts of refrigerant charge on air
//!   conditioner and heat pump performance", Int. J. Refrig. 35(7): about
//!   −15 % capacity and −10 % COP at 70 % charge. Below 50 % charge the
//!   low-pressure switch keeps the compressor off: a failure.
//! - **Run-capacitor ageing**: capacitance loss as a gamma process in calendar
//!   time after onset (metallised-film capacitors lose capacitance steadily
//!   as electrodes self-heal; IEC 60252-1 rates run capacitors by the hours to
//!   a 3 % loss). A weak capacitor raises the running current and lengthens
//!   starts; below 70 % of rated capacitance the motor no longer starts: a
//!   failure.
//!
//! A technician's repair replaces the part: the fault's state resets and its
//! process is drawn anew (incidence, onset) from the repair time on.
//!
//! **Counterfactuals.** A repair hides when the fault *would* have failed,
//! which is what decides whether the alert that sent the technician was
//! timely (a bearing replaced three months early prevented nothing yet).
//! Given its own random stream at the repair, the removed fault continues
//! as a ghost ([`Degradation::repair`]): the same process from the level
//! the technician found, a bearing wearing with the unit's actual running
//! hours, a leak and a capacitor in calendar time, until it reaches its
//! failure level ([`DegradationEvent::WouldFail`]). A ghost reads nothing
//! but the running time and writes nothing but that event, and it never
//! draws from the home's stream, so the run is the same with and without it.

use rand::RngExt;
use rand_distr::{Distribution, Exp, Gamma};
use sim_core::{SimDuration, SimRng, SimTime};

use crate::equipment::Health;
use crate::params::{ParamError, check_range};

/// The three modelled faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// Compressor bearing wear, ending in a seized compressor.
    BearingWear,
    /// Refrigerant leak, ending in a low-pressure lockout.
    RefrigerantLeak,
    /// Run-capacitor ageing, ending in a motor that will not start.
    CapacitorAgeing,
}

impl FaultKind {
    /// The fault's name in tables and scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::BearingWear => "bearing_wear",
            FaultKind::RefrigerantLeak => "refrigerant_leak",
            FaultKind::CapacitorAgeing => "capacitor_ageing",
        }
    }

    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 3] = [
        FaultKind::BearingWear,
        FaultKind::RefrigerantLeak,
        FaultKind::CapacitorAgeing,
    ];
}

/// Field prevalence. The default incidences are a real fleet's, not an
/// accelerated benchmark's: residential air-to-air heat pumps and central
/// air conditioners have a median service life of about 15 years (ASHRAE
/// Handbook — HVAC Applications 2019, ch. 38, Table 4, after Abramson,
/// Herman & Wong 2005), so a fleet loses a few percent of its compressors
/// a year. The defaults give each fault kind a share of that: 3 % of homes
/// a bearing fault, 2 % a refrigerant leak, 2 % an ageing run capacitor.
/// Accelerated fleets (most units failing within days, for benchmarking)
/// set their own rates and say so.
///
/// Bearing wear. Defaults: 3 % of homes; onset uniformly within the first
/// 2,000 running hours; 0.05 µm per running hour on average (about 1,000
/// running hours, one or two seasons, from onset to failure); shape 0.05 per
/// hour; seizure at 50 µm; the spall grows 50-fold from onset to seizure,
/// so the peak acceleration stays near its healthy level for about half the
/// wear life and then rises steeply, as in run-to-failure records such as
/// the IMS bearing tests (Qiu, Lee, Lin & Yu 2006, "Wavelet filter-based weak
/// signature detection method and its application on rolling element
/// bearing prognostics", J. Sound Vib. 289).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BearingWearParams {
    /// Probability that a home's compressor has this fault, 0 to 1.
    pub incidence: f64,
    /// Latest onset [compressor running hours]; onset is uniform in
    /// `[0, onset_max_h]`, 0 to 100,000.
    pub onset_max_h: f64,
    /// Mean wear rate after onset [µm per running hour], > 0 to 100.
    pub rate_um_per_h: f64,
    /// Gamma shape per running hour α, > 0 to 1,000 (larger: less random).
    pub shape_per_h: f64,
    /// Wear at which the bearing seizes [µm], > 0 to 1,000.
    pub failure_um: f64,
    /// Spall size at seizure over its size at onset, `D_f/D₀`, 1 (severity
    /// linear in wear) to 10,000.
    pub spall_ratio: f64,
}

impl Default for BearingWearParams {
    fn default() -> Self {
        BearingWearParams {
            incidence: 0.03,
            onset_max_h: 2_000.0,
            rate_um_per_h: 0.05,
            shape_per_h: 0.05,
            failure_um: 50.0,
            spall_ratio: 50.0,
        }
    }
}

/// Refrigerant leak. Defaults: 2 % of homes; onset uniformly within 365
/// days; 0.3 % of the charge per day on average (log-normal spread, σ = 0.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefrigerantLeakParams {
    /// Probability that a home has this fault, 0 to 1.
    pub incidence: f64,
    /// Latest onset [days after the start], 0 to 3,650.
    pub onset_max_days: f64,
    /// Median leak rate [fraction of the charge per day], > 0 to 0.5.
    pub rate_per_day: f64,
    /// Log-normal spread of the leak rate between homes, 0 to 2.
    pub rate_sigma: f64,
}

impl Default for RefrigerantLeakParams {
    fn default() -> Self {
        RefrigerantLeakParams {
            incidence: 0.02,
            onset_max_days: 365.0,
            rate_per_day: 0.003,
            rate_sigma: 0.5,
        }
    }
}

/// Run-capacitor ageing. Defaults: 2 % of homes; onset uniformly within 365
/// days; 0.1 % capacitance lost per day on average; shape 0.5 per day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacitorParams {
    /// Probability that a home has this fault, 0 to 1.
    pub incidence: f64,
    /// Latest onset [days after the start], 0 to 3,650.
    pub onset_max_days: f64,
    /// Mean capacitance loss [fraction per day], > 0 to 0.5.
    pub loss_per_day: f64,
    /// Gamma shape per day, > 0 to 1,000.
    pub shape_per_day: f64,
}

impl Default for CapacitorParams {
    fn default() -> Self {
        CapacitorParams {
            incidence: 0.02,
            onset_max_days: 365.0,
            loss_per_day: 0.001,
            shape_per_day: 0.5,
        }
    }
}

/// All degradation parameters of a home.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DegradationParams {
    /// Bearing wear.
    pub bearing: BearingWearParams,
    /// Refrigerant leak.
    pub leak: RefrigerantLeakParams,
    /// Run-capacitor ageing.
    pub capacitor: CapacitorParams,
}

impl DegradationParams {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ParamError> {
        let b = &self.bearing;
        check_range("bearing.incidence", b.incidence, 0.0, 1.0)?;
        check_range("bearing.onset_max_h", b.onset_max_h, 0.0, 100_000.0)?;
        check_range("bearing.rate_um_per_h", b.rate_um_per_h, 1e-9, 100.0)?;
        check_range("bearing.shape_per_h", b.shape_per_h, 1e-9, 1_000.0)?;
        check_range("bearing.failure_um", b.failure_um, 1e-9, 1_000.0)?;
        check_range("bearing.spall_ratio", b.spall_ratio, 1.0, 10_000.0)?;
        let l = &self.leak;
        check_range("leak.incidence", l.incidence, 0.0, 1.0)?;
        check_range("leak.onset_max_days", l.onset_max_days, 0.0, 3_650.0)?;
        check_range("leak.rate_per_day", l.rate_per_day, 1e-9, 0.5)?;
        check_range("leak.rate_sigma", l.rate_sigma, 0.0, 2.0)?;
        let c = &self.capacitor;
        check_range("capacitor.incidence", c.incidence, 0.0, 1.0)?;
        check_range("capacitor.onset_max_days", c.onset_max_days, 0.0, 3_650.0)?;
        check_range("capacitor.loss_per_day", c.loss_per_day, 1e-9, 0.5)?;
        check_range("capacitor.shape_per_day", c.shape_per_day, 1e-9, 1_000.0)
    }
}

/// Where one fault stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultState {
    /// The home does not have this fault (until a repair redraws it).
    Absent,
    /// The fault will begin later.
    Pending {
        /// Onset: running hours of the compressor (bearing) or an instant
        /// (leak, capacitor).
        onset: Onset,
    },
    /// The fault is developing.
    Active {
        /// When it began.
        since: SimTime,
        /// Bearing wear [µm], lost charge or lost capacitance [fraction].
        level: f64,
        /// Leak rate [per day] (leaks only).
        rate: f64,
    },
    /// The fault has stopped the compressor.
    Failed {
        /// When it began.
        since: SimTime,
        /// When the compressor failed.
        at: SimTime,
    },
}

/// When a pending fault begins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Onset {
    /// After this much compressor running time in total [h].
    RuntimeHours(f64),
    /// At this instant.
    At(SimTime),
}

/// A change worth recording in the ground-truth tables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DegradationEvent {
    /// A fault began.
    Onset {
        /// Which.
        kind: FaultKind,
        /// When.
        at: SimTime,
    },
    /// A fault stopped the compressor.
    Failure {
        /// Which.
        kind: FaultKind,
        /// When (the end of the step in which the threshold was crossed).
        at: SimTime,
        /// When the fault began.
        onset: SimTime,
    },
    /// A fault a technician repaired before it failed would have failed
    /// now, had it been left alone (see the module's *Counterfactuals*).
    WouldFail {
        /// Which.
        kind: FaultKind,
        /// When it would have failed (the end of the step in which the
        /// continued process crossed its failure level).
        at: SimTime,
        /// When the fault began.
        onset: SimTime,
        /// When it was repaired.
        repaired_at: SimTime,
    },
}

/// A repaired fault continued to its counterfactual failure.
#[derive(Debug)]
struct Ghost {
    kind: FaultKind,
    since: SimTime,
    repaired_at: SimTime,
    level: f64,
    rate: f64,
    rng: SimRng,
}

/// One home's degradation processes.
#[derive(Debug)]
pub struct Degradation {
    params: DegradationParams,
    rng: SimRng,
    runtime_h: f64,
    states: [FaultState; 3],
    ghosts: Vec<Ghost>,
}

const BEARING: usize = 0;
const LEAK: usize = 1;
const CAPACITOR: usize = 2;

impl Degradation {
    /// Draws each fault's incidence and onset from `rng`, from `start` on.
    pub fn new(
        params: DegradationParams,
        mut rng: SimRng,
        start: SimTime,
    ) -> Result<Degradation, ParamError> {
        params.validate()?;
        let states = FaultKind::ALL.map(|k| Self::draw(&params, k, &mut rng, start, 0.0));
        Ok(Degradation {
            params,
            rng,
            runtime_h: 0.0,
            states,
            ghosts: Vec::new(),
        })
    }

    fn draw(
        p: &DegradationParams,
        kind: FaultKind,
        rng: &mut SimRng,
        from: SimTime,
        runtime_h: f64,
    ) -> FaultState {
        let (incidence, onset) = match kind {
            FaultKind::BearingWear => (
                p.bearing.incidence,
                Onset::RuntimeHours(runtime_h + rng.random::<f64>() * p.bearing.onset_max_h),
            ),
            FaultKind::RefrigerantLeak => (
                p.leak.incidence,
                Onset::At(from + days(rng.random::<f64>() * p.leak.onset_max_days)),
            ),
            FaultKind::CapacitorAgeing => (
                p.capacitor.incidence,
                Onset::At(from + days(rng.random::<f64>() * p.capacitor.onset_max_days)),
            ),
        };
        // Draw the onset even when absent so the stream's use does not depend
        // on the outcome.
        if rng.random_bool(incidence) {
            FaultState::Pending { onset }
        } else {
            FaultState::Absent
        }
    }

    /// The state of one fault.
    pub fn state(&self, kind: FaultKind) -> FaultState {
        self.states[kind as usize]
    }

    /// Total compressor running time [h].
    pub fn runtime_h(&self) -> f64 {
        self.runtime_h
    }

    /// Bearing wear [µm] (0 before onset).
    pub fn bearing_wear_um(&self) -> f64 {
        match self.states[BEARING] {
            FaultState::Active { level, .. } => level,
            FaultState::Failed { .. } => self.params.bearing.failure_um,
            _ => 0.0,
        }
    }

    /// Bearing defect severity, 0 to 1 (drives the vibration signal): the
    /// spall's growth from its onset size to its critical size,
    /// [`spall_severity`] of the wear fraction.
    pub fn bearing_severity(&self) -> f64 {
        let b = &self.params.bearing;
        spall_severity(self.bearing_wear_um() / b.failure_um, b.spall_ratio)
    }

    /// Refrigerant charge as a fraction of nominal.
    pub fn charge_fraction(&self) -> f64 {
        match self.states[LEAK] {
            FaultState::Active { level, .. } => 1.0 - level,
            FaultState::Failed { .. } => 0.5,
            _ => 1.0,
        }
    }

    /// Run-capacitor capacitance as a fraction of rated.
    pub fn capacitance_fraction(&self) -> f64 {
        match self.states[CAPACITOR] {
            FaultState::Active { level, .. } => 1.0 - level,
            FaultState::Failed { .. } => 0.7,
            _ => 1.0,
        }
    }

    /// Whether any fault has stopped the compressor.
    pub fn compressor_failed(&self) -> bool {
        self.states
            .iter()
            .any(|s| matches!(s, FaultState::Failed { .. }))
    }

    /// Whether the compressor is failed in a way that leaves its motor
    /// energised but unable to turn: a seized bearing or a run capacitor
    /// too weak to start it (it then draws locked-rotor current until its
    /// overload protector opens). A leak's failure is the low-pressure
    /// switch holding the contactor open: nothing is energised.
    pub fn locked_rotor(&self) -> bool {
        matches!(self.states[BEARING], FaultState::Failed { .. })
            || matches!(self.states[CAPACITOR], FaultState::Failed { .. })
    }

    /// The compressor's condition as the equipment model uses it.
    pub fn health(&self) -> Health {
        let c = self.charge_fraction();
        let r = self.capacitance_fraction();
        let undercharge = 1.0 - c;
        Health {
            // −15 % capacity and +11.8 % power per capacity at 70 % charge,
            // so COP falls 10 % (Kim & Braun 2012).
            capacity_factor: 1.0 - 0.5 * undercharge,
            eir_factor: 1.0 + 0.392 * undercharge,
            // A weak run capacitor raises the current (+16 % at 80 %); a
            // worn bearing adds drag (+5 % at seizure).
            current_factor: 1.0 + 0.8 * (1.0 - r) + 0.05 * self.bearing_severity(),
            // Starts drag on as the capacitor weakens: 5× longer at the 70 %
            // threshold where the motor stops starting at all.
            start_duration_factor: 1.0 + 4.0 * ((1.0 - r) / 0.3).clamp(0.0, 1.0),
            compressor_failed: self.compressor_failed(),
        }
    }

    /// Advances every process over `[t0, t0 + dt)`, during which the
    /// compressor ran for `running` (at most `dt`). Returns what began or
    /// failed.
    pub fn advance(
        &mut self,
        t0: SimTime,
        dt: SimDuration,
        running: SimDuration,
    ) -> Vec<DegradationEvent> {
        let mut events = Vec::new();
        let t1 = t0 + dt;
        let run_h = running.min(dt).as_secs_f64() / 3600.0;
        let runtime_before = self.runtime_h;
        self.runtime_h += run_h;
        let p = self.params;

        // Bearing: onset and wear in running hours.
        if let FaultState::Pending {
            onset: Onset::RuntimeHours(h),
        } = self.states[BEARING]
            && self.runtime_h >= h
        {
            self.states[BEARING] = FaultState::Active {
                since: t0,
                level: 0.0,
                rate: 0.0,
            };
            events.push(DegradationEvent::Onset {
                kind: FaultKind::BearingWear,
                at: t0,
            });
            // Only the running time after onset wears the bearing.
            let after = (self.runtime_h - h.max(runtime_before)).max(0.0);
            self.wear_bearing(after, t1, &mut events);
        } else if matches!(self.states[BEARING], FaultState::Active { .. }) {
            self.wear_bearing(run_h, t1, &mut events);
        }

        // Leak and capacitor: onset and progress in calendar time.
        for (i, kind) in [
            (LEAK, FaultKind::RefrigerantLeak),
            (CAPACITOR, FaultKind::CapacitorAgeing),
        ] {
            if let FaultState::Pending {
                onset: Onset::At(at),
            } = self.states[i]
                && at < t1
            {
                let rate = if i == LEAK {
                    let z: f64 = rand_distr::StandardNormal.sample(&mut self.rng);
                    p.leak.rate_per_day * (p.leak.rate_sigma * z).exp()
                } else {
                    0.0
                };
                self.states[i] = FaultState::Active {
                    since: at,
                    level: 0.0,
                    rate,
                };
                events.push(DegradationEvent::Onset { kind, at });
            }
            if let FaultState::Active { since, level, rate } = self.states[i] {
                let new_level = calendar_level(&p, kind, since, level, rate, t0, t1, &mut self.rng);
                debug_assert!(new_level >= level);
                if new_level >= failure_level(&p, kind) {
                    self.states[i] = FaultState::Failed { since, at: t1 };
                    events.push(DegradationEvent::Failure {
                        kind,
                        at: t1,
                        onset: since,
                    });
                } else {
                    self.states[i] = FaultState::Active {
                        since,
                        level: new_level,
                        rate,
                    };
                }
            }
        }
        self.haunt(t0, t1, run_h, &mut events);
        events
    }

    fn wear_bearing(&mut self, run_h: f64, t1: SimTime, events: &mut Vec<DegradationEvent>) {
        let FaultState::Active { since, level, .. } = self.states[BEARING] else {
            return;
        };
        let b = self.params.bearing;
        let wear = bearing_wear(&b, level, run_h, &mut self.rng);
        if wear >= b.failure_um {
            self.states[BEARING] = FaultState::Failed { since, at: t1 };
            events.push(DegradationEvent::Failure {
                kind: FaultKind::BearingWear,
                at: t1,
                onset: since,
            });
        } else {
            self.states[BEARING] = FaultState::Active {
                since,
                level: wear,
                rate: 0.0,
            };
        }
    }

    /// Advances the ghosts of repaired faults over `[t0, t1)` (`run_h` of
    /// running), each on its own stream; those that reach their failure
    /// level report it and go.
    fn haunt(&mut self, t0: SimTime, t1: SimTime, run_h: f64, events: &mut Vec<DegradationEvent>) {
        let p = self.params;
        self.ghosts.retain_mut(|g| {
            if g.repaired_at >= t1 {
                return true;
            }
            let from = g.repaired_at.max(t0);
            g.level = match g.kind {
                FaultKind::BearingWear => bearing_wear(&p.bearing, g.level, run_h, &mut g.rng),
                kind => calendar_level(&p, kind, g.since, g.level, g.rate, from, t1, &mut g.rng),
            };
            if g.level < failure_level(&p, g.kind) {
                return true;
            }
            events.push(DegradationEvent::WouldFail {
                kind: g.kind,
                at: t1,
                onset: g.since,
                repaired_at: g.repaired_at,
            });
            false
        });
    }

    /// Repairs in progress whose counterfactual failure has not come yet.
    pub fn ghosts(&self) -> usize {
        self.ghosts.len()
    }

    /// A technician replaces the part behind `kind` at `now`: the fault
    /// resets and is drawn anew from `now`. With `counterfactual`, a fault
    /// that was developing (not yet failed) goes on as a ghost on that
    /// stream, to report when it would have failed
    /// ([`DegradationEvent::WouldFail`]).
    pub fn repair(&mut self, kind: FaultKind, now: SimTime, counterfactual: Option<SimRng>) {
        if let (FaultState::Active { since, level, rate }, Some(rng)) =
            (self.states[kind as usize], counterfactual)
        {
            self.ghosts.push(Ghost {
                kind,
                since,
                repaired_at: now,
                level,
                rate,
                rng,
            });
        }
        self.states[kind as usize] =
            Self::draw(&self.params, kind, &mut self.rng, now, self.runtime_h);
    }
}

/// The spall's growth `(D − D₀)/(D_f − D₀) = (e^{k·s} − 1)/(e^k − 1)`,
/// `k = ln(ratio)`, at wear fraction `s` (clamped to 0–1) when the spall
/// grows in proportion to its size (Li et al. 1999, `m = 1`); `s` itself for
/// a ratio of 1 (the limit `k → 0`).
pub fn spall_severity(s: f64, ratio: f64) -> f64 {
    let s = s.clamp(0.0, 1.0);
    let k = ratio.max(1.0).ln();
    if k < 1e-9 {
        s
    } else {
        ((k * s).exp_m1() / k.exp_m1()).clamp(0.0, 1.0)
    }
}

/// Bearing wear after `run_h` more running hours from `level` [µm]: one
/// gamma increment (shapes add, so any step length samples the process
/// exactly).
fn bearing_wear(b: &BearingWearParams, level: f64, run_h: f64, rng: &mut SimRng) -> f64 {
    let shape = b.shape_per_h * run_h;
    let inc = if shape > 0.0 {
        Gamma::new(shape, b.rate_um_per_h / b.shape_per_h).map_or(0.0, |g| g.sample(rng))
    } else {
        0.0
    };
    let wear = level + inc;
    debug_assert!(wear >= level && wear.is_finite());
    wear
}

/// A calendar-time fault's level at `t1`, from `level` at `t0` (or its
/// onset `since`, if later): a leak's lost charge `1 − e^{−k·(t1 − since)}`,
/// a capacitor's lost capacitance plus a gamma increment.
#[allow(clippy::too_many_arguments)]
fn calendar_level(
    p: &DegradationParams,
    kind: FaultKind,
    since: SimTime,
    level: f64,
    rate: f64,
    t0: SimTime,
    t1: SimTime,
    rng: &mut SimRng,
) -> f64 {
    match kind {
        FaultKind::RefrigerantLeak => {
            let age = t1.saturating_duration_since(since).as_secs_f64() / 86_400.0;
            1.0 - (-rate * age).exp()
        }
        _ => {
            let c = p.capacitor;
            let span_days = t1.saturating_duration_since(since.max(t0)).as_secs_f64() / 86_400.0;
            let shape = c.shape_per_day * span_days;
            let inc = if shape > 0.0 {
                Gamma::new(shape, c.loss_per_day / c.shape_per_day).map_or(0.0, |g| g.sample(rng))
            } else {
                0.0
            };
            level + inc
        }
    }
}

/// The level at which a fault stops the compressor: bearing wear [µm],
/// lost charge or capacitance [fraction].
fn failure_level(p: &DegradationParams, kind: FaultKind) -> f64 {
    match kind {
        FaultKind::BearingWear => p.bearing.failure_um,
        FaultKind::RefrigerantLeak => 0.5,
        FaultKind::CapacitorAgeing => 0.3,
    }
}

fn days(d: f64) -> SimDuration {
    SimDuration::from_secs_f64(d * 86_400.0).unwrap_or(SimDuration::MAX)
}

/// Draws an exponential waiting time with the given mean (helper for models
/// that schedule random events).
pub fn exponential(rng: &mut SimRng, mean: f64) -> f64 {
    Exp::new(1.0 / mean).map_or(f64::INFINITY, |e| e.sample(rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::gamma_q;
    use proptest::prelude::*;
    use sim_core::stream;

    fn only(kind: FaultKind) -> DegradationParams {
        let mut p = DegradationParams::default();
        p.bearing.incidence = 0.0;
        p.leak.incidence = 0.0;
        p.capacitor.incidence = 0.0;
        match kind {
            FaultKind::BearingWear => p.bearing.incidence = 1.0,
            FaultKind::RefrigerantLeak => p.leak.incidence = 1.0,
            FaultKind::CapacitorAgeing => p.capacitor.incidence = 1.0,
        }
        p
    }

    #[test]
    fn the_spall_grows_exponentially_in_wear() {
        // (e^{k·s} − 1)/(e^k − 1), k = ln 50: at half the wear the spall
        // is √50 − 1 = 6.0711 of its 49 units of growth.
        let r = 50.0;
        assert_eq!(spall_severity(0.0, r), 0.0);
        assert!((spall_severity(1.0, r) - 1.0).abs() < 1e-12);
        assert!((spall_severity(0.5, r) - (50f64.sqrt() - 1.0) / 49.0).abs() < 1e-12);
        assert!((spall_severity(0.5, r) - 0.123_900).abs() < 1e-6);
        // Equal wear steps multiply the spall by the same factor.
        let d = |s: f64| 1.0 + 49.0 * spall_severity(s, r);
        assert!((d(0.3) / d(0.2) - d(0.9) / d(0.8)).abs() < 1e-9);
        // A ratio of one is the linear limit; out-of-range wear clamps.
        assert!((spall_severity(0.37, 1.0) - 0.37).abs() < 1e-12);
        assert!((spall_severity(0.37, 1.0 + 1e-12) - 0.37).abs() < 1e-9);
        assert_eq!(spall_severity(1.5, r), 1.0);
        assert_eq!(spall_severity(-0.5, r), 0.0);
    }

    /// Runs a home's bearing with the compressor always on, in `step_h` steps,
    /// and returns (onset runtime h, failure runtime h).
    fn bearing_life(seed: u64, step_h: f64) -> (f64, f64) {
        let mut p = only(FaultKind::BearingWear);
        // Onset at a random point of the first running hour: the life after
        // onset is what is under test.
        p.bearing.onset_max_h = 1.0;
        let mut d = Degradation::new(p, stream(seed, 1, "degradation"), SimTime::EPOCH).unwrap();
        let step = SimDuration::from_secs_f64(step_h * 3600.0).unwrap();
        let mut t = SimTime::EPOCH;
        let mut onset = None;
        for _ in 0..1_000_000 {
            for e in d.advance(t, step, step) {
                match e {
                    DegradationEvent::Onset { .. } => onset = Some(d.runtime_h()),
                    DegradationEvent::Failure { .. } => return (onset.unwrap(), d.runtime_h()),
                    DegradationEvent::WouldFail { .. } => unreachable!("no repairs"),
                }
            }
            t += step;
        }
        panic!("no failure in a million steps");
    }

    #[test]
    fn bearing_failure_times_follow_the_gamma_process() {
        // Time from onset to seizure T satisfies P(T ≤ t) = P(W(t) ≥ w_f) =
        // Q(α·t, w_f/β). Compare the empirical distribution over 2,000 homes
        // (Kolmogorov–Smirnov distance; the 1 % critical value for n = 2,000
        // is 0.036, plus the 1 h step's discretisation).
        let b = BearingWearParams::default();
        let beta = b.rate_um_per_h / b.shape_per_h;
        let mut lives: Vec<f64> = (0..2_000)
            .map(|seed| {
                let (onset, fail) = bearing_life(seed, 1.0);
                fail - onset
            })
            .collect();
        lives.sort_by(f64::total_cmp);
        let n = lives.len() as f64;
        let ks = lives
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let model = gamma_q(b.shape_per_h * t, b.failure_um / beta);
                ((i as f64 + 1.0) / n - model)
                    .abs()
                    .max((i as f64 / n - model).abs())
            })
            .fold(0.0, f64::max);
        assert!(ks < 0.045, "KS distance {ks}");
        // The mean life is close to w_f / (α·β) = 1,000 h.
        let mean = lives.iter().sum::<f64>() / n;
        assert!((mean - 1_000.0).abs() < 60.0, "mean life {mean} h");
    }

    #[test]
    fn step_length_does_not_change_the_process() {
        // Gamma increments add: 1 h steps and 15 min steps give the same
        // failure-time distribution. Means over 200 homes each: the life's
        // spread is ≈ 140 h, so the two means differ by ≈ 14 h ± 14 h.
        let mean = |step_h: f64| {
            (0..200)
                .map(|s| {
                    let (o, f) = bearing_life(10_000 + s, step_h);
                    f - o
                })
                .sum::<f64>()
                / 200.0
        };
        let (coarse, fine) = (mean(1.0), mean(0.25));
        assert!((coarse - fine).abs() < 60.0, "{coarse} vs {fine}");
    }

    #[test]
    fn the_same_seed_gives_the_same_life() {
        assert_eq!(bearing_life(42, 1.0), bearing_life(42, 1.0));
        assert_ne!(bearing_life(42, 1.0), bearing_life(43, 1.0));
    }

    #[test]
    fn bearing_wear_accrues_only_while_running() {
        let mut d = Degradation::new(
            only(FaultKind::BearingWear),
            stream(1, 1, "d"),
            SimTime::EPOCH,
        )
        .unwrap();
        let mut t = SimTime::EPOCH;
        // A year switched off: no onset, no wear.
        for _ in 0..365 {
            assert!(
                d.advance(t, SimDuration::from_days(1), SimDuration::ZERO)
                    .is_empty()
            );
            t += SimDuration::from_days(1);
        }
        assert_eq!(d.runtime_h(), 0.0);
        assert_eq!(d.bearing_wear_um(), 0.0);
        assert_eq!(d.bearing_severity(), 0.0);
        // Running, the severity is the spall's growth at the wear fraction:
        // at half the wear, a quarter of what a linear severity would be.
        let mut halfway = None;
        while d.bearing_wear_um() < 25.0 {
            d.advance(t, SimDuration::from_hours(1), SimDuration::from_hours(1));
            t += SimDuration::from_hours(1);
            halfway = Some(d.bearing_severity());
        }
        let s = d.bearing_wear_um() / 50.0;
        assert!(s < 1.0, "{s}");
        assert_eq!(halfway, Some(spall_severity(s, 50.0)));
        assert!(halfway.unwrap() < 0.3 * s, "{halfway:?} at {s}");
    }

    #[test]
    fn a_leak_reduces_capacity_then_locks_out() {
        let mut p = only(FaultKind::RefrigerantLeak);
        p.leak.onset_max_days = 0.0;
        p.leak.rate_sigma = 0.0;
        p.leak.rate_per_day = 0.01;
        let mut d = Degradation::new(p, stream(1, 2, "d"), SimTime::EPOCH).unwrap();
        let day = SimDuration::from_days(1);
        let mut t = SimTime::EPOCH;
        let mut failed_at = None;
        for _ in 0..200 {
            for e in d.advance(t, day, SimDuration::ZERO) {
                if let DegradationEvent::Failure { at, kind, .. } = e {
                    assert_eq!(kind, FaultKind::RefrigerantLeak);
                    failed_at = Some(at);
                }
            }
            t += day;
            if t == SimTime::EPOCH + SimDuration::from_days(36) {
                // e^{−0.36} = 0.698: ≈ 70 % charge, −15 % capacity.
                let h = d.health();
                assert!((d.charge_fraction() - (-0.36f64).exp()).abs() < 1e-9);
                assert!((h.capacity_factor - 0.849).abs() < 0.002, "{h:?}");
                let cop_ratio = h.capacity_factor / (h.capacity_factor * h.eir_factor);
                assert!((cop_ratio - 0.895).abs() < 0.01, "COP ratio {cop_ratio}");
                assert!(!h.compressor_failed);
            }
        }
        // ln 2 / 0.01 = 69.3 days to half charge: fails at the end of day 70.
        assert_eq!(failed_at, Some(SimTime::EPOCH + SimDuration::from_days(70)));
        assert!(d.health().compressor_failed);
    }

    #[test]
    fn an_ageing_capacitor_raises_current_then_fails() {
        let mut p = only(FaultKind::CapacitorAgeing);
        p.capacitor.onset_max_days = 0.0;
        p.capacitor.loss_per_day = 0.01;
        p.capacitor.shape_per_day = 50.0;
        let mut d = Degradation::new(p, stream(3, 3, "d"), SimTime::EPOCH).unwrap();
        let mut t = SimTime::EPOCH;
        let mut current = Vec::new();
        let mut failure = None;
        for _ in 0..100 {
            current.push(d.health().current_factor);
            for e in d.advance(t, SimDuration::from_days(1), SimDuration::ZERO) {
                if let DegradationEvent::Failure { at, .. } = e {
                    failure = Some(at);
                }
            }
            t += SimDuration::from_days(1);
        }
        assert!(
            current.windows(2).all(|w| w[1] >= w[0]),
            "current never falls"
        );
        // 30 % loss at 1 %/day: about 30 days (nearly deterministic with this shape).
        let days = failure.unwrap().as_millis() as f64 / 86_400_000.0;
        assert!((days - 30.0).abs() <= 3.0, "{days}");
    }

    #[test]
    fn repair_resets_the_fault() {
        let mut p = only(FaultKind::RefrigerantLeak);
        p.leak.onset_max_days = 0.0;
        p.leak.rate_per_day = 0.2;
        let mut d = Degradation::new(p, stream(1, 9, "d"), SimTime::EPOCH).unwrap();
        let mut t = SimTime::EPOCH;
        while !d.compressor_failed() {
            d.advance(t, SimDuration::from_days(1), SimDuration::ZERO);
            t += SimDuration::from_days(1);
        }
        d.repair(FaultKind::RefrigerantLeak, t, Some(stream(1, 9, "ghost")));
        assert!(!d.compressor_failed());
        // A failed fault has no counterfactual: it did fail.
        assert_eq!(d.ghosts(), 0);
        assert_eq!(d.charge_fraction(), 1.0);
        assert!(matches!(
            d.state(FaultKind::RefrigerantLeak),
            FaultState::Pending { .. }
        ));
    }

    #[test]
    fn a_repaired_leak_would_have_failed_when_the_unrepaired_one_does() {
        // The leak of `a_leak_reduces_capacity_then_locks_out` (1 %/day,
        // half charge after ln 2 / 0.01 = 69.3 days), repaired on day 20:
        // its ghost fails at the end of day 70, as the leak left alone did.
        let mut p = only(FaultKind::RefrigerantLeak);
        p.leak.onset_max_days = 0.0;
        p.leak.rate_sigma = 0.0;
        p.leak.rate_per_day = 0.01;
        let day = SimDuration::from_days(1);
        let run = |ghost: bool| {
            let mut d = Degradation::new(p, stream(1, 2, "d"), SimTime::EPOCH).unwrap();
            let mut t = SimTime::EPOCH;
            let mut events = Vec::new();
            for k in 0..200 {
                if k == 20 {
                    d.repair(
                        FaultKind::RefrigerantLeak,
                        t,
                        ghost.then(|| stream(1, 2, "ghost")),
                    );
                }
                events.extend(d.advance(t, day, SimDuration::ZERO));
                t += day;
            }
            events
        };
        let with = run(true);
        let would: Vec<_> = with
            .iter()
            .filter(|e| matches!(e, DegradationEvent::WouldFail { .. }))
            .collect();
        assert_eq!(
            would,
            [&DegradationEvent::WouldFail {
                kind: FaultKind::RefrigerantLeak,
                at: SimTime::EPOCH + SimDuration::from_days(70),
                onset: SimTime::EPOCH,
                repaired_at: SimTime::EPOCH + SimDuration::from_days(20),
            }]
        );
        // The ghost changes nothing else: the same events without it.
        let real: Vec<_> = with
            .into_iter()
            .filter(|e| !matches!(e, DegradationEvent::WouldFail { .. }))
            .collect();
        assert_eq!(real, run(false));
    }

    #[test]
    fn a_repaired_bearing_goes_on_wearing_with_the_running_hours() {
        // Repaired at 20 µm: the ghost wears on from there while the unit
        // runs, on its own stream, and not while it stands still; the real
        // process (redrawn by the repair) is the same with and without it.
        let mut p = only(FaultKind::BearingWear);
        p.bearing.onset_max_h = 1.0;
        p.bearing.rate_um_per_h = 1.0;
        p.bearing.shape_per_h = 1.0;
        let h = SimDuration::from_hours(1);
        let run = |ghost: bool| {
            let mut d = Degradation::new(p, stream(5, 1, "d"), SimTime::EPOCH).unwrap();
            let mut t = SimTime::EPOCH;
            let mut events = Vec::new();
            while d.bearing_wear_um() < 20.0 {
                events.extend(d.advance(t, h, h));
                t += h;
            }
            let repaired = t;
            d.repair(
                FaultKind::BearingWear,
                t,
                ghost.then(|| stream(5, 1, "ghost")),
            );
            // 100 hours off: nothing wears.
            for _ in 0..100 {
                events.extend(d.advance(t, h, SimDuration::ZERO));
                t += h;
            }
            assert_eq!(d.ghosts(), usize::from(ghost));
            for _ in 0..200 {
                events.extend(d.advance(t, h, h));
                t += h;
            }
            (events, repaired)
        };
        let (with, repaired) = run(true);
        let would: Vec<_> = with
            .iter()
            .filter_map(|e| match *e {
                DegradationEvent::WouldFail {
                    at, repaired_at, ..
                } => Some((at, repaired_at)),
                _ => None,
            })
            .collect();
        assert_eq!(would.len(), 1, "{with:?}");
        let (at, repaired_at) = would[0];
        assert_eq!(repaired_at, repaired);
        // 30 µm more at 1 µm per running hour (shape 1/h: ±√30 h), after
        // the 100 idle hours.
        let hours = at.saturating_duration_since(repaired).as_secs_f64() / 3600.0 - 100.0;
        assert!((hours - 30.0).abs() < 20.0, "{hours} running hours");
        let real: Vec<_> = with
            .into_iter()
            .filter(|e| !matches!(e, DegradationEvent::WouldFail { .. }))
            .collect();
        assert_eq!(real, run(false).0);
    }

    #[test]
    fn incidence_is_respected() {
        let p = DegradationParams::default();
        let n = 5_000;
        let with_bearing = (0..n)
            .filter(|&i| {
                let d = Degradation::new(p, stream(7, i, "degradation"), SimTime::EPOCH).unwrap();
                d.state(FaultKind::BearingWear) != FaultState::Absent
            })
            .count() as f64
            / n as f64;
        assert!((with_bearing - 0.03).abs() < 0.01, "{with_bearing}");
    }

    proptest! {
        /// Wear never decreases, whatever the steps and running times.
        #[test]
        fn wear_never_decreases(steps in prop::collection::vec((1u64..7_200, 0.0f64..1.0), 1..300), seed in any::<u64>()) {
            let mut p = only(FaultKind::BearingWear);
            p.bearing.onset_max_h = 1.0;
            p.bearing.rate_um_per_h = 0.5;
            let mut d = Degradation::new(p, stream(seed, 1, "d"), SimTime::EPOCH).unwrap();
            let mut t = SimTime::EPOCH;
            let mut last = 0.0;
            for (secs, on) in steps {
                let dt = SimDuration::from_secs(secs);
                let run = SimDuration::from_secs_f64(secs as f64 * on).unwrap();
                d.advance(t, dt, run);
                t += dt;
                let w = d.bearing_wear_um();
                prop_assert!(w >= last, "{} < {}", w, last);
                prop_assert!(w.is_finite() && w >= 0.0);
                last = w;
            }
        }
    }
}
