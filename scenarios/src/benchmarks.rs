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

/// A training run asked for an evaluation seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("seed {0} cannot train a model: {RULE}")]
pub struct ReservedSeed(pub u64);

/// `Err` (naming the rule) when a training run would use an evaluation
/// seed.
pub fn check_training_seed(seed: u64) -> Result<(), ReservedSeed> {
    if EVAL_SEEDS.contains(&seed) {
        Err(ReservedSeed(seed))
    } else {
        Ok(())
    }
}

/// Why a suite file cannot be used; each names the file (and the fleet's
/// key where one is at fault).
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// It is not TOML of the suite's shape.
    #[error("{path}: {source}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's error.
        source: toml_edit::de::Error,
    },
    /// It lists no fleet.
    #[error("{path}: fleets: the suite lists no fleet")]
    NoFleets {
        /// The file.
        path: String,
    },
    /// A fleet's seed is not an evaluation seed.
    #[error(
        "{key}.seed = {seed} is out of range: expected {lo} to {hi} ({RULE})",
        lo = EVAL_SEEDS.start(),
        hi = EVAL_SEEDS.end()
    )]
    NotAnEvaluationSeed {
        /// `FILE: fleets[i]`.
        key: String,
        /// The seed.
        seed: u64,
    },
    /// Two fleets share a seed.
    #[error("{key}.seed = {seed} is used twice")]
    SeedTwice {
        /// `FILE: fleets[i]`.
        key: String,
        /// The seed.
        seed: u64,
    },
    /// A label other than `accelerated` or `field`.
    #[error("{key}.label = {label:?} is not a label: expected \"accelerated\" or \"field\"")]
    Label {
        /// `FILE: fleets[i]`.
        key: String,
        /// The label given.
        label: String,
    },
    /// A fleet's scenario does not load.
    #[error("{key}.file: {source}")]
    Scenario {
        /// `FILE: fleets[i]`.
        key: String,
        /// Why.
        source: crate::ScenarioError,
    },
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
pub fn load(path: &Path) -> Result<Suite, SuiteError> {
    let shown = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
        path: shown(),
        source,
    })?;
    let raw: SuiteFile = toml_edit::de::from_str(&text).map_err(|source| SuiteError::Syntax {
        path: shown(),
        source,
    })?;
    if raw.fleets.is_empty() {
        return Err(SuiteError::NoFleets { path: shown() });
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut seeds = std::collections::BTreeSet::new();
    let mut fleets = Vec::new();
    for (i, f) in raw.fleets.into_iter().enumerate() {
        let key = format!("{}: fleets[{i}]", path.display());
        if !EVAL_SEEDS.contains(&f.seed) {
            return Err(SuiteError::NotAnEvaluationSeed { key, seed: f.seed });
        }
        if !seeds.insert(f.seed) {
            return Err(SuiteError::SeedTwice { key, seed: f.seed });
        }
        let label = match f.label.as_str() {
            "accelerated" => Label::Accelerated,
            "field" => Label::Field,
            other => {
                return Err(SuiteError::Label {
                    key,
                    label: other.to_owned(),
                });
            }
        };
        let file = base.join(&f.file);
        if let Err(source) = crate::load(&file) {
            return Err(SuiteError::Scenario { key, source });
        }
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
        let e = check_training_seed(9_000_101).unwrap_err();
        assert_eq!(e, ReservedSeed(9_000_101));
        assert!(e.to_string().contains("reserved"));
        assert!(check_training_seed(7).is_ok());
    }
}
