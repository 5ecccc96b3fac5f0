//! AURRA diagnostics: `POST /v1/diagnostics/vibration` and
//! `POST /v1/diagnostics/energy`, the telemetry behind predictive
//! maintenance.
//!
//! Bearer token with scope `diagnostics:read` (the seed defines no write
//! scope for the diagnostics family, so its one scope covers submitting and
//! reading), the token's tier limit, and on top the seed's diagnostics limit
//! of 60 requests per minute per token (`X-RateLimit-Endpoint: diag`).
//! Validation per the seed: `device_id` in the caller's account (404
//! otherwise), `timestamp`/`period_start` ISO 8601 UTC, `amplitude` 0.0–10.0
//! g, `frequency` ≥ 0 Hz (up to 100 kHz), `duration_ms` 1–600,000 (default
//! 1,000), `runtime_mins` 0–100,000, `voltage` 0–1,000 V, `current_amps`
//! 0–1,000 A; optional extra fields `rms` (≥ 0 g) and `kurtosis` (≥ 0).
//! Reports are kept per device, bounded like telemetry. Answers 201.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::StatusCode;
use serde_json::json;
use sim_core::SimDuration;

use crate::aurra::authorize;
use crate::error::{ApiError, Family, Kind, LimitScope, RateInfo};
use crate::http_util::{Authz, Fields, json_object, respond};
use crate::predictors::Sample;
use crate::state::{AppState, EnergyReport, LimitKey, VibrationReport};
use crate::time::{Now, parse_utc, rfc3339};

const F: Family = Family::Aurra;

/// Diagnostics requests per minute per token (seed).
pub const DIAG_PER_MINUTE: u32 = 60;

fn timestamp(f: &Fields<'_>, field: &str) -> Result<sim_core::SimTime, ApiError> {
    let s = f.string(field, 64)?;
    parse_utc(s).ok_or_else(|| {
        f.bad(
            field,
            "must be an ISO 8601 UTC timestamp such as 2025-04-22T14:00:00Z",
        )
    })
}

fn opt_nonneg(f: &Fields<'_>, field: &str, hi: f64) -> Result<Option<f64>, ApiError> {
    match f.map.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(_) => f.number_in(field, 0.0, hi).map(Some),
    }
}

/// The outdoor temperature at device `index`'s location at `at`, from the
/// server's weather source (the features compare the running current and
/// runtime with it).
fn outdoor_c(
    state: &AppState,
    acc: &crate::state::Account,
    index: usize,
    at: sim_core::SimTime,
) -> Option<f64> {
    let location = acc.devices.get(index)?.settings.location.as_ref()?;
    state
        .forecast()?
        .outdoor_c(location.latitude, location.longitude, at, 1)?
        .first()
        .copied()
}

enum Report {
    Vibration(VibrationReport),
    Energy(EnergyReport),
}

async fn submit(
    state: AppState,
    now: sim_core::SimTime,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
    parse: fn(&Fields<'_>, sim_core::SimTime) -> Result<Report, ApiError>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &["diagnostics:read"])?;
    state
        .with_account(caller.grant.account, |acc| {
            let decision = acc.limiter.check(
                LimitKey::Diagnostics(caller.token),
                now,
                DIAG_PER_MINUTE,
                SimDuration::from_mins(1),
            );
            let diag = RateInfo {
                decision,
                scope: LimitScope::Endpoint("diag"),
                now,
            };
            if !decision.allowed {
                return Err(ApiError::rate_limited(F, diag));
            }
            let body = json_object(F, body)?;
            let f = Fields::new(F, &body);
            let device_id = f.string("device_id", 128)?;
            let report = parse(&f, now)?;
            let index = acc.device_ids.get(device_id).copied().ok_or_else(|| {
                ApiError::new(
                    F,
                    Kind::NotFound,
                    format!("device_id {device_id} does not exist in your account."),
                )
            })?;
            match report {
                Report::Vibration(r) => {
                    crate::predictive::assess(
                        &state,
                        acc,
                        index as usize,
                        Sample::Vibration(&r),
                        now,
                    );
                    acc.store.append_vibration(index, r);
                }
                Report::Energy(mut r) => {
                    r.outdoor_c = outdoor_c(&state, acc, index as usize, r.period_start);
                    crate::predictive::assess(&state, acc, index as usize, Sample::Energy(&r), now);
                    acc.store.append_energy(index, r);
                }
            }
            // Both limits apply; report the tighter (the diagnostics one).
            Ok(respond(
                StatusCode::CREATED,
                json!({"received": true, "device_id": device_id, "timestamp": rfc3339(now)}),
                Some(diag),
            ))
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))?
}

fn parse_vibration(f: &Fields<'_>, now: sim_core::SimTime) -> Result<Report, ApiError> {
    f.only(&[
        "device_id",
        "timestamp",
        "amplitude",
        "frequency",
        "duration_ms",
        "rms",
        "kurtosis",
    ])?;
    let duration_ms = match f.map.get("duration_ms") {
        None | Some(serde_json::Value::Null) => 1_000,
        Some(_) => f.integer_in("duration_ms", 1, 600_000)? as u64,
    };
    Ok(Report::Vibration(VibrationReport {
        timestamp: timestamp(f, "timestamp")?,
        amplitude_g: f.number_in("amplitude", 0.0, 10.0)?,
        frequency_hz: f.number_in("frequency", 0.0, 100_000.0)?,
        duration_ms,
        rms_g: opt_nonneg(f, "rms", 10.0)?,
        kurtosis: opt_nonneg(f, "kurtosis", 1e6)?,
        received_at: now,
    }))
}

fn parse_energy(f: &Fields<'_>, now: sim_core::SimTime) -> Result<Report, ApiError> {
    f.only(&[
        "device_id",
        "runtime_mins",
        "voltage",
        "current_amps",
        "period_start",
    ])?;
    Ok(Report::Energy(EnergyReport {
        period_start: timestamp(f, "period_start")?,
        runtime_mins: f.integer_in("runtime_mins", 0, 100_000)? as u64,
        voltage_v: f.number_in("voltage", 0.0, 1_000.0)?,
        current_a: f.number_in("current_amps", 0.0, 1_000.0)?,
        received_at: now,
        outdoor_c: None,
    }))
}

/// `POST /v1/diagnostics/vibration`.
pub(crate) async fn post_vibration(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    submit(state, now, headers, body, parse_vibration).await
}

/// `POST /v1/diagnostics/energy`.
pub(crate) async fn post_energy(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    submit(state, now, headers, body, parse_energy).await
}
