//! Predictions and alerts.

use http::{Method, StatusCode};
use serde_json::json;

use crate::harness::Api;

async fn vibrate(api: &Api, token: &str, peak_g: f64, n: usize) {
    for _ in 0..n {
        let body = json!({"device_id": "aurra_001", "timestamp": "2026-07-15T12:00:00Z", "amplitude": peak_g, "frequency": 1200.0, "kurtosis": 4.5});
        let r = api
            .call(
                Method::POST,
                "/v1/diagnostics/vibration",
                Some(token),
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        api.advance(60);
    }
}

#[tokio::test]
async fn a_worn_bearing_raises_one_alert_at_the_threshold() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    let path = "/v1/predictive/hvac/aurra_001/status";
    let r = api.call(Method::GET, path, Some(&token), None).await;
    assert_eq!(
        r.body,
        json!({"maintenance_needed": false, "prediction": null, "last_service": null})
    );
    vibrate(&api, &token, 0.2, 10).await;
    let r = api.call(Method::GET, path, Some(&token), None).await;
    assert_eq!(r.body["maintenance_needed"], false);
    assert!(r.body["prediction"]["confidence"].as_f64().unwrap() < 0.72);
    assert!(api.state.with_account(0, |a| a.alerts.is_empty()).unwrap());
    // Zone C: confidence 0.72 reaches the default threshold.
    vibrate(&api, &token, 1.5, 10).await;
    let r = api.call(Method::GET, path, Some(&token), None).await;
    assert_eq!(r.body["maintenance_needed"], true, "{}", r.body);
    assert_eq!(
        r.body["prediction"]["issue"],
        "Compressor bearing degradation"
    );
    let alerts = api.state.with_account(0, |a| a.alerts.clone()).unwrap();
    assert_eq!(alerts.len(), 1, "one open alert, not one per report");
    assert_eq!(alerts[0].source, "predictor");
    assert!(alerts[0].confidence >= 0.72);
}

#[tokio::test]
async fn integrations_create_and_resolve_alerts() {
    let api = Api::new();
    let std_token = api.token("acc_std", "sk_std").await;
    let ent_token = api.token("acc_alerts", "sk_alerts").await;
    let alert = json!({"device_id": "aurra_001", "issue": "Refrigerant leak suspected", "confidence": 0.81, "action": "Check charge"});
    let r = api
        .call(
            Method::POST,
            "/v1/alerts",
            Some(&std_token),
            Some(alert.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["alert_id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["source"], "integration");
    // Dispatch: enterprise only.
    let mut dispatched = alert.clone();
    dispatched["dispatch"] = json!(true);
    assert_eq!(
        api.call(
            Method::POST,
            "/v1/alerts",
            Some(&std_token),
            Some(dispatched.clone())
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.call(
            Method::POST,
            "/v1/alerts",
            Some(&ent_token),
            Some(dispatched)
        )
        .await
        .status,
        StatusCode::CREATED
    );
    for (field, value) in [
        ("issue", json!("x".repeat(257))),
        ("confidence", json!(1.5)),
        ("action", json!("")),
    ] {
        let mut bad = alert.clone();
        bad[field] = value;
        let r = api
            .call(Method::POST, "/v1/alerts", Some(&std_token), Some(bad))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
        assert!(r.message().starts_with(field));
    }
    let mut other = alert.clone();
    other["device_id"] = json!("aurra_999");
    assert_eq!(
        api.call(Method::POST, "/v1/alerts", Some(&std_token), Some(other))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Resolve once; again is a conflict; unknown is not found.
    api.advance(86_400);
    // A day later the old token has expired: take a new one.
    let std_token = api.token("acc_std", "sk_std").await;
    let r = api
        .call(
            Method::POST,
            &format!("/v1/alerts/{id}/resolve"),
            Some(&std_token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["resolved_at"], "2026-07-16T12:00:00Z");
    assert_eq!(
        api.call(
            Method::POST,
            &format!("/v1/alerts/{id}/resolve"),
            Some(&std_token),
            None
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        api.call(
            Method::POST,
            "/v1/alerts/nope/resolve",
            Some(&std_token),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let r = api
        .call(
            Method::GET,
            "/v1/predictive/hvac/aurra_001/status",
            Some(&std_token),
            None,
        )
        .await;
    assert_eq!(r.body["last_service"], "2026-07-16");
}
