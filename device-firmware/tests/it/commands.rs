//! Commands: each executed and reported exactly once; expired ones skipped.

use device_firmware::config::FirmwareConfig;
use device_firmware::control::Mode;
use device_firmware::http::Response;
use serde_json::{Value, json};

use crate::harness::{World, assert_no_reading_lost, identity, minutes, t0};

fn command(id: &str, kind: &str, payload: Value) -> Value {
    json!({"command_id": id, "type": kind, "payload": payload, "expires_at": t0().plus_secs(86_400).to_rfc3339()})
}

fn result_for<'a>(w: &'a World, id: &str) -> Vec<&'a Value> {
    w.server
        .results
        .iter()
        .filter(|r| r["command_id"] == id)
        .collect()
}

#[test]
fn config_update_changes_setpoints_and_schedule() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.server.pending.push(command(
        "cmd-1",
        "config_update",
        json!({
            "setpoint": {"temperature": 72, "mode": "cool"},
            "eco": {"enabled": false},
            "schedule": {"name": "Workday", "blocks": [
                {"label": "Day", "start": "08:00", "end": "16:30", "heat": 65, "cool": 78, "days": ["mon","tue","wed","thu","fri"]}
            ]}
        }),
    ));
    w.run_until(minutes(5));
    let r = result_for(&w, "cmd-1");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["status"], "acked");
    assert_eq!(w.fw().comfort().mode, Mode::Cool);
    assert!(w.fw().comfort().schedule.is_some());
    // 24 °C is above 72 °F + 1: the compressor cools after the boot rest.
    w.temperature_c = Box::new(|_| 24.0);
    w.run_until(minutes(10));
    let relays = w.fw().relays();
    assert!(relays.y_compressor && relays.o_cool, "{relays:?}");
}

#[test]
fn invalid_updates_fail_and_change_nothing() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.server.pending.push(command(
        "cmd-2",
        "config_update",
        json!({"mode": "cool", "setpoint": {"temperature": 99, "mode": "heat"}}),
    ));
    w.server
        .pending
        .push(command("cmd-3", "factory_reset", json!({})));
    w.server
        .pending
        .push(command("cmd-4", "self_destruct", json!({})));
    w.run_until(minutes(3));
    let r2 = result_for(&w, "cmd-2");
    assert_eq!(r2[0]["status"], "failed");
    assert!(
        r2[0]["error_message"]
            .as_str()
            .unwrap()
            .contains("setpoint.temperature")
    );
    assert_eq!(w.fw().comfort().mode, Mode::Heat, "all or nothing");
    assert!(
        result_for(&w, "cmd-3")[0]["error_message"]
            .as_str()
            .unwrap()
            .contains("confirm")
    );
    assert_eq!(result_for(&w, "cmd-4")[0]["status"], "failed");
    assert!(w.fw().reboot_due().is_none());
}

#[test]
fn results_are_reported_exactly_once_even_when_the_report_fails() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    let mut failures = 2;
    w.server.script("/v1/commands/result", move |_, _| {
        if failures > 0 {
            failures -= 1;
            Some(Response::json(
                503,
                &json!({"error": "unavailable", "message": ""}),
            ))
        } else {
            None
        }
    });
    w.server
        .pending
        .push(command("cmd-5", "diagnostics", json!({})));
    w.run_until(minutes(2));
    w.server.overrides.clear();
    // The same command listed again must not run again.
    w.server
        .pending
        .push(command("cmd-5", "diagnostics", json!({})));
    w.run_until(minutes(30));
    let r = result_for(&w, "cmd-5");
    assert_eq!(r.len(), 1, "{:?}", w.server.results);
    let d = &r[0]["result"];
    assert_eq!(d["firmware_version"], "1.0.0");
    assert_eq!(d["temperature_c"], 22.0);
    assert!(d["relays"].is_object() && d["telemetry_buffered"].is_number());
}

#[test]
fn expired_commands_are_skipped() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.server.pending.push(json!({
        "command_id": "cmd-old", "type": "reboot", "payload": {"delay_seconds": 0},
        "expires_at": t0().to_rfc3339()
    }));
    w.run_until(minutes(5));
    assert!(result_for(&w, "cmd-old").is_empty());
    assert_eq!(w.reboots, 0);
}

#[test]
fn reboot_waits_its_delay_and_keeps_flash() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.server
        .pending
        .push(command("cmd-6", "reboot", json!({"delay_seconds": 120})));
    w.run_until(minutes(1));
    assert_eq!(w.reboots, 0);
    w.run_until(minutes(4));
    assert_eq!(w.reboots, 1);
    assert_eq!(result_for(&w, "cmd-6").len(), 1);
    // After the reboot the device carries on: settings again, no reading lost.
    assert!(
        w.server
            .seen
            .iter()
            .filter(|s| s.path == "/v1/settings")
            .count()
            >= 2
    );
    w.run_until(minutes(10));
    assert_no_reading_lost(&w.server.telemetry_seqs);
}

#[test]
fn factory_reset_with_confirmation_restores_defaults() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.server
        .pending
        .push(command("cmd-7", "config_update", json!({"mode": "cool"})));
    w.run_until(minutes(2));
    assert_eq!(w.fw().comfort().mode, Mode::Cool);
    w.server
        .pending
        .push(command("cmd-8", "factory_reset", json!({"confirm": true})));
    w.run_until(minutes(5));
    assert_eq!(w.reboots, 1);
    assert_eq!(w.fw().comfort().mode, Mode::Heat);
    assert_eq!(result_for(&w, "cmd-8")[0]["status"], "acked");
}

#[test]
fn eco_and_fan_through_config_update() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.server.pending.push(command(
        "cmd-9",
        "config_update",
        json!({"mode": "off", "fan": "on", "eco": {"enabled": true, "heat_limit": 60, "cool_limit": 84}}),
    ));
    w.run_until(minutes(2));
    assert_eq!(
        result_for(&w, "cmd-9")[0]["result"]["applied"],
        json!(["eco", "fan", "mode"])
    );
    let relays = w.fw().relays();
    assert!(
        relays.g_fan && !relays.y_compressor && !relays.w_heat,
        "{relays:?}"
    );
    let eco = w.fw().eco();
    assert!(eco.enabled && eco.heat_limit == 60 && eco.cool_limit == 84);
    w.server.pending.push(command(
        "cmd-10",
        "config_update",
        json!({"eco": {"enabled": true, "heat_limit": 20}}),
    ));
    w.run_until(minutes(4));
    assert!(
        result_for(&w, "cmd-10")[0]["error_message"]
            .as_str()
            .unwrap()
            .contains("eco.heat_limit")
    );
}

#[test]
fn a_power_loss_stops_everything_and_loses_no_reading() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.temperature_c = Box::new(|_| 15.0);
    w.run_until(minutes(20));
    assert!(w.fw().relays().y_compressor, "heating");
    w.power_cycle(minutes(20));
    // After power returns the compressor rests min_off (5 min) first.
    w.run_until(minutes(24));
    assert!(!w.fw().relays().y_compressor);
    w.run_until(minutes(26));
    assert!(w.fw().relays().y_compressor);
    w.run_until(minutes(40));
    let mut seqs = w.server.telemetry_seqs.clone();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(
        seqs.len() as u64,
        seqs.last().unwrap() + 1,
        "no reading lost across the power loss"
    );
}

#[test]
fn an_invalid_config_is_refused_at_boot() {
    use device_firmware::firmware::Firmware;
    use rand::SeedableRng;
    let mut cfg = FirmwareConfig::default();
    cfg.control.min_off_ms = 0;
    let err = Firmware::new(
        cfg,
        identity(false, 0),
        rand::rngs::ChaCha8Rng::seed_from_u64(1),
        t0(),
    )
    .unwrap_err();
    assert_eq!(err.field, "control.min_off_ms");
}

#[test]
fn motion_and_presses_are_reported_once_each_and_survive_a_429() {
    use device_firmware::firmware::OccupantEvent;
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    w.run_until(minutes(2));
    // The first report meets a rate limit: it waits out Retry-After.
    w.server.script("/v1/events", move |_, _| {
        let mut r = Response::json(
            429,
            &json!({"error": "rate_limited", "message": "slow down"}),
        );
        r.headers.push(("Retry-After".into(), "30".into()));
        Some(r)
    });
    let now = w.now;
    w.fw().handle_occupant(now, OccupantEvent::Motion);
    // A PIR sensor re-triggers: within the hold-off it is not reported again.
    w.fw()
        .handle_occupant(now.plus_secs(1), OccupantEvent::Motion);
    w.fw()
        .handle_occupant(now.plus_secs(1), OccupantEvent::ButtonPress);
    w.run_until(now.plus_secs(10));
    w.server.overrides.clear();
    w.run_until(minutes(4));
    let posted: Vec<&Value> = w
        .server
        .seen
        .iter()
        .filter(|s| s.path == "/v1/events")
        .map(|s| &s.body)
        .collect();
    assert_eq!(
        posted,
        [
            &json!({"event": "motion_detected"}),
            &json!({"event": "motion_detected"}),
            &json!({"event": "button_press"}),
        ],
        "refused once, then each sent once, in order"
    );
    let retry = w
        .server
        .seen
        .iter()
        .filter(|s| s.path == "/v1/events")
        .map(|s| s.at)
        .collect::<Vec<_>>();
    assert!(
        retry[1].ms_since(retry[0]) >= 30_000,
        "Retry-After was honoured"
    );
    // After the hold-off, motion counts again.
    w.fw().handle_occupant(minutes(20), OccupantEvent::Motion);
    w.run_until(minutes(21));
    assert_eq!(w.server.count("/v1/events"), 4);
}
