//! Running the server for real: provisioning from a file or a demo set, a
//! periodic `tick`, and graceful shutdown.
//!
//! Provisioning file (JSON):
//!
//! ```json
//! {"accounts": [{
//!   "name": "Acme",
//!   "clients": [{"client_id": "acc_a1b2c3d4", "client_secret": "sk_live_…",
//!                "scopes": ["diagnostics:read", "comfort:write"], "tier": "standard"}],
//!   "devices": [{"device_id": "aurra_001", "api_key": "dk_…", "hub": false}]
//! }]}
//! ```
//!
//! Without a file, a demo account is provisioned with credentials derived
//! from the server seed and printed at start: they are for trying the API
//! on a workstation, not secrets.

use std::time::Duration;

use serde::Deserialize;
use sim_core::{SimDuration, Streams};

use crate::state::{AppState, ProvisionError, Tier};

/// A provisioning file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provisioning {
    /// Accounts to create.
    pub accounts: Vec<AccountSpec>,
}

/// One account of a provisioning file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Display name.
    pub name: String,
    /// OAuth clients.
    #[serde(default)]
    pub clients: Vec<ClientSpec>,
    /// Devices.
    #[serde(default)]
    pub devices: Vec<DeviceSpec>,
}

/// An OAuth client of a provisioning file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Client id.
    pub client_id: String,
    /// Client secret (stored hashed).
    pub client_secret: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// `standard` or `enterprise`.
    pub tier: String,
}

/// A device of a provisioning file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// Device id.
    pub device_id: String,
    /// API key (stored hashed).
    pub api_key: String,
    /// Whether it is a hub.
    #[serde(default)]
    pub hub: bool,
}

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisioningError {
    /// The file is not valid provisioning JSON.
    #[error("invalid provisioning file: {0}")]
    Parse(#[from] serde_json::Error),
    /// A tier is neither standard nor enterprise.
    #[error("accounts[{account}].clients[{client}].tier: {tier:?} is not standard or enterprise")]
    Tier {
        /// Account index.
        account: usize,
        /// Client index.
        client: usize,
        /// The value.
        tier: String,
    },
    /// A registration was refused.
    #[error("accounts[{account}]: {source}")]
    Provision {
        /// Account index.
        account: usize,
        /// Why.
        source: ProvisionError,
    },
}

/// Applies a provisioning file's JSON text to `state`.
pub fn provision(state: &AppState, json: &str) -> Result<(), ProvisioningError> {
    let file: Provisioning = serde_json::from_str(json)?;
    for (ai, a) in file.accounts.iter().enumerate() {
        let id = state.create_account(&a.name);
        for (ci, c) in a.clients.iter().enumerate() {
            let tier = match c.tier.as_str() {
                "standard" => Tier::Standard,
                "enterprise" => Tier::Enterprise,
                other => {
                    return Err(ProvisioningError::Tier {
                        account: ai,
                        client: ci,
                        tier: other.to_owned(),
                    });
                }
            };
            let scopes: Vec<&str> = c.scopes.iter().map(String::as_str).collect();
            state
                .add_client(id, &c.client_id, &c.client_secret, &scopes, tier)
                .map_err(|source| ProvisioningError::Provision {
                    account: ai,
                    source,
                })?;
        }
        for d in &a.devices {
            state
                .add_device(id, &d.device_id, &d.api_key, d.hub)
                .map_err(|source| ProvisioningError::Provision {
                    account: ai,
                    source,
                })?;
        }
    }
    Ok(())
}

/// Credentials of the demo account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCredentials {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// (device id, API key) pairs.
    pub devices: Vec<(String, String)>,
}

/// Provisions a demo account (an enterprise client with every scope, three
/// devices, the last a hub) with credentials derived from `seed`.
pub fn provision_demo(state: &AppState, seed: u64) -> DemoCredentials {
    use rand::Rng;
    let mut rng = Streams::new(seed).stream(0, "demo-credentials");
    let mut secret =
        |prefix: &str| format!("{prefix}{:016x}{:016x}", rng.next_u64(), rng.next_u64());
    let account = state.create_account("demo");
    let creds = DemoCredentials {
        client_id: "acc_demo".into(),
        client_secret: secret("sk_demo_"),
        devices: (1..=3)
            .map(|i| (format!("aurra_{i:03}"), secret("dk_demo_")))
            .collect(),
    };
    // A fresh state cannot refuse these.
    let _ = state.add_client(
        account,
        &creds.client_id,
        &creds.client_secret,
        &crate::state::SCOPES,
        Tier::Enterprise,
    );
    for (i, (id, key)) in creds.devices.iter().enumerate() {
        let _ = state.add_device(account, id, key, i == 2);
    }
    creds
}

/// Delivers webhooks and automation calls over real HTTP(S) (ureq, rustls
/// with the webpki roots), each with a 10 s overall timeout. Any HTTP
/// status comes back as the outcome (2xx counts as delivered); a connection,
/// TLS or timeout failure as `None`. `Retry-After` from the receiver is not
/// followed: retries keep the server's own backoff.
#[derive(Debug, Clone)]
pub struct HttpSink {
    agent: ureq::Agent,
}

impl Default for HttpSink {
    fn default() -> Self {
        HttpSink::new(Duration::from_secs(10))
    }
}

impl HttpSink {
    /// A sink whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> HttpSink {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("thermotwin-webhooks/1")
            .build();
        HttpSink {
            agent: config.into(),
        }
    }
}

impl crate::webhooks::WebhookSink for HttpSink {
    fn deliver(&self, req: &crate::webhooks::Outgoing<'_>, _now: sim_core::SimTime) -> Option<u16> {
        let mut builder = http::Request::builder().method(req.method).uri(req.url);
        for (name, value) in req.headers {
            builder = builder.header(*name, *value);
        }
        let response = if req.body.is_empty() {
            self.agent.run(builder.body(()).ok()?)
        } else {
            self.agent.run(builder.body(req.body.to_vec()).ok()?)
        };
        Some(response.ok()?.status().as_u16())
    }
}

/// Serves `state` on `listener` until `shutdown` completes, running
/// [`AppState::tick`] every `tick_every` on the state's clock.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    tick_every: SimDuration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ticker = state.clone();
    let period = Duration::from(tick_every).max(Duration::from_millis(10));
    let tick_task = tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            // Deliveries block on the network: off the async workers.
            let t = ticker.clone();
            let _ = tokio::task::spawn_blocking(move || t.tick(t.clock().now())).await;
        }
    });
    let served = crate::serve(listener, state, shutdown).await;
    tick_task.abort();
    served
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn state() -> AppState {
        AppState::new(
            Arc::new(sim_core::VirtualClock::new(sim_core::SimTime::EPOCH)),
            1,
            Default::default(),
        )
    }

    #[test]
    fn provisioning_files_are_applied_and_errors_point_at_the_entry() {
        let s = state();
        provision(
            &s,
            r#"{"accounts": [{"name": "Acme", "clients": [{"client_id": "c1", "client_secret": "s1", "scopes": ["comfort:write"], "tier": "standard"}],
                "devices": [{"device_id": "d1", "api_key": "k1"}]}]}"#,
        )
        .unwrap();
        assert_eq!(s.device_for_key("k1"), Some((0, 0)));
        let err = provision(&s, r#"{"accounts": [{"name": "B", "clients": [{"client_id": "c2", "client_secret": "s", "scopes": [], "tier": "gold"}]}]}"#).unwrap_err();
        assert!(
            err.to_string().contains("accounts[0].clients[0].tier"),
            "{err}"
        );
        let err = provision(
            &s,
            r#"{"accounts": [{"name": "C", "devices": [{"device_id": "d9", "api_key": "k1"}]}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("already in use"), "{err}");
        assert!(provision(&s, r#"{"accounts": [], "extra": 1}"#).is_err());
    }

    #[test]
    fn demo_credentials_follow_the_seed() {
        let a = provision_demo(&state(), 7);
        let b = provision_demo(&state(), 7);
        assert_eq!(a, b);
        assert_ne!(a, provision_demo(&state(), 8));
        assert_eq!(a.devices.len(), 3);
    }
}
