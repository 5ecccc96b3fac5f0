//! What devices report and the server keeps, as the domain sees it (no
//! HTTP): the records predictors read.

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
