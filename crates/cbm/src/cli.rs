//! The command line, as arguments: what each command takes, parsed and
//! checked by clap without touching disk or network. What each command
//! does lives in its own module; `main` only dispatches.

use std::path::PathBuf;

use cbm_wire::Timestamp;
use clap::{Parser, Subcommand};

use crate::{admin, period, pin, roster_cmd};

/// What `--version` prints: the release, the protocol version (also the
/// ALPN and every signing context) and the bundle format version.
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (protocol cbm/1, bundle format 1)");

/// Verifiable transparency declarations between states: signed, logged,
/// mirrored, cosigned, and auditable offline.
#[derive(Debug, Parser)]
#[command(name = "cbm", version = VERSION, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Log more: once for the steps of the work, twice for everything.
    /// (`RUST_LOG` overrides both flags.)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Log only errors, also for a node (which logs what it does by default).
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
}

impl Cli {
    /// Parses the command line and checks what the argument definitions
    /// cannot say alone (an argument that does not apply to the kind of
    /// entry declared); exits with clap's usage error (code 2) if either
    /// fails. Touches neither disk nor network.
    pub(crate) fn parse_checked() -> Self {
        let cli = Self::parse();
        if let Command::Declare(args) = &cli.command
            && let Some(problem) = args.inapplicable()
        {
            let mut command = <Self as clap::CommandFactory>::command();
            let declare = command.find_subcommand_mut("declare").map(std::mem::take).unwrap_or_default();
            declare.bin_name("cbm declare").error(clap::error::ErrorKind::ArgumentConflict, problem).exit();
        }
        cli
    }

    /// The log level these flags ask for: a node logs what it does (info),
    /// other commands speak for themselves and log errors only.
    pub(crate) fn log_level(&self) -> &'static str {
        let node = matches!(self.command, Command::Node { .. });
        match (self.quiet, self.verbose, node) {
            (true, _, _) => "error",
            (false, 0, true) => "info",
            (false, 0, false) => "error",
            (false, 1, true) => "debug",
            (false, 1, false) => "info",
            (false, 2, false) => "debug",
            (false, _, _) => "trace",
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
                            cbm audit ar/ --roster roster.cbm   # a node's data directory\n  \
                            cbm audit bundle.cbor --html report.html   # the grid, matrix and timelines, one file"
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
        /// Also write the report as one self-contained HTML page to this
        /// file (never overwritten): a signatory × period grid, who
        /// acknowledged whom, a timeline per declaration, and each split
        /// view as a fork.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
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
    Log(LogArgs),
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
    ///
    /// It logs to standard error what it does, a line each: listening, a
    /// peer reached / unreachable / back (with its address), an entry
    /// published, a checkpoint cosigned, our log received by the quorum,
    /// evidence found; and, once each, what falls overdue — a declaration,
    /// an acknowledgement of our entries, a request's answer — and a request
    /// waiting for our answer.
    #[command(
        after_help = "The configuration file, every key (relative paths are relative to the file's directory):\n  \
        signatory        text, required      the signatory this node is, as the roster names it\n  \
        roster           path, required      the adopted roster (cbm roster sign, every signature present)\n  \
        signing_key      path, required      this signatory's signing key file (0600)\n  \
        transport_key    path, required      its transport key file (0600)\n  \
        data_dir         path, required      the store, its lock and the admin socket (created 0700)\n  \
        listen           address, required   the UDP address to listen on, as 0.0.0.0:7400\n  \
        gossip_interval  duration, optional  time between gossip rounds; 10s if absent\n  \
        answer_checks    boolean, optional   answer checks (cbm ping) by itself; false: a person answers\n  \
        on_event         list, optional      a command run per event (cbm watch), the event as JSON on stdin\n  \
        warn_before      duration, optional  say a declaration of ours is due this long before; 2d if absent\n\
        A duration is numbers with units: 500ms, 5s, 2m, 1h 30m. An unknown key is refused.\n\n\
        Example node.toml:\n  signatory = \"AR\"\n  roster = \"roster.cbm\"\n  \
        signing_key = \"keys/AR.signing.key\"\n  transport_key = \"keys/AR.transport.key\"\n  \
        data_dir = \"ar\"\n  listen = \"127.0.0.1:7401\"\n  gossip_interval = \"2s\"\n\n\
        Example:\n  cbm node --config node.toml"
    )]
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
    /// Sends a communication check to the other states, or reports how each
    /// answered the checks so far.
    ///
    /// A check is a request whose only purpose is to see that the other side
    /// answers (spec/log.md §5.6). A node answers it by itself only if its
    /// configuration says `answer_checks = true`; otherwise a person answers
    /// with `cbm declare --kind respond --cites SIGNATORY:INDEX`.
    #[command(
        after_help = "Examples:\n  cbm ping --data-dir ar --reply-within 2h              # every other state\n  \
                            cbm ping --data-dir ar --reply-within 30m --ask BO     # one state\n  \
                            cbm ping --data-dir ar --report                        # who answered, how fast\n\n\
                            Exit codes: as cbm declare (0 sent; 2 refused; 3 not yet received with --wait; 4 \
                            outcome unknown); with --report, 0, or 2 if no node answered"
    )]
    Ping(PingArgs),
    /// Streams what happens that needs a person: notifications, requests
    /// that ask us, responses and objections to our entries, evidence,
    /// peers lost and back, what falls overdue or waits for our answer.
    ///
    /// It keeps a cursor of what it has shown in a file (by default
    /// watch.cursor in the data directory), so that stopped and started
    /// again it shows everything once; the first time, it starts from what
    /// the node holds then.
    #[command(after_help = "Examples:\n  cbm watch --data-dir ar                 # a line per event, as they come\n  \
                            cbm watch --data-dir ar --json          # a JSON object per line\n  \
                            cbm watch --data-dir ar --once          # what is new since the last time, then exit\n\n\
                            Exit codes: 0 stopped (or --once done); 2 no node answered or bad input")]
    Watch {
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Print each event as a JSON object on its own line.
        #[arg(long)]
        json: bool,
        /// Where the cursor is kept (default: DATA_DIR/watch.cursor).
        #[arg(long)]
        cursor: Option<PathBuf>,
        /// Look once, print what is new, and exit.
        #[arg(long)]
        once: bool,
        /// Time between two looks.
        #[arg(long, default_value = "5s")]
        every: cbm_wire::TimeSpan,
    },
    /// Shows a running node's logs, settlement, cosigners and evidence.
    #[command(after_help = "Examples:\n  cbm status --data-dir ar --json\n  \
                            cbm status --data-dir ar --wait 30   # once every log is settled\n\n\
                            Exit codes: 0 the status (settled, with --wait); 2 no node answered or bad input; \
                            3 --wait ran out: the status as it stands")]
    Status {
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Wait up to this many seconds until every log the node holds is
        /// settled at its newest checkpoint. If it is not by then, the
        /// status is shown as it stands, saying which logs are not settled
        /// and which peers do not answer, and the exit code is 3.
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
        /// Print what was written as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Writes a single-entry proof: the entry, its inclusion, a quorum-cosigned checkpoint and the roster.
    #[command(after_help = "Example:\n  cbm prove --data-dir ar --signatory BO --index 0 --out bo-0.proof")]
    Prove {
        #[command(flatten)]
        entry: EntryAt,
        /// The proof file to write.
        #[arg(long)]
        out: PathBuf,
        /// Print what was written as JSON.
        #[arg(long)]
        json: bool,
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
        /// Print the value and what was written as JSON.
        #[arg(long)]
        json: bool,
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
pub(crate) enum KeyCommand {
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
pub(crate) struct EntryAt {
    /// The node's data directory.
    #[arg(long)]
    pub(crate) data_dir: PathBuf,
    /// Whose log holds the entry.
    #[arg(long)]
    pub(crate) signatory: cbm_wire::SignatoryId,
    /// The entry's index in that log.
    #[arg(long)]
    pub(crate) index: u64,
}

/// What to publish with `cbm declare`. The arguments each kind needs are
/// required by the parser, before anything touches the node.
#[derive(Debug, clap::Args)]
pub(crate) struct DeclareArgs {
    /// The node's data directory.
    #[arg(long)]
    pub(crate) data_dir: PathBuf,
    /// Print the outcome as JSON: the entry's index, the log's size, whether
    /// it was published earlier, whether the quorum received it.
    #[arg(long)]
    pub(crate) json: bool,
    /// The kind of entry.
    #[arg(long, value_enum, default_value_t = Kind::Declaration)]
    pub(crate) kind: Kind,
    /// Topic (declaration, no-change, notification, status).
    #[arg(
        long,
        required_unless_present = "kind",
        required_if_eq_any = [("kind", "declaration"), ("kind", "no-change"), ("kind", "notification"), ("kind", "status")]
    )]
    pub(crate) topic: Option<cbm_wire::Topic>,
    /// Period (declaration, no-change): its number or its calendar label
    /// (`2026-03`, `2026-Q1`); the current one if absent.
    #[arg(long)]
    pub(crate) period: Option<period::PeriodArg>,
    /// A plain field, `LABEL=VALUE`; repeat for several.
    #[arg(long = "field")]
    pub(crate) fields: Vec<String>,
    /// A committed field, `LABEL=VALUE`: the log holds only its commitment.
    #[arg(long = "commit", requires = "commit_to")]
    pub(crate) committed: Vec<String>,
    /// Who receives the openings of the committed fields.
    #[arg(long = "commit-to")]
    pub(crate) commit_to: Vec<cbm_wire::SignatoryId>,
    /// Fields from a JSON or TOML file: a list of {label, value, media_type?, committed_to?}.
    #[arg(long)]
    pub(crate) fields_file: Option<PathBuf>,
    /// Media type of the fields given by flags.
    #[arg(long, default_value = "text/plain")]
    pub(crate) media_type: cbm_wire::MediaType,
    /// Amendment: index of our own entry it amends.
    #[arg(long, required_if_eq("kind", "amend"))]
    pub(crate) amends: Option<u64>,
    /// Objection or response: the cited entry, `SIGNATORY:INDEX`.
    #[arg(long, required_if_eq_any = [("kind", "object"), ("kind", "respond")])]
    pub(crate) cites: Option<String>,
    /// Amendment or objection: why.
    #[arg(long, required_if_eq_any = [("kind", "amend"), ("kind", "object")])]
    pub(crate) reason: Option<cbm_wire::Text>,
    /// Request: who is asked (all others if none).
    #[arg(long = "ask")]
    pub(crate) ask: Vec<cbm_wire::SignatoryId>,
    /// Request: the reply is due by (RFC 3339).
    #[arg(long, required_if_eq("kind", "request"))]
    pub(crate) reply_by: Option<Timestamp>,
    /// Status: the change.
    #[arg(long, value_enum, required_if_eq("kind", "status"))]
    pub(crate) change: Option<admin::ChangeSpec>,
    /// Status: when it takes effect (now if absent).
    #[arg(long)]
    pub(crate) effective_from: Option<Timestamp>,
    /// Wait up to this many seconds until the roster's quorum has cosigned
    /// (received) the entry; exit 3 if it has not by then (the entry is
    /// stored and is delivered when the peers are reachable).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) wait: Option<u64>,
    /// Publish under this key: a declare of the same draft under a key
    /// already used returns the entry published then instead of publishing
    /// again, and one of another draft is refused. Without it, the same
    /// draft is a retry only of the node's last publication, within 24 h.
    #[arg(long, value_name = "KEY")]
    pub(crate) idempotency_key: Option<String>,
}

impl DeclareArgs {
    /// The first argument given that does not apply to the kind declared,
    /// as a sentence naming the kinds it is for.
    fn inapplicable(&self) -> Option<String> {
        use Kind::{Amend, Declaration, NoChange, Notification, Object, Request, Respond, Status};
        let given: [(&str, bool, &[Kind]); 9] = [
            ("--topic", self.topic.is_some(), &[Declaration, NoChange, Notification, Status]),
            ("--period", self.period.is_some(), &[Declaration, NoChange]),
            ("--amends", self.amends.is_some(), &[Amend]),
            ("--cites", self.cites.is_some(), &[Object, Respond]),
            ("--reason", self.reason.is_some(), &[Amend, Object]),
            ("--ask", !self.ask.is_empty(), &[Request]),
            ("--reply-by", self.reply_by.is_some(), &[Request]),
            ("--change", self.change.is_some(), &[Status]),
            ("--effective-from", self.effective_from.is_some(), &[Status]),
        ];
        let (flag, _, kinds) = given.into_iter().find(|(_, present, kinds)| *present && !kinds.contains(&self.kind))?;
        let names: Vec<String> = kinds.iter().map(|k| format!("--kind {}", k.name())).collect();
        Some(format!("{flag} does not apply to --kind {}: it is for {}", self.kind.name(), names.join(", ")))
    }
}

/// Entry kinds, as `cbm declare --kind` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    Declaration,
    NoChange,
    Notification,
    Amend,
    Object,
    Respond,
    Request,
    Status,
}

impl Kind {
    /// The kind as `--kind` names it.
    pub(crate) fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map(|v| v.get_name().to_owned()).unwrap_or_default()
    }
}

/// What `cbm ping` sends, or reports.
#[derive(Debug, clap::Args)]
pub(crate) struct PingArgs {
    /// The node's data directory.
    #[arg(long)]
    pub(crate) data_dir: PathBuf,
    /// How long the others have to answer (a span: 30m, 2h).
    #[arg(long, required_unless_present = "report", conflicts_with = "report")]
    pub(crate) reply_within: Option<cbm_wire::TimeSpan>,
    /// Who is asked (every other state if none).
    #[arg(long = "ask", conflicts_with = "report")]
    pub(crate) ask: Vec<cbm_wire::SignatoryId>,
    /// Wait up to this many seconds until the quorum has received the check.
    #[arg(long, value_name = "SECONDS", conflicts_with = "report")]
    pub(crate) wait: Option<u64>,
    /// Report how each state answered the checks so far, instead of sending one.
    #[arg(long)]
    pub(crate) report: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What `cbm log` lists.
#[derive(Debug, clap::Args)]
pub(crate) struct LogArgs {
    /// A bundle, or a node's data directory (with `--roster`).
    pub(crate) source: PathBuf,
    /// Only this entry, `SIGNATORY:INDEX`.
    pub(crate) entry: Option<String>,
    /// Only this signatory's log.
    #[arg(long)]
    pub(crate) signatory: Option<cbm_wire::SignatoryId>,
    /// Only entries of this kind.
    #[arg(long, value_enum)]
    pub(crate) kind: Option<Kind>,
    /// Only entries on this topic.
    #[arg(long)]
    pub(crate) topic: Option<cbm_wire::Topic>,
    /// Only entries for this period: its number or its calendar label (`2026-03`).
    #[arg(long)]
    pub(crate) period: Option<period::PeriodArg>,
    /// The roster a data directory's node runs under.
    #[arg(long)]
    pub(crate) roster: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    fn level(args: &[&str]) -> Option<&'static str> {
        Cli::try_parse_from(args).ok().map(|cli| cli.log_level())
    }

    #[test]
    fn quiet_and_verbose_move_each_commands_own_log_level() {
        let node = ["cbm", "node", "--config", "ar.toml"];
        let status = ["cbm", "status", "--data-dir", "ar"];
        assert_eq!(level(&node), Some("info"), "a node says what it does");
        assert_eq!(level(&status), Some("error"), "a command speaks for itself");
        assert_eq!(level(&[&node[..], &["-q"]].concat()), Some("error"));
        assert_eq!(level(&[&node[..], &["-v"]].concat()), Some("debug"));
        assert_eq!(level(&[&status[..], &["-v"]].concat()), Some("info"));
        assert_eq!(level(&[&status[..], &["-vv"]].concat()), Some("debug"));
        assert_eq!(level(&[&node[..], &["-vvv"]].concat()), Some("trace"));
        assert_eq!(level(&[&status[..], &["-q", "-v"]].concat()), None, "one or the other");
    }
}
