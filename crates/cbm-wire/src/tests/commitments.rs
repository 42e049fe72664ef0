//! Committed fields: openings verify for their own field and no other.

use crate::error::VerifyError;
use crate::*;

const AGREEMENT: AgreementHash = AgreementHash([7; 32]);

fn committed(label: &str, salt: &Salt, index: u32, value: &[u8]) -> Field {
    let signatory = SignatoryId::new("AT").expect("id");
    let label = Label::new(label).expect("label");
    let media_type = MediaType::new("text/plain").expect("media type");
    let position = FieldPosition {
        agreement: &AGREEMENT,
        signatory: &signatory,
        index: 4,
        field: index,
        label: &label,
        media_type: &media_type,
    };
    let commitment = Commitment::compute(salt, &position, value);
    Field::Committed { label, media_type, commitment }
}

/// An entry with two committed fields holding the same value under the same salt.
fn entry(salt: &Salt) -> SignedEntry {
    let body = Entry {
        agreement: AGREEMENT,
        signatory: SignatoryId::new("AT").expect("id"),
        index: 4,
        issued_at: Timestamp(1),
        kind: EntryKind::Notification { topic: Topic::new("incident").expect("topic") },
        fields: vec![committed("a", salt, 0, b"secret"), committed("a", salt, 1, b"secret")],
    };
    Signed::sign(body, &AGREEMENT, KeyId(0), &SigningKey::from_bytes(&[1; 32]))
}

fn opening(entry: &SignedEntry, field: u32, salt: Salt, value: &[u8]) -> Opening {
    let reference = EntryRef { signatory: entry.body.signatory.clone(), index: entry.body.index, hash: entry.hash() };
    Opening { entry: reference, field, salt, value: Bytes::from(value) }
}

#[test]
fn an_opening_verifies_against_its_field() {
    let salt = Salt([3; 32]);
    let entry = entry(&salt);
    assert_eq!(opening(&entry, 0, salt, b"secret").verify(&entry), Ok(()));
    assert_eq!(opening(&entry, 1, salt, b"secret").verify(&entry), Ok(()));
}

#[test]
fn identical_fields_get_different_commitments() {
    let entry = entry(&Salt([3; 32]));
    assert_ne!(entry.body.fields[0], entry.body.fields[1]);
}

#[test]
fn an_opening_never_verifies_against_another_field_value_or_salt() {
    let salt = Salt([3; 32]);
    let entry = entry(&salt);
    let field0 = opening(&entry, 0, salt, b"secret");
    // Moved to the other field: the field index is bound into the commitment.
    let moved = Opening { field: 1, ..field0.clone() };
    let Field::Committed { commitment, .. } = &entry.body.fields[1] else { unreachable!() };
    let label = Label::new("a").expect("label");
    let media_type = MediaType::new("text/plain").expect("media type");
    let position0 = FieldPosition {
        agreement: &AGREEMENT,
        signatory: &entry.body.signatory,
        index: 4,
        field: 0,
        label: &label,
        media_type: &media_type,
    };
    assert_ne!(Commitment::compute(&salt, &position0, b"secret"), *commitment);
    assert_eq!(moved.verify(&entry), Ok(()), "field 1 holds the same value, so its own opening verifies");
    assert_eq!(opening(&entry, 0, salt, b"other").verify(&entry), Err(VerifyError::OpeningMismatch { field: 0 }));
    assert_eq!(
        opening(&entry, 0, Salt([4; 32]), b"secret").verify(&entry),
        Err(VerifyError::OpeningMismatch { field: 0 })
    );
    assert_eq!(opening(&entry, 2, salt, b"secret").verify(&entry), Err(VerifyError::NoSuchCommittedField { field: 2 }));
}

#[test]
fn an_opening_for_another_entry_is_refused() {
    let salt = Salt([3; 32]);
    let entry = entry(&salt);
    let mut other = entry.clone();
    other.body.index = 5;
    assert_eq!(opening(&entry, 0, salt, b"secret").verify(&other), Err(VerifyError::WrongEntry));
}
