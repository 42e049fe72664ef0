//! `cbm ping`: a communication check to the other states (spec/log.md
//! §5.6) — a request whose only purpose is to see that they answer — and
//! the table of how each answered the checks so far.

use std::process::ExitCode;

use anyhow::{Context, Result};
use cbm_log::answers::CHECK_LABEL;
use cbm_wire::{Label, MediaType, Timestamp};

use crate::admin::{AdminRequest, AdminResponse, FieldSpec, KindSpec};
use crate::cli::PingArgs;

/// Sends a check, or with `--report` prints how each state answered.
pub(crate) fn ping(args: PingArgs) -> Result<ExitCode> {
    if args.report { report(&args) } else { crate::runtime()?.block_on(send(args)) }
}

/// Sends a check through the node.
async fn send(args: PingArgs) -> Result<ExitCode> {
    let within = args.reply_within.context("--reply-within is required to send a check")?;
    let now = crate::now();
    let reply_by = Timestamp(now.0.saturating_add(within.0));
    let field = FieldSpec {
        label: Label::new(CHECK_LABEL)?,
        media_type: MediaType::new("text/plain")?,
        value: format!("communication check sent {now}: please answer by {reply_by}"),
        committed_to: None,
    };
    let kind = KindSpec::Request { to: args.ask.clone(), reply_by };
    // Each check is new: its text names the time it was sent.
    crate::declare_cmd::publish(&args.data_dir, kind, vec![field], args.wait, None, args.json).await
}

/// Prints how each state answered the checks the node knows of.
fn report(args: &PingArgs) -> Result<ExitCode> {
    let request = AdminRequest::Status { wait_seconds: None };
    let AdminResponse::Status { obligations, .. } = crate::ask_node(&args.data_dir, &request, "asking the node")?
    else {
        anyhow::bail!("unexpected answer to a status request");
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&obligations.checks)?);
    } else if obligations.checks.is_empty() {
        println!("no communication check yet (send one: cbm ping --data-dir DIR --reply-within 2h)");
    } else {
        println!("communication checks, per state asked:\n{}", crate::report::checks_table(&obligations.checks));
    }
    Ok(ExitCode::SUCCESS)
}
