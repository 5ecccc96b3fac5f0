//! reports: the output tables of a run and what is made of them.
//!
//! ```text
//! runner ──► tables (streamed Parquet, schema) ──► metrics ──► gates
//!                                                     │          │
//!                                   charts (SVG, PNG) ◄┘          │
//!                          report::render ──► summary.json, report.html
//! ```
//!
//! [`tables`] and [`schema`]: the streaming writer the runner writes every
//! table through. [`metrics`]: PHM alert scoring, threshold sweep, rate
//! limits, comfort and energy, operations. [`gates`]: release gates.
//! [`charts`] (plotters) and [`html`] (`report.html`). [`report`]: renders a
//! run folder — at the end of a run and for `thermotwin report`.

pub mod charts;
pub mod dataset;
pub mod gates;
pub mod html;
pub mod leaderboard;
pub mod metrics;
pub mod report;
pub mod schema;
pub mod suite;
pub mod tables;
