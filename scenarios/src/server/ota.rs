//! The operator's side of OTA: publishing the scenario's releases between
//! windows, and which downloads of a defective release come out corrupted.

use api_server::AppState;
use rand::RngExt;
use sim_core::{SimTime, stream};

use crate::schema::ReleaseSpec;

/// OTA publishing by the operator, between windows.
#[derive(Debug)]
pub struct Publisher {
    /// (when, release, published yet).
    releases: Vec<(SimTime, ReleaseSpec, bool)>,
    seed: u64,
    /// Releases published so far.
    pub published: u64,
}

impl Publisher {
    /// A publisher of `releases` (each with its publication time), drawing
    /// images from the run's `seed`.
    pub(crate) fn new(releases: Vec<(SimTime, ReleaseSpec)>, seed: u64) -> Publisher {
        Publisher {
            releases: releases.into_iter().map(|(t, r)| (t, r, false)).collect(),
            seed,
            published: 0,
        }
    }

    /// Whether the scenario has no release to publish.
    pub fn is_empty(&self) -> bool {
        self.releases.is_empty()
    }

    /// Publishes the releases due by `now` (at most once each; one the
    /// server refuses is not retried).
    pub fn publish_due(&mut self, state: &AppState, now: SimTime) {
        for i in 0..self.releases.len() {
            let (at, spec, done) = &self.releases[i];
            if *done || *at > now {
                continue;
            }
            let mut rng = stream(self.seed, i as u64, "ota-image");
            let image: Vec<u8> = (0..spec.image_kib as usize * 1_024)
                .map(|_| rng.random::<u8>())
                .collect();
            let plan = api_server::ota::RolloutPlan {
                batches: spec.batches.clone(),
                advance_success_rate: spec.advance_success_rate,
                halt_failure_rate: spec.halt_failure_rate,
                min_reports: spec.min_reports,
            };
            if state
                .publish_release(&spec.version, image, &spec.notes, plan)
                .is_ok()
            {
                self.published += 1;
            }
            self.releases[i].2 = true;
        }
        debug_assert!(self.published <= self.releases.len() as u64);
    }
}

/// Whether home `home` gets a corrupted image of `version`: a defective
/// release (in `defects`, with the share of installs that fail) corrupts a
/// download with that probability, drawn from the home's own stream.
pub(super) fn corrupts(defects: &[(String, f64)], seed: u64, home: usize, version: &str) -> bool {
    let Some((_, share)) = defects.iter().find(|(v, _)| v == version) else {
        return false;
    };
    let mut rng = stream(seed, home as u64, &format!("ota-defect-{version}"));
    rng.random::<f64>() < *share
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use api_server::ServerConfig;
    use sim_core::{SimDuration, VirtualClock};

    use super::*;

    fn release(version: &str) -> ReleaseSpec {
        let text = format!(
            "name = \"t\"\nstart = \"2026-06-01T00:00:00Z\"\nduration = \"1d\"\n\
             [[ota.releases]]\nversion = \"{version}\"\npublish_at = \"1h\"\nimage_kib = 1\n"
        );
        let s = crate::parse_str(&text, std::path::Path::new(".")).unwrap();
        s.ota.releases[0].clone()
    }

    #[test]
    fn each_release_is_published_once_when_due() {
        let t0 = SimTime::from_secs(1_780_000_000);
        let state = AppState::new(Arc::new(VirtualClock::new(t0)), 1, ServerConfig::default());
        let h = SimDuration::from_hours;
        let mut p = Publisher::new(
            vec![(t0 + h(1), release("9.0.0")), (t0 + h(3), release("9.1.0"))],
            1,
        );
        assert!(!p.is_empty());
        p.publish_due(&state, t0);
        assert_eq!(p.published, 0, "nothing is due yet");
        p.publish_due(&state, t0 + h(1));
        assert_eq!(p.published, 1);
        assert!(state.release("9.0.0").is_some());
        assert!(state.release("9.1.0").is_none());
        // Due again at every later window: published once.
        p.publish_due(&state, t0 + h(2));
        p.publish_due(&state, t0 + h(5));
        assert_eq!(p.published, 2);
        assert!(state.release("9.1.0").is_some());
        assert!(Publisher::new(Vec::new(), 1).is_empty());
    }

    #[test]
    fn a_defective_release_corrupts_its_share_of_downloads_reproducibly() {
        let defects = vec![("9.0.0".to_owned(), 0.3)];
        let hit = (0..2_000)
            .filter(|&h| corrupts(&defects, 7, h, "9.0.0"))
            .count();
        assert!((500..700).contains(&hit), "{hit} of 2,000");
        // The same home, seed and version: the same answer.
        for h in 0..50 {
            assert_eq!(
                corrupts(&defects, 7, h, "9.0.0"),
                corrupts(&defects, 7, h, "9.0.0")
            );
        }
        // A release without a defect corrupts nothing.
        assert!((0..200).all(|h| !corrupts(&defects, 7, h, "9.1.0")));
    }
}
