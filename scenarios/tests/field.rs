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

/// One free-floating period's time constant [h] by C. John et al.'s
/// procedure (see the test below), or `None` when the indoor temperature
/// does not decay towards the outdoor one.
fn period_time_constant_h(indoor: &[f64], outdoor: &[f64], step_h: f64) -> Option<f64> {
    let t_out = outdoor.iter().sum::<f64>() / outdoor.len() as f64;
    let d0 = indoor[0] - t_out;
    if d0.abs() < 0.5 {
        return None;
    }
    // ln(ΔT) against time, least squares: slope −1/τ.
    let mut pts = Vec::with_capacity(indoor.len());
    for (k, t_in) in indoor.iter().enumerate() {
        let d = (t_in - t_out) / d0;
        if d <= 0.0 {
            return None;
        }
        pts.push((k as f64 * step_h, d.ln()));
    }
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let slope = sxy / sxx;
    (slope < 0.0).then(|| -1.0 / slope)
}

/// Free-floating time constants [h] in a run's homes table, as John et al.
/// measured them: 5-minute indoor and outdoor temperatures and runtimes;
/// periods with the system off for more than 3 h in which the outdoor
/// temperature changes by at most 2 °C; a first-order exponential decay
/// fitted to each.
fn time_constants_h(homes_parquet: &std::path::Path) -> Vec<f64> {
    let df = reports::tables::read(homes_parquet).unwrap();
    use reports::tables::{bools, floats, ints};
    let whole = |v: Vec<Option<f64>>| -> Vec<f64> { v.into_iter().map(Option::unwrap).collect() };
    let truth = |v: Vec<Option<bool>>| -> Vec<bool> { v.into_iter().map(Option::unwrap).collect() };
    let home: Vec<i64> = ints(&df, "home")
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let starts: Vec<i64> = ints(&df, "compressor_starts")
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let indoor = whole(floats(&df, "indoor_c").unwrap());
    let outdoor = whole(floats(&df, "outdoor_c").unwrap());
    let energy = whole(floats(&df, "energy_kwh").unwrap());
    let compressor = truth(bools(&df, "compressor").unwrap());
    let backup = truth(bools(&df, "backup").unwrap());
    // Rows are in time order per home; group them.
    let mut rows: std::collections::BTreeMap<i64, Vec<usize>> = Default::default();
    for (r, h) in home.iter().enumerate() {
        rows.entry(*h).or_default().push(r);
    }
    let mut taus = Vec::new();
    for rows in rows.values() {
        // Off over an interval: neither stage on at either end, no start,
        // next to no electricity.
        let off: Vec<bool> = rows
            .windows(2)
            .map(|w| {
                let (a, b) = (w[0], w[1]);
                !(compressor[a] || backup[a] || compressor[b] || backup[b])
                    && starts[a] == starts[b]
                    && energy[b] - energy[a] < 0.005
            })
            .collect();
        let mut k = 0;
        while k < off.len() {
            if !off[k] {
                k += 1;
                continue;
            }
            let first = k;
            while k < off.len() && off[k] {
                k += 1;
            }
            // Rows first..=k span the free-floating run.
            let run = &rows[first..=k];
            if run.len() < 37 {
                continue;
            }
            let t_out: Vec<f64> = run.iter().map(|&r| outdoor[r]).collect();
            let (lo, hi) = t_out
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            if hi - lo > 2.0 {
                continue;
            }
            let t_in: Vec<f64> = run.iter().map(|&r| indoor[r]).collect();
            if let Some(tau) = period_time_constant_h(&t_in, &t_out, 5.0 / 60.0) {
                taus.push(tau);
            }
        }
    }
    taus.sort_by(f64::total_cmp);
    taus
}

#[test]
fn winter_time_constants_as_measured_in_smart_thermostat_homes() {
    // C. John et al. (a year of 5-minute data of more than 10,000 smart
    // thermostats in Canada and the US): "In winter, the majority of time
    // constants range from 15 to 55 hours." Their procedure on the homes
    // table of three winter weeks in Denver (TMY3, the ASHRAE 140 fixture)
    // of 24 homes on a setback schedule (the periods the procedure needs
    // are setbacks: nights and working days).
    let text = r#"
name = "time-constants"
seed = 21
start = "2026-01-05T00:00:00Z"
duration = "21d"
[fleet]
homes = 24
[[fleet.locations]]
name = "denver"
latitude = 39.83
longitude = -104.65
timezone = "America/Denver"
elevation_m = 1650.0
epw_file = "../hvac-models/tests/fixtures/USA_CO_Denver.Intl.AP.725650_TMY3.epw"
[faults.bearing]
incidence = 0.0
[faults.leak]
incidence = 0.0
[faults.capacitor]
incidence = 0.0
[[accounts]]
name = "a"
[[accounts.integrations]]
name = "app"
schedule = true
[outputs]
home_sample = "5m"
telemetry = false
"#;
    let s = scenarios::parse_str(text, std::path::Path::new(".")).unwrap();
    let out = std::env::temp_dir().join(format!("thermotwin-tau-{}", std::process::id()));
    let o = scenarios::run::Overrides {
        out: Some(out.clone()),
        ..Default::default()
    };
    let f = scenarios::run::run(&s, &o, 2, |_| {}).unwrap();
    let taus = time_constants_h(&f.dir.join("homes.parquet"));
    std::fs::remove_dir_all(&out).unwrap();
    let q = |p: f64| taus[((taus.len() - 1) as f64 * p) as usize];
    let inside = taus.iter().filter(|t| (15.0..=55.0).contains(*t)).count();
    eprintln!(
        "{} periods, τ p10 {:.1} p25 {:.1} median {:.1} p75 {:.1} p90 {:.1} h; {inside} in 15–55 h",
        taus.len(),
        q(0.1),
        q(0.25),
        q(0.5),
        q(0.75),
        q(0.9),
    );
    assert!(taus.len() >= 30, "{} periods", taus.len());
    assert!(
        inside * 2 > taus.len(),
        "{inside}/{} in 15–55 h",
        taus.len()
    );
}
