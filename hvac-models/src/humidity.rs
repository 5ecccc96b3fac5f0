//! Indoor humidity: a well-mixed single-zone moisture balance, the humidity
//! ratio counterpart of the thermal model, so the thermostat's humidity
//! sensor reads something physical.
//!
//! ```text
//!   ρ·V · dW/dt = ρ·V·(ACH/3600)·(W_out − W) + G_occupants + G_base − R_cooling
//! ```
//!
//! (EnergyPlus's zone air moisture balance with infiltration as the only
//! air exchange, Engineering Reference §"Moisture predictor-corrector";
//! ASHRAE Handbook—Fundamentals ch. 1 for the psychrometrics.) With inputs
//! held over a step the solution is exact: W relaxes exponentially towards
//! `W_out + (G − R)/(ρ·V·ACH/3600)` at rate ACH/3600.
//!
//! - Saturation vapour pressure over water: the Magnus form of Alduchov and
//!   Eskridge (1996), `610.94·exp(17.625·T/(T + 243.04))` Pa (error below
//!   0.4 % from −40 to 50 °C).
//! - Humidity ratio `W = 0.621945·p_w/(p − p_w)` (ASHRAE eq. 20).
//! - Moisture from people: 0.05 kg/h each at rest (ASHRAE Fundamentals
//!   ch. 18, latent 45 W ≈ 0.065 kg/h; a resting average); household
//!   activity (cooking, showers, plants) 0.15 kg/h, in the range of
//!   BS 5250's 7–14 kg/day for a family home.
//! - Cooling removes moisture with the coil's latent share: a sensible heat
//!   ratio of 0.75 (a typical residential DX coil at rated conditions) and
//!   the latent heat of vaporisation 2.45 MJ/kg.

use crate::params::{ParamError, check_range};

/// Air density [kg/m³] near 20 °C at sea level.
pub const AIR_DENSITY_KG_M3: f64 = 1.2;
/// Latent heat of vaporisation of water [J/kg] near 20 °C.
pub const LATENT_HEAT_J_KG: f64 = 2.45e6;

/// Saturation vapour pressure over water [Pa] at `t_c` (Alduchov–Eskridge).
pub fn saturation_pa(t_c: f64) -> f64 {
    610.94 * (17.625 * t_c / (t_c + 243.04)).exp()
}

/// Humidity ratio [kg/kg] of air with dew point `dew_c` at `pressure_pa`.
pub fn ratio_from_dew_point(dew_c: f64, pressure_pa: f64) -> f64 {
    let pw = saturation_pa(dew_c);
    0.621_945 * pw / (pressure_pa - pw).max(1.0)
}

/// Relative humidity [%] of air at `t_c` with humidity ratio `w`, capped at
/// 100 (the excess would condense).
pub fn relative_humidity_pct(t_c: f64, w: f64, pressure_pa: f64) -> f64 {
    let pw = pressure_pa * w / (0.621_945 + w);
    (100.0 * pw / saturation_pa(t_c)).clamp(0.0, 100.0)
}

/// A home's moisture parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoistureParams {
    /// Air volume [m³].
    pub volume_m3: f64,
    /// Infiltration [air changes per hour].
    pub ach: f64,
    /// Moisture per occupant at home [kg/h].
    pub per_occupant_kg_h: f64,
    /// Household moisture when anyone is home [kg/h].
    pub household_kg_h: f64,
    /// Sensible heat ratio of the cooling coil.
    pub cooling_shr: f64,
}

impl Default for MoistureParams {
    /// A 300 m³ home at 0.5 ACH (a typical existing house; ASHRAE 62.2
    /// background infiltration).
    fn default() -> Self {
        MoistureParams {
            volume_m3: 300.0,
            ach: 0.5,
            per_occupant_kg_h: 0.05,
            household_kg_h: 0.15,
            cooling_shr: 0.75,
        }
    }
}

impl MoistureParams {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_range("volume_m3", self.volume_m3, 20.0, 5_000.0)?;
        check_range("ach", self.ach, 0.05, 5.0)?;
        check_range("per_occupant_kg_h", self.per_occupant_kg_h, 0.0, 0.5)?;
        check_range("household_kg_h", self.household_kg_h, 0.0, 2.0)?;
        check_range("cooling_shr", self.cooling_shr, 0.5, 1.0)
    }
}

/// The indoor humidity ratio, stepped exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moisture {
    params: MoistureParams,
    w: f64,
}

impl Moisture {
    /// Starts at humidity ratio `w0` [kg/kg].
    pub fn new(params: MoistureParams, w0: f64) -> Result<Moisture, ParamError> {
        params.validate()?;
        check_range("w0", w0, 0.0, 0.05)?;
        Ok(Moisture { params, w: w0 })
    }

    /// The humidity ratio [kg/kg].
    pub fn ratio(&self) -> f64 {
        self.w
    }

    /// Advances `dt_s` seconds with the outdoor ratio `w_out`, `occupants`
    /// at home and the coil's sensible cooling `cooling_w` (positive while
    /// cooling; 0 otherwise).
    pub fn step(&mut self, dt_s: f64, w_out: f64, occupants: u32, cooling_w: f64) {
        self.step_ventilated(dt_s, w_out, occupants, cooling_w, 0.0);
    }

    /// [`Moisture::step`] with `extra_ach` air changes per hour on top of
    /// the infiltration (open windows; 0 to 20).
    pub fn step_ventilated(
        &mut self,
        dt_s: f64,
        w_out: f64,
        occupants: u32,
        cooling_w: f64,
        extra_ach: f64,
    ) {
        debug_assert!((0.0..=20.0).contains(&extra_ach), "{extra_ach}");
        let p = &self.params;
        let mass = AIR_DENSITY_KG_M3 * p.volume_m3;
        let k = (p.ach + extra_ach) / 3_600.0; // 1/s
        let gains_kg_s = if occupants > 0 {
            (f64::from(occupants) * p.per_occupant_kg_h + p.household_kg_h) / 3_600.0
        } else {
            0.0
        };
        let latent_w = cooling_w.max(0.0) * (1.0 - p.cooling_shr) / p.cooling_shr;
        let removal_kg_s = latent_w / LATENT_HEAT_J_KG;
        let target = (w_out + (gains_kg_s - removal_kg_s) / (mass * k)).max(0.0);
        self.w = target + (self.w - target) * (-k * dt_s).exp();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psychrometrics_match_ashrae_tables() {
        // ASHRAE Fundamentals Table 3: p_ws(20 °C) = 2339 Pa, p_ws(0 °C) =
        // 611.2 Pa, p_ws(35 °C) = 5629 Pa; the Magnus form within 0.4 %.
        for (t, table) in [(20.0, 2339.0), (0.0, 611.2), (35.0, 5629.0)] {
            let rel = (saturation_pa(t) - table) / table;
            assert!(rel.abs() < 0.004, "{t} °C: {}", saturation_pa(t));
        }
        // W at a 20 °C dew point and 101325 Pa: 0.01475 kg/kg (table: 14.75 g/kg).
        assert!((ratio_from_dew_point(20.0, 101_325.0) - 0.014_75).abs() < 1e-4);
        // That air warmed to 24 °C: RH = 2339/2985 = 78 %, as the dew point
        // form gives.
        let w = ratio_from_dew_point(20.0, 101_325.0);
        assert!((relative_humidity_pct(24.0, w, 101_325.0) - 78.4).abs() < 0.5);
        let by_dew = crate::weather::relative_humidity_pct(24.0, 20.0);
        assert!((relative_humidity_pct(24.0, w, 101_325.0) - by_dew).abs() < 1e-9);
    }

    #[test]
    fn an_empty_home_relaxes_to_outdoor_air_at_the_infiltration_rate() {
        let mut m = Moisture::new(MoistureParams::default(), 0.004).unwrap();
        // One time constant (1/ACH = 2 h): 63 % of the way to 0.010.
        m.step(7_200.0, 0.010, 0, 0.0);
        let want = 0.010 - 0.006 * (-1.0f64).exp();
        assert!((m.ratio() - want).abs() < 1e-12, "{}", m.ratio());
        // Open windows adding 1.5 h⁻¹ (2 h⁻¹ in all): the same 63 % in 30 min.
        let mut m = Moisture::new(MoistureParams::default(), 0.004).unwrap();
        m.step_ventilated(1_800.0, 0.010, 0, 0.0, 1.5);
        assert!((m.ratio() - want).abs() < 1e-12, "{}", m.ratio());
    }

    #[test]
    fn occupants_add_and_cooling_removes_moisture() {
        let p = MoistureParams::default();
        let steady = |occupants, cooling_w| {
            let mut m = Moisture::new(p, 0.008).unwrap();
            for _ in 0..200 {
                m.step(3_600.0, 0.008, occupants, cooling_w);
            }
            m.ratio()
        };
        // Two people + household = 0.25 kg/h into 360 kg of air exchanged
        // 0.5 times an hour: +0.25/180 = +0.00139 kg/kg.
        assert!((steady(2, 0.0) - (0.008 + 0.25 / 180.0)).abs() < 1e-9);
        // 6 kW of sensible cooling at SHR 0.75: 2 kW latent = 2.94 kg/h removed.
        let dry = steady(2, 6_000.0);
        assert!(dry < 0.008, "{dry}");
        assert!(dry >= 0.0);
    }
}
