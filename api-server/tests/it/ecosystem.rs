//! Energy reporting and voice links.

use api_server::ecosystem::{HomeEnergy, Tariff};
use http::{Method, StatusCode};
use serde_json::json;

use crate::harness::Api;

#[tokio::test]
async fn energy_is_computed_from_diagnostics_and_priced() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    // Two 5-minute reports of 5 min runtime at 240 V, 17 A: 2 × 240·17·0.85·(5/60) W·h.
    for start in ["2026-07-15T11:50:00Z", "2026-07-15T11:55:00Z"] {
        let body = json!({"device_id": "aurra_001", "runtime_mins": 5, "voltage": 240.0, "current_amps": 17.0, "period_start": start});
        assert_eq!(
            api.call(
                Method::POST,
                "/v1/diagnostics/energy",
                Some(&token),
                Some(body)
            )
            .await
            .status,
            StatusCode::CREATED
        );
    }
    api.state
        .with_account(0, |a| {
            a.tariff = Tariff {
                price_per_kwh: 0.2,
                currency: "USD".into(),
                peak: None,
            };
            a.device_mut("aurra_001").unwrap().home_energy = HomeEnergy {
                solar_kw: Some(6.5),
                ev: Some((75.0, 11.0)),
            };
        })
        .unwrap();
    let r = api
        .call(Method::GET, "/v1/energy/aurra_001", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let kwh = 2.0 * 240.0 * 17.0 * 0.85 * 5.0 / 60.0 / 1000.0;
    assert!(
        (r.body["hvac_kwh"].as_f64().unwrap() - kwh).abs() < 1e-3,
        "{}",
        r.body
    );
    assert_eq!(r.body["runtime_mins"], 10);
    assert!(
        (r.body["cost"]["amount"].as_f64().unwrap() - (kwh * 0.2 * 100.0).round() / 100.0).abs()
            < 1e-9
    );
    assert_eq!(r.body["solar"], json!({"capacity_kw": 6.5}));
    assert_eq!(
        r.body["ev"],
        json!({"battery_kwh": 75.0, "charger_kw": 11.0})
    );
    // A one-hour window ending two days later holds nothing.
    api.advance(2 * 86_400);
    let token = api.token("acc_std", "sk_std").await;
    let r = api
        .call(
            Method::GET,
            "/v1/energy/aurra_001?period_hours=1",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.body["hvac_kwh"], 0.0);
    for bad in ["0", "9000", "day"] {
        let r = api
            .call(
                Method::GET,
                &format!("/v1/energy/aurra_001?period_hours={bad}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let alerts_only = api.token("acc_alerts", "sk_alerts").await;
    assert_eq!(
        api.call(
            Method::GET,
            "/v1/energy/aurra_001",
            Some(&alerts_only),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn peak_hours_are_priced_in_local_time() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    api.call(
        Method::PATCH,
        "/v1/settings",
        Some("dk_001"),
        Some(json!({"timezone": "America/Denver"})),
    )
    .await;
    // 11:00 UTC is 05:00 in Denver (off-peak); 23:00 UTC is 17:00 (peak).
    for start in ["2026-07-15T11:00:00Z", "2026-07-14T23:00:00Z"] {
        let body = json!({"device_id": "aurra_001", "runtime_mins": 60, "voltage": 240.0, "current_amps": 10.0, "period_start": start});
        api.call(
            Method::POST,
            "/v1/diagnostics/energy",
            Some(&token),
            Some(body),
        )
        .await;
    }
    api.state
        .with_account(0, |a| {
            a.tariff = Tariff {
                price_per_kwh: 0.10,
                currency: "USD".into(),
                peak: Some((16, 21, 0.40)),
            }
        })
        .unwrap();
    let r = api
        .call(Method::GET, "/v1/energy/aurra_001", Some(&token), None)
        .await;
    let each: f64 = 240.0 * 10.0 * 0.85 / 1000.0;
    let expected = ((each * 0.10 + each * 0.40) * 100.0).round() / 100.0;
    assert_eq!(
        r.body["cost"]["amount"].as_f64().unwrap(),
        expected,
        "{}",
        r.body
    );
}

#[tokio::test]
async fn voice_links_one_per_platform() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    let link = json!({"platform": "alexa", "external_account_id": "amzn1.account.AH3", "device_ids": ["aurra_001"]});
    let r = api
        .call(
            Method::POST,
            "/v1/voice/links",
            Some(&token),
            Some(link.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["link_id"].as_str().unwrap().to_owned();
    assert_eq!(
        api.call(Method::POST, "/v1/voice/links", Some(&token), Some(link))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let bad = json!({"platform": "siri", "external_account_id": "x"});
    assert_eq!(
        api.call(Method::POST, "/v1/voice/links", Some(&token), Some(bad))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let other =
        json!({"platform": "homekit", "external_account_id": "x", "device_ids": ["aurra_999"]});
    assert_eq!(
        api.call(Method::POST, "/v1/voice/links", Some(&token), Some(other))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = api
        .call(Method::GET, "/v1/voice/links", Some(&token), None)
        .await;
    assert_eq!(r.body["links"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["links"][0]["platform"], "alexa");
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/v1/voice/links/{id}"),
            Some(&token),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/v1/voice/links/{id}"),
            Some(&token),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let r = api
        .call(Method::GET, "/v1/voice/links", Some(&token), None)
        .await;
    assert_eq!(r.body["links"], json!([]));
}
