//! The runner end to end on small fleets: determinism across thread
//! counts, telemetry for every home, ground-truth failures, alerts through
//! verified webhooks, and a rate-limit storm that loses no reading.

use std::path::{Path, PathBuf};

use common::{ints, texts};
use scenarios::run::{Overrides, run};
use serde_json::Value;

mod common;

fn scenario(body: &str) -> scenarios::Scenario {
    scenarios::parse_str(body, Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn out_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("thermotwin-run-{tag}-{}", std::process::id()))
}

fn run_with(s: &scenarios::Scenario, tag: &str, threads: usize) -> (PathBuf, Value) {
    let out = out_dir(tag);
    let o = Overrides {
        out: Some(out.clone()),
        ..Overrides::default()
    };
    let f = run(s, &o, threads, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    assert!(f.dir.starts_with(&out));
    (f.dir, f.summary)
}

const FAULTY: &str = r#"
name = "faulty"
seed = 11
start = "2026-07-10T00:00:00Z"
duration = "2d"

[fleet]
homes = 8
hub_share = 0.25

[climate]
annual_mean_c = 22.0
seasonal_amplitude_c = 8.0

[faults.bearing]
incidence = 0.5
onset_max_h = 2.0
rate_um_per_h = 6.0
shape_per_h = 2.0

[faults.leak]
incidence = 0.0

[faults.capacitor]
incidence = 0.0

[[accounts]]
name = "a"

[[accounts.integrations]]
name = "app"
poll_status = "10m"
webhooks = ["predictive.alert_created", "predictive.alert_resolved", "device.offline"]

[technicians]
delay = "6h"
"#;

#[test]
fn one_seed_gives_the_same_run_on_one_and_two_threads() {
    // Four accounts of two homes: four shards, spread over the threads.
    let s = scenario(&FAULTY.replace("name = \"a\"\n", "name = \"a\"\nhomes_per_account = 2\n"));
    assert_eq!(s.accounts[0].homes_per_account, Some(2));
    let (a_dir, a) = run_with(&s, "t1", 1);
    let (b_dir, b) = run_with(&s, "t2", 2);
    let text = |d: &Path| std::fs::read(d.join("summary.json")).unwrap();
    assert_eq!(text(&a_dir), text(&b_dir), "summary.json is byte-identical");
    assert_eq!(a, b);
    assert_eq!(a["simulation"]["shards"], 4);
    // So are the tables the shards feed.
    for table in ["requests", "homes", "webhooks", "telemetry"] {
        let file = format!("{table}.parquet");
        let (x, y) = (
            reports::tables::read(&a_dir.join(&file)).unwrap(),
            reports::tables::read(&b_dir.join(&file)).unwrap(),
        );
        assert!(x.height() > 0 && x.equals_missing(&y), "{table} differs");
    }
    for d in [a_dir, b_dir] {
        std::fs::remove_dir_all(d.parent().unwrap()).unwrap();
    }
}

#[test]
fn the_window_length_does_not_change_a_run() {
    // Without OTA releases or outside models shards meet every 15 minutes;
    // a release (published where no thermostat looks: they check once a
    // week) brings back minute windows. What the shards do is the same.
    let base = FAULTY.replace("name = \"a\"\n", "name = \"a\"\nhomes_per_account = 2\n")
        + "[firmware]\nota_check_ms = 604800000\n";
    let quiet = scenario(&base);
    let minute = scenario(
        &(base + "[[ota.releases]]\nversion = \"9.0.0\"\npublish_at = \"1d\"\nbatches = [100]\n"),
    );
    let (q_dir, q) = run_with(&quiet, "w15", 2);
    let (m_dir, m) = run_with(&minute, "w1", 2);
    assert_eq!(q["simulation"]["windows"], 2 * 96, "{q}");
    assert_eq!(m["simulation"]["windows"], 2 * 1440, "{m}");
    // The summary differs only where the scenarios do (the release, its
    // table) and in the window count.
    let (mut q, mut m) = (q, m);
    for s in [&mut q, &mut m] {
        let s = s.as_object_mut().unwrap();
        for key in ["simulation", "ota", "scenario"] {
            assert!(s.remove(key).is_some(), "summary has {key}");
        }
        s["tables"].as_object_mut().unwrap().remove("ota_events");
        s["metrics"]["operations"]
            .as_object_mut()
            .unwrap()
            .remove("ota");
    }
    assert!(q["requests"]["total"].as_u64().unwrap() > 1_000, "{q}");
    for (key, value) in q.as_object().unwrap() {
        assert_eq!(value, &m[key], "summary {key}");
    }
    // Tables written in time order are identical; the per-account ones
    // (telemetry) hold the same rows, grouped by window.
    for table in [
        "requests",
        "homes",
        "webhooks",
        "firmware_events",
        "ground_truth",
    ] {
        let file = format!("{table}.parquet");
        let (x, y) = (
            reports::tables::read(&q_dir.join(&file)).unwrap(),
            reports::tables::read(&m_dir.join(&file)).unwrap(),
        );
        assert!(x.height() > 0 && x.equals_missing(&y), "{table} differs");
    }
    let rows = |d: &Path| {
        let t = reports::tables::read(&d.join("telemetry.parquet")).unwrap();
        let (at, device, kind, seq) = (
            ints(&t, "received_at"),
            texts(&t, "device_id"),
            texts(&t, "sensor_type"),
            ints(&t, "seq"),
        );
        let mut rows: Vec<_> = (0..t.height())
            .map(|i| (at[i], device[i].clone(), kind[i].clone(), seq[i]))
            .collect();
        rows.sort();
        rows
    };
    let (a, b) = (rows(&q_dir), rows(&m_dir));
    assert!(!a.is_empty());
    assert_eq!(a, b, "telemetry rows");
    for d in [q_dir, m_dir] {
        std::fs::remove_dir_all(d.parent().unwrap()).unwrap();
    }
}

#[test]
fn following_repaired_faults_to_their_counterfactual_failures_changes_nothing_else() {
    // Technicians repair bearings before they seize; with counterfactuals
    // on, each repaired fault goes on (on its own stream) to when it would
    // have failed, a `would_fail` row of the ground truth. Every other
    // output is byte-identical with the switch off.
    let base = FAULTY.replace("duration = \"2d\"", "duration = \"4d\"");
    let on = scenario(&base);
    let off = scenario(&(base + "\n[evaluation]\ncounterfactuals = false\n"));
    assert!(on.evaluation.counterfactuals && !off.evaluation.counterfactuals);
    let (on_dir, on_summary) = run_with(&on, "cf-on", 2);
    let (off_dir, _) = run_with(&off, "cf-off", 2);
    let would = on_summary["ground_truth"]["would_fail"]["bearing_wear"]
        .as_u64()
        .unwrap_or(0);
    assert!(would >= 1, "{}", on_summary["ground_truth"]);
    assert!(
        on_summary["technicians"]["failures_prevented"]
            .as_u64()
            .unwrap()
            >= would
    );
    for table in [
        "fleet",
        "homes",
        "requests",
        "telemetry",
        "alerts",
        "predictions",
        "commands",
        "webhooks",
        "ota_events",
        "firmware_events",
    ] {
        let file = format!("{table}.parquet");
        let (x, y) = (
            std::fs::read(on_dir.join(&file)).unwrap(),
            std::fs::read(off_dir.join(&file)).unwrap(),
        );
        assert!(x == y, "{table}.parquet differs");
    }
    // The ground truth is the same but for the would_fail rows.
    let truth = |d: &Path, keep_would_fail: bool| {
        let t = reports::tables::read(&d.join("ground_truth.parquet")).unwrap();
        let (at, home, event) = (ints(&t, "at"), ints(&t, "home"), texts(&t, "event"));
        (0..t.height())
            .filter(|&i| keep_would_fail || event[i] != "would_fail")
            .map(|i| (at[i], home[i], event[i].clone()))
            .collect::<Vec<_>>()
    };
    let with = truth(&on_dir, true);
    assert_eq!(
        with.iter().filter(|r| r.2 == "would_fail").count() as u64,
        would
    );
    assert_eq!(truth(&on_dir, false), truth(&off_dir, true));
    for d in [on_dir, off_dir] {
        std::fs::remove_dir_all(d.parent().unwrap()).unwrap();
    }
}

#[test]
fn faults_fail_on_time_and_alerts_arrive_through_verified_webhooks() {
    let s = scenario(FAULTY);
    let (dir, summary) = run_with(&s, "faults", 2);
    // Telemetry for every home.
    assert_eq!(summary["telemetry"]["homes_with_telemetry"], 8, "{summary}");
    // Bearing faults began and some ran to failure or were caught.
    let onsets = summary["ground_truth"]["fault_onsets"]["bearing_wear"]
        .as_u64()
        .unwrap_or(0);
    assert!(onsets >= 2, "{summary}");
    let alerts = summary["alerts"]["created"].as_u64().unwrap();
    assert!(alerts >= 1, "the predictor saw the wear: {summary}");
    // Every delivery the receiver got verified with the seed's algorithm,
    // and the alerts came through them.
    let received = summary["webhooks"]["received"].as_u64().unwrap();
    assert_eq!(received, summary["webhooks"]["verified"].as_u64().unwrap());
    assert_eq!(
        summary["webhooks"]["by_event"]["predictive.alert_created"].as_u64(),
        Some(alerts)
    );
    // Technicians visited each alerted home; visits either prevented a
    // failure, came after one, or found nothing.
    let t = &summary["technicians"];
    let visits = t["visits"].as_u64().unwrap();
    assert_eq!(
        visits,
        t["failures_prevented"].as_u64().unwrap()
            + t["after_failure"].as_u64().unwrap()
            + t["unnecessary"].as_u64().unwrap()
    );
    assert!(visits <= alerts);
    // Every confidence the predictor produced is in predictions.parquet;
    // each alert came from one at or above the 0.72 threshold.
    let predictions = reports::tables::read(&dir.join("predictions.parquet")).unwrap();
    assert!(predictions.height() as u64 > alerts, "{summary}");
    let confidence = predictions
        .column("confidence")
        .unwrap()
        .f64()
        .unwrap()
        .clone();
    let above = (0..predictions.height())
        .filter(|&i| confidence.get(i).unwrap_or(0.0) >= 0.72)
        .count();
    assert!(above as u64 >= alerts);
    // Every home got the homeowner's setpoint at installation, as a command
    // it fetched and acknowledged (latencies in order).
    let commands = reports::tables::read(&dir.join("commands.parquet")).unwrap();
    let (kind, status) = (texts(&commands, "type"), texts(&commands, "status"));
    let (created, delivered, finished) = (
        ints(&commands, "created_at"),
        ints(&commands, "delivered_at"),
        ints(&commands, "finished_at"),
    );
    let setups: Vec<usize> = (0..commands.height())
        .filter(|&i| kind[i] == "config_update")
        .collect();
    assert_eq!(setups.len(), 8);
    for i in setups {
        assert_eq!(status[i], "acked");
        assert!(created[i] <= delivered[i] && delivered[i] < finished[i]);
    }
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn certain_wear_fails_every_compressor_and_comfort_collapses() {
    // Failures recorded by the runner are the models' own events: with
    // certain, fast wear every home's compressor fails, at a time the
    // record carries, and stops cooling (comfort collapses).
    let s = scenario(
        r#"
name = "fail"
seed = 3
start = "2026-07-10T00:00:00Z"
duration = "3d"
[fleet]
homes = 4
[climate]
annual_mean_c = 26.0
seasonal_amplitude_c = 6.0
[faults.bearing]
incidence = 1.0
onset_max_h = 0.5
rate_um_per_h = 20.0
shape_per_h = 5.0
[faults.leak]
incidence = 0.0
[faults.capacitor]
incidence = 0.0
[technicians]
enabled = false
"#,
    );
    let (dir, summary) = run_with(&s, "fail", 1);
    assert_eq!(
        summary["ground_truth"]["fault_onsets"]["bearing_wear"], 4,
        "{summary}"
    );
    assert_eq!(
        summary["ground_truth"]["failures"]["bearing_wear"], 4,
        "{summary}"
    );
    assert_eq!(summary["technicians"]["visits"], 0);
    // The tables: each failure is in ground_truth.parquet, and from its
    // time on the home's samples never show the compressor running.
    let truth = reports::tables::read(&dir.join("ground_truth.parquet")).unwrap();
    let events = texts(&truth, "event");
    let (t_at, t_home) = (ints(&truth, "at"), ints(&truth, "home"));
    let failures: Vec<(i64, i64)> = (0..truth.height())
        .filter(|&i| events[i] == "failure")
        .map(|i| (t_home[i], t_at[i]))
        .collect();
    assert_eq!(failures.len(), 4);
    let homes = reports::tables::read(&dir.join("homes.parquet")).unwrap();
    let (h_at, h_home) = (ints(&homes, "at"), ints(&homes, "home"));
    let running_col = homes.column("compressor").unwrap().bool().unwrap().clone();
    let running: Vec<bool> = (0..running_col.len())
        .map(|i| running_col.get(i).unwrap_or(false))
        .collect();
    for (home, at) in &failures {
        let after: Vec<usize> = (0..homes.height())
            .filter(|&i| h_home[i] == *home && h_at[i] > at + 60_000)
            .collect();
        assert!(!after.is_empty());
        assert!(
            after.iter().all(|&i| !running[i]),
            "home {home} ran after failing at {at}"
        );
        let before = (0..homes.height()).any(|i| h_home[i] == *home && h_at[i] < *at && running[i]);
        assert!(before, "home {home} ran before failing");
    }
    // Every table was written; the telemetry table holds every stored reading.
    let rows = &summary["tables"];
    assert_eq!(rows["telemetry"], summary["telemetry"]["readings_stored"]);
    assert_eq!(rows["requests"], summary["requests"]["total"]);
    let telemetry = reports::tables::read(&dir.join("telemetry.parquet")).unwrap();
    assert_eq!(
        telemetry.height() as u64,
        rows["telemetry"].as_u64().unwrap()
    );
    assert!(
        summary["comfort"]["discomfort_kh_per_home"]
            .as_f64()
            .unwrap()
            > 1.0,
        "without a compressor the homes overheat: {summary}"
    );
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn a_rate_limit_storm_gets_429s_and_the_thermostats_lose_no_reading() {
    // One standard-tier token (100/min) polling 60 devices every 10 s:
    // 360 requests a minute.
    let s = scenario(
        r#"
name = "storm"
seed = 5
start = "2026-03-02T00:00:00Z"
duration = "1d"
[fleet]
homes = 60
[faults.bearing]
incidence = 0.0
[[accounts]]
name = "storm"
[[accounts.integrations]]
name = "poller"
tier = "standard"
poll_status = "10s"
"#,
    );
    let (dir, summary) = run_with(&s, "storm", 2);
    let limited = summary["requests"]["rate_limited_429"].as_u64().unwrap();
    assert!(limited > 0, "{summary}");
    assert!(
        summary["requests"]["retry_after_s"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| {
                let s: u64 = k.parse().unwrap();
                (1..=60).contains(&s)
            })
    );
    assert!(
        summary["requests"]["integration_jobs_skipped"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Devices have their own limits: every reading of every home is stored
    // (2 sensors every 300 s: 576 a day).
    assert_eq!(
        summary["telemetry"]["min_readings_per_home"], 576,
        "{summary}"
    );
    assert_eq!(summary["telemetry"]["readings_stored"], 60 * 576);
    assert!(
        summary["firmware"]["events"]
            .get("reading_dropped")
            .is_none()
    );
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn a_silent_thermostat_goes_offline_exactly_five_minutes_after_its_last_request() {
    // Every home loses its connection for half an hour: the server, ticking
    // when its account's timers are due (not on a coarse clock), sends
    // `device.offline` 5 min + 1 ms after each device's last request.
    let s = scenario(
        r#"
name = "offline"
seed = 9
start = "2026-03-02T00:00:00Z"
duration = "2h"
[fleet]
homes = 3
[faults.bearing]
incidence = 0.0
[[accounts]]
name = "homeowners"
homes_per_account = 1
[[accounts.integrations]]
name = "app"
webhooks = ["device.offline"]
[[network.outages]]
start = "1h"
duration = "30m"
share = 1.0
"#,
    );
    let (dir, summary) = run_with(&s, "offline", 2);
    assert_eq!(
        summary["webhooks"]["by_event"]["device.offline"], 3,
        "{summary}"
    );
    let outage = s.start.0.as_millis() + 3_600_000;
    let requests = reports::tables::read(&dir.join("requests.parquet")).unwrap();
    let (arrival, home) = (ints(&requests, "arrival"), ints(&requests, "home"));
    // Contact is a request to the device API (diagnostics go through the
    // AURRA API with the device's own OAuth token).
    let endpoint = texts(&requests, "endpoint");
    let device_api = |i: usize| {
        ["/v1/telemetry", "/v1/settings", "/v1/commands", "/v1/ota"]
            .iter()
            .any(|p| endpoint[i].starts_with(p))
    };
    let hooks = reports::tables::read(&dir.join("webhooks.parquet")).unwrap();
    let (at, url, event) = (
        ints(&hooks, "at"),
        texts(&hooks, "url"),
        texts(&hooks, "event"),
    );
    let mut offline: Vec<(String, i64)> = (0..hooks.height())
        .filter(|&i| event[i] == "device.offline")
        .map(|i| (url[i].clone(), at[i]))
        .collect();
    offline.sort();
    // Home h is the only home of account h (its hooks URL names it).
    for (h, (url, at)) in offline.iter().enumerate() {
        assert!(url.contains(&format!("homeowners-{h:05}")), "{url}");
        let last = (0..requests.height())
            .filter(|&i| home[i] == h as i64 && arrival[i] < outage && device_api(i))
            .map(|i| arrival[i])
            .max()
            .unwrap();
        assert_eq!(*at, last + 300_001, "home {h}");
    }
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn a_defective_release_halts_and_the_rollout_is_in_ota_events() {
    let s = scenario(
        r#"
name = "ota"
seed = 4
start = "2026-04-06T00:00:00Z"
duration = "10h"
[fleet]
homes = 24
[faults.bearing]
incidence = 0.0
[[accounts]]
name = "homeowners"
homes_per_account = 1
[firmware]
version = "1.0.0"
ota_check_ms = 600000
[[ota.releases]]
version = "1.1.0"
publish_at = "1h"
batches = [50, 100]
halt_failure_rate = 0.2
min_reports = 4
failure_rate = 0.6
"#,
    );
    let (dir, summary) = run_with(&s, "ota", 2);
    let release = &summary["ota"]["releases"][0];
    assert_eq!(release["halted"], true, "{summary}");
    assert_eq!(release["stage"], 0, "halted in its first batch");
    let ota = reports::tables::read(&dir.join("ota_events.parquet")).unwrap();
    let (source, event) = (texts(&ota, "source"), texts(&ota, "event"));
    let at = ints(&ota, "at");
    let server: Vec<(&str, i64)> = (0..ota.height())
        .filter(|&i| source[i] == "server")
        .map(|i| (event[i].as_str(), at[i]))
        .collect();
    let published = s.start.0.as_millis() + 3_600_000;
    assert_eq!(server[0], ("published", published));
    assert_eq!(server[1], ("batch_opened", published));
    assert_eq!(server[2].0, "halted");
    assert_eq!(server.len(), 3, "no second batch opened: {server:?}");
    // Devices failed (bad checksums) before the halt, and reported it.
    let failed = (0..ota.height())
        .filter(|&i| source[i] == "device" && event[i] == "failed")
        .count() as u64;
    assert!(failed >= 1);
    assert_eq!(release["failed"].as_u64(), Some(failed), "{summary}");
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

/// A typical-year EPW file whose dry-bulb temperature is `temp_c` all year.
fn constant_epw(temp_c: f64) -> String {
    let mut s = String::from(
        "LOCATION,Test,XX,USA,TMY3,000000,40.0,-100.0,-6.0,300.0\n\
         DESIGN CONDITIONS,0\n\
         TYPICAL/EXTREME PERIODS,0\n\
         GROUND TEMPERATURES,0\n\
         HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0\n\
         COMMENTS 1,constant test file\n\
         COMMENTS 2,\n\
         DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31\n",
    );
    let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    for (m, &nd) in days.iter().enumerate() {
        for d in 1..=nd {
            for h in 1..=24 {
                s.push_str(&format!(
                    "1999,{},{d},{h},60,?9?9?9?9E0?9?9?9?9?9?9?9?9?9?9?9?9*9*9?9?9,{temp_c:.1},-10.0,50,98000,0,0,300,0,0,0,0,0,0,0,180,2.0,9,9,9999,99999,0,0,0,0,0,0.0,0,0\n",
                    m + 1
                ));
            }
        }
    }
    s
}

#[test]
fn each_location_may_bring_its_own_epw_weather() {
    let dir = out_dir("epw");
    std::fs::create_dir_all(dir.join("weather")).unwrap();
    std::fs::write(dir.join("weather/hot.epw"), constant_epw(31.0)).unwrap();
    std::fs::write(dir.join("weather/cold.epw"), constant_epw(-4.0)).unwrap();
    let body = r#"
name = "epw"
seed = 2
start = "2026-01-12T00:00:00Z"
duration = "6h"
[fleet]
homes = 8
[[fleet.locations]]
name = "Hot"
latitude = 33.4
longitude = -112.0
timezone = "America/Phoenix"
epw_file = "weather/hot.epw"
[[fleet.locations]]
name = "Cold"
latitude = 46.8
longitude = -100.8
timezone = "America/Chicago"
epw_file = "weather/cold.epw"
[faults.bearing]
incidence = 0.0
"#;
    let s = scenarios::parse_str(body, &dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.fleet.locations[0].epw_file,
        Some(dir.join("weather/hot.epw"))
    );
    let o = Overrides {
        out: Some(dir.join("runs")),
        ..Overrides::default()
    };
    let f = run(&s, &o, 2, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let homes = reports::tables::read(&f.dir.join("homes.parquet")).unwrap();
    let outdoor = homes.column("outdoor_c").unwrap().f64().unwrap().clone();
    let mut seen: Vec<f64> = (0..homes.height())
        .map(|i| outdoor.get(i).unwrap())
        .collect();
    seen.sort_by(f64::total_cmp);
    seen.dedup_by(|a, b| (*a - *b).abs() < 0.05);
    assert_eq!(seen, [-4.0, 31.0], "each home sees its location's file");
    // A missing file names the location's key and the path.
    let e = scenarios::parse_str(&body.replace("cold.epw", "gone.epw"), &dir).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("fleet.locations[1].epw_file"));
    assert!(e.message.contains("weather/gone.epw"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn overrides_are_checked_and_applied() {
    let s = scenario(FAULTY);
    let bad = Overrides {
        homes: Some(0),
        ..Overrides::default()
    };
    let e = run(&s, &bad, 1, |_| {}).unwrap_err();
    assert!(e.to_string().contains("--homes 0"), "{e}");
    // Each override error is a type with the message the CLI prints; a bad
    // model keeps the predictor's error as its source.
    use scenarios::run::{OverrideError, RunError, apply};
    let refused = |o: Overrides| apply(s.clone(), &o).unwrap_err();
    let days = refused(Overrides {
        days: Some(-1.0),
        ..Overrides::default()
    });
    assert!(matches!(days, RunError::Override(OverrideError::Days(_))));
    assert_eq!(
        days.to_string(),
        "--days -1 is out of range: expected 0.042 (1 h) to 400"
    );
    let none = refused(Overrides {
        models: Some(Vec::new()),
        ..Overrides::default()
    });
    assert_eq!(none.to_string(), "--model: name at least one predictor");
    let model = refused(Overrides {
        models: Some(vec!["crystal-ball".into()]),
        ..Overrides::default()
    });
    let RunError::Override(inner @ OverrideError::Model(_)) = &model else {
        panic!("{model:?}");
    };
    assert!(model.to_string().starts_with("--model: "), "{model}");
    assert!(std::error::Error::source(inner).is_some());
    let o = Overrides {
        homes: Some(2),
        days: Some(0.25),
        seed: Some(99),
        out: Some(out_dir("overrides")),
        models: None,
        export_dataset: false,
    };
    let f = run(&s, &o, 1, |_| {}).unwrap();
    assert_eq!(f.summary["homes"], 2);
    assert_eq!(f.summary["seed"], 99);
    assert_eq!(f.summary["duration_s"], 6 * 3_600);
    assert!(f.dir.ends_with("faulty-seed99"));
    // The file as run, with the overrides that reproduce it.
    let copy = std::fs::read_to_string(f.dir.join("scenario.toml")).unwrap();
    assert_eq!(
        copy,
        format!("# The scenario as run, with --homes 2 --days 0.25 --seed 99.\n{FAULTY}")
    );
    std::fs::remove_dir_all(f.dir.parent().unwrap()).unwrap();
}
