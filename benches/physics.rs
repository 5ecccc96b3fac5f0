//! Hot paths of the physics (hvac-models), one core:
//!
//! - `home_step`: one home + equipment step (gains, equipment performance
//!   curves, exact 2R2C step) across a fleet of 1,000 homes of all
//!   archetypes, half of them cooling, 60 s steps.
//! - `thermal_step`: the 2R2C step alone (cached discretisation).
//! - `vibration`: synthesising one 4096-sample accelerometer window, extracting
//!   its features with the firmware's FFT extractor, and drawing the same
//!   features on the fast path.
//!
//! `cargo bench --bench physics`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use device_firmware::vibration::FeatureExtractor;
use hvac_models::equipment::{EquipmentParams, Health, Relays, SystemKind};
use hvac_models::home::{Archetype, FacadeIrradiance, Home, Surroundings};
use hvac_models::occupancy::Presence;
use hvac_models::sun::SunPosition;
use hvac_models::thermal::{ThermalInputs, ThermalModel, ThermalState};
use hvac_models::vibration::{Synthesizer, VibrationParams, features_fast};
use hvac_models::weather::WeatherSample;
use sim_core::{SimDuration, SimTime, stream};

/// The allocator the `thermotwin` binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FLEET: usize = 1_000;

fn home_step(c: &mut Criterion) {
    let mut rng = stream(1, 0, "bench-homes");
    let mut homes: Vec<Home> = (0..FLEET)
        .map(|i| {
            let params = Archetype::ALL[i % 4].draw(0.1, &mut rng);
            let kind = if i % 3 == 0 {
                SystemKind::AcGasFurnace
            } else {
                SystemKind::HeatPump
            };
            Home::new(
                params,
                EquipmentParams {
                    kind,
                    ..EquipmentParams::default()
                },
                25.0,
            )
            .unwrap()
        })
        .collect();
    let sun = SunPosition {
        elevation_deg: 55.0,
        azimuth_deg: 200.0,
    };
    let weather = WeatherSample {
        dry_bulb_c: 33.0,
        ghi_w_m2: 800.0,
        dni_w_m2: 750.0,
        dhi_w_m2: 120.0,
        ..WeatherSample::default()
    };
    let surroundings = Surroundings {
        outdoor_c: weather.dry_bulb_c,
        facades: FacadeIrradiance::new(&sun, &weather, 0.2),
        presence: Presence::Home,
        occupants: 3,
    };
    let cool = Relays {
        y_compressor: true,
        o_cool: true,
        w_heat: false,
        g_fan: true,
    };
    let health = Health::default();
    let dt = SimDuration::from_secs(60);
    let mut t = SimTime::from_secs(1_782_900_000);

    let mut group = c.benchmark_group("home_step");
    group.throughput(Throughput::Elements(FLEET as u64));
    group.bench_function("fleet_1000_homes", |b| {
        b.iter(|| {
            for (i, home) in homes.iter_mut().enumerate() {
                let relays = if i % 2 == 0 { cool } else { Relays::default() };
                black_box(home.step(t, dt, relays, &surroundings, &health));
            }
            t += dt;
        });
    });
    group.finish();
}

fn thermal_step(c: &mut Criterion) {
    let mut model = ThermalModel::new(Archetype::Townhouse.nominal().thermal).unwrap();
    let mut state = ThermalState {
        air_c: 21.0,
        mass_c: 20.0,
    };
    let u = ThermalInputs {
        outdoor_c: -3.0,
        q_air_w: 6_000.0,
        q_mass_w: 300.0,
    };
    let dt = SimDuration::from_secs(60);
    let mut group = c.benchmark_group("thermal_step");
    group.throughput(Throughput::Elements(1));
    group.bench_function("2r2c_cached", |b| {
        b.iter(|| black_box(model.step(&mut state, black_box(&u), dt)));
    });
    group.finish();
}

fn vibration(c: &mut Criterion) {
    let params = VibrationParams::default();
    let synth = Synthesizer::new(params).unwrap();
    let mut rng = stream(1, 0, "bench-vibration");
    let mut window = vec![0.0; params.window_samples];
    let mut extractor = FeatureExtractor::new(params.window_samples);
    let fs = params.sample_rate_hz;
    let mut group = c.benchmark_group("vibration_4096");
    group.throughput(Throughput::Elements(1));
    group.bench_function("synthesize", |b| {
        b.iter(|| synth.synthesize(black_box(0.5), &mut rng, &mut window));
    });
    synth.synthesize(0.5, &mut rng, &mut window);
    group.bench_function("extract_features_fft", |b| {
        b.iter(|| black_box(extractor.extract(black_box(&window), fs)));
    });
    group.bench_function("synthesize_and_extract", |b| {
        b.iter(|| {
            synth.synthesize(black_box(0.5), &mut rng, &mut window);
            black_box(extractor.extract(&window, fs))
        });
    });
    group.bench_function("features_fast", |b| {
        b.iter(|| black_box(features_fast(&params, black_box(0.5), &mut rng)));
    });
    group.finish();
}

criterion_group!(benches, home_step, thermal_step, vibration);
criterion_main!(benches);
