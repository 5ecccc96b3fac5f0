//! Sun position and sunrise/sunset, for solar gains and for sunrise/sunset
//! automations.
//!
//! The astronomy is the `solar-positioning` crate: Grena (2012) algorithm 3
//! (±0.01°, years 2010–2110) where it applies, NREL's SPA (Reda & Andreas
//! 2004, ±0.0003°) outside it. ΔT (TT − UT) comes from the crate's
//! Espenak–Meeus estimate. Sunrise and sunset use the standard −0.833°
//! horizon (refraction and the solar radius).

use sim_core::{SimDuration, SimTime};
use solar_positioning::time::JulianDate;
use solar_positioning::{Horizon, Location, SolarEvents, SolarPositions};

use crate::params::{ParamError, check_range};

/// Unix epoch as a Julian date.
const JD_UNIX_EPOCH: f64 = 2_440_587.5;
const MS_PER_DAY: f64 = 86_400_000.0;

/// A point on the Earth's surface.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Site {
    /// Latitude [°], north positive, −90 to 90.
    pub latitude_deg: f64,
    /// Longitude [°], east positive, −180 to 180.
    pub longitude_deg: f64,
    /// Elevation above sea level [m], −500 to 9000.
    pub elevation_m: f64,
}

impl Site {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_range("latitude_deg", self.latitude_deg, -90.0, 90.0)?;
        check_range("longitude_deg", self.longitude_deg, -180.0, 180.0)?;
        check_range("elevation_m", self.elevation_m, -500.0, 9_000.0)
    }

    fn location(&self) -> Location {
        Location {
            latitude: self.latitude_deg,
            longitude: self.longitude_deg,
        }
    }
}

/// Where the sun stands, seen from a site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunPosition {
    /// Elevation above the horizon [°], −90 to 90 (refraction-corrected for a
    /// standard atmosphere).
    pub elevation_deg: f64,
    /// Azimuth [°], clockwise from north, 0 to 360.
    pub azimuth_deg: f64,
}

impl SunPosition {
    /// Cosine of the zenith angle (sine of the elevation): 0 at the horizon.
    pub fn cos_zenith(&self) -> f64 {
        self.elevation_deg.to_radians().sin()
    }
}

/// Sunrise and sunset of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SunEvents {
    /// The first sunrise in the 24 h searched, if the sun rises.
    pub sunrise: Option<SimTime>,
    /// The first sunset in the 24 h searched, if the sun sets.
    pub sunset: Option<SimTime>,
}

fn julian(t: SimTime) -> f64 {
    t.as_millis() as f64 / MS_PER_DAY + JD_UNIX_EPOCH
}

fn from_julian(jd: f64) -> SimTime {
    SimTime::from_millis(((jd - JD_UNIX_EPOCH) * MS_PER_DAY).round() as i64)
}

fn delta_t_s(t: SimTime) -> f64 {
    let year = 1970.0 + t.as_millis() as f64 / (365.2425 * MS_PER_DAY);
    // The estimate covers -1999 to 3000; clamp, as ΔT barely matters here.
    solar_positioning::delta_t::estimate(year.clamp(-1_999.0, 3_000.0)).unwrap_or(69.0)
}

/// The sun's position at `t` seen from `site`.
///
/// Sites are validated when models are built; an invalid one here gives the
/// sun below the horizon rather than a panic.
pub fn sun_position(t: SimTime, site: &Site) -> SunPosition {
    let dt = delta_t_s(t);
    let refraction = Some(solar_positioning::RefractionCorrection::standard());
    let position = JulianDate::new(julian(t), dt).ok().and_then(|jd| {
        SolarPositions::grena3()
            .at_from_julian(jd, site.location(), 0.0, refraction)
            .or_else(|_| SolarPositions::new().at_from_julian(jd, site.location(), 0.0, refraction))
            .ok()
    });
    match position {
        Some(p) => SunPosition {
            elevation_deg: p.elevation_angle(),
            azimuth_deg: p.azimuth(),
        },
        None => SunPosition {
            elevation_deg: -90.0,
            azimuth_deg: 0.0,
        },
    }
}

/// The first sunrise and sunset in the 24 hours from `from`.
pub fn sun_events(from: SimTime, site: &Site) -> SunEvents {
    let start = julian(from);
    let end = julian(from + SimDuration::from_days(1));
    let dt = delta_t_s(from);
    let events = SolarEvents::new();
    let find = |rise: bool| {
        let r = if rise {
            events.next_rise_from_julian(start, end, site.location(), dt, Horizon::SunriseSunset)
        } else {
            events.next_set_from_julian(start, end, site.location(), dt, Horizon::SunriseSunset)
        };
        r.ok().flatten().map(from_julian)
    };
    SunEvents {
        sunrise: find(true),
        sunset: find(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONDON: Site = Site {
        latitude_deg: 51.5074,
        longitude_deg: -0.1278,
        elevation_m: 11.0,
    };

    fn t(s: &str) -> SimTime {
        s.parse().unwrap()
    }

    fn minutes_between(a: SimTime, b: SimTime) -> f64 {
        (a.as_millis() - b.as_millis()).abs() as f64 / 60_000.0
    }

    #[test]
    fn london_midsummer_sunrise_and_sunset() {
        // Published almanac times for London on 2026-06-21: sunrise 04:43 BST
        // (03:43 UTC), sunset 21:21 BST (20:21 UTC).
        let ev = sun_events(t("2026-06-21T00:00:00Z"), &LONDON);
        let rise = ev.sunrise.unwrap();
        let set = ev.sunset.unwrap();
        assert!(
            minutes_between(rise, t("2026-06-21T03:43:00Z")) < 2.0,
            "{rise}"
        );
        assert!(
            minutes_between(set, t("2026-06-21T20:21:00Z")) < 2.0,
            "{set}"
        );
    }

    #[test]
    fn noon_elevation_follows_the_declination() {
        // At the June solstice (declination 23.44°) the noon sun at 40° N stands
        // 90 − 40 + 23.44 = 73.44° high; find the day's maximum.
        let site = Site {
            latitude_deg: 40.0,
            longitude_deg: 0.0,
            elevation_m: 0.0,
        };
        let day = t("2026-06-21T00:00:00Z");
        let max = (0..24 * 60)
            .map(|m| sun_position(day + SimDuration::from_mins(m), &site).elevation_deg)
            .fold(f64::MIN, f64::max);
        assert!((max - 73.44).abs() < 0.1, "max elevation {max}");
        // At midnight the sun is far below the horizon; at noon it is due south.
        assert!(sun_position(day, &site).elevation_deg < -20.0);
        let noon = sun_position(day + SimDuration::from_hours(12), &site);
        assert!((noon.azimuth_deg - 180.0).abs() < 3.0, "{noon:?}");
    }

    #[test]
    fn polar_day_has_no_sunset() {
        let tromso = Site {
            latitude_deg: 69.65,
            longitude_deg: 18.96,
            elevation_m: 0.0,
        };
        let ev = sun_events(t("2026-06-21T00:00:00Z"), &tromso);
        assert_eq!(
            ev,
            SunEvents {
                sunrise: None,
                sunset: None
            }
        );
        assert!(sun_position(t("2026-06-21T23:00:00Z"), &tromso).elevation_deg > 0.0);
    }

    #[test]
    fn outside_grena_years_spa_takes_over() {
        let site = Site {
            latitude_deg: 0.0,
            longitude_deg: 0.0,
            elevation_m: 0.0,
        };
        // 1990-03-21 12:00 UTC: the equinox sun near the zenith at 0°, 0°.
        let p = sun_position(t("1990-03-21T12:00:00Z"), &site);
        assert!(p.elevation_deg > 85.0, "{p:?}");
    }

    #[test]
    fn site_validation_names_the_field() {
        let bad = Site {
            latitude_deg: 95.0,
            ..LONDON
        };
        assert_eq!(bad.validate().unwrap_err().name, "latitude_deg");
        assert!(LONDON.validate().is_ok());
    }
}
