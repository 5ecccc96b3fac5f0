//! AURRA thermostat control: each change becomes a device command.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Api;

fn workday() -> Value {
    json!({"name": "Workday Routine", "blocks": [
        {"label": "Morning", "start": "04:00", "end": "08:00", "heat": 70, "cool": 74, "days": ["mon","tue","wed","thu","fri"]},
        {"label": "Night", "start": "22:00", "end": "04:00", "heat": 68, "cool": 76, "days": ["mon","tue","wed","thu","fri"]}
    ]})
}

async fn pending(api: &Api) -> Vec<Value> {
    let r = api
        .call(Method::GET, "/v1/commands/pending", Some("dk_001"), None)
        .await;
    r.body["commands"].as_array().unwrap().clone()
}

#[tokio::test]
async fn setpoint_eco_and_schedule_reach_the_device_as_commands() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    let base = "/v1/thermostat/aurra_001";
    let r = api
        .call(
            Method::POST,
            &format!("{base}/setpoint"),
            Some(&token),
            Some(json!({"temperature": 72, "mode": "cool"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = api
        .call(
            Method::POST,
            &format!("{base}/eco"),
            Some(&token),
            Some(json!({"enabled": true, "heat_limit": 62, "cool_limit": 82})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api
        .call(
            Method::POST,
            &format!("{base}/schedule"),
            Some(&token),
            Some(workday()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["blocks_count"], 2);
    assert_eq!(
        pending(&api).await.len(),
        2,
        "a stored schedule is not sent until synced"
    );
    let r = api
        .call(
            Method::POST,
            &format!("{base}/schedule/sync"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let commands = pending(&api).await;
    let payloads: Vec<&Value> = commands.iter().map(|c| &c["payload"]).collect();
    assert_eq!(
        payloads[0],
        &json!({"setpoint": {"temperature": 72, "mode": "cool"}})
    );
    assert_eq!(
        payloads[1],
        &json!({"eco": {"enabled": true, "heat_limit": 62, "cool_limit": 82}})
    );
    assert_eq!(payloads[2]["schedule"], workday());
    assert!(commands.iter().all(|c| c["type"] == "config_update"));
    let s = api
        .call(Method::GET, &format!("{base}/status"), Some(&token), None)
        .await;
    assert_eq!(
        (s.body["mode"].clone(), s.body["eco_mode"].clone()),
        (json!("cool"), json!(true))
    );
}

#[tokio::test]
async fn control_requests_are_validated_and_scoped() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    let base = "/v1/thermostat/aurra_001";
    for (path, body, field) in [
        (
            "setpoint",
            json!({"temperature": 95, "mode": "cool"}),
            "temperature",
        ),
        (
            "setpoint",
            json!({"temperature": 72.5, "mode": "cool"}),
            "temperature",
        ),
        (
            "setpoint",
            json!({"temperature": 72, "mode": "turbo"}),
            "mode",
        ),
        ("eco", json!({"enabled": "yes"}), "enabled"),
        (
            "eco",
            json!({"enabled": true, "heat_limit": 80, "cool_limit": 70}),
            "heat_limit",
        ),
        (
            "schedule",
            json!({"name": "x", "blocks": [{"start": "4:00", "end": "08:00", "heat": 70, "cool": 74, "days": ["mon"]}]}),
            "blocks[0].start",
        ),
        (
            "schedule",
            json!({"name": "x", "blocks": [{"start": "04:00", "end": "08:00", "heat": 70, "cool": 74, "days": ["funday"]}]}),
            "blocks[0].days",
        ),
        ("schedule", json!({"name": "x", "blocks": []}), "blocks"),
    ] {
        let r = api
            .call(
                Method::POST,
                &format!("{base}/{path}"),
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.body);
        assert!(r.message().starts_with(field), "{}", r.body);
    }
    assert!(
        pending(&api).await.is_empty(),
        "nothing queued by refused requests"
    );
    let r = api
        .call(
            Method::POST,
            &format!("{base}/schedule/sync"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no schedule yet");
    let r = api
        .call(
            Method::POST,
            "/v1/thermostat/aurra_999/setpoint",
            Some(&token),
            Some(json!({"temperature": 72, "mode": "cool"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let energy_only = {
        let r = api
            .call(Method::POST, "/v1/auth/token", None, Some(json!({"client_id": "acc_std", "client_secret": "sk_std", "grant_type": "client_credentials", "scope": "energy:read"})))
            .await;
        r.body["access_token"].as_str().unwrap().to_owned()
    };
    let r = api
        .call(
            Method::POST,
            &format!("{base}/setpoint"),
            Some(&energy_only),
            Some(json!({"temperature": 72, "mode": "cool"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
