//! AURRA thermostat control (scope `comfort:write`): setpoints, Eco Mode and
//! schedules. Each change reaches the device as a `config_update` command
//! (see device-firmware's payload keys), which it picks up on its next poll.
//!
//! - `POST /v1/thermostat/{id}/setpoint` `{temperature: 40–90 (integer °F),
//!   mode: heat|cool|auto|off}` → 200, queues `{"setpoint": {…}}`.
//! - `POST /v1/thermostat/{id}/eco` `{enabled, heat_limit?, cool_limit?}`
//!   (limits integer °F 40–90, heat ≤ cool) → 200, queues `{"eco": {…}}`.
//! - `POST /v1/thermostat/{id}/schedule` `{name, blocks: [{label?, start,
//!   end, heat, cool, days}]}` (1–64 blocks, `HH:MM`, °F 40–90, heat ≤
//!   cool, days `mon`…`sun`) → 201; stored, not yet sent.
//! - `POST /v1/thermostat/{id}/schedule/sync` → 200, queues the stored
//!   schedule (404 if none), as the seed advises after bulk updates.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::aurra::authorize;
use crate::error::{ApiError, Family, Kind};
use crate::http_util::{Authz, Fields, is_hhmm, json_object, respond};
use crate::state::{Account, AppState, CommandKind};
use crate::time::{Now, rfc3339};
use sim_core::SimTime;

const F: Family = Family::Aurra;
const SCOPE: &[&str] = &["comfort:write"];
pub use api_core::thermostat::Mode;

/// The thermostat modes of the AURRA API (`mode` of setpoints, schedules and
/// automations' actions): the one list every check reads.
pub const MODES: [&str; 4] = Mode::NAMES;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn not_found(device_id: &str) -> ApiError {
    ApiError::new(
        F,
        Kind::NotFound,
        format!("device_id {device_id} does not exist in your account."),
    )
}

/// Validates a schedule body, naming the first bad field.
pub(crate) fn validate_schedule(body: &Map<String, Value>) -> Result<(), ApiError> {
    let f = Fields::new(F, body);
    f.only(&["name", "blocks"])?;
    f.string("name", 128)?;
    let blocks = f
        .required("blocks")?
        .as_array()
        .ok_or_else(|| f.bad("blocks", "must be an array"))?;
    if blocks.is_empty() || blocks.len() > 64 {
        return Err(f.bad("blocks", "must hold 1 to 64 blocks"));
    }
    for (i, b) in blocks.iter().enumerate() {
        let map = b
            .as_object()
            .ok_or_else(|| f.bad(&format!("blocks[{i}]"), "must be an object"))?;
        let bf = Fields {
            family: F,
            map,
            prefix: format!("blocks[{i}]."),
        };
        bf.only(&["label", "start", "end", "heat", "cool", "days"])?;
        bf.opt_string("label", 64)?;
        for key in ["start", "end"] {
            if !is_hhmm(bf.string(key, 5)?, key == "end") {
                return Err(bf.bad(key, "must be HH:MM"));
            }
        }
        let heat = bf.integer_in("heat", 40, 90)?;
        let cool = bf.integer_in("cool", 40, 90)?;
        if heat > cool {
            return Err(bf.bad("heat", "must not exceed cool"));
        }
        bf.list_of("days", &DAYS)?;
    }
    Ok(())
}

/// Sets a device's setpoint and mode (validated): queues the command,
/// records the state and emits `thermostat.temperature_change`. Returns the
/// command id, or `None` if the account has no such device.
pub(crate) fn set_setpoint(
    acc: &mut Account,
    device_id: &str,
    temperature: i64,
    mode: Mode,
    now: SimTime,
) -> Option<String> {
    let payload = json!({"setpoint": {"temperature": temperature, "mode": mode.as_str()}});
    let command_id = acc.enqueue_command(device_id, CommandKind::ConfigUpdate, payload, now)?;
    let old_temp = acc.device_mut(device_id).map(|d| {
        let old = d.thermostat.setpoint_f;
        d.thermostat.setpoint_f = temperature;
        d.thermostat.mode = mode;
        old
    });
    let data = json!({"device_id": device_id, "old_temp": old_temp, "new_temp": temperature, "mode": mode.as_str()});
    crate::webhooks::emit(acc, "thermostat.temperature_change", data, now);
    Some(command_id)
}

/// Sets a device's Eco Mode from `eco` (`enabled`, `heat_limit`?,
/// `cool_limit`?; validated): queues the command, records the state and
/// emits `eco.mode_changed`. Returns the command id, or `None` if the
/// account has no such device.
pub(crate) fn set_eco(
    acc: &mut Account,
    device_id: &str,
    eco: Value,
    now: SimTime,
) -> Option<String> {
    let enabled = eco["enabled"].as_bool().unwrap_or(false);
    let data = json!({"device_id": device_id, "enabled": enabled, "heat_limit": eco.get("heat_limit"), "cool_limit": eco.get("cool_limit")});
    let command_id = acc.enqueue_command(
        device_id,
        CommandKind::ConfigUpdate,
        json!({"eco": eco}),
        now,
    )?;
    if let Some(d) = acc.device_mut(device_id) {
        d.thermostat.eco_mode = enabled;
    }
    crate::webhooks::emit(acc, "eco.mode_changed", data, now);
    Some(command_id)
}

/// Authorizes, then runs `f` on the device in the caller's account.
fn on_device(
    state: &AppState,
    headers: &Authz,
    now: sim_core::SimTime,
    device_id: &str,
    f: impl FnOnce(&mut crate::state::Account) -> Result<Value, ApiError>,
) -> Result<(Value, crate::error::RateInfo), ApiError> {
    let caller = authorize(state, headers, now, SCOPE)?;
    let value = state
        .with_account(caller.grant.account, |acc| {
            if acc.device(device_id).is_none() {
                return Err(not_found(device_id));
            }
            f(acc)
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok((value, caller.rate))
}

/// `POST /v1/thermostat/{device_id}/setpoint`.
pub(crate) async fn post_setpoint(
    State(state): State<AppState>,
    Now(now): Now,
    Path(device_id): Path<String>,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (value, rate) = on_device(&state, &headers, now, &device_id, |acc| {
        let body = json_object(F, body)?;
        let f = Fields::new(F, &body);
        f.only(&["temperature", "mode"])?;
        let temperature = f.integer_in("temperature", 40, 90)?;
        let mode = f.parsed("mode", &MODES, Mode::parse)?;
        let command_id = set_setpoint(acc, &device_id, temperature, mode, now)
            .ok_or_else(|| not_found(&device_id))?;
        Ok(
            json!({"device_id": device_id, "temperature": temperature, "mode": mode.as_str(), "command_id": command_id, "timestamp": rfc3339(now)}),
        )
    })?;
    Ok(respond(StatusCode::OK, value, Some(rate)))
}

/// `POST /v1/thermostat/{device_id}/eco`.
pub(crate) async fn post_eco(
    State(state): State<AppState>,
    Now(now): Now,
    Path(device_id): Path<String>,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (value, rate) = on_device(&state, &headers, now, &device_id, |acc| {
        let body = json_object(F, body)?;
        let f = Fields::new(F, &body);
        f.only(&["enabled", "heat_limit", "cool_limit"])?;
        let enabled = f
            .required("enabled")?
            .as_bool()
            .ok_or_else(|| f.bad("enabled", "must be a boolean"))?;
        let mut eco = json!({"enabled": enabled});
        let mut limits = (None, None);
        for (key, slot) in [("heat_limit", &mut limits.0), ("cool_limit", &mut limits.1)] {
            if body.get(key).is_some_and(|v| !v.is_null()) {
                let v = f.integer_in(key, 40, 90)?;
                eco[key] = json!(v);
                *slot = Some(v);
            }
        }
        if let (Some(h), Some(c)) = limits
            && h > c
        {
            return Err(f.bad("heat_limit", "must not exceed cool_limit"));
        }
        let command_id =
            set_eco(acc, &device_id, eco.clone(), now).ok_or_else(|| not_found(&device_id))?;
        Ok(
            json!({"device_id": device_id, "eco": eco, "command_id": command_id, "timestamp": rfc3339(now)}),
        )
    })?;
    Ok(respond(StatusCode::OK, value, Some(rate)))
}

/// `POST /v1/thermostat/{device_id}/schedule`: stores the schedule.
pub(crate) async fn post_schedule(
    State(state): State<AppState>,
    Now(now): Now,
    Path(device_id): Path<String>,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (value, rate) = on_device(&state, &headers, now, &device_id, |acc| {
        let body = json_object(F, body)?;
        validate_schedule(&body)?;
        let schedule = Value::Object(body);
        let blocks = schedule["blocks"].as_array().map_or(0, Vec::len);
        let name = schedule["name"].clone();
        if let Some(d) = acc.device_mut(&device_id) {
            d.thermostat.schedule = Some(schedule);
        }
        Ok(
            json!({"device_id": device_id, "schedule_name": name, "blocks_count": blocks, "synced": false}),
        )
    })?;
    Ok(respond(StatusCode::CREATED, value, Some(rate)))
}

/// `POST /v1/thermostat/{device_id}/schedule/sync`: sends the stored
/// schedule to the device.
pub(crate) async fn post_schedule_sync(
    State(state): State<AppState>,
    Now(now): Now,
    Path(device_id): Path<String>,
    headers: Authz,
) -> Result<Response, ApiError> {
    let (value, rate) = on_device(&state, &headers, now, &device_id, |acc| {
        let schedule = acc
            .device(&device_id)
            .and_then(|d| d.thermostat.schedule.clone())
            .ok_or_else(|| {
                ApiError::new(
                    F,
                    Kind::NotFound,
                    format!("device_id {device_id} has no schedule to sync."),
                )
            })?;
        let command_id = acc
            .enqueue_command(
                &device_id,
                CommandKind::ConfigUpdate,
                json!({"schedule": schedule.clone()}),
                now,
            )
            .ok_or_else(|| not_found(&device_id))?;
        let data = json!({"device_id": device_id, "schedule_name": schedule["name"], "blocks_count": schedule["blocks"].as_array().map_or(0, Vec::len)});
        crate::webhooks::emit(acc, "schedule.updated", data, now);
        Ok(
            json!({"device_id": device_id, "synced": true, "command_id": command_id, "timestamp": rfc3339(now)}),
        )
    })?;
    Ok(respond(StatusCode::OK, value, Some(rate)))
}
