//! Webhooks: registration, signed delivery, retries, offline events.

use std::sync::{Arc, Mutex};

use api_server::webhooks::{MAX_ATTEMPTS, Outgoing, WebhookSink};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sim_core::{SimDuration, SimTime};

use crate::harness::Api;

/// HMAC-SHA256 written out from its definition (RFC 2104), independent of
/// the server's `hmac` crate: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> String {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad.as_slice(), msg].concat());
    let outer = Sha256::digest([opad.as_slice(), inner.as_slice()].concat());
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// The seed's Python `verify_signature`, in Rust.
fn verify_signature(payload: &[u8], header_sig: &str, secret: &str) -> bool {
    format!("sha256={}", hmac_sha256(secret.as_bytes(), payload)) == header_sig
}

/// One delivery as received: (url, signature header, body, time).
type Received = (String, String, Vec<u8>, SimTime);

#[derive(Debug, Default)]
struct Receiver {
    got: Mutex<Vec<Received>>,
    /// Statuses to answer, in order; 200 after they run out.
    script: Mutex<Vec<Option<u16>>>,
}

impl WebhookSink for Receiver {
    fn deliver(&self, req: &Outgoing<'_>, now: SimTime) -> Option<u16> {
        let (url, body) = (req.url, req.body);
        let sig = req
            .headers
            .iter()
            .find(|(k, _)| *k == "x-aurra-signature")
            .map(|(_, v)| (*v).to_owned())
            .unwrap_or_default();
        self.got
            .lock()
            .unwrap()
            .push((url.to_owned(), sig, body.to_vec(), now));
        let mut script = self.script.lock().unwrap();
        if script.is_empty() {
            Some(200)
        } else {
            script.remove(0)
        }
    }
}

const SECRET: &str = "whsec_0123456789abcdef";

async fn register(api: &Api, token: &str, events: Value) -> String {
    let r = api
        .call(Method::POST, "/v1/webhooks", Some(token), Some(json!({"url": "https://example.com/aurra/webhook", "events": events, "secret": SECRET})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(
        r.body.get("secret").is_none(),
        "the secret is never returned"
    );
    r.body["webhook_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn events_are_delivered_signed_as_the_seed_verifies() {
    let receiver = Arc::new(Receiver::default());
    let api = Api::with_sink(receiver.clone());
    let token = api.token("acc_std", "sk_std").await;
    register(
        &api,
        &token,
        json!(["eco.mode_changed", "thermostat.temperature_change"]),
    )
    .await;
    let r = api
        .call(
            Method::POST,
            "/v1/thermostat/aurra_001/eco",
            Some(&token),
            Some(json!({"enabled": true, "heat_limit": 62, "cool_limit": 82})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    api.call(
        Method::POST,
        "/v1/thermostat/aurra_001/setpoint",
        Some(&token),
        Some(json!({"temperature": 71, "mode": "heat"})),
    )
    .await;
    // Alerts are not subscribed: not delivered.
    api.call(
        Method::POST,
        "/v1/alerts",
        Some(&token),
        Some(json!({"device_id": "aurra_001", "issue": "x", "confidence": 0.9, "action": "y"})),
    )
    .await;
    api.state.tick(api.clock_now());
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for (url, sig, body, _) in &got {
        assert_eq!(url, "https://example.com/aurra/webhook");
        assert!(verify_signature(body, sig, SECRET), "signature {sig}");
        assert!(!verify_signature(body, sig, "whsec_wrong_secret_00"));
    }
    let eco: Value = serde_json::from_slice(&got[0].2).unwrap();
    assert_eq!(eco["event"], "eco.mode_changed");
    assert_eq!(eco["timestamp"], "2026-07-15T12:00:00Z");
    assert_eq!(
        eco["data"],
        json!({"device_id": "aurra_001", "enabled": true, "heat_limit": 62, "cool_limit": 82})
    );
    let temp: Value = serde_json::from_slice(&got[1].2).unwrap();
    assert_eq!(
        temp["data"],
        json!({"device_id": "aurra_001", "old_temp": 68, "new_temp": 71, "mode": "heat"})
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff_and_recorded() {
    let receiver = Arc::new(Receiver::default());
    *receiver.script.lock().unwrap() = vec![Some(500), None];
    let api = Api::with_sink(receiver.clone());
    let token = api.token("acc_std", "sk_std").await;
    let id = register(
        &api,
        &token,
        json!(["predictive.alert_created", "predictive.alert_resolved"]),
    )
    .await;
    let r = api.call(Method::POST, "/v1/alerts", Some(&token), Some(json!({"device_id": "aurra_001", "issue": "Bearing", "confidence": 0.9, "action": "Inspect"}))).await;
    let alert_id = r.body["alert_id"].as_str().unwrap().to_owned();
    // Attempt 1 at t0 (500), retry 30 s later (unreachable), then 60 s later (200).
    let mut at = 0;
    for secs in [0, 10, 20, 30, 60, 89, 90] {
        api.advance(secs - at);
        at = secs;
        api.state.tick(api.clock_now());
    }
    let times: Vec<i64> = receiver
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|g| (g.3.as_millis() - crate::harness::t0().as_millis()) / 1000)
        .collect();
    assert_eq!(times, [0, 30, 90]);
    let r = api
        .call(
            Method::GET,
            &format!("/v1/webhooks/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.body["deliveries"], json!({"attempts": 3, "delivered": 1}));
    assert_eq!(r.body["recent"][0]["status"], 200);
    assert_eq!(r.body["recent"][1]["status"], Value::Null);
    // Resolving sends the resolved event.
    api.call(
        Method::POST,
        &format!("/v1/alerts/{alert_id}/resolve"),
        Some(&token),
        None,
    )
    .await;
    api.state.tick(api.clock_now());
    let last: Value =
        serde_json::from_slice(&receiver.got.lock().unwrap().last().unwrap().2).unwrap();
    assert_eq!(last["event"], "predictive.alert_resolved");
    assert_eq!(last["data"]["alert_id"], alert_id.as_str());
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_given_up_after_the_last_attempt() {
    let receiver = Arc::new(Receiver::default());
    *receiver.script.lock().unwrap() = vec![None; 100];
    let api = Api::with_sink(receiver.clone());
    let token = api.token("acc_std", "sk_std").await;
    register(&api, &token, json!(["eco.mode_changed"])).await;
    api.call(
        Method::POST,
        "/v1/thermostat/aurra_001/eco",
        Some(&token),
        Some(json!({"enabled": false})),
    )
    .await;
    for _ in 0..200 {
        api.state.tick(api.clock_now());
        api.advance(60);
    }
    assert_eq!(receiver.got.lock().unwrap().len(), MAX_ATTEMPTS as usize);
    assert!(
        api.state
            .with_account(0, |a| a.deliveries.is_empty())
            .unwrap()
    );
}

#[tokio::test]
async fn silent_devices_go_offline_once_per_silence() {
    let receiver = Arc::new(Receiver::default());
    let api = Api::with_sink(receiver.clone());
    let token = api.token("acc_std", "sk_std").await;
    register(&api, &token, json!(["device.offline"])).await;
    let reading = json!({"readings": [{"sensor_type": "temperature", "value": 20, "timestamp": "2026-07-15T12:00:00Z"}]});
    api.call(
        Method::POST,
        "/v1/telemetry",
        Some("dk_001"),
        Some(reading.clone()),
    )
    .await;
    api.advance(300);
    api.state.tick(api.clock_now());
    assert!(
        receiver.got.lock().unwrap().is_empty(),
        "5 minutes is not yet offline"
    );
    api.advance(1);
    api.state.tick(api.clock_now());
    api.advance(600);
    api.state.tick(api.clock_now());
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one event per silence");
    let e: Value = serde_json::from_slice(&got[0].2).unwrap();
    assert_eq!(e["data"]["device_id"], "aurra_001");
    assert_eq!(e["data"]["last_seen"], "2026-07-15T12:00:00Z");
    // Back, then silent again: a second event.
    api.call(Method::POST, "/v1/telemetry", Some("dk_001"), Some(reading))
        .await;
    api.state.tick(api.clock_now());
    api.advance(301);
    api.state.tick(api.clock_now());
    assert_eq!(receiver.got.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn registration_is_validated_and_webhooks_can_be_deleted() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    for (body, field) in [
        (
            json!({"url": "ftp://x", "events": ["device.offline"], "secret": SECRET}),
            "url",
        ),
        (
            json!({"url": "https://x.example", "events": ["device.exploded"], "secret": SECRET}),
            "events[0]",
        ),
        (
            json!({"url": "https://x.example", "events": [], "secret": SECRET}),
            "events",
        ),
        (
            json!({"url": "https://x.example", "events": ["device.offline"], "secret": "short"}),
            "secret",
        ),
    ] {
        let r = api
            .call(Method::POST, "/v1/webhooks", Some(&token), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
        assert!(r.message().starts_with(field), "{}", r.body);
    }
    assert_eq!(
        api.call(Method::POST, "/v1/webhooks", None, Some(json!({})))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let id = register(&api, &token, json!(["device.offline"])).await;
    assert_eq!(
        api.call(
            Method::GET,
            &format!("/v1/webhooks/{id}"),
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
            &format!("/v1/webhooks/{id}"),
            Some(&token),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        api.call(
            Method::GET,
            &format!("/v1/webhooks/{id}"),
            Some(&token),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/v1/webhooks/{id}"),
            Some(&token),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_account_asks_for_a_tick_exactly_when_its_timed_work_is_due() {
    let receiver = Arc::new(Receiver::default());
    let api = Api::with_sink(receiver.clone());
    let token = api.token("acc_std", "sk_std").await;
    register(&api, &token, json!(["device.offline"])).await;
    let (account, _) = api.state.device_for_key("dk_001").unwrap();
    let wake = || api.state.with_account(account, |a| a.wake()).unwrap();
    // Nothing heard, nothing scheduled: no tick needed.
    assert_eq!(
        api.state.tick_account(account, api.clock_now()),
        SimTime::MAX
    );
    let reading = json!({"readings": [{"sensor_type": "temperature", "value": 20, "timestamp": "2026-07-15T12:00:00Z"}]});
    api.call(Method::POST, "/v1/telemetry", Some("dk_001"), Some(reading))
        .await;
    // The device's silence is watched from its request on.
    let offline_at = api.clock_now() + SimDuration::from_millis(300_001);
    assert_eq!(wake(), offline_at);
    assert_eq!(api.state.tick_account(account, api.clock_now()), offline_at);
    api.advance(300);
    assert_eq!(api.state.tick_account(account, api.clock_now()), offline_at);
    assert!(receiver.got.lock().unwrap().is_empty());
    // At that instant the event goes out, and nothing is left to do.
    assert_eq!(api.state.tick_account(account, offline_at), SimTime::MAX);
    assert_eq!(receiver.got.lock().unwrap().len(), 1);
}
