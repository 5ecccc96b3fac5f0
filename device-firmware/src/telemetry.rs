//! Store-and-forward telemetry: readings wait in a bounded FIFO until the
//! server has acknowledged them.
//!
//! Capacity is fixed (default 10,000 readings: three and a half days of two
//! sensors at the shortest 60 s interval); the buffer lives in flash, so it
//! survives reboots. A reading is dropped only when the buffer is full — the newest
//! is refused and counted — so an outage shorter than the capacity loses
//! nothing. Every reading carries a per-device sequence number, so the
//! testbed can tell a lost reading from a duplicate (a batch resent after a
//! lost acknowledgement).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::time::Instant;

/// The seed's sensor types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SensorType {
    /// Air temperature [°C].
    Temperature,
    /// Relative humidity [%].
    Humidity,
    /// Pressure [hPa].
    Pressure,
    /// Mains power present (0/1).
    PowerAvailability,
    /// Battery level [%].
    BatteryLevel,
    /// Radio signal strength [dBm].
    SignalStrength,
    /// Indoor air quality index.
    Iaq,
}

impl SensorType {
    /// Parses the API name (`"temperature"`, …).
    pub fn parse(s: &str) -> Option<SensorType> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// One reading waiting to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The device's sequence number (extension field `seq`).
    pub seq: u64,
    /// What was measured.
    pub sensor_type: SensorType,
    /// The value, in the sensor type's unit.
    pub value: f64,
    /// When it was measured.
    pub timestamp: Instant,
    /// For a hub: the Zigbee sensor it came from (extension field
    /// `sensor_id`); `None` for the device's own sensors.
    pub sensor_id: Option<String>,
}

/// A reading as the telemetry endpoint's JSON (keys in sorted order, as a
/// JSON map writes them; `sensor_id` only for a hub's Zigbee sensors).
#[derive(Serialize)]
struct ReadingOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sensor_id: Option<&'a str>,
    sensor_type: SensorType,
    seq: u64,
    timestamp: String,
    value: f64,
}

/// `POST /v1/telemetry`'s body.
#[derive(Serialize)]
struct BatchOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    longitude: Option<f64>,
    readings: Vec<ReadingOut<'a>>,
}

/// The telemetry request body of `batch`, with the device's position when
/// known: the bytes of the JSON map `{"readings": […], "latitude",
/// "longitude"}` without building the JSON tree.
pub fn batch_json(batch: &[Reading], location: Option<(f64, f64)>) -> Vec<u8> {
    let body = BatchOut {
        latitude: location.map(|l| l.0),
        longitude: location.map(|l| l.1),
        readings: batch
            .iter()
            .map(|r| ReadingOut {
                sensor_id: r.sensor_id.as_deref(),
                sensor_type: r.sensor_type,
                seq: r.seq,
                timestamp: r.timestamp.to_rfc3339(),
                value: r.value,
            })
            .collect(),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The bounded store-and-forward buffer.
#[derive(Debug, Clone)]
pub struct TelemetryBuffer {
    capacity: usize,
    readings: VecDeque<Reading>,
    next_seq: u64,
    dropped: u64,
    in_flight: usize,
}

impl TelemetryBuffer {
    /// An empty buffer holding at most `capacity` readings (at least 1).
    pub fn new(capacity: usize) -> TelemetryBuffer {
        TelemetryBuffer {
            capacity: capacity.max(1),
            readings: VecDeque::new(),
            next_seq: 0,
            dropped: 0,
            in_flight: 0,
        }
    }

    /// Adds a reading; `false` (and counted) if the buffer is full.
    pub fn push(
        &mut self,
        sensor_type: SensorType,
        value: f64,
        timestamp: Instant,
        sensor_id: Option<String>,
    ) -> bool {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.readings.len() >= self.capacity {
            self.dropped += 1;
            return false;
        }
        self.readings.push_back(Reading {
            seq,
            sensor_type,
            value,
            timestamp,
            sensor_id,
        });
        debug_assert!(
            self.readings.len() <= self.capacity,
            "the buffer is bounded"
        );
        true
    }

    /// Readings waiting (including any in flight).
    pub fn len(&self) -> usize {
        self.readings.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty()
    }

    /// Readings refused because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sequence numbers handed out so far.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Marks the oldest `max` readings (1–100) as in flight and returns them.
    pub fn take_batch(&mut self, max: usize) -> Vec<Reading> {
        let n = self.readings.len().min(max.clamp(1, 100));
        self.in_flight = n;
        self.readings.iter().take(n).cloned().collect()
    }

    /// The server stored the batch in flight: forget it.
    pub fn ack(&mut self) {
        let n = self.in_flight.min(self.readings.len());
        self.readings.drain(..n);
        self.in_flight = 0;
    }

    /// The batch in flight was not stored: it stays, to be sent again.
    pub fn nack(&mut self) {
        self.in_flight = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn readings_serialise_as_the_seed_shows_them() {
        let mut b = TelemetryBuffer::new(10);
        let t = Instant::parse_rfc3339("2026-03-29T12:00:00Z").unwrap();
        b.push(SensorType::Temperature, 23.5, t, None);
        b.push(SensorType::Humidity, 45.2, t, Some("zb-1".into()));
        let batch = b.take_batch(100);
        let seed_shape = [
            serde_json::json!({"sensor_type": "temperature", "value": 23.5, "timestamp": "2026-03-29T12:00:00Z", "seq": 0}),
            serde_json::json!({"sensor_type": "humidity", "value": 45.2, "timestamp": "2026-03-29T12:00:00Z", "seq": 1, "sensor_id": "zb-1"}),
        ];
        let sent: serde_json::Value = serde_json::from_slice(&batch_json(&batch, None)).unwrap();
        assert_eq!(sent["readings"][0], seed_shape[0]);
        assert_eq!(sent["readings"][1]["sensor_id"], "zb-1");
        // The batch body is the bytes of the JSON map, with and without a
        // position.
        assert_eq!(
            batch_json(&batch, None),
            serde_json::to_vec(&serde_json::json!({ "readings": seed_shape })).unwrap()
        );
        assert_eq!(
            batch_json(&batch, Some((37.77, -122.42))),
            serde_json::to_vec(&serde_json::json!({
                "readings": seed_shape,
                "latitude": 37.77,
                "longitude": -122.42,
            }))
            .unwrap()
        );
        assert_eq!(
            SensorType::parse("battery_level"),
            Some(SensorType::BatteryLevel)
        );
        assert_eq!(SensorType::parse("lux"), None);
    }

    #[test]
    fn full_buffers_refuse_and_count() {
        let mut b = TelemetryBuffer::new(3);
        for i in 0..5 {
            b.push(
                SensorType::Temperature,
                f64::from(i),
                Instant(i64::from(i)),
                None,
            );
        }
        assert_eq!((b.len(), b.dropped(), b.next_seq()), (3, 2, 5));
        let batch = b.take_batch(2);
        assert_eq!(batch.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1]);
        b.nack();
        assert_eq!(b.len(), 3);
        b.take_batch(2);
        b.ack();
        assert_eq!(
            b.take_batch(100).iter().map(|r| r.seq).collect::<Vec<_>>(),
            [2]
        );
    }

    proptest! {
        /// While the buffer has room no reading is lost: every pushed reading
        /// is acknowledged exactly once, in order, whatever the failures.
        #[test]
        fn no_reading_is_lost_while_there_is_room(ops in prop::collection::vec(0u8..4, 1..500)) {
            let mut b = TelemetryBuffer::new(1_000);
            let mut delivered = Vec::new();
            let mut batch = Vec::new();
            for op in ops {
                match op {
                    0 | 1 => { b.push(SensorType::Temperature, 1.0, Instant(0), None); }
                    2 => { if batch.is_empty() && !b.is_empty() { batch = b.take_batch(7); } }
                    _ => {
                        if !batch.is_empty() {
                            if delivered.len() % 3 == 0 { b.nack(); } else { b.ack(); delivered.extend(batch.iter().map(|r: &Reading| r.seq)); }
                            batch.clear();
                        }
                    }
                }
            }
            prop_assert_eq!(b.dropped(), 0);
            // What is still buffered follows on from what was delivered.
            let next = b.take_batch(100).first().map(|r| r.seq);
            prop_assert_eq!(next.unwrap_or(b.next_seq()), delivered.len() as u64);
            // Delivered readings are a gapless prefix.
            prop_assert!(delivered.windows(2).all(|w| w[1] == w[0] + 1));
            prop_assert_eq!(delivered.first().copied().unwrap_or(0), 0);
        }
    }
}
