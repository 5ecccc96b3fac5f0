//! `POST /v1/climate/optimize`: plans, application, signals and errors.

use std::sync::Arc;

use api_server::climate::Forecast;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use sim_core::SimTime;

use crate::harness::Api;

fn cold_day() -> Vec<f64> {
    (0..24)
        .map(|k| 30.0 + 8.0 * (std::f64::consts::PI * k as f64 / 24.0).sin())
        .collect()
}

async fn optimize(api: &Api, token: &str, body: Value) -> crate::harness::Reply {
    api.call(
        Method::POST,
        "/v1/climate/optimize",
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_plan_is_cheaper_than_holding_the_target_and_can_be_applied() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    let r = optimize(
        &api,
        &token,
        json!({"device_id": "aurra_001", "outdoor_forecast_f": cold_day(), "objective": "savings", "comfort": {"heat_f": 70}, "apply": true}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let plan = r.body["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 24);
    assert_eq!(r.body["mode"], "heat");
    assert_eq!(r.body["signals"]["weather"], "request");
    for step in plan {
        let s = step["setpoint_f"].as_i64().unwrap();
        assert!((55..=70).contains(&s), "{step}");
        assert_eq!(step["hvac"], "heat");
    }
    let cost = |k: &str| r.body[k]["cost"].as_f64().unwrap();
    assert!(cost("expected") <= cost("baseline"), "{}", r.body);
    assert!(r.body["savings_percent"].as_f64().unwrap() >= 0.0);
    // The first hour's setpoint went to the device.
    let first = plan[0]["setpoint_f"].as_i64().unwrap();
    assert_eq!(r.body["applied"]["setpoint_f"], first);
    let r = api
        .call(Method::GET, "/v1/commands/pending", Some("dk_001"), None)
        .await;
    assert_eq!(
        r.body["commands"][0]["payload"],
        json!({"setpoint": {"temperature": first, "mode": "heat"}})
    );
}

#[tokio::test]
async fn activity_and_the_servers_forecast_are_used() {
    #[derive(Debug)]
    struct Flat;
    impl Forecast for Flat {
        fn outdoor_c(&self, _: f64, _: f64, _: SimTime, hours: usize) -> Option<Vec<f64>> {
            Some(vec![35.0; hours])
        }
    }
    let api = Api::with_forecast(Arc::new(Flat));
    let token = api.token("acc_std", "sk_std").await;
    // Without a location the server cannot forecast.
    let r = optimize(&api, &token, json!({"device_id": "aurra_001"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("outdoor_forecast_f"), "{}", r.body);
    let r = api
        .call(
            Method::PATCH,
            "/v1/settings",
            Some("dk_001"),
            Some(json!({"location": {"latitude": 33.4, "longitude": -112.1}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for _ in 0..3 {
        let r = api
            .call(
                Method::POST,
                "/v1/events",
                Some("dk_001"),
                Some(json!({"event": "motion_detected"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    // Cooling mode in the heat (35 °C = 95 °F).
    let r = api
        .call(
            Method::POST,
            "/v1/thermostat/aurra_001/setpoint",
            Some(&token),
            Some(json!({"temperature": 75, "mode": "cool"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = optimize(
        &api,
        &token,
        json!({"device_id": "aurra_001", "horizon_hours": 6}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["signals"]["weather"], "server");
    assert_eq!(r.body["signals"]["occupancy_weeks_observed"], 1.0);
    assert_eq!(r.body["comfort"]["cool_f"], 75);
    let plan = r.body["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 6);
    assert_eq!(plan[0]["outdoor_f"], 95.0);
    assert!(plan.iter().all(|s| s["hvac"] == "cool"));
    // Activity now: this hour counts as occupied, so the target is held.
    assert_eq!(plan[0]["setpoint_f"], 75);
    assert_eq!(r.body["applied"], Value::Null);
}

#[tokio::test]
async fn bad_requests_name_the_field_and_state_conflicts_are_409() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    let cases = [
        (
            json!({"device_id": "aurra_001", "horizon_hours": 49, "outdoor_forecast_f": cold_day()}),
            "horizon_hours",
        ),
        (
            json!({"device_id": "aurra_001", "outdoor_forecast_f": [40, 41]}),
            "outdoor_forecast_f",
        ),
        (
            json!({"device_id": "aurra_001", "outdoor_forecast_f": cold_day(), "objective": "cheap"}),
            "objective",
        ),
        (
            json!({"device_id": "aurra_001", "outdoor_forecast_f": cold_day(), "comfort": {"heat_f": 75, "cool_f": 70}}),
            "comfort.heat_f",
        ),
        (
            json!({"device_id": "aurra_001", "outdoor_forecast_f": cold_day(), "home": {"ua_w_per_k": 5}}),
            "home.ua_w_per_k",
        ),
        (json!({"device_id": "aurra_001"}), "outdoor_forecast_f"),
        (json!({"outdoor_forecast_f": cold_day()}), "device_id"),
    ];
    for (body, field) in cases {
        let r = optimize(&api, &token, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.message().contains(field), "{field}: {}", r.body);
    }
    let r = optimize(
        &api,
        &token,
        json!({"device_id": "aurra_999", "outdoor_forecast_f": cold_day()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let alerts_only = api.token("acc_alerts", "sk_alerts").await;
    let r = optimize(
        &api,
        &alerts_only,
        json!({"device_id": "aurra_001", "outdoor_forecast_f": cold_day()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    api.call(
        Method::POST,
        "/v1/thermostat/aurra_001/setpoint",
        Some(&token),
        Some(json!({"temperature": 70, "mode": "off"})),
    )
    .await;
    let r = optimize(
        &api,
        &token,
        json!({"device_id": "aurra_001", "outdoor_forecast_f": cold_day()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}
