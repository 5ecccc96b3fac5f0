//! What the integration tests share.
#![allow(dead_code)] // each test binary uses its own part

/// A small summer fleet with fast-wearing bearings (most units fail within
/// days; loud healthy units beside them), seed `seed`, `days` long, with
/// `server` as its `[server]` table's lines.
pub(crate) fn bearings(seed: u64, days: u32, server: &str) -> String {
    format!(
        r#"
name = "bearings"
seed = {seed}
start = "2026-07-01T00:00:00Z"
duration = "{days}d"

[fleet]
homes = 12

[climate]
annual_mean_c = 24.0
seasonal_amplitude_c = 6.0

[faults.bearing]
incidence = 0.7
onset_max_h = 10.0
rate_um_per_h = 1.5
shape_per_h = 0.5
vibration_spread = 1.0
rate_spread = 0.5

[faults.leak]
incidence = 0.0

[faults.capacitor]
incidence = 0.0

[server]
{server}

[technicians]
delay = "12h"

[evaluation]
window_min = "1h"
window_max = "4d"
"#
    )
}

/// A small summer benchmark fleet, open loop (no technicians): half the
/// bearings wear out over about a week of running, and installations differ
/// widely in loudness (σ 1.5, so some healthy units are as loud as a worn
/// bearing), `homes` homes for 8 days, seed `seed`, the default alert
/// window (1 to 30 days ahead).
pub(crate) fn benchmark(seed: u64, homes: u32, server: &str) -> String {
    format!(
        r#"
name = "benchmark"
seed = {seed}
start = "2026-07-01T00:00:00Z"
duration = "8d"

[fleet]
homes = {homes}

[climate]
annual_mean_c = 24.0
seasonal_amplitude_c = 6.0

[faults.bearing]
incidence = 0.5
onset_max_h = 10.0
rate_um_per_h = 0.5
shape_per_h = 0.5
vibration_spread = 1.5
rate_spread = 0.5

[faults.leak]
incidence = 0.0

[faults.capacitor]
incidence = 0.0

[server]
{server}

[technicians]
enabled = false
"#
    )
}
