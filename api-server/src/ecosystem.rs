//! Two small AURRA surfaces the seed names but does not specify, designed
//! here:
//!
//! **Energy ecosystem** — `GET /v1/energy/{device_id}?period_hours=24`
//! (scope `energy:read`): the HVAC energy use over the period from the
//! device's submitted energy diagnostics, `kWh = Σ V·I·PF·runtime`, with the
//! power factor of a PSC compressor motor (0.85, as the physics model
//! assumes); its cost at the account's grid price (a flat rate, or a peak
//! window in the device's local time); and the home's solar and EV
//! equipment where configured. `period_hours` is 1–8760.
//!
//! **Voice account links** — `POST /v1/voice/links` (`comfort:write`;
//! `{platform: alexa|google_assistant|homekit, external_account_id,
//! device_ids?}` → 201; one link per platform per account, else 409),
//! `GET /v1/voice/links` (any scope), `DELETE /v1/voice/links/{link_id}`
//! (`comfort:write`; 404 if unknown).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};
use sim_core::{SimDuration, SimTime};

use crate::aurra::authorize;
use crate::error::{ApiError, Family, Kind};
use crate::http_util::{Authz, Fields, json_object, respond};
use crate::state::AppState;
use crate::time::{Now, rfc3339};

const F: Family = Family::Aurra;

/// Power factor assumed for compressor energy from V and I.
pub const POWER_FACTOR: f64 = 0.85;

/// An account's electricity price.
#[derive(Debug, Clone, PartialEq)]
pub struct Tariff {
    /// Price per kWh outside the peak window.
    pub price_per_kwh: f64,
    /// ISO 4217 currency.
    pub currency: String,
    /// A daily peak window in local hours `[start, end)` and its price.
    pub peak: Option<(u8, u8, f64)>,
}

impl Tariff {
    /// The price per kWh in local hour `hour` (0–23).
    pub fn price_at(&self, hour: i8) -> f64 {
        match self.peak {
            Some((start, end, peak))
                if (i8::try_from(start).unwrap_or(0)..i8::try_from(end).unwrap_or(0))
                    .contains(&hour) =>
            {
                peak
            }
            _ => self.price_per_kwh,
        }
    }
}

impl Default for Tariff {
    /// 0.15 USD/kWh flat (about the US residential average).
    fn default() -> Self {
        Tariff {
            price_per_kwh: 0.15,
            currency: "USD".into(),
            peak: None,
        }
    }
}

/// A home's solar and EV equipment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HomeEnergy {
    /// Rooftop solar capacity [kW peak], if any.
    pub solar_kw: Option<f64>,
    /// EV battery capacity [kWh] and charger power [kW], if any.
    pub ev: Option<(f64, f64)>,
}

/// A voice-assistant link.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceLink {
    /// Id (a UUID).
    pub link_id: String,
    /// `alexa`, `google_assistant` or `homekit`.
    pub platform: String,
    /// The account at the voice platform.
    pub external_account_id: String,
    /// Devices exposed (all of the account's when empty).
    pub device_ids: Vec<String>,
    /// When linked.
    pub linked_at: SimTime,
}

impl VoiceLink {
    fn to_json(&self) -> Value {
        json!({"link_id": self.link_id, "platform": self.platform, "external_account_id": self.external_account_id,
               "device_ids": self.device_ids, "linked_at": rfc3339(self.linked_at)})
    }
}

const PLATFORMS: [&str; 3] = ["alexa", "google_assistant", "homekit"];

#[derive(serde::Deserialize)]
pub(crate) struct PeriodQuery {
    period_hours: Option<String>,
}

/// `GET /v1/energy/{device_id}`.
pub(crate) async fn get_energy(
    State(state): State<AppState>,
    Now(now): Now,
    Path(device_id): Path<String>,
    headers: Authz,
    query: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &["energy:read"])?;
    let hours = match query.ok().and_then(|Query(q)| q.period_hours) {
        None => 24,
        Some(h) => h
            .parse::<u64>()
            .ok()
            .filter(|h| (1..=8_760).contains(h))
            .ok_or_else(|| {
                ApiError::new(
                    F,
                    Kind::BadRequest,
                    "period_hours must be an integer from 1 to 8760",
                )
            })?,
    };
    let from = now - SimDuration::from_hours(hours);
    let body = state
        .with_account(caller.grant.account, |acc| {
            let d = acc
                .device(&device_id)
                .ok_or_else(|| ApiError::new(F, Kind::NotFound, format!("device_id {device_id} does not exist in your account.")))?;
            let tz = jiff::tz::TimeZone::get(&d.settings.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
            let tariff = &acc.tariff;
            let (mut kwh, mut cost, mut runtime) = (0.0, 0.0, 0u64);
            for r in acc.store.energy(d.index).iter().filter(|r| r.period_start >= from && r.period_start < now) {
                let e = r.voltage_v * r.current_a * POWER_FACTOR * r.runtime_mins as f64 / 60.0 / 1_000.0;
                let hour = r.period_start.to_timestamp().map_or(0, |t| tz.to_datetime(t).hour());
                let price = tariff.price_at(hour);
                kwh += e;
                cost += e * price;
                runtime += r.runtime_mins;
            }
            let round = |x: f64, places: i32| (x * 10f64.powi(places)).round() / 10f64.powi(places);
            Ok(json!({
                "device_id": device_id,
                "period_start": rfc3339(from),
                "period_end": rfc3339(now),
                "hvac_kwh": round(kwh, 3),
                "runtime_mins": runtime,
                "cost": {"amount": round(cost, 2), "currency": tariff.currency},
                "grid_price": {"per_kwh": tariff.price_per_kwh, "currency": tariff.currency,
                               "peak": tariff.peak.map(|(s, e, p)| json!({"start_hour": s, "end_hour": e, "per_kwh": p}))},
                "solar": d.home_energy.solar_kw.map(|kw| json!({"capacity_kw": kw})),
                "ev": d.home_energy.ev.map(|(kwh, kw)| json!({"battery_kwh": kwh, "charger_kw": kw})),
            }))
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(StatusCode::OK, body, Some(caller.rate)))
}

/// `POST /v1/voice/links`.
pub(crate) async fn post_voice_link(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &["comfort:write"])?;
    let body = json_object(F, body)?;
    let f = Fields::new(F, &body);
    f.only(&["platform", "external_account_id", "device_ids"])?;
    let platform = f.one_of("platform", &PLATFORMS)?;
    let external = f.string("external_account_id", 128)?.to_owned();
    let device_ids: Vec<String> = match body.get("device_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => v
            .as_array()
            .ok_or_else(|| f.bad("device_ids", "must be an array of device ids"))?
            .iter()
            .enumerate()
            .map(|(i, d)| {
                d.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| f.bad(&format!("device_ids[{i}]"), "must be a string"))
            })
            .collect::<Result<_, _>>()?,
    };
    let link = state
        .with_account(caller.grant.account, |acc| {
            if let Some(missing) = device_ids.iter().find(|d| acc.device(d).is_none()) {
                return Err(ApiError::new(
                    F,
                    Kind::NotFound,
                    format!("device_id {missing} does not exist in your account."),
                ));
            }
            if acc.voice_links.iter().any(|l| l.platform == platform) {
                return Err(ApiError::new(
                    F,
                    Kind::Conflict,
                    format!("{platform} is already linked; unlink it first."),
                ));
            }
            let link = VoiceLink {
                link_id: acc.uuid(),
                platform: platform.to_owned(),
                external_account_id: external,
                device_ids,
                linked_at: now,
            };
            acc.voice_links.push(link.clone());
            Ok(link)
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(
        StatusCode::CREATED,
        link.to_json(),
        Some(caller.rate),
    ))
}

/// `GET /v1/voice/links`.
pub(crate) async fn get_voice_links(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &[])?;
    let links = state
        .with_account(caller.grant.account, |acc| {
            acc.voice_links
                .iter()
                .map(VoiceLink::to_json)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    Ok(respond(
        StatusCode::OK,
        json!({"links": links}),
        Some(caller.rate),
    ))
}

/// `DELETE /v1/voice/links/{link_id}`.
pub(crate) async fn delete_voice_link(
    State(state): State<AppState>,
    Now(now): Now,
    Path(link_id): Path<String>,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &["comfort:write"])?;
    let removed = state
        .with_account(caller.grant.account, |acc| {
            let before = acc.voice_links.len();
            acc.voice_links.retain(|l| l.link_id != link_id);
            acc.voice_links.len() < before
        })
        .unwrap_or(false);
    if !removed {
        return Err(ApiError::new(
            F,
            Kind::NotFound,
            format!("voice link {link_id} does not exist in your account."),
        ));
    }
    Ok(respond(
        StatusCode::OK,
        json!({"unlinked": true, "link_id": link_id}),
        Some(caller.rate),
    ))
}
