//! scenarios: scenario files (TOML) — their schema, defaults and checks —
//! and, in time, the fleet runner that turns one into a run folder.
//!
//! ```text
//!   FILE.toml ─► load ─► parse (toml_edit: syntax, unknown keys → line:col)
//!                    └─► validate (ranges, references; model parameters by
//!                        the models' own checks) ─► Scenario
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
