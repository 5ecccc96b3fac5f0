//! The scenario file's shape: every key, its type and its default.
//! `scenarios/REFERENCE.md` documents each for users; ranges are checked in
//! [`crate::validate`] (model parameters by the models' own checks).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use sim_core::{SimDuration, SimTime};

/// A duration written as `"90s"`, `"15m"`, `"1h30m"`, `"1.5h"` or `"30d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub SimDuration);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<SimDuration>().map(Duration).map_err(|_| {
            serde::de::Error::custom(format!(
                "{s:?} is not a duration; write e.g. \"90s\", \"15m\", \"1h30m\" or \"30d\""
            ))
        })
    }
}

/// An instant: an ISO 8601 UTC time (`"2026-07-01T00:00:00Z"`), or a
/// duration after the scenario's start (`"3d"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// An absolute instant.
    At(SimTime),
    /// This long after the start.
    After(SimDuration),
}

impl When {
    /// The instant, for a scenario starting at `start`.
    pub fn resolve(self, start: SimTime) -> SimTime {
        match self {
            When::At(t) => t,
            When::After(d) => start + d,
        }
    }
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if let Ok(t) = s.parse::<SimTime>() {
            return Ok(When::At(t));
        }
        s.parse::<SimDuration>().map(When::After).map_err(|_| {
            serde::de::Error::custom(format!(
                "{s:?} is neither an ISO 8601 UTC instant (\"2026-07-01T00:00:00Z\") nor a time after the start (\"3d\")"
            ))
        })
    }
}

/// An ISO 8601 UTC instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub SimTime);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<SimTime>().map(Instant).map_err(|_| {
            serde::de::Error::custom(format!(
                "{s:?} is not an ISO 8601 UTC instant such as \"2026-07-01T00:00:00Z\""
            ))
        })
    }
}

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (used for the run folder).
    pub name: String,
    /// What the scenario is about.
    #[serde(default)]
    pub description: String,
    /// The run's seed.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// When the simulation starts.
    pub start: Instant,
    /// How long it runs.
    pub duration: Duration,
    /// The homes.
    #[serde(default)]
    pub fleet: Fleet,
    /// The weather.
    #[serde(default)]
    pub climate: Climate,
    /// Compressor faults.
    #[serde(default)]
    pub faults: Faults,
    /// How the diagnostics are sensed: vibration fidelity, sensor faults.
    #[serde(default)]
    pub sensing: Sensing,
    /// Accounts, their devices' share and their integrations.
    #[serde(default = "default_accounts")]
    pub accounts: Vec<AccountSpec>,
    /// Automations to create through the Automations API.
    #[serde(default)]
    pub automations: Vec<AutomationSpec>,
    /// Firmware settings.
    #[serde(default)]
    pub firmware: FirmwareSpec,
    /// Firmware releases.
    #[serde(default)]
    pub ota: Ota,
    /// Latency, errors and outages.
    #[serde(default)]
    pub network: Network,
    /// Server settings.
    #[serde(default)]
    pub server: Server,
    /// Technician visits after alerts.
    #[serde(default)]
    pub technicians: Technicians,
    /// What to write.
    #[serde(default)]
    pub outputs: Outputs,
    /// How the run is judged: prediction window and costs.
    #[serde(default)]
    pub evaluation: Evaluation,
    /// Release gates: limits on metrics; a failed gate fails the run.
    #[serde(default)]
    pub gates: GatesSpec,
    /// The file's text, as parsed (copied into the run folder).
    #[serde(skip)]
    pub source: String,
}

fn default_seed() -> u64 {
    1
}

fn default_accounts() -> Vec<AccountSpec> {
    vec![AccountSpec::default()]
}

/// `[fleet]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fleet {
    /// Number of homes.
    pub homes: u32,
    /// Weights of home archetypes (`apartment`, `townhouse`,
    /// `older_detached`, `new_detached`).
    pub archetypes: BTreeMap<String, f64>,
    /// Coefficient of variation of each home's parameters around its
    /// archetype.
    pub parameter_spread: f64,
    /// Weights of equipment kinds (`heat_pump`, `ac_gas_furnace`,
    /// `ac_electric_furnace`).
    pub equipment: BTreeMap<String, f64>,
    /// Where the homes are.
    pub locations: Vec<LocationSpec>,
    /// Weights of occupant lifestyles (`commuter`, `home_all_day`).
    pub lifestyles: BTreeMap<String, f64>,
    /// Share of homes whose thermostat is a Zigbee hub with room sensors.
    pub hub_share: f64,
    /// Indoor temperature at the start [°C].
    pub initial_indoor_c: f64,
    /// The thermostat mode homeowners set at installation (`heat`, `cool`,
    /// `auto`, `off`).
    pub mode: String,
    /// The setpoint they set [°F] (auto: heat 2 °F below, cool 2 °F above).
    pub setpoint_f: i64,
    /// Occupants open windows when the outdoor air is cooler and the system
    /// idle (hvac-models `ventilation`).
    pub windows: bool,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet {
            homes: 10,
            archetypes: [
                ("apartment", 0.25),
                ("townhouse", 0.2),
                ("older_detached", 0.3),
                ("new_detached", 0.25),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            parameter_spread: 0.1,
            equipment: [
                ("heat_pump", 0.5),
                ("ac_gas_furnace", 0.35),
                ("ac_electric_furnace", 0.15),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            locations: vec![LocationSpec::default()],
            lifestyles: [("commuter", 0.7), ("home_all_day", 0.3)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            hub_share: 0.0,
            initial_indoor_c: 21.0,
            mode: "auto".into(),
            setpoint_f: 72,
            windows: true,
        }
    }
}

/// `[[fleet.locations]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationSpec {
    /// Display name.
    pub name: String,
    /// Latitude [°].
    pub latitude: f64,
    /// Longitude [°], east positive.
    pub longitude: f64,
    /// IANA time zone.
    pub timezone: String,
    /// Elevation [m].
    #[serde(default)]
    pub elevation_m: f64,
    /// Relative share of the fleet.
    #[serde(default = "one")]
    pub weight: f64,
    /// This location's own EPW weather file (overrides `climate`).
    #[serde(default)]
    pub epw_file: Option<PathBuf>,
}

fn one() -> f64 {
    1.0
}

impl Default for LocationSpec {
    /// Chicago.
    fn default() -> Self {
        LocationSpec {
            name: "Chicago".into(),
            latitude: 41.88,
            longitude: -87.63,
            timezone: "America/Chicago".into(),
            elevation_m: 180.0,
            weight: 1.0,
            epw_file: None,
        }
    }
}

/// Where the weather comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClimateSource {
    /// Generated from the parameters below.
    #[default]
    Synthetic,
    /// Read from `epw_file`.
    Epw,
}

/// `[climate]`: a synthetic climate (defaults as hvac-models'
/// `SyntheticClimate`) or an EPW file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Climate {
    /// `synthetic` or `epw`.
    pub source: ClimateSource,
    /// The EPW file (relative paths are relative to the scenario file).
    pub epw_file: Option<PathBuf>,
    /// Annual mean temperature [°C].
    pub annual_mean_c: f64,
    /// Half the summer–winter swing of daily means [°C].
    pub seasonal_amplitude_c: f64,
    /// Day of the year with the coldest mean (20 ≈ 20 January).
    pub coldest_day_of_year: f64,
    /// Half the day–night swing [°C].
    pub diurnal_amplitude_c: f64,
    /// Solar hour of the daily maximum.
    pub warmest_solar_hour: f64,
    /// Standard deviation of the weather noise [°C].
    pub noise_sigma_c: f64,
    /// Correlation time of the weather noise.
    pub noise_tau: Duration,
    /// Mean cloud cover, 0–1.
    pub mean_cloud_cover: f64,
    /// Mean dry-bulb minus dew point [°C].
    pub dew_point_depression_c: f64,
    /// Mean wind speed [m/s].
    pub mean_wind_speed_m_s: f64,
    /// Heat waves and cold snaps.
    pub events: Vec<ClimateEvent>,
}

impl Default for Climate {
    fn default() -> Self {
        let d = hvac_models::weather::synthetic::SyntheticClimate::default();
        Climate {
            source: ClimateSource::Synthetic,
            epw_file: None,
            annual_mean_c: d.annual_mean_c,
            seasonal_amplitude_c: d.seasonal_amplitude_c,
            coldest_day_of_year: d.coldest_day_of_year,
            diurnal_amplitude_c: d.diurnal_amplitude_c,
            warmest_solar_hour: d.warmest_solar_hour,
            noise_sigma_c: d.noise_sigma_c,
            noise_tau: Duration(d.noise_tau),
            mean_cloud_cover: d.mean_cloud_cover,
            dew_point_depression_c: d.dew_point_depression_c,
            mean_wind_speed_m_s: d.mean_wind_speed_m_s,
            events: Vec::new(),
        }
    }
}

/// Heat wave or cold snap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClimateEventKind {
    /// Warmer than usual.
    HeatWave,
    /// Colder than usual.
    ColdSnap,
}

/// `[[climate.events]]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClimateEvent {
    /// `heat_wave` or `cold_snap`.
    pub kind: ClimateEventKind,
    /// When it begins.
    pub start: When,
    /// How long it lasts.
    pub duration: Duration,
    /// How much warmer (heat wave) or colder (cold snap) at its height [°C].
    pub delta_c: f64,
    /// Ramp in and out.
    #[serde(default = "default_ramp")]
    pub ramp: Duration,
}

fn default_ramp() -> Duration {
    Duration(SimDuration::from_hours(12))
}

/// `[faults]`: incidence, onset and rate of each fault (defaults as
/// hvac-models' `DegradationParams`).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Compressor bearing wear.
    pub bearing: BearingSpec,
    /// Refrigerant leak.
    pub leak: LeakSpec,
    /// Run-capacitor ageing.
    pub capacitor: CapacitorSpec,
}

/// `[faults.bearing]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BearingSpec {
    /// Share of homes with the fault.
    pub incidence: f64,
    /// Latest onset, in compressor-running hours.
    pub onset_max_h: f64,
    /// Mean wear rate [µm per running hour].
    pub rate_um_per_h: f64,
    /// Gamma process shape per running hour.
    pub shape_per_h: f64,
    /// Wear at which the compressor fails [µm].
    pub failure_um: f64,
    /// Spall size at seizure over its size at onset (1: vibration linear in
    /// wear).
    pub spall_ratio: f64,
    /// Unit-to-unit spread of the healthy vibration level: each
    /// compressor's shaft tones and noise are scaled by a lognormal factor
    /// with this σ (installation and mounting differ).
    pub vibration_spread: f64,
    /// Unit-to-unit spread of the mean wear rate: each compressor's rate is
    /// scaled by a mean-one lognormal factor with this σ.
    pub rate_spread: f64,
    /// Unit-to-unit spread (lognormal σ) of the defect's impact amplitude
    /// at seizure: units fail at different vibration levels.
    pub impact_spread: f64,
    /// Unit-to-unit spread (lognormal σ) of the structural resonance.
    pub resonance_spread: f64,
    /// Unit-to-unit spread (lognormal σ) of the resonance's damping.
    pub damping_spread: f64,
}

impl Default for BearingSpec {
    fn default() -> Self {
        let d = hvac_models::degradation::BearingWearParams::default();
        BearingSpec {
            incidence: d.incidence,
            onset_max_h: d.onset_max_h,
            rate_um_per_h: d.rate_um_per_h,
            shape_per_h: d.shape_per_h,
            failure_um: d.failure_um,
            spall_ratio: d.spall_ratio,
            vibration_spread: 0.25,
            rate_spread: 0.5,
            impact_spread: 0.3,
            resonance_spread: 0.1,
            damping_spread: 0.3,
        }
    }
}

/// `[faults.leak]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeakSpec {
    /// Share of homes with the fault.
    pub incidence: f64,
    /// Latest onset [days].
    pub onset_max_days: f64,
    /// Median loss of charge per day (fraction).
    pub rate_per_day: f64,
    /// Log-normal spread of the rate.
    pub rate_sigma: f64,
}

impl Default for LeakSpec {
    fn default() -> Self {
        let d = hvac_models::degradation::RefrigerantLeakParams::default();
        LeakSpec {
            incidence: d.incidence,
            onset_max_days: d.onset_max_days,
            rate_per_day: d.rate_per_day,
            rate_sigma: d.rate_sigma,
        }
    }
}

/// `[faults.capacitor]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapacitorSpec {
    /// Share of homes with the fault.
    pub incidence: f64,
    /// Latest onset [days].
    pub onset_max_days: f64,
    /// Mean capacitance loss per day (fraction).
    pub loss_per_day: f64,
    /// Gamma process shape per day.
    pub shape_per_day: f64,
}

impl Default for CapacitorSpec {
    fn default() -> Self {
        let d = hvac_models::degradation::CapacitorParams::default();
        CapacitorSpec {
            incidence: d.incidence,
            onset_max_days: d.onset_max_days,
            loss_per_day: d.loss_per_day,
            shape_per_day: d.shape_per_day,
        }
    }
}

/// `[sensing]`: the outdoor unit's sensors as the thermostat reads them.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Sensing {
    /// How the vibration reports are made.
    pub vibration: VibrationFidelity,
    /// Sensor faults (`[[sensing.faults]]`).
    pub faults: Vec<SensorFaultSpec>,
}

/// `[sensing] vibration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VibrationFidelity {
    /// Features drawn from their expected values (calibrated against the
    /// waveform path; fast).
    #[default]
    Fast,
    /// Each window synthesised sample by sample and its features computed
    /// by the firmware's own extractor.
    Waveform,
}

/// A sensor fault's kind: which sensor, and what goes wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SensorFaultKind {
    /// The accelerometer returns nothing for a share of the windows.
    AccelerometerDropout,
    /// The accelerometer's output is stuck at one value.
    AccelerometerStuck,
    /// The accelerometer's sensitivity drifts (`per_day`).
    AccelerometerDrift,
    /// The accelerometer has come loose or sits behind damping: its signal
    /// is attenuated (`gain`).
    AccelerometerAttenuated,
    /// The current clamp returns nothing for a share of the readings.
    ClampDropout,
    /// The current clamp's reading is stuck at one value.
    ClampStuck,
    /// The current clamp's calibration drifts (`per_day`).
    ClampDrift,
    /// The current clamp is miswired or set to the wrong ratio: it reads
    /// `gain` × the current.
    ClampMiswired,
}

impl SensorFaultKind {
    /// The name in scenario files and the ground truth.
    pub fn as_str(self) -> &'static str {
        match self {
            SensorFaultKind::AccelerometerDropout => "accelerometer_dropout",
            SensorFaultKind::AccelerometerStuck => "accelerometer_stuck",
            SensorFaultKind::AccelerometerDrift => "accelerometer_drift",
            SensorFaultKind::AccelerometerAttenuated => "accelerometer_attenuated",
            SensorFaultKind::ClampDropout => "clamp_dropout",
            SensorFaultKind::ClampStuck => "clamp_stuck",
            SensorFaultKind::ClampDrift => "clamp_drift",
            SensorFaultKind::ClampMiswired => "clamp_miswired",
        }
    }
}

/// `[[sensing.faults]]`: one kind of sensor fault, in a share of the homes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorFaultSpec {
    /// What goes wrong.
    pub kind: SensorFaultKind,
    /// Share of homes with the fault, 0 to 1.
    pub incidence: f64,
    /// Latest onset [days after the start]: onset is uniform below it.
    #[serde(default = "default_sensor_onset")]
    pub onset_max_days: f64,
    /// Dropouts: the share of readings lost, 0 to 1.
    #[serde(default = "default_dropout")]
    pub probability: f64,
    /// Attenuated or miswired: the factor on the reading, 0 to 10
    /// (default 0.3 for an attenuated accelerometer, 0.5 for a miswired
    /// clamp).
    pub gain: Option<f64>,
    /// Drift: change of the sensitivity per day since onset, −0.5 to 0.5.
    #[serde(default = "default_drift")]
    pub per_day: f64,
}

fn default_sensor_onset() -> f64 {
    30.0
}

fn default_dropout() -> f64 {
    0.5
}

fn default_drift() -> f64 {
    0.02
}

/// An integration's rate-limit tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TierSpec {
    /// 100 requests per minute per token.
    #[default]
    Standard,
    /// 500 requests per minute per token.
    Enterprise,
}

/// `[[accounts]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Name (unique).
    pub name: String,
    /// Relative share of the fleet's homes.
    #[serde(default = "one")]
    pub share: f64,
    /// Tier of the homes' own AURRA clients (the thermostats' diagnostics).
    #[serde(default)]
    pub tier: TierSpec,
    /// Electricity price [per kWh].
    #[serde(default = "default_price")]
    pub price_per_kwh: f64,
    /// Homes per server account: the group's homes are split into accounts
    /// of this many (1: every home its own homeowner account, its own
    /// tokens and limits); all in one account when absent.
    pub homes_per_account: Option<u32>,
    /// Integrations of the account.
    #[serde(default)]
    pub integrations: Vec<IntegrationSpec>,
}

fn default_price() -> f64 {
    0.15
}

impl Default for AccountSpec {
    fn default() -> Self {
        AccountSpec {
            name: "fleet".into(),
            share: 1.0,
            tier: TierSpec::Standard,
            price_per_kwh: default_price(),
            homes_per_account: None,
            integrations: Vec::new(),
        }
    }
}

/// `[[accounts.integrations]]`: a third-party client with its own token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSpec {
    /// Name (unique in the account).
    pub name: String,
    /// Rate-limit tier of its token.
    #[serde(default)]
    pub tier: TierSpec,
    /// How many of the account's devices it manages (all by default).
    pub devices: Option<u32>,
    /// Poll each device's status this often.
    pub poll_status: Option<Duration>,
    /// Setpoint changes per device per day.
    #[serde(default)]
    pub setpoint_changes_per_day: f64,
    /// Send each device a weekly schedule at the start.
    #[serde(default)]
    pub schedule: bool,
    /// Turn Eco Mode on at the start.
    #[serde(default)]
    pub eco: bool,
    /// Ask for a climate optimisation per device this often (and apply it).
    pub optimize: Option<Duration>,
    /// Webhook event types to register for (received and verified by the
    /// runner's receiver).
    #[serde(default)]
    pub webhooks: Vec<String>,
}

/// `[[automations]]`: one automation in the seed's JSON shape, created
/// through the Automations API for each chosen device of an account; the
/// string `"$device"` anywhere in it stands for the device's id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationSpec {
    /// The account.
    pub account: String,
    /// How many of its devices get one (all by default).
    pub devices: Option<u32>,
    /// The automation (`name`, `trigger`, `conditions`, `actions`,
    /// `cooldown`, …).
    pub automation: serde_json::Value,
}

/// `[firmware]`: the firmware's tunables (defaults as device-firmware's
/// `FirmwareConfig`; names as its fields).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FirmwareSpec {
    /// Version string of the firmware the fleet starts with.
    pub version: String,
    /// Control loop tunables.
    pub control: ControlSpec,
    /// Control loop period [ms].
    pub control_interval_ms: u64,
    /// Response timeout [ms].
    pub request_timeout_ms: u64,
    /// Telemetry buffer capacity [readings].
    pub telemetry_buffer_capacity: usize,
    /// Readings per upload.
    pub telemetry_batch_max: usize,
    /// Spacing of uploads while a backlog drains [ms].
    pub telemetry_drain_spacing_ms: u64,
    /// Reporting interval until settings arrive [s].
    pub default_reporting_interval_s: u64,
    /// Settings refresh period [ms].
    pub settings_refresh_ms: u64,
    /// Pending-command poll period [ms].
    pub command_poll_ms: u64,
    /// OTA check period [ms].
    pub ota_check_ms: u64,
    /// Vibration report period while the compressor runs [ms].
    pub vibration_interval_ms: u64,
    /// The clamp current from which the compressor counts as running and
    /// its vibration is sampled [A].
    pub vibration_min_current_a: f64,
    /// Energy report period [ms].
    pub energy_interval_ms: u64,
    /// Token refresh margin [ms].
    pub token_refresh_margin_ms: u64,
    /// First backoff ceiling [ms].
    pub backoff_base_ms: u64,
    /// Largest backoff ceiling [ms].
    pub backoff_cap_ms: u64,
    /// Download attempts per release.
    pub ota_max_attempts: u32,
    /// The reporting interval the server's settings give devices [s].
    pub reporting_interval_s: u64,
}

impl Default for FirmwareSpec {
    fn default() -> Self {
        let d = device_firmware::config::FirmwareConfig::default();
        FirmwareSpec {
            version: d.version,
            control: ControlSpec::default(),
            control_interval_ms: d.control_interval_ms,
            request_timeout_ms: d.request_timeout_ms,
            telemetry_buffer_capacity: d.telemetry_buffer_capacity,
            telemetry_batch_max: d.telemetry_batch_max,
            telemetry_drain_spacing_ms: d.telemetry_drain_spacing_ms,
            default_reporting_interval_s: d.default_reporting_interval_s,
            settings_refresh_ms: d.settings_refresh_ms,
            command_poll_ms: d.command_poll_ms,
            ota_check_ms: d.ota_check_ms,
            vibration_interval_ms: d.vibration_interval_ms,
            vibration_min_current_a: d.vibration_min_current_a,
            energy_interval_ms: d.energy_interval_ms,
            token_refresh_margin_ms: d.token_refresh_margin_ms,
            backoff_base_ms: d.backoff_base_ms,
            backoff_cap_ms: d.backoff_cap_ms,
            ota_max_attempts: d.ota_max_attempts,
            reporting_interval_s: 300,
        }
    }
}

/// `[firmware.control]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlSpec {
    /// Hysteresis band [°F].
    pub differential_f: f64,
    /// Minimum compressor on time [ms].
    pub min_on_ms: u64,
    /// Minimum compressor off time [ms].
    pub min_off_ms: u64,
    /// Compressor starts an hour at most (0: no limit).
    pub max_cycles_per_hour: f64,
    /// Minimum heat–cool gap in auto mode [°F].
    pub auto_min_gap_f: f64,
    /// Droop before auxiliary heat [°F].
    pub aux_differential_f: f64,
    /// Delay before auxiliary heat [ms].
    pub aux_delay_ms: u64,
}

impl Default for ControlSpec {
    fn default() -> Self {
        let d = device_firmware::control::ControlConfig::default();
        ControlSpec {
            differential_f: d.differential_f,
            min_on_ms: d.min_on_ms,
            min_off_ms: d.min_off_ms,
            max_cycles_per_hour: d.max_cycles_per_hour,
            auto_min_gap_f: d.auto_min_gap_f,
            aux_differential_f: d.aux_differential_f,
            aux_delay_ms: d.aux_delay_ms,
        }
    }
}

/// `[ota]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Ota {
    /// Releases, published at their time.
    pub releases: Vec<ReleaseSpec>,
}

/// `[[ota.releases]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSpec {
    /// Version (semantic, above the fleet's).
    pub version: String,
    /// When it is published.
    pub publish_at: When,
    /// Release notes.
    #[serde(default)]
    pub notes: String,
    /// Image size [KiB].
    #[serde(default = "default_image_kib")]
    pub image_kib: u32,
    /// Cumulative percentages of the fleet per batch, rising to 100.
    #[serde(default = "default_batches")]
    pub batches: Vec<f64>,
    /// Success rate a batch needs before the next opens.
    #[serde(default = "default_advance")]
    pub advance_success_rate: f64,
    /// Failure rate that halts the rollout.
    #[serde(default = "default_halt")]
    pub halt_failure_rate: f64,
    /// Reports a batch needs before it is judged.
    #[serde(default = "default_min_reports")]
    pub min_reports: u32,
    /// Share of installs that fail (a defective build).
    #[serde(default)]
    pub failure_rate: f64,
}

fn default_image_kib() -> u32 {
    512
}

fn default_batches() -> Vec<f64> {
    vec![5.0, 25.0, 100.0]
}

fn default_advance() -> f64 {
    api_server::ota::RolloutPlan::default().advance_success_rate
}

fn default_halt() -> f64 {
    api_server::ota::RolloutPlan::default().halt_failure_rate
}

fn default_min_reports() -> u32 {
    api_server::ota::RolloutPlan::default().min_reports
}

/// `[network]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// The shortest one-way latency [ms] (also the window length).
    pub min_latency_ms: u64,
    /// Median one-way latency [ms].
    pub median_latency_ms: u64,
    /// 99th-percentile one-way latency [ms].
    pub p99_latency_ms: u64,
    /// Share of requests lost in transit (the device sees a transport error).
    pub error_rate: f64,
    /// Outages.
    pub outages: Vec<OutageSpec>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            min_latency_ms: 20,
            median_latency_ms: 60,
            p99_latency_ms: 400,
            error_rate: 0.0,
            outages: Vec::new(),
        }
    }
}

/// `[[network.outages]]`: homes that lose their connection for a while.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageSpec {
    /// When it begins.
    pub start: When,
    /// How long it lasts.
    pub duration: Duration,
    /// Share of homes affected.
    #[serde(default = "one")]
    pub share: f64,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Confidence at which predictions become alerts.
    pub alert_threshold: f64,
    /// The primary predictor: its predictions raise alerts (`threshold`:
    /// vibration severity zones; `trend`: Gebraeel's exponential model).
    pub predictor: String,
    /// Predictors run in shadow on the same reports: their predictions are
    /// recorded and scored, they raise no alerts.
    pub shadow_predictors: Vec<String>,
    /// Readings kept in memory per device (all are written to the run's
    /// tables).
    pub telemetry_retention: usize,
    /// How long an outside model (`cmd:`) may take to answer a batch.
    pub model_timeout: Duration,
    /// The folder outside models run in: the scenario file's (the current
    /// folder for `--model` and scenarios not read from a file).
    #[serde(skip)]
    pub model_dir: PathBuf,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            alert_threshold: api_server::predictive::DEFAULT_ALERT_THRESHOLD,
            predictor: "threshold".into(),
            shadow_predictors: Vec::new(),
            telemetry_retention: 2_000,
            model_timeout: Duration(SimDuration::from_secs(60)),
            model_dir: PathBuf::from("."),
        }
    }
}

/// `[technicians]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Technicians {
    /// Whether alerts lead to visits.
    pub enabled: bool,
    /// Time from an alert to the visit.
    pub delay: Duration,
}

impl Default for Technicians {
    fn default() -> Self {
        Technicians {
            enabled: true,
            delay: Duration(SimDuration::from_hours(48)),
        }
    }
}

/// `[outputs]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Outputs {
    /// Folder under which the run folder is made.
    pub dir: PathBuf,
    /// Write every stored reading (the largest table).
    pub telemetry: bool,
    /// Sample period of the homes table (indoor/outdoor temperature, HVAC
    /// state, power).
    pub home_sample: Duration,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            dir: PathBuf::from("runs"),
            telemetry: true,
            home_sample: Duration(SimDuration::from_mins(15)),
        }
    }
}

/// `[evaluation]`: how alerts are judged against the ground truth.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Evaluation {
    /// An alert predicts a failure at `T` when it lands in
    /// `[T − window_max, T − window_min]`: at least this long ahead (time
    /// to act) …
    pub window_min: Duration,
    /// … and at most this long ahead.
    pub window_max: Duration,
    /// Cost of a failure nobody foresaw (emergency repair, lost comfort).
    pub cost_missed_failure: f64,
    /// Cost of one technician visit.
    pub cost_truck_roll: f64,
    /// Alerts of one device and one fault within this span of the first
    /// are one episode (one alarm for precision); every alert still costs
    /// a truck roll.
    pub episode_span: Duration,
    /// Bootstrap resamples of the devices behind each headline interval.
    pub bootstrap: u32,
    /// Continue each repaired fault to when it would have failed (the
    /// `would_fail` rows of the ground truth), so a repair counts as a
    /// prevented failure only when that lies in its alert's window.
    pub counterfactuals: bool,
}

impl Default for Evaluation {
    fn default() -> Self {
        Evaluation {
            window_min: Duration(SimDuration::from_days(1)),
            window_max: Duration(SimDuration::from_days(30)),
            cost_missed_failure: 3_000.0,
            cost_truck_roll: 150.0,
            episode_span: Duration(SimDuration::from_days(7)),
            bootstrap: 1_000,
            counterfactuals: true,
        }
    }
}

/// `[gates]`: each limit optional; see `reports::gates`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatesSpec {
    /// Minimum alert recall (0–1).
    pub min_recall: Option<f64>,
    /// Minimum alert precision (0–1).
    pub min_precision: Option<f64>,
    /// Maximum false alarms per device-year.
    pub max_false_alarms_per_device_year: Option<f64>,
    /// Minimum median lead time [days].
    pub min_lead_time_days: Option<f64>,
    /// Maximum compressor short cycles, fleet total.
    pub max_short_cycle_violations: Option<u64>,
    /// Minimum share of readings delivered (0–1).
    pub min_telemetry_delivery: Option<f64>,
    /// Maximum p99 delay from measurement to storage.
    pub max_p99_delivery_delay: Option<Duration>,
    /// Maximum mean K·h outside the comfort band per home.
    pub max_comfort_kh_per_home: Option<f64>,
    /// Minimum OTA success rate (0–1).
    pub min_ota_success: Option<f64>,
    /// Maximum share of requests answered 429 (0–1).
    pub max_rate_limited_share: Option<f64>,
}

impl GatesSpec {
    /// The limits as `reports` evaluates them.
    pub fn to_gates(&self) -> reports::gates::Gates {
        reports::gates::Gates {
            min_recall: self.min_recall,
            min_precision: self.min_precision,
            max_false_alarms_per_device_year: self.max_false_alarms_per_device_year,
            min_lead_time_days: self.min_lead_time_days,
            max_short_cycle_violations: self.max_short_cycle_violations.map(|n| n as f64),
            min_telemetry_delivery: self.min_telemetry_delivery,
            max_p99_delivery_delay_s: self
                .max_p99_delivery_delay
                .map(|d| d.0.as_millis() as f64 / 1_000.0),
            max_comfort_kh_per_home: self.max_comfort_kh_per_home,
            min_ota_success: self.min_ota_success,
            max_rate_limited_share: self.max_rate_limited_share,
        }
    }
}
