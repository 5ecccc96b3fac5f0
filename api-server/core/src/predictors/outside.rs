//! Outside models (`cmd:COMMAND`): predictors that run outside the server,
//! as a subprocess of the runner (`scenarios::outside`).
//!
//! The server's side is small: the device models make no predictions of
//! their own; instead the server keeps each device's engineered features
//! ([`super::features`]) and queues a row of them hourly — the same rows the
//! labelled dataset holds — for the runner to send in batches between
//! windows (`api_server::predictive::Models::take_rows`). The answers come back
//! through `api_server::predictive::apply`, which records them and, for the
//! primary, raises alerts by the same rule as the built-in models.

use super::{DeviceModel, Prediction, Predictor, Sample};

/// The predictor of an outside model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outside {
    name: String,
    command: String,
}

impl Outside {
    /// The outside model run by `command` (through `sh -c`), named `name`.
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> Outside {
        Outside {
            name: name.into(),
            command: command.into(),
        }
    }
}

impl Predictor for Outside {
    fn name(&self) -> &str {
        &self.name
    }

    fn device_model(&self) -> Box<dyn DeviceModel> {
        Box::new(Silent)
    }

    fn command(&self) -> Option<&str> {
        Some(&self.command)
    }
}

/// A device model that predicts nothing itself (an outside model answers
/// for it).
#[derive(Debug, Clone, Copy)]
struct Silent;

impl DeviceModel for Silent {
    fn observe(&mut self, _: Sample<'_>, _: &mut Vec<Prediction>) {}
}
