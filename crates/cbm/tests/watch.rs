//! `cbm watch` with real nodes: each event once, across restarts of the
//! watcher, as lines a person reads or JSON lines a pager reads.

mod common;

use std::time::{Duration, Instant};

use common::{Nodes, agreement, ok, start_node};

/// The events `cbm watch --once --json` prints for BO's node: (kind, text).
fn watch_once(d: &std::path::Path) -> Vec<(String, String)> {
    ok(&["watch", "--data-dir", "bo", "--once", "--json"], d)
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("a JSON object per line");
            (event["kind"].as_str().unwrap_or("?").to_owned(), event["text"].as_str().unwrap_or("?").to_owned())
        })
        .collect()
}

#[test]
fn a_watcher_is_told_of_each_event_once_across_its_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let mut nodes = Nodes(vec![start_node(d, "ar"), start_node(d, "bo")]);
    ok(&["status", "--data-dir", "bo", "--wait", "30"], d);
    // The first look starts from what the node holds: only what is overdue
    // (the agreement began in January 2026 and no one declared).
    let first = watch_once(d);
    assert!(!first.is_empty() && first.iter().all(|(kind, _)| kind == "overdue"), "{first:?}");
    assert_eq!(watch_once(d), [], "nothing twice");
    // AR notifies everyone and asks BO something.
    let notify = ["declare", "--data-dir", "ar", "--kind", "notification", "--topic", "incident", "--field", "a=1"];
    ok(&[&notify[..], &["--wait", "30"]].concat(), d);
    let ask = ["declare", "--data-dir", "ar", "--kind", "request", "--ask", "BO", "--reply-by", "2099-01-01T00:00:00Z"];
    ok(&[&ask[..], &["--field", "q=?", "--wait", "30"]].concat(), d);
    ok(&["status", "--data-dir", "bo", "--wait", "30"], d);
    let now = watch_once(d);
    let kinds: Vec<&str> = now.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["notification", "request"], "one event for the request, not also 'waiting': {now:?}");
    assert!(now[0].1.starts_with("notification from AR on incident (entry AR:0)"), "{now:?}");
    assert!(now[1].1.contains("answer with cbm declare --kind respond --cites AR:1"), "{now:?}");
    assert_eq!(watch_once(d), [], "nothing twice");
    // AR goes away: BO's watcher is told, in words a person reads.
    nodes.0[0].kill().expect("SIGKILL");
    nodes.0[0].wait().expect("reaped");
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = ok(&["watch", "--data-dir", "bo", "--once"], d);
        if !text.is_empty() {
            break text;
        }
        assert!(Instant::now() < deadline, "BO's watcher was never told AR is unreachable");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(text.contains("peer unreachable: AR does not answer"), "{text}");
}

#[test]
fn a_node_runs_its_on_event_command_once_per_event_with_the_event_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let events = d.join("events.jsonl");
    let bo = d.join("bo.toml");
    let line = format!("on_event = [\"sh\", \"-c\", \"cat >> '{}'\"]\n", events.display());
    std::fs::write(&bo, std::fs::read_to_string(&bo).expect("config") + &line).expect("config");
    let mut nodes = Nodes(vec![start_node(d, "ar"), start_node(d, "bo")]);
    ok(&["status", "--data-dir", "bo", "--wait", "30"], d);
    let notify = ["declare", "--data-dir", "ar", "--kind", "notification", "--topic", "incident", "--field", "a=1"];
    ok(&[&notify[..], &["--wait", "30"]].concat(), d);
    let notifications = || {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON event per line"))
            .filter(|e| e["kind"] == "notification")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while notifications() == 0 {
        assert!(Instant::now() < deadline, "BO's on_event command never ran for the notification");
        std::thread::sleep(Duration::from_millis(200));
    }
    // BO's node restarts (once the cursor after the event is kept): the
    // command does not run again for it.
    std::thread::sleep(Duration::from_millis(500));
    nodes.0[1].kill().expect("SIGKILL");
    nodes.0[1].wait().expect("reaped");
    nodes.0[1] = start_node(d, "bo");
    ok(&["status", "--data-dir", "bo", "--wait", "30"], d);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(notifications(), 1, "{}", std::fs::read_to_string(&events).unwrap_or_default());
}
