//! Predictive maintenance: each device's models, the prediction endpoint
//! and alerts.
//!
//! **Models**: the server runs a primary [`Predictor`] and any number of
//! shadow predictors (see [`crate::predictors`]); each device has one model
//! of each ([`Models`]), fed every diagnostics report the device submits.
//! Every prediction goes to the account's journal
//! ([`crate::journal::Event::PredictionMade`], with the model's index: 0 is
//! the primary), so shadow models can be
//! scored against the same ground truth; only the primary's predictions
//! raise alerts and answer `GET /v1/predictive/hvac/{device_id}/status`.
//! When an alert of a device is resolved (the seed: "technician confirms
//! issue resolved") the device's models start afresh: the unit was
//! serviced, and what they learned of the old part no longer holds.
//!
//! **Alerts**: after each report the primary's predictions are assessed;
//! when one reaches the account's threshold (0.72 by default, the platform
//! default in the AURRA seed) and the device has no open alert for that
//! issue, one is created (`predictive.alert_created`). Outside models
//! (`cmd:`) answer between windows, for the feature rows the server queued
//! ([`Models::take_rows`]); their answers go through [`apply`], to the same
//! tables and, for the primary, the same alert rule. Integrations may
//! also create alerts (`POST /v1/alerts`, scope `alerts:write`; `dispatch:
//! true` needs the enterprise tier) and resolve them (`POST
//! /v1/alerts/{id}/resolve`, `predictive.alert_resolved`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};
use sim_core::SimTime;
use sim_core::clock::Stopwatch;

use crate::aurra::authorize;
use crate::error::{ApiError, Family, Kind};
use crate::http_util::{Authz, Fields, json_object, respond};
use crate::journal::Event;
use crate::predictors::features::NAMES;
pub use crate::predictors::{DeviceModel, Prediction, Predictor, Sample};
use crate::state::{Account, AppState, Tier};
use crate::time::{Now, rfc3339};
pub use api_core::records::Alert;

const F: Family = Family::Aurra;

/// The platform's default alert threshold (AURRA seed).
pub const DEFAULT_ALERT_THRESHOLD: f64 = 0.72;

/// What one model of one device knows: the model, and (for the primary)
/// its latest prediction per issue.
#[derive(Debug, Default)]
struct DeviceSlot {
    /// One per predictor, primary first (empty until the first report or
    /// after a service).
    models: Vec<Box<dyn DeviceModel>>,
    /// The primary's latest prediction of each issue.
    latest: Vec<Prediction>,
    /// Engineered features, when the server records them.
    features: Option<Box<crate::predictors::features::FeatureState>>,
    /// When features were last recorded [ms].
    features_at: Option<i64>,
}

/// A device's engineered features at an instant (NaN where not known
/// yet), queued for outside models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureRow {
    /// The device's index in its account.
    pub device: u32,
    /// When.
    pub at: SimTime,
    /// The features, in the order of [`NAMES`].
    pub values: [f64; NAMES.len()],
}

/// How often a device's features are recorded (for the dataset) and
/// queued (for outside models) [ms].
pub const FEATURE_EVERY_MS: i64 = 3_600_000;

/// The predictive models of an account's devices, and what running them
/// cost.
#[derive(Debug, Default)]
pub struct Models {
    devices: Vec<DeviceSlot>,
    scratch: Vec<Prediction>,
    /// Feature rows waiting for the outside models, in arrival order.
    rows: Vec<FeatureRow>,
    /// Per predictor: reports observed and wall time spent in `observe`
    /// [ns] (measured, not simulated: never read by the simulation).
    pub cost: Vec<ModelCost>,
}

/// What one predictor's models cost in an account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelCost {
    /// Reports observed.
    pub reports: u64,
    /// Predictions made.
    pub predictions: u64,
    /// Wall time in `observe` [ns].
    pub nanos: u64,
}

impl Models {
    /// Forgets what the models of device `index` learned (after a service).
    pub fn reset(&mut self, index: usize) {
        if let Some(slot) = self.devices.get_mut(index) {
            *slot = DeviceSlot::default();
        }
    }

    /// The feature rows queued since the last call, in arrival order (for
    /// the outside models).
    pub fn take_rows(&mut self) -> Vec<FeatureRow> {
        std::mem::take(&mut self.rows)
    }

    fn slot(&mut self, index: usize) -> &mut DeviceSlot {
        if self.devices.len() <= index {
            self.devices.resize_with(index + 1, DeviceSlot::default);
        }
        &mut self.devices[index]
    }

    /// The primary's latest prediction for device `index`: of its issues,
    /// the most confident.
    pub fn latest(&self, index: usize) -> Option<&Prediction> {
        self.devices
            .get(index)?
            .latest
            .iter()
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
    }
}

/// The `predictive.alert_created` webhook event's data.
fn created_event(alert: &Alert) -> Value {
    json!({"device_id": alert.device_id, "alert_id": alert.alert_id, "issue": alert.issue, "confidence": alert.confidence, "action": alert.action})
}

/// An alert as the API renders it.
fn alert_json(alert: &Alert) -> Value {
    json!({
        "alert_id": alert.alert_id,
        "device_id": alert.device_id,
        "issue": alert.issue,
        "confidence": alert.confidence,
        "action": alert.action,
        "dispatch": alert.dispatch,
        "source": alert.source,
        "created_at": rfc3339(alert.created_at),
        "resolved_at": alert.resolved_at.map(rfc3339),
    })
}

/// Feeds a new report of device `device_index` to its models, records
/// their predictions and creates an alert for each of the primary's that
/// reaches the account's threshold while no alert of that issue is open.
/// Hourly, once known, the device's features are recorded (for the
/// dataset) and queued for outside models.
pub(crate) fn assess(
    state: &AppState,
    acc: &mut Account,
    device_index: usize,
    sample: Sample<'_>,
    now: SimTime,
) {
    let predictors = state.predictors();
    let models = &mut acc.models;
    if models.cost.len() < predictors.len() {
        models.cost.resize(predictors.len(), ModelCost::default());
    }
    let slot = models.slot(device_index);
    if slot.models.is_empty() {
        slot.models = predictors.iter().map(|p| p.device_model()).collect();
    }
    let (record, queue) = (state.config().record_features, state.has_outside_models());
    if record || queue {
        let f = slot.features.get_or_insert_with(Box::default);
        f.observe(sample);
        let ms = now.as_millis();
        if slot
            .features_at
            .is_none_or(|last| ms - last >= FEATURE_EVERY_MS)
            && let Some(values) = f.values()
        {
            slot.features_at = Some(ms);
            if record {
                acc.journal.push(Event::FeaturesComputed {
                    device: device_index as u32,
                    at: now,
                    values: values.to_vec(),
                });
            }
            if queue {
                models.rows.push(FeatureRow {
                    device: device_index as u32,
                    at: now,
                    values,
                });
            }
        }
    }
    let slot = &mut models.devices[device_index];
    let mut scratch = std::mem::take(&mut models.scratch);
    let mut alerting = Vec::new();
    for (m, model) in slot.models.iter_mut().enumerate() {
        if predictors[m].command().is_some() {
            // An outside model: it answers between windows.
            continue;
        }
        scratch.clear();
        let watch = Stopwatch::start();
        model.observe(sample, &mut scratch);
        let cost = &mut models.cost[m];
        cost.nanos += watch.elapsed_ns();
        cost.reports += 1;
        cost.predictions += scratch.len() as u64;
        if acc.journal.is_on() {
            for p in &scratch {
                acc.journal.push(Event::PredictionMade {
                    device: device_index as u32,
                    at: now,
                    model: m as u16,
                    prediction: p.clone(),
                });
            }
        }
        if m == 0 {
            for p in &scratch {
                note(&mut slot.latest, p);
                if p.confidence >= acc.alert_threshold {
                    alerting.push(p.clone());
                }
            }
        }
    }
    models.scratch = scratch;
    for prediction in alerting {
        raise(acc, device_index, prediction, now);
    }
}

impl AppState {
    /// Takes the feature rows account `id` queued for outside models since
    /// the last call.
    pub fn take_feature_rows(&self, id: crate::state::AccountId) -> Vec<FeatureRow> {
        self.with_account(id, |acc| acc.models.take_rows())
            .unwrap_or_default()
    }

    /// Hands account `id` an outside model's prediction (see [`apply`]).
    pub fn apply_prediction(
        &self,
        id: crate::state::AccountId,
        model: usize,
        device_index: usize,
        prediction: Prediction,
        now: SimTime,
    ) {
        self.with_account(id, |acc| apply(acc, model, device_index, prediction, now));
    }
}

/// Takes in an outside model's prediction for device `device_index` (the
/// answer to a feature row): records it as model `model`'s and, if that
/// is the primary, keeps it as the device's latest and raises an alert by
/// the same rule as [`assess`].
pub fn apply(
    acc: &mut Account,
    model: usize,
    device_index: usize,
    prediction: Prediction,
    now: SimTime,
) {
    acc.journal.push(Event::PredictionMade {
        device: device_index as u32,
        at: now,
        model: u16::try_from(model).unwrap_or(u16::MAX),
        prediction: prediction.clone(),
    });
    if let Some(cost) = acc.models.cost.get_mut(model) {
        cost.predictions += 1;
    }
    if model == 0 {
        note(&mut acc.models.slot(device_index).latest, &prediction);
        if prediction.confidence >= acc.alert_threshold {
            raise(acc, device_index, prediction, now);
        }
    }
}

/// Keeps `p` as the primary's latest prediction of its issue.
fn note(latest: &mut Vec<Prediction>, p: &Prediction) {
    match latest.iter_mut().find(|l| l.issue == p.issue) {
        Some(l) => *l = p.clone(),
        None => latest.push(p.clone()),
    }
}

/// Creates the predictor's alert of `prediction` for device
/// `device_index`, unless one of its issue is open for the device.
fn raise(acc: &mut Account, device_index: usize, prediction: Prediction, now: SimTime) {
    let device_id = &acc.devices[device_index].device_id;
    let open = acc.alerts.iter().any(|a| {
        a.device_id == *device_id && a.issue == prediction.issue && a.resolved_at.is_none()
    });
    if open {
        return;
    }
    let device_id = device_id.clone();
    let alert = Alert {
        alert_id: acc.uuid(),
        device_id,
        issue: prediction.issue.into_owned(),
        confidence: prediction.confidence,
        action: prediction.recommended_action.into_owned(),
        // The platform dispatches a technician for its own alerts (the
        // seed: 0.72 is "the platform default for alert dispatch").
        dispatch: true,
        source: "predictor",
        created_at: now,
        resolved_at: None,
    };
    open_alert(acc, alert, now);
}

/// Adds `alert` to the account and announces it
/// (`predictive.alert_created`).
fn open_alert(acc: &mut Account, alert: Alert, now: SimTime) {
    crate::webhooks::emit(acc, "predictive.alert_created", created_event(&alert), now);
    acc.alerts.push(alert);
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
            let prediction = acc.models.latest(d.index as usize).cloned();
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
            open_alert(acc, alert.clone(), now);
            Ok(alert)
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(
        StatusCode::CREATED,
        alert_json(&alert),
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
            // Serviced: the device's models start afresh.
            if let Some(&index) = acc.device_ids.get(&resolved.device_id) {
                acc.models.reset(index as usize);
            }
            let data = json!({"device_id": resolved.device_id, "alert_id": resolved.alert_id, "resolved_at": rfc3339(now)});
            crate::webhooks::emit(acc, "predictive.alert_resolved", data, now);
            Ok(resolved)
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Unknown Bearer token."))??;
    Ok(respond(
        StatusCode::OK,
        alert_json(&alert),
        Some(caller.rate),
    ))
}
