//! What devices report and the server keeps, as the domain sees it (no
//! HTTP): sensor readings and the diagnostics reports predictors read.

use sim_core::SimTime;

/// A `POST /v1/diagnostics/vibration` report.
#[derive(Debug, Clone, PartialEq)]
pub struct VibrationReport {
    /// When the window was sampled.
    pub timestamp: SimTime,
    /// Peak amplitude [g], 0–10.
    pub amplitude_g: f64,
    /// Dominant frequency [Hz].
    pub frequency_hz: f64,
    /// Window length [ms].
    pub duration_ms: u64,
    /// RMS [g], if sent.
    pub rms_g: Option<f64>,
    /// Kurtosis, if sent.
    pub kurtosis: Option<f64>,
    /// When the server stored it.
    pub received_at: SimTime,
}

/// A `POST /v1/diagnostics/energy` report.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyReport {
    /// Start of the reporting period.
    pub period_start: SimTime,
    /// Runtime in the period [min].
    pub runtime_mins: u64,
    /// Supply voltage [V].
    pub voltage_v: f64,
    /// Current [A].
    pub current_a: f64,
    /// When the server stored it.
    pub received_at: SimTime,
    /// The outdoor dry-bulb temperature [°C] at the device's location at
    /// the period's start, from the server's weather source (`None` without
    /// one, or without a location for the device).
    pub outdoor_c: Option<f64>,
}

/// The device API's sensor types, with the value range accepted for each
/// (temperature −100–150 °C, humidity and battery 0–100 %, pressure 0–2000
/// hPa, power availability 0 or 1, signal −200–0 dBm, IAQ 0–500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorType {
    /// °C.
    Temperature,
    /// %.
    Humidity,
    /// hPa.
    Pressure,
    /// 0/1.
    PowerAvailability,
    /// %.
    BatteryLevel,
    /// dBm.
    SignalStrength,
    /// Index.
    Iaq,
}

impl SensorType {
    /// Every type, in the seed's order.
    pub const ALL: [SensorType; 7] = [
        SensorType::Temperature,
        SensorType::Humidity,
        SensorType::Pressure,
        SensorType::PowerAvailability,
        SensorType::BatteryLevel,
        SensorType::SignalStrength,
        SensorType::Iaq,
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            SensorType::Temperature => "temperature",
            SensorType::Humidity => "humidity",
            SensorType::Pressure => "pressure",
            SensorType::PowerAvailability => "power_availability",
            SensorType::BatteryLevel => "battery_level",
            SensorType::SignalStrength => "signal_strength",
            SensorType::Iaq => "iaq",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<SensorType> {
        SensorType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The accepted value range.
    pub fn range(self) -> (f64, f64) {
        match self {
            SensorType::Temperature => (-100.0, 150.0),
            SensorType::Humidity | SensorType::BatteryLevel => (0.0, 100.0),
            SensorType::Pressure => (0.0, 2_000.0),
            SensorType::PowerAvailability => (0.0, 1.0),
            SensorType::SignalStrength => (-200.0, 0.0),
            SensorType::Iaq => (0.0, 500.0),
        }
    }
}

/// A stored sensor reading.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReading {
    /// The device's sequence number, if it sent one.
    pub seq: Option<u64>,
    /// Sensor type.
    pub sensor_type: SensorType,
    /// Value.
    pub value: f64,
    /// When it was measured.
    pub timestamp: SimTime,
    /// The Zigbee sensor it came from (hub submissions).
    pub sensor_id: Option<String>,
    /// When the server stored it.
    pub received_at: SimTime,
}

/// An alert: a predictor's (or an integration's) call for attention to a
/// device, open until resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Id (a UUID).
    pub alert_id: String,
    /// The device.
    pub device_id: String,
    /// Issue, ≤ 256 characters.
    pub issue: String,
    /// Confidence, 0–1.
    pub confidence: f64,
    /// Recommended action.
    pub action: String,
    /// Technician dispatch requested: always for the predictor's alerts,
    /// on request (enterprise tier) for an integration's.
    pub dispatch: bool,
    /// `predictor` or `integration`.
    pub source: &'static str,
    /// When created.
    pub created_at: SimTime,
    /// When resolved.
    pub resolved_at: Option<SimTime>,
}
