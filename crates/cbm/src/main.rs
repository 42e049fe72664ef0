//! `cbm`: the command-line tool of cbm, a verification protocol for
//! confidence-building measures between states.
//!
//! Exit codes: 0 success (an audit with verdict ok), 1 findings (an audit
//! or fsck that found something), 2 invalid input or any error; `declare`
//! adds 3 (stored, not yet received by the quorum) and 4 (outcome unknown).
#![forbid(unsafe_code)]

mod admin;
mod audit_cmd;
mod cli;
mod declare_cmd;
mod demo;
mod html;
mod inputs;
mod keygen_cmd;
mod keys;
mod log_cmd;
mod node_cmd;
mod period;
mod pin;
mod ping_cmd;
mod proof_cmd;
mod report;
mod roster_cmd;
mod share_cmd;
mod status_cmd;
mod watch_cmd;

use std::process::ExitCode;

use anyhow::{Context, Result};
use cbm_wire::{PublicKey, Timestamp};
use indicatif::ProgressBar;

use cli::{Cli, Command, KeyCommand};

fn main() -> ExitCode {
    let cli = Cli::parse_checked();
    // A node tells its operator what it does; other commands speak for
    // themselves and log errors only; -v and -q move that. `RUST_LOG`
    // overrides either.
    let level = cli.log_level();
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()))
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    match run(cli.command) {
        Ok(code) => code,
        // A reader that stopped reading (`cbm man | head`) is no error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Demo { dir } => {
            runtime()?.block_on(demo::run(dir))?;
            // The demo's findings are its point; it succeeded.
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { bundle, pin, json, html, at } => {
            let expected = pin.expected()?;
            let output = audit_cmd::Output { json, html };
            if bundle.is_dir() {
                let roster = pin.roster.context("auditing a data directory needs its roster: add --roster FILE")?;
                audit_cmd::audit_data_dir(&bundle, &roster, &output, expected, at)
            } else if let Some(proof) = proof_cmd::read_proof(&bundle) {
                if output.html.is_some() {
                    anyhow::bail!(
                        "--html draws the report of a bundle, and {} is a single-entry proof",
                        bundle.display()
                    );
                }
                proof_cmd::check_proof(&proof, json, expected)
            } else {
                inputs::check_bundle(&bundle)?;
                audit_cmd::audit(&bundle, &output, expected, at)
            }
        }
        Command::Log(args) => log_cmd::run(args),
        Command::Fsck { store, json } => audit_cmd::fsck(&store, json),
        Command::Keygen { id, dir, json } => keygen_cmd::keygen(&id, &dir, json),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "cbm",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Key(KeyCommand::Public { file }) => {
            let public = PublicKey::of(&keys::read_key(&file)?);
            println!("{}", keys::named_public_line(&file, &public));
            Ok(ExitCode::SUCCESS)
        }
        Command::Roster(command) => roster_cmd::run(command),
        Command::Node { config } => {
            runtime()?.block_on(node_cmd::run(&config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Declare(args) => runtime()?.block_on(declare_cmd::declare(*args)),
        Command::Status { data_dir, json, wait } => status_cmd::status(&data_dir, json, wait),
        Command::Ping(args) => ping_cmd::ping(args),
        Command::Watch { data_dir, json, cursor, once, every } => {
            let cursor = cursor.unwrap_or_else(|| data_dir.join("watch.cursor"));
            watch_cmd::watch(&data_dir, &cursor, json, once, std::time::Duration::from_millis(every.0))
        }
        Command::Export { data_dir, out, with_openings, json } => {
            share_cmd::export(&data_dir, &out, with_openings, json)
        }
        Command::Prove { entry, out, json } => share_cmd::prove(entry, &out, json),
        Command::VerifyProof { proof, pin, json } => {
            let expected = pin.expected()?;
            proof_cmd::check_proof(&read_wire(&proof, "an entry proof")?, json, expected)
        }
        Command::Reveal { entry, field, out, json } => share_cmd::reveal(entry, field, &out, json),
        Command::VerifyOpening { opening, proof, pin, json } => {
            let expected = pin.expected()?;
            proof_cmd::verify_opening(&opening, &proof, json, expected)
        }
    }
}

pub(crate) fn now() -> Timestamp {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// The wire object of type `T` in the file `path`, `what` naming it in errors.
pub(crate) fn read_wire<T: cbm_wire::Wire>(path: &std::path::Path, what: &str) -> Result<T> {
    inputs::read_as(path, what)
}

/// Runs `request` against the node of `data_dir`, with a spinner saying
/// `what` while the node works (drawn only on a terminal).
pub(crate) fn ask_node(
    data_dir: &std::path::Path,
    request: &admin::AdminRequest,
    what: &str,
) -> Result<admin::AdminResponse> {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(what.to_owned());
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    let answer = runtime()?.block_on(admin::call(data_dir, request));
    spinner.finish_and_clear();
    answer
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_names_the_protocol_and_bundle_format_this_build_speaks() {
        let alpn = std::str::from_utf8(cbm_net::tls::ALPN).expect("ALPN");
        let expected = format!("(protocol {alpn}, bundle format {})", cbm_wire::BUNDLE_FORMAT_VERSION);
        assert!(crate::cli::VERSION.ends_with(&expected), "{}", crate::cli::VERSION);
    }
}
