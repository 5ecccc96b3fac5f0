//! The Automations API: `GET`/`POST /api/automations`,
//! `GET`/`PATCH`/`DELETE /api/automations/{id}`, in the seed's camelCase
//! shapes, with every trigger, condition and action validated.
//!
//! Auth: an AURRA bearer token of the account (reads: any scope; writes:
//! `comfort:write`). Errors use the flat envelope
//! (`{"error": "...", "message": "..."}`), the seed showing none of its own.
//!
//! - Triggers: `sensor_threshold` (`deviceId`, `moduleId`?, `sensor`,
//!   `operator` gt|gte|lt|lte|eq|neq, `value`), `sensor_range` (`deviceId`,
//!   `moduleId`?, `sensor`, `min` < `max`, `event` enter|exit), `schedule`
//!   (`time` HH:MM with `days` monday…sunday, or `event` sunrise|sunset with
//!   `offset` −720…720 minutes), `event` (`deviceId`, `event`
//!   button_press|motion_detected|device_online|device_offline).
//! - Conditions: `sensor_value` (like a threshold), `time_window`
//!   (`startTime`, `endTime`; may cross midnight), `day_of_week` (`days`).
//! - Actions (at least one): `device_command` (`deviceId`, `moduleId`?,
//!   `tool`, `params`? — the tools the engine maps to firmware commands), `notification` (`method` push|email, `title`,
//!   `message`), `wait` (`seconds` 1–86400), `webhook` (`url` http(s),
//!   `method` GET|POST|PUT|PATCH, default POST, `body`? — string values may
//!   hold `{{sensor.<name>}}` templates).
//! - `cooldown` seconds, 0–86400, default 300; `enabled` default true.
//!
//! Devices named by a trigger, condition or action must belong to the
//! account; a sunrise/sunset schedule needs the automation's `deviceId`
//! (its location and time zone). `device_command` tools and their params
//! are those of [`crate::engine`], which evaluates the automations.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value, json};
use sim_core::SimTime;

use crate::aurra::authorize;
use crate::engine::{Compiled, Trigger, TriggerState, check_command, compile};
use crate::error::{ApiError, Family, Kind};
use crate::http_util::{Authz, Fields, is_hhmm, json_object, respond};
use crate::state::{Account, AppState};
use crate::time::{Now, rfc3339};

const F: Family = Family::Automations;
const WRITE: &[&str] = &["comfort:write"];

/// Default cooldown [s] (seed).
pub const DEFAULT_COOLDOWN_S: i64 = 300;

/// A stored automation.
#[derive(Debug, Clone, PartialEq)]
pub struct Automation {
    /// Id (a UUID).
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The device the automation belongs to, if given.
    pub device_id: Option<String>,
    /// Enabled.
    pub enabled: bool,
    /// Validated trigger.
    pub trigger: Value,
    /// Validated conditions.
    pub conditions: Vec<Value>,
    /// Validated actions.
    pub actions: Vec<Value>,
    /// Cooldown [s].
    pub cooldown_s: i64,
    /// When it last fired.
    pub last_triggered: Option<SimTime>,
    /// When it was created.
    pub created_at: SimTime,
    /// The trigger, conditions and actions compiled for the engine.
    pub compiled: Compiled,
    /// The engine's trigger state.
    pub state: TriggerState,
}

impl Automation {
    /// An empty, enabled automation with the default cooldown, to fill from
    /// a validated body.
    fn blank(id: String, created_at: SimTime) -> Automation {
        Automation {
            id,
            name: String::new(),
            description: None,
            device_id: None,
            enabled: true,
            trigger: Value::Null,
            conditions: Vec::new(),
            actions: Vec::new(),
            cooldown_s: DEFAULT_COOLDOWN_S,
            last_triggered: None,
            created_at,
            compiled: compile(&Value::Null, &[], &[]),
            state: TriggerState::default(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "description": self.description, "deviceId": self.device_id,
            "enabled": self.enabled, "trigger": self.trigger, "conditions": self.conditions, "actions": self.actions,
            "cooldown": self.cooldown_s, "lastTriggered": self.last_triggered.map(rfc3339), "createdAt": rfc3339(self.created_at),
        })
    }
}

const OPERATORS: [&str; 6] = ["gt", "gte", "lt", "lte", "eq", "neq"];
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

struct Check<'a> {
    acc: &'a Account,
}

impl Check<'_> {
    fn obj<'v>(&self, v: &'v Value, field: &str) -> Result<Fields<'v>, ApiError> {
        let map = v.as_object().ok_or_else(|| {
            ApiError::new(F, Kind::BadRequest, format!("{field} must be an object"))
        })?;
        Ok(Fields {
            family: F,
            map,
            prefix: format!("{field}."),
        })
    }

    fn device(&self, f: &Fields<'_>) -> Result<(), ApiError> {
        let id = f.string("deviceId", 128)?;
        if self.acc.device(id).is_none() {
            return Err(f.bad("deviceId", "is not a device of this account"));
        }
        Ok(())
    }

    fn sensor_comparison(&self, f: &Fields<'_>) -> Result<(), ApiError> {
        self.device(f)?;
        f.opt_string("moduleId", 64)?;
        f.string("sensor", 64)?;
        f.one_of("operator", &OPERATORS)?;
        f.number_in("value", -1e12, 1e12)?;
        Ok(())
    }

    fn trigger(&self, v: &Value) -> Result<(), ApiError> {
        let f = self.obj(v, "trigger")?;
        match f.string("type", 32)? {
            "sensor_threshold" => {
                f.only(&[
                    "type", "deviceId", "moduleId", "sensor", "operator", "value",
                ])?;
                self.sensor_comparison(&f)
            }
            "sensor_range" => {
                f.only(&[
                    "type", "deviceId", "moduleId", "sensor", "min", "max", "event",
                ])?;
                self.device(&f)?;
                f.opt_string("moduleId", 64)?;
                f.string("sensor", 64)?;
                let min = f.number_in("min", -1e12, 1e12)?;
                let max = f.number_in("max", -1e12, 1e12)?;
                if min >= max {
                    return Err(f.bad("min", "must be below max"));
                }
                f.one_of("event", &["enter", "exit"]).map(drop)
            }
            "schedule" => {
                f.only(&["type", "time", "days", "event", "offset"])?;
                match (f.map.get("time"), f.map.get("event")) {
                    (Some(_), None) => {
                        if !is_hhmm(f.string("time", 5)?, false) {
                            return Err(f.bad("time", "must be HH:MM"));
                        }
                        f.list_of("days", &WEEKDAYS)
                    }
                    (None, Some(_)) => {
                        f.one_of("event", &["sunrise", "sunset"])?;
                        if f.map.contains_key("offset") {
                            f.integer_in("offset", -720, 720)?;
                        }
                        Ok(())
                    }
                    _ => Err(f.bad("time", "or event (sunrise|sunset) is required, not both")),
                }
            }
            "event" => {
                f.only(&["type", "deviceId", "event"])?;
                self.device(&f)?;
                f.one_of(
                    "event",
                    &[
                        "button_press",
                        "motion_detected",
                        "device_online",
                        "device_offline",
                    ],
                )
                .map(drop)
            }
            _ => Err(f.bad(
                "type",
                "must be sensor_threshold, sensor_range, schedule or event",
            )),
        }
    }

    fn condition(&self, v: &Value, i: usize) -> Result<(), ApiError> {
        let f = self.obj(v, &format!("conditions[{i}]"))?;
        match f.string("type", 32)? {
            "sensor_value" => {
                f.only(&[
                    "type", "deviceId", "moduleId", "sensor", "operator", "value",
                ])?;
                self.sensor_comparison(&f)
            }
            "time_window" => {
                f.only(&["type", "startTime", "endTime"])?;
                for key in ["startTime", "endTime"] {
                    if !is_hhmm(f.string(key, 5)?, false) {
                        return Err(f.bad(key, "must be HH:MM"));
                    }
                }
                Ok(())
            }
            "day_of_week" => {
                f.only(&["type", "days"])?;
                f.list_of("days", &WEEKDAYS)
            }
            _ => Err(f.bad("type", "must be sensor_value, time_window or day_of_week")),
        }
    }

    fn action(&self, v: &Value, i: usize) -> Result<(), ApiError> {
        let f = self.obj(v, &format!("actions[{i}]"))?;
        match f.string("type", 32)? {
            "device_command" => {
                f.only(&["type", "deviceId", "moduleId", "tool", "params"])?;
                self.device(&f)?;
                f.opt_string("moduleId", 64)?;
                let tool = f.string("tool", 64)?;
                let params = f.map.get("params").unwrap_or(&Value::Null);
                check_command(tool, params).map_err(|(field, what)| f.bad(&field, &what))
            }
            "notification" => {
                f.only(&["type", "method", "title", "message"])?;
                f.one_of("method", &["push", "email"])?;
                f.string("title", 256)?;
                f.string("message", 4_096)?;
                Ok(())
            }
            "wait" => {
                f.only(&["type", "seconds"])?;
                f.integer_in("seconds", 1, 86_400)?;
                Ok(())
            }
            "webhook" => {
                f.only(&["type", "url", "method", "body"])?;
                let url = f.string("url", 2_048)?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(f.bad("url", "must be an absolute http(s) URL"));
                }
                if f.map.contains_key("method") {
                    f.one_of("method", &["GET", "POST", "PUT", "PATCH"])?;
                }
                Ok(())
            }
            _ => Err(f.bad(
                "type",
                "must be device_command, notification, wait or webhook",
            )),
        }
    }

    /// Validates the mutable parts present in `body`.
    fn parts(&self, body: &Map<String, Value>, creating: bool) -> Result<(), ApiError> {
        let f = Fields::new(F, body);
        if creating || body.contains_key("name") {
            f.string("name", 128)?;
        }
        f.opt_string("description", 1_024)?;
        if let Some(id) = f.opt_string("deviceId", 128)?
            && self.acc.device(id).is_none()
        {
            return Err(f.bad("deviceId", "is not a device of this account"));
        }
        if let Some(v) = body.get("enabled")
            && !v.is_boolean()
        {
            return Err(f.bad("enabled", "must be a boolean"));
        }
        if creating || body.contains_key("trigger") {
            self.trigger(f.required("trigger")?)?;
        }
        if let Some(c) = body.get("conditions") {
            let list = c
                .as_array()
                .ok_or_else(|| f.bad("conditions", "must be an array"))?;
            for (i, c) in list.iter().enumerate() {
                self.condition(c, i)?;
            }
        }
        if creating || body.contains_key("actions") {
            let list = f
                .required("actions")?
                .as_array()
                .ok_or_else(|| f.bad("actions", "must be an array"))?;
            if list.is_empty() || list.len() > 32 {
                return Err(f.bad("actions", "must hold 1 to 32 actions"));
            }
            for (i, a) in list.iter().enumerate() {
                self.action(a, i)?;
            }
        }
        if body.contains_key("cooldown") {
            f.integer_in("cooldown", 0, 86_400)?;
        }
        Ok(())
    }
}

const FIELDS: [&str; 8] = [
    "name",
    "description",
    "deviceId",
    "enabled",
    "trigger",
    "conditions",
    "actions",
    "cooldown",
];

/// Applies a validated body and recompiles; a changed trigger, or turning
/// the automation on, re-arms the trigger from `now`; turning it off or
/// changing its actions cancels its waiting runs.
fn apply(
    acc: &mut Account,
    a: &mut Automation,
    body: &Map<String, Value>,
    now: SimTime,
) -> Result<(), ApiError> {
    let was_enabled = a.enabled;
    fill(a, body)?;
    // Its schedule (if it has one) is worked out at the next tick.
    acc.wake_at(now);
    if body.contains_key("trigger") || (a.enabled && !was_enabled) {
        a.state = TriggerState {
            armed_at: now,
            ..TriggerState::default()
        };
    }
    if !a.enabled || body.contains_key("actions") {
        acc.engine.cancel(&a.id);
    }
    Ok(())
}

/// Sets the body's fields and compiles; the one rule across fields: a
/// sunrise/sunset schedule needs the automation's device.
fn fill(a: &mut Automation, body: &Map<String, Value>) -> Result<(), ApiError> {
    set_fields(a, body);
    a.compiled = compile(&a.trigger, &a.conditions, &a.actions);
    if matches!(a.compiled.trigger, Trigger::Sun { .. }) && a.device_id.is_none() {
        return Err(ApiError::new(
            F,
            Kind::BadRequest,
            "deviceId is required for a sunrise/sunset schedule (its location and time zone)",
        ));
    }
    Ok(())
}

fn set_fields(a: &mut Automation, body: &Map<String, Value>) {
    if let Some(v) = body.get("name").and_then(Value::as_str) {
        a.name = v.to_owned();
    }
    if let Some(v) = body.get("description") {
        a.description = v.as_str().map(str::to_owned);
    }
    if let Some(v) = body.get("deviceId") {
        a.device_id = v.as_str().map(str::to_owned);
    }
    if let Some(v) = body.get("enabled").and_then(Value::as_bool) {
        a.enabled = v;
    }
    if let Some(v) = body.get("trigger") {
        a.trigger = v.clone();
    }
    if let Some(v) = body.get("conditions").and_then(Value::as_array) {
        a.conditions = v.clone();
    }
    if let Some(v) = body.get("actions").and_then(Value::as_array) {
        a.actions = v.clone();
    }
    if let Some(v) = body.get("cooldown").and_then(Value::as_i64) {
        a.cooldown_s = v;
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        F,
        Kind::NotFound,
        format!("automation {id} does not exist in your account"),
    )
}

fn family(e: ApiError) -> ApiError {
    ApiError { family: F, ..e }
}

/// Checks an automation body as `POST /api/automations` would, against the
/// account's devices: the 400 it would answer (its message naming the
/// field), if it is invalid.
pub fn check_definition(acc: &Account, body: &Map<String, Value>) -> Result<(), ApiError> {
    Fields::new(F, body).only(&FIELDS)?;
    Check { acc }.parts(body, true)?;
    fill(&mut Automation::blank(String::new(), SimTime::EPOCH), body)?;
    Ok(())
}

/// `GET /api/automations`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &[]).map_err(family)?;
    let list = state
        .with_account(caller.grant.account, |acc| {
            acc.automations
                .iter()
                .map(Automation::to_json)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    Ok(respond(
        StatusCode::OK,
        json!({"automations": list}),
        Some(caller.rate),
    ))
}

/// `POST /api/automations`.
pub(crate) async fn create(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, WRITE).map_err(family)?;
    let body = json_object(F, body)?;
    Fields::new(F, &body).only(&FIELDS)?;
    let created = state
        .with_account(caller.grant.account, |acc| {
            Check { acc }.parts(&body, true)?;
            let mut a = Automation::blank(acc.uuid(), now);
            apply(acc, &mut a, &body, now)?;
            // Armed from creation (the body always holds a trigger).
            a.state.armed_at = now;
            acc.automations.push(a.clone());
            Ok(a)
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    let summary = json!({"automation": {"id": created.id, "name": created.name, "enabled": created.enabled, "createdAt": rfc3339(created.created_at)}});
    Ok(respond(StatusCode::CREATED, summary, Some(caller.rate)))
}

/// `GET /api/automations/{id}`.
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Now(now): Now,
    Path(id): Path<String>,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &[]).map_err(family)?;
    let a = state
        .with_account(caller.grant.account, |acc| {
            acc.automations
                .iter()
                .find(|a| a.id == id)
                .map(Automation::to_json)
        })
        .flatten()
        .ok_or_else(|| not_found(&id))?;
    Ok(respond(
        StatusCode::OK,
        json!({"automation": a}),
        Some(caller.rate),
    ))
}

/// `PATCH /api/automations/{id}`: toggles `enabled` (the seed's use), or
/// updates any other field, validated like a creation.
pub(crate) async fn patch(
    State(state): State<AppState>,
    Now(now): Now,
    Path(id): Path<String>,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, WRITE).map_err(family)?;
    let body = json_object(F, body)?;
    Fields::new(F, &body).only(&FIELDS)?;
    let a = state
        .with_account(caller.grant.account, |acc| {
            Check { acc }.parts(&body, false)?;
            let i = acc
                .automations
                .iter()
                .position(|a| a.id == id)
                .ok_or_else(|| not_found(&id))?;
            let mut a = acc.automations[i].clone();
            apply(acc, &mut a, &body, now)?;
            let json = a.to_json();
            acc.automations[i] = a;
            Ok(json)
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(
        StatusCode::OK,
        json!({"automation": a}),
        Some(caller.rate),
    ))
}

/// `DELETE /api/automations/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Now(now): Now,
    Path(id): Path<String>,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, WRITE).map_err(family)?;
    let removed = state
        .with_account(caller.grant.account, |acc| {
            let before = acc.automations.len();
            acc.automations.retain(|a| a.id != id);
            acc.engine.cancel(&id);
            acc.automations.len() < before
        })
        .unwrap_or(false);
    if !removed {
        return Err(not_found(&id));
    }
    Ok(respond(
        StatusCode::OK,
        json!({"success": true}),
        Some(caller.rate),
    ))
}

/// `GET /api/notifications` (extension): the account's notification outbox,
/// newest first — what `notification` actions sent (`?limit=` 1–1000,
/// default 100).
pub(crate) async fn notifications(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &[]).map_err(family)?;
    let limit = match query.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=1_000).contains(l))
            .ok_or_else(|| {
                ApiError::new(
                    F,
                    Kind::BadRequest,
                    "limit must be an integer from 1 to 1000",
                )
            })?,
    };
    let body = state
        .with_account(caller.grant.account, |acc| {
            let list: Vec<Value> = acc
                .engine
                .outbox
                .iter()
                .rev()
                .take(limit)
                .map(|n| json!({"automationId": n.automation_id, "method": n.method, "title": n.title, "message": n.message, "sentAt": rfc3339(n.at)}))
                .collect();
            json!({"notifications": list, "total": acc.engine.outbox.len() as u64 + acc.engine.outbox_dropped})
        })
        .unwrap_or_default();
    Ok(respond(StatusCode::OK, body, Some(caller.rate)))
}
