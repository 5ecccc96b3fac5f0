//! The `thermotwin` binary's contract: help, version and exit codes.

use std::process::{Command, Output};

fn thermotwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_thermotwin"))
        .args(args)
        .output()
        .expect("the thermotwin binary runs")
}

#[test]
fn help_describes_the_tool_and_exits_0() {
    let out = thermotwin(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage: thermotwin"), "{text}");
    assert!(text.contains("digital-twin testbed"), "{text}");
}

#[test]
fn version_prints_the_package_version() {
    let out = thermotwin(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("thermotwin {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let out = thermotwin(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error:") && err.contains("--no-such-flag"),
        "{err}"
    );

    let bare = thermotwin(&[]);
    assert_eq!(
        bare.status.code(),
        Some(2),
        "a bare invocation is a usage error"
    );
    assert!(String::from_utf8_lossy(&bare.stderr).contains("Usage: thermotwin"));
}

#[test]
fn check_accepts_the_examples_and_rejects_a_bad_file_with_exit_2() {
    let quickstart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/examples/quickstart.toml"
    );
    let out = thermotwin(&["check", quickstart]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("valid") && text.contains("50 homes"),
        "{text}"
    );

    let dir = std::env::temp_dir().join(format!("thermotwin-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"x\"\nstart = \"2026-06-01T00:00:00Z\"\nduration = \"1d\"\n[network]\nerror_rate = 0.9\n",
    )
    .unwrap();
    let out = thermotwin(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("5:14: network.error_rate: 0.9 is out of range: expected 0 to 0.5"),
        "{err}"
    );
    let out = thermotwin(&["check", dir.join("missing.toml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_writes_a_run_folder_and_checks_its_overrides() {
    let quickstart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/examples/quickstart.toml"
    );
    let out = std::env::temp_dir().join(format!("thermotwin-cli-run-{}", std::process::id()));
    let o = out.to_str().unwrap();
    let run = thermotwin(&[
        "run",
        quickstart,
        "--homes",
        "3",
        "--days",
        "0.1",
        "--threads",
        "2",
        "--out",
        o,
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("quickstart: 3 homes"), "{stdout}");
    assert!(stdout.contains("run folder:"), "{stdout}");
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("quickstart-seed42").join("summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["homes"], 3);
    assert!(summary["requests"]["total"].as_u64().unwrap() > 0);
    let bad = thermotwin(&["run", quickstart, "--homes", "0", "--out", o]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--homes 0 is out of range"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_failed_gate_exits_1_with_the_repro_command_and_report_re_renders_the_same() {
    let dir = std::env::temp_dir().join(format!("thermotwin-cli-gates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gated.toml");
    // Delivery within 1 ms is impossible over the modelled network; no
    // short cycles is what the firmware guarantees.
    std::fs::write(
        &file,
        r#"
name = "gated"
seed = 5
start = "2026-07-10T00:00:00Z"
duration = "3h"

[fleet]
homes = 2

[gates]
max_short_cycle_violations = 0
max_p99_delivery_delay = "1ms"
"#,
    )
    .unwrap();
    let o = dir.join("runs");
    let run = thermotwin(&[
        "run",
        file.to_str().unwrap(),
        "--days",
        "0.1",
        "--out",
        o.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("1 of 2 release gates failed"), "{stderr}");
    assert!(
        stderr.contains("max_p99_delivery_delay_s: ") && stderr.contains("(must be ≤ 0.001)"),
        "{stderr}"
    );
    assert!(!stderr.contains("max_short_cycle_violations:"), "{stderr}");
    let repro = format!(
        "reproduce with: thermotwin run {} --seed 5 --days 0.1",
        file.display()
    );
    assert!(stderr.contains(&repro), "{stderr}");
    let folder = o.join("gated-seed5");
    let summary = std::fs::read(folder.join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&summary).unwrap();
    assert_eq!(v["gates"]["passed"], false);
    assert_eq!(
        v["gates"]["verdicts"][0]["gate"],
        "max_short_cycle_violations"
    );
    assert_eq!(v["gates"]["verdicts"][0]["passed"], true);
    // Re-rendering from the tables gives the same bytes (and the same exit).
    let html = std::fs::read(folder.join("report.html")).unwrap();
    let chart = std::fs::read(folder.join("charts").join("requests.png")).unwrap();
    let report = thermotwin(&["report", folder.to_str().unwrap()]);
    assert_eq!(report.status.code(), Some(1));
    assert_eq!(std::fs::read(folder.join("summary.json")).unwrap(), summary);
    assert_eq!(std::fs::read(folder.join("report.html")).unwrap(), html);
    assert_eq!(
        std::fs::read(folder.join("charts").join("requests.png")).unwrap(),
        chart
    );
    // A folder that is not a run folder is a clear error.
    let none = thermotwin(&["report", dir.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("summary.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The chromium binary, where the machine has one (Debian's `chromium`).
fn chromium() -> Option<std::path::PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

#[test]
fn report_html_is_self_contained_and_renders_in_headless_chromium() {
    let dir = std::env::temp_dir().join(format!("thermotwin-cli-html-{}", std::process::id()));
    let quickstart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/examples/quickstart.toml"
    );
    let run = thermotwin(&[
        "run",
        quickstart,
        "--homes",
        "4",
        "--days",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = dir.join("quickstart-seed42").join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Headline first, every section, every chart inline; nothing fetched.
    let order = [
        "Release gates",
        "Headline",
        "Predictive maintenance",
        "Rate limits",
        "Comfort and energy",
        "Operations",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|h| html.find(h).unwrap_or_else(|| panic!("{h} missing")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    for chart in [
        "degradation",
        "lead_time",
        "precision_recall",
        "threshold_sweep",
        "expected_cost",
        "requests",
        "energy_per_day",
        "home_healthy",
    ] {
        assert!(
            html.contains(&format!("<figure id=\"chart-{chart}\"><svg")),
            "{chart}"
        );
    }
    for fetch in [
        "<script",
        "<link",
        "<img",
        "src=\"http",
        "href=\"http",
        "@import",
    ] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    let Some(chromium) = chromium() else {
        eprintln!(
            "no chromium on this machine: the screenshot check is skipped (apt-get install chromium)"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    };
    let shot = dir.join("shot.png");
    let profile = dir.join("profile");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1000,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // A blank page compresses to a few kB; text, tables and charts do not.
    assert!(png.len() > 60_000, "screenshot of {} bytes", png.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_ml_prints_a_leaderboard_of_every_model_and_each_as_primary() {
    let quickstart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/examples/quickstart.toml"
    );
    let out = std::env::temp_dir().join(format!("thermotwin-cli-bench-{}", std::process::id()));
    let o = out.to_str().unwrap();
    let args = [
        "bench-ml",
        quickstart,
        "--model",
        "threshold",
        "--model",
        "trend",
        "--each-primary",
        "--homes",
        "3",
        "--days",
        "0.5",
        "--out",
        o,
    ];
    let run = thermotwin(&args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("threshold (primary)"), "{stdout}");
    assert!(stdout.contains("trend (primary)"), "{stdout}");
    assert!(stdout.contains("each model as the primary"), "{stdout}");
    // One folder per primary; the first holds the leaderboard.
    let first = out.join("primary-threshold").join("quickstart-seed42");
    assert!(
        out.join("primary-trend")
            .join("quickstart-seed42")
            .join("summary.json")
            .exists()
    );
    let board: serde_json::Value =
        serde_json::from_slice(&std::fs::read(first.join("leaderboard.json")).unwrap()).unwrap();
    let names: Vec<&str> = board["shadow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["threshold", "trend", "unit-relative", "always", "random"]
    );
    assert!(
        board["shadow"][1]["inference_us_per_report"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{board}"
    );
    assert_eq!(board["each_primary"][1]["name"], "trend");
    assert_eq!(board["each_primary"][1]["primary"], true);
    let html = std::fs::read_to_string(first.join("report.html")).unwrap();
    assert!(html.contains("<h3 id=\"models\">Models</h3>"));
    // An unknown model is a usage error.
    let bad = thermotwin(&["bench-ml", quickstart, "--model", "oracle", "--out", o]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("\"oracle\" is not a predictor"));
    // An outside model that dies fails the run (exit 1), naming it (3 days:
    // feature rows come after 1.5 days of vibration reports, the first on
    // the first afternoon).
    let dead = thermotwin(&[
        "bench-ml",
        quickstart,
        "--model",
        "threshold",
        "--model",
        "cmd:exit 7",
        "--homes",
        "3",
        "--days",
        "3",
        "--each-primary",
        "--out",
        o,
    ]);
    assert_eq!(dead.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&dead.stderr);
    assert!(
        stderr.contains("model cmd:exit 7: exited (exit status: 7) without answering batch 1"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn ml_train_writes_a_logistic_model_that_bench_ml_loads() {
    let dir = std::env::temp_dir().join(format!("thermotwin-cli-ml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("training.toml");
    std::fs::write(
        &file,
        r#"
name = "training"
seed = 3
start = "2026-07-10T00:00:00Z"
duration = "6d"

[fleet]
homes = 8

[climate]
annual_mean_c = 24.0
seasonal_amplitude_c = 6.0

[faults.bearing]
incidence = 0.5
onset_max_h = 5.0
rate_um_per_h = 1.0
shape_per_h = 0.5
# Units alike: the test is of training and loading, not of generalising
# across a varied fleet from eight homes.
vibration_spread = 0.0
rate_spread = 0.0
impact_spread = 0.0
resonance_spread = 0.0
damping_spread = 0.0

[faults.leak]
incidence = 0.4
onset_max_days = 0.5
rate_per_day = 0.3

[faults.capacitor]
incidence = 0.4
onset_max_days = 0.5
loss_per_day = 0.12

[technicians]
enabled = false

[evaluation]
window_min = "1h"
window_max = "2d"
"#,
    )
    .unwrap();
    let (f, d) = (file.to_str().unwrap(), dir.to_str().unwrap());
    let model = dir.join("model.json");
    let train = thermotwin(&[
        "ml",
        "train",
        f,
        "--out",
        model.to_str().unwrap(),
        "--runs",
        d,
    ]);
    let stdout = String::from_utf8_lossy(&train.stdout);
    assert_eq!(
        train.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&train.stderr)
    );
    assert!(stdout.contains("bearing_wear:"), "{stdout}");
    // One classifier per fault, each naming its issue.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    let classes: Vec<(&str, &str)> = m["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["fault"].as_str().unwrap(), c["issue"].as_str().unwrap()))
        .collect();
    assert_eq!(classes, scenarios::ml::ISSUES, "{m}");
    // Each class weighs its own inputs only.
    let names = api_server::predictors::features::NAMES;
    for (class, inputs) in m["classes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(scenarios::ml::INPUTS)
    {
        let weights = class["weights"].as_array().unwrap();
        for (name, w) in names.iter().zip(weights) {
            let w = w.as_f64().unwrap();
            assert_eq!(w != 0.0, inputs.contains(name), "{name}: {w} in {class}");
        }
    }
    // The model runs beside the built-ins, named after its file.
    let spec = format!("logistic:{}", model.display());
    let bench = thermotwin(&[
        "bench-ml",
        f,
        "--model",
        "threshold",
        "--model",
        &spec,
        "--seed",
        "4",
        "--out",
        d,
    ]);
    let stdout = String::from_utf8_lossy(&bench.stdout);
    assert_eq!(
        bench.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    assert!(stdout.contains("logistic:model.json"), "{stdout}");
    // Leaks and weak capacitors do not show in the vibration the zones
    // grade; the per-fault classifiers assess them, each under its own
    // issue, and are scored like any model (whether they beat the zones on
    // a fleet this small is for the benchmark to say, with its intervals).
    let run = dir.join("training-seed4");
    let board: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("leaderboard.json")).unwrap()).unwrap();
    let logistic = &board["shadow"][1];
    assert_eq!(logistic["name"], "logistic:model.json");
    assert!(logistic["recall"].as_f64().unwrap() > 0.0, "{board}");
    let [lo, hi] = [0, 1].map(|i| logistic["intervals"]["f1"][i].as_f64().unwrap());
    assert!(
        lo <= logistic["f1"].as_f64().unwrap() && hi >= lo,
        "{board}"
    );
    let predictions = reports::tables::read(&run.join("predictions.parquet")).unwrap();
    let issues = predictions.column("issue").unwrap().str().unwrap().clone();
    for (_, issue) in scenarios::ml::ISSUES {
        assert!(
            (0..issues.len()).any(|i| issues.get(i) == Some(issue)),
            "{issue}"
        );
    }
    // Evaluation seeds never train a model (exit 2, naming the rule).
    let reserved = thermotwin(&["ml", "train", f, "--seed", "9000101", "--out", d]);
    assert_eq!(reserved.status.code(), Some(2));
    let err = String::from_utf8_lossy(&reserved.stderr);
    assert!(
        err.contains("seed 9000101 cannot train a model") && err.contains("reserved"),
        "{err}"
    );
    // A file that is not a model is named in a usage error.
    let bad = thermotwin(&[
        "bench-ml",
        f,
        "--model",
        &format!("logistic:{f}"),
        "--out",
        d,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("training.toml is not a logistic model file"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_ml_runs_a_suite_and_aggregates_its_fleets() {
    // A suite of two small fleets of the quickstart at reserved seeds.
    let dir = std::env::temp_dir().join(format!("thermotwin-cli-suite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let quickstart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/examples/quickstart.toml"
    );
    let suite = dir.join("suite.toml");
    std::fs::write(
        &suite,
        format!(
            "name = \"tiny\"\n[[fleets]]\nfile = \"{quickstart}\"\nseed = 9000001\nlabel = \"accelerated\"\nhomes = 4\ndays = 2.0\n[[fleets]]\nfile = \"{quickstart}\"\nseed = 9000002\nlabel = \"accelerated\"\nhomes = 4\ndays = 2.0\n"
        ),
    )
    .unwrap();
    let (s, d) = (suite.to_str().unwrap(), dir.to_str().unwrap());
    let run = thermotwin(&["bench-ml", "--suite", s, "--model", "threshold", "--out", d]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("suite tiny (2 fleets"), "{stdout}");
    assert!(stdout.contains("always (baseline)"), "{stdout}");
    let board: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tiny/leaderboard.json")).unwrap()).unwrap();
    assert_eq!(board["fleets"].as_array().unwrap().len(), 2);
    assert_eq!(board["fleets"][1]["seed"], 9000002);
    let names: Vec<&str> = board["aggregate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["threshold", "unit-relative", "always", "random"]);
    assert!(dir.join("tiny/suite.html").exists());
    // A seed outside the reserved range is refused, naming the key.
    std::fs::write(
        &suite,
        format!("name = \"bad\"\n[[fleets]]\nfile = \"{quickstart}\"\nseed = 42\nlabel = \"accelerated\"\n"),
    )
    .unwrap();
    let bad = thermotwin(&["bench-ml", "--suite", s, "--model", "threshold", "--out", d]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("fleets[0].seed = 42 is out of range"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
