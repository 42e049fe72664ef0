//! A `cbm node` process as its peers see it when it stops and restarts:
//! a node stopped with SIGTERM closes its connections at once, and a node
//! killed and restarted again and again is not locked out by its peers.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cbm_net::client::call;
use cbm_net::tls::{ConnectionLimits, Form, Identity, client_config};
use cbm_wire::{PublicKey, Request, SigningKey};
use common::{Nodes, agreement, ok, start_node, start_node_logging};

/// The key in `keys/ID.KIND.key` under `dir`.
fn key(dir: &Path, id: &str, kind: &str) -> SigningKey {
    let text = std::fs::read_to_string(dir.join(format!("keys/{id}.{kind}.key"))).expect("key file");
    let seed: [u8; 32] = hex::decode(text.trim()).expect("hex").try_into().expect("32 bytes");
    SigningKey::from_bytes(&seed)
}

/// The `listen` address in a node configuration.
fn listen_address(dir: &Path, name: &str) -> std::net::SocketAddr {
    let config = std::fs::read_to_string(dir.join(format!("{name}.toml"))).expect("config");
    let line = config.lines().find(|l| l.starts_with("listen")).expect("listen line");
    line.split('"').nth(1).expect("quoted address").parse().expect("address")
}

/// Sets the gossip interval of the node configurations of `names`.
fn set_gossip_interval(dir: &Path, names: &[&str], interval: &str) {
    for name in names {
        let path = dir.join(format!("{name}.toml"));
        let config = std::fs::read_to_string(&path).expect("config");
        let config = config.replace("gossip_interval = \"300ms\"", &format!("gossip_interval = \"{interval}\""));
        std::fs::write(path, config).expect("config");
    }
}

/// Publishes a notification through `data_dir`'s node, waiting at most
/// `wait` seconds for the quorum if given.
fn notify(dir: &Path, data_dir: &str, value: u32, wait: Option<&str>) -> std::process::Output {
    let field = format!("a={value}");
    let args = ["declare", "--data-dir", data_dir, "--kind", "notification", "--topic", "contact", "--field", &field];
    Command::new(env!("CARGO_BIN_EXE_cbm"))
        .args(args)
        .args(wait.map(|w| ["--wait", w]).iter().flatten())
        .current_dir(dir)
        .output()
        .expect("cbm runs")
}

#[test]
fn a_node_stopped_with_sigterm_closes_its_connections_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let mut nodes = Nodes(vec![start_node(d, "ar")]);
    // Wait for the admin socket: the node is then listening.
    ok(&["status", "--data-dir", "ar", "--wait", "30"], d);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        // This test is BO: it dials AR with BO's transport key.
        let limits = ConnectionLimits::default();
        // Raw public keys bind no agreement: the identity's does not matter.
        let identity = Identity::new(&key(d, "BO", "transport"), cbm_wire::AgreementHash([0; 32])).expect("identity");
        let config = client_config(&identity, PublicKey::of(&key(d, "AR", "transport")), Form::RawPublicKey, &limits)
            .expect("client config");
        let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().expect("address")).expect("endpoint");
        let connection =
            endpoint.connect_with(config, listen_address(d, "ar"), "cbm").expect("connect").await.expect("handshake");
        call(&connection, &Request::Evidence { after: None }, 1 << 20, Duration::from_secs(10))
            .await
            .expect("AR answers");

        let pid = nodes.0[0].id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
        // Well under the 30 s idle timeout: only a CONNECTION_CLOSE ends it this soon.
        let closed = tokio::time::timeout(Duration::from_secs(10), connection.closed()).await;
        match closed {
            Ok(quinn::ConnectionError::ApplicationClosed(close)) => {
                assert_eq!(close.error_code, 0u32.into(), "closed as shutting down: {close:?}");
            }
            other => panic!("AR's node should close the connection when it stops: {other:?}"),
        }
    });
    let status = nodes.0[0].wait().expect("AR's node exits");
    assert!(status.success(), "a node stopped with SIGTERM exits cleanly: {status:?}");
}

#[test]
fn a_node_killed_and_restarted_many_times_is_cosigned_by_every_live_peer_within_two_gossip_intervals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO", "CA"], 2, 3);
    let interval = Duration::from_secs(3);
    set_gossip_interval(d, &["ar", "bo", "ca"], "3s");
    let mut nodes = Nodes(["ar", "bo", "ca"].iter().map(|name| start_node(d, name)).collect());

    // Each run of AR's node publishes one entry, which both peers must
    // cosign within two gossip intervals, then dies without closing
    // anything: its peers hold its dead connections until their idle
    // timeout (30 s), longer than the whole test.
    for run in 0..8u64 {
        if run > 0 {
            nodes.0[0].kill().expect("SIGKILL");
            nodes.0[0].wait().expect("reaped");
            nodes.0[0] = start_node(d, "ar");
        }
        let published = Instant::now();
        let declared = notify(d, "ar", u32::try_from(run).expect("small"), None);
        assert!(declared.status.success(), "run {run} of AR: {}", common::said(&declared));
        loop {
            let status = ok(&["status", "--data-dir", "ar", "--json"], d);
            let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
            let logs = status["status"]["logs"].as_array().expect("logs");
            let ar = logs.iter().find(|l| l["owner"] == "AR").expect("AR's log");
            let cosigners = ar["cosigners"].as_array().cloned().unwrap_or_default();
            if ar["size"] == run + 1 && cosigners.len() == 2 {
                break;
            }
            assert!(
                published.elapsed() < 2 * interval,
                "run {run}: AR's restarted node is not cosigned by BO and CA within two gossip intervals: {ar}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn a_node_tells_its_operator_what_it_does_in_plain_lines_and_names_a_peer_that_goes_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    agreement(d, &["AR", "BO"], 1, 2);
    let log = d.join("ar.log");
    let mut nodes = Nodes(vec![start_node_logging(d, "ar", &log), start_node(d, "bo")]);
    ok(&["status", "--data-dir", "ar", "--wait", "30"], d);
    ok(&["status", "--data-dir", "bo", "--wait", "30"], d);
    let published = notify(d, "ar", 1, Some("30"));
    assert!(published.status.success(), "{}", common::said(&published));
    // AR says when its gossip first reaches BO (which may have started after it).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).expect("log").contains("peer reached") {
        assert!(
            Instant::now() < deadline,
            "AR never said it reached BO:\n{}",
            std::fs::read_to_string(&log).expect("log")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // BO goes away; AR says so, naming it.
    nodes.0[1].kill().expect("SIGKILL");
    nodes.0[1].wait().expect("reaped");
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&log).expect("log");
        if text.lines().any(|l| l.contains("peer unreachable") && l.contains("BO")) {
            break text;
        }
        assert!(Instant::now() < deadline, "AR never said BO is unreachable:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    for said in
        ["listening on", "peer reached", "published", "received by the quorum", "address=127.0.0.1:", "INFO", "WARN"]
    {
        assert!(text.contains(said), "the log should say {said:?}:\n{text}");
    }
    assert!(!text.contains('\u{1b}'), "no terminal colour codes in a file:\n{text}");
    // The agreement began in January 2026 and no one declared: AR says
    // what is overdue, once each, and how many more than it lists.
    let january = "obligation overdue: AR's points-of-contact declaration for period 0, due 2026-01-08T00:00:00.000Z";
    assert_eq!(text.matches(january).count(), 1, "{text}");
    assert!(text.contains("more overdue: `cbm status` lists them all"), "{text}");
    // Status says the same: BO unreachable, and when it last answered.
    let status: serde_json::Value =
        serde_json::from_str(&ok(&["status", "--data-dir", "ar", "--json"], d)).expect("JSON");
    let bo = &status["status"]["peers"][0];
    assert_eq!((bo["peer"].as_str(), bo["reachable"].as_bool()), (Some("BO"), Some(false)), "{status}");
    assert!(bo["last_contact"].is_string(), "{status}");
    assert!(ok(&["status", "--data-dir", "ar"], d).contains("UNREACHABLE"));
    // AR publishes with BO away: waiting for settlement runs out, and the
    // status says which log is not settled and who does not answer (exit 3).
    let stored = notify(d, "ar", 2, None);
    assert!(stored.status.success(), "{}", common::said(&stored));
    let waited = common::cbm(&["status", "--data-dir", "ar", "--wait", "1"], d);
    assert_eq!(waited.status.code(), Some(3), "{}", common::said(&waited));
    let said = common::said(&waited);
    assert!(said.contains("NOT SETTLED after 1 s: AR (settled at 1 of 2); not answering: BO"), "{said}");
}
