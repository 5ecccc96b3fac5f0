//! The AURRA integration API's authentication: OAuth 2.0 client
//! credentials (`POST /v1/auth/token`) and the bearer-token check every other
//! AURRA endpoint performs — expiry against the request's time, scopes, and
//! the per-token tier limit.
//!
//! Tokens are 128 random bits from the account's seeded stream, prefixed
//! `at_`; only their SHA-256 is stored. They live 3,600 s. A request may ask
//! for a subset of its client's scopes with the OAuth `scope` parameter
//! (space-separated); without it the token gets all of them. Asking for a
//! scope the client does not have is a 400 (`invalid_scope`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::json;
use sim_core::{SimDuration, SimTime};

use crate::credentials::SecretHash;
use crate::error::{ApiError, Family, Kind, LimitScope, RateInfo};
use crate::http_util::{Authz, Fields, bearer, json_object, respond};
use crate::state::{AppState, Grant, LimitKey, SensorType};
use crate::time::Now;

const F: Family = Family::Aurra;

/// Access-token lifetime (seed: 3,600 s).
pub const TOKEN_LIFETIME: SimDuration = SimDuration::from_secs(3_600);

/// `POST /v1/auth/token`.
pub(crate) async fn post_token(
    State(state): State<AppState>,
    Now(now): Now,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_object(F, body)?;
    let f = Fields::new(F, &body);
    f.only(&["client_id", "client_secret", "grant_type", "scope"])?;
    let client_id = f.string("client_id", 128)?;
    let secret = f.string("client_secret", 256)?;
    let grant_type = f.string("grant_type", 64)?;
    if grant_type != "client_credentials" {
        return Err(f.bad("grant_type", "must be the literal value client_credentials"));
    }
    let requested: Option<Vec<String>> = f
        .opt_string("scope", 512)?
        .map(|s| s.split_whitespace().map(str::to_owned).collect());
    let invalid = || ApiError::new(F, Kind::Unauthorized, "Invalid client credentials.");
    let account = state.client_account(client_id).ok_or_else(invalid)?;
    let (token, grant) = state
        .with_account(account, |acc| {
            let client = acc
                .clients
                .iter()
                .find(|c| c.client_id == client_id)
                .cloned()
                .ok_or_else(invalid)?;
            if !client.secret.matches(secret) {
                return Err(invalid());
            }
            let scopes = match requested {
                Some(req) => {
                    if let Some(s) = req.iter().find(|s| !client.scopes.contains(s)) {
                        return Err(ApiError::new(
                            F,
                            Kind::BadRequest,
                            format!("scope {s:?} is not granted to this client (invalid_scope)"),
                        ));
                    }
                    req
                }
                None => client.scopes.clone(),
            };
            let token = format!("at_{}", acc.random_hex());
            let grant = Grant {
                account,
                client_id: client.client_id.as_str().into(),
                scopes: scopes.into(),
                tier: client.tier,
                expires_at: now + TOKEN_LIFETIME,
            };
            Ok((token, grant))
        })
        .ok_or_else(invalid)??;
    let scope = grant.scopes.join(" ");
    state.store_token(&token, grant);
    Ok(respond(
        StatusCode::OK,
        json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME.as_millis() / 1000, "scope": scope}),
        None,
    ))
}

/// An authenticated AURRA caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The token's hash (keys per-token limits).
    pub(crate) token: SecretHash,
    pub(crate) grant: Grant,
    /// The tier limit's state, for the response headers.
    pub(crate) rate: RateInfo,
}

/// Checks the bearer token (401 if missing, malformed, unknown or expired
/// at `now`), that it holds one of `scopes` (403), and counts the request
/// against the token's tier limit (429).
pub(crate) fn authorize(
    state: &AppState,
    headers: &Authz,
    now: SimTime,
    scopes: &[&str],
) -> Result<Caller, ApiError> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError::new(F, Kind::Unauthorized, "Missing or malformed Bearer token.")
    })?;
    let (hash, grant) = state.grant(token).ok_or_else(|| {
        ApiError::new(
            F,
            Kind::Unauthorized,
            "Unknown Bearer token. Request a new token.",
        )
    })?;
    if now >= grant.expires_at {
        return Err(ApiError::new(
            F,
            Kind::Unauthorized,
            "Bearer token has expired. Request a new token.",
        ));
    }
    if !scopes.is_empty() && !grant.scopes.iter().any(|s| scopes.contains(&s.as_str())) {
        return Err(ApiError::new(
            F,
            Kind::Forbidden,
            format!("Token lacks the required scope ({}).", scopes.join(" or ")),
        ));
    }
    let decision = state
        .with_account(grant.account, |acc| {
            acc.limiter.check(
                LimitKey::Token(hash),
                now,
                grant.tier.per_minute(),
                SimDuration::from_mins(1),
            )
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))?;
    let rate = RateInfo {
        decision,
        scope: LimitScope::Tier(grant.tier.as_str()),
        now,
    };
    if !decision.allowed {
        return Err(ApiError::rate_limited(F, rate));
    }
    Ok(Caller {
        token: hash,
        grant,
        rate,
    })
}

/// `GET /v1/thermostat/{device_id}/status` (scope `diagnostics:read` or
/// `comfort:write`): the latest temperature [°F] and humidity [%] the
/// device reported, the mode and Eco state integrations set, and `active`
/// or `offline` (no request for over 5 minutes).
pub(crate) async fn get_status(
    State(state): State<AppState>,
    Now(now): Now,
    Path(device_id): Path<String>,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(
        &state,
        &headers,
        now,
        &["diagnostics:read", "comfort:write"],
    )?;
    let body = state
        .with_account(caller.grant.account, |acc| {
            let d = acc.device(&device_id).ok_or_else(|| {
                ApiError::new(
                    F,
                    Kind::NotFound,
                    format!("device_id {device_id} does not exist in your account."),
                )
            })?;
            let temperature_f = d
                .latest(SensorType::Temperature)
                .map(|c| (c * 9.0 / 5.0 + 32.0).round() as i64);
            let humidity = d.latest(SensorType::Humidity).map(|h| h.round() as i64);
            Ok(json!({
                "temperature": temperature_f,
                "humidity": humidity,
                "mode": d.thermostat.mode.as_str(),
                "eco_mode": d.thermostat.eco_mode,
                "status": if d.online(now) { "active" } else { "offline" },
            }))
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(StatusCode::OK, body, Some(caller.rate)))
}
