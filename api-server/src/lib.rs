//! api-server: the AURRA integration API, the ClimaSense device API and the
//! Automations API as one axum [`Router`], over an injectable clock.
//!
//! ```text
//!   request ─► Router ─┬─ /v1/auth/token,
//!                      │  /v1/thermostat/{id}/status ─ aurra (OAuth bearer tokens)
//!                      ├─ /v1/diagnostics/{vibration,energy} ─ diagnostics
//!                      ├─ /v1/telemetry, /v1/settings,
//!                      │  /v1/commands/* ─────────── device_api (hashed API keys)
//!                      └─ (fallback 404)
//!              each handler: Now (RequestTime | clock) → auth → rate limit →
//!              validate → account partition (Mutex) → JSON + X-RateLimit-*
//! ```
//!
//! The same `app(state)` runs under `thermotwin serve` on the system clock
//! and inside the simulator, where the transport stamps each request with its
//! virtual arrival time ([`time::RequestTime`]) and requests of different
//! accounts run in parallel (each account is its own lock).
//!
//! Built so far: auth (OAuth tokens, hashed device keys), rate limits, the
//! three error envelopes, thermostat status and control, diagnostics,
//! predictions (baseline predictor) and alerts, telemetry, settings,
//! commands, Zigbee registration, OTA with staged rollouts, and `tick`.
//! Webhooks (signed, retried) and offline detection run from `tick`.
//! Still to build (issue 5's note): a real-HTTP webhook sink, climate
//! optimisation, the energy ecosystem, voice links, the Automations API,
//! `/openapi.json` and `thermotwin serve`.

pub mod aurra;
pub mod credentials;
pub mod device_api;
pub mod diagnostics;
pub mod error;
pub(crate) mod http_util;
pub mod ota;
pub mod predictive;
pub mod ratelimit;
pub mod serve;
pub mod state;
pub mod thermostat;
pub mod time;
pub mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use error::{ApiError, Family, Kind};

pub use state::{AppState, ServerConfig, Tier};
pub use time::RequestTime;

async fn not_found() -> ApiError {
    ApiError::new(Family::Device, Kind::NotFound, "no such endpoint")
}

/// The whole API as a router over `state`.
pub fn app(state: AppState) -> Router {
    let limit = state.config().body_limit_bytes;
    Router::new()
        .route("/v1/auth/token", post(aurra::post_token))
        .route("/v1/thermostat/{device_id}/status", get(aurra::get_status))
        .route(
            "/v1/thermostat/{device_id}/setpoint",
            post(thermostat::post_setpoint),
        )
        .route("/v1/thermostat/{device_id}/eco", post(thermostat::post_eco))
        .route(
            "/v1/thermostat/{device_id}/schedule",
            post(thermostat::post_schedule),
        )
        .route(
            "/v1/thermostat/{device_id}/schedule/sync",
            post(thermostat::post_schedule_sync),
        )
        .route(
            "/v1/predictive/hvac/{device_id}/status",
            get(predictive::get_prediction),
        )
        .route("/v1/alerts", post(predictive::post_alert))
        .route("/v1/webhooks", post(webhooks::post_webhook))
        .route(
            "/v1/webhooks/{webhook_id}",
            get(webhooks::get_webhook).delete(webhooks::delete_webhook),
        )
        .route(
            "/v1/alerts/{alert_id}/resolve",
            post(predictive::post_resolve),
        )
        .route(
            "/v1/diagnostics/vibration",
            post(diagnostics::post_vibration),
        )
        .route("/v1/diagnostics/energy", post(diagnostics::post_energy))
        .route("/v1/telemetry", post(device_api::post_telemetry))
        .route(
            "/v1/settings",
            get(device_api::get_settings).patch(device_api::patch_settings),
        )
        .route("/v1/commands/pending", get(device_api::get_pending))
        .route("/v1/commands/result", post(device_api::post_result))
        .route("/v1/zigbee/sensors", post(device_api::post_zigbee))
        .route("/v1/ota/check", get(ota::get_check))
        .route("/v1/ota/download/{version}", get(ota::get_download))
        .route("/v1/ota/status", post(ota::post_status))
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
