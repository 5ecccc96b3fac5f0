//! Outdoor weather at a site: an hourly [`WeatherSeries`] that any instant can
//! be read from (linear interpolation), made by the [`synthetic`] generator or
//! read from an [EPW](epw) file.
//!
//! ```text
//!   SyntheticClimate ─generate(seed, site)─┐
//!                                          ├─► WeatherSeries ─at(t)─► WeatherSample
//!   EPW file ──────────────epw::read───────┘      (shared by all homes at a site)
//! ```
//!
//! A series is immutable once built, so one `Arc<WeatherSeries>` serves every
//! home at a site from any thread, and reading it never draws randomness.

/// EnergyPlus weather files.
pub mod epw;
/// The synthetic climate generator.
pub mod synthetic;

use sim_core::{SimDuration, SimTime};

/// Outdoor conditions at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WeatherSample {
    /// Dry-bulb air temperature [°C].
    pub dry_bulb_c: f64,
    /// Dew-point temperature [°C].
    pub dew_point_c: f64,
    /// Relative humidity [%], 0–100.
    pub rel_humidity_pct: f64,
    /// Station pressure [Pa].
    pub pressure_pa: f64,
    /// Global horizontal irradiance [W/m²].
    pub ghi_w_m2: f64,
    /// Direct normal irradiance [W/m²].
    pub dni_w_m2: f64,
    /// Diffuse horizontal irradiance [W/m²].
    pub dhi_w_m2: f64,
    /// Wind speed at 10 m [m/s].
    pub wind_speed_m_s: f64,
}

impl WeatherSample {
    fn lerp(&self, other: &WeatherSample, f: f64) -> WeatherSample {
        let l = |a: f64, b: f64| a + (b - a) * f;
        WeatherSample {
            dry_bulb_c: l(self.dry_bulb_c, other.dry_bulb_c),
            dew_point_c: l(self.dew_point_c, other.dew_point_c),
            rel_humidity_pct: l(self.rel_humidity_pct, other.rel_humidity_pct),
            pressure_pa: l(self.pressure_pa, other.pressure_pa),
            ghi_w_m2: l(self.ghi_w_m2, other.ghi_w_m2),
            dni_w_m2: l(self.dni_w_m2, other.dni_w_m2),
            dhi_w_m2: l(self.dhi_w_m2, other.dhi_w_m2),
            wind_speed_m_s: l(self.wind_speed_m_s, other.wind_speed_m_s),
        }
    }
}

/// How a series maps instants outside its hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// A span of real time: instants before the first sample read the first,
    /// after the last read the last.
    Clamped,
    /// A typical year (EPW): 8760 hourly samples repeated every year, read
    /// by local standard time with a fixed UTC offset; 29 February reads 28
    /// February. Temperatures, humidity, pressure and wind are the values at
    /// the hour's end; irradiance is the total received over the hour ending
    /// there (TMY3 User's Manual, Wilcox & Marion 2008, NREL/TP-581-43156,
    /// §1.3: "the total amount of direct and diffuse solar radiation received
    /// … during the 60-minute period ending at the timestamp"), so it is read
    /// as standing at the hour's middle.
    TypicalYear {
        /// Offset of the site's standard time from UTC [s].
        utc_offset_s: i32,
    },
}

/// Hourly weather samples at one site.
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherSeries {
    /// For [`Extent::Clamped`]: the instant of `samples[0]`. For
    /// [`Extent::TypicalYear`]: unused (`samples[i]` is hour `i + 1` of the
    /// year in local standard time, as EPW numbers hours 1–24).
    first: SimTime,
    samples: Vec<WeatherSample>,
    extent: Extent,
}

const HOUR_MS: i64 = 3_600_000;
/// Hours in a typical (non-leap) year.
pub const HOURS_PER_TYPICAL_YEAR: usize = 8_760;

impl WeatherSeries {
    /// A series of real-time hourly samples, the first at `first`.
    ///
    /// # Panics
    /// If `samples` is empty.
    pub fn hourly(first: SimTime, samples: Vec<WeatherSample>) -> WeatherSeries {
        assert!(
            !samples.is_empty(),
            "a weather series needs at least one sample"
        );
        WeatherSeries {
            first,
            samples,
            extent: Extent::Clamped,
        }
    }

    /// A typical year of 8760 hourly samples in local standard time.
    ///
    /// # Panics
    /// If there are not exactly 8760 samples.
    pub fn typical_year(samples: Vec<WeatherSample>, utc_offset_s: i32) -> WeatherSeries {
        assert_eq!(
            samples.len(),
            HOURS_PER_TYPICAL_YEAR,
            "a typical year has 8760 hours"
        );
        WeatherSeries {
            first: SimTime::EPOCH,
            samples,
            extent: Extent::TypicalYear { utc_offset_s },
        }
    }

    /// The hourly samples.
    pub fn samples(&self) -> &[WeatherSample] {
        &self.samples
    }

    /// How instants map to samples.
    pub fn extent(&self) -> Extent {
        self.extent
    }

    /// Conditions at `t`, interpolated linearly between the hours around it.
    pub fn at(&self, t: SimTime) -> WeatherSample {
        match self.extent {
            Extent::Clamped => {
                let offset = t.as_millis().saturating_sub(self.first.as_millis());
                if offset <= 0 {
                    return self.samples[0];
                }
                let i = (offset / HOUR_MS) as usize;
                if i + 1 >= self.samples.len() {
                    return self.samples[self.samples.len() - 1];
                }
                let f = (offset % HOUR_MS) as f64 / HOUR_MS as f64;
                self.samples[i].lerp(&self.samples[i + 1], f)
            }
            Extent::TypicalYear { utc_offset_s } => {
                let mut w = self.typical_at(t, utc_offset_s);
                // Irradiance is the hour's total, so it stands for the
                // hour's middle: read it half an hour later.
                let sun = self.typical_at(t + SimDuration::from_mins(30), utc_offset_s);
                w.ghi_w_m2 = sun.ghi_w_m2;
                w.dni_w_m2 = sun.dni_w_m2;
                w.dhi_w_m2 = sun.dhi_w_m2;
                w
            }
        }
    }

    /// A typical year's samples interpolated at `t`, sample `i` standing at
    /// the end of hour `i + 1`.
    fn typical_at(&self, t: SimTime, utc_offset_s: i32) -> WeatherSample {
        let (hour_of_year, f) = typical_hour(t, utc_offset_s);
        let n = HOURS_PER_TYPICAL_YEAR;
        let i0 = (hour_of_year + n - 1) % n;
        let i1 = hour_of_year % n;
        self.samples[i0].lerp(&self.samples[i1], f)
    }

    /// Mean dry-bulb temperature over `[from, from + span)` sampled hourly [°C].
    pub fn mean_dry_bulb_c(&self, from: SimTime, span: SimDuration) -> f64 {
        let hours = (span.as_millis() / HOUR_MS as u64).max(1);
        let sum: f64 = (0..hours)
            .map(|h| self.at(from + SimDuration::from_hours(h)).dry_bulb_c)
            .sum();
        sum / hours as f64
    }
}

/// Whole hours since 1 January 00:00 local standard time in a 365-day year,
/// and the fraction of the next hour.
fn typical_hour(t: SimTime, utc_offset_s: i32) -> (usize, f64) {
    let local_ms = t.as_millis() + i64::from(utc_offset_s) * 1000;
    let days = local_ms.div_euclid(86_400_000);
    let ms_of_day = local_ms.rem_euclid(86_400_000);
    let date = jiff::civil::Date::new(1970, 1, 1)
        .ok()
        .and_then(|epoch| epoch.checked_add(jiff::Span::new().days(days)).ok());
    let day_of_year = match date {
        Some(d) => {
            let doy = usize::try_from(d.day_of_year()).unwrap_or(1) - 1;
            // Drop 29 February: from 1 March on, leap years shift back a day.
            if d.in_leap_year() && doy >= 59 {
                doy - 1
            } else {
                doy
            }
        }
        None => 0,
    };
    let hour = (ms_of_day / HOUR_MS) as usize;
    let f = (ms_of_day % HOUR_MS) as f64 / HOUR_MS as f64;
    (day_of_year * 24 + hour, f)
}

/// Relative humidity [%] from dry-bulb and dew-point temperatures, by the
/// Magnus formula with the Alduchov & Eskridge (1996) coefficients
/// (a = 17.625, b = 243.04 °C).
pub fn relative_humidity_pct(dry_bulb_c: f64, dew_point_c: f64) -> f64 {
    use crate::humidity::saturation_pa;
    (100.0 * saturation_pa(dew_point_c) / saturation_pa(dry_bulb_c)).clamp(0.0, 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(temp: f64) -> WeatherSample {
        WeatherSample {
            dry_bulb_c: temp,
            ..WeatherSample::default()
        }
    }

    #[test]
    fn hourly_series_interpolate_and_clamp() {
        let t0: SimTime = "2026-07-01T00:00:00Z".parse().unwrap();
        let s = WeatherSeries::hourly(t0, vec![sample(10.0), sample(20.0), sample(0.0)]);
        assert_eq!(s.at(t0).dry_bulb_c, 10.0);
        assert_eq!(s.at(t0 + SimDuration::from_mins(30)).dry_bulb_c, 15.0);
        assert_eq!(s.at(t0 + SimDuration::from_mins(90)).dry_bulb_c, 10.0);
        assert_eq!(s.at(t0 - SimDuration::from_days(1)).dry_bulb_c, 10.0);
        assert_eq!(s.at(t0 + SimDuration::from_days(1)).dry_bulb_c, 0.0);
    }

    #[test]
    fn typical_years_wrap_and_use_local_standard_time() {
        // Sample i holds the value i (hour i + 1 of the year).
        let samples = (0..HOURS_PER_TYPICAL_YEAR)
            .map(|i| sample(i as f64))
            .collect();
        let s = WeatherSeries::typical_year(samples, -5 * 3600);
        // 2026-01-01 06:00 UTC is 01:00 local standard time: hour 1 = sample 0.
        let t: SimTime = "2026-01-01T06:00:00Z".parse().unwrap();
        assert_eq!(s.at(t).dry_bulb_c, 0.0);
        assert_eq!(s.at(t + SimDuration::from_mins(30)).dry_bulb_c, 0.5);
        // Local midnight on 1 January reads the year's last hour (24:00 on
        // 31 December), wrapping.
        let midnight: SimTime = "2026-01-01T05:00:00Z".parse().unwrap();
        assert_eq!(s.at(midnight).dry_bulb_c, 8_759.0);
        // Any year: 2031-01-01 06:00 UTC reads the same sample.
        let later: SimTime = "2031-01-01T06:00:00Z".parse().unwrap();
        assert_eq!(s.at(later).dry_bulb_c, 0.0);
        // Irradiance is the hour's total: hour 1's (sample 0) stands at
        // 00:30 local, hour 2's at 01:30.
        let sunny = (0..HOURS_PER_TYPICAL_YEAR)
            .map(|i| WeatherSample {
                ghi_w_m2: i as f64,
                dni_w_m2: 2.0 * i as f64,
                dhi_w_m2: 3.0 * i as f64,
                ..WeatherSample::default()
            })
            .collect();
        let sunny = WeatherSeries::typical_year(sunny, -5 * 3600);
        let half_past_midnight: SimTime = "2026-01-01T05:30:00Z".parse().unwrap();
        assert_eq!(sunny.at(half_past_midnight).ghi_w_m2, 0.0);
        let w = sunny.at(t);
        assert_eq!((w.ghi_w_m2, w.dni_w_m2, w.dhi_w_m2), (0.5, 1.0, 1.5));
        // A leap year's 1 March reads the typical 1 March (day 59).
        let march: SimTime = "2028-03-01T06:00:00Z".parse().unwrap();
        assert_eq!(s.at(march).dry_bulb_c, (59 * 24) as f64);
    }

    #[test]
    fn magnus_relative_humidity() {
        assert!((relative_humidity_pct(20.0, 20.0) - 100.0).abs() < 1e-9);
        // 25 °C with a 10 °C dew point: e_s(10)/e_s(25) = 12.28/31.67 hPa = 38.8 %.
        let rh = relative_humidity_pct(25.0, 10.0);
        assert!((rh - 38.8).abs() < 0.2, "{rh}");
    }
}
