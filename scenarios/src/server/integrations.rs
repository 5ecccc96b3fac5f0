//! The scenario's integrations (their own clients, tokens and duties:
//! webhooks, schedules, Eco, polling, optimisation, setpoint changes,
//! honouring `Retry-After`) and the operations client's labels.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::Router;
use rand::RngExt;
use rand_distr::{Distribution, Exp};
use serde_json::{Value, json};
use sim_core::{SimDuration, SimRng, SimTime};

use super::receiver::Receiver;
use super::traffic::Stats;
use super::transport::{call_json, retry_after};
/// A job of an integration.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Job {
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
pub(super) struct Periodic {
    pub(super) step: SimDuration,
    pub(super) next: SimTime,
    pub(super) cursor: usize,
}

impl Periodic {
    /// The device due at `t`; moves on to the next.
    pub(super) fn take(&mut self, t: SimTime, devices: &[String]) -> String {
        let d = devices[self.cursor % devices.len()].clone();
        self.cursor += 1;
        self.next = t + self.step;
        d
    }

    pub(super) fn new(period: SimDuration, devices: usize, start: SimTime) -> Option<Periodic> {
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
pub(super) struct Integration {
    pub(super) caller: Caller,
    pub(super) client_id: String,
    pub(super) secret: String,
    pub(super) devices: Vec<String>,
    pub(super) token: Option<(String, SimTime)>,
    pub(super) blocked_until: SimTime,
    pub(super) setup: VecDeque<Job>,
    pub(super) setup_next: SimTime,
    pub(super) poll: Option<Periodic>,
    pub(super) optimize: Option<Periodic>,
    pub(super) setpoint_rate_per_s: f64,
    pub(super) setpoint_next: SimTime,
    pub(super) rng: SimRng,
}

/// Who makes a runner-side request: its `requests.parquet` labels.
#[derive(Debug, Clone)]
pub(super) struct Caller {
    pub(super) source: &'static str,
    pub(super) client: Arc<str>,
    pub(super) tier: &'static str,
}

/// The operations client's labels (enterprise tier, as provisioned).
pub(super) fn operations() -> Caller {
    Caller {
        source: "operations",
        client: Arc::from("operations"),
        tier: "enterprise",
    }
}

impl Integration {
    /// A valid token at `t`, fetching one when needed.
    pub(super) fn token(
        &mut self,
        router: &Router,
        t: SimTime,
        stats: &mut Stats,
    ) -> Option<String> {
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
    pub(super) fn next_job(&self) -> SimTime {
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
    pub(super) fn request(
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
    pub(super) fn run_until(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_periodic_duty_visits_every_device_once_per_period_evenly() {
        let start = SimTime::EPOCH;
        assert!(Periodic::new(SimDuration::from_secs(30), 0, start).is_none());
        let mut p = Periodic::new(SimDuration::from_secs(30), 3, start).unwrap();
        assert_eq!(p.next, start + SimDuration::from_secs(10));
        let devices = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let mut seen = Vec::new();
        for _ in 0..6 {
            let t = p.next;
            seen.push(p.take(t, &devices));
        }
        assert_eq!(seen, ["a", "b", "c", "a", "b", "c"]);
        assert_eq!(p.next, start + SimDuration::from_secs(70));
    }
}
