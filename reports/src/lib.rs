//! reports: the output tables of a run (Parquet through polars), metrics
//! (PHM-style alert precision/recall and lead time, comfort, energy, rate
//! limits), charts (plotters), `report.html` and `summary.json`.
//!
//! Planned contents (issue 7); `thermotwin report DIR` re-renders a finished
//! run from its Parquet files. Nothing is implemented here yet.
