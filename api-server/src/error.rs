//! Errors, each in its API family's envelope (the one place domain errors
//! become status codes).
//!
//! - AURRA (integration API seed, "Error Response Shape"):
//!   `{"error": {"code": "UNAUTHORIZED", "message": "…", "docs": "https://docs.aurrahome.com/errors/UNAUTHORIZED"}}`
//! - ClimaSense device API (its seed's 401 example):
//!   `{"error": "unauthorized", "message": "Invalid or missing API key"}`
//! - Automations API: its seed shows no error shape; it uses the device
//!   API's flat shape, documented in the OpenAPI spec.
//!
//! Rate-limited responses carry `Retry-After` (whole seconds, rounded up),
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix
//! seconds when the window closes) and the seed's `X-RateLimit-Tier` or
//! `X-RateLimit-Endpoint`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::json;
use sim_core::SimTime;

use crate::ratelimit::Decision;

/// Which API family an error belongs to (which envelope it gets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// AURRA integration API.
    Aurra,
    /// ClimaSense device API.
    Device,
    /// Automations API.
    Automations,
}

/// The kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 400: a field is missing or invalid, or the JSON is malformed.
    BadRequest,
    /// 401: missing, malformed or expired credentials.
    Unauthorized,
    /// 403: the credentials lack the scope or role.
    Forbidden,
    /// 404: no such resource in the caller's account.
    NotFound,
    /// 409: the request conflicts with the resource's state.
    Conflict,
    /// 413: the body exceeds the size limit.
    PayloadTooLarge,
    /// 429: a rate limit was exceeded.
    RateLimited,
}

impl Kind {
    fn status(self) -> StatusCode {
        match self {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Kind::BadRequest => "BAD_REQUEST",
            Kind::Unauthorized => "UNAUTHORIZED",
            Kind::Forbidden => "FORBIDDEN",
            Kind::NotFound => "NOT_FOUND",
            Kind::Conflict => "CONFLICT",
            Kind::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Kind::RateLimited => "RATE_LIMITED",
        }
    }
}

/// Which limit produced a rate decision (for the seed's extra header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// A token's tier: `X-RateLimit-Tier: enterprise|standard`.
    Tier(&'static str),
    /// An endpoint limit: `X-RateLimit-Endpoint: diag|telemetry|…`.
    Endpoint(&'static str),
}

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
const TIER: HeaderName = HeaderName::from_static("x-ratelimit-tier");
const ENDPOINT: HeaderName = HeaderName::from_static("x-ratelimit-endpoint");

/// Rate-limit state to report in headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    /// The limiter's decision.
    pub decision: Decision,
    /// Which limit.
    pub scope: LimitScope,
    /// The request's time.
    pub now: SimTime,
}

impl RateInfo {
    /// Adds the `X-RateLimit-*` headers (and `Retry-After` when refused).
    pub fn apply(&self, headers: &mut HeaderMap) {
        let d = &self.decision;
        // Integers become header values without a formatted string.
        let reset_s = d.reset_at.as_millis().div_euclid(1000)
            + i64::from(d.reset_at.as_millis().rem_euclid(1000) > 0);
        headers.reserve(5);
        headers.insert(LIMIT, HeaderValue::from(d.limit));
        headers.insert(REMAINING, HeaderValue::from(d.remaining));
        headers.insert(RESET, HeaderValue::from(reset_s));
        match self.scope {
            LimitScope::Tier(t) => headers.insert(TIER, HeaderValue::from_static(t)),
            LimitScope::Endpoint(e) => headers.insert(ENDPOINT, HeaderValue::from_static(e)),
        };
        if !d.allowed {
            headers.insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(d.retry_after_s(self.now)),
            );
        }
    }
}

/// An API error.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// Envelope family.
    pub family: Family,
    /// What went wrong.
    pub kind: Kind,
    /// A message naming the field or reason.
    pub message: String,
    /// Rate-limit headers to add, if a limit applied.
    pub rate: Option<RateInfo>,
}

impl ApiError {
    /// An error of `kind` in `family`'s envelope.
    pub fn new(family: Family, kind: Kind, message: impl Into<String>) -> ApiError {
        ApiError {
            family,
            kind,
            message: message.into(),
            rate: None,
        }
    }

    /// A 429 from `rate`.
    pub fn rate_limited(family: Family, rate: RateInfo) -> ApiError {
        ApiError {
            family,
            kind: Kind::RateLimited,
            message: format!(
                "Rate limit of {} requests exceeded; retry after {} s.",
                rate.decision.limit,
                rate.decision.retry_after_s(rate.now)
            ),
            rate: Some(rate),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.family {
            Family::Aurra => json!({"error": {
                "code": self.kind.code(),
                "message": self.message,
                "docs": format!("https://docs.aurrahome.com/errors/{}", self.kind.code()),
            }}),
            Family::Device | Family::Automations => json!({
                "error": self.kind.code().to_ascii_lowercase(),
                "message": self.message,
            }),
        };
        let mut response = (self.kind.status(), Json(body)).into_response();
        if let Some(rate) = self.rate {
            rate.apply(response.headers_mut());
        }
        response
    }
}
