//! Bad input gets one sentence that names the thing, before anything is
//! sent or created, and exit code 2.

mod common;

use common::{agreement, cbm, ok, said};

/// Runs `cbm args` in `dir`, expects exit 2 and one line of error that
/// contains `sentence`; returns what it said.
fn refused(args: &[&str], dir: &std::path::Path, sentence: &str) -> String {
    let output = cbm(args, dir);
    let text = said(&output);
    assert_eq!(output.status.code(), Some(2), "cbm {args:?}:\n{text}");
    assert!(text.contains(sentence), "cbm {args:?} should say {sentence:?}:\n{text}");
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {text}");
    text
}

#[test]
fn a_file_that_is_not_what_was_asked_for_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    std::fs::write(d.join("empty.cbm"), b"").expect("empty");
    refused(&["audit", "empty.cbm"], d, "empty.cbm is empty, not a bundle");
    refused(&["verify-proof", "empty.cbm"], d, "empty.cbm is empty, not an entry proof");
    refused(&["audit", "roster.cbm"], d, "roster.cbm is a roster, not a bundle");
    refused(&["verify-proof", "roster.cbm"], d, "roster.cbm is a roster, not an entry proof");
    refused(&["roster", "sign", "roster.cbm", "--id", "AR", "--key", "keys"], d, "keys is a directory, not a key file");
    refused(&["audit", "keys", "--roster", "roster.cbm"], d, "keys holds no store");
    // A store is a store.
    let nodes = common::Nodes(vec![common::start_node(d, "ar")]);
    ok(&["status", "--data-dir", "ar", "--wait", "30"], d);
    ok(&["export", "--data-dir", "ar", "--out", "record.cbm"], d);
    drop(nodes);
    refused(&["audit", "ar/store.db"], d, "ar/store.db is a cbm store, not a bundle: use cbm fsck on it");
    refused(&["verify-proof", "record.cbm"], d, "record.cbm is a bundle, not an entry proof");
}

#[test]
fn addresses_are_one_syntax_in_a_roster_and_a_node_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let sentence = "nonsense is not an address: write host:port";
    ok(&["keygen", "--id", "CA", "--dir", "keys"], d);
    refused(
        &["roster", "add", "roster.cbm", "--id", "CA", "--name", "CA", "--keys", "keys", "--address", "nonsense"],
        d,
        sentence,
    );
    let config = std::fs::read_to_string(d.join("ar.toml")).expect("config");
    let listen = config.lines().find(|l| l.starts_with("listen")).expect("listen").to_owned();
    std::fs::write(d.join("ar.toml"), config.replace(&listen, "listen = \"nonsense\"")).expect("config");
    refused(&["node", "--config", "ar.toml"], d, &format!("ar.toml: listen: {sentence}"));
    assert!(!d.join("ar").exists(), "nothing created before the checks pass");
}

#[test]
fn a_node_names_who_has_not_signed_and_a_port_in_use_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 1);
    refused(&["node", "--config", "ar.toml"], d, "roster.cbm is not adopted: BO has not signed it");
    assert!(!d.join("ar").exists(), "nothing created before the checks pass");
    ok(&["roster", "sign", "roster.cbm", "--id", "BO", "--key", "keys/BO.signing.key"], d);
    let config = std::fs::read_to_string(d.join("ar.toml")).expect("config");
    let address =
        config.lines().find_map(|l| l.strip_prefix("listen = ")).expect("listen").trim_matches('"').to_owned();
    let _taken = std::net::UdpSocket::bind(&address).expect("the port is free to take");
    refused(&["node", "--config", "ar.toml"], d, &format!("{address} is in use"));
    assert!(!d.join("ar").exists(), "nothing created before the checks pass");
}

#[test]
fn a_declaration_naming_what_the_roster_or_log_does_not_hold_is_refused_saying_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let _nodes = common::two_nodes_with_a_committed_declaration(d);
    let base = ["declare", "--data-dir", "ar", "--topic", "points-of-contact"];
    refused(&[&base[..], &["--commit", "a=1", "--commit-to", "ZZ"]].concat(), d, "ZZ is not a signatory of the roster");
    refused(
        &["declare", "--data-dir", "ar", "--kind", "respond", "--cites", "ZZ:0"],
        d,
        "ZZ is not a signatory of the roster",
    );
    refused(
        &["declare", "--data-dir", "ar", "--kind", "amend", "--amends", "7", "--reason", "typo", "--field", "a=1"],
        d,
        "there is no entry 7 to amend: AR's log holds 1 entry",
    );
}

#[test]
fn an_argument_that_does_not_apply_to_the_kind_declared_is_refused_before_the_node_is_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // No node, no data directory: the parser answers first.
    for (args, said) in [
        (&["--topic", "points-of-contact", "--cites", "AR:0"][..], "--cites does not apply to --kind declaration"),
        (&["--kind", "respond", "--cites", "AR:0", "--reason", "r"][..], "--reason does not apply to --kind respond"),
        (&["--kind", "notification", "--topic", "incident", "--period", "2026-03"][..], "--period does not apply"),
        (
            &["--kind", "request", "--reply-by", "2030-01-01T00:00:00Z", "--topic", "t"][..],
            "it is for --kind declaration",
        ),
    ] {
        refused(&[&["declare", "--data-dir", "nowhere"][..], args].concat(), d, said);
    }
    assert!(!d.join("nowhere").exists());
}
