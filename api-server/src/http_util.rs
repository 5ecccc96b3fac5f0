//! Request plumbing shared by every handler: bodies (size limit → 413,
//! malformed JSON → 400), bearer credentials, field validation helpers and
//! responses carrying rate-limit headers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::error::{ApiError, Family, Kind, RateInfo};

/// The request body's bytes: 413 past the size limit.
pub(crate) fn body_bytes(
    family: Family,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                family,
                Kind::PayloadTooLarge,
                "request body exceeds the size limit",
            )
        } else {
            ApiError::new(
                family,
                Kind::BadRequest,
                format!("cannot read the request body: {r}"),
            )
        }
    })
}

/// A typed body; a field's type error names its path (`readings[1].value`).
pub(crate) fn typed<'de, T: serde::Deserialize<'de>>(
    family: Family,
    bytes: &'de [u8],
) -> Result<T, ApiError> {
    // Valid bodies are parsed once, plainly; only a failing body is parsed
    // again with path tracking, to word the error.
    if let Ok(v) = serde_json::from_slice(bytes) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        let message = match inner.classify() {
            serde_json::error::Category::Data if path != "." => format!("{path}: {inner}"),
            serde_json::error::Category::Data => inner.to_string(),
            _ => format!("malformed JSON: {inner}"),
        };
        ApiError::new(family, Kind::BadRequest, message)
    })
}

/// The JSON object of a request body.
pub(crate) fn json_object(
    family: Family,
    body: Result<Bytes, BytesRejection>,
) -> Result<Map<String, Value>, ApiError> {
    json_map(family, &body_bytes(family, body)?)
}

/// The JSON object in `bytes`.
pub(crate) fn json_map(family: Family, bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            family,
            Kind::BadRequest,
            "request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::new(
            family,
            Kind::BadRequest,
            format!("malformed JSON: {e}"),
        )),
    }
}

/// Whether `s` is a local time `HH:MM` (00:00–23:59; also `24:00` when
/// `end_of_day` allows it, for the end of a block).
pub(crate) fn is_hhmm(s: &str, end_of_day: bool) -> bool {
    let b = s.as_bytes();
    let digits =
        b.len() == 5 && b[2] == b':' && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit);
    if !digits {
        return false;
    }
    let (h, m) = (
        (b[0] - b'0') * 10 + (b[1] - b'0'),
        (b[3] - b'0') * 10 + (b[4] - b'0'),
    );
    (h < 24 && m < 60) || (end_of_day && h == 24 && m == 0)
}

/// The request's `Authorization` header, taken without copying the whole
/// header map (what the `HeaderMap` extractor would do on every request).
#[derive(Debug, Clone, Default)]
pub(crate) struct Authz(Option<http::HeaderValue>);

impl Authz {
    /// From a header map.
    pub(crate) fn of(headers: &HeaderMap) -> Authz {
        Authz(headers.get(http::header::AUTHORIZATION).cloned())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Authz {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Authz::of(&parts.headers))
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &Authz) -> Option<&str> {
    let value = headers.0.as_ref()?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// A JSON response with status and optional rate-limit headers.
pub(crate) fn respond<T: serde::Serialize>(
    status: StatusCode,
    body: T,
    rate: Option<RateInfo>,
) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Some(rate) = rate {
        rate.apply(response.headers_mut());
    }
    response
}

/// Field checks that name the field in their error.
pub(crate) struct Fields<'a> {
    pub(crate) family: Family,
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) prefix: String,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(family: Family, map: &'a Map<String, Value>) -> Fields<'a> {
        Fields {
            family,
            map,
            prefix: String::new(),
        }
    }

    pub(crate) fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    pub(crate) fn bad(&self, field: &str, what: &str) -> ApiError {
        ApiError::new(
            self.family,
            Kind::BadRequest,
            format!("{} {what}", self.name(field)),
        )
    }

    /// Rejects keys outside `allowed`.
    pub(crate) fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.bad(k, "is not a known field")),
            None => Ok(()),
        }
    }

    pub(crate) fn required(&self, field: &str) -> Result<&'a Value, ApiError> {
        match self.map.get(field) {
            Some(Value::Null) | None => Err(self.bad(field, "is required")),
            Some(v) => Ok(v),
        }
    }

    pub(crate) fn string(&self, field: &str, max_len: usize) -> Result<&'a str, ApiError> {
        let s = self
            .required(field)?
            .as_str()
            .ok_or_else(|| self.bad(field, "must be a string"))?;
        if s.is_empty() || s.chars().count() > max_len {
            return Err(self.bad(field, &format!("must be 1 to {max_len} characters")));
        }
        Ok(s)
    }

    pub(crate) fn opt_string(
        &self,
        field: &str,
        max_len: usize,
    ) -> Result<Option<&'a str>, ApiError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.string(field, max_len).map(Some),
        }
    }

    /// A string field whose value is one of `allowed`.
    pub(crate) fn one_of(&self, field: &str, allowed: &[&str]) -> Result<&'a str, ApiError> {
        let v = self
            .required(field)?
            .as_str()
            .ok_or_else(|| self.bad(field, "must be a string"))?;
        if allowed.contains(&v) {
            Ok(v)
        } else {
            Err(self.bad(field, &format!("must be one of {}", allowed.join(", "))))
        }
    }

    /// A string field among `allowed`, turned into its typed value by
    /// `parse` (which must accept every name in `allowed`).
    pub(crate) fn parsed<T>(
        &self,
        field: &str,
        allowed: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ApiError> {
        let v = self.one_of(field, allowed)?;
        parse(v).ok_or_else(|| self.bad(field, &format!("must be one of {}", allowed.join(", "))))
    }

    /// A non-empty array field whose items are all among `allowed`.
    pub(crate) fn list_of(&self, field: &str, allowed: &[&str]) -> Result<(), ApiError> {
        let items = self
            .required(field)?
            .as_array()
            .ok_or_else(|| self.bad(field, "must be an array"))?;
        let valid = |v: &Value| v.as_str().is_some_and(|v| allowed.contains(&v));
        if items.is_empty() || !items.iter().all(valid) {
            return Err(self.bad(
                field,
                &format!("must list values among {}", allowed.join(", ")),
            ));
        }
        Ok(())
    }

    pub(crate) fn number_in(&self, field: &str, lo: f64, hi: f64) -> Result<f64, ApiError> {
        let v = self.required(field)?.as_f64().filter(|v| v.is_finite());
        match v {
            Some(v) if (lo..=hi).contains(&v) => Ok(v),
            Some(_) => Err(self.bad(field, &format!("must be between {lo} and {hi}"))),
            None => Err(self.bad(field, "must be a number")),
        }
    }

    pub(crate) fn integer_in(&self, field: &str, lo: i64, hi: i64) -> Result<i64, ApiError> {
        let v = self.required(field)?;
        match v.as_i64() {
            Some(i) if (lo..=hi).contains(&i) => Ok(i),
            Some(_) => Err(self.bad(field, &format!("must be an integer from {lo} to {hi}"))),
            None => Err(self.bad(field, "must be an integer")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times() {
        assert!(is_hhmm("00:00", false) && is_hhmm("23:59", false) && is_hhmm("16:30", false));
        assert!(!is_hhmm("24:00", false));
        assert!(is_hhmm("24:00", true));
        assert!(!is_hhmm("24:01", true));
        for bad in ["4:00", "12:60", "1200", "ab:cd", "12:3x", ""] {
            assert!(!is_hhmm(bad, true), "{bad}");
        }
    }
}
