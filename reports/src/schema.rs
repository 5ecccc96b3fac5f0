//! The tables of a run folder (DESIGN.md "Outputs"): their files and
//! columns. Times are UTC datetimes [ms]; homes are fleet indices; device
//! ids are the API's.

use crate::tables::{Kind, TableSpec};

/// `fleet.parquet`: one row per home — its thermostat, account, place,
/// equipment, electricity price (what joins alerts, which name devices,
/// to the ground truth, which names homes) and its place in staged
/// rollouts (`[0, 100)`: a batch opened to `p` % of the fleet offers the
/// update to devices below `p`).
pub const FLEET: TableSpec = TableSpec {
    name: "fleet",
    columns: &[
        ("home", Kind::Int),
        ("device_id", Kind::Text),
        ("account", Kind::Text),
        ("location", Kind::Text),
        ("archetype", Kind::Text),
        ("equipment", Kind::Text),
        ("price_per_kwh", Kind::Float),
        ("rollout_percentile", Kind::Float),
    ],
};

/// `homes.parquet`: each home sampled every `outputs.home_sample`; energy,
/// discomfort, starts and short cycles are running totals since the start.
pub const HOMES: TableSpec = TableSpec {
    name: "homes",
    columns: &[
        ("at", Kind::Time),
        ("home", Kind::Int),
        ("indoor_c", Kind::Float),
        ("outdoor_c", Kind::Float),
        ("humidity_pct", Kind::Float),
        ("compressor", Kind::Bool),
        ("backup", Kind::Bool),
        ("occupied", Kind::Bool),
        ("energy_kwh", Kind::Float),
        ("discomfort_kh", Kind::Float),
        ("compressor_starts", Kind::Int),
        ("short_cycles", Kind::Int),
        ("bearing_wear_um", Kind::Float),
        ("windows_open", Kind::Bool),
    ],
};

/// `ground_truth.parquet`: fault onsets (`onset`), failures (`failure`,
/// with the fault's `onset`), technician visits (`visit_prevented`,
/// `visit_after_failure`, `visit_unnecessary`; `fault`: the faults
/// repaired, comma-separated) and counterfactual failures (`would_fail`:
/// when a fault a technician repaired before it failed would have failed,
/// with its `onset` and `repaired_at`; none when that lies beyond the run's
/// end).
pub const GROUND_TRUTH: TableSpec = TableSpec {
    name: "ground_truth",
    columns: &[
        ("at", Kind::Time),
        ("home", Kind::Int),
        ("event", Kind::Text),
        ("fault", Kind::OptText),
        ("onset", Kind::OptInt),
        ("detail", Kind::OptText),
        ("repaired_at", Kind::OptInt),
    ],
};

/// `requests.parquet`: every request the server handled.
pub const REQUESTS: TableSpec = TableSpec {
    name: "requests",
    columns: &[
        ("arrival", Kind::Time),
        ("source", Kind::Text),
        ("client", Kind::Text),
        ("tier", Kind::Text),
        ("home", Kind::OptInt),
        ("method", Kind::Text),
        ("endpoint", Kind::Text),
        ("status", Kind::Int),
        ("retry_after_s", Kind::OptInt),
        ("up_ms", Kind::OptInt),
        ("down_ms", Kind::OptInt),
    ],
};

/// `telemetry.parquet`: every reading the server stored.
pub const TELEMETRY: TableSpec = TableSpec {
    name: "telemetry",
    columns: &[
        ("received_at", Kind::Time),
        ("device_id", Kind::Text),
        ("sensor_id", Kind::OptText),
        ("sensor_type", Kind::Text),
        ("value", Kind::Float),
        ("measured_at", Kind::Time),
        ("seq", Kind::OptInt),
    ],
};

/// `alerts.parquet`: every alert, with its resolution.
pub const ALERTS: TableSpec = TableSpec {
    name: "alerts",
    columns: &[
        ("created_at", Kind::Time),
        ("alert_id", Kind::Text),
        ("device_id", Kind::Text),
        ("issue", Kind::Text),
        ("confidence", Kind::Float),
        ("source", Kind::Text),
        ("resolved_at", Kind::OptInt),
    ],
};

/// `webhooks.parquet`: every delivery attempt the runner's receiver got
/// (`attempt` > 1: a retry).
pub const WEBHOOKS: TableSpec = TableSpec {
    name: "webhooks",
    columns: &[
        ("at", Kind::Time),
        ("url", Kind::Text),
        ("event", Kind::Text),
        ("verified", Kind::Bool),
        ("attempt", Kind::Int),
    ],
};

/// `predictions.parquet`: every prediction the server's predictors made
/// (after each diagnostics report that changed what a model knows, one per
/// issue it assesses), alert or not — the confidences a threshold sweep
/// runs over. `model` names the predictor: the primary (whose predictions
/// raise alerts) and any shadows.
pub const PREDICTIONS: TableSpec = TableSpec {
    name: "predictions",
    columns: &[
        ("at", Kind::Time),
        ("device_id", Kind::Text),
        ("model", Kind::Text),
        ("issue", Kind::Text),
        ("confidence", Kind::Float),
        ("recommended_action", Kind::Text),
    ],
};

/// `commands.parquet`: every command the server queued, once it ended
/// (`acked` or `failed` by the device, `expired` unanswered after 24 h) or,
/// at the end of the run, as it stood (`pending`). Latency: `delivered_at`
/// (first fetched) and `finished_at` against `created_at`.
pub const COMMANDS: TableSpec = TableSpec {
    name: "commands",
    columns: &[
        ("created_at", Kind::Time),
        ("device_id", Kind::Text),
        ("command_id", Kind::Text),
        ("type", Kind::Text),
        ("status", Kind::Text),
        ("delivered_at", Kind::OptInt),
        ("finished_at", Kind::OptInt),
        ("error", Kind::OptText),
    ],
};

/// `ota_events.parquet`: the rollout as devices lived it (`source` =
/// `device`: each stage the firmware went through, `downloading` …
/// `completed` or `failed`) and as the server steered it (`server`:
/// `published`, `batch_opened` with the batch's cumulative fleet share
/// [%] as `detail`, `halted`).
pub const OTA_EVENTS: TableSpec = TableSpec {
    name: "ota_events",
    columns: &[
        ("at", Kind::Time),
        ("source", Kind::Text),
        ("home", Kind::OptInt),
        ("version", Kind::Text),
        ("event", Kind::Text),
        ("detail", Kind::OptText),
    ],
};

/// `firmware_events.parquet`: what the firmware reported (boots, reboots,
/// commands handled, rate limiting, dropped readings; OTA stages are in
/// `ota_events`).
pub const FIRMWARE_EVENTS: TableSpec = TableSpec {
    name: "firmware_events",
    columns: &[
        ("at", Kind::Time),
        ("home", Kind::Int),
        ("event", Kind::Text),
        ("detail", Kind::Text),
    ],
};

/// `features.parquet` (with `--export-dataset`, while the run goes): each
/// device's engineered diagnostics features at most once an hour
/// (`api_server::predictors::features`); labelled into `dataset.parquet`
/// at the end, then removed.
pub const FEATURES: TableSpec = TableSpec {
    name: "features",
    columns: &[
        ("at", Kind::Time),
        ("device_id", Kind::Text),
        ("peak_g", Kind::OptFloat),
        ("log_peak_mean", Kind::OptFloat),
        ("log_peak_slope_per_day", Kind::OptFloat),
        ("log_peak_rise", Kind::OptFloat),
        ("rms_mean_g", Kind::OptFloat),
        ("rms_slope_per_day", Kind::OptFloat),
        ("kurtosis_mean", Kind::OptFloat),
        ("kurtosis_slope_per_day", Kind::OptFloat),
        ("current_a", Kind::OptFloat),
        ("current_ratio", Kind::OptFloat),
        ("duty", Kind::OptFloat),
        ("current_vs_expected", Kind::OptFloat),
        ("runtime_per_degree_hour", Kind::OptFloat),
    ],
};

/// `dataset.parquet` (with `--export-dataset`): the features labelled from
/// the ground truth, for training models offline. `fault`: the fault in
/// progress (or that failed the unit) at `at`, null when healthy;
/// `failed`: the unit is down; `time_to_failure_h`: hours to the unit's
/// next failure unless a repair comes first (null: none before the run's
/// end — censored); `fails_within_window`: that failure lies within the
/// evaluation's prediction window (`window_min`–`window_max`) from `at`.
pub const DATASET: TableSpec = TableSpec {
    name: "dataset",
    columns: &[
        ("at", Kind::Time),
        ("home", Kind::Int),
        ("device_id", Kind::Text),
        ("peak_g", Kind::OptFloat),
        ("log_peak_mean", Kind::OptFloat),
        ("log_peak_slope_per_day", Kind::OptFloat),
        ("log_peak_rise", Kind::OptFloat),
        ("rms_mean_g", Kind::OptFloat),
        ("rms_slope_per_day", Kind::OptFloat),
        ("kurtosis_mean", Kind::OptFloat),
        ("kurtosis_slope_per_day", Kind::OptFloat),
        ("current_a", Kind::OptFloat),
        ("current_ratio", Kind::OptFloat),
        ("duty", Kind::OptFloat),
        ("current_vs_expected", Kind::OptFloat),
        ("runtime_per_degree_hour", Kind::OptFloat),
        ("fault", Kind::OptText),
        ("failed", Kind::Bool),
        ("time_to_failure_h", Kind::OptFloat),
        ("fails_within_window", Kind::Bool),
    ],
};

/// The feature columns of [`FEATURES`] and [`DATASET`].
pub fn feature_columns() -> impl Iterator<Item = &'static str> {
    FEATURES.columns[2..].iter().map(|(name, _)| *name)
}

/// Every table, in the order they are written.
pub const ALL: [TableSpec; 11] = [
    FLEET,
    HOMES,
    GROUND_TRUTH,
    REQUESTS,
    TELEMETRY,
    ALERTS,
    PREDICTIONS,
    COMMANDS,
    WEBHOOKS,
    OTA_EVENTS,
    FIRMWARE_EVENTS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dataset_carries_the_feature_columns_in_order() {
        let features: Vec<(&str, Kind)> = FEATURES.columns[2..].to_vec();
        assert_eq!(DATASET.columns[3..3 + features.len()], features[..]);
        assert_eq!(feature_columns().count(), features.len());
    }
}
