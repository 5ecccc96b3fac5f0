//! The outdoor unit's sensors as a real unit shows them: vibration only
//! while the compressor turns, the compressor's own current, sensor
//! faults in the ground truth and the telemetry, and the firmware's own
//! vibration pipeline in the loop.

mod common;

use scenarios::home::HomeSim;
use sim_core::exec::{Entity, Outbox};
use sim_core::{SimDuration, SimTime};

fn scenario(body: &str) -> scenarios::Scenario {
    scenarios::load::parse_str(body, std::path::Path::new(".")).expect("valid scenario")
}

/// A winter heat-pump fleet (the firmware heats by default) without
/// faults but `bearing` and `leak` (their tables' keys), with `extra`.
fn winter(bearing: &str, leak: &str, extra: &str) -> scenarios::Scenario {
    scenario(&format!(
        r#"
name = "sensing"
seed = 5
start = "2026-01-10T00:00:00Z"
duration = "3d"
[fleet]
homes = 3
equipment = {{ heat_pump = 1.0 }}
initial_indoor_c = 16.0
[faults.bearing]
{bearing}
[faults.leak]
{leak}
[faults.capacitor]
incidence = 0.0
{extra}
"#
    ))
}

/// Drives each home on its own (no server: requests go unanswered) for
/// the scenario's duration, calling `check(minute, home)` every minute.
fn drive(s: &scenarios::Scenario, mut check: impl FnMut(u64, &HomeSim)) -> Vec<HomeSim> {
    let mut homes = scenarios::run::standalone_homes(s).expect("homes");
    let start: SimTime = s.start.0;
    let minutes = s.duration.0.as_millis() / 60_000;
    let mut out = Outbox::new();
    for home in &mut homes {
        for m in 1..=minutes {
            home.advance(start + SimDuration::from_mins(m), &mut out);
            out.drain().for_each(drop);
            check(m, home);
        }
    }
    homes
}

#[test]
fn a_seized_compressor_reports_no_running_vibration() {
    let s = winter(
        "incidence = 1.0\nonset_max_h = 0.5\nrate_um_per_h = 20.0\nshape_per_h = 5.0\nrate_spread = 0.0",
        "incidence = 0.0",
        "",
    );
    // Per home: windows when it seized, and the most after it.
    let mut at_failure: Vec<Option<scenarios::home::Windows>> = vec![None; 3];
    let mut calling_after = [0u64; 3];
    let homes = drive(&s, |_, h| {
        if h.degradation().compressor_failed() && at_failure[h.index()].is_none() {
            at_failure[h.index()] = Some(h.windows());
        }
        if at_failure[h.index()].is_some() && h.relays().y_compressor {
            calling_after[h.index()] += 1;
        }
    });
    for h in &homes {
        let before = at_failure[h.index()].expect("every compressor seizes");
        let after = h.windows();
        assert!(before.running > 10, "it ran before seizing: {before:?}");
        assert_eq!(after.running, before.running, "no running window after");
        // The firmware samples only while the clamp reads current: a
        // stalled motor draws it for 10 s of every 15 min until its
        // overload opens, so the still compressor's noise is sampled now
        // and then — far from once a minute of the call.
        let calling = calling_after[h.index()];
        assert!(calling > 600, "the thermostat kept calling: {calling} min");
        assert!(
            (after.idle - before.idle) * 10 < calling,
            "{before:?} → {after:?} over {calling} min of calling"
        );
    }
}

#[test]
fn a_locked_out_heat_pump_is_not_sampled() {
    let s = winter(
        "incidence = 0.0",
        "incidence = 0.0",
        "[climate]\nannual_mean_c = -25.0\nseasonal_amplitude_c = 0.0\ndiurnal_amplitude_c = 2.0\nnoise_sigma_c = 0.5",
    );
    let mut calls = 0;
    let homes = drive(&s, |_, h| {
        if h.relays().y_compressor {
            calls += 1;
        }
    });
    assert!(calls > 100, "the thermostats call for heat: {calls}");
    for h in &homes {
        let w = h.windows();
        assert_eq!((w.running, w.idle), (0, 0), "{w:?}");
    }
}

#[test]
fn a_unit_stopped_by_its_leak_is_not_sampled() {
    let s = winter(
        "incidence = 0.0",
        "incidence = 1.0\nonset_max_days = 0.0\nrate_per_day = 0.5\nrate_sigma = 0.0",
        "",
    );
    let mut at_failure = [None; 3];
    let homes = drive(&s, |_, h| {
        if h.degradation().compressor_failed() && at_failure[h.index()].is_none() {
            let w = h.windows();
            at_failure[h.index()] = Some(w.running + w.idle);
        }
    });
    for h in &homes {
        let before = at_failure[h.index()].expect("every leak fails its unit");
        let w = h.windows();
        assert!(before > 10);
        assert_eq!(w.running + w.idle, before, "{w:?}");
    }
}

#[test]
fn the_clamp_reads_the_compressor_not_the_strips() {
    // A cold start in a cold week: the strips come on with the compressor.
    let s = winter(
        "incidence = 0.0",
        "incidence = 0.0",
        "[climate]\nannual_mean_c = -4.0\nseasonal_amplitude_c = 0.0",
    );
    let (mut with_strips, mut without) = (Vec::new(), Vec::new());
    let mut worst_whole_system_a: f64 = 0.0;
    drive(&s, |_, h| {
        let running = h.physics().equipment().mode() != hvac_models::equipment::CompressorMode::Off;
        let Some(a) = h.last_snapshot().current_a else {
            return;
        };
        if !running || a <= 0.0 {
            return;
        }
        let since = h.physics().equipment().running_since();
        if since.is_none() {
            return;
        }
        if h.relays().w_heat {
            with_strips.push(a);
            let whole_system_a = h.power_w() / (240.0 * 0.97);
            assert!(a < 0.3 * whole_system_a, "{a} A of {whole_system_a} A");
            worst_whole_system_a = worst_whole_system_a.max(whole_system_a);
        } else {
            without.push(a);
        }
    });
    assert!(
        with_strips.len() > 20 && without.len() > 20,
        "{} {}",
        with_strips.len(),
        without.len()
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (on, off) = (mean(&with_strips), mean(&without));
    // The 10 kW strips would add ≈ 43 A on a whole-system meter.
    assert!(worst_whole_system_a > 40.0, "{worst_whole_system_a}");
    // The same compressor, a little harder worked in the colder hours
    // that bring the strips on.
    assert!(
        (on / off - 1.0).abs() < 0.3,
        "with strips {on} A, without {off} A"
    );
    assert!(with_strips.iter().all(|&a| a < 30.0), "{with_strips:?}");
}

/// Per home, the values `read` gives every minute before and after its
/// (single) sensor fault's onset, with `kind` in every home from the first
/// 12 hours on.
fn before_after(
    kind: &str,
    params: &str,
    read: impl Fn(&HomeSim) -> Option<f64>,
) -> Vec<(Vec<f64>, Vec<f64>, Vec<HomeSim>)> {
    let s = winter(
        "incidence = 0.0",
        "incidence = 0.0",
        &format!(
            "[climate]\nannual_mean_c = 0.0\nseasonal_amplitude_c = 0.0\n[[sensing.faults]]\nkind = \"{kind}\"\nincidence = 1.0\nonset_max_days = 0.5\n{params}"
        ),
    );
    let probe = scenarios::run::standalone_homes(&s).unwrap();
    let onsets: Vec<SimTime> = probe.iter().map(|h| h.sensor_faults()[0].onset).collect();
    let start = s.start.0;
    let mut series = vec![(Vec::new(), Vec::new()); 3];
    let homes = drive(&s, |m, h| {
        let t = start + SimDuration::from_mins(m);
        if let Some(v) = read(h) {
            let (before, after) = &mut series[h.index()];
            if t < onsets[h.index()] { before } else { after }.push(v);
        }
    });
    let mut out = Vec::new();
    let mut homes = homes.into_iter();
    for (b, a) in series {
        out.push((b, a, vec![homes.next().unwrap()]));
    }
    out
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The clamp's reading while the compressor runs (past its start).
fn running_current(h: &HomeSim) -> Option<f64> {
    let eq = h.physics().equipment();
    let since = eq.running_since()?;
    let _ = since;
    h.last_snapshot().current_a.filter(|&a| a > 0.5)
}

#[test]
fn clamp_faults_show_in_the_readings_as_specified() {
    for (b, a, _) in before_after("clamp_miswired", "gain = 0.5", running_current) {
        let ratio = mean(&a) / mean(&b);
        assert!((ratio - 0.5).abs() < 0.1, "miswired: {ratio}");
    }
    for (_, a, _) in before_after("clamp_stuck", "", |h| h.last_snapshot().current_a) {
        assert!(
            a.len() > 100 && a.iter().skip(1).all(|&x| x == a[1]),
            "stuck"
        );
    }
    for (_, a, homes) in before_after("clamp_dropout", "probability = 1.0", |h| {
        Some(f64::from(u8::from(h.last_snapshot().current_a.is_none())))
    }) {
        // (the first reading after onset may predate it by a control step)
        assert!(a.iter().skip(1).all(|&x| x == 1.0), "every reading lost");
        assert!(homes[0].windows().running > 0, "still sampled on Y alone");
    }
}

#[test]
fn accelerometer_faults_show_in_the_reports_as_specified() {
    let rms = |h: &HomeSim| h.last_vibration().map(|f| f.rms_g);
    for (b, a, _) in before_after("accelerometer_attenuated", "gain = 0.3", rms) {
        let ratio = mean(&a) / mean(&b);
        assert!((ratio - 0.3).abs() < 0.06, "attenuated: {ratio}");
    }
    for (_, a, _) in before_after("accelerometer_stuck", "", |h| {
        h.last_vibration().map(|f| f.kurtosis)
    }) {
        let tail = &a[a.len() / 2..];
        assert!(tail.iter().all(|&k| k == 0.0), "a constant output");
    }
    for (b, a, _) in before_after("accelerometer_drift", "per_day = 0.3", rms) {
        let late = &a[a.len() * 3 / 4..];
        assert!(mean(late) > 1.3 * mean(&b), "drifted up");
    }
    for (_, _, homes) in before_after("accelerometer_dropout", "probability = 0.5", |_| None) {
        let w = homes[0].windows();
        let share = w.missing as f64 / (w.running + w.idle) as f64;
        assert!(share > 0.3 && share < 0.5, "{w:?}");
    }
}

#[test]
fn sensor_faults_are_in_the_ground_truth() {
    let s = winter(
        "incidence = 0.0",
        "incidence = 0.0",
        r#"[[sensing.faults]]
kind = "clamp_miswired"
incidence = 0.5
onset_max_days = 1.0
[[sensing.faults]]
kind = "accelerometer_attenuated"
incidence = 0.5
onset_max_days = 1.0
gain = 0.2
"#,
    );
    let expected: Vec<(i64, String, i64)> = scenarios::run::standalone_homes(&s)
        .unwrap()
        .iter()
        .flat_map(|h| {
            h.sensor_faults()
                .iter()
                .map(|f| {
                    (
                        h.index() as i64,
                        f.kind.as_str().to_owned(),
                        f.onset.as_millis(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!expected.is_empty());
    let dir = std::env::temp_dir().join(format!("thermotwin-sensing-{}", std::process::id()));
    let overrides = scenarios::run::Overrides {
        out: Some(dir.clone()),
        ..Default::default()
    };
    let done = scenarios::run::run(&s, &overrides, 1, |_| {}).expect("the run");
    let truth = reports::tables::read(&done.dir.join("ground_truth.parquet")).unwrap();
    let (event, fault, detail) = (
        common::texts(&truth, "event"),
        common::texts(&truth, "fault"),
        common::texts(&truth, "detail"),
    );
    let (home, at) = (common::ints(&truth, "home"), common::ints(&truth, "at"));
    let mut got = Vec::new();
    for i in 0..truth.height() {
        if event[i] != "sensor_fault" {
            continue;
        }
        got.push((home[i], fault[i].clone(), at[i]));
        assert!(detail[i].starts_with("gain="), "{}", detail[i]);
    }
    let mut expected = expected;
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs `text` (a scenario) into a fresh folder: its summary.
fn run_text(text: &str, tag: &str) -> serde_json::Value {
    let s = scenarios::parse_str(text, std::path::Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("thermotwin-{tag}-{}", std::process::id()));
    let overrides = scenarios::run::Overrides {
        out: Some(dir.clone()),
        ..Default::default()
    };
    let done = scenarios::run::run(&s, &overrides, 2, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_dir_all(&dir).ok();
    done.summary
}

#[test]
fn a_waveform_fleet_runs_through_the_firmware_extractor_and_ranks_models_as_fast_does() {
    // One small bearing fleet both ways: in waveform mode every report is
    // the firmware's own FeatureExtractor's work on a synthesised window.
    // Each model that reads the features has its F1 on one within the
    // other's 95 % bootstrap interval (the runs share their seed, not
    // their noise).
    let server = "predictor = \"threshold\"\nshadow_predictors = [\"trend\"]";
    let fast = common::bearings(5, 5, server);
    let wave = format!("{fast}\n[sensing]\nvibration = \"waveform\"\n");
    let (a, b) = (run_text(&fast, "fast"), run_text(&wave, "waveform"));
    let reports =
        |s: &serde_json::Value| s["requests"]["by_endpoint"]["/v1/diagnostics/vibration"].clone();
    eprintln!(
        "vibration reports: fast {}, waveform {}",
        reports(&a),
        reports(&b)
    );
    let models = |s: &serde_json::Value| s["metrics"]["models"].as_array().unwrap().clone();
    let (ma, mb) = (models(&a), models(&b));
    assert_eq!(ma.len(), mb.len());
    let mut compared = 0;
    for (x, y) in ma.iter().zip(&mb) {
        assert_eq!(x["name"], y["name"]);
        let (Some(fx), Some(fy)) = (x["f1"].as_f64(), y["f1"].as_f64()) else {
            continue;
        };
        // `random` reads no feature (seeded draws at the primary's alert
        // rate): on twelve homes its F1 is the draws' luck, which no
        // agreement of the features can bound.
        if x["name"] == "random" {
            continue;
        }
        let within = |v: f64, m: &serde_json::Value| {
            let i = &m["intervals"]["f1"];
            i[0].as_f64().is_some_and(|lo| lo <= v + 1e-9)
                && i[1].as_f64().is_some_and(|hi| v <= hi + 1e-9)
        };
        eprintln!(
            "{}: fast {fx:.3} {} waveform {fy:.3} {}",
            x["name"], x["intervals"]["f1"], y["intervals"]["f1"]
        );
        assert!(
            within(fy, x) || within(fx, y),
            "{}: fast {fx} {}, waveform {fy} {}",
            x["name"],
            x["intervals"]["f1"],
            y["intervals"]["f1"]
        );
        compared += 1;
    }
    assert!(compared >= 3, "{compared} models with an F1");
    // Both fleets had worn bearings and sent vibration reports.
    for s in [&a, &b] {
        assert!(s["ground_truth"]["fault_onsets"]["bearing_wear"].as_u64() > Some(0));
        assert!(!reports(s).is_null(), "{}", s["requests"]);
    }
}

#[test]
fn a_drifting_accelerometer_raises_false_alarms_counted_under_its_kind() {
    // No compressor fault at all; every accelerometer's sensitivity grows
    // 50 % a day from the first day: the unit-relative model sees each
    // unit's vibration double over its own baseline.
    // Every alert is a false alarm, and each is counted under the sensor
    // fault that caused it.
    let text = r#"
name = "drift"
seed = 12
start = "2026-07-01T00:00:00Z"
duration = "5d"
[fleet]
homes = 8
[climate]
annual_mean_c = 24.0
seasonal_amplitude_c = 6.0
[faults.bearing]
incidence = 0.0
[faults.leak]
incidence = 0.0
[faults.capacitor]
incidence = 0.0
[[sensing.faults]]
kind = "accelerometer_drift"
incidence = 1.0
onset_max_days = 1.0
per_day = 0.5
[server]
predictor = "unit-relative"
[technicians]
delay = "6h"
"#;
    let summary = run_text(text, "drift");
    let p = &summary["metrics"]["prediction"];
    let false_alarms = p["false_alarms"].as_u64().unwrap();
    assert!(false_alarms > 0, "{p}");
    assert_eq!(p["true_positives"], 0);
    assert_eq!(
        p["false_alarms_by_cause"]["accelerometer_drift"].as_u64(),
        Some(false_alarms),
        "{}",
        p["false_alarms_by_cause"]
    );
    assert_eq!(
        summary["ground_truth"]["sensor_faults"]["accelerometer_drift"],
        8
    );
}
