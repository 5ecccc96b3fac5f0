//! Operations: OTA outcomes per rollout batch, command latency, webhook
//! deliveries.
//!
//! A device's OTA outcome belongs to the first batch whose cumulative fleet
//! share (the server's `batch_opened` row, [%]) is above the device's
//! rollout percentile (`fleet.rollout_percentile`) — the server's own
//! rule; a device without a percentile falls in the batch open when it
//! first moved.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Quantiles, ratio};

/// One rollout batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Batch {
    /// Opened at [s since the run's start].
    pub opened_at_s: i64,
    /// Cumulative fleet share [%] (`None` if the row did not say).
    pub share_pct: Option<f64>,
    /// Devices that completed the update.
    pub completed: u64,
    /// Devices whose update failed.
    pub failed: u64,
}

/// One release.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Release {
    /// Published at [s since the run's start].
    pub published_at_s: Option<i64>,
    /// Halted at [s since the run's start].
    pub halted_at_s: Option<i64>,
    /// Batches in order (devices that moved before any batch opened are
    /// in the first).
    pub batches: Vec<Batch>,
    /// Completed updates.
    pub completed: u64,
    /// Failed updates.
    pub failed: u64,
    /// completed / (completed + failed).
    pub success_rate: Option<f64>,
}

/// Command outcomes and latency.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Commands {
    /// Commands by final status.
    pub by_status: BTreeMap<String, u64>,
    /// Queued → first fetched by the device [s].
    pub delivery_s: Quantiles,
    /// Queued → result [s].
    pub completion_s: Quantiles,
}

/// Webhook deliveries the receiver got.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Webhooks {
    /// Deliveries received.
    pub received: u64,
    /// With a valid signature.
    pub verified: u64,
    /// Of which retries (attempt > 1).
    pub retries: u64,
    /// By event type.
    pub by_event: BTreeMap<String, u64>,
}

/// The operations section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Operations {
    /// OTA releases by version.
    pub ota: BTreeMap<String, Release>,
    /// OTA success over every release: completed / (completed + failed).
    pub ota_success_rate: Option<f64>,
    /// Commands.
    pub commands: Commands,
    /// Webhooks.
    pub webhooks: Webhooks,
}

/// Accumulates [`Operations`].
#[derive(Debug, Default)]
pub struct Ops {
    start_ms: i64,
    out: Operations,
    /// Per version: batch open times [ms] and per device its first move
    /// [ms] and outcome.
    opened: BTreeMap<String, Vec<i64>>,
    devices: BTreeMap<(String, i64), (i64, Option<bool>)>,
    percentile: BTreeMap<i64, f64>,
    delivery: Vec<f64>,
    completion: Vec<f64>,
}

impl Ops {
    /// An empty tally for a run from `start_ms`.
    pub fn new(start_ms: i64) -> Ops {
        Ops {
            start_ms,
            ..Ops::default()
        }
    }

    /// Each home's rollout percentile.
    pub fn with_percentiles(mut self, percentile: BTreeMap<i64, f64>) -> Ops {
        self.percentile = percentile;
        self
    }

    fn rel_s(&self, at: i64) -> i64 {
        (at - self.start_ms) / 1_000
    }

    /// One `ota_events` row.
    pub fn ota(
        &mut self,
        at: i64,
        source: &str,
        home: Option<i64>,
        version: &str,
        event: &str,
        detail: Option<&str>,
    ) {
        let rel = self.rel_s(at);
        let r = self.out.ota.entry(version.to_owned()).or_default();
        match (source, home) {
            ("server", _) => match event {
                "published" => r.published_at_s = Some(rel),
                "halted" => r.halted_at_s = Some(rel),
                "batch_opened" => {
                    r.batches.push(Batch {
                        opened_at_s: rel,
                        share_pct: detail.and_then(|d| d.trim().parse().ok()),
                        ..Batch::default()
                    });
                    self.opened.entry(version.to_owned()).or_default().push(at);
                }
                _ => {}
            },
            (_, Some(home)) => {
                let d = self
                    .devices
                    .entry((version.to_owned(), home))
                    .or_insert((at, None));
                match event {
                    "completed" => d.1 = Some(true),
                    "failed" => d.1 = Some(false),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// One `commands` row.
    pub fn command(
        &mut self,
        created: i64,
        status: &str,
        delivered: Option<i64>,
        finished: Option<i64>,
    ) {
        *self
            .out
            .commands
            .by_status
            .entry(status.to_owned())
            .or_default() += 1;
        if let Some(d) = delivered {
            self.delivery.push((d - created) as f64 / 1_000.0);
        }
        if let Some(f) = finished.filter(|_| matches!(status, "acked" | "failed")) {
            self.completion.push((f - created) as f64 / 1_000.0);
        }
    }

    /// One `webhooks` row.
    pub fn webhook(&mut self, event: &str, verified: bool, attempt: u32) {
        let w = &mut self.out.webhooks;
        w.received += 1;
        w.verified += u64::from(verified);
        w.retries += u64::from(attempt > 1);
        *w.by_event.entry(event.to_owned()).or_default() += 1;
    }

    /// The section.
    pub fn finish(mut self) -> Operations {
        for ((version, home), (first, outcome)) in &self.devices {
            let Some(ok) = outcome else { continue };
            let r = self.out.ota.entry(version.clone()).or_default();
            let opened = self.opened.get(version).map_or(&[][..], Vec::as_slice);
            if r.batches.is_empty() {
                r.batches.push(Batch::default());
            }
            let by_time = opened
                .iter()
                .filter(|&&t| t <= *first)
                .count()
                .saturating_sub(1);
            let i = self
                .percentile
                .get(home)
                .and_then(|p| {
                    r.batches
                        .iter()
                        .position(|b| b.share_pct.is_some_and(|s| *p < s))
                })
                .unwrap_or(by_time);
            let last = r.batches.len() - 1;
            let b = &mut r.batches[i.min(last)];
            if *ok {
                b.completed += 1;
                r.completed += 1;
            } else {
                b.failed += 1;
                r.failed += 1;
            }
        }
        let (mut done, mut failed) = (0, 0);
        for r in self.out.ota.values_mut() {
            r.success_rate = ratio(r.completed, r.completed + r.failed);
            done += r.completed;
            failed += r.failed;
        }
        self.out.ota_success_rate = ratio(done, done + failed);
        self.out.commands.delivery_s = Quantiles::of(self.delivery);
        self.out.commands.completion_s = Quantiles::of(self.completion);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_percentiles_ota_outcomes_fall_into_the_batch_open_when_the_device_moved() {
        let mut o = Ops::new(0);
        o.ota(0, "server", None, "2.0", "published", None);
        o.ota(1_000, "server", None, "2.0", "batch_opened", Some("10"));
        o.ota(2_000, "device", Some(0), "2.0", "downloading", None);
        o.ota(9_000, "device", Some(0), "2.0", "completed", None);
        o.ota(5_000, "server", None, "2.0", "batch_opened", Some("50"));
        o.ota(6_000, "device", Some(1), "2.0", "downloading", None);
        o.ota(7_000, "device", Some(1), "2.0", "failed", None);
        o.ota(8_000, "device", Some(2), "2.0", "completed", None);
        o.ota(10_000, "server", None, "2.0", "halted", None);
        let r = o.finish();
        let rel = &r.ota["2.0"];
        assert_eq!((rel.published_at_s, rel.halted_at_s), (Some(0), Some(10)));
        assert_eq!(rel.batches.len(), 2);
        assert_eq!((rel.batches[0].completed, rel.batches[0].failed), (1, 0));
        assert_eq!((rel.batches[1].completed, rel.batches[1].failed), (1, 1));
        assert_eq!(rel.batches[1].share_pct, Some(50.0));
        assert_eq!(r.ota_success_rate, Some(2.0 / 3.0));
    }

    #[test]
    fn with_percentiles_a_device_belongs_to_its_batch_however_late_it_moves() {
        // Batches open a minute apart; every device checks an hour later.
        let mut o = Ops::new(0).with_percentiles(BTreeMap::from([(0, 5.0), (1, 30.0), (2, 80.0)]));
        o.ota(0, "server", None, "2.0", "batch_opened", Some("10"));
        o.ota(60_000, "server", None, "2.0", "batch_opened", Some("50"));
        o.ota(120_000, "server", None, "2.0", "batch_opened", Some("100"));
        for home in 0..3 {
            o.ota(3_600_000, "device", Some(home), "2.0", "completed", None);
        }
        let r = o.finish();
        let done: Vec<u64> = r.ota["2.0"].batches.iter().map(|b| b.completed).collect();
        assert_eq!(done, [1, 1, 1]);
    }

    #[test]
    fn command_latency_counts_only_answered_commands_for_completion() {
        let mut o = Ops::new(0);
        o.command(0, "acked", Some(10_000), Some(12_000));
        o.command(0, "expired", None, Some(86_400_000));
        o.command(0, "failed", Some(30_000), Some(40_000));
        o.webhook("predictive.alert_created", true, 1);
        o.webhook("predictive.alert_created", false, 2);
        let r = o.finish();
        assert_eq!(r.commands.by_status["acked"], 1);
        assert_eq!(r.commands.delivery_s.median, Some(20.0));
        assert_eq!(r.commands.completion_s.max, Some(40.0));
        assert_eq!(r.commands.completion_s.count, 2);
        assert_eq!((r.webhooks.received, r.webhooks.verified), (2, 1));
        assert_eq!(r.webhooks.retries, 1);
    }
}
