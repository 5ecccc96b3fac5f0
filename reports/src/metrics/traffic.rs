//! Rate limits and telemetry delivery: requests by endpoint and status,
//! 429s over time by client and tier, the Retry-After distribution, the
//! delay from measurement to storage, and readings dropped or stored twice.
//!
//! Fed row by row ([`Traffic::request`], [`Traffic::reading`],
//! [`Traffic::dropped`]), so any table length fits in memory: per device
//! only a bitset of the sequence numbers seen is kept.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Quantiles, ratio};

/// Requests and 429s of one client in one time bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Bucket {
    /// Bucket start [s since the run's start].
    pub at_s: i64,
    /// Requests.
    pub requests: u64,
    /// Of which 429.
    pub rate_limited: u64,
}

/// One client (an integration, the operations client, the thermostats).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Client {
    /// Rate-limit tier.
    pub tier: String,
    /// Requests.
    pub requests: u64,
    /// Of which 429.
    pub rate_limited: u64,
    /// 429 share.
    pub rate_limited_share: Option<f64>,
    /// Requests and 429s over time (buckets with traffic only).
    pub over_time: Vec<Bucket>,
}

/// Telemetry delivery.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Delivery {
    /// Whether `telemetry.parquet` was written (`outputs.telemetry`).
    pub table: bool,
    /// Rows stored.
    pub stored: u64,
    /// Rows that repeat a reading already stored (a resent batch).
    pub duplicated: u64,
    /// Readings the firmware dropped (buffer full).
    pub dropped: u64,
    /// Unique readings stored / (unique + dropped).
    pub delivery_ratio: Option<f64>,
    /// Measurement to storage [s].
    pub delay_s: Quantiles,
}

/// The rate-limit section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RateLimits {
    /// Requests handled.
    pub requests: u64,
    /// Of which 429.
    pub rate_limited: u64,
    /// 429 share.
    pub rate_limited_share: Option<f64>,
    /// Requests by endpoint (route template) and status.
    pub by_endpoint: BTreeMap<String, BTreeMap<u16, u64>>,
    /// By client name.
    pub by_client: BTreeMap<String, Client>,
    /// Width of the `over_time` buckets [s].
    pub bucket_s: i64,
    /// Retry-After values on 429s [s] → count.
    pub retry_after_s: BTreeMap<u64, u64>,
    /// Quantiles of Retry-After [s].
    pub retry_after_quantiles_s: Quantiles,
    /// Telemetry delivery.
    pub telemetry: Delivery,
}

/// Accumulates [`RateLimits`].
#[derive(Debug)]
pub struct Traffic {
    start_ms: i64,
    bucket_ms: i64,
    out: RateLimits,
    retry: Vec<f64>,
    delays_s: Vec<f64>,
    seen: BTreeMap<String, Seen>,
}

/// The sequence numbers of one device's current boot.
#[derive(Debug, Default)]
struct Seen {
    bits: Vec<u64>,
    newest_ms: i64,
}

impl Seen {
    /// Whether `seq` measured at `at` was stored before. A sequence number
    /// seen before but measured later than anything stored means the device
    /// rebooted and counts again from 0: a new boot, not a duplicate.
    fn repeat(&mut self, seq: u64, at: i64) -> bool {
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let was = self.bits[word] & bit != 0;
        if was && at <= self.newest_ms {
            return true;
        }
        if was {
            self.bits.iter_mut().for_each(|w| *w = 0);
        }
        self.bits[word] |= bit;
        self.newest_ms = self.newest_ms.max(at);
        false
    }
}

impl Traffic {
    /// An empty tally for a run of `duration_ms` from `start_ms`: 429s
    /// over time in buckets of an hour, or of a day past 14 days.
    pub fn new(start_ms: i64, duration_ms: i64) -> Traffic {
        let bucket_ms = if duration_ms > 14 * 86_400_000 {
            86_400_000
        } else {
            3_600_000
        };
        Traffic {
            start_ms,
            bucket_ms,
            out: RateLimits {
                bucket_s: bucket_ms / 1_000,
                ..RateLimits::default()
            },
            retry: Vec::new(),
            delays_s: Vec::new(),
            seen: BTreeMap::new(),
        }
    }

    /// One handled request.
    pub fn request(
        &mut self,
        arrival_ms: i64,
        client: &str,
        tier: &str,
        endpoint: &str,
        status: u16,
        retry_after_s: Option<u64>,
    ) {
        let limited = status == 429;
        self.out.requests += 1;
        self.out.rate_limited += u64::from(limited);
        match self.out.by_endpoint.get_mut(endpoint) {
            Some(m) => *m.entry(status).or_default() += 1,
            None => {
                self.out
                    .by_endpoint
                    .insert(endpoint.to_owned(), BTreeMap::from([(status, 1)]));
            }
        }
        if !self.out.by_client.contains_key(client) {
            self.out.by_client.insert(
                client.to_owned(),
                Client {
                    tier: tier.to_owned(),
                    ..Client::default()
                },
            );
        }
        let c = self.out.by_client.get_mut(client).expect("inserted above");
        c.requests += 1;
        c.rate_limited += u64::from(limited);
        let at_s = (arrival_ms - self.start_ms).div_euclid(self.bucket_ms) * self.bucket_ms / 1_000;
        match c.over_time.last_mut() {
            Some(b) if b.at_s == at_s => {
                b.requests += 1;
                b.rate_limited += u64::from(limited);
            }
            _ => {
                // Rows come in time order; a late one joins its bucket.
                match c.over_time.binary_search_by_key(&at_s, |b| b.at_s) {
                    Ok(i) => {
                        c.over_time[i].requests += 1;
                        c.over_time[i].rate_limited += u64::from(limited);
                    }
                    Err(i) => c.over_time.insert(
                        i,
                        Bucket {
                            at_s,
                            requests: 1,
                            rate_limited: u64::from(limited),
                        },
                    ),
                }
            }
        }
        if limited && let Some(s) = retry_after_s {
            *self.out.retry_after_s.entry(s).or_default() += 1;
            self.retry.push(s as f64);
        }
    }

    /// One stored reading.
    pub fn reading(&mut self, device: &str, seq: Option<u64>, measured_ms: i64, received_ms: i64) {
        let d = &mut self.out.telemetry;
        d.table = true;
        d.stored += 1;
        self.delays_s
            .push((received_ms - measured_ms) as f64 / 1_000.0);
        if let Some(seq) = seq {
            let seen = match self.seen.get_mut(device) {
                Some(s) => s,
                None => self.seen.entry(device.to_owned()).or_default(),
            };
            if seen.repeat(seq, measured_ms) {
                d.duplicated += 1;
            }
        }
    }

    /// Readings the firmware dropped.
    pub fn dropped(&mut self, n: u64) {
        self.out.telemetry.dropped += n;
    }

    /// The section.
    pub fn finish(mut self) -> RateLimits {
        let mut out = self.out;
        out.rate_limited_share = ratio(out.rate_limited, out.requests);
        for c in out.by_client.values_mut() {
            c.rate_limited_share = ratio(c.rate_limited, c.requests);
        }
        out.retry_after_quantiles_s = super::Quantiles::of(std::mem::take(&mut self.retry));
        let d = &mut out.telemetry;
        let unique = d.stored - d.duplicated;
        d.delivery_ratio = ratio(unique, unique + d.dropped);
        d.delay_s = super::Quantiles::of(self.delays_s);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_429s_and_retry_after_are_tallied_by_client_and_hour() {
        let mut t = Traffic::new(0, 86_400_000);
        for i in 0..10 {
            let status = if i < 4 { 429 } else { 200 };
            t.request(
                i * 600_000,
                "poller",
                "standard",
                "/v1/thermostat/{id}/status",
                status,
                Some(30 + i as u64 % 2),
            );
        }
        t.request(5_000, "thermostat", "device", "/v1/telemetry", 200, None);
        let r = t.finish();
        assert_eq!((r.requests, r.rate_limited), (11, 4));
        assert_eq!(r.by_endpoint["/v1/thermostat/{id}/status"][&429], 4);
        let poller = &r.by_client["poller"];
        assert_eq!(poller.tier, "standard");
        assert_eq!(poller.rate_limited_share, Some(0.4));
        // Six requests in the first hour (4 limited), four in the second.
        assert_eq!(
            poller.over_time,
            vec![
                Bucket {
                    at_s: 0,
                    requests: 6,
                    rate_limited: 4
                },
                Bucket {
                    at_s: 3_600,
                    requests: 4,
                    rate_limited: 0
                },
            ]
        );
        assert_eq!(r.retry_after_s, BTreeMap::from([(30, 2), (31, 2)]));
        assert_eq!(r.retry_after_quantiles_s.median, Some(30.5));
    }

    #[test]
    fn a_resent_batch_is_a_duplicate_and_a_reboot_is_not() {
        let mut t = Traffic::new(0, 86_400_000);
        for seq in 0..3 {
            t.reading(
                "d1",
                Some(seq),
                seq as i64 * 60_000,
                seq as i64 * 60_000 + 2_000,
            );
        }
        // Seq 1 and 2 again, same measurement times: a resend.
        t.reading("d1", Some(1), 60_000, 300_000);
        t.reading("d1", Some(2), 120_000, 300_000);
        // After a reboot the device counts from 0 again, later.
        t.reading("d1", Some(0), 600_000, 602_000);
        t.reading("d2", Some(0), 0, 1_000);
        t.dropped(2);
        let d = t.finish().telemetry;
        assert_eq!((d.stored, d.duplicated, d.dropped), (7, 2, 2));
        // 5 unique of 7 produced.
        assert_eq!(d.delivery_ratio, Some(5.0 / 7.0));
        assert_eq!(d.delay_s.max, Some(240.0));
    }
}
