//! api-server: the AURRA integration API, the ClimaSense device API and the
//! Automations API as one axum [`Router`], over an injectable clock.
//!
//! ```text
//!   request ─► Router ─┬─ /v1/auth/token, /v1/thermostat/* ── aurra, thermostat
//!                      ├─ /v1/diagnostics/*, /v1/predictive/*,
//!                      │  /v1/alerts* ──────────────── diagnostics, predictive
//!                      ├─ /v1/webhooks*, /v1/energy/*, /v1/voice/*,
//!                      │  /v1/climate/optimize ──────── webhooks, ecosystem, climate
//!                      ├─ /api/automations*, /api/notifications ─ automations
//!                      ├─ /v1/telemetry, /v1/settings, /v1/commands/*,
//!                      │  /v1/events, /v1/zigbee/*, /v1/ota/* ─ device_api, ota
//!                      └─ (fallback 404)
//!              each handler: Now (RequestTime | clock) → auth → rate limit →
//!              validate → account partition (Mutex) → JSON + X-RateLimit-*
//!
//!   tick(now) ─► per account: offline detection, automation engine
//!                (schedules, waits), webhook deliveries (sink, no lock held);
//!                then OTA rollout decisions and token eviction
//! ```
//!
//! The same `app(state)` runs under `thermotwin serve` on the system clock
//! and inside the simulator, where the transport stamps each request with its
//! virtual arrival time ([`time::RequestTime`]) and requests of different
//! accounts run in parallel (each account is its own lock). What the
//! simulator swaps in: the webhook sink ([`webhooks::WebhookSink`]), the
//! predictors ([`predictors::Predictor`]) and a weather forecast
//! ([`climate::Forecast`]); what it reads back between windows is each
//! account's [`journal`] (readings stored, predictions made, features
//! computed, commands ended), not the store.

pub use api_core::{credentials, journal, predictors, ratelimit, store};

pub mod aurra;
pub mod automations;
pub mod climate;
pub mod device_api;
pub mod diagnostics;
pub mod ecosystem;
pub mod engine;
pub mod error;
pub(crate) mod http_util;
pub mod openapi;
pub mod ota;
pub mod predictive;
pub mod serve;
pub mod state;
pub mod thermostat;
pub mod time;
pub mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use error::{ApiError, Family, Kind};

pub use state::{AppState, ServerConfig, Tier};
pub use time::RequestTime;

async fn not_found() -> ApiError {
    ApiError::new(Family::Device, Kind::NotFound, "no such endpoint")
}

use openapi::Auth::{DeviceKey, None as Open, Token};

/// Every route, once: mounts its handler and documents it in the OpenAPI
/// spec (so no route goes undocumented).
macro_rules! routes {
    ($( $method:ident $path:literal => $handler:path, $tag:literal, $auth:expr, $body:expr, $ok:literal, $summary:literal; )*) => {
        /// Documentation of every mounted route, in mounting order.
        pub const ROUTES: &[openapi::RouteDoc] = &[$(openapi::RouteDoc {
            method: stringify!($method), path: $path, tag: $tag, summary: $summary, auth: $auth, body: $body, success: $ok,
        }),*];

        fn mount(router: Router<AppState>) -> Router<AppState> {
            router $(.route($path, axum::routing::$method($handler)))*
        }
    };
}

const TOKEN_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["client_id","client_secret","grant_type"],"properties":{"client_id":{"type":"string"},"client_secret":{"type":"string"},"grant_type":{"const":"client_credentials"},"scope":{"type":"string","description":"space-separated subset of the client's scopes"}},"additionalProperties":false}"#,
);
const SETPOINT_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["temperature","mode"],"properties":{"temperature":{"type":"integer","minimum":40,"maximum":90},"mode":{"enum":["heat","cool","auto","off"]}},"additionalProperties":false}"#,
);
const ECO_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["enabled"],"properties":{"enabled":{"type":"boolean"},"heat_limit":{"type":"integer","minimum":40,"maximum":90},"cool_limit":{"type":"integer","minimum":40,"maximum":90}},"additionalProperties":false}"#,
);
const SCHEDULE_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["name","blocks"],"properties":{"name":{"type":"string","maxLength":128},"blocks":{"type":"array","minItems":1,"maxItems":64,"items":{"type":"object","required":["start","end","heat","cool","days"],"properties":{"label":{"type":"string"},"start":{"type":"string","pattern":"^\\d\\d:\\d\\d$"},"end":{"type":"string","pattern":"^\\d\\d:\\d\\d$"},"heat":{"type":"integer","minimum":40,"maximum":90},"cool":{"type":"integer","minimum":40,"maximum":90},"days":{"type":"array","items":{"enum":["mon","tue","wed","thu","fri","sat","sun"]}}}}}},"additionalProperties":false}"#,
);
const ALERT_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["device_id","issue","confidence","action"],"properties":{"device_id":{"type":"string"},"issue":{"type":"string","maxLength":256},"confidence":{"type":"number","minimum":0,"maximum":1},"action":{"type":"string"},"dispatch":{"type":"boolean","description":"enterprise tier only"}},"additionalProperties":false}"#,
);
const OPTIMIZE_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["device_id"],"properties":{"device_id":{"type":"string"},"horizon_hours":{"type":"integer","minimum":1,"maximum":48,"default":24},"objective":{"enum":["comfort","balanced","savings"],"default":"balanced"},"comfort":{"type":"object","properties":{"heat_f":{"type":"integer","minimum":40,"maximum":90},"cool_f":{"type":"integer","minimum":40,"maximum":90}},"additionalProperties":false},"outdoor_forecast_f":{"type":"array","items":{"type":"number","minimum":-60,"maximum":140},"description":"hourly outdoor °F from now; required unless the server has a forecast for the device's location"},"home":{"type":"object","properties":{"ua_w_per_k":{"type":"number","minimum":50,"maximum":2000,"default":300},"capacitance_kwh_per_k":{"type":"number","minimum":0.5,"maximum":20,"default":2.86}},"additionalProperties":false},"apply":{"type":"boolean","default":false}},"additionalProperties":false}"#,
);
const WEBHOOK_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["url","events","secret"],"properties":{"url":{"type":"string","format":"uri"},"events":{"type":"array","minItems":1,"items":{"enum":["thermostat.temperature_change","predictive.alert_created","predictive.alert_resolved","eco.mode_changed","schedule.updated","device.offline"]}},"secret":{"type":"string","minLength":16,"maxLength":256}},"additionalProperties":false}"#,
);
const VIBRATION_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["device_id","timestamp","amplitude","frequency"],"properties":{"device_id":{"type":"string"},"timestamp":{"type":"string","format":"date-time","description":"UTC"},"amplitude":{"type":"number","minimum":0,"maximum":10,"description":"peak [g]"},"frequency":{"type":"number","minimum":0,"description":"dominant [Hz]"},"duration_ms":{"type":"integer","minimum":1,"default":1000},"rms":{"type":"number","minimum":0,"description":"extension [g]"},"kurtosis":{"type":"number","minimum":0,"description":"extension"}},"additionalProperties":false}"#,
);
const ENERGY_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["device_id","runtime_mins","voltage","current_amps","period_start"],"properties":{"device_id":{"type":"string"},"runtime_mins":{"type":"integer","minimum":0},"voltage":{"type":"number","minimum":0},"current_amps":{"type":"number","minimum":0},"period_start":{"type":"string","format":"date-time","description":"UTC"}},"additionalProperties":false}"#,
);
const TELEMETRY_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["readings"],"properties":{"latitude":{"type":"number","minimum":-90,"maximum":90},"longitude":{"type":"number","minimum":-180,"maximum":180},"readings":{"type":"array","minItems":1,"maxItems":100,"items":{"type":"object","required":["sensor_type","value","timestamp"],"properties":{"sensor_type":{"enum":["temperature","humidity","pressure","power_availability","battery_level","signal_strength","iaq"]},"value":{"type":"number"},"timestamp":{"type":"string","format":"date-time","description":"UTC"},"seq":{"type":"integer","minimum":0,"description":"extension: the device's sequence number"},"sensor_id":{"type":"string","description":"extension: a Zigbee sensor registered to this hub"}},"additionalProperties":false}}},"additionalProperties":false}"#,
);
const SETTINGS_BODY: Option<&str> = Some(
    r#"{"type":"object","properties":{"reporting_interval_seconds":{"type":"integer","minimum":60,"maximum":3600},"enabled_sensors":{"type":"array","items":{"type":"string"}},"location":{"type":"object","required":["latitude","longitude"],"properties":{"latitude":{"type":"number"},"longitude":{"type":"number"},"name":{"type":"string"}}},"timezone":{"type":"string","description":"IANA"}},"additionalProperties":false}"#,
);
const RESULT_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["command_id","status"],"properties":{"command_id":{"type":"string"},"status":{"enum":["acked","failed"]},"error_message":{"type":"string"},"result":{"type":"object"}},"additionalProperties":false}"#,
);
const EVENT_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["event"],"properties":{"event":{"enum":["button_press","motion_detected"]},"sensor_id":{"type":"string","description":"a Zigbee sensor of this hub"}},"additionalProperties":false}"#,
);
const ZIGBEE_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["sensor_api_key"],"properties":{"sensor_api_key":{"type":"string"},"ieee_address":{"type":"string","pattern":"^(0x)?[0-9a-fA-F]{16}$"}},"additionalProperties":false}"#,
);
const OTA_STATUS_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["version","status"],"properties":{"version":{"type":"string"},"status":{"enum":["downloading","downloaded","verifying","applying","completed","failed"]},"progress_percent":{"type":"integer","minimum":0,"maximum":100},"error_message":{"type":"string"}},"additionalProperties":false}"#,
);

const VOICE_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["platform","external_account_id"],"properties":{"platform":{"enum":["alexa","google_assistant","homekit"]},"external_account_id":{"type":"string","maxLength":128},"device_ids":{"type":"array","items":{"type":"string"}}},"additionalProperties":false}"#,
);

const AUTOMATION_BODY: Option<&str> = Some(
    r#"{"type":"object","required":["name","trigger","actions"],"properties":{"name":{"type":"string"},"description":{"type":"string"},"deviceId":{"type":"string"},"enabled":{"type":"boolean","default":true},"trigger":{"type":"object","description":"sensor_threshold | sensor_range | schedule | event"},"conditions":{"type":"array","items":{"type":"object","description":"sensor_value | time_window | day_of_week"}},"actions":{"type":"array","minItems":1,"items":{"type":"object","description":"device_command | notification | wait | webhook"}},"cooldown":{"type":"integer","minimum":0,"maximum":86400,"default":300}},"additionalProperties":false}"#,
);
const AUTOMATION_PATCH_BODY: Option<&str> = Some(
    r#"{"type":"object","properties":{"enabled":{"type":"boolean"},"name":{"type":"string"},"description":{"type":"string"},"trigger":{"type":"object"},"conditions":{"type":"array"},"actions":{"type":"array"},"cooldown":{"type":"integer"}},"additionalProperties":false}"#,
);

const DIAG: &[&str] = &["diagnostics:read"];
const ENERGY: &[&str] = &["energy:read"];
const COMFORT: &[&str] = &["comfort:write"];
const ALERTS: &[&str] = &["alerts:write"];
const READ_STATUS: &[&str] = &["diagnostics:read", "comfort:write"];
const ANY: &[&str] = &[];

routes! {
    get "/openapi.json" => openapi_json, "Meta", Open, None, 200, "This OpenAPI description";
    post "/v1/auth/token" => aurra::post_token, "AURRA", Open, TOKEN_BODY, 200, "OAuth 2.0 client credentials: a bearer token for 3600 s";
    get "/v1/thermostat/{device_id}/status" => aurra::get_status, "AURRA", Token(READ_STATUS), None, 200, "Temperature (°F), humidity, mode, Eco, active/offline";
    post "/v1/thermostat/{device_id}/setpoint" => thermostat::post_setpoint, "AURRA", Token(COMFORT), SETPOINT_BODY, 200, "Set the target temperature and mode (sent to the device as a config_update command)";
    post "/v1/thermostat/{device_id}/eco" => thermostat::post_eco, "AURRA", Token(COMFORT), ECO_BODY, 200, "Enable or disable Eco Mode";
    post "/v1/thermostat/{device_id}/schedule" => thermostat::post_schedule, "AURRA", Token(COMFORT), SCHEDULE_BODY, 201, "Create or replace the named schedule (stored until synced)";
    post "/v1/thermostat/{device_id}/schedule/sync" => thermostat::post_schedule_sync, "AURRA", Token(COMFORT), None, 200, "Send the stored schedule to the device";
    get "/v1/predictive/hvac/{device_id}/status" => predictive::get_prediction, "AURRA", Token(DIAG), None, 200, "Maintenance prediction with confidence and recommended action";
    post "/v1/alerts" => predictive::post_alert, "AURRA", Token(ALERTS), ALERT_BODY, 201, "Create (and with dispatch, enterprise only, dispatch) a maintenance alert";
    post "/v1/alerts/{alert_id}/resolve" => predictive::post_resolve, "AURRA", Token(ALERTS), None, 200, "Resolve an alert (409 if already resolved)";
    post "/v1/climate/optimize" => climate::post_optimize, "AURRA", Token(COMFORT), OPTIMIZE_BODY, 200, "A cost-optimal setpoint plan for the next hours from observed occupancy, a weather forecast and the tariff (apply: send the first hour's setpoint)";
    post "/v1/webhooks" => webhooks::post_webhook, "AURRA", Token(ANY), WEBHOOK_BODY, 201, "Register a webhook (signed with X-AURRA-Signature)";
    get "/v1/webhooks/{webhook_id}" => webhooks::get_webhook, "AURRA", Token(ANY), None, 200, "A webhook and its recent deliveries";
    delete "/v1/webhooks/{webhook_id}" => webhooks::delete_webhook, "AURRA", Token(ANY), None, 200, "Delete a webhook and its pending deliveries";
    get "/v1/energy/{device_id}" => ecosystem::get_energy, "AURRA", Token(ENERGY), None, 200, "HVAC energy and cost over period_hours (default 24), grid price, solar and EV where configured";
    post "/v1/voice/links" => ecosystem::post_voice_link, "AURRA", Token(COMFORT), VOICE_BODY, 201, "Link Alexa, Google Assistant or HomeKit (one link per platform)";
    get "/v1/voice/links" => ecosystem::get_voice_links, "AURRA", Token(ANY), None, 200, "The account's voice links";
    delete "/v1/voice/links/{link_id}" => ecosystem::delete_voice_link, "AURRA", Token(COMFORT), None, 200, "Unlink a voice platform";
    post "/v1/diagnostics/vibration" => diagnostics::post_vibration, "AURRA", Token(DIAG), VIBRATION_BODY, 201, "Submit MEMS vibration telemetry (60/min per token)";
    post "/v1/diagnostics/energy" => diagnostics::post_energy, "AURRA", Token(DIAG), ENERGY_BODY, 201, "Submit HVAC runtime telemetry (60/min per token)";
    get "/api/automations" => automations::list, "Automations", Token(ANY), None, 200, "The account's automations";
    post "/api/automations" => automations::create, "Automations", Token(COMFORT), AUTOMATION_BODY, 201, "Create an automation (trigger, conditions, actions, cooldown)";
    get "/api/automations/{id}" => automations::get_one, "Automations", Token(ANY), None, 200, "One automation";
    patch "/api/automations/{id}" => automations::patch, "Automations", Token(COMFORT), AUTOMATION_PATCH_BODY, 200, "Toggle (enabled) or update an automation";
    delete "/api/automations/{id}" => automations::delete, "Automations", Token(COMFORT), None, 200, "Delete an automation";
    get "/api/notifications" => automations::notifications, "Automations", Token(ANY), None, 200, "Extension: the notification outbox of automations, newest first (limit 1–1000, default 100)";
    post "/v1/telemetry" => device_api::post_telemetry, "Device", DeviceKey, TELEMETRY_BODY, 200, "Submit 1–100 sensor readings (60/min per device)";
    get "/v1/settings" => device_api::get_settings, "Device", DeviceKey, None, 200, "This device's configuration (10/min per device)";
    patch "/v1/settings" => device_api::patch_settings, "Device", DeviceKey, SETTINGS_BODY, 200, "Update the configuration (partial)";
    get "/v1/commands/pending" => device_api::get_pending, "Device", DeviceKey, None, 200, "Unexpired commands without a result (30/min per device)";
    post "/v1/commands/result" => device_api::post_result, "Device", DeviceKey, RESULT_BODY, 200, "Report a command's result (idempotent per command)";
    post "/v1/events" => device_api::post_event, "Device", DeviceKey, EVENT_BODY, 200, "Extension: report button_press or motion_detected for event automations (60/min per device)";
    post "/v1/zigbee/sensors" => device_api::post_zigbee, "Device", DeviceKey, ZIGBEE_BODY, 201, "Hubs: register a paired Zigbee sensor";
    get "/v1/ota/check" => ota::get_check, "Device", DeviceKey, None, 200, "Whether an update is offered (query: current_version; 10/min per device)";
    get "/v1/ota/download/{version}" => ota::get_download, "Device", DeviceKey, None, 200, "The firmware image, whole or one Range (5/h per device)";
    post "/v1/ota/status" => ota::post_status, "Device", DeviceKey, OTA_STATUS_BODY, 200, "Report an OTA stage";
}

async fn openapi_json() -> axum::Json<serde_json::Value> {
    axum::Json(openapi::spec(ROUTES))
}

/// The whole API as a router over `state`.
pub fn app(state: AppState) -> Router {
    let limit = state.config().body_limit_bytes;
    mount(Router::new())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
