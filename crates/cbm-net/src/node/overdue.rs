//! Tells the operator, in the node's log and once each, what falls overdue:
//! a declaration not received by its due time, an acknowledgement of one of
//! our entries missing or late, a request answered late or not at all, and
//! a request waiting for our answer. The node judges its obligations
//! (`super::obligations`) now and then, not on every change: that reads
//! every log.

use std::collections::HashSet;
use std::sync::Weak;
use std::time::Duration;

use cbm_log::answers::AnswerStatus;
use cbm_log::schedule::AckStatus;
use cbm_log::words::span_words;
use tracing::{info, warn};

use super::events::EventKind;
use super::obligations::{Obligations, obligations};
use super::shared::Shared;

/// Time between two looks at the obligations, once the first is made.
const EVERY: Duration = Duration::from_secs(300);

/// Gossip rounds the node waits before its first look, so that what its
/// peers hold has reached it and a peer's declaration made while it was
/// down is not called overdue.
const FIRST_AFTER_ROUNDS: u32 = 3;

/// Lines logged per look, at most: a node started on an agreement years
/// old finds every period it missed at once, and says how many more.
const LINES_PER_LOOK: usize = 20;

/// Looks at the obligations after [`FIRST_AFTER_ROUNDS`] gossip rounds of
/// `gossip_interval`, then every [`EVERY`], for as long as the node lives,
/// logging each thing overdue the first time it is seen.
pub(crate) async fn watch(shared: Weak<Shared>, gossip_interval: Duration) {
    let mut told = HashSet::new();
    tokio::time::sleep(gossip_interval * FIRST_AFTER_ROUNDS).await;
    loop {
        let Some(node) = shared.upgrade() else { return };
        match obligations(&node).await {
            Ok(found) => {
                let new: Vec<String> =
                    lines(&found).into_iter().map(|line| line.text).filter(|text| told.insert(text.clone())).collect();
                for line in new.iter().take(LINES_PER_LOOK) {
                    info!("{line}");
                }
                if new.len() > LINES_PER_LOOK {
                    info!("and {} more overdue: `cbm status` lists them all", new.len() - LINES_PER_LOOK);
                }
            }
            Err(e) => warn!("judging the obligations: {e}"),
        }
        drop(node);
        tokio::time::sleep(EVERY).await;
    }
}

/// One thing overdue, due soon or waiting for our answer, in words.
pub(crate) struct Line {
    /// Which.
    pub(crate) kind: EventKind,
    /// For a request waiting for our answer: the request (its author and index).
    pub(crate) request: Option<(cbm_wire::SignatoryId, u64)>,
    /// The words.
    pub(crate) text: String,
}

/// What is overdue, due soon or waiting for our answer in `found`, a line each.
pub(crate) fn lines(found: &Obligations) -> Vec<Line> {
    let line = |kind, text| Line { kind, request: None, text };
    let mut out = Vec::new();
    for o in &found.overdue {
        let how = o.delivered.map_or_else(|| "not yet received by the quorum".to_owned(), |d| format!("received {d}"));
        out.push(line(
            EventKind::Overdue,
            format!(
                "obligation overdue: {}'s {} declaration for period {}, due {}: {how}",
                o.signatory, o.topic, o.period, o.due
            ),
        ));
    }
    for o in &found.due_soon {
        out.push(line(
            EventKind::DueSoon,
            format!("due soon: our {} declaration for period {} is due {} and not made yet", o.topic, o.period, o.due),
        ));
    }
    for a in &found.acknowledgements {
        let how = match a.status {
            AckStatus::Late { delay } => format!("acknowledged late, after {}", span_words(delay)),
            _ => "not acknowledged within its window".to_owned(),
        };
        out.push(line(
            EventKind::Overdue,
            format!("acknowledgement overdue: our entry {} by {}: {how}", a.index, a.recipient),
        ));
    }
    for a in &found.answers {
        let how = match a.status {
            AnswerStatus::Late { .. } => "answered late",
            _ => "not answered",
        };
        out.push(line(
            EventKind::Overdue,
            format!(
                "request overdue: {}'s request (entry {}) to {}, reply by {}: {how}",
                a.requester, a.index, a.party, a.reply_by
            ),
        ));
    }
    for a in &found.to_answer {
        out.push(Line {
            kind: EventKind::ToAnswer,
            request: Some((a.requester.clone(), a.index)),
            text: format!(
                "a request waits for our answer: {}'s request (entry {}), reply by {} (cbm declare --kind respond --cites {}:{})",
                a.requester, a.index, a.reply_by, a.requester, a.index
            ),
        });
    }
    out
}
