//! The server's state: accounts (each behind its own lock, so requests of
//! different accounts can be handled on different threads), global indices
//! from credentials to accounts, and provisioning.
//!
//! ```text
//!   AppState ─┬─ clock (system under `serve`, virtual in simulations)
//!             ├─ index: RwLock { device key hash → (account, device),
//!             │                  client id → account, token hash → grant }
//!             └─ accounts: [Mutex<Account>] ─ devices, clients, limiters,
//!                                             a seeded stream for ids
//! ```
//!
//! Everything an account mints (tokens, command ids, …) comes from that
//! account's own seeded stream, so ids do not depend on how accounts are
//! spread over threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rand::Rng;
use serde_json::Value;
use sim_core::{Clock, SimDuration, SimRng, SimTime, stream};

use crate::credentials::{SecretHash, hex};
use crate::journal::Event;
use crate::ratelimit::Limiter;
pub use api_core::commands::{COMMAND_TTL, Command, CommandKind, CommandResult, CommandStatus};
pub use api_core::records::{EnergyReport, SensorType, StoredReading, VibrationReport};

pub use api_core::store::AccountId;

/// An integration's rate-limit tier (AURRA seed, "Rate Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// 500 requests per minute per access token.
    Enterprise,
    /// 100 requests per minute per access token.
    Standard,
}

impl Tier {
    /// Requests per minute per token.
    pub fn per_minute(self) -> u32 {
        match self {
            Tier::Enterprise => 500,
            Tier::Standard => 100,
        }
    }

    /// The `X-RateLimit-Tier` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Enterprise => "enterprise",
            Tier::Standard => "standard",
        }
    }
}

/// The AURRA OAuth scopes (seed, "Required OAuth Scopes").
pub const SCOPES: [&str; 4] = [
    "diagnostics:read",
    "alerts:write",
    "energy:read",
    "comfort:write",
];

/// An OAuth client of an account.
#[derive(Debug, Clone)]
pub struct Client {
    /// Public id.
    pub client_id: String,
    /// Hash of the secret.
    pub secret: SecretHash,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// Its tier.
    pub tier: Tier,
}

/// What an access token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The account.
    pub account: AccountId,
    /// The client it was issued to.
    pub client_id: Arc<str>,
    /// Granted scopes.
    pub scopes: Arc<[String]>,
    /// Tier for rate limiting.
    pub tier: Tier,
    /// Expiry (3600 s after issue).
    pub expires_at: SimTime,
}

/// Device settings (ClimaSense `GET/PATCH /v1/settings`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Reporting interval [s], 60–3600.
    pub reporting_interval_seconds: u64,
    /// Sensors the device reports.
    pub enabled_sensors: Vec<String>,
    /// Location, if set.
    pub location: Option<Location>,
    /// IANA time zone.
    pub timezone: String,
}

/// A device's location.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// Latitude [°], −90 to 90.
    pub latitude: f64,
    /// Longitude [°], −180 to 180.
    pub longitude: f64,
    /// Display name.
    pub name: Option<String>,
}

/// A device registered to an account.
#[derive(Debug, Clone)]
pub struct Device {
    /// Device id.
    pub device_id: String,
    /// Its index within the account (keys rate limits without allocating).
    pub index: u32,
    /// Whether it is a hub (may register Zigbee sensors).
    pub hub: bool,
    /// Settings.
    pub settings: Settings,
    /// The latest value of each of the device's own sensors, by
    /// [`SensorType`] index (the history is in the account's store).
    pub latest: [Option<f64>; SensorType::ALL.len()],
    /// The latest value of each sensor of each Zigbee sensor (hubs).
    pub zigbee_latest: HashMap<String, [Option<f64>; SensorType::ALL.len()]>,
    /// Commands, oldest first.
    pub commands: Vec<Command>,
    /// Zigbee sensors registered through this hub: sensor id → IEEE address.
    pub zigbee: HashMap<String, Option<String>>,
    /// Last request from the device.
    pub last_seen: Option<SimTime>,
    /// The thermostat state integrations set (mode, setpoints, Eco).
    pub thermostat: Thermostat,
    /// A `device.offline` event went out for the current silence.
    pub offline_notified: bool,
    /// Solar and EV equipment of the home.
    pub home_energy: crate::ecosystem::HomeEnergy,
    /// When occupants were active at the device (motion, button presses),
    /// oldest first; occupancy for climate optimisation.
    pub activity: std::collections::VecDeque<SimTime>,
}

/// What integrations have asked of a thermostat.
#[derive(Debug, Clone, PartialEq)]
pub struct Thermostat {
    /// The operating mode.
    pub mode: crate::thermostat::Mode,
    /// Target temperature [°F], 40–90.
    pub setpoint_f: i64,
    /// Eco Mode on.
    pub eco_mode: bool,
    /// The schedule last posted (sent to the device by `schedule/sync`).
    pub schedule: Option<Value>,
}

impl Default for Thermostat {
    /// Heat at 68 °F, Eco off: the firmware's factory settings.
    fn default() -> Self {
        Thermostat {
            mode: crate::thermostat::Mode::Heat,
            setpoint_f: 68,
            eco_mode: false,
            schedule: None,
        }
    }
}

/// A device counts as offline after this long without a request (AURRA
/// seed: `device.offline` after > 5 minutes).
pub const OFFLINE_AFTER: SimDuration = SimDuration::from_mins(5);

impl Device {
    /// The latest stored value of `sensor_type` from the device itself.
    pub fn latest(&self, sensor_type: SensorType) -> Option<f64> {
        self.latest[sensor_type as usize]
    }

    /// The latest value of `sensor_type` from the Zigbee sensor `sensor_id`
    /// of this hub.
    pub fn latest_of(&self, sensor_id: &str, sensor_type: SensorType) -> Option<f64> {
        self.zigbee_latest.get(sensor_id)?[sensor_type as usize]
    }

    /// Remembers the latest values of `readings` (in arrival order).
    pub(crate) fn note_latest(&mut self, readings: &[StoredReading]) {
        for r in readings {
            let slot = match &r.sensor_id {
                None => &mut self.latest,
                Some(id) => self
                    .zigbee_latest
                    .entry(id.clone())
                    .or_insert([None; SensorType::ALL.len()]),
            };
            slot[r.sensor_type as usize] = Some(r.value);
        }
    }

    /// Whether the device has been heard from within [`OFFLINE_AFTER`].
    pub fn online(&self, now: SimTime) -> bool {
        self.last_seen
            .is_some_and(|t| now.saturating_duration_since(t) <= OFFLINE_AFTER)
    }
}

/// Limits of the in-memory store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Largest request body [bytes]; larger ones get 413.
    pub body_limit_bytes: usize,
    /// Records of each kind (readings, vibration reports, energy reports)
    /// the default in-memory store keeps per device; older ones are evicted
    /// (and counted).
    pub telemetry_retention: usize,
    /// Compute each device's engineered diagnostics features at most once
    /// an hour into the journal ([`crate::journal::Event::FeaturesComputed`]),
    /// for a labelled dataset.
    pub record_features: bool,
    /// What each account's journal keeps (`None`: nothing).
    pub journal: Option<crate::journal::JournalConfig>,
}

impl Default for ServerConfig {
    /// 256 KiB bodies (100 readings take about 10 KiB); 100,000 readings per
    /// device (about 35 days of two sensors at 60 s).
    fn default() -> Self {
        ServerConfig {
            body_limit_bytes: 256 * 1024,
            telemetry_retention: 100_000,
            record_features: false,
            journal: None,
        }
    }
}

/// An account as a report reads it, copied out under its lock: what the
/// simulator's last tables and its summary need at the end of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountReport {
    /// Every alert, oldest first.
    pub alerts: Vec<crate::predictive::Alert>,
    /// Commands without a result, as they stand: (device index, command),
    /// devices in order.
    pub open_commands: Vec<(u32, Command)>,
    /// What each predictor's models cost, in the server's predictor order.
    pub model_cost: Vec<crate::predictive::ModelCost>,
    /// Readings stored per device, devices in order.
    pub readings_stored: Vec<u64>,
    /// Alerts the predictors raised (not integrations').
    pub predictor_alerts: u64,
    /// Automation runs that fired.
    pub automations_fired: u64,
    /// Automation notifications queued or dropped.
    pub notifications: u64,
}

/// Rate-limit keys inside an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitKey {
    /// A token's tier limit.
    Token(SecretHash),
    /// A token's diagnostics limit.
    Diagnostics(SecretHash),
    /// A device (by index) and endpoint.
    DeviceEndpoint(u32, &'static str),
}

/// One account's partition.
#[derive(Debug)]
pub struct Account {
    /// Name.
    pub name: String,
    /// OAuth clients.
    pub clients: Vec<Client>,
    /// Devices, by index.
    pub devices: Vec<Device>,
    /// Device id → index.
    pub device_ids: HashMap<String, u32>,
    /// Rate-limit windows.
    pub limiter: Limiter<LimitKey>,
    /// Alerts, oldest first.
    pub alerts: Vec<crate::predictive::Alert>,
    /// Confidence at which the predictor raises an alert (default 0.72).
    pub alert_threshold: f64,
    /// Each device's predictive models.
    pub models: crate::predictive::Models,
    /// Registered webhooks.
    pub webhooks: Vec<crate::webhooks::Webhook>,
    /// Deliveries waiting for an attempt.
    pub deliveries: Vec<crate::webhooks::Delivery>,
    /// Deliveries refused because the queue was full.
    pub deliveries_dropped: u64,
    /// Electricity price.
    pub tariff: crate::ecosystem::Tariff,
    /// Voice-assistant links.
    pub voice_links: Vec<crate::ecosystem::VoiceLink>,
    /// Automations, in creation order.
    pub automations: Vec<crate::automations::Automation>,
    /// Readings and diagnostics submitted by the account's devices.
    pub store: Box<dyn crate::store::Store>,
    /// What happened, for the callers that read it (see [`crate::journal`]).
    pub journal: crate::journal::Journal,
    /// The automation engine's runs, outbox and log.
    pub engine: crate::engine::Engine,
    /// No time-driven work is due before this (see [`AppState::tick_account`]);
    /// whatever schedules such work lowers it.
    wake: SimTime,
    /// When closed rate-limit windows were last forgotten.
    limits_swept: SimTime,
    rng: SimRng,
}

impl Account {
    /// The earliest time the account may need a tick: nothing time-driven
    /// (offline detection, schedules, waiting runs, webhook attempts) is due
    /// before it. A conservative bound: a tick then may find nothing to do.
    pub fn wake(&self) -> SimTime {
        self.wake
    }

    /// Asks for a tick no later than `at`.
    pub(crate) fn wake_at(&mut self, at: SimTime) {
        self.wake = self.wake.min(at);
    }

    /// Notes a request of device `index` at `now`: its last contact, and a
    /// `device_online` event when it had been silent for more than
    /// [`OFFLINE_AFTER`] (or never heard from). Returns whether it was.
    pub(crate) fn seen(&mut self, index: usize, now: SimTime) -> bool {
        let Some(d) = self.devices.get_mut(index) else {
            return false;
        };
        let was_offline = !d.online(now);
        d.last_seen = Some(now);
        if was_offline {
            // Its silence is watched again from here.
            self.wake_at(now + OFFLINE_AFTER + SimDuration::from_millis(1));
            crate::engine::on_event(self, index, crate::engine::DeviceEvent::Online, now);
        }
        was_offline
    }

    /// Forgets closed rate-limit windows (tokens rotate hourly, so their
    /// keys would pile up), at most every ten minutes.
    pub(crate) fn sweep_limits(&mut self, now: SimTime) {
        if now >= self.limits_swept + SimDuration::from_mins(10) {
            self.limiter
                .evict_closed(now, crate::ratelimit::LONGEST_WINDOW);
            self.limits_swept = now;
        }
    }

    /// Sets the wake time to exactly when time-driven work is next due
    /// (after `now`), by looking at all of it; returns it.
    pub(crate) fn refresh_wake(&mut self, now: SimTime) -> SimTime {
        self.wake = self.next_wake().max(now + SimDuration::from_millis(1));
        self.wake
    }

    fn next_wake(&self) -> SimTime {
        let offline = self
            .devices
            .iter()
            .filter(|d| !d.offline_notified)
            .filter_map(|d| d.last_seen)
            .map(|seen| seen + OFFLINE_AFTER + SimDuration::from_millis(1));
        let deliveries = self.deliveries.iter().map(|d| d.due);
        offline
            .chain(deliveries)
            .chain(self.engine.next_due(&self.automations))
            .min()
            .unwrap_or(SimTime::MAX)
    }

    /// 128 random bits as hex, from the account's stream.
    pub fn random_hex(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        format!("{a:016x}{b:016x}")
    }

    /// A random (version 4) UUID from the account's stream.
    pub fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.rng.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.rng.next_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let h = hex(&bytes);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// The device with id `device_id`.
    pub fn device(&self, device_id: &str) -> Option<&Device> {
        self.device_ids
            .get(device_id)
            .map(|&i| &self.devices[i as usize])
    }

    /// The device with id `device_id`, mutably.
    pub fn device_mut(&mut self, device_id: &str) -> Option<&mut Device> {
        let i = *self.device_ids.get(device_id)?;
        self.devices.get_mut(i as usize)
    }

    /// Queues a command for `device_id` at `now`; `None` if no such device.
    pub fn enqueue_command(
        &mut self,
        device_id: &str,
        kind: CommandKind,
        payload: Value,
        now: SimTime,
    ) -> Option<String> {
        let index = *self.device_ids.get(device_id)?;
        let command_id = self.uuid();
        let Account {
            devices, journal, ..
        } = self;
        let device = devices.get_mut(index as usize)?;
        // Commands past their 24 h go (the list stays bounded): finished
        // ones were archived when they finished, unanswered ones now.
        device.commands.retain(|c| {
            let live = c.expires_at > now;
            if !live && c.result.is_none() {
                journal.push(Event::CommandEnded {
                    device: index,
                    command: c.clone(),
                });
            }
            live
        });
        device.commands.push(Command {
            command_id: command_id.clone(),
            kind,
            payload,
            created_at: now,
            expires_at: now + COMMAND_TTL,
            delivered_at: None,
            result: None,
        });
        Some(command_id)
    }
}

/// A pre-provisioned Zigbee sensor key and who claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorKey {
    /// The sensor's serial number.
    pub serial_number: String,
    /// (account, hub index, sensor id) once a hub registered it.
    pub claimed: Option<(AccountId, u32, String)>,
}

#[derive(Debug, Default)]
struct Index {
    sensor_keys: HashMap<SecretHash, SensorKey>,
    device_keys: HashMap<SecretHash, (AccountId, u32)>,
    clients: HashMap<String, AccountId>,
    tokens: HashMap<SecretHash, Grant>,
}

/// Why provisioning failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    /// No account with that id.
    #[error("no account {0}")]
    NoAccount(AccountId),
    /// The client id is taken.
    #[error("client id {0:?} is already registered")]
    DuplicateClient(String),
    /// The device id is taken in this account.
    #[error("device id {0:?} is already registered in this account")]
    DuplicateDevice(String),
    /// The API key is already in use.
    #[error("that API key is already in use")]
    DuplicateKey,
    /// A scope is not one of the AURRA scopes.
    #[error("unknown scope {0:?}")]
    UnknownScope(String),
}

struct Inner {
    clock: Arc<dyn Clock>,
    seed: u64,
    config: ServerConfig,
    index: RwLock<Index>,
    accounts: RwLock<Vec<Arc<Mutex<Account>>>>,
    /// Firmware releases (fleet-wide; rollouts advance in `tick`).
    releases: RwLock<Vec<crate::ota::Release>>,
    /// The failure predictors: the primary (behind predictions and
    /// automatic alerts), then the shadows.
    predictors: Vec<Arc<dyn crate::predictors::Predictor>>,
    /// Whether any predictor is an outside model (the server then queues
    /// feature rows for it).
    outside: bool,
    /// Where webhook deliveries go.
    sink: Arc<dyn crate::webhooks::WebhookSink>,
    /// Makes each account's store.
    store: crate::store::StoreFactory,
    /// Weather forecasts for climate optimisation, if any.
    forecast: Option<Arc<dyn crate::climate::Forecast>>,
}

/// The shared server state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("accounts", &self.account_count())
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock is a bug; the data stays usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AppState {
    /// Empty state on `clock`, minting ids from `seed`.
    pub fn new(clock: Arc<dyn Clock>, seed: u64, config: ServerConfig) -> AppState {
        AppState(Arc::new(Inner {
            clock,
            seed,
            config,
            index: RwLock::new(Index::default()),
            accounts: RwLock::new(Vec::new()),
            releases: RwLock::new(Vec::new()),
            predictors: vec![Arc::new(crate::predictors::SeverityZones::default())],
            outside: false,
            sink: Arc::new(crate::webhooks::Unreachable),
            store: crate::store::memory(config.telemetry_retention),
            forecast: None,
        }))
    }

    pub(crate) fn releases(&self) -> std::sync::RwLockReadGuard<'_, Vec<crate::ota::Release>> {
        self.0
            .releases
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn releases_mut(&self) -> std::sync::RwLockWriteGuard<'_, Vec<crate::ota::Release>> {
        self.0
            .releases
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the predictor (before serving: state handles share it).
    pub fn with_predictor(self, predictor: Arc<dyn crate::predictors::Predictor>) -> AppState {
        self.with_predictors(predictor, Vec::new())
    }

    /// Replaces the primary predictor and runs `shadows` beside it (before
    /// serving: state handles share them). At most 65,535 in all.
    pub fn with_predictors(
        self,
        primary: Arc<dyn crate::predictors::Predictor>,
        shadows: Vec<Arc<dyn crate::predictors::Predictor>>,
    ) -> AppState {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                inner.predictors = std::iter::once(primary)
                    .chain(shadows)
                    .take(usize::from(u16::MAX))
                    .collect();
                inner.outside = inner.predictors.iter().any(|p| p.command().is_some());
                AppState(Arc::new(inner))
            }
            Err(shared) => AppState(shared),
        }
    }

    /// Replaces the webhook sink (before serving: state handles share it).
    pub fn with_webhook_sink(self, sink: Arc<dyn crate::webhooks::WebhookSink>) -> AppState {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                inner.sink = sink;
                AppState(Arc::new(inner))
            }
            Err(shared) => AppState(shared),
        }
    }

    /// Replaces the store factory (before accounts are created: existing
    /// accounts keep their store).
    pub fn with_store(self, store: crate::store::StoreFactory) -> AppState {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                inner.store = store;
                AppState(Arc::new(inner))
            }
            Err(shared) => AppState(shared),
        }
    }

    /// Installs a weather forecast source (before serving).
    pub fn with_forecast(self, forecast: Arc<dyn crate::climate::Forecast>) -> AppState {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                inner.forecast = Some(forecast);
                AppState(Arc::new(inner))
            }
            Err(shared) => AppState(shared),
        }
    }

    /// The forecast source, if any.
    pub fn forecast(&self) -> Option<&dyn crate::climate::Forecast> {
        self.0.forecast.as_deref()
    }

    /// The webhook sink.
    pub fn webhook_sink(&self) -> &dyn crate::webhooks::WebhookSink {
        self.0.sink.as_ref()
    }

    /// Every account's partition, in id order.
    pub fn accounts(&self) -> Vec<Arc<Mutex<Account>>> {
        self.0
            .accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The primary predictor.
    pub fn predictor(&self) -> &dyn crate::predictors::Predictor {
        self.0.predictors[0].as_ref()
    }

    /// Every predictor: the primary, then the shadows.
    pub fn predictors(&self) -> &[Arc<dyn crate::predictors::Predictor>] {
        &self.0.predictors
    }

    /// Whether any predictor is an outside model (`cmd:`).
    pub fn has_outside_models(&self) -> bool {
        self.0.outside
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.0.clock.as_ref()
    }

    /// The store limits.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// Number of accounts.
    pub fn account_count(&self) -> usize {
        self.0
            .accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Creates an account; its ids come from stream (seed, account, "server").
    pub fn create_account(&self, name: &str) -> AccountId {
        let mut accounts = self
            .0
            .accounts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = accounts.len();
        accounts.push(Arc::new(Mutex::new(Account {
            name: name.to_owned(),
            clients: Vec::new(),
            devices: Vec::new(),
            device_ids: HashMap::new(),
            limiter: Limiter::default(),
            alerts: Vec::new(),
            alert_threshold: crate::predictive::DEFAULT_ALERT_THRESHOLD,
            models: crate::predictive::Models::default(),
            webhooks: Vec::new(),
            deliveries: Vec::new(),
            deliveries_dropped: 0,
            tariff: crate::ecosystem::Tariff::default(),
            voice_links: Vec::new(),
            automations: Vec::new(),
            store: (self.0.store)(id),
            journal: crate::journal::Journal::new(self.0.config.journal),
            engine: crate::engine::Engine::default(),
            wake: SimTime::MAX,
            limits_swept: SimTime::EPOCH,
            rng: stream(self.0.seed, id as u64, "server"),
        })));
        id
    }

    /// The account's partition.
    pub fn account(&self, id: AccountId) -> Option<Arc<Mutex<Account>>> {
        self.0
            .accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// Account `id` as a report reads it (see [`AccountReport`]).
    pub fn report(&self, id: AccountId) -> Option<AccountReport> {
        self.with_account(id, |acc| AccountReport {
            alerts: acc.alerts.clone(),
            open_commands: acc
                .devices
                .iter()
                .flat_map(|d| {
                    d.commands
                        .iter()
                        .filter(|c| c.result.is_none())
                        .map(|c| (d.index, c.clone()))
                })
                .collect(),
            model_cost: acc.models.cost.clone(),
            readings_stored: acc
                .devices
                .iter()
                .map(|d| acc.store.reading_counts(d.index).stored)
                .collect(),
            predictor_alerts: acc
                .alerts
                .iter()
                .filter(|a| a.source == "predictor")
                .count() as u64,
            automations_fired: acc
                .engine
                .log
                .iter()
                .filter(|f| f.outcome == crate::engine::Outcome::Fired)
                .count() as u64,
            notifications: acc.engine.outbox.len() as u64 + acc.engine.outbox_dropped,
        })
    }

    /// Takes account `id`'s journal: the events since the last drain,
    /// oldest first, and how many it has dropped in all because it was
    /// full (see [`crate::journal`]).
    pub fn drain_journal(&self, id: AccountId) -> Option<(Vec<Event>, u64)> {
        self.with_account(id, |acc| {
            let events = acc.journal.drain().collect();
            (events, acc.journal.lost())
        })
    }

    /// Runs `f` with the account locked.
    pub fn with_account<R>(&self, id: AccountId, f: impl FnOnce(&mut Account) -> R) -> Option<R> {
        let account = self.account(id)?;
        let mut guard = lock(&account);
        Some(f(&mut guard))
    }

    /// Registers an OAuth client.
    pub fn add_client(
        &self,
        account: AccountId,
        client_id: &str,
        secret: &str,
        scopes: &[&str],
        tier: Tier,
    ) -> Result<(), ProvisionError> {
        if let Some(s) = scopes.iter().find(|s| !SCOPES.contains(s)) {
            return Err(ProvisionError::UnknownScope((*s).to_owned()));
        }
        let acc = self
            .account(account)
            .ok_or(ProvisionError::NoAccount(account))?;
        let mut index = self
            .0
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if index.clients.contains_key(client_id) {
            return Err(ProvisionError::DuplicateClient(client_id.to_owned()));
        }
        index.clients.insert(client_id.to_owned(), account);
        lock(&acc).clients.push(Client {
            client_id: client_id.to_owned(),
            secret: SecretHash::of(secret),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            tier,
        });
        Ok(())
    }

    /// Registers a device with its API key and default settings.
    pub fn add_device(
        &self,
        account: AccountId,
        device_id: &str,
        api_key: &str,
        hub: bool,
    ) -> Result<(), ProvisionError> {
        let acc = self
            .account(account)
            .ok_or(ProvisionError::NoAccount(account))?;
        let key = SecretHash::of(api_key);
        let mut index = self
            .0
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if index.device_keys.contains_key(&key) {
            return Err(ProvisionError::DuplicateKey);
        }
        let mut acc = lock(&acc);
        if acc.device_ids.contains_key(device_id) {
            return Err(ProvisionError::DuplicateDevice(device_id.to_owned()));
        }
        let device_index = u32::try_from(acc.devices.len()).unwrap_or(u32::MAX);
        index.device_keys.insert(key, (account, device_index));
        acc.device_ids.insert(device_id.to_owned(), device_index);
        acc.devices.push(Device {
            device_id: device_id.to_owned(),
            index: device_index,
            hub,
            settings: Settings {
                reporting_interval_seconds: 300,
                enabled_sensors: vec!["temperature".into(), "humidity".into()],
                location: None,
                timezone: "UTC".into(),
            },
            latest: [None; SensorType::ALL.len()],
            zigbee_latest: HashMap::new(),
            commands: Vec::new(),
            zigbee: HashMap::new(),
            last_seen: None,
            thermostat: Thermostat::default(),
            offline_notified: false,
            home_energy: crate::ecosystem::HomeEnergy::default(),
            activity: std::collections::VecDeque::new(),
        });
        Ok(())
    }

    /// The device behind an API key: its account and index there.
    pub fn device_for_key(&self, api_key: &str) -> Option<(AccountId, u32)> {
        let index = self
            .0
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index.device_keys.get(&SecretHash::of(api_key)).copied()
    }

    /// Pre-provisions a Zigbee sensor's API key (at manufacture).
    pub fn add_sensor_key(&self, api_key: &str, serial_number: &str) -> Result<(), ProvisionError> {
        let mut index = self
            .0
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = SecretHash::of(api_key);
        if index.sensor_keys.contains_key(&key) || index.device_keys.contains_key(&key) {
            return Err(ProvisionError::DuplicateKey);
        }
        index.sensor_keys.insert(
            key,
            SensorKey {
                serial_number: serial_number.to_owned(),
                claimed: None,
            },
        );
        Ok(())
    }

    /// Claims a pre-provisioned sensor key for a hub: `Ok(None)` if the key
    /// is unknown, `Err(existing)` if another hub holds it, else the sensor
    /// (the same one again if this hub already holds it).
    pub fn claim_sensor_key(
        &self,
        api_key: &str,
        claimant: (AccountId, u32),
        new_sensor_id: impl FnOnce() -> String,
    ) -> Result<Option<SensorKey>, SensorKey> {
        let mut index = self
            .0
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(entry) = index.sensor_keys.get_mut(&SecretHash::of(api_key)) else {
            return Ok(None);
        };
        match &entry.claimed {
            Some((a, h, _)) if (*a, *h) == claimant => Ok(Some(entry.clone())),
            Some(_) => Err(entry.clone()),
            None => {
                entry.claimed = Some((claimant.0, claimant.1, new_sensor_id()));
                Ok(Some(entry.clone()))
            }
        }
    }

    /// The account of an OAuth client id.
    pub fn client_account(&self, client_id: &str) -> Option<AccountId> {
        let index = self
            .0
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index.clients.get(client_id).copied()
    }

    /// Records a minted token (only its hash is kept).
    pub fn store_token(&self, token: &str, grant: Grant) {
        let mut index = self
            .0
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index.tokens.insert(SecretHash::of(token), grant);
    }

    /// The grant behind a token, if it exists (expiry is the caller's check).
    pub fn grant(&self, token: &str) -> Option<(SecretHash, Grant)> {
        let hash = SecretHash::of(token);
        let index = self
            .0
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index.tokens.get(&hash).map(|g| (hash, g.clone()))
    }

    /// Forgets tokens that expired before `now` (bounded memory).
    pub fn evict_expired_tokens(&self, now: SimTime) {
        let mut index = self
            .0
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index.tokens.retain(|_, g| g.expires_at > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::VirtualClock;

    fn state() -> AppState {
        AppState::new(
            Arc::new(VirtualClock::new(SimTime::EPOCH)),
            1,
            ServerConfig::default(),
        )
    }

    #[test]
    fn provisioning_rejects_duplicates_and_unknown_scopes() {
        let s = state();
        let a = s.create_account("acme");
        s.add_client(a, "acc_1", "secret", &["comfort:write"], Tier::Standard)
            .unwrap();
        assert_eq!(
            s.add_client(a, "acc_1", "x", &[], Tier::Standard),
            Err(ProvisionError::DuplicateClient("acc_1".into()))
        );
        assert_eq!(
            s.add_client(a, "acc_2", "x", &["root"], Tier::Standard),
            Err(ProvisionError::UnknownScope("root".into()))
        );
        s.add_device(a, "dev-1", "key-1", false).unwrap();
        assert_eq!(
            s.add_device(a, "dev-2", "key-1", false),
            Err(ProvisionError::DuplicateKey)
        );
        assert_eq!(
            s.add_device(a, "dev-1", "key-2", false),
            Err(ProvisionError::DuplicateDevice("dev-1".into()))
        );
        assert_eq!(s.device_for_key("key-1"), Some((a, 0)));
        assert_eq!(s.device_for_key("key-x"), None);
        assert_eq!(
            s.add_device(9, "d", "k", false),
            Err(ProvisionError::NoAccount(9))
        );
    }

    #[test]
    fn ids_come_from_the_accounts_own_stream() {
        let mk = || {
            let s = state();
            let a = s.create_account("a");
            let b = s.create_account("b");
            let ua = s.with_account(a, |acc| acc.uuid()).unwrap();
            let ub = s.with_account(b, |acc| acc.uuid()).unwrap();
            (ua, ub)
        };
        let (a1, b1) = mk();
        assert_eq!((a1.clone(), b1.clone()), mk());
        assert_ne!(a1, b1);
        assert_eq!(a1.len(), 36);
        assert_eq!(&a1[14..15], "4", "version 4");
        assert!(
            matches!(&a1[19..20], "8" | "9" | "a" | "b"),
            "RFC 4122 variant"
        );
    }
}
