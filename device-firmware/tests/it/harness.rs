//! A fake server and a driver loop.

use std::collections::HashMap;

use device_firmware::config::{AurraCredentials, FirmwareConfig, Identity, ZigbeeSensor};
use device_firmware::firmware::{Event, Firmware, SensorSnapshot};
use device_firmware::http::{Method, Request, Response};
use device_firmware::time::Instant;
use device_firmware::vibration::Features;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde_json::{Value, json};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) at: Instant,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) auth: String,
    pub(crate) body: Value,
}

/// What the server does with a request: answer, or drop it (no response).
pub(crate) type Script = Box<dyn FnMut(Instant, &Seen) -> Option<Response>>;

/// A server that answers every endpoint plausibly, unless a test overrides a
/// path prefix with a script.
pub(crate) struct FakeServer {
    pub(crate) seen: Vec<Seen>,
    pub(crate) overrides: Vec<(String, Script)>,
    pub(crate) settings: Value,
    pub(crate) pending: Vec<Value>,
    pub(crate) telemetry_seqs: Vec<u64>,
    pub(crate) results: Vec<Value>,
    pub(crate) ota_reports: Vec<Value>,
    pub(crate) ota: Option<(String, Vec<u8>, String)>,
    pub(crate) tokens: HashMap<String, Instant>,
    pub(crate) token_lifetime_s: u64,
    pub(crate) next_token: u64,
    pub(crate) vibration: Vec<Value>,
    pub(crate) energy: Vec<Value>,
    pub(crate) zigbee: Vec<Value>,
    /// Bodies of `POST /v1/events`.
    pub(crate) occupant: Vec<Value>,
}

pub(crate) fn t0() -> Instant {
    Instant::parse_rfc3339("2026-07-15T12:00:00Z").unwrap()
}

impl FakeServer {
    pub(crate) fn new() -> FakeServer {
        FakeServer {
            seen: Vec::new(),
            overrides: Vec::new(),
            settings: json!({
                "reporting_interval_seconds": 60,
                "enabled_sensors": ["temperature", "humidity"],
                "location": {"latitude": 39.7, "longitude": -105.0, "name": "Home"},
                "timezone": "America/Denver"
            }),
            pending: Vec::new(),
            telemetry_seqs: Vec::new(),
            results: Vec::new(),
            ota_reports: Vec::new(),
            ota: None,
            tokens: HashMap::new(),
            token_lifetime_s: 3_600,
            next_token: 0,
            vibration: Vec::new(),
            energy: Vec::new(),
            zigbee: Vec::new(),
            occupant: Vec::new(),
        }
    }

    pub(crate) fn script(
        &mut self,
        prefix: &str,
        f: impl FnMut(Instant, &Seen) -> Option<Response> + 'static,
    ) {
        self.overrides.push((prefix.to_owned(), Box::new(f)));
    }

    pub(crate) fn count(&self, prefix: &str) -> usize {
        self.seen
            .iter()
            .filter(|s| s.path.starts_with(prefix))
            .count()
    }

    fn handle(&mut self, now: Instant, req: &Request) -> Option<Response> {
        let seen = Seen {
            at: now,
            method: req.method,
            path: req.path.clone(),
            auth: req.header("authorization").unwrap_or("").to_owned(),
            body: req
                .body
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null),
        };
        self.seen.push(seen.clone());
        for (prefix, script) in &mut self.overrides {
            if seen.path.starts_with(prefix.as_str()) {
                return script(now, &seen);
            }
        }
        let ok = |v: Value| Some(Response::json(200, &v));
        let stamp = now.to_rfc3339();
        let path = seen.path.split('?').next().unwrap_or("");
        match (seen.method, path) {
            (Method::Post, "/v1/telemetry") => {
                let readings = seen.body["readings"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    (1..=100).contains(&readings.len()),
                    "1–100 readings per POST"
                );
                for r in &readings {
                    self.telemetry_seqs.push(r["seq"].as_u64().unwrap());
                }
                ok(json!({"accepted": readings.len(), "timestamp": stamp}))
            }
            (Method::Get, "/v1/settings") => ok(self.settings.clone()),
            (Method::Get, "/v1/commands/pending") => {
                ok(json!({"commands": std::mem::take(&mut self.pending)}))
            }
            (Method::Post, "/v1/commands/result") => {
                self.results.push(seen.body.clone());
                ok(json!({"acknowledged": true, "timestamp": stamp}))
            }
            (Method::Get, "/v1/ota/check") => match &self.ota {
                Some((v, image, checksum)) => ok(json!({
                    "update_available": true, "version": v, "checksum": checksum,
                    "size_bytes": image.len(), "release_notes": "fixes"
                })),
                None => ok(json!({"update_available": false})),
            },
            (Method::Get, p) if p.starts_with("/v1/ota/download/") => {
                let (_, image, _) = self.ota.as_ref()?;
                Some(Response {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                    body: image.clone(),
                })
            }
            (Method::Post, "/v1/ota/status") => {
                self.ota_reports.push(seen.body.clone());
                ok(json!({"recorded": true, "timestamp": stamp}))
            }
            (Method::Post, "/v1/auth/token") => {
                assert_eq!(seen.body["grant_type"], "client_credentials");
                self.next_token += 1;
                let token = format!("tok-{}", self.next_token);
                self.tokens
                    .insert(token.clone(), now.plus_secs(self.token_lifetime_s));
                ok(
                    json!({"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime_s}),
                )
            }
            (Method::Post, "/v1/diagnostics/vibration" | "/v1/diagnostics/energy") => {
                let token = seen.auth.trim_start_matches("Bearer ");
                match self.tokens.get(token) {
                    Some(&exp) if now < exp => {}
                    _ => {
                        return Some(Response::json(
                            401,
                            &json!({"error": {"code": "UNAUTHORIZED", "message": "Bearer token has expired.", "docs": ""}}),
                        ));
                    }
                }
                if path.ends_with("vibration") {
                    self.vibration.push(seen.body.clone());
                } else {
                    self.energy.push(seen.body.clone());
                }
                Some(Response::json(201, &json!({"received": true})))
            }
            (Method::Post, "/v1/events") => {
                self.occupant.push(seen.body.clone());
                ok(json!({"event": seen.body["event"], "automations_fired": 0, "timestamp": stamp}))
            }
            (Method::Post, "/v1/zigbee/sensors") => {
                self.zigbee.push(seen.body.clone());
                ok(
                    json!({"registered": true, "sensor_id": format!("sensor-{}", self.zigbee.len()), "serial_number": "ZB"}),
                )
            }
            _ => Some(Response::json(
                404,
                &json!({"error": "not_found", "message": "no such endpoint"}),
            )),
        }
    }
}

pub(crate) fn identity(aurra: bool, zigbee: usize) -> Identity {
    Identity {
        device_id: "aurra_001".into(),
        api_key: "dk_test_key".into(),
        aurra: aurra.then(|| AurraCredentials {
            client_id: "acc_a1b2c3d4".into(),
            client_secret: "sk_live_secret".into(),
        }),
        zigbee_sensors: (0..zigbee)
            .map(|i| ZigbeeSensor {
                api_key: format!("sk_sensor_{i}"),
                ieee_address: format!("0x00124b001cce5a7{i}"),
            })
            .collect(),
    }
}

/// The world around the firmware in a test.
pub(crate) struct World {
    pub(crate) fw: Option<Firmware>,
    pub(crate) cfg: FirmwareConfig,
    pub(crate) id: Identity,
    pub(crate) server: FakeServer,
    pub(crate) now: Instant,
    pub(crate) temperature_c: Box<dyn FnMut(Instant) -> f64>,
    pub(crate) events: Vec<(Instant, Event)>,
    pub(crate) reboots: u32,
    pub(crate) features: Features,
    /// Hand the firmware raw accelerometer windows instead of features.
    pub(crate) window: Option<(Vec<f64>, f64)>,
}

impl World {
    pub(crate) fn new(cfg: FirmwareConfig, id: Identity) -> World {
        let fw = Firmware::new(cfg.clone(), id.clone(), ChaCha8Rng::seed_from_u64(7), t0())
            .expect("a valid config");
        World {
            fw: Some(fw),
            cfg,
            id,
            server: FakeServer::new(),
            now: t0(),
            temperature_c: Box::new(|_| 22.0),
            events: Vec::new(),
            reboots: 0,
            features: Features {
                peak_g: 0.4,
                dominant_hz: 58.0,
                rms_g: 0.1,
                kurtosis: 3.2,
            },
            window: None,
        }
    }

    pub(crate) fn fw(&mut self) -> &mut Firmware {
        self.fw.as_mut().unwrap()
    }

    /// Runs the loop until `end`, answering requests immediately.
    pub(crate) fn run_until(&mut self, end: Instant) {
        let mut spins = 0;
        loop {
            let next = self.fw().poll_timeout().unwrap().min(end);
            if next >= end && self.now >= end {
                break;
            }
            spins = if next == self.now { spins + 1 } else { 0 };
            assert!(
                spins < 10_000,
                "the firmware keeps asking to wake at {next:?}"
            );
            self.now = next;
            let now = self.now;
            if self.fw().reboot_due().is_some_and(|t| t <= now) {
                let fw = self.fw.take().unwrap();
                let flash = fw.shutdown_for_reboot();
                self.reboots += 1;
                self.fw = Some(Firmware::boot(
                    self.cfg.clone(),
                    self.id.clone(),
                    flash,
                    ChaCha8Rng::seed_from_u64(8 + u64::from(self.reboots)),
                    now,
                ));
            }
            let temperature_c = (self.temperature_c)(now);
            let snapshot = SensorSnapshot {
                temperature_c: Some(temperature_c),
                humidity_pct: Some(45.0),
                voltage_v: Some(240.0),
                current_a: Some(15.0),
                ..SensorSnapshot::default()
            };
            self.fw().handle_sensors(now, snapshot);
            self.fw().handle_timeout(now);
            self.exchange(now);
            if now >= end {
                break;
            }
        }
    }

    /// Power fails at `now` and comes back at once: the firmware boots again
    /// from its flash.
    pub(crate) fn power_cycle(&mut self, now: Instant) {
        let mut fw = self.fw.take().unwrap();
        fw.power_loss(now);
        assert_eq!(fw.relays(), device_firmware::control::Relays::default());
        let flash = fw.into_flash();
        self.reboots += 1;
        self.fw = Some(Firmware::boot(
            self.cfg.clone(),
            self.id.clone(),
            flash,
            ChaCha8Rng::seed_from_u64(100 + u64::from(self.reboots)),
            now,
        ));
    }

    fn exchange(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(e) = self.fw().poll_event() {
                if e == Event::SampleAccelerometer {
                    match self.window.clone() {
                        Some((samples, fs)) => self.fw().handle_vibration_window(now, &samples, fs),
                        None => {
                            let f = self.features;
                            self.fw().handle_vibration_features(now, f, 1_000);
                        }
                    }
                }
                self.events.push((now, e));
                progressed = true;
            }
            while let Some(req) = self.fw().poll_transmit() {
                progressed = true;
                if let Some(resp) = self.server.handle(now, &req) {
                    self.fw().handle_response(now, req.id, resp);
                }
            }
            if !progressed {
                break;
            }
        }
    }
}

pub(crate) fn minutes(m: u64) -> Instant {
    t0().plus_secs(m * 60)
}

/// Asserts that the server received every sequence number from 0 up to the
/// highest it saw (duplicates allowed: a resent batch).
pub(crate) fn assert_no_reading_lost(seqs: &[u64]) {
    let mut sorted = seqs.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.first(), Some(&0), "readings from the first on");
    assert_eq!(
        sorted.len() as u64,
        sorted.last().unwrap() + 1,
        "no reading lost"
    );
}
