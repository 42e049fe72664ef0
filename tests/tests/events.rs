//! What a node tells a person watching it (`Node::events`), on a manual
//! clock: a declaration of ours due soon, then overdue; each once.

use std::sync::Arc;

use cbm_net::local::LocalAgreement;
use cbm_net::{EventCursor, EventKind, ManualClock};
use cbm_tests::net::{PATIENCE, START, declaration, start_all, terms};
use cbm_wire::{TimeSpan, Timestamp};

fn at(days: f64) -> Timestamp {
    Timestamp(START.0 + (days * 86_400_000.0) as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declaration_of_ours_is_said_due_soon_within_the_warning_time_then_overdue_once_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(at(3.0)));
    let mut agreement = LocalAgreement::new(&[("AR", "Arcadia"), ("BO", "Borduria")], terms(1)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    let kinds = |events: &[cbm_net::Event]| events.iter().map(|e| e.kind).collect::<Vec<_>>();
    // Period 0 is due 7 days in; the default warning is 2 days ahead.
    let (events, cursor) = nodes[0].events(EventCursor::default()).await.expect("events");
    assert_eq!(kinds(&events), [], "four days ahead: nothing yet");
    clock.set(at(5.5));
    let (events, cursor) = nodes[0].events(cursor).await.expect("events");
    assert_eq!(kinds(&events), [EventKind::DueSoon], "{events:?}");
    assert!(events[0].text.starts_with("due soon: our points-of-contact declaration for period 0 is due"));
    let (events, cursor) = nodes[0].events(cursor).await.expect("events");
    assert_eq!(kinds(&events), [], "once");
    // AR declares; BO does not, and falls overdue.
    nodes[0].publish(vec![declaration(0, "cert@ar.example")]).await.expect("publish");
    nodes[0]
        .wait_until("AR's declaration settled", PATIENCE, |s| s.logs.iter().any(|l| l.size == 1 && l.settled_size == 1))
        .await
        .expect("settled");
    clock.set(at(7.0).saturating_add(TimeSpan(1)));
    let (events, _) = nodes[0].events(cursor).await.expect("events");
    assert_eq!(kinds(&events), [EventKind::Overdue], "{events:?}");
    assert!(events[0].text.starts_with("obligation overdue: BO's points-of-contact declaration for period 0"));
    for node in nodes {
        node.shutdown().await;
    }
}
