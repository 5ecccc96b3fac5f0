//! Outside models over JSON lines: the example Python model round-trips,
//! and a model that answers nonsense, exits or hangs gives an error naming
//! it; in a run, a model sees the dataset's rows, its answers are recorded
//! at the window's end, as the primary it raises alerts, and its failure
//! stops the run with an error naming it.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use polars_core::prelude::{DataFrame, DataType};
use scenarios::outside::{OutsideError, OutsideModel, Row};
use scenarios::run::{Overrides, RunError, run};
use sim_core::SimTime;

const NAN: f64 = f64::NAN;

fn features(peak: f64, slope: f64) -> [f64; 10] {
    [peak, peak.ln(), slope, 0.1, 0.0, 4.0, 0.0, NAN, NAN, 0.5]
}

fn rows<'a>(f: &'a [[f64; 10]; 2]) -> [Row<'a>; 2] {
    [
        Row {
            device_id: "home-00001",
            at: SimTime::from_secs(1_000),
            features: &f[0],
        },
        Row {
            device_id: "home-00002",
            at: SimTime::from_secs(1_000),
            features: &f[1],
        },
    ]
}

/// Whether python3 runs here (the tests that need it say so and pass
/// without it).
fn python() -> bool {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("python3 not found: the Python outside models are not exercised");
    }
    found
}

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/models/vibration_trend.py"
);

/// The example model's confidence: σ(−4 + 2·ln peak + 6·max(slope, 0)),
/// rounded to 4 places.
fn example(peak: f64, slope: f64) -> f64 {
    let z: f64 = -4.0 + 2.0 * peak.ln() + 6.0 * slope.max(0.0);
    ((1.0 / (1.0 + (-z).exp())) * 1e4).round() / 1e4
}

#[test]
fn the_example_python_model_round_trips() {
    if !python() {
        return;
    }
    let script = SCRIPT;
    let mut m = OutsideModel::spawn(
        "cmd:vibration_trend.py",
        &format!("python3 {script}"),
        std::path::Path::new("."),
        Duration::from_secs(20),
    )
    .unwrap();
    let f = [features(0.22, 0.0), features(3.0, 0.3)];
    for _ in 0..3 {
        let p = m.predict(&rows(&f)).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].device_id, "home-00001");
        assert_eq!(p[0].issue, "Compressor bearing degradation");
        assert_eq!(p[0].confidence, example(0.22, 0.0));
        assert_eq!(p[1].confidence, example(3.0, 0.3));
        assert_eq!(p[0].recommended_action, None);
    }
    // A device with no peak yet gets no prediction.
    let f = [features(NAN, NAN), features(1.0, 0.0)];
    let p = m.predict(&rows(&f)).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].device_id, "home-00002");
}

#[test]
fn nonsense_exits_and_silence_are_errors_naming_the_model() {
    let f = [features(0.22, 0.0), features(3.0, 0.3)];
    let run = |command: &str, timeout_ms: u64| {
        let mut m = OutsideModel::spawn(
            "cmd:bad",
            command,
            std::env::temp_dir().as_path(),
            Duration::from_millis(timeout_ms),
        )
        .unwrap();
        m.predict(&rows(&f)).unwrap_err()
    };
    let e = run("read line; echo 'not json'", 5_000);
    assert!(matches!(e, OutsideError::Malformed { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("model cmd:bad: bad answer to batch 1: not JSON"),
        "{e}"
    );
    let e = run(
        r#"read line; echo '{"batch": 1, "predictions": [{"device_id": "x", "issue": "i", "confidence": 0.5}]}'"#,
        5_000,
    );
    assert!(
        e.to_string().contains("must be a device of the batch"),
        "{e}"
    );
    let e = run(
        r#"read line; echo '{"batch": 1, "predictions": [{"device_id": "home-00001", "issue": "i", "confidence": 1.5}]}'"#,
        5_000,
    );
    assert!(
        e.to_string()
            .contains("confidence must be a number from 0 to 1"),
        "{e}"
    );
    let e = run(
        r#"read line; echo '{"batch": 1, "predictions": [{"device_id": "home-00001", "issue": "i", "confidence": 0.5, "recommended_action": 3}]}'"#,
        5_000,
    );
    assert!(
        e.to_string()
            .contains("recommended_action must be text of 1 to 1024 characters"),
        "{e}"
    );
    let e = run("read line; echo 'boom' >&2; exit 3", 5_000);
    assert!(matches!(e, OutsideError::Exited { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("exit status: 3") && text.contains("boom"),
        "{text}"
    );
    let e = run("sleep 5", 200);
    assert!(matches!(e, OutsideError::Timeout { .. }), "{e}");
    assert!(
        e.to_string().contains("no answer to batch 1 within 0.2 s"),
        "{e}"
    );
}

fn out_dir(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("thermotwin-outside-{tag}-{}", std::process::id()))
}

fn column(df: &DataFrame, c: &str, t: &DataType) -> polars_core::prelude::Series {
    df.column(c)
        .unwrap()
        .as_materialized_series()
        .cast(t)
        .unwrap()
}

/// (device, at [ms]) → (confidence, action) of `model`'s predictions.
fn predictions_of(dir: &Path, model: &str) -> HashMap<(String, i64), (f64, String)> {
    let p = reports::tables::read(&dir.join("predictions.parquet")).unwrap();
    let (at, device, name, conf, action) = (
        column(&p, "at", &DataType::Int64),
        column(&p, "device_id", &DataType::String),
        column(&p, "model", &DataType::String),
        column(&p, "confidence", &DataType::Float64),
        column(&p, "recommended_action", &DataType::String),
    );
    let (at, device, name, conf, action) = (
        at.i64().unwrap(),
        device.str().unwrap(),
        name.str().unwrap(),
        conf.f64().unwrap(),
        action.str().unwrap(),
    );
    (0..p.height())
        .filter(|&i| name.get(i) == Some(model))
        .map(|i| {
            (
                (device.get(i).unwrap().to_owned(), at.get(i).unwrap()),
                (conf.get(i).unwrap(), action.get(i).unwrap().to_owned()),
            )
        })
        .collect()
}

#[test]
fn an_outside_model_answers_the_dataset_rows_at_the_end_of_their_window() {
    if !python() {
        return;
    }
    let text = common::bearings(11, 3, "");
    let s = scenarios::parse_str(&text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let out = out_dir("shadow");
    let model = format!("cmd:python3 {SCRIPT}");
    let o = Overrides {
        out: Some(out.clone()),
        export_dataset: true,
        models: Some(vec!["threshold".into(), model.clone()]),
        ..Overrides::default()
    };
    let f = run(&s, &o, 2, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let answers = predictions_of(&f.dir, &model);
    // Every row of the dataset went to the model, and its answer is
    // recorded at the end of the row's 60-second window.
    let d = reports::tables::read(&f.dir.join("dataset.parquet")).unwrap();
    let (at, device, peak, slope) = (
        column(&d, "at", &DataType::Int64),
        column(&d, "device_id", &DataType::String),
        column(&d, "peak_g", &DataType::Float64),
        column(&d, "log_peak_slope_per_day", &DataType::Float64),
    );
    let (at, device, peak, slope) = (
        at.i64().unwrap(),
        device.str().unwrap(),
        peak.f64().unwrap(),
        slope.f64().unwrap(),
    );
    let mut answered = 0;
    for i in 0..d.height() {
        let (Some(p), Some(k)) = (peak.get(i), slope.get(i)) else {
            continue;
        };
        let window_end = (at.get(i).unwrap() / 60_000 + 1) * 60_000;
        let key = (device.get(i).unwrap().to_owned(), window_end);
        let (confidence, action) = answers
            .get(&key)
            .unwrap_or_else(|| panic!("no answer for {key:?}"));
        assert_eq!(*confidence, example(p, k), "{key:?}");
        assert_eq!(action, api_server::predictors::action_for(*confidence));
        answered += 1;
    }
    assert!(answered > 100, "{answered} rows answered");
    assert_eq!(answers.len(), answered, "answers without a dataset row");
    // Its cost is in timings.json: the rows sent.
    let timings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.dir.join(reports::leaderboard::TIMINGS)).unwrap(),
    )
    .unwrap();
    let row = &timings["models"][1];
    assert_eq!(row["name"], model.as_str());
    assert_eq!(row["reports"].as_u64(), Some(d.height() as u64));
    assert_eq!(row["predictions"].as_u64(), Some(answered as u64));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn an_outside_primary_raises_alerts_by_the_same_rule() {
    if !python() {
        return;
    }
    // A model that calls every unit it hears of failing, with its own
    // recommended action.
    let script = r#"
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    p = [{"device_id": r["device_id"], "issue": "Compressor bearing degradation",
          "confidence": 0.9, "recommended_action": "Replace it"} for r in m["rows"]]
    print(json.dumps({"batch": m["batch"], "predictions": p}), flush=True)
"#;
    let out = out_dir("primary");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("alarmist.py"), script).unwrap();
    // Named in the scenario file: it runs in the file's folder.
    let text = common::bearings(11, 3, "predictor = \"cmd:python3 alarmist.py\"");
    let s = scenarios::parse_str(&text, &out).unwrap_or_else(|e| panic!("{e}"));
    let o = Overrides {
        out: Some(out.clone()),
        ..Overrides::default()
    };
    let f = run(&s, &o, 1, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let answers = predictions_of(&f.dir, "cmd:python3 alarmist.py");
    assert!(
        answers
            .values()
            .all(|(c, a)| *c == 0.9 && a == "Replace it")
    );
    // Each device's first answer raised an alert at once; repeats while it
    // is open did not.
    let mut first: HashMap<&str, i64> = HashMap::new();
    for (device, at) in answers.keys() {
        let t = first.entry(device.as_str()).or_insert(*at);
        *t = (*t).min(*at);
    }
    let alerts = reports::tables::read(&f.dir.join("alerts.parquet")).unwrap();
    let (created, device) = (
        column(&alerts, "created_at", &DataType::Int64),
        column(&alerts, "device_id", &DataType::String),
    );
    let (created, device) = (created.i64().unwrap(), device.str().unwrap());
    let mut first_alert: HashMap<&str, i64> = HashMap::new();
    for i in 0..alerts.height() {
        let t = first_alert
            .entry(device.get(i).unwrap())
            .or_insert(i64::MAX);
        *t = (*t).min(created.get(i).unwrap());
    }
    assert!(first.len() >= 6, "{} devices answered", first.len());
    assert_eq!(first_alert, first);
    let created_count = f.summary["alerts"]["created"].as_u64().unwrap();
    assert!(
        created_count >= first.len() as u64 && (created_count as usize) < answers.len(),
        "{created_count} alerts for {} answers",
        answers.len()
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_failing_outside_model_stops_the_run_with_an_error_naming_it() {
    let text = common::bearings(11, 3, "");
    let s = scenarios::parse_str(&text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let out = out_dir("failing");
    let fail = |model: &str, timeout_s: u64| {
        let mut s = s.clone();
        s.server.model_timeout.0 = sim_core::SimDuration::from_secs(timeout_s);
        let o = Overrides {
            out: Some(out.clone()),
            models: Some(vec!["trend".into(), model.into()]),
            ..Overrides::default()
        };
        match run(&s, &o, 2, |_| {}) {
            Err(RunError::Model(e)) => e.to_string(),
            other => panic!("{other:?}"),
        }
    };
    let e = fail("cmd:read line; echo 'gears ground' >&2; exit 3", 60);
    assert!(
        e.starts_with("model cmd:read line; echo 'gears ground' >&2; exit 3: exited (exit status: 3) without answering batch 1")
            && e.ends_with("gears ground"),
        "{e}"
    );
    let e = fail("cmd:read line; echo '{\"batch\": 2}'", 60);
    assert!(
        e.contains("bad answer to batch 1: \"batch\" must be 1"),
        "{e}"
    );
    let e = fail("cmd:sleep 30", 1);
    assert_eq!(
        e,
        "model cmd:sleep 30: no answer to batch 1 within 1 s (stopped)"
    );
    std::fs::remove_dir_all(&out).unwrap();
}
