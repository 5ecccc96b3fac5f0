//! AURRA diagnostics: validation, scope, account, and the 60/min limit.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Api;

fn vibration() -> Value {
    json!({"device_id": "aurra_001", "timestamp": "2026-07-15T12:00:00Z", "amplitude": 0.42, "frequency": 209.1, "duration_ms": 1000, "rms": 0.12, "kurtosis": 4.1})
}

fn energy() -> Value {
    json!({"device_id": "aurra_001", "runtime_mins": 5, "voltage": 239.6, "current_amps": 16.9, "period_start": "2026-07-15T11:55:00Z"})
}

#[tokio::test]
async fn reports_are_stored_and_answered_201() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    let r = api
        .call(
            Method::POST,
            "/v1/diagnostics/vibration",
            Some(&token),
            Some(vibration()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.header("x-ratelimit-endpoint"), Some("diag"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("59"));
    let r = api
        .call(
            Method::POST,
            "/v1/diagnostics/energy",
            Some(&token),
            Some(energy()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (v, e) = api
        .state
        .with_account(0, |a| {
            let d = a.device("aurra_001").unwrap();
            (
                a.store.vibration(d.index)[0].clone(),
                a.store.energy(d.index)[0].clone(),
            )
        })
        .unwrap();
    assert_eq!(
        (v.amplitude_g, v.frequency_hz, v.duration_ms, v.kurtosis),
        (0.42, 209.1, 1_000, Some(4.1))
    );
    assert_eq!((e.runtime_mins, e.voltage_v, e.current_a), (5, 239.6, 16.9));
    // duration_ms defaults to 1000.
    let mut v = vibration();
    v.as_object_mut().unwrap().remove("duration_ms");
    assert_eq!(
        api.call(
            Method::POST,
            "/v1/diagnostics/vibration",
            Some(&token),
            Some(v)
        )
        .await
        .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn invalid_reports_name_the_field() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    for (path, field, value) in [
        ("/v1/diagnostics/vibration", "amplitude", json!(10.5)),
        ("/v1/diagnostics/vibration", "amplitude", json!("loud")),
        (
            "/v1/diagnostics/vibration",
            "timestamp",
            json!("2026-07-15 noon"),
        ),
        ("/v1/diagnostics/vibration", "duration_ms", json!(0)),
        ("/v1/diagnostics/energy", "runtime_mins", json!(-1)),
        (
            "/v1/diagnostics/energy",
            "period_start",
            json!("2026-07-15T11:55:00+01:00"),
        ),
        ("/v1/diagnostics/energy", "voltage", json!(null)),
    ] {
        let mut body = if path.ends_with("vibration") {
            vibration()
        } else {
            energy()
        };
        body[field] = value;
        let r = api.call(Method::POST, path, Some(&token), Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.body);
        assert!(r.message().starts_with(field), "{}", r.body);
    }
    let mut body = vibration();
    body["device_id"] = json!("aurra_999");
    let r = api
        .call(
            Method::POST,
            "/v1/diagnostics/vibration",
            Some(&token),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let alerts_only = api.token("acc_alerts", "sk_alerts").await;
    let r = api
        .call(
            Method::POST,
            "/v1/diagnostics/vibration",
            Some(&alerts_only),
            Some(vibration()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn diagnostics_are_limited_to_60_a_minute_per_token() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    for i in 0..60 {
        let r = api
            .call(
                Method::POST,
                "/v1/diagnostics/energy",
                Some(&token),
                Some(energy()),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{i}");
    }
    api.advance(30);
    let r = api
        .call(
            Method::POST,
            "/v1/diagnostics/vibration",
            Some(&token),
            Some(vibration()),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("x-ratelimit-endpoint"), Some("diag"));
    assert_eq!(r.header("retry-after"), Some("30"));
    // The status endpoint is not a diagnostics endpoint: still allowed.
    assert_eq!(
        api.call(
            Method::GET,
            "/v1/thermostat/aurra_001/status",
            Some(&token),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    api.advance(30);
    assert_eq!(
        api.call(
            Method::POST,
            "/v1/diagnostics/vibration",
            Some(&token),
            Some(vibration())
        )
        .await
        .status,
        StatusCode::CREATED
    );
}
