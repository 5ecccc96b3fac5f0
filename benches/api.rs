//! The API server in process (no socket), one core, including auth, rate
//! limiting, JSON parsing/validation and storage:
//!
//! - `POST /v1/telemetry` with 3 readings (device API key auth, per-device
//!   limit, validation, store);
//! - `GET /v1/thermostat/{id}/status` (bearer token, tier limit, lookup);
//! - `POST /v1/diagnostics/vibration` (bearer token, tier and diagnostics
//!   limits, validation, the predictor's update, store).
//!
//! 1,000 devices and 1,000 enterprise tokens take turns and every request
//! is stamped 1 ms after the previous one, so no limit is hit: the figures
//! are the cost of a request that succeeds, with each device's store at its
//! retention bound (steady state).
//!
//! `cargo bench --bench api`

use std::sync::Arc;

use api_server::{AppState, RequestTime, ServerConfig, Tier, app};
use axum::body::Body;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::Request;
use http_body_util::BodyExt;
use sim_core::{SimDuration, SimTime, VirtualClock};
use tower::ServiceExt;

/// The allocator the `thermotwin` binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const N: usize = 1_000;
const BATCH: u64 = 1_000;

fn setup() -> (axum::Router, Vec<String>, SimTime) {
    let t0: SimTime = "2026-07-15T12:00:00Z".parse().expect("valid instant");
    // A bounded store (1,000 readings per device) measures the steady state;
    // with unbounded growth the bench would time page faults instead.
    let config = ServerConfig {
        telemetry_retention: 1_000,
        ..ServerConfig::default()
    };
    let state = AppState::new(Arc::new(VirtualClock::new(t0)), 1, config);
    let account = state.create_account("bench");
    state
        .add_client(
            account,
            "acc_bench",
            "sk_bench",
            &["diagnostics:read"],
            Tier::Enterprise,
        )
        .expect("client");
    for i in 0..N {
        state
            .add_device(account, &format!("dev-{i}"), &format!("dk-{i}"), false)
            .expect("device");
    }
    (app(state), Vec::new(), t0)
}

fn telemetry(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (router, _, t0) = setup();
    let body = br#"{"readings":[{"sensor_type":"temperature","value":21.5,"timestamp":"2026-07-15T12:00:00Z","seq":1},{"sensor_type":"humidity","value":44.0,"timestamp":"2026-07-15T12:00:00Z","seq":2},{"sensor_type":"pressure","value":1012.0,"timestamp":"2026-07-15T12:00:00Z","seq":3}]}"#;
    let keys: Vec<String> = (0..N).map(|i| format!("Bearer dk-{i}")).collect();
    let mut now = t0;
    let mut i = 0usize;
    let mut group = c.benchmark_group("api");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("post_telemetry_3_readings", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..BATCH {
                    now += SimDuration::from_millis(1);
                    i = (i + 1) % N;
                    let req = Request::post("/v1/telemetry")
                        .header("authorization", &keys[i])
                        .header("content-type", "application/json")
                        .extension(RequestTime(now))
                        .body(Body::from(&body[..]))
                        .expect("request");
                    let resp = router.clone().oneshot(req).await.expect("infallible");
                    assert!(resp.status().is_success(), "{}", resp.status());
                    let _ = resp.into_body().collect().await;
                }
            });
        });
    });
    group.finish();
}

/// `N` bearer tokens of the bench client (`Authorization` values).
fn bearer_tokens(rt: &tokio::runtime::Runtime, router: &axum::Router) -> Vec<String> {
    rt.block_on(async {
        let mut tokens = Vec::new();
        for _ in 0..N {
            let req = Request::post("/v1/auth/token")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"client_id":"acc_bench","client_secret":"sk_bench","grant_type":"client_credentials"}"#))
                .expect("request");
            let resp = router.clone().oneshot(req).await.expect("infallible");
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            tokens.push(format!("Bearer {}", v["access_token"].as_str().expect("token")));
        }
        tokens
    })
}

/// Benchmarks `name`: batches of `BATCH` token-authenticated requests,
/// each stamped `step` after the last, the `i`-th of `N` built by
/// `request(i, now)`. Tokens live 3600 s, so long runs go round the first
/// 50 minutes again (limit windows reset on a time jump back).
fn token_requests(
    c: &mut Criterion,
    name: &str,
    step: SimDuration,
    request: impl Fn(usize, &str, SimTime) -> Request<Body>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (router, _, t0) = setup();
    let tokens = bearer_tokens(&rt, &router);
    let mut now = t0;
    let mut i = 0usize;
    let mut group = c.benchmark_group("api");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function(name, |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..BATCH {
                    now += step;
                    if now >= t0 + SimDuration::from_mins(50) {
                        now = t0;
                    }
                    i = (i + 1) % N;
                    let req = request(i, &tokens[i], now);
                    let resp = router.clone().oneshot(req).await.expect("infallible");
                    assert!(resp.status().is_success(), "{}", resp.status());
                    let _ = resp.into_body().collect().await;
                }
            });
        });
    });
    group.finish();
}

/// `POST /v1/diagnostics/vibration` as the firmware sends it: bearer token,
/// tier and diagnostics limits, typed parse and validation, the primary
/// predictor's update, store. Requests 2 ms apart keep each token at 30 a
/// minute, under the diagnostics limit of 60.
fn vibration(c: &mut Criterion) {
    let bodies: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            format!(
                r#"{{"amplitude":0.42,"device_id":"dev-{i}","duration_ms":1000,"frequency":58.3,"kurtosis":3.1,"rms":0.21,"timestamp":"2026-07-15T12:00:00Z"}}"#
            )
            .into_bytes()
        })
        .collect();
    token_requests(
        c,
        "post_vibration_report",
        SimDuration::from_millis(2),
        |i, token, now| {
            Request::post("/v1/diagnostics/vibration")
                .header("authorization", token)
                .header("content-type", "application/json")
                .extension(RequestTime(now))
                .body(Body::from(bodies[i].clone()))
                .expect("request")
        },
    );
}

fn status(c: &mut Criterion) {
    let paths: Vec<String> = (0..N)
        .map(|i| format!("/v1/thermostat/dev-{i}/status"))
        .collect();
    token_requests(
        c,
        "get_thermostat_status",
        SimDuration::from_millis(1),
        |i, token, now| {
            Request::get(&paths[i])
                .header("authorization", token)
                .extension(RequestTime(now))
                .body(Body::empty())
                .expect("request")
        },
    );
}

/// The floor: routing a request to the fallback and answering a 404 in the
/// device envelope (no auth, no state) — axum's own per-request cost.
fn baseline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (router, _, _) = setup();
    let mut group = c.benchmark_group("api");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("baseline_404", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..BATCH {
                    let req = Request::get("/nowhere")
                        .body(Body::empty())
                        .expect("request");
                    let resp = router.clone().oneshot(req).await.expect("infallible");
                    let _ = resp.into_body().collect().await;
                }
            });
        });
    });
    group.finish();
}

criterion_group!(benches, baseline, telemetry, status, vibration);
criterion_main!(benches);
