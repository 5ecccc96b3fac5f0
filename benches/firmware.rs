//! Hot paths of the firmware (device-firmware), one core:
//!
//! - `control_step`: one pass of the control loop (targets → hysteresis,
//!   compressor protection, aux staging → relays), on a temperature that
//!   wanders through the setpoint so the loop switches.
//! - `comfort_effective`: resolving the effective targets from a weekly
//!   schedule in the device's time zone (a time-zone conversion per call).
//! - `vibration_features`: peak / dominant frequency / RMS / kurtosis of a
//!   4096-sample window with a planned, reused FFT.
//!
//! `cargo bench --bench firmware`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use device_firmware::control::{ControlConfig, Controller, FanMode, Mode, Targets};
use device_firmware::schedule::{Comfort, Schedule, ScheduleSpec};
use device_firmware::time::{Instant, f_to_c};
use device_firmware::vibration::FeatureExtractor;
use jiff::tz::TimeZone;

/// The allocator the `thermotwin` binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn control_step(c: &mut Criterion) {
    let start = Instant(1_782_900_000_000);
    let mut ctl = Controller::new(ControlConfig::default(), start);
    let targets = Targets {
        mode: Mode::Auto,
        heat_f: 68.0,
        cool_f: 74.0,
        fan: FanMode::Auto,
    };
    // A temperature sweep across both setpoints, precomputed.
    let temps: Vec<f64> = (0..1_024)
        .map(|i| f_to_c(64.0 + 14.0 * ((i as f64) * 0.01).sin().abs()))
        .collect();
    let mut now = start;
    let mut i = 0usize;
    let mut group = c.benchmark_group("control_step");
    group.throughput(Throughput::Elements(1));
    group.bench_function("auto_mode", |b| {
        b.iter(|| {
            now = now.plus_ms(15_000);
            i = (i + 1) & 1_023;
            black_box(ctl.step(now, Some(temps[i]), black_box(&targets)))
        });
    });
    group.finish();
}

fn comfort_effective(c: &mut Criterion) {
    let spec: ScheduleSpec = serde_json::from_value(serde_json::json!({
        "name": "Workday Routine",
        "blocks": [
            { "start":"04:00", "end":"08:00", "heat":70, "cool":74, "days":["mon","tue","wed","thu","fri"] },
            { "start":"08:00", "end":"16:30", "heat":65, "cool":78, "days":["mon","tue","wed","thu","fri"] },
            { "start":"16:30", "end":"22:00", "heat":72, "cool":73, "days":["mon","tue","wed","thu","fri"] },
            { "start":"22:00", "end":"04:00", "heat":68, "cool":76, "days":["mon","tue","wed","thu","fri"] }
        ]
    }))
    .expect("valid schedule JSON");
    let mut comfort = Comfort::new(TimeZone::get("America/Denver").expect("bundled tzdb"));
    comfort.set_schedule(Schedule::from_spec(&spec).expect("valid schedule"));
    let mut now = Instant(1_782_900_000_000);
    let mut group = c.benchmark_group("comfort_effective");
    group.throughput(Throughput::Elements(1));
    group.bench_function("weekly_schedule_denver", |b| {
        b.iter(|| {
            now = now.plus_ms(15_000);
            black_box(comfort.effective(now))
        });
    });
    group.finish();
}

fn vibration_features(c: &mut Criterion) {
    let fs = 4_096.0;
    let window: Vec<f64> = (0..4_096)
        .map(|i| {
            let t = i as f64 / fs;
            0.08 * (std::f64::consts::TAU * 58.3 * t).sin()
                + 0.5
                    * (std::f64::consts::TAU * 1_200.0 * t).sin()
                    * (-(t * 209.0).fract() * 20.0).exp()
        })
        .collect();
    let mut extractor = FeatureExtractor::new(4_096);
    let mut group = c.benchmark_group("vibration_features");
    group.throughput(Throughput::Elements(1));
    group.bench_function("window_4096", |b| {
        b.iter(|| black_box(extractor.extract(black_box(&window), fs)))
    });
    group.finish();
}

criterion_group!(benches, control_step, comfort_effective, vibration_features);
criterion_main!(benches);
