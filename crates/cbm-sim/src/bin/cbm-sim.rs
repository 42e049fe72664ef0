//! `cbm-sim`: runs the node simulator over many seeds, or replays one.
//!
//! ```text
//! cbm-sim run --seeds 1000            # seeds 0..1000, every fault on
//! cbm-sim run --seeds 1000 --from 5000
//! cbm-sim replay 1234                 # one seed, with its outcome
//! cbm-sim scale 4 16 64               # protocol-level costs per N
//! ```
//!
//! Exit codes: 0 every seed held, 1 a seed broke an invariant (its replay
//! command is printed), 2 bad arguments.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use cbm_sim::{Config, Outcome, run};
use clap::{Parser, Subcommand};
use rayon::prelude::*;

#[derive(Parser)]
#[command(version, about = "Runs cbm's node core through simulated faults, seed by seed")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs many seeds with every fault on; prints the first that fails.
    Run {
        /// How many seeds.
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        /// The first seed.
        #[arg(long, default_value_t = 0)]
        from: u64,
    },
    /// Runs one seed with every fault on and prints its outcome.
    Replay {
        /// The seed.
        seed: u64,
    },
    /// Protocol-level costs with N honest signatories and no faults.
    Scale {
        /// The numbers of signatories.
        #[arg(required = true)]
        n: Vec<usize>,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { seeds, from } => run_seeds(from, seeds),
        Command::Replay { seed } => {
            let outcome = run(seed, &Config::faulty());
            print(&outcome);
            if outcome.violation.is_some() { ExitCode::from(1) } else { ExitCode::SUCCESS }
        }
        Command::Scale { n, seed } => {
            println!(
                "N,publications,rounds_to_settle,messages_to_settle,bytes_to_settle,messages_per_publication,bytes_per_publication,idle_messages_per_round,idle_bytes_per_round"
            );
            for n in n {
                let outcome = run(seed, &Config::scale(n));
                let s = &outcome.scale;
                let per = |x: u64| x as f64 / s.publications.max(1) as f64;
                println!(
                    "{},{},{},{},{},{:.0},{:.0},{:.0},{:.0}",
                    s.signatories,
                    s.publications,
                    s.rounds_to_settle.map_or_else(|| "never".to_owned(), |r| format!("{r:.0}")),
                    s.to_settle.0,
                    s.to_settle.1,
                    per(s.to_settle.0),
                    per(s.to_settle.1),
                    s.idle_per_round.0,
                    s.idle_per_round.1,
                );
                if let Some(v) = &outcome.violation {
                    eprintln!("N = {n}: {v}");
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
    }
}

fn run_seeds(from: u64, seeds: u64) -> ExitCode {
    let done = AtomicU64::new(0);
    let outcomes: Vec<Outcome> = (from..from + seeds)
        .into_par_iter()
        .map(|seed| {
            let outcome = run(seed, &Config::faulty());
            if let Some(v) = &outcome.violation {
                // Said at once: a long campaign need not end to be read.
                eprintln!("seed {seed} failed: {v}");
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(100) {
                eprintln!("{n} of {seeds} seeds run");
            }
            outcome
        })
        .collect();
    let mut healed: Vec<f64> = outcomes.iter().filter_map(|o| o.scale.rounds_after_heal).collect();
    healed.sort_by(f64::total_cmp);
    let publications: u64 = outcomes.iter().map(|o| o.scale.publications).sum();
    let crashes: u64 = outcomes.iter().map(|o| o.scale.crashes).sum();
    let mut failures: Vec<Outcome> = outcomes.into_iter().filter(|o| o.violation.is_some()).collect();
    println!("{} seeds from {from}: {} failed", seeds, failures.len());
    if let (Some(worst), Some(p99)) = (healed.last(), healed.get(healed.len() * 99 / 100)) {
        println!(
            "rounds from healing until one view and the evidence everywhere: worst {worst:.0}, 99th percentile {p99:.0}; \
             {publications} publications, {crashes} crashes"
        );
    }
    failures.sort_by_key(|o| o.seed);
    for outcome in &failures {
        print(&outcome.clone());
    }
    if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn print(outcome: &Outcome) {
    match &outcome.violation {
        Some(v) => {
            println!("seed {}: {v}", outcome.seed);
            println!("  replay: cargo run --release -p cbm-sim -- replay {}", outcome.seed);
        }
        None => {
            let s = &outcome.scale;
            println!(
                "seed {}: held — {} events, {} publications, {} cosignatures, {} items of evidence; {} messages ({} lost), {} crashes ({} by power loss); healed in {} rounds; digest {}",
                outcome.seed,
                outcome.events,
                s.publications,
                s.cosigned,
                s.evidence,
                s.messages,
                s.lost,
                s.crashes,
                s.power_losses,
                s.rounds_after_heal.map_or_else(|| "no".to_owned(), |r| format!("{r:.0}")),
                hex(&outcome.digest)
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
