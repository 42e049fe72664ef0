//! The core driven by hand, input by input, for the decisions a regression
//! pinned: each test is named after the fault it keeps out.

use std::time::Duration;

use cbm_core::{Action, Answer, CallId, Core, CoreConfig, Identity, Input, Note, ReplyId, Ticket, Time};
use cbm_log::agreement::Agreement;
use cbm_log::author::{Draft, DraftField};
use cbm_log::store::Store;
use cbm_wire::{
    Address, AgreementId, EntryKind, KeyId, Label, MediaType, PublicKey, QuorumPolicy, Request, Roster, RosterLimits,
    Signatory, SignatoryId, SignedCheckpoint, SignedRoster, SigningKey, SigningKeyInfo, Text, Timestamp, Topic,
};
use rand_core::SeedableRng;

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const START: Timestamp = Timestamp(1_767_225_600_000);

/// Signatories O (an owner), V (a witness) and M.
fn agreement() -> TestResult<(Agreement, Vec<(SignatoryId, SigningKey)>)> {
    let parties: Vec<(SignatoryId, SigningKey)> = ["O", "V", "M"]
        .iter()
        .zip(1u8..)
        .map(|(id, seed)| Ok((SignatoryId::new(*id)?, SigningKey::from_bytes(&[seed; 32]))))
        .collect::<Result<_, cbm_wire::ParseIdError>>()?;
    let signatories = parties
        .iter()
        .zip(100u8..)
        .map(|((id, key), transport)| {
            Ok(Signatory {
                id: id.clone(),
                name: Text::new(id.as_str())?,
                signing_keys: vec![SigningKeyInfo {
                    id: KeyId(0),
                    key: PublicKey::of(key),
                    valid_from: START,
                    valid_until: None,
                }],
                transport_key: PublicKey::of(&SigningKey::from_bytes(&[transport; 32])),
                addresses: vec![Address::new("127.0.0.1:1")?],
            })
        })
        .collect::<TestResult<Vec<_>>>()?;
    let roster = Roster {
        agreement: AgreementId::new("core-test")?,
        version: 1,
        title: Text::new("The core driven by hand")?,
        signatories,
        schedules: vec![],
        quorum: QuorumPolicy { threshold: 1 },
        limits: RosterLimits::default(),
        previous: None,
        notices: vec![],
    };
    let signatures = parties.iter().map(|(id, key)| roster.sign_adoption(id, KeyId(0), key)).collect();
    Ok((Agreement::adopt(&SignedRoster { roster, signatures })?, parties))
}

/// The core of party `index`, gossiping with `partners`, mirroring in
/// segments of two entries.
fn core(
    agreement: &Agreement,
    parties: &[(SignatoryId, SigningKey)],
    index: usize,
    partners: Vec<SignatoryId>,
) -> TestResult<Core<Store>> {
    let (me, key) = &parties[index];
    let identity =
        Identity { agreement: agreement.clone(), me: me.clone(), key_id: KeyId(0), signing_key: key.clone() };
    let config = CoreConfig { partners, segment_entries: 2, ..CoreConfig::default() };
    let salts = Box::new(rand_chacha::ChaCha8Rng::seed_from_u64(index as u64));
    Ok(Core::new(identity, config, Store::open(std::path::Path::new(":memory:"))?, salts, at(0))?)
}

/// The time `seconds` into a test.
fn at(seconds: u64) -> Time {
    Time { clock: Timestamp(START.0 + 86_400_000 + seconds * 1000), monotonic: Duration::from_secs(seconds) }
}

fn notices(count: u64, text: &str) -> TestResult<Vec<Draft>> {
    (0..count)
        .map(|n| {
            Ok(Draft {
                kind: EntryKind::Notification { topic: Topic::new("notices")? },
                fields: vec![DraftField::Plain {
                    label: Label::new("note")?,
                    media_type: MediaType::new("text/plain")?,
                    value: format!("{text} {n}").into_bytes(),
                }],
            })
        })
        .collect()
}

/// Publishes `drafts` at `owner`; the checkpoint it signed.
fn publish(owner: &mut Core<Store>, drafts: Vec<Draft>) -> TestResult<SignedCheckpoint> {
    let actions = owner.handle(Input::Publish { ticket: Ticket(0), drafts, key: None }, at(0));
    for action in actions {
        if let Action::Published { outcome, .. } = action {
            return match outcome? {
                cbm_core::Published::New(checkpoint) => Ok(checkpoint),
                other => Err(format!("not published: {other:?}").into()),
            };
        }
    }
    Err("no outcome".into())
}

/// The calls among `actions`: (call, to, request).
fn calls(actions: &[Action]) -> Vec<(CallId, SignatoryId, Request)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Call { call, to, request } => Some((*call, to.clone(), request.clone())),
            _ => None,
        })
        .collect()
}

/// `server`'s answer to `request` from `from`, as the caller takes it in.
fn serve(server: &mut Core<Store>, from: &SignatoryId, request: Request, time: Time) -> Answer {
    for action in feed(server, Input::Request { from: from.clone(), reply: ReplyId(0), request }, time) {
        if let Action::Reply { response, .. } = action {
            return Answer::prepare(server.agreement(), response);
        }
    }
    panic!("the server did not answer")
}

/// Feeds `input` to `core`, then `Continue` for as long as it asks.
fn feed(core: &mut Core<Store>, input: Input, time: Time) -> Vec<Action> {
    let mut actions = core.handle(input, time);
    while actions.iter().any(|a| matches!(a, Action::Continue)) {
        actions.retain(|a| !matches!(a, Action::Continue));
        actions.extend(core.handle(Input::Continue, time));
    }
    actions
}

fn entries_from(request: &Request) -> Option<u64> {
    match request {
        Request::Entries { start, .. } => Some(*start),
        _ => None,
    }
}

/// A source that offers the mirror's checkpoint again and again — here a
/// peer that never answers — takes the mirror over for a request timeout
/// at a time, but never makes it lose what it fetched: it asks the new
/// source for what it lacks, not for everything again, and the mirror
/// ends cosigned once an answering source has it again.
#[test]
fn a_source_that_offers_the_mirrors_checkpoint_again_and_again_never_makes_it_lose_what_it_fetched() -> TestResult {
    let (agreement, parties) = agreement()?;
    let (o, v, m) = (parties[0].0.clone(), parties[1].0.clone(), parties[2].0.clone());
    let mut owner = core(&agreement, &parties, 0, vec![])?;
    let mut witness = core(&agreement, &parties, 1, vec![])?;
    let target = publish(&mut owner, notices(6, "notice")?)?;
    let push = |checkpoint: &SignedCheckpoint| Request::PushCheckpoint { checkpoint: checkpoint.clone() };

    // O pushes; V asks O for the first segment and takes it in.
    let actions =
        feed(&mut witness, Input::Request { from: o.clone(), reply: ReplyId(1), request: push(&target) }, at(0));
    let mut pending = calls(&actions);
    assert_eq!(
        pending.iter().filter_map(|(_, to, r)| entries_from(r).map(|s| (to.clone(), s))).collect::<Vec<_>>(),
        [(o.clone(), 0)]
    );
    // O answers everything V asks until V has staged the first segment.
    for _ in 0..3 {
        let mut next = Vec::new();
        for (call, to, request) in pending.drain(..) {
            if to != o || entries_from(&request).is_some_and(|start| start >= 2) {
                continue; // hold the second segment back
            }
            let answer = serve(&mut owner, &v, request, at(1));
            next.extend(calls(&feed(&mut witness, Input::Answer { call, answer: Ok(answer) }, at(1))));
        }
        pending = next;
    }
    let log = agreement.log_of(&o);
    assert_eq!(witness.store().size(&log)?, 2, "the first segment is staged");

    // M offers the same checkpoint, and after a request timeout the mirror
    // asks M — for what it lacks.
    feed(&mut witness, Input::Request { from: m.clone(), reply: ReplyId(2), request: push(&target) }, at(2));
    let switched = calls(&feed(&mut witness, Input::Timeout, at(11)));
    let asked: Vec<_> = switched.iter().filter_map(|(_, to, r)| entries_from(r).map(|s| (to.clone(), s))).collect();
    assert_eq!(asked, [(m.clone(), 2)], "the new source is asked for what the mirror lacks");

    // M never answers; O offers again, and a request timeout later the
    // mirror asks O, again from where it stood.
    feed(&mut witness, Input::Request { from: o.clone(), reply: ReplyId(3), request: push(&target) }, at(12));
    let mut pending = calls(&feed(&mut witness, Input::Timeout, at(21)));
    let asked: Vec<_> = pending.iter().filter_map(|(_, to, r)| entries_from(r).map(|s| (to.clone(), s))).collect();
    assert_eq!(asked, [(o.clone(), 2)], "the first source is asked again from where the mirror stood, not from 0");
    assert_eq!(witness.store().size(&log)?, 2, "nothing staged was lost");

    // O answers everything now: V cosigns the target.
    let mut cosigned = false;
    for _ in 0..10 {
        let mut next = Vec::new();
        for (call, to, request) in pending.drain(..) {
            if to != o {
                continue;
            }
            let answer = serve(&mut owner, &v, request, at(22));
            let actions = feed(&mut witness, Input::Answer { call, answer: Ok(answer) }, at(22));
            cosigned |= actions.iter().any(|a| matches!(a, Action::Note(Note::Cosigned { size: 6, .. })));
            next.extend(calls(&actions));
        }
        pending = next;
    }
    assert!(cosigned, "the mirror ends cosigned");
    assert_eq!(witness.store().size(&log)?, 6);
    Ok(())
}

/// While a checkpoint is mirrored, another of its size with another root
/// — both signed by the owner — is evidence at once, with nothing fetched.
#[test]
fn a_checkpoint_of_the_mirrors_size_with_another_root_is_evidence_at_once() -> TestResult {
    let (agreement, parties) = agreement()?;
    let (o, m) = (parties[0].0.clone(), parties[2].0.clone());
    let mut owner = core(&agreement, &parties, 0, vec![])?;
    let mut twin = core(&agreement, &parties, 0, vec![])?;
    let mut witness = core(&agreement, &parties, 1, vec![])?;
    let truth = publish(&mut owner, notices(2, "the truth")?)?;
    let lie = publish(&mut twin, notices(2, "a lie")?)?;
    assert_eq!((truth.body.size, lie.body.size), (2, 2));
    assert_ne!(truth.body.root, lie.body.root);
    let request = Request::PushCheckpoint { checkpoint: truth };
    feed(&mut witness, Input::Request { from: o.clone(), reply: ReplyId(1), request }, at(0));
    let request = Request::PushCheckpoint { checkpoint: lie };
    let actions = feed(&mut witness, Input::Request { from: m, reply: ReplyId(2), request }, at(1));
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Note(Note::Evidence { against, out_of_time_order: false }) if *against == o)),
        "evidence against O"
    );
    assert_eq!(witness.store().evidence()?.len(), 1);
    assert!(calls(&actions).is_empty(), "nothing is fetched for it");
    Ok(())
}

/// A round asked for while one is in flight is not lost: it starts as soon
/// as the one in flight ends.
#[test]
fn gossip_asked_for_during_a_round_starts_as_soon_as_the_round_ends() -> TestResult {
    let (agreement, parties) = agreement()?;
    let (o, v) = (parties[0].0.clone(), parties[1].0.clone());
    let mut owner = core(&agreement, &parties, 0, vec![])?;
    let mut witness = core(&agreement, &parties, 1, vec![o.clone()])?;
    let round = calls(&feed(&mut witness, Input::Timeout, at(0)));
    assert_eq!(round.len(), 2, "a view and an evidence page: {round:?}");
    assert!(calls(&feed(&mut witness, Input::GossipNow, at(1))).is_empty(), "no second round alongside");
    for (call, _, request) in round {
        let answer = serve(&mut owner, &v, request, at(1));
        feed(&mut witness, Input::Answer { call, answer: Ok(answer) }, at(1));
    }
    assert!(witness.poll_timeout().is_some_and(|due| due <= Duration::from_secs(1)), "the next round is due now");
    assert_eq!(calls(&feed(&mut witness, Input::Timeout, at(1))).len(), 2);
    Ok(())
}

#[test]
fn a_node_with_more_partners_than_its_fanout_spreads_its_rounds_over_the_cycle_instead_of_calling_all_at_once()
-> TestResult {
    let (agreement, parties) = agreement()?;
    let (me, key) = &parties[0];
    let identity =
        Identity { agreement: agreement.clone(), me: me.clone(), key_id: KeyId(0), signing_key: key.clone() };
    let partners = vec![parties[1].0.clone(), parties[2].0.clone()];
    // One round an interval among two partners: each every second interval.
    let config = CoreConfig { partners, gossip_fanout: 1, ..CoreConfig::default() };
    let salts = Box::new(rand_chacha::ChaCha8Rng::seed_from_u64(0));
    let mut core = Core::new(identity, config, Store::open(std::path::Path::new(":memory:"))?, salts, at(0))?;
    let gossiped = |actions: &[Action]| -> Vec<SignatoryId> {
        calls(actions)
            .into_iter()
            .filter(|(_, _, r)| matches!(r, Request::Gossip { .. }))
            .map(|(_, to, _)| to)
            .collect()
    };
    assert_eq!(gossiped(&feed(&mut core, Input::Timeout, at(0))), [parties[1].0.clone()], "V in the first slot");
    assert_eq!(core.poll_timeout(), Some(Duration::from_secs(10)), "M's slot is the next interval");
    assert_eq!(gossiped(&feed(&mut core, Input::Timeout, at(10))), [parties[2].0.clone()], "M in the second");
    Ok(())
}
