//! The firmware as one sans-IO state machine.
//!
//! ```text
//!  inputs                                   outputs
//!  ──────                                   ───────
//!  handle_sensors(now, snapshot) ─┐     ┌─► poll_transmit() → Request
//!  handle_vibration(now, …) ──────┤     ├─► poll_timeout()  → next wake-up
//!  handle_zigbee(now, …) ─────────┼─► Firmware ─► relays()  → Y/O/W/G
//!  handle_timeout(now) ───────────┤     └─► poll_event()    → testbed log
//!  handle_response(now, id, resp) ┤
//!  power_loss(now) / boot ────────┘
//! ```
//!
//! Inside, each exchange with a server is a [`Task`] with its own schedule,
//! backoff and rate guard: telemetry upload, settings refresh, command poll,
//! command results, OTA check / download / status, AURRA token, vibration and
//! energy reports, Zigbee registration. At most one request per task is in
//! flight. What must survive a reboot (the telemetry buffer, comfort
//! settings, the command ledger and unsent results, OTA status reports and
//! the firmware version) is kept in [`Flash`]; everything else is rebuilt at
//! boot.
//!
//! Extensions the seeds leave open, fixed here (and in the server's OpenAPI
//! spec): telemetry readings carry `seq` (and `sensor_id` when a hub sends
//! for a Zigbee sensor); a `config_update` command's payload may hold
//! `setpoint` (`{temperature, mode}`), `mode`, `fan`, `schedule` (the AURRA
//! schedule body), `eco` (`{enabled, heat_limit, cool_limit}`),
//! `reporting_interval_seconds`, `enabled_sensors` and `timezone`; a
//! `factory_reset` needs `{"confirm": true}`; a `reboot` takes
//! `delay_seconds`.

use std::collections::{HashMap, VecDeque};

use jiff::tz::TimeZone;
use rand::rngs::ChaCha8Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::backoff::{Backoff, Outcome, RateGuard, Task, outcome_of};
use crate::command::{Command, ConfigUpdate};
use crate::config::{ConfigError, FirmwareConfig, Identity};
use crate::control::{Controller, Relays};
use crate::http::{Api, Method, Request, RequestId, Response};
use crate::schedule::{Comfort, Eco};
use crate::telemetry::{SensorType, TelemetryBuffer};
use crate::time::Instant;
use crate::vibration::{FeatureExtractor, Features};

/// What the device's sensors read at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SensorSnapshot {
    /// Air temperature [°C]; `None`: the sensor failed.
    pub temperature_c: Option<f64>,
    /// Relative humidity [%].
    pub humidity_pct: Option<f64>,
    /// Pressure [hPa].
    pub pressure_hpa: Option<f64>,
    /// Mains power present.
    pub power_available: Option<bool>,
    /// Battery level [%].
    pub battery_pct: Option<f64>,
    /// Signal strength [dBm].
    pub signal_dbm: Option<f64>,
    /// Indoor air quality index.
    pub iaq: Option<f64>,
    /// HVAC supply voltage [V].
    pub voltage_v: Option<f64>,
    /// HVAC current draw [A].
    pub current_a: Option<f64>,
}

impl SensorSnapshot {
    fn value(&self, t: SensorType) -> Option<f64> {
        match t {
            SensorType::Temperature => self.temperature_c,
            SensorType::Humidity => self.humidity_pct,
            SensorType::Pressure => self.pressure_hpa,
            SensorType::PowerAvailability => {
                self.power_available.map(|p| if p { 1.0 } else { 0.0 })
            }
            SensorType::BatteryLevel => self.battery_pct,
            SensorType::SignalStrength => self.signal_dbm,
            SensorType::Iaq => self.iaq,
        }
    }
}

/// What the thermostat's own sensors tell of its occupants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OccupantEvent {
    /// The occupancy (PIR) sensor saw motion.
    Motion,
    /// Someone pressed the thermostat's button.
    ButtonPress,
}

/// Something the testbed may want to record.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The firmware (re)started.
    Booted {
        /// Running version.
        version: String,
    },
    /// A reboot is starting.
    Rebooting {
        /// Why.
        reason: String,
    },
    /// The controller asks the accelerometer for a window (or features).
    SampleAccelerometer,
    /// A reading was refused because the buffer was full.
    ReadingDropped {
        /// Total dropped so far.
        total: u64,
    },
    /// Settings from the server were applied.
    SettingsApplied,
    /// A command was executed and its result queued.
    CommandHandled {
        /// The command's id.
        command_id: String,
        /// Its type.
        kind: String,
        /// `acked` or `failed`.
        status: String,
    },
    /// An expired command was skipped.
    CommandExpired {
        /// The command's id.
        command_id: String,
    },
    /// An OTA stage was reached.
    OtaStage {
        /// Target version.
        version: String,
        /// Stage (`downloading`, …, `completed`, `failed`).
        status: String,
    },
    /// A new AURRA token was obtained.
    TokenAcquired {
        /// When it expires.
        expires_at: Instant,
    },
    /// The server answered 429.
    RateLimited {
        /// The request path.
        path: String,
        /// Its `Retry-After` [s].
        retry_after_s: Option<u64>,
    },
    /// A request failed (5xx, transport error, timeout, or a 4xx refusal).
    RequestFailed {
        /// The request path.
        path: String,
        /// The status, if an answer came.
        status: Option<u16>,
    },
}

/// Capacity of the event log; the oldest events are dropped beyond it.
pub const EVENT_LOG_CAPACITY: usize = 4_096;
/// Queued command results, OTA reports and diagnostics reports are bounded
/// to this many each; beyond it the oldest is dropped.
pub const REPORT_QUEUE_CAPACITY: usize = 64;
/// Occupant events waiting to be reported; beyond it the oldest is dropped.
pub const OCCUPANT_QUEUE_CAPACITY: usize = 16;
/// Command ids remembered as handled (to execute each exactly once).
pub const COMMAND_LEDGER_CAPACITY: usize = 1_024;

/// State kept in flash across reboots and power losses.
#[derive(Debug, Clone)]
pub struct Flash {
    /// Running firmware version.
    pub version: String,
    /// Readings not yet acknowledged.
    pub buffer: TelemetryBuffer,
    /// Comfort settings (mode, setpoints, schedule, Eco).
    pub comfort: Comfort,
    /// Reporting interval [s].
    pub reporting_interval_s: u64,
    /// Sensors reported.
    pub enabled_sensors: Vec<SensorType>,
    /// Device location from settings (latitude, longitude).
    pub location: Option<(f64, f64)>,
    ledger: VecDeque<String>,
    results: VecDeque<Value>,
    ota_reports: VecDeque<Value>,
    ota_completed: Option<String>,
    zigbee_ids: HashMap<String, String>,
    next_request_id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Job {
    Telemetry,
    Settings,
    Commands,
    CommandResult,
    OtaCheck,
    OtaDownload,
    OtaStatus,
    Token,
    Vibration,
    Energy,
    Zigbee,
    Occupant,
}

/// Every job, in the order requests are issued when several are due at once:
/// settings first at boot (they set the interval, sensors and time zone),
/// then hub registration and commands, then data.
const JOBS: [Job; 12] = [
    Job::Settings,
    Job::Zigbee,
    Job::Commands,
    Job::CommandResult,
    Job::Occupant,
    Job::Telemetry,
    Job::Token,
    Job::Vibration,
    Job::Energy,
    Job::OtaStatus,
    Job::OtaCheck,
    Job::OtaDownload,
];

/// `value` as a request body (serializing plain data cannot fail).
fn json_bytes<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// `POST /v1/diagnostics/vibration`'s body, serialized straight from the
/// fields (keys in sorted order, as a JSON map writes them).
#[derive(serde::Serialize)]
struct VibrationOut<'a> {
    amplitude: f64,
    device_id: &'a str,
    duration_ms: u64,
    frequency: f64,
    kurtosis: f64,
    rms: f64,
    timestamp: &'a str,
}

/// `POST /v1/diagnostics/energy`'s body.
#[derive(serde::Serialize)]
struct EnergyOut<'a> {
    current_amps: f64,
    device_id: &'a str,
    period_start: &'a str,
    runtime_mins: u64,
    voltage: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct Release {
    version: String,
    checksum_hex: String,
    size_bytes: Option<u64>,
    attempts: u32,
}

#[derive(Debug, Clone)]
struct Token {
    /// `Bearer {token}`, the header value as sent.
    bearer: String,
    /// When to fetch the next one: `token_refresh_margin` before expiry, but
    /// never earlier than half-way through a short-lived token's life.
    refresh_at: Instant,
}

#[derive(Debug, Clone, Default)]
struct EnergyPeriod {
    start: Instant,
    runtime_ms: u64,
    voltage_sum: f64,
    voltage_n: u32,
    current_sum: f64,
    current_n: u32,
}

/// The thermostat firmware.
///
/// # Driving it
///
/// The caller owns the clock and the network. After [`Firmware::boot`] and
/// after every input (`handle_sensors`, `handle_timeout`, `handle_response`,
/// `handle_transport_error`, `handle_vibration_*`, `handle_occupant`,
/// `handle_zigbee_reading`, `power_loss`):
///
/// 1. send each request [`Firmware::poll_transmit`] returns until it returns
///    `None`; its answer comes back later as `handle_response(now, id, …)`
///    with the request's id, or `handle_transport_error(now, id)` when the
///    exchange fails;
/// 2. read the log with [`Firmware::poll_event`] until `None`, and the relay
///    outputs with `relays()`;
/// 3. call `handle_timeout(now)` no later than [`Firmware::poll_timeout`]
///    (it may be called early; the firmware does what is due).
///
/// Every input carries `now`; an input earlier than one already seen is
/// taken as happening at the latest time seen (a device clock is not
/// trusted to be monotone).
pub struct Firmware {
    cfg: FirmwareConfig,
    id: Identity,
    /// `Bearer {api_key}`, the device API's header value (formatted once).
    device_bearer: String,
    flash: Flash,
    rng: ChaCha8Rng,
    booted_at: Instant,
    now: Instant,
    controller: Controller,
    sensors: SensorSnapshot,
    /// One task per job, indexed by `Job as usize`.
    tasks: [Task; JOBS.len()],
    in_flight_paths: HashMap<RequestId, (Job, String)>,
    outbox: VecDeque<Request>,
    events: VecDeque<Event>,
    next_control: Instant,
    next_sample: Instant,
    next_vibration: Instant,
    awaiting_vibration: bool,
    vibration_reports: VecDeque<Vec<u8>>,
    energy: EnergyPeriod,
    energy_reports: VecDeque<Vec<u8>>,
    /// Motion and button presses not yet reported (`POST /v1/events`).
    occupant_events: VecDeque<Value>,
    last_motion: Option<Instant>,
    last_control: Instant,
    token: Option<Token>,
    token_retried_after_401: bool,
    release: Option<Release>,
    reboot_at: Option<Instant>,
    factory_reset_pending: bool,
    extractor: Option<FeatureExtractor>,
    last_features: Option<Features>,
    /// The boot-time settings exchange has settled (answered or failed).
    settings_settled: bool,
}

impl std::fmt::Debug for Firmware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Firmware")
            .field("device_id", &self.id.device_id)
            .field("version", &self.flash.version)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T, cap: usize) {
    if q.len() >= cap {
        q.pop_front();
    }
    q.push_back(item);
    debug_assert!(q.len() <= cap.max(1), "a flash queue outgrew its capacity");
}

impl Firmware {
    /// Fresh flash for a new device.
    pub fn factory_flash(cfg: &FirmwareConfig) -> Flash {
        let tz = TimeZone::get(&cfg.default_timezone).unwrap_or(TimeZone::UTC);
        Flash {
            version: cfg.version.clone(),
            buffer: TelemetryBuffer::new(cfg.telemetry_buffer_capacity),
            comfort: Comfort::new(tz),
            reporting_interval_s: cfg.default_reporting_interval_s.clamp(60, 3_600),
            enabled_sensors: cfg.default_enabled_sensors.clone(),
            location: None,
            ledger: VecDeque::new(),
            results: VecDeque::new(),
            ota_reports: VecDeque::new(),
            ota_completed: None,
            zigbee_ids: HashMap::new(),
            next_request_id: 1,
        }
    }

    /// A new device booting at `now` with factory flash; `rng` drives the
    /// backoff jitter. Fails if a tunable is out of range.
    pub fn new(
        cfg: FirmwareConfig,
        id: Identity,
        rng: ChaCha8Rng,
        now: Instant,
    ) -> Result<Firmware, ConfigError> {
        cfg.validate()?;
        let flash = Firmware::factory_flash(&cfg);
        Ok(Firmware::boot(cfg, id, flash, rng, now))
    }

    /// Boots at `now` from `flash` (after a reboot or power loss), with the
    /// configuration the device was created with.
    pub fn boot(
        cfg: FirmwareConfig,
        id: Identity,
        flash: Flash,
        rng: ChaCha8Rng,
        now: Instant,
    ) -> Firmware {
        let backoff = || Backoff::new(cfg.backoff_base_ms, cfg.backoff_cap_ms);
        let minute = 60_000;
        let guard = |job: Job| match job {
            Job::Telemetry => RateGuard::new(60, minute),
            Job::Settings => RateGuard::new(10, minute),
            Job::Commands => RateGuard::new(30, minute),
            Job::OtaCheck => RateGuard::new(10, minute),
            Job::OtaDownload => RateGuard::new(5, 3_600_000),
            Job::Vibration | Job::Energy => RateGuard::new(30, minute),
            // The server's events limit (60 a minute).
            Job::Occupant => RateGuard::new(60, minute),
            // Not limited by the seeds; kept modest all the same.
            Job::CommandResult | Job::OtaStatus | Job::Token | Job::Zigbee => {
                RateGuard::new(30, minute)
            }
        };
        let tasks = std::array::from_fn(|i| {
            let j = JOBS
                .iter()
                .copied()
                .find(|j| *j as usize == i)
                .unwrap_or(Job::Telemetry);
            Task::new(now, backoff(), guard(j))
        });
        let mut fw = Firmware {
            controller: Controller::new(cfg.control, now),
            cfg,
            device_bearer: format!("Bearer {}", id.api_key),
            id,
            flash,
            rng,
            booted_at: now,
            now,
            sensors: SensorSnapshot::default(),
            tasks,
            in_flight_paths: HashMap::new(),
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            next_control: now,
            next_sample: now,
            next_vibration: now,
            awaiting_vibration: false,
            vibration_reports: VecDeque::new(),
            energy: EnergyPeriod {
                start: now,
                ..EnergyPeriod::default()
            },
            energy_reports: VecDeque::new(),
            occupant_events: VecDeque::new(),
            last_motion: None,
            last_control: now,
            token: None,
            token_retried_after_401: false,
            release: None,
            reboot_at: None,
            factory_reset_pending: false,
            extractor: None,
            last_features: None,
            settings_settled: false,
        };
        // A version installed by OTA is reported once it is running.
        if let Some(v) = fw.flash.ota_completed.take() {
            let report = json!({"version": v, "status": "completed", "progress_percent": 100});
            push_bounded(&mut fw.flash.ota_reports, report, REPORT_QUEUE_CAPACITY);
            fw.event(Event::OtaStage {
                version: v,
                status: "completed".into(),
            });
        }
        let version = fw.flash.version.clone();
        fw.event(Event::Booted { version });
        // First exchanges: settings and commands at once, OTA check a little later.
        fw.task(Job::OtaCheck).next_due = now.plus_ms(60_000);
        fw
    }

    /// The running firmware version.
    pub fn version(&self) -> &str {
        &self.flash.version
    }

    /// The device's identity.
    pub fn identity(&self) -> &Identity {
        &self.id
    }

    /// The flash contents (what a reboot keeps).
    pub fn flash(&self) -> &Flash {
        &self.flash
    }

    /// Takes the flash out, for a reboot: `Firmware::boot(cfg, id, flash, …)`.
    pub fn into_flash(self) -> Flash {
        self.flash
    }

    /// The configuration.
    pub fn config(&self) -> &FirmwareConfig {
        &self.cfg
    }

    /// The relay outputs now.
    pub fn relays(&self) -> Relays {
        self.controller.relays()
    }

    /// The comfort settings.
    pub fn comfort(&self) -> &Comfort {
        &self.flash.comfort
    }

    /// Compressor starts since boot.
    pub fn compressor_starts(&self) -> u64 {
        self.controller.starts()
    }

    /// When the firmware has asked to be restarted (after a `reboot` command,
    /// a factory reset or an OTA apply): the driver calls
    /// [`Firmware::into_flash`] and [`Firmware::boot`] at that time.
    pub fn reboot_due(&self) -> Option<Instant> {
        self.reboot_at
    }

    fn task(&mut self, job: Job) -> &mut Task {
        &mut self.tasks[job as usize]
    }

    fn event(&mut self, e: Event) {
        push_bounded(&mut self.events, e, EVENT_LOG_CAPACITY);
    }

    /// The next notable event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next request to send.
    pub fn poll_transmit(&mut self) -> Option<Request> {
        self.outbox.pop_front()
    }

    /// Records the latest sensor readings (call before `handle_timeout`).
    pub fn handle_sensors(&mut self, now: Instant, snapshot: SensorSnapshot) {
        self.now = self.now.max(now);
        self.sensors = snapshot;
    }

    /// Delivers the accelerometer window asked for by
    /// [`Event::SampleAccelerometer`].
    pub fn handle_vibration_window(&mut self, now: Instant, samples: &[f64], sample_rate_hz: f64) {
        let n = samples.len();
        if self.extractor.as_ref().is_none_or(|e| e.len() != n) {
            self.extractor = Some(FeatureExtractor::new(n));
        }
        let features = self
            .extractor
            .as_mut()
            .and_then(|e| e.extract(samples, sample_rate_hz));
        let duration_ms = (n as f64 / sample_rate_hz.max(1e-9) * 1_000.0).round() as u64;
        if let Some(f) = features {
            self.handle_vibration_features(now, f, duration_ms);
        } else {
            self.awaiting_vibration = false;
        }
    }

    /// The features of the last vibration window the firmware took.
    pub fn last_vibration(&self) -> Option<Features> {
        self.last_features
    }

    /// The accelerometer asked for by [`Event::SampleAccelerometer`]
    /// returned nothing (a sensor dropout): no report; the next window is
    /// asked for at the usual interval.
    pub fn handle_vibration_missing(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.awaiting_vibration = false;
    }

    /// Delivers features computed elsewhere (the simulator's fast fidelity)
    /// for a window of `duration_ms`.
    pub fn handle_vibration_features(&mut self, now: Instant, f: Features, duration_ms: u64) {
        self.now = self.now.max(now);
        self.awaiting_vibration = false;
        self.last_features = Some(f);
        if self.id.aurra.is_none() {
            return;
        }
        let report = json_bytes(&VibrationOut {
            amplitude: f.peak_g.clamp(0.0, 10.0),
            device_id: &self.id.device_id,
            duration_ms,
            frequency: f.dominant_hz.max(0.0),
            kurtosis: f.kurtosis,
            rms: f.rms_g,
            timestamp: &now.to_rfc3339(),
        });
        push_bounded(&mut self.vibration_reports, report, REPORT_QUEUE_CAPACITY);
        self.pump(now);
    }

    /// The occupancy sensor saw motion, or someone pressed the thermostat's
    /// button, at `now`: reported to the server (`POST /v1/events`), where
    /// `event` automations react and the climate optimiser learns
    /// occupancy. Motion is reported at most once per
    /// [`FirmwareConfig::motion_holdoff_ms`] (a PIR sensor re-triggers
    /// constantly); presses always are. At most [`OCCUPANT_QUEUE_CAPACITY`]
    /// wait (the oldest goes) while the server is unreachable.
    pub fn handle_occupant(&mut self, now: Instant, event: OccupantEvent) {
        self.now = self.now.max(now);
        let now = self.now;
        if event == OccupantEvent::Motion {
            if self
                .last_motion
                .is_some_and(|t| now.ms_since(t) < self.cfg.motion_holdoff_ms)
            {
                return;
            }
            self.last_motion = Some(now);
        }
        let name = match event {
            OccupantEvent::Motion => "motion_detected",
            OccupantEvent::ButtonPress => "button_press",
        };
        push_bounded(
            &mut self.occupant_events,
            json!({ "event": name }),
            OCCUPANT_QUEUE_CAPACITY,
        );
    }

    /// A hub receives a reading from a paired Zigbee sensor. Readings from
    /// sensors not yet registered with the server are not buffered.
    pub fn handle_zigbee_reading(
        &mut self,
        now: Instant,
        ieee_address: &str,
        sensor_type: SensorType,
        value: f64,
    ) -> bool {
        let Some(sensor_id) = self.flash.zigbee_ids.get(ieee_address).cloned() else {
            return false;
        };
        self.buffer_reading(sensor_type, value, now, Some(sensor_id))
    }

    fn buffer_reading(
        &mut self,
        t: SensorType,
        value: f64,
        at: Instant,
        sensor_id: Option<String>,
    ) -> bool {
        if !value.is_finite() {
            return false;
        }
        let ok = self.flash.buffer.push(t, value, at, sensor_id);
        if !ok {
            let total = self.flash.buffer.dropped();
            self.event(Event::ReadingDropped { total });
        }
        ok
    }

    /// Power fails at `now`: relays drop. The driver later boots again from
    /// [`Firmware::into_flash`].
    pub fn power_loss(&mut self, now: Instant) {
        self.controller.power_loss(now);
    }

    /// When the firmware next needs `handle_timeout`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self
            .next_control
            .min(self.next_sample)
            .min(self.energy.start.plus_ms(self.cfg.energy_interval_ms));
        if self.wants_vibration() {
            t = t.min(self.next_vibration);
        }
        if let Some(r) = self.reboot_at {
            t = t.min(r);
        }
        for job in JOBS {
            let task = &self.tasks[job as usize];
            if task.in_flight.is_some() || self.has_work(job) {
                t = t.min(task.wake_at(self.now));
            }
        }
        Some(t.max(self.now))
    }

    fn has_work(&self, job: Job) -> bool {
        let aurra = self.id.aurra.is_some();
        match job {
            // Uploads wait for the boot-time settings (interval, sensors, location).
            Job::Telemetry => self.settings_settled && !self.flash.buffer.is_empty(),
            Job::Settings | Job::Commands | Job::OtaCheck => true,
            Job::CommandResult => !self.flash.results.is_empty(),
            Job::Occupant => !self.occupant_events.is_empty(),
            Job::OtaDownload => self.release.is_some(),
            Job::OtaStatus => !self.flash.ota_reports.is_empty(),
            Job::Token => {
                aurra
                    && (!self.vibration_reports.is_empty() || !self.energy_reports.is_empty())
                    && !self.token_valid()
            }
            Job::Vibration => aurra && !self.vibration_reports.is_empty() && self.token_valid(),
            Job::Energy => aurra && !self.energy_reports.is_empty() && self.token_valid(),
            Job::Zigbee => self
                .id
                .zigbee_sensors
                .iter()
                .any(|s| !self.flash.zigbee_ids.contains_key(&s.ieee_address)),
        }
    }

    fn token_valid(&self) -> bool {
        self.token.as_ref().is_some_and(|t| self.now < t.refresh_at)
    }

    /// Wakes the firmware at `now`: timers, the control loop, sampling, and
    /// requests that have become due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        // Requests past their deadline count as failed.
        for job in JOBS {
            let interval = self.interval(job);
            let task = &mut self.tasks[job as usize];
            if let Some(id) = task.expire(now, interval, &mut self.rng) {
                if job == Job::Settings {
                    self.settings_settled = true;
                }
                let path = self
                    .in_flight_paths
                    .remove(&id)
                    .map(|(_, p)| p)
                    .unwrap_or_default();
                self.on_failure(job);
                self.event(Event::RequestFailed { path, status: None });
            }
        }
        if now >= self.next_control {
            self.control(now);
            self.next_control = now.plus_ms(self.cfg.control_interval_ms);
        }
        if now >= self.next_sample {
            let sensors = self.flash.enabled_sensors.clone();
            for t in sensors {
                if let Some(v) = self.sensors.value(t) {
                    self.buffer_reading(t, v, now, None);
                }
            }
            self.next_sample = now.plus_secs(self.flash.reporting_interval_s);
        }
        if self.wants_vibration() && now >= self.next_vibration {
            self.awaiting_vibration = true;
            self.next_vibration = now.plus_ms(self.cfg.vibration_interval_ms);
            self.event(Event::SampleAccelerometer);
        }
        if now >= self.energy.start.plus_ms(self.cfg.energy_interval_ms) {
            self.close_energy_period(now);
        }
        self.pump(now);
    }

    /// Whether a vibration window is due once `next_vibration` comes: the
    /// compressor is called (`Y`) and, where the clamp reads, draws current;
    /// no window is pending; the device reports diagnostics at all.
    fn wants_vibration(&self) -> bool {
        self.relays().y_compressor
            && self.id.aurra.is_some()
            && !self.awaiting_vibration
            && self
                .sensors
                .current_a
                .is_none_or(|a| a >= self.cfg.vibration_min_current_a)
    }

    fn control(&mut self, now: Instant) {
        let dt = now.ms_since(self.last_control);
        if self.controller.relays().y_compressor {
            self.energy.runtime_ms += dt;
        }
        self.last_control = now;
        let targets = self.flash.comfort.effective(now);
        let relays = self
            .controller
            .step(now, self.sensors.temperature_c, &targets);
        if let Some(v) = self.sensors.voltage_v {
            self.energy.voltage_sum += v;
            self.energy.voltage_n += 1;
        }
        if relays.y_compressor
            && let Some(a) = self.sensors.current_a
        {
            self.energy.current_sum += a;
            self.energy.current_n += 1;
        }
    }

    fn close_energy_period(&mut self, now: Instant) {
        let e = std::mem::replace(
            &mut self.energy,
            EnergyPeriod {
                start: now,
                ..EnergyPeriod::default()
            },
        );
        if self.id.aurra.is_none() || e.voltage_n == 0 {
            return;
        }
        let report = json_bytes(&EnergyOut {
            current_amps: if e.current_n > 0 {
                e.current_sum / f64::from(e.current_n)
            } else {
                0.0
            },
            device_id: &self.id.device_id,
            period_start: &e.start.to_rfc3339(),
            runtime_mins: (e.runtime_ms as f64 / 60_000.0).round() as u64,
            voltage: e.voltage_sum / f64::from(e.voltage_n),
        });
        push_bounded(&mut self.energy_reports, report, REPORT_QUEUE_CAPACITY);
    }

    fn interval(&self, job: Job) -> u64 {
        match job {
            Job::Telemetry => self.cfg.telemetry_drain_spacing_ms,
            Job::Settings => self.cfg.settings_refresh_ms,
            Job::Commands => self.cfg.command_poll_ms,
            Job::OtaCheck => self.cfg.ota_check_ms,
            Job::Vibration
            | Job::Energy
            | Job::CommandResult
            | Job::OtaStatus
            | Job::Zigbee
            | Job::Occupant
            | Job::OtaDownload => 0,
            Job::Token => 0,
        }
    }

    fn next_id(&mut self) -> RequestId {
        let id = RequestId(self.flash.next_request_id);
        self.flash.next_request_id += 1;
        id
    }

    /// Queues a request; `body` is JSON already serialized.
    fn request(&mut self, job: Job, api: Api, method: Method, path: String, body: Option<Vec<u8>>) {
        let id = self.next_id();
        let mut headers = Vec::with_capacity(2);
        if job != Job::Token {
            let bearer = match api {
                Api::Device => self.device_bearer.clone(),
                Api::Aurra => self
                    .token
                    .as_ref()
                    .map_or_else(|| "Bearer ".to_owned(), |t| t.bearer.clone()),
            };
            headers.push(("Authorization".to_owned(), bearer));
        }
        if body.is_some() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        let now = self.now;
        let timeout = self.cfg.request_timeout_ms;
        self.task(job).sent(id, now, timeout);
        self.in_flight_paths.insert(id, (job, path.clone()));
        self.outbox.push_back(Request {
            id,
            api,
            method,
            path,
            headers,
            body,
        });
    }

    /// Sends every request that is due and allowed.
    fn pump(&mut self, now: Instant) {
        for job in JOBS {
            if !self.has_work(job) || !self.tasks[job as usize].ready(now) {
                continue;
            }
            match job {
                Job::Telemetry => {
                    let batch = self.flash.buffer.take_batch(self.cfg.telemetry_batch_max);
                    let body = crate::telemetry::batch_json(&batch, self.flash.location);
                    self.request(
                        job,
                        Api::Device,
                        Method::Post,
                        "/v1/telemetry".into(),
                        Some(body),
                    );
                }
                Job::Settings => {
                    self.request(job, Api::Device, Method::Get, "/v1/settings".into(), None)
                }
                Job::Commands => self.request(
                    job,
                    Api::Device,
                    Method::Get,
                    "/v1/commands/pending".into(),
                    None,
                ),
                Job::CommandResult => {
                    let body = self.flash.results.front().map(json_bytes);
                    self.request(
                        job,
                        Api::Device,
                        Method::Post,
                        "/v1/commands/result".into(),
                        body,
                    );
                }
                Job::Occupant => {
                    let body = self.occupant_events.front().map(json_bytes);
                    self.request(job, Api::Device, Method::Post, "/v1/events".into(), body);
                }
                Job::OtaCheck => {
                    let path = format!("/v1/ota/check?current_version={}", self.flash.version);
                    self.request(job, Api::Device, Method::Get, path, None);
                }
                Job::OtaDownload => {
                    let Some(r) = self.release.clone() else {
                        continue;
                    };
                    let report = json!({"version": r.version, "status": "downloading", "progress_percent": 0});
                    self.ota_report(report);
                    self.request(
                        job,
                        Api::Device,
                        Method::Get,
                        format!("/v1/ota/download/{}", r.version),
                        None,
                    );
                }
                Job::OtaStatus => {
                    let body = self.flash.ota_reports.front().map(json_bytes);
                    self.request(
                        job,
                        Api::Device,
                        Method::Post,
                        "/v1/ota/status".into(),
                        body,
                    );
                }
                Job::Token => {
                    let Some(c) = self.id.aurra.clone() else {
                        continue;
                    };
                    let body = json!({"client_id": c.client_id, "client_secret": c.client_secret, "grant_type": "client_credentials"});
                    self.request(
                        job,
                        Api::Aurra,
                        Method::Post,
                        "/v1/auth/token".into(),
                        Some(json_bytes(&body)),
                    );
                }
                Job::Vibration => {
                    let body = self.vibration_reports.front().cloned();
                    self.request(
                        job,
                        Api::Aurra,
                        Method::Post,
                        "/v1/diagnostics/vibration".into(),
                        body,
                    );
                }
                Job::Energy => {
                    let body = self.energy_reports.front().cloned();
                    self.request(
                        job,
                        Api::Aurra,
                        Method::Post,
                        "/v1/diagnostics/energy".into(),
                        body,
                    );
                }
                Job::Zigbee => {
                    let next = self
                        .id
                        .zigbee_sensors
                        .iter()
                        .find(|s| !self.flash.zigbee_ids.contains_key(&s.ieee_address))
                        .cloned();
                    if let Some(s) = next {
                        let body =
                            json!({"sensor_api_key": s.api_key, "ieee_address": s.ieee_address});
                        self.request(
                            job,
                            Api::Device,
                            Method::Post,
                            "/v1/zigbee/sensors".into(),
                            Some(json_bytes(&body)),
                        );
                    }
                }
            }
        }
    }

    fn ota_report(&mut self, report: Value) {
        if let (Some(v), Some(s)) = (report["version"].as_str(), report["status"].as_str()) {
            let (version, status) = (v.to_owned(), s.to_owned());
            self.event(Event::OtaStage { version, status });
        }
        push_bounded(&mut self.flash.ota_reports, report, REPORT_QUEUE_CAPACITY);
    }

    fn on_failure(&mut self, job: Job) {
        match job {
            Job::Telemetry => self.flash.buffer.nack(),
            Job::OtaDownload => {
                if let Some(r) = &mut self.release {
                    r.attempts += 1;
                    if r.attempts >= self.cfg.ota_max_attempts {
                        let v = r.version.clone();
                        self.release = None;
                        self.ota_report(json!({"version": v, "status": "failed", "error_message": "download failed"}));
                    }
                }
            }
            _ => {}
        }
    }

    /// The driver could not deliver request `id` (connection refused, reset).
    pub fn handle_transport_error(&mut self, now: Instant, id: RequestId) {
        let response = Response {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
        };
        self.handle_response(now, id, response);
    }

    /// Delivers the response to request `id`. Responses to requests that
    /// already timed out are ignored.
    pub fn handle_response(&mut self, now: Instant, id: RequestId, resp: Response) {
        self.now = self.now.max(now);
        let now = self.now;
        let Some((job, path)) = self.in_flight_paths.remove(&id) else {
            return;
        };
        if !self.tasks[job as usize].owns(id) {
            return;
        }
        let aurra_job = matches!(job, Job::Vibration | Job::Energy);
        let outcome = match outcome_of(resp.status, resp.retry_after_s()) {
            _ if resp.status == 0 => Outcome::Failed,
            // A telemetry batch or a download the server refuses is kept and
            // retried with backoff; so is a diagnostics report answered 401
            // (after the token is refreshed).
            Outcome::Rejected if job == Job::Telemetry || job == Job::OtaDownload => {
                Outcome::Failed
            }
            Outcome::Rejected if aurra_job && resp.status == 401 => Outcome::Failed,
            o => o,
        };
        // Only the answers the firmware reads are parsed (acknowledgements of
        // readings and reports, most responses, are not).
        let reads_body = matches!(
            job,
            Job::Settings | Job::Commands | Job::OtaCheck | Job::Token | Job::Zigbee
        );
        let body: Value = if reads_body && outcome == Outcome::Success {
            serde_json::from_slice(&resp.body).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        let mut interval = self.interval(job);
        match outcome {
            Outcome::Success => match job {
                Job::Telemetry => {
                    self.flash.buffer.ack();
                    // Drain a backlog at a steady pace; otherwise wait for data.
                    interval = if self.flash.buffer.is_empty() {
                        0
                    } else {
                        self.cfg.telemetry_drain_spacing_ms
                    };
                }
                Job::Settings => self.apply_settings(&body),
                Job::Commands => self.handle_commands(now, &body),
                Job::CommandResult => {
                    self.flash.results.pop_front();
                }
                Job::Occupant => {
                    self.occupant_events.pop_front();
                }
                Job::OtaCheck => self.handle_ota_check(&body),
                Job::OtaDownload => self.handle_download(&resp.body),
                Job::OtaStatus => {
                    self.flash.ota_reports.pop_front();
                }
                Job::Token => self.handle_token(now, &body),
                Job::Vibration => {
                    self.vibration_reports.pop_front();
                    self.token_retried_after_401 = false;
                }
                Job::Energy => {
                    self.energy_reports.pop_front();
                    self.token_retried_after_401 = false;
                }
                Job::Zigbee => self.handle_zigbee_registered(&body),
            },
            Outcome::RateLimited(retry_after_s) => {
                self.on_failure_keep(job);
                self.event(Event::RateLimited {
                    path,
                    retry_after_s,
                });
            }
            Outcome::Failed => {
                self.on_failure(job);
                if job == Job::Telemetry && resp.status == 413 {
                    self.cfg.telemetry_batch_max = (self.cfg.telemetry_batch_max / 2).max(1);
                }
                self.event(Event::RequestFailed {
                    path,
                    status: (resp.status != 0).then_some(resp.status),
                });
            }
            Outcome::Rejected => {
                self.on_rejected(job);
                self.event(Event::RequestFailed {
                    path,
                    status: Some(resp.status),
                });
            }
        }
        if job == Job::Settings {
            self.settings_settled = true;
        }
        let task = &mut self.tasks[job as usize];
        task.settle(now, outcome, interval, &mut self.rng);
        if aurra_job && resp.status == 401 {
            // The token is no good: fetch a new one, and retry at once the
            // first time; after that the report waits out its backoff.
            self.token = None;
            if !self.token_retried_after_401 {
                self.token_retried_after_401 = true;
                self.task(job).next_due = now;
            }
        }
        self.pump(now);
    }

    /// A 429: the request stays queued (telemetry batch returns to the buffer).
    fn on_failure_keep(&mut self, job: Job) {
        if job == Job::Telemetry {
            self.flash.buffer.nack();
        }
    }

    fn on_rejected(&mut self, job: Job) {
        match job {
            // A result the server refuses (unknown or expired command) will
            // never be accepted: drop it.
            Job::CommandResult => {
                self.flash.results.pop_front();
            }
            Job::OtaStatus => {
                self.flash.ota_reports.pop_front();
            }
            Job::Occupant => {
                self.occupant_events.pop_front();
            }
            Job::Vibration | Job::Energy => {
                let q = if job == Job::Vibration {
                    &mut self.vibration_reports
                } else {
                    &mut self.energy_reports
                };
                q.pop_front();
            }
            Job::Token => self.token = None,
            _ => {}
        }
    }

    fn handle_token(&mut self, now: Instant, body: &Value) {
        let (Some(token), Some(expires_in)) =
            (body["access_token"].as_str(), body["expires_in"].as_u64())
        else {
            return;
        };
        let expires_at = now.plus_secs(expires_in);
        let lifetime_ms = expires_in.saturating_mul(1_000);
        let refresh_after = lifetime_ms
            .saturating_sub(self.cfg.token_refresh_margin_ms)
            .max(lifetime_ms / 2);
        self.token = Some(Token {
            bearer: format!("Bearer {token}"),
            refresh_at: now.plus_ms(refresh_after),
        });
        self.event(Event::TokenAcquired { expires_at });
    }

    fn apply_settings(&mut self, body: &Value) {
        let mut applied = false;
        if let Some(s) = body["reporting_interval_seconds"].as_u64()
            && (60..=3_600).contains(&s)
        {
            if s != self.flash.reporting_interval_s {
                self.next_sample = self.next_sample.min(self.now.plus_secs(s));
            }
            self.flash.reporting_interval_s = s;
            applied = true;
        }
        if let Some(list) = body["enabled_sensors"].as_array() {
            let mut sensors: Vec<SensorType> = list
                .iter()
                .filter_map(|v| v.as_str().and_then(SensorType::parse))
                .collect();
            sensors.sort();
            sensors.dedup();
            self.flash.enabled_sensors = sensors;
            applied = true;
        }
        if let Some(tz) = body["timezone"]
            .as_str()
            .and_then(|n| TimeZone::get(n).ok())
        {
            self.flash.comfort.set_time_zone(tz);
            applied = true;
        }
        let loc = &body["location"];
        if let (Some(lat), Some(lon)) = (loc["latitude"].as_f64(), loc["longitude"].as_f64())
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon)
        {
            self.flash.location = Some((lat, lon));
            applied = true;
        }
        if applied {
            self.event(Event::SettingsApplied);
        }
    }

    fn handled(&self, id: &str) -> bool {
        self.flash.ledger.iter().any(|x| x == id)
    }

    fn handle_commands(&mut self, now: Instant, body: &Value) {
        let Some(commands) = body["commands"].as_array().cloned() else {
            return;
        };
        for c in commands {
            let Some(command_id) = c["command_id"].as_str().map(str::to_owned) else {
                continue;
            };
            if self.handled(&command_id) {
                continue;
            }
            push_bounded(
                &mut self.flash.ledger,
                command_id.clone(),
                COMMAND_LEDGER_CAPACITY,
            );
            let expired = c["expires_at"]
                .as_str()
                .and_then(Instant::parse_rfc3339)
                .is_some_and(|e| e <= now);
            if expired {
                self.event(Event::CommandExpired { command_id });
                continue;
            }
            let kind = c["type"].as_str().unwrap_or("").to_owned();
            let (status, error, result) = match Command::parse(&kind, &c["payload"]) {
                Ok(command) => ("acked", None, self.execute(now, command)),
                Err(e) => ("failed", Some(e.to_string()), None),
            };
            let mut report = json!({"command_id": command_id, "status": status});
            if let (Some(e), Some(o)) = (error, report.as_object_mut()) {
                o.insert("error_message".into(), json!(e));
            }
            if let (Some(r), Some(o)) = (result, report.as_object_mut()) {
                o.insert("result".into(), r);
            }
            push_bounded(&mut self.flash.results, report, REPORT_QUEUE_CAPACITY);
            self.event(Event::CommandHandled {
                command_id,
                kind,
                status: status.to_owned(),
            });
        }
    }

    /// Runs a checked command; returns its result data.
    fn execute(&mut self, now: Instant, command: Command) -> Option<Value> {
        match command {
            Command::Reboot { delay_s } => {
                self.reboot_at = Some(now.plus_secs(delay_s));
                self.event(Event::Rebooting {
                    reason: "reboot command".into(),
                });
                Some(json!({"reboot_at": now.plus_secs(delay_s).to_rfc3339()}))
            }
            Command::ConfigUpdate(update) => {
                let applied = self.config_update(now, *update);
                Some(json!({"applied": applied}))
            }
            Command::FactoryReset => {
                self.factory_reset_pending = true;
                self.reboot_at = Some(now.plus_secs(5));
                self.event(Event::Rebooting {
                    reason: "factory reset".into(),
                });
                None
            }
            Command::Diagnostics => Some(self.diagnostics(now)),
        }
    }

    fn diagnostics(&mut self, now: Instant) -> Value {
        let r = self.relays();
        let t = self.flash.comfort.effective(now);
        json!({
            "firmware_version": self.flash.version,
            "uptime_s": now.ms_since(self.booted_at) / 1_000,
            "temperature_c": self.sensors.temperature_c,
            "humidity_pct": self.sensors.humidity_pct,
            "voltage_v": self.sensors.voltage_v,
            "current_a": self.sensors.current_a,
            "signal_dbm": self.sensors.signal_dbm,
            "mode": t.mode.as_str(),
            "heat_setpoint_f": t.heat_f,
            "cool_setpoint_f": t.cool_f,
            "relays": {"y": r.y_compressor, "o": r.o_cool, "w": r.w_heat, "g": r.g_fan},
            "compressor_starts": self.controller.starts(),
            "telemetry_buffered": self.flash.buffer.len(),
            "telemetry_dropped": self.flash.buffer.dropped(),
            "last_vibration": self.last_features.map(|f| json!({
                "amplitude": f.peak_g, "frequency": f.dominant_hz, "rms": f.rms_g, "kurtosis": f.kurtosis,
            })),
        })
    }

    /// Applies a checked `config_update`; returns the keys applied.
    fn config_update(&mut self, now: Instant, u: ConfigUpdate) -> Vec<String> {
        let c = &mut self.flash.comfort;
        if let Some(tz) = u.timezone {
            c.set_time_zone(tz);
        }
        if let Some(s) = u.schedule {
            c.set_schedule(s);
        }
        if let Some(m) = u.mode {
            c.mode = m;
        }
        if let Some(f) = u.fan {
            c.fan = f;
        }
        if let Some(e) = u.eco {
            c.eco = e.apply(c.eco);
        }
        if let Some((t, m)) = u.setpoint {
            c.set_point(now, t, m);
        }
        if let Some(s) = u.reporting_interval_s {
            self.flash.reporting_interval_s = s;
        }
        if let Some(s) = u.enabled_sensors {
            self.flash.enabled_sensors = s;
        }
        u.keys
    }

    fn handle_ota_check(&mut self, body: &Value) {
        if body["update_available"].as_bool() != Some(true) {
            return;
        }
        let (Some(version), Some(checksum)) = (body["version"].as_str(), body["checksum"].as_str())
        else {
            return;
        };
        if version == self.flash.version
            || self.release.as_ref().is_some_and(|r| r.version == version)
        {
            return;
        }
        let checksum_hex = checksum
            .strip_prefix("sha256:")
            .unwrap_or(checksum)
            .to_ascii_lowercase();
        self.release = Some(Release {
            version: version.to_owned(),
            checksum_hex,
            size_bytes: body["size_bytes"].as_u64(),
            attempts: 0,
        });
    }

    fn handle_download(&mut self, image: &[u8]) {
        let Some(r) = self.release.take() else { return };
        let v = r.version.clone();
        self.ota_report(json!({"version": v, "status": "downloading", "progress_percent": 100}));
        self.ota_report(json!({"version": v, "status": "downloaded"}));
        self.ota_report(json!({"version": v, "status": "verifying"}));
        let digest = Sha256::digest(image);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if hex != r.checksum_hex {
            self.ota_report(
                json!({"version": v, "status": "failed", "error_message": "checksum mismatch"}),
            );
            return;
        }
        self.ota_report(json!({"version": v, "status": "applying"}));
        if r.size_bytes.is_some_and(|n| n != image.len() as u64) || image.is_empty() {
            self.ota_report(json!({"version": v, "status": "failed", "error_message": "image size does not match the release"}));
            return;
        }
        // Install: the new version runs after the reboot, which reports it.
        self.flash.version = v.clone();
        self.flash.ota_completed = Some(v);
        self.reboot_at = Some(self.now);
        self.event(Event::Rebooting {
            reason: "firmware update".into(),
        });
    }

    fn handle_zigbee_registered(&mut self, body: &Value) {
        let Some(sensor_id) = body["sensor_id"].as_str() else {
            return;
        };
        let next = self
            .id
            .zigbee_sensors
            .iter()
            .find(|s| !self.flash.zigbee_ids.contains_key(&s.ieee_address))
            .map(|s| s.ieee_address.clone());
        if let Some(ieee) = next {
            self.flash.zigbee_ids.insert(ieee, sensor_id.to_owned());
        }
    }

    /// Finishes a requested reboot: returns the flash to boot from, after a
    /// factory reset wiped to defaults (identity and version kept).
    pub fn shutdown_for_reboot(self) -> Flash {
        if self.factory_reset_pending {
            let mut fresh = Firmware::factory_flash(&self.cfg);
            fresh.version = self.flash.version;
            fresh.next_request_id = self.flash.next_request_id;
            // Results already queued (the reset's own ack) still go out.
            fresh.results = self.flash.results;
            fresh.ledger = self.flash.ledger;
            return fresh;
        }
        self.flash
    }

    /// Eco Mode settings (for status reporting).
    pub fn eco(&self) -> Eco {
        self.flash.comfort.eco
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diagnostics bodies are the bytes the JSON maps of the seed's
    /// fields serialize to (sorted keys; a non-finite number as `null`).
    #[test]
    fn diagnostics_bodies_serialize_as_their_json_maps() {
        let vibration = VibrationOut {
            amplitude: 0.42,
            device_id: "dev-1",
            duration_ms: 2_000,
            frequency: 120.0,
            kurtosis: f64::NAN,
            rms: 0.21,
            timestamp: "2026-07-01T00:00:00Z",
        };
        let map = json!({
            "device_id": "dev-1",
            "timestamp": "2026-07-01T00:00:00Z",
            "amplitude": 0.42,
            "frequency": 120.0,
            "duration_ms": 2_000,
            "rms": 0.21,
            "kurtosis": f64::NAN,
        });
        assert_eq!(json_bytes(&vibration), json_bytes(&map));
        let energy = EnergyOut {
            current_amps: 9.75,
            device_id: "dev-1",
            period_start: "2026-07-01T00:00:00Z",
            runtime_mins: 12,
            voltage: 239.5,
        };
        let map = json!({
            "device_id": "dev-1",
            "runtime_mins": 12,
            "voltage": 239.5,
            "current_amps": 9.75,
            "period_start": "2026-07-01T00:00:00Z",
        });
        assert_eq!(json_bytes(&energy), json_bytes(&map));
    }
}
