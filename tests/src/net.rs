//! Helpers for tests with real nodes on loopback.

use std::sync::Arc;
use std::time::Duration;

use cbm_log::author::{Draft, DraftField};
use cbm_net::local::{LocalAgreement, Terms};
use cbm_net::{ManualClock, Node};
use cbm_wire::{AgreementId, EntryKind, Label, MediaType, Schedule, Text, TimeSpan, Timestamp, Topic};

/// 2026-01-01T00:00:00Z.
pub const START: Timestamp = Timestamp(1_767_225_600_000);

/// How long a test waits for the network to reach a state before failing.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The scheduled topic of the test agreements.
pub fn topic() -> Topic {
    Topic::new("points-of-contact").expect("topic")
}

/// Monthly declarations due a week into the month, acknowledged within 48 h.
pub fn terms(quorum: u32) -> Terms {
    Terms {
        agreement: AgreementId::new("test-cbm").expect("id"),
        title: Text::new("Test agreement").expect("title"),
        schedules: vec![Schedule::monthly(topic(), START, TimeSpan::from_hours(24 * 7), TimeSpan::from_hours(48))],
        quorum,
        start: START,
    }
}

/// The declaration for `period`, with one plain field.
pub fn declaration(period: u64, text: &str) -> Draft {
    Draft {
        kind: EntryKind::Declaration { topic: topic(), period },
        fields: vec![DraftField::Plain {
            label: Label::new("contact").expect("label"),
            media_type: MediaType::new("text/plain").expect("media type"),
            value: text.as_bytes().to_vec(),
        }],
    }
}

/// Starts one node per party, each with its own store in `dir`.
pub async fn start_all(agreement: &mut LocalAgreement, dir: &std::path::Path, clock: &Arc<ManualClock>) -> Vec<Node> {
    let mut nodes = Vec::new();
    for index in 0..agreement.parties.len() {
        let store = dir.join(format!("{}.db", agreement.parties[index].id));
        let config = agreement.node_config(index, store, Arc::clone(clock) as _, None).expect("config");
        nodes.push(Node::start(config).await.expect("node starts"));
    }
    nodes
}
