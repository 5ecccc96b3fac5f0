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
