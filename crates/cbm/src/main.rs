//! `cbm`: the command-line tool of cbm, a verification protocol for
//! confidence-building measures between states.
//!
//! Exit codes: 0 success (an audit with verdict ok), 1 findings (an audit
//! or fsck that found something), 2 invalid input or any error; `declare`
//! adds 3 (stored, not yet received by the quorum) and 4 (outcome unknown).
#![forbid(unsafe_code)]

mod admin;
mod demo;
mod keys;
mod log_cmd;
mod node_cmd;
mod period;
mod pin;
mod report;
mod roster_cmd;

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use cbm_log::audit::Verdict;
use cbm_log::store::Store;
use cbm_wire::{AgreementHash, PublicKey, SigningKey, Timestamp};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// What `--version` prints: the release, the protocol version (also the
/// ALPN and every signing context) and the bundle format version.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (protocol cbm/1, bundle format 1)");

/// Verifiable transparency declarations between states: signed, logged,
/// mirrored, cosigned, and auditable offline.
#[derive(Debug, Parser)]
#[command(name = "cbm", version = VERSION, propagate_version = true)]
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
    ///
    /// A bundle carries its own roster: without `--agreement-hash` or a
    /// trusted `--roster` the result is unpinned, and shows only that some
    /// roster, adopted by its own keys, says so.
    #[command(
        after_help = "Examples:\n  cbm audit bundle.cbor --roster roster.cbm   # pin the agreement you expect\n  \
                            cbm audit bundle.cbor --json --agreement-hash 3f2a…\n  \
                            cbm audit ar-0.proof --roster roster.cbm\n  \
                            cbm audit ar/ --roster roster.cbm   # a node's data directory"
    )]
    Audit {
        /// A bundle, a single-entry proof, or a node's data directory (with
        /// `--roster`, the roster its node runs under).
        bundle: PathBuf,
        #[command(flatten)]
        pin: pin::PinArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Judge deadlines as of this time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<Timestamp>,
    },
    /// Prints a shell completion script.
    #[command(after_help = "Examples:\n  cbm completions bash > ~/.local/share/bash-completion/completions/cbm\n  \
                            cbm completions zsh > ~/.zfunc/_cbm")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Prints the manual page (roff), generated from these definitions.
    #[command(after_help = "Example:\n  cbm man > cbm.1 && man ./cbm.1")]
    Man,
    /// Works with key files.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Lists what the logs of a bundle, or of a node's data directory, hold:
    /// each entry's kind, topic, period, claimed time, fields, what it
    /// cites, and when each other signatory received it.
    #[command(after_help = "Examples:\n  cbm log record.cbm\n  \
                            cbm log record.cbm --signatory AR --kind declaration --period 2\n  \
                            cbm log record.cbm AR:0                 # one entry\n  \
                            cbm log ar --roster roster.cbm --json  # a node's data directory")]
    Log {
        /// A bundle, or a node's data directory (with `--roster`).
        source: PathBuf,
        /// Only this entry, `SIGNATORY:INDEX`.
        entry: Option<String>,
        /// Only this signatory's log.
        #[arg(long)]
        signatory: Option<cbm_wire::SignatoryId>,
        /// Only entries of this kind.
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Only entries on this topic.
        #[arg(long)]
        topic: Option<cbm_wire::Topic>,
        /// Only entries for this period: its number or its calendar label (`2026-03`).
        #[arg(long)]
        period: Option<period::PeriodArg>,
        /// The roster a data directory's node runs under.
        #[arg(long)]
        roster: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
    /// Builds, signs, checks and shows an agreement's roster.
    #[command(subcommand)]
    Roster(roster_cmd::RosterCommand),
    /// Runs a signatory node from a TOML configuration, until interrupted.
    ///
    /// The configuration names the signatory, the roster, the key files, a
    /// data directory (store and admin socket) and the listen address.
    #[command(after_help = "Example node.toml:\n  signatory = \"AR\"\n  roster = \"roster.cbm\"\n  \
                            signing_key = \"keys/AR.signing.key\"\n  transport_key = \"keys/AR.transport.key\"\n  \
                            data_dir = \"ar\"\n  listen = \"127.0.0.1:7401\"\n  gossip_interval = \"2s\"\n\n\
                            Example:\n  cbm node --config node.toml")]
    Node {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Publishes an entry through the running node of a data directory.
    #[command(
        after_help = "Examples:\n  cbm declare --data-dir ar --topic points-of-contact --field contact=cert@ar.example\n  \
                            cbm declare --data-dir ar --topic points-of-contact --commit annex=secret --commit-to BO\n  \
                            cbm declare --data-dir ar --kind amend --amends 0 --reason \"new address\" --field contact=x@ar.example\n  \
                            cbm declare --data-dir bo --kind object --cites AR:0 --reason \"cannot confirm\"\n  \
                            cbm declare --data-dir ar --kind status --topic points-of-contact --change suspend\n\n\
                            A declare is safe to retry: run the same command again, and if the node had \
                            published it, you get that entry back instead of a second one. The same draft \
                            is taken as a retry if it was the node's last publication, within 24 hours; \
                            with --idempotency-key KEY, whenever it comes (and KEY used again for another \
                            draft is refused).\n\n\
                            Exit codes:\n  0  published, or found published by an earlier try (with --wait: and \
                            received by the quorum)\n  \
                            2  refused or not sent: nothing was stored\n  \
                            3  published and stored, but --wait ran out before the quorum received it\n  \
                            4  outcome unknown: the node went away before it answered; run the same \
                            command again"
    )]
    Declare(Box<DeclareArgs>),
    /// Shows a running node's logs, settlement, cosigners and evidence.
    #[command(after_help = "Examples:\n  cbm status --data-dir ar --json\n  \
                            cbm status --data-dir ar --wait 30   # once every log is settled")]
    Status {
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Wait up to this many seconds until every log the node holds is
        /// settled at its newest checkpoint; exit 2 if it is not by then.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
    /// Exports a running node's record as a bundle.
    ///
    /// The bundle is public by default: committed fields stay commitments
    /// only. With `--with-openings` it also carries the openings the node
    /// holds, and is written readable by you only. An existing file is
    /// never overwritten.
    #[command(after_help = "Examples:\n  cbm export --data-dir ar --out record.cbm\n  \
                            cbm export --data-dir ar --out private.cbm --with-openings")]
    Export {
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The bundle to write (a new file).
        #[arg(long)]
        out: PathBuf,
        /// Include the openings of committed fields the node holds.
        #[arg(long)]
        with_openings: bool,
    },
    /// Writes a single-entry proof: the entry, its inclusion, a quorum-cosigned checkpoint and the roster.
    #[command(after_help = "Example:\n  cbm prove --data-dir ar --signatory BO --index 0 --out bo-0.proof")]
    Prove {
        #[command(flatten)]
        entry: EntryAt,
        /// The proof file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Checks a single-entry proof offline. Exit 0 if it verifies, 2 if not.
    ///
    /// A proof carries its own roster: without `--agreement-hash` or a
    /// trusted `--roster` the result is unpinned, and shows only that some
    /// roster, adopted by its own keys, says so.
    #[command(after_help = "Examples:\n  cbm verify-proof bo-0.proof --roster roster.cbm\n  \
                            cbm verify-proof bo-0.proof --json --agreement-hash 3f2a…")]
    VerifyProof {
        /// The proof file.
        proof: PathBuf,
        #[command(flatten)]
        pin: pin::PinArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Writes the opening of a committed field the node holds (its own, or
    /// one addressed to it), to hand to someone who should see the value.
    #[command(
        after_help = "Example:\n  cbm reveal --data-dir ar --signatory BO --index 0 --field 1 --out annex.opening"
    )]
    Reveal {
        #[command(flatten)]
        entry: EntryAt,
        /// The committed field's position in the entry.
        #[arg(long)]
        field: u32,
        /// The opening file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Checks an opening offline against the entry of a single-entry proof:
    /// the value is the one the signatory committed to in its log.
    ///
    /// Exit 0 if the proof verifies and the opening matches, 2 if not.
    #[command(after_help = "Example:\n  cbm verify-opening annex.opening --proof bo-0.proof --roster roster.cbm")]
    VerifyOpening {
        /// The opening file (from `cbm reveal`).
        opening: PathBuf,
        /// A proof of the entry it opens (from `cbm prove`).
        #[arg(long)]
        proof: PathBuf,
        #[command(flatten)]
        pin: pin::PinArgs,
        /// Print JSON.
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

/// What `cbm key` does.
#[derive(Debug, clap::Subcommand)]
enum KeyCommand {
    /// Prints the public key of a secret key file, as the one line of a
    /// public key file (when the file is named as `cbm keygen` names it).
    #[command(after_help = "Example:\n  cbm key public keys/AR.signing.key > AR.signing.pub")]
    Public {
        /// The secret key file.
        file: PathBuf,
    },
}

/// An entry held by a running node.
#[derive(Debug, clap::Args)]
struct EntryAt {
    /// The node's data directory.
    #[arg(long)]
    data_dir: PathBuf,
    /// Whose log holds the entry.
    #[arg(long)]
    signatory: cbm_wire::SignatoryId,
    /// The entry's index in that log.
    #[arg(long)]
    index: u64,
}

/// What to publish with `cbm declare`.
#[derive(Debug, clap::Args)]
struct DeclareArgs {
    /// The node's data directory.
    #[arg(long)]
    data_dir: PathBuf,
    /// The kind of entry.
    #[arg(long, value_enum, default_value_t = Kind::Declaration)]
    kind: Kind,
    /// Topic (declaration, no-change, notification, status).
    #[arg(long)]
    topic: Option<cbm_wire::Topic>,
    /// Period (declaration, no-change): its number or its calendar label
    /// (`2026-03`, `2026-Q1`); the current one if absent.
    #[arg(long)]
    period: Option<period::PeriodArg>,
    /// A plain field, `LABEL=VALUE`; repeat for several.
    #[arg(long = "field")]
    fields: Vec<String>,
    /// A committed field, `LABEL=VALUE`: the log holds only its commitment.
    #[arg(long = "commit")]
    committed: Vec<String>,
    /// Who receives the openings of the committed fields.
    #[arg(long = "commit-to")]
    commit_to: Vec<cbm_wire::SignatoryId>,
    /// Fields from a JSON or TOML file: a list of {label, value, media_type?, committed_to?}.
    #[arg(long)]
    fields_file: Option<PathBuf>,
    /// Media type of the fields given by flags.
    #[arg(long, default_value = "text/plain")]
    media_type: cbm_wire::MediaType,
    /// Amendment: index of our own entry it amends.
    #[arg(long)]
    amends: Option<u64>,
    /// Objection or response: the cited entry, `SIGNATORY:INDEX`.
    #[arg(long)]
    cites: Option<String>,
    /// Amendment or objection: why.
    #[arg(long)]
    reason: Option<cbm_wire::Text>,
    /// Request: who is asked (all others if none).
    #[arg(long = "ask")]
    ask: Vec<cbm_wire::SignatoryId>,
    /// Request: the reply is due by (RFC 3339).
    #[arg(long)]
    reply_by: Option<Timestamp>,
    /// Status: the change.
    #[arg(long, value_enum)]
    change: Option<admin::ChangeSpec>,
    /// Status: when it takes effect (now if absent).
    #[arg(long)]
    effective_from: Option<Timestamp>,
    /// Wait up to this many seconds until the roster's quorum has cosigned
    /// (received) the entry; exit 3 if it has not by then (the entry is
    /// stored and is delivered when the peers are reachable).
    #[arg(long, value_name = "SECONDS")]
    wait: Option<u64>,
    /// Publish under this key: a declare of the same draft under a key
    /// already used returns the entry published then instead of publishing
    /// again, and one of another draft is refused. Without it, the same
    /// draft is a retry only of the node's last publication, within 24 h.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

/// Entry kinds, as `cbm declare --kind` names them.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Kind {
    Declaration,
    NoChange,
    Notification,
    Amend,
    Object,
    Respond,
    Request,
    Status,
}

/// `declare`'s exit code for an entry stored but not received by the
/// quorum when `--wait` ran out.
const EXIT_NOT_YET_RECEIVED: u8 = 3;

/// `declare`'s exit code when the node went away before it answered.
const EXIT_OUTCOME_UNKNOWN: u8 = 4;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A node tells its operator what it does; other commands speak for
    // themselves and log errors only. `RUST_LOG` overrides either.
    let level = if matches!(cli.command, Command::Node { .. }) { "info" } else { "error" };
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
        Command::Audit { bundle, pin, json, at } => {
            let expected = pin.expected()?;
            if bundle.is_dir() {
                let roster = pin.roster.context("auditing a data directory needs its roster: add --roster FILE")?;
                audit_data_dir(&bundle, &roster, json, expected, at)
            } else if let Some(proof) = read_proof(&bundle) {
                check_proof(&proof, json, expected)
            } else {
                audit(&bundle, json, expected, at)
            }
        }
        Command::Log { source, entry, signatory, kind, topic, period, roster, json } => {
            let entry = entry
                .map(|e| -> Result<_> {
                    let (who, index) = split_pair(&e, "the entry")?;
                    Ok((who.parse()?, index.parse().context("the entry's index")?))
                })
                .transpose()?;
            let kind = kind.and_then(|k| clap::ValueEnum::to_possible_value(&k)).map(|v| v.get_name().to_owned());
            let filter = log_cmd::Filter { signatory, kind, topic, period, entry };
            let shown = if source.is_dir() {
                let roster = roster.context("reading a data directory needs its roster: add --roster FILE")?;
                let bundle = export_data_dir(&source, &roster, false)?;
                log_cmd::entries(std::io::BufReader::new(bundle.reopen()?), &filter)?
            } else {
                let file = std::fs::File::open(&source).with_context(|| format!("opening {}", source.display()))?;
                log_cmd::entries(std::io::BufReader::new(file), &filter)?
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                print!("{}", log_cmd::render(&shown));
                eprintln!("(the entries as the record holds them: `cbm audit` checks every signature and deadline)");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fsck { store, json } => fsck(&store, json),
        Command::Keygen { id, dir, json } => keygen(&id, &dir, json),
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
        Command::Declare(args) => runtime()?.block_on(declare(*args)),
        Command::Status { data_dir, json, wait } => status(&data_dir, json, wait),
        Command::Export { data_dir, out, with_openings } => {
            let out = std::path::absolute(&out)?;
            if out.exists() {
                anyhow::bail!("{} already exists; it was not overwritten", out.display());
            }
            let request = admin::AdminRequest::Export { path: out.clone(), public: !with_openings };
            match ask_node(&data_dir, &request, "exporting")? {
                admin::AdminResponse::Exported {
                    entries,
                    checkpoints,
                    cosignatures,
                    evidence,
                    openings,
                    unreadable_openings,
                } => {
                    let kind = if with_openings { "private bundle, readable by you only" } else { "public bundle" };
                    println!(
                        "wrote {} ({kind}): {entries} entries, {checkpoints} checkpoints, {cosignatures} \
                         cosignatures, {evidence} evidence, {openings} openings",
                        out.display()
                    );
                    if unreadable_openings > 0 {
                        eprintln!(
                            "warning: {unreadable_openings} stored openings could not be read and were left out \
                             (run cbm fsck on the store)"
                        );
                    }
                }
                other => anyhow::bail!("unexpected answer: {other:?}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Prove { entry, out } => {
            let path = std::path::absolute(&out)?;
            let request =
                admin::AdminRequest::Prove { signatory: entry.signatory, index: entry.index, path: path.clone() };
            ask_node(&entry.data_dir, &request, "proving")?;
            println!("wrote {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyProof { proof, pin, json } => {
            let expected = pin.expected()?;
            check_proof(&read_wire(&proof, "an entry proof")?, json, expected)
        }
        Command::Reveal { entry, field, out } => {
            let path = std::path::absolute(&out)?;
            let request = admin::AdminRequest::Reveal { signatory: entry.signatory, index: entry.index, field, path };
            match ask_node(&entry.data_dir, &request, "revealing")? {
                admin::AdminResponse::Revealed { path, label, value } => {
                    println!("{label} = {value}");
                    println!("wrote {}", path.display());
                }
                other => anyhow::bail!("unexpected answer: {other:?}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyOpening { opening, proof, pin, json } => {
            let expected = pin.expected()?;
            verify_opening(&opening, &proof, json, expected)
        }
    }
}

fn split_pair(text: &str, what: &str) -> Result<(String, String)> {
    let (a, b) = text.split_once(['=', ':']).with_context(|| format!("{what} {text:?} is not NAME=VALUE"))?;
    Ok((a.to_owned(), b.to_owned()))
}

fn read_fields_file(path: &std::path::Path) -> Result<Vec<admin::FieldSpec>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "toml") {
        #[derive(serde::Deserialize)]
        struct Fields {
            field: Vec<admin::FieldSpec>,
        }
        Ok(toml::from_str::<Fields>(&text).with_context(|| format!("{} is not a fields file", path.display()))?.field)
    } else {
        serde_json::from_str(&text).with_context(|| format!("{} is not a JSON list of fields", path.display()))
    }
}

async fn declare(args: DeclareArgs) -> Result<ExitCode> {
    use admin::KindSpec;
    let topic = || args.topic.clone().context("--topic is required for this kind");
    let reason = || args.reason.clone().context("--reason is required for this kind");
    let cites = || -> Result<(cbm_wire::SignatoryId, u64)> {
        let (who, index) =
            split_pair(args.cites.as_deref().context("--cites SIGNATORY:INDEX is required")?, "--cites")?;
        Ok((who.parse()?, index.parse().context("--cites index")?))
    };
    let kind = match args.kind {
        Kind::Declaration => KindSpec::Declaration { topic: topic()?, period: args.period },
        Kind::NoChange => KindSpec::NoChange { topic: topic()?, period: args.period },
        Kind::Notification => KindSpec::Notification { topic: topic()? },
        Kind::Amend => {
            KindSpec::Amendment { index: args.amends.context("--amends INDEX is required")?, reason: reason()? }
        }
        Kind::Object => {
            let (signatory, index) = cites()?;
            KindSpec::Objection { signatory, index, reason: reason()? }
        }
        Kind::Respond => {
            let (signatory, index) = cites()?;
            KindSpec::Response { signatory, index }
        }
        Kind::Request => KindSpec::Request {
            to: args.ask.clone(),
            reply_by: args.reply_by.context("--reply-by is required for a request")?,
        },
        Kind::Status => KindSpec::Status {
            topic: topic()?,
            change: args.change.context("--change is required for a status entry")?,
            effective_from: args.effective_from,
        },
    };
    let mut fields = Vec::new();
    for field in &args.fields {
        let (label, value) = split_pair(field, "--field")?;
        fields.push(admin::FieldSpec {
            label: label.parse()?,
            media_type: args.media_type.clone(),
            value,
            committed_to: None,
        });
    }
    if !args.committed.is_empty() && args.commit_to.is_empty() {
        anyhow::bail!("--commit needs at least one --commit-to recipient");
    }
    for field in &args.committed {
        let (label, value) = split_pair(field, "--commit")?;
        fields.push(admin::FieldSpec {
            label: label.parse()?,
            media_type: args.media_type.clone(),
            value,
            committed_to: Some(args.commit_to.clone()),
        });
    }
    if let Some(path) = &args.fields_file {
        fields.extend(read_fields_file(path)?);
    }
    let request =
        admin::AdminRequest::Publish { kind, fields, wait_seconds: args.wait, idempotency_key: args.idempotency_key };
    let answer = match admin::call(&args.data_dir, &request).await {
        Ok(answer) => answer,
        Err(e) if e.is::<admin::OutcomeUnknown>() => {
            eprintln!("error: {e:#}");
            eprintln!(
                "run the same command again: if the entry was published, it is returned, not published twice \
                 (without --period, a retry after the period ended declares for the new period; \
                 give --period or --idempotency-key to make it exact)"
            );
            return Ok(ExitCode::from(EXIT_OUTCOME_UNKNOWN));
        }
        Err(e) => return Err(e),
    };
    let published = |index: u64, size: u64, earlier: bool| {
        if earlier {
            println!("entry {index} was already published (the log then held {size}); not published again");
        } else {
            println!("published entry {index}; the log now holds {size}");
        }
    };
    match answer {
        admin::AdminResponse::Published { index, size, earlier } => {
            published(index, size, earlier);
            if args.wait.is_some() {
                println!("received by the quorum");
            }
        }
        admin::AdminResponse::NotYetReceived { index, size, earlier, waited_seconds } => {
            published(index, size, earlier);
            eprintln!(
                "entry {index} is published and stored, but the quorum has not received it within {waited_seconds} s \
                 (are the peers reachable? it is delivered when they are)"
            );
            return Ok(ExitCode::from(EXIT_NOT_YET_RECEIVED));
        }
        other => anyhow::bail!("unexpected answer: {other:?}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn status(data_dir: &std::path::Path, json: bool, wait: Option<u64>) -> Result<ExitCode> {
    let request = admin::AdminRequest::Status { wait_seconds: wait };
    let what = if wait.is_some() { "waiting for every log to be mirrored and settled" } else { "asking the node" };
    let admin::AdminResponse::Status { status, obligations } = ask_node(data_dir, &request, what)? else {
        anyhow::bail!("unexpected answer to a status request");
    };
    if json {
        let both = serde_json::json!({ "status": status, "obligations": obligations });
        println!("{}", serde_json::to_string_pretty(&both)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("node {}", status.signatory);
    println!("\n{:<10} {:>8} {:>10} {:>9}  cosigned by", "log", "entries", "checkpoint", "settled");
    for log in &status.logs {
        let checkpoint = log.checkpoint.as_ref().map_or_else(|| "-".to_owned(), |(size, _, _)| size.to_string());
        let cosigners: Vec<String> = log.cosigners.iter().map(ToString::to_string).collect();
        println!(
            "{:<10} {:>8} {:>10} {:>9}  {}",
            log.owner.to_string(),
            log.size,
            checkpoint,
            log.settled_size,
            cosigners.join(", ")
        );
    }
    if !status.peers.is_empty() {
        println!("\n{:<10} {:<12} last answered", "peer", "gossip");
        for peer in &status.peers {
            let state = match peer.reachable {
                Some(true) => "answering",
                Some(false) => "UNREACHABLE",
                None => "not yet",
            };
            let last = peer.last_contact.map_or_else(|| "never".to_owned(), |t| t.to_string());
            println!("{:<10} {state:<12} {last}", peer.peer.to_string());
        }
    }
    if obligations.overdue.is_empty() {
        println!("\nno declaration overdue");
    } else {
        println!("\noverdue declarations:");
        for o in &obligations.overdue {
            let how = o.delivered.map_or_else(|| "not delivered".to_owned(), |d| format!("delivered {d}"));
            println!("  {} {} period {}: due {}, {how}", o.signatory, o.topic, o.period, o.due);
        }
    }
    if !obligations.acknowledgements.is_empty() {
        println!("\nacknowledgements of our entries owed or late:");
        for a in &obligations.acknowledgements {
            println!("  entry {} by {}: {:?}", a.index, a.recipient, a.status);
        }
    }
    if status.equivocators.is_empty() {
        println!("\nno equivocation seen");
    } else {
        let who: Vec<String> = status.equivocators.iter().map(ToString::to_string).collect();
        println!("\nEQUIVOCATION: evidence held against {}", who.join(", "));
    }
    if !status.out_of_time_order.is_empty() {
        let who: Vec<String> = status.out_of_time_order.iter().map(ToString::to_string).collect();
        println!("checkpoints signed out of time order: evidence held against {}", who.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// VERIFY-ENTRY-PROOF (spec/log.md §6.1), pinned to `expected` if given.
fn verify_entry_proof(
    proof: &cbm_wire::EntryProof,
    expected: Option<&AgreementHash>,
) -> Result<cbm_log::entry_proof::ProvenEntry, cbm_log::entry_proof::EntryProofError> {
    match expected {
        Some(expected) => cbm_log::entry_proof::verify_pinned_entry_proof(proof, expected),
        None => cbm_log::entry_proof::verify_entry_proof(proof),
    }
}

/// Checks a single-entry proof, for `verify-proof` and `audit`: it verifies
/// (exit 0) or it does not (exit 2). Either way the report names the
/// agreement hash checked and whether it was pinned.
fn check_proof(proof: &cbm_wire::EntryProof, json: bool, expected: Option<AgreementHash>) -> Result<ExitCode> {
    let hash = proof.roster.roster.agreement_hash();
    let pinned = expected.is_some();
    pin::warn_if_unpinned(expected.as_ref());
    match verify_entry_proof(proof, expected.as_ref()) {
        Ok(proven) => {
            let witnesses: Vec<String> = proven.witnesses.iter().map(ToString::to_string).collect();
            // What the entry says, with the receipts its proof carries.
            let receipts = cbm_log::schedule::Receipts::new(&proof.cosignatures);
            let statement = log_cmd::statement(&proof.roster.roster, &proof.entry, Some(&receipts), |_| None);
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "valid": true,
                        "verdict": "ok",
                        "kind": "entry proof",
                        "agreement_hash": hash.to_string(),
                        "pinned": pinned,
                        "signatory": proven.signatory.to_string(),
                        "index": proven.index,
                        "issued_at": proven.issued_at.to_string(),
                        "delivered": proven.delivered.to_string(),
                        "witnesses": witnesses,
                        "statement": statement,
                    })
                );
            } else {
                println!("verdict     OK (entry proof)");
                println!(
                    "valid: entry {} of {}, issued {}, received by the quorum by {} (cosigned by {})",
                    proven.index,
                    proven.signatory,
                    proven.issued_at,
                    proven.delivered,
                    witnesses.join(", ")
                );
                println!("{}", pin::agreement_line(&hash, pinned));
                print!("\nthe entry proven:\n{}", log_cmd::render(std::slice::from_ref(&statement)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "valid": false, "verdict": "invalid", "kind": "entry proof",
                        "agreement_hash": hash.to_string(), "pinned": pinned, "error": e.to_string() })
                );
            } else {
                println!("verdict     INVALID (entry proof): {e}");
                println!("{}", pin::agreement_line(&hash, pinned));
            }
            Ok(ExitCode::from(2))
        }
    }
}

fn now() -> Timestamp {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// Runs `request` against the node of `data_dir`, with a spinner saying
/// `what` while the node works (drawn only on a terminal).
fn ask_node(data_dir: &std::path::Path, request: &admin::AdminRequest, what: &str) -> Result<admin::AdminResponse> {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(what.to_owned());
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    let answer = runtime()?.block_on(admin::call(data_dir, request));
    spinner.finish_and_clear();
    answer
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
    pin::warn_if_unpinned(expected.as_ref());
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
    use keys::KeyRole;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let paths = |role: KeyRole| {
        let (secret, public) = role.file_names(id);
        (dir.join(secret), dir.join(public))
    };
    let (signing_path, signing_pub) = paths(KeyRole::Signing);
    let (transport_path, transport_pub) = paths(KeyRole::Transport);
    for path in [&signing_path, &transport_path, &signing_pub, &transport_pub] {
        if path.exists() {
            anyhow::bail!("{} already exists; refusing to overwrite a key", path.display());
        }
    }
    let signing = SigningKey::generate(&mut rand_core::OsRng);
    let transport = SigningKey::generate(&mut rand_core::OsRng);
    keys::write_key(&signing_path, &signing)?;
    keys::write_key(&transport_path, &transport)?;
    let (signing_public, transport_public) = (PublicKey::of(&signing), PublicKey::of(&transport));
    keys::write_public(&signing_pub, KeyRole::Signing, id, &signing_public)?;
    keys::write_public(&transport_pub, KeyRole::Transport, id, &transport_public)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "id": id.to_string(),
                "signing_key": signing_public.to_string(),
                "transport_key": transport_public.to_string(),
                "files": [signing_path, transport_path],
                "public_files": [signing_pub, transport_pub],
            })
        );
    } else {
        println!("signing key    {signing_public}  ({}; public: {})", signing_path.display(), signing_pub.display());
        println!(
            "transport key  {transport_public}  ({}; public: {})",
            transport_path.display(),
            transport_pub.display()
        );
        println!("hand the other states the .pub files; keep the .key files to yourself");
    }
    Ok(ExitCode::SUCCESS)
}

fn read_wire<T: cbm_wire::Wire>(path: &std::path::Path, what: &str) -> Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    T::decode(&bytes).with_context(|| format!("{} is not {what}", path.display()))
}

fn verify_opening(
    opening: &std::path::Path,
    proof: &std::path::Path,
    json: bool,
    expected: Option<AgreementHash>,
) -> Result<ExitCode> {
    let opening: cbm_wire::Opening = read_wire(opening, "an opening")?;
    let proof: cbm_wire::EntryProof = read_wire(proof, "an entry proof")?;
    let (hash, pinned) = (proof.roster.roster.agreement_hash(), expected.is_some());
    pin::warn_if_unpinned(expected.as_ref());
    let verdict = verify_entry_proof(&proof, expected.as_ref())
        .map_err(|e| format!("the proof does not verify: {e}"))
        .and_then(|_| opening.verify(&proof.entry).map_err(|e| format!("the opening does not match: {e}")));
    let label = proof.entry.body.fields.get(opening.field as usize).map(|f| f.label().to_string()).unwrap_or_default();
    let value = String::from_utf8_lossy(&opening.value.0).into_owned();
    match verdict {
        Ok(()) => {
            if json {
                let (signatory, index) = (proof.entry.body.signatory.to_string(), proof.entry.body.index);
                println!(
                    "{}",
                    serde_json::json!({ "valid": true, "label": label, "value": value, "signatory": signatory,
                        "index": index, "agreement_hash": hash.to_string(), "pinned": pinned })
                );
            } else {
                println!(
                    "valid: field {} ({label}) of entry {} of {} opens to: {value}",
                    opening.field, proof.entry.body.index, proof.entry.body.signatory
                );
                println!("{}", pin::agreement_line(&hash, pinned));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problem) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "valid": false, "error": problem, "agreement_hash": hash.to_string(),
                        "pinned": pinned })
                );
            } else {
                println!("INVALID: {problem}");
                println!("{}", pin::agreement_line(&hash, pinned));
            }
            Ok(ExitCode::from(2))
        }
    }
}

/// The single-entry proof in `path`, if that is what the file holds.
fn read_proof(path: &std::path::Path) -> Option<cbm_wire::EntryProof> {
    let len = std::fs::metadata(path).ok()?.len();
    if len > cbm_wire::limits::MAX_FRAME_BYTES as u64 {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    <cbm_wire::EntryProof as cbm_wire::Wire>::decode(&bytes).ok()
}

/// Audits a node's data directory: its store is read (never written, so a
/// running node is not disturbed) into a temporary bundle, which is audited.
fn audit_data_dir(
    dir: &std::path::Path,
    roster: &std::path::Path,
    json: bool,
    expected: Option<AgreementHash>,
    at: Option<Timestamp>,
) -> Result<ExitCode> {
    let bundle = export_data_dir(dir, roster, true)?;
    audit(bundle.path(), json, expected, at)
}

/// Exports the store of the node data directory `dir`, read-only, under the
/// roster at `roster` into a temporary bundle (private unless `public`).
fn export_data_dir(dir: &std::path::Path, roster: &std::path::Path, public: bool) -> Result<tempfile::NamedTempFile> {
    let signed = node_cmd::read_roster(roster)?;
    let agreement = cbm_log::agreement::Agreement::adopt(&signed).context("the roster is not adopted")?;
    let path = dir.join("store.db");
    if !path.exists() {
        anyhow::bail!("{} holds no store (no store.db)", dir.display());
    }
    let store = Store::open_reader(&path).with_context(|| format!("opening {}", path.display()))?;
    let bundle = tempfile::NamedTempFile::new().context("creating a temporary bundle")?;
    let spinner = ProgressBar::new_spinner();
    let out = std::io::BufWriter::new(bundle.reopen()?);
    store
        .export(&agreement, signed, out, public, now(), |entries| {
            spinner.set_message(format!("read {entries} entries"))
        })
        .with_context(|| format!("reading {}", path.display()))?;
    spinner.finish_and_clear();
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_names_the_protocol_and_bundle_format_this_build_speaks() {
        let alpn = std::str::from_utf8(cbm_net::tls::ALPN).expect("ALPN");
        let expected = format!("(protocol {alpn}, bundle format {})", cbm_wire::BUNDLE_FORMAT_VERSION);
        assert!(super::VERSION.ends_with(&expected), "{}", super::VERSION);
    }
}
