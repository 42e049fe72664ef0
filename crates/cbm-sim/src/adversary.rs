//! The Byzantine peer: a signatory that runs no core. Its keys are in the
//! roster, so what it signs verifies; what it says is chosen to hurt. On
//! its turns it pushes checkpoints of its own log with invented roots,
//! checkpoints and cosignatures with broken signatures, and stale ones it
//! saw; asked anything, it answers with entries that do not fit, proofs of
//! random hashes, forged evidence and replayed views — a third of the time
//! slowly, just within the caller's request timeout.

use cbm_core::CallId;
use cbm_wire::{
    Checkpoint, ConsistencyProof, CosignBody, Cosignature, EquivocationEvidence, InclusionProof, KeyId, Request,
    Response, RootHash, SignedCheckpoint, SignedEntry, Timestamp, TreeHash,
};
use rand_core::{RngCore, SeedableRng};

use crate::agreement::{EPOCH, notice};
use crate::node::Return;
use crate::world::World;

/// Most items of each kind the peer keeps to replay.
const MEMORY: usize = 64;

/// What the Byzantine peer saw, to replay it.
#[derive(Debug, Default)]
pub(crate) struct Byzantine {
    checkpoints: Vec<SignedCheckpoint>,
    cosignatures: Vec<Cosignature>,
    entries: Vec<SignedEntry>,
    calls: u64,
}

impl Byzantine {
    pub(crate) fn new(_node: Option<usize>) -> Self {
        Self::default()
    }

    /// Keeps what a response showed it.
    pub(crate) fn remember(&mut self, response: Response) {
        match response {
            Response::Gossip { checkpoints, cosignatures } => {
                keep(&mut self.checkpoints, checkpoints);
                keep(&mut self.cosignatures, cosignatures);
            }
            Response::Entries { entries } => keep(&mut self.entries, entries),
            _ => {}
        }
    }

    fn remember_request(&mut self, request: &Request) {
        match request {
            Request::PushCheckpoint { checkpoint } => keep(&mut self.checkpoints, vec![checkpoint.clone()]),
            Request::PushCosignature { cosignature } => keep(&mut self.cosignatures, vec![cosignature.clone()]),
            Request::Gossip { checkpoints, cosignatures } => {
                keep(&mut self.checkpoints, checkpoints.clone());
                keep(&mut self.cosignatures, cosignatures.clone());
            }
            _ => {}
        }
    }
}

fn keep<T>(memory: &mut Vec<T>, items: Vec<T>) {
    memory.extend(items);
    if memory.len() > MEMORY {
        memory.drain(..memory.len() - MEMORY);
    }
}

fn pick<'a, T>(items: &'a [T], rng: &mut impl RngCore) -> Option<&'a T> {
    let len = items.len() as u64;
    (len > 0).then(|| &items[(rng.next_u64() % len) as usize])
}

fn random_hash(rng: &mut impl RngCore) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// A checkpoint of the peer's own log with an invented root.
fn invented_checkpoint(world: &mut World, node: usize) -> SignedCheckpoint {
    let log = world.agreement.log_of(&world.party(node).id);
    let size = 1 + world.rng.next_u64() % 4;
    let root = RootHash(random_hash(&mut world.rng));
    let timestamp = Timestamp(EPOCH.0 + world.now);
    let body = Checkpoint { log, size, root, timestamp };
    SignedCheckpoint::sign(body, world.agreement.hash(), KeyId(0), &world.party(node).signing_key)
}

/// The peer's turn: one piece of mischief sent to one node.
pub(crate) fn mischief(world: &mut World, node: usize) {
    let targets = world.targets();
    let Some(&target) = pick(&targets, &mut world.rng) else { return };
    if world.is_cut(node) {
        return;
    }
    let request = match world.rng.next_u64() % 6 {
        0 => Request::PushCheckpoint { checkpoint: invented_checkpoint(world, node) },
        1 => {
            let Some(mut checkpoint) = pick(&world.byzantine().checkpoints.clone(), &mut world.rng).cloned() else {
                return;
            };
            checkpoint.signature.0[world.rng.next_u64() as usize % 64] ^= 1;
            Request::PushCheckpoint { checkpoint }
        }
        2 => {
            let Some(checkpoint) = pick(&world.byzantine().checkpoints.clone(), &mut world.rng).cloned() else {
                return;
            };
            Request::PushCheckpoint { checkpoint }
        }
        3 => {
            let Some(checkpoint) = pick(&world.byzantine().checkpoints.clone(), &mut world.rng).cloned() else {
                return;
            };
            // A cosignature it signs without holding anything: it may lie
            // about what it received, but not in another's name.
            let body = CosignBody {
                witness: world.party(node).id.clone(),
                checkpoint: checkpoint.body,
                cosigned_at: Timestamp(EPOCH.0 + world.now),
            };
            let key = world.party(node).signing_key.clone();
            let mut cosignature = Cosignature::sign(body, world.agreement.hash(), KeyId(0), &key);
            if world.rng.next_u64().is_multiple_of(2) {
                cosignature.signature.0[0] ^= 0x80;
            }
            Request::PushCosignature { cosignature }
        }
        4 => {
            let byzantine = world.byzantine();
            let (checkpoints, cosignatures) = (byzantine.checkpoints.clone(), byzantine.cosignatures.clone());
            Request::Gossip { checkpoints, cosignatures }
        }
        _ => Request::Gossip { checkpoints: vec![], cosignatures: vec![] },
    };
    let call = CallId(world.byzantine().calls);
    world.byzantine().calls += 1;
    let ret = Return { node, slot: 0, call, life: 0 };
    world.send_request(node, target, ret, request, false);
}

/// The peer answers a request from `from`, to hurt.
pub(crate) fn answer(world: &mut World, node: usize, ret: Return, request: &Request) {
    world.byzantine().remember_request(request);
    let response = match request {
        Request::Entries { start, count, .. } => {
            let seen = world.byzantine().entries.clone();
            let mut entries: Vec<SignedEntry> = seen.into_iter().take(*count as usize).collect();
            if entries.is_empty() || world.rng.next_u64().is_multiple_of(2) {
                // Entries of its own log at the indices asked, signed by it:
                // valid entries, of a tree no checkpoint of it has.
                let mut salts = rand_chacha::ChaCha8Rng::seed_from_u64(world.rng.next_u64());
                let (id, key) = (world.party(node).id.clone(), world.party(node).signing_key.clone());
                let author = cbm_log::author::Author {
                    agreement: &world.agreement,
                    signatory: &id,
                    key_id: KeyId(0),
                    key: &key,
                };
                let drafts = (0..u64::from(*count).min(3)).map(|i| notice(*start + i, &id)).collect();
                entries = author
                    .write_all(drafts, *start, Timestamp(EPOCH.0 + world.now), &mut salts)
                    .into_iter()
                    .map(|a| a.entry)
                    .collect();
            }
            Response::Entries { entries }
        }
        Request::ConsistencyProof { old_size, new_size, .. } => {
            let path = (0..3).map(|_| TreeHash(random_hash(&mut world.rng))).collect();
            Response::ConsistencyProof { proof: ConsistencyProof { old_size: *old_size, new_size: *new_size, path } }
        }
        Request::InclusionProof { index, size, .. } => {
            let path = (0..3).map(|_| TreeHash(random_hash(&mut world.rng))).collect();
            Response::InclusionProof { proof: InclusionProof { index: *index, size: *size, path } }
        }
        Request::LatestCheckpoint { .. } => Response::Checkpoint { checkpoint: Some(invented_checkpoint(world, node)) },
        Request::Gossip { .. } => {
            let mut checkpoints = world.byzantine().checkpoints.clone();
            checkpoints.push(invented_checkpoint(world, node));
            Response::Gossip { checkpoints, cosignatures: world.byzantine().cosignatures.clone() }
        }
        Request::Evidence { .. } => {
            // Evidence against an honest signatory, forged from what it saw.
            let seen = world.byzantine().checkpoints.clone();
            let evidence = match (pick(&seen, &mut world.rng).cloned(), pick(&seen, &mut world.rng).cloned()) {
                (Some(first), Some(mut second)) => {
                    second.body.size = first.body.size;
                    second.body.log = first.body.log;
                    vec![EquivocationEvidence::SameSize { first, second }]
                }
                _ => vec![],
            };
            Response::Evidence { evidence }
        }
        Request::Openings { .. } => Response::Openings { openings: vec![] },
        Request::Cosignatures { .. } => Response::Cosignatures { cosignatures: world.byzantine().cosignatures.clone() },
        Request::PushCheckpoint { .. } | Request::PushCosignature { .. } => Response::Accepted,
    };
    // A third of its answers come slowly, each just within the caller's
    // request timeout: a relay that holds mirrors up.
    if world.rng.next_u64().is_multiple_of(3) {
        let delay = 1_000 + world.rng.next_u64() % 900;
        world.send_response_later(node, ret, response, delay);
    } else {
        world.send_response(node, ret, response, false);
    }
}
