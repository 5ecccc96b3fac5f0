//! The held-out benchmark suite (`scenarios/benchmarks/suite.toml`): the
//! fleets every predictor is judged on, and the range of seeds reserved for
//! them.
//!
//! A suite file lists fleets — a scenario file, a seed, whether the fleet
//! is `accelerated` (faults that fail within days) or at `field`
//! prevalence — and `thermotwin bench-ml --suite FILE` runs each and
//! aggregates (`reports::suite`). Evaluation seeds come from
//! [`EVAL_SEEDS`]; no test, training run or tuning may use one, and
//! `thermotwin ml train` refuses them ([`check_training_seed`]), so a model
//! is never fitted to the fleets it is judged on.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Seeds reserved for evaluation fleets.
pub const EVAL_SEEDS: RangeInclusive<u64> = 9_000_000..=9_999_999;

/// The rule `ml train` and tuning follow, for its error message.
pub const RULE: &str = "seeds 9000000 to 9999999 are reserved for the held-out benchmark suite (scenarios/benchmarks/suite.toml): no training run, tuning or test may use them";

/// `Err` (naming the rule) when a training run would use an evaluation
/// seed.
pub fn check_training_seed(seed: u64) -> Result<(), String> {
    if EVAL_SEEDS.contains(&seed) {
        Err(format!("seed {seed} cannot train a model: {RULE}"))
    } else {
        Ok(())
    }
}

/// A suite file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    name: String,
    #[serde(default)]
    description: String,
    fleets: Vec<FleetFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetFile {
    file: PathBuf,
    seed: u64,
    label: String,
    homes: Option<u32>,
    days: Option<f64>,
}

/// Whether a fleet's faults are accelerated or at field rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Faults that fail within days (labelled as such in every result).
    Accelerated,
    /// Faults at the rates a real fleet sees.
    Field,
}

impl Label {
    /// The label's name in files and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Accelerated => "accelerated",
            Label::Field => "field",
        }
    }
}

/// One fleet of a suite.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Its name: the scenario file's stem.
    pub name: String,
    /// The scenario file (resolved against the suite file's folder).
    pub file: PathBuf,
    /// Its evaluation seed.
    pub seed: u64,
    /// Accelerated or field.
    pub label: Label,
    /// Homes, if the suite overrides the file.
    pub homes: Option<u32>,
    /// Days, if the suite overrides the file.
    pub days: Option<f64>,
}

/// A checked suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Its name (the results' folder).
    pub name: String,
    /// What it is.
    pub description: String,
    /// Its fleets, in order.
    pub fleets: Vec<Fleet>,
}

/// Reads and checks a suite file: every fleet's scenario loads, every seed
/// is an evaluation seed and used once, every label known.
pub fn load(path: &Path) -> Result<Suite, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let raw: SuiteFile =
        toml_edit::de::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if raw.fleets.is_empty() {
        return Err(format!(
            "{}: fleets: the suite lists no fleet",
            path.display()
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut seeds = std::collections::BTreeSet::new();
    let mut fleets = Vec::new();
    for (i, f) in raw.fleets.into_iter().enumerate() {
        let key = format!("{}: fleets[{i}]", path.display());
        if !EVAL_SEEDS.contains(&f.seed) {
            return Err(format!(
                "{key}.seed = {} is out of range: expected {} to {} ({RULE})",
                f.seed,
                EVAL_SEEDS.start(),
                EVAL_SEEDS.end()
            ));
        }
        if !seeds.insert(f.seed) {
            return Err(format!("{key}.seed = {} is used twice", f.seed));
        }
        let label = match f.label.as_str() {
            "accelerated" => Label::Accelerated,
            "field" => Label::Field,
            other => {
                return Err(format!(
                    "{key}.label = {other:?} is not a label: expected \"accelerated\" or \"field\""
                ));
            }
        };
        let file = base.join(&f.file);
        crate::load(&file).map_err(|e| format!("{key}.file: {e}"))?;
        fleets.push(Fleet {
            name: f.file.file_stem().map_or_else(
                || format!("fleet-{i}"),
                |s| s.to_string_lossy().into_owned(),
            ),
            file,
            seed: f.seed,
            label,
            homes: f.homes,
            days: f.days,
        });
    }
    Ok(Suite {
        name: raw.name,
        description: raw.description,
        fleets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_loads_and_its_seeds_are_reserved() {
        let s = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("benchmarks/suite.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(s.fleets.len() >= 7);
        assert!(s.fleets.iter().all(|f| EVAL_SEEDS.contains(&f.seed)));
        // Three climates × two seasons, accelerated, and a field fleet.
        let accelerated = s
            .fleets
            .iter()
            .filter(|f| f.label == Label::Accelerated)
            .count();
        assert!(accelerated >= 6);
        assert!(s.fleets.iter().any(|f| f.label == Label::Field));
        assert!(
            check_training_seed(9_000_101)
                .unwrap_err()
                .contains("reserved")
        );
        assert!(check_training_seed(7).is_ok());
    }
}
