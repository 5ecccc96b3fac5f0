//! The automation engine on the virtual clock: every trigger, condition and
//! action type, cooldown, and waiting runs.

use std::sync::{Arc, Mutex};

use api_server::engine::{Outcome, next_sun};
use api_server::webhooks::{Outgoing, WebhookSink};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use sim_core::SimTime;

use crate::harness::{Api, t0};

/// (method, url, body) of each call the engine made.
#[derive(Debug, Default)]
struct Calls(Mutex<Vec<(String, String, Value)>>);

impl WebhookSink for Calls {
    fn deliver(&self, req: &Outgoing<'_>, _: SimTime) -> Option<u16> {
        let body = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        self.0
            .lock()
            .unwrap()
            .push((req.method.to_owned(), req.url.to_owned(), body));
        Some(204)
    }
}

struct Fixture {
    api: Api,
    calls: Arc<Calls>,
    token: String,
}

async fn fixture() -> Fixture {
    let calls = Arc::new(Calls::default());
    let api = Api::with_sink(calls.clone());
    let token = api.token("acc_std", "sk_std").await;
    Fixture { api, calls, token }
}

impl Fixture {
    async fn create(&self, automation: Value) -> String {
        let r = self
            .api
            .call(
                Method::POST,
                "/api/automations",
                Some(&self.token),
                Some(automation),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["automation"]["id"].as_str().unwrap().to_owned()
    }

    async fn reading(&self, key: &str, sensor: &str, value: f64) {
        let body = json!({"readings": [{"sensor_type": sensor, "value": value, "timestamp": "2026-07-15T12:00:00Z"}]});
        let r = self
            .api
            .call(Method::POST, "/v1/telemetry", Some(key), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }

    fn outcomes(&self, id: &str) -> Vec<Outcome> {
        self.api
            .state
            .with_account(0, |a| {
                a.engine
                    .log
                    .iter()
                    .filter(|f| f.automation_id == id)
                    .map(|f| f.outcome)
                    .collect()
            })
            .unwrap()
    }

    fn messages(&self) -> Vec<String> {
        self.api
            .state
            .with_account(0, |a| {
                a.engine.outbox.iter().map(|n| n.message.clone()).collect()
            })
            .unwrap()
    }

    fn tick(&self) {
        self.api.state.tick(self.api.clock_now());
    }

    async fn settings(&self, key: &str, body: Value) {
        let r = self
            .api
            .call(Method::PATCH, "/v1/settings", Some(key), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }

    async fn pending(&self, key: &str) -> Vec<Value> {
        let r = self
            .api
            .call(Method::GET, "/v1/commands/pending", Some(key), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["commands"].as_array().unwrap().clone()
    }
}

fn notify(message: &str) -> Value {
    json!({"type": "notification", "method": "push", "title": "t", "message": message})
}

#[tokio::test]
async fn thresholds_fire_on_crossing_and_cooldown_suppresses_repeats() {
    let f = fixture().await;
    let id = f
        .create(json!({
            "name": "Hot", "trigger": {"type": "sensor_threshold", "deviceId": "aurra_001", "moduleId": "SHT40", "sensor": "temperature", "operator": "gt", "value": 30},
            "actions": [notify("{{sensor.temperature}} °C on {{device.id}}")]
        }))
        .await;
    f.reading("dk_001", "temperature", 29.0).await;
    assert!(f.outcomes(&id).is_empty());
    f.reading("dk_001", "temperature", 31.5).await;
    assert_eq!(f.outcomes(&id), [Outcome::Fired]);
    assert_eq!(f.messages(), ["31.5 °C on aurra_001"]);
    // Still above: no new crossing.
    f.reading("dk_001", "temperature", 32.0).await;
    assert_eq!(f.outcomes(&id).len(), 1);
    // Down and up again within the default 300 s cooldown: suppressed.
    f.api.advance(60);
    f.reading("dk_001", "temperature", 25.0).await;
    f.reading("dk_001", "temperature", 33.0).await;
    assert_eq!(f.outcomes(&id), [Outcome::Fired, Outcome::Cooldown]);
    // After the cooldown the next crossing fires.
    f.api.advance(300);
    f.reading("dk_001", "temperature", 25.0).await;
    f.reading("dk_001", "temperature", 34.0).await;
    assert_eq!(
        f.outcomes(&id),
        [Outcome::Fired, Outcome::Cooldown, Outcome::Fired]
    );
    let r = f
        .api
        .call(
            Method::GET,
            &format!("/api/automations/{id}"),
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(
        r.body["automation"]["lastTriggered"],
        "2026-07-15T12:06:00Z"
    );
    // Another sensor or device does not trigger it.
    f.reading("dk_001", "humidity", 99.0).await;
    f.reading("dk_hub", "temperature", 50.0).await;
    assert_eq!(f.outcomes(&id).len(), 3);
}

#[tokio::test]
async fn every_operator_compares_as_the_seed_says() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for op in ["gt", "gte", "lt", "lte", "eq", "neq"] {
        ids.push((op, f.create(json!({
            "name": op, "cooldown": 0,
            "trigger": {"type": "sensor_threshold", "deviceId": "aurra_001", "sensor": "humidity", "operator": op, "value": 50},
            "actions": [notify(op)]
        })).await));
    }
    // The first reading is a change from "unknown".
    f.reading("dk_001", "humidity", 50.0).await;
    let fired: Vec<&str> = ids
        .iter()
        .filter(|(_, id)| !f.outcomes(id).is_empty())
        .map(|(op, _)| *op)
        .collect();
    assert_eq!(fired, ["gte", "lte", "eq"]);
    f.reading("dk_001", "humidity", 60.0).await;
    let fired: Vec<(&str, usize)> = ids
        .iter()
        .map(|(op, id)| (*op, f.outcomes(id).len()))
        .collect();
    assert_eq!(
        fired,
        [
            ("gt", 1),
            ("gte", 1),
            ("lt", 0),
            ("lte", 1),
            ("eq", 1),
            ("neq", 1)
        ]
    );
}

#[tokio::test]
async fn ranges_are_edge_triggered_on_enter_and_exit() {
    let f = fixture().await;
    let exit = f
        .create(json!({
            "name": "Humidity out", "cooldown": 0,
            "trigger": {"type": "sensor_range", "deviceId": "aurra_001", "moduleId": "SHT40", "sensor": "humidity", "min": 30, "max": 60, "event": "exit"},
            "actions": [notify("exit {{trigger.value}}")]
        }))
        .await;
    let enter = f
        .create(json!({
            "name": "Humidity ok", "cooldown": 0,
            "trigger": {"type": "sensor_range", "deviceId": "aurra_001", "sensor": "humidity", "min": 30, "max": 60, "event": "enter"},
            "actions": [notify("enter {{trigger.value}}")]
        }))
        .await;
    for v in [45.0, 50.0, 70.0, 75.0, 55.0, 20.0] {
        f.reading("dk_001", "humidity", v).await;
    }
    assert_eq!(f.outcomes(&exit).len(), 2);
    assert_eq!(f.outcomes(&enter).len(), 2);
    assert_eq!(f.messages(), ["enter 45", "exit 70", "enter 55", "exit 20"]);
}

#[tokio::test]
async fn a_module_that_names_a_zigbee_sensor_selects_its_readings() {
    let f = fixture().await;
    f.api.state.add_sensor_key("zk_1", "SN-1").unwrap();
    let r = f
        .api
        .call(
            Method::POST,
            "/v1/zigbee/sensors",
            Some("dk_hub"),
            Some(json!({"sensor_api_key": "zk_1"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let sensor = r.body["sensor_id"].as_str().unwrap().to_owned();
    let id = f
        .create(json!({
            "name": "Bedroom cold",
            "trigger": {"type": "sensor_threshold", "deviceId": "hub_001", "moduleId": sensor, "sensor": "temperature", "operator": "lt", "value": 17},
            "actions": [notify("cold")]
        }))
        .await;
    // The hub's own reading does not match; the sensor's does.
    f.reading("dk_hub", "temperature", 10.0).await;
    assert!(f.outcomes(&id).is_empty());
    let body = json!({"readings": [{"sensor_type": "temperature", "value": 16.0, "timestamp": "2026-07-15T12:00:00Z", "sensor_id": sensor}]});
    let r = f
        .api
        .call(Method::POST, "/v1/telemetry", Some("dk_hub"), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(f.outcomes(&id), [Outcome::Fired]);
}

#[tokio::test]
async fn time_schedules_run_in_the_devices_time_zone() {
    let f = fixture().await;
    f.settings("dk_001", json!({"timezone": "America/New_York"}))
        .await;
    // t0 is Wednesday 2026-07-15 12:00 UTC = 08:00 EDT.
    let id = f
        .create(json!({
            "name": "Morning", "deviceId": "aurra_001",
            "trigger": {"type": "schedule", "time": "09:00", "days": ["wednesday", "friday"]},
            "actions": [notify("{{timestamp}}")]
        }))
        .await;
    f.api.advance(59 * 60);
    f.tick();
    assert!(f.outcomes(&id).is_empty(), "08:59 EDT");
    f.api.advance(60);
    f.tick();
    assert_eq!(f.outcomes(&id), [Outcome::Fired], "09:00 EDT = 13:00 UTC");
    assert_eq!(f.messages(), ["2026-07-15T13:00:00Z"]);
    // Thursday passes; Friday 09:00 EDT fires (ticks every hour).
    for _ in 0..48 {
        f.api.advance(3_600);
        f.tick();
    }
    assert_eq!(f.outcomes(&id).len(), 2);
    assert_eq!(f.messages()[1], "2026-07-17T13:00:00Z");
}

#[tokio::test]
async fn sun_schedules_follow_the_devices_location() {
    let f = fixture().await;
    f.settings(
        "dk_001",
        json!({"location": {"latitude": 51.5074, "longitude": -0.1278, "name": "London"}, "timezone": "Europe/London"}),
    )
    .await;
    let id = f
        .create(json!({
            "name": "Evening", "deviceId": "aurra_001",
            "trigger": {"type": "schedule", "event": "sunset", "offset": -30},
            "actions": [notify("dusk")]
        }))
        .await;
    let due = next_sun(t0(), false, -30, 51.5074, -0.1278).unwrap();
    // London's sunset on 15 July is about 20:10 UTC.
    let almanac: SimTime = "2026-07-15T19:40:00Z".parse().unwrap();
    assert!(
        (due.as_millis() - almanac.as_millis()).abs() < 180_000,
        "{due}"
    );
    let before = due.as_millis() - t0().as_millis() - 60_000;
    f.api.advance((before / 1_000) as u64);
    f.tick();
    assert!(f.outcomes(&id).is_empty());
    f.api.advance(120);
    f.tick();
    assert_eq!(f.outcomes(&id), [Outcome::Fired]);
    // A sun schedule needs a device.
    let token = f.api.token("acc_std", "sk_std").await;
    let r = f
        .api
        .call(
            Method::POST,
            "/api/automations",
            Some(&token),
            Some(json!({"name": "x", "trigger": {"type": "schedule", "event": "sunrise"}, "actions": [notify("x")]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("deviceId"), "{}", r.body);
}

#[tokio::test]
async fn device_events_come_from_devices_and_from_silence() {
    let f = fixture().await;
    let press = f
        .create(json!({"name": "Button", "trigger": {"type": "event", "deviceId": "aurra_001", "event": "button_press"}, "actions": [notify("pressed")]}))
        .await;
    let offline = f
        .create(json!({"name": "Gone", "trigger": {"type": "event", "deviceId": "aurra_001", "event": "device_offline"}, "actions": [notify("offline")]}))
        .await;
    let online = f
        .create(json!({"name": "Back", "cooldown": 0, "trigger": {"type": "event", "deviceId": "aurra_001", "event": "device_online"}, "actions": [notify("online")]}))
        .await;
    let r = f
        .api
        .call(
            Method::POST,
            "/v1/events",
            Some("dk_001"),
            Some(json!({"event": "button_press"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["automations_fired"], 1);
    assert_eq!(f.outcomes(&press), [Outcome::Fired]);
    // That first request also brought the device online.
    assert_eq!(f.outcomes(&online), [Outcome::Fired]);
    // Silence for more than 5 minutes: offline at the next tick.
    f.api.advance(301);
    f.tick();
    assert_eq!(f.outcomes(&offline), [Outcome::Fired]);
    f.api.advance(600);
    f.tick();
    assert_eq!(f.outcomes(&offline).len(), 1, "once per silence");
    f.reading("dk_001", "temperature", 21.0).await;
    assert_eq!(f.outcomes(&online).len(), 2);
    // Unknown events and foreign sensors are refused.
    let r = f
        .api
        .call(
            Method::POST,
            "/v1/events",
            Some("dk_001"),
            Some(json!({"event": "device_online"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = f
        .api
        .call(
            Method::POST,
            "/v1/events",
            Some("dk_001"),
            Some(json!({"event": "motion_detected", "sensor_id": "zb_x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("sensor_id"), "{}", r.body);
}

#[tokio::test]
async fn conditions_gate_the_actions() {
    let f = fixture().await;
    f.settings("dk_001", json!({"timezone": "America/New_York"}))
        .await;
    // Night window across midnight, weekdays only, and the hub warm.
    let id = f
        .create(json!({
            "name": "Night", "deviceId": "aurra_001", "cooldown": 0,
            "trigger": {"type": "event", "deviceId": "aurra_001", "event": "motion_detected"},
            "conditions": [
                {"type": "time_window", "startTime": "22:00", "endTime": "06:00"},
                {"type": "day_of_week", "days": ["wednesday", "thursday"]},
                {"type": "sensor_value", "deviceId": "hub_001", "sensor": "temperature", "operator": "gte", "value": 20}
            ],
            "actions": [notify("night")]
        }))
        .await;
    let motion = || async {
        f.api
            .call(
                Method::POST,
                "/v1/events",
                Some("dk_001"),
                Some(json!({"event": "motion_detected"})),
            )
            .await
    };
    // 08:00 EDT Wednesday: outside the window.
    motion().await;
    // 23:00 EDT Wednesday (03:00 UTC Thursday): inside, but no hub reading.
    f.api.advance(15 * 3_600);
    motion().await;
    f.reading("dk_hub", "temperature", 21.0).await;
    motion().await;
    // 05:30 EDT Saturday: inside the window, wrong day.
    f.api.advance(2 * 86_400 + 6 * 3_600 + 1_800);
    motion().await;
    assert_eq!(
        f.outcomes(&id),
        [
            Outcome::Conditions,
            Outcome::Conditions,
            Outcome::Fired,
            Outcome::Conditions
        ]
    );
}

#[tokio::test]
async fn actions_queue_commands_wait_and_call_webhooks_with_templates() {
    let f = fixture().await;
    let id = f
        .create(json!({
            "name": "Cool down", "deviceId": "aurra_001",
            "trigger": {"type": "sensor_threshold", "deviceId": "aurra_001", "sensor": "temperature", "operator": "gte", "value": 28},
            "actions": [
                {"type": "device_command", "deviceId": "aurra_001", "tool": "set_setpoint", "params": {"temperature": 72, "mode": "cool"}},
                {"type": "wait", "seconds": 30},
                {"type": "device_command", "deviceId": "aurra_001", "tool": "set_fan", "params": {"fan": "on"}},
                {"type": "webhook", "url": "https://example.com/hook", "method": "PUT", "body": {"event": "too_hot", "data": "{{sensor.temperature}}", "who": ["{{automation.name}}"]}},
                {"type": "device_command", "deviceId": "aurra_001", "moduleId": "NeoPixel", "tool": "turn_on"}
            ]
        }))
        .await;
    f.reading("dk_001", "temperature", 29.5).await;
    assert_eq!(f.outcomes(&id), [Outcome::Fired]);
    let pending = f.pending("dk_001").await;
    assert_eq!(pending.len(), 1, "only the first action before the wait");
    assert_eq!(pending[0]["type"], "config_update");
    assert_eq!(
        pending[0]["payload"],
        json!({"setpoint": {"temperature": 72, "mode": "cool"}})
    );
    let r = f
        .api
        .call(
            Method::GET,
            "/v1/thermostat/aurra_001/status",
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(r.body["mode"], "cool", "{}", r.body);
    f.api.advance(29);
    f.tick();
    assert_eq!(f.pending("dk_001").await.len(), 1);
    f.api.advance(1);
    f.tick();
    let pending = f.pending("dk_001").await;
    assert_eq!(pending.len(), 3);
    assert_eq!(pending[1]["payload"], json!({"fan": "on"}));
    assert_eq!(pending[2]["type"], "turn_on");
    assert_eq!(pending[2]["payload"], json!({"moduleId": "NeoPixel"}));
    // The webhook went out at the next tick with the templates filled.
    f.tick();
    let calls = f.calls.0.lock().unwrap().clone();
    assert_eq!(
        calls,
        [(
            "PUT".to_owned(),
            "https://example.com/hook".to_owned(),
            json!({"event": "too_hot", "data": "29.5", "who": ["Cool down"]})
        )]
    );
    let recorded = f
        .api
        .state
        .with_account(0, |a| a.engine.calls.iter().filter(|c| c.delivered).count())
        .unwrap();
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn disabling_cancels_waiting_actions_and_re_enabling_rearms() {
    let f = fixture().await;
    let id = f
        .create(json!({
            "name": "Later", "cooldown": 0,
            "trigger": {"type": "event", "deviceId": "aurra_001", "event": "button_press"},
            "actions": [{"type": "wait", "seconds": 60}, notify("later")]
        }))
        .await;
    let press = || async {
        f.api
            .call(
                Method::POST,
                "/v1/events",
                Some("dk_001"),
                Some(json!({"event": "button_press"})),
            )
            .await
    };
    press().await;
    let waiting = || f.api.state.with_account(0, |a| a.engine.waiting()).unwrap();
    assert_eq!(waiting(), 1);
    let path = format!("/api/automations/{id}");
    let r = f
        .api
        .call(
            Method::PATCH,
            &path,
            Some(&f.token),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(waiting(), 0);
    f.api.advance(120);
    f.tick();
    assert!(f.messages().is_empty());
    // Disabled: events are ignored.
    press().await;
    assert_eq!(f.outcomes(&id).len(), 1);
    f.api
        .call(
            Method::PATCH,
            &path,
            Some(&f.token),
            Some(json!({"enabled": true})),
        )
        .await;
    press().await;
    f.api.advance(60);
    f.tick();
    assert_eq!(f.messages(), ["later"]);
    let r = f
        .api
        .call(
            Method::GET,
            "/api/notifications?limit=5",
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["notifications"][0]["message"], "later");
    assert_eq!(r.body["notifications"][0]["automationId"], id.as_str());
}

#[tokio::test]
async fn command_tools_are_validated_per_tool() {
    let f = fixture().await;
    let cases = [
        (
            json!({"tool": "set_setpoint", "params": {"temperature": 95, "mode": "cool"}}),
            "actions[0].params.temperature",
        ),
        (
            json!({"tool": "set_setpoint", "params": {"temperature": 70, "mode": "warm"}}),
            "actions[0].params.mode",
        ),
        (
            json!({"tool": "set_eco", "params": {"enabled": true, "heat_limit": 80, "cool_limit": 70}}),
            "actions[0].params.heat_limit",
        ),
        (
            json!({"tool": "factory_reset"}),
            "actions[0].params.confirm",
        ),
        (
            json!({"tool": "reboot", "params": {"delay_seconds": 7200}}),
            "actions[0].params.delay_seconds",
        ),
        (
            json!({"tool": "config_update", "params": {"colour": "red"}}),
            "actions[0].params.colour",
        ),
        (json!({"tool": "Turn On!"}), "actions[0].tool"),
    ];
    for (action, field) in cases {
        let mut a = json!({"type": "device_command", "deviceId": "aurra_001"});
        a.as_object_mut()
            .unwrap()
            .extend(action.as_object().unwrap().clone());
        let r = f
            .api
            .call(
                Method::POST,
                "/api/automations",
                Some(&f.token),
                Some(json!({"name": "x", "trigger": {"type": "event", "deviceId": "aurra_001", "event": "button_press"}, "actions": [a]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{action}");
        assert!(r.message().contains(field), "{field}: {}", r.body);
    }
}
