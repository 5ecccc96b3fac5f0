//! Request time stamping, and no 5xx or panic on any input.

use api_server::RequestTime;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use proptest::prelude::*;
use sim_core::SimDuration;
use tower::ServiceExt;

use crate::harness::{Api, t0};

#[tokio::test]
async fn a_stamped_arrival_time_overrides_the_clock() {
    let api = Api::new();
    let token = api.token("acc_std", "sk_std").await;
    // The clock stays at t0; the request says it arrives two hours later,
    // after the token's expiry.
    let late = t0() + SimDuration::from_hours(2);
    let req = Request::builder()
        .uri("/v1/thermostat/aurra_001/status")
        .header("authorization", format!("Bearer {token}"))
        .extension(RequestTime(late))
        .body(Body::empty())
        .unwrap();
    let resp = api.router().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::PATCH),
        Just(Method::DELETE),
        Just(Method::PUT)
    ]
}

fn path() -> impl Strategy<Value = String> {
    // Every mounted route, ids filled with a real device or noise.
    let routes = (0..api_server::ROUTES.len(), "[a-z0-9_]{0,10}").prop_map(|(i, noise)| {
        let path = api_server::ROUTES[i].path;
        let id = if noise.len() % 2 == 0 {
            "aurra_001"
        } else {
            noise.as_str()
        };
        let mut out = String::new();
        let mut rest = path;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            out.push_str(id);
            rest = &rest[rest[open..].find('}').map_or(rest.len(), |c| open + c + 1)..];
        }
        out.push_str(rest);
        out
    });
    prop_oneof![
        routes,
        Just("/v1/telemetry".to_owned()),
        Just("/v1/settings".to_owned()),
        Just("/v1/commands/pending".to_owned()),
        Just("/v1/commands/result".to_owned()),
        Just("/v1/auth/token".to_owned()),
        "/v1/thermostat/[a-z0-9_%]{0,12}/status",
        "/[a-z0-9/]{0,20}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        Just(br#"{"readings":[{"sensor_type":"temperature","value":1e999,"timestamp":"2026-07-15T12:00:00Z"}]}"#.to_vec()),
        Just(br#"{"readings":[{"sensor_type":"temperature","value":20,"timestamp":"2026-13-45T99:00:00Z","seq":-1}]}"#.to_vec()),
        Just(br#"{"client_id":null,"client_secret":[],"grant_type":{}}"#.to_vec()),
        Just(br#"{"command_id":"x","status":"acked","result":"nope"}"#.to_vec()),
        Just(br#"{"reporting_interval_seconds":1e20,"location":{"latitude":"n","longitude":null}}"#.to_vec()),
        Just(br#"{"name":"a","trigger":{"type":"schedule","event":"sunset","offset":1e9},"actions":[{"type":"wait","seconds":-1}]}"#.to_vec()),
        Just(br#"{"name":"a","deviceId":"aurra_001","trigger":{"type":"sensor_range","deviceId":"aurra_001","sensor":"humidity","min":9,"max":1,"event":"enter"},"actions":[{"type":"device_command","deviceId":"aurra_001","tool":"set_eco","params":{"enabled":"yes"}}]}"#.to_vec()),
        Just(br#"{"device_id":"aurra_001","horizon_hours":48,"outdoor_forecast_f":[1e308,-1e308],"home":{"ua_w_per_k":"x"}}"#.to_vec()),
        Just(br#"{"device_id":"aurra_001","outdoor_forecast_f":[140,-60,140,-60,140,-60],"horizon_hours":6,"apply":true,"objective":"comfort"}"#.to_vec()),
        Just(br#"{"event":"button_press","sensor_id":[]}"#.to_vec()),
        "\\{\"[a-z_]{1,10}\":[-0-9a-z\"\\[\\]{}.,]{0,30}\\}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Whatever arrives, the answer is a 2xx/4xx, never a 5xx or a panic
    /// (the harness asserts status < 500 on every call).
    #[test]
    fn random_requests_never_cause_a_server_error(m in method(), p in path(), b in body(), key in prop_oneof![Just(None), Just(Some("dk_001")), Just(Some("dk_hub")), Just(Some("token"))]) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let api = Api::new();
            let token = match key {
                Some("token") => Some(api.token("acc_std", "sk_std").await),
                other => other.map(str::to_owned),
            };
            api.raw(m, &p, token.as_deref(), b).await;
            api.state.tick(api.clock_now() + SimDuration::from_hours(1));
        });
    }
}

#[tokio::test]
async fn the_openapi_spec_documents_every_route() {
    let api = Api::new();
    let r = api.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["openapi"], "3.1.0");
    let paths = r.body["paths"].as_object().unwrap();
    for route in api_server::ROUTES {
        let op = &paths[route.path][route.method];
        assert!(
            op.is_object(),
            "{} {} is undocumented",
            route.method,
            route.path
        );
        assert!(op["responses"][route.success.to_string()].is_object());
    }
    // Every documented route is mounted: nothing answers the fallback 404.
    for route in api_server::ROUTES {
        let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
        let path = route
            .path
            .replace("{device_id}", "aurra_001")
            .replace(['{', '}'], "");
        let resp = api.raw(method, &path, None, Vec::new()).await;
        assert_ne!(
            resp.body["message"], "no such endpoint",
            "{} {}",
            route.method, route.path
        );
    }
    let telemetry = &paths["/v1/telemetry"]["post"];
    assert_eq!(
        telemetry["security"][0]["deviceApiKey"],
        serde_json::json!([])
    );
    assert!(
        telemetry["requestBody"]["content"]["application/json"]["schema"]["properties"]["readings"]
            ["items"]["properties"]["seq"]
            .is_object()
    );
    assert_eq!(
        paths["/v1/alerts"]["post"]["security"][0]["aurraOAuth"][0],
        "alerts:write"
    );
}
