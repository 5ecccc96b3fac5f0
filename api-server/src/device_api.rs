//! The ClimaSense device API: devices authenticate with their API key
//! (`Authorization: Bearer <api_key>`, stored hashed) and are limited per
//! device and endpoint as the seed's table says (telemetry 60/min, settings
//! 10/min, pending commands 30/min, OTA check 10/min, downloads 5/h).
//!
//! Extensions fixed here (and in the OpenAPI spec): readings may carry `seq`
//! (the device's sequence number) and, from a hub, `sensor_id` (a Zigbee
//! sensor registered through it). Readings are range-checked per sensor type
//! (temperature −100–150 °C, humidity and battery 0–100 %, pressure 0–2000
//! hPa, power availability 0 or 1, signal −200–0 dBm, IAQ 0–500). A command
//! result is idempotent: the first report for a command is kept, repeats are
//! acknowledged. `POST /v1/events` (an extension, 60/min per device)
//! reports `button_press` and `motion_detected` events for automations.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};
use sim_core::{SimDuration, SimTime};

use crate::error::{ApiError, Family, Kind, LimitScope, RateInfo};
use crate::http_util::{Authz, Fields, bearer, body_bytes, json_object, respond, typed};
use crate::journal::Event;
use crate::state::{
    Account, AccountId, AppState, CommandResult, CommandStatus, LimitKey, Location, SensorType,
    StoredReading,
};
use crate::time::{Now, parse_utc, rfc3339};

const F: Family = Family::Device;

/// A device endpoint's limit: (name for `X-RateLimit-Endpoint`, requests, window).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EndpointLimit(
    pub(crate) &'static str,
    pub(crate) u32,
    pub(crate) SimDuration,
);

pub(crate) const TELEMETRY: EndpointLimit =
    EndpointLimit("telemetry", 60, SimDuration::from_mins(1));
pub(crate) const SETTINGS: EndpointLimit = EndpointLimit("settings", 10, SimDuration::from_mins(1));
pub(crate) const COMMANDS: EndpointLimit = EndpointLimit("commands", 30, SimDuration::from_mins(1));
/// Extension: device events, as many as telemetry.
pub(crate) const EVENTS: EndpointLimit = EndpointLimit("events", 60, SimDuration::from_mins(1));

/// Authenticates a device by its API key.
pub(crate) fn authenticate(
    state: &AppState,
    headers: &Authz,
) -> Result<(AccountId, u32), ApiError> {
    let key = bearer(headers)
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))?;
    state
        .device_for_key(key)
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))
}

/// Counts a request against a device endpoint's limit.
pub(crate) fn limit(
    acc: &mut Account,
    index: u32,
    now: SimTime,
    l: EndpointLimit,
) -> Result<RateInfo, ApiError> {
    let decision = acc
        .limiter
        .check(LimitKey::DeviceEndpoint(index, l.0), now, l.1, l.2);
    let rate = RateInfo {
        decision,
        scope: LimitScope::Endpoint(l.0),
        now,
    };
    if decision.allowed {
        Ok(rate)
    } else {
        Err(ApiError::rate_limited(F, rate))
    }
}

/// Runs `f` on the authenticated device's account, after its endpoint limit.
fn with_device<R>(
    state: &AppState,
    headers: &Authz,
    now: SimTime,
    l: Option<EndpointLimit>,
    f: impl FnOnce(&mut Account, usize, Option<RateInfo>) -> Result<R, ApiError>,
) -> Result<R, ApiError> {
    let (account, index) = authenticate(state, headers)?;
    state
        .with_account(account, |acc| {
            acc.seen(index as usize, now);
            let rate = l.map(|l| limit(acc, index, now, l)).transpose()?;
            f(acc, index as usize, rate)
        })
        .unwrap_or_else(|| {
            Err(ApiError::new(
                F,
                Kind::Unauthorized,
                "Invalid or missing API key",
            ))
        })
}

/// `POST /v1/telemetry`'s answer.
#[derive(serde::Serialize)]
struct Accepted {
    accepted: usize,
    timestamp: String,
}

/// `POST /v1/telemetry`'s body, parsed without copying strings.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TelemetryBody<'a> {
    #[serde(borrow)]
    readings: Vec<ReadingIn<'a>>,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadingIn<'a> {
    sensor_type: SensorType,
    value: f64,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    seq: Option<u64>,
    #[serde(borrow, default)]
    sensor_id: Option<Cow<'a, str>>,
}

fn bad(message: String) -> ApiError {
    ApiError::new(F, Kind::BadRequest, message)
}

/// Checks ranges and references that the types alone do not.
fn validate_readings(
    body: &TelemetryBody<'_>,
    hub_sensors: Option<&HashMap<String, Option<String>>>,
    now: SimTime,
) -> Result<Vec<StoredReading>, ApiError> {
    if body.readings.is_empty() || body.readings.len() > 100 {
        return Err(bad("readings must hold 1 to 100 readings".into()));
    }
    if let Some(lat) = body.latitude.filter(|l| !(-90.0..=90.0).contains(l)) {
        return Err(bad(format!(
            "latitude must be between -90 and 90, not {lat}"
        )));
    }
    if let Some(lon) = body.longitude.filter(|l| !(-180.0..=180.0).contains(l)) {
        return Err(bad(format!(
            "longitude must be between -180 and 180, not {lon}"
        )));
    }
    let last: std::cell::Cell<Option<(&str, SimTime)>> = std::cell::Cell::new(None);
    body.readings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let sensor_type = r.sensor_type;
            let (lo, hi) = sensor_type.range();
            if !(lo..=hi).contains(&r.value) {
                return Err(bad(format!("readings[{i}].value must be between {lo} and {hi} for {}", sensor_type.as_str())));
            }
            // Readings of one batch usually share their timestamp.
            let timestamp = match last.get() {
                Some((text, t)) if text == r.timestamp.as_ref() => Some(t),
                _ => parse_utc(&r.timestamp),
            };
            if let Some(t) = timestamp {
                last.set(Some((r.timestamp.as_ref(), t)));
            }
            let timestamp = timestamp.ok_or_else(|| {
                bad(format!(
                    "readings[{i}].timestamp must be an ISO 8601 UTC timestamp such as 2026-03-29T12:00:00Z"
                ))
            })?;
            if let Some(id) = &r.sensor_id {
                match hub_sensors {
                    None => return Err(bad(format!("readings[{i}].sensor_id is only accepted from hubs"))),
                    Some(known) if !known.contains_key(id.as_ref()) => {
                        return Err(bad(format!("readings[{i}].sensor_id is not a sensor registered to this hub")));
                    }
                    Some(_) => {}
                }
            }
            Ok(StoredReading {
                seq: r.seq,
                sensor_type,
                value: r.value,
                timestamp,
                sensor_id: r.sensor_id.as_ref().map(|s| s.to_string()),
                received_at: now,
            })
        })
        .collect()
}

/// `POST /v1/telemetry`: stores 1–100 readings.
pub(crate) async fn post_telemetry(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    with_device(&state, &headers, now, Some(TELEMETRY), |acc, idx, rate| {
        let bytes = body_bytes(F, body)?;
        let parsed: TelemetryBody<'_> = typed(F, &bytes)?;
        let device = acc
            .devices
            .get_mut(idx)
            .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))?;
        let readings = validate_readings(&parsed, device.hub.then_some(&device.zigbee), now)?;
        if let (Some(latitude), Some(longitude)) = (parsed.latitude, parsed.longitude) {
            let name = device
                .settings
                .location
                .as_ref()
                .and_then(|l| l.name.clone());
            device.settings.location = Some(Location {
                latitude,
                longitude,
                name,
            });
        }
        let accepted = readings.len();
        device.note_latest(&readings);
        crate::engine::on_readings(acc, idx, &readings, now);
        if acc.journal.wants_readings() {
            for r in &readings {
                acc.journal.push(Event::ReadingStored {
                    device: idx as u32,
                    reading: r.clone(),
                });
            }
        }
        acc.store.append_readings(idx as u32, readings);
        Ok(respond(
            StatusCode::OK,
            Accepted {
                accepted,
                timestamp: rfc3339(now),
            },
            rate,
        ))
    })
}

fn settings_json(s: &crate::state::Settings) -> Value {
    json!({
        "reporting_interval_seconds": s.reporting_interval_seconds,
        "enabled_sensors": s.enabled_sensors,
        "location": s.location.as_ref().map(|l| json!({"latitude": l.latitude, "longitude": l.longitude, "name": l.name})),
        "timezone": s.timezone,
    })
}

/// `GET /v1/settings`.
pub(crate) async fn get_settings(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
) -> Result<Response, ApiError> {
    with_device(&state, &headers, now, Some(SETTINGS), |acc, idx, rate| {
        let d = &acc.devices[idx];
        Ok(respond(StatusCode::OK, settings_json(&d.settings), rate))
    })
}

/// `PATCH /v1/settings`: partial update, all fields validated before any
/// is applied.
pub(crate) async fn patch_settings(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    with_device(&state, &headers, now, None, |acc, idx, _| {
        let body = json_object(F, body)?;
        let f = Fields::new(F, &body);
        f.only(&[
            "reporting_interval_seconds",
            "enabled_sensors",
            "location",
            "timezone",
        ])?;
        let mut s = acc.devices[idx].settings.clone();
        if body.contains_key("reporting_interval_seconds") {
            s.reporting_interval_seconds =
                f.integer_in("reporting_interval_seconds", 60, 3_600)? as u64;
        }
        if let Some(v) = body.get("enabled_sensors") {
            let list = v
                .as_array()
                .ok_or_else(|| f.bad("enabled_sensors", "must be an array of sensor types"))?;
            let mut sensors = Vec::new();
            for (i, t) in list.iter().enumerate() {
                let t = t.as_str().filter(|t| SensorType::parse(t).is_some());
                sensors.push(
                    t.ok_or_else(|| {
                        f.bad(
                            &format!("enabled_sensors[{i}]"),
                            "must be a known sensor type",
                        )
                    })?
                    .to_owned(),
                );
            }
            s.enabled_sensors = sensors;
        }
        if let Some(v) = body.get("location") {
            let map = v
                .as_object()
                .ok_or_else(|| f.bad("location", "must be an object"))?;
            let lf = Fields {
                family: F,
                map,
                prefix: "location.".into(),
            };
            lf.only(&["latitude", "longitude", "name"])?;
            s.location = Some(Location {
                latitude: lf.number_in("latitude", -90.0, 90.0)?,
                longitude: lf.number_in("longitude", -180.0, 180.0)?,
                name: lf.opt_string("name", 128)?.map(str::to_owned),
            });
        }
        if body.contains_key("timezone") {
            let tz = f.string("timezone", 64)?;
            if jiff::tz::TimeZone::get(tz).is_err() {
                return Err(f.bad(
                    "timezone",
                    "must be an IANA time zone such as America/Los_Angeles",
                ));
            }
            s.timezone = tz.to_owned();
        }
        let device = acc
            .devices
            .get_mut(idx)
            .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))?;
        device.settings = s;
        Ok(respond(
            StatusCode::OK,
            settings_json(&device.settings),
            None,
        ))
    })
}

/// `GET /v1/commands/pending`'s answer (the seed's shape; keys in the order
/// a JSON map writes them). Half of a fleet's requests are this poll.
#[derive(serde::Serialize)]
struct Pending<'a> {
    commands: Vec<PendingCommand<'a>>,
}

#[derive(serde::Serialize)]
struct PendingCommand<'a> {
    command_id: &'a str,
    expires_at: String,
    payload: &'a Value,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// `GET /v1/commands/pending`: unexpired commands without a result.
pub(crate) async fn get_pending(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
) -> Result<Response, ApiError> {
    with_device(&state, &headers, now, Some(COMMANDS), |acc, idx, rate| {
        let d = &mut acc.devices[idx];
        let commands: Vec<PendingCommand<'_>> = d
            .commands
            .iter_mut()
            .filter(|c| c.result.is_none() && c.expires_at > now)
            .map(|c| {
                c.delivered_at.get_or_insert(now);
                PendingCommand {
                    command_id: &c.command_id,
                    expires_at: rfc3339(c.expires_at),
                    payload: &c.payload,
                    kind: c.kind.as_str(),
                }
            })
            .collect();
        Ok(respond(StatusCode::OK, Pending { commands }, rate))
    })
}

/// `POST /v1/commands/result`.
pub(crate) async fn post_result(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    with_device(&state, &headers, now, None, |acc, idx, _| {
        let body = json_object(F, body)?;
        let f = Fields::new(F, &body);
        f.only(&["command_id", "status", "error_message", "result"])?;
        let command_id = f.string("command_id", 64)?;
        let status = CommandStatus::parse(f.string("status", 16)?)
            .ok_or_else(|| f.bad("status", "must be acked or failed"))?;
        let error_message = f.opt_string("error_message", 1_024)?.map(str::to_owned);
        let result = match body.get("result") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => return Err(f.bad("result", "must be an object")),
        };
        let device = acc
            .devices
            .get_mut(idx)
            .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))?;
        let command = device
            .commands
            .iter_mut()
            .find(|c| c.command_id == command_id)
            .ok_or_else(|| {
                ApiError::new(
                    F,
                    Kind::NotFound,
                    format!("no command {command_id} for this device"),
                )
            })?;
        if command.result.is_none() {
            command.result = Some(CommandResult {
                status,
                error_message,
                result,
                reported_at: now,
            });
            let done = command.clone();
            acc.journal.push(Event::CommandEnded {
                device: idx as u32,
                command: done,
            });
        }
        Ok(respond(
            StatusCode::OK,
            json!({"acknowledged": true, "timestamp": rfc3339(now)}),
            None,
        ))
    })
}

/// `POST /v1/events` (extension): `{"event": "button_press" |
/// "motion_detected", "sensor_id"?}` — a physical event at the device (or,
/// with `sensor_id`, at one of a hub's Zigbee sensors), which `event`
/// automations of the device react to. Answers how many fired.
pub(crate) async fn post_event(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    with_device(&state, &headers, now, Some(EVENTS), |acc, idx, rate| {
        let body = json_object(F, body)?;
        let f = Fields::new(F, &body);
        f.only(&["event", "sensor_id"])?;
        let name = f.one_of("event", &["button_press", "motion_detected"])?;
        if let Some(id) = f.opt_string("sensor_id", 64)? {
            let d = &acc.devices[idx];
            if !d.hub || !d.zigbee.contains_key(id) {
                return Err(f.bad("sensor_id", "is not a sensor registered to this hub"));
            }
        }
        let event = crate::engine::DeviceEvent::parse(name)
            .ok_or_else(|| f.bad("event", "must be button_press or motion_detected"))?;
        crate::climate::note_activity(&mut acc.devices[idx], now);
        let fired = crate::engine::on_event(acc, idx, event, now);
        Ok(respond(
            StatusCode::OK,
            json!({"event": name, "automations_fired": fired, "timestamp": rfc3339(now)}),
            rate,
        ))
    })
}

/// `POST /v1/zigbee/sensors` (hubs only): registers a paired sensor by its
/// pre-provisioned key. 403 for a device that is not a hub, 404 for a key
/// that was never provisioned, 409 for a key another hub holds; registering
/// the same sensor again answers the same `sensor_id`. Answers 201.
pub(crate) async fn post_zigbee(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (account, index) = authenticate(&state, &headers)?;
    let body = json_object(F, body)?;
    let f = Fields::new(F, &body);
    f.only(&["sensor_api_key", "ieee_address"])?;
    let key = f.string("sensor_api_key", 256)?;
    let ieee = f.opt_string("ieee_address", 32)?.map(str::to_owned);
    if let Some(a) = &ieee {
        let hex = a.strip_prefix("0x").unwrap_or(a);
        if hex.len() != 16 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(f.bad(
                "ieee_address",
                "must be a 64-bit IEEE address such as 0x00124b001cce5a7d",
            ));
        }
    }
    let (hub, uuid) = state
        .with_account(account, |acc| {
            let hub = acc.devices.get(index as usize).is_some_and(|d| d.hub);
            acc.seen(index as usize, now);
            (hub, acc.uuid())
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))?;
    if !hub {
        return Err(ApiError::new(
            F,
            Kind::Forbidden,
            "Only hub devices can register Zigbee sensors",
        ));
    }
    let claimed = state
        .claim_sensor_key(key, (account, index), || uuid)
        .map_err(|_| {
            ApiError::new(
                F,
                Kind::Conflict,
                "this sensor is registered to another hub",
            )
        })?
        .ok_or_else(|| {
            ApiError::new(
                F,
                Kind::NotFound,
                "no pre-provisioned sensor has that API key",
            )
        })?;
    let Some((_, _, sensor_id)) = claimed.claimed.clone() else {
        return Err(ApiError::new(
            F,
            Kind::Conflict,
            "the sensor could not be claimed",
        ));
    };
    state.with_account(account, |acc| {
        if let Some(d) = acc.devices.get_mut(index as usize) {
            d.zigbee.insert(sensor_id.clone(), ieee);
        }
    });
    Ok(respond(
        StatusCode::CREATED,
        json!({"registered": true, "sensor_id": sensor_id, "serial_number": claimed.serial_number}),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_body_parses_on_the_plain_path() {
        let body = br#"{"readings":[{"sensor_type":"temperature","value":21.5,"timestamp":"2026-07-15T12:00:00Z","seq":1}]}"#;
        let plain: Result<TelemetryBody<'_>, _> = serde_json::from_slice(body);
        assert!(plain.is_ok(), "{:?}", plain.err());
    }
}
