//! An in-process client on a virtual clock.

use std::sync::Arc;

use api_server::{AppState, ServerConfig, Tier, app};
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use sim_core::{SimDuration, SimTime, VirtualClock};
use tower::ServiceExt;

pub(crate) struct Api {
    pub(crate) state: AppState,
    pub(crate) clock: VirtualClock,
    router: Router,
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    /// The error message, from either envelope (AURRA's nested
    /// `error.message`, or the flat `message`).
    pub(crate) fn message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .or_else(|| self.body["message"].as_str())
            .unwrap_or_else(|| panic!("no error message in {}", self.body))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) fn t0() -> SimTime {
    "2026-07-15T12:00:00Z".parse().unwrap()
}

impl Api {
    pub(crate) fn with_config(config: ServerConfig) -> Api {
        Api::build(config, |s| s)
    }

    pub(crate) fn with_sink(sink: Arc<dyn api_server::webhooks::WebhookSink>) -> Api {
        Api::build(ServerConfig::default(), |s| s.with_webhook_sink(sink))
    }

    pub(crate) fn with_forecast(forecast: Arc<dyn api_server::climate::Forecast>) -> Api {
        Api::build(ServerConfig::default(), |s| s.with_forecast(forecast))
    }

    fn build(config: ServerConfig, install: impl FnOnce(AppState) -> AppState) -> Api {
        let clock = VirtualClock::new(t0());
        let state = install(AppState::new(Arc::new(clock.clone()), 42, config));
        let acme = state.create_account("acme");
        state
            .add_client(
                acme,
                "acc_std",
                "sk_std",
                &[
                    "diagnostics:read",
                    "alerts:write",
                    "energy:read",
                    "comfort:write",
                ],
                Tier::Standard,
            )
            .unwrap();
        state
            .add_client(
                acme,
                "acc_alerts",
                "sk_alerts",
                &["alerts:write"],
                Tier::Enterprise,
            )
            .unwrap();
        state
            .add_device(acme, "aurra_001", "dk_001", false)
            .unwrap();
        state.add_device(acme, "hub_001", "dk_hub", true).unwrap();
        let other = state.create_account("other");
        state
            .add_device(other, "aurra_999", "dk_999", false)
            .unwrap();
        Api {
            router: app(state.clone()),
            state,
            clock,
        }
    }

    pub(crate) fn new() -> Api {
        Api::with_config(ServerConfig::default())
    }

    pub(crate) fn router(&self) -> Router {
        self.router.clone()
    }

    pub(crate) fn clock_now(&self) -> SimTime {
        use sim_core::Clock;
        self.clock.now()
    }

    /// A raw GET with an optional `Range`: (status, Content-Range, body bytes).
    pub(crate) async fn bytes(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        range: Option<&str>,
    ) -> (StatusCode, Option<String>, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(a) = auth {
            req = req.header("authorization", format!("Bearer {a}"));
        }
        if let Some(r) = range {
            req = req.header("range", r);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let cr = resp
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, cr, body)
    }

    pub(crate) fn advance(&self, secs: u64) {
        self.clock.advance(SimDuration::from_secs(secs));
    }

    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(a) = auth {
            req = req.header("authorization", format!("Bearer {a}"));
        }
        let req = req
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(status.as_u16() < 500, "{status} from {path}");
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        self.raw(method, path, auth, bytes).await
    }

    pub(crate) async fn token(&self, client: &str, secret: &str) -> String {
        let r = self
            .call(
                Method::POST,
                "/v1/auth/token",
                None,
                Some(serde_json::json!({"client_id": client, "client_secret": secret, "grant_type": "client_credentials"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }
}
