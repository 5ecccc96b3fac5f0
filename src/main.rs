//! `thermotwin`: the command-line front end.
//!
//! Thin by design: it parses arguments (clap), draws progress, and maps
//! outcomes to exit codes — 0 success, 1 a failed run (printed as
//! `error: …` with its cause chain) or a failed release gate (each printed
//! with the command that reproduces the run), 2 a usage error. The work itself lives in
//! the library crates.

use std::process::ExitCode;

/// mimalloc: the simulator and server allocate many small, short-lived
/// objects (requests, readings, events); it measured 3–5 % faster than the
/// system allocator on the request benches.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{CommandFactory, Parser, Subcommand};

/// Discrete-event simulation and digital-twin testbed for connected
/// thermostats.
///
/// A physics model of homes, heat pumps and compressor wear drives a fleet of
/// virtual thermostats running real firmware logic against the full API
/// server, on a virtual clock far faster than real time.
#[derive(Debug, Parser)]
#[command(
    name = "thermotwin",
    version,
    about,
    long_about,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// What `run` and `bench-ml` override of a scenario, and their threads.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Override the number of homes.
    #[arg(long)]
    homes: Option<u32>,
    /// Override the simulated days.
    #[arg(long)]
    days: Option<f64>,
    /// Override the seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
}

impl RunArgs {
    /// The overrides these arguments give, with the output folder, models
    /// and dataset export of the command.
    fn overrides(
        &self,
        out: Option<std::path::PathBuf>,
        models: Option<Vec<String>>,
        export_dataset: bool,
    ) -> scenarios::run::Overrides {
        scenarios::run::Overrides {
            homes: self.homes,
            days: self.days,
            seed: self.seed,
            out,
            models,
            export_dataset,
        }
    }
}

/// `thermotwin ml …`.
#[derive(Debug, Subcommand)]
enum MlCommand {
    /// Train the logistic predictor on a simulated training fleet.
    ///
    /// Runs the scenario open loop (technicians off, so every fault runs to
    /// its failure) with --export-dataset (use a different --seed from the
    /// fleet you evaluate on), fits one logistic classifier per fault to
    /// its labelled dataset, and writes the model file; use it as
    /// `--model logistic:FILE` or `predictor = "logistic:FILE"`.
    Train {
        /// The training scenario file (TOML; see scenarios/REFERENCE.md).
        file: std::path::PathBuf,
        /// Where to write the model (JSON).
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        #[command(flatten)]
        run: RunArgs,
        /// Folder for the training run's folder (default: the scenario's
        /// outputs.dir).
        #[arg(long, value_name = "DIR")]
        runs: Option<std::path::PathBuf>,
    },
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario and write its run folder.
    ///
    /// Shows a progress bar (simulated time, homes, requests per second,
    /// ETA), then a short summary and the run folder's path. One seed
    /// reproduces a run exactly, whatever --threads.
    Run {
        /// The scenario file (TOML; see scenarios/REFERENCE.md).
        file: std::path::PathBuf,
        #[command(flatten)]
        run: RunArgs,
        /// Folder for the run folder (default: the scenario's outputs.dir).
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
        /// Also write dataset.parquet: each device's engineered diagnostics
        /// features hourly, labelled with the fault in progress and the
        /// time to failure (for training models offline).
        #[arg(long)]
        export_dataset: bool,
    },
    /// Benchmark failure predictors on one simulated fleet.
    ///
    /// One simulation: the first --model acts (its alerts send the
    /// technicians), every other runs in shadow on the same diagnostics
    /// and is scored against the same ground truth. Prints the leaderboard
    /// (precision, recall, F1, PR-AUC, lead time, false alarms, expected
    /// cost, cost-optimal threshold, inference time) and writes it to
    /// leaderboard.json in the run folder; report.html shows it too. With
    /// --each-primary, one run per model as the primary (the closed-loop
    /// effect), each in its own folder.
    ///
    /// With --suite, every fleet of a benchmark suite instead (e.g.
    /// scenarios/benchmarks/suite.toml, the held-out fleets): each run at
    /// its reserved seed, then every model aggregated over the fleets with
    /// 95 % intervals (leaderboard.json and suite.html in the suite's
    /// folder).
    BenchMl {
        /// The scenario file (TOML; see scenarios/REFERENCE.md).
        #[arg(required_unless_present = "suite")]
        file: Option<std::path::PathBuf>,
        /// A benchmark suite file instead of one scenario.
        #[arg(long, value_name = "SUITE", conflicts_with = "file")]
        suite: Option<std::path::PathBuf>,
        /// A predictor (threshold, trend, logistic:FILE, or
        /// "cmd:COMMAND" for an outside model); repeat it, the first is the
        /// primary.
        #[arg(long = "model", required = true, value_name = "NAME")]
        models: Vec<String>,
        /// Also run with each model as the primary.
        #[arg(long)]
        each_primary: bool,
        #[command(flatten)]
        run: RunArgs,
        /// Folder for the run folders (default: the scenario's outputs.dir).
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
    },
    /// Train models for the predictors (see `ml train --help`).
    Ml {
        #[command(subcommand)]
        command: MlCommand,
    },
    /// Re-render a finished run folder from its Parquet tables.
    ///
    /// Recomputes the metrics and gate verdicts into summary.json (the same
    /// bytes as the run wrote). Exits 1 when a gate fails.
    Report {
        /// The run folder (holds summary.json and the tables).
        dir: std::path::PathBuf,
    },
    /// Check a scenario file without running it.
    ///
    /// Prints what the scenario describes, or the first error: the key, the
    /// value and the allowed range, with the line and column. Exits 2 on an
    /// invalid file.
    Check {
        /// The scenario file (TOML; see scenarios/REFERENCE.md).
        file: std::path::PathBuf,
    },
    /// Serve the AURRA, device and Automations APIs on the system clock.
    ///
    /// Without --provision, a demo account is created and its credentials
    /// printed (derived from --seed: for trying the API locally, not
    /// secrets). Stops cleanly on Ctrl-C.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Seed for ids the server mints (tokens, commands, alerts…).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// A provisioning file (JSON: accounts, clients, devices).
        #[arg(long, value_name = "FILE")]
        provision: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    // Usage errors (and a bare `thermotwin`, which prints the help) exit with
    // 2 inside `parse`, after clap's message.
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        let _ = Cli::command().print_help();
        return ExitCode::from(2);
    };
    match run(command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Loads `file` and checks `overrides` and `threads`: the scenario and the
/// thread count, or exit 2 (the error printed).
fn prepare(
    file: &std::path::Path,
    overrides: &scenarios::run::Overrides,
    threads: Option<usize>,
) -> Result<(scenarios::Scenario, usize), ExitCode> {
    let scenario = match scenarios::load(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(2));
        }
    };
    if let Err(e) = scenarios::run::apply(scenario.clone(), overrides) {
        eprintln!("error: {e}");
        return Err(ExitCode::from(2));
    }
    if threads == Some(0) {
        eprintln!("error: --threads 0 is out of range: expected at least 1");
        return Err(ExitCode::from(2));
    }
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    Ok((scenario, threads))
}

/// Runs a checked scenario with a progress bar; prints the one-line
/// summary.
fn simulate(
    scenario: &scenarios::Scenario,
    overrides: &scenarios::run::Overrides,
    threads: usize,
) -> anyhow::Result<scenarios::run::Finished> {
    let homes = overrides.homes.unwrap_or(scenario.fleet.homes);
    let bar = indicatif::ProgressBar::new(1_000);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{bar:30}] {percent:>3}% {msg} · ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let progress = |p: &sim_core::exec::Progress| {
        bar.set_position((p.fraction() * 1_000.0) as u64);
        let secs = bar.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "{} · {homes} homes · {:.0} req/s",
            p.now,
            p.messages as f64 / secs
        ));
    };
    let finished = scenarios::run::run(scenario, overrides, threads, progress);
    bar.finish_and_clear();
    let finished = finished.context_free()?;
    let s = &finished.summary;
    println!(
        "{}: {} homes, {} s simulated in {:.1} s wall; {} requests ({} rate-limited), {} readings stored, {} alerts, {} failures",
        s["scenario"].as_str().unwrap_or(""),
        s["homes"],
        s["duration_s"],
        bar.elapsed().as_secs_f64(),
        s["requests"]["total"],
        s["requests"]["rate_limited_429"],
        s["telemetry"]["readings_stored"],
        s["alerts"]["created"],
        s["ground_truth"]["failures"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(|v| v.as_u64()).sum::<u64>()),
    );
    Ok(finished)
}

/// `thermotwin run FILE …`: 0 done, 2 invalid file or overrides, 1 failed.
fn run_scenario(
    file: &std::path::Path,
    overrides: &scenarios::run::Overrides,
    threads: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let (scenario, threads) = match prepare(file, overrides, threads) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let finished = simulate(&scenario, overrides, threads)?;
    headline(&finished.summary);
    println!("run folder: {}", finished.dir.display());
    if finished.passed() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut repro = format!("thermotwin run {}", file.display());
    let seed = overrides.seed.unwrap_or(scenario.seed);
    repro.push_str(&format!(" --seed {seed}"));
    if let Some(h) = overrides.homes {
        repro.push_str(&format!(" --homes {h}"));
    }
    if let Some(d) = overrides.days {
        repro.push_str(&format!(" --days {d}"));
    }
    gate_failures(&finished.verdicts);
    eprintln!("seed {seed}; reproduce with: {repro}");
    Ok(ExitCode::from(1))
}

/// The leaderboard of a finished run: its models' scores and costs.
fn leaderboard_of(finished: &scenarios::run::Finished) -> anyhow::Result<Vec<Row>> {
    let models: Vec<reports::metrics::models::ModelScore> =
        serde_json::from_value(finished.summary["metrics"]["models"].clone())?;
    let timings = reports::leaderboard::read_timings(&finished.dir);
    let entries = reports::leaderboard::entries(&models, timings.as_ref());
    print!("{}", reports::leaderboard::text(&entries));
    Ok(entries
        .iter()
        .map(|e| Row {
            score: e.score.clone(),
            us_per_report: e.us_per_report,
            share_of_run: e.share_of_run,
        })
        .collect())
}

/// A leaderboard row, owned (rows of several runs make one board).
#[derive(Debug, Clone)]
struct Row {
    score: reports::metrics::models::ModelScore,
    us_per_report: Option<f64>,
    share_of_run: Option<f64>,
}

fn entries(rows: &[Row]) -> Vec<reports::leaderboard::Entry<'_>> {
    rows.iter()
        .map(|r| reports::leaderboard::Entry {
            score: &r.score,
            us_per_report: r.us_per_report,
            share_of_run: r.share_of_run,
        })
        .collect()
}

/// `thermotwin bench-ml FILE --model … [--each-primary]`: 0 done, 2 invalid
/// file, models or overrides, 1 failed.
fn bench_ml(
    file: &std::path::Path,
    overrides: scenarios::run::Overrides,
    each_primary: bool,
    threads: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let (scenario, threads) = match prepare(file, &overrides, threads) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let models = overrides.models.clone().unwrap_or_default();
    let base = overrides
        .out
        .clone()
        .unwrap_or_else(|| scenario.outputs.dir.clone());
    // Folders named after the models' table names, as file names.
    let names =
        scenarios::run::model_names(models.iter().map(|m| api_server::predictors::spec_name(m)));
    let folder = |i: usize| {
        if each_primary {
            let slug: String = names[i]
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .take(64)
                .collect();
            base.join(format!("primary-{slug}"))
        } else {
            base.clone()
        }
    };
    let first = scenarios::run::Overrides {
        out: Some(folder(0)),
        ..overrides.clone()
    };
    let finished = simulate(&scenario, &first, threads)?;
    println!(
        "\nleaderboard (one simulation; {} acts, the others in shadow):",
        models[0]
    );
    let open_loop = leaderboard_of(&finished)?;
    let mut closed_loop = Vec::new();
    if each_primary {
        closed_loop.push(open_loop[0].clone());
        for i in 1..models.len() {
            let mut order = vec![models[i].clone()];
            order.extend(
                models
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, m)| m.clone()),
            );
            let o = scenarios::run::Overrides {
                out: Some(folder(i)),
                models: Some(order),
                ..overrides.clone()
            };
            let run = simulate(&scenario, &o, threads)?;
            println!("\n{} as the primary:", models[i]);
            let board = leaderboard_of(&run)?;
            closed_loop.push(board[0].clone());
        }
        println!("\neach model as the primary (closed loop):");
        print!("{}", reports::leaderboard::text(&entries(&closed_loop)));
    }
    let s = &finished.summary;
    let board = serde_json::json!({
        "scenario": s["scenario"],
        "seed": s["seed"],
        "homes": s["homes"],
        "duration_s": s["duration_s"],
        "alert_threshold": s["evaluation"]["params"]["threshold"],
        "models": models,
        "shadow": reports::leaderboard::json(&entries(&open_loop)),
        "each_primary": each_primary.then(|| reports::leaderboard::json(&entries(&closed_loop))),
    });
    let path = finished.dir.join("leaderboard.json");
    let mut text = serde_json::to_string_pretty(&board)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    println!("leaderboard: {}", path.display());
    println!("report: {}", finished.dir.join("report.html").display());
    Ok(ExitCode::SUCCESS)
}

/// `thermotwin bench-ml --suite SUITE --model …`: every fleet of the suite
/// at its own seed, then the models aggregated over the fleets; 0 done, 2
/// an invalid suite, fleet or overrides, 1 failed.
fn bench_suite(
    file: &std::path::Path,
    overrides: scenarios::run::Overrides,
    threads: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let suite = match scenarios::benchmarks::load(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if overrides.seed.is_some() {
        eprintln!(
            "error: --seed cannot be given with --suite: each fleet runs at its own reserved seed"
        );
        return Ok(ExitCode::from(2));
    }
    if overrides.homes.is_some() || overrides.days.is_some() {
        println!(
            "note: --homes/--days change the suite's fleets: these results are not the suite's"
        );
    }
    let base = overrides
        .out
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("runs"))
        .join(&suite.name);
    let mut fleets = Vec::new();
    for fleet in &suite.fleets {
        let o = scenarios::run::Overrides {
            seed: Some(fleet.seed),
            homes: overrides.homes.or(fleet.homes),
            days: overrides.days.or(fleet.days),
            out: Some(base.clone()),
            ..overrides.clone()
        };
        let (scenario, threads) = match prepare(&fleet.file, &o, threads) {
            Ok(x) => x,
            Err(code) => return Ok(code),
        };
        println!("{} ({}):", fleet.name, fleet.label.as_str());
        let finished = simulate(&scenario, &o, threads)?;
        let params: reports::metrics::Params =
            serde_json::from_value(finished.summary["evaluation"]["params"].clone())?;
        let metrics = reports::metrics::compute(&finished.dir, &params)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        fleets.push(reports::suite::FleetResult {
            name: fleet.name.clone(),
            label: fleet.label.as_str().to_owned(),
            dir: finished.dir.clone(),
            params,
            rows: metrics.models,
            data: metrics.model_data,
        });
    }
    let resamples = fleets.first().map_or(0, |f| f.params.bootstrap as usize);
    let rows = reports::suite::aggregate(&fleets, resamples);
    println!(
        "
suite {} ({} fleets; the mean over fleets, 95 % intervals):",
        suite.name,
        fleets.len()
    );
    print!("{}", reports::suite::text(&rows));
    let board = serde_json::json!({
        "suite": suite.name,
        "description": suite.description,
        "fleets": fleets.iter().map(|f| serde_json::json!({
            "name": f.name,
            "label": f.label,
            "seed": f.params.seed,
            "homes": f.params.homes,
            "days": (f.params.end_ms - f.params.start_ms) as f64 / 86_400_000.0,
            "folder": f.dir,
            "models": f.rows,
        })).collect::<Vec<_>>(),
        "aggregate": rows,
    });
    std::fs::create_dir_all(&base)?;
    let path = base.join("leaderboard.json");
    let mut text = serde_json::to_string_pretty(&board)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    let html = base.join("suite.html");
    std::fs::write(
        &html,
        reports::suite::page(&suite.name, &suite.description, &fleets, &rows),
    )?;
    println!("leaderboard: {}", path.display());
    println!("suite page: {}", html.display());
    Ok(ExitCode::SUCCESS)
}

/// `thermotwin ml train FILE --out MODEL`: 0 written, 2 invalid file or
/// overrides, 1 failed (nothing to learn, or the model not written).
fn ml_train(
    file: &std::path::Path,
    model: &std::path::Path,
    overrides: &scenarios::run::Overrides,
    threads: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let (mut scenario, threads) = match prepare(file, overrides, threads) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    if let Err(e) =
        scenarios::benchmarks::check_training_seed(overrides.seed.unwrap_or(scenario.seed))
    {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    // Open loop: a technician's repair would cut a fault short of its
    // failure and leave its rows without a label.
    scenario.technicians.enabled = false;
    let finished = simulate(&scenario, overrides, threads)?;
    let window_max_h = scenario.evaluation.window_max.0.as_secs_f64() / 3_600.0;
    let trained = scenarios::ml::train(&finished.dir.join("dataset.parquet"), window_max_h)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut text = serde_json::to_string_pretty(&trained.file)?;
    text.push('\n');
    std::fs::write(model, text)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", model.display()))?;
    println!(
        "trained on {} rows of {}",
        trained.rows,
        finished.dir.join("dataset.parquet").display()
    );
    for (fault, n) in &trained.positives {
        let status = if *n > 0 {
            "a classifier"
        } else {
            "no classifier (no positives)"
        };
        println!("  {fault}: {n} rows failing within the window: {status}");
    }
    println!(
        "model: {} (use it as --model logistic:{})",
        model.display(),
        model.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The metrics a reader looks at first.
fn headline(s: &serde_json::Value) {
    let m = &s["metrics"];
    let p = &m["prediction"];
    let f = |v: &serde_json::Value| v.as_f64().map_or("–".into(), |x| format!("{x:.2}"));
    let primary = m["models"].get(0);
    let iv = |k: &str| {
        primary
            .and_then(|r| r["intervals"][k].as_array())
            .and_then(|a| {
                Some(format!(
                    " [{:.2}, {:.2}]",
                    a.first()?.as_f64()?,
                    a.get(1)?.as_f64()?
                ))
            })
            .unwrap_or_default()
    };
    println!(
        "prediction: precision {}{} · recall {}{} · F1 {}{} · median lead {}{} d · {} false alarms per healthy device-year · {} failures, {} prevented, {} caught",
        f(&p["precision"]),
        iv("precision"),
        f(&p["recall"]),
        iv("recall"),
        f(&p["f1"]),
        iv("f1"),
        f(&p["lead_time_days"]["median"]),
        iv("lead_time_days_median"),
        f(&p["false_alarms_per_healthy_device_year"]),
        p["failures"],
        p["prevented"],
        p["caught"],
    );
    if let Some(note) = m["prediction_note"].as_str() {
        println!("  {note}");
    }
    let c = &m["comfort_energy"];
    println!(
        "comfort & energy: {} K·h/home outside the band · {} kWh · {} short cycles · telemetry delivered {}",
        f(&c["discomfort_kh_per_home"]["mean"]),
        f(&c["energy_kwh"]),
        c["short_cycle_violations"],
        f(&m["rate_limits"]["telemetry"]["delivery_ratio"]),
    );
}

/// Prints each failed gate.
fn gate_failures(verdicts: &[reports::gates::Verdict]) {
    let failed: Vec<_> = verdicts.iter().filter(|v| !v.passed).collect();
    eprintln!(
        "{} of {} release gates failed:",
        failed.len(),
        verdicts.len()
    );
    for v in failed {
        eprintln!("  {v}");
    }
}

/// `thermotwin report DIR`: 0 rendered (gates passed), 1 failed.
fn report(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let r = reports::report::render(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    headline(&r.summary);
    println!("summary: {}", dir.join("summary.json").display());
    if r.passed() {
        Ok(ExitCode::SUCCESS)
    } else {
        gate_failures(&r.verdicts);
        Ok(ExitCode::from(1))
    }
}

/// Turns a run error into `anyhow` (its message is the whole story).
trait ContextFree<T> {
    fn context_free(self) -> anyhow::Result<T>;
}

impl<T> ContextFree<T> for Result<T, scenarios::run::RunError> {
    fn context_free(self) -> anyhow::Result<T> {
        self.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// `thermotwin check FILE`: 0 valid, 2 invalid.
fn check(file: &std::path::Path) -> ExitCode {
    match scenarios::load(file) {
        Ok(s) => {
            let integrations: usize = s.accounts.iter().map(|a| a.integrations.len()).sum();
            println!(
                "{}: valid — {} homes, {} from {} (seed {}); {} account(s), {} integration(s), {} automation(s), {} release(s)",
                file.display(),
                s.fleet.homes,
                s.duration.0,
                s.start.0,
                s.seed,
                s.accounts.len(),
                integrations,
                s.automations.len(),
                s.ota.releases.len(),
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { file } => Ok(check(&file)),
        Command::Report { dir } => report(&dir),
        Command::Run {
            file,
            run,
            out,
            export_dataset,
        } => run_scenario(
            &file,
            &run.overrides(out, None, export_dataset),
            run.threads,
        ),
        Command::BenchMl {
            file: None,
            suite: Some(suite),
            models,
            run,
            out,
            ..
        } => bench_suite(&suite, run.overrides(out, Some(models), false), run.threads),
        Command::BenchMl {
            file,
            models,
            each_primary,
            run,
            out,
            ..
        } => bench_ml(
            &file.unwrap_or_default(),
            run.overrides(out, Some(models), false),
            each_primary,
            run.threads,
        ),
        Command::Ml {
            command:
                MlCommand::Train {
                    file,
                    out,
                    run,
                    runs,
                },
        } => ml_train(&file, &out, &run.overrides(runs, None, true), run.threads),
        Command::Serve {
            addr,
            seed,
            provision,
        } => serve(addr, seed, provision).map(|()| ExitCode::SUCCESS),
    }
}

fn serve(
    addr: std::net::SocketAddr,
    seed: u64,
    provision: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::sync::Arc;

    let state = api_server::AppState::new(
        Arc::new(sim_core::SystemClock),
        seed,
        api_server::ServerConfig::default(),
    )
    .with_webhook_sink(Arc::new(api_server::serve::HttpSink::default()));
    match provision {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read provisioning file {}", path.display()))?;
            api_server::serve::provision(&state, &text)
                .with_context(|| format!("in {}", path.display()))?;
            println!(
                "provisioned {} account(s) from {}",
                state.account_count(),
                path.display()
            );
        }
        None => {
            let demo = api_server::serve::provision_demo(&state, seed);
            println!("demo account (not secrets):");
            println!("  client_id     {}", demo.client_id);
            println!("  client_secret {}", demo.client_secret);
            for (id, key) in &demo.devices {
                println!("  device        {id}  api_key {key}");
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        println!("listening on http://{}", listener.local_addr()?);
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            println!("shutting down");
        };
        api_server::serve::run(
            listener,
            state,
            sim_core::SimDuration::from_secs(1),
            shutdown,
        )
        .await
        .context("server failed")
    })
}
