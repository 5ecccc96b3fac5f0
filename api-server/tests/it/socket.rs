//! One exchange over a real socket on 127.0.0.1 against the running server.

use std::sync::Arc;
use std::time::Duration;

use api_server::{AppState, ServerConfig};
use sim_core::{SimDuration, SystemClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_token_over_tcp_on_loopback() {
    let state = AppState::new(Arc::new(SystemClock), 11, ServerConfig::default());
    let demo = api_server::serve::provision_demo(&state, 11);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api_server::serve::run(
        listener,
        state,
        SimDuration::from_secs(1),
        async {
            let _ = stopped.await;
        },
    ));
    let exchange = async {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let body = format!(
            r#"{{"client_id":"{}","client_secret":"{}","grant_type":"client_credentials"}}"#,
            demo.client_id, demo.client_secret
        );
        let request = format!(
            "POST /v1/auth/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).await.unwrap();
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("answered within 10 s");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains("\"access_token\":\"at_"), "{response}");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops within 10 s")
        .unwrap()
        .unwrap();
}

/// Webhooks leave `serve` as real, signed HTTP POSTs: a receiver on
/// loopback gets the event and verifies its signature.
#[tokio::test]
async fn webhooks_are_posted_over_http_and_verify() {
    use axum::body::Bytes;
    use axum::extract::State;
    use http::HeaderMap;
    use tokio::sync::mpsc;

    async fn receive(
        State(tx): State<mpsc::UnboundedSender<(String, Vec<u8>)>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> http::StatusCode {
        let sig = headers
            .get("x-aurra-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let _ = tx.send((sig, body.to_vec()));
        http::StatusCode::NO_CONTENT
    }

    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = receiver.local_addr().unwrap();
    let hook_app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(tx);
    tokio::spawn(async move { axum::serve(receiver, hook_app).await });

    let state = AppState::new(Arc::new(SystemClock), 12, ServerConfig::default())
        .with_webhook_sink(Arc::new(api_server::serve::HttpSink::new(
            Duration::from_secs(5),
        )));
    let demo = api_server::serve::provision_demo(&state, 12);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api_server::serve::run(
        listener,
        state,
        SimDuration::from_millis(100),
        async {
            let _ = stopped.await;
        },
    ));
    // The integration's calls, with a blocking client off the runtime.
    let device = demo.devices[0].0.clone();
    let (client_id, secret) = (demo.client_id.clone(), demo.client_secret.clone());
    let setpoint_status = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let base = format!("http://{addr}");
        let token: serde_json::Value = agent
            .post(format!("{base}/v1/auth/token"))
            .header("content-type", "application/json")
            .send(serde_json::json!({"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}).to_string())
            .unwrap()
            .body_mut()
            .read_to_string()
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap();
        let auth = format!("Bearer {}", token["access_token"].as_str().unwrap());
        let r = agent
            .post(format!("{base}/v1/webhooks"))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .send(serde_json::json!({"url": format!("http://{hook_addr}/hook"), "events": ["thermostat.temperature_change"], "secret": "whsec_loopback_0123"}).to_string())
            .unwrap();
        assert_eq!(r.status(), 201);
        agent
            .post(format!("{base}/v1/thermostat/{device}/setpoint"))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .send(serde_json::json!({"temperature": 70, "mode": "heat"}).to_string())
            .unwrap()
            .status()
            .as_u16()
    })
    .await
    .unwrap();
    assert_eq!(setpoint_status, 200);
    let (sig, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("delivered within 10 s")
        .unwrap();
    assert_eq!(
        sig,
        api_server::webhooks::sign("whsec_loopback_0123", &body),
        "signed over the raw body"
    );
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["event"], "thermostat.temperature_change");
    assert_eq!(event["data"]["new_temp"], 70);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops within 10 s")
        .unwrap()
        .unwrap();
}
