//! The real `cbm` binary, driven as a user would: the demo, the audit of
//! its bundle, fsck of its stores, keygen, help, and bad input.

use std::path::Path;
use std::process::{Command, Output};

fn cbm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cbm")).args(args).output().expect("cbm runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn the_demo_tells_the_story_and_its_bundle_audits_offline_with_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    let demo = cbm(&["demo", "--dir", run.to_str().expect("utf-8")]);
    let said = text(&demo);
    assert_eq!(code(&demo), 0, "{said}");
    for expected in ["January", "February", "March", "amends", "objects", "late", "never acknowledged", "YES"] {
        assert!(said.contains(expected), "the demo should mention {expected:?}:\n{said}");
    }

    let bundle = run.join("bundle.cbor");
    let audit = cbm(&["audit", bundle.to_str().expect("utf-8")]);
    assert_eq!(code(&audit), 1, "findings exit with 1:\n{}", text(&audit));
    assert!(text(&audit).contains("FINDINGS"));
    // Periods by their calendar names, times and delays in words, a legend,
    // and each objection on the entry objected to.
    for said in [
        "DO's points-of-contact declaration for 2026-02 (period 1) was 4 days 16 h late: due 2026-02-08 00:00 UTC",
        "pending: not yet due",
        "CA objected to BO's entry 1",
        "CA never acknowledged AR's points-of-contact declaration for 2026-03 (period 2, entry 3) within its window",
    ] {
        assert!(text(&audit).contains(said), "the audit should say {said:?}:\n{}", text(&audit));
    }
    // The roster is kept beside the stores, to pin the audit with.
    let roster = run.join("roster.cbm");
    let pinned = cbm(&["audit", bundle.to_str().expect("utf-8"), "--roster", roster.to_str().expect("utf-8")]);
    assert_eq!(code(&pinned), 1, "{}", text(&pinned));
    assert!(text(&pinned).contains("(pinned"), "{}", text(&pinned));
    // A directory that is not empty is refused, and nothing in it changes.
    let again = cbm(&["demo", "--dir", run.to_str().expect("utf-8")]);
    assert_ne!(code(&again), 0);
    assert!(text(&again).contains("is not empty"), "{}", text(&again));

    let json = cbm(&["audit", "--json", "--at", "2026-04-01T00:00:00Z", bundle.to_str().expect("utf-8")]);
    assert_eq!(code(&json), 1);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON report");
    assert_eq!(report["verdict"], "findings");
    // The audit says as of when it judged: the time given, or now.
    assert_eq!(report["now"], "2026-04-01T00:00:00.000Z", "{report}");
    // The JSON is the normative report (spec/log.md §7.2): it reads back
    // as a report and writes as itself, and its findings name who failed.
    let read: cbm_log::audit::AuditReport = serde_json::from_value(report.clone()).expect("a normative report");
    assert_eq!(serde_json::to_value(&read).expect("json"), report);
    assert_eq!(report["report_version"], 2);
    let findings = report["findings"].as_array().expect("findings");
    assert!(findings.iter().any(|f| f["kind"] == "equivocation" && f["party"] == "DO"), "{report}");
    assert!(
        findings.iter().all(|f| f["text"].as_str().is_some_and(|t| t.contains(f["party"].as_str().unwrap_or("?"))))
    );
    assert!(text(&audit).contains("judged as of 20"), "{}", text(&audit));
    let equivocators: Vec<_> = report["signatories"]
        .as_array()
        .expect("signatories")
        .iter()
        .filter(|s| s["equivocated"] == true)
        .map(|s| s["signatory"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(equivocators, ["DO"]);
    // Who was shown which view, as far as the bundle tells.
    let split = findings.iter().find(|f| f["kind"] == "equivocation").and_then(|f| f["text"].as_str()).unwrap_or("");
    assert!(split.contains("AR and BO were shown its log of 5 entries"), "{split}");
    assert!(split.contains("is known only from the evidence"), "{split}");
    // The hotline: CA, down, never acknowledged AR's incident within the
    // hour; DO answered BO's request for assistance after the deadline.
    let said_of = |kind: &str, party: &str| {
        findings
            .iter()
            .filter(|f| f["kind"] == kind && f["party"] == party)
            .filter_map(|f| f["text"].as_str())
            .collect::<Vec<_>>()
    };
    assert!(
        said_of("missing_acknowledgement", "CA").iter().any(|t| t.contains("AR's incident notification")),
        "{report}"
    );
    let late = said_of("late_answer", "DO");
    assert_eq!(late.len(), 1, "{report}");
    assert!(
        late[0].starts_with("DO answered BO's request (entry 4) 14 h late: reply by 2026-03-02 18:00 UTC"),
        "{late:?}"
    );
    assert!(
        said_of("late_answer", "AR").is_empty() && said_of("unanswered_request", "AR").is_empty(),
        "AR answered in time"
    );
    // AR's communication check: BO answered in 4 minutes, DO in an hour,
    // CA (down) not at all.
    assert!(
        said_of("unanswered_request", "CA").iter().any(|t| t.starts_with("CA did not answer AR's request (entry 6)"))
    );
    let checks = report["checks"].as_array().expect("checks");
    let check = |party: &str| checks.iter().find(|c| c["party"] == party).cloned().unwrap_or_default();
    assert_eq!(
        (check("BO")["in_time"].as_u64(), check("BO")["median_answer_time"]["ms"].as_u64()),
        (Some(1), Some(240_000))
    );
    assert_eq!(check("CA")["unanswered"].as_u64(), Some(1), "{report}");

    // The record, read entry by entry: periods as months, who received what.
    let log = cbm(&["log", bundle.to_str().expect("utf-8"), "--signatory", "BO", "--kind", "declaration"]);
    assert_eq!(code(&log), 0, "{}", text(&log));
    let listed = text(&log);
    assert!(listed.contains("BO:0  declaration  points-of-contact 2026-01 (period 0)"), "{listed}");
    assert!(listed.contains("(committed; not opened here)") && listed.contains("CA not yet"), "{listed}");
    assert!(!listed.contains("respond"), "only declarations: {listed}");
    let march = cbm(&["log", bundle.to_str().expect("utf-8"), "--kind", "declaration", "--period", "2026-03"]);
    let march = text(&march);
    assert!(march.contains("AR:3  declaration  points-of-contact 2026-03 (period 2)"), "{march}");
    assert!(!march.contains("2026-02 (period 1)"), "only March: {march}");
    let one = cbm(&["log", bundle.to_str().expect("utf-8"), "BO:2", "--json"]);
    let one: serde_json::Value = serde_json::from_slice(&one.stdout).expect("JSON");
    assert_eq!((one[0]["kind"].as_str(), one[0]["cites"].as_str()), (Some("respond"), Some("CA:2")), "{one}");
    assert_eq!(one.as_array().map(Vec::len), Some(1));

    for store in ["AR.db", "BO.db", "CA.db", "DO.db"] {
        let fsck = cbm(&["fsck", run.join(store).to_str().expect("utf-8")]);
        assert_eq!(code(&fsck), 0, "{}", text(&fsck));
    }

    // A truncated or tampered bundle is invalid: exit 2.
    let bytes = std::fs::read(&bundle).expect("bundle");
    let truncated = dir.path().join("truncated.cbor");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let audit = cbm(&["audit", "--at", "2026-06-01T00:00:00Z", truncated.to_str().expect("utf-8")]);
    assert_eq!(code(&audit), 2);
    // An invalid bundle accuses no one: no period is said to be missing.
    let said = text(&audit);
    assert!(!said.contains("is missing") && !said.contains("was late") && !said.contains("acknowledged"), "{said}");
    assert!(said.contains("obligations not judged"), "{said}");
    let tampered = dir.path().join("tampered.cbor");
    for position in [bytes.len() / 3, bytes.len() / 2 + 7, bytes.len() - 40] {
        let mut copy = bytes.clone();
        copy[position] ^= 0x01;
        std::fs::write(&tampered, &copy).expect("write");
        let audit = cbm(&["audit", tampered.to_str().expect("utf-8")]);
        assert_eq!(code(&audit), 2, "a flip at byte {position} must be invalid:\n{}", text(&audit));
    }
}

#[test]
fn keygen_writes_private_keys_once_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_str().expect("utf-8");
    let first = cbm(&["keygen", "--id", "AT", "--dir", path, "--json"]);
    assert_eq!(code(&first), 0, "{}", text(&first));
    let keys: serde_json::Value = serde_json::from_slice(&first.stdout).expect("JSON");
    assert_eq!(keys["signing_key"].as_str().expect("hex").len(), 64);
    for file in ["AT.signing.key", "AT.transport.key"] {
        let file = dir.path().join(file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).expect("key file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
    }
    let before = std::fs::read(dir.path().join("AT.signing.key")).expect("key");
    let again = cbm(&["keygen", "--id", "AT", "--dir", path]);
    assert_eq!(code(&again), 2);
    assert!(text(&again).contains("refusing to overwrite"), "{}", text(&again));
    assert_eq!(std::fs::read(dir.path().join("AT.signing.key")).expect("key"), before);
}

#[test]
fn states_exchange_public_key_files_only_and_a_roster_is_built_from_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for id in ["AR", "BO"] {
        common::ok(&["keygen", "--id", id, "--dir", "keys"], d);
    }
    // The public files say whose key and which, and anyone may read them.
    let line = std::fs::read_to_string(d.join("keys/BO.signing.pub")).expect("public file");
    let printed = common::ok(&["key", "public", "keys/BO.signing.key"], d);
    assert!(line.starts_with("cbm/1 signing-key BO ") && printed.trim() == line.trim(), "{line} / {printed}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.join("keys/BO.signing.pub")).expect("public file").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    // Only the public files are handed over; the roster is built from them.
    std::fs::create_dir(d.join("public")).expect("dir");
    for file in ["AR.signing.pub", "AR.transport.pub", "BO.signing.pub", "BO.transport.pub"] {
        std::fs::copy(d.join("keys").join(file), d.join("public").join(file)).expect("copy");
    }
    let new = ["roster", "new", "roster.cbm", "--agreement", "test", "--title", "Test", "--quorum", "1"];
    common::ok(&[&new[..], &["--start", "2026-01-01T00:00:00Z", "--schedule", "poc:monthly:7d:48h"]].concat(), d);
    let add = |args: &[&str]| common::cbm(&[&["roster", "add", "roster.cbm"][..], args].concat(), d);
    let ar = add(&["--id", "AR", "--name", "Arcadia", "--keys", "public", "--address", "127.0.0.1:7401"]);
    assert_eq!(code(&ar), 0, "{}", common::said(&ar));
    // A file of another state's key, or of the other role, is refused, naming what it holds.
    let swapped = add(&[
        "--id",
        "BO",
        "--name",
        "Borduria",
        "--signing-key",
        "public/AR.signing.pub",
        "--transport-key",
        "public/BO.transport.pub",
        "--address",
        "127.0.0.1:7402",
    ]);
    assert_eq!(code(&swapped), 2);
    assert!(common::said(&swapped).contains("it holds AR's key, not BO's"), "{}", common::said(&swapped));
    let roles = add(&[
        "--id",
        "BO",
        "--name",
        "Borduria",
        "--signing-key",
        "public/BO.transport.pub",
        "--transport-key",
        "public/BO.transport.pub",
        "--address",
        "127.0.0.1:7402",
    ]);
    assert!(common::said(&roles).contains("it holds a transport-key, not a signing-key"), "{}", common::said(&roles));
    let bo = add(&[
        "--id",
        "BO",
        "--name",
        "Borduria",
        "--signing-key",
        "public/BO.signing.pub",
        "--transport-key",
        "public/BO.transport.pub",
        "--address",
        "127.0.0.1:7402",
    ]);
    assert_eq!(code(&bo), 0, "{}", common::said(&bo));
    for id in ["AR", "BO"] {
        common::ok(&["roster", "sign", "roster.cbm", "--id", id, "--key", &format!("keys/{id}.signing.key")], d);
    }
    // `roster show` lists each signing key with its window.
    let shown = common::ok(&["roster", "show", "roster.cbm"], d);
    let bo_key = line.split_whitespace().last().expect("key");
    assert!(shown.contains(bo_key) && shown.contains("from 2026-01-01T00:00:00.000Z on"), "{shown}");
}

#[test]
fn version_completions_and_the_manual_come_from_the_command_definitions() {
    let version = cbm(&["--version"]);
    assert!(text(&version).contains("(protocol cbm/1, bundle format 1)"), "{}", text(&version));
    for shell in ["bash", "zsh", "fish"] {
        let script = cbm(&["completions", shell]);
        assert_eq!(code(&script), 0, "{}", text(&script));
        assert!(text(&script).contains("verify-proof"), "{shell} completes the commands");
    }
    let manual = cbm(&["man"]);
    assert_eq!(code(&manual), 0);
    assert!(text(&manual).contains(".TH cbm 1") && text(&manual).contains("verify\\-proof"), "{}", text(&manual));
}

#[test]
fn every_command_has_help_with_examples() {
    let commands: [&[&str]; 17] = [
        &["demo"],
        &["audit"],
        &["fsck"],
        &["keygen"],
        &["roster", "new"],
        &["roster", "add"],
        &["roster", "sign"],
        &["roster", "verify"],
        &["roster", "show"],
        &["node"],
        &["declare"],
        &["status"],
        &["export"],
        &["prove"],
        &["verify-proof"],
        &["reveal"],
        &["verify-opening"],
    ];
    for command in commands {
        let help = cbm(&[command, &["--help"]].concat());
        assert_eq!(code(&help), 0);
        assert!(text(&help).contains("Example"), "{command:?} --help lacks examples");
    }
    assert_eq!(code(&cbm(&["roster", "--help"])), 0);
    assert_eq!(code(&cbm(&["--help"])), 0);
}

#[test]
fn bad_input_gets_a_clear_error_and_exit_code_2() {
    let missing = cbm(&["audit", "/nonexistent/bundle.cbor"]);
    assert_eq!(code(&missing), 2);
    assert!(
        text(&missing).contains("error: /nonexistent/bundle.cbor cannot be read: No such file"),
        "{}",
        text(&missing)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.cbor");
    std::fs::write(&garbage, b"this is not a bundle").expect("write");
    let audit = cbm(&["audit", garbage.to_str().expect("utf-8")]);
    assert_eq!(code(&audit), 2);
    assert!(text(&audit).contains("INVALID"), "{}", text(&audit));
    assert_eq!(code(&cbm(&["fsck", "/nonexistent/store.db"])), 2);
    assert!(!Path::new("/nonexistent/store.db").exists(), "fsck must not create a store");
    assert_eq!(code(&cbm(&["keygen", "--id", "not valid!"])), 2);
    assert_eq!(code(&cbm(&["audit", "--agreement-hash", "zz", "x"])), 2);
}

mod common;

#[test]
fn roster_sign_does_not_announce_adopted_a_roster_that_every_signatory_signed_but_is_not_adoptable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // A quorum of 5 among 2 signatories: every signature can be there, yet
    // no agreement can be adopted from it.
    common::agreement(d, &["AR", "BO"], 5, 1);
    let last = common::cbm(&["roster", "sign", "roster.cbm", "--id", "BO", "--key", "keys/BO.signing.key"], d);
    let said = common::said(&last);
    assert_ne!(code(&last), 0, "{said}");
    assert!(!said.contains("the roster is adopted"), "{said}");
    assert!(said.contains("not adopted") && said.contains("quorum"), "{said}");
}

#[test]
fn node_commands_refuse_bad_input_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // A roster not signed by every signatory: the node refuses to start.
    common::agreement(d, &["AR", "BO"], 1, 1);
    let refused = common::cbm(&["node", "--config", "ar.toml"], d);
    assert_eq!(code(&refused), 2);
    assert!(common::said(&refused).contains("roster"), "{}", common::said(&refused));
    let unsigned = common::cbm(&["roster", "verify", "roster.cbm"], d);
    assert_eq!(code(&unsigned), 2);
    // The wrong key cannot sign for a signatory.
    let wrong_key = common::cbm(&["roster", "sign", "roster.cbm", "--id", "BO", "--key", "keys/AR.signing.key"], d);
    assert_eq!(code(&wrong_key), 2);
    assert!(common::said(&wrong_key).contains("not one the roster lists"), "{}", common::said(&wrong_key));
    common::ok(&["roster", "sign", "roster.cbm", "--id", "BO", "--key", "keys/BO.signing.key"], d);
    common::ok(&["roster", "verify", "roster.cbm"], d);

    // Malformed files: a roster that is not one, a configuration that is not TOML.
    std::fs::write(d.join("garbage.cbm"), b"\xa1\x00").expect("write");
    let garbage = common::cbm(&["roster", "show", "garbage.cbm"], d);
    assert_eq!(code(&garbage), 2);
    assert!(common::said(&garbage).contains("is not a roster"), "{}", common::said(&garbage));
    std::fs::write(d.join("broken.toml"), "signatory = ").expect("write");
    let broken = common::cbm(&["node", "--config", "broken.toml"], d);
    assert_eq!(code(&broken), 2);
    assert!(common::said(&broken).contains("not a valid node configuration"), "{}", common::said(&broken));
    assert_eq!(code(&common::cbm(&["node", "--config", "missing.toml"], d)), 2);

    // A key file others can read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = d.join("keys/AR.signing.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let loose = common::cbm(&["node", "--config", "ar.toml"], d);
        assert_eq!(code(&loose), 2);
        assert!(common::said(&loose).contains("readable by others"), "{}", common::said(&loose));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    // No node running.
    let alone = common::cbm(&["status", "--data-dir", "ar"], d);
    assert_eq!(code(&alone), 2);
    assert!(common::said(&alone).contains("no node is running"), "{}", common::said(&alone));

    // An entry that breaks the schedule is refused and nothing is stored.
    let node = common::Nodes(vec![common::start_node(d, "ar")]);
    let future = common::cbm(&["declare", "--data-dir", "ar", "--topic", "points-of-contact", "--period", "999999"], d);
    assert_eq!(code(&future), 2);
    assert!(common::said(&future).contains("refused"), "{}", common::said(&future));
    let unscheduled = common::cbm(&["declare", "--data-dir", "ar", "--topic", "weather", "--period", "0"], d);
    assert_eq!(code(&unscheduled), 2);
    // A period by its calendar label: one the schedule does not have is
    // refused, naming how its periods are named.
    let label = common::cbm(&["declare", "--data-dir", "ar", "--topic", "points-of-contact", "--period", "2026-13"], d);
    assert_eq!(code(&label), 2);
    assert!(
        common::said(&label)
            .contains("2026-13 names no period of the points-of-contact schedule (its periods are named like 2026-01)"),
        "{}",
        common::said(&label)
    );
    let status = common::ok(&["status", "--data-dir", "ar", "--json"], d);
    let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    assert_eq!(status["status"]["logs"][0]["size"], 0, "nothing was stored: {status}");
    // The schedule started in January 2026: every month since, AR and BO owe
    // a declaration, and status says so.
    let overdue = status["obligations"]["overdue"].as_array().expect("overdue");
    assert!(overdue.iter().any(|o| o["signatory"] == "BO" && o["period"] == 0 && o["status"] == "missing"), "{status}");
    let human = common::ok(&["status", "--data-dir", "ar"], d);
    assert!(human.contains("overdue declarations:") && human.contains("BO points-of-contact period 0"), "{human}");
    // BO's node is down: the entry is stored, and the wait for receipts says so.
    let unreachable = common::cbm(
        &[
            "declare",
            "--data-dir",
            "ar",
            "--topic",
            "points-of-contact",
            "--period",
            "0",
            "--field",
            "a=b",
            "--wait",
            "1",
        ],
        d,
    );
    assert_eq!(code(&unreachable), 3, "stored but not yet received has its own exit code");
    let said = common::said(&unreachable);
    assert!(said.contains("published and stored, but the quorum has not received it"), "{said}");
    assert!(!said.contains("refused"), "a stored entry is not called refused: {said}");
    // A committed field without recipients, and a citation of nothing.
    assert_eq!(
        code(&common::cbm(&["declare", "--data-dir", "ar", "--topic", "points-of-contact", "--commit", "x=1"], d)),
        2
    );
    assert_eq!(
        code(&common::cbm(&["declare", "--data-dir", "ar", "--kind", "object", "--cites", "BO:5", "--reason", "r"], d)),
        2
    );
    drop(node);
}

#[test]
fn every_kind_of_entry_can_be_declared_from_flags_or_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    common::agreement(d, &["AR", "BO"], 1, 2);
    let nodes = common::Nodes(vec![common::start_node(d, "ar"), common::start_node(d, "bo")]);
    let declare = |data_dir: &str, args: &[&str]| {
        let mut all = vec!["declare", "--data-dir", data_dir];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--wait", "30"]);
        common::ok(&all, d)
    };
    declare("ar", &["--kind", "no-change", "--topic", "points-of-contact"]);
    declare("ar", &["--kind", "request", "--ask", "BO", "--reply-by", "2030-01-01T00:00:00Z", "--field", "q=why?"]);
    declare("bo", &["--kind", "respond", "--cites", "AR:1", "--field", "a=because"]);
    declare("ar", &["--kind", "status", "--topic", "points-of-contact", "--change", "suspend"]);
    std::fs::write(d.join("fields.json"), r#"[{"label": "summary", "media_type": "text/plain", "value": "json"}]"#)
        .expect("write");
    declare("ar", &["--kind", "notification", "--topic", "incident", "--fields-file", "fields.json"]);
    std::fs::write(
        d.join("fields.toml"),
        "[[field]]\nlabel = \"summary\"\nmedia_type = \"text/plain\"\nvalue = \"toml\"\ncommitted_to = [\"BO\"]\n",
    )
    .expect("write");
    declare("ar", &["--kind", "notification", "--topic", "incident", "--fields-file", "fields.toml"]);
    // A second suspension of a suspended obligation breaks the status rules
    // (entries were published since the first: it is no retry of it).
    let again = common::cbm(
        &["declare", "--data-dir", "ar", "--kind", "status", "--topic", "points-of-contact", "--change", "suspend"],
        d,
    );
    assert_eq!(code(&again), 2, "{}", common::said(&again));
    let status = common::ok(&["status", "--data-dir", "bo", "--json", "--wait", "30"], d);
    let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    assert_eq!(status["status"]["logs"][0]["size"], 5, "{status}");
    assert_eq!(status["status"]["logs"][1]["size"], 1, "{status}");
    // A node's own record, read from its data directory: its request, and
    // its committed field with the value it holds the opening of.
    let log = common::ok(&["log", "ar", "--roster", "roster.cbm", "--signatory", "AR", "--json"], d);
    let log: serde_json::Value = serde_json::from_str(&log).expect("JSON");
    let request = log.as_array().and_then(|l| l.iter().find(|e| e["kind"] == "request")).expect("the request");
    assert!(request["detail"].as_str().is_some_and(|d| d.starts_with("asks BO, reply by 2030-01-01")), "{request}");
    let committed = log.as_array().into_iter().flatten().flat_map(|e| e["fields"].as_array().into_iter().flatten());
    assert!(committed.clone().any(|f| f["committed"] == true && f["value"] == "toml"), "{log}");
    assert!(committed.clone().any(|f| f["value"] == "toml" && f["opened_to"] == serde_json::json!(["BO"])), "{log}");
    let text = common::ok(&["log", "ar", "--roster", "roster.cbm", "AR:4"], d);
    assert!(
        text.contains("summary = toml  (committed, opened to BO)"),
        "the owner knows whom it opened a field to: {text}"
    );
    // An export to a place that cannot be written is refused clearly, and leaves nothing.
    let unwritable = common::cbm(&["export", "--data-dir", "bo", "--out", "missing-dir/record.cbm"], d);
    assert_eq!(code(&unwritable), 2);
    assert!(common::said(&unwritable).contains("writing the bundle"), "{}", common::said(&unwritable));
    assert!(!d.join("missing-dir").exists());
    // BO received the opening of the committed field from the TOML file.
    common::ok(
        &["reveal", "--data-dir", "bo", "--signatory", "AR", "--index", "4", "--field", "0", "--out", "x.opening"],
        d,
    );
    drop(nodes);
}

#[test]
fn a_declare_retried_returns_the_entry_already_published_instead_of_a_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    common::agreement(d, &["AR", "BO"], 1, 2);
    let _node = common::Nodes(vec![common::start_node(d, "ar")]);
    common::ok(&["status", "--data-dir", "ar", "--wait", "30"], d);
    let declare = |field: &str, key: Option<&str>| {
        let mut args = vec!["declare", "--data-dir", "ar", "--kind", "notification", "--topic", "incident"];
        args.extend(["--field", field]);
        args.extend(key.iter().flat_map(|k| ["--idempotency-key", *k]));
        common::ok(&args, d)
    };
    assert!(declare("what=outage", None).contains("published entry 0"));
    // The same draft again, as after a declare whose outcome was unknown.
    let retry = declare("what=outage", None);
    assert!(retry.contains("entry 0 was already published") && retry.contains("not published again"), "{retry}");
    // Under a key, the key decides: a new key publishes the same draft
    // again, a retry under it returns its entry, and the key used again
    // for another draft is refused.
    assert!(declare("what=outage", Some("second-outage")).contains("published entry 1"));
    assert!(declare("what=outage", Some("second-outage")).contains("entry 1 was already published"));
    let args = ["declare", "--data-dir", "ar", "--kind", "notification", "--topic", "incident"];
    let reused = common::cbm(&[&args[..], &["--field", "what=else", "--idempotency-key", "second-outage"]].concat(), d);
    assert_eq!(code(&reused), 2, "{}", common::said(&reused));
    assert!(common::said(&reused).contains("used for another draft"), "{}", common::said(&reused));
    // The first draft again, now that another entry came after it: a new
    // declaration, not a retry.
    assert!(declare("what=outage", None).contains("published entry 2"));
    let status = common::ok(&["status", "--data-dir", "ar", "--json"], d);
    let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    assert_eq!(status["status"]["logs"][0]["size"], 3, "{status}");
}

#[test]
fn a_declare_whose_node_goes_away_before_it_answers_exits_4_outcome_unknown() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir(d.join("ar")).expect("data directory");
    // A node that takes the request and dies before answering.
    let listener = std::os::unix::net::UnixListener::bind(d.join("ar/admin.sock")).expect("socket");
    let node = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut request = String::new();
        std::io::BufReader::new(&stream).read_line(&mut request).expect("request");
        request
    });
    let declare = common::cbm(&["declare", "--data-dir", "ar", "--topic", "points-of-contact", "--field", "a=1"], d);
    assert_eq!(code(&declare), 4, "{}", common::said(&declare));
    let said = common::said(&declare);
    assert!(said.contains("unknown") && said.contains("run the same command again"), "{said}");
    assert!(node.join().expect("node").contains("\"publish\""), "the node was asked to publish");
    // With no node at all, nothing was sent: exit 2.
    std::fs::remove_file(d.join("ar/admin.sock")).expect("remove socket");
    let unsent = common::cbm(&["declare", "--data-dir", "ar", "--topic", "points-of-contact", "--field", "a=1"], d);
    assert_eq!(code(&unsent), 2, "{}", common::said(&unsent));
}

#[test]
fn declare_refuses_a_kind_without_its_arguments_before_it_reaches_the_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // No node runs here: a refusal that names the argument came from the parser.
    let cases: [(&[&str], &str); 8] = [
        (&[], "--topic"),
        (&["--kind", "no-change"], "--topic"),
        (&["--kind", "amend", "--reason", "typo"], "--amends"),
        (&["--kind", "amend", "--amends", "0"], "--reason"),
        (&["--kind", "object", "--reason", "wrong"], "--cites"),
        (&["--kind", "request"], "--reply-by"),
        (&["--kind", "status", "--topic", "points-of-contact"], "--change"),
        (&["--topic", "points-of-contact", "--commit", "annex=x"], "--commit-to"),
    ];
    for (args, missing) in cases {
        let out = common::cbm(&[&["declare", "--data-dir", "nowhere"], args].concat(), d);
        let said = common::said(&out);
        assert_eq!(code(&out), 2, "{args:?}: {said}");
        assert!(said.contains("required arguments were not provided") && said.contains(missing), "{args:?}: {said}");
        assert!(!said.contains("no node is running"), "{args:?} reached for the node: {said}");
    }
}

#[test]
fn status_names_the_requests_waiting_for_our_answer_until_we_answer_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    common::agreement(d, &["AR", "BO"], 1, 2);
    let _nodes = common::Nodes(vec![common::start_node(d, "ar"), common::start_node(d, "bo")]);
    let ask = ["--kind", "request", "--ask", "BO", "--reply-by", "2099-01-01T00:00:00Z", "--field", "q=who?"];
    common::ok(&[&["declare", "--data-dir", "ar", "--wait", "30"][..], &ask[..]].concat(), d);
    common::ok(&["status", "--data-dir", "bo", "--wait", "30"], d);
    let waiting = |data_dir: &str| -> serde_json::Value {
        let status = common::ok(&["status", "--data-dir", data_dir, "--json"], d);
        let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
        status["obligations"]["to_answer"].clone()
    };
    let owed = waiting("bo");
    assert_eq!((owed[0]["requester"].as_str(), owed[0]["index"].as_u64()), (Some("AR"), Some(0)), "{owed}");
    assert_eq!(waiting("ar"), serde_json::json!([]), "AR was not asked");
    let text = common::ok(&["status", "--data-dir", "bo"], d);
    assert!(text.contains("requests waiting for our answer:\n  AR's request (entry 0): reply by 2099-01-01"), "{text}");
    common::ok(
        &["declare", "--data-dir", "bo", "--kind", "respond", "--cites", "AR:0", "--field", "a=us", "--wait", "30"],
        d,
    );
    assert_eq!(waiting("bo"), serde_json::json!([]), "answered");
}
