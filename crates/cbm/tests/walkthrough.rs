//! The README walkthrough, run as written: three `cbm node` processes and
//! every command of the walkthrough's script, in order. And a node process
//! killed with SIGKILL and restarted, which catches up.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Nodes, agreement, cbm, ok, start_node};

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_cbm")).parent().expect("binary directory").to_path_buf()
}

fn path_with_cbm() -> String {
    format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default())
}

/// The shell blocks of the README's walkthrough section: setup, then the walkthrough.
fn walkthrough_script() -> String {
    let readme = include_str!("../../../README.md");
    let start = readme.find("## Walkthrough").expect("README has a walkthrough");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let blocks: Vec<&str> =
        section[..end].split("```sh\n").skip(1).map(|b| &b[..b.find("```").expect("closed block")]).collect();
    assert_eq!(blocks.len(), 2, "the walkthrough has a setup block and a script block");
    assert!(blocks[0].contains("cargo build --release -p cbm"), "the setup block builds cbm");
    blocks[1].to_owned()
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script =
        format!("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{}", walkthrough_script());
    let output = Command::new("timeout")
        .args(["180", "bash", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path_with_cbm())
        .output()
        .expect("bash runs");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the walkthrough failed:\n{said}");
    for expected in [
        "every signatory has signed: the roster is adopted",
        "received by the quorum",
        "no equivocation seen",
        "verdict     OK",
        "valid: entry 0 of AR",
        "opens to: duty officer +00 555 0100",
        "a request waits for our answer: AR's request (entry 2)",
        "communication checks, per state asked:",
    ] {
        assert!(said.contains(expected), "the walkthrough should print {expected:?}:\n{said}");
    }
    // Both answered AR's check in time (the columns: in time, late, missed, pending).
    let table = said.split("communication checks, per state asked:").nth(1).unwrap_or_default();
    for state in ["BO", "CA"] {
        let row = table.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()).find(|f| f.first() == Some(&state));
        assert_eq!(
            row.as_ref().map(|f| &f[1..5]),
            Some(&["1", "0", "0", "0"][..]),
            "{state} answered in time:\n{said}"
        );
    }
    // An opening checked against another entry's proof does not verify.
    let wrong = cbm(&["verify-opening", "annex.opening", "--proof", "ar-0.proof"], dir.path());
    assert_eq!(wrong.status.code(), Some(2), "{}", common::said(&wrong));
    assert!(common::said(&wrong).contains("INVALID"), "{}", common::said(&wrong));
    // A proof and a node's data directory are audited as well as a bundle.
    let proof = ok(&["audit", "ar-0.proof"], dir.path());
    assert!(proof.contains("verdict     OK (entry proof)"), "{proof}");
    let data_dir = ok(&["audit", "bo", "--roster", "roster.cbm"], dir.path());
    assert!(data_dir.contains("verdict     OK"), "{data_dir}");
    let no_roster = cbm(&["audit", "bo"], dir.path());
    assert_eq!(no_roster.status.code(), Some(2));
    assert!(common::said(&no_roster).contains("needs its roster"), "{}", common::said(&no_roster));
    // The nodes stopped with the script; their stores check out.
    for store in ["ar", "bo", "ca"] {
        ok(&["fsck", &dir.path().join(store).join("store.db").to_string_lossy()], dir.path());
    }
}

#[test]
fn a_node_killed_with_sigkill_restarts_and_catches_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let parties = agreement(d, &["AR", "BO", "CA"], 1, 3);
    let mut nodes = Nodes(parties.iter().map(|(_, name)| start_node(d, name)).collect());
    let publish = |value: u32| {
        let field = format!("a={value}");
        ok(
            &[
                "declare",
                "--data-dir",
                "ar",
                "--kind",
                "notification",
                "--topic",
                "contact",
                "--field",
                &field,
                "--wait",
                "30",
            ],
            d,
        )
    };
    publish(1);
    // Kill CA's node outright, while AR keeps publishing.
    nodes.0[2].kill().expect("SIGKILL");
    nodes.0[2].wait().expect("reaped");
    (2..=6).for_each(|value| drop(publish(value)));
    nodes.0[2] = start_node(d, "ca");
    // CA catches up through gossip: it holds all six of AR's entries.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        // `--wait` answers once what CA holds is settled; each call waits on
        // the node's store, not on a timer.
        let status = ok(&["status", "--data-dir", "ca", "--json", "--wait", "30"], d);
        let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
        let ar = status["status"]["logs"].as_array().expect("logs").iter().find(|l| l["owner"] == "AR").cloned();
        if ar.is_some_and(|l| l["size"] == 6) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "CA did not catch up: {status}");
    }
    drop(nodes);
    ok(&["fsck", "ca/store.db"], d);
}
