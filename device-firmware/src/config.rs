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
/// | `vibration_interval_ms` | 60 s while the compressor runs |
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
    /// Vibration report period while the compressor runs [ms].
    pub vibration_interval_ms: u64,
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
            vibration_interval_ms: 60_000,
            energy_interval_ms: 5 * 60_000,
            token_refresh_margin_ms: 5 * 60_000,
            backoff_base_ms: 2_000,
            backoff_cap_ms: 600_000,
            ota_max_attempts: 3,
        }
    }
}
