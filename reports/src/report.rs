//! Rendering a run folder: metrics from its tables, gate verdicts, the
//! `metrics` and `gates` sections of `summary.json`, the charts
//! (`charts/*.svg`, `charts/*.png`) and `report.html`. The runner calls
//! [`render`] once its tables are written; `thermotwin report DIR` calls it
//! again on a finished run — the same code on the same files, so the
//! result is the same bytes.
//!
//! The runner leaves in `summary.json` what rendering needs besides the
//! tables: `evaluation.params` ([`Params`]) and `evaluation.gates`
//! ([`Gates`]).

use std::path::Path;

use serde_json::{Value, json};

use crate::gates::{Gates, Verdict, evaluate};
use crate::metrics::{Metrics, MetricsError, Params, compute};

/// Why a run folder could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// `summary.json` lacks what rendering needs.
    #[error("{path}: {message} (is this a thermotwin run folder?)")]
    Summary {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A table could not be analysed.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] crate::charts::ChartError),
}

/// A rendered run.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The whole `summary.json`.
    pub summary: Value,
    /// The metrics.
    pub metrics: Metrics,
    /// Each gate's verdict (empty without gates).
    pub verdicts: Vec<Verdict>,
}

impl Rendered {
    /// Whether every gate passed.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }
}

/// The `evaluation` section the runner writes: what rendering needs.
pub fn evaluation(params: &Params, gates: &Gates) -> Value {
    json!({"params": params, "gates": gates})
}

/// Renders the run folder `dir` (see the module docs).
pub fn render(dir: &Path) -> Result<Rendered, ReportError> {
    let path = dir.join("summary.json");
    let io = |e: std::io::Error| ReportError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let bad = |message: String| ReportError::Summary {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(io)?;
    let mut summary: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let eval = summary
        .get("evaluation")
        .ok_or_else(|| bad("no `evaluation` section".into()))?;
    let params: Params = serde_json::from_value(eval["params"].clone())
        .map_err(|e| bad(format!("evaluation.params: {e}")))?;
    let gates: Gates = serde_json::from_value(eval["gates"].clone())
        .map_err(|e| bad(format!("evaluation.gates: {e}")))?;
    let metrics = compute(dir, &params)?;
    let verdicts = evaluate(&gates, &metrics);
    let Some(obj) = summary.as_object_mut() else {
        return Err(bad("not a JSON object".into()));
    };
    obj.insert(
        "metrics".into(),
        serde_json::to_value(&metrics).map_err(|e| bad(e.to_string()))?,
    );
    obj.insert(
        "gates".into(),
        json!({
            "passed": verdicts.iter().all(|v| v.passed),
            "verdicts": verdicts,
        }),
    );
    let mut out = serde_json::to_string_pretty(&summary).map_err(|e| bad(e.to_string()))?;
    out.push('\n');
    std::fs::write(&path, out).map_err(io)?;
    let charts_dir = dir.join("charts");
    let drawn = crate::charts::plots(dir, &params, &metrics)?
        .iter()
        .map(|p| p.render(&charts_dir))
        .collect::<Result<Vec<_>, _>>()?;
    // Measured costs, when the run left them.
    let timings = crate::leaderboard::read_timings(dir);
    let html = dir.join("report.html");
    std::fs::write(
        &html,
        crate::html::page(
            &summary,
            &params,
            &metrics,
            &verdicts,
            &drawn,
            timings.as_ref(),
        ),
    )
    .map_err(|e| ReportError::Io {
        path: html.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(Rendered {
        summary,
        metrics,
        verdicts,
    })
}
