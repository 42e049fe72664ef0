//! A forged roster cannot prove anything: a forger who generates keys for
//! every signatory of an agreement (same name, same ids) and adopts a
//! roster of its own makes proofs, openings and bundles that verify under
//! that roster. Pinned to the real agreement they are refused; unpinned
//! they are reported as such, on stderr and in JSON.

mod common;

use std::path::Path;
use std::process::Output;

use common::{agreement, cbm, ok, said};

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

/// The agreement hash `roster verify` prints for the roster in `dir`.
fn agreement_hash(dir: &Path) -> String {
    let verified = ok(&["roster", "verify", "roster.cbm"], dir);
    verified.trim().rsplit(' ').next().expect("a hash").to_owned()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("JSON ({e}):\n{}", said(output)))
}

#[test]
fn a_proof_opening_and_bundle_under_a_forged_roster_are_refused_when_pinned_and_reported_unpinned_otherwise() {
    let real = tempfile::tempdir().expect("tempdir");
    agreement(real.path(), &["AR", "BO"], 1, 2);
    let real_hash = agreement_hash(real.path());
    let real_roster = real.path().join("roster.cbm");
    let real_roster = real_roster.to_str().expect("utf-8");

    // The forger's agreement: the same name, ids and schedule, its own keys.
    let forged = tempfile::tempdir().expect("tempdir");
    let d = forged.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let forged_hash = agreement_hash(d);
    assert_ne!(forged_hash, real_hash);
    let _nodes = common::two_nodes_with_a_committed_declaration(d);
    ok(&["prove", "--data-dir", "ar", "--signatory", "AR", "--index", "0", "--out", "ar-0.proof"], d);
    ok(
        &["reveal", "--data-dir", "ar", "--signatory", "AR", "--index", "0", "--field", "1", "--out", "annex.opening"],
        d,
    );
    ok(&["export", "--data-dir", "ar", "--out", "bundle.cbm"], d);

    let pins: [[&str; 2]; 2] = [["--agreement-hash", &real_hash], ["--roster", real_roster]];
    let checks: [&[&str]; 4] = [
        &["verify-proof", "ar-0.proof"],
        &["audit", "ar-0.proof"],
        &["verify-opening", "annex.opening", "--proof", "ar-0.proof"],
        &["audit", "bundle.cbm"],
    ];
    for check in checks {
        // Pinned to the real agreement: refused, naming the hash checked.
        for pin in &pins {
            let args = [check, pin.as_slice(), &["--json"]].concat();
            let refused = cbm(&args, d);
            assert_eq!(code(&refused), 2, "{args:?} must refuse the forgery:\n{}", said(&refused));
            let report = json(&refused);
            assert_eq!(report["pinned"], true, "{report}");
            assert_eq!(report["agreement_hash"], forged_hash.as_str(), "{report}");
            // In words too: never called the agreement expected.
            let human = cbm(&[check, pin.as_slice()].concat(), d);
            let stdout = String::from_utf8_lossy(&human.stdout);
            assert!(
                !stdout.contains("the agreement expected)") && !stdout.contains("auditor expected"),
                "{check:?}:\n{stdout}"
            );
        }
        // Unpinned: it verifies (a bundle's audit may have findings, exit
        // 1), but says it proves only what its own roster says.
        let unpinned = cbm(check, d);
        assert_ne!(code(&unpinned), 2, "{check:?}:\n{}", said(&unpinned));
        let stderr = String::from_utf8_lossy(&unpinned.stderr);
        assert!(stderr.contains("unpinned"), "{check:?} must say it is unpinned on stderr:\n{stderr}");
        let stdout = String::from_utf8_lossy(&unpinned.stdout);
        assert!(stdout.contains(&forged_hash) && stdout.contains("UNPINNED"), "{check:?}:\n{stdout}");
        let report = json(&cbm(&[check, &["--json"]].concat(), d));
        assert_eq!(report["pinned"], false, "{report}");
        // Pinned to its own agreement, the forgery verifies: the pin is what tells them apart.
        let own = cbm(&[check, &["--agreement-hash", &forged_hash]].concat(), d);
        assert_ne!(code(&own), 2, "{check:?}:\n{}", said(&own));
        assert!(String::from_utf8_lossy(&own.stdout).contains("(pinned"), "{}", said(&own));
    }
    // A proof shows the statement it proves: what the entry says.
    let shown = cbm(&["verify-proof", "ar-0.proof", "--agreement-hash", &forged_hash], d);
    let stdout = String::from_utf8_lossy(&shown.stdout);
    assert!(stdout.contains("AR:0  declaration  points-of-contact 2026-"), "{stdout}");
    assert!(stdout.contains("field       contact = 1") && stdout.contains("(committed; not opened here)"), "{stdout}");
    let report = json(&cbm(&["verify-proof", "ar-0.proof", "--json"], d));
    assert_eq!(report["statement"]["kind"], "declaration", "{report}");
    assert_eq!(report["statement"]["fields"][0]["value"], "1", "{report}");
}
