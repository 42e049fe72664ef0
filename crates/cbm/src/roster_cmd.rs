//! `cbm roster`: build an agreement's roster, have every signatory sign it,
//! and check it. The roster file is the canonical CBOR of a signed roster;
//! changing the roster drops the signatures, which were over the old one.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use cbm_log::agreement::Agreement;
use cbm_wire::{
    Address, AgreementId, Cadence, KeyId, Notice, PublicKey, QuorumPolicy, Roster, RosterLimits, Schedule, Signatory,
    SignatoryId, SignedRoster, SigningKeyInfo, Text, TimeSpan, Timestamp, Topic, Wire,
};
use clap::Subcommand;

use crate::admin::replace_file;
use crate::keys::{KeyRole, read_key, read_public};
use crate::node_cmd::read_roster;

/// `cbm roster` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum RosterCommand {
    /// Starts a roster with no signatories yet.
    #[command(
        after_help = "Example:\n  cbm roster new roster.cbm --agreement osce-cyber --title \"Cyber CBMs\" \\\n    \
                            --schedule points-of-contact:monthly:7d:48h --notice incident:1h --quorum 1 \\\n    \
                            --start 2026-01-01T00:00:00Z"
    )]
    New {
        /// The roster file to create.
        roster: PathBuf,
        /// The agreement's short name.
        #[arg(long)]
        agreement: AgreementId,
        /// Its title.
        #[arg(long)]
        title: Text,
        /// An obligation, `TOPIC:CADENCE:DUE:ACK`; CADENCE is monthly,
        /// quarterly, yearly or a span like 30d; DUE and ACK are spans.
        #[arg(long = "schedule")]
        schedules: Vec<String>,
        /// A notification topic on a clock, `TOPIC:ACK`: every other
        /// signatory must acknowledge each notification on it within ACK
        /// (a span like 1h) of its publication.
        #[arg(long = "notice")]
        notices: Vec<String>,
        /// Cosignatures that settle a checkpoint.
        #[arg(long, default_value_t = 1)]
        quorum: u32,
        /// When schedules and keys start (RFC 3339).
        #[arg(long)]
        start: Timestamp,
        /// How far ahead of a witness's clock a claimed time may be and
        /// still be cosigned (at most 1 day).
        #[arg(long, default_value = "10m")]
        max_clock_skew: TimeSpan,
    },
    /// Adds a signatory (and drops any signatures: the roster changed).
    #[command(
        after_help = "Examples:\n  cbm roster add roster.cbm --id AR --name \"Arcadia\" --keys keys/ --address 127.0.0.1:7401\n  \
                      cbm roster add roster.cbm --id BO --name \"Borduria\" --signing-key BO.signing.pub \\\n    \
                      --transport-key BO.transport.pub --address 127.0.0.1:7402"
    )]
    Add {
        /// The roster file.
        roster: PathBuf,
        /// The signatory's id.
        #[arg(long)]
        id: SignatoryId,
        /// Its name.
        #[arg(long)]
        name: Text,
        /// Where the node listens (host:port); repeat for several.
        #[arg(long = "address", required = true, value_parser = crate::inputs::parse_address)]
        addresses: Vec<Address>,
        /// Directory with `<ID>.signing.pub` and `<ID>.transport.pub` (from
        /// `cbm keygen`, handed over by the state).
        #[arg(long, conflicts_with_all = ["signing_key", "transport_key"])]
        keys: Option<PathBuf>,
        /// The public signing key: a `.pub` file or 64 hex digits.
        #[arg(long, requires = "transport_key")]
        signing_key: Option<String>,
        /// The public transport key: a `.pub` file or 64 hex digits.
        #[arg(long, requires = "signing_key")]
        transport_key: Option<String>,
    },
    /// Adds a signatory's adoption signature.
    #[command(after_help = "Example:\n  cbm roster sign roster.cbm --id AR --key keys/AR.signing.key")]
    Sign {
        /// The roster file.
        roster: PathBuf,
        /// Who signs.
        #[arg(long)]
        id: SignatoryId,
        /// Their signing key file.
        #[arg(long)]
        key: PathBuf,
        /// Print who signed, who is still to sign, and (once every one
        /// has) the agreement hash, as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Checks that every signatory adopted the roster; prints the agreement hash.
    #[command(after_help = "Example:\n  cbm roster verify roster.cbm")]
    Verify {
        /// The roster file.
        roster: PathBuf,
    },
    /// Shows the roster.
    #[command(after_help = "Example:\n  cbm roster show roster.cbm --json")]
    Show {
        /// The roster file.
        roster: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_schedule(text: &str, start: Timestamp) -> Result<Schedule> {
    let parts: Vec<&str> = text.split(':').collect();
    let [topic, cadence, due, ack] = parts.as_slice() else {
        bail!("schedule {text:?} is not TOPIC:CADENCE:DUE:ACK");
    };
    let cadence = match *cadence {
        "monthly" => Cadence::Months { months: 1 },
        "quarterly" => Cadence::Months { months: 3 },
        "yearly" => Cadence::Months { months: 12 },
        span => Cadence::Every { span: span.parse().map_err(|e| anyhow!("cadence {span:?}: {e}"))? },
    };
    let span = |s: &str| s.parse::<TimeSpan>().map_err(|e| anyhow!("span {s:?}: {e}"));
    Ok(Schedule {
        topic: Topic::new(*topic)?,
        cadence,
        start,
        due_offset: span(due)?,
        ack_window: span(ack)?,
        applies_to: None,
    })
}

fn parse_notice(text: &str) -> Result<Notice> {
    let Some((topic, window)) = text.split_once(':') else {
        bail!("notice {text:?} is not TOPIC:ACK");
    };
    let ack_window = window.parse::<TimeSpan>().map_err(|e| anyhow!("notice {text:?}: window {window:?}: {e}"))?;
    Ok(Notice { topic: Topic::new(topic)?, ack_window })
}

fn save(path: &Path, roster: &SignedRoster) -> Result<()> {
    replace_file(path, &roster.encode())
}

/// Runs a roster subcommand.
pub(crate) fn run(command: RosterCommand) -> Result<std::process::ExitCode> {
    match command {
        RosterCommand::New { roster: path, agreement, title, schedules, notices, quorum, start, max_clock_skew } => {
            if path.exists() {
                bail!("{} already exists", path.display());
            }
            let schedules = schedules.iter().map(|s| parse_schedule(s, start)).collect::<Result<Vec<_>>>()?;
            let notices = notices.iter().map(|n| parse_notice(n)).collect::<Result<Vec<_>>>()?;
            let roster = Roster {
                agreement,
                version: 1,
                title,
                signatories: Vec::new(),
                schedules,
                quorum: QuorumPolicy { threshold: quorum },
                limits: RosterLimits { max_clock_skew, ..RosterLimits::default() },
                previous: None,
                notices,
            };
            save(&path, &SignedRoster { roster, signatures: Vec::new() })?;
            println!("created {}; add signatories with `cbm roster add`", path.display());
        }
        RosterCommand::Add { roster: path, id, name, addresses, keys, signing_key, transport_key } => {
            let mut signed = read_roster(&path)?;
            if signed.roster.signatory(&id).is_some() {
                bail!("{id} is already a signatory");
            }
            let (signing, transport) = match (keys, signing_key, transport_key) {
                (Some(dir), _, _) => {
                    let public = |role: KeyRole| {
                        let path = dir.join(role.file_names(&id).1);
                        read_public(&path.to_string_lossy(), role, &id)
                    };
                    (public(KeyRole::Signing)?, public(KeyRole::Transport)?)
                }
                (None, Some(s), Some(t)) => {
                    (read_public(&s, KeyRole::Signing, &id)?, read_public(&t, KeyRole::Transport, &id)?)
                }
                _ => bail!("give --keys DIR, or both --signing-key and --transport-key"),
            };
            let valid_from = signed.roster.schedules.iter().map(|s| s.start).min().unwrap_or(Timestamp(0));
            signed.roster.signatories.push(Signatory {
                id: id.clone(),
                name,
                signing_keys: vec![SigningKeyInfo { id: KeyId(0), key: signing, valid_from, valid_until: None }],
                transport_key: transport,
                addresses,
            });
            signed.signatures.clear();
            save(&path, &signed)?;
            println!("added {id}; {} signatories; every one must now sign", signed.roster.signatories.len());
        }
        RosterCommand::Sign { roster: path, id, key, json } => {
            let mut signed = read_roster(&path)?;
            let key = read_key(&key)?;
            let info = signed
                .roster
                .signatory(&id)
                .ok_or_else(|| anyhow!("{id} is not a signatory of this roster"))?
                .signing_keys
                .iter()
                .find(|k| k.key == PublicKey::of(&key))
                .ok_or_else(|| anyhow!("that key is not one the roster lists for {id}"))?
                .id;
            let signature = signed.roster.sign_adoption(&id, info, &key);
            signed.signatures.retain(|s| s.signatory != id);
            signed.signatures.push(signature);
            let order: Vec<SignatoryId> = signed.roster.signatories.iter().map(|s| s.id.clone()).collect();
            signed.signatures.sort_by_key(|s| order.iter().position(|o| *o == s.signatory));
            save(&path, &signed)?;
            let missing: Vec<String> = order
                .iter()
                .filter(|o| !signed.signatures.iter().any(|s| &s.signatory == *o))
                .map(ToString::to_string)
                .collect();
            // Whether the roster is adopted is what `Agreement::adopt` says,
            // not the count of signatures.
            let adopted = if missing.is_empty() {
                let agreement = Agreement::adopt(&signed).with_context(|| {
                    format!("signed by {id}; every signatory has signed, but the roster is not adopted")
                })?;
                Some(agreement.hash().to_string())
            } else {
                None
            };
            if json {
                let outcome = serde_json::json!({
                    "signed_by": id.to_string(), "still_to_sign": missing, "agreement_hash": adopted,
                });
                println!("{}", serde_json::to_string_pretty(&outcome)?);
            } else if let Some(hash) = adopted {
                println!("signed by {id}; every signatory has signed: the roster is adopted; agreement hash {hash}");
            } else {
                println!("signed by {id}; still to sign: {}", missing.join(", "));
            }
        }
        RosterCommand::Verify { roster: path } => {
            let signed = read_roster(&path)?;
            let agreement = Agreement::adopt(&signed).context("the roster is not adopted")?;
            println!(
                "adopted by all {} signatories; agreement hash {}",
                signed.roster.signatories.len(),
                agreement.hash()
            );
        }
        RosterCommand::Show { roster: path, json } => {
            let signed = read_roster(&path)?;
            show(&signed, json)?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn show(signed: &SignedRoster, json: bool) -> Result<()> {
    let roster = &signed.roster;
    let adopted = Agreement::adopt(signed).map(|a| a.hash().to_string());
    if json {
        let value = serde_json::json!({
            "roster": roster,
            "signed_by": signed.signatures.iter().map(|s| s.signatory.to_string()).collect::<Vec<_>>(),
            "agreement_hash": adopted.as_ref().ok(),
            "adopted": adopted.is_ok(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("agreement  {} (version {}): {}", roster.agreement, roster.version, roster.title);
    match &adopted {
        Ok(hash) => println!("adopted    yes; agreement hash {hash}"),
        Err(e) => println!("adopted    no: {e}"),
    }
    println!("quorum     {} cosignatures", roster.quorum.threshold);
    println!("\n{:<10} {:<30} {:<24} {:<7} transport key", "signatory", "name", "address", "signed");
    for s in &roster.signatories {
        let signed_by = signed.signatures.iter().any(|g| g.signatory == s.id);
        let addresses: Vec<String> = s.addresses.iter().map(ToString::to_string).collect();
        println!(
            "{:<10} {:<30} {:<24} {:<7} {}",
            s.id.to_string(),
            s.name.to_string(),
            addresses.join(","),
            if signed_by { "yes" } else { "no" },
            s.transport_key
        );
    }
    println!("\n{:<10} {:<4} {:<66} valid", "signatory", "key", "signing key");
    for s in &roster.signatories {
        for key in &s.signing_keys {
            let until = key.valid_until.map_or_else(|| "on".to_owned(), |t| format!("until {t}"));
            println!(
                "{:<10} {:<4} {:<66} from {} {until}",
                s.id.to_string(),
                key.id.0,
                key.key.to_string(),
                key.valid_from
            );
        }
    }
    println!("\n{:<24} {:<16} {:<10} {:<10} start", "schedule", "cadence", "due", "ack");
    for c in &roster.schedules {
        let cadence = match c.cadence {
            Cadence::Months { months } => format!("{months} month(s)"),
            Cadence::Every { span } => span.to_string(),
        };
        println!(
            "{:<24} {:<16} {:<10} {:<10} {}",
            c.topic.to_string(),
            cadence,
            c.due_offset.to_string(),
            c.ack_window.to_string(),
            c.start
        );
    }
    if !roster.notices.is_empty() {
        println!("\n{:<24} ack", "notice");
        for n in &roster.notices {
            println!("{:<24} {}", n.topic.to_string(), n.ack_window);
        }
    }
    Ok(())
}
