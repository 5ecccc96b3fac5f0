//! Streaming a run's records into its Parquet tables (`reports::schema`),
//! as they happen, in bounded memory: after every exchange the runner hands
//! over what the homes recorded, the requests the server handled, the
//! readings it stored and the webhooks the receiver got.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use api_server::journal::Event;
use api_server::predictive::Prediction;
use api_server::state::{Command, StoredReading};
use reports::schema;
use reports::tables::{TableError, TableWriter, V};
use sim_core::SimTime;

use crate::home::Record;
use crate::server::RequestRow;

/// What one account's journal told since the last drain, by kind, each in
/// the order it happened, with the device index.
#[derive(Debug, Default)]
pub struct Outlet {
    /// Readings stored.
    pub readings: Vec<(u32, StoredReading)>,
    /// Predictions made: (device, when, model index, prediction).
    pub predictions: Vec<(u32, SimTime, u16, Prediction)>,
    /// Commands that ended.
    pub commands: Vec<(u32, Command)>,
    /// Engineered features: (device, when, values).
    pub features: Vec<(u32, SimTime, Vec<f64>)>,
}

impl Outlet {
    /// Sorts a journal's events into their tables.
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> Outlet {
        let mut out = Outlet::default();
        for e in events {
            match e {
                Event::ReadingStored { device, reading } => out.readings.push((device, reading)),
                Event::PredictionMade {
                    device,
                    at,
                    model,
                    prediction,
                } => out.predictions.push((device, at, model, prediction)),
                Event::FeaturesComputed { device, at, values } => {
                    out.features.push((device, at, values));
                }
                Event::CommandEnded { device, command } => out.commands.push((device, command)),
            }
        }
        out
    }
}

/// Counts of the homes' records (the summary's ground truth).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordCounts {
    /// Fault onsets by kind.
    pub onsets: BTreeMap<&'static str, u64>,
    /// Failures by kind.
    pub failures: BTreeMap<&'static str, u64>,
    /// Counterfactual failures of repaired faults by kind.
    pub would_fail: BTreeMap<&'static str, u64>,
    /// Sensor-fault onsets by kind.
    pub sensor_faults: BTreeMap<&'static str, u64>,
    /// Technician visits.
    pub visits: u64,
    /// Visits that repaired a fault before it failed.
    pub prevented: u64,
    /// Visits after a failure.
    pub after_failure: u64,
    /// Visits that found nothing.
    pub unnecessary: u64,
    /// Firmware events by name.
    pub firmware: BTreeMap<String, u64>,
}

fn t(at: SimTime) -> V {
    V::Time(at.as_millis())
}

fn device_text(device_ids: &[Arc<str>], device: u32) -> V {
    device_ids
        .get(device as usize)
        .map_or(V::Label(""), |d| V::Shared(d.clone()))
}

fn event_name(e: &device_firmware::firmware::Event) -> (&'static str, String) {
    use device_firmware::firmware::Event;
    match e {
        Event::Booted { version } => ("booted", version.clone()),
        Event::Rebooting { reason } => ("rebooting", reason.clone()),
        Event::ReadingDropped { total } => ("reading_dropped", total.to_string()),
        Event::CommandHandled { kind, status, .. } => {
            ("command_handled", format!("{kind}:{status}"))
        }
        Event::RateLimited {
            path,
            retry_after_s,
        } => (
            "rate_limited",
            format!(
                "{path}:{}",
                retry_after_s.map_or("-".into(), |s| s.to_string())
            ),
        ),
        Event::RequestFailed { path, status } => (
            "request_failed",
            format!("{path}:{}", status.map_or("-".into(), |s| s.to_string())),
        ),
        _ => ("other", String::new()),
    }
}

/// The run's table writers.
#[derive(Debug)]
pub struct Tables {
    fleet: TableWriter,
    homes: TableWriter,
    ground_truth: TableWriter,
    requests: TableWriter,
    telemetry: Option<TableWriter>,
    features: Option<TableWriter>,
    alerts: TableWriter,
    predictions: TableWriter,
    commands: TableWriter,
    webhooks: TableWriter,
    ota: TableWriter,
    firmware: TableWriter,
    /// What the records said.
    pub counts: RecordCounts,
}

impl Tables {
    /// Creates every table in `dir` (telemetry only if `telemetry`, the
    /// raw features only if `features`).
    pub fn create(dir: &Path, telemetry: bool, features: bool) -> Result<Tables, TableError> {
        Ok(Tables {
            fleet: TableWriter::create(dir, schema::FLEET)?,
            homes: TableWriter::create(dir, schema::HOMES)?,
            ground_truth: TableWriter::create(dir, schema::GROUND_TRUTH)?,
            requests: TableWriter::create(dir, schema::REQUESTS)?,
            telemetry: if telemetry {
                Some(TableWriter::create(dir, schema::TELEMETRY)?)
            } else {
                None
            },
            features: if features {
                Some(TableWriter::create(dir, schema::FEATURES)?)
            } else {
                None
            },
            alerts: TableWriter::create(dir, schema::ALERTS)?,
            predictions: TableWriter::create(dir, schema::PREDICTIONS)?,
            commands: TableWriter::create(dir, schema::COMMANDS)?,
            webhooks: TableWriter::create(dir, schema::WEBHOOKS)?,
            ota: TableWriter::create(dir, schema::OTA_EVENTS)?,
            firmware: TableWriter::create(dir, schema::FIRMWARE_EVENTS)?,
            counts: RecordCounts::default(),
        })
    }

    /// Writes the fleet: one row per home.
    pub fn fleet(
        &mut self,
        s: &crate::schema::Scenario,
        homes: &[crate::fleet::HomeSpec],
        tenants: &[crate::fleet::Tenant],
        account_ids: &[usize],
    ) -> Result<(), TableError> {
        for h in homes {
            let group = &s.accounts[h.group];
            self.fleet.push([
                V::Int(h.index as i64),
                V::Text(h.device_id.clone()),
                V::Text(
                    tenants
                        .get(h.account)
                        .map_or_else(String::new, |t| t.name.clone()),
                ),
                V::Text(s.fleet.locations[h.location].name.clone()),
                V::Label(h.archetype.as_str()),
                V::Label(h.equipment.kind.as_str()),
                V::Float(group.price_per_kwh),
                V::Float(api_server::ota::fleet_percentile(
                    account_ids.get(h.account).copied().unwrap_or(h.account),
                    &h.device_id,
                )),
            ])?;
        }
        Ok(())
    }

    /// Writes and counts the homes' records.
    pub fn records(&mut self, records: impl IntoIterator<Item = Record>) -> Result<(), TableError> {
        for r in records {
            match r {
                Record::Sample(s) => self.homes.push([
                    t(s.at),
                    V::Int(s.home as i64),
                    V::Float(s.indoor_c),
                    V::Float(s.outdoor_c),
                    V::Float(s.humidity_pct),
                    V::Bool(s.compressor),
                    V::Bool(s.backup),
                    V::Bool(s.occupied),
                    V::Float(s.energy_kwh),
                    V::Float(s.discomfort_kh),
                    V::Int(s.starts as i64),
                    V::Int(s.short_cycles as i64),
                    V::Float(s.bearing_um),
                    V::Bool(s.windows_open),
                ])?,
                Record::FaultOnset { home, kind, at } => {
                    *self.counts.onsets.entry(kind.as_str()).or_default() += 1;
                    self.ground_truth.push([
                        t(at),
                        V::Int(home as i64),
                        V::Text("onset".into()),
                        V::OptText(Some(kind.as_str().into())),
                        V::OptInt(None),
                        V::OptText(None),
                        V::OptInt(None),
                    ])?;
                }
                Record::Failure {
                    home,
                    kind,
                    at,
                    onset,
                } => {
                    *self.counts.failures.entry(kind.as_str()).or_default() += 1;
                    self.ground_truth.push([
                        t(at),
                        V::Int(home as i64),
                        V::Text("failure".into()),
                        V::OptText(Some(kind.as_str().into())),
                        V::OptInt(Some(onset.as_millis())),
                        V::OptText(None),
                        V::OptInt(None),
                    ])?;
                }
                Record::WouldFail {
                    home,
                    kind,
                    at,
                    onset,
                    repaired_at,
                } => {
                    *self.counts.would_fail.entry(kind.as_str()).or_default() += 1;
                    self.ground_truth.push([
                        t(at),
                        V::Int(home as i64),
                        V::Text("would_fail".into()),
                        V::OptText(Some(kind.as_str().into())),
                        V::OptInt(Some(onset.as_millis())),
                        V::OptText(None),
                        V::OptInt(Some(repaired_at.as_millis())),
                    ])?;
                }
                Record::SensorFault {
                    home,
                    kind,
                    at,
                    detail,
                } => {
                    *self.counts.sensor_faults.entry(kind.as_str()).or_default() += 1;
                    self.ground_truth.push([
                        t(at),
                        V::Int(home as i64),
                        V::Text("sensor_fault".into()),
                        V::OptText(Some(kind.as_str().into())),
                        V::OptInt(None),
                        V::OptText((!detail.is_empty()).then_some(detail)),
                        V::OptInt(None),
                    ])?;
                }
                Record::Visit {
                    home,
                    at,
                    repaired,
                    after_failure,
                } => {
                    self.counts.visits += 1;
                    let outcome = match (repaired.is_empty(), after_failure) {
                        (true, _) => {
                            self.counts.unnecessary += 1;
                            "unnecessary"
                        }
                        (false, true) => {
                            self.counts.after_failure += 1;
                            "after_failure"
                        }
                        (false, false) => {
                            self.counts.prevented += 1;
                            "prevented"
                        }
                    };
                    let faults: Vec<&str> = repaired.iter().map(|k| k.as_str()).collect();
                    self.ground_truth.push([
                        t(at),
                        V::Int(home as i64),
                        V::Text(format!("visit_{outcome}")),
                        V::OptText((!faults.is_empty()).then(|| faults.join(","))),
                        V::OptInt(None),
                        V::OptText(None),
                        V::OptInt(None),
                    ])?;
                }
                Record::Firmware {
                    home,
                    at,
                    event: device_firmware::firmware::Event::OtaStage { version, status },
                } => {
                    *self.counts.firmware.entry("ota_stage".into()).or_default() += 1;
                    self.ota(at, "device", Some(home), &version, &status, None)?;
                }
                Record::Firmware { home, at, event } => {
                    let (name, detail) = event_name(&event);
                    *self.counts.firmware.entry(name.to_owned()).or_default() += 1;
                    self.firmware.push([
                        t(at),
                        V::Int(home as i64),
                        V::Text(name.into()),
                        V::Text(detail),
                    ])?;
                }
            }
        }
        Ok(())
    }

    /// Writes request rows.
    pub fn requests(
        &mut self,
        rows: impl IntoIterator<Item = RequestRow>,
    ) -> Result<(), TableError> {
        for r in rows {
            self.requests.push([
                t(r.arrival),
                V::Label(r.source),
                r.client.map_or(V::Label("thermostat"), V::Shared),
                V::Label(r.tier),
                V::OptInt(r.home.map(|h| h as i64)),
                V::Label(r.method),
                V::Shared(r.endpoint),
                V::Int(i64::from(r.status)),
                V::OptInt(r.retry_after_s.map(|s| s as i64)),
                V::OptInt(r.latency_ms.map(|l| l.0 as i64)),
                V::OptInt(r.latency_ms.map(|l| l.1 as i64)),
            ])?;
        }
        Ok(())
    }

    /// Writes stored readings of `device_ids` (by device index).
    pub fn telemetry(
        &mut self,
        device_ids: &[Arc<str>],
        rows: Vec<(u32, StoredReading)>,
    ) -> Result<(), TableError> {
        let Some(w) = self.telemetry.as_mut() else {
            return Ok(());
        };
        for (device, r) in rows {
            w.push([
                t(r.received_at),
                device_text(device_ids, device),
                V::OptText(r.sensor_id),
                V::Label(r.sensor_type.as_str()),
                V::Float(r.value),
                t(r.timestamp),
                V::OptInt(r.seq.map(|s| s as i64)),
            ])?;
        }
        Ok(())
    }

    /// Writes engineered features of `device_ids` (by device index).
    pub fn features(
        &mut self,
        device_ids: &[Arc<str>],
        rows: Vec<(u32, SimTime, Vec<f64>)>,
    ) -> Result<(), TableError> {
        let Some(w) = self.features.as_mut() else {
            return Ok(());
        };
        for (device, at, values) in rows {
            let mut row = vec![t(at), device_text(device_ids, device)];
            row.extend(
                values
                    .into_iter()
                    .map(|v| V::OptFloat(v.is_finite().then_some(v))),
            );
            w.push(row)?;
        }
        Ok(())
    }

    /// Writes webhook deliveries.
    pub fn webhooks(&mut self, rows: Vec<crate::server::WebhookRow>) -> Result<(), TableError> {
        for (at, url, event, verified, attempt) in rows {
            self.webhooks.push([
                t(at),
                V::Text(url),
                V::Text(event),
                V::Bool(verified),
                V::Int(i64::from(attempt)),
            ])?;
        }
        Ok(())
    }

    /// Writes predictions of `device_ids` (by device index) made by
    /// `models` (by predictor index).
    pub fn predictions(
        &mut self,
        device_ids: &[Arc<str>],
        models: &[Arc<str>],
        rows: Vec<(u32, SimTime, u16, Prediction)>,
    ) -> Result<(), TableError> {
        let text = |c: std::borrow::Cow<'static, str>| match c {
            std::borrow::Cow::Borrowed(s) => V::Label(s),
            std::borrow::Cow::Owned(s) => V::Text(s),
        };
        for (device, at, model, p) in rows {
            self.predictions.push([
                t(at),
                device_text(device_ids, device),
                models
                    .get(usize::from(model))
                    .map_or(V::Label(""), |m| V::Shared(m.clone())),
                text(p.issue),
                V::Float(p.confidence),
                text(p.recommended_action),
            ])?;
        }
        Ok(())
    }

    /// Writes commands of `device_ids` (by device index) that ended, or that
    /// were still open at `end` (`pending`, or `expired` when past due).
    pub fn commands(
        &mut self,
        device_ids: &[Arc<str>],
        rows: Vec<(u32, Command)>,
        end: SimTime,
    ) -> Result<(), TableError> {
        for (device, c) in rows {
            let (status, finished, error) = match c.result {
                Some(r) => (
                    r.status.as_str().to_owned(),
                    Some(r.reported_at.as_millis()),
                    r.error_message,
                ),
                None if c.expires_at <= end => {
                    ("expired".to_owned(), Some(c.expires_at.as_millis()), None)
                }
                None => ("pending".to_owned(), None, None),
            };
            self.commands.push([
                t(c.created_at),
                device_text(device_ids, device),
                V::Text(c.command_id),
                V::Text(c.kind.to_string()),
                V::Text(status),
                V::OptInt(c.delivered_at.map(SimTime::as_millis)),
                V::OptInt(finished),
                V::OptText(error),
            ])?;
        }
        Ok(())
    }

    /// Writes an OTA event (`source`: `device` or `server`).
    pub fn ota(
        &mut self,
        at: SimTime,
        source: &'static str,
        home: Option<usize>,
        version: &str,
        event: &str,
        detail: Option<String>,
    ) -> Result<(), TableError> {
        self.ota.push([
            t(at),
            V::Label(source),
            V::OptInt(home.map(|h| h as i64)),
            V::Text(version.to_owned()),
            V::Text(event.to_owned()),
            V::OptText(detail),
        ])
    }

    /// Writes one alert.
    pub fn alert(&mut self, a: &api_server::predictive::Alert) -> Result<(), TableError> {
        self.alerts.push([
            t(a.created_at),
            V::Text(a.alert_id.clone()),
            V::Text(a.device_id.clone()),
            V::Text(a.issue.clone()),
            V::Float(a.confidence),
            V::Text(a.source.into()),
            V::OptInt(a.resolved_at.map(SimTime::as_millis)),
        ])
    }

    /// Finishes every file; returns rows per table.
    pub fn finish(self) -> Result<BTreeMap<&'static str, u64>, TableError> {
        let mut rows = BTreeMap::new();
        for (name, w) in [
            ("fleet", Some(self.fleet)),
            ("homes", Some(self.homes)),
            ("ground_truth", Some(self.ground_truth)),
            ("requests", Some(self.requests)),
            ("telemetry", self.telemetry),
            ("features", self.features),
            ("alerts", Some(self.alerts)),
            ("predictions", Some(self.predictions)),
            ("commands", Some(self.commands)),
            ("webhooks", Some(self.webhooks)),
            ("ota_events", Some(self.ota)),
            ("firmware_events", Some(self.firmware)),
        ] {
            if let Some(w) = w {
                rows.insert(name, w.finish()?);
            }
        }
        Ok(rows)
    }
}
