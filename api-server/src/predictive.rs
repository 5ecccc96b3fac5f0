//! Predictive maintenance: the [`Predictor`] trait, the baseline predictor,
//! the prediction endpoint and alerts.
//!
//! **Baseline** ([`SeverityZones`]): vibration severity zones in the spirit
//! of ISO 10816-1 (class I, small machines): the standard grades overall
//! vibration into zones A (new), B (unrestricted operation), C (restricted;
//! plan maintenance) and D (damage likely). Rolling-bearing defects show up
//! as high-frequency impacts whose velocity is small, so the baseline grades
//! the *peak acceleration* the thermostat reports, with zone limits set for a
//! small hermetic compressor: A < 0.5 g ≤ B < 1.0 g ≤ C < 2.0 g ≤ D. It
//! uses the median of the last 10 reports (robust to single spikes); the
//! confidence is the zone's base (A 0.10, B 0.40, C 0.70, D 0.90), plus up
//! to 0.08 for a rising trend across the window and 0.02 for impulsiveness
//! (kurtosis above 4), at most 0.99.
//!
//! **Alerts**: after each vibration report the device is assessed; when the
//! confidence reaches the account's threshold (0.72 by default, the
//! platform default in the AURRA seed) and the device has no open alert for
//! the issue, one is created. Integrations may also create alerts
//! (`POST /v1/alerts`, scope `alerts:write`; `dispatch: true` needs the
//! enterprise tier) and resolve them (`POST /v1/alerts/{id}/resolve`).

use std::collections::VecDeque;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};
use sim_core::SimTime;

use crate::aurra::authorize;
use crate::error::{ApiError, Family, Kind};
use crate::http_util::{Authz, Fields, json_object, respond};
use crate::state::{Account, AppState, Tier, VibrationReport};
use crate::time::{Now, rfc3339};

const F: Family = Family::Aurra;

/// The platform's default alert threshold (AURRA seed).
pub const DEFAULT_ALERT_THRESHOLD: f64 = 0.72;

/// A maintenance prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// What is wrong, for people ("Compressor bearing degradation").
    pub issue: String,
    /// Confidence, 0–1.
    pub confidence: f64,
    /// What to do.
    pub recommended_action: String,
}

/// What a predictor sees of a device.
#[derive(Debug, Clone, Copy)]
pub struct DeviceHistory<'a> {
    /// Vibration reports, oldest first.
    pub vibration: &'a VecDeque<VibrationReport>,
    /// Energy reports, oldest first.
    pub energy: &'a VecDeque<crate::state::EnergyReport>,
    /// The assessment time.
    pub now: SimTime,
}

/// A failure predictor: from a device's diagnostics to a prediction.
pub trait Predictor: Send + Sync + std::fmt::Debug {
    /// A short name for reports and leaderboards.
    fn name(&self) -> &str;
    /// The prediction for a device, or `None` without enough data.
    fn predict(&self, history: &DeviceHistory<'_>) -> Option<Prediction>;
}

/// The baseline: vibration severity zones (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct SeverityZones {
    /// Zone limits of the peak acceleration [g]: A/B, B/C, C/D.
    pub limits_g: [f64; 3],
    /// Reports per assessment window.
    pub window: usize,
}

impl Default for SeverityZones {
    fn default() -> Self {
        SeverityZones {
            limits_g: [0.5, 1.0, 2.0],
            window: 10,
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Predictor for SeverityZones {
    fn name(&self) -> &str {
        "iso10816-zones"
    }

    fn predict(&self, h: &DeviceHistory<'_>) -> Option<Prediction> {
        let n = h.vibration.len().min(self.window);
        if n < 3 {
            return None;
        }
        let recent: Vec<&VibrationReport> =
            h.vibration.iter().skip(h.vibration.len() - n).collect();
        let peak = median(recent.iter().map(|r| r.amplitude_g).collect());
        let zone = self.limits_g.iter().filter(|&&l| peak >= l).count();
        let base = [0.10, 0.40, 0.70, 0.90][zone];
        // Trend: the later half's median against the earlier half's.
        let half = n / 2;
        let early = median(recent[..half].iter().map(|r| r.amplitude_g).collect());
        let late = median(recent[n - half..].iter().map(|r| r.amplitude_g).collect());
        let rising = if early > 0.0 {
            ((late / early - 1.0) / 0.5).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let kurtosis = median(
            recent
                .iter()
                .filter_map(|r| r.kurtosis)
                .collect::<Vec<_>>()
                .into_iter()
                .chain([0.0])
                .collect(),
        );
        let impulsive = if kurtosis > 4.0 { 0.02 } else { 0.0 };
        let confidence = (base + 0.08 * rising + impulsive).min(0.99);
        let recommended_action = match zone {
            0 => "No action needed; keep monitoring",
            1 => "Monitor vibration; inspect at the next routine service",
            2 => "Schedule HVAC inspection within 14 days",
            _ => "Schedule HVAC inspection within 3 days; compressor bearing failure likely",
        };
        Some(Prediction {
            issue: "Compressor bearing degradation".into(),
            confidence: (confidence * 100.0).round() / 100.0,
            recommended_action: recommended_action.into(),
        })
    }
}

/// An alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Id (a UUID).
    pub alert_id: String,
    /// The device.
    pub device_id: String,
    /// Issue, ≤ 256 characters.
    pub issue: String,
    /// Confidence, 0–1.
    pub confidence: f64,
    /// Recommended action.
    pub action: String,
    /// Technician dispatch requested.
    pub dispatch: bool,
    /// `predictor` or `integration`.
    pub source: &'static str,
    /// When created.
    pub created_at: SimTime,
    /// When resolved.
    pub resolved_at: Option<SimTime>,
}

impl Alert {
    fn created_event(&self) -> Value {
        json!({"device_id": self.device_id, "alert_id": self.alert_id, "issue": self.issue, "confidence": self.confidence, "action": self.action})
    }

    fn to_json(&self) -> Value {
        json!({
            "alert_id": self.alert_id,
            "device_id": self.device_id,
            "issue": self.issue,
            "confidence": self.confidence,
            "action": self.action,
            "dispatch": self.dispatch,
            "source": self.source,
            "created_at": rfc3339(self.created_at),
            "resolved_at": self.resolved_at.map(rfc3339),
        })
    }
}

/// Assesses a device after new diagnostics; creates an alert when the
/// prediction reaches the account's threshold and none is open.
pub(crate) fn assess(
    state: &AppState,
    acc: &mut Account,
    device_index: usize,
    now: SimTime,
) -> Option<Alert> {
    let d = acc.devices.get(device_index)?;
    let prediction = state.predictor().predict(&DeviceHistory {
        vibration: acc.store.vibration(d.index),
        energy: acc.store.energy(d.index),
        now,
    })?;
    let index = d.index;
    acc.store.record_prediction(index, now, &prediction);
    if prediction.confidence < acc.alert_threshold {
        return None;
    }
    let device_id = acc.devices[device_index].device_id.clone();
    let open = acc.alerts.iter().any(|a| {
        a.device_id == device_id && a.issue == prediction.issue && a.resolved_at.is_none()
    });
    if open {
        return None;
    }
    let alert = Alert {
        alert_id: acc.uuid(),
        device_id,
        issue: prediction.issue,
        confidence: prediction.confidence,
        action: prediction.recommended_action,
        dispatch: false,
        source: "predictor",
        created_at: now,
        resolved_at: None,
    };
    acc.alerts.push(alert.clone());
    crate::webhooks::emit(acc, "predictive.alert_created", alert.created_event(), now);
    Some(alert)
}

/// `GET /v1/predictive/hvac/{device_id}/status` (scope `diagnostics:read`).
pub(crate) async fn get_prediction(
    State(state): State<AppState>,
    Now(now): Now,
    Path(device_id): Path<String>,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &["diagnostics:read"])?;
    let body = state
        .with_account(caller.grant.account, |acc| {
            let d = acc
                .device(&device_id)
                .ok_or_else(|| ApiError::new(F, Kind::NotFound, format!("device_id {device_id} does not exist in your account.")))?;
            let prediction = state.predictor().predict(&DeviceHistory {
                vibration: acc.store.vibration(d.index),
                energy: acc.store.energy(d.index),
                now,
            });
            let last_service = acc
                .alerts
                .iter()
                .filter(|a| a.device_id == device_id)
                .filter_map(|a| a.resolved_at)
                .max()
                .map(|t| rfc3339(t)[..10].to_owned());
            let needed = prediction.as_ref().is_some_and(|p| p.confidence >= acc.alert_threshold);
            Ok(json!({
                "maintenance_needed": needed,
                "prediction": prediction.map(|p| json!({"issue": p.issue, "confidence": p.confidence, "recommended_action": p.recommended_action})),
                "last_service": last_service,
            }))
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(StatusCode::OK, body, Some(caller.rate)))
}

/// `POST /v1/alerts` (scope `alerts:write`).
pub(crate) async fn post_alert(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &["alerts:write"])?;
    let body = json_object(F, body)?;
    let f = Fields::new(F, &body);
    f.only(&["device_id", "issue", "confidence", "action", "dispatch"])?;
    let device_id = f.string("device_id", 128)?.to_owned();
    let issue = f.string("issue", 256)?.to_owned();
    let confidence = f.number_in("confidence", 0.0, 1.0)?;
    let action = f.string("action", 1_024)?.to_owned();
    let dispatch = match body.get("dispatch") {
        None | Some(Value::Null) => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| f.bad("dispatch", "must be a boolean"))?,
    };
    if dispatch && caller.grant.tier != Tier::Enterprise {
        return Err(ApiError::new(
            F,
            Kind::Forbidden,
            "Technician dispatch is available to enterprise integrations only.",
        ));
    }
    let alert = state
        .with_account(caller.grant.account, |acc| {
            if acc.device(&device_id).is_none() {
                return Err(ApiError::new(
                    F,
                    Kind::NotFound,
                    format!("device_id {device_id} does not exist in your account."),
                ));
            }
            let alert = Alert {
                alert_id: acc.uuid(),
                device_id,
                issue,
                confidence,
                action,
                dispatch,
                source: "integration",
                created_at: now,
                resolved_at: None,
            };
            acc.alerts.push(alert.clone());
            crate::webhooks::emit(acc, "predictive.alert_created", alert.created_event(), now);
            Ok(alert)
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(
        StatusCode::CREATED,
        alert.to_json(),
        Some(caller.rate),
    ))
}

/// `POST /v1/alerts/{alert_id}/resolve` (scope `alerts:write`): 404 for an
/// unknown alert, 409 for one already resolved.
pub(crate) async fn post_resolve(
    State(state): State<AppState>,
    Now(now): Now,
    Path(alert_id): Path<String>,
    headers: Authz,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, now, &["alerts:write"])?;
    let alert = state
        .with_account(caller.grant.account, |acc| {
            let a = acc
                .alerts
                .iter_mut()
                .find(|a| a.alert_id == alert_id)
                .ok_or_else(|| {
                    ApiError::new(
                        F,
                        Kind::NotFound,
                        format!("alert {alert_id} does not exist in your account."),
                    )
                })?;
            if a.resolved_at.is_some() {
                return Err(ApiError::new(
                    F,
                    Kind::Conflict,
                    format!("alert {alert_id} is already resolved."),
                ));
            }
            a.resolved_at = Some(now);
            let resolved = a.clone();
            let data = json!({"device_id": resolved.device_id, "alert_id": resolved.alert_id, "resolved_at": rfc3339(now)});
            crate::webhooks::emit(acc, "predictive.alert_resolved", data, now);
            Ok(resolved)
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(StatusCode::OK, alert.to_json(), Some(caller.rate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reports(peaks: &[f64]) -> VecDeque<VibrationReport> {
        peaks
            .iter()
            .enumerate()
            .map(|(i, &p)| VibrationReport {
                timestamp: SimTime::from_secs(i as i64 * 60),
                amplitude_g: p,
                frequency_hz: 1_200.0,
                duration_ms: 1_000,
                rms_g: None,
                kurtosis: Some(4.5),
                received_at: SimTime::from_secs(i as i64 * 60),
            })
            .collect()
    }

    fn predict(peaks: &[f64]) -> Option<Prediction> {
        let v = reports(peaks);
        let e = VecDeque::new();
        SeverityZones::default().predict(&DeviceHistory {
            vibration: &v,
            energy: &e,
            now: SimTime::EPOCH,
        })
    }

    #[test]
    fn zones_set_the_confidence_and_trends_raise_it() {
        assert_eq!(predict(&[0.2, 0.2]), None, "too little data");
        let healthy = predict(&[0.2; 10]).unwrap();
        assert!((healthy.confidence - 0.12).abs() < 1e-9, "{healthy:?}");
        let zone_c = predict(&[1.5; 10]).unwrap();
        assert!((zone_c.confidence - 0.72).abs() < 1e-9, "{zone_c:?}");
        assert!(zone_c.recommended_action.contains("14 days"));
        // Rising through zone C: more confident.
        let rising = predict(&[1.1, 1.1, 1.2, 1.2, 1.3, 1.6, 1.7, 1.8, 1.9, 1.9]).unwrap();
        assert!(rising.confidence > zone_c.confidence, "{rising:?}");
        let zone_d = predict(&[3.0; 10]).unwrap();
        assert!(zone_d.confidence >= 0.9 && zone_d.confidence <= 0.99);
        // One spike does not move the median.
        let spike = predict(&[0.2, 0.2, 0.2, 0.2, 9.0, 0.2, 0.2, 0.2, 0.2, 0.2]).unwrap();
        assert!(spike.confidence < 0.2);
    }
}
