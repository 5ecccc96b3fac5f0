//! Predictors in a run: shadows see the same reports as the primary and
//! are scored by the same rule, so a model shadowing itself scores exactly
//! like the primary, which scores like the run's own alerts.

use std::path::Path;

mod common;

use common::{ints, texts};
use scenarios::run::{Overrides, model_names, run};
use serde_json::Value;

#[test]
fn shadow_names_repeat_with_a_count() {
    assert_eq!(
        model_names(["threshold", "trend", "threshold", "threshold"]),
        ["threshold", "trend", "threshold#1", "threshold#2"]
    );
}

#[test]
fn a_model_shadowing_itself_scores_like_the_primary_and_the_primary_like_its_alerts() {
    let text = common::bearings(
        5,
        5,
        "predictor = \"threshold\"\nshadow_predictors = [\"threshold\", \"trend\"]",
    );
    let s = scenarios::parse_str(&text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let out = std::env::temp_dir().join(format!("thermotwin-predictors-{}", std::process::id()));
    let o = Overrides {
        out: Some(out.clone()),
        export_dataset: true,
        ..Overrides::default()
    };
    let f = run(&s, &o, 2, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let m = &f.summary["metrics"];
    let models = m["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|r| r["name"].as_str().unwrap()).collect();
    // The baselines come with every run: the server's unit-relative
    // shadow, then always and random, fed the primary's predictions.
    assert_eq!(
        names,
        [
            "threshold",
            "threshold#1",
            "trend",
            "unit-relative",
            "always",
            "random"
        ]
    );
    let baselines: Vec<bool> = models.iter().map(|r| r["baseline"] == true).collect();
    assert_eq!(baselines, [false, false, false, true, true, true]);
    let strip = |r: &Value| {
        let mut r = r.clone();
        for key in ["name", "primary", "versus"] {
            r.as_object_mut().unwrap().remove(key);
        }
        r
    };
    assert_eq!(strip(&models[0]), strip(&models[1]), "{m}");
    assert_eq!(models[0]["primary"], true);
    assert_eq!(models[1]["primary"], false);
    // Technicians resolved alerts, so models were reset along the way.
    assert!(
        f.summary["alerts"]["resolved_after_visit"]
            .as_u64()
            .unwrap()
            >= 1,
        "{}",
        f.summary["alerts"]
    );
    // The replay of the primary gives the run's own alerts back.
    let p = &m["prediction"];
    assert!(
        p["failures"].as_u64().unwrap() + p["prevented"].as_u64().unwrap() >= 3,
        "{p}"
    );
    assert!(p["episodes"].as_u64().unwrap() >= 3, "{p}");
    for key in [
        "episodes",
        "true_positives",
        "false_alarms",
        "missed",
        "precision",
        "recall",
        "f1",
        "lead_time_days",
        "expected_cost",
    ] {
        assert_eq!(models[0][key], p[key], "{key}: {m}");
    }
    // Every server model's predictions are in the table, by name (always
    // and random follow the primary's in the scoring alone).
    let predictions = reports::tables::read(&f.dir.join("predictions.parquet")).unwrap();
    let col = predictions.column("model").unwrap().str().unwrap().clone();
    for name in names
        .into_iter()
        .filter(|n| !["always", "random"].contains(n))
    {
        assert!((0..col.len()).any(|i| col.get(i) == Some(name)), "{name}");
    }
    // The labelled dataset: the server's features, hourly, with labels
    // from the ground truth; the raw features are gone.
    assert!(!f.dir.join("features.parquet").exists());
    let d = reports::tables::read(&f.dir.join("dataset.parquet")).unwrap();
    let features: Vec<&str> = reports::schema::feature_columns().collect();
    assert_eq!(features, api_server::predictors::features::NAMES);
    assert_eq!(
        f.summary["tables"]["dataset"].as_u64(),
        Some(d.height() as u64)
    );
    // Hourly at most: fewer rows than 24 per home-day.
    assert!(
        d.height() > 100 && d.height() <= 12 * 5 * 24,
        "{}",
        d.height()
    );
    let fault = d.column("fault").unwrap().str().unwrap().clone();
    let ttf = d
        .column("time_to_failure_h")
        .unwrap()
        .f64()
        .unwrap()
        .clone();
    let slope = d
        .column("log_peak_slope_per_day")
        .unwrap()
        .f64()
        .unwrap()
        .clone();
    // The server gives energy reports its weather's outdoor temperature,
    // so the features weigh current and runtime against it.
    for name in ["current_vs_expected", "runtime_per_degree_hour"] {
        let c = d.column(name).unwrap().f64().unwrap().clone();
        let known: Vec<f64> = (0..d.height()).filter_map(|i| c.get(i)).collect();
        assert!(known.len() > d.height() / 2, "{name}: {}", known.len());
        assert!(known.iter().all(|v| v.is_finite() && *v > 0.0), "{name}");
    }
    let wearing = (0..d.height())
        .filter(|&i| fault.get(i) == Some("bearing_wear"))
        .count();
    assert!(wearing > 0 && wearing < d.height(), "{wearing}");
    // Rows with a failure ahead count down to it: a unit that failed after
    // its first hourly row has rows with a time to failure; none without
    // a failure.
    let failures: u64 = f.summary["ground_truth"]["failures"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    let truth = reports::tables::read(&f.dir.join("ground_truth.parquet")).unwrap();
    let fleet = reports::tables::read(&f.dir.join("fleet.parquet")).unwrap();
    let (t_event, t_home, t_at) = (
        texts(&truth, "event"),
        ints(&truth, "home"),
        ints(&truth, "at"),
    );
    let (f_home, f_device) = (ints(&fleet, "home"), texts(&fleet, "device_id"));
    let (d_device, d_at) = (texts(&d, "device_id"), ints(&d, "at"));
    let failed_after_a_row = (0..truth.height())
        .filter(|&i| t_event[i] == "failure")
        .any(|i| {
            let device = &f_device[f_home.iter().position(|&h| h == t_home[i]).unwrap()];
            (0..d.height()).any(|j| d_device[j] == *device && d_at[j] < t_at[i])
        });
    let counted_down = (0..d.height()).any(|i| ttf.get(i).is_some());
    assert_eq!(counted_down, failed_after_a_row, "{failures} failures");
    assert!(failures > 0 || !counted_down);
    assert!((0..d.height()).all(|i| ttf.get(i).is_none_or(|h| h > 0.0)));
    // A worn bearing's vibration rises; a healthy one's does not, on average.
    let mean = |worn: bool| {
        let v: Vec<f64> = (0..d.height())
            .filter(|&i| (fault.get(i) == Some("bearing_wear")) == worn)
            .filter_map(|i| slope.get(i))
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(
        mean(true) > mean(false) + 0.1,
        "{} vs {}",
        mean(true),
        mean(false)
    );
    std::fs::remove_dir_all(&out).unwrap();
}

/// The benchmark: on a bearing fleet with loud healthy units, the
/// unit-relative models beat the fixed zones. `logistic` is trained on one
/// fleet (seed 11, 24 homes) and evaluated with the others on another
/// (seed 21, 24 homes: a seed drawn for this test, not picked from a sweep),
/// in one run: `threshold` acts, `trend` and the trained model in shadow,
/// scored against the same ground truth.
#[test]
fn trend_and_logistic_beat_threshold_on_f1_and_lead_time() {
    let dir = std::env::temp_dir().join(format!("thermotwin-beat-{}", std::process::id()));
    let go = |text: &str, sub: &str, export_dataset: bool| {
        let s = scenarios::parse_str(text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
        let o = Overrides {
            out: Some(dir.join(sub)),
            export_dataset,
            ..Overrides::default()
        };
        run(&s, &o, 2, |_| {}).unwrap_or_else(|e| panic!("{e}"))
    };
    // Training: the labelled dataset of the training fleet.
    let training = go(&common::benchmark(11, 24, ""), "train", true);
    let window_max_h = 30.0 * 24.0;
    let trained = scenarios::ml::train(&training.dir.join("dataset.parquet"), window_max_h)
        .unwrap_or_else(|e| panic!("{e}"));
    let model = dir.join("model.json");
    std::fs::write(&model, serde_json::to_string(&trained.file).unwrap()).unwrap();
    // Evaluation.
    let server = format!(
        "predictor = \"threshold\"\nshadow_predictors = [\"trend\", \"logistic:{}\"]",
        model.display()
    );
    let f = go(&common::benchmark(21, 24, &server), "eval", false);
    let models = f.summary["metrics"]["models"].as_array().unwrap().clone();
    let score = |name: &str| {
        let m = models
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {models:?}"));
        (
            m["f1"].as_f64().unwrap_or(0.0),
            m["lead_time_days"]["median"].as_f64().unwrap_or(0.0),
        )
    };
    let threshold = score("threshold");
    let p = &f.summary["metrics"]["prediction"];
    assert!(p["failures"].as_u64().unwrap() >= 2, "{p}");
    // The zones raise false alarms on loud healthy units.
    assert!(threshold.0 < 1.0, "{models:?}");
    for name in ["trend", "logistic:model.json"] {
        let (f1, lead) = score(name);
        assert!(
            f1 > threshold.0,
            "{name}: F1 {f1} vs {threshold:?}: {models:?}"
        );
        assert!(
            lead > threshold.1,
            "{name}: lead {lead} d vs {threshold:?}: {models:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn on_the_quickest_held_out_fleet_trend_beats_always_and_random() {
    // The held-out suite's quickest fleet (fewest home-days; the first of
    // equals), at its reserved seed: trend's F1 is higher and its expected
    // cost lower than each trivial baseline's, each by a paired bootstrap
    // interval that excludes zero.
    let suite_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("benchmarks/suite.toml");
    let suite = scenarios::benchmarks::load(&suite_file).unwrap_or_else(|e| panic!("{e}"));
    let scenarios: Vec<scenarios::Scenario> = suite
        .fleets
        .iter()
        .map(|f| scenarios::load(&f.file).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let size = |s: &scenarios::Scenario| f64::from(s.fleet.homes) * s.duration.0.as_secs_f64();
    let quickest = (0..scenarios.len())
        .min_by(|&a, &b| size(&scenarios[a]).total_cmp(&size(&scenarios[b])))
        .unwrap();
    let fleet = &suite.fleets[quickest];
    let out = std::env::temp_dir().join(format!("thermotwin-suite-{}", std::process::id()));
    let o = Overrides {
        out: Some(out.clone()),
        seed: Some(fleet.seed),
        models: Some(vec!["threshold".into(), "trend".into()]),
        ..Overrides::default()
    };
    let s = scenarios::run::apply(scenarios[quickest].clone(), &o).unwrap();
    let f = run(&s, &o, 2, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let repro = format!(
        "thermotwin bench-ml {} --seed {} --model threshold --model trend",
        fleet.file.display(),
        fleet.seed
    );
    let models = f.summary["metrics"]["models"].as_array().unwrap();
    let trend = models.iter().find(|m| m["name"] == "trend").unwrap();
    for baseline in ["always", "random"] {
        let v = trend["versus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["other"] == baseline)
            .unwrap_or_else(|| panic!("no {baseline} in {trend}"));
        assert!(
            v["beats_on_f1"] == true && v["beats_on_cost"] == true,
            "trend against {baseline} on {} (reproduce: {repro}): {v}",
            fleet.name
        );
        assert!(v["f1"]["interval"][0].as_f64().unwrap() > 0.0, "{v}");
        assert!(
            v["expected_cost"]["interval"][1].as_f64().unwrap() < 0.0,
            "{v}"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}
