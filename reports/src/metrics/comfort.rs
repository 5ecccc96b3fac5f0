//! Comfort and energy from the homes table's running totals.
//!
//! Thermal discomfort is BOPTEST's (Blum et al., "Building optimization
//! testing framework (BOPTEST) for simulation-based benchmarking of control
//! strategies", J. Build. Perf. Simul. 14(5), 2021, §3.3): the time
//! integral of the temperature deviation outside the comfort band, K·h per
//! home (the simulator counts occupied hours). Energy is the HVAC's
//! electricity [kWh] priced at the home's account tariff. Compressor cycles
//! per hour and short cycles (restarts within 5 minutes of a stop) come
//! from the equipment model's counters.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Quantiles;

/// The latest totals of one home.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Totals {
    at: i64,
    energy_kwh: f64,
    discomfort_kh: f64,
    starts: u64,
    short_cycles: u64,
}

/// The comfort and energy section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ComfortEnergy {
    /// Comfort band [°C].
    pub band_c: (f64, f64),
    /// K·h outside the band per home.
    pub discomfort_kh_per_home: Quantiles,
    /// Fleet HVAC electricity [kWh].
    pub energy_kwh: f64,
    /// Per home [kWh].
    pub energy_kwh_per_home: Quantiles,
    /// Fleet electricity cost (each home at its account's price).
    pub energy_cost: f64,
    /// Fleet electricity per simulated day [kWh], day 0 first.
    pub energy_kwh_by_day: Vec<f64>,
    /// Compressor starts per hour, per home.
    pub compressor_cycles_per_hour: Quantiles,
    /// Short cycles (restart within 5 min of a stop), fleet total.
    pub short_cycle_violations: u64,
    /// Homes with at least one short cycle.
    pub homes_short_cycling: u64,
}

/// Accumulates [`ComfortEnergy`] from home samples (time order per home).
#[derive(Debug)]
pub struct Comfort {
    start_ms: i64,
    band_c: (f64, f64),
    homes: BTreeMap<u32, Totals>,
    by_day: Vec<f64>,
}

impl Comfort {
    /// An empty tally for a run from `start_ms`.
    pub fn new(start_ms: i64, band_c: (f64, f64)) -> Comfort {
        Comfort {
            start_ms,
            band_c,
            homes: BTreeMap::new(),
            by_day: Vec::new(),
        }
    }

    /// One sample of running totals.
    pub fn sample(
        &mut self,
        home: u32,
        at: i64,
        energy_kwh: f64,
        discomfort_kh: f64,
        starts: u64,
        short_cycles: u64,
    ) {
        let last = self.homes.entry(home).or_default();
        let day = (at - self.start_ms).max(0) / 86_400_000;
        let day = usize::try_from(day).unwrap_or(0);
        if self.by_day.len() <= day {
            self.by_day.resize(day + 1, 0.0);
        }
        self.by_day[day] += energy_kwh - last.energy_kwh;
        *last = Totals {
            at,
            energy_kwh,
            discomfort_kh,
            starts,
            short_cycles,
        };
    }

    /// The section; `price_per_kwh` of each home (absent: 0).
    pub fn finish(self, price_per_kwh: &BTreeMap<u32, f64>) -> ComfortEnergy {
        let hours = |t: &Totals| (t.at - self.start_ms) as f64 / 3_600_000.0;
        let h = self.homes.values();
        ComfortEnergy {
            band_c: self.band_c,
            discomfort_kh_per_home: Quantiles::of(h.clone().map(|t| t.discomfort_kh).collect()),
            energy_kwh: self.homes.values().map(|t| t.energy_kwh).sum(),
            energy_kwh_per_home: Quantiles::of(h.clone().map(|t| t.energy_kwh).collect()),
            energy_cost: self
                .homes
                .iter()
                .map(|(home, t)| t.energy_kwh * price_per_kwh.get(home).copied().unwrap_or(0.0))
                .sum(),
            energy_kwh_by_day: self.by_day,
            compressor_cycles_per_hour: Quantiles::of(
                h.clone()
                    .filter(|t| hours(t) > 0.0)
                    .map(|t| t.starts as f64 / hours(t))
                    .collect(),
            ),
            short_cycle_violations: h.clone().map(|t| t.short_cycles).sum(),
            homes_short_cycling: h.filter(|t| t.short_cycles > 0).count() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn totals_come_from_the_last_sample_and_days_from_the_increments() {
        let mut c = Comfort::new(0, (20.0, 25.0));
        // Home 0: 10 kWh on day 0, 5 more on day 1; 2 K·h; 48 starts in 48 h.
        c.sample(0, 0, 0.0, 0.0, 0, 0);
        c.sample(0, 24 * HOUR - 1, 10.0, 1.0, 24, 0);
        c.sample(0, 48 * HOUR, 15.0, 2.0, 48, 3);
        // Home 1: 4 kWh on day 0; no discomfort.
        c.sample(1, 0, 0.0, 0.0, 0, 0);
        c.sample(1, 12 * HOUR, 4.0, 0.0, 6, 0);
        let prices = BTreeMap::from([(0, 0.2), (1, 0.5)]);
        let r = c.finish(&prices);
        assert_eq!(r.energy_kwh, 19.0);
        assert_eq!(r.energy_kwh_by_day, vec![14.0, 0.0, 5.0]);
        assert!((r.energy_cost - (15.0 * 0.2 + 4.0 * 0.5)).abs() < 1e-12);
        assert_eq!(r.discomfort_kh_per_home.mean, Some(1.0));
        assert_eq!(r.discomfort_kh_per_home.max, Some(2.0));
        assert_eq!(r.compressor_cycles_per_hour.mean, Some(0.75));
        assert_eq!((r.short_cycle_violations, r.homes_short_cycling), (3, 1));
    }
}
