//! Webhooks: registration (`POST /v1/webhooks`, `GET`/`DELETE
//! /v1/webhooks/{id}`), signed event delivery, retries and delivery records.
//!
//! A delivery is `POST <url>` with the seed's body
//! `{"event": "...", "timestamp": "...", "data": {...}}` and
//! `X-AURRA-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, exactly
//! what the seed's Python `verify_signature` checks. Deliveries wait in a
//! bounded per-account queue ([`QUEUE_CAPACITY`]; when it is full a new
//! delivery is refused and counted in `dropped`), go out through a
//! [`WebhookSink`] when [`AppState::tick`] runs, and are retried on failure
//! after 30 s, 1 min, 2 min, … (doubling, [`MAX_ATTEMPTS`] attempts in all).
//! Every attempt is recorded with its outcome.
//!
//! Registering a webhook needs a valid token of the account (no particular
//! scope: webhooks carry all event families). The secret (16–256
//! characters) is never returned.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use hmac::{KeyInit, Mac};
use http::StatusCode;
use serde_json::{Value, json};
use sim_core::{SimDuration, SimTime};

use crate::aurra::authorize;
use crate::credentials::hex;
use crate::error::{ApiError, Family, Kind};
use crate::http_util::{Authz, Fields, json_object, respond};
use crate::state::{Account, AppState};
use crate::time::{Now, rfc3339};

const F: Family = Family::Aurra;

/// The seed's event types.
pub const EVENT_TYPES: [&str; 6] = [
    "thermostat.temperature_change",
    "predictive.alert_created",
    "predictive.alert_resolved",
    "eco.mode_changed",
    "schedule.updated",
    "device.offline",
];

/// Pending deliveries per account; beyond it new ones are refused (counted).
pub const QUEUE_CAPACITY: usize = 10_000;
/// Attempts per delivery before it is given up.
pub const MAX_ATTEMPTS: u32 = 6;
/// Delay before the first retry; it doubles with each failure.
pub const FIRST_RETRY: SimDuration = SimDuration::from_secs(30);
/// Attempt records kept per webhook.
pub const RECORDS_PER_WEBHOOK: usize = 1_000;

/// A registered webhook.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Id (a UUID).
    pub webhook_id: String,
    /// Target URL.
    pub url: String,
    /// Subscribed event types.
    pub events: Vec<String>,
    secret: String,
    /// When registered.
    pub created_at: SimTime,
    /// Attempt records, oldest first.
    pub records: Vec<DeliveryRecord>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    /// Delivery id (shared by its attempts).
    pub delivery_id: String,
    /// Event type.
    pub event: String,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// When it was attempted.
    pub at: SimTime,
    /// The receiver's status, or `None` if it could not be reached.
    pub status: Option<u16>,
    /// Whether it counts as delivered (2xx).
    pub delivered: bool,
}

/// Where a delivery goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A registered webhook (by id; its URL is looked up at each attempt).
    Webhook(String),
    /// An automation's `webhook` action.
    Automation {
        /// The automation.
        automation_id: String,
        /// HTTP method.
        method: &'static str,
        /// URL.
        url: String,
    },
}

/// A delivery waiting for its next attempt.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Id (a UUID).
    pub delivery_id: String,
    /// Where it goes.
    pub target: Target,
    /// Event type (`automation.webhook` for automation calls).
    pub event: String,
    /// The exact body that is signed and sent.
    pub body: Arc<[u8]>,
    /// `sha256=<hex>` for registered webhooks; automation calls are unsigned.
    pub signature: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
    /// When to try next.
    pub due: SimTime,
}

/// One outgoing HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// `POST` for webhooks; an automation's method otherwise.
    pub method: &'a str,
    /// Absolute http(s) URL.
    pub url: &'a str,
    /// Header names (lower case) and values.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body (empty for `GET`).
    pub body: &'a [u8],
}

/// Where deliveries go: real HTTP under `serve` ([`crate::serve::HttpSink`]),
/// an in-process receiver in the simulator. Returns the receiver's status,
/// or `None` when it could not be reached. Called without any account lock
/// held, so a slow receiver delays only the deliveries behind it.
pub trait WebhookSink: Send + Sync + std::fmt::Debug {
    /// Sends `request` at `now`.
    fn deliver(&self, request: &Outgoing<'_>, now: SimTime) -> Option<u16>;
}

/// A sink that reaches nothing (the default until one is installed): every
/// attempt fails, so deliveries are kept and retried, never lost silently.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unreachable;

impl WebhookSink for Unreachable {
    fn deliver(&self, _: &Outgoing<'_>, _: SimTime) -> Option<u16> {
        None
    }
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Queues a delivery unless the account's queue is full (then it is counted
/// as dropped). Returns whether it was queued.
pub(crate) fn enqueue(
    acc: &mut Account,
    target: Target,
    event: &str,
    body: Arc<[u8]>,
    signature: Option<String>,
    now: SimTime,
) -> bool {
    if acc.deliveries.len() >= QUEUE_CAPACITY {
        acc.deliveries_dropped += 1;
        return false;
    }
    let delivery_id = acc.uuid();
    acc.wake_at(now);
    acc.deliveries.push(Delivery {
        delivery_id,
        target,
        event: event.to_owned(),
        body,
        signature,
        attempts: 0,
        due: now,
    });
    debug_assert!(acc.deliveries.len() <= QUEUE_CAPACITY);
    true
}

/// Queues `event` with `data` for every webhook of the account subscribed to
/// it. Returns how many deliveries were queued.
pub(crate) fn emit(acc: &mut Account, event: &str, data: Value, now: SimTime) -> usize {
    let targets: Vec<(String, String)> = acc
        .webhooks
        .iter()
        .filter(|w| w.events.iter().any(|e| e == event))
        .map(|w| (w.webhook_id.clone(), w.secret.clone()))
        .collect();
    if targets.is_empty() {
        return 0;
    }
    let body: Arc<[u8]> =
        serde_json::to_vec(&json!({"event": event, "timestamp": rfc3339(now), "data": data}))
            .unwrap_or_default()
            .into();
    targets
        .into_iter()
        .filter(|(webhook_id, secret)| {
            let signature = Some(sign(secret, &body));
            enqueue(
                acc,
                Target::Webhook(webhook_id.clone()),
                event,
                body.clone(),
                signature,
                now,
            )
        })
        .count()
}

/// A due delivery taken out of the account for an attempt.
#[derive(Debug)]
pub(crate) struct Attempt {
    delivery_id: String,
    attempt: u32,
    method: &'static str,
    url: String,
    body: Arc<[u8]>,
    signature: Option<String>,
    status: Option<u16>,
}

/// Picks the deliveries due by `now` (their attempt counted), oldest first.
/// Deliveries to deleted webhooks are dropped.
pub(crate) fn take_due(acc: &mut Account, now: SimTime) -> Vec<Attempt> {
    let mut out = Vec::new();
    let webhooks = &acc.webhooks;
    acc.deliveries.retain_mut(|d| {
        if d.due > now {
            return true;
        }
        let (method, url) = match &d.target {
            Target::Webhook(id) => match webhooks.iter().find(|w| &w.webhook_id == id) {
                Some(w) => ("POST", w.url.clone()),
                // The webhook was deleted: nothing to deliver to.
                None => return false,
            },
            Target::Automation { method, url, .. } => (*method, url.clone()),
        };
        d.attempts += 1;
        // Not due again until its outcome is recorded.
        d.due = SimTime::from_millis(i64::MAX);
        out.push(Attempt {
            delivery_id: d.delivery_id.clone(),
            attempt: d.attempts,
            method,
            url,
            body: d.body.clone(),
            signature: d.signature.clone(),
            status: None,
        });
        true
    });
    out
}

/// Sends each attempt through `sink` (no lock held).
pub(crate) fn send(attempts: &mut [Attempt], sink: &dyn WebhookSink, now: SimTime) {
    for a in attempts {
        let attempt = a.attempt.to_string();
        // The delivery's id and attempt number (as GitHub's X-GitHub-Delivery):
        // a receiver can drop a retry it already processed.
        let mut headers = vec![
            ("content-type", "application/json"),
            ("x-aurra-delivery", a.delivery_id.as_str()),
            ("x-aurra-delivery-attempt", attempt.as_str()),
        ];
        if let Some(sig) = &a.signature {
            headers.push(("x-aurra-signature", sig.as_str()));
        }
        let body: &[u8] = if a.method == "GET" { &[] } else { &a.body };
        a.status = sink.deliver(
            &Outgoing {
                method: a.method,
                url: &a.url,
                headers: &headers,
                body,
            },
            now,
        );
    }
}

/// Records the outcomes of `attempts`: delivered ones (2xx) and those out of
/// attempts leave the queue, the rest wait 30 s, 1 min, 2 min, ….
pub(crate) fn record(acc: &mut Account, attempts: Vec<Attempt>, now: SimTime) {
    for a in attempts {
        let Some(i) = acc
            .deliveries
            .iter()
            .position(|d| d.delivery_id == a.delivery_id)
        else {
            continue; // its webhook was deleted meanwhile
        };
        let delivered = a.status.is_some_and(|s| (200..300).contains(&s));
        let d = &mut acc.deliveries[i];
        let rec = DeliveryRecord {
            delivery_id: d.delivery_id.clone(),
            event: d.event.clone(),
            attempt: d.attempts,
            at: now,
            status: a.status,
            delivered,
        };
        let records = match &d.target {
            Target::Webhook(id) => acc
                .webhooks
                .iter_mut()
                .find(|w| &w.webhook_id == id)
                .map(|w| &mut w.records),
            Target::Automation { .. } => Some(&mut acc.engine.calls),
        };
        if let Some(records) = records {
            if records.len() >= RECORDS_PER_WEBHOOK {
                records.remove(0);
            }
            records.push(rec);
            debug_assert!(records.len() <= RECORDS_PER_WEBHOOK);
        }
        let d = &mut acc.deliveries[i];
        if delivered || d.attempts >= MAX_ATTEMPTS {
            acc.deliveries.remove(i);
        } else {
            d.due = now + FIRST_RETRY.saturating_mul(1 << (d.attempts - 1).min(20));
        }
    }
}

fn webhook_json(w: &Webhook) -> Value {
    let delivered = w.records.iter().filter(|r| r.delivered).count();
    json!({
        "webhook_id": w.webhook_id,
        "url": w.url,
        "events": w.events,
        "created_at": rfc3339(w.created_at),
        "deliveries": {"attempts": w.records.len(), "delivered": delivered},
        "recent": w.records.iter().rev().take(20).map(|r| json!({
            "delivery_id": r.delivery_id, "event": r.event, "attempt": r.attempt,
            "at": rfc3339(r.at), "status": r.status, "delivered": r.delivered,
        })).collect::<Vec<_>>(),
    })
}

/// `POST /v1/webhooks`.
pub(crate) async fn post_webhook(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &[])?;
    let body = json_object(F, body)?;
    let f = Fields::new(F, &body);
    f.only(&["url", "events", "secret"])?;
    let url = f.string("url", 2_048)?;
    let valid_url = (url.starts_with("https://") || url.starts_with("http://"))
        && url
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !valid_url {
        return Err(f.bad("url", "must be an absolute http(s) URL"));
    }
    let events = f
        .required("events")?
        .as_array()
        .ok_or_else(|| f.bad("events", "must be an array"))?;
    if events.is_empty() {
        return Err(f.bad("events", "must name at least one event type"));
    }
    let mut names = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match e.as_str().filter(|e| EVENT_TYPES.contains(e)) {
            Some(e) if !names.iter().any(|n| n == e) => names.push(e.to_owned()),
            Some(_) => {}
            None => {
                return Err(f.bad(
                    &format!("events[{i}]"),
                    &format!("must be one of {}", EVENT_TYPES.join(", ")),
                ));
            }
        }
    }
    let secret = f.string("secret", 256)?;
    if secret.chars().count() < 16 {
        return Err(f.bad("secret", "must be at least 16 characters"));
    }
    let hook = state
        .with_account(caller.grant.account, |acc| {
            let hook = Webhook {
                webhook_id: acc.uuid(),
                url: url.to_owned(),
                events: names,
                secret: secret.to_owned(),
                created_at: now,
                records: Vec::new(),
            };
            acc.webhooks.push(hook.clone());
            hook
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))?;
    Ok(respond(
        StatusCode::CREATED,
        webhook_json(&hook),
        Some(caller.rate),
    ))
}

/// `GET /v1/webhooks/{id}`: the webhook and its recent deliveries.
pub(crate) async fn get_webhook(
    State(state): State<AppState>,
    Now(now): Now,
    Path(id): Path<String>,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &[])?;
    let body = state
        .with_account(caller.grant.account, |acc| {
            acc.webhooks
                .iter()
                .find(|w| w.webhook_id == id)
                .map(webhook_json)
        })
        .flatten()
        .ok_or_else(|| {
            ApiError::new(
                F,
                Kind::NotFound,
                format!("webhook {id} does not exist in your account."),
            )
        })?;
    Ok(respond(StatusCode::OK, body, Some(caller.rate)))
}

/// `DELETE /v1/webhooks/{id}`: pending deliveries to it are dropped.
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    Now(now): Now,
    Path(id): Path<String>,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &[])?;
    let removed = state
        .with_account(caller.grant.account, |acc| {
            let before = acc.webhooks.len();
            acc.webhooks.retain(|w| w.webhook_id != id);
            acc.deliveries
                .retain(|d| d.target != Target::Webhook(id.clone()));
            acc.webhooks.len() < before
        })
        .unwrap_or(false);
    if !removed {
        return Err(ApiError::new(
            F,
            Kind::NotFound,
            format!("webhook {id} does not exist in your account."),
        ));
    }
    Ok(respond(
        StatusCode::OK,
        json!({"deleted": true, "webhook_id": id}),
        Some(caller.rate),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
