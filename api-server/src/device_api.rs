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
//! acknowledged.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};
use sim_core::{SimDuration, SimTime};

use crate::error::{ApiError, Family, Kind, LimitScope, RateInfo};
use crate::http_util::{Fields, bearer, json_object, respond};
use crate::state::{Account, AccountId, AppState, LimitKey, Location, StoredReading};
use crate::time::{Now, rfc3339};

const F: Family = Family::Device;

/// Sensor types of the seed, with the accepted value range.
pub const SENSOR_TYPES: [(&str, f64, f64); 7] = [
    ("temperature", -100.0, 150.0),
    ("humidity", 0.0, 100.0),
    ("pressure", 0.0, 2_000.0),
    ("power_availability", 0.0, 1.0),
    ("battery_level", 0.0, 100.0),
    ("signal_strength", -200.0, 0.0),
    ("iaq", 0.0, 500.0),
];

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

/// Authenticates a device by its API key.
pub(crate) fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(AccountId, String), ApiError> {
    let key = bearer(headers)
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))?;
    state
        .device_for_key(key)
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))
}

/// Counts a request against a device endpoint's limit.
pub(crate) fn limit(
    acc: &mut Account,
    device_id: &str,
    now: SimTime,
    l: EndpointLimit,
) -> Result<RateInfo, ApiError> {
    let decision = acc.limiter.check(
        LimitKey::DeviceEndpoint(device_id.to_owned(), l.0),
        now,
        l.1,
        l.2,
    );
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
    headers: &HeaderMap,
    now: SimTime,
    l: Option<EndpointLimit>,
    f: impl FnOnce(&mut Account, &str, Option<RateInfo>) -> Result<R, ApiError>,
) -> Result<R, ApiError> {
    let (account, device_id) = authenticate(state, headers)?;
    state
        .with_account(account, |acc| {
            if let Some(d) = acc.devices.get_mut(&device_id) {
                d.last_seen = Some(now);
            }
            let rate = l.map(|l| limit(acc, &device_id, now, l)).transpose()?;
            f(acc, &device_id, rate)
        })
        .unwrap_or_else(|| {
            Err(ApiError::new(
                F,
                Kind::Unauthorized,
                "Invalid or missing API key",
            ))
        })
}

struct ValidReading {
    seq: Option<u64>,
    sensor_type: String,
    value: f64,
    timestamp: SimTime,
    sensor_id: Option<String>,
}

fn validate_readings(
    body: &Map<String, Value>,
    hub_sensors: Option<&dyn Fn(&str) -> bool>,
) -> Result<Vec<ValidReading>, ApiError> {
    let f = Fields::new(F, body);
    f.only(&["readings", "latitude", "longitude"])?;
    f.opt_number_in("latitude", -90.0, 90.0)?;
    f.opt_number_in("longitude", -180.0, 180.0)?;
    let readings = f
        .required("readings")?
        .as_array()
        .ok_or_else(|| f.bad("readings", "must be an array"))?;
    if readings.is_empty() || readings.len() > 100 {
        return Err(f.bad("readings", "must hold 1 to 100 readings"));
    }
    readings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let map = r.as_object().ok_or_else(|| f.bad(&format!("readings[{i}]"), "must be an object"))?;
            let rf = Fields {
                family: F,
                map,
                prefix: format!("readings[{i}]."),
            };
            rf.only(&["sensor_type", "value", "timestamp", "seq", "sensor_id"])?;
            let sensor_type = rf.string("sensor_type", 64)?;
            let (_, lo, hi) = SENSOR_TYPES
                .iter()
                .find(|(t, _, _)| *t == sensor_type)
                .ok_or_else(|| rf.bad("sensor_type", "must be one of temperature, humidity, pressure, power_availability, battery_level, signal_strength, iaq"))?;
            let value = rf.number_in("value", *lo, *hi)?;
            let timestamp = rf.utc_timestamp("timestamp")?;
            let seq = match map.get("seq") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().ok_or_else(|| rf.bad("seq", "must be a non-negative integer"))?),
            };
            let sensor_id = rf.opt_string("sensor_id", 64)?;
            if let Some(id) = sensor_id {
                match hub_sensors {
                    None => return Err(rf.bad("sensor_id", "is only accepted from hubs")),
                    Some(known) if !known(id) => return Err(rf.bad("sensor_id", "is not a sensor registered to this hub")),
                    Some(_) => {}
                }
            }
            Ok(ValidReading {
                seq,
                sensor_type: sensor_type.to_owned(),
                value,
                timestamp,
                sensor_id: sensor_id.map(str::to_owned),
            })
        })
        .collect()
}

/// `POST /v1/telemetry`: stores 1–100 readings.
pub(crate) async fn post_telemetry(
    State(state): State<AppState>,
    Now(now): Now,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let retention = state.config().telemetry_retention;
    with_device(
        &state,
        &headers,
        now,
        Some(TELEMETRY),
        |acc, device_id, rate| {
            let body = json_object(F, body)?;
            let device = acc.devices.get_mut(device_id).ok_or_else(|| {
                ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key")
            })?;
            let readings = if device.hub {
                let zigbee = &device.zigbee;
                let known = |id: &str| zigbee.contains_key(id);
                validate_readings(&body, Some(&known))?
            } else {
                validate_readings(&body, None)?
            };
            if let (Some(lat), Some(lon)) = (
                body.get("latitude").and_then(Value::as_f64),
                body.get("longitude").and_then(Value::as_f64),
            ) {
                let name = device
                    .settings
                    .location
                    .as_ref()
                    .and_then(|l| l.name.clone());
                device.settings.location = Some(Location {
                    latitude: lat,
                    longitude: lon,
                    name,
                });
            }
            let accepted = readings.len();
            for r in readings {
                if device.telemetry.len() >= retention {
                    device.telemetry.pop_front();
                    device.telemetry_evicted += 1;
                }
                device.telemetry.push_back(StoredReading {
                    seq: r.seq,
                    sensor_type: r.sensor_type,
                    value: r.value,
                    timestamp: r.timestamp,
                    sensor_id: r.sensor_id,
                    received_at: now,
                });
            }
            Ok(respond(
                StatusCode::OK,
                json!({"accepted": accepted, "timestamp": rfc3339(now)}),
                rate,
            ))
        },
    )
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
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    with_device(
        &state,
        &headers,
        now,
        Some(SETTINGS),
        |acc, device_id, rate| {
            let d = &acc.devices[device_id];
            Ok(respond(StatusCode::OK, settings_json(&d.settings), rate))
        },
    )
}

/// `PATCH /v1/settings`: partial update, all fields validated before any
/// is applied.
pub(crate) async fn patch_settings(
    State(state): State<AppState>,
    Now(now): Now,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    with_device(&state, &headers, now, None, |acc, device_id, _| {
        let body = json_object(F, body)?;
        let f = Fields::new(F, &body);
        f.only(&[
            "reporting_interval_seconds",
            "enabled_sensors",
            "location",
            "timezone",
        ])?;
        let mut s = acc.devices[device_id].settings.clone();
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
                let t = t
                    .as_str()
                    .filter(|t| SENSOR_TYPES.iter().any(|(n, _, _)| n == t));
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
            .get_mut(device_id)
            .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))?;
        device.settings = s;
        Ok(respond(
            StatusCode::OK,
            settings_json(&device.settings),
            None,
        ))
    })
}

/// `GET /v1/commands/pending`: unexpired commands without a result.
pub(crate) async fn get_pending(
    State(state): State<AppState>,
    Now(now): Now,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    with_device(
        &state,
        &headers,
        now,
        Some(COMMANDS),
        |acc, device_id, rate| {
            let d = &acc.devices[device_id];
            let commands: Vec<Value> = d
            .commands
            .iter()
            .filter(|c| c.result.is_none() && c.expires_at > now)
            .map(|c| json!({"command_id": c.command_id, "type": c.kind, "payload": c.payload, "expires_at": rfc3339(c.expires_at)}))
            .collect();
            Ok(respond(StatusCode::OK, json!({"commands": commands}), rate))
        },
    )
}

/// `POST /v1/commands/result`.
pub(crate) async fn post_result(
    State(state): State<AppState>,
    Now(now): Now,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    with_device(&state, &headers, now, None, |acc, device_id, _| {
        let body = json_object(F, body)?;
        let f = Fields::new(F, &body);
        f.only(&["command_id", "status", "error_message", "result"])?;
        let command_id = f.string("command_id", 64)?;
        let status = f.string("status", 16)?;
        if status != "acked" && status != "failed" {
            return Err(f.bad("status", "must be acked or failed"));
        }
        let error_message = f.opt_string("error_message", 1_024)?.map(str::to_owned);
        let result = match body.get("result") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => return Err(f.bad("result", "must be an object")),
        };
        let device = acc
            .devices
            .get_mut(device_id)
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
            command.result = Some((status.to_owned(), error_message, result, now));
        }
        Ok(respond(
            StatusCode::OK,
            json!({"acknowledged": true, "timestamp": rfc3339(now)}),
            None,
        ))
    })
}
