//! The fleet against field numbers: how often compressors cycle.

use sim_core::SimDuration;
use sim_core::exec::{Entity, Outbox};

#[test]
fn heat_pumps_cycle_two_to_four_times_an_hour_at_mid_load() {
    // Thermostats for compressors are designed for about 3 cycles per hour
    // at 50 % load (the cycle rate setting of residential thermostats for
    // heat pumps and air conditioners, against 5 for gas furnaces and 9 for
    // electric heat), and field data show ≈ 2–4 an hour. A mild winter week
    // of 12 heat pumps, each hour with a runtime fraction of 30–70 %: the
    // median count of starts per hour lies in 2–4.
    let text = r#"
name = "cycling"
seed = 8
start = "2026-02-01T00:00:00Z"
duration = "7d"
[fleet]
homes = 12
equipment = { heat_pump = 1.0 }
[climate]
annual_mean_c = 6.0
seasonal_amplitude_c = 0.0
[faults.bearing]
incidence = 0.0
[faults.leak]
incidence = 0.0
[faults.capacitor]
incidence = 0.0
"#;
    let s = scenarios::parse_str(text, std::path::Path::new(".")).unwrap();
    let mut homes = scenarios::run::standalone_homes(&s).unwrap();
    let start = s.start.0;
    let mut out = Outbox::new();
    let mut rates = Vec::new();
    for home in &mut homes {
        // Warm up a day, then hour by hour.
        home.advance(start + SimDuration::from_days(1), &mut out);
        out.drain().for_each(drop);
        for hour in 24..24 * 7 {
            let (starts0, run0) = {
                let r = home.physics().equipment().runtime();
                (r.starts, r.compressor_s)
            };
            home.advance(start + SimDuration::from_hours(hour + 1), &mut out);
            out.drain().for_each(drop);
            let r = home.physics().equipment().runtime();
            let duty = (r.compressor_s - run0) / 3_600.0;
            if (0.3..=0.7).contains(&duty) {
                rates.push((r.starts - starts0) as f64);
            }
        }
    }
    assert!(rates.len() > 100, "{} mid-load hours", rates.len());
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    eprintln!(
        "{} mid-load hours: starts per hour p10 {} median {median} p90 {}",
        rates.len(),
        rates[rates.len() / 10],
        rates[rates.len() * 9 / 10]
    );
    assert!(
        (2.0..=4.0).contains(&median),
        "median {median} cycles per hour"
    );
}
