//! The Automations API: the seed's examples, validation, CRUD.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Api;

fn api_with_seed_devices() -> Api {
    let api = Api::new();
    for (id, key) in [
        ("device-123", "dk-123"),
        ("device-456", "dk-456"),
        ("550e8400-e29b-41d4-a716-446655440000", "dk-550"),
    ] {
        api.state.add_device(0, id, key, false).unwrap();
    }
    api
}

fn temperature_alert() -> Value {
    json!({
        "name": "Temperature Alert", "description": "Notify when temperature exceeds threshold", "enabled": true,
        "trigger": {"type": "sensor_threshold", "deviceId": "device-123", "moduleId": "SHT40", "sensor": "temperature", "operator": "gt", "value": 30},
        "conditions": [],
        "actions": [{"type": "notification", "method": "push", "title": "High Temperature", "message": "Temperature is above 30°C"}],
        "cooldown": 300
    })
}

fn evening_lights() -> Value {
    json!({
        "name": "Evening Lights", "description": "Turn on lights at sunset", "deviceId": "550e8400-e29b-41d4-a716-446655440000",
        "trigger": {"type": "schedule", "event": "sunset", "offset": -30},
        "conditions": [{"type": "sensor_value", "deviceId": "device-123", "moduleId": "VEML7700", "sensor": "lux", "operator": "lt", "value": 100}],
        "actions": [
            {"type": "device_command", "deviceId": "device-456", "moduleId": "NeoPixel", "tool": "turn_on"},
            {"type": "wait", "seconds": 30},
            {"type": "webhook", "url": "https://example.com/webhook", "method": "POST", "body": {"event": "automation_triggered", "data": "{{sensor.temperature}}"}}
        ],
        "cooldown": 3600
    })
}

#[tokio::test]
async fn the_seeds_examples_round_trip() {
    let api = api_with_seed_devices();
    let token = api.token("acc_std", "sk_std").await;
    let r = api
        .call(
            Method::POST,
            "/api/automations",
            Some(&token),
            Some(evening_lights()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a = &r.body["automation"];
    assert_eq!(
        (
            a["name"].clone(),
            a["enabled"].clone(),
            a["createdAt"].clone()
        ),
        (
            json!("Evening Lights"),
            json!(true),
            json!("2026-07-15T12:00:00Z")
        )
    );
    let id = a["id"].as_str().unwrap().to_owned();
    let r = api
        .call(
            Method::POST,
            "/api/automations",
            Some(&token),
            Some(temperature_alert()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = api
        .call(Method::GET, "/api/automations", Some(&token), None)
        .await;
    let list = r.body["automations"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["cooldown"], 3600);
    assert_eq!(list[0]["lastTriggered"], Value::Null);
    assert_eq!(
        list[0]["actions"][2]["body"]["data"],
        "{{sensor.temperature}}"
    );
    let r = api
        .call(
            Method::GET,
            &format!("/api/automations/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        r.body["automation"]["trigger"],
        json!({"type": "schedule", "event": "sunset", "offset": -30})
    );
    // Toggle, then delete.
    let r = api
        .call(
            Method::PATCH,
            &format!("/api/automations/{id}"),
            Some(&token),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.body["automation"]["enabled"], false);
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/automations/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.body, json!({"success": true}));
    assert_eq!(
        api.call(
            Method::GET,
            &format!("/api/automations/{id}"),
            Some(&token),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // The cooldown defaults to 300 s.
    let mut no_cooldown = temperature_alert();
    no_cooldown.as_object_mut().unwrap().remove("cooldown");
    api.call(
        Method::POST,
        "/api/automations",
        Some(&token),
        Some(no_cooldown),
    )
    .await;
    let r = api
        .call(Method::GET, "/api/automations", Some(&token), None)
        .await;
    assert_eq!(r.body["automations"][1]["cooldown"], 300);
}

/// A change that makes a valid automation invalid.
type Mutation = Box<dyn Fn(&mut Value)>;

#[tokio::test]
async fn invalid_automations_name_the_field_in_the_flat_envelope() {
    let api = api_with_seed_devices();
    let token = api.token("acc_std", "sk_std").await;
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|a| a["trigger"]["operator"] = json!("approx")),
            "trigger.operator",
        ),
        (
            Box::new(|a| a["trigger"]["deviceId"] = json!("device-999")),
            "trigger.deviceId",
        ),
        (
            Box::new(|a| {
                a["trigger"] = json!({"type": "schedule", "time": "8:00", "days": ["monday"]})
            }),
            "trigger.time",
        ),
        (
            Box::new(|a| {
                a["trigger"] = json!({"type": "schedule", "time": "08:00", "event": "sunset"})
            }),
            "trigger.time",
        ),
        (
            Box::new(
                |a| a["trigger"] = json!({"type": "sensor_range", "deviceId": "device-123", "sensor": "humidity", "min": 60, "max": 30, "event": "exit"}),
            ),
            "trigger.min",
        ),
        (
            Box::new(|a| {
                a["trigger"] =
                    json!({"type": "event", "deviceId": "device-123", "event": "earthquake"})
            }),
            "trigger.event",
        ),
        (
            Box::new(|a| {
                a["conditions"] =
                    json!([{"type": "time_window", "startTime": "18:00", "endTime": "25:00"}])
            }),
            "conditions[0].endTime",
        ),
        (
            Box::new(|a| a["conditions"] = json!([{"type": "day_of_week", "days": ["caturday"]}])),
            "conditions[0].days",
        ),
        (
            Box::new(|a| a["actions"][0]["method"] = json!("sms")),
            "actions[0].method",
        ),
        (
            Box::new(|a| a["actions"] = json!([{"type": "wait", "seconds": 0}])),
            "actions[0].seconds",
        ),
        (Box::new(|a| a["actions"] = json!([])), "actions"),
        (Box::new(|a| a["cooldown"] = json!(100_000)), "cooldown"),
        (Box::new(|a| a["colour"] = json!("red")), "colour"),
    ];
    for (mutate, field) in cases {
        let mut body = temperature_alert();
        mutate(&mut body);
        let r = api
            .call(Method::POST, "/api/automations", Some(&token), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.body);
        assert_eq!(r.body["error"], "bad_request");
        assert!(r.message().starts_with(field), "{field}: {}", r.body);
    }
    assert!(
        api.state
            .with_account(0, |a| a.automations.is_empty())
            .unwrap(),
        "nothing stored"
    );
    // Writes need comfort:write; the envelope stays flat.
    let alerts_only = api.token("acc_alerts", "sk_alerts").await;
    let r = api
        .call(
            Method::POST,
            "/api/automations",
            Some(&alerts_only),
            Some(temperature_alert()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"], "forbidden");
    assert_eq!(
        api.call(Method::GET, "/api/automations", None, None)
            .await
            .body["error"],
        "unauthorized"
    );
    assert_eq!(
        api.call(
            Method::PATCH,
            "/api/automations/nope",
            Some(&token),
            Some(json!({"enabled": true}))
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}
