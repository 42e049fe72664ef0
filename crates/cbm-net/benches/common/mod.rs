//! What the network benchmarks share.

use cbm_log::author::{Draft, DraftField};
use cbm_wire::{EntryKind, Label, MediaType, Timestamp, Topic};

/// When the benchmark agreements' keys become valid.
pub(crate) const START: Timestamp = Timestamp(1_767_225_600_000);

/// A notification of about the size of a real one, saying `text`.
pub(crate) fn note(text: &str) -> Draft {
    Draft {
        kind: EntryKind::Notification { topic: Topic::new("bench").expect("topic") },
        fields: vec![DraftField::Plain {
            label: Label::new("note").expect("label"),
            media_type: MediaType::new("text/plain").expect("media type"),
            value: format!("{text:>24} with a body of a realistic size for a CBM").into_bytes(),
        }],
    }
}
