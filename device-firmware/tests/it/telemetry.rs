//! Telemetry: settings applied, readings batched, nothing lost through
//! outages and 429s.

use device_firmware::config::FirmwareConfig;
use device_firmware::http::Response;
use serde_json::json;

use crate::harness::{World, assert_no_reading_lost, identity, minutes};

#[test]
fn settings_at_boot_then_a_reading_per_sensor_per_interval() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.run_until(minutes(60));
    assert!(w.server.count("/v1/settings") >= 1);
    assert_eq!(
        w.server.seen[0].path, "/v1/settings",
        "settings first, at boot"
    );
    assert_eq!(w.server.seen[0].auth, "Bearer dk_test_key");
    assert_eq!(w.fw().flash().reporting_interval_s, 60);
    // One temperature and one humidity reading a minute for an hour.
    let n = w.server.telemetry_seqs.len();
    assert!((118..=122).contains(&n), "{n} readings");
    assert_no_reading_lost(&w.server.telemetry_seqs);
    let post = w
        .server
        .seen
        .iter()
        .find(|s| s.path == "/v1/telemetry")
        .unwrap();
    assert_eq!(post.body["latitude"], json!(39.7));
    assert_eq!(post.body["readings"][0]["sensor_type"], "temperature");
    assert_eq!(
        post.body["readings"][0]["timestamp"],
        "2026-07-15T12:00:00Z"
    );
}

#[test]
fn an_outage_loses_nothing_and_the_backlog_drains_in_batches() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    // Telemetry fails for two hours (503 for an hour, then no answer at all).
    w.server.script("/v1/telemetry", |now, _| {
        if now < minutes(60) {
            Some(Response::json(
                503,
                &json!({"error": "unavailable", "message": "down"}),
            ))
        } else {
            None
        }
    });
    w.run_until(minutes(120));
    assert!(w.server.telemetry_seqs.is_empty());
    let buffered = w.fw().flash().buffer.len();
    assert!(buffered >= 238, "{buffered} readings waiting");
    w.server.overrides.clear();
    w.run_until(minutes(180));
    assert_no_reading_lost(&w.server.telemetry_seqs);
    assert!(w.server.telemetry_seqs.len() >= 358);
    assert_eq!(w.fw().flash().buffer.dropped(), 0);
    // The backlog went out in full batches of 100.
    let sizes: Vec<usize> = w
        .server
        .seen
        .iter()
        .filter(|s| s.path == "/v1/telemetry" && s.at >= minutes(120))
        .map(|s| s.body["readings"].as_array().unwrap().len())
        .collect();
    assert_eq!(&sizes[..2], &[100, 100]);
}

#[test]
fn a_full_buffer_drops_the_newest_and_counts() {
    let cfg = FirmwareConfig {
        telemetry_buffer_capacity: 50,
        ..FirmwareConfig::default()
    };
    let mut w = World::new(cfg, identity(false, 0));
    w.server.script("/v1/telemetry", |_, _| None);
    w.run_until(minutes(60));
    let b = &w.fw().flash().buffer;
    assert_eq!(b.len(), 50);
    assert!(b.dropped() >= 68, "{}", b.dropped());
    assert!(
        w.events
            .iter()
            .any(|(_, e)| matches!(e, device_firmware::firmware::Event::ReadingDropped { .. }))
    );
}

#[test]
fn retry_after_is_honoured_and_nothing_is_lost() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.server.script("/v1/telemetry", |now, _| {
        (now < minutes(30)).then(|| {
            let mut r = Response::json(
                429,
                &json!({"error": "rate_limited", "message": "slow down"}),
            );
            r.headers.push(("Retry-After".into(), "17".into()));
            r
        })
    });
    w.run_until(minutes(30));
    let attempts: Vec<_> = w
        .server
        .seen
        .iter()
        .filter(|s| s.path == "/v1/telemetry")
        .map(|s| s.at)
        .collect();
    assert!(attempts.len() > 10);
    for pair in attempts.windows(2) {
        assert!(
            pair[1].ms_since(pair[0]) >= 17_000,
            "retried after {} ms",
            pair[1].ms_since(pair[0])
        );
    }
    w.server.overrides.clear();
    w.run_until(minutes(45));
    assert_no_reading_lost(&w.server.telemetry_seqs);
}
