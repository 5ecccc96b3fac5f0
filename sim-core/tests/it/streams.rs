//! Random streams seen from outside: a stream depends only on (seed, entity,
//! name), never on fleet size or on the thread that draws from it.

use rand::Rng;
use rayon::prelude::*;
use sim_core::{Streams, stream};

fn draws(seed: u64, entity: u64, name: &str) -> Vec<u64> {
    let mut rng = stream(seed, entity, name);
    (0..32).map(|_| rng.next_u64()).collect()
}

#[test]
fn entity_7_draws_the_same_whatever_the_fleet_size() {
    let alone = draws(99, 7, "bearing-wear");
    for fleet in [8u64, 100, 10_000] {
        let streams = Streams::new(99);
        let all: Vec<Vec<u64>> = (0..fleet)
            .map(|id| {
                let mut rng = streams.stream(id, "bearing-wear");
                (0..32).map(|_| rng.next_u64()).collect()
            })
            .collect();
        assert_eq!(all[7], alone, "fleet of {fleet}");
    }
}

#[test]
fn drawing_on_many_threads_gives_the_same_streams() {
    let serial: Vec<Vec<u64>> = (0..256).map(|id| draws(5, id, "weather")).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    // Reverse order, in parallel: each stream is still its own.
    let parallel: Vec<Vec<u64>> = pool.install(|| {
        let mut v: Vec<(u64, Vec<u64>)> = (0..256u64)
            .rev()
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|id| (id, draws(5, id, "weather")))
            .collect();
        v.sort_by_key(|(id, _)| *id);
        v.into_iter().map(|(_, d)| d).collect()
    });
    assert_eq!(serial, parallel);
}

#[test]
fn neighbouring_streams_do_not_overlap() {
    // ChaCha streams under one key are disjoint: no 64-bit word of entity 0's
    // first 4096 draws appears among entity 1's.
    let a: std::collections::HashSet<u64> = {
        let mut r = stream(3, 0, "x");
        (0..4096).map(|_| r.next_u64()).collect()
    };
    let mut r = stream(3, 1, "x");
    assert!((0..4096).all(|_| !a.contains(&r.next_u64())));
}
