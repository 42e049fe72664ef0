//! A data directory as a node keeps it: readable by its owner only, one
//! node and one agreement per directory, and output files that are never
//! overwritten and, where they hold openings, private.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use common::{Nodes, agreement, cbm, ok, said, start_node};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Runs `cbm node --config NAME.toml` in `dir` to its end.
fn node_run(dir: &Path, name: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cbm"))
        .args(["node", "--config", &format!("{name}.toml")])
        .current_dir(dir)
        .output()
        .expect("cbm runs")
}

#[test]
fn a_data_directory_its_store_and_private_outputs_are_readable_by_their_owner_only_and_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let _nodes = common::two_nodes_with_a_committed_declaration(d);
    assert_eq!(mode(&d.join("ar")), 0o700);
    for entry in std::fs::read_dir(d.join("ar")).expect("data directory") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{} must be readable by its owner only", path.display());
    }

    // The public bundle is the default, and says what it holds.
    let public = ok(&["export", "--data-dir", "ar", "--out", "public.cbm"], d);
    assert!(public.contains("public bundle") && public.contains("0 openings"), "{public}");
    let private = ok(&["export", "--data-dir", "ar", "--out", "private.cbm", "--with-openings"], d);
    assert!(private.contains("1 openings"), "{private}");
    assert_eq!(mode(&d.join("private.cbm")), 0o600);
    ok(&["prove", "--data-dir", "ar", "--signatory", "AR", "--index", "0", "--out", "ar-0.proof"], d);
    ok(
        &["reveal", "--data-dir", "ar", "--signatory", "AR", "--index", "0", "--field", "1", "--out", "annex.opening"],
        d,
    );
    assert_eq!(mode(&d.join("annex.opening")), 0o600);
    assert_eq!(mode(&d.join("ar-0.proof")), 0o600);

    // No output file is overwritten.
    let before = std::fs::read(d.join("public.cbm")).expect("bundle");
    for args in [
        &["export", "--data-dir", "ar", "--out", "public.cbm"][..],
        &["prove", "--data-dir", "ar", "--signatory", "AR", "--index", "0", "--out", "public.cbm"],
        &["reveal", "--data-dir", "ar", "--signatory", "AR", "--index", "0", "--field", "1", "--out", "public.cbm"],
    ] {
        let refused = cbm(args, d);
        assert_ne!(refused.status.code(), Some(0), "{args:?}");
        assert!(said(&refused).contains("already exists"), "{args:?}: {}", said(&refused));
    }
    assert_eq!(std::fs::read(d.join("public.cbm")).expect("bundle"), before);
}

#[test]
fn a_second_node_on_the_same_data_directory_is_refused_before_it_announces_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let _nodes = Nodes(vec![start_node(d, "ar")]);
    ok(&["status", "--data-dir", "ar", "--wait", "30"], d);
    let second = node_run(d, "ar");
    assert_eq!(second.status.code(), Some(2), "{}", said(&second));
    assert!(said(&second).contains("another cbm node is running on the data directory"), "{}", said(&second));
    assert!(!said(&second).contains("listening"), "it announced nothing: {}", said(&second));
}

#[test]
fn a_node_refuses_a_data_directory_or_store_that_others_can_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    std::fs::create_dir(d.join("ar")).expect("mkdir");
    std::fs::set_permissions(d.join("ar"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let refused = node_run(d, "ar");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        said(&refused).contains("can be read by others") && said(&refused).contains("chmod 700"),
        "{}",
        said(&refused)
    );
    std::fs::set_permissions(d.join("ar"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::write(d.join("ar/store.db"), b"").expect("store");
    std::fs::set_permissions(d.join("ar/store.db"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let refused = node_run(d, "ar");
    assert_eq!(refused.status.code(), Some(2));
    assert!(said(&refused).contains("the store") && said(&refused).contains("chmod 600"), "{}", said(&refused));
}

#[test]
fn a_node_refuses_a_store_made_under_another_agreement_saying_which() {
    let first = tempfile::tempdir().expect("tempdir");
    agreement(first.path(), &["AR", "BO"], 1, 2);
    let nodes = Nodes(vec![start_node(first.path(), "ar")]);
    ok(&["status", "--data-dir", "ar", "--wait", "30"], first.path());
    drop(nodes);
    let first_hash = ok(&["roster", "verify", "roster.cbm"], first.path()).trim().rsplit(' ').next().map(str::to_owned);

    // Another agreement whose AR is pointed at the first one's data directory.
    let second = tempfile::tempdir().expect("tempdir");
    let d = second.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let config = std::fs::read_to_string(d.join("ar.toml")).expect("config");
    let elsewhere = first.path().join("ar");
    let config = config.replace("data_dir = \"ar\"", &format!("data_dir = \"{}\"", elsewhere.display()));
    std::fs::write(d.join("ar.toml"), config).expect("config");
    let refused = node_run(d, "ar");
    assert_eq!(refused.status.code(), Some(2), "{}", said(&refused));
    let text = said(&refused);
    let first_hash = first_hash.expect("hash");
    assert!(text.contains(&format!("belongs to agreement {first_hash}")), "it names the agreement: {text}");
}
