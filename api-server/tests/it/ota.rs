//! OTA: check, download with ranges and limits, status, staged rollouts.

use api_server::ota::RolloutPlan;
use http::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::harness::Api;

fn everyone() -> RolloutPlan {
    RolloutPlan {
        batches: vec![100.0],
        ..RolloutPlan::default()
    }
}

#[tokio::test]
async fn check_offers_a_newer_release_with_its_checksum() {
    let api = Api::new();
    let image: Vec<u8> = (0..4_096u32).map(|i| (i % 251) as u8).collect();
    api.state
        .publish_release("1.1.0", image.clone(), "Bug fixes", everyone())
        .unwrap();
    let r = api
        .call(
            Method::GET,
            "/v1/ota/check?current_version=1.0.0",
            Some("dk_001"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let expected: String = Sha256::digest(&image)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        r.body,
        json!({"update_available": true, "version": "1.1.0", "checksum": format!("sha256:{expected}"), "size_bytes": 4_096, "release_notes": "Bug fixes"})
    );
    assert_eq!(r.header("x-ratelimit-endpoint"), Some("ota_check"));
    let r = api
        .call(
            Method::GET,
            "/v1/ota/check?current_version=1.1.0",
            Some("dk_001"),
            None,
        )
        .await;
    assert_eq!(r.body, json!({"update_available": false}));
    let r = api
        .call(Method::GET, "/v1/ota/check", Some("dk_001"), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api
        .call(
            Method::GET,
            "/v1/ota/check?current_version=latest",
            Some("dk_001"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    for _ in 0..6 {
        api.call(
            Method::GET,
            "/v1/ota/check?current_version=1.0.0",
            Some("dk_001"),
            None,
        )
        .await;
    }
    assert_eq!(
        api.call(
            Method::GET,
            "/v1/ota/check?current_version=1.0.0",
            Some("dk_001"),
            None
        )
        .await
        .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(
        api.state
            .publish_release("1.1.0", vec![1], "", everyone())
            .is_err(),
        "no duplicate versions"
    );
}

#[tokio::test]
async fn downloads_support_ranges_and_five_an_hour() {
    let api = Api::new();
    let image: Vec<u8> = (0..1_000u32).map(|i| (i % 256) as u8).collect();
    api.state
        .publish_release("2.0.0", image.clone(), "", everyone())
        .unwrap();
    let path = "/v1/ota/download/2.0.0";
    let whole = api.call(Method::GET, path, Some("dk_001"), None).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let bytes = api
        .bytes(Method::GET, path, Some("dk_hub"), Some("bytes=10-19"))
        .await;
    assert_eq!(bytes.0, StatusCode::PARTIAL_CONTENT);
    assert_eq!(bytes.1.as_deref(), Some("bytes 10-19/1000"));
    assert_eq!(bytes.2, image[10..20].to_vec());
    let bad = api
        .bytes(Method::GET, path, Some("dk_hub"), Some("bytes=5000-"))
        .await;
    assert_eq!(bad.0, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        api.call(Method::GET, "/v1/ota/download/9.9.9", Some("dk_001"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for _ in 0..3 {
        api.call(Method::GET, path, Some("dk_001"), None).await;
    }
    let r = api.call(Method::GET, path, Some("dk_001"), None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("x-ratelimit-endpoint"), Some("ota_download"));
    assert_eq!(r.header("retry-after"), Some("3600"));
}

#[tokio::test]
async fn status_reports_are_validated_and_recorded() {
    let api = Api::new();
    api.state
        .publish_release("1.1.0", vec![1, 2, 3], "", everyone())
        .unwrap();
    let post = |body: serde_json::Value| async {
        api.call(Method::POST, "/v1/ota/status", Some("dk_001"), Some(body))
            .await
    };
    let r =
        post(json!({"version": "1.1.0", "status": "downloading", "progress_percent": 40})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["recorded"], true);
    assert_eq!(
        post(json!({"version": "1.1.0", "status": "exploded"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(json!({"version": "1.1.0", "status": "downloading", "progress_percent": 101}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(json!({"version": "7.0.0", "status": "completed"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let s = api.state.release("1.1.0").unwrap();
    let st = &s.statuses[&(0, "aurra_001".to_owned())];
    assert_eq!(
        (st.status.as_str(), st.progress_percent),
        ("downloading", Some(40))
    );
}

/// 200 devices; the release's first batch is 10 %.
fn fleet(api: &Api) -> Vec<(String, String)> {
    (0..200)
        .map(|i| {
            let (id, key) = (format!("fleet-{i}"), format!("dk-fleet-{i}"));
            api.state.add_device(0, &id, &key, false).unwrap();
            (id, key)
        })
        .collect()
}

async fn offered(api: &Api, fleet: &[(String, String)], version: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (_, key) in fleet {
        let r = api
            .call(
                Method::GET,
                "/v1/ota/check?current_version=1.0.0",
                Some(key),
                None,
            )
            .await;
        if r.body["version"] == version {
            out.push(key.clone());
        }
    }
    api.advance(60);
    out
}

#[tokio::test]
async fn a_good_rollout_advances_batch_by_batch() {
    let api = Api::new();
    let fleet = fleet(&api);
    let plan = RolloutPlan {
        batches: vec![10.0, 100.0],
        advance_success_rate: 0.9,
        halt_failure_rate: 0.2,
        min_reports: 5,
    };
    api.state
        .publish_release("1.1.0", vec![9; 64], "", plan)
        .unwrap();
    let first = offered(&api, &fleet, "1.1.0").await;
    assert!(
        (8..=35).contains(&first.len()),
        "{} of 200 in a 10 % batch",
        first.len()
    );
    for key in &first {
        api.call(
            Method::POST,
            "/v1/ota/status",
            Some(key),
            Some(json!({"version": "1.1.0", "status": "completed"})),
        )
        .await;
    }
    api.state.tick(api.clock_now());
    assert_eq!(api.state.release("1.1.0").unwrap().stage, 1);
    assert_eq!(offered(&api, &fleet, "1.1.0").await.len(), 200);
}

#[tokio::test]
async fn a_bad_rollout_halts() {
    let api = Api::new();
    let fleet = fleet(&api);
    let plan = RolloutPlan {
        batches: vec![10.0, 100.0],
        advance_success_rate: 0.9,
        halt_failure_rate: 0.2,
        min_reports: 5,
    };
    api.state
        .publish_release("1.2.0", vec![7; 64], "", plan)
        .unwrap();
    let first = offered(&api, &fleet, "1.2.0").await;
    for (i, key) in first.iter().enumerate() {
        let status = if i % 2 == 0 { "failed" } else { "completed" };
        api.call(
            Method::POST,
            "/v1/ota/status",
            Some(key),
            Some(json!({"version": "1.2.0", "status": status})),
        )
        .await;
    }
    api.state.tick(api.clock_now());
    let r = api.state.release("1.2.0").unwrap();
    assert!(r.halted && r.stage == 0);
    assert!(
        offered(&api, &fleet, "1.2.0").await.is_empty(),
        "a halted release is offered to no one"
    );
    let r = api
        .call(
            Method::GET,
            "/v1/ota/download/1.2.0",
            Some(&fleet[0].1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
