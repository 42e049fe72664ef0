//! `cbm declare`: publishes an entry through the running node.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::admin;
use crate::cli::{DeclareArgs, Kind};

/// `declare`'s exit code for an entry stored but not received by the
/// quorum when `--wait` ran out.
const EXIT_NOT_YET_RECEIVED: u8 = 3;

/// `declare`'s exit code when the node went away before it answered.
const EXIT_OUTCOME_UNKNOWN: u8 = 4;

/// `NAME=VALUE` (or `NAME:VALUE`) split at its first separator; `what`
/// names the argument in the error.
pub(crate) fn split_pair(text: &str, what: &str) -> Result<(String, String)> {
    let (a, b) = text.split_once(['=', ':']).with_context(|| format!("{what} {text:?} is not NAME=VALUE"))?;
    Ok((a.to_owned(), b.to_owned()))
}

/// The fields of a `--fields-file`: a JSON list, or TOML `[[field]]` tables.
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

/// Publishes the entry `args` describe through the node, and says what
/// became of it in the exit code (0, 2, 3 or 4: `cbm declare --help`).
pub(crate) async fn declare(args: DeclareArgs) -> Result<ExitCode> {
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
    // The parser requires --commit-to with --commit.
    let flagged = |field: &String, flag: &str, committed_to: Option<Vec<cbm_wire::SignatoryId>>| -> Result<_> {
        let (label, value) = split_pair(field, flag)?;
        Ok(admin::FieldSpec { label: label.parse()?, media_type: args.media_type.clone(), value, committed_to })
    };
    let mut fields = Vec::new();
    for field in &args.fields {
        fields.push(flagged(field, "--field", None)?);
    }
    for field in &args.committed {
        fields.push(flagged(field, "--commit", Some(args.commit_to.clone()))?);
    }
    if let Some(path) = &args.fields_file {
        fields.extend(read_fields_file(path)?);
    }
    publish(&args.data_dir, kind, fields, args.wait, args.idempotency_key, args.json).await
}

/// Publishes one entry of `kind` with `fields` through the node of
/// `data_dir`, waiting up to `wait` seconds for the quorum's receipt, and
/// says what became of it (as text, or JSON) and in the exit code.
pub(crate) async fn publish(
    data_dir: &std::path::Path,
    kind: admin::KindSpec,
    fields: Vec<admin::FieldSpec>,
    wait: Option<u64>,
    idempotency_key: Option<String>,
    json: bool,
) -> Result<ExitCode> {
    let request = admin::AdminRequest::Publish { kind, fields, wait_seconds: wait, idempotency_key };
    let answer = match admin::call(data_dir, &request).await {
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
    let (index, size, earlier, received) = match answer {
        admin::AdminResponse::Published { index, size, earlier } => (index, size, earlier, wait.map(|_| true)),
        admin::AdminResponse::NotYetReceived { index, size, earlier, waited_seconds } => {
            eprintln!(
                "entry {index} is published and stored, but the quorum has not received it within {waited_seconds} s \
                 (are the peers reachable? it is delivered when they are)"
            );
            (index, size, earlier, Some(false))
        }
        other => anyhow::bail!("unexpected answer: {other:?}"),
    };
    if json {
        let outcome = serde_json::json!({ "index": index, "size": size, "earlier": earlier, "received": received });
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        if earlier {
            println!("entry {index} was already published (the log then held {size}); not published again");
        } else {
            println!("published entry {index}; the log now holds {size}");
        }
        if received == Some(true) {
            println!("received by the quorum");
        }
    }
    Ok(if received == Some(false) { ExitCode::from(EXIT_NOT_YET_RECEIVED) } else { ExitCode::SUCCESS })
}
