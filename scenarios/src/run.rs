//! Running a scenario: build the fleet and the server, run the windowed
//! parallel simulation, and write the run folder.
//!
//! The run folder (`<outputs.dir>/<name>-seed<seed>/`) holds
//! `summary.json` (headline counts with stable keys; byte-identical for the
//! same file and seed at any thread count) and `scenario.toml` (the file as
//! run, with the overrides noted).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use api_server::journal::JournalConfig;
use api_server::state::AccountReport;
use api_server::{AppState, ServerConfig};
use hvac_models::sun::Site;
use hvac_models::weather::WeatherSeries;
use serde_json::{Value, json};
use sim_core::exec::{Executor, Progress, RunPlan, RunStats};
use sim_core::{SimDuration, SimTime, VirtualClock};

use crate::fleet::{FleetMix, HomeSpec, home};
use crate::home::{HomeContext, HomeSim, Record};
use crate::net::Network;
use crate::schema::{ClimateSource, Scenario};
use crate::server::{Provision, Receiver, Stats};
use crate::shard::{Output, Shard};

/// Most events an account's journal keeps between two windows: far more
/// than a window brings (an account of 1,000 homes stores about 6,000
/// readings in 15 minutes), so only a runaway fills it, and then the run
/// stops with [`RunError::Journal`] rather than lose rows.
const JOURNAL_CAPACITY: usize = 1 << 20;

/// Command-line overrides of a scenario.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// Number of homes.
    pub homes: Option<u32>,
    /// Days to simulate.
    pub days: Option<f64>,
    /// The seed.
    pub seed: Option<u64>,
    /// Where to put the run folder (instead of `outputs.dir`).
    pub out: Option<PathBuf>,
    /// Predictors: the first acts (alerts, technicians), the rest run in
    /// shadow (instead of `server.predictor` and `server.shadow_predictors`).
    pub models: Option<Vec<String>>,
    /// Write the labelled dataset (`dataset.parquet`: each device's
    /// engineered features hourly, with fault and time-to-failure labels).
    pub export_dataset: bool,
}

/// A command-line override the run cannot take.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    /// `--homes` out of range.
    #[error("--homes {0} is out of range: expected 1 to 100000")]
    Homes(u32),
    /// `--days` out of range (or not a number of days).
    #[error("--days {0} is out of range: expected 0.042 (1 h) to 400")]
    Days(f64),
    /// `--model` given with no predictor.
    #[error("--model: name at least one predictor")]
    NoModel,
    /// A `--model` names no usable predictor.
    #[error("--model: {0}")]
    Model(#[source] api_server::predictors::SpecError),
}

/// What went wrong in a run. Each keeps the error it came from as its
/// source.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario does not check (a run of a scenario not validated
    /// first).
    #[error("{key}: {message}")]
    Scenario {
        /// The key at fault.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// An override is out of range.
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// A predictor specification names no usable predictor.
    #[error(transparent)]
    Predictor(#[from] api_server::predictors::SpecError),
    /// An EPW file could not be read.
    #[error("weather: {path}: {source}")]
    Weather {
        /// The file.
        path: String,
        /// Why.
        source: hvac_models::weather::epw::EpwError,
    },
    /// `climate.source = "epw"` without `climate.epw_file`.
    #[error("weather: climate.epw_file is not set")]
    NoEpwFile,
    /// A location's time zone is unknown.
    #[error("{source}")]
    TimeZone {
        /// The time zone database's answer.
        source: jiff::Error,
    },
    /// A home could not be built.
    #[error(transparent)]
    Build(#[from] crate::home::HomeError),
    /// Provisioning the server failed.
    #[error("provisioning: {0}")]
    Provision(#[from] crate::server::ProvisionFailed),
    /// The executor could not start or stopped.
    #[error("simulation: {0}")]
    Simulation(#[from] sim_core::exec::ExecError),
    /// A table could not be written.
    #[error("tables: {0}")]
    Tables(#[from] reports::tables::TableError),
    /// The labelled dataset could not be written.
    #[error("tables: dataset: {0}")]
    Dataset(#[from] reports::dataset::DatasetError),
    /// The run folder's report could not be made.
    #[error("report: {0}")]
    Report(#[from] reports::report::ReportError),
    /// An account's journal dropped events between two windows (the run
    /// stopped; its tables would miss rows).
    #[error(
        "server account {account}: its journal dropped {lost} event(s) within one window (more than {JOURNAL_CAPACITY})"
    )]
    Journal {
        /// The account.
        account: usize,
        /// Events dropped.
        lost: u64,
    },
    /// An outside model failed (the run stopped).
    #[error("{0}")]
    Model(#[from] crate::outside::OutsideError),
    /// The run folder could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The run folder.
    pub dir: PathBuf,
    /// The summary written to `summary.json`.
    pub summary: Value,
    /// Each release gate's verdict (empty without `[gates]`).
    pub verdicts: Vec<reports::gates::Verdict>,
}

impl Finished {
    /// Whether every gate passed.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }
}

/// Applies overrides, checking their ranges.
pub fn apply(mut s: Scenario, o: &Overrides) -> Result<Scenario, RunError> {
    if let Some(h) = o.homes {
        if !(1..=100_000).contains(&h) {
            return Err(OverrideError::Homes(h).into());
        }
        s.fleet.homes = h;
    }
    if let Some(d) = o.days {
        if !(d.is_finite() && (1.0 / 24.0..=400.0).contains(&d)) {
            return Err(OverrideError::Days(d).into());
        }
        s.duration.0 = SimDuration::from_secs_f64(d * 86_400.0).unwrap_or(s.duration.0);
    }
    if let Some(seed) = o.seed {
        s.seed = seed;
    }
    if let Some(models) = &o.models {
        let Some((primary, shadows)) = models.split_first() else {
            return Err(OverrideError::NoModel.into());
        };
        for m in models {
            api_server::predictors::by_spec(m).map_err(OverrideError::Model)?;
        }
        s.server.predictor = primary.clone();
        s.server.shadow_predictors = shadows.to_vec();
        // Outside models named on the command line run where it was given.
        s.server.model_dir = PathBuf::from(".");
    }
    Ok(s)
}

/// The names the run's tables give its predictors, primary first: each
/// predictor's name, with `#k` after the k-th repeat of a name
/// (`threshold`, `threshold#1`), so a model can shadow itself.
pub fn model_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let name = name.as_ref();
        let repeats = out
            .iter()
            .filter(|n| n.split('#').next() == Some(name))
            .count();
        out.push(if repeats == 0 {
            name.to_owned()
        } else {
            format!("{name}#{repeats}")
        });
    }
    out
}

/// The run's shadow predictors: the scenario's, then the `unit-relative`
/// baseline (every leaderboard shows it) unless it is named already.
fn shadows(s: &Scenario) -> Vec<String> {
    let baseline = api_server::predictors::UNIT_RELATIVE;
    let mut out = s.server.shadow_predictors.clone();
    if s.server.predictor != baseline && !out.iter().any(|m| m == baseline) {
        out.push(baseline.to_owned());
    }
    out
}

/// A predictor by name (validated names are built in).
fn predictor(spec: &str) -> Result<Arc<dyn api_server::predictors::Predictor>, RunError> {
    Ok(api_server::predictors::by_spec(spec)?)
}

/// Forecasts for climate optimisation from the run's own weather (a
/// perfect forecast at the nearest location).
#[derive(Debug)]
struct WeatherForecast {
    sites: Vec<(f64, f64, Arc<WeatherSeries>)>,
}

impl api_server::climate::Forecast for WeatherForecast {
    fn outdoor_c(
        &self,
        latitude: f64,
        longitude: f64,
        from: SimTime,
        hours: usize,
    ) -> Option<Vec<f64>> {
        let (_, _, w) = self.sites.iter().min_by(|a, b| {
            let d = |s: &(f64, f64, Arc<WeatherSeries>)| {
                (s.0 - latitude).powi(2) + (s.1 - longitude).powi(2)
            };
            d(a).total_cmp(&d(b))
        })?;
        Some(
            (0..hours)
                .map(|h| w.at(from + SimDuration::from_hours(h as u64)).dry_bulb_c)
                .collect(),
        )
    }
}

/// Each location's weather: its own EPW file, else the climate's EPW file,
/// else the synthetic climate drawn for it (each file read once).
fn weather(s: &Scenario) -> Result<Vec<(Site, Arc<WeatherSeries>)>, RunError> {
    let mut files: Vec<(std::path::PathBuf, Arc<WeatherSeries>)> = Vec::new();
    let mut read = |path: &Path| -> Result<Arc<WeatherSeries>, RunError> {
        if let Some((_, w)) = files.iter().find(|(p, _)| p == path) {
            return Ok(w.clone());
        }
        let w = Arc::new(
            hvac_models::weather::epw::read(path)
                .map_err(|source| RunError::Weather {
                    path: path.display().to_string(),
                    source,
                })?
                .series,
        );
        files.push((path.to_owned(), w.clone()));
        Ok(w)
    };
    let shared = match s.climate.source {
        ClimateSource::Epw => Some(s.climate.epw_file.as_deref().ok_or(RunError::NoEpwFile)?),
        ClimateSource::Synthetic => None,
    };
    let climate = crate::build::synthetic_climate(s);
    let mut out = Vec::with_capacity(s.fleet.locations.len());
    for (i, l) in s.fleet.locations.iter().enumerate() {
        let site = Site {
            latitude_deg: l.latitude,
            longitude_deg: l.longitude,
            elevation_m: l.elevation_m,
        };
        let series = match l.epw_file.as_deref().or(shared) {
            Some(path) => read(path)?,
            None => Arc::new(climate.generate(
                s.seed,
                i as u64,
                &site,
                s.start.0,
                s.duration.0 + SimDuration::from_days(3),
            )),
        };
        out.push((site, series));
    }
    Ok(out)
}

fn outages(s: &Scenario, home: usize) -> Vec<(SimTime, SimTime)> {
    use rand::RngExt;
    let mut rng = sim_core::stream(s.seed, home as u64, "outages");
    s.network
        .outages
        .iter()
        .filter_map(|o| {
            let hit = rng.random::<f64>() < o.share;
            let at = o.start.resolve(s.start.0);
            hit.then_some((at, at + o.duration.0))
        })
        .collect()
}

/// The homes of `specs`, each with its physics, sensors and firmware, at
/// the start of the run (`sites`: each location's site and weather).
fn build_homes(
    s: &Scenario,
    specs: &[HomeSpec],
    sites: &[(Site, Arc<WeatherSeries>)],
) -> Result<Vec<HomeSim>, RunError> {
    let start = s.start.0;
    let network = Network::new(
        s.network.min_latency_ms,
        s.network.median_latency_ms,
        s.network.p99_latency_ms,
        s.network.error_rate,
    );
    let degradation = crate::build::degradation(s);
    let tables: Vec<Arc<crate::home::ClimateTable>> = sites
        .iter()
        .map(|(site, w)| {
            Arc::new(crate::home::ClimateTable::new(
                w,
                site,
                start,
                s.duration.0 + SimDuration::from_days(1),
            ))
        })
        .collect();
    let mut homes = Vec::with_capacity(specs.len());
    for spec in specs {
        let loc = &s.fleet.locations[spec.location];
        let tz = jiff::tz::TimeZone::get(&loc.timezone)
            .map_err(|source| RunError::TimeZone { source })?;
        let ctx = HomeContext {
            seed: s.seed,
            start,
            climate: tables[spec.location].clone(),
            timezone: tz,
            degradation,
            firmware: crate::build::firmware_config(
                s,
                device_firmware::control::Equipment::AcFurnace,
            ),
            network,
            sample_every: s.outputs.home_sample.0,
            outages: outages(s, spec.index),
            initial_c: s.fleet.initial_indoor_c,
            spread: crate::home::UnitSpread {
                vibration: s.faults.bearing.vibration_spread,
                rate: s.faults.bearing.rate_spread,
                impact: s.faults.bearing.impact_spread,
                resonance: s.faults.bearing.resonance_spread,
                damping: s.faults.bearing.damping_spread,
            },
            fidelity: s.sensing.vibration,
            sensor_faults: s.sensing.faults.clone(),
            counterfactuals: s.evaluation.counterfactuals,
            windows: s.fleet.windows,
        };
        homes.push(HomeSim::new(spec, ctx)?);
    }
    Ok(homes)
}

fn fleet_mix(s: &Scenario) -> Result<FleetMix, RunError> {
    FleetMix::new(&s.fleet).map_err(|e| RunError::Scenario {
        key: e.key,
        message: e.message,
    })
}

/// The scenario's homes on their own, without a server, at the start of
/// the run (for driving one home's physics, sensors and firmware
/// directly).
pub fn standalone_homes(s: &Scenario) -> Result<Vec<HomeSim>, RunError> {
    let sites = weather(s)?;
    let mix = fleet_mix(s)?;
    let mut specs: Vec<HomeSpec> = (0..s.fleet.homes as usize)
        .map(|i| home(s, &mix, i))
        .collect();
    crate::fleet::tenants(s, &mut specs);
    build_homes(s, &specs, &sites)
}

/// Runs `scenario` on `threads` threads, reporting progress after every
/// window, and writes the run folder: [`build`] the fleet and the server,
/// [`execute`] the windows, [`finish`] the tables, summary and report.
pub fn run(
    scenario: &Scenario,
    overrides: &Overrides,
    threads: usize,
    progress: impl FnMut(&Progress) + Send,
) -> Result<Finished, RunError> {
    let watch = sim_core::clock::Stopwatch::start();
    let mut built = build(scenario, overrides)?;
    let stats = execute(&mut built, threads, progress)?;
    finish(built, stats, overrides, threads, watch)
}

/// A run built and not yet started: the fleet, the provisioned server, one
/// shard per account, the run folder with its tables open.
struct Built {
    s: Scenario,
    start: SimTime,
    end: SimTime,
    dir: PathBuf,
    tables: crate::tables::Tables,
    device_ids: Vec<Vec<Arc<str>>>,
    models: Vec<Arc<str>>,
    outsiders: crate::outside::Outsiders,
    shared: Arc<crate::server::Shared>,
    publisher: crate::server::Publisher,
    shards: Vec<Shard>,
    /// Requests made while provisioning.
    provisioning: Stats,
}

/// Builds the run: applies the overrides, draws the fleet, prepares the
/// weather, provisions the server, opens the run folder and its tables,
/// starts outside models and makes the shards.
fn build(scenario: &Scenario, overrides: &Overrides) -> Result<Built, RunError> {
    let s = apply(scenario.clone(), overrides)?;
    let start = s.start.0;
    let end = start + s.duration.0;
    let sites = weather(&s)?;
    let mix = fleet_mix(&s)?;
    let mut specs: Vec<HomeSpec> = (0..s.fleet.homes as usize)
        .map(|i| home(&s, &mix, i))
        .collect();
    let tenants = crate::fleet::tenants(&s, &mut specs);
    let homes = build_homes(&s, &specs, &sites)?;
    let receiver = Arc::new(Receiver::default());
    let forecast = Arc::new(WeatherForecast {
        sites: s
            .fleet
            .locations
            .iter()
            .zip(&sites)
            .map(|(l, (_, w))| (l.latitude, l.longitude, w.clone()))
            .collect(),
    });
    let config = ServerConfig {
        telemetry_retention: s.server.telemetry_retention,
        record_features: overrides.export_dataset,
        // The tables read what the server stored, predicted and ended
        // from each account's journal, drained after every window.
        journal: Some(JournalConfig {
            capacity: JOURNAL_CAPACITY,
            readings: s.outputs.telemetry,
        }),
        ..ServerConfig::default()
    };
    let state = AppState::new(Arc::new(VirtualClock::new(start)), s.seed, config)
        .with_webhook_sink(receiver.clone())
        .with_forecast(forecast)
        .with_predictors(
            predictor(&s.server.predictor)?,
            shadows(&s)
                .iter()
                .map(|n| predictor(n))
                .collect::<Result<_, _>>()?,
        );
    let base = overrides
        .out
        .clone()
        .unwrap_or_else(|| s.outputs.dir.clone());
    let dir = base.join(format!("{}-seed{}", s.name, s.seed));
    std::fs::create_dir_all(&dir).map_err(|source| RunError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let mut tables =
        crate::tables::Tables::create(&dir, s.outputs.telemetry, overrides.export_dataset)?;
    let device_ids: Vec<Vec<Arc<str>>> = (0..tenants.len())
        .map(|a| {
            specs
                .iter()
                .filter(|h| h.account == a)
                .map(|h| Arc::from(h.device_id.as_str()))
                .collect()
        })
        .collect();
    let provisioned = crate::server::provision(
        &Provision {
            scenario: &s,
            homes: &specs,
            tenants: &tenants,
        },
        state,
        receiver,
    )?;
    let account_ids: Vec<usize> = provisioned.sides.iter().map(|side| side.id).collect();
    let models: Vec<Arc<str>> = model_names(
        provisioned
            .shared
            .state
            .predictors()
            .iter()
            .map(|p| p.name()),
    )
    .into_iter()
    .map(Arc::from)
    .collect();
    let outsiders = crate::outside::Outsiders::start(
        &provisioned.shared.state,
        &models,
        &s.server.model_dir,
        std::time::Duration::from_millis(s.server.model_timeout.0.as_millis()),
        &device_ids,
    )?;
    tables.fleet(&s, &specs, &tenants, &account_ids)?;
    let shared = provisioned.shared;
    let publisher = provisioned.publisher;
    for a in 0..tenants.len() {
        shared
            .state
            .with_account(a, |acc| acc.alert_threshold = s.server.alert_threshold);
    }
    // One shard per account, its homes in fleet order.
    let mut by_account: Vec<Vec<HomeSim>> = (0..tenants.len()).map(|_| Vec::new()).collect();
    for (h, spec) in homes.into_iter().zip(&specs) {
        by_account[spec.account].push(h);
    }
    let shards: Vec<Shard> = provisioned
        .sides
        .into_iter()
        .zip(by_account)
        .enumerate()
        .map(|(a, (side, homes))| {
            Shard::new(shared.clone(), side, homes, device_ids[a].clone(), start)
        })
        .collect();
    Ok(Built {
        s,
        start,
        end,
        dir,
        tables,
        device_ids,
        models,
        outsiders,
        shared,
        publisher,
        shards,
        provisioning: provisioned.stats,
    })
}

/// Runs the windows on `threads` threads: shards in parallel, then between
/// windows OTA publishing, rollouts, outside models and the window's rows
/// handed to the table writer's thread.
fn execute(
    built: &mut Built,
    threads: usize,
    progress: impl FnMut(&Progress) + Send,
) -> Result<sim_core::exec::RunStats, RunError> {
    let Built {
        start,
        end,
        tables,
        device_ids,
        models,
        outsiders,
        shared,
        publisher,
        shards,
        provisioning,
        ..
    } = built;
    let (start, end) = (*start, *end);
    let executor = Executor::new(threads.max(1))?;
    // Minute windows only when something between windows needs them.
    let sync = crate::shard::window(!publisher.is_empty() || !outsiders.is_empty());
    let plan = RunPlan {
        start,
        end,
        lookahead: sync,
        max_window: sync,
    };
    let mut rollouts = Rollouts::default();
    publisher.publish_due(&shared.state, start);
    let names = Names {
        devices: device_ids,
        models,
    };
    let mut first = Batch {
        rows: provisioning.rows.clone(),
        ota: rollouts.note(&shared.state, start),
        ..Batch::default()
    };
    first.write(tables, names)?;
    let mut model_error: Option<crate::outside::OutsideError> = None;
    let mut journal_error: Option<RunError> = None;
    // The tables are written on their own thread, a window behind the
    // simulation: encoding and compressing the row groups overlaps the next
    // window instead of leaving a core idle between windows. One window waits
    // at most (bounded memory); emptied buffers come back for reuse.
    let (batches, written) = std::sync::mpsc::sync_channel::<Batch>(1);
    let (reuse, returned) = std::sync::mpsc::channel::<Batch>();
    let returned = std::sync::Mutex::new(returned);
    let (stats, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            for mut batch in written {
                batch.write(tables, names)?;
                // The simulation may have finished: then nothing is reused.
                let _ = reuse.send(batch);
            }
            Ok::<_, reports::tables::TableError>(())
        });
        let stats = executor.run(
            shards,
            plan,
            |w, messages, out| {
                let mut batch = returned
                    .lock()
                    .ok()
                    .and_then(|r| r.try_recv().ok())
                    .unwrap_or_default();
                batch.now = w.end;
                for m in messages {
                    match m.message {
                        Output::Record(r) => batch.records.push(r),
                        Output::Request(r) => batch.rows.push(r),
                    }
                }
                // Between windows: the operator publishes, rollouts move on.
                publisher.publish_due(&shared.state, w.end);
                shared.state.tick_global(w.end);
                // The outside models answer for the window's feature rows.
                if let Err(e) = outsiders.step(&shared.state, device_ids, w.end) {
                    model_error = Some(e);
                    out.stop();
                }
                if let Err(e) = batch.take(shared) {
                    journal_error = Some(e);
                    out.stop();
                }
                batch.ota = rollouts.note(&shared.state, w.end);
                // A writer that hung up failed: its error comes from `join`.
                if batches.send(batch).is_err() {
                    out.stop();
                }
            },
            progress,
        );
        drop(batches);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (stats, written)
    });
    written?;
    let stats = stats?;
    if let Some(e) = model_error {
        return Err(e.into());
    }
    if let Some(e) = journal_error {
        return Err(e);
    }
    Ok(stats)
}

/// Finishes the run: the alerts and open commands, the summary, the
/// timings, the scenario as run and the report.
fn finish(
    built: Built,
    stats: sim_core::exec::RunStats,
    overrides: &Overrides,
    threads: usize,
    watch: sim_core::clock::Stopwatch,
) -> Result<Finished, RunError> {
    let Built {
        s,
        end,
        dir,
        mut tables,
        device_ids,
        models,
        outsiders,
        shared,
        publisher,
        shards,
        provisioning,
        ..
    } = built;
    // Each account as it ends, read once (the server's own copy).
    let mut reports: Vec<AccountReport> = (0..shared.state.account_count())
        .map(|a| shared.state.report(a).unwrap_or_default())
        .collect();
    let timings = timings(&reports, &models, &outsiders, watch.elapsed_ns(), threads);
    drop(outsiders);
    for (a, report) in reports.iter_mut().enumerate() {
        for alert in &report.alerts {
            tables.alert(alert)?;
        }
        // Commands still open at the end, as they stand (the summary
        // reads no command: they go to the table).
        let ids = device_ids.get(a).map_or(&[][..], Vec::as_slice);
        tables.commands(ids, std::mem::take(&mut report.open_commands), end)?;
    }
    let mut server_stats = provisioning;
    server_stats.rows.clear();
    server_stats.releases_published = publisher.published;
    for shard in &shards {
        let mut side = shard.stats().clone();
        side.rows.clear();
        server_stats.merge(side);
    }
    let counts = tables.counts.clone();
    let mut rows = tables.finish()?;
    if overrides.export_dataset {
        rows.remove("features");
        let labelled = reports::dataset::label(&dir, &params(&s))?;
        rows.insert("dataset", labelled);
    }
    let summary = summarize(
        &s,
        &shards,
        &shared,
        Ended {
            reports: &reports,
            stats: &server_stats,
            exec: stats,
            counts: &counts,
            rows: &rows,
        },
    );
    write(&dir, &summary)?;
    write_json(&dir.join(reports::leaderboard::TIMINGS), &timings)?;
    write_scenario(&dir, &s, overrides)?;
    // The simulation's memory goes before the tables are read back.
    drop(shards);
    drop(shared);
    drop(server_stats);
    let rendered = reports::report::render(&dir)?;
    Ok(Finished {
        dir,
        summary: rendered.summary,
        verdicts: rendered.verdicts,
    })
}

/// What the run cost in wall time, and each predictor's share of it
/// (`timings.json`: measured, so it differs from run to run, unlike
/// `summary.json`).
fn timings(
    reports: &[AccountReport],
    names: &[Arc<str>],
    outsiders: &crate::outside::Outsiders,
    wall_ns: u64,
    threads: usize,
) -> Value {
    let mut costs = vec![api_server::predictive::ModelCost::default(); names.len()];
    for (m, c) in outsiders.costs() {
        if let Some(total) = costs.get_mut(m) {
            total.reports += c.reports;
            total.nanos += c.nanos;
        }
    }
    for report in reports {
        for (total, c) in costs.iter_mut().zip(&report.model_cost) {
            total.reports += c.reports;
            total.predictions += c.predictions;
            total.nanos += c.nanos;
        }
    }
    json!({
        "simulation_wall_s": wall_ns as f64 / 1e9,
        "threads": threads,
        "models": names.iter().zip(&costs).map(|(name, c)| json!({
            "name": &**name,
            "reports": c.reports,
            "predictions": c.predictions,
            "nanos": c.nanos,
        })).collect::<Vec<_>>(),
    })
}

/// What the tables call devices and models.
#[derive(Debug, Clone, Copy)]
struct Names<'a> {
    /// Each account's device ids, by index.
    devices: &'a [Vec<Arc<str>>],
    /// The predictors' table names, primary first.
    models: &'a [Arc<str>],
}

/// What one window produced, on its way to the tables.
#[derive(Debug, Default)]
struct Batch {
    /// The window's end.
    now: SimTime,
    /// The homes' records.
    records: Vec<Record>,
    /// The requests the server handled.
    rows: Vec<crate::server::RequestRow>,
    /// Webhook deliveries received.
    webhooks: Vec<crate::server::WebhookRow>,
    /// Each account's stored readings, predictions, features and ended
    /// commands, in account order.
    outlets: Vec<crate::tables::Outlet>,
    /// The server's rollout events.
    ota: Vec<OtaNote>,
}

impl Batch {
    /// Takes what the webhook receiver got and what every account's
    /// journal told since the last window; an account whose journal
    /// overflowed is an error (its tables would miss rows).
    fn take(&mut self, shared: &crate::server::Shared) -> Result<(), RunError> {
        self.webhooks = shared.receiver.drain_rows();
        for account in 0..shared.state.account_count() {
            let (events, lost) = shared.state.drain_journal(account).unwrap_or_default();
            if lost > 0 {
                return Err(RunError::Journal { account, lost });
            }
            self.outlets
                .push(crate::tables::Outlet::from_events(events));
        }
        Ok(())
    }

    /// Writes the batch into the tables, leaving its buffers empty (their
    /// room kept for the next window).
    fn write(
        &mut self,
        tables: &mut crate::tables::Tables,
        names: Names<'_>,
    ) -> Result<(), reports::tables::TableError> {
        let Names {
            devices: device_ids,
            models,
        } = names;
        tables.records(self.records.drain(..))?;
        tables.requests(self.rows.drain(..))?;
        tables.webhooks(std::mem::take(&mut self.webhooks))?;
        for (a, out) in self.outlets.drain(..).enumerate() {
            let ids = device_ids.get(a).map_or(&[][..], Vec::as_slice);
            tables.telemetry(ids, out.readings)?;
            tables.predictions(ids, models, out.predictions)?;
            tables.features(ids, out.features)?;
            tables.commands(ids, out.commands, self.now)?;
        }
        for (at, version, event, detail) in self.ota.drain(..) {
            tables.ota(at, "server", None, &version, event, detail)?;
        }
        Ok(())
    }
}

/// A rollout event of the server: (when, version, event, detail).
type OtaNote = (SimTime, String, &'static str, Option<String>);

/// The server's rollout decisions, noted as they happen (between windows).
#[derive(Debug, Default)]
struct Rollouts {
    /// (version, open batch, halted) as last seen.
    seen: Vec<(String, usize, bool)>,
}

impl Rollouts {
    /// The rollout events since the last call: releases published, batches
    /// opened, rollouts halted.
    fn note(&mut self, state: &AppState, now: SimTime) -> Vec<OtaNote> {
        let mut notes = Vec::new();
        for (i, (version, stage, share, halted)) in state.rollouts().into_iter().enumerate() {
            let mut server = |event: &'static str, detail: Option<String>| {
                notes.push((now, version.clone(), event, detail));
            };
            let (was_stage, was_halted) = match self.seen.get(i) {
                Some((_, stage, halted)) => (Some(*stage), *halted),
                None => {
                    server("published", None);
                    (None, false)
                }
            };
            if was_stage != Some(stage) {
                server("batch_opened", Some(format!("{share}")));
            }
            if halted && !was_halted {
                server("halted", Some(format!("in batch {stage}")));
            }
            match self.seen.get_mut(i) {
                Some(seen) => *seen = (version, stage, halted),
                None => self.seen.push((version, stage, halted)),
            }
        }
        notes
    }
}

fn write(dir: &Path, summary: &Value) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|source| RunError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    write_json(&dir.join("summary.json"), summary)
}

/// Writes `value` to `path`, pretty, with a final newline.
fn write_json(path: &Path, value: &Value) -> Result<(), RunError> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text).map_err(|source| RunError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// `scenario.toml`: the file as run, headed by the overrides applied (the
/// same file with them reproduces the run).
fn write_scenario(dir: &Path, s: &Scenario, o: &Overrides) -> Result<(), RunError> {
    let mut head = String::from("# The scenario as run");
    let flags: Vec<String> = [
        o.homes.map(|h| format!("--homes {h}")),
        o.days.map(|d| format!("--days {d}")),
        o.seed.map(|x| format!("--seed {x}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if flags.is_empty() {
        head.push_str(".\n");
    } else {
        head.push_str(&format!(", with {}.\n", flags.join(" ")));
    }
    let path = dir.join("scenario.toml");
    std::fs::write(&path, head + &s.source).map_err(|source| RunError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// The headline counts (stable keys; no wall-clock or thread figures).
/// What the summary reads besides the scenario, the shards and the server.
struct Ended<'a> {
    /// Each account as it ended.
    reports: &'a [AccountReport],
    /// The requests the server handled.
    stats: &'a Stats,
    /// The executor's counts.
    exec: RunStats,
    /// The homes' records.
    counts: &'a crate::tables::RecordCounts,
    /// Rows per table.
    rows: &'a std::collections::BTreeMap<&'static str, u64>,
}

fn summarize(
    s: &Scenario,
    shards: &[Shard],
    shared: &crate::server::Shared,
    ended: Ended<'_>,
) -> Value {
    let Ended {
        reports,
        stats,
        exec,
        counts,
        rows,
    } = ended;
    let homes = || shards.iter().flat_map(Shard::homes);
    let receiver = shared.receiver.state();
    // What the server stored.
    let mut stored = Vec::new();
    let (mut alerts, mut automation_fired, mut notifications) = (0u64, 0u64, 0u64);
    for report in reports {
        stored.extend_from_slice(&report.readings_stored);
        alerts += report.predictor_alerts;
        automation_fired += report.automations_fired;
        notifications += report.notifications;
    }
    let total_readings: u64 = stored.iter().sum();
    let homes_with_telemetry = stored.iter().filter(|n| **n > 0).count();
    let releases: Vec<Value> = s
        .ota
        .releases
        .iter()
        .filter_map(|r| shared.state.release(&r.version))
        .map(|r| {
            let count = |status: &str| r.statuses.values().filter(|v| v.status == status).count();
            json!({"version": r.version, "halted": r.halted, "stage": r.stage, "completed": count("completed"), "failed": count("failed")})
        })
        .collect();
    let versions = {
        let mut m = std::collections::BTreeMap::<String, u64>::new();
        for h in homes() {
            *m.entry(h.firmware_version().to_owned()).or_default() += 1;
        }
        m
    };
    let energy: f64 = homes().map(HomeSim::energy_kwh).sum();
    let discomfort: f64 = homes().map(HomeSim::discomfort_kh).sum();
    json!({
        "scenario": s.name,
        "description": s.description,
        "seed": s.seed,
        "start": s.start.0.to_string(),
        "duration_s": s.duration.0.as_millis() / 1_000,
        "homes": s.fleet.homes,
        "simulation": {"windows": exec.windows, "shards": shards.len(), "table_rows": exec.messages},
        "requests": {
            "total": stats.total(),
            "by_endpoint": stats.requests().iter().map(|(e, by)| (e.to_string(), by)).collect::<std::collections::BTreeMap<_, _>>(),
            "rate_limited_429": stats.with_status(429),
            "retry_after_s": stats.retry_after_s,
            "lost_in_transit": stats.lost,
            "integration_jobs_skipped": stats.integration_skipped,
        },
        "telemetry": {
            "readings_stored": total_readings,
            "homes_with_telemetry": homes_with_telemetry,
            "min_readings_per_home": stored.iter().min().copied().unwrap_or(0),
        },
        "firmware": {"events": counts.firmware, "versions": versions},
        "ground_truth": {"fault_onsets": counts.onsets, "failures": counts.failures, "would_fail": counts.would_fail, "sensor_faults": counts.sensor_faults},
        "alerts": {"created": alerts, "resolved_after_visit": stats.alerts_resolved},
        "technicians": {"visits": counts.visits, "failures_prevented": counts.prevented, "after_failure": counts.after_failure, "unnecessary": counts.unnecessary},
        "webhooks": {"received": receiver.received, "verified": receiver.verified, "by_event": receiver.by_event},
        "automations": {"created": stats.automations_created, "fired": automation_fired, "notifications": notifications},
        "ota": {"releases": releases},
        "energy": {"hvac_kwh": round(energy, 1), "kwh_per_home": round(energy / f64::from(s.fleet.homes.max(1)), 2)},
        "comfort": {"band_c": crate::home::COMFORT_BAND_C, "discomfort_kh_per_home": round(discomfort / f64::from(s.fleet.homes.max(1)), 3)},
        "tables": rows,
        "evaluation": reports::report::evaluation(&params(s), &s.gates.to_gates()),
    })
}

/// What the metrics need from the scenario.
fn params(s: &Scenario) -> reports::metrics::Params {
    let start_ms = s.start.0.as_millis();
    reports::metrics::Params {
        start_ms,
        end_ms: start_ms + s.duration.0.as_millis() as i64,
        homes: u64::from(s.fleet.homes),
        window_min_ms: s.evaluation.window_min.0.as_millis() as i64,
        window_max_ms: s.evaluation.window_max.0.as_millis() as i64,
        threshold: s.server.alert_threshold,
        cost_missed_failure: s.evaluation.cost_missed_failure,
        cost_truck_roll: s.evaluation.cost_truck_roll,
        comfort_band_c: crate::home::COMFORT_BAND_C,
        models: model_names(
            std::iter::once(&s.server.predictor)
                .chain(&shadows(s))
                .map(|spec| api_server::predictors::spec_name(spec)),
        ),
        episode_span_ms: s.evaluation.episode_span.0.as_millis() as i64,
        bootstrap: s.evaluation.bootstrap,
        seed: s.seed,
        counterfactuals: s.evaluation.counterfactuals,
        fault_life: fault_life(s),
    }
}

/// Each fault's mean life from onset to failure under the scenario's
/// parameters, for the hint of a run with nothing to score.
fn fault_life(s: &Scenario) -> Vec<reports::metrics::FaultLife> {
    let (b, l, c) = (&s.faults.bearing, &s.faults.leak, &s.faults.capacitor);
    let mut out = Vec::new();
    let mut add = |fault: &str, incidence: f64, hours: f64, running: bool, key: &str| {
        if incidence > 0.0 && hours.is_finite() {
            out.push(reports::metrics::FaultLife {
                fault: fault.into(),
                hours,
                running,
                key: key.into(),
            });
        }
    };
    add(
        "bearing_wear",
        b.incidence,
        b.failure_um / b.rate_um_per_h,
        true,
        "[faults.bearing] rate_um_per_h",
    );
    // Half the charge lost: ln 2 / k days.
    add(
        "refrigerant_leak",
        l.incidence,
        std::f64::consts::LN_2 / l.rate_per_day * 24.0,
        false,
        "[faults.leak] rate_per_day",
    );
    // 30 % of the capacitance lost.
    add(
        "capacitor_ageing",
        c.incidence,
        0.3 / c.loss_per_day * 24.0,
        false,
        "[faults.capacitor] loss_per_day",
    );
    out
}
