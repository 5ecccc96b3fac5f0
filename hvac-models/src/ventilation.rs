//! Occupants opening windows: when they do, and the air an open window lets
//! through.
//!
//! Measured homes cool and warm much faster in summer than in winter: over
//! free-floating periods of three hours or more, C. John et al. found most
//! winter time constants of more than 10,000 smart-thermostat homes in
//! 15–55 h and most summer ones between under 1 h and 18 h, "due to
//! occupants opening windows" (see [`crate::home`]). This module is that
//! behaviour, from published residential data:
//!
//! - **Whether a window is open**: the logistic model of Schweiker, Haldi,
//!   Shukuya & Robinson (2012), "Verification of stochastic models of window
//!   opening behaviour for residential buildings", Journal of Building
//!   Performance Simulation 5(1), fitted to dwellings:
//!   `logit p = 0.711 + 0.3813·T_out − 0.3077·T_in` (°C) — more likely the
//!   warmer it is outside and the cooler inside. ([`open_share`])
//! - **How often the state is re-decided**: on average once an hour
//!   ([`WindowHabit`]), a two-state Markov chain whose long-run open share
//!   is the model's `p`; thermotwin's choice (the model gives the share,
//!   not the episode length).
//! - **When it may be open at all** (thermotwin's rules for a home with
//!   heating and air conditioning, stated in [`WindowHabit::decide`]):
//!   someone is home, the outdoor air is cooler than the indoor air, the
//!   system is idle (occupants close windows when it heats or cools) and the
//!   room is not already below the comfort band.
//! - **The air it lets in**: whole-house air change rates measured with
//!   tracer gas in a test house with windows and doors opened (Johnson et
//!   al. 2004, as summarised in the introduction of "The influence of
//!   opening windows and doors on the natural ventilation rate of a
//!   residential building", a tracer-gas study of a research test house,
//!   HVAC&R Research): geometric means 0.76 h⁻¹ with
//!   nothing open, 1.51 h⁻¹ with one opening, 2.30 h⁻¹ with two, 2.75 h⁻¹
//!   with three or more ([`OPEN_ACH`]). Howard-Reed, Wallace & Ott (2002),
//!   "The effect of opening windows on air change rates in two homes", J.
//!   Air & Waste Management Association 52:147–159, found the same order:
//!   up to about one air change per hour more for one window, two to three
//!   for several.

/// Air: density [kg/m³] and specific heat [J/(kg·K)] near 20 °C.
pub const RHO_CP_J_PER_M3K: f64 = 1.204 * 1005.0;

/// Whole-house air changes per hour measured with 0, 1, 2 and 3 or more
/// openings (Johnson et al. 2004, geometric means; see the module doc).
pub const OPEN_ACH: [f64; 4] = [0.76, 1.51, 2.30, 2.75];

/// The extra air changes per hour [1/h] that `openings` open windows (1 to
/// 3; more count as 3) add to a closed home's infiltration.
pub fn extra_ach(openings: u32) -> f64 {
    let n = openings.clamp(1, 3) as usize;
    OPEN_ACH[n] - OPEN_ACH[0]
}

/// The conductance [W/K] between indoor and outdoor air that `ach` air
/// changes per hour give a home of `volume_m3`.
pub fn conductance_w_per_k(ach: f64, volume_m3: f64) -> f64 {
    RHO_CP_J_PER_M3K * ach * volume_m3 / 3_600.0
}

/// Probability that a dwelling's window is open at these temperatures [°C]
/// (Schweiker et al. 2012; see the module doc).
pub fn open_share(indoor_c: f64, outdoor_c: f64) -> f64 {
    let z = 0.711 + 0.3813 * outdoor_c - 0.3077 * indoor_c;
    1.0 / (1.0 + (-z).exp())
}

/// What the occupants see when they decide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Situation {
    /// Someone is home (awake or asleep).
    pub occupied: bool,
    /// Indoor air [°C].
    pub indoor_c: f64,
    /// Outdoor air [°C].
    pub outdoor_c: f64,
    /// The heating or cooling is running.
    pub system_running: bool,
    /// Lower edge of the comfort band [°C].
    pub comfort_low_c: f64,
}

/// One household's windows: open or closed, re-decided at a fixed period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowHabit {
    open: bool,
    /// Chance per decision that the household reconsiders (decision period
    /// over the mean time between reconsiderations, one hour).
    reconsider: f64,
}

impl WindowHabit {
    /// Closed windows, decided every `period_s` seconds (0 to 3,600).
    pub fn new(period_s: f64) -> WindowHabit {
        WindowHabit {
            open: false,
            reconsider: (period_s / 3_600.0).clamp(0.0, 1.0),
        }
    }

    /// Whether the windows are open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Closes the windows (the system started between decisions).
    pub fn close(&mut self) {
        self.open = false;
    }

    /// One decision with a uniform draw `u` in [0, 1): the windows close at
    /// once when they may not be open (nobody home, outdoor air at least as
    /// warm as indoor, the system running, or the room below the comfort
    /// band); otherwise the household reconsiders with the chance set at
    /// construction, and a household that reconsiders opens with
    /// probability [`open_share`]. Over many decisions in steady conditions
    /// the windows are open for `open_share` of the time.
    pub fn decide(&mut self, s: &Situation, u: f64) -> bool {
        let allowed = s.occupied
            && s.outdoor_c < s.indoor_c
            && !s.system_running
            && s.indoor_c >= s.comfort_low_c;
        if !allowed {
            self.open = false;
            return false;
        }
        // u < reconsider: reconsider, and u / reconsider is again uniform.
        if u < self.reconsider {
            self.open = u / self.reconsider < open_share(s.indoor_c, s.outdoor_c);
        }
        self.open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use sim_core::stream;

    #[test]
    fn open_share_follows_schweiker_2012() {
        // The published coefficients by hand: at T_in = T_out = 0 the share
        // is logistic(0.711) = 0.6706; each kelvin warmer outside multiplies
        // the odds by e^0.3813 = 1.464, each kelvin warmer inside by
        // e^−0.3077 = 0.7352.
        assert!((open_share(0.0, 0.0) - 0.6706).abs() < 1e-4);
        let odds = |p: f64| p / (1.0 - p);
        let r = odds(open_share(22.0, 16.0)) / odds(open_share(22.0, 15.0));
        assert!((r - 1.464).abs() < 1e-3, "{r}");
        let r = odds(open_share(23.0, 15.0)) / odds(open_share(22.0, 15.0));
        assert!((r - 0.7352).abs() < 1e-3, "{r}");
        // A mild summer evening opens windows more often than a cold
        // winter one.
        assert!(open_share(24.0, 20.0) > 0.5);
        assert!(open_share(21.0, 0.0) < 0.01);
    }

    #[test]
    fn open_windows_add_the_measured_air_changes() {
        // Johnson et al. 2004: 1.51 − 0.76, 2.30 − 0.76, 2.75 − 0.76.
        assert!((extra_ach(1) - 0.75).abs() < 1e-9);
        assert!((extra_ach(2) - 1.54).abs() < 1e-9);
        assert!((extra_ach(3) - 1.99).abs() < 1e-9);
        assert_eq!(extra_ach(7), extra_ach(3));
        // One air change an hour of 300 m³ carries 100 W/K (ρc_p ≈ 1.21 kJ/m³K).
        assert!((conductance_w_per_k(1.0, 300.0) - 100.8).abs() < 0.1);
    }

    fn evening(indoor_c: f64, outdoor_c: f64) -> Situation {
        Situation {
            occupied: true,
            indoor_c,
            outdoor_c,
            system_running: false,
            comfort_low_c: 20.0,
        }
    }

    #[test]
    fn long_run_open_share_is_the_models_and_episodes_last() {
        let mut habit = WindowHabit::new(300.0);
        let mut rng = stream(3, 0, "windows");
        let s = evening(24.0, 19.0);
        let (mut open, mut switches) = (0u32, 0u32);
        let mut was = false;
        let n = 200_000;
        for _ in 0..n {
            let now = habit.decide(&s, rng.random::<f64>());
            open += u32::from(now);
            switches += u32::from(now != was);
            was = now;
        }
        let share = f64::from(open) / f64::from(n);
        let p = open_share(24.0, 19.0);
        assert!((share - p).abs() < 0.02, "{share} vs {p}");
        // Reconsidered about once an hour (12 decisions): far fewer
        // switches than independent draws every 5 minutes would give.
        let iid = 2.0 * p * (1.0 - p) * f64::from(n);
        assert!(f64::from(switches) < iid / 8.0, "{switches} vs {iid}");
    }

    #[test]
    fn windows_close_when_they_may_not_be_open() {
        let mut habit = WindowHabit::new(3_600.0);
        assert!(habit.decide(&evening(24.0, 19.0), 0.0));
        for s in [
            Situation {
                occupied: false,
                ..evening(24.0, 19.0)
            },
            evening(24.0, 26.0),
            Situation {
                system_running: true,
                ..evening(24.0, 19.0)
            },
            evening(19.5, 15.0),
        ] {
            let mut h = habit;
            assert!(!h.decide(&s, 0.0), "{s:?}");
            assert!(!h.is_open());
        }
    }
}
