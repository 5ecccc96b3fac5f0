//! The network between homes and the server: one-way latency is a minimum
//! plus a log-normal excess fitted to the scenario's median and 99th
//! percentile (heavy-tailed, as measured Internet latencies are; e.g.
//! Hernández-Campos et al., and the log-normal fits common in network
//! simulation), and a request may be lost.

use rand::RngExt;
use rand_distr::{Distribution, LogNormal};
use sim_core::{SimDuration, SimRng};

/// The 99th percentile of the standard normal.
const Z99: f64 = 2.326_347_874;

/// Latency and loss.
#[derive(Debug, Clone, Copy)]
pub struct Network {
    min_ms: f64,
    excess: Option<LogNormal<f64>>,
    loss: f64,
}

impl Network {
    /// From the scenario's `[network]` (validated: min ≤ median ≤ p99).
    pub fn new(min_ms: u64, median_ms: u64, p99_ms: u64, loss: f64) -> Network {
        let median_excess = median_ms.saturating_sub(min_ms) as f64;
        let p99_excess = p99_ms.saturating_sub(min_ms) as f64;
        let excess = (median_excess > 0.0 && p99_excess > median_excess)
            .then(|| {
                let mu = median_excess.ln();
                let sigma = (p99_excess.ln() - mu) / Z99;
                LogNormal::new(mu, sigma).ok()
            })
            .flatten();
        Network {
            min_ms: min_ms as f64,
            excess,
            loss,
        }
    }

    /// The shortest one-way latency: the simulation's lookahead.
    pub fn min_latency(&self) -> SimDuration {
        SimDuration::from_millis(self.min_ms as u64)
    }

    fn one_way(&self, rng: &mut SimRng) -> SimDuration {
        let extra = self.excess.map_or(0.0, |d| d.sample(rng)).min(60_000.0);
        SimDuration::from_millis((self.min_ms + extra).round() as u64)
    }

    /// (up, down, lost) for one request; always three draws, so a home's
    /// stream use does not depend on the outcome.
    pub fn draw(&self, rng: &mut SimRng) -> (SimDuration, SimDuration, bool) {
        let up = self.one_way(rng);
        let down = self.one_way(rng);
        let lost = rng.random::<f64>() < self.loss;
        (up, down, lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_follow_the_minimum_median_and_tail() {
        let n = Network::new(20, 60, 400, 0.0);
        let mut rng = sim_core::stream(1, 0, "net");
        let mut v: Vec<u64> = (0..20_000)
            .map(|_| n.draw(&mut rng).0.as_millis())
            .collect();
        v.sort_unstable();
        assert!(v[0] >= 20);
        let median = v[v.len() / 2] as f64;
        let p99 = v[v.len() * 99 / 100] as f64;
        assert!((median - 60.0).abs() < 3.0, "{median}");
        assert!((p99 - 400.0).abs() < 40.0, "{p99}");
        // A fixed latency when median = minimum.
        let fixed = Network::new(50, 50, 50, 0.0);
        assert_eq!(fixed.draw(&mut rng).0, SimDuration::from_millis(50));
        let lossy = Network::new(10, 20, 100, 0.25);
        let lost = (0..10_000).filter(|_| lossy.draw(&mut rng).2).count();
        assert!((lost as f64 / 10_000.0 - 0.25).abs() < 0.02);
    }
}
