//! `thermotwin`: the command-line front end.
//!
//! Thin by design: it parses arguments (clap), draws progress, and maps
//! outcomes to exit codes — 0 success, 1 a failed run (printed as
//! `error: …` with its cause chain), 2 a usage error. The work itself lives in
//! the library crates.

use std::process::ExitCode;

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

/// The subcommands. `run`, `check`, `serve` and `report` arrive with the
/// issues that build what they drive.
#[derive(Debug, Subcommand)]
enum Command {}

fn main() -> ExitCode {
    // Usage errors (and a bare `thermotwin`, which prints the help) exit with
    // 2 inside `parse`, after clap's message.
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        let _ = Cli::command().print_help();
        return ExitCode::from(2);
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {}
}
