//! Contract test: the real firmware against the real API server, in process
//! on virtual time (each request stamped with its arrival time, responses
//! handed straight back). Whatever the firmware sends, the server must
//! accept; whatever the server answers, the firmware must understand.

use std::sync::Arc;

use api_server::{AppState, RequestTime, ServerConfig, Tier, app};
use axum::body::Body;
use device_firmware::config::{AurraCredentials, FirmwareConfig, Identity};
use device_firmware::firmware::{Event, Firmware, SensorSnapshot};
use device_firmware::http::{Method as FwMethod, Response as FwResponse};
use device_firmware::time::Instant;
use device_firmware::vibration::Features;
use http_body_util::BodyExt;
use rand::SeedableRng;
use serde_json::json;
use sim_core::{SimTime, VirtualClock};
use tower::ServiceExt;

fn to_sim(t: Instant) -> SimTime {
    SimTime::from_millis(t.0)
}

#[tokio::test(flavor = "current_thread")]
async fn two_hours_of_firmware_against_the_server_all_succeed() {
    let start: SimTime = "2026-07-15T12:00:00Z".parse().unwrap();
    let state = AppState::new(
        Arc::new(VirtualClock::new(start)),
        9,
        ServerConfig::default(),
    );
    let acct = state.create_account("home");
    state
        .add_client(
            acct,
            "acc_fw",
            "sk_fw",
            &["diagnostics:read"],
            Tier::Standard,
        )
        .unwrap();
    state
        .add_device(acct, "aurra_001", "dk_fw_001", false)
        .unwrap();
    // The device will learn a 60 s reporting interval from its settings.
    state
        .with_account(acct, |a| {
            a.device_mut("aurra_001")
                .unwrap()
                .settings
                .reporting_interval_seconds = 60
        })
        .unwrap();
    // A new firmware for the whole fleet.
    let image: Vec<u8> = (0..8_192u32).map(|i| (i * 7 % 256) as u8).collect();
    let plan = api_server::ota::RolloutPlan {
        batches: vec![100.0],
        ..api_server::ota::RolloutPlan::default()
    };
    state
        .publish_release("1.1.0", image, "Contract test release", plan)
        .unwrap();
    let router = app(state.clone());
    state
        .add_client(
            acct,
            "acc_integration",
            "sk_integration",
            &["comfort:write"],
            Tier::Standard,
        )
        .unwrap();
    // An integration asks for cooling at 70 °F and sends a weekly schedule:
    // the room is at 27 °C, so the compressor runs and diagnostics flow.
    let integration =
        |method: http::Method, path: &str, token: Option<&str>, body: serde_json::Value| {
            let mut b = http::Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "application/json")
                .extension(RequestTime(start));
            if let Some(t) = token {
                b = b.header("authorization", format!("Bearer {t}"));
            }
            let req = b
                .body(Body::from(serde_json::to_vec(&body).unwrap()))
                .unwrap();
            let router = router.clone();
            async move {
                let resp = router.oneshot(req).await.unwrap();
                let status = resp.status();
                let bytes = resp.into_body().collect().await.unwrap().to_bytes();
                (
                    status,
                    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(),
                )
            }
        };
    let (_, token) = integration(
        http::Method::POST,
        "/v1/auth/token",
        None,
        json!({"client_id": "acc_integration", "client_secret": "sk_integration", "grant_type": "client_credentials"}),
    )
    .await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let schedule = json!({"name": "Workday", "blocks": [
        {"label": "Day", "start": "08:00", "end": "16:30", "heat": 65, "cool": 78, "days": ["mon","tue","wed","thu","fri"]}
    ]});
    for (path, body) in [
        ("/v1/thermostat/aurra_001/schedule", schedule),
        ("/v1/thermostat/aurra_001/schedule/sync", json!({})),
        (
            "/v1/thermostat/aurra_001/setpoint",
            json!({"temperature": 70, "mode": "cool"}),
        ),
    ] {
        let (status, body) = integration(http::Method::POST, path, Some(&token), body).await;
        assert!(status.is_success(), "{path}: {status} {body}");
    }

    let id = Identity {
        device_id: "aurra_001".into(),
        api_key: "dk_fw_001".into(),
        aurra: Some(AurraCredentials {
            client_id: "acc_fw".into(),
            client_secret: "sk_fw".into(),
        }),
        zigbee_sensors: Vec::new(),
    };
    let t0 = Instant(start.as_millis());
    let cfg = FirmwareConfig::default();
    let mut fw = Firmware::new(
        cfg.clone(),
        id.clone(),
        rand::rngs::ChaCha8Rng::seed_from_u64(3),
        t0,
    )
    .unwrap();
    let end = t0.plus_secs(2 * 3_600);
    let mut statuses: Vec<(String, u16)> = Vec::new();
    let mut now = t0;
    let mut reboots = 0;
    while now < end {
        if fw.reboot_due().is_some_and(|t| t <= now) {
            let flash = fw.shutdown_for_reboot();
            reboots += 1;
            fw = Firmware::boot(
                cfg.clone(),
                id.clone(),
                flash,
                rand::rngs::ChaCha8Rng::seed_from_u64(4),
                now,
            );
        }
        fw.handle_sensors(
            now,
            SensorSnapshot {
                temperature_c: Some(27.0),
                humidity_pct: Some(48.0),
                voltage_v: Some(239.0),
                current_a: Some(16.5),
                ..SensorSnapshot::default()
            },
        );
        fw.handle_timeout(now);
        loop {
            let mut progressed = false;
            while let Some(e) = fw.poll_event() {
                progressed = true;
                if e == Event::SampleAccelerometer {
                    let f = Features {
                        peak_g: 0.3,
                        dominant_hz: 58.0,
                        rms_g: 0.07,
                        kurtosis: 2.9,
                    };
                    fw.handle_vibration_features(now, f, 1_000);
                }
            }
            while let Some(req) = fw.poll_transmit() {
                progressed = true;
                let method = match req.method {
                    FwMethod::Get => http::Method::GET,
                    FwMethod::Post => http::Method::POST,
                    FwMethod::Patch => http::Method::PATCH,
                };
                let mut builder = http::Request::builder()
                    .method(method)
                    .uri(&req.path)
                    .extension(RequestTime(to_sim(now)));
                for (k, v) in &req.headers {
                    builder = builder.header(k, v);
                }
                let http_req = builder
                    .body(Body::from(req.body.clone().unwrap_or_default()))
                    .unwrap();
                let resp = router.clone().oneshot(http_req).await.unwrap();
                let status = resp.status().as_u16();
                let headers = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                    .collect();
                let body = resp
                    .into_body()
                    .collect()
                    .await
                    .unwrap()
                    .to_bytes()
                    .to_vec();
                statuses.push((req.path.split('?').next().unwrap_or("").to_owned(), status));
                fw.handle_response(
                    now,
                    req.id,
                    FwResponse {
                        status,
                        headers,
                        body,
                    },
                );
            }
            if !progressed {
                break;
            }
        }
        now = fw.poll_timeout().unwrap().max(now.plus_ms(1)).min(end);
    }

    // Every endpoint the server implements answered 2xx.
    let implemented = [
        "/v1/settings",
        "/v1/telemetry",
        "/v1/commands/pending",
        "/v1/commands/result",
        "/v1/auth/token",
        "/v1/diagnostics/vibration",
        "/v1/diagnostics/energy",
    ];
    for (path, status) in &statuses {
        if implemented.contains(&path.as_str()) {
            assert!((200..300).contains(status), "{path} answered {status}");
        }
    }
    for path in implemented {
        assert!(
            statuses.iter().any(|(p, _)| p == path),
            "the firmware never called {path}"
        );
    }
    // The commands ran and their results were recorded once each.
    let (results, seqs, vibration, energy) = state
        .with_account(acct, |a| {
            let d = a.device("aurra_001").unwrap();
            let mut seqs: Vec<u64> = a
                .store
                .readings(d.index)
                .iter()
                .filter_map(|r| r.seq)
                .collect();
            seqs.sort_unstable();
            let results: Vec<String> = d
                .commands
                .iter()
                .filter_map(|c| c.result.as_ref().map(|r| r.status.as_str().to_owned()))
                .collect();
            (
                results,
                seqs,
                a.store.vibration(d.index).len(),
                a.store.energy(d.index).len(),
            )
        })
        .unwrap();
    assert_eq!(
        results,
        ["acked", "acked"],
        "schedule and setpoint applied on the device"
    );
    assert!(fw.comfort().schedule.is_some());
    assert!(fw.relays().y_compressor && fw.relays().o_cool, "cooling");
    // Two sensors a minute for two hours, none lost or duplicated.
    assert!(seqs.len() >= 238, "{} readings stored", seqs.len());
    assert!(
        seqs.iter().enumerate().all(|(i, &s)| s == i as u64),
        "gapless, no duplicates"
    );
    // Vibration each minute while cooling, energy every five minutes.
    assert!(vibration >= 110, "{vibration} vibration reports");
    assert!(energy >= 23, "{energy} energy reports");
    // The update installed once, the device rebooted into it and said so.
    assert_eq!(reboots, 1);
    assert_eq!(fw.version(), "1.1.0");
    let release = state.release("1.1.0").unwrap();
    let reported = &release.statuses[&(acct, "aurra_001".to_owned())];
    assert_eq!(reported.status, "completed");
}
