//! `cbm verify-proof` and `cbm verify-opening` (and `cbm audit` of a
//! single-entry proof): offline checks of what a node proved.

use std::process::ExitCode;

use anyhow::Result;
use cbm_wire::AgreementHash;

use crate::{log_cmd, pin};

/// VERIFY-ENTRY-PROOF (spec/log.md §6.1), pinned to `expected` if given.
fn verify_entry_proof(
    proof: &cbm_wire::EntryProof,
    expected: Option<&AgreementHash>,
) -> Result<cbm_log::entry_proof::ProvenEntry, cbm_log::entry_proof::EntryProofError> {
    match expected {
        Some(expected) => cbm_log::entry_proof::verify_pinned_entry_proof(proof, expected),
        None => cbm_log::entry_proof::verify_entry_proof(proof),
    }
}

/// Checks a single-entry proof, for `verify-proof` and `audit`: it verifies
/// (exit 0) or it does not (exit 2). Either way the report names the
/// agreement hash checked and whether it was pinned.
pub(crate) fn check_proof(
    proof: &cbm_wire::EntryProof,
    json: bool,
    expected: Option<AgreementHash>,
) -> Result<ExitCode> {
    let hash = proof.roster.roster.agreement_hash();
    let pinned = expected.is_some();
    pin::warn_if_unpinned(expected.as_ref());
    match verify_entry_proof(proof, expected.as_ref()) {
        Ok(proven) => {
            let witnesses: Vec<String> = proven.witnesses.iter().map(ToString::to_string).collect();
            // What the entry says, with the receipts its proof carries.
            let receipts = cbm_log::schedule::Receipts::new(&proof.cosignatures);
            let statement = log_cmd::statement(&proof.roster.roster, &proof.entry, Some(&receipts), |_| None);
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "valid": true,
                        "verdict": "ok",
                        "kind": "entry proof",
                        "agreement_hash": hash.to_string(),
                        "pinned": pinned,
                        "signatory": proven.signatory.to_string(),
                        "index": proven.index,
                        "issued_at": proven.issued_at.to_string(),
                        "delivered": proven.delivered.to_string(),
                        "witnesses": witnesses,
                        "statement": statement,
                    })
                );
            } else {
                println!("verdict     OK (entry proof)");
                println!(
                    "valid: entry {} of {}, issued {}, received by the quorum by {} (cosigned by {})",
                    proven.index,
                    proven.signatory,
                    proven.issued_at,
                    proven.delivered,
                    witnesses.join(", ")
                );
                println!("{}", pin::agreement_line(&hash, expected.as_ref()));
                print!("\nthe entry proven:\n{}", log_cmd::render(std::slice::from_ref(&statement)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "valid": false, "verdict": "invalid", "kind": "entry proof",
                        "agreement_hash": hash.to_string(), "pinned": pinned, "error": e.to_string() })
                );
            } else {
                println!("verdict     INVALID (entry proof): {e}");
                println!("{}", pin::agreement_line(&hash, expected.as_ref()));
            }
            Ok(ExitCode::from(2))
        }
    }
}

/// Checks that `opening` opens a field of the entry that `proof` proves:
/// exit 0 if so, 2 if not, naming the agreement hash checked.
pub(crate) fn verify_opening(
    opening: &std::path::Path,
    proof: &std::path::Path,
    json: bool,
    expected: Option<AgreementHash>,
) -> Result<ExitCode> {
    let opening: cbm_wire::Opening = crate::read_wire(opening, "an opening")?;
    let proof: cbm_wire::EntryProof = crate::read_wire(proof, "an entry proof")?;
    let (hash, pinned) = (proof.roster.roster.agreement_hash(), expected.is_some());
    pin::warn_if_unpinned(expected.as_ref());
    let verdict = verify_entry_proof(&proof, expected.as_ref())
        .map_err(|e| format!("the proof does not verify: {e}"))
        .and_then(|_| opening.verify(&proof.entry).map_err(|e| format!("the opening does not match: {e}")));
    let label = proof.entry.body.fields.get(opening.field as usize).map(|f| f.label().to_string()).unwrap_or_default();
    let value = String::from_utf8_lossy(&opening.value.0).into_owned();
    match verdict {
        Ok(()) => {
            if json {
                let (signatory, index) = (proof.entry.body.signatory.to_string(), proof.entry.body.index);
                println!(
                    "{}",
                    serde_json::json!({ "valid": true, "label": label, "value": value, "signatory": signatory,
                        "index": index, "agreement_hash": hash.to_string(), "pinned": pinned })
                );
            } else {
                println!(
                    "valid: field {} ({label}) of entry {} of {} opens to: {value}",
                    opening.field, proof.entry.body.index, proof.entry.body.signatory
                );
                println!("{}", pin::agreement_line(&hash, expected.as_ref()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problem) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "valid": false, "error": problem, "agreement_hash": hash.to_string(),
                        "pinned": pinned })
                );
            } else {
                println!("INVALID: {problem}");
                println!("{}", pin::agreement_line(&hash, expected.as_ref()));
            }
            Ok(ExitCode::from(2))
        }
    }
}

/// The single-entry proof in `path`, if that is what the file holds.
pub(crate) fn read_proof(path: &std::path::Path) -> Option<cbm_wire::EntryProof> {
    let len = std::fs::metadata(path).ok()?.len();
    if len > cbm_wire::limits::MAX_FRAME_BYTES as u64 {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    <cbm_wire::EntryProof as cbm_wire::Wire>::decode(&bytes).ok()
}
