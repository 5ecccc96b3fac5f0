//! One home in the simulation: the physics (envelope, equipment, moisture,
//! degradation, electrics, vibration), the occupants, and the real firmware
//! reading its sensors and driving its relays — an [`Entity`] of the
//! windowed executor.
//!
//! Between two local events the physics integrates exactly (2R2C
//! zero-order hold) with the relays held, in chunks of at most five minutes
//! so weather, sun and occupancy follow the clock. At each event (a
//! firmware deadline, a response arriving, a technician's visit, a sample)
//! the firmware sees fresh sensor readings and may send requests; those
//! leave as messages stamped with the event's time, with their network
//! fate (latency, loss) drawn here from the home's own stream.

use std::sync::Arc;

use device_firmware::config::{AurraCredentials, FirmwareConfig, Identity, ZigbeeSensor};
use device_firmware::firmware::{Event, Firmware, SensorSnapshot};
use device_firmware::http::{Request, RequestId, Response};
use device_firmware::telemetry::SensorType as FwSensor;
use device_firmware::time::Instant;
use hvac_models::degradation::{Degradation, DegradationEvent, FaultKind};
use hvac_models::electrics::{Motor, Supply};
use hvac_models::equipment::{CompressorMode, Relays};
use hvac_models::home::{FacadeIrradiance, Home, Surroundings};
use hvac_models::humidity::{
    Moisture, MoistureParams, ratio_from_dew_point, relative_humidity_pct,
};
use hvac_models::occupancy::{Occupancy, Presence};
use hvac_models::sun::{Site, sun_position};
use hvac_models::ventilation::{self, Situation, WindowHabit};
use hvac_models::vibration::{VibrationParams, features_fast, synthesize};
use hvac_models::weather::WeatherSeries;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use sim_core::exec::{Entity, Outbox};
use sim_core::{SimDuration, SimRng, SimTime, stream};

use crate::fleet::HomeSpec;
use crate::net::Network;
use crate::schema::{SensorFaultKind, SensorFaultSpec, VibrationFidelity};
use crate::sensing::{Accel, Sensors};

thread_local! {
    /// A thread's accelerometer window buffer (waveform fidelity).
    static WINDOW: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The resolution of outdoor conditions, sun and occupancy.
pub const BLOCK: SimDuration = SimDuration::from_mins(5);

/// Outdoor conditions at a location in 5-minute blocks (weather at the
/// block's middle, sun on the four facades), computed once per location
/// and shared by its homes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClimateTable {
    start: SimTime,
    blocks: Vec<Block>,
}

/// One block of a [`ClimateTable`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    /// Dry bulb [°C].
    pub outdoor_c: f64,
    /// Humidity ratio [kg/kg].
    pub w_out: f64,
    /// Pressure [Pa].
    pub pressure_pa: f64,
    /// Irradiance on the facades.
    pub facades: FacadeIrradiance,
}

impl ClimateTable {
    /// Blocks from `start` for `span` at `site`.
    pub fn new(
        weather: &WeatherSeries,
        site: &Site,
        start: SimTime,
        span: SimDuration,
    ) -> ClimateTable {
        let n = span.as_millis().div_ceil(BLOCK.as_millis()) as usize + 1;
        let blocks = (0..n)
            .map(|i| {
                let mid = start
                    + BLOCK.saturating_mul(i as u64)
                    + SimDuration::from_millis(BLOCK.as_millis() / 2);
                let w = weather.at(mid);
                let sun = sun_position(mid, site);
                Block {
                    outdoor_c: w.dry_bulb_c,
                    w_out: ratio_from_dew_point(w.dew_point_c, w.pressure_pa),
                    pressure_pa: w.pressure_pa,
                    facades: FacadeIrradiance::new(&sun, &w, 0.2),
                }
            })
            .collect();
        ClimateTable { start, blocks }
    }

    fn index(&self, t: SimTime) -> usize {
        let i = t.saturating_duration_since(self.start).as_millis() / BLOCK.as_millis();
        (i as usize).min(self.blocks.len().saturating_sub(1))
    }

    /// The block containing `t`.
    pub fn at(&self, t: SimTime) -> Block {
        self.blocks.get(self.index(t)).copied().unwrap_or(Block {
            outdoor_c: 20.0,
            w_out: 0.008,
            pressure_pa: 101_325.0,
            facades: FacadeIrradiance::default(),
        })
    }
}

/// Ceiling height [m]: a home's air volume is its floor area times this.
pub const CEILING_M: f64 = 2.5;

/// Occupied comfort band [°C] for discomfort (BOPTEST-style K·h).
pub const COMFORT_BAND_C: (f64, f64) = (20.0, 25.0);

/// What a home sends.
#[derive(Debug)]
pub enum Message {
    /// An HTTP request, with its network fate.
    Request(Box<Outgoing>),
    /// A record for the run's tables.
    Record(Record),
}

/// A request on its way.
#[derive(Debug)]
pub struct Outgoing {
    /// The sending home.
    pub home: usize,
    /// The request.
    pub request: Request,
    /// When it was sent.
    pub sent: SimTime,
    /// When it reaches the server.
    pub arrival: SimTime,
    /// How long the answer takes back.
    pub down: SimDuration,
    /// Lost in transit: the device sees a transport error instead.
    pub lost: bool,
}

/// Facts the run records.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A fault began.
    FaultOnset {
        /// Home.
        home: usize,
        /// Fault.
        kind: FaultKind,
        /// When.
        at: SimTime,
    },
    /// The compressor failed.
    Failure {
        /// Home.
        home: usize,
        /// The fault that caused it.
        kind: FaultKind,
        /// When.
        at: SimTime,
        /// When that fault began.
        onset: SimTime,
    },
    /// A fault a technician repaired before it failed would have failed now
    /// (its process continued on its own stream, without effect on the
    /// run).
    WouldFail {
        /// Home.
        home: usize,
        /// The fault.
        kind: FaultKind,
        /// When it would have failed.
        at: SimTime,
        /// When it began.
        onset: SimTime,
        /// When it was repaired.
        repaired_at: SimTime,
    },
    /// A sensor began to misreport (not a compressor fault).
    SensorFault {
        /// Home.
        home: usize,
        /// What went wrong.
        kind: SensorFaultKind,
        /// When.
        at: SimTime,
        /// Its parameters (`gain=0.3`, …).
        detail: String,
    },
    /// A technician visited.
    Visit {
        /// Home.
        home: usize,
        /// When.
        at: SimTime,
        /// Faults found and repaired (none: an unnecessary visit).
        repaired: Vec<FaultKind>,
        /// Whether the compressor had already failed.
        after_failure: bool,
    },
    /// A periodic sample of the home.
    Sample(Sample),
    /// Something the firmware reported.
    Firmware {
        /// Home.
        home: usize,
        /// When.
        at: SimTime,
        /// The event.
        event: Event,
    },
}

/// A periodic sample of one home.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Home.
    pub home: usize,
    /// When.
    pub at: SimTime,
    /// Indoor air [°C].
    pub indoor_c: f64,
    /// Outdoor [°C].
    pub outdoor_c: f64,
    /// Indoor relative humidity [%].
    pub humidity_pct: f64,
    /// Compressor running.
    pub compressor: bool,
    /// Backup heat or furnace running.
    pub backup: bool,
    /// Someone home.
    pub occupied: bool,
    /// Electricity since the start [kWh].
    pub energy_kwh: f64,
    /// Occupied K·h outside the comfort band since the start.
    pub discomfort_kh: f64,
    /// Compressor starts since the start.
    pub starts: u64,
    /// Compressor short cycles so far (restarts within 5 min of a stop).
    pub short_cycles: u64,
    /// Bearing wear [µm].
    pub bearing_um: f64,
    /// The occupants' windows are open.
    pub windows_open: bool,
}

/// What reaches a home.
#[derive(Debug)]
pub enum Inbound {
    /// A response to one of its requests.
    Response(RequestId, Response),
    /// A request failed in transit.
    TransportError(RequestId),
    /// A technician visit.
    Visit,
}

/// A home's whole simulated state.
pub struct HomeSim {
    index: usize,
    t: SimTime,
    physics_t: SimTime,
    home: Home,
    degradation: Degradation,
    supply: Supply,
    moisture: Moisture,
    occupancy: Occupancy,
    presence: (usize, Presence, u32),
    climate: Arc<ClimateTable>,
    grid: SimDuration,
    vibration: VibrationParams,
    rng: SimRng,
    network: Network,
    net_rng: SimRng,
    firmware: Option<Firmware>,
    fw_config: FirmwareConfig,
    identity: Identity,
    seed: u64,
    boots: u64,
    /// Whether repaired faults go on as ghosts to their counterfactual
    /// failure ([`Record::WouldFail`]).
    counterfactuals: bool,
    /// Faults repaired so far (numbers the ghosts' streams).
    repairs: u64,
    power_w: f64,
    /// The outdoor unit's electric power over the last step [W]
    /// (compressor and condenser fan).
    unit_w: f64,
    /// The outdoor unit's power when it last ran [W].
    last_running_w: f64,
    /// Since when the compressor has been energised without turning.
    stall_since: Option<SimTime>,
    sensors: Sensors,
    last_snapshot: SensorSnapshot,
    fidelity: VibrationFidelity,
    windows: Windows,
    fw_next: SimTime,
    relays: Relays,
    inbox: Vec<(SimTime, u64, Inbound)>,
    inbox_seq: u64,
    next_sample: SimTime,
    sample_every: SimDuration,
    next_zigbee: SimTime,
    outages: Vec<(SimTime, SimTime)>,
    energy_j: f64,
    discomfort_kh: f64,
    /// The occupants' windows (none when `[fleet] windows` is off).
    window_habit: Option<WindowHabit>,
    /// Air changes an hour the open windows add.
    window_ach: f64,
    /// The block of the last window decision.
    window_block: usize,
    window_rng: SimRng,
}

impl std::fmt::Debug for HomeSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HomeSim")
            .field("index", &self.index)
            .field("t", &self.t)
            .finish_non_exhaustive()
    }
}

fn fw_time(t: SimTime) -> Instant {
    Instant(t.as_millis())
}

fn sim_time(t: Instant) -> SimTime {
    SimTime::from_millis(t.0)
}

fn fw_relays(r: device_firmware::control::Relays) -> Relays {
    Relays {
        y_compressor: r.y_compressor,
        o_cool: r.o_cool,
        w_heat: r.w_heat,
        g_fan: r.g_fan,
    }
}

/// Everything a home needs besides its spec.
#[derive(Debug, Clone)]
pub struct HomeContext {
    /// The run's seed.
    pub seed: u64,
    /// Start of the run.
    pub start: SimTime,
    /// Outdoor conditions at the home's location.
    pub climate: Arc<ClimateTable>,
    /// IANA time zone.
    pub timezone: jiff::tz::TimeZone,
    /// Degradation parameters.
    pub degradation: hvac_models::degradation::DegradationParams,
    /// Firmware configuration (equipment set per home).
    pub firmware: FirmwareConfig,
    /// Network model.
    pub network: Network,
    /// Sample period of the homes table.
    pub sample_every: SimDuration,
    /// Outages affecting this home.
    pub outages: Vec<(SimTime, SimTime)>,
    /// Initial indoor temperature [°C].
    pub initial_c: f64,
    /// How compressors differ from unit to unit.
    pub spread: UnitSpread,
    /// How vibration reports are made.
    pub fidelity: VibrationFidelity,
    /// Sensor faults the home may have.
    pub sensor_faults: Vec<SensorFaultSpec>,
    /// Continue each repaired fault to when it would have failed
    /// (`[evaluation] counterfactuals`).
    pub counterfactuals: bool,
    /// Occupants open windows (`[fleet] windows`).
    pub windows: bool,
}

/// Zigbee sensors of a hub: (api key, IEEE address).
pub fn zigbee_sensors(spec: &HomeSpec) -> Vec<ZigbeeSensor> {
    if !spec.hub {
        return Vec::new();
    }
    (0..2)
        .map(|k| ZigbeeSensor {
            api_key: format!("zk_{}_{k}", &spec.api_key[3..19]),
            ieee_address: format!("0x00124b{:06x}{:04x}", spec.index, k),
        })
        .collect()
}

/// Unit-to-unit spreads (lognormal σ) of a fleet's compressors
/// (`[faults.bearing]` `*_spread`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UnitSpread {
    /// The healthy vibration level (shaft tones and sensor-path noise).
    pub vibration: f64,
    /// The mean bearing wear rate (mean-one factor).
    pub rate: f64,
    /// The defect's impact amplitude at seizure.
    pub impact: f64,
    /// The structural resonance the impacts excite.
    pub resonance: f64,
    /// The resonance's damping ratio.
    pub damping: f64,
}

/// Vibration windows a home's accelerometer gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Windows {
    /// With the compressor turning.
    pub running: u64,
    /// With the compressor still (idle noise).
    pub idle: u64,
    /// Of the above, those the sensor returned nothing for (a dropout).
    pub missing: u64,
}

/// Home `i`'s compressor as a unit of a varied fleet, from the home's own
/// stream: its vibration parameters (shaft tones and sensor-path noise
/// scaled by `e^{σ_v·z₁}`; impact amplitude at seizure by `e^{σ_i·z₃}`,
/// resonance frequency by `e^{σ_f·z₄}`, damping by `e^{σ_ζ·z₅}`) and its
/// degradation parameters (mean bearing wear rate scaled by
/// `e^{σ_r·z₂ − σ_r²/2}`, mean one). Condition monitoring practice grades
/// vibration against each machine's own baseline for this reason (ISO
/// 13373-1:2002, §6; ISO 10816-1 zone limits are guidance for a machine
/// class); Gebraeel et al. (2005) model the degradation rate and the
/// signal's level at failure as varying from unit to unit; a mount's
/// resonance and damping depend on how the unit was installed.
fn unit(
    ctx: &HomeContext,
    i: u64,
) -> (VibrationParams, hvac_models::degradation::DegradationParams) {
    use rand_distr::{Distribution, StandardNormal};
    let sp = ctx.spread;
    let mut rng = stream(ctx.seed, i, "unit");
    let mut z = || -> f64 { StandardNormal.sample(&mut rng) };
    let (z1, z2, z3, z4, z5) = (z(), z(), z(), z(), z());
    let loud = (sp.vibration * z1).exp();
    let d = VibrationParams::default();
    let vibration = VibrationParams {
        shaft_1x_g: (d.shaft_1x_g * loud).min(5.0),
        shaft_2x_g: (d.shaft_2x_g * loud).min(5.0),
        noise_g: (d.noise_g * loud).min(2.0),
        impact_g_at_failure: (d.impact_g_at_failure * (sp.impact * z3).exp()).min(10.0),
        resonance_hz: (d.resonance_hz * (sp.resonance * z4).exp())
            .clamp(10.0, 0.45 * d.sample_rate_hz),
        damping_ratio: (d.damping_ratio * (sp.damping * z5).exp()).clamp(0.005, 0.3),
        ..d
    };
    let mut degradation = ctx.degradation;
    degradation.bearing.rate_um_per_h = (degradation.bearing.rate_um_per_h
        * (sp.rate * z2 - sp.rate * sp.rate / 2.0).exp())
    .clamp(1e-6, 100.0);
    (vibration, degradation)
}

/// Why a home could not be built: a model's parameter out of its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HomeError {
    /// A physics model refused its parameters.
    #[error("home {device_id}: {model}: {source}")]
    Model {
        /// The home's device id.
        device_id: String,
        /// `home`, `faults`, `supply`, `moisture` or `occupancy`.
        model: &'static str,
        /// The parameter and its range.
        source: hvac_models::params::ParamError,
    },
    /// The firmware refused its configuration.
    #[error("home {device_id}: firmware: {source}")]
    Firmware {
        /// The home's device id.
        device_id: String,
        /// The setting and its range.
        source: device_firmware::config::ConfigError,
    },
}

impl HomeSim {
    /// Builds home `spec` (the models' parameters were validated with the
    /// scenario; a failure here is reported, not a panic).
    pub fn new(spec: &HomeSpec, ctx: HomeContext) -> Result<HomeSim, HomeError> {
        let i = spec.index as u64;
        let err = |model: &'static str| {
            move |source| HomeError::Model {
                device_id: spec.device_id.clone(),
                model,
                source,
            }
        };
        let mut home =
            Home::new(spec.params, spec.equipment, ctx.initial_c).map_err(err("home"))?;
        let volume_m3 = spec.params.floor_area_m2 * CEILING_M;
        // The home's windows: how many it opens, then one draw per block.
        let mut window_rng = stream(ctx.seed, i, "windows");
        let (window_habit, window_ach) = if ctx.windows {
            let ach = ventilation::extra_ach(window_rng.random_range(1..=3));
            home.allow_windows(ventilation::conductance_w_per_k(ach, volume_m3))
                .map_err(err("home"))?;
            (Some(WindowHabit::new(BLOCK.as_secs_f64())), ach)
        } else {
            (None, 0.0)
        };
        let (vibration, degradation_params) = unit(&ctx, i);
        let degradation = Degradation::new(
            degradation_params,
            stream(ctx.seed, i, "degradation"),
            ctx.start,
        )
        .map_err(err("faults"))?;
        let supply = Supply::new(Default::default(), stream(ctx.seed, i, "supply"), ctx.start)
            .map_err(err("supply"))?;
        let w0 = ctx.climate.at(ctx.start);
        let moisture_params = MoistureParams {
            volume_m3,
            ..MoistureParams::default()
        };
        let moisture = Moisture::new(
            moisture_params,
            w0.w_out
                .min(ratio_from_dew_point(ctx.initial_c, w0.pressure_pa))
                .min(0.05),
        )
        .map_err(err("moisture"))?;
        let occupancy =
            Occupancy::new(spec.occupancy, ctx.timezone, ctx.seed, i).map_err(err("occupancy"))?;
        let identity = Identity {
            device_id: spec.device_id.clone(),
            api_key: spec.api_key.clone(),
            aurra: Some(AurraCredentials {
                client_id: spec.client_id.clone(),
                client_secret: spec.client_secret.clone(),
            }),
            zigbee_sensors: zigbee_sensors(spec),
        };
        let mut fw_config = ctx.firmware.clone();
        fw_config.control.equipment = match spec.equipment.kind {
            hvac_models::equipment::SystemKind::HeatPump => {
                device_firmware::control::Equipment::HeatPump { aux_heat: true }
            }
            _ => device_firmware::control::Equipment::AcFurnace,
        };
        fw_config.default_timezone = occupancy
            .time_zone()
            .iana_name()
            .unwrap_or("UTC")
            .to_owned();
        let firmware = Firmware::new(
            fw_config.clone(),
            identity.clone(),
            stream(ctx.seed, i, "firmware"),
            fw_time(ctx.start),
        )
        .map_err(|source| HomeError::Firmware {
            device_id: spec.device_id.clone(),
            source,
        })?;
        Ok(HomeSim {
            index: spec.index,
            t: ctx.start,
            physics_t: ctx.start,
            home,
            degradation,
            supply,
            moisture,
            occupancy,
            presence: (usize::MAX, Presence::Home, 0),
            climate: ctx.climate,
            grid: SimDuration::from_millis(ctx.firmware.control_interval_ms.max(1_000)),
            vibration,
            rng: stream(ctx.seed, i, "sensors"),
            network: ctx.network,
            net_rng: stream(ctx.seed, i, "network"),
            firmware: Some(firmware),
            fw_config,
            identity,
            seed: ctx.seed,
            boots: 0,
            counterfactuals: ctx.counterfactuals,
            repairs: 0,
            power_w: 0.0,
            unit_w: 0.0,
            last_running_w: 0.0,
            stall_since: None,
            sensors: Sensors::new(crate::sensing::draw(
                ctx.seed,
                i,
                ctx.start,
                &ctx.sensor_faults,
            )),
            last_snapshot: SensorSnapshot::default(),
            fidelity: ctx.fidelity,
            windows: Windows::default(),
            fw_next: ctx.start,
            relays: Relays::default(),
            inbox: Vec::new(),
            inbox_seq: 0,
            next_sample: ctx.start,
            sample_every: ctx.sample_every,
            next_zigbee: ctx.start + SimDuration::from_mins(5),
            outages: ctx.outages,
            energy_j: 0.0,
            discomfort_kh: 0.0,
            window_habit,
            window_ach,
            window_block: usize::MAX,
            window_rng,
        })
    }

    /// The home's index in the fleet.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The degradation state (ground truth).
    pub fn degradation(&self) -> &Degradation {
        &self.degradation
    }

    /// The physics: envelope and equipment.
    pub fn physics(&self) -> &Home {
        &self.home
    }

    /// The relays the firmware set.
    pub fn relays(&self) -> Relays {
        self.relays
    }

    /// Electric power of the whole system over the last step [W] (outdoor
    /// unit, blower, strips).
    pub fn power_w(&self) -> f64 {
        self.power_w
    }

    /// The features of the last vibration window the firmware took.
    pub fn last_vibration(&self) -> Option<device_firmware::vibration::Features> {
        self.firmware.as_ref().and_then(Firmware::last_vibration)
    }

    /// What the firmware's sensors read last.
    pub fn last_snapshot(&self) -> &SensorSnapshot {
        &self.last_snapshot
    }

    /// The vibration windows its accelerometer gave so far.
    pub fn windows(&self) -> Windows {
        self.windows
    }

    /// Its sensor faults (ground truth).
    pub fn sensor_faults(&self) -> &[crate::sensing::SensorFault] {
        self.sensors.faults()
    }

    /// Electricity used so far [kWh].
    pub fn energy_kwh(&self) -> f64 {
        self.energy_j / 3.6e6
    }

    /// Occupied K·h outside the comfort band so far.
    pub fn discomfort_kh(&self) -> f64 {
        self.discomfort_kh
    }

    /// The firmware's version now.
    pub fn firmware_version(&self) -> &str {
        self.firmware.as_ref().map_or("", |f| f.version())
    }

    fn in_outage(&self, t: SimTime) -> bool {
        self.outages.iter().any(|(a, b)| (*a..*b).contains(&t))
    }

    /// Presence and occupants during the block containing `t` (cached).
    fn presence(&mut self, t: SimTime) -> (Presence, u32) {
        let block = self.climate.index(t);
        if self.presence.0 != block {
            let mid = t + SimDuration::from_millis(BLOCK.as_millis() / 2);
            let p = self.occupancy.presence_at(mid);
            let n = if p == Presence::Away {
                0
            } else {
                self.occupancy.params().occupants
            };
            self.presence = (block, p, n);
        }
        (self.presence.1, self.presence.2)
    }

    /// The occupants' windows for the grid step from `t0`: re-decided once
    /// per block (one draw from the home's "windows" stream each), closed at
    /// once whenever the system runs.
    fn windows_at(&mut self, t0: SimTime, presence: Presence, outdoor_c: f64) {
        let Some(habit) = &mut self.window_habit else {
            return;
        };
        let system_running = self.relays.y_compressor || self.relays.w_heat;
        let block = self.climate.index(t0);
        if block != self.window_block {
            self.window_block = block;
            let u: f64 = self.window_rng.random();
            let situation = Situation {
                occupied: presence != Presence::Away,
                indoor_c: self.home.air_c(),
                outdoor_c,
                system_running,
                comfort_low_c: COMFORT_BAND_C.0,
            };
            habit.decide(&situation, u);
        } else if system_running {
            habit.close();
        }
        self.home.set_windows_open(habit.is_open());
    }

    /// Integrates the physics on the home's grid (the control interval,
    /// anchored at the run's start) up to the last grid point at or before
    /// `t1`: one step length, so the exact 2R2C discretisation is computed
    /// once and reused. Relays set between grid points act from the next.
    fn physics_to(&mut self, t1: SimTime, out: &mut Outbox<Message>) {
        while self.physics_t + self.grid <= t1 {
            let t0 = self.physics_t;
            let dt = self.grid;
            let block = self.climate.at(t0);
            let (presence, occupants) = self.presence(t0);
            let surroundings = Surroundings {
                outdoor_c: block.outdoor_c,
                facades: block.facades,
                presence,
                occupants,
            };
            self.windows_at(t0, presence, block.outdoor_c);
            let health = self.degradation.health();
            let step = self.home.step(t0, dt, self.relays, &surroundings, &health);
            let secs = dt.as_secs_f64();
            let running = if step.equipment.compressor_w > 0.0 {
                dt
            } else {
                SimDuration::ZERO
            };
            for e in self.degradation.advance(t0, dt, running) {
                let record = match e {
                    DegradationEvent::Onset { kind, at } => Record::FaultOnset {
                        home: self.index,
                        kind,
                        at,
                    },
                    DegradationEvent::Failure { kind, at, onset } => Record::Failure {
                        home: self.index,
                        kind,
                        at,
                        onset,
                    },
                    DegradationEvent::WouldFail {
                        kind,
                        at,
                        onset,
                        repaired_at,
                    } => Record::WouldFail {
                        home: self.index,
                        kind,
                        at,
                        onset,
                        repaired_at,
                    },
                };
                out.send(self.t, Message::Record(record));
            }
            let cooling_w = (-step.equipment.q_air_w).max(0.0);
            let extra_ach = if self.home.windows_open() {
                self.window_ach
            } else {
                0.0
            };
            self.moisture
                .step_ventilated(secs, block.w_out, occupants, cooling_w, extra_ach);
            self.power_w = step.equipment.electric_w();
            self.unit_w = step.equipment.compressor_w;
            if self.unit_w > 0.0 {
                self.last_running_w = self.unit_w;
            }
            // Energised but not turning: a seized bearing or a dead
            // capacitor (a heat pump locked out by the cold is not
            // energised; nor is a unit whose low-pressure switch is open).
            let locked_out = self
                .home
                .equipment()
                .locked_out(self.relays, block.outdoor_c);
            let stalled =
                self.relays.y_compressor && !locked_out && self.degradation.locked_rotor();
            self.stall_since = match (stalled, self.stall_since) {
                (true, None) => Some(t0),
                (true, since) => since,
                (false, _) => None,
            };
            self.energy_j += self.power_w * secs;
            if presence != Presence::Away {
                let air = self.home.air_c();
                let outside = (COMFORT_BAND_C.0 - air).max(0.0) + (air - COMFORT_BAND_C.1).max(0.0);
                self.discomfort_kh += outside * secs / 3_600.0;
            }
            self.physics_t = t0 + dt;
        }
    }

    fn snapshot(&mut self, t: SimTime) -> SensorSnapshot {
        let w = self.climate.at(t);
        let air = self.home.air_c();
        let noise = |rng: &mut SimRng, sigma: f64| {
            let z: f64 = StandardNormal.sample(rng);
            z * sigma
        };
        let rh = relative_humidity_pct(air, self.moisture.ratio(), w.pressure_pa);
        let eq = self.home.equipment();
        let fan_w = self.supply.params().condenser_fan_w;
        let motor = match (eq.running_since(), self.stall_since) {
            (Some(since), _) => Motor::Running {
                since: t.saturating_duration_since(since),
                compressor_w: (self.unit_w - fan_w).max(0.0),
            },
            (None, Some(since)) => Motor::Stalled {
                since: t.saturating_duration_since(since),
                rated_w: (self.last_running_w - fan_w).max(0.0),
            },
            (None, None) => Motor::Off,
        };
        let health = self.degradation.health();
        let e = self.supply.read(t, motor, &health);
        let current_a = self.sensors.clamp(t, e.current_a, &mut self.rng);
        SensorSnapshot {
            temperature_c: Some(air + noise(&mut self.rng, 0.1)),
            humidity_pct: Some((rh + noise(&mut self.rng, 1.0)).clamp(0.0, 100.0)),
            pressure_hpa: Some(w.pressure_pa / 100.0 + noise(&mut self.rng, 0.2)),
            power_available: Some(true),
            battery_pct: None,
            signal_dbm: Some((-60.0 + noise(&mut self.rng, 3.0)).clamp(-120.0, -20.0)),
            iaq: None,
            voltage_v: Some(e.voltage_v),
            current_a,
        }
    }

    fn sample(&mut self, t: SimTime) -> Sample {
        let w = self.climate.at(t);
        let occupied = self.presence(t).0 != Presence::Away;
        let eq = self.home.equipment();
        let runtime = eq.runtime();
        let compressor = eq.mode() != CompressorMode::Off;
        Sample {
            home: self.index,
            at: t,
            indoor_c: self.home.air_c(),
            outdoor_c: w.outdoor_c,
            humidity_pct: relative_humidity_pct(
                self.home.air_c(),
                self.moisture.ratio(),
                w.pressure_pa,
            ),
            compressor,
            backup: self.relays.w_heat,
            occupied,
            energy_kwh: self.energy_kwh(),
            discomfort_kh: self.discomfort_kh,
            starts: runtime.starts,
            short_cycles: runtime.short_cycles,
            bearing_um: self.degradation.bearing_wear_um(),
            windows_open: self.home.windows_open(),
        }
    }

    fn send_requests(&mut self, t: SimTime, out: &mut Outbox<Message>) {
        while let Some(request) = self.firmware.as_mut().and_then(Firmware::poll_transmit) {
            let (up, down, lost) = self.network.draw(&mut self.net_rng);
            let cut = self.in_outage(t);
            out.send(
                t,
                Message::Request(Box::new(Outgoing {
                    home: self.index,
                    request,
                    sent: t,
                    arrival: t + up,
                    down,
                    lost: lost || cut,
                })),
            );
        }
    }

    fn drain_events(&mut self, t: SimTime, out: &mut Outbox<Message>) {
        let Some(mut fw) = self.firmware.take() else {
            return;
        };
        while let Some(event) = fw.poll_event() {
            match &event {
                Event::SampleAccelerometer => self.sample_accelerometer(t, &mut fw),
                Event::Booted { .. }
                | Event::Rebooting { .. }
                | Event::ReadingDropped { .. }
                | Event::CommandHandled { .. }
                | Event::OtaStage { .. }
                | Event::RateLimited { .. } => {
                    out.send(
                        t,
                        Message::Record(Record::Firmware {
                            home: self.index,
                            at: t,
                            event,
                        }),
                    );
                }
                _ => {}
            }
        }
        self.firmware = Some(fw);
    }

    /// The compressor's load relative to its rating (its power over its
    /// power at rating conditions), for the bearing's impacts.
    fn load(&self) -> f64 {
        let eq = self.home.equipment();
        let p = eq.params();
        let rated = match eq.mode() {
            CompressorMode::Heating => p.rated_heating_w / p.rated_heating_cop,
            _ => p.rated_cooling_w / p.rated_cooling_cop,
        };
        self.unit_w / rated.max(1.0)
    }

    /// The window the firmware asked for: what the accelerometer on the
    /// compressor sees now (running vibration under the present load while
    /// it turns, its own noise while it does not), through the sensor's
    /// faults, as features (fast) or as a waveform for the firmware's own
    /// extractor.
    fn sample_accelerometer(&mut self, t: SimTime, fw: &mut Firmware) {
        let now = fw_time(t);
        let turning = self.home.equipment().mode() != CompressorMode::Off;
        let params = if turning {
            self.windows.running += 1;
            self.vibration.at_load(self.load())
        } else {
            self.windows.idle += 1;
            self.vibration.idle()
        };
        let severity = self.degradation.bearing_severity();
        let ms = (params.window_ms().round() as u64).max(1);
        match self.sensors.accelerometer(t, &mut self.rng) {
            Accel::Missing => {
                self.windows.missing += 1;
                fw.handle_vibration_missing(now);
            }
            Accel::Stuck(c) => match self.fidelity {
                VibrationFidelity::Fast => {
                    let f = device_firmware::vibration::Features {
                        peak_g: c.abs(),
                        dominant_hz: 0.0,
                        rms_g: c.abs(),
                        kurtosis: 0.0,
                    };
                    fw.handle_vibration_features(now, f, ms);
                }
                VibrationFidelity::Waveform => WINDOW.with_borrow_mut(|w| {
                    w.clear();
                    w.resize(params.window_samples, c);
                    fw.handle_vibration_window(now, w, params.sample_rate_hz);
                }),
            },
            Accel::Scaled(gain) => match self.fidelity {
                VibrationFidelity::Fast => {
                    let f = features_fast(&params, severity, &mut self.rng);
                    let features = device_firmware::vibration::Features {
                        peak_g: f.peak_g * gain,
                        dominant_hz: f.dominant_hz,
                        rms_g: f.rms_g * gain,
                        kurtosis: f.kurtosis,
                    };
                    self.sensors.saw_rms(features.rms_g);
                    fw.handle_vibration_features(now, features, ms);
                }
                VibrationFidelity::Waveform => WINDOW.with_borrow_mut(|w| {
                    w.clear();
                    w.resize(params.window_samples, 0.0);
                    synthesize(&params, severity, &mut self.rng, w);
                    let mut sq = 0.0;
                    for x in w.iter_mut() {
                        *x *= gain;
                        sq += *x * *x;
                    }
                    self.sensors.saw_rms((sq / w.len() as f64).sqrt());
                    fw.handle_vibration_window(now, w, params.sample_rate_hz);
                }),
            },
        }
    }

    fn visit(&mut self, t: SimTime, out: &mut Outbox<Message>) {
        use hvac_models::degradation::FaultState;
        let after_failure = self.degradation.compressor_failed();
        let mut repaired = Vec::new();
        for kind in FaultKind::ALL {
            if matches!(
                self.degradation.state(kind),
                FaultState::Active { .. } | FaultState::Failed { .. }
            ) {
                let ghost = self.counterfactuals.then(|| {
                    stream(
                        self.seed,
                        self.index as u64,
                        &format!("counterfactual-{}-{}", kind.as_str(), self.repairs),
                    )
                });
                self.repairs += 1;
                self.degradation.repair(kind, t, ghost);
                repaired.push(kind);
            }
        }
        out.send(
            t,
            Message::Record(Record::Visit {
                home: self.index,
                at: t,
                repaired,
                after_failure,
            }),
        );
    }

    /// Handles the home's next event (at [`Entity::next_event_time`]),
    /// integrating the physics up to it first; the local time stays at the
    /// event's, so deliveries may come at that same instant.
    pub fn step(&mut self, out: &mut Outbox<Message>) {
        let next = self.next_time().max(self.t);
        self.physics_to(next, out);
        self.t = next;
        self.handle(next, out);
    }

    /// Caches the firmware's next deadline (asking it is not free).
    fn refresh_deadline(&mut self) {
        let fw = self.firmware.as_ref();
        let timeout = fw.and_then(Firmware::poll_timeout).map(sim_time);
        let reboot = fw.and_then(Firmware::reboot_due).map(sim_time);
        self.fw_next = timeout
            .unwrap_or(SimTime::MAX)
            .min(reboot.unwrap_or(SimTime::MAX));
    }

    fn next_time(&self) -> SimTime {
        let mut next = self.next_sample.min(self.next_zigbee).min(self.fw_next);
        if let Some((t, _, _)) = self.inbox.first() {
            next = next.min(*t);
        }
        next
    }

    /// Handles everything due at `t`.
    fn handle(&mut self, t: SimTime, out: &mut Outbox<Message>) {
        let now = fw_time(t);
        for f in self.sensors.onsets_until(t) {
            out.send(
                t,
                Message::Record(Record::SensorFault {
                    home: self.index,
                    kind: f.kind,
                    at: f.onset,
                    detail: f.detail(),
                }),
            );
        }
        if self
            .firmware
            .as_ref()
            .and_then(Firmware::reboot_due)
            .is_some_and(|r| r <= now)
            && let Some(fw) = self.firmware.take()
        {
            let flash = fw.shutdown_for_reboot();
            self.boots += 1;
            let rng = stream(
                self.seed,
                self.index as u64,
                &format!("firmware-boot-{}", self.boots),
            );
            self.firmware = Some(Firmware::boot(
                self.fw_config.clone(),
                self.identity.clone(),
                flash,
                rng,
                now,
            ));
        }
        while self.inbox.first().is_some_and(|(due, _, _)| *due <= t) {
            let (_, _, inbound) = self.inbox.remove(0);
            match inbound {
                Inbound::Visit => self.visit(t, out),
                Inbound::Response(id, resp) => {
                    if let Some(fw) = self.firmware.as_mut() {
                        fw.handle_response(now, id, resp);
                    }
                }
                Inbound::TransportError(id) => {
                    if let Some(fw) = self.firmware.as_mut() {
                        fw.handle_transport_error(now, id);
                    }
                }
            }
        }
        if t >= self.next_zigbee {
            self.next_zigbee = t + SimDuration::from_mins(5);
            let air = self.home.air_c();
            let sensors: Vec<String> = self
                .identity
                .zigbee_sensors
                .iter()
                .map(|z| z.ieee_address.clone())
                .collect();
            for (k, ieee) in sensors.iter().enumerate() {
                // Rooms run a little warmer or cooler than the hallway.
                let offset = if k == 0 { 0.6 } else { -0.8 };
                let z: f64 = StandardNormal.sample(&mut self.rng);
                if let Some(fw) = self.firmware.as_mut() {
                    fw.handle_zigbee_reading(
                        now,
                        ieee,
                        FwSensor::Temperature,
                        air + offset + 0.1 * z,
                    );
                }
            }
        }
        // Occupants awake at home move past the thermostat's motion sensor
        // (the firmware reports it, at most every 15 minutes).
        if self.presence(t).0 == Presence::Home
            && let Some(fw) = self.firmware.as_mut()
        {
            fw.handle_occupant(now, device_firmware::firmware::OccupantEvent::Motion);
        }
        // Fresh sensors for the firmware's timed work (control, sampling,
        // reports); a response alone does not read them.
        if self
            .firmware
            .as_ref()
            .and_then(Firmware::poll_timeout)
            .is_some_and(|d| d <= now)
        {
            let snapshot = self.snapshot(t);
            self.last_snapshot = snapshot;
            if let Some(fw) = self.firmware.as_mut() {
                fw.handle_sensors(now, snapshot);
                fw.handle_timeout(now);
            }
        }
        self.drain_events(t, out);
        self.send_requests(t, out);
        if let Some(fw) = self.firmware.as_ref() {
            self.relays = fw_relays(fw.relays());
        }
        self.refresh_deadline();
        if t >= self.next_sample {
            out.send(t, Message::Record(Record::Sample(self.sample(t))));
            while self.next_sample <= t {
                self.next_sample += self.sample_every;
            }
        }
    }
}

impl Entity for HomeSim {
    type Message = Message;
    type Delivery = Inbound;

    fn advance(&mut self, until: SimTime, out: &mut Outbox<Message>) {
        loop {
            let next = self.next_time().max(self.t);
            if next >= until {
                break;
            }
            self.physics_to(next, out);
            self.t = next;
            self.handle(next, out);
        }
        self.physics_to(until, out);
        self.t = until;
    }

    fn next_event_time(&self) -> Option<SimTime> {
        Some(self.next_time().max(self.t))
    }

    fn deliver(&mut self, at: SimTime, delivery: Inbound) {
        let seq = self.inbox_seq;
        self.inbox_seq += 1;
        let pos = self
            .inbox
            .partition_point(|(t, s, _)| (*t, *s) <= (at, seq));
        self.inbox.insert(pos, (at, seq, delivery));
    }
}
