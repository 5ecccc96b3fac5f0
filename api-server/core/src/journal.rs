//! Each account's journal: the domain events the server's callers read, in
//! the order they happened, in bounded memory.
//!
//! The simulator's runner writes its tables from it (readings stored,
//! predictions made, features computed, commands ended) instead of hooking
//! into the store or locking the account: between two exchanges it drains
//! every account's journal (`AppState::drain_journal` in api-server). A
//! journal records only what its [`JournalConfig`] asks for (nothing by
//! default: `serve` keeps none) and at most `capacity` events; past that the
//! oldest is dropped and counted ([`Journal::lost`]), so a caller that
//! stops draining costs bounded memory and can tell that it lost events.

use std::collections::VecDeque;

use sim_core::SimTime;

use crate::commands::Command;
use crate::predictors::Prediction;
use crate::records::StoredReading;

/// What a journal keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalConfig {
    /// Most events kept between two drains (at least 1).
    pub capacity: usize,
    /// Keep the readings stored (the largest share by far).
    pub readings: bool,
}

/// One thing that happened in an account; `device` is the device's index in
/// the account.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A reading was accepted and stored.
    ReadingStored {
        /// Device.
        device: u32,
        /// The reading.
        reading: StoredReading,
    },
    /// Predictor `model` (0 the primary, then the shadows) made a
    /// prediction.
    PredictionMade {
        /// Device.
        device: u32,
        /// When.
        at: SimTime,
        /// The server's predictor index.
        model: u16,
        /// The prediction.
        prediction: Prediction,
    },
    /// A device's engineered features were computed (at most hourly, when
    /// the server is asked to record them), in the order of
    /// [`crate::predictors::features::NAMES`].
    FeaturesComputed {
        /// Device.
        device: u32,
        /// When.
        at: SimTime,
        /// The values (NaN: not known yet).
        values: Vec<f64>,
    },
    /// A command reached its end: a result from the device, or expiry
    /// unanswered (`result` is `None`).
    CommandEnded {
        /// Device.
        device: u32,
        /// The command as it ended.
        command: Command,
    },
}

/// An account's journal (see the module docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Journal {
    config: Option<JournalConfig>,
    events: VecDeque<Event>,
    lost: u64,
}

impl Journal {
    /// A journal keeping what `config` asks for; `None` keeps nothing.
    pub fn new(config: Option<JournalConfig>) -> Journal {
        Journal {
            config: config.map(|c| JournalConfig {
                capacity: c.capacity.max(1),
                ..c
            }),
            events: VecDeque::new(),
            lost: 0,
        }
    }

    /// Whether readings are kept (callers skip cloning them otherwise).
    pub fn wants_readings(&self) -> bool {
        self.config.is_some_and(|c| c.readings)
    }

    /// Whether anything is kept.
    pub fn is_on(&self) -> bool {
        self.config.is_some()
    }

    /// Records `event` (a reading only if readings are kept).
    pub fn push(&mut self, event: Event) {
        let Some(config) = self.config else {
            return;
        };
        if matches!(event, Event::ReadingStored { .. }) && !config.readings {
            return;
        }
        if self.events.len() == config.capacity {
            self.events.pop_front();
            self.lost += 1;
        }
        self.events.push_back(event);
        debug_assert!(self.events.len() <= config.capacity);
    }

    /// The events since the last drain, oldest first.
    pub fn drain(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.events.drain(..)
    }

    /// Events dropped because the journal was full.
    pub fn lost(&self) -> u64 {
        self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(device: u32) -> Event {
        Event::FeaturesComputed {
            device,
            at: SimTime::EPOCH,
            values: vec![1.0],
        }
    }

    fn reading() -> Event {
        Event::ReadingStored {
            device: 0,
            reading: StoredReading {
                seq: None,
                sensor_type: crate::records::SensorType::Temperature,
                value: 21.0,
                timestamp: SimTime::EPOCH,
                sensor_id: None,
                received_at: SimTime::EPOCH,
            },
        }
    }

    #[test]
    fn keeps_what_it_is_asked_in_order_and_counts_what_it_drops() {
        let mut off = Journal::default();
        off.push(ended(1));
        assert!(!off.is_on());
        assert_eq!(off.drain().count(), 0);

        let mut j = Journal::new(Some(JournalConfig {
            capacity: 3,
            readings: false,
        }));
        j.push(reading());
        assert!(!j.wants_readings());
        for d in 0..5 {
            j.push(ended(d));
        }
        // Capacity 3: devices 0 and 1 were dropped, the rest in order.
        assert_eq!(j.lost(), 2);
        let kept: Vec<Event> = j.drain().collect();
        assert_eq!(kept, vec![ended(2), ended(3), ended(4)]);
        assert_eq!(j.drain().count(), 0);

        let mut with_readings = Journal::new(Some(JournalConfig {
            capacity: 0,
            readings: true,
        }));
        with_readings.push(reading());
        with_readings.push(reading());
        // A capacity of 0 is taken as 1.
        assert_eq!(with_readings.lost(), 1);
        assert_eq!(with_readings.drain().count(), 1);
    }
}
