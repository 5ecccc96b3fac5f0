//! The server side of a run: the real API server in process (its router,
//! shared by every partition), provisioning, the scenario's integrations,
//! the webhook receiver that verifies every delivery, the technicians'
//! alert resolutions and OTA publishing.
//!
//! Each account's requests, integration jobs and resolutions are handled in
//! its shard ([`crate::shard`]), in exact time order on one thread; the
//! operator's publishing runs between windows.
//!
//! ```text
//!   provision ─► Provisioned { Shared (server, router, receiver), AccountSide per account, Publisher }
//!   ota ─► Publisher::publish_due (between windows) · corrupts (defective releases)
//!   shard ─► handle_home (transport ─► traffic) · AccountSide::run_jobs (integrations)
//!   receiver ◄── the server's webhook deliveries
//! ```

mod integrations;
mod ota;
mod provision;
mod receiver;
mod traffic;
mod transport;

pub use ota::Publisher;
pub use provision::{Provision, ProvisionFailed, provision};
pub use receiver::{Receiver, ReceiverState, WebhookRow};
pub use traffic::{RequestRow, Stats, endpoint};
pub use transport::{block_on, call};

use std::sync::Arc;

use api_server::AppState;
use axum::Router;
use device_firmware::http::{Request as FwRequest, Response as FwResponse};
use sim_core::{SimDuration, SimTime};

use crate::home::{Inbound, Outgoing};
use integrations::{Caller, Integration};
use provision::ops_token;
use transport::call_json;

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

impl Shared {
    /// Whether home `home` gets a corrupted image of version `version` (a
    /// defective release; drawn from the home's own stream).
    fn corrupts(&self, home: usize, version: &str) -> bool {
        ota::corrupts(&self.defects, self.seed, home, version)
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
