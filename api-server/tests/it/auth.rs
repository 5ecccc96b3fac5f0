//! AURRA authentication: tokens, expiry, scopes, tier limits, envelopes.

use http::{Method, StatusCode};
use serde_json::json;

use crate::harness::Api;

fn token_body(client: &str, secret: &str) -> serde_json::Value {
    json!({"client_id": client, "client_secret": secret, "grant_type": "client_credentials"})
}

#[tokio::test]
async fn client_credentials_give_a_bearer_token_for_an_hour() {
    let api = Api::new();
    let r = api
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(token_body("acc_std", "sk_std")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3_600);
    assert!(r.body["access_token"].as_str().unwrap().starts_with("at_"));
    assert_eq!(
        r.body["scope"],
        "diagnostics:read alerts:write energy:read comfort:write"
    );
    // A narrower scope on request.
    let mut body = token_body("acc_std", "sk_std");
    body["scope"] = json!("energy:read");
    let r = api
        .call(Method::POST, "/v1/auth/token", None, Some(body))
        .await;
    assert_eq!(r.body["scope"], "energy:read");
}

#[tokio::test]
async fn bad_token_requests_get_the_aurra_envelope() {
    let api = Api::new();
    let r = api
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(token_body("acc_std", "wrong")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["code"], "UNAUTHORIZED");
    assert_eq!(
        r.body["error"]["docs"],
        "https://docs.aurrahome.com/errors/UNAUTHORIZED"
    );
    let r = api
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(token_body("nobody", "x")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = api
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"client_id": "acc_std", "grant_type": "client_credentials"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("client_secret"));
    let mut body = token_body("acc_std", "sk_std");
    body["grant_type"] = json!("password");
    let r = api
        .call(Method::POST, "/v1/auth/token", None, Some(body))
        .await;
    assert!(r.message().contains("grant_type"));
    let mut body = token_body("acc_alerts", "sk_alerts");
    body["scope"] = json!("energy:read");
    let r = api
        .call(Method::POST, "/v1/auth/token", None, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("invalid_scope"));
    let r = api
        .raw(Method::POST, "/v1/auth/token", None, b"{not json".to_vec())
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("malformed JSON"));
}

#[tokio::test]
async fn tokens_expire_on_the_injected_clock() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    let path = "/v1/thermostat/aurra_001/status";
    assert_eq!(
        api.call(Method::GET, path, Some(&token), None).await.status,
        StatusCode::OK
    );
    api.advance(3_599);
    assert_eq!(
        api.call(Method::GET, path, Some(&token), None).await.status,
        StatusCode::OK
    );
    api.advance(2);
    let r = api.call(Method::GET, path, Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.message().contains("expired"));
    assert_eq!(
        api.call(Method::GET, path, None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.call(Method::GET, path, Some("at_forged"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn scopes_and_accounts_are_enforced() {
    let api = Api::new();
    let alerts_only = api.token("acc_alerts", "sk_alerts").await;
    let r = api
        .call(
            Method::GET,
            "/v1/thermostat/aurra_001/status",
            Some(&alerts_only),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"]["code"], "FORBIDDEN");
    let token = api.token("acc_std", "sk_std").await;
    // A device of another account is not found in this one.
    let r = api
        .call(
            Method::GET,
            "/v1/thermostat/aurra_999/status",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.message().contains("aurra_999"));
}

#[tokio::test]
async fn the_standard_tier_allows_100_a_minute_per_token() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    let path = "/v1/thermostat/aurra_001/status";
    for i in 0..100 {
        let r = api.call(Method::GET, path, Some(&token), None).await;
        assert_eq!(r.status, StatusCode::OK, "request {i}");
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some((99 - i).to_string().as_str())
        );
    }
    api.advance(20);
    let r = api.call(Method::GET, path, Some(&token), None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["error"]["code"], "RATE_LIMITED");
    assert_eq!(r.header("retry-after"), Some("40"));
    assert_eq!(r.header("x-ratelimit-limit"), Some("100"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("x-ratelimit-tier"), Some("standard"));
    let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert_eq!(reset, crate::harness::t0().as_millis() / 1000 + 60);
    // A second token has its own budget; after the window the first recovers.
    let other = api.token("acc_std", "sk_std").await;
    assert_eq!(
        api.call(Method::GET, path, Some(&other), None).await.status,
        StatusCode::OK
    );
    api.advance(40);
    assert_eq!(
        api.call(Method::GET, path, Some(&token), None).await.status,
        StatusCode::OK
    );
}
