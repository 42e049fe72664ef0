//! `cbm status`: what a running node holds, whom it reaches, and what is owed.

use std::process::ExitCode;

use anyhow::Result;
use cbm_log::answers::AnswerStatus;

use crate::{admin, ask_node};

/// Prints the node's status (or `--json`), after waiting up to `wait`
/// seconds for every log to be mirrored and settled if asked.
pub(crate) fn status(data_dir: &std::path::Path, json: bool, wait: Option<u64>) -> Result<ExitCode> {
    let request = admin::AdminRequest::Status { wait_seconds: wait };
    let what = if wait.is_some() { "waiting for every log to be mirrored and settled" } else { "asking the node" };
    let admin::AdminResponse::Status { status, obligations, unsettled } = ask_node(data_dir, &request, what)? else {
        anyhow::bail!("unexpected answer to a status request");
    };
    let code = if unsettled { ExitCode::from(3) } else { ExitCode::SUCCESS };
    if json {
        let both = serde_json::json!({ "status": status, "obligations": obligations, "settled": !unsettled });
        println!("{}", serde_json::to_string_pretty(&both)?);
        return Ok(code);
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
    if !obligations.to_answer.is_empty() {
        println!("\nrequests waiting for our answer:");
        for a in &obligations.to_answer {
            println!("  {}'s request (entry {}): reply by {}", a.requester, a.index, a.reply_by);
        }
    }
    if !obligations.answers.is_empty() {
        println!("\nrequests answered late or not at all:");
        for a in &obligations.answers {
            let how = match a.status {
                AnswerStatus::Late { response, answered: Some(at), .. } => {
                    format!("answered late (entry {response}), first received {at}")
                }
                AnswerStatus::Late { response, answered: None, .. } => {
                    format!("answered (entry {response}), received by no one by then")
                }
                _ => "not answered".to_owned(),
            };
            println!("  {} asked {} (entry {}), reply by {}: {how}", a.requester, a.party, a.index, a.reply_by);
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
    if unsettled {
        println!("\n{}", why_unsettled(&status, wait.unwrap_or(0)));
    }
    Ok(code)
}

/// Which logs were not settled when `--wait` ran out, and which peers did
/// not answer: what an operator looks at next.
fn why_unsettled(status: &cbm_net::NodeStatus, seconds: u64) -> String {
    let logs: Vec<String> = status
        .logs
        .iter()
        .filter_map(|l| {
            let (size, _, _) = l.checkpoint.as_ref()?;
            (l.settled_size < *size).then(|| format!("{} (settled at {} of {size})", l.owner, l.settled_size))
        })
        .collect();
    let unreachable: Vec<String> =
        status.peers.iter().filter(|p| p.reachable == Some(false)).map(|p| p.peer.to_string()).collect();
    let peers = if unreachable.is_empty() {
        "every peer answers".to_owned()
    } else {
        format!("not answering: {}", unreachable.join(", "))
    };
    format!("NOT SETTLED after {seconds} s: {}; {peers}", logs.join(", "))
}
