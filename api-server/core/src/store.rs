//! Storage of what devices submit: sensor readings, vibration and energy
//! reports, behind the [`Store`] trait.
//!
//! Each account partition owns one store (made by the state's
//! [`StoreFactory`] when the account is created), used under the account's
//! lock, so stores of different accounts never contend. A store must keep
//! every record it is given — a reading answered 2xx is stored — and keeps a
//! bounded *window* of the most recent records per device in memory for the
//! server's own use (latest values, predictions, energy summaries).
//!
//! The default, [`MemoryStore`], keeps everything in memory up to the
//! retention bound per device (the server's `telemetry_retention`
//! readings, as many vibration and energy reports). Beyond it the oldest
//! record is evicted and counted (`evicted`), so memory stays bounded on long
//! runs. What happened to the records (stored, predicted on, ended) is told
//! by the account's journal ([`crate::journal`]), which the simulator's
//! runner drains into its tables before anything can be evicted.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::records::{EnergyReport, StoredReading, VibrationReport};

/// An account's id on the server (its index, in creation order).
pub type AccountId = usize;

/// Counts of one kind of record for a device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records accepted.
    pub stored: u64,
    /// Records that left the in-memory window (after being stored).
    pub evicted: u64,
}

/// One account's storage (see the module docs).
pub trait Store: Send + std::fmt::Debug {
    /// Appends accepted readings of device `device` (its index in the account).
    fn append_readings(&mut self, device: u32, readings: Vec<StoredReading>);
    /// Appends a vibration report.
    fn append_vibration(&mut self, device: u32, report: VibrationReport);
    /// Appends an energy report.
    fn append_energy(&mut self, device: u32, report: EnergyReport);
    /// The readings in the window, oldest first.
    fn readings(&self, device: u32) -> &VecDeque<StoredReading>;
    /// The vibration reports in the window, oldest first.
    fn vibration(&self, device: u32) -> &VecDeque<VibrationReport>;
    /// The energy reports in the window, oldest first.
    fn energy(&self, device: u32) -> &VecDeque<EnergyReport>;
    /// Reading counts of a device.
    fn reading_counts(&self, device: u32) -> Counts;
}

/// Makes the store of a new account.
pub type StoreFactory = Arc<dyn Fn(AccountId) -> Box<dyn Store> + Send + Sync>;

/// A [`StoreFactory`] of [`MemoryStore`]s keeping `retention` records of each
/// kind per device.
pub fn memory(retention: usize) -> StoreFactory {
    Arc::new(move |_| Box::new(MemoryStore::new(retention)))
}

#[derive(Debug, Default)]
struct DeviceRecords {
    readings: VecDeque<StoredReading>,
    vibration: VecDeque<VibrationReport>,
    energy: VecDeque<EnergyReport>,
    counts: Counts,
}

/// The in-memory store: per device, the last `retention` records of each
/// kind.
#[derive(Debug)]
pub struct MemoryStore {
    retention: usize,
    devices: Vec<DeviceRecords>,
    empty: DeviceRecords,
}

impl MemoryStore {
    /// A store keeping `retention` (at least 1) records of each kind per device.
    pub fn new(retention: usize) -> MemoryStore {
        MemoryStore {
            retention: retention.max(1),
            devices: Vec::new(),
            empty: DeviceRecords::default(),
        }
    }

    fn slot(&mut self, device: u32) -> &mut DeviceRecords {
        let i = device as usize;
        if self.devices.len() <= i {
            self.devices.resize_with(i + 1, DeviceRecords::default);
        }
        &mut self.devices[i]
    }

    fn get(&self, device: u32) -> &DeviceRecords {
        self.devices.get(device as usize).unwrap_or(&self.empty)
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T, retention: usize) -> bool {
    let evict = q.len() >= retention;
    if evict {
        q.pop_front();
    }
    q.push_back(item);
    evict
}

impl Store for MemoryStore {
    fn append_readings(&mut self, device: u32, readings: Vec<StoredReading>) {
        let retention = self.retention;
        let d = self.slot(device);
        for r in readings {
            d.counts.stored += 1;
            if push_bounded(&mut d.readings, r, retention) {
                d.counts.evicted += 1;
            }
        }
    }

    fn append_vibration(&mut self, device: u32, report: VibrationReport) {
        let retention = self.retention;
        push_bounded(&mut self.slot(device).vibration, report, retention);
    }

    fn append_energy(&mut self, device: u32, report: EnergyReport) {
        let retention = self.retention;
        push_bounded(&mut self.slot(device).energy, report, retention);
    }

    fn readings(&self, device: u32) -> &VecDeque<StoredReading> {
        &self.get(device).readings
    }

    fn vibration(&self, device: u32) -> &VecDeque<VibrationReport> {
        &self.get(device).vibration
    }

    fn energy(&self, device: u32) -> &VecDeque<EnergyReport> {
        &self.get(device).energy
    }

    fn reading_counts(&self, device: u32) -> Counts {
        self.get(device).counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::SensorType;
    use sim_core::SimTime;

    fn reading(seq: u64) -> StoredReading {
        StoredReading {
            seq: Some(seq),
            sensor_type: SensorType::Temperature,
            value: 20.0,
            timestamp: SimTime::EPOCH,
            sensor_id: None,
            received_at: SimTime::EPOCH,
        }
    }

    #[test]
    fn keeps_the_newest_records_and_counts_evictions() {
        let mut s = MemoryStore::new(3);
        s.append_readings(2, vec![reading(1), reading(2)]);
        s.append_readings(2, vec![reading(3), reading(4), reading(5)]);
        let seqs: Vec<_> = s.readings(2).iter().filter_map(|r| r.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(
            s.reading_counts(2),
            Counts {
                stored: 5,
                evicted: 2
            }
        );
        // Devices never written read as empty.
        assert!(s.readings(0).is_empty() && s.readings(99).is_empty());
        assert_eq!(s.reading_counts(7), Counts::default());
    }
}
