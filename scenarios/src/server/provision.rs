//! Provisioning the real server for a run: accounts, OAuth clients,
//! devices with their settings and Zigbee keys, the homeowners' setpoint,
//! integrations and automations (through the API).

use std::collections::VecDeque;
use std::sync::Arc;

use api_server::AppState;
use axum::Router;
use rand::RngExt;
use rand_distr::{Distribution, Exp};
use serde_json::json;
use sim_core::{SimDuration, SimTime, stream};

use super::integrations::{Caller, Integration, Job, Periodic, operations};
use super::receiver::Receiver;
use super::traffic::Stats;
use super::transport::call_json;
use super::{AccountSide, Provisioned, Publisher, Shared};
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

pub(super) fn ops_token(
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
                let payload = json!({"setpoint": {"temperature": s.fleet.setpoint_f, "mode": h.mode.as_str()}});
                a.enqueue_command(
                    &h.device_id,
                    api_server::state::CommandKind::ConfigUpdate,
                    payload,
                    start,
                );
                if let Some(d) = a.device_mut(&h.device_id) {
                    d.thermostat.mode = h.mode;
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
        publisher: Publisher::new(
            s.ota
                .releases
                .iter()
                .map(|r| (r.publish_at.resolve(start), r.clone()))
                .collect(),
            s.seed,
        ),
        stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{FleetMix, home, tenants};
    use std::path::Path;

    fn scenario(automation: &str) -> crate::Scenario {
        crate::parse_str(
            &format!(
                "name = \"t\"\nstart = \"2026-06-01T00:00:00Z\"\nduration = \"1d\"\n\
                 [fleet]\nhomes = 3\n[[accounts]]\nname = \"own\"\n\
                 [[accounts.integrations]]\nname = \"app\"\nwebhooks = [\"predictive.alert_created\"]\n\
                 [[automations]]\naccount = \"own\"\ndevices = 2\n[automations.automation]\n{automation}\n"
            ),
            Path::new("."),
        )
        .unwrap()
    }

    fn provisioned(s: &crate::Scenario) -> Result<Provisioned, ProvisionFailed> {
        let mix = FleetMix::new(&s.fleet).unwrap();
        let mut specs: Vec<_> = (0..3).map(|i| home(s, &mix, i)).collect();
        let tenants = tenants(s, &mut specs);
        let state = AppState::new(
            Arc::new(sim_core::VirtualClock::new(s.start.0)),
            s.seed,
            api_server::ServerConfig::default(),
        );
        provision(
            &Provision {
                scenario: s,
                homes: &specs,
                tenants: &tenants,
            },
            state,
            Arc::new(Receiver::default()),
        )
    }

    const ALERT_TO_PUSH: &str = "name = \"a\"\ntrigger = { type = \"event\", deviceId = \"$device\", event = \"device_offline\" }\nactions = [{ type = \"notification\", method = \"push\", title = \"t\", message = \"m\" }]\n";

    #[test]
    fn every_home_client_integration_and_automation_is_on_the_server() {
        let p = provisioned(&scenario(ALERT_TO_PUSH)).unwrap();
        assert_eq!(p.sides.len(), 1);
        assert_eq!(p.sides[0].integrations.len(), 1);
        // Each integration starts by registering its webhook.
        assert!(matches!(
            p.sides[0].integrations[0].setup.front(),
            Some(Job::Webhook { .. })
        ));
        // Two of the three devices got the automation, through the API.
        assert_eq!(p.stats.automations_created, 2);
        let on_server = p
            .shared
            .state
            .with_account(p.sides[0].id, |acc| {
                (acc.devices.len(), acc.automations.len())
            })
            .unwrap();
        assert_eq!(on_server, (3, 2));
    }

    #[test]
    fn an_automation_the_server_refuses_is_an_error_naming_it() {
        let mut s = scenario(ALERT_TO_PUSH);
        // Past validation, as a changed server rule would be.
        s.automations[0].automation["trigger"]["event"] = serde_json::json!("exploded");
        match provisioned(&s) {
            Err(ProvisionFailed::Refused {
                index: 0, status, ..
            }) => assert_eq!(status, 400),
            other => panic!("{other:?}"),
        }
    }
}
