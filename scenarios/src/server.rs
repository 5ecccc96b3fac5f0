//! The server side of a run: the real API server in process (its router,
//! shared by every partition), provisioning, the scenario's integrations,
//! the webhook receiver that verifies every delivery, the technicians'
//! alert resolutions and OTA publishing.
//!
//! Each account's requests, integration jobs and resolutions are handled in
//! its shard ([`crate::shard`]), in exact time order on one thread; the
//! operator's publishing runs between windows.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use api_server::{AppState, RequestTime};
use axum::Router;
use axum::body::Body;
use device_firmware::http::{Request as FwRequest, Response as FwResponse};
use http_body_util::BodyExt;
use rand::RngExt;
use rand_distr::{Distribution, Exp};
use serde_json::{Value, json};
use sim_core::{SimDuration, SimRng, SimTime, stream};
use tower::ServiceExt;

use crate::home::{Inbound, Outgoing};

/// Polls a future that never waits on I/O (the in-process router) to
/// completion; `None` if it does not finish.
pub fn block_on<F: Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return Some(v);
        }
    }
    None
}

/// One in-process HTTP exchange: (status, headers, body).
pub fn call(
    router: &Router,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    at: SimTime,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let Some(req) = request(method, path, headers, body, at) else {
        return (
            400,
            Vec::new(),
            b"{\"error\":\"unsendable request\"}".to_vec(),
        );
    };
    let Some(Ok(resp)) = block_on(router.clone().oneshot(req)) else {
        return (503, Vec::new(), Vec::new());
    };
    let status = resp.status().as_u16();
    // Only the header the simulated clients act on crosses back: the
    // firmware and the integrations read `Retry-After` (bodies are always
    // JSON); copying every X-RateLimit-* header into owned strings for each
    // of millions of responses was the runner's largest allocation cost.
    let headers = resp
        .headers()
        .get(http::header::RETRY_AFTER)
        .map(|v| {
            vec![(
                "retry-after".to_owned(),
                v.to_str().unwrap_or("").to_owned(),
            )]
        })
        .unwrap_or_default();
    // A one-frame body comes back as the server's own buffer (no copy).
    let body = block_on(resp.into_body().collect())
        .and_then(Result::ok)
        .map(|c| Vec::from(c.to_bytes()))
        .unwrap_or_default();
    (status, headers, body)
}

/// The `http::Request` of an exchange; `None` if a part is not valid HTTP.
/// The headers clients send are named by the `http` crate's constants (no
/// parsing of their names per request).
fn request(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    at: SimTime,
) -> Option<http::Request<Body>> {
    let mut req = http::Request::new(Body::from(body));
    *req.method_mut() = match method {
        "GET" => http::Method::GET,
        "POST" => http::Method::POST,
        "PATCH" => http::Method::PATCH,
        "PUT" => http::Method::PUT,
        "DELETE" => http::Method::DELETE,
        other => http::Method::from_bytes(other.as_bytes()).ok()?,
    };
    *req.uri_mut() = http::Uri::try_from(path).ok()?;
    req.extensions_mut().insert(RequestTime(at));
    let map = req.headers_mut();
    map.reserve(headers.len());
    for (k, v) in headers {
        let name = if k.eq_ignore_ascii_case("authorization") {
            http::header::AUTHORIZATION
        } else if k.eq_ignore_ascii_case("content-type") {
            http::header::CONTENT_TYPE
        } else {
            http::HeaderName::try_from(k.as_str()).ok()?
        };
        map.append(name, http::HeaderValue::try_from(v.as_str()).ok()?);
    }
    Some(req)
}

/// A JSON call with an optional bearer token: (status, headers, JSON body).
fn call_json(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    at: SimTime,
) -> (u16, Vec<(String, String)>, Value) {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(t) = token {
        headers.push(("authorization".to_owned(), format!("Bearer {t}")));
    }
    let bytes = body
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let (status, headers, body) = call(router, method, path, &headers, bytes, at);
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// The route template of a path, for request statistics.
pub fn endpoint(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let mut out = Vec::new();
    let mut id_next = false;
    for seg in path.split('/') {
        if id_next {
            out.push("{id}");
            id_next = false;
            continue;
        }
        id_next = matches!(
            seg,
            "thermostat"
                | "hvac"
                | "alerts"
                | "webhooks"
                | "automations"
                | "download"
                | "energy"
                | "links"
        );
        out.push(seg);
    }
    out.join("/")
}

/// One request the server handled, for `requests.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    /// When it reached the server.
    pub arrival: SimTime,
    /// `home`, `integration` or `operations`.
    pub source: &'static str,
    /// The client: an integration's name, `operations`; `None` for a
    /// home's thermostat.
    pub client: Option<Arc<str>>,
    /// The client's rate-limit tier (`standard`, `enterprise`; `device` for
    /// thermostats).
    pub tier: &'static str,
    /// The home, for its own requests.
    pub home: Option<usize>,
    /// Method.
    pub method: &'static str,
    /// Route template.
    pub endpoint: Arc<str>,
    /// Status.
    pub status: u16,
    /// `Retry-After` [s] on a 429.
    pub retry_after_s: Option<u64>,
    /// Modelled one-way latencies [ms] (homes' requests).
    pub latency_ms: Option<(u64, u64)>,
}

/// Counts of one run, merged from every partition (sums: the order of
/// merging does not matter).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests by endpoint (route template) and status, in first-seen
    /// order; [`Stats::requests`] sorts them.
    endpoints: Vec<(Arc<str>, StatusCounts)>,
    /// Requests lost in transit or cut off by outages.
    pub lost: u64,
    /// Retry-After values seen on 429s [s] → count.
    pub retry_after_s: BTreeMap<u64, u64>,
    /// Integration jobs skipped while rate-limited.
    pub integration_skipped: u64,
    /// Technician visits sent.
    pub visits: u64,
    /// Alerts resolved after visits.
    pub alerts_resolved: u64,
    /// Releases published.
    pub releases_published: u64,
    /// Automations created.
    pub automations_created: u64,
    /// Rows for `requests.parquet`, in handling order (drained by the runner).
    pub rows: Vec<RequestRow>,
    /// Paths seen → their index in `endpoints` (each template computed once).
    routes: foldhash::HashMap<Box<str>, usize>,
    /// The index in `endpoints` of each of [`FIXED_PATHS`] once seen: the
    /// thermostats' own paths, found without hashing (most requests).
    fixed: [Option<u32>; FIXED_PATHS.len()],
}

/// Paths without ids or queries that every thermostat calls, most often
/// first.
const FIXED_PATHS: [&str; 8] = [
    "/v1/commands/pending",
    "/v1/diagnostics/vibration",
    "/v1/telemetry",
    "/v1/diagnostics/energy",
    "/v1/settings",
    "/v1/events",
    "/v1/auth/token",
    "/v1/commands/result",
];

impl Stats {
    /// Counts a request of an integration or the operations client.
    fn count(
        &mut self,
        at: SimTime,
        caller: &Caller,
        method: &'static str,
        path: &str,
        status: u16,
        headers: &[(String, String)],
    ) {
        let row = RequestRow {
            arrival: at,
            source: caller.source,
            client: Some(caller.client.clone()),
            tier: caller.tier,
            home: None,
            method,
            endpoint: Arc::from(""),
            status,
            retry_after_s: None,
            latency_ms: None,
        };
        self.log(row, path, headers);
    }

    /// Counts a request and keeps its row (endpoint and Retry-After filled in).
    fn log(&mut self, mut row: RequestRow, path: &str, headers: &[(String, String)]) {
        let index = match FIXED_PATHS.iter().position(|p| *p == path) {
            Some(k) => match self.fixed[k] {
                Some(i) => i as usize,
                None => {
                    let i = self.endpoint_index(&endpoint(path));
                    self.fixed[k] = Some(i as u32);
                    i
                }
            },
            None => self.route_index(path),
        };
        let (endpoint, by_status) = &mut self.endpoints[index];
        bump(by_status, row.status, 1);
        row.endpoint = endpoint.clone();
        if row.status == 429
            && let Some(s) = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| v.parse::<u64>().ok())
        {
            *self.retry_after_s.entry(s).or_default() += 1;
            row.retry_after_s = Some(s);
        }
        self.rows.push(row);
    }

    /// The index in `endpoints` of a path with ids or a query (its template
    /// computed once per path).
    fn route_index(&mut self, path: &str) -> usize {
        if let Some(&i) = self.routes.get(path) {
            return i;
        }
        // Paths carry device and alert ids: bounded all the same.
        if self.routes.len() >= 100_000 {
            self.routes.clear();
        }
        let i = self.endpoint_index(&endpoint(path));
        self.routes.insert(path.into(), i);
        i
    }

    /// The index of `endpoint` in `endpoints`, added if new (a few dozen
    /// templates: a scan beats hashing).
    fn endpoint_index(&mut self, endpoint: &str) -> usize {
        match self.endpoints.iter().position(|(e, _)| &**e == endpoint) {
            Some(i) => i,
            None => {
                self.endpoints.push((Arc::from(endpoint), Vec::new()));
                self.endpoints.len() - 1
            }
        }
    }

    /// Requests by endpoint and status.
    pub fn requests(&self) -> BTreeMap<Arc<str>, BTreeMap<u16, u64>> {
        let mut out: BTreeMap<Arc<str>, BTreeMap<u16, u64>> = BTreeMap::new();
        for (e, by) in &self.endpoints {
            let mine = out.entry(e.clone()).or_default();
            for &(s, n) in by {
                *mine.entry(s).or_default() += n;
            }
        }
        out
    }

    pub(crate) fn merge(&mut self, other: Stats) {
        for (e, by) in other.endpoints {
            let i = self.endpoint_index(&e);
            for (s, n) in by {
                bump(&mut self.endpoints[i].1, s, n);
            }
        }
        for (s, n) in other.retry_after_s {
            *self.retry_after_s.entry(s).or_default() += n;
        }
        self.lost += other.lost;
        self.integration_skipped += other.integration_skipped;
        self.visits += other.visits;
        self.alerts_resolved += other.alerts_resolved;
        self.releases_published += other.releases_published;
        self.automations_created += other.automations_created;
        self.rows.extend(other.rows);
    }

    /// Total requests with `status`.
    pub fn with_status(&self, status: u16) -> u64 {
        self.endpoints
            .iter()
            .flat_map(|(_, by)| by.iter().filter(|(s, _)| *s == status))
            .map(|(_, n)| n)
            .sum()
    }

    /// Total requests handled by the server.
    pub fn total(&self) -> u64 {
        self.endpoints
            .iter()
            .flat_map(|(_, by)| by.iter().map(|(_, n)| n))
            .sum()
    }
}

/// (status, count) pairs of one endpoint, in first-seen order.
type StatusCounts = Vec<(u16, u64)>;

/// Adds `n` to `status`'s count in a short (status, count) list.
fn bump(by_status: &mut Vec<(u16, u64)>, status: u16, n: u64) {
    match by_status.iter_mut().find(|(s, _)| *s == status) {
        Some((_, count)) => *count += n,
        None => by_status.push((status, n)),
    }
}

/// The receiver of webhooks: verifies each signature with the secret its
/// integration registered (the seed's algorithm) and records what came.
#[derive(Debug, Default)]
pub struct Receiver {
    inner: Mutex<ReceiverState>,
}

/// What the receiver saw.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct ReceiverState {
    #[serde(skip)]
    secrets: HashMap<String, String>,
    /// Deliveries received.
    pub received: u64,
    /// Of which the signature verified.
    pub verified: u64,
    /// By event type.
    pub by_event: BTreeMap<String, u64>,
    /// Alert ids received in `predictive.alert_created`, with the time.
    #[serde(skip)]
    pub alerts: Vec<(SimTime, String)>,
    /// Deliveries for `webhooks.parquet` (at, url, event, verified),
    /// drained by the runner.
    #[serde(skip)]
    pub rows: Vec<WebhookRow>,
}

impl Receiver {
    fn register(&self, url: &str, secret: &str) {
        let mut s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.secrets.insert(url.to_owned(), secret.to_owned());
    }

    /// Takes the delivery rows recorded so far, in time order (partitions
    /// deliver concurrently; rows equal in every field are interchangeable,
    /// so the order does not depend on threads).
    pub fn drain_rows(&self) -> Vec<WebhookRow> {
        let mut s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut rows = std::mem::take(&mut s.rows);
        rows.sort_unstable();
        rows
    }

    /// A snapshot (alerts in time order).
    pub fn state(&self) -> ReceiverState {
        let mut s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        s.alerts.sort_unstable();
        s
    }
}

impl api_server::webhooks::WebhookSink for Receiver {
    fn deliver(&self, req: &api_server::webhooks::Outgoing<'_>, now: SimTime) -> Option<u16> {
        let mut s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.received += 1;
        let signature = req
            .headers
            .iter()
            .find(|(k, _)| *k == "x-aurra-signature")
            .map(|(_, v)| *v);
        let verified = match (s.secrets.get(req.url), signature) {
            (Some(secret), Some(sig)) => api_server::webhooks::sign(secret, req.body) == sig,
            _ => false,
        };
        if verified {
            s.verified += 1;
        }
        let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        let event = body["event"]
            .as_str()
            .unwrap_or("automation.webhook")
            .to_owned();
        if verified
            && event == "predictive.alert_created"
            && let Some(id) = body["data"]["alert_id"].as_str()
        {
            s.alerts.push((now, id.to_owned()));
        }
        *s.by_event.entry(event.clone()).or_default() += 1;
        let attempt = req
            .headers
            .iter()
            .find(|(k, _)| *k == "x-aurra-delivery-attempt")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        s.rows
            .push((now, req.url.to_owned(), event, verified, attempt));
        // Unsigned automation calls have no secret here; they are accepted.
        Some(200)
    }
}

/// A delivery the receiver got: time, URL, event, signature verified,
/// attempt number.
pub type WebhookRow = (SimTime, String, String, bool, u32);

/// A job of an integration.
#[derive(Debug, Clone, PartialEq)]
enum Job {
    Webhook {
        event_types: Vec<String>,
        url: String,
        secret: String,
    },
    Schedule(String),
    Eco(String),
}

/// A periodic duty: every device once per `period`, spread evenly.
#[derive(Debug, Clone)]
struct Periodic {
    step: SimDuration,
    next: SimTime,
    cursor: usize,
}

impl Periodic {
    /// The device due at `t`; moves on to the next.
    fn take(&mut self, t: SimTime, devices: &[String]) -> String {
        let d = devices[self.cursor % devices.len()].clone();
        self.cursor += 1;
        self.next = t + self.step;
        d
    }

    fn new(period: SimDuration, devices: usize, start: SimTime) -> Option<Periodic> {
        let step = SimDuration::from_millis((period.as_millis() / devices.max(1) as u64).max(1));
        (devices > 0).then_some(Periodic {
            step,
            next: start + step,
            cursor: 0,
        })
    }
}

/// An integration: its own client and token, its duties.
#[derive(Debug)]
struct Integration {
    caller: Caller,
    client_id: String,
    secret: String,
    devices: Vec<String>,
    token: Option<(String, SimTime)>,
    blocked_until: SimTime,
    setup: VecDeque<Job>,
    setup_next: SimTime,
    poll: Option<Periodic>,
    optimize: Option<Periodic>,
    setpoint_rate_per_s: f64,
    setpoint_next: SimTime,
    rng: SimRng,
}

/// Who makes a runner-side request: its `requests.parquet` labels.
#[derive(Debug, Clone)]
struct Caller {
    source: &'static str,
    client: Arc<str>,
    tier: &'static str,
}

/// The operations client's labels (enterprise tier, as provisioned).
fn operations() -> Caller {
    Caller {
        source: "operations",
        client: Arc::from("operations"),
        tier: "enterprise",
    }
}

/// An account's partition on the runner's side: its operations client,
/// integrations, pending alert resolutions and counts.
#[derive(Debug)]
pub(crate) struct AccountSide {
    /// The server's account id.
    pub(crate) id: usize,
    ops_client: (String, String),
    ops: Caller,
    ops_token: Option<(String, SimTime)>,
    integrations: Vec<Integration>,
    /// Alert resolutions due: (time, alert id).
    resolutions: Vec<(SimTime, String)>,
    /// Counts (and request rows not yet handed on).
    pub(crate) stats: Stats,
}

/// What every partition reads and nothing changes during a window: the
/// server, its router, the webhook receiver, defective releases, the
/// technicians' delay.
pub struct Shared {
    /// The API server's state.
    pub state: AppState,
    router: Router,
    /// The webhook receiver.
    pub receiver: Arc<Receiver>,
    /// Releases that corrupt a share of downloads: (version, share).
    defects: Vec<(String, f64)>,
    seed: u64,
    /// Technicians' delay after an alert (none: no visits).
    pub(crate) visits_delay: Option<SimDuration>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("defects", &self.defects)
            .finish_non_exhaustive()
    }
}

/// OTA publishing by the operator, between windows.
#[derive(Debug)]
pub struct Publisher {
    releases: Vec<(SimTime, crate::schema::ReleaseSpec, bool)>,
    seed: u64,
    /// Releases published so far.
    pub published: u64,
}

/// The provisioned server side of a run.
#[derive(Debug)]
pub struct Provisioned {
    /// Read by every partition.
    pub shared: Arc<Shared>,
    /// One per account, in account order.
    pub(crate) sides: Vec<AccountSide>,
    /// The operator's releases.
    pub publisher: Publisher,
    /// Requests made while provisioning (automations).
    pub stats: Stats,
}

fn retry_after(headers: &[(String, String)]) -> u64 {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(60)
}

impl Integration {
    /// A valid token at `t`, fetching one when needed.
    fn token(&mut self, router: &Router, t: SimTime, stats: &mut Stats) -> Option<String> {
        if let Some((tok, exp)) = &self.token
            && t + SimDuration::from_mins(5) < *exp
        {
            return Some(tok.clone());
        }
        let body = json!({"client_id": self.client_id, "client_secret": self.secret, "grant_type": "client_credentials"});
        let (status, headers, v) =
            call_json(router, "POST", "/v1/auth/token", None, Some(&body), t);
        stats.count(t, &self.caller, "POST", "/v1/auth/token", status, &headers);
        let tok = v["access_token"].as_str()?.to_owned();
        let secs = v["expires_in"].as_u64().unwrap_or(3_600);
        self.token = Some((tok.clone(), t + SimDuration::from_secs(secs)));
        Some(tok)
    }

    /// The earliest job time.
    fn next_job(&self) -> SimTime {
        let mut t = SimTime::MAX;
        if !self.setup.is_empty() {
            t = t.min(self.setup_next.max(self.blocked_until));
        }
        if let Some(p) = &self.poll {
            t = t.min(p.next);
        }
        if let Some(p) = &self.optimize {
            t = t.min(p.next);
        }
        if self.setpoint_rate_per_s > 0.0 {
            t = t.min(self.setpoint_next);
        }
        t
    }

    /// One request of the integration: handles 401 (drop the token) and
    /// 429 (wait out Retry-After). Returns the status.
    fn request(
        &mut self,
        router: &Router,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
        t: SimTime,
        stats: &mut Stats,
    ) -> u16 {
        let Some(tok) = self.token(router, t, stats) else {
            return 401;
        };
        let (status, headers, _) = call_json(router, method, path, Some(&tok), body, t);
        stats.count(t, &self.caller, method, path, status, &headers);
        match status {
            401 => self.token = None,
            429 => self.blocked_until = t + SimDuration::from_secs(retry_after(&headers)),
            _ => {}
        }
        status
    }

    /// Runs the jobs due before `bound`.
    fn run_until(
        &mut self,
        router: &Router,
        bound: SimTime,
        receiver: &Receiver,
        stats: &mut Stats,
    ) {
        loop {
            let t = self.next_job();
            if t >= bound {
                return;
            }
            if !self.setup.is_empty() && t == self.setup_next.max(self.blocked_until) {
                let job = self.setup.front().cloned();
                let ok = match job {
                    Some(Job::Webhook {
                        event_types,
                        url,
                        secret,
                    }) => {
                        receiver.register(&url, &secret);
                        let body = json!({"url": url, "events": event_types, "secret": secret});
                        self.request(router, "POST", "/v1/webhooks", Some(&body), t, stats)
                    }
                    Some(Job::Schedule(d)) => {
                        let body = json!({"name": "Workday", "blocks": [
                            {"label": "Morning", "start": "06:00", "end": "08:00", "heat": 70, "cool": 75, "days": ["mon","tue","wed","thu","fri"]},
                            {"label": "Day", "start": "08:00", "end": "17:00", "heat": 64, "cool": 80, "days": ["mon","tue","wed","thu","fri"]},
                            {"label": "Evening", "start": "17:00", "end": "22:30", "heat": 70, "cool": 75, "days": ["mon","tue","wed","thu","fri"]},
                            {"label": "Night", "start": "22:30", "end": "06:00", "heat": 66, "cool": 78, "days": ["mon","tue","wed","thu","fri","sat","sun"]},
                            {"label": "Weekend", "start": "06:00", "end": "22:30", "heat": 70, "cool": 75, "days": ["sat","sun"]}
                        ]});
                        let s = self.request(
                            router,
                            "POST",
                            &format!("/v1/thermostat/{d}/schedule"),
                            Some(&body),
                            t,
                            stats,
                        );
                        if (200..300).contains(&s) {
                            self.request(
                                router,
                                "POST",
                                &format!("/v1/thermostat/{d}/schedule/sync"),
                                None,
                                t,
                                stats,
                            )
                        } else {
                            s
                        }
                    }
                    Some(Job::Eco(d)) => {
                        let body = json!({"enabled": true, "heat_limit": 62, "cool_limit": 82});
                        self.request(
                            router,
                            "POST",
                            &format!("/v1/thermostat/{d}/eco"),
                            Some(&body),
                            t,
                            stats,
                        )
                    }
                    None => 0,
                };
                if ok != 429 {
                    self.setup.pop_front();
                }
                // Setup jobs go out one a second at most.
                self.setup_next = t + SimDuration::from_secs(1);
                continue;
            }
            let due = |p: &Option<Periodic>| p.as_ref().is_some_and(|p| p.next == t);
            if due(&self.poll) || due(&self.optimize) {
                let polling = due(&self.poll);
                let duty = if polling {
                    &mut self.poll
                } else {
                    &mut self.optimize
                };
                let d = duty
                    .as_mut()
                    .map(|p| p.take(t, &self.devices))
                    .unwrap_or_default();
                if t < self.blocked_until {
                    stats.integration_skipped += 1;
                } else if polling {
                    let path = format!("/v1/thermostat/{d}/status");
                    self.request(router, "GET", &path, None, t, stats);
                } else {
                    let body = json!({"device_id": d, "horizon_hours": 12, "apply": true});
                    self.request(
                        router,
                        "POST",
                        "/v1/climate/optimize",
                        Some(&body),
                        t,
                        stats,
                    );
                }
                continue;
            }
            // A setpoint change on a random managed device.
            let gap =
                Exp::new(self.setpoint_rate_per_s).map_or(86_400.0, |e| e.sample(&mut self.rng));
            self.setpoint_next = t + SimDuration::from_secs_f64(gap)
                .unwrap_or(SimDuration::from_days(1))
                .max(SimDuration::from_millis(1));
            let d = self.devices[self.rng.random_range(0..self.devices.len())].clone();
            let temperature = self.rng.random_range(66..=76);
            if t < self.blocked_until {
                stats.integration_skipped += 1;
            } else {
                let body = json!({"temperature": temperature, "mode": "auto"});
                self.request(
                    router,
                    "POST",
                    &format!("/v1/thermostat/{d}/setpoint"),
                    Some(&body),
                    t,
                    stats,
                );
            }
        }
    }
}

/// Homes' credentials and places, for provisioning.
#[derive(Debug, Clone)]
pub struct Provision<'a> {
    /// The scenario.
    pub scenario: &'a crate::schema::Scenario,
    /// Every home.
    pub homes: &'a [crate::fleet::HomeSpec],
    /// The server accounts.
    pub tenants: &'a [crate::fleet::Tenant],
}

fn ops_token(
    side: &mut AccountSide,
    router: &Router,
    t: SimTime,
    stats: &mut Stats,
) -> Option<String> {
    if let Some((tok, exp)) = &side.ops_token
        && t + SimDuration::from_mins(5) < *exp
    {
        return Some(tok.clone());
    }
    let body = json!({"client_id": side.ops_client.0, "client_secret": side.ops_client.1, "grant_type": "client_credentials"});
    let (status, headers, v) = call_json(router, "POST", "/v1/auth/token", None, Some(&body), t);
    stats.count(t, &side.ops, "POST", "/v1/auth/token", status, &headers);
    let tok = v["access_token"].as_str()?.to_owned();
    side.ops_token = Some((tok.clone(), t + SimDuration::from_secs(3_600)));
    Some(tok)
}

/// Why the run's server could not be provisioned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionFailed {
    /// The server refused a client, device or sensor.
    #[error(transparent)]
    Server(#[from] api_server::state::ProvisionError),
    /// An account disappeared while being set up.
    #[error("account vanished")]
    AccountVanished,
    /// An automation names an account the scenario does not have.
    #[error("automations[{index}].account: no account {account:?}")]
    NoAccount {
        /// Index in `[[automations]]`.
        index: usize,
        /// The account named.
        account: String,
    },
    /// The account's operations client could not sign in.
    #[error("automations[{index}]: the account's operations client got no token")]
    NoToken {
        /// Index in `[[automations]]`.
        index: usize,
    },
    /// The server refused an automation.
    #[error("automations[{index}] for {device}: the server answered {status}: {message}")]
    Refused {
        /// Index in `[[automations]]`.
        index: usize,
        /// The device it was created for.
        device: String,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
}

/// Provisions the server for the scenario: accounts, clients, devices
/// (settings, Zigbee keys), integrations, automations (through the API). An
/// automation the server refuses is an error naming it.
pub fn provision(
    p: &Provision<'_>,
    state: AppState,
    receiver: Arc<Receiver>,
) -> Result<Provisioned, ProvisionFailed> {
    let s = p.scenario;
    let start = s.start.0;
    let router = api_server::app(state.clone());
    let mut accounts = Vec::new();
    for (a, tenant) in p.tenants.iter().enumerate() {
        let spec = &s.accounts[tenant.group];
        let id = state.create_account(&tenant.name);
        state
            .with_account(id, |acc| acc.tariff.price_per_kwh = spec.price_per_kwh)
            .ok_or(ProvisionFailed::AccountVanished)?;
        let mut keys = stream(s.seed, a as u64, "account-credentials");
        let mut secret = || {
            format!(
                "sk_{:016x}{:016x}",
                keys.random::<u64>(),
                keys.random::<u64>()
            )
        };
        let ops = (format!("ops-{a}"), secret());
        state.add_client(
            id,
            &ops.0,
            &ops.1,
            &api_server::state::SCOPES,
            api_server::Tier::Enterprise,
        )?;
        let devices: Vec<String> = p
            .homes
            .iter()
            .filter(|h| h.account == a)
            .map(|h| h.device_id.clone())
            .collect();
        let mut integrations = Vec::new();
        for (j, g) in spec.integrations.iter().enumerate() {
            let client_id = format!("int-{a}-{j}");
            let client_secret = secret();
            let tier = match g.tier {
                crate::schema::TierSpec::Standard => api_server::Tier::Standard,
                crate::schema::TierSpec::Enterprise => api_server::Tier::Enterprise,
            };
            state.add_client(
                id,
                &client_id,
                &client_secret,
                &api_server::state::SCOPES,
                tier,
            )?;
            let managed: Vec<String> = devices
                .iter()
                .take(g.devices.map_or(usize::MAX, |n| n as usize))
                .cloned()
                .collect();
            let mut setup = VecDeque::new();
            if !g.webhooks.is_empty() {
                setup.push_back(Job::Webhook {
                    event_types: g.webhooks.clone(),
                    url: format!("https://hooks.thermotwin.test/{}/{}", tenant.name, g.name),
                    secret: secret(),
                });
            }
            for d in &managed {
                if g.schedule {
                    setup.push_back(Job::Schedule(d.clone()));
                }
                if g.eco {
                    setup.push_back(Job::Eco(d.clone()));
                }
            }
            let rate = g.setpoint_changes_per_day * managed.len() as f64 / 86_400.0;
            let mut rng = stream(s.seed, (a * 1_000 + j) as u64, "integration");
            let first_setpoint = Exp::new(rate.max(1e-12)).map_or(86_400.0, |e| e.sample(&mut rng));
            integrations.push(Integration {
                caller: Caller {
                    source: "integration",
                    client: Arc::from(g.name.as_str()),
                    tier: match g.tier {
                        crate::schema::TierSpec::Standard => "standard",
                        crate::schema::TierSpec::Enterprise => "enterprise",
                    },
                },
                client_id,
                secret: client_secret,
                token: None,
                blocked_until: start,
                setup,
                setup_next: start,
                poll: g
                    .poll_status
                    .and_then(|d| Periodic::new(d.0, managed.len(), start)),
                optimize: g
                    .optimize
                    .and_then(|d| Periodic::new(d.0, managed.len(), start)),
                setpoint_rate_per_s: if managed.is_empty() { 0.0 } else { rate },
                setpoint_next: start
                    + SimDuration::from_secs_f64(first_setpoint)
                        .unwrap_or(SimDuration::from_days(365)),
                devices: managed,
                rng,
            });
        }
        accounts.push(AccountSide {
            id,
            ops_client: ops,
            ops: operations(),
            ops_token: None,
            integrations,
            resolutions: Vec::new(),
            stats: Stats::default(),
        });
    }
    for h in p.homes {
        let acc = accounts[h.account].id;
        let tier = match s.accounts[h.group].tier {
            crate::schema::TierSpec::Standard => api_server::Tier::Standard,
            crate::schema::TierSpec::Enterprise => api_server::Tier::Enterprise,
        };
        state.add_client(
            acc,
            &h.client_id,
            &h.client_secret,
            &["diagnostics:read"],
            tier,
        )?;
        state.add_device(acc, &h.device_id, &h.api_key, h.hub)?;
        for z in crate::home::zigbee_sensors(h) {
            state.add_sensor_key(&z.api_key, &z.ieee_address)?;
        }
        let loc = &s.fleet.locations[h.location];
        state
            .with_account(acc, |a| {
                // The homeowner's setting at installation.
                let payload =
                    json!({"setpoint": {"temperature": s.fleet.setpoint_f, "mode": s.fleet.mode}});
                a.enqueue_command(&h.device_id, "config_update", payload, start);
                if let Some(d) = a.device_mut(&h.device_id) {
                    d.thermostat.mode = s.fleet.mode.clone();
                    d.thermostat.setpoint_f = s.fleet.setpoint_f;
                    d.settings.reporting_interval_seconds = s.firmware.reporting_interval_s;
                    d.settings.timezone = loc.timezone.clone();
                    d.settings.location = Some(api_server::state::Location {
                        latitude: loc.latitude,
                        longitude: loc.longitude,
                        name: Some(loc.name.clone()),
                    });
                }
            })
            .ok_or(ProvisionFailed::AccountVanished)?;
    }
    let mut stats = Stats::default();
    for (i, spec) in s.automations.iter().enumerate() {
        let Some(g) = s.accounts.iter().position(|acc| acc.name == spec.account) else {
            return Err(ProvisionFailed::NoAccount {
                index: i,
                account: spec.account.clone(),
            });
        };
        for a in (0..p.tenants.len()).filter(|&a| p.tenants[a].group == g) {
            let side = &mut accounts[a];
            let token = ops_token(side, &router, start, &mut stats)
                .ok_or(ProvisionFailed::NoToken { index: i })?;
            let devices: Vec<&str> = p
                .homes
                .iter()
                .filter(|h| h.account == a)
                .map(|h| h.device_id.as_str())
                .take(spec.devices.map_or(usize::MAX, |n| n as usize))
                .collect();
            for d in devices {
                let body = crate::validate::for_device(&spec.automation, d);
                let (status, headers, v) = call_json(
                    &router,
                    "POST",
                    "/api/automations",
                    Some(&token),
                    Some(&body),
                    start,
                );
                stats.count(
                    start,
                    &side.ops,
                    "POST",
                    "/api/automations",
                    status,
                    &headers,
                );
                if status != 201 {
                    return Err(ProvisionFailed::Refused {
                        index: i,
                        device: d.to_owned(),
                        status,
                        message: v["message"].as_str().unwrap_or("").to_owned(),
                    });
                }
                stats.automations_created += 1;
            }
        }
    }
    let technicians = &s.technicians;
    Ok(Provisioned {
        shared: Arc::new(Shared {
            state,
            router,
            receiver,
            defects: s
                .ota
                .releases
                .iter()
                .filter(|r| r.failure_rate > 0.0)
                .map(|r| (r.version.clone(), r.failure_rate))
                .collect(),
            seed: s.seed,
            visits_delay: technicians.enabled.then_some(technicians.delay.0),
        }),
        sides: accounts,
        publisher: Publisher {
            releases: s
                .ota
                .releases
                .iter()
                .map(|r| (r.publish_at.resolve(start), r.clone(), false))
                .collect(),
            seed: s.seed,
            published: 0,
        },
        stats,
    })
}

impl Shared {
    /// Whether home `home` gets a corrupted image of version `version` (a
    /// defective release; drawn from the home's own stream).
    fn corrupts(&self, home: usize, version: &str) -> bool {
        let Some((_, share)) = self.defects.iter().find(|(v, _)| v == version) else {
            return false;
        };
        let mut rng = stream(self.seed, home as u64, &format!("ota-defect-{version}"));
        rng.random::<f64>() < *share
    }
}

impl Publisher {
    /// Whether the scenario has no release to publish.
    pub fn is_empty(&self) -> bool {
        self.releases.is_empty()
    }

    /// Publishes the releases due by `now` (at most once each).
    pub fn publish_due(&mut self, state: &AppState, now: SimTime) {
        for i in 0..self.releases.len() {
            let (at, spec, done) = &self.releases[i];
            if *done || *at > now {
                continue;
            }
            let mut rng = stream(self.seed, i as u64, "ota-image");
            let image: Vec<u8> = (0..spec.image_kib as usize * 1_024)
                .map(|_| rng.random::<u8>())
                .collect();
            let plan = api_server::ota::RolloutPlan {
                batches: spec.batches.clone(),
                advance_success_rate: spec.advance_success_rate,
                halt_failure_rate: spec.halt_failure_rate,
                min_reports: spec.min_reports,
            };
            if state
                .publish_release(&spec.version, image, &spec.notes, plan)
                .is_ok()
            {
                self.published += 1;
            }
            self.releases[i].2 = true;
        }
    }
}

impl AccountSide {
    /// The earliest job of an integration or alert resolution.
    pub(crate) fn next_job(&self) -> SimTime {
        self.integrations
            .iter()
            .map(Integration::next_job)
            .chain(self.resolutions.iter().map(|r| r.0))
            .min()
            .unwrap_or(SimTime::MAX)
    }

    /// Runs the integration jobs and resolutions due at `t` or before.
    pub(crate) fn run_jobs(&mut self, shared: &Shared, t: SimTime) {
        let bound = t + SimDuration::from_millis(1);
        for g in &mut self.integrations {
            g.run_until(&shared.router, bound, &shared.receiver, &mut self.stats);
        }
        let mut due = Vec::new();
        self.resolutions.retain(|(at, id)| {
            let now = *at < bound;
            if now {
                due.push((*at, id.clone()));
            }
            !now
        });
        due.sort();
        for (at, id) in due {
            let mut stats = std::mem::take(&mut self.stats);
            if let Some(tok) = ops_token(self, &shared.router, at, &mut stats) {
                let path = format!("/v1/alerts/{id}/resolve");
                let (status, headers, _) =
                    call_json(&shared.router, "POST", &path, Some(&tok), None, at);
                stats.count(at, &self.ops, "POST", &path, status, &headers);
                if status == 200 {
                    stats.alerts_resolved += 1;
                }
            }
            self.stats = stats;
        }
    }

    /// Resolves `alert` at `at` (after the technician's visit).
    pub(crate) fn resolve_at(&mut self, at: SimTime, alert: String) {
        self.resolutions.push((at, alert));
        self.stats.visits += 1;
    }
}

/// A home's request through the router; its response due back.
pub(crate) fn handle_home(
    shared: &Shared,
    o: Outgoing,
    stats: &mut Stats,
) -> (usize, SimTime, Inbound) {
    let FwRequest {
        id,
        method,
        path,
        headers,
        body,
        ..
    } = o.request;
    let (status, headers, mut body) = call(
        &shared.router,
        method.as_str(),
        &path,
        &headers,
        body.unwrap_or_default(),
        o.arrival,
    );
    let row = RequestRow {
        arrival: o.arrival,
        source: "home",
        client: None,
        tier: "device",
        home: Some(o.home),
        method: method.as_str(),
        endpoint: Arc::from(""),
        status,
        retry_after_s: None,
        latency_ms: Some((
            o.arrival.saturating_duration_since(o.sent).as_millis(),
            o.down.as_millis(),
        )),
    };
    stats.log(row, &path, &headers);
    if (200..300).contains(&status)
        && !body.is_empty()
        && let Some(version) = path.strip_prefix("/v1/ota/download/")
        && shared.corrupts(o.home, version)
    {
        body[0] ^= 0xff;
    }
    (
        o.home,
        o.arrival + o.down,
        Inbound::Response(
            id,
            FwResponse {
                status,
                headers,
                body,
            },
        ),
    )
}
