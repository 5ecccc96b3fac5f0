//! The firmware's own clock type: milliseconds since the Unix epoch, as the
//! device's RTC keeps it. The firmware never reads a clock; every input
//! carries `now`.

use std::fmt;

/// An instant on the device's clock [ms since 1970-01-01T00:00:00Z].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub i64);

impl Instant {
    /// Later by `ms` milliseconds (saturating).
    pub const fn plus_ms(self, ms: u64) -> Instant {
        Instant(self.0.saturating_add_unsigned(ms))
    }

    /// Later by `s` seconds (saturating).
    pub const fn plus_secs(self, s: u64) -> Instant {
        self.plus_ms(s.saturating_mul(1000))
    }

    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub const fn ms_since(self, earlier: Instant) -> u64 {
        if self.0 <= earlier.0 {
            0
        } else {
            self.0.abs_diff(earlier.0)
        }
    }

    /// RFC 3339 in UTC with whole seconds, as the APIs want timestamps
    /// (`2026-03-29T12:00:00Z`).
    pub fn to_rfc3339(self) -> String {
        jiff::Timestamp::from_millisecond(self.0 - self.0.rem_euclid(1000))
            .map(|t| t.to_string())
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
    }

    /// Parses an RFC 3339 timestamp (any offset).
    pub fn parse_rfc3339(s: &str) -> Option<Instant> {
        s.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| Instant(t.as_millisecond()))
    }

    /// This instant as a `jiff` timestamp.
    pub fn to_timestamp(self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({})", self.to_timestamp())
    }
}

/// Converts °F (the API's unit) to °C (the sensors').
pub fn f_to_c(f: f64) -> f64 {
    (f - 32.0) * 5.0 / 9.0
}

/// Converts °C to °F.
pub fn c_to_f(c: f64) -> f64 {
    c * 9.0 / 5.0 + 32.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_to_the_second() {
        let t = Instant::parse_rfc3339("2026-03-29T12:00:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-29T12:00:00Z");
        assert_eq!(t.plus_ms(1_999).to_rfc3339(), "2026-03-29T12:00:01Z");
        assert_eq!(t.plus_secs(60).ms_since(t), 60_000);
        assert_eq!(t.ms_since(t.plus_secs(1)), 0);
        assert_eq!(Instant::parse_rfc3339("2026-03-29T14:00:00+02:00"), Some(t));
        assert_eq!(Instant::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn temperature_conversions() {
        assert_eq!(f_to_c(32.0), 0.0);
        assert!((f_to_c(72.0) - 22.222_222).abs() < 1e-6);
        assert!((c_to_f(f_to_c(68.0)) - 68.0).abs() < 1e-12);
    }
}
