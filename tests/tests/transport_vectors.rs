//! The certificate form's vector (spec/vectors/transport/certificate.json,
//! spec/transport.md §2.3.2), checked both ways: made from the code, it must
//! equal the committed file byte for byte; read from the file alone, the
//! certificate proves the transport key it names, the signing message is
//! the one the spec defines, and every certificate the file lists as
//! refused is refused for the reason it gives.
//!
//! Regenerate after an intended change with
//! `CBM_REGENERATE_VECTORS=1 cargo test -p cbm-tests --test transport_vectors`.

use std::path::{Path, PathBuf};

use cbm_net::tls::{BINDING_URI_PREFIX, Certificate, CertificateProblem, bound_key};
use cbm_wire::{
    AgreementHash, PublicKey, Signature, SigningKey, certificate_binding_message, sign_message, verify_message,
};
use ed25519_dalek::pkcs8::EncodePublicKey;
use serde::{Deserialize, Serialize};

/// The certificate vector.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateVector {
    /// The transport key's seed.
    transport_seed: String,
    transport_key: PublicKey,
    /// The certificate key's seed.
    certificate_seed: String,
    agreement: AgreementHash,
    /// The certificate key's DER `SubjectPublicKeyInfo`.
    spki: String,
    /// What the transport key signs.
    signing_message: String,
    signature: Signature,
    /// The subject alternative name.
    uri: String,
    /// The DER certificate.
    certificate: String,
    /// Certificates a receiver in `agreement` MUST refuse.
    refused: Vec<Refused>,
}

/// A certificate that proves nothing, and why.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Refused {
    name: String,
    certificate: String,
    /// The reference's `CertificateProblem`.
    problem: String,
}

fn path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/transport/certificate.json")
}

fn problem_name(problem: &CertificateProblem) -> String {
    format!("{problem:?}").split('(').next().unwrap_or_default().to_owned()
}

fn generate() -> CertificateVector {
    let (transport_seed, certificate_seed, agreement) = ([0x21; 32], [0x22; 32], cbm_tests::samples::agreement());
    let transport = SigningKey::from_bytes(&transport_seed);
    let certificate_key = SigningKey::from_bytes(&certificate_seed);
    let spki = certificate_key.verifying_key().to_public_key_der().expect("spki").into_vec();
    let message = certificate_binding_message(&agreement, &spki);
    let signature = sign_message(&transport, &message);
    let key = PublicKey::of(&transport);
    let uri = format!("{BINDING_URI_PREFIX}{key}:{signature}");
    let certificate = Certificate::new(&certificate_key, &transport, &agreement).expect("certificate");

    let stranger = sign_message(&SigningKey::from_bytes(&[0x23; 32]), &message);
    let elsewhere = sign_message(&transport, &certificate_binding_message(&AgreementHash([0x24; 32]), &spki));
    let refused = [
        ("signed by another key than it names", format!("{BINDING_URI_PREFIX}{key}:{stranger}")),
        ("bound for another agreement", format!("{BINDING_URI_PREFIX}{key}:{elsewhere}")),
        ("uppercase hex", format!("{BINDING_URI_PREFIX}{}:{}", key.to_string().to_uppercase(), signature)),
        ("no binding", "https://example.org/".to_owned()),
    ]
    .into_iter()
    .map(|(name, uri)| {
        let der = Certificate::with_binding(&certificate_key, &uri).expect("certificate").der().to_vec();
        let problem = bound_key(&der, &agreement).expect_err("refused");
        Refused { name: name.to_owned(), certificate: hex::encode(der), problem: problem_name(&problem) }
    })
    .collect();
    CertificateVector {
        transport_seed: hex::encode(transport_seed),
        transport_key: key,
        certificate_seed: hex::encode(certificate_seed),
        agreement,
        spki: hex::encode(&spki),
        signing_message: hex::encode(&message),
        signature,
        uri,
        certificate: hex::encode(certificate.der()),
        refused,
    }
}

fn to_json(vector: &CertificateVector) -> String {
    serde_json::to_string_pretty(vector).expect("JSON") + "\n"
}

#[test]
fn the_certificate_vector_matches_the_code() {
    let vector = generate();
    if std::env::var_os("CBM_REGENERATE_VECTORS").is_some() {
        std::fs::create_dir_all(path().parent().expect("dir")).expect("mkdir");
        std::fs::write(path(), to_json(&vector)).expect("write");
    }
    let on_disk = std::fs::read_to_string(path()).expect("the vector file");
    assert_eq!(on_disk, to_json(&vector), "{} differs from the code; regenerate (see module docs)", path().display());
}

#[test]
fn the_certificate_vector_holds_as_the_spec_reads_it() {
    let vector: CertificateVector =
        serde_json::from_str(&std::fs::read_to_string(path()).expect("the vector file")).expect("JSON");
    let decode = |s: &str| hex::decode(s).expect("hex");
    let transport = SigningKey::from_bytes(&decode(&vector.transport_seed).try_into().expect("32 bytes"));
    assert_eq!(PublicKey::of(&transport), vector.transport_key);
    // The message, built by hand as spec/transport.md §2.3.2 spells it.
    let spki = decode(&vector.spki);
    let mut message = b"cbm/1 tls certificate\0".to_vec();
    message.extend_from_slice(vector.agreement.as_bytes());
    message.extend_from_slice(&[0, 0, 0, 0, 0x58, u8::try_from(spki.len()).expect("short")]);
    message.extend_from_slice(&spki);
    assert_eq!(hex::encode(&message), vector.signing_message);
    verify_message("binding", &vector.transport_key, &message, &vector.signature).expect("the binding verifies");
    assert_eq!(vector.uri.len(), 201);
    assert_eq!(vector.uri, format!("cbm:tls:{}:{}", vector.transport_key, vector.signature));
    let certificate = decode(&vector.certificate);
    assert_eq!(bound_key(&certificate, &vector.agreement), Ok(vector.transport_key));
    assert!(certificate.windows(spki.len()).any(|w| w == spki), "the certificate holds its key");
    assert!(certificate.windows(vector.uri.len()).any(|w| w == vector.uri.as_bytes()), "and the binding");
    for refused in &vector.refused {
        let problem = bound_key(&decode(&refused.certificate), &vector.agreement).expect_err(&refused.name);
        assert_eq!(problem_name(&problem), refused.problem, "{}", refused.name);
    }
}
