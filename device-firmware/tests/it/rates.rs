//! In steady state the firmware stays inside every per-endpoint limit of the
//! device API table, and the AURRA diagnostics limit.

use device_firmware::config::FirmwareConfig;
use device_firmware::time::Instant;
use proptest::prelude::*;

use crate::harness::{World, identity, minutes};

/// The busiest sliding window of `window_ms` for requests whose path starts
/// with `prefix`.
fn max_in_window(times: &[Instant], window_ms: u64) -> usize {
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| t.ms_since(times[i]) < window_ms)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn check_limits(w: &World) -> Result<(), TestCaseError> {
    for (prefix, limit, window_ms) in [
        ("/v1/telemetry", 60, 60_000),
        ("/v1/settings", 10, 60_000),
        ("/v1/commands/pending", 30, 60_000),
        ("/v1/ota/check", 10, 60_000),
        ("/v1/ota/download/", 5, 3_600_000),
        ("/v1/diagnostics/", 60, 60_000),
    ] {
        let times: Vec<Instant> = w
            .server
            .seen
            .iter()
            .filter(|s| s.path.starts_with(prefix))
            .map(|s| s.at)
            .collect();
        let worst = max_in_window(&times, window_ms);
        prop_assert!(
            worst <= limit,
            "{}: {} in a window (limit {})",
            prefix,
            worst,
            limit
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Whatever the reporting interval, room temperature and outage length,
    /// no endpoint's limit is exceeded over six hours.
    #[test]
    fn per_endpoint_rates_stay_within_the_seed_limits(
        interval in 60u64..600,
        temp in 15.0f64..30.0,
        outage_min in 0u64..120,
    ) {
        let mut w = World::new(FirmwareConfig::default(), identity(true, 0));
        w.server.settings["reporting_interval_seconds"] = interval.into();
        w.temperature_c = Box::new(move |_| temp);
        w.server.script("/v1/telemetry", move |now, _| if now < minutes(outage_min) { None } else {
            let body = serde_json::json!({"accepted": 1, "timestamp": now.to_rfc3339()});
            Some(device_firmware::http::Response::json(200, &body))
        });
        w.run_until(minutes(360));
        check_limits(&w)?;
    }
}
