//! From a scenario to the models' own parameter structs (one place, used by
//! validation and by the runner).

use device_firmware::config::FirmwareConfig;
use device_firmware::control::{ControlConfig, Equipment};
use hvac_models::degradation::{
    BearingWearParams, CapacitorParams, DegradationParams, RefrigerantLeakParams,
};
use hvac_models::weather::synthetic::{SyntheticClimate, WeatherEvent};

use crate::schema::{ClimateEventKind, Scenario};

/// The synthetic climate the scenario describes.
pub fn synthetic_climate(s: &Scenario) -> SyntheticClimate {
    let c = &s.climate;
    SyntheticClimate {
        annual_mean_c: c.annual_mean_c,
        seasonal_amplitude_c: c.seasonal_amplitude_c,
        coldest_day_of_year: c.coldest_day_of_year,
        diurnal_amplitude_c: c.diurnal_amplitude_c,
        warmest_solar_hour: c.warmest_solar_hour,
        noise_sigma_c: c.noise_sigma_c,
        noise_tau: c.noise_tau.0,
        mean_cloud_cover: c.mean_cloud_cover,
        dew_point_depression_c: c.dew_point_depression_c,
        mean_wind_speed_m_s: c.mean_wind_speed_m_s,
        events: c
            .events
            .iter()
            .map(|e| {
                let start = e.start.resolve(s.start.0);
                WeatherEvent {
                    start,
                    end: start + e.duration.0,
                    delta_c: match e.kind {
                        ClimateEventKind::HeatWave => e.delta_c,
                        ClimateEventKind::ColdSnap => -e.delta_c,
                    },
                    ramp: e.ramp.0,
                }
            })
            .collect(),
    }
}

/// The degradation parameters.
pub fn degradation(s: &Scenario) -> DegradationParams {
    let f = &s.faults;
    DegradationParams {
        bearing: BearingWearParams {
            incidence: f.bearing.incidence,
            onset_max_h: f.bearing.onset_max_h,
            rate_um_per_h: f.bearing.rate_um_per_h,
            shape_per_h: f.bearing.shape_per_h,
            failure_um: f.bearing.failure_um,
            spall_ratio: f.bearing.spall_ratio,
        },
        leak: RefrigerantLeakParams {
            incidence: f.leak.incidence,
            onset_max_days: f.leak.onset_max_days,
            rate_per_day: f.leak.rate_per_day,
            rate_sigma: f.leak.rate_sigma,
        },
        capacitor: CapacitorParams {
            incidence: f.capacitor.incidence,
            onset_max_days: f.capacitor.onset_max_days,
            loss_per_day: f.capacitor.loss_per_day,
            shape_per_day: f.capacitor.shape_per_day,
        },
    }
}

/// The firmware configuration for a home with `equipment`.
pub fn firmware_config(s: &Scenario, equipment: Equipment) -> FirmwareConfig {
    let f = &s.firmware;
    let d = FirmwareConfig::default();
    FirmwareConfig {
        version: f.version.clone(),
        control: ControlConfig {
            equipment,
            differential_f: f.control.differential_f,
            min_on_ms: f.control.min_on_ms,
            min_off_ms: f.control.min_off_ms,
            max_cycles_per_hour: f.control.max_cycles_per_hour,
            auto_min_gap_f: f.control.auto_min_gap_f,
            aux_differential_f: f.control.aux_differential_f,
            aux_delay_ms: f.control.aux_delay_ms,
        },
        control_interval_ms: f.control_interval_ms,
        request_timeout_ms: f.request_timeout_ms,
        telemetry_buffer_capacity: f.telemetry_buffer_capacity,
        telemetry_batch_max: f.telemetry_batch_max,
        telemetry_drain_spacing_ms: f.telemetry_drain_spacing_ms,
        default_reporting_interval_s: f.default_reporting_interval_s,
        settings_refresh_ms: f.settings_refresh_ms,
        command_poll_ms: f.command_poll_ms,
        ota_check_ms: f.ota_check_ms,
        vibration_interval_ms: f.vibration_interval_ms,
        vibration_min_current_a: f.vibration_min_current_a,
        energy_interval_ms: f.energy_interval_ms,
        token_refresh_margin_ms: f.token_refresh_margin_ms,
        backoff_base_ms: f.backoff_base_ms,
        backoff_cap_ms: f.backoff_cap_ms,
        ota_max_attempts: f.ota_max_attempts,
        ..d
    }
}
