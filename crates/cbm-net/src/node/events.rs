//! What a person watching a node wants to be told of as it happens: a
//! notification, a request that asks us, a response to or an objection
//! against one of our entries, evidence found, a peer unreachable or back,
//! and what falls overdue or waits for our answer. Events are found by
//! comparing what the node holds now with a cursor of what was seen before,
//! which the watcher keeps: a watcher that stops and starts again with its
//! cursor is told of everything once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cbm_log::store::StoreError;
use cbm_wire::{EntryKind, SignatoryId, SignedEntry, Timestamp};
use serde::{Deserialize, Serialize};

use super::obligations::obligations;
use super::overdue::lines;
use super::shared::Shared;
use super::status::status;

/// Entries read per query.
const PAGE: u64 = 1024;

/// What a watcher has been told of.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCursor {
    /// Whether the cursor was ever set: a new watcher starts from what the
    /// node holds now, and is told only of what is overdue or waiting.
    pub started: bool,
    /// Per other log, the entries looked through.
    pub logs: BTreeMap<SignatoryId, u64>,
    /// Those the node held evidence against.
    pub equivocators: BTreeSet<SignatoryId>,
    /// The peers that did not answer.
    pub unreachable: BTreeSet<SignatoryId>,
    /// What was said overdue, due soon or waiting and still is: a digest of
    /// its words each (128 bits, hex), so the cursor stays small.
    pub told: BTreeSet<String>,
}

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A notification (every notification is addressed to everyone).
    Notification,
    /// A request that asks us.
    Request,
    /// A response citing one of our entries.
    Response,
    /// An objection against one of our entries.
    Objection,
    /// Evidence found: a signatory showed two views of its log.
    Evidence,
    /// A peer stopped answering.
    PeerUnreachable,
    /// A peer answers again.
    PeerBack,
    /// Something fell overdue: a declaration, an acknowledgement of our
    /// entries, a request's answer.
    Overdue,
    /// A request waits for our answer.
    ToAnswer,
    /// A declaration of ours is due within the warning time, not made yet.
    DueSoon,
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What it is about.
    pub kind: EventKind,
    /// When the node saw it (its clock).
    pub seen: Timestamp,
    /// The signatory it comes from or concerns, if one.
    pub from: Option<SignatoryId>,
    /// The entry of `from`'s log it is, if one.
    pub entry: Option<u64>,
    /// The event in words.
    pub text: String,
}

/// The events since `cursor`, and the cursor after them.
pub(crate) async fn events(shared: &Arc<Shared>, cursor: EventCursor) -> Result<(Vec<Event>, EventCursor), StoreError> {
    let seen = shared.clock.now();
    let me = shared.me.clone();
    let agreement = shared.agreement.clone();
    let mut next = cursor.clone();
    next.started = true;
    let mut found = Vec::new();
    let positions = cursor.logs.clone();
    let fresh = !cursor.started;
    let (entries, sizes) = shared
        .with_reader(move |store| {
            let mut entries = Vec::new();
            let mut sizes = BTreeMap::new();
            for signatory in agreement.roster().signatories.iter().filter(|s| s.id != me) {
                let log = agreement.log_of(&signatory.id);
                let size = store.size(&log)?;
                let mut at = if fresh { size } else { positions.get(&signatory.id).copied().unwrap_or(0) };
                while at < size {
                    let page = store.entries(&log, at, PAGE)?;
                    at += page.len() as u64;
                    entries.extend(page);
                }
                sizes.insert(signatory.id.clone(), size);
            }
            Ok((entries, sizes))
        })
        .await?;
    next.logs = sizes;
    found.extend(entries.iter().filter_map(|entry| of_entry(&shared.me, entry, seen)));
    let now = status(shared).await?;
    let equivocators: BTreeSet<SignatoryId> = now.equivocators.into_iter().collect();
    let unreachable: BTreeSet<SignatoryId> =
        now.peers.iter().filter(|p| p.reachable == Some(false)).map(|p| p.peer.clone()).collect();
    if !fresh {
        for who in equivocators.difference(&cursor.equivocators) {
            let text = format!("evidence found: {who} showed different views of its log to different parties");
            found.push(Event { kind: EventKind::Evidence, seen, from: Some(who.clone()), entry: None, text });
        }
        for who in unreachable.difference(&cursor.unreachable) {
            let text = format!("peer unreachable: {who} does not answer");
            found.push(Event { kind: EventKind::PeerUnreachable, seen, from: Some(who.clone()), entry: None, text });
        }
        for who in cursor.unreachable.difference(&unreachable) {
            let text = format!("peer back: {who} answers again");
            found.push(Event { kind: EventKind::PeerBack, seen, from: Some(who.clone()), entry: None, text });
        }
    }
    next.equivocators = equivocators;
    next.unreachable = unreachable;
    // A request that asks us is one event, not also "waiting" in the same look.
    let requests: BTreeSet<(SignatoryId, u64)> = found
        .iter()
        .filter(|e| e.kind == EventKind::Request)
        .filter_map(|e| Some((e.from.clone()?, e.entry?)))
        .collect();
    // Only what still holds is remembered: the cursor never outgrows the
    // obligations of the moment.
    next.told = BTreeSet::new();
    for line in lines(&obligations(shared).await?) {
        let digest = blake3::hash(line.text.as_bytes()).to_hex()[..32].to_owned();
        let new = !cursor.told.contains(&digest);
        next.told.insert(digest);
        if new && line.request.as_ref().is_none_or(|r| !requests.contains(r)) {
            found.push(Event {
                kind: line.kind,
                seen,
                from: line.request.map(|(from, _)| from),
                entry: None,
                text: line.text,
            });
        }
    }
    Ok((found, next))
}

/// The event `entry` (of another log) is to `me`, if any.
fn of_entry(me: &SignatoryId, entry: &SignedEntry, seen: Timestamp) -> Option<Event> {
    let (from, index) = (&entry.body.signatory, entry.body.index);
    let (kind, text) = match &entry.body.kind {
        EntryKind::Notification { topic } => {
            (EventKind::Notification, format!("notification from {from} on {topic} (entry {from}:{index})"))
        }
        EntryKind::Request { to, reply_by } if to.is_empty() || to.contains(me) => (
            EventKind::Request,
            format!(
                "request from {from} (entry {from}:{index}), reply by {reply_by}: answer with \
                 cbm declare --kind respond --cites {from}:{index}"
            ),
        ),
        EntryKind::Response { cites } if cites.signatory == *me => {
            (EventKind::Response, format!("response from {from} to our entry {} (entry {from}:{index})", cites.index))
        }
        EntryKind::Objection { cites, reason } if cites.signatory == *me => (
            EventKind::Objection,
            format!("objection from {from} to our entry {} (entry {from}:{index}): {reason}", cites.index),
        ),
        _ => return None,
    };
    Some(Event { kind, seen, from: Some(from.clone()), entry: Some(index), text })
}
