//! Communication checks (`cbm ping`), with real nodes: a node answers one
//! by itself only if its configuration says so; a person answers the rest;
//! `cbm ping --report` gives, per state, the checks answered and how fast.

mod common;

use std::time::{Duration, Instant};

use common::{Nodes, agreement, ok, start_node};

#[test]
fn a_check_is_answered_by_the_node_that_was_told_to_and_by_a_person_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO", "CA"], 1, 3);
    // BO's operator lets its node answer checks; CA's answers them by hand.
    let bo = d.join("bo.toml");
    let config = std::fs::read_to_string(&bo).expect("config") + "answer_checks = true\n";
    std::fs::write(&bo, config).expect("config");
    let _nodes = Nodes(vec![start_node(d, "ar"), start_node(d, "bo"), start_node(d, "ca")]);
    for who in ["ar", "bo", "ca"] {
        ok(&["status", "--data-dir", who, "--wait", "30"], d);
    }
    let sent = ok(&["ping", "--data-dir", "ar", "--reply-within", "1h", "--wait", "30"], d);
    assert!(sent.contains("published entry 0"), "{sent}");
    let report = |who: &str| -> serde_json::Value {
        serde_json::from_str(&ok(&["ping", "--data-dir", who, "--report", "--json"], d)).expect("JSON")
    };
    let of = |report: &serde_json::Value, party: &str, what: &str| {
        report.as_array().and_then(|r| r.iter().find(|s| s["party"] == party)).and_then(|s| s[what].as_u64())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while of(&report("ar"), "BO", "in_time") != Some(1) {
        assert!(Instant::now() < deadline, "BO's node never answered: {}", report("ar"));
        std::thread::sleep(Duration::from_millis(200));
    }
    let now = report("ar");
    assert_eq!(of(&now, "CA", "pending"), Some(1), "CA's node does not answer by itself: {now}");
    // CA's operator sees the check waiting, and answers it.
    let waiting: serde_json::Value =
        serde_json::from_str(&ok(&["status", "--data-dir", "ca", "--json"], d)).expect("JSON");
    assert_eq!(waiting["obligations"]["to_answer"][0]["requester"], "AR", "{waiting}");
    ok(
        &["declare", "--data-dir", "ca", "--kind", "respond", "--cites", "AR:0", "--field", "a=here", "--wait", "30"],
        d,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while of(&report("ar"), "CA", "in_time") != Some(1) {
        assert!(Instant::now() < deadline, "CA's answer never reached AR: {}", report("ar"));
        std::thread::sleep(Duration::from_millis(200));
    }
    // The table a person reads; BO answered once, however many rounds passed.
    let table = ok(&["ping", "--data-dir", "ar", "--report"], d);
    assert!(table.contains("communication checks, per state asked:"), "{table}");
    assert!(table.lines().any(|l| l.trim_start().starts_with("BO") && l.contains(" 1 ")), "{table}");
    std::thread::sleep(Duration::from_secs(1));
    let status: serde_json::Value =
        serde_json::from_str(&ok(&["status", "--data-dir", "bo", "--json"], d)).expect("JSON");
    let bo_log = status["status"]["logs"].as_array().and_then(|l| l.iter().find(|l| l["owner"] == "BO")).cloned();
    assert_eq!(bo_log.map(|l| l["size"].clone()), Some(serde_json::json!(1)), "one answer: {status}");
}
