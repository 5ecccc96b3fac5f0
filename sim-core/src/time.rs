//! Simulated time: [`SimTime`] (an instant) and [`SimDuration`] (a span), both
//! with millisecond resolution.
//!
//! An instant is milliseconds since the Unix epoch, UTC. Millisecond resolution
//! is what every interface of the testbed uses (HTTP timestamps, firmware
//! timers, telemetry intervals) and keeps the event key a plain integer, so
//! ordering is exact and platform-independent.
//!
//! Durations parse from the human form scenario files use — `"90s"`, `"15m"`,
//! `"30d"`, `"1h30m"`, `"1.5h"`, `"250ms"` — and display back in that form.
//! Instants parse from and format to ISO 8601 / RFC 3339 in UTC
//! (`2026-07-01T00:00:00Z`), through `jiff`.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::str::FromStr;

/// An instant of simulated time: milliseconds since 1970-01-01T00:00:00Z.
///
/// Arithmetic with [`SimDuration`] saturates at [`SimTime::MIN`] and
/// [`SimTime::MAX`], so `SimTime::MAX` can stand for "never".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(i64);

/// A non-negative span of simulated time in milliseconds.
///
/// Arithmetic saturates at zero and at [`SimDuration::MAX`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration(u64);

/// The instant failed to parse as ISO 8601 / RFC 3339, or lies outside the
/// range `jiff` can represent (years -9999 to 9999).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid instant {input:?}: {reason} (expected ISO 8601 such as 2026-07-01T00:00:00Z)")]
pub struct ParseTimeError {
    input: String,
    reason: String,
}

/// Why a human duration such as `"15m"` failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDurationError {
    /// The text was empty or only white space.
    #[error("empty duration (expected e.g. \"90s\", \"15m\", \"1h30m\", \"30d\")")]
    Empty,
    /// A component did not start with a number.
    #[error("invalid duration {input:?}: expected a number at byte {at}")]
    ExpectedNumber {
        /// The whole text.
        input: String,
        /// Byte offset of the offending character.
        at: usize,
    },
    /// A number had no unit after it.
    #[error("invalid duration {input:?}: number without a unit (use ms, s, m, h, d or w)")]
    MissingUnit {
        /// The whole text.
        input: String,
    },
    /// A unit was not one of `ms`, `s`, `m`, `h`, `d`, `w`.
    #[error("invalid duration {input:?}: unknown unit {unit:?} (use ms, s, m, h, d or w)")]
    UnknownUnit {
        /// The whole text.
        input: String,
        /// The unit as written.
        unit: String,
    },
    /// A fractional component did not come to a whole number of milliseconds.
    #[error("invalid duration {input:?}: finer than the 1 ms resolution")]
    BelowResolution {
        /// The whole text.
        input: String,
    },
    /// The value does not fit in 64 bits of milliseconds.
    #[error("invalid duration {input:?}: too large")]
    Overflow {
        /// The whole text.
        input: String,
    },
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day`
/// (Hinnant, "chrono-Compatible Low-Level Date Algorithms",
/// `days_from_civil`). Months 1–12, days 1–31; no validation.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// The proleptic Gregorian date `(year, month, day)` of a day count from
/// 1970-01-01 (Hinnant's `civil_from_days`); inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const MS_PER_SECOND: u64 = 1_000;
const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
const MS_PER_WEEK: u64 = 7 * MS_PER_DAY;

impl SimTime {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const EPOCH: SimTime = SimTime(0);
    /// The earliest representable instant.
    pub const MIN: SimTime = SimTime(i64::MIN);
    /// The latest representable instant; used as "never".
    pub const MAX: SimTime = SimTime(i64::MAX);

    /// The instant `ms` milliseconds after the Unix epoch (negative: before).
    pub const fn from_millis(ms: i64) -> SimTime {
        SimTime(ms)
    }

    /// The instant `s` whole seconds after the Unix epoch.
    pub const fn from_secs(s: i64) -> SimTime {
        SimTime(s.saturating_mul(MS_PER_SECOND as i64))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: SimTime) -> SimDuration {
        if self.0 <= earlier.0 {
            SimDuration::ZERO
        } else {
            // Cannot overflow: the difference of two i64 fits in u64.
            SimDuration(self.0.abs_diff(earlier.0))
        }
    }

    /// The span from `earlier` to `self`, or `None` if `earlier` is later.
    pub const fn checked_duration_since(self, earlier: SimTime) -> Option<SimDuration> {
        if self.0 < earlier.0 {
            None
        } else {
            Some(SimDuration(self.0.abs_diff(earlier.0)))
        }
    }

    /// `self + d`, or `None` past [`SimTime::MAX`].
    pub fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        let d = i64::try_from(d.0).ok()?;
        self.0.checked_add(d).map(SimTime)
    }

    /// This instant as a `jiff` timestamp (for calendars and time zones), or
    /// `None` outside jiff's range of years -9999 to 9999.
    pub fn to_timestamp(self) -> Option<jiff::Timestamp> {
        jiff::Timestamp::from_millisecond(self.0).ok()
    }

    /// The instant of a `jiff` timestamp, truncated to the millisecond.
    pub fn from_timestamp(ts: jiff::Timestamp) -> SimTime {
        SimTime(ts.as_millisecond())
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms)
    }
    /// `s` seconds.
    pub const fn from_secs(s: u64) -> SimDuration {
        SimDuration(s.saturating_mul(MS_PER_SECOND))
    }
    /// `m` minutes.
    pub const fn from_mins(m: u64) -> SimDuration {
        SimDuration(m.saturating_mul(MS_PER_MINUTE))
    }
    /// `h` hours.
    pub const fn from_hours(h: u64) -> SimDuration {
        SimDuration(h.saturating_mul(MS_PER_HOUR))
    }
    /// `d` days of exactly 24 hours.
    pub const fn from_days(d: u64) -> SimDuration {
        SimDuration(d.saturating_mul(MS_PER_DAY))
    }

    /// A span of `secs` seconds, rounded to the nearest millisecond; `None` if
    /// `secs` is negative, not finite or too large.
    pub fn from_secs_f64(secs: f64) -> Option<SimDuration> {
        let ms = (secs * 1e3).round();
        // u64::MAX as f64 rounds up to 2^64, which must itself be rejected.
        (ms.is_finite() && ms >= 0.0 && ms < u64::MAX as f64).then_some(SimDuration(ms as u64))
    }

    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    /// The span in seconds, as a float (for physics integration).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e3
    }
    /// Whole seconds, rounded up (as HTTP `Retry-After` wants them).
    pub const fn as_secs_ceil(self) -> u64 {
        self.0.div_ceil(MS_PER_SECOND)
    }
    /// Whether this is the empty span.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// `self * n`, saturating.
    pub const fn saturating_mul(self, n: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(n))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add_unsigned(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    fn sub(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub_unsigned(d.0))
    }
}

impl SubAssign<SimDuration> for SimTime {
    fn sub_assign(&mut self, d: SimDuration) {
        *self = *self - d;
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(other.0))
    }
}

impl AddAssign for SimDuration {
    fn add_assign(&mut self, other: SimDuration) {
        *self = *self + other;
    }
}

impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(other.0))
    }
}

impl From<SimDuration> for std::time::Duration {
    fn from(d: SimDuration) -> std::time::Duration {
        std::time::Duration::from_millis(d.0)
    }
}

impl TryFrom<std::time::Duration> for SimDuration {
    type Error = std::num::TryFromIntError;
    /// Truncates to the millisecond; fails past `u64::MAX` milliseconds.
    fn try_from(d: std::time::Duration) -> Result<SimDuration, Self::Error> {
        u64::try_from(d.as_millis()).map(SimDuration)
    }
}

impl fmt::Display for SimTime {
    /// RFC 3339 in UTC, with milliseconds only when they are not zero:
    /// `2026-07-01T00:00:00Z`, `2026-07-01T00:00:00.250Z`. Instants outside
    /// jiff's range print as raw milliseconds (`@-62135596800001ms`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_timestamp() {
            Some(ts) => write!(f, "{ts}"),
            None => write!(f, "@{}ms", self.0),
        }
    }
}

impl fmt::Debug for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimTime({self})")
    }
}

impl FromStr for SimTime {
    type Err = ParseTimeError;
    /// Parses RFC 3339 / ISO 8601 with an offset (`Z` or `±hh:mm`); the
    /// instant is kept to the millisecond.
    fn from_str(s: &str) -> Result<SimTime, ParseTimeError> {
        s.trim()
            .parse::<jiff::Timestamp>()
            .map(SimTime::from_timestamp)
            .map_err(|e| ParseTimeError {
                input: s.to_owned(),
                reason: e.to_string(),
            })
    }
}

impl fmt::Display for SimDuration {
    /// The compact human form that [`FromStr`] reads back: `1d2h3m4s5ms`,
    /// `15m`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, ms) in [
            ("d", MS_PER_DAY),
            ("h", MS_PER_HOUR),
            ("m", MS_PER_MINUTE),
            ("s", MS_PER_SECOND),
            ("ms", 1),
        ] {
            let n = rest / ms;
            if n > 0 {
                write!(f, "{n}{unit}")?;
                rest %= ms;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimDuration({self})")
    }
}

impl FromStr for SimDuration {
    type Err = ParseDurationError;

    /// Parses one or more `<number><unit>` components, optionally separated by
    /// spaces: `90s`, `15m`, `30d`, `1h30m`, `1h 30m`, `1.5h`, `250ms`, `2w`.
    /// Units: `ms`, `s`, `m` (minutes), `h`, `d` (24 h), `w` (7 d). A
    /// fractional number must come to whole milliseconds.
    fn from_str(input: &str) -> Result<SimDuration, ParseDurationError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseDurationError::Empty);
        }
        let bytes = s.as_bytes();
        let owned = || input.to_owned();
        let mut total: u64 = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b' ' {
                i += 1;
                continue;
            }
            // Number: digits, optionally '.' and more digits.
            let int_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let int_part = &s[int_start..i];
            let mut frac_part = "";
            if i < bytes.len() && bytes[i] == b'.' {
                i += 1;
                let frac_start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                frac_part = &s[frac_start..i];
            }
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(ParseDurationError::ExpectedNumber {
                    input: owned(),
                    at: int_start + (input.len() - input.trim_start().len()),
                });
            }
            // Unit: ASCII letters.
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &s[unit_start..i];
            let unit_ms = match unit {
                "" => return Err(ParseDurationError::MissingUnit { input: owned() }),
                "ms" => 1,
                "s" => MS_PER_SECOND,
                "m" => MS_PER_MINUTE,
                "h" => MS_PER_HOUR,
                "d" => MS_PER_DAY,
                "w" => MS_PER_WEEK,
                other => {
                    return Err(ParseDurationError::UnknownUnit {
                        input: owned(),
                        unit: other.to_owned(),
                    });
                }
            };
            let overflow = || ParseDurationError::Overflow { input: owned() };
            let whole: u64 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| overflow())?
            };
            let mut ms = whole.checked_mul(unit_ms).ok_or_else(overflow)?;
            if !frac_part.is_empty() {
                // frac = digits / 10^len; its share of the unit must be whole ms.
                let digits = frac_part.trim_end_matches('0');
                if !digits.is_empty() {
                    let scale = u32::try_from(digits.len())
                        .ok()
                        .and_then(|n| 10u128.checked_pow(n))
                        .ok_or_else(|| ParseDurationError::BelowResolution { input: owned() })?;
                    let num: u128 = digits
                        .parse()
                        .map_err(|_| ParseDurationError::BelowResolution { input: owned() })?;
                    let scaled = num * u128::from(unit_ms);
                    if !scaled.is_multiple_of(scale) {
                        return Err(ParseDurationError::BelowResolution { input: owned() });
                    }
                    let frac_ms = u64::try_from(scaled / scale).map_err(|_| overflow())?;
                    ms = ms.checked_add(frac_ms).ok_or_else(overflow)?;
                }
            }
            total = total.checked_add(ms).ok_or_else(overflow)?;
        }
        Ok(SimDuration(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> SimDuration {
        s.parse().unwrap()
    }

    #[test]
    fn parses_human_durations() {
        assert_eq!(d("90s"), SimDuration::from_secs(90));
        assert_eq!(d("15m"), SimDuration::from_mins(15));
        assert_eq!(d("30d"), SimDuration::from_days(30));
        assert_eq!(d("1h30m"), SimDuration::from_mins(90));
        assert_eq!(d(" 1h 30m "), SimDuration::from_mins(90));
        assert_eq!(d("1.5h"), SimDuration::from_mins(90));
        assert_eq!(d(".5s"), SimDuration::from_millis(500));
        assert_eq!(d("250ms"), SimDuration::from_millis(250));
        assert_eq!(d("2w"), SimDuration::from_days(14));
        assert_eq!(d("0s"), SimDuration::ZERO);
        assert_eq!(d("1.0s"), SimDuration::from_secs(1));
    }

    #[test]
    fn rejects_bad_durations_with_a_reason() {
        use ParseDurationError::*;
        assert_eq!("".parse::<SimDuration>(), Err(Empty));
        assert!(matches!(
            "15".parse::<SimDuration>(),
            Err(MissingUnit { .. })
        ));
        assert!(matches!(
            "15y".parse::<SimDuration>(),
            Err(UnknownUnit { unit, .. }) if unit == "y"
        ));
        assert!(matches!(
            "h".parse::<SimDuration>(),
            Err(ExpectedNumber { at: 0, .. })
        ));
        assert!(matches!(
            "-5s".parse::<SimDuration>(),
            Err(ExpectedNumber { at: 0, .. })
        ));
        assert!(matches!(
            "0.5ms".parse::<SimDuration>(),
            Err(BelowResolution { .. })
        ));
        assert!(matches!(
            "99999999999999999999d".parse::<SimDuration>(),
            Err(Overflow { .. })
        ));
        let msg = "15y".parse::<SimDuration>().unwrap_err().to_string();
        assert!(
            msg.contains("\"15y\"") && msg.contains("unknown unit"),
            "{msg}"
        );
    }

    #[test]
    fn duration_display_round_trips() {
        for ms in [0, 1, 999, 1_000, 61_001, 86_400_000, 93_784_005, u64::MAX] {
            let dur = SimDuration::from_millis(ms);
            assert_eq!(dur.to_string().parse::<SimDuration>(), Ok(dur), "{dur}");
        }
        assert_eq!(
            SimDuration::from_millis(93_784_005).to_string(),
            "1d2h3m4s5ms"
        );
        assert_eq!(SimDuration::from_mins(15).to_string(), "15m");
    }

    #[test]
    fn instants_format_as_iso_8601_utc() {
        assert_eq!(SimTime::EPOCH.to_string(), "1970-01-01T00:00:00Z");
        let t: SimTime = "2026-07-01T12:30:00Z".parse().unwrap();
        assert_eq!(t.as_millis(), 1_782_909_000_000);
        assert_eq!(t.to_string(), "2026-07-01T12:30:00Z");
        let t2 = t + SimDuration::from_millis(250);
        assert_eq!(t2.to_string(), "2026-07-01T12:30:00.25Z");
        assert_eq!(t2.to_string().parse::<SimTime>(), Ok(t2));
        // Offsets are converted to UTC.
        let t3: SimTime = "2026-07-01T14:30:00+02:00".parse().unwrap();
        assert_eq!(t3, t);
        assert!("2026-07-01 noon".parse::<SimTime>().is_err());
        assert_eq!(SimTime::MAX.to_string(), format!("@{}ms", i64::MAX));
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            // Agrees with jiff's calendar.
            let date = jiff::civil::Date::new(y as i16, m as i8, d as i8).unwrap();
            let ts = date.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
            assert_eq!(ts.as_second(), days * 86_400);
        }
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimDuration::from_secs(1), SimTime::MAX);
        assert_eq!(SimTime::MIN - SimDuration::from_secs(1), SimTime::MIN);
        assert_eq!(SimTime::MIN + SimDuration::MAX, SimTime::MAX);
        let a = SimTime::from_secs(10);
        let b = SimTime::from_secs(4);
        assert_eq!(a.saturating_duration_since(b), SimDuration::from_secs(6));
        assert_eq!(b.saturating_duration_since(a), SimDuration::ZERO);
        assert_eq!(b.checked_duration_since(a), None);
        assert_eq!(
            SimTime::MAX.saturating_duration_since(SimTime::MIN),
            SimDuration::MAX
        );
        assert_eq!(SimTime::MAX.checked_add(SimDuration::from_millis(1)), None);
        assert_eq!(SimDuration::from_millis(1001).as_secs_ceil(), 2);
        assert_eq!(SimDuration::from_millis(1000).as_secs_ceil(), 1);
        assert_eq!(
            SimDuration::from_secs_f64(1.5),
            Some(SimDuration::from_millis(1500))
        );
        assert_eq!(SimDuration::from_secs_f64(-1.0), None);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), None);
    }
}
