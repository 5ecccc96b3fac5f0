//! The OpenAPI 3.1 description served at `GET /openapi.json`.
//!
//! It is generated from the route table in `lib.rs`: the same macro call
//! that mounts each handler records its documentation ([`RouteDoc`]), so a
//! route cannot exist undocumented. Request bodies are described with JSON
//! Schema fragments kept beside the docs; the three error envelopes and the
//! rate-limit headers are shared components.

use serde_json::{Map, Value, json};

/// Which credential an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// None.
    None,
    /// AURRA bearer token, with one of these scopes (empty: any).
    Token(&'static [&'static str]),
    /// Device API key.
    DeviceKey,
}

/// One documented route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// HTTP method, lowercase.
    pub method: &'static str,
    /// Path in OpenAPI form (`/v1/thermostat/{device_id}/status`).
    pub path: &'static str,
    /// API family tag.
    pub tag: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Credential.
    pub auth: Auth,
    /// Request body schema (JSON text), if any.
    pub body: Option<&'static str>,
    /// Success status.
    pub success: u16,
}

fn error_ref(tag: &str) -> &'static str {
    match tag {
        "AURRA" => "#/components/schemas/AurraError",
        "Automations" => "#/components/schemas/FlatError",
        _ => "#/components/schemas/FlatError",
    }
}

/// The spec for `routes`.
pub fn spec(routes: &[RouteDoc]) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let mut op = Map::new();
        op.insert("tags".into(), json!([r.tag]));
        op.insert("summary".into(), json!(r.summary));
        op.insert(
            "operationId".into(),
            json!(format!(
                "{}_{}",
                r.method,
                r.path.trim_matches('/').replace(['/', '{', '}'], "_")
            )),
        );
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        match r.auth {
            Auth::None => {
                op.insert("security".into(), json!([]));
            }
            Auth::Token(scopes) => {
                op.insert("security".into(), json!([{"aurraOAuth": scopes}]));
            }
            Auth::DeviceKey => {
                op.insert("security".into(), json!([{"deviceApiKey": []}]));
            }
        }
        if let Some(body) = r.body {
            let schema: Value =
                serde_json::from_str(body).unwrap_or_else(|_| json!({"type": "object"}));
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": schema}}}),
            );
        }
        let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": error_ref(r.tag)}}}});
        let mut responses = Map::new();
        responses.insert(
            r.success.to_string(),
            json!({"description": "Success", "headers": {
            "X-RateLimit-Limit": {"$ref": "#/components/headers/Limit"},
            "X-RateLimit-Remaining": {"$ref": "#/components/headers/Remaining"},
            "X-RateLimit-Reset": {"$ref": "#/components/headers/Reset"}}}),
        );
        responses.insert(
            "400".into(),
            err("A field is missing or invalid (the message names it), or the JSON is malformed"),
        );
        if r.auth != Auth::None || r.path == "/v1/auth/token" {
            responses.insert(
                "401".into(),
                err("Missing, malformed or expired credentials"),
            );
        }
        if let Auth::Token(s) = r.auth
            && !s.is_empty()
        {
            responses.insert("403".into(), err("The token lacks the required scope"));
        }
        responses.insert(
            "404".into(),
            err("No such resource in the caller's account"),
        );
        responses.insert("413".into(), err("The body exceeds the 256 KiB limit"));
        responses.insert("429".into(), json!({"description": "Rate limit exceeded", "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
            "content": {"application/json": {"schema": {"$ref": error_ref(r.tag)}}}}));
        op.insert("responses".into(), Value::Object(responses));
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(r.method.to_owned(), Value::Object(op));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "thermotwin API server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The AURRA integration API, the ClimaSense device API and the Automations API as thermotwin serves them. Extensions to the vendor documents are noted per endpoint: telemetry readings may carry `seq` and (from hubs) `sensor_id`; vibration reports may carry `rms` and `kurtosis`; setpoint, Eco and schedule changes reach devices as `config_update` commands whose payload keys are `setpoint`, `mode`, `fan`, `schedule`, `eco`, `reporting_interval_seconds`, `enabled_sensors` and `timezone`. Rate limits: per token 500/min (enterprise) or 100/min (standard); diagnostics 60/min per token; device API per device: telemetry 60/min, settings 10/min, pending commands 30/min, OTA check 10/min, downloads 5/h."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "aurraOAuth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/v1/auth/token", "scopes": {
                    "diagnostics:read": "Fetch HVAC telemetry and maintenance predictions; submit diagnostics",
                    "alerts:write": "Create and dispatch maintenance alerts",
                    "energy:read": "Access solar, grid pricing and EV data",
                    "comfort:write": "Adjust temperature setpoints and schedules"}}}},
                "deviceApiKey": {"type": "http", "scheme": "bearer", "description": "The device's API key (stored hashed)"}
            },
            "headers": {
                "Limit": {"schema": {"type": "integer"}, "description": "Requests allowed in the window"},
                "Remaining": {"schema": {"type": "integer"}, "description": "Requests left in the window"},
                "Reset": {"schema": {"type": "integer"}, "description": "Unix time (s) when the window closes"},
                "RetryAfter": {"schema": {"type": "integer"}, "description": "Seconds to wait, rounded up"}
            },
            "schemas": {
                "AurraError": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message", "docs"], "properties": {
                    "code": {"type": "string", "example": "UNAUTHORIZED"}, "message": {"type": "string"}, "docs": {"type": "string", "format": "uri"}}}}},
                "FlatError": {"type": "object", "required": ["error", "message"], "properties": {"error": {"type": "string", "example": "unauthorized"}, "message": {"type": "string"}}}
            }
        }
    })
}
