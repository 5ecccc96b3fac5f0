//! Range and consistency checks of a parsed scenario. Model parameters are
//! checked by the models' own `validate` (one source for each range); their
//! error names become scenario keys by prefixing the section.

use std::collections::{BTreeMap, HashSet};

use sim_core::SimDuration;

use crate::load::{Invalid, range};
use crate::schema::{ClimateSource, Scenario};

/// Checks a predictor's specification (a model file must load).
fn predictor(key: &str, spec: &str) -> Result<(), Invalid> {
    api_server::predictors::by_spec(spec)
        .map(|_| ())
        .map_err(|e| bad(key, e.to_string()))
}

fn bad(key: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        key: key.into(),
        message: message.into(),
    }
}

fn within(key: &str, v: f64, lo: f64, hi: f64) -> Result<(), Invalid> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(range(key, v, &format!("{lo} to {hi}")))
    }
}

fn duration_within(
    key: &str,
    d: SimDuration,
    lo: SimDuration,
    hi: SimDuration,
) -> Result<(), Invalid> {
    if (lo..=hi).contains(&d) {
        Ok(())
    } else {
        Err(range(key, format!("\"{d}\""), &format!("{lo} to {hi}")))
    }
}

/// Weights: known names, finite and non-negative, not all zero.
/// The weighted names at `key` as the typed choices `all` (named by
/// `name`), in the map's order: each name known, each weight 0 to 10⁶, at
/// least one positive.
pub(crate) fn weights<T: Copy>(
    key: &str,
    w: &BTreeMap<String, f64>,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<Vec<(T, f64)>, Invalid> {
    let mut typed = Vec::with_capacity(w.len());
    for (given, v) in w {
        let Some(&choice) = all.iter().find(|&&c| name(c) == given) else {
            let names: Vec<&str> = all.iter().map(|&c| name(c)).collect();
            return Err(bad(
                format!("{key}.{given}"),
                format!("unknown name; expected one of {}", names.join(", ")),
            ));
        };
        within(&format!("{key}.{given}"), *v, 0.0, 1e6)?;
        typed.push((choice, *v));
    }
    if w.values().sum::<f64>() <= 0.0 {
        return Err(bad(key, "needs at least one positive weight"));
    }
    Ok(typed)
}

fn unique<'a>(key: &str, names: impl Iterator<Item = &'a str>) -> Result<(), Invalid> {
    let mut seen = HashSet::new();
    for (i, n) in names.enumerate() {
        if n.is_empty() {
            return Err(bad(format!("{key}[{i}].name"), "must not be empty"));
        }
        if !seen.insert(n) {
            return Err(bad(
                format!("{key}[{i}].name"),
                format!("{n:?} is used twice"),
            ));
        }
    }
    Ok(())
}

/// Checks every key's range and the references between sections.
pub(crate) fn validate(s: &Scenario) -> Result<(), Invalid> {
    let name_ok = !s.name.is_empty()
        && s.name.len() <= 64
        && s.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        return Err(bad(
            "name",
            format!(
                "{:?} must be 1 to 64 letters, digits, '-', '_' or '.' (it names the run folder)",
                s.name
            ),
        ));
    }
    duration_within(
        "duration",
        s.duration.0,
        SimDuration::from_hours(1),
        SimDuration::from_days(400),
    )?;
    fleet(s)?;
    climate(s)?;
    faults(s)?;
    sensing(s)?;
    accounts(s)?;
    firmware(s)?;
    ota(s)?;
    network(s)?;
    let sv = &s.server;
    within("server.alert_threshold", sv.alert_threshold, 0.0, 1.0)?;
    predictor("server.predictor", &sv.predictor)?;
    for (i, name) in sv.shadow_predictors.iter().enumerate() {
        predictor(&format!("server.shadow_predictors[{i}]"), name)?;
    }
    duration_within(
        "server.model_timeout",
        sv.model_timeout.0,
        SimDuration::from_secs(1),
        SimDuration::from_hours(1),
    )?;
    if sv.shadow_predictors.len() > 16 {
        return Err(bad(
            "server.shadow_predictors",
            format!(
                "{} shadow predictors is out of range: expected at most 16",
                sv.shadow_predictors.len()
            ),
        ));
    }
    within(
        "server.telemetry_retention",
        sv.telemetry_retention as f64,
        100.0,
        1e6,
    )?;
    duration_within(
        "technicians.delay",
        s.technicians.delay.0,
        SimDuration::ZERO,
        SimDuration::from_days(60),
    )?;
    duration_within(
        "outputs.home_sample",
        s.outputs.home_sample.0,
        SimDuration::from_mins(1),
        SimDuration::from_days(1),
    )?;
    evaluation(s)?;
    gates(s)
}

fn evaluation(s: &Scenario) -> Result<(), Invalid> {
    let e = &s.evaluation;
    duration_within(
        "evaluation.window_min",
        e.window_min.0,
        SimDuration::ZERO,
        SimDuration::from_days(365),
    )?;
    duration_within(
        "evaluation.window_max",
        e.window_max.0,
        e.window_min.0.max(SimDuration::from_hours(1)),
        SimDuration::from_days(365),
    )?;
    within(
        "evaluation.cost_missed_failure",
        e.cost_missed_failure,
        0.0,
        1e9,
    )?;
    within("evaluation.cost_truck_roll", e.cost_truck_roll, 0.0, 1e9)?;
    duration_within(
        "evaluation.episode_span",
        e.episode_span.0,
        SimDuration::from_mins(1),
        SimDuration::from_days(365),
    )?;
    within(
        "evaluation.bootstrap",
        f64::from(e.bootstrap),
        0.0,
        100_000.0,
    )
}

fn gates(s: &Scenario) -> Result<(), Invalid> {
    let g = &s.gates;
    let shares = [
        ("gates.min_recall", g.min_recall),
        ("gates.min_precision", g.min_precision),
        ("gates.min_telemetry_delivery", g.min_telemetry_delivery),
        ("gates.min_ota_success", g.min_ota_success),
        ("gates.max_rate_limited_share", g.max_rate_limited_share),
    ];
    for (key, v) in shares {
        if let Some(v) = v {
            within(key, v, 0.0, 1.0)?;
        }
    }
    let amounts = [
        (
            "gates.max_false_alarms_per_device_year",
            g.max_false_alarms_per_device_year,
        ),
        ("gates.min_lead_time_days", g.min_lead_time_days),
        ("gates.max_comfort_kh_per_home", g.max_comfort_kh_per_home),
    ];
    for (key, v) in amounts {
        if let Some(v) = v {
            within(key, v, 0.0, 1e6)?;
        }
    }
    if let Some(d) = g.max_p99_delivery_delay {
        duration_within(
            "gates.max_p99_delivery_delay",
            d.0,
            SimDuration::ZERO,
            SimDuration::from_days(30),
        )?;
    }
    Ok(())
}

fn fleet(s: &Scenario) -> Result<(), Invalid> {
    let f = &s.fleet;
    within("fleet.homes", f64::from(f.homes), 1.0, 100_000.0)?;
    // The weights of archetypes, equipment and lifestyles, and the mode.
    crate::fleet::FleetMix::new(f)?;
    within("fleet.parameter_spread", f.parameter_spread, 0.0, 0.5)?;
    within("fleet.hub_share", f.hub_share, 0.0, 1.0)?;
    within("fleet.initial_indoor_c", f.initial_indoor_c, 5.0, 35.0)?;
    within("fleet.setpoint_f", f.setpoint_f as f64, 40.0, 90.0)?;
    if f.locations.is_empty() {
        return Err(bad("fleet.locations", "needs at least one location"));
    }
    unique(
        "fleet.locations",
        f.locations.iter().map(|l| l.name.as_str()),
    )?;
    for (i, l) in f.locations.iter().enumerate() {
        let k = |field: &str| format!("fleet.locations[{i}].{field}");
        within(&k("latitude"), l.latitude, -90.0, 90.0)?;
        within(&k("longitude"), l.longitude, -180.0, 180.0)?;
        within(&k("elevation_m"), l.elevation_m, -500.0, 9_000.0)?;
        within(&k("weight"), l.weight, 0.0, 1e6)?;
        if jiff::tz::TimeZone::get(&l.timezone).is_err() {
            return Err(bad(
                k("timezone"),
                format!(
                    "{:?} is not an IANA time zone such as America/Chicago",
                    l.timezone
                ),
            ));
        }
    }
    for (i, l) in f.locations.iter().enumerate() {
        if let Some(path) = &l.epw_file
            && !path.is_file()
        {
            return Err(bad(
                format!("fleet.locations[{i}].epw_file"),
                format!("{} does not exist or is not a file", path.display()),
            ));
        }
    }
    if f.locations.iter().map(|l| l.weight).sum::<f64>() <= 0.0 {
        return Err(bad("fleet.locations", "needs at least one positive weight"));
    }
    Ok(())
}

fn climate(s: &Scenario) -> Result<(), Invalid> {
    let c = &s.climate;
    match c.source {
        ClimateSource::Epw => {
            let path = c.epw_file.as_ref().ok_or_else(|| {
                bad(
                    "climate.epw_file",
                    "is required when climate.source = \"epw\"",
                )
            })?;
            if !path.is_file() {
                return Err(bad(
                    "climate.epw_file",
                    format!("{} does not exist or is not a file", path.display()),
                ));
            }
        }
        ClimateSource::Synthetic => {
            if c.epw_file.is_some() {
                return Err(bad(
                    "climate.epw_file",
                    "is only read with climate.source = \"epw\"",
                ));
            }
        }
    }
    crate::build::synthetic_climate(s)
        .validate()
        .map_err(|e| range(format!("climate.{}", e.name), e.value, &e.range))?;
    for (i, e) in c.events.iter().enumerate() {
        let k = |field: &str| format!("climate.events[{i}].{field}");
        within(&k("delta_c"), e.delta_c, 0.1, 30.0)?;
        duration_within(
            &k("duration"),
            e.duration.0,
            SimDuration::from_hours(1),
            SimDuration::from_days(90),
        )?;
        if e.ramp.0.saturating_mul(2) > e.duration.0 {
            return Err(bad(
                k("ramp"),
                format!("\"{}\" is longer than half the event's duration", e.ramp.0),
            ));
        }
    }
    Ok(())
}

fn faults(s: &Scenario) -> Result<(), Invalid> {
    crate::build::degradation(s)
        .validate()
        .map_err(|e| range(format!("faults.{}", e.name), e.value, &e.range))?;
    let b = &s.faults.bearing;
    within(
        "faults.bearing.vibration_spread",
        b.vibration_spread,
        0.0,
        1.5,
    )?;
    within("faults.bearing.rate_spread", b.rate_spread, 0.0, 1.5)?;
    within("faults.bearing.impact_spread", b.impact_spread, 0.0, 1.5)?;
    within(
        "faults.bearing.resonance_spread",
        b.resonance_spread,
        0.0,
        0.5,
    )?;
    within("faults.bearing.damping_spread", b.damping_spread, 0.0, 1.5)
}

fn sensing(s: &Scenario) -> Result<(), Invalid> {
    use crate::schema::SensorFaultKind as K;
    for (i, f) in s.sensing.faults.iter().enumerate() {
        let k = |field: &str| format!("sensing.faults[{i}].{field}");
        within(&k("incidence"), f.incidence, 0.0, 1.0)?;
        within(&k("onset_max_days"), f.onset_max_days, 0.0, 3_650.0)?;
        within(&k("probability"), f.probability, 0.0, 1.0)?;
        within(&k("per_day"), f.per_day, -0.5, 0.5)?;
        if let Some(g) = f.gain {
            if !matches!(f.kind, K::AccelerometerAttenuated | K::ClampMiswired) {
                return Err(bad(
                    k("gain"),
                    format!(
                        "applies to accelerometer_attenuated and clamp_miswired, not {}",
                        f.kind.as_str()
                    ),
                ));
            }
            within(&k("gain"), g, 0.0, 10.0)?;
        }
    }
    Ok(())
}

fn accounts(s: &Scenario) -> Result<(), Invalid> {
    if s.accounts.is_empty() {
        return Err(bad("accounts", "needs at least one account"));
    }
    unique("accounts", s.accounts.iter().map(|a| a.name.as_str()))?;
    for (i, a) in s.accounts.iter().enumerate() {
        let k = |field: &str| format!("accounts[{i}].{field}");
        within(&k("share"), a.share, 0.0, 1e6)?;
        within(&k("price_per_kwh"), a.price_per_kwh, 0.0, 10.0)?;
        if let Some(n) = a.homes_per_account {
            within(&k("homes_per_account"), f64::from(n), 1.0, 100_000.0)?;
        }
        unique(
            &k("integrations"),
            a.integrations.iter().map(|g| g.name.as_str()),
        )?;
        for (j, g) in a.integrations.iter().enumerate() {
            let k = |field: &str| format!("accounts[{i}].integrations[{j}].{field}");
            if let Some(n) = g.devices {
                within(&k("devices"), f64::from(n), 1.0, 100_000.0)?;
            }
            if let Some(p) = g.poll_status {
                duration_within(
                    &k("poll_status"),
                    p.0,
                    SimDuration::from_secs(1),
                    SimDuration::from_days(1),
                )?;
            }
            if let Some(p) = g.optimize {
                duration_within(
                    &k("optimize"),
                    p.0,
                    SimDuration::from_mins(15),
                    SimDuration::from_days(7),
                )?;
            }
            within(
                &k("setpoint_changes_per_day"),
                g.setpoint_changes_per_day,
                0.0,
                96.0,
            )?;
            for (e, event) in g.webhooks.iter().enumerate() {
                if !api_server::webhooks::EVENT_TYPES.contains(&event.as_str()) {
                    return Err(bad(
                        format!("accounts[{i}].integrations[{j}].webhooks[{e}]"),
                        format!(
                            "{event:?} is not an event type; expected one of {}",
                            api_server::webhooks::EVENT_TYPES.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    if s.accounts.iter().map(|a| a.share).sum::<f64>() <= 0.0 {
        return Err(bad("accounts", "needs at least one positive share"));
    }
    for (i, a) in s.automations.iter().enumerate() {
        let k = |field: &str| format!("automations[{i}].{field}");
        if !s.accounts.iter().any(|acc| acc.name == a.account) {
            return Err(bad(
                k("account"),
                format!("{:?} is not one of the scenario's accounts", a.account),
            ));
        }
        if let Some(n) = a.devices {
            within(&k("devices"), f64::from(n), 1.0, 100_000.0)?;
        }
        automation(k("automation"), a)?;
    }
    Ok(())
}

fn firmware(s: &Scenario) -> Result<(), Invalid> {
    crate::build::firmware_config(
        s,
        device_firmware::control::Equipment::HeatPump { aux_heat: true },
    )
    .validate()
    .map_err(|e| range(format!("firmware.{}", e.field), e.value, e.range))?;
    within(
        "firmware.reporting_interval_s",
        s.firmware.reporting_interval_s as f64,
        60.0,
        3_600.0,
    )?;
    if api_server::ota::semver(&s.firmware.version).is_none() {
        return Err(bad(
            "firmware.version",
            format!(
                "{:?} is not a semantic version such as 1.0.0",
                s.firmware.version
            ),
        ));
    }
    Ok(())
}

fn ota(s: &Scenario) -> Result<(), Invalid> {
    let current = api_server::ota::semver(&s.firmware.version);
    let mut seen = HashSet::new();
    for (i, r) in s.ota.releases.iter().enumerate() {
        let k = |field: &str| format!("ota.releases[{i}].{field}");
        let v = api_server::ota::semver(&r.version).ok_or_else(|| {
            bad(
                k("version"),
                format!("{:?} is not a semantic version such as 1.1.0", r.version),
            )
        })?;
        if Some(v) <= current {
            return Err(bad(
                k("version"),
                format!(
                    "{} is not newer than firmware.version {}",
                    r.version, s.firmware.version
                ),
            ));
        }
        if !seen.insert(v) {
            return Err(bad(
                k("version"),
                format!("{} is released twice", r.version),
            ));
        }
        let at = r.publish_at.resolve(s.start.0);
        if at < s.start.0 || at > s.start.0 + s.duration.0 {
            return Err(bad(k("publish_at"), "must fall within the run"));
        }
        within(&k("image_kib"), f64::from(r.image_kib), 1.0, 16_384.0)?;
        let increasing = r.batches.windows(2).all(|w| w[0] < w[1]);
        if r.batches.is_empty()
            || !increasing
            || r.batches[0] <= 0.0
            || r.batches.last() != Some(&100.0)
        {
            return Err(bad(
                k("batches"),
                "must be cumulative percentages rising from above 0 to exactly 100, e.g. [5, 25, 100]",
            ));
        }
        within(&k("advance_success_rate"), r.advance_success_rate, 0.0, 1.0)?;
        within(&k("halt_failure_rate"), r.halt_failure_rate, 0.0, 1.0)?;
        within(&k("min_reports"), f64::from(r.min_reports), 1.0, 1e6)?;
        within(&k("failure_rate"), r.failure_rate, 0.0, 1.0)?;
    }
    Ok(())
}

fn network(s: &Scenario) -> Result<(), Invalid> {
    let n = &s.network;
    within(
        "network.min_latency_ms",
        n.min_latency_ms as f64,
        1.0,
        10_000.0,
    )?;
    within(
        "network.median_latency_ms",
        n.median_latency_ms as f64,
        n.min_latency_ms as f64,
        30_000.0,
    )?;
    within(
        "network.p99_latency_ms",
        n.p99_latency_ms as f64,
        n.median_latency_ms as f64,
        60_000.0,
    )?;
    within("network.error_rate", n.error_rate, 0.0, 0.5)?;
    for (i, o) in n.outages.iter().enumerate() {
        let k = |field: &str| format!("network.outages[{i}].{field}");
        duration_within(
            &k("duration"),
            o.duration.0,
            SimDuration::from_secs(1),
            SimDuration::from_days(30),
        )?;
        within(&k("share"), o.share, 0.0, 1.0)?;
        let at = o.start.resolve(s.start.0);
        if at < s.start.0 || at > s.start.0 + s.duration.0 {
            return Err(bad(k("start"), "must fall within the run"));
        }
    }
    Ok(())
}

/// The id that stands for each chosen device in an automation.
pub const DEVICE_PLACEHOLDER: &str = "$device";

/// Replaces [`DEVICE_PLACEHOLDER`] in every string of `v` with `device_id`.
pub fn for_device(v: &serde_json::Value, device_id: &str) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(s.replace(DEVICE_PLACEHOLDER, device_id)),
        Value::Array(items) => items.iter().map(|i| for_device(i, device_id)).collect(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), for_device(v, device_id)))
            .collect(),
        other => other.clone(),
    }
}

/// Checks the automation at `key` with the server's own rules, on a
/// scratch account whose one device stands for `$device`.
fn automation(key: String, a: &crate::schema::AutomationSpec) -> Result<(), Invalid> {
    let body = for_device(&a.automation, "device-1");
    let map = body
        .as_object()
        .ok_or_else(|| bad(&key, "must be a table in the Automations API's shape"))?;
    let state = api_server::AppState::new(
        std::sync::Arc::new(sim_core::VirtualClock::new(sim_core::SimTime::EPOCH)),
        0,
        api_server::ServerConfig::default(),
    );
    let account = state.create_account("check");
    state
        .add_device(account, "device-1", "check-key", false)
        .map_err(|e| bad(&key, e.to_string()))?;
    state
        .with_account(account, |acc| {
            api_server::automations::check_definition(acc, map)
        })
        .unwrap_or(Ok(()))
        .map_err(|e| bad(key, e.message))
}
