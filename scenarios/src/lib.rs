//! scenarios: scenario files (TOML) — their schema, defaults and checks —
//! and the fleet runner that turns one into a run folder.
//!
//! ```text
//!   FILE.toml ─► load ─► parse (toml_edit: syntax, unknown keys → line:col)
//!                    └─► validate (ranges, references; model parameters by
//!                        the models' own checks) ─► Scenario
//!
//!   Scenario ─► run::run
//!     build:   fleet (FleetMix → a HomeSpec per home, own seeded stream),
//!              weather per location, HomeSim per home (home.rs: physics,
//!              sensing, the real firmware), the real API server
//!              provisioned (server.rs)
//!     execute: one shard per account (shard.rs) on sim-core's windowed
//!              executor: homes, the in-process server, integrations,
//!              technicians, in time order; OTA, outside models and the
//!              accounts' journals (what the server stored, predicted and
//!              ended, for the tables) between windows
//!     finish:  tables (Parquet, streamed on their own thread) ─► reports:
//!              summary.json, metrics, gates, charts, report.html
//! ```
//!
//! Every key, its default and its range: `scenarios/REFERENCE.md`.

pub mod benchmarks;
pub mod build;
pub mod fleet;
pub mod home;
pub mod load;
pub mod ml;
pub mod net;
pub mod outside;
pub mod run;
pub mod schema;
pub mod sensing;
pub mod server;
pub mod shard;
pub mod tables;
pub mod validate;

pub use load::{ScenarioError, load, parse_str};
pub use schema::Scenario;
