//! What time it is for a request.
//!
//! Under `thermotwin serve` it is the server's [`Clock`](sim_core::Clock)
//! (the system clock). Inside the simulator, requests of different accounts
//! are handled in parallel, each at its own arrival instant, so the
//! transport stamps every request with a [`RequestTime`] extension and that
//! instant wins; time-driven work goes through `tick(now)` the same way.

use axum::extract::FromRequestParts;
use http::request::Parts;
use sim_core::SimTime;

use crate::state::AppState;

/// The instant a request arrives, set by the simulator's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTime(pub SimTime);

/// The request's "now": its [`RequestTime`] if stamped, else the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now(pub SimTime);

impl FromRequestParts<AppState> for Now {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Now, Self::Rejection> {
        Ok(Now(parts
            .extensions
            .get::<RequestTime>()
            .map_or_else(|| state.clock().now(), |t| t.0)))
    }
}

/// RFC 3339 in UTC with whole seconds, as the seeds show timestamps.
pub fn rfc3339(t: SimTime) -> String {
    let whole = SimTime::from_millis(t.as_millis() - t.as_millis().rem_euclid(1000));
    whole.to_string()
}
