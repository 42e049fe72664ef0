//! Answers communication checks by itself, when the operator said so
//! (`NodeConfig::answer_checks`; spec/log.md §5.6): each gossip round the
//! node reads what the other logs gained since it last looked, and answers
//! each check that asks it, its reply-by time still ahead, with a
//! `Response` citing it — a few a round, so a flood of checks is answered
//! slowly rather than all at once. Each answer is published under a key of
//! the check it answers, so a check is answered once, across restarts too.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration;

use cbm_core::{IdempotencyKey, Published};
use cbm_log::answers::check_asks;
use cbm_log::author::{Draft, DraftField};
use cbm_wire::{Digest, EntryKind, EntryRef, Label, LogId, MediaType, SignedEntry};
use tokio::sync::oneshot;
use tracing::{info, warn};

use super::driver::Command;
use super::shared::Shared;

/// Entries read per query.
const PAGE: u64 = 1024;

/// Answers published per round, at most: a flood of checks is answered a
/// few at a time, and the operator's own publications are not held up.
const ANSWERS_PER_ROUND: usize = 16;

/// Times a check is tried before it is passed by (logged): one that cannot
/// be answered must not hold up the checks after it.
const ATTEMPTS: u32 = 3;

/// Answers, every `gossip_interval`, the checks that ask this node and
/// whose reply-by time is still ahead, for as long as the node lives.
pub(crate) async fn answer(shared: Weak<Shared>, gossip_interval: Duration) {
    // How far each other log has been looked through, and the attempts at
    // the checks that failed.
    let mut seen: HashMap<LogId, u64> = HashMap::new();
    let mut failed: HashMap<(LogId, u64), u32> = HashMap::new();
    loop {
        tokio::time::sleep(gossip_interval).await;
        let Some(node) = shared.upgrade() else { return };
        let (me, now) = (node.me.clone(), node.clock.now());
        let logs: Vec<(LogId, u64)> = node
            .agreement
            .roster()
            .signatories
            .iter()
            .filter(|s| s.id != me)
            .map(|s| node.agreement.log_of(&s.id))
            .map(|log| (log, seen.get(&log).copied().unwrap_or(0)))
            .collect();
        let found = node
            .with_reader(move |store| {
                let mut found = Vec::new();
                for (log, from) in logs {
                    let size = store.size(&log)?;
                    let mut checks = Vec::new();
                    let mut next = from;
                    while next < size {
                        let page = store.entries(&log, next, PAGE)?;
                        next += page.len() as u64;
                        let open = |e: &SignedEntry| {
                            matches!(e.body.kind, EntryKind::Request { reply_by, .. } if reply_by >= now)
                        };
                        checks.extend(page.into_iter().filter(|e| check_asks(e, &me) && open(e)));
                    }
                    found.push((log, checks, size));
                }
                Ok(found)
            })
            .await;
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                warn!("looking for communication checks: {e}");
                continue;
            }
        };
        let mut budget = ANSWERS_PER_ROUND;
        for (log, checks, size) in found {
            // The log is looked through up to its first check left for later.
            let mut reached = size;
            for check in &checks {
                let index = check.body.index;
                if budget == 0 {
                    reached = index;
                    break;
                }
                budget -= 1;
                if publish_answer(&node, check).await {
                    failed.remove(&(log, index));
                    continue;
                }
                let attempts = failed.entry((log, index)).or_insert(0);
                *attempts += 1;
                if *attempts < ATTEMPTS {
                    reached = index;
                    break;
                }
                warn!(check = %format!("{}:{index}", check.body.signatory), "communication check not answered, passed by");
                failed.remove(&(log, index));
            }
            seen.insert(log, reached);
        }
    }
}

/// Publishes the answer to `check`; whether it is published (now or
/// earlier).
async fn publish_answer(node: &Shared, check: &SignedEntry) -> bool {
    let cited = EntryRef { signatory: check.body.signatory.clone(), index: check.body.index, hash: check.hash() };
    let (Ok(label), Ok(media_type)) = (Label::new("answer"), MediaType::new("text/plain")) else { return false };
    let draft = Draft {
        kind: EntryKind::Response { cites: cited.clone() },
        fields: vec![DraftField::Plain {
            label,
            media_type,
            value: b"communication check answered by the node".to_vec(),
        }],
    };
    let name = format!("check {}:{} {}", cited.signatory, cited.index, cited.hash);
    let digest = Digest(*blake3::hash(name.as_bytes()).as_bytes());
    let Ok(key) = IdempotencyKey::chosen(&name, digest) else { return false };
    let (done, outcome) = oneshot::channel();
    if !node.command(Command::Publish { drafts: vec![draft], key: Some(key), done }) {
        return false;
    }
    match outcome.await {
        Ok(Ok(Published::New(_))) => {
            info!(check = %format!("{}:{}", cited.signatory, cited.index), "communication check answered");
            true
        }
        Ok(Ok(Published::Earlier(_))) => true,
        Ok(Err(e)) => {
            warn!("answering the communication check {}:{}: {e}", cited.signatory, cited.index);
            false
        }
        Err(_) => false,
    }
}
