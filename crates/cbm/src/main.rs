//! `cbm`: the command-line tool of cbm, a verification protocol for
//! confidence-building measures between states.
//!
//! Exit codes: 0 success (an audit with verdict ok), 1 findings (an audit
//! or fsck that found something), 2 invalid input or any error.
#![forbid(unsafe_code)]

mod demo;
mod keys;
mod report;

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use cbm_log::audit::Verdict;
use cbm_log::store::Store;
use cbm_wire::{AgreementHash, PublicKey, SigningKey, Timestamp};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// Verifiable transparency declarations between states: signed, logged,
/// mirrored, cosigned, and auditable offline.
#[derive(Debug, Parser)]
#[command(name = "cbm", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a whole agreement on this machine and audits it: the place to start.
    ///
    /// Four states run real nodes on loopback QUIC, each with its own store,
    /// through three months of declarations, an amendment, an objection and
    /// its response, a late declaration, a committed annex, a node that goes
    /// down and a state that equivocates; the record is then exported and
    /// audited offline.
    #[command(after_help = "Examples:\n  cbm demo\n  cbm demo --dir ./demo-run   # keep the stores and the bundle")]
    Demo {
        /// Keep the stores and the bundle here instead of a temporary directory.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Audits a bundle offline: every signature, tree, checkpoint and
    /// cosignature, and every obligation judged on receipts.
    ///
    /// Exit code 0 when everything verifies and every obligation was met,
    /// 1 when everything verifies but there are findings, 2 when the bundle
    /// is invalid or unreadable.
    #[command(after_help = "Examples:\n  cbm audit bundle.cbor\n  cbm audit bundle.cbor --json \
                            --agreement-hash 3f2a…  # pin the agreement you expect")]
    Audit {
        /// The bundle file.
        bundle: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The agreement hash you expect (64 hex digits); another roster is invalid.
        #[arg(long)]
        agreement_hash: Option<AgreementHash>,
        /// Judge deadlines as of this time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<Timestamp>,
    },
    /// Recomputes a store from its entries and checks every tree hash and checkpoint.
    ///
    /// Exit code 0 when the store is sound, 1 when problems were found, 2 on error.
    #[command(after_help = "Example:\n  cbm fsck data/store.db --json")]
    Fsck {
        /// The store file.
        store: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Creates a signatory's signing and transport keys.
    ///
    /// Writes `<ID>.signing.key` and `<ID>.transport.key` in the directory,
    /// readable by you only, and never overwrites a key.
    #[command(after_help = "Example:\n  cbm keygen --id AT --dir keys/")]
    Keygen {
        /// The signatory id the keys are for.
        #[arg(long)]
        id: cbm_wire::SignatoryId,
        /// Directory to write the keys in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Print the public keys as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "error".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn verdict_code(verdict: Verdict) -> ExitCode {
    match verdict {
        Verdict::Ok => ExitCode::SUCCESS,
        Verdict::Findings => ExitCode::from(1),
        Verdict::Invalid => ExitCode::from(2),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Demo { dir } => {
            runtime()?.block_on(demo::run(dir))?;
            // The demo's findings are its point; it succeeded.
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { bundle, json, agreement_hash, at } => audit(&bundle, json, agreement_hash, at),
        Command::Fsck { store, json } => fsck(&store, json),
        Command::Keygen { id, dir, json } => keygen(&id, &dir, json),
    }
}

fn now() -> Timestamp {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// A progress bar over `len` bytes, drawn only on a terminal.
fn byte_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn audit(
    path: &std::path::Path,
    json: bool,
    expected: Option<AgreementHash>,
    at: Option<Timestamp>,
) -> Result<ExitCode> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = byte_bar(len, "auditing");
    let input = std::io::BufReader::with_capacity(1 << 16, file).take(u64::MAX);
    let report =
        cbm_log::audit::audit(input, expected.as_ref(), at.unwrap_or_else(now), |bytes| bar.set_position(bytes));
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::render(&report));
    }
    Ok(verdict_code(report.verdict))
}

fn fsck(path: &std::path::Path, json: bool) -> Result<ExitCode> {
    if !path.exists() {
        anyhow::bail!("{} does not exist", path.display());
    }
    let store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    let bar = ProgressBar::new_spinner();
    bar.set_message("checking entries");
    let report = store.fsck(|checked| bar.set_message(format!("checked {checked} entries")))?;
    bar.finish_and_clear();
    if json {
        let logs: Vec<_> = report
            .logs
            .iter()
            .map(|l| {
                serde_json::json!({
                    "log": l.log.to_string(), "size": l.size, "checkpoints": l.checkpoints, "problems": l.problems,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "ok": report.is_ok(), "logs": logs }))?);
    } else {
        println!("{:<66} {:>10} {:>12}  problems", "log", "entries", "checkpoints");
        for log in &report.logs {
            println!("{:<66} {:>10} {:>12}  {}", log.log.to_string(), log.size, log.checkpoints, log.problems.len());
            for problem in &log.problems {
                println!("    - {problem}");
            }
        }
        println!("{}", if report.is_ok() { "store is sound" } else { "store has problems" });
    }
    Ok(if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn keygen(id: &cbm_wire::SignatoryId, dir: &std::path::Path, json: bool) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let signing_path = dir.join(format!("{id}.signing.key"));
    let transport_path = dir.join(format!("{id}.transport.key"));
    for path in [&signing_path, &transport_path] {
        if path.exists() {
            anyhow::bail!("{} already exists; refusing to overwrite a key", path.display());
        }
    }
    let signing = SigningKey::generate(&mut rand_core::OsRng);
    let transport = SigningKey::generate(&mut rand_core::OsRng);
    keys::write_key(&signing_path, &signing)?;
    keys::write_key(&transport_path, &transport)?;
    let (signing_public, transport_public) = (PublicKey::of(&signing), PublicKey::of(&transport));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "id": id.to_string(),
                "signing_key": signing_public.to_string(),
                "transport_key": transport_public.to_string(),
                "files": [signing_path, transport_path],
            })
        );
    } else {
        println!("signing key    {signing_public}  ({})", signing_path.display());
        println!("transport key  {transport_public}  ({})", transport_path.display());
    }
    Ok(ExitCode::SUCCESS)
}
