//! Outside models (`cmd:COMMAND`): a failure predictor in any language, run
//! as a subprocess (`sh -c COMMAND`) speaking JSON lines over its standard
//! input and output — one message per line, one answer per batch:
//!
//! ```text
//!   → {"batch": 7, "rows": [{"device_id": "home-00012", "at": "2026-07-01T12:00:00Z",
//!                           "features": {"peak_g": 0.9, …, "duty": null}}]}
//!   ← {"batch": 7, "predictions": [{"device_id": "home-00012",
//!                                   "issue": "Compressor bearing degradation",
//!                                   "confidence": 0.81}]}
//! ```
//!
//! The features are the server's engineered features
//! (`api_server::predictors::features::NAMES`; null where not known yet).
//! A prediction may add a `"recommended_action"` (text, ≤ 1,024
//! characters); without one the built-in models' action for its confidence
//! is used. A device may be left out of an answer (no prediction for it).
//!
//! In a run ([`crate::run`]), each device's row comes hourly once its
//! features are known — the rows of the labelled dataset — and the rows of
//! each 60-second window go as one batch after it; the answers are the
//! model's predictions at the window's end. The process runs in the
//! scenario file's folder (with `--model`, the current folder), and its
//! features start afresh when a technician services the unit.
//! An answer that is not such a line, a process that exits, or one that
//! does not answer within the timeout is an error naming the model and what
//! it did (with the end of its stderr); the model is stopped when dropped.
//! `scenarios/examples/models/vibration_trend.py` is an example in Python's
//! standard library.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_server::AppState;
use api_server::predictive::{FeatureRow, ModelCost};
use api_server::predictors::features::NAMES;
use api_server::predictors::{Prediction, action_for};
use serde_json::{Map, Value, json};
use sim_core::SimTime;
use sim_core::clock::Stopwatch;

/// How much of the model's stderr an error shows.
const STDERR_TAIL: usize = 2_000;

/// What went wrong with an outside model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutsideError {
    /// It could not be started.
    #[error("model {model}: cannot start it: {message}")]
    Spawn {
        /// The model.
        model: String,
        /// Why.
        message: String,
    },
    /// It exited (or closed its output) instead of answering.
    #[error(
        "model {model}: exited ({status}) without answering batch {batch}; its stderr ends: {stderr}"
    )]
    Exited {
        /// The model.
        model: String,
        /// How it ended.
        status: String,
        /// The batch it did not answer.
        batch: u64,
        /// The end of its stderr.
        stderr: String,
    },
    /// It did not answer in time.
    #[error("model {model}: no answer to batch {batch} within {seconds} s (stopped)")]
    Timeout {
        /// The model.
        model: String,
        /// The batch.
        batch: u64,
        /// The timeout.
        seconds: f64,
    },
    /// It answered something else than the protocol's line.
    #[error("model {model}: bad answer to batch {batch}: {message}; the line was: {line}")]
    Malformed {
        /// The model.
        model: String,
        /// The batch.
        batch: u64,
        /// What is wrong.
        message: String,
        /// The line (shortened).
        line: String,
    },
}

/// A row of a batch: a device's features at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    /// The device.
    pub device_id: &'a str,
    /// When.
    pub at: SimTime,
    /// The features, in the order of `NAMES` (NaN: unknown).
    pub features: &'a [f64],
}

/// A prediction of an outside model.
#[derive(Debug, Clone, PartialEq)]
pub struct OutsidePrediction {
    /// The device.
    pub device_id: String,
    /// The issue, ≤ 256 characters.
    pub issue: String,
    /// Confidence, 0–1.
    pub confidence: f64,
    /// What to do, if the model says.
    pub recommended_action: Option<String>,
}

/// A running outside model.
#[derive(Debug)]
pub struct OutsideModel {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<std::io::Result<String>>,
    stderr: Arc<Mutex<String>>,
    timeout: Duration,
    batch: u64,
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let head: String = s.chars().take(n).collect();
        format!("{head}…")
    }
}

impl OutsideModel {
    /// Starts `command` (through `sh -c`) in the folder `dir`, named
    /// `name` in errors and tables, answering each batch within `timeout`.
    pub fn spawn(
        name: &str,
        command: &str,
        dir: &Path,
        timeout: Duration,
    ) -> Result<OutsideModel, OutsideError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| OutsideError::Spawn {
                model: name.to_owned(),
                message: e.to_string(),
            })?;
        let (stdout, stderr_pipe) = (child.stdout.take(), child.stderr.take());
        let (tx, lines) = channel();
        if let Some(out) = stdout {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = stderr_pipe {
            let keep = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1_024];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut s = keep
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if s.len() > 4 * STDERR_TAIL {
                        let cut = s.len() - STDERR_TAIL;
                        let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                        s.drain(..cut);
                    }
                }
            });
        }
        Ok(OutsideModel {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            timeout,
            batch: 0,
        })
    }

    fn stderr_tail(&self) -> String {
        let s = self
            .stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = s.len().saturating_sub(STDERR_TAIL);
        let start = (start..=s.len())
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s[start..].trim().to_owned()
    }

    fn exited(&mut self, batch: u64) -> OutsideError {
        // Give the process a moment to finish writing and exit.
        std::thread::sleep(Duration::from_millis(50));
        let status = match self.child.try_wait() {
            Ok(Some(s)) => s.to_string(),
            Ok(None) => "closed its output".to_owned(),
            Err(e) => e.to_string(),
        };
        OutsideError::Exited {
            model: self.name.clone(),
            status,
            batch,
            stderr: self.stderr_tail(),
        }
    }

    /// Sends `rows` as one batch; the model's predictions for them.
    pub fn predict(&mut self, rows: &[Row<'_>]) -> Result<Vec<OutsidePrediction>, OutsideError> {
        self.batch += 1;
        let batch = self.batch;
        let rows_json: Vec<Value> = rows
            .iter()
            .map(|r| {
                let features: Map<String, Value> = NAMES
                    .iter()
                    .zip(r.features)
                    .map(|(n, v)| {
                        (
                            (*n).to_owned(),
                            if v.is_finite() { json!(v) } else { Value::Null },
                        )
                    })
                    .collect();
                json!({"device_id": r.device_id, "at": r.at.to_string(), "features": features})
            })
            .collect();
        let mut line = json!({"batch": batch, "rows": rows_json}).to_string();
        line.push('\n');
        let sent = self
            .stdin
            .as_mut()
            .map(|w| w.write_all(line.as_bytes()).and_then(|()| w.flush()));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.exited(batch));
        }
        let answer = match self.lines.recv_timeout(self.timeout) {
            Ok(Ok(line)) => line,
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => return Err(self.exited(batch)),
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                return Err(OutsideError::Timeout {
                    model: self.name.clone(),
                    batch,
                    seconds: self.timeout.as_secs_f64(),
                });
            }
        };
        self.parse(batch, rows, &answer)
    }

    fn parse(
        &self,
        batch: u64,
        rows: &[Row<'_>],
        line: &str,
    ) -> Result<Vec<OutsidePrediction>, OutsideError> {
        let bad = |message: String| OutsideError::Malformed {
            model: self.name.clone(),
            batch,
            message,
            line: shorten(line, 200),
        };
        let v: Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON ({e})")))?;
        if v["batch"].as_u64() != Some(batch) {
            return Err(bad(format!("\"batch\" must be {batch}")));
        }
        let list = v["predictions"]
            .as_array()
            .ok_or_else(|| bad("\"predictions\" must be an array".into()))?;
        let devices: HashSet<&str> = rows.iter().map(|r| r.device_id).collect();
        let mut out = Vec::with_capacity(list.len());
        for (i, p) in list.iter().enumerate() {
            let device_id = p["device_id"]
                .as_str()
                .filter(|d| devices.contains(d))
                .ok_or_else(|| {
                    bad(format!(
                        "predictions[{i}].device_id must be a device of the batch"
                    ))
                })?;
            let issue = p["issue"]
                .as_str()
                .filter(|s| !s.is_empty() && s.chars().count() <= 256)
                .ok_or_else(|| {
                    bad(format!(
                        "predictions[{i}].issue must be text of 1 to 256 characters"
                    ))
                })?;
            let confidence = p["confidence"]
                .as_f64()
                .filter(|c| (0.0..=1.0).contains(c))
                .ok_or_else(|| {
                    bad(format!(
                        "predictions[{i}].confidence must be a number from 0 to 1"
                    ))
                })?;
            let recommended_action = match &p["recommended_action"] {
                Value::Null => None,
                Value::String(a) if !a.is_empty() && a.chars().count() <= 1_024 => Some(a.clone()),
                _ => {
                    return Err(bad(format!(
                        "predictions[{i}].recommended_action must be text of 1 to 1024 characters"
                    )));
                }
            };
            out.push(OutsidePrediction {
                device_id: device_id.to_owned(),
                issue: issue.to_owned(),
                confidence,
                recommended_action,
            });
        }
        Ok(out)
    }
}

impl Drop for OutsideModel {
    fn drop(&mut self) {
        // Closing its input asks it to finish; then it is stopped.
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A run's outside models, fed the feature rows the server queued in each
/// window and answering for them at its end.
#[derive(Debug, Default)]
pub(crate) struct Outsiders {
    /// (the model's index among the run's predictors, the process, what it
    /// cost: rows sent and wall time; its predictions are counted by the
    /// server).
    models: Vec<(usize, OutsideModel, ModelCost)>,
    /// Each device's account and index in it.
    devices: HashMap<Arc<str>, (usize, usize)>,
}

impl Outsiders {
    /// Starts the outside models among the state's predictors (their
    /// table names are `names`), in `dir`; `device_ids` are each
    /// account's devices, by index.
    pub(crate) fn start(
        state: &AppState,
        names: &[Arc<str>],
        dir: &Path,
        timeout: Duration,
        device_ids: &[Vec<Arc<str>>],
    ) -> Result<Outsiders, OutsideError> {
        let mut models = Vec::new();
        for (m, p) in state.predictors().iter().enumerate() {
            if let Some(command) = p.command() {
                let name = names.get(m).map_or(p.name(), |n| &**n);
                models.push((
                    m,
                    OutsideModel::spawn(name, command, dir, timeout)?,
                    ModelCost::default(),
                ));
            }
        }
        let devices = if models.is_empty() {
            HashMap::new()
        } else {
            device_ids
                .iter()
                .enumerate()
                .flat_map(|(a, ids)| {
                    ids.iter()
                        .enumerate()
                        .map(move |(i, id)| (id.clone(), (a, i)))
                })
                .collect()
        };
        Ok(Outsiders { models, devices })
    }

    /// Whether the run has no outside model.
    pub(crate) fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Sends the rows queued since the last step (every account's, in
    /// account order) to each model as one batch, and hands the answers to
    /// the server as predictions made at `now`.
    pub(crate) fn step(
        &mut self,
        state: &AppState,
        device_ids: &[Vec<Arc<str>>],
        now: SimTime,
    ) -> Result<(), OutsideError> {
        if self.models.is_empty() {
            return Ok(());
        }
        let mut queued: Vec<(usize, FeatureRow)> = Vec::new();
        for a in 0..state.account_count() {
            let rows = state.take_feature_rows(a);
            queued.extend(rows.into_iter().map(|r| (a, r)));
        }
        if queued.is_empty() {
            return Ok(());
        }
        let rows: Vec<Row<'_>> = queued
            .iter()
            .filter_map(|(a, r)| {
                Some(Row {
                    device_id: device_ids.get(*a)?.get(r.device as usize)?,
                    at: r.at,
                    features: &r.values,
                })
            })
            .collect();
        for (m, model, cost) in &mut self.models {
            let watch = Stopwatch::start();
            let answers = model.predict(&rows)?;
            cost.nanos += watch.elapsed_ns();
            cost.reports += rows.len() as u64;
            for p in answers {
                let Some(&(a, index)) = self.devices.get(p.device_id.as_str()) else {
                    continue;
                };
                let action = p
                    .recommended_action
                    .map_or(Cow::Borrowed(action_for(p.confidence)), Cow::Owned);
                let prediction = Prediction {
                    issue: Cow::Owned(p.issue),
                    confidence: p.confidence,
                    recommended_action: action,
                };
                state.apply_prediction(a, *m, index, prediction, now);
            }
        }
        Ok(())
    }

    /// Each outside model's index among the run's predictors and what it
    /// cost (rows sent, wall time).
    pub(crate) fn costs(&self) -> impl Iterator<Item = (usize, ModelCost)> + '_ {
        self.models.iter().map(|(m, _, c)| (*m, *c))
    }
}
