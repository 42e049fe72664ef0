//! Ed25519 with `verify_strict` semantics and domain separation.

use ed25519_dalek::Verifier as _;

use crate::error::VerifyError;
use crate::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn checkpoint() -> Checkpoint {
    Checkpoint { log: LogId([1; 32]), size: 10, root: RootHash([2; 32]), timestamp: Timestamp(5) }
}

const AGREEMENT: AgreementHash = AgreementHash([9; 32]);

/// The eight points of small order on edwards25519, in their canonical
/// encodings, plus non-canonical encodings of the identity and of -1.
const SMALL_ORDER_POINTS: [&str; 10] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0100000000000000000000000000000000000000000000000000000000000080",
];

fn point(hex: &str) -> [u8; 32] {
    let mut out = [0; 32];
    hex::decode_to_slice(hex, &mut out).expect("test vector hex");
    out
}

#[test]
fn a_signature_verifies_under_its_own_context_and_agreement_only() {
    let signed = Signed::sign(checkpoint(), &AGREEMENT, KeyId(0), &key(1));
    let public = PublicKey::of(&key(1));
    assert_eq!(signed.verify(&AGREEMENT, &public), Ok(()));
    assert_eq!(
        signed.verify(&AgreementHash([8; 32]), &public),
        Err(VerifyError::BadSignature { what: context::CHECKPOINT })
    );
    assert!(signed.verify(&AGREEMENT, &PublicKey::of(&key(2))).is_err());
    // The same body bytes signed as a cosignature context never verify as a checkpoint.
    let message = signing_message(context::COSIGNATURE, &AGREEMENT, signed.key, &signed.body);
    let forged = Signed { signature: sign_message(&key(1), &message), ..signed };
    assert!(forged.verify(&AGREEMENT, &public).is_err());
}

#[test]
fn small_order_public_keys_are_rejected_even_with_a_trivial_signature() {
    // R = identity, S = 0: satisfies the cofactorless equation [S]B = R + [k]A
    // for every message when A has small order.
    let mut trivial = [0u8; 64];
    trivial[0] = 1;
    for hex in SMALL_ORDER_POINTS {
        let public = PublicKey(point(hex));
        let result = verify_message("test", &public, b"any message", &Signature(trivial));
        assert!(matches!(result, Err(VerifyError::InvalidKey { .. })), "{hex}: {result:?}");
    }
    // Plain (non-strict) RFC 8032 verification accepts it: the reason for verify_strict.
    let identity = ed25519_dalek::VerifyingKey::from_bytes(&point(SMALL_ORDER_POINTS[0])).expect("decompresses");
    assert!(identity.verify(b"any message", &ed25519_dalek::Signature::from_bytes(&trivial)).is_ok());
}

#[test]
fn small_order_r_is_rejected() {
    let public = PublicKey::of(&key(3));
    for hex in SMALL_ORDER_POINTS {
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&point(hex));
        assert!(verify_message("test", &public, b"m", &Signature(signature)).is_err(), "{hex}");
    }
}

#[test]
fn non_canonical_s_is_rejected() {
    // S + L, where L is the order of the prime subgroup, is the same scalar mod L.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let signing = key(4);
    let signature = sign_message(&signing, b"m");
    let mut carry = 0u16;
    let mut bumped = signature.0;
    for i in 0..32 {
        let sum = u16::from(bumped[32 + i]) + u16::from(L[i]) + carry;
        bumped[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    let public = PublicKey::of(&signing);
    assert_eq!(verify_message("test", &public, b"m", &signature), Ok(()));
    assert!(verify_message("test", &public, b"m", &Signature(bumped)).is_err());
}

#[test]
fn every_single_bit_flip_of_a_signed_object_fails() {
    let signed = Signed::sign(checkpoint(), &AGREEMENT, KeyId(0), &key(5));
    let public = PublicKey::of(&key(5));
    let bytes = signed.encode();
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if let Ok(decoded) = SignedCheckpoint::decode(&flipped) {
            assert!(decoded.verify(&AGREEMENT, &public).is_err(), "bit {bit} still verifies");
        }
    }
}

#[test]
fn roster_adoption_signatures() {
    let signatory = SignatoryId::new("AT").expect("id");
    let roster = Roster {
        agreement: AgreementId::new("test").expect("id"),
        version: 1,
        title: Text::default(),
        signatories: vec![Signatory {
            id: signatory.clone(),
            name: Text::default(),
            signing_keys: vec![SigningKeyInfo {
                id: KeyId(0),
                key: PublicKey::of(&key(6)),
                valid_from: Timestamp(0),
                valid_until: None,
            }],
            transport_key: PublicKey::of(&key(7)),
            addresses: vec![],
        }],
        schedules: vec![],
        quorum: QuorumPolicy { threshold: 0 },
        limits: RosterLimits::default(),
        previous: None,
        notices: vec![],
    };
    let adoption = roster.sign_adoption(&signatory, KeyId(0), &key(6));
    assert_eq!(roster.verify_adoption(&adoption), Ok(()));
    let unknown_key = RosterSignature { key: KeyId(1), ..adoption.clone() };
    assert_eq!(roster.verify_adoption(&unknown_key), Err(VerifyError::UnknownKey { what: context::ROSTER }));
    let mut changed = roster.clone();
    changed.version = 2;
    assert!(changed.verify_adoption(&adoption).is_err());
}

#[test]
fn signing_many_on_every_core_gives_the_signatures_of_signing_one_by_one_in_order() {
    let agreement = AgreementHash([3; 32]);
    let bodies: Vec<Checkpoint> = (0..200).map(|size| Checkpoint { size, ..checkpoint() }).collect();
    let one_by_one: Vec<SignedCheckpoint> =
        bodies.iter().map(|b| Signed::sign(b.clone(), &agreement, KeyId(2), &key(1))).collect();
    assert_eq!(Signed::sign_many(bodies, &agreement, KeyId(2), &key(1)), one_by_one);
}

/// Verifying with the body's bytes read from the object's encoding agrees
/// with verifying by encoding the body (the reference), valid or not.
#[test]
fn a_signature_verified_from_the_decoded_bytes_agrees_with_one_verified_by_encoding() {
    let public = PublicKey::of(&key(1));
    let verifier = Verifier::new("checkpoint", &public).expect("a valid key");
    let signed = Signed::sign(checkpoint(), &AGREEMENT, KeyId(0), &key(1));
    let mut forged = signed.clone();
    forged.signature.0[7] ^= 1;
    let mut other_body = signed.clone();
    other_body.body.size += 1;
    for (candidate, agreement) in
        [(&signed, AGREEMENT), (&forged, AGREEMENT), (&other_body, AGREEMENT), (&signed, AgreementHash([8; 32]))]
    {
        let encoded = candidate.encode();
        assert_eq!(
            candidate.verify_decoded_with(&encoded, &agreement, &verifier),
            candidate.verify_with(&agreement, &verifier)
        );
    }
}
