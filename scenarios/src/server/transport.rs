//! The in-process transport: requests reach the real axum router at their
//! arrival time (stamped as a request extension), and answers come back
//! without a socket.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use api_server::RequestTime;
use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::Value;
use sim_core::SimTime;
use tower::ServiceExt;

/// Polls a future that never waits on I/O (the in-process router) to
/// completion; `None` if it does not finish.
pub fn block_on<F: Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return Some(v);
        }
    }
    None
}

/// One in-process HTTP exchange: (status, headers, body).
pub fn call(
    router: &Router,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    at: SimTime,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let Some(req) = request(method, path, headers, body, at) else {
        return (
            400,
            Vec::new(),
            b"{\"error\":\"unsendable request\"}".to_vec(),
        );
    };
    let Some(Ok(resp)) = block_on(router.clone().oneshot(req)) else {
        return (503, Vec::new(), Vec::new());
    };
    let status = resp.status().as_u16();
    // Only the header the simulated clients act on crosses back: the
    // firmware and the integrations read `Retry-After` (bodies are always
    // JSON); copying every X-RateLimit-* header into owned strings for each
    // of millions of responses was the runner's largest allocation cost.
    let headers = resp
        .headers()
        .get(http::header::RETRY_AFTER)
        .map(|v| {
            vec![(
                "retry-after".to_owned(),
                v.to_str().unwrap_or("").to_owned(),
            )]
        })
        .unwrap_or_default();
    // A one-frame body comes back as the server's own buffer (no copy).
    let body = block_on(resp.into_body().collect())
        .and_then(Result::ok)
        .map(|c| Vec::from(c.to_bytes()))
        .unwrap_or_default();
    (status, headers, body)
}

/// The `http::Request` of an exchange; `None` if a part is not valid HTTP.
/// The headers clients send are named by the `http` crate's constants (no
/// parsing of their names per request).
pub(super) fn request(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    at: SimTime,
) -> Option<http::Request<Body>> {
    let mut req = http::Request::new(Body::from(body));
    *req.method_mut() = match method {
        "GET" => http::Method::GET,
        "POST" => http::Method::POST,
        "PATCH" => http::Method::PATCH,
        "PUT" => http::Method::PUT,
        "DELETE" => http::Method::DELETE,
        other => http::Method::from_bytes(other.as_bytes()).ok()?,
    };
    *req.uri_mut() = http::Uri::try_from(path).ok()?;
    req.extensions_mut().insert(RequestTime(at));
    let map = req.headers_mut();
    map.reserve(headers.len());
    for (k, v) in headers {
        let name = if k.eq_ignore_ascii_case("authorization") {
            http::header::AUTHORIZATION
        } else if k.eq_ignore_ascii_case("content-type") {
            http::header::CONTENT_TYPE
        } else {
            http::HeaderName::try_from(k.as_str()).ok()?
        };
        map.append(name, http::HeaderValue::try_from(v.as_str()).ok()?);
    }
    Some(req)
}

/// A JSON call with an optional bearer token: (status, headers, JSON body).
pub(super) fn call_json(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    at: SimTime,
) -> (u16, Vec<(String, String)>, Value) {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(t) = token {
        headers.push(("authorization".to_owned(), format!("Bearer {t}")));
    }
    let bytes = body
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let (status, headers, body) = call(router, method, path, &headers, bytes, at);
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

pub(super) fn retry_after(headers: &[(String, String)]) -> u64 {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_server::AppState;
    use std::sync::Arc;

    #[test]
    fn the_router_answers_in_process_with_its_status_and_retry_after() {
        let state = AppState::new(
            Arc::new(sim_core::VirtualClock::new(SimTime::EPOCH)),
            0,
            api_server::ServerConfig::default(),
        );
        let router = api_server::app(state);
        let (status, headers, v) = call_json(
            &router,
            "GET",
            "/v1/thermostat/nobody/status",
            Some("not-a-token"),
            None,
            SimTime::EPOCH,
        );
        assert_eq!(status, 401, "{v}");
        assert!(headers.is_empty());
        assert!(v.is_object());
        // A method HTTP cannot carry is answered here, not sent.
        let (status, _, _) = call(
            &router,
            "GE T",
            "/v1/telemetry",
            &[],
            Vec::new(),
            SimTime::EPOCH,
        );
        assert_eq!(status, 400);
        assert_eq!(retry_after(&[("Retry-After".into(), "12".into())]), 12);
        assert_eq!(retry_after(&[]), 60);
    }
}
