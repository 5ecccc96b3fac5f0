//! The webhook receiver: verifies each delivery's signature with the
//! secret its integration registered and records what came.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;
use sim_core::SimTime;

/// The receiver of webhooks: verifies each signature with the secret its
/// integration registered (the seed's algorithm) and records what came.
#[derive(Debug, Default)]
pub struct Receiver {
    pub(super) inner: Mutex<ReceiverState>,
}

/// What the receiver saw.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct ReceiverState {
    #[serde(skip)]
    pub(super) secrets: HashMap<String, String>,
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
    pub(super) fn register(&self, url: &str, secret: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use api_server::webhooks::{Outgoing, WebhookSink, sign};

    fn deliver(r: &Receiver, url: &str, signature: &str, body: &[u8]) {
        let headers = [
            ("x-aurra-signature", signature),
            ("x-aurra-delivery-attempt", "2"),
        ];
        let out = Outgoing {
            method: "POST",
            url,
            headers: &headers,
            body,
        };
        assert_eq!(r.deliver(&out, SimTime::from_secs(60)), Some(200));
    }

    #[test]
    fn only_a_delivery_signed_with_the_registered_secret_verifies() {
        let r = Receiver::default();
        r.register("https://hooks.test/a", "s3cret");
        let body = br#"{"event":"predictive.alert_created","data":{"alert_id":"al-1"}}"#;
        deliver(&r, "https://hooks.test/a", &sign("s3cret", body), body);
        deliver(&r, "https://hooks.test/a", &sign("guess", body), body);
        deliver(
            &r,
            "https://hooks.test/unknown",
            &sign("s3cret", body),
            body,
        );
        let s = r.state();
        assert_eq!((s.received, s.verified), (3, 1));
        assert_eq!(s.by_event["predictive.alert_created"], 3);
        // Only the verified delivery's alert counts as known.
        assert_eq!(s.alerts, [(SimTime::from_secs(60), "al-1".to_owned())]);
        let rows = r.drain_rows();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|row| row.4 == 2));
        assert!(r.drain_rows().is_empty());
    }
}
