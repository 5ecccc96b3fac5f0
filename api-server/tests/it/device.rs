//! The device API: telemetry, settings, commands, its envelope and limits.

use api_server::ServerConfig;
use api_server::state::CommandKind;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Api, t0};

fn reading(kind: &str, value: f64) -> Value {
    json!({"sensor_type": kind, "value": value, "timestamp": "2026-07-15T12:00:00Z", "seq": 1})
}

#[tokio::test]
async fn telemetry_is_stored_and_shows_in_the_status() {
    let api = Api::new();
    let body = json!({"latitude": 37.77, "longitude": -122.42, "readings": [reading("temperature", 23.5), reading("humidity", 45.2), reading("battery_level", 87.0)]});
    let r = api
        .call(Method::POST, "/v1/telemetry", Some("dk_001"), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["accepted"], 3);
    assert_eq!(r.body["timestamp"], "2026-07-15T12:00:00Z");
    assert_eq!(r.header("x-ratelimit-endpoint"), Some("telemetry"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("59"));
    let stored = api
        .state
        .with_account(0, |a| {
            a.store.readings(a.device("aurra_001").unwrap().index).len()
        })
        .unwrap();
    assert_eq!(stored, 3);
    let token = api.token("acc_std", "sk_std").await;
    let s = api
        .call(
            Method::GET,
            "/v1/thermostat/aurra_001/status",
            Some(&token),
            None,
        )
        .await;
    // 23.5 °C = 74.3 °F.
    assert_eq!(
        s.body,
        json!({"temperature": 74, "humidity": 45, "mode": "heat", "eco_mode": false, "status": "active"})
    );
    api.advance(301);
    let s = api
        .call(
            Method::GET,
            "/v1/thermostat/aurra_001/status",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s.body["status"], "offline");
}

#[tokio::test]
async fn bad_telemetry_names_the_field() {
    let api = Api::new();
    let post = |body: Value| async {
        api.call(Method::POST, "/v1/telemetry", Some("dk_001"), Some(body))
            .await
    };
    let cases = [
        (json!({"readings": []}), "readings"),
        (
            json!({"readings": [reading("temperature", 20.0), reading("lux", 3.0)]}),
            "readings[1].sensor_type",
        ),
        (
            json!({"readings": [reading("humidity", 120.0)]}),
            "readings[0].value",
        ),
        (
            json!({"readings": [{"sensor_type": "temperature", "value": 20.0, "timestamp": "2026-07-15T12:00:00+02:00"}]}),
            "readings[0].timestamp",
        ),
        (
            json!({"readings": [{"sensor_type": "temperature", "value": "hot", "timestamp": "2026-07-15T12:00:00Z"}]}),
            "readings[0].value",
        ),
        (
            json!({"readings": [reading("temperature", 20.0)], "latitude": 91}),
            "latitude",
        ),
        (
            json!({"readings": [reading("temperature", 20.0)], "colour": "blue"}),
            "colour",
        ),
        (
            json!({"readings": [{"sensor_type": "iaq", "value": 5, "timestamp": "2026-07-15T12:00:00Z", "sensor_id": "zb"}]}),
            "readings[0].sensor_id",
        ),
    ];
    for (body, field) in cases {
        let r = post(body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.body);
        assert_eq!(r.body["error"], "bad_request");
        assert!(r.message().starts_with(field), "{field}: {}", r.body);
    }
    let many: Vec<Value> = (0..101).map(|_| reading("temperature", 20.0)).collect();
    assert_eq!(
        post(json!({"readings": many})).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = api
        .raw(
            Method::POST,
            "/v1/telemetry",
            Some("dk_001"),
            b"[1,2".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let stored = api
        .state
        .with_account(0, |a| {
            a.store.readings(a.device("aurra_001").unwrap().index).len()
        })
        .unwrap();
    assert_eq!(stored, 0, "nothing from a refused request is stored");
}

#[tokio::test]
async fn device_auth_uses_the_device_envelope() {
    let api = Api::new();
    let body = json!({"readings": [reading("temperature", 20.0)]});
    for key in [None, Some("dk_wrong")] {
        let r = api
            .call(Method::POST, "/v1/telemetry", key, Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.body,
            json!({"error": "unauthorized", "message": "Invalid or missing API key"})
        );
    }
    let r = api
        .call(Method::GET, "/v1/no/such", Some("dk_001"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let api = Api::with_config(ServerConfig {
        body_limit_bytes: 1_024,
        ..ServerConfig::default()
    });
    let readings: Vec<Value> = (0..40).map(|_| reading("temperature", 20.0)).collect();
    let r = api
        .call(
            Method::POST,
            "/v1/telemetry",
            Some("dk_001"),
            Some(json!({"readings": readings})),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body["error"], "payload_too_large");
}

#[tokio::test]
async fn telemetry_is_limited_to_60_a_minute_per_device() {
    let api = Api::new();
    let body = json!({"readings": [reading("temperature", 20.0)]});
    for _ in 0..60 {
        assert_eq!(
            api.call(
                Method::POST,
                "/v1/telemetry",
                Some("dk_001"),
                Some(body.clone())
            )
            .await
            .status,
            StatusCode::OK
        );
    }
    api.advance(15);
    let r = api
        .call(
            Method::POST,
            "/v1/telemetry",
            Some("dk_001"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["error"], "rate_limited");
    assert_eq!(r.header("retry-after"), Some("45"));
    assert_eq!(r.header("x-ratelimit-endpoint"), Some("telemetry"));
    // Another device is unaffected; the first recovers after the window.
    assert_eq!(
        api.call(
            Method::POST,
            "/v1/telemetry",
            Some("dk_hub"),
            Some(body.clone())
        )
        .await
        .status,
        StatusCode::OK
    );
    api.advance(45);
    assert_eq!(
        api.call(Method::POST, "/v1/telemetry", Some("dk_001"), Some(body))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn settings_read_and_patch_with_validation() {
    let api = Api::new();
    let r = api
        .call(Method::GET, "/v1/settings", Some("dk_001"), None)
        .await;
    assert_eq!(r.body["reporting_interval_seconds"], 300);
    assert_eq!(r.body["timezone"], "UTC");
    let patch = json!({"reporting_interval_seconds": 60, "timezone": "America/Los_Angeles", "location": {"latitude": 37.7, "longitude": -122.4, "name": "Marina Berth 12"}});
    let r = api
        .call(Method::PATCH, "/v1/settings", Some("dk_001"), Some(patch))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["reporting_interval_seconds"], 60);
    assert_eq!(r.body["location"]["name"], "Marina Berth 12");
    assert_eq!(
        r.body["enabled_sensors"],
        json!(["temperature", "humidity"]),
        "untouched fields stay"
    );
    for (patch, field) in [
        (
            json!({"reporting_interval_seconds": 30}),
            "reporting_interval_seconds",
        ),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (
            json!({"enabled_sensors": ["temperature", "lux"]}),
            "enabled_sensors[1]",
        ),
        (json!({"location": {"latitude": 0}}), "location.longitude"),
        (json!({"volume": 11}), "volume"),
    ] {
        let r = api
            .call(Method::PATCH, "/v1/settings", Some("dk_001"), Some(patch))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
        assert!(r.message().starts_with(field), "{}", r.body);
    }
    let r = api
        .call(Method::GET, "/v1/settings", Some("dk_001"), None)
        .await;
    assert_eq!(
        r.body["reporting_interval_seconds"], 60,
        "a refused patch changes nothing"
    );
    // Ten reads a minute.
    for _ in 0..8 {
        api.call(Method::GET, "/v1/settings", Some("dk_001"), None)
            .await;
    }
    assert_eq!(
        api.call(Method::GET, "/v1/settings", Some("dk_001"), None)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn commands_are_listed_until_reported_or_expired() {
    let api = Api::new();
    let id = api
        .state
        .with_account(0, |a| {
            a.enqueue_command(
                "aurra_001",
                CommandKind::Reboot,
                json!({"delay_seconds": 5}),
                t0(),
            )
        })
        .unwrap()
        .unwrap();
    let r = api
        .call(Method::GET, "/v1/commands/pending", Some("dk_001"), None)
        .await;
    assert_eq!(r.body["commands"][0]["command_id"], id.as_str());
    assert_eq!(r.body["commands"][0]["type"], "reboot");
    assert_eq!(r.body["commands"][0]["expires_at"], "2026-07-16T12:00:00Z");
    assert_eq!(r.header("x-ratelimit-limit"), Some("30"));
    // Another device does not see it.
    let r = api
        .call(Method::GET, "/v1/commands/pending", Some("dk_hub"), None)
        .await;
    assert_eq!(r.body["commands"], json!([]));
    let result = json!({"command_id": id, "status": "acked", "result": {"uptime_s": 5}});
    let r = api
        .call(
            Method::POST,
            "/v1/commands/result",
            Some("dk_001"),
            Some(result.clone()),
        )
        .await;
    assert_eq!(r.body["acknowledged"], true);
    // A repeat is acknowledged and the first report kept.
    let again = json!({"command_id": id, "status": "failed"});
    assert_eq!(
        api.call(
            Method::POST,
            "/v1/commands/result",
            Some("dk_001"),
            Some(again)
        )
        .await
        .status,
        StatusCode::OK
    );
    let kept = api
        .state
        .with_account(0, |a| {
            a.device("aurra_001").unwrap().commands[0]
                .result
                .clone()
                .unwrap()
                .status
                .as_str()
        })
        .unwrap();
    assert_eq!(kept, "acked");
    let r = api
        .call(Method::GET, "/v1/commands/pending", Some("dk_001"), None)
        .await;
    assert_eq!(r.body["commands"], json!([]));
    // Unknown command: 404; bad status: 400.
    let r = api
        .call(
            Method::POST,
            "/v1/commands/result",
            Some("dk_001"),
            Some(json!({"command_id": "nope", "status": "acked"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api
        .call(
            Method::POST,
            "/v1/commands/result",
            Some("dk_001"),
            Some(json!({"command_id": id, "status": "done"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Commands expire after 24 h.
    api.state
        .with_account(0, |a| {
            a.enqueue_command("aurra_001", CommandKind::Diagnostics, json!({}), t0())
        })
        .unwrap();
    api.advance(86_400);
    let r = api
        .call(Method::GET, "/v1/commands/pending", Some("dk_001"), None)
        .await;
    assert_eq!(r.body["commands"], json!([]));
}

#[tokio::test]
async fn hubs_register_zigbee_sensors_and_report_for_them() {
    let api = Api::new();
    api.state
        .add_sensor_key("sk_sensor_abc123", "ZB-0001")
        .unwrap();
    api.state
        .add_sensor_key("sk_sensor_def456", "ZB-0002")
        .unwrap();
    let body = json!({"sensor_api_key": "sk_sensor_abc123", "ieee_address": "0x00124b001cce5a7d"});
    let r = api
        .call(
            Method::POST,
            "/v1/zigbee/sensors",
            Some("dk_hub"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["registered"], true);
    assert_eq!(r.body["serial_number"], "ZB-0001");
    let sensor_id = r.body["sensor_id"].as_str().unwrap().to_owned();
    assert_eq!(sensor_id.len(), 36);
    // Registering again is idempotent.
    let again = api
        .call(
            Method::POST,
            "/v1/zigbee/sensors",
            Some("dk_hub"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(again.body["sensor_id"], sensor_id.as_str());
    // Not a hub: 403. Unknown key: 404. Bad address: 400.
    let r = api
        .call(
            Method::POST,
            "/v1/zigbee/sensors",
            Some("dk_001"),
            Some(json!({"sensor_api_key": "sk_sensor_def456"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api
        .call(
            Method::POST,
            "/v1/zigbee/sensors",
            Some("dk_hub"),
            Some(json!({"sensor_api_key": "sk_nope"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api
        .call(
            Method::POST,
            "/v1/zigbee/sensors",
            Some("dk_hub"),
            Some(json!({"sensor_api_key": "sk_sensor_def456", "ieee_address": "0xZZ"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Another account's hub cannot take it.
    api.state
        .add_device(1, "hub_999", "dk_hub_999", true)
        .unwrap();
    let r = api
        .call(
            Method::POST,
            "/v1/zigbee/sensors",
            Some("dk_hub_999"),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // The hub submits the sensor's readings with its sensor_id.
    let readings = json!({"readings": [{"sensor_type": "iaq", "value": 42, "timestamp": "2026-07-15T12:00:00Z", "sensor_id": sensor_id}]});
    let r = api
        .call(
            Method::POST,
            "/v1/telemetry",
            Some("dk_hub"),
            Some(readings),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stored = api
        .state
        .with_account(0, |a| {
            a.store.readings(a.device("hub_001").unwrap().index)[0]
                .sensor_id
                .clone()
        })
        .unwrap();
    assert_eq!(stored.as_deref(), Some(sensor_id.as_str()));
}

#[tokio::test]
async fn finished_and_expired_commands_are_journalled_once() {
    let api = Api::with_config(ServerConfig {
        journal: Some(api_server::journal::JournalConfig {
            capacity: 100,
            readings: false,
        }),
        ..ServerConfig::default()
    });
    // The commands that ended since the last look, as the journal tells.
    let ended = || -> Vec<String> {
        let (events, lost) = api.state.drain_journal(0).unwrap();
        assert_eq!(lost, 0);
        events
            .into_iter()
            .filter_map(|e| match e {
                api_server::journal::Event::CommandEnded { device, command } => {
                    let status = command
                        .result
                        .as_ref()
                        .map_or("expired", |r| r.status.as_str());
                    let delivered = command.delivered_at.is_some();
                    Some(format!(
                        "command {device} {} {status} delivered={delivered}",
                        command.kind
                    ))
                }
                _ => None,
            })
            .collect()
    };
    let enqueue = |kind: &str, at| {
        api.state
            .with_account(0, |a| {
                a.enqueue_command("aurra_001", CommandKind::from_name(kind), json!({}), at)
            })
            .unwrap()
            .unwrap()
    };
    let id = enqueue("reboot", t0());
    api.call(Method::GET, "/v1/commands/pending", Some("dk_001"), None)
        .await;
    let result = json!({"command_id": id, "status": "acked"});
    api.call(
        Method::POST,
        "/v1/commands/result",
        Some("dk_001"),
        Some(result.clone()),
    )
    .await;
    // A repeated result is acknowledged, not journalled again.
    api.call(
        Method::POST,
        "/v1/commands/result",
        Some("dk_001"),
        Some(result),
    )
    .await;
    assert_eq!(ended(), ["command 0 reboot acked delivered=true"]);
    // Never fetched, never answered: journalled as expired when it leaves.
    enqueue("diagnostics", t0());
    api.advance(86_401);
    enqueue("reboot", api.clock_now());
    assert_eq!(ended(), ["command 0 diagnostics expired delivered=false"]);
    let left = api
        .state
        .with_account(0, |a| a.device("aurra_001").unwrap().commands.len())
        .unwrap();
    assert_eq!(left, 1, "only the live command is kept");
}
