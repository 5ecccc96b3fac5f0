//! The home's heat balance: a two-node (2R2C) air + mass model in the
//! equivalent thermal parameter (ETP) form of GridLAB-D's residential
//! `house_e` model (Taylor, Chassin et al., PNNL; after Sonderegger 1978):
//!
//! ```text
//!   C_a·dT_a/dt = UA·(T_o − T_a) + H_m·(T_m − T_a) + Q_a
//!   C_m·dT_m/dt = H_m·(T_a − T_m)                  + Q_m
//!
//!   T_o ──UA──┬── T_a ──H_m──┬── T_m
//!             │  (C_a)       │  (C_m)
//!            Q_a            Q_m
//! ```
//!
//! `T_a` is the indoor air (and the thermostat's sensor), `T_m` the building
//! mass (walls, floors, furniture); `Q_a` carries the HVAC output and the
//! share of solar and internal gains released straight into the air, `Q_m` the
//! share absorbed by the mass.
//!
//! In state-space form `ẋ = A·x + B·u` with `x = [T_a, T_m]` and
//! `u = [T_o, Q_a, Q_m]`. Inputs are held constant over a step (zero-order
//! hold), which makes the discrete step exact for any length `h`:
//! `x(h) = A_d·x(0) + B_d·u`, `A_d = e^{Ah}`, `B_d = ∫₀ʰ e^{As} ds·B`. The
//! step also returns the exact time integral of the state,
//! `∫₀ʰ x dt = G·x(0) + K·B·u` with `G = ∫₀ʰ e^{As} ds` and
//! `K = ∫₀ʰ∫₀ᵗ e^{As} ds dt`, from which mean temperatures (comfort) and the
//! energy balance follow. All three come from one matrix exponential (Van
//! Loan 1978, "Computing integrals involving the matrix exponential"):
//!
//! ```text
//!   exp( [A I 0; 0 0 I; 0 0 0]·h ) = [A_d G K; 0 I hI; 0 0 I]
//! ```
//!
//! computed with nalgebra's Padé approximant and cached per step length (a
//! fleet uses few distinct step lengths: control ticks, sensor periods).

use nalgebra::{Matrix2, Matrix2x3, Matrix6, Vector2, Vector3};
use sim_core::SimDuration;

use crate::params::{ParamError, check_range};

/// Joules per kilowatt-hour.
pub const J_PER_KWH: f64 = 3.6e6;

/// Parameters of the 2R2C model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThermalParams {
    /// Envelope conductance, air ↔ outdoors (conduction + infiltration)
    /// [W/K], 10 to 5,000.
    pub ua_w_per_k: f64,
    /// Heat capacity of the indoor air and light furnishings [J/K],
    /// 0.01 to 20 kWh/K.
    pub c_air_j_per_k: f64,
    /// Heat capacity of the building mass [J/K], 0.1 to 200 kWh/K.
    pub c_mass_j_per_k: f64,
    /// Conductance between air and mass (interior surfaces) [W/K], 0 to
    /// 100,000; 0 decouples the mass, leaving a one-node (1R1C) model.
    pub h_mass_w_per_k: f64,
}

impl ThermalParams {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_range("ua_w_per_k", self.ua_w_per_k, 10.0, 5_000.0)?;
        check_range(
            "c_air_kwh_per_k",
            self.c_air_j_per_k / J_PER_KWH,
            0.01,
            20.0,
        )?;
        check_range(
            "c_mass_kwh_per_k",
            self.c_mass_j_per_k / J_PER_KWH,
            0.1,
            200.0,
        )?;
        check_range("h_mass_w_per_k", self.h_mass_w_per_k, 0.0, 100_000.0)
    }
}

/// The two temperatures of the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThermalState {
    /// Indoor air [°C].
    pub air_c: f64,
    /// Building mass [°C].
    pub mass_c: f64,
}

/// Inputs held constant over one step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ThermalInputs {
    /// Outdoor dry bulb [°C].
    pub outdoor_c: f64,
    /// Heat into the air node [W] (HVAC output, negative when cooling, plus
    /// the air share of the gains).
    pub q_air_w: f64,
    /// Heat into the mass node [W].
    pub q_mass_w: f64,
}

/// What happened during one step, from the exact integrals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepSummary {
    /// Mean indoor air temperature over the step [°C].
    pub mean_air_c: f64,
    /// Mean mass temperature over the step [°C].
    pub mean_mass_c: f64,
    /// Heat lost through the envelope, UA·∫(T_a − T_o) dt [J] (negative:
    /// gained).
    pub envelope_loss_j: f64,
}

#[derive(Debug, Clone, Copy)]
struct Discrete {
    dt_ms: u64,
    ad: Matrix2<f64>,
    bd: Matrix2x3<f64>,
    g: Matrix2<f64>,
    kb: Matrix2x3<f64>,
}

/// Cached step lengths per model; a miss replaces the oldest entry.
const CACHE_SLOTS: usize = 8;

/// A home's thermal model: parameters, the continuous system and a cache of
/// discretisations.
#[derive(Debug, Clone)]
pub struct ThermalModel {
    params: ThermalParams,
    a: Matrix2<f64>,
    b: Matrix2x3<f64>,
    cache: [Option<Discrete>; CACHE_SLOTS],
    next_slot: usize,
}

impl ThermalModel {
    /// A model with validated `params`.
    pub fn new(params: ThermalParams) -> Result<ThermalModel, ParamError> {
        params.validate()?;
        let ThermalParams {
            ua_w_per_k: ua,
            c_air_j_per_k: ca,
            c_mass_j_per_k: cm,
            h_mass_w_per_k: hm,
        } = params;
        let a = Matrix2::new(-(ua + hm) / ca, hm / ca, hm / cm, -hm / cm);
        let b = Matrix2x3::new(ua / ca, 1.0 / ca, 0.0, 0.0, 0.0, 1.0 / cm);
        Ok(ThermalModel {
            params,
            a,
            b,
            cache: [None; CACHE_SLOTS],
            next_slot: 0,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &ThermalParams {
        &self.params
    }

    /// The two time constants of the free-floating home [s], fast then slow:
    /// `−1/λ` for the eigenvalues λ of A (real and negative for any RC
    /// network).
    pub fn time_constants_s(&self) -> (f64, f64) {
        let tr = self.a.trace();
        let det = self.a.determinant();
        let disc = (tr * tr / 4.0 - det).max(0.0).sqrt();
        let tau = |l: f64| if l < 0.0 { -1.0 / l } else { f64::INFINITY };
        (tau(tr / 2.0 - disc), tau(tr / 2.0 + disc))
    }

    /// The steady state for constant inputs [°C]: where the free-floating
    /// home settles. (With `h_mass_w_per_k = 0` the mass has none unless
    /// `q_mass_w` is zero; its temperature is then reported as the air's.)
    pub fn steady_state(&self, u: &ThermalInputs) -> ThermalState {
        let p = &self.params;
        // Mass: T_m = T_a + Q_m/H_m; air: UA(T_o − T_a) + Q_a + Q_m = 0.
        let air_c = u.outdoor_c + (u.q_air_w + u.q_mass_w) / p.ua_w_per_k;
        let mass_offset = if p.h_mass_w_per_k > 0.0 {
            u.q_mass_w / p.h_mass_w_per_k
        } else {
            0.0
        };
        ThermalState {
            air_c,
            mass_c: air_c + mass_offset,
        }
    }

    fn discrete(&mut self, dt: SimDuration) -> Discrete {
        let dt_ms = dt.as_millis();
        if let Some(d) = self.cache.iter().flatten().find(|d| d.dt_ms == dt_ms) {
            return *d;
        }
        let h = dt.as_secs_f64();
        let mut m = Matrix6::<f64>::zeros();
        m.fixed_view_mut::<2, 2>(0, 0).copy_from(&(self.a * h));
        m.fixed_view_mut::<2, 2>(0, 2)
            .copy_from(&(Matrix2::identity() * h));
        m.fixed_view_mut::<2, 2>(2, 4)
            .copy_from(&(Matrix2::identity() * h));
        let e = m.exp();
        let ad: Matrix2<f64> = e.fixed_view::<2, 2>(0, 0).into_owned();
        let g: Matrix2<f64> = e.fixed_view::<2, 2>(0, 2).into_owned();
        let k: Matrix2<f64> = e.fixed_view::<2, 2>(0, 4).into_owned();
        let d = Discrete {
            dt_ms,
            ad,
            bd: g * self.b,
            g,
            kb: k * self.b,
        };
        self.cache[self.next_slot] = Some(d);
        self.next_slot = (self.next_slot + 1) % CACHE_SLOTS;
        d
    }

    /// Advances `state` by `dt` with inputs `u` held constant, exactly.
    pub fn step(
        &mut self,
        state: &mut ThermalState,
        u: &ThermalInputs,
        dt: SimDuration,
    ) -> StepSummary {
        if dt.is_zero() {
            return StepSummary {
                mean_air_c: state.air_c,
                mean_mass_c: state.mass_c,
                envelope_loss_j: 0.0,
            };
        }
        let d = self.discrete(dt);
        let x0 = Vector2::new(state.air_c, state.mass_c);
        let uv = Vector3::new(u.outdoor_c, u.q_air_w, u.q_mass_w);
        let x1 = d.ad * x0 + d.bd * uv;
        let integral = d.g * x0 + d.kb * uv;
        let h = dt.as_secs_f64();
        state.air_c = x1[0];
        state.mass_c = x1[1];
        debug_assert!(state.air_c.is_finite() && state.mass_c.is_finite());
        StepSummary {
            mean_air_c: integral[0] / h,
            mean_mass_c: integral[1] / h,
            envelope_loss_j: self.params.ua_w_per_k * (integral[0] - u.outdoor_c * h),
        }
    }

    /// Heat stored relative to 0 °C [J]: `C_a·T_a + C_m·T_m`.
    pub fn stored_heat_j(&self, s: &ThermalState) -> f64 {
        self.params.c_air_j_per_k * s.air_c + self.params.c_mass_j_per_k * s.mass_c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn design_example() -> ThermalParams {
        // DESIGN.md's example home.
        ThermalParams {
            ua_w_per_k: 300.0,
            c_air_j_per_k: 0.56 * J_PER_KWH,
            c_mass_j_per_k: 2.3 * J_PER_KWH,
            h_mass_w_per_k: 4_800.0,
        }
    }

    #[test]
    fn one_node_step_response_is_the_analytic_exponential() {
        // H_m = 0 decouples the mass: the air node is a 1R1C circuit,
        // T(t) = T_∞ + (T_0 − T_∞)·e^{−t·UA/C_a}, T_∞ = T_o + Q/UA.
        let p = ThermalParams {
            h_mass_w_per_k: 0.0,
            ..design_example()
        };
        let mut m = ThermalModel::new(p).unwrap();
        let (ua, ca) = (p.ua_w_per_k, p.c_air_j_per_k);
        let (t_o, q, t0) = (-5.0, 2_000.0, 20.0);
        let t_inf = t_o + q / ua;
        for secs in [1u64, 60, 600, 3_600, 6 * 3_600, 3 * 86_400] {
            let mut s = ThermalState {
                air_c: t0,
                mass_c: t0,
            };
            m.step(
                &mut s,
                &ThermalInputs {
                    outdoor_c: t_o,
                    q_air_w: q,
                    q_mass_w: 0.0,
                },
                SimDuration::from_secs(secs),
            );
            let analytic = t_inf + (t0 - t_inf) * (-(secs as f64) * ua / ca).exp();
            let rel = ((s.air_c - analytic) / analytic).abs();
            assert!(
                rel < 1e-6,
                "{secs} s: {} vs {analytic} (rel {rel:e})",
                s.air_c
            );
            assert_eq!(s.mass_c, t0, "the decoupled mass does not move");
        }
        let (fast, slow) = m.time_constants_s();
        assert!((fast - ca / ua).abs() / (ca / ua) < 1e-12);
        assert_eq!(slow, f64::INFINITY);
    }

    /// Classic RK4 on the continuous system with a small step.
    fn rk4(
        m: &ThermalModel,
        x: Vector2<f64>,
        u: &ThermalInputs,
        h: f64,
        steps: usize,
    ) -> Vector2<f64> {
        let uv = Vector3::new(u.outdoor_c, u.q_air_w, u.q_mass_w);
        let f = |x: Vector2<f64>| m.a * x + m.b * uv;
        let dt = h / steps as f64;
        let mut x = x;
        for _ in 0..steps {
            let k1 = f(x);
            let k2 = f(x + k1 * (dt / 2.0));
            let k3 = f(x + k2 * (dt / 2.0));
            let k4 = f(x + k3 * dt);
            x += (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (dt / 6.0);
        }
        x
    }

    #[test]
    fn exact_step_equals_fine_integration() {
        let mut m = ThermalModel::new(design_example()).unwrap();
        let u = ThermalInputs {
            outdoor_c: -8.0,
            q_air_w: 9_000.0,
            q_mass_w: 400.0,
        };
        for secs in [1u64, 37, 300, 3_600, 4 * 3_600] {
            let mut s = ThermalState {
                air_c: 18.0,
                mass_c: 16.0,
            };
            let reference = rk4(
                &m,
                Vector2::new(18.0, 16.0),
                &u,
                secs as f64,
                (secs as usize * 10).max(100),
            );
            m.step(&mut s, &u, SimDuration::from_secs(secs));
            assert!((s.air_c - reference[0]).abs() < 1e-6, "{secs} s air");
            assert!((s.mass_c - reference[1]).abs() < 1e-6, "{secs} s mass");
        }
    }

    #[test]
    fn many_small_steps_equal_one_large_step() {
        let mut m = ThermalModel::new(design_example()).unwrap();
        let u = ThermalInputs {
            outdoor_c: 30.0,
            q_air_w: -7_000.0,
            q_mass_w: 300.0,
        };
        let mut a = ThermalState {
            air_c: 26.0,
            mass_c: 27.0,
        };
        let mut b = a;
        m.step(&mut a, &u, SimDuration::from_hours(2));
        for _ in 0..7_200 {
            m.step(&mut b, &u, SimDuration::from_secs(1));
        }
        assert!((a.air_c - b.air_c).abs() < 1e-9);
        assert!((a.mass_c - b.mass_c).abs() < 1e-9);
    }

    #[test]
    fn energy_balance_closes_over_a_day() {
        // Varying inputs and irregular steps for 24 h: heat in − envelope loss
        // = change in stored heat.
        let mut m = ThermalModel::new(design_example()).unwrap();
        let mut s = ThermalState {
            air_c: 21.0,
            mass_c: 20.0,
        };
        let stored0 = m.stored_heat_j(&s);
        let (mut heat_in, mut loss) = (0.0, 0.0);
        let mut elapsed = 0u64;
        let mut i = 0u64;
        while elapsed < 86_400_000 {
            let dt_ms = (17_000 + (i * 7_919) % 600_000).min(86_400_000 - elapsed);
            let u = ThermalInputs {
                outdoor_c: 5.0 * ((i as f64) * 0.1).sin(),
                q_air_w: if i.is_multiple_of(3) { 8_000.0 } else { 150.0 },
                q_mass_w: 250.0 * ((i as f64) * 0.05).cos().max(0.0),
            };
            let dt = SimDuration::from_millis(dt_ms);
            let summary = m.step(&mut s, &u, dt);
            heat_in += (u.q_air_w + u.q_mass_w) * dt.as_secs_f64();
            loss += summary.envelope_loss_j;
            elapsed += dt_ms;
            i += 1;
        }
        let stored = m.stored_heat_j(&s) - stored0;
        let imbalance = (heat_in - loss - stored).abs();
        assert!(
            imbalance / heat_in.abs() < 1e-3,
            "imbalance {imbalance} J of {heat_in} J"
        );
        // It is in fact exact to rounding.
        assert!(imbalance / heat_in.abs() < 1e-9);
    }

    #[test]
    fn time_constants_and_steady_state() {
        let m = ThermalModel::new(design_example()).unwrap();
        let (fast, slow) = m.time_constants_s();
        assert!(fast < slow);
        // Slow mode ≈ (C_a + C_m)/UA = 9.5 h for DESIGN.md's example home.
        let approx = (0.56 + 2.3) * J_PER_KWH / 300.0;
        assert!((slow - approx).abs() / approx < 0.05, "{slow} vs {approx}");
        let u = ThermalInputs {
            outdoor_c: 0.0,
            q_air_w: 6_000.0,
            q_mass_w: 0.0,
        };
        let ss = m.steady_state(&u);
        assert!((ss.air_c - 20.0).abs() < 1e-12);
        let mut mm = m.clone();
        let mut s = ThermalState {
            air_c: 5.0,
            mass_c: 5.0,
        };
        mm.step(&mut s, &u, SimDuration::from_days(30));
        assert!((s.air_c - 20.0).abs() < 1e-6);
    }

    #[test]
    fn the_cache_holds_recent_step_lengths_and_stays_correct() {
        let mut m = ThermalModel::new(design_example()).unwrap();
        let u = ThermalInputs {
            outdoor_c: 0.0,
            q_air_w: 1_000.0,
            q_mass_w: 0.0,
        };
        let mut fresh = m.clone();
        let mut a = ThermalState {
            air_c: 20.0,
            mass_c: 20.0,
        };
        // Cycle through more step lengths than slots, twice.
        for round in 0..2 {
            for secs in 1..=(CACHE_SLOTS as u64 + 3) {
                let mut b = a;
                m.step(&mut a, &u, SimDuration::from_secs(secs));
                fresh = ThermalModel::new(*fresh.params()).unwrap();
                fresh.step(&mut b, &u, SimDuration::from_secs(secs));
                assert_eq!(a, b, "round {round}, {secs} s");
            }
        }
        assert_eq!(m.cache.iter().flatten().count(), CACHE_SLOTS);
    }

    #[test]
    fn bad_parameters_are_named() {
        let bad = ThermalParams {
            ua_w_per_k: -1.0,
            ..design_example()
        };
        assert_eq!(ThermalModel::new(bad).unwrap_err().name, "ua_w_per_k");
    }

    proptest! {
        /// Without heat inputs, the home relaxes towards the outdoor
        /// temperature and never overshoots it (the model is monotone).
        #[test]
        fn free_floating_homes_relax_without_overshoot(
            t_air in -20.0f64..40.0, t_mass in -20.0f64..40.0, t_out in -30.0f64..45.0,
            secs in 1u64..200_000,
        ) {
            let mut m = ThermalModel::new(design_example()).unwrap();
            let mut s = ThermalState { air_c: t_air, mass_c: t_mass };
            let u = ThermalInputs { outdoor_c: t_out, q_air_w: 0.0, q_mass_w: 0.0 };
            let lo = t_air.min(t_mass).min(t_out) - 1e-9;
            let hi = t_air.max(t_mass).max(t_out) + 1e-9;
            let summary = m.step(&mut s, &u, SimDuration::from_secs(secs));
            prop_assert!(s.air_c >= lo && s.air_c <= hi);
            prop_assert!(s.mass_c >= lo && s.mass_c <= hi);
            prop_assert!(summary.mean_air_c >= lo && summary.mean_air_c <= hi);
        }
    }
}
