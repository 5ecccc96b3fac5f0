//! The firmware's identity and tunables.

use crate::control::ControlConfig;
use crate::telemetry::SensorType;

/// AURRA OAuth client credentials, for the diagnostics endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AurraCredentials {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
}

/// A Zigbee sensor paired with a hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZigbeeSensor {
    /// The sensor's pre-provisioned API key.
    pub api_key: String,
    /// Its IEEE address (`0x00124b001cce5a7d`).
    pub ieee_address: String,
}

/// Who the device is: provisioned at manufacture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Device id, as the AURRA API knows it.
    pub device_id: String,
    /// Device API key (the server stores only its hash).
    pub api_key: String,
    /// AURRA client credentials; `None`: no diagnostics are sent.
    pub aurra: Option<AurraCredentials>,
    /// Paired Zigbee sensors; any makes the device a hub.
    pub zigbee_sensors: Vec<ZigbeeSensor>,
}

/// Every tunable, with documented defaults.
///
/// | field | default |
/// |---|---|
/// | `control_interval_ms` | 15 s |
/// | `request_timeout_ms` | 10 s |
/// | `telemetry_buffer_capacity` | 10,000 readings |
/// | `telemetry_batch_max` | 100 readings (the API's maximum) |
/// | `telemetry_drain_spacing_ms` | 2 s between uploads while draining a backlog |
/// | `default_reporting_interval_s` | 300 s, until settings say otherwise |
/// | `default_enabled_sensors` | temperature, humidity |
/// | `settings_refresh_ms` | 15 min |
/// | `command_poll_ms` | 60 s |
/// | `ota_check_ms` | 1 h |
/// | `motion_holdoff_ms` | 15 min between motion reports |
/// | `vibration_interval_ms` | 60 s while the compressor runs |
/// | `vibration_min_current_a` | 0.5 A: the clamp must read the compressor drawing current before a window is taken |
/// | `energy_interval_ms` | 5 min |
/// | `token_refresh_margin_ms` | 5 min before expiry |
/// | `backoff_base_ms` / `backoff_cap_ms` | 2 s / 10 min |
/// | `ota_max_attempts` | 3 downloads per release before reporting failure |
///
/// Per-endpoint rate guards are fixed at the device API's published limits
/// (telemetry 60/min, settings 10/min, commands 30/min, OTA check 10/min,
/// downloads 5/h) and the AURRA diagnostics limit (60/min), so no setting can
/// make the firmware exceed them.
#[derive(Debug, Clone, PartialEq)]
pub struct FirmwareConfig {
    /// The firmware version string (semantic version).
    pub version: String,
    /// The control loop's tunables.
    pub control: ControlConfig,
    /// Control loop period [ms].
    pub control_interval_ms: u64,
    /// How long to wait for a response [ms].
    pub request_timeout_ms: u64,
    /// Telemetry buffer capacity [readings].
    pub telemetry_buffer_capacity: usize,
    /// Readings per upload, 1 to 100.
    pub telemetry_batch_max: usize,
    /// Gap between uploads while a backlog drains [ms].
    pub telemetry_drain_spacing_ms: u64,
    /// Reporting interval before settings arrive [s], 60 to 3600.
    pub default_reporting_interval_s: u64,
    /// Sensors reported before settings arrive.
    pub default_enabled_sensors: Vec<SensorType>,
    /// IANA time zone before settings arrive.
    pub default_timezone: String,
    /// Settings refresh period [ms].
    pub settings_refresh_ms: u64,
    /// Pending-command poll period [ms].
    pub command_poll_ms: u64,
    /// OTA check period [ms].
    pub ota_check_ms: u64,
    /// Shortest time between two motion reports [ms].
    pub motion_holdoff_ms: u64,
    /// Vibration report period while the compressor runs [ms].
    pub vibration_interval_ms: u64,
    /// The compressor counts as running — and the accelerometer is sampled —
    /// only while the current clamp reads at least this [A], 0 to 50 (0:
    /// whenever `Y` is on). Without a clamp reading the firmware samples on
    /// `Y` alone. Condition monitoring acquires on a run condition so that a
    /// stopped, locked-out or tripped machine is not graded as running.
    pub vibration_min_current_a: f64,
    /// Energy report period [ms].
    pub energy_interval_ms: u64,
    /// Refresh the AURRA token this long before it expires [ms].
    pub token_refresh_margin_ms: u64,
    /// First backoff ceiling [ms].
    pub backoff_base_ms: u64,
    /// Largest backoff ceiling [ms].
    pub backoff_cap_ms: u64,
    /// Download attempts per release before reporting failure.
    pub ota_max_attempts: u32,
}

/// A tunable outside its allowed range.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The field, as `FirmwareConfig` spells it.
    pub field: &'static str,
    /// The offending value.
    pub value: f64,
    /// The allowed range, in words.
    pub range: &'static str,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} = {} is out of range: expected {}",
            self.field, self.value, self.range
        )
    }
}

impl std::error::Error for ConfigError {}

impl FirmwareConfig {
    /// Checks every tunable's range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = |field: &'static str, value: f64, lo: f64, hi: f64, range: &'static str| {
            if value.is_finite() && value >= lo && value <= hi {
                Ok(())
            } else {
                Err(ConfigError {
                    field,
                    value,
                    range,
                })
            }
        };
        let ms = |v: u64| v as f64;
        let c = &self.control;
        check(
            "control.differential_f",
            c.differential_f,
            0.5,
            1.0,
            "0.5 to 1.0 °F",
        )?;
        check(
            "control.min_on_ms",
            ms(c.min_on_ms),
            60_000.0,
            1_800_000.0,
            "1 to 30 minutes",
        )?;
        check(
            "control.min_off_ms",
            ms(c.min_off_ms),
            60_000.0,
            1_800_000.0,
            "1 to 30 minutes",
        )?;
        check(
            "control.max_cycles_per_hour",
            c.max_cycles_per_hour,
            0.0,
            12.0,
            "0 (no limit) to 12 an hour",
        )?;
        check(
            "control.auto_min_gap_f",
            c.auto_min_gap_f,
            2.0,
            10.0,
            "2 to 10 °F",
        )?;
        check(
            "control.aux_differential_f",
            c.aux_differential_f,
            1.0,
            10.0,
            "1 to 10 °F",
        )?;
        check(
            "control.aux_delay_ms",
            ms(c.aux_delay_ms),
            60_000.0,
            7_200_000.0,
            "1 to 120 minutes",
        )?;
        check(
            "control_interval_ms",
            ms(self.control_interval_ms),
            1_000.0,
            300_000.0,
            "1 s to 5 min",
        )?;
        check(
            "request_timeout_ms",
            ms(self.request_timeout_ms),
            1_000.0,
            120_000.0,
            "1 s to 2 min",
        )?;
        check(
            "telemetry_buffer_capacity",
            self.telemetry_buffer_capacity as f64,
            1.0,
            1_000_000.0,
            "1 to 1,000,000 readings",
        )?;
        check(
            "telemetry_batch_max",
            self.telemetry_batch_max as f64,
            1.0,
            100.0,
            "1 to 100 readings",
        )?;
        check(
            "telemetry_drain_spacing_ms",
            ms(self.telemetry_drain_spacing_ms),
            1_000.0,
            60_000.0,
            "1 to 60 s (60 uploads a minute at most)",
        )?;
        check(
            "default_reporting_interval_s",
            ms(self.default_reporting_interval_s),
            60.0,
            3_600.0,
            "60 to 3600 s",
        )?;
        check(
            "settings_refresh_ms",
            ms(self.settings_refresh_ms),
            6_000.0,
            86_400_000.0,
            "6 s (10 a minute) to 1 day",
        )?;
        check(
            "command_poll_ms",
            ms(self.command_poll_ms),
            2_000.0,
            3_600_000.0,
            "2 s (30 a minute) to 1 h",
        )?;
        check(
            "motion_holdoff_ms",
            ms(self.motion_holdoff_ms),
            1_000.0,
            86_400_000.0,
            "1 s (60 a minute) to 1 day",
        )?;
        check(
            "ota_check_ms",
            ms(self.ota_check_ms),
            6_000.0,
            604_800_000.0,
            "6 s (10 a minute) to 1 week",
        )?;
        check(
            "vibration_interval_ms",
            ms(self.vibration_interval_ms),
            10_000.0,
            3_600_000.0,
            "10 s to 1 h",
        )?;
        check(
            "vibration_min_current_a",
            self.vibration_min_current_a,
            0.0,
            50.0,
            "0 to 50 A",
        )?;
        check(
            "energy_interval_ms",
            ms(self.energy_interval_ms),
            60_000.0,
            86_400_000.0,
            "1 min to 1 day",
        )?;
        check(
            "token_refresh_margin_ms",
            ms(self.token_refresh_margin_ms),
            0.0,
            1_800_000.0,
            "0 to 30 minutes",
        )?;
        check(
            "backoff_base_ms",
            ms(self.backoff_base_ms),
            100.0,
            60_000.0,
            "100 ms to 1 min",
        )?;
        check(
            "backoff_cap_ms",
            ms(self.backoff_cap_ms),
            ms(self.backoff_base_ms),
            86_400_000.0,
            "backoff_base_ms to 1 day",
        )?;
        check(
            "ota_max_attempts",
            f64::from(self.ota_max_attempts),
            1.0,
            100.0,
            "1 to 100",
        )?;
        let v = &self.version;
        let semver = v.split('.').count() == 3
            && v.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if !semver {
            return Err(ConfigError {
                field: "version",
                value: f64::NAN,
                range: "a semantic version such as 1.2.3",
            });
        }
        Ok(())
    }
}

impl Default for FirmwareConfig {
    fn default() -> Self {
        FirmwareConfig {
            version: "1.0.0".into(),
            control: ControlConfig::default(),
            control_interval_ms: 15_000,
            request_timeout_ms: 10_000,
            telemetry_buffer_capacity: 10_000,
            telemetry_batch_max: 100,
            telemetry_drain_spacing_ms: 2_000,
            default_reporting_interval_s: 300,
            default_enabled_sensors: vec![SensorType::Temperature, SensorType::Humidity],
            default_timezone: "UTC".into(),
            settings_refresh_ms: 15 * 60_000,
            command_poll_ms: 60_000,
            ota_check_ms: 3_600_000,
            motion_holdoff_ms: 15 * 60_000,
            vibration_interval_ms: 60_000,
            vibration_min_current_a: 0.5,
            energy_interval_ms: 5 * 60_000,
            token_refresh_margin_ms: 5 * 60_000,
            backoff_base_ms: 2_000,
            backoff_cap_ms: 600_000,
            ota_max_attempts: 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert_eq!(FirmwareConfig::default().validate(), Ok(()));
        let mut c = FirmwareConfig::default();
        c.control.differential_f = 2.0;
        let e = c.validate().unwrap_err();
        assert_eq!(e.field, "control.differential_f");
        assert!(e.to_string().contains("0.5 to 1.0"), "{e}");
        let c = FirmwareConfig {
            telemetry_batch_max: 101,
            ..FirmwareConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "telemetry_batch_max");
        let c = FirmwareConfig {
            version: "v2".into(),
            ..FirmwareConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "version");
    }
}
