//! Real nodes on loopback QUIC, each with its own store (issue 4 point 7).
//! No test sleeps to "wait for" progress: each waits on a node's status,
//! re-checked on every change of its store, with a deadline.

use std::sync::Arc;

use cbm_net::local::LocalAgreement;
use cbm_net::{ManualClock, Node};
use cbm_tests::net::{PATIENCE, START, declaration, start_all, terms};
use cbm_wire::{SignatoryId, TimeSpan};

const FIVE: [(&str, &str); 5] =
    [("AR", "Arcadia"), ("BO", "Borduria"), ("CA", "Carpathia"), ("DO", "Dorado"), ("EL", "Elbonia")];

fn day() -> TimeSpan {
    TimeSpan::from_hours(24)
}

async fn shutdown(nodes: Vec<Node>) {
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_signatories_publish_for_three_periods_and_every_log_settles_everywhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START));
    let mut agreement = LocalAgreement::new(&FIVE, terms(3)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    for period in 0..3u64 {
        clock.set(cbm_wire::Timestamp(START.0 + period * 31 * day().0 + day().0));
        for node in &nodes {
            node.publish(vec![declaration(period, &format!("{} period {period}", node.signatory()))])
                .await
                .expect("publish");
        }
        let size = period + 1;
        for node in &nodes {
            node.wait_until("every log mirrored and settled", PATIENCE, |s| {
                s.logs.iter().all(|l| l.size == size && l.settled_size == size)
            })
            .await
            .expect("settled");
        }
    }
    let status = nodes[0].status().await.expect("status");
    assert!(status.equivocators.is_empty());
    assert_eq!(status.logs.len(), 5);
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_view_is_caught_by_every_honest_node_with_evidence_that_verifies_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..4], terms(2)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    // The equivocator, DO, runs a second node under the same keys that
    // shows a different log to AR only.
    let do_ = SignatoryId::new("DO").expect("id");
    let ar = SignatoryId::new("AR").expect("id");
    let twin_config = agreement
        .node_config(3, dir.path().join("DO-twin.db"), Arc::clone(&clock) as _, Some(vec![ar.clone()]))
        .expect("config");
    let twin = Node::start(twin_config).await.expect("twin starts");
    nodes[3].publish(vec![declaration(0, "the truth")]).await.expect("publish");
    twin.publish(vec![declaration(0, "something else")]).await.expect("publish");
    for node in &nodes[..3] {
        let status = node
            .wait_until("the split view is caught", PATIENCE, |s| s.equivocators.contains(&do_))
            .await
            .expect("caught");
        assert_eq!(status.equivocators, vec![do_.clone()]);
    }
    // The evidence verifies with nothing but the roster.
    let bundle = dir.path().join("bundle.cbor");
    nodes[1].export(bundle.clone(), true).await.expect("export");
    let report = cbm_log::audit::audit(
        std::fs::File::open(&bundle).expect("bundle"),
        None,
        cbm_wire::Timestamp(START.0 + 2 * day().0),
        |_| {},
    );
    assert_eq!(report.verdict, cbm_log::audit::Verdict::Findings, "{:?}", report.problems);
    assert!(report.signatories.iter().any(|s| s.signatory.as_ref() == Some(&do_) && s.equivocated));
    twin.shutdown().await;
    shutdown(nodes).await;
}
