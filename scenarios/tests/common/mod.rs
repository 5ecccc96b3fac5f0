//! What the integration tests share.
#![allow(dead_code)] // each test binary uses its own part

/// A small summer bearing fleet: `homes` homes for `days` days from 1 July,
/// bearing faults only (`bearing`: the `[faults.bearing]` lines), `server`
/// and `rest` (later tables) as given.
fn fleet(seed: u64, days: u32, homes: u32, bearing: &str, server: &str, rest: &str) -> String {
    format!(
        r#"
name = "bearings"
seed = {seed}
start = "2026-07-01T00:00:00Z"
duration = "{days}d"

[fleet]
homes = {homes}

[climate]
annual_mean_c = 24.0
seasonal_amplitude_c = 6.0

[faults.bearing]
{bearing}

[faults.leak]
incidence = 0.0

[faults.capacitor]
incidence = 0.0

[server]
{server}

{rest}
"#
    )
}

/// A small summer fleet with fast-wearing bearings (most units fail within
/// days; loud healthy units beside them), seed `seed`, `days` long, with
/// `server` as its `[server]` table's lines.
pub(crate) fn bearings(seed: u64, days: u32, server: &str) -> String {
    fleet(
        seed,
        days,
        12,
        "incidence = 0.7\nonset_max_h = 10.0\nrate_um_per_h = 1.5\nshape_per_h = 0.5\n\
         vibration_spread = 1.0\nrate_spread = 0.5",
        server,
        "[technicians]\ndelay = \"12h\"\n\n[evaluation]\nwindow_min = \"1h\"\nwindow_max = \"4d\"",
    )
}

/// A small summer benchmark fleet, open loop (no technicians): half the
/// bearings wear out over about a week of running, and installations differ
/// widely in loudness (σ 1.5, so some healthy units are as loud as a worn
/// bearing), `homes` homes for 8 days, seed `seed`, the default alert
/// window (1 to 30 days ahead).
pub(crate) fn benchmark(seed: u64, homes: u32, server: &str) -> String {
    fleet(
        seed,
        8,
        homes,
        "incidence = 0.5\nonset_max_h = 10.0\nrate_um_per_h = 0.5\nshape_per_h = 0.5\n\
         vibration_spread = 1.5\nrate_spread = 0.5",
        server,
        "[technicians]\nenabled = false",
    )
}

/// An integer (or time) column, missing values as −1.
pub(crate) fn ints(df: &polars_core::prelude::DataFrame, c: &str) -> Vec<i64> {
    let col = df
        .column(c)
        .unwrap()
        .cast(&polars_core::prelude::DataType::Int64)
        .unwrap();
    let ca = col.i64().unwrap().clone();
    (0..ca.len()).map(|i| ca.get(i).unwrap_or(-1)).collect()
}

/// A text column, missing values as "".
pub(crate) fn texts(df: &polars_core::prelude::DataFrame, c: &str) -> Vec<String> {
    let col = df.column(c).unwrap().str().unwrap().clone();
    (0..col.len())
        .map(|i| col.get(i).unwrap_or("").to_owned())
        .collect()
}
