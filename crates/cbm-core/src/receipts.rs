//! Cosignatures pushed by peers, stored in groups (spec/transport.md §5.4).
//! Every witness answers a new checkpoint at about the same time; storing
//! each push in its own durable commit would queue them behind one another.
//! Instead a push waits for [`crate::Input::Continue`], and every push that
//! arrived by then is stored in the same commit: a burst costs a few
//! commits, and a lone push waits for nothing.

use cbm_wire::{Cosignature, ErrorCode, Response};

use crate::io::{Action, Note, ReplyId};
use crate::serve::{error, store_error};
use crate::store::NodeStore;
use crate::{Core, Work};

/// Most cosignatures stored in one commit.
const MAX_GROUP: usize = 256;

impl<S: NodeStore> Core<S> {
    /// A peer pushed `cosignature`: verified now, stored with the group.
    pub(crate) fn pushed_cosignature(&mut self, reply: ReplyId, cosignature: Cosignature) {
        if let Err(e) = self.agreement.verify_cosignature(&cosignature) {
            self.out.push(Action::Reply { reply, response: error(ErrorCode::Rejected, &e.to_string()) });
            return;
        }
        if self.receipts.is_empty() {
            self.defer(Work::Receipts);
        }
        self.receipts.push((reply, cosignature));
    }

    /// Stores the waiting group in one commit and answers each push.
    pub(crate) fn store_receipts(&mut self) {
        let take = self.receipts.len().min(MAX_GROUP);
        let group: Vec<_> = self.receipts.drain(..take).collect();
        if !self.receipts.is_empty() {
            self.defer(Work::Receipts);
        }
        let cosignatures: Vec<Cosignature> = group.iter().map(|(_, c)| c.clone()).collect();
        let outcomes = match self.store.add_cosignatures(&cosignatures) {
            Ok(outcomes) => outcomes,
            Err(e) => {
                let response = store_error(&e);
                self.note(Note::store(&e));
                for (reply, _) in group {
                    self.out.push(Action::Reply { reply, response: response.clone() });
                }
                return;
            }
        };
        if outcomes.contains(&Some(true)) {
            self.note(Note::Changed);
            self.note_settlement();
        }
        for ((reply, _), outcome) in group.into_iter().zip(outcomes) {
            let response = match outcome {
                Some(_) => Response::Accepted,
                None => error(ErrorCode::NotFound, "the cosigned checkpoint is not held"),
            };
            self.out.push(Action::Reply { reply, response });
        }
    }
}
