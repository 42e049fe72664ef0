//! The simulator under `cargo test`: a fixed set of seeds through every
//! fault, determinism, and a fault-free agreement settling. A campaign of
//! random seeds runs with `cargo run --release -p cbm-sim -- run --seeds N`
//! (crates/cbm-sim/README.md).

use cbm_sim::{Config, Faults, run};
use rayon::prelude::*;

/// Seeds `cargo test` runs, every fault on: about a minute on two cores.
const SEEDS: std::ops::Range<u64> = 0..40;

#[test]
fn a_fixed_set_of_seeds_keeps_every_invariant_through_every_fault() {
    let failures: Vec<String> = SEEDS
        .into_par_iter()
        .filter_map(|seed| {
            let outcome = run(seed, &Config::faulty());
            outcome
                .violation
                .map(|v| format!("seed {seed}: {v} (replay: cargo run --release -p cbm-sim -- replay {seed})"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_same_seed_runs_the_same_simulation_message_for_message() {
    let (first, second) = rayon::join(|| run(7, &Config::faulty()), || run(7, &Config::faulty()));
    assert_eq!(first.digest, second.digest);
    assert_eq!(first.events, second.events);
    assert_ne!(first.digest, run(8, &Config::faulty()).digest, "another seed is another run");
}

#[test]
fn a_fault_free_agreement_settles_everywhere_within_two_rounds() {
    let mut config = Config::scale(4);
    config.faults = Faults::none();
    let outcome = run(1, &config);
    assert_eq!(outcome.violation, None);
    assert_eq!(outcome.scale.publications, 4);
    let rounds = outcome.scale.rounds_to_settle.expect("everything settles");
    assert!(rounds <= 2.0, "settled everywhere after {rounds} rounds");
}
