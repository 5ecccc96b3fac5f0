//! Firmware over the air: releases with staged rollouts, and the device
//! endpoints `GET /v1/ota/check`, `GET /v1/ota/download/{version}` and
//! `POST /v1/ota/status`.
//!
//! A release is rolled out in batches given as cumulative percentages of
//! the fleet (e.g. 5 %, 25 %, 100 %). Each device has a stable place in
//! `[0, 100)` from the SHA-256 of its account and id, and is offered the
//! release once the current batch reaches it. [`AppState::tick`] moves a
//! rollout on: once at least `min_reports` devices of the current batch
//! have finished (reported `completed` or `failed`), it halts the release
//! if the failure rate is above `halt_failure_rate`, and opens the next
//! batch if the success rate is at least `advance_success_rate`. A halted
//! release is offered to no one and cannot be downloaded.
//!
//! Downloads honour a single `Range: bytes=a-b` (206 with `Content-Range`,
//! 416 when unsatisfiable) and are limited to 5 per hour per device; checks
//! to 10 per minute (the seed's table).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;
use sha2::{Digest, Sha256};
use sim_core::{SimDuration, SimTime};

use crate::credentials::hex;
use crate::device_api::{EndpointLimit, authenticate, limit};
use crate::error::{ApiError, Family, Kind};
use crate::http_util::{Authz, Fields, json_object, respond};
use crate::state::{AccountId, AppState};
use crate::time::{Now, rfc3339};

const F: Family = Family::Device;
const CHECK: EndpointLimit = EndpointLimit("ota_check", 10, SimDuration::from_mins(1));
const DOWNLOAD: EndpointLimit = EndpointLimit("ota_download", 5, SimDuration::from_hours(1));

/// How a release is rolled out.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutPlan {
    /// Cumulative fleet percentages per batch, increasing, ending at 100.
    pub batches: Vec<f64>,
    /// Open the next batch at this success rate or above, 0–1.
    pub advance_success_rate: f64,
    /// Halt above this failure rate, 0–1.
    pub halt_failure_rate: f64,
    /// Finished devices needed in a batch before deciding.
    pub min_reports: u32,
}

impl Default for RolloutPlan {
    /// 5 %, 25 %, 100 %; advance at 95 % success, halt above 20 % failure,
    /// decide after 10 finished devices.
    fn default() -> Self {
        RolloutPlan {
            batches: vec![5.0, 25.0, 100.0],
            advance_success_rate: 0.95,
            halt_failure_rate: 0.2,
            min_reports: 10,
        }
    }
}

/// Why a release could not be published.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReleaseError {
    /// The version is not `MAJOR.MINOR.PATCH`.
    #[error("version {0:?} is not a semantic version such as 1.3.0")]
    Version(String),
    /// The version exists already.
    #[error("version {0} is already published")]
    Duplicate(String),
    /// The plan's batches or rates are out of range.
    #[error("rollout plan: {0}")]
    Plan(String),
    /// The image is empty.
    #[error("the image is empty")]
    EmptyImage,
}

/// The latest status a device reported for a release.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceOtaStatus {
    /// The seed's status values.
    pub status: String,
    /// Progress, for `downloading`.
    pub progress_percent: Option<u8>,
    /// Error, for `failed`.
    pub error_message: Option<String>,
    /// When it was reported.
    pub at: SimTime,
}

/// A published release.
#[derive(Debug, Clone)]
pub struct Release {
    /// Version.
    pub version: String,
    /// The image.
    pub image: Arc<[u8]>,
    /// Lowercase hex SHA-256 of the image.
    pub checksum_hex: String,
    /// Release notes.
    pub release_notes: String,
    /// The plan.
    pub plan: RolloutPlan,
    /// Index of the open batch.
    pub stage: usize,
    /// Halted for failures.
    pub halted: bool,
    /// Latest status per device.
    pub statuses: HashMap<(AccountId, String), DeviceOtaStatus>,
}

/// Parses `MAJOR.MINOR.PATCH`.
pub fn semver(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.split('.').map(|p| {
        if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
            None
        } else {
            p.parse().ok()
        }
    });
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// A device's place in the fleet for rollouts, in `[0, 100)`.
pub fn fleet_percentile(account: AccountId, device_id: &str) -> f64 {
    let digest = Sha256::digest(format!("{account}/{device_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(first) % 10_000) as f64 / 100.0
}

impl Release {
    fn offered_to(&self, percentile: f64) -> bool {
        !self.halted
            && self
                .plan
                .batches
                .get(self.stage)
                .is_some_and(|&p| percentile < p)
    }
}

impl AppState {
    /// Publishes a release; its first batch opens at once.
    pub fn publish_release(
        &self,
        version: &str,
        image: Vec<u8>,
        release_notes: &str,
        plan: RolloutPlan,
    ) -> Result<(), ReleaseError> {
        if semver(version).is_none() {
            return Err(ReleaseError::Version(version.to_owned()));
        }
        if image.is_empty() {
            return Err(ReleaseError::EmptyImage);
        }
        let increasing = plan.batches.windows(2).all(|w| w[0] < w[1]);
        if plan.batches.is_empty()
            || !increasing
            || plan.batches[0] <= 0.0
            || plan.batches.last() != Some(&100.0)
        {
            return Err(ReleaseError::Plan(
                "batches must increase from above 0 to exactly 100".into(),
            ));
        }
        if !(0.0..=1.0).contains(&plan.advance_success_rate)
            || !(0.0..=1.0).contains(&plan.halt_failure_rate)
        {
            return Err(ReleaseError::Plan("rates must be between 0 and 1".into()));
        }
        let mut releases = self.releases_mut();
        if releases.iter().any(|r| r.version == version) {
            return Err(ReleaseError::Duplicate(version.to_owned()));
        }
        let checksum_hex = hex(&Sha256::digest(&image));
        releases.push(Release {
            version: version.to_owned(),
            image: image.into(),
            checksum_hex,
            release_notes: release_notes.to_owned(),
            plan,
            stage: 0,
            halted: false,
            statuses: HashMap::new(),
        });
        Ok(())
    }

    /// A snapshot of a release.
    pub fn release(&self, version: &str) -> Option<Release> {
        self.releases()
            .iter()
            .find(|r| r.version == version)
            .cloned()
    }

    /// Where each release's rollout stands: (version, open batch's index,
    /// its cumulative fleet share [%], halted), in publishing order.
    pub fn rollouts(&self) -> Vec<(String, usize, f64, bool)> {
        self.releases()
            .iter()
            .map(|r| {
                let share = r.plan.batches.get(r.stage).copied().unwrap_or(100.0);
                (r.version.clone(), r.stage, share, r.halted)
            })
            .collect()
    }

    /// Time-driven work, run by `serve` on a timer and by the simulator:
    /// every account's [`AppState::tick_account`] in id order (so the result
    /// does not depend on threads), then [`AppState::tick_global`].
    pub fn tick(&self, now: SimTime) {
        for id in 0..self.account_count() {
            self.tick_account(id, now);
        }
        self.tick_global(now);
    }

    /// One account's time-driven work at `now`: offline detection
    /// (`device.offline` after more than 5 minutes of silence, and
    /// `device_offline` automations), automation schedules and waiting
    /// actions, webhook deliveries and retries. Deliveries go out through the
    /// sink with no account lock held. Returns when the account next needs a
    /// tick (always after `now`; [`SimTime::MAX`] when nothing is pending);
    /// requests handled meanwhile may bring it forward ([`Account::wake`]).
    pub fn tick_account(&self, id: AccountId, now: SimTime) -> SimTime {
        let Some(account) = self.account(id) else {
            return SimTime::MAX;
        };
        let lock = || {
            account
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let mut attempts = {
            let mut acc = lock();
            let mut offline = Vec::new();
            for (i, d) in acc.devices.iter_mut().enumerate() {
                match d.last_seen {
                    Some(seen) if !d.online(now) && !d.offline_notified => {
                        d.offline_notified = true;
                        offline.push((i, d.device_id.clone(), seen));
                    }
                    Some(_) if d.online(now) => d.offline_notified = false,
                    _ => {}
                }
            }
            for (i, device_id, seen) in offline {
                let data = json!({"device_id": device_id, "last_seen": rfc3339(seen), "reason": "no contact for more than 5 minutes"});
                crate::webhooks::emit(&mut acc, "device.offline", data, now);
                crate::engine::on_event(&mut acc, i, crate::engine::DeviceEvent::Offline, now);
            }
            crate::engine::tick(&mut acc, now);
            acc.sweep_limits(now);
            crate::webhooks::take_due(&mut acc, now)
        };
        let mut acc = if attempts.is_empty() {
            lock()
        } else {
            crate::webhooks::send(&mut attempts, self.webhook_sink(), now);
            let mut acc = lock();
            crate::webhooks::record(&mut acc, attempts, now);
            acc
        };
        acc.refresh_wake(now)
    }

    /// Work across accounts at `now`: rollout decisions (advance a batch,
    /// or halt) and forgetting expired tokens. The simulator runs it between
    /// windows, when no request is in flight.
    pub fn tick_global(&self, now: SimTime) {
        for r in self.releases_mut().iter_mut().filter(|r| !r.halted) {
            let Some(&open) = r.plan.batches.get(r.stage) else {
                continue;
            };
            let (mut ok, mut failed) = (0u32, 0u32);
            for ((account, device), s) in &r.statuses {
                if fleet_percentile(*account, device) < open {
                    match s.status.as_str() {
                        "completed" => ok += 1,
                        "failed" => failed += 1,
                        _ => {}
                    }
                }
            }
            let finished = ok + failed;
            if finished < r.plan.min_reports || finished == 0 {
                continue;
            }
            let failure = f64::from(failed) / f64::from(finished);
            if failure > r.plan.halt_failure_rate {
                r.halted = true;
            } else if 1.0 - failure >= r.plan.advance_success_rate
                && r.stage + 1 < r.plan.batches.len()
            {
                r.stage += 1;
            }
        }
        self.evict_expired_tokens(now);
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct CheckQuery {
    current_version: Option<String>,
}

/// `GET /v1/ota/check?current_version=1.2.3`.
pub(crate) async fn get_check(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    query: Result<Query<CheckQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let (account, index) = authenticate(&state, &headers)?;
    let (device_id, rate) = state
        .with_account(account, |acc| {
            let rate = limit(acc, index, now, CHECK)?;
            acc.seen(index as usize, now);
            let d = acc.devices.get(index as usize).ok_or_else(|| {
                ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key")
            })?;
            Ok((d.device_id.clone(), rate))
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))??;
    let current = query
        .ok()
        .and_then(|Query(q)| q.current_version)
        .ok_or_else(|| {
            ApiError::new(
                F,
                Kind::BadRequest,
                "current_version is required (e.g. current_version=1.2.3)",
            )
        })?;
    let current_v = semver(&current).ok_or_else(|| {
        ApiError::new(
            F,
            Kind::BadRequest,
            "current_version must be a semantic version such as 1.2.3",
        )
    })?;
    let percentile = fleet_percentile(account, &device_id);
    let offer = state
        .releases()
        .iter()
        .filter(|r| r.offered_to(percentile) && semver(&r.version).is_some_and(|v| v > current_v))
        .max_by_key(|r| semver(&r.version))
        .map(|r| {
            json!({
                "update_available": true,
                "version": r.version,
                "checksum": format!("sha256:{}", r.checksum_hex),
                "size_bytes": r.image.len(),
                "release_notes": r.release_notes,
            })
        });
    Ok(respond(
        StatusCode::OK,
        offer.unwrap_or_else(|| json!({"update_available": false})),
        Some(rate),
    ))
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against `len`.
fn byte_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (a, "") => (a.parse().ok()?, len - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}

/// `GET /v1/ota/download/{version}`: the image, whole or one byte range.
pub(crate) async fn get_download(
    State(state): State<AppState>,
    Now(now): Now,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (account, index) = authenticate(&state, &Authz::of(&headers))?;
    let rate = state
        .with_account(account, |acc| {
            acc.seen(index as usize, now);
            limit(acc, index, now, DOWNLOAD)
        })
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))??;
    let image = state
        .releases()
        .iter()
        .find(|r| r.version == version && !r.halted)
        .map(|r| r.image.clone())
        .ok_or_else(|| {
            ApiError::new(
                F,
                Kind::NotFound,
                format!("no firmware {version} is available"),
            )
        })?;
    let len = image.len() as u64;
    let (status, slice, content_range) = match headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    {
        Some(r) => match byte_range(r, len) {
            Some((a, b)) => (
                StatusCode::PARTIAL_CONTENT,
                image[a as usize..=b as usize].to_vec(),
                Some(format!("bytes {a}-{b}/{len}")),
            ),
            None => {
                let mut resp = (StatusCode::RANGE_NOT_SATISFIABLE, axum::Json(json!({"error": "range_not_satisfiable", "message": format!("the image has {len} bytes")}))).into_response();
                resp.headers_mut().insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{len}"))
                        .unwrap_or(HeaderValue::from_static("bytes */0")),
                );
                return Ok(resp);
            }
        },
        None => (StatusCode::OK, image.to_vec(), None),
    };
    let mut resp = (status, Body::from(slice)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(cr) = content_range.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_RANGE, cr);
    }
    rate.apply(h);
    Ok(resp)
}

/// The seed's OTA status values.
pub const OTA_STATUSES: [&str; 6] = [
    "downloading",
    "downloaded",
    "verifying",
    "applying",
    "completed",
    "failed",
];

/// `POST /v1/ota/status`.
pub(crate) async fn post_status(
    State(state): State<AppState>,
    Now(now): Now,
    headers: Authz,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (account, index) = authenticate(&state, &headers)?;
    let body = json_object(F, body)?;
    let f = Fields::new(F, &body);
    f.only(&["version", "status", "progress_percent", "error_message"])?;
    let version = f.string("version", 32)?;
    let status = f.one_of("status", &OTA_STATUSES)?;
    let progress_percent = match body.get("progress_percent") {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => Some(f.integer_in("progress_percent", 0, 100)? as u8),
    };
    let error_message = f.opt_string("error_message", 1_024)?.map(str::to_owned);
    let device_id = state
        .with_account(account, |acc| {
            acc.seen(index as usize, now);
            acc.devices.get(index as usize).map(|d| d.device_id.clone())
        })
        .flatten()
        .ok_or_else(|| ApiError::new(F, Kind::Unauthorized, "Invalid or missing API key"))?;
    {
        let mut releases = state.releases_mut();
        let r = releases
            .iter_mut()
            .find(|r| r.version == version)
            .ok_or_else(|| {
                ApiError::new(
                    F,
                    Kind::NotFound,
                    format!("no firmware {version} was released"),
                )
            })?;
        r.statuses.insert(
            (account, device_id),
            DeviceOtaStatus {
                status: status.to_owned(),
                progress_percent,
                error_message,
                at: now,
            },
        );
    }
    Ok(respond(
        StatusCode::OK,
        json!({"recorded": true, "timestamp": rfc3339(now)}),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_ranges_parse() {
        assert_eq!(semver("1.13.0"), Some((1, 13, 0)));
        assert!(semver("1.13.0") > semver("1.2.9"));
        assert_eq!(semver("1.2"), None);
        assert_eq!(semver("1.2.x"), None);
        assert_eq!(byte_range("bytes=0-99", 1_000), Some((0, 99)));
        assert_eq!(byte_range("bytes=900-", 1_000), Some((900, 999)));
        assert_eq!(byte_range("bytes=-100", 1_000), Some((900, 999)));
        assert_eq!(byte_range("bytes=990-2000", 1_000), Some((990, 999)));
        assert_eq!(byte_range("bytes=1000-", 1_000), None);
        assert_eq!(byte_range("bytes=5-1", 1_000), None);
        assert_eq!(byte_range("bytes=0-1,5-6", 1_000), None);
        assert_eq!(byte_range("items=0-1", 1_000), None);
    }

    #[test]
    fn percentiles_spread_the_fleet_evenly() {
        let below_25 = (0..4_000)
            .filter(|i| fleet_percentile(0, &format!("dev-{i}")) < 25.0)
            .count();
        assert!(
            (900..1_100).contains(&below_25),
            "{below_25} of 4000 in the first quarter"
        );
        assert_eq!(fleet_percentile(3, "x"), fleet_percentile(3, "x"));
    }
}
