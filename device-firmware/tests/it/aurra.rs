//! AURRA diagnostics: token, vibration while the compressor runs, energy
//! every five minutes, refresh before expiry and once on 401; the hub role.

use device_firmware::config::FirmwareConfig;
use device_firmware::telemetry::SensorType;
use serde_json::json;

use crate::harness::{World, identity, minutes, t0};

fn cooling_world() -> World {
    let mut w = World::new(FirmwareConfig::default(), identity(true, 0));
    w.server.pending.push(json!({
        "command_id": "c1", "type": "config_update",
        "payload": {"setpoint": {"temperature": 70, "mode": "cool"}},
        "expires_at": t0().plus_secs(86_400).to_rfc3339()
    }));
    // A hot room that never cools: the compressor runs throughout.
    w.temperature_c = Box::new(|_| 27.0);
    w
}

#[test]
fn vibration_every_minute_while_running_and_energy_every_five() {
    let mut w = cooling_world();
    w.run_until(minutes(65));
    assert!(w.fw().relays().y_compressor);
    // Running from minute 5 (boot rest): about 60 vibration reports.
    let n = w.server.vibration.len();
    assert!((55..=62).contains(&n), "{n} vibration reports");
    let v = &w.server.vibration[0];
    assert_eq!(v["device_id"], "aurra_001");
    assert_eq!(v["amplitude"], 0.4);
    assert_eq!(v["frequency"], 58.0);
    assert_eq!(v["duration_ms"], 1_000);
    assert!(v["rms"].is_number() && v["kurtosis"].is_number());
    let e = &w.server.energy;
    assert!((12..=13).contains(&e.len()), "{} energy reports", e.len());
    assert_eq!(e[2]["runtime_mins"], 5);
    assert_eq!(e[2]["voltage"], 240.0);
    assert_eq!(e[2]["current_amps"], 15.0);
    assert_eq!(e[2]["period_start"], t0().plus_secs(600).to_rfc3339());
}

#[test]
fn tokens_are_refreshed_before_expiry_and_never_used_after() {
    let mut w = cooling_world();
    w.run_until(minutes(200));
    // Three hours of diagnostics need at least three tokens.
    assert!(w.server.next_token >= 3, "{} tokens", w.server.next_token);
    for s in w
        .server
        .seen
        .iter()
        .filter(|s| s.path.starts_with("/v1/diagnostics/"))
    {
        let token = s.auth.trim_start_matches("Bearer ");
        let exp = w.server.tokens[token];
        assert!(s.at < exp, "{token} used at {:?}, expired {:?}", s.at, exp);
    }
    assert!(
        w.server
            .seen
            .iter()
            .all(|s| !s.path.starts_with("/v1/diagnostics/") || s.auth.starts_with("Bearer tok-"))
    );
}

#[test]
fn a_401_refreshes_the_token_once() {
    let mut w = cooling_world();
    w.run_until(minutes(10));
    let before = w.server.next_token;
    // The server forgets every token (a key rotation).
    w.server.tokens.clear();
    w.run_until(minutes(12));
    assert_eq!(w.server.next_token, before + 1, "one refresh");
    let n = w.server.vibration.len();
    w.run_until(minutes(15));
    assert!(w.server.vibration.len() > n, "reports flow again");
}

#[test]
fn no_credentials_no_diagnostics() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.temperature_c = Box::new(|_| 15.0);
    w.run_until(minutes(30));
    assert_eq!(w.server.count("/v1/auth/token"), 0);
    assert_eq!(w.server.count("/v1/diagnostics"), 0);
}

#[test]
fn a_hub_registers_its_sensors_and_reports_for_them() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 2));
    w.run_until(minutes(1));
    assert_eq!(w.server.zigbee.len(), 2);
    assert_eq!(w.server.zigbee[0]["sensor_api_key"], "sk_sensor_0");
    let now = minutes(1);
    assert!(
        w.fw()
            .handle_zigbee_reading(now, "0x00124b001cce5a71", SensorType::Iaq, 42.0)
    );
    assert!(
        !w.fw()
            .handle_zigbee_reading(now, "0xdeadbeef", SensorType::Iaq, 1.0),
        "unpaired"
    );
    w.run_until(minutes(3));
    let with_sensor: Vec<_> = w
        .server
        .seen
        .iter()
        .filter(|s| s.path == "/v1/telemetry")
        .flat_map(|s| s.body["readings"].as_array().unwrap().clone())
        .filter(|r| r.get("sensor_id").is_some())
        .collect();
    assert_eq!(with_sensor.len(), 1);
    assert_eq!(with_sensor[0]["sensor_id"], "sensor-2");
    assert_eq!(with_sensor[0]["sensor_type"], "iaq");
}

#[test]
fn raw_windows_go_through_the_devices_fft() {
    let mut w = cooling_world();
    // 0.5 g at 100 Hz plus a 0.1 g tone at 58 Hz: 4096 samples at 4096 Hz.
    let fs = 4_096.0;
    let samples: Vec<f64> = (0..4_096)
        .map(|i| {
            let t = i as f64 / fs;
            0.5 * (std::f64::consts::TAU * 100.0 * t).sin()
                + 0.1 * (std::f64::consts::TAU * 58.0 * t).sin()
        })
        .collect();
    w.window = Some((samples, fs));
    w.run_until(minutes(10));
    let v = w.server.vibration.last().expect("a vibration report");
    assert_eq!(v["frequency"], 100.0);
    assert_eq!(v["duration_ms"], 1_000);
    let amplitude = v["amplitude"].as_f64().unwrap();
    assert!(amplitude > 0.5 && amplitude <= 0.6, "{amplitude}");
    let rms = v["rms"].as_f64().unwrap();
    assert!((rms - (0.125f64 + 0.005).sqrt()).abs() < 1e-3, "{rms}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..proptest::prelude::ProptestConfig::default() })]

    /// Whatever the token lifetime the server grants and the refresh margin,
    /// no diagnostics request ever carries an expired token.
    #[test]
    fn a_token_is_never_used_after_its_expiry(lifetime_s in 120u64..7_200, margin_s in 0u64..1_800) {
        let mut w = World::new(FirmwareConfig { token_refresh_margin_ms: margin_s * 1_000, ..FirmwareConfig::default() }, identity(true, 0));
        w.server.token_lifetime_s = lifetime_s;
        w.server.pending.push(json!({
            "command_id": "c1", "type": "config_update",
            "payload": {"setpoint": {"temperature": 70, "mode": "cool"}},
            "expires_at": t0().plus_secs(86_400).to_rfc3339()
        }));
        w.temperature_c = Box::new(|_| 27.0);
        w.run_until(minutes(180));
        let diag: Vec<_> = w.server.seen.iter().filter(|s| s.path.starts_with("/v1/diagnostics/")).collect();
        proptest::prop_assert!(!diag.is_empty());
        for s in diag {
            let token = s.auth.trim_start_matches("Bearer ");
            let exp = w.server.tokens.get(token).copied();
            proptest::prop_assert!(exp.is_some_and(|e| s.at < e), "token {} used at {:?}, expiring {:?}", token, s.at, exp);
        }
    }
}
