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

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::StatusCode;
use sim_core::SimDuration;

use crate::aurra::authorize;
use crate::error::{ApiError, Family, Kind, LimitScope, RateInfo};
use crate::http_util::{Authz, Fields, body_bytes, json_map, respond};
use crate::predictors::Sample;
use crate::state::{AppState, EnergyReport, LimitKey, VibrationReport};
use crate::time::{Now, parse_utc, rfc3339};

const F: Family = Family::Aurra;

/// Diagnostics requests per minute per token (seed).
pub const DIAG_PER_MINUTE: u32 = 60;

fn timestamp(f: &Fields<'_>, field: &str) -> Result<sim_core::SimTime, ApiError> {
    let s = f.string(field, TIMESTAMP_CHARS)?;
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

/// A body's device id (borrowed from it where no escape needed decoding)
/// and report.
type Parsed<'b> = (Cow<'b, str>, Report);

/// One diagnostics endpoint's two parsers: a typed one for the common case
/// (borrowed strings, no JSON tree) that accepts only a body the checked
/// one accepts, giving the same report, or declines; and the checked one,
/// field by field, whose errors name the field and its range.
struct Parser {
    fast: fn(&[u8], sim_core::SimTime) -> Option<Parsed<'_>>,
    checked: fn(&Fields<'_>, sim_core::SimTime) -> Result<Report, ApiError>,
}

/// The device id and report in `bytes`: the typed parse when it accepts the
/// body, otherwise the checked one (and its error).
fn parse<'b>(
    parser: &Parser,
    bytes: &'b [u8],
    now: sim_core::SimTime,
) -> Result<Parsed<'b>, ApiError> {
    if let Some(parsed) = (parser.fast)(bytes, now) {
        return Ok(parsed);
    }
    let (device_id, report) = parse_checked(parser, bytes, now)?;
    Ok((Cow::Owned(device_id), report))
}

/// The checked parse alone: field by field, each error naming its field.
fn parse_checked(
    parser: &Parser,
    bytes: &[u8],
    now: sim_core::SimTime,
) -> Result<(String, Report), ApiError> {
    let body = json_map(F, bytes)?;
    let f = Fields::new(F, &body);
    let device_id = f.string("device_id", DEVICE_ID_CHARS)?.to_owned();
    Ok((device_id, (parser.checked)(&f, now)?))
}

/// The longest `device_id` [characters].
const DEVICE_ID_CHARS: usize = 128;
/// The longest timestamp [characters].
const TIMESTAMP_CHARS: usize = 64;

/// What [`Fields::string`] accepts: 1 to `max` characters.
fn string_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.chars().count() <= max
}

/// A timestamp field the checked parse would accept.
fn timestamp_ok(s: &str) -> Option<sim_core::SimTime> {
    string_ok(s, TIMESTAMP_CHARS)
        .then(|| parse_utc(s))
        .flatten()
}

/// Answer of both endpoints (keys in the order the JSON map wrote them).
#[derive(serde::Serialize)]
struct Received<'a> {
    device_id: &'a str,
    received: bool,
    timestamp: String,
}

async fn submit(
    state: AppState,
    now: sim_core::SimTime,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
    parser: &Parser,
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
            let bytes = body_bytes(F, body)?;
            let (device_id, report) = parse(parser, &bytes, now)?;
            let index = acc
                .device_ids
                .get(device_id.as_ref())
                .copied()
                .ok_or_else(|| {
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
                Received {
                    device_id: &device_id,
                    received: true,
                    timestamp: rfc3339(now),
                },
                Some(diag),
            ))
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))?
}

/// `POST /v1/diagnostics/vibration`'s body as the firmware sends it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VibrationBody<'a> {
    #[serde(borrow)]
    device_id: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    amplitude: f64,
    frequency: f64,
    duration_ms: Option<u64>,
    rms: Option<f64>,
    kurtosis: Option<f64>,
}

/// Ranges of the vibration fields (seed; `rms` and `kurtosis` are ours).
const AMPLITUDE_G: (f64, f64) = (0.0, 10.0);
const FREQUENCY_HZ: (f64, f64) = (0.0, 100_000.0);
const DURATION_MS: (i64, i64) = (1, 600_000);
const RMS_G_MAX: f64 = 10.0;
const KURTOSIS_MAX: f64 = 1e6;

fn within(v: f64, (lo, hi): (f64, f64)) -> bool {
    (lo..=hi).contains(&v)
}

fn vibration_fast(bytes: &[u8], now: sim_core::SimTime) -> Option<Parsed<'_>> {
    let b: VibrationBody<'_> = serde_json::from_slice(bytes).ok()?;
    let duration_ms = b.duration_ms.unwrap_or(1_000);
    let ok = string_ok(&b.device_id, DEVICE_ID_CHARS)
        && within(b.amplitude, AMPLITUDE_G)
        && within(b.frequency, FREQUENCY_HZ)
        && (DURATION_MS.0 as u64..=DURATION_MS.1 as u64).contains(&duration_ms)
        && b.rms.is_none_or(|v| within(v, (0.0, RMS_G_MAX)))
        && b.kurtosis.is_none_or(|v| within(v, (0.0, KURTOSIS_MAX)));
    let timestamp = timestamp_ok(&b.timestamp).filter(|_| ok)?;
    let report = VibrationReport {
        timestamp,
        amplitude_g: b.amplitude,
        frequency_hz: b.frequency,
        duration_ms,
        rms_g: b.rms,
        kurtosis: b.kurtosis,
        received_at: now,
    };
    Some((b.device_id, Report::Vibration(report)))
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
        Some(_) => f.integer_in("duration_ms", DURATION_MS.0, DURATION_MS.1)? as u64,
    };
    Ok(Report::Vibration(VibrationReport {
        timestamp: timestamp(f, "timestamp")?,
        amplitude_g: f.number_in("amplitude", AMPLITUDE_G.0, AMPLITUDE_G.1)?,
        frequency_hz: f.number_in("frequency", FREQUENCY_HZ.0, FREQUENCY_HZ.1)?,
        duration_ms,
        rms_g: opt_nonneg(f, "rms", RMS_G_MAX)?,
        kurtosis: opt_nonneg(f, "kurtosis", KURTOSIS_MAX)?,
        received_at: now,
    }))
}

/// `POST /v1/diagnostics/energy`'s body as the firmware sends it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EnergyBody<'a> {
    #[serde(borrow)]
    device_id: Cow<'a, str>,
    runtime_mins: u64,
    voltage: f64,
    current_amps: f64,
    #[serde(borrow)]
    period_start: Cow<'a, str>,
}

/// Ranges of the energy fields (seed).
const RUNTIME_MINS: (i64, i64) = (0, 100_000);
const VOLTAGE_V: (f64, f64) = (0.0, 1_000.0);
const CURRENT_A: (f64, f64) = (0.0, 1_000.0);

fn energy_fast(bytes: &[u8], now: sim_core::SimTime) -> Option<Parsed<'_>> {
    let b: EnergyBody<'_> = serde_json::from_slice(bytes).ok()?;
    let ok = string_ok(&b.device_id, DEVICE_ID_CHARS)
        && b.runtime_mins <= RUNTIME_MINS.1 as u64
        && within(b.voltage, VOLTAGE_V)
        && within(b.current_amps, CURRENT_A);
    let period_start = timestamp_ok(&b.period_start).filter(|_| ok)?;
    let report = EnergyReport {
        period_start,
        runtime_mins: b.runtime_mins,
        voltage_v: b.voltage,
        current_a: b.current_amps,
        received_at: now,
        outdoor_c: None,
    };
    Some((b.device_id, Report::Energy(report)))
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
        runtime_mins: f.integer_in("runtime_mins", RUNTIME_MINS.0, RUNTIME_MINS.1)? as u64,
        voltage_v: f.number_in("voltage", VOLTAGE_V.0, VOLTAGE_V.1)?,
        current_a: f.number_in("current_amps", CURRENT_A.0, CURRENT_A.1)?,
        received_at: now,
        outdoor_c: None,
    }))
}

const VIBRATION: Parser = Parser {
    fast: vibration_fast,
    checked: parse_vibration,
};

const ENERGY: Parser = Parser {
    fast: energy_fast,
    checked: parse_energy,
};

/// `POST /v1/diagnostics/vibration`.
pub(crate) async fn post_vibration(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    submit(state, now, headers, body, &VIBRATION).await
}

/// `POST /v1/diagnostics/energy`.
pub(crate) async fn post_energy(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    submit(state, now, headers, body, &ENERGY).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &Report, b: &Report) -> bool {
        match (a, b) {
            (Report::Vibration(a), Report::Vibration(b)) => a == b,
            (Report::Energy(a), Report::Energy(b)) => a == b,
            _ => false,
        }
    }

    /// The typed parse accepts exactly what the checked one accepts among
    /// these bodies and gives the same report; where it declines, `parse`
    /// answers with the checked parse's error.
    fn agree(parser: &Parser, bodies: &[&str]) -> usize {
        let now = sim_core::SimTime::from_millis(5);
        let mut accepted = 0;
        for body in bodies {
            let fast = (parser.fast)(body.as_bytes(), now);
            let slow = parse_checked(parser, body.as_bytes(), now);
            match (&fast, &slow) {
                (Some((id, r)), Ok((sid, sr))) => {
                    assert_eq!(id, sid, "{body}");
                    assert!(same(r, sr), "{body}");
                    accepted += 1;
                }
                (Some(_), Err(e)) => panic!("fast accepted what checked rejects ({e:?}): {body}"),
                (None, _) => match (parse(parser, body.as_bytes(), now), slow) {
                    (Ok((id, r)), Ok((sid, sr))) => assert!(id == sid && same(&r, &sr), "{body}"),
                    (Err(a), Err(b)) => assert_eq!(a, b, "{body}"),
                    _ => panic!("parse and checked disagree: {body}"),
                },
            }
        }
        accepted
    }

    #[test]
    fn typed_vibration_parse_agrees_with_the_checked_one() {
        let ok = r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120,"duration_ms":2000,"rms":0.2,"kurtosis":3.1}"#;
        let bodies = [
            ok,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120}"#,
            r#"{"device_id":"d\u002d1","timestamp":"2026-07-01T00:00:00Z","amplitude":0,"frequency":0,"rms":null}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":10.5,"frequency":120}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":-0.1,"frequency":120}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":1e6}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120,"duration_ms":0}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120,"duration_ms":1000.0}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120,"duration_ms":600001}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120,"rms":11}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120,"kurtosis":-1}"#,
            r#"{"device_id":"d-1","timestamp":"yesterday","amplitude":0.4,"frequency":120}"#,
            r#"{"device_id":"","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120}"#,
            r#"{"device_id":7,"timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120}"#,
            r#"{"timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":"0.4","frequency":120}"#,
            r#"{"device_id":"d-1","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120,"phase":1}"#,
            r#"{"device_id":"d-1","device_id":"d-2","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120}"#,
            r#"[1,2]"#,
            r#"{"device_id":"d-1""#,
        ];
        assert_eq!(agree(&VIBRATION, &bodies), 3);
        let long = format!(
            r#"{{"device_id":"{}","timestamp":"2026-07-01T00:00:00Z","amplitude":0.4,"frequency":120}}"#,
            "é".repeat(129)
        );
        assert_eq!(agree(&VIBRATION, &[&long]), 0);
    }

    #[test]
    fn typed_energy_parse_agrees_with_the_checked_one() {
        let bodies = [
            r#"{"device_id":"d-1","runtime_mins":12,"voltage":240.0,"current_amps":9.5,"period_start":"2026-07-01T00:00:00Z"}"#,
            r#"{"device_id":"d-1","runtime_mins":0,"voltage":0,"current_amps":1000,"period_start":"2026-07-01T00:00:00Z"}"#,
            r#"{"device_id":"d-1","runtime_mins":100001,"voltage":240.0,"current_amps":9.5,"period_start":"2026-07-01T00:00:00Z"}"#,
            r#"{"device_id":"d-1","runtime_mins":-1,"voltage":240.0,"current_amps":9.5,"period_start":"2026-07-01T00:00:00Z"}"#,
            r#"{"device_id":"d-1","runtime_mins":1.5,"voltage":240.0,"current_amps":9.5,"period_start":"2026-07-01T00:00:00Z"}"#,
            r#"{"device_id":"d-1","runtime_mins":12,"voltage":1000.5,"current_amps":9.5,"period_start":"2026-07-01T00:00:00Z"}"#,
            r#"{"device_id":"d-1","runtime_mins":12,"voltage":240.0,"current_amps":-2,"period_start":"2026-07-01T00:00:00Z"}"#,
            r#"{"device_id":"d-1","runtime_mins":12,"voltage":240.0,"current_amps":9.5,"period_start":"2026-07-01"}"#,
            r#"{"device_id":"d-1","runtime_mins":12,"voltage":240.0,"current_amps":9.5}"#,
            r#"{"device_id":"d-1","runtime_mins":12,"voltage":240.0,"current_amps":9.5,"period_start":"2026-07-01T00:00:00Z","power":1}"#,
        ];
        assert_eq!(agree(&ENERGY, &bodies), 2);
    }
}
