//! A synthetic climate: seasonal and diurnal cycles, Ornstein–Uhlenbeck
//! weather noise, clouds, humidity, pressure and scenario-defined heat waves
//! and cold snaps, generated hourly from a seeded stream.
//!
//! - Temperature: `T = mean − A_s·cos(2π(d − d_cold)/365.25)
//!   + A_d·k_cloud·cos(2π(h_solar − h_warm)/24) + x_OU + events`, where the
//!   OU process has stationary σ and correlation time τ (Uhlenbeck & Ornstein
//!   1930), updated exactly (Gillespie 1996): `x' = x·e^(−Δ/τ) +
//!   σ·√(1 − e^(−2Δ/τ))·N(0,1)`. Cloudy days have smaller diurnal swings.
//! - Sun: clear-sky global horizontal irradiance by Haurwitz (1945),
//!   `GHI = 1098·cos z·exp(−0.057/cos z)`, reduced for cloud cover `c` by
//!   Kasten & Czeplak (1980), `GHI·(1 − 0.75·c^3.4)`; split into direct and
//!   diffuse by the Erbs, Klein & Duffie (1982) diffuse-fraction correlation.
//! - Humidity: a dew point below the daily mean temperature by a noisy
//!   depression, relative humidity by Magnus.
//! - Pressure: the standard atmosphere at the site's elevation
//!   (ISO 2533) plus slow OU noise.

use rand::RngExt;
use rand_distr::{Beta, Distribution, StandardNormal};
use sim_core::{SimDuration, SimRng, SimTime, stream};

use super::{WeatherSample, WeatherSeries, relative_humidity_pct};
use crate::params::{ParamError, check_range};
use crate::sun::{Site, sun_position};

/// A heat wave (positive `delta_c`) or cold snap (negative) laid over the
/// climate, with cosine ramps in and out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeatherEvent {
    /// When the anomaly starts ramping in.
    pub start: SimTime,
    /// When it has ramped out completely.
    pub end: SimTime,
    /// Peak temperature anomaly [K], −30 to 30.
    pub delta_c: f64,
    /// Ramp-in and ramp-out time; at most half the event.
    pub ramp: SimDuration,
}

impl WeatherEvent {
    /// The anomaly [K] at `t`.
    pub fn anomaly_c(&self, t: SimTime) -> f64 {
        if t < self.start || t >= self.end {
            return 0.0;
        }
        let ramp_ms = self.ramp.as_millis() as f64;
        let since = t.saturating_duration_since(self.start).as_millis() as f64;
        let until = self.end.saturating_duration_since(t).as_millis() as f64;
        let edge = since.min(until);
        let shape = if ramp_ms <= 0.0 || edge >= ramp_ms {
            1.0
        } else {
            0.5 - 0.5 * (std::f64::consts::PI * edge / ramp_ms).cos()
        };
        self.delta_c * shape
    }
}

/// Parameters of a synthetic climate. Defaults: a mid-latitude continental
/// climate (annual mean 12 °C, seasonal amplitude 12 K, diurnal amplitude
/// 6 K, noise σ 3 K with τ 24 h, mean cloud cover 0.45).
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticClimate {
    /// Annual mean dry-bulb temperature [°C], −30 to 40.
    pub annual_mean_c: f64,
    /// Half the difference between the warmest and coldest seasonal means
    /// [K], 0 to 30.
    pub seasonal_amplitude_c: f64,
    /// Day of the year (0 = 1 January) of the coldest seasonal mean, 0 to 365;
    /// about 20 in the northern hemisphere, 200 in the southern.
    pub coldest_day_of_year: f64,
    /// Half the clear-day difference between afternoon maximum and dawn
    /// minimum [K], 0 to 15.
    pub diurnal_amplitude_c: f64,
    /// Local solar hour of the daily maximum, 0 to 24 (about 15).
    pub warmest_solar_hour: f64,
    /// Stationary standard deviation of the weather noise [K], 0 to 10.
    pub noise_sigma_c: f64,
    /// Correlation time of the weather noise, 1 h to 30 d.
    pub noise_tau: SimDuration,
    /// Mean daily cloud cover, 0.05 to 0.95.
    pub mean_cloud_cover: f64,
    /// Mean dew-point depression below the daily mean temperature [K], 0 to 30.
    pub dew_point_depression_c: f64,
    /// Mean wind speed at 10 m [m/s], 0 to 30.
    pub mean_wind_speed_m_s: f64,
    /// Heat waves and cold snaps.
    pub events: Vec<WeatherEvent>,
}

impl Default for SyntheticClimate {
    fn default() -> Self {
        SyntheticClimate {
            annual_mean_c: 12.0,
            seasonal_amplitude_c: 12.0,
            coldest_day_of_year: 20.0,
            diurnal_amplitude_c: 6.0,
            warmest_solar_hour: 15.0,
            noise_sigma_c: 3.0,
            noise_tau: SimDuration::from_hours(24),
            mean_cloud_cover: 0.45,
            dew_point_depression_c: 6.0,
            mean_wind_speed_m_s: 3.5,
            events: Vec::new(),
        }
    }
}

/// Extraterrestrial irradiance: the solar constant [W/m²] (Kopp & Lean 2011).
const SOLAR_CONSTANT_W_M2: f64 = 1_361.0;

impl SyntheticClimate {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_range("annual_mean_c", self.annual_mean_c, -30.0, 40.0)?;
        check_range("seasonal_amplitude_c", self.seasonal_amplitude_c, 0.0, 30.0)?;
        check_range("coldest_day_of_year", self.coldest_day_of_year, 0.0, 365.0)?;
        check_range("diurnal_amplitude_c", self.diurnal_amplitude_c, 0.0, 15.0)?;
        check_range("warmest_solar_hour", self.warmest_solar_hour, 0.0, 24.0)?;
        check_range("noise_sigma_c", self.noise_sigma_c, 0.0, 10.0)?;
        check_range(
            "noise_tau_h",
            self.noise_tau.as_secs_f64() / 3600.0,
            1.0,
            720.0,
        )?;
        check_range("mean_cloud_cover", self.mean_cloud_cover, 0.05, 0.95)?;
        check_range(
            "dew_point_depression_c",
            self.dew_point_depression_c,
            0.0,
            30.0,
        )?;
        check_range("mean_wind_speed_m_s", self.mean_wind_speed_m_s, 0.0, 30.0)?;
        for e in &self.events {
            check_range("events.delta_c", e.delta_c, -30.0, 30.0)?;
            let span = e.end.saturating_duration_since(e.start);
            check_range(
                "events.ramp_h",
                e.ramp.as_secs_f64() / 3600.0,
                0.0,
                span.as_secs_f64() / 7200.0,
            )?;
        }
        Ok(())
    }

    /// Hourly weather at `site` from `start` (rounded down to the hour) for
    /// `span` plus one hour, from `seed`'s stream for `site_id`.
    pub fn generate(
        &self,
        seed: u64,
        site_id: u64,
        site: &Site,
        start: SimTime,
        span: SimDuration,
    ) -> WeatherSeries {
        let first = SimTime::from_millis(start.as_millis().div_euclid(3_600_000) * 3_600_000);
        let hours = span.as_millis().div_ceil(3_600_000) + 2;
        let mut rng = stream(seed, site_id, "weather");
        let mut generator = Generator::new(self, site, &mut rng);
        let samples = (0..hours)
            .map(|h| generator.sample(first + SimDuration::from_hours(h), &mut rng))
            .collect();
        WeatherSeries::hourly(first, samples)
    }

    /// The seasonal mean temperature [°C] on fractional day of year `doy`.
    pub fn seasonal_mean_c(&self, doy: f64) -> f64 {
        let phase = 2.0 * std::f64::consts::PI * (doy - self.coldest_day_of_year) / 365.25;
        self.annual_mean_c - self.seasonal_amplitude_c * phase.cos()
    }
}

struct Generator<'a> {
    climate: &'a SyntheticClimate,
    site: Site,
    temp_noise: f64,
    dew_noise: f64,
    pressure_noise: f64,
    wind: f64,
    cloud_today: f64,
    day: i64,
    decay_temp: f64,
    decay_slow: f64,
    cloud_dist: Beta<f64>,
    base_pressure_pa: f64,
}

impl<'a> Generator<'a> {
    fn new(climate: &'a SyntheticClimate, site: &Site, rng: &mut SimRng) -> Generator<'a> {
        let tau_h = climate.noise_tau.as_secs_f64() / 3600.0;
        // Beta(a, b) with mean c̄ and a moderate spread (a + b = 2).
        let a = 2.0 * climate.mean_cloud_cover;
        let cloud_dist = Beta::new(a, 2.0 - a).expect("validated cloud cover gives a valid Beta");
        // ISO 2533 standard atmosphere: p = 101325·(1 − 2.25577e-5·h)^5.25588.
        let base_pressure_pa = 101_325.0 * (1.0 - 2.255_77e-5 * site.elevation_m).powf(5.255_88);
        let normal = |rng: &mut SimRng| -> f64 { StandardNormal.sample(rng) };
        Generator {
            climate,
            site: *site,
            temp_noise: climate.noise_sigma_c * normal(rng),
            dew_noise: 1.5 * normal(rng),
            pressure_noise: 600.0 * normal(rng),
            wind: climate.mean_wind_speed_m_s,
            cloud_today: cloud_dist.sample(rng),
            day: i64::MIN,
            decay_temp: (-1.0 / tau_h).exp(),
            decay_slow: (-1.0 / 48.0f64).exp(),
            cloud_dist,
            base_pressure_pa,
        }
    }

    fn ou(x: f64, decay: f64, sigma: f64, rng: &mut SimRng) -> f64 {
        let z: f64 = StandardNormal.sample(rng);
        x * decay + sigma * (1.0 - decay * decay).sqrt() * z
    }

    fn sample(&mut self, t: SimTime, rng: &mut SimRng) -> WeatherSample {
        let c = self.climate;
        let day = t.as_millis().div_euclid(86_400_000);
        if day != self.day {
            // Day-to-day cloud persistence: keep yesterday's cover 40 % of the time.
            if self.day == i64::MIN || !rng.random_bool(0.4) {
                self.cloud_today = self.cloud_dist.sample(rng);
            }
            self.day = day;
        }
        self.temp_noise = Self::ou(self.temp_noise, self.decay_temp, c.noise_sigma_c, rng);
        self.dew_noise = Self::ou(self.dew_noise, self.decay_temp, 1.5, rng);
        self.pressure_noise = Self::ou(self.pressure_noise, self.decay_slow, 600.0, rng);
        let wind_sigma = 0.5 * c.mean_wind_speed_m_s;
        self.wind = c.mean_wind_speed_m_s
            + Self::ou(
                self.wind - c.mean_wind_speed_m_s,
                (-1.0 / 6.0f64).exp(),
                wind_sigma,
                rng,
            );

        let doy = day_of_year(t);
        let solar_hour = (t.as_millis().rem_euclid(86_400_000) as f64 / 3.6e6
            + self.site.longitude_deg / 15.0)
            .rem_euclid(24.0);
        let cloud = self.cloud_today;
        let diurnal_scale = 0.4 + 0.6 * (1.0 - cloud);
        let diurnal = c.diurnal_amplitude_c
            * diurnal_scale
            * (2.0 * std::f64::consts::PI * (solar_hour - c.warmest_solar_hour) / 24.0).cos();
        let events: f64 = c.events.iter().map(|e| e.anomaly_c(t)).sum();
        let daily_mean = c.seasonal_mean_c(doy) + self.temp_noise + events;
        let dry_bulb_c = daily_mean + diurnal;
        let dew_point_c = (daily_mean - c.dew_point_depression_c + self.dew_noise).min(dry_bulb_c);

        let (ghi, dni, dhi) = self.irradiance(t, cloud);
        WeatherSample {
            dry_bulb_c,
            dew_point_c,
            rel_humidity_pct: relative_humidity_pct(dry_bulb_c, dew_point_c),
            pressure_pa: self.base_pressure_pa + self.pressure_noise,
            ghi_w_m2: ghi,
            dni_w_m2: dni,
            dhi_w_m2: dhi,
            wind_speed_m_s: self.wind.max(0.0),
        }
    }

    /// (GHI, DNI, DHI) [W/m²] for cloud cover `cloud` at `t`.
    fn irradiance(&self, t: SimTime, cloud: f64) -> (f64, f64, f64) {
        let cos_z = sun_position(t, &self.site).cos_zenith();
        if cos_z <= 0.01 {
            return (0.0, 0.0, 0.0);
        }
        let clear = 1098.0 * cos_z * (-0.057 / cos_z).exp();
        let ghi = clear * (1.0 - 0.75 * cloud.powf(3.4));
        let doy = day_of_year(t);
        let eccentricity = 1.0 + 0.033 * (2.0 * std::f64::consts::PI * doy / 365.0).cos();
        let kt = (ghi / (SOLAR_CONSTANT_W_M2 * eccentricity * cos_z)).clamp(0.0, 1.0);
        let diffuse_fraction = erbs_diffuse_fraction(kt);
        let dhi = ghi * diffuse_fraction;
        let dni = ((ghi - dhi) / cos_z).max(0.0);
        (ghi, dni, dhi)
    }
}

/// Fractional day of the year (0 = 1 January 00:00 UTC), on the mean
/// Gregorian year: within a day of the calendar for centuries around 1970,
/// which is all a seasonal cycle needs.
fn day_of_year(t: SimTime) -> f64 {
    (t.as_millis() as f64 / 86_400_000.0).rem_euclid(365.2425)
}

/// Erbs, Klein & Duffie (1982): the diffuse fraction of global horizontal
/// irradiance as a function of the clearness index `kt`.
pub fn erbs_diffuse_fraction(kt: f64) -> f64 {
    if kt <= 0.22 {
        1.0 - 0.09 * kt
    } else if kt <= 0.80 {
        0.9511 - 0.1604 * kt + 4.388 * kt.powi(2) - 16.638 * kt.powi(3) + 12.336 * kt.powi(4)
    } else {
        0.165
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DENVER: Site = Site {
        latitude_deg: 39.74,
        longitude_deg: -104.99,
        elevation_m: 1_609.0,
    };

    fn year(climate: &SyntheticClimate, seed: u64) -> WeatherSeries {
        let start: SimTime = "2026-01-01T00:00:00Z".parse().unwrap();
        climate.generate(seed, 1, &DENVER, start, SimDuration::from_days(365))
    }

    #[test]
    fn annual_mean_and_seasons_match_the_parameters() {
        let climate = SyntheticClimate::default();
        let s = year(&climate, 3);
        let temps: Vec<f64> = s.samples().iter().map(|w| w.dry_bulb_c).collect();
        let mean = temps.iter().sum::<f64>() / temps.len() as f64;
        assert!((mean - 12.0).abs() < 1.0, "annual mean {mean}");
        let jan: SimTime = "2026-01-10T00:00:00Z".parse().unwrap();
        let jul: SimTime = "2026-07-10T00:00:00Z".parse().unwrap();
        let month = SimDuration::from_days(30);
        let winter = s.mean_dry_bulb_c(jan, month);
        let summer = s.mean_dry_bulb_c(jul, month);
        // Seasonal means 0.3 and 23.7 °C; the noise leaves a few kelvin.
        assert!((winter - 0.3).abs() < 4.0, "January {winter}");
        assert!((summer - 23.7).abs() < 4.0, "July {summer}");
    }

    #[test]
    fn afternoons_are_warmer_than_dawns_and_nights_are_dark() {
        let s = year(&SyntheticClimate::default(), 4);
        // Denver is UTC−7 in solar time: 15:00 solar ≈ 22:00 UTC, 03:00 ≈ 10:00 UTC.
        let (mut warm, mut cold, mut ghi_night) = (0.0, 0.0, 0.0f64);
        for day in 0..365 {
            let base = 24 * day;
            warm += s.samples()[base + 22].dry_bulb_c;
            cold += s.samples()[base + 10].dry_bulb_c;
            ghi_night = ghi_night.max(s.samples()[base + 8].ghi_w_m2);
        }
        let swing = (warm - cold) / 365.0;
        assert!(swing > 6.0 && swing < 12.0, "mean diurnal swing {swing}");
        assert_eq!(ghi_night, 0.0, "01:00 local solar time is dark all year");
        let noon_max = s.samples().iter().map(|w| w.ghi_w_m2).fold(0.0, f64::max);
        assert!(
            noon_max > 800.0 && noon_max < 1_100.0,
            "peak GHI {noon_max}"
        );
    }

    #[test]
    fn ou_noise_has_the_stated_spread_and_memory() {
        let climate = SyntheticClimate {
            seasonal_amplitude_c: 0.0,
            diurnal_amplitude_c: 0.0,
            ..SyntheticClimate::default()
        };
        let start: SimTime = "2026-01-01T00:00:00Z".parse().unwrap();
        let s = climate.generate(5, 1, &DENVER, start, SimDuration::from_days(3_650));
        let x: Vec<f64> = s.samples().iter().map(|w| w.dry_bulb_c - 12.0).collect();
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        assert!((var.sqrt() - 3.0).abs() < 0.3, "σ {}", var.sqrt());
        // Lag-24 h autocorrelation of an OU process with τ = 24 h: e^-1 = 0.368.
        let lag = 24;
        let cov = (0..x.len() - lag)
            .map(|i| (x[i] - mean) * (x[i + lag] - mean))
            .sum::<f64>()
            / (n - lag as f64);
        let rho = cov / var;
        assert!((rho - (-1.0f64).exp()).abs() < 0.06, "ρ(24 h) = {rho}");
    }

    #[test]
    fn heat_waves_raise_temperatures_with_smooth_ramps() {
        let start: SimTime = "2026-07-01T00:00:00Z".parse().unwrap();
        let wave = WeatherEvent {
            start: start + SimDuration::from_days(5),
            end: start + SimDuration::from_days(12),
            delta_c: 8.0,
            ramp: SimDuration::from_days(1),
        };
        assert_eq!(wave.anomaly_c(wave.start), 0.0);
        assert!((wave.anomaly_c(wave.start + SimDuration::from_hours(12)) - 4.0).abs() < 1e-9);
        assert_eq!(wave.anomaly_c(wave.start + SimDuration::from_days(3)), 8.0);
        assert_eq!(wave.anomaly_c(wave.end), 0.0);
        let base = SyntheticClimate::default();
        let hot = SyntheticClimate {
            events: vec![wave],
            ..base.clone()
        };
        let span = SimDuration::from_days(20);
        let a = base.generate(9, 1, &DENVER, start, span);
        let b = hot.generate(9, 1, &DENVER, start, span);
        let mid = start + SimDuration::from_days(8);
        let diff = b.at(mid).dry_bulb_c - a.at(mid).dry_bulb_c;
        assert!(
            (diff - 8.0).abs() < 1e-9,
            "same seed, plus the anomaly: {diff}"
        );
        assert_eq!(a.at(start).dry_bulb_c, b.at(start).dry_bulb_c);
    }

    #[test]
    fn same_seed_same_weather_and_sites_differ() {
        let c = SyntheticClimate::default();
        assert_eq!(year(&c, 1), year(&c, 1));
        assert_ne!(year(&c, 1), year(&c, 2));
        let start: SimTime = "2026-01-01T00:00:00Z".parse().unwrap();
        let a = c.generate(1, 1, &DENVER, start, SimDuration::from_days(2));
        let b = c.generate(1, 2, &DENVER, start, SimDuration::from_days(2));
        assert_ne!(a, b);
    }

    #[test]
    fn physical_bounds_hold() {
        let s = year(&SyntheticClimate::default(), 6);
        for w in s.samples() {
            assert!(w.dew_point_c <= w.dry_bulb_c + 1e-9);
            assert!((0.0..=100.0).contains(&w.rel_humidity_pct));
            assert!(w.ghi_w_m2 >= 0.0 && w.dni_w_m2 >= 0.0 && w.dhi_w_m2 >= 0.0);
            assert!(w.dhi_w_m2 <= w.ghi_w_m2 + 1e-9);
            assert!(w.wind_speed_m_s >= 0.0);
            // Denver's standard pressure is about 83.5 kPa.
            assert!(
                (w.pressure_pa - 83_500.0).abs() < 5_000.0,
                "{}",
                w.pressure_pa
            );
        }
    }

    #[test]
    fn erbs_correlation_is_continuous_enough() {
        assert!((erbs_diffuse_fraction(0.0) - 1.0).abs() < 1e-12);
        // The published correlation is nearly continuous at its breakpoints.
        assert!((erbs_diffuse_fraction(0.22) - erbs_diffuse_fraction(0.2201)).abs() < 0.01);
        assert!((erbs_diffuse_fraction(0.80) - erbs_diffuse_fraction(0.8001)).abs() < 0.01);
    }

    #[test]
    fn validation_names_the_field() {
        let bad = SyntheticClimate {
            mean_cloud_cover: 1.5,
            ..SyntheticClimate::default()
        };
        assert_eq!(bad.validate().unwrap_err().name, "mean_cloud_cover");
        assert!(SyntheticClimate::default().validate().is_ok());
    }
}
