//! `POST /v1/climate/optimize` (scope `comfort:write`): a setpoint plan for
//! the next hours that trades energy cost against comfort, from the
//! occupancy the server has observed and a weather forecast.
//!
//! Request: `{"device_id", "horizon_hours"?: 1–48 (24), "objective"?:
//! comfort|balanced|savings (balanced), "comfort"?: {"heat_f", "cool_f"}
//! (integers 40–90, heat ≤ cool; default the thermostat's setpoint for its
//! mode, else 68/76), "outdoor_forecast_f"?: [hourly °F, −60–140, at least
//! horizon_hours values], "home"?: {"ua_w_per_k": 50–2000,
//! "capacitance_kwh_per_k": 0.5–20}, "apply"?: bool}`. Without
//! `outdoor_forecast_f` the server's forecast source is used (the
//! simulator installs one; `serve` has none), for the device's location.
//! With `apply`, the first hour's setpoint is sent to the device like
//! `POST /thermostat/{id}/setpoint`. 409 when the thermostat is off.
//!
//! **Signals**
//! - Occupancy: the device's `motion_detected` and `button_press` events
//!   (`POST /v1/events`, kept per device for 8 weeks), as the share of
//!   observed weeks with activity in each local hour of the week, shrunk
//!   towards a prior profile with a weight of two weeks. The prior is a
//!   typical residential week in the spirit of the Building America House
//!   Simulation Protocols (NREL, Wilson et al. 2014): home at night and in
//!   the evening (0.95), mostly away on weekday working hours (0.25),
//!   transitions at 07–08 and 17–18 (0.7), weekends 0.85 (0.6 at 10–16).
//! - Weather: hourly outdoor temperature.
//! - Price: the account's tariff (`GET /v1/energy`), peak window included.
//!
//! **Model** — a single-zone 1R1C home (the first-order simplification of
//! the 2R2C model the simulator runs; defaults UA = 300 W/K and C = 2.86
//! kWh/K, DESIGN.md's archetype, τ = C/UA ≈ 9.5 h). In each hour the home
//! floats towards the outdoor temperature with the exact first-order decay
//! until it would cross the setpoint, where the equipment holds it; the
//! heat delivered is the balance `C·ΔT + UA·(T̄ − T_out)·1 h` (cooling
//! symmetric), the electricity that over the COP. COPs follow AHRI 210/240
//! rating points of a typical heat pump, linear in outdoor temperature:
//! heating 2.3 at 17 °F and 3.5 at 47 °F, cooling 3.5 at 95 °F and 4.0 at
//! 82 °F (EER 12 and 13.6), clamped to 1.5–4.5 and 2–6. Internal and solar
//! gains are left out (conservative). Discomfort is BOPTEST's measure
//! (Blum et al. 2021) in °F: occupancy × degree-hours of the hour's mean
//! indoor temperature below the heating or above the cooling target, priced
//! at a weight per objective (comfort 2.0, balanced 0.5, savings 0.2 per
//! °F·h, in the tariff's currency: holding 70 °F at 35 °F outdoors costs
//! about 0.29 USD an hour, so "balanced" lets the home coast only while
//! occupancy is well below one). Heating hours (auto mode: outdoor below
//! the middle of the band) use setpoints 55 °F…heat target, cooling hours
//! cool target…85 °F.
//!
//! **Optimisation**: dynamic programming over the indoor temperature (a
//! 0.25 °F grid, hours × 201 states × up to 51 setpoints) backwards from a
//! terminal value (what restoring the target would cost after the
//! horizon, so the plan does not coast off its end), then a
//! forward pass from the home's latest temperature reading (else its
//! setpoint), minimising energy cost plus discomfort. The answer prices the
//! baseline (the targets held all the time) with the same model.

use std::collections::VecDeque;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::StatusCode;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use sim_core::{SimDuration, SimTime};

use crate::aurra::authorize;
use crate::error::{ApiError, Family, Kind};
use crate::http_util::{Authz, Fields, json_object, respond};
use crate::state::{AppState, Device};
use crate::thermostat::Mode;
use crate::time::{Now, rfc3339};

const F: Family = Family::Aurra;

/// A weather forecast source (the simulator's weather; none under `serve`).
pub trait Forecast: Send + Sync + std::fmt::Debug {
    /// Hourly outdoor dry-bulb temperatures [°C] for `hours` hours from
    /// `from` at (`latitude`, `longitude`), or `None` if unknown there.
    fn outdoor_c(
        &self,
        latitude: f64,
        longitude: f64,
        from: SimTime,
        hours: usize,
    ) -> Option<Vec<f64>>;
}

/// Activity events kept per device (8 weeks at a few per hour).
pub const ACTIVITY_RETENTION: usize = 4_096;
/// How far back activity counts.
pub const ACTIVITY_WINDOW: SimDuration = SimDuration::from_days(56);

/// Records an occupant's activity at a device.
pub(crate) fn note_activity(d: &mut Device, at: SimTime) {
    if d.activity.len() >= ACTIVITY_RETENTION {
        d.activity.pop_front();
    }
    d.activity.push_back(at);
    debug_assert!(d.activity.len() <= ACTIVITY_RETENTION);
}

/// The prior occupancy of a local hour (0–23) on a weekday (0 = Monday).
pub fn prior_occupancy(hour: u32, weekday: u8) -> f64 {
    if weekday >= 5 {
        return if (10..16).contains(&hour) { 0.6 } else { 0.85 };
    }
    match hour {
        7 | 17 => 0.7,
        8..=16 => 0.25,
        _ => 0.95,
    }
}

/// Occupancy per hour of the week (index = weekday·24 + hour), learned from
/// `activity` up to `now` in `tz`; also returns the weeks observed.
pub fn occupancy_profile(
    activity: &VecDeque<SimTime>,
    now: SimTime,
    tz: &TimeZone,
) -> ([f64; 168], f64) {
    const PRIOR_WEEKS: f64 = 2.0;
    let since = SimTime::from_millis(now.as_millis() - ACTIVITY_WINDOW.as_millis() as i64);
    let recent: Vec<SimTime> = activity
        .iter()
        .copied()
        .filter(|t| *t >= since && *t <= now)
        .collect();
    let weeks = match recent.first() {
        Some(first) => {
            (now.saturating_duration_since(*first).as_secs_f64() / (7.0 * 86_400.0)).max(1.0)
        }
        None => 0.0,
    };
    // Distinct (week, hour-of-week) hits.
    let mut hits = [0.0f64; 168];
    let mut seen = std::collections::HashSet::new();
    for t in &recent {
        let (hour, weekday) = local_hour(*t, tz);
        let slot = weekday as usize * 24 + hour as usize;
        let week = now.saturating_duration_since(*t).as_millis() / (7 * 86_400_000);
        if seen.insert((week, slot)) {
            hits[slot] += 1.0;
        }
    }
    let mut p = [0.0; 168];
    for (slot, v) in p.iter_mut().enumerate() {
        let prior = prior_occupancy((slot % 24) as u32, (slot / 24) as u8);
        *v = ((hits[slot] + PRIOR_WEEKS * prior) / (weeks + PRIOR_WEEKS)).clamp(0.0, 1.0);
    }
    (p, weeks)
}

fn local_hour(t: SimTime, tz: &TimeZone) -> (u32, u8) {
    match t.to_timestamp() {
        Some(ts) => {
            let dt = tz.to_datetime(ts);
            (dt.hour() as u32, dt.weekday().to_monday_zero_offset() as u8)
        }
        None => (0, 0),
    }
}

/// Heating COP at outdoor `t_f` (AHRI 210/240 points 17 °F → 2.3, 47 °F → 3.5).
pub fn cop_heat(t_f: f64) -> f64 {
    (2.3 + (3.5 - 2.3) * (t_f - 17.0) / 30.0).clamp(1.5, 4.5)
}

/// Cooling COP at outdoor `t_f` (95 °F → 3.5, 82 °F → 4.0).
pub fn cop_cool(t_f: f64) -> f64 {
    (3.5 + (4.0 - 3.5) * (95.0 - t_f) / 13.0).clamp(2.0, 6.0)
}

/// One hour of the problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hour {
    /// Outdoor temperature [°F].
    pub outdoor_f: f64,
    /// Probability someone is home.
    pub occupancy: f64,
    /// Price per kWh.
    pub price: f64,
    /// Heating (else cooling) this hour.
    pub heating: bool,
}

/// The home and preferences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Problem {
    /// UA [W/K].
    pub ua_w_per_k: f64,
    /// Thermal capacitance [kWh/K].
    pub capacitance_kwh_per_k: f64,
    /// Heating target [°F].
    pub heat_f: i64,
    /// Cooling target [°F].
    pub cool_f: i64,
    /// Comfort weight [currency per occupied °F·h outside the targets].
    pub weight: f64,
    /// The indoor temperature now [°F].
    pub indoor_f: f64,
}

/// Energy, cost and discomfort of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    /// HVAC electricity [kWh].
    pub energy_kwh: f64,
    /// Its cost.
    pub cost: f64,
    /// Expected occupied degree-hours outside the targets [°F·h].
    pub discomfort_fh: f64,
}

/// One hour's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    end_f: f64,
    energy_kwh: f64,
    discomfort_fh: f64,
}

/// Lowest heating setback [°F].
pub const SETBACK_MIN_F: i64 = 55;
/// Highest cooling setup [°F].
pub const SETUP_MAX_F: i64 = 85;
const LO: i64 = 40;
const HI: i64 = 90;
/// State grid of the indoor temperature [°F].
const GRID_STEP: f64 = 0.25;
const GRID: usize = ((HI - LO) as f64 / GRID_STEP) as usize + 1;

impl Problem {
    fn setpoints(&self, h: &Hour) -> std::ops::RangeInclusive<i64> {
        if h.heating {
            SETBACK_MIN_F.min(self.heat_f)..=self.heat_f
        } else {
            self.cool_f..=SETUP_MAX_F.max(self.cool_f)
        }
    }

    /// The hour from indoor `t0` with setpoint `s`: the home floats towards
    /// the outdoor temperature with τ = C/UA (exact 1R1C decay) until it
    /// would cross the setpoint, where the equipment holds it; the energy is
    /// the heat balance `C·ΔT + UA·(T̄ − T_out)·1 h` over the COP.
    fn step(&self, h: &Hour, t0: f64, s: i64) -> Step {
        let ua = self.ua_w_per_k / 1_000.0 * 5.0 / 9.0; // kW/°F
        let c = self.capacitance_kwh_per_k * 5.0 / 9.0; // kWh/°F
        let decay = (-ua / c).exp(); // one hour
        let free = h.outdoor_f + (t0 - h.outdoor_f) * decay;
        let s = s as f64;
        let needs = if h.heating { free < s } else { free > s };
        let (end, thermal) = if needs {
            let mean = (t0 + s) / 2.0;
            let q = c * (s - t0) + ua * (mean - h.outdoor_f);
            (s, if h.heating { q.max(0.0) } else { (-q).max(0.0) })
        } else {
            (free, 0.0)
        };
        let cop = if h.heating {
            cop_heat(h.outdoor_f)
        } else {
            cop_cool(h.outdoor_f)
        };
        let mean = (t0 + end) / 2.0;
        let deficit = if h.heating {
            (self.heat_f as f64 - mean).max(0.0)
        } else {
            (mean - self.cool_f as f64).max(0.0)
        };
        Step {
            end_f: end,
            energy_kwh: thermal / cop,
            discomfort_fh: h.occupancy * deficit,
        }
    }

    fn cost(&self, h: &Hour, st: &Step) -> f64 {
        st.energy_kwh * h.price + self.weight * st.discomfort_fh
    }

    /// Totals of following `plan` from the current indoor temperature, and
    /// the indoor temperature at the end of each hour.
    pub fn simulate(&self, hours: &[Hour], plan: &[i64]) -> (Totals, Vec<f64>) {
        let mut t = Totals::default();
        let mut indoor = self.indoor_f;
        let mut path = Vec::with_capacity(plan.len());
        for (h, &s) in hours.iter().zip(plan) {
            let st = self.step(h, indoor, s);
            t.energy_kwh += st.energy_kwh;
            t.cost += st.energy_kwh * h.price;
            t.discomfort_fh += st.discomfort_fh;
            indoor = st.end_f;
            path.push(indoor);
        }
        (t, path)
    }

    /// The targets held all the time.
    pub fn baseline(&self, hours: &[Hour]) -> Vec<i64> {
        hours
            .iter()
            .map(|h| if h.heating { self.heat_f } else { self.cool_f })
            .collect()
    }

    /// The cost-optimal plan: backward dynamic programming over the indoor
    /// temperature (a 0.25 °F grid, values interpolated linearly between
    /// grid points), then a forward pass from the current temperature.
    pub fn optimize(&self, hours: &[Hour]) -> Vec<i64> {
        let n = hours.len();
        // values[k][g]: the least cost from hour k on, starting at grid g.
        let mut values = vec![vec![0.0f64; GRID]; n + 1];
        // Beyond the horizon, heat stored (or missing) is worth what
        // restoring the target would cost in the last hour.
        if let Some(last) = hours.last() {
            let c = self.capacitance_kwh_per_k * 5.0 / 9.0;
            for (g, v) in values[n].iter_mut().enumerate() {
                let t = LO as f64 + g as f64 * GRID_STEP;
                *v = if last.heating {
                    c * (self.heat_f as f64 - t).max(0.0) / cop_heat(last.outdoor_f)
                } else {
                    c * (t - self.cool_f as f64).max(0.0) / cop_cool(last.outdoor_f)
                } * last.price;
            }
        }
        let at = |v: &[f64], t: f64| {
            let x = ((t - LO as f64) / GRID_STEP).clamp(0.0, (GRID - 1) as f64);
            let i = (x.floor() as usize).min(GRID - 2);
            let frac = x - i as f64;
            v[i] * (1.0 - frac) + v[i + 1] * frac
        };
        for k in (0..n).rev() {
            let (head, tail) = values.split_at_mut(k + 1);
            let next = &tail[0];
            let h = &hours[k];
            for (g, v) in head[k].iter_mut().enumerate() {
                let t0 = LO as f64 + g as f64 * GRID_STEP;
                *v = self
                    .setpoints(h)
                    .map(|s| {
                        let st = self.step(h, t0, s);
                        self.cost(h, &st) + at(next, st.end_f)
                    })
                    .fold(f64::INFINITY, f64::min);
            }
        }
        let mut indoor = self.indoor_f;
        let mut plan = Vec::with_capacity(n);
        for (k, h) in hours.iter().enumerate() {
            let mut best = (f64::INFINITY, *self.setpoints(h).start());
            for s in self.setpoints(h) {
                let st = self.step(h, indoor, s);
                let c = self.cost(h, &st) + at(&values[k + 1], st.end_f);
                // Ties go to the setpoint nearest the target.
                let nearer = if h.heating { s > best.1 } else { s < best.1 };
                if c < best.0 - 1e-12 || ((c - best.0).abs() <= 1e-12 && nearer) {
                    best = (c, s);
                }
            }
            plan.push(best.1);
            indoor = self.step(h, indoor, best.1).end_f;
        }
        plan
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(F, Kind::BadRequest, message)
}

fn totals_json(t: &Totals) -> Value {
    let r = |x: f64, p: i32| (x * 10f64.powi(p)).round() / 10f64.powi(p);
    json!({"energy_kwh": r(t.energy_kwh, 3), "cost": r(t.cost, 4), "discomfort_fh": r(t.discomfort_fh, 2)})
}

/// `POST /v1/climate/optimize`.
pub(crate) async fn post_optimize(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &["comfort:write"])?;
    let body = json_object(F, body)?;
    let f = Fields::new(F, &body);
    f.only(&[
        "device_id",
        "horizon_hours",
        "objective",
        "comfort",
        "outdoor_forecast_f",
        "home",
        "apply",
    ])?;
    let device_id = f.string("device_id", 128)?.to_owned();
    let horizon = if body.contains_key("horizon_hours") {
        f.integer_in("horizon_hours", 1, 48)? as usize
    } else {
        24
    };
    let objective = if body.contains_key("objective") {
        f.one_of("objective", &["comfort", "balanced", "savings"])?
    } else {
        "balanced"
    };
    let weight = match objective {
        "comfort" => 2.0,
        "savings" => 0.2,
        _ => 0.5,
    };
    let mut comfort = (None, None);
    if let Some(c) = body.get("comfort") {
        let map = c
            .as_object()
            .ok_or_else(|| f.bad("comfort", "must be an object"))?;
        let cf = Fields {
            family: F,
            map,
            prefix: "comfort.".into(),
        };
        cf.only(&["heat_f", "cool_f"])?;
        if map.contains_key("heat_f") {
            comfort.0 = Some(cf.integer_in("heat_f", 40, 90)?);
        }
        if map.contains_key("cool_f") {
            comfort.1 = Some(cf.integer_in("cool_f", 40, 90)?);
        }
    }
    let mut home = (300.0, 2.86);
    if let Some(h) = body.get("home") {
        let map = h
            .as_object()
            .ok_or_else(|| f.bad("home", "must be an object"))?;
        let hf = Fields {
            family: F,
            map,
            prefix: "home.".into(),
        };
        hf.only(&["ua_w_per_k", "capacitance_kwh_per_k"])?;
        if map.contains_key("ua_w_per_k") {
            home.0 = hf.number_in("ua_w_per_k", 50.0, 2_000.0)?;
        }
        if map.contains_key("capacitance_kwh_per_k") {
            home.1 = hf.number_in("capacitance_kwh_per_k", 0.5, 20.0)?;
        }
    }
    let forecast_f = match body.get("outdoor_forecast_f") {
        None => None,
        Some(v) => {
            let list = v
                .as_array()
                .ok_or_else(|| f.bad("outdoor_forecast_f", "must be an array of hourly °F"))?;
            if list.len() < horizon {
                return Err(f.bad(
                    "outdoor_forecast_f",
                    &format!("must hold at least horizon_hours ({horizon}) values"),
                ));
            }
            let values: Option<Vec<f64>> = list
                .iter()
                .take(horizon)
                .map(|x| x.as_f64().filter(|x| (-60.0..=140.0).contains(x)))
                .collect();
            Some(values.ok_or_else(|| {
                f.bad(
                    "outdoor_forecast_f",
                    "values must be numbers from -60 to 140",
                )
            })?)
        }
    };
    let apply = match body.get("apply") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| f.bad("apply", "must be a boolean"))?,
    };

    let answer = state
        .with_account(caller.grant.account, |acc| {
            let d = acc.device(&device_id).ok_or_else(|| {
                ApiError::new(F, Kind::NotFound, format!("device_id {device_id} does not exist in your account."))
            })?;
            let mode = d.thermostat.mode;
            if mode == Mode::Off {
                return Err(ApiError::new(F, Kind::Conflict, format!("device_id {device_id} is off: there is nothing to optimise.")));
            }
            let setpoint = d.thermostat.setpoint_f;
            let heat_f = comfort.0.unwrap_or(if mode == Mode::Heat { setpoint } else { 68 });
            let cool_f = comfort.1.unwrap_or(if mode == Mode::Cool { setpoint } else { 76 });
            if heat_f > cool_f {
                return Err(bad("comfort.heat_f must not exceed comfort.cool_f"));
            }
            let (outdoor, weather) = match (&forecast_f, state.forecast(), &d.settings.location) {
                (Some(v), _, _) => (v.clone(), "request"),
                (None, Some(source), Some(l)) => {
                    let c = source
                        .outdoor_c(l.latitude, l.longitude, now, horizon)
                        .filter(|v| v.len() >= horizon)
                        .ok_or_else(|| bad("outdoor_forecast_f is required: the server has no forecast for this device's location"))?;
                    (c.iter().map(|c| c * 9.0 / 5.0 + 32.0).collect(), "server")
                }
                _ => return Err(bad("outdoor_forecast_f is required: the server has no forecast source or no location for this device")),
            };
            let tz = TimeZone::get(&d.settings.timezone).unwrap_or(TimeZone::UTC);
            let (profile, weeks) = occupancy_profile(&d.activity, now, &tz);
            let hours: Vec<Hour> = (0..horizon)
                .map(|k| {
                    let t = now + SimDuration::from_hours(k as u64);
                    let (hour, weekday) = local_hour(t, &tz);
                    let outdoor_f = outdoor[k];
                    let heating = match mode {
                        Mode::Heat => true,
                        Mode::Cool => false,
                        Mode::Auto | Mode::Off => outdoor_f < (heat_f + cool_f) as f64 / 2.0,
                    };
                    Hour {
                        outdoor_f,
                        occupancy: profile[weekday as usize * 24 + hour as usize],
                        price: acc.tariff.price_at(hour as i8),
                        heating,
                    }
                })
                .collect();
            // The home's temperature now: its latest reading, else the setpoint.
            let indoor_f = d
                .latest(crate::state::SensorType::Temperature)
                .map_or(setpoint as f64, |c| c * 9.0 / 5.0 + 32.0)
                .clamp(LO as f64, HI as f64);
            let problem = Problem {
                ua_w_per_k: home.0,
                capacitance_kwh_per_k: home.1,
                heat_f,
                cool_f,
                weight,
                indoor_f,
            };
            let plan = problem.optimize(&hours);
            let baseline_plan = problem.baseline(&hours);
            let (expected, path) = problem.simulate(&hours, &plan);
            let (baseline, _) = problem.simulate(&hours, &baseline_plan);
            let savings = if baseline.cost > 0.0 {
                ((baseline.cost - expected.cost) / baseline.cost * 1_000.0).round() / 10.0
            } else {
                0.0
            };
            let steps: Vec<Value> = hours
                .iter()
                .zip(plan.iter().zip(&path))
                .enumerate()
                .map(|(k, (h, (s, indoor)))| {
                    json!({
                        "start": rfc3339(now + SimDuration::from_hours(k as u64)), "setpoint_f": s,
                        "indoor_f": (indoor * 10.0).round() / 10.0,
                        "hvac": if h.heating { "heat" } else { "cool" },
                        "occupancy": (h.occupancy * 100.0).round() / 100.0,
                        "outdoor_f": (h.outdoor_f * 10.0).round() / 10.0, "price_per_kwh": h.price,
                    })
                })
                .collect();
            let applied = if apply {
                crate::thermostat::set_setpoint(acc, &device_id, plan[0], mode, now)
                    .map(|id| json!({"command_id": id, "setpoint_f": plan[0]}))
            } else {
                None
            };
            Ok(json!({
                "device_id": device_id, "mode": mode.as_str(), "objective": objective, "horizon_hours": horizon,
                "generated_at": rfc3339(now), "comfort": {"heat_f": heat_f, "cool_f": cool_f},
                "plan": steps, "expected": totals_json(&expected), "baseline": totals_json(&baseline),
                "savings_percent": savings, "currency": acc.tariff.currency,
                "signals": {"weather": weather, "occupancy_weeks_observed": (weeks * 10.0).round() / 10.0},
                "applied": applied,
            }))
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(StatusCode::OK, answer, Some(caller.rate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(weight: f64) -> Problem {
        Problem {
            ua_w_per_k: 300.0,
            capacitance_kwh_per_k: 2.86,
            heat_f: 70,
            cool_f: 76,
            weight,
            indoor_f: 70.0,
        }
    }

    fn heating_day(occupancy: impl Fn(usize) -> f64) -> Vec<Hour> {
        (0..24)
            .map(|k| Hour {
                outdoor_f: 35.0,
                occupancy: occupancy(k),
                price: 0.15,
                heating: true,
            })
            .collect()
    }

    #[test]
    fn an_occupied_home_holds_the_target() {
        let p = problem(0.5);
        let hours = heating_day(|_| 1.0);
        assert_eq!(p.optimize(&hours), vec![70; 24]);
    }

    #[test]
    fn a_long_absence_gets_a_setback_and_a_recovery_before_return() {
        // Away 08:00–18:00 (certainly), home otherwise.
        let p = problem(0.5);
        let hours = heating_day(|k| if (8..18).contains(&k) { 0.0 } else { 1.0 });
        let plan = p.optimize(&hours);
        assert_eq!(plan[..8], [70; 8]);
        assert_eq!(plan[17..], [70; 7], "recovered in the last hour away");
        assert!(plan[8..17].iter().all(|s| *s < 70), "{plan:?}");
        let (opt, path) = p.simulate(&hours, &plan);
        let (base, _) = p.simulate(&hours, &p.baseline(&hours));
        assert!(opt.cost < 0.95 * base.cost, "{opt:?} vs {base:?}");
        assert!(opt.discomfort_fh < 1e-9, "back at 70 by 18:00: {path:?}");
        assert!(path[12] < 62.0, "the home coasted down: {path:?}");
    }

    #[test]
    fn coasting_follows_the_exact_first_order_decay() {
        // τ = C/UA = 2.86/0.3 = 9.533 h; from 70 °F towards 35 °F for 1 h.
        let p = problem(0.5);
        let h = heating_day(|_| 0.0)[0];
        let st = p.step(&h, 70.0, 55);
        let want = 35.0 + 35.0 * (-1.0f64 / (2.86 / 0.3)).exp();
        assert!((st.end_f - want).abs() < 1e-12, "{}", st.end_f);
        assert_eq!(st.energy_kwh, 0.0);
    }

    #[test]
    fn the_dynamic_programme_matches_brute_force() {
        let p = problem(0.5);
        let hours = heating_day(|k| [0.5, 0.1, 0.0, 0.9][k % 4])[..4].to_vec();
        let cost = |plan: &[i64]| {
            let (t, _) = p.simulate(&hours, plan);
            t.cost + p.weight * t.discomfort_fh
        };
        let mut best = f64::INFINITY;
        for a in 55..=70 {
            for b in 55..=70 {
                for c in 55..=70 {
                    for d in 55..=70 {
                        best = best.min(cost(&[a, b, c, d]));
                    }
                }
            }
        }
        let plan = p.optimize(&hours);
        assert!(
            cost(&plan) <= best * 1.001,
            "{plan:?}: {} vs {best}",
            cost(&plan)
        );
    }

    #[test]
    fn steady_heating_energy_is_ua_times_lift_over_cop() {
        // 300 W/K = 166.7 W/°F; 35 °F outside, 70 inside: 35 °F lift.
        // COP at 35 °F = 2.3 + 1.2 × 18/30 = 3.02. 24 h → 46.36 kWh.
        let p = problem(0.5);
        let hours = heating_day(|_| 1.0);
        let (t, _) = p.simulate(&hours, &[70; 24]);
        let want = 300.0 * 5.0 / 9.0 * 35.0 / 3.02 * 24.0 / 1_000.0;
        assert!((t.energy_kwh - want).abs() < 1e-9, "{}", t.energy_kwh);
        assert!((t.cost - want * 0.15).abs() < 1e-9);
    }

    #[test]
    fn cooling_plans_set_up_while_away_in_the_heat() {
        let mut p = problem(0.5);
        p.indoor_f = 76.0;
        let hours: Vec<Hour> = (0..24)
            .map(|k| Hour {
                outdoor_f: 95.0,
                occupancy: if (8..18).contains(&k) { 0.0 } else { 1.0 },
                price: 0.15,
                heating: false,
            })
            .collect();
        let plan = p.optimize(&hours);
        assert_eq!(plan[..8], [76; 8]);
        assert!(plan[8..17].iter().all(|s| *s > 76), "{plan:?}");
        assert_eq!(plan[17..], [76; 7]);
    }

    #[test]
    fn occupancy_is_learned_from_activity_with_a_prior() {
        let tz = TimeZone::UTC;
        // 2026-07-13 is a Monday. Activity at 12:00 on four Mondays.
        let now: SimTime = "2026-08-09T00:00:00Z".parse().unwrap();
        let activity: VecDeque<SimTime> = ["2026-07-13", "2026-07-20", "2026-07-27", "2026-08-03"]
            .iter()
            .map(|d| format!("{d}T12:10:00Z").parse().unwrap())
            .collect();
        let (p, weeks) = occupancy_profile(&activity, now, &tz);
        // From the first event (13 July 12:10) to now: 26.49 days.
        assert!(
            (weeks - (26.0 + 11.0 / 24.0 + 50.0 / 1_440.0) / 7.0).abs() < 1e-9,
            "{weeks}"
        );
        let monday_noon = p[12];
        // (4 + 2 × 0.25) / (3.93 + 2) ≈ 0.76.
        assert!((monday_noon - 4.5 / (weeks + 2.0)).abs() < 1e-9);
        // Tuesday noon saw nothing: below the prior.
        assert!(p[24 + 12] < 0.25);
        // Without activity, the prior.
        let (p, weeks) = occupancy_profile(&VecDeque::new(), now, &tz);
        assert_eq!(weeks, 0.0);
        assert_eq!(p[12], 0.25);
        assert_eq!(p[5 * 24 + 12], 0.6);
    }
}
