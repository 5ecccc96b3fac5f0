//! reports: the output tables of a run (Parquet through polars), and — with
//! issue 7 — metrics (PHM-style alert precision/recall and lead time,
//! comfort, energy, rate limits), charts (plotters), `report.html` and
//! `summary.json`.
//!
//! Built so far: [`tables`], the streaming Parquet writer the runner writes
//! every table through, and the runner's table schemas ([`schema`]).

pub mod gates;
pub mod metrics;
pub mod report;
pub mod schema;
pub mod tables;
