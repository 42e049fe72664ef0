//! The simulated agreement: N signatories with keys drawn from the seed,
//! a roster every one of them adopted, and the entries they declare.

use cbm_log::agreement::Agreement;
use cbm_log::author::{Draft, DraftField};
use cbm_wire::{
    Address, AgreementId, EntryKind, KeyId, Label, MediaType, PublicKey, QuorumPolicy, Roster, RosterLimits, Signatory,
    SignatoryId, SignedRoster, SigningKey, SigningKeyInfo, Text, Timestamp, Topic,
};
use rand_core::RngCore;

/// 2026-01-01T00:00:00Z: when the agreement and its keys begin.
pub(crate) const START: Timestamp = Timestamp(1_767_225_600_000);

/// The simulation's time zero, a day after [`START`]: no node's clock,
/// however skewed, reads a time before the keys are valid.
pub(crate) const EPOCH: Timestamp = Timestamp(START.0 + 86_400_000);

/// One signatory's keys.
pub(crate) struct Party {
    pub(crate) id: SignatoryId,
    pub(crate) signing_key: SigningKey,
}

/// An agreement of `n` signatories settled by `quorum` cosignatures.
pub(crate) fn agreement(n: usize, quorum: u32, rng: &mut impl RngCore) -> (Agreement, SignedRoster, Vec<Party>) {
    let parties: Vec<Party> = (1..=n)
        .map(|i| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            Party { id: id(&format!("S{i:03}")), signing_key: SigningKey::from_bytes(&seed) }
        })
        .collect();
    let signatories = parties
        .iter()
        .map(|p| {
            let mut transport = [0u8; 32];
            rng.fill_bytes(&mut transport);
            Signatory {
                id: p.id.clone(),
                name: text(p.id.as_str()),
                signing_keys: vec![SigningKeyInfo {
                    id: KeyId(0),
                    key: PublicKey::of(&p.signing_key),
                    valid_from: START,
                    valid_until: None,
                }],
                transport_key: PublicKey::of(&SigningKey::from_bytes(&transport)),
                addresses: vec![Address::new("127.0.0.1:1").expect("a valid address")],
            }
        })
        .collect();
    let roster = Roster {
        agreement: AgreementId::new("simulated").expect("a valid id"),
        version: 1,
        title: text("A simulated agreement"),
        signatories,
        schedules: vec![],
        quorum: QuorumPolicy { threshold: quorum },
        limits: RosterLimits::default(),
        previous: None,
        notices: vec![],
    };
    let signatures = parties.iter().map(|p| roster.sign_adoption(&p.id, KeyId(0), &p.signing_key)).collect();
    let signed = SignedRoster { roster, signatures };
    let agreement = Agreement::adopt(&signed).expect("the simulated roster is adoptable");
    (agreement, signed, parties)
}

/// Notification number `n` of a publication: a plain field, and every
/// third one a field committed to `recipient`.
pub(crate) fn notice(n: u64, recipient: &SignatoryId) -> Draft {
    let mut fields = vec![DraftField::Plain {
        label: label("note"),
        media_type: media_type(),
        value: format!("simulated notice {n}").into_bytes(),
    }];
    if n.is_multiple_of(3) {
        fields.push(DraftField::Committed {
            label: label("contact"),
            media_type: media_type(),
            value: format!("a contact for {recipient} only, {n}").into_bytes(),
            recipients: vec![recipient.clone()],
        });
    }
    Draft { kind: EntryKind::Notification { topic: Topic::new("notices").expect("a valid topic") }, fields }
}

fn id(value: &str) -> SignatoryId {
    SignatoryId::new(value).expect("a valid id")
}

fn text(value: &str) -> Text {
    Text::new(value).expect("a valid text")
}

fn label(value: &str) -> Label {
    Label::new(value).expect("a valid label")
}

fn media_type() -> MediaType {
    MediaType::new("text/plain").expect("a valid media type")
}
