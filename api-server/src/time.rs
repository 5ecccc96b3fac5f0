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
use sim_core::time::{civil_from_days, days_from_civil};

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

/// Parses an ISO 8601 UTC timestamp: the canonical `YYYY-MM-DDTHH:MM:SSZ`
/// by hand (the form devices send, on the hot path), anything else with an
/// explicit UTC designator (`Z` or `+00:00`, fractions allowed) through
/// jiff. `None` if it is not a valid UTC instant.
pub fn parse_utc(s: &str) -> Option<SimTime> {
    let b = s.as_bytes();
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            b[r].iter().try_fold(0i64, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        // A day past the month's end (31 April, 29 February of 2026) comes
        // back as another date.
        let days = days_from_civil(y, mo, d);
        if civil_from_days(days) != (y, mo, d) {
            return None;
        }
        let secs = days * 86_400 + h * 3_600 + mi * 60 + sec;
        return Some(SimTime::from_secs(secs));
    }
    if !(s.ends_with('Z') || s.ends_with("+00:00")) {
        return None;
    }
    s.parse::<SimTime>().ok()
}

/// RFC 3339 in UTC with whole seconds, as the seeds show timestamps
/// (`2026-03-29T12:00:00Z`).
pub fn rfc3339(t: SimTime) -> String {
    let secs = t.as_millis().div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if !(0..=9_999).contains(&y) {
        return SimTime::from_secs(secs).to_string();
    }
    // Fixed width: write the digits straight into `YYYY-MM-DDTHH:MM:SSZ`.
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, value: i64, width: usize| {
        let mut v = value;
        for k in (0..width).rev() {
            out[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, m, 2);
    put(8, d, 2);
    put(11, rem / 3_600, 2);
    put(14, rem % 3_600 / 60, 2);
    put(17, rem % 60, 2);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_and_other_utc_forms() {
        let t: SimTime = "2026-03-29T12:00:00Z".parse().unwrap();
        assert_eq!(parse_utc("2026-03-29T12:00:00Z"), Some(t));
        assert_eq!(parse_utc("2026-03-29T12:00:00+00:00"), Some(t));
        assert_eq!(
            parse_utc("2026-03-29T12:00:00.500Z"),
            Some(t + sim_core::SimDuration::from_millis(500))
        );
        assert_eq!(parse_utc("2026-03-29T14:00:00+02:00"), None, "UTC only");
        assert_eq!(
            parse_utc("2026-02-29T12:00:00Z"),
            None,
            "2026 is not a leap year"
        );
        assert_eq!(
            parse_utc("2028-02-29T12:00:00Z").map(rfc3339).as_deref(),
            Some("2028-02-29T12:00:00Z")
        );
        assert_eq!(parse_utc("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_utc("2026-03-29T24:00:00Z"), None);
        assert_eq!(
            parse_utc("2026-03-29 12:00:00Z"),
            Some(t),
            "RFC 3339 allows a space separator"
        );
        assert_eq!(parse_utc("yesterday"), None);
        assert_eq!(
            rfc3339(t + sim_core::SimDuration::from_millis(999)),
            "2026-03-29T12:00:00Z"
        );
        assert_eq!(rfc3339(SimTime::EPOCH), "1970-01-01T00:00:00Z");
    }

    proptest! {
        /// The hand-written paths agree with jiff for every second from
        /// 1970 to 2200.
        #[test]
        fn fast_paths_agree_with_jiff(secs in 0i64..7_258_118_400) {
            let t = SimTime::from_secs(secs);
            let s = rfc3339(t);
            prop_assert_eq!(&s, &t.to_string());
            prop_assert_eq!(parse_utc(&s), Some(t));
        }
    }
}
