//! Real nodes on loopback QUIC, each with its own store (issue 4 point 7).
//! No test sleeps to "wait for" progress: each waits on a node's status,
//! re-checked on every change of its store, with a deadline.

use std::sync::Arc;

use cbm_net::local::LocalAgreement;
use cbm_net::tls::{BINDING_URI_PREFIX, Certificate, Form, Identity};
use cbm_net::{ManualClock, Node};
use cbm_tests::net::{PATIENCE, START, declaration, start_all, terms};
use cbm_wire::{SignatoryId, TimeSpan};
use ed25519_dalek::pkcs8::EncodePublicKey;

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
    let truth = nodes[3].publish(vec![declaration(0, "the truth")]).await.expect("publish");
    let lie = twin.publish(vec![declaration(0, "something else")]).await.expect("publish");
    for node in &nodes[..3] {
        let status = node
            .wait_until("the split view is caught", PATIENCE, |s| s.equivocators.contains(&do_))
            .await
            .expect("caught");
        assert_eq!(status.equivocators, vec![do_.clone()]);
    }
    // Pushed again, by anyone, the checkpoint AR does not hold is answered
    // `Equivocation` (the one it holds, `Accepted`); a proof for an index
    // past the size is `OutOfRange`.
    let (ar_party, ca_party) = (&agreement.parties[0], &agreement.parties[2]);
    let connection =
        raw_connection(&ca_party.transport_key, &ar_party.transport_key, ar_party.address).await.expect("connects");
    let mut codes = Vec::new();
    for checkpoint in [truth.clone(), lie] {
        let request = cbm_wire::Request::PushCheckpoint { checkpoint };
        match cbm_net::client::call(&connection, &request, 16 << 20, PATIENCE).await {
            Ok(cbm_wire::Response::Accepted) => codes.push(None),
            Err(cbm_net::client::CallError::Refused { code, .. }) => codes.push(Some(code)),
            other => panic!("{other:?}"),
        }
    }
    codes.sort_by_key(|c| c.is_some());
    assert_eq!(codes, vec![None, Some(cbm_wire::ErrorCode::Equivocation)]);
    let request = cbm_wire::Request::InclusionProof { log: truth.body.log, index: 1, size: 1 };
    assert!(matches!(
        cbm_net::client::call(&connection, &request, 16 << 20, PATIENCE).await,
        Err(cbm_net::client::CallError::Refused { code: cbm_wire::ErrorCode::OutOfRange, .. })
    ));
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
    assert!(report.signatories.iter().any(|s| s.signatory.as_ref() == Some(&do_) && s.judged.equivocated));
    twin.shutdown().await;
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_an_equivocator_invents_without_end_is_kept_within_its_cap_and_served_in_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..2], terms(1)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    let bo = nodes[1].signatory().clone();
    let held = nodes[1].publish(vec![declaration(0, "the truth")]).await.expect("publish");
    nodes[0]
        .wait_until("AR mirrors BO", PATIENCE, |s| s.log(&bo).is_some_and(|l| l.size == 1))
        .await
        .expect("mirrored");
    // BO signs conflicting checkpoints of the size AR holds, one after
    // another, and pushes them all.
    let (ar_party, bo_party) = (&agreement.parties[0], &agreement.parties[1]);
    let connection =
        raw_connection(&bo_party.transport_key, &ar_party.transport_key, ar_party.address).await.expect("connects");
    for k in 1..=10u8 {
        let mut body = held.body.clone();
        body.root = cbm_wire::RootHash([k; 32]);
        let checkpoint =
            cbm_wire::Signed::sign(body, nodes[1].agreement().hash(), cbm_wire::KeyId(0), &bo_party.signing_key);
        let request = cbm_wire::Request::PushCheckpoint { checkpoint };
        let answer = cbm_net::client::call(&connection, &request, 16 << 20, PATIENCE).await;
        assert!(
            matches!(answer, Err(cbm_net::client::CallError::Refused { code: cbm_wire::ErrorCode::Equivocation, .. })),
            "push {k}: {answer:?}"
        );
    }
    let cap = cbm_log::store::MAX_EVIDENCE_PER_LOG_AND_KIND;
    let status = nodes[0].status().await.expect("status");
    assert_eq!((status.equivocators.clone(), status.evidence), (vec![bo.clone()], cap));
    // Served a page at a time: from the first item, then after the last.
    let mut after = None;
    let mut served = 0;
    loop {
        let request = cbm_wire::Request::Evidence { after };
        let Ok(cbm_wire::Response::Evidence { evidence }) =
            cbm_net::client::call(&connection, &request, 16 << 20, PATIENCE).await
        else {
            panic!("an evidence page")
        };
        let Some(last) = evidence.last() else { break };
        after = Some(cbm_wire::Digest(*blake3::hash(&cbm_wire::Wire::encode(last)).as_bytes()));
        served += evidence.len() as u64;
    }
    assert_eq!(served, cap);
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_serves_entries_slowly_does_not_hold_up_mirroring_from_an_honest_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..4], terms(2)).expect("agreement");
    let ids: Vec<SignatoryId> = agreement.parties.iter().map(|p| p.id.clone()).collect();
    let start = |agreement: &mut LocalAgreement, index: usize, partners: Vec<SignatoryId>| {
        let store = dir.path().join(format!("{}.db", ids[index]));
        let mut config = agreement.node_config(index, store, Arc::clone(&clock) as _, Some(partners)).expect("config");
        config.gossip_interval = std::time::Duration::from_secs(3600);
        config.limits.request_timeout = std::time::Duration::from_secs(2);
        Node::start(config)
    };
    // BO and AR push and gossip to no one.
    let bo = start(&mut agreement, 1, vec![]).await.expect("BO starts");
    let notices = (0..40).map(|n| cbm_log::author::Draft {
        kind: cbm_wire::EntryKind::Notification { topic: cbm_wire::Topic::new("load").expect("topic") },
        fields: declaration(0, &format!("notice {n}")).fields,
    });
    let checkpoint = bo.publish(notices.collect()).await.expect("publish");
    let mut entries = Vec::new();
    for index in 0..40 {
        entries.push(bo.entry(&ids[1], index).await.expect("entry"));
    }
    let ar = start(&mut agreement, 0, vec![]).await.expect("AR starts");
    // DO pushes BO's checkpoint to AR and serves the entries AR asks it for
    // one at a time, each within AR's request timeout: a minute for all.
    let (ar_party, do_party) = (&agreement.parties[0], &agreement.parties[3]);
    let relay =
        raw_connection(&do_party.transport_key, &ar_party.transport_key, ar_party.address).await.expect("connects");
    let slow = relay.clone();
    tokio::spawn(async move {
        while let Ok((mut send, mut recv)) = slow.accept_bi().await {
            let Ok(cbm_wire::Request::Entries { start, .. }) = cbm_net::frame::read_request(&mut recv, 16 << 20).await
            else {
                continue;
            };
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            let page = entries.get(start as usize).cloned().into_iter().collect();
            let frame = cbm_wire::Wire::encode(&cbm_wire::Response::Entries { entries: page });
            let _ = cbm_net::frame::write_frame(&mut send, frame).await;
            let _ = send.finish();
        }
    });
    let push = cbm_wire::Request::PushCheckpoint { checkpoint };
    let answer = cbm_net::client::call(&relay, &push, 16 << 20, PATIENCE).await;
    assert!(matches!(answer, Ok(cbm_wire::Response::Accepted)), "{answer:?}");
    // CA mirrors BO's log from BO, then gossips its view to AR, and AR
    // mirrors the log from CA without waiting for DO's mirror to end.
    let ca = start(&mut agreement, 2, vec![ids[1].clone(), ids[0].clone()]).await.expect("CA starts");
    ca.wait_until("CA mirrors BO", PATIENCE, |s| s.log(&ids[1]).is_some_and(|l| l.size == 40)).await.expect("mirrored");
    ca.gossip_now();
    ar.wait_until("AR mirrors BO's log from CA", PATIENCE, |s| s.log(&ids[1]).is_some_and(|l| l.size == 40))
        .await
        .expect("mirrored from CA while DO is slow");
    shutdown(vec![ar, bo, ca]).await;
}

/// A QUIC client presenting `key` as a raw public key, pinning the server
/// key `expect`.
async fn raw_connection(
    key: &cbm_wire::SigningKey,
    expect: &cbm_wire::SigningKey,
    to: std::net::SocketAddr,
) -> Result<quinn::Connection, String> {
    // Raw public keys bind no agreement: the identity's does not matter.
    let identity = Identity::new(key, cbm_wire::AgreementHash([0; 32])).expect("identity");
    connect_in(&identity, expect, Form::RawPublicKey, to).await
}

/// A QUIC client presenting `identity` in `form`, pinning the server key
/// `expect`, whose first request is answered.
async fn connect_in(
    identity: &Identity,
    expect: &cbm_wire::SigningKey,
    form: Form,
    to: std::net::SocketAddr,
) -> Result<quinn::Connection, String> {
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().expect("address")).expect("client endpoint");
    let limits = cbm_net::tls::ConnectionLimits::default();
    let config =
        cbm_net::tls::client_config(identity, cbm_wire::PublicKey::of(expect), form, &limits).expect("client config");
    let connecting = endpoint.connect_with(config, to, "cbm").map_err(|e| e.to_string())?;
    let connection = connecting.await.map_err(|e| e.to_string())?;
    // The server checks the client's key during the handshake; a refused
    // client learns it on its first stream at the latest.
    let probe = cbm_net::client::call(
        &connection,
        &cbm_wire::Request::Evidence { after: None },
        16 << 20,
        std::time::Duration::from_secs(5),
    )
    .await;
    probe.map(|_| connection).map_err(|e| e.to_string())
}

/// The TLS identity of `key` in `agreement`, with a fresh certificate.
fn identity_in(agreement: &LocalAgreement, key: &cbm_wire::SigningKey) -> Identity {
    Identity::new(key, agreement.roster.roster.agreement_hash()).expect("identity")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_are_refused_in_the_handshake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START));
    let mut agreement = LocalAgreement::new(&FIVE[..2], terms(1)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    let (ar, bo) = (&agreement.parties[0], &agreement.parties[1]);
    let stranger = cbm_wire::SigningKey::from_bytes(&[9; 32]);
    for form in [Form::RawPublicKey, Form::Certificate] {
        // A roster member presenting its own key, pinning the right server key, is served.
        connect_in(&identity_in(&agreement, &bo.transport_key), &ar.transport_key, form, ar.address)
            .await
            .unwrap_or_else(|e| panic!("a roster key is served in the {form:?} form: {e}"));
        // A key no roster lists is refused by the server.
        let refused = connect_in(&identity_in(&agreement, &stranger), &ar.transport_key, form, ar.address).await;
        assert!(refused.is_err(), "{form:?}");
        // A server presenting another key than the one pinned is refused by the client.
        let refused =
            connect_in(&identity_in(&agreement, &ar.transport_key), &bo.transport_key, form, ar.address).await;
        assert!(refused.is_err(), "{form:?}");
    }
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_flooding_garbage_frames_does_not_stop_service_to_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..3], terms(2)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    let (ar, bo) = (&agreement.parties[0], &agreement.parties[1]);
    // BO's key (stolen, or BO gone rogue) floods AR with garbage.
    let connection = raw_connection(&bo.transport_key, &ar.transport_key, ar.address).await.expect("connects");
    let flood = tokio::spawn(async move {
        let mut refused = 0u32;
        for round in 0u32..600 {
            let Ok((mut send, mut recv)) = connection.open_bi().await else { break };
            let frame: Vec<u8> = match round % 3 {
                // A length far over the frame cap.
                0 => u32::MAX.to_be_bytes().to_vec(),
                // A frame of bytes that are no canonical request.
                1 => [&8u32.to_be_bytes()[..], &[0xff, 0x00, 0x9f, 0x13, 0x37, 0x42, 0xa1, 0x60]].concat(),
                // A valid response where a request belongs.
                _ => [&1u32.to_be_bytes()[..], &[0x04]].concat(),
            };
            let _ = send.write_all(&frame).await;
            let _ = send.finish();
            if let Ok(cbm_wire::Response::Error { .. }) = cbm_net::frame::read_response(&mut recv, 1 << 20).await {
                refused += 1;
            }
        }
        refused
    });
    // Meanwhile the others publish, mirror and settle as usual.
    nodes[2].publish(vec![declaration(0, "business as usual")]).await.expect("publish");
    nodes[0].publish(vec![declaration(0, "under attack")]).await.expect("publish");
    for node in &nodes {
        node.wait_until("settled during the flood", PATIENCE, |s| {
            [0usize, 2].iter().all(|&i| s.logs[i].size == 1 && s.logs[i].settled_size == 1)
        })
        .await
        .expect("service continues");
    }
    let refused = flood.await.expect("flood task");
    assert!(refused >= 300, "each garbage frame ends its own stream with an error response ({refused} of 600)");
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_whose_binding_no_roster_key_made_for_this_agreement_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START));
    let mut agreement = LocalAgreement::new(&FIVE[..2], terms(1)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    let (ar, bo) = (&agreement.parties[0], &agreement.parties[1]);
    let hash = agreement.roster.roster.agreement_hash();
    let certificate_key = cbm_wire::SigningKey::from_bytes(&[7; 32]);
    let stranger = cbm_wire::SigningKey::from_bytes(&[9; 32]);
    let spki = certificate_key.verifying_key().to_public_key_der().expect("spki").into_vec();
    // Names BO's transport key, but the stranger signed it.
    let forged = cbm_wire::sign_message(&stranger, &cbm_wire::certificate_binding_message(&hash, &spki));
    let uri = format!("{BINDING_URI_PREFIX}{}:{forged}", cbm_wire::PublicKey::of(&bo.transport_key));
    let named_not_signed = Certificate::with_binding(&certificate_key, &uri).expect("certificate");
    // BO's own binding, made for another agreement.
    let elsewhere =
        Certificate::new(&certificate_key, &bo.transport_key, &cbm_wire::AgreementHash([1; 32])).expect("certificate");
    for (what, certificate) in
        [("a binding by a key not in the roster", named_not_signed), ("another agreement's", elsewhere)]
    {
        let client = Identity::with_certificate(&bo.transport_key, hash, certificate);
        let refused = connect_in(&client, &ar.transport_key, Form::Certificate, ar.address).await;
        assert!(refused.is_err(), "{what} is refused");
    }
    // The same key bound by BO under this agreement is served.
    let bound = Certificate::new(&certificate_key, &bo.transport_key, &hash).expect("certificate");
    let client = Identity::with_certificate(&bo.transport_key, hash, bound);
    connect_in(&client, &ar.transport_key, Form::Certificate, ar.address).await.expect("served");
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reaches_and_serves_a_peer_that_speaks_only_the_certificate_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START));
    let mut agreement = LocalAgreement::new(&FIVE[..2], terms(1)).expect("agreement");
    // BO is a node on a TLS stack without raw public keys: its port speaks
    // only the certificate form.
    let bo_config =
        agreement.node_config(1, dir.path().join("BO.db"), Arc::clone(&clock) as _, None).expect("BO's socket");
    let cbm_net::Listen::Socket(socket) = bo_config.listen else { panic!("a bound socket") };
    let (ar_key, bo_key) = (agreement.parties[0].transport_key.clone(), agreement.parties[1].transport_key.clone());
    let server = cbm_net::tls::single_form_server_config(
        &identity_in(&agreement, &bo_key),
        vec![cbm_wire::PublicKey::of(&ar_key)],
        Form::Certificate,
        &cbm_net::tls::ConnectionLimits::default(),
    )
    .expect("server");
    let runtime = quinn::default_runtime().expect("runtime");
    let bo = quinn::Endpoint::new(quinn::EndpointConfig::default(), Some(server), socket, runtime).expect("endpoint");
    let ar_config = agreement.node_config(0, dir.path().join("AR.db"), Arc::clone(&clock) as _, None).expect("config");
    let ar = Node::start(ar_config).await.expect("AR starts");
    ar.gossip_now();
    // AR offers raw public keys first, is refused, and dials again in the
    // certificate form.
    let connection = tokio::time::timeout(PATIENCE, async {
        loop {
            let incoming = bo.accept().await.expect("the endpoint is open");
            if let Ok(connection) = incoming.await {
                break connection;
            }
        }
    })
    .await
    .expect("AR reaches BO in the certificate form");
    assert_eq!(cbm_net::tls::peer_key(&connection), Some(cbm_wire::PublicKey::of(&ar_key)));
    // And AR serves BO's requests on the connection it dialled.
    let answer = cbm_net::client::call(
        &connection,
        &cbm_wire::Request::Evidence { after: None },
        16 << 20,
        std::time::Duration::from_secs(5),
    )
    .await;
    assert!(answer.is_ok(), "{answer:?}");
    ar.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_an_owner_is_down_its_log_is_served_by_the_mirrors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..3], terms(1)).expect("agreement");
    let mut nodes = start_all(&mut agreement, dir.path(), &clock).await;
    // CA is down while AR publishes; BO mirrors and cosigns.
    let ca = nodes.pop().expect("CA");
    ca.shutdown().await;
    nodes[0].publish(vec![declaration(0, "published while CA was down")]).await.expect("publish");
    let ar_id = nodes[0].signatory().clone();
    nodes[1]
        .wait_until("BO mirrors AR", PATIENCE, |s| s.log(&ar_id).is_some_and(|l| l.size == 1))
        .await
        .expect("mirrored");
    // AR goes down; CA comes back (on a new port) and gets AR's log from BO.
    let ar = nodes.remove(0);
    ar.shutdown().await;
    let config = agreement.node_config(2, dir.path().join("CA.db"), Arc::clone(&clock) as _, None).expect("config");
    let ca = Node::start(config).await.expect("CA restarts");
    ca.wait_until("CA catches up from a mirror", PATIENCE, |s| s.log(&ar_id).is_some_and(|l| l.size == 1))
        .await
        .expect("served by the mirror");
    ca.shutdown().await;
    shutdown(nodes).await;
}

fn notes(count: usize) -> Vec<cbm_log::author::Draft> {
    (0..count)
        .map(|i| cbm_log::author::Draft {
            kind: cbm_wire::EntryKind::Notification { topic: cbm_tests::net::topic() },
            fields: vec![cbm_log::author::DraftField::Plain {
                label: cbm_wire::Label::new("note").expect("label"),
                media_type: cbm_wire::MediaType::new("text/plain").expect("media type"),
                value: format!("note {i}").into_bytes(),
            }],
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_far_ahead_is_mirrored_in_segments_and_settles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..3], terms(2)).expect("agreement");
    let mut nodes = Vec::new();
    for index in 0..3 {
        let store = dir.path().join(format!("{index}.db"));
        let mut config = agreement.node_config(index, store, Arc::clone(&clock) as _, None).expect("config");
        config.limits.segment_entries = 256;
        nodes.push(Node::start(config).await.expect("node"));
    }
    // CA is down while AR publishes more than a segment (256 entries here)
    // at once, twice; BO mirrors in segments.
    let ca = nodes.pop().expect("CA");
    ca.shutdown().await;
    let ar_id = nodes[0].signatory().clone();
    for count in [700, 600] {
        nodes[0].publish(notes(count)).await.expect("publish");
    }
    nodes[1]
        .wait_until("BO mirrors AR", PATIENCE, |s| s.log(&ar_id).is_some_and(|l| l.size == 1300))
        .await
        .expect("mirrored");
    // CA comes back 1300 entries behind and catches up, segment by segment.
    let mut config = agreement.node_config(2, dir.path().join("2.db"), Arc::clone(&clock) as _, None).expect("config");
    config.limits.segment_entries = 256;
    let ca = Node::start(config).await.expect("CA restarts");
    nodes.push(ca);
    for node in &nodes {
        node.wait_until("AR's log settled everywhere", PATIENCE, |s| {
            s.log(&ar_id).is_some_and(|l| l.size == 1300 && l.settled_size == 1300)
        })
        .await
        .expect("settled");
    }
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_rate_is_counted_per_peer_over_all_its_connections() {
    const RATE: u32 = 40;
    const REQUESTS: usize = 120;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START));
    let mut agreement = LocalAgreement::new(&FIVE[..2], terms(1)).expect("agreement");
    let mut config = agreement.node_config(0, dir.path().join("0.db"), Arc::clone(&clock) as _, None).expect("config");
    config.limits.requests_per_second = RATE;
    let node = Node::start(config).await.expect("node");
    let (ar, bo) = (&agreement.parties[0], &agreement.parties[1]);
    // BO opens three connections, as it may (up to four), and spreads its
    // requests over them: one budget of RATE per second covers them all.
    let started = std::time::Instant::now();
    let mut connections = Vec::new();
    for _ in 0..3 {
        connections.push(raw_connection(&bo.transport_key, &ar.transport_key, ar.address).await.expect("connects"));
    }
    let calls = (0..REQUESTS).map(|i| {
        let connection = connections[i % 3].clone();
        tokio::spawn(async move {
            cbm_net::client::call(
                &connection,
                &cbm_wire::Request::Evidence { after: None },
                16 << 20,
                std::time::Duration::from_secs(5),
            )
            .await
        })
    });
    let mut limited = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.expect("task") {
            Err(cbm_net::client::CallError::Refused { code: cbm_wire::ErrorCode::RateLimited, .. }) => limited += 1,
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
    // Tokens: one second's burst, the refill since, and none per connection.
    let tokens = f64::from(RATE) * (1.0 + started.elapsed().as_secs_f64());
    assert!(limited as f64 >= (REQUESTS + 3) as f64 - tokens - 1.0, "only {limited} of {REQUESTS} refused");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_of_an_empty_log_is_cosigned_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..3], terms(2)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    // AR has declared nothing yet, and says so in a signed checkpoint of size 0.
    let checkpoint = nodes[0].publish(vec![]).await.expect("publish");
    assert_eq!(checkpoint.body.size, 0);
    let ar = nodes[0].signatory().clone();
    let status = nodes[0]
        .wait_until("both peers cosign the empty log", PATIENCE, |s| s.log(&ar).is_some_and(|l| l.cosigners.len() == 2))
        .await
        .expect("cosigned");
    assert_eq!(status.log(&ar).map(|l| l.checkpoint.map(|c| c.0)), Some(Some(0)));
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_node_heals_when_the_partition_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..4], terms(2)).expect("agreement");
    let partition = cbm_tests::net::Partition::default();
    let nodes = partition.start_all(&mut agreement, dir.path(), &clock).await;
    let (ar, ca) = (nodes[0].signatory().clone(), nodes[2].signatory().clone());
    // CA is cut off, but keeps running and declaring; the others go on.
    partition.cut(&nodes[2], true);
    nodes[0].publish(vec![declaration(0, "AR, during the partition")]).await.expect("publish");
    nodes[2].publish(vec![declaration(0, "CA, during the partition")]).await.expect("publish");
    for node in [&nodes[0], &nodes[1], &nodes[3]] {
        node.wait_until("AR's declaration settles without CA", PATIENCE, |s| {
            s.log(&ar).is_some_and(|l| l.settled_size == 1)
        })
        .await
        .expect("settled");
    }
    let cut_off = nodes[2].status().await.expect("status");
    assert_eq!(cut_off.log(&ar).map(|l| l.size), Some(0), "CA heard nothing while cut off");
    assert_eq!(cut_off.log(&ca).map(|l| l.settled_size), Some(0), "nobody cosigned CA's declaration");
    // The partition ends: every log is mirrored and settled everywhere.
    partition.cut(&nodes[2], false);
    for node in &nodes {
        node.wait_until("every node heals", PATIENCE, |s| {
            [&ar, &ca].iter().all(|o| s.log(o).is_some_and(|l| l.size == 1 && l.settled_size == 1))
        })
        .await
        .expect("healed");
    }
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_of_older_checkpoints_reach_a_node_that_missed_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..4], terms(2)).expect("agreement");
    let partition = cbm_tests::net::Partition::default();
    let nodes = partition.start_all(&mut agreement, dir.path(), &clock).await;
    let (ar, bo) = (nodes[0].signatory().clone(), nodes[1].signatory().clone());
    // DO is cut off while AR publishes twice; BO and CA cosign both.
    partition.cut(&nodes[3], true);
    for (size, text) in [(1, "first"), (2, "second")] {
        nodes[0].publish(vec![declaration(0, text)]).await.expect("publish");
        nodes[0]
            .wait_until("settled without DO", PATIENCE, |s| s.log(&ar).is_some_and(|l| l.settled_size == size))
            .await
            .expect("settled");
    }
    // Back, DO mirrors the second checkpoint at once, and learns from gossip
    // the first one and BO's and CA's receipts of it, which no push brought.
    // (AR's push of the first checkpoint may still arrive late, and DO then
    // cosigns it too: a sixth receipt, as legitimate as none.)
    partition.cut(&nodes[3], false);
    let (ca, bundle) = (nodes[2].signatory().clone(), dir.path().join("do.cbor"));
    let wanted = [(&bo, 1), (&bo, 2), (&ca, 1), (&ca, 2)];
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        nodes[3]
            .wait_until("DO catches up", PATIENCE, |s| {
                s.log(&ar).is_some_and(|l| l.size == 2 && l.settled_size == 2 && l.receipts >= 5)
            })
            .await
            .expect("caught up");
        let _ = std::fs::remove_file(&bundle);
        nodes[3].export(bundle.clone(), true).await.expect("export");
        let records = cbm_log::bundle::BundleReader::new(std::fs::File::open(&bundle).expect("bundle"));
        let held: Vec<(SignatoryId, u64)> = records
            .filter_map(|record| match record.expect("record") {
                cbm_wire::BundleRecord::Cosignature { cosignature } => {
                    Some((cosignature.body.witness, cosignature.body.checkpoint.size))
                }
                _ => None,
            })
            .collect();
        if wanted.iter().all(|(witness, size)| held.iter().any(|(w, s)| w == *witness && s == size)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "DO never held BO's and CA's receipts of both checkpoints");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosignatures_pushed_at_once_are_each_answered_and_all_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE, terms(4)).expect("agreement");
    // Only AR runs: the test itself acts as the four witnesses.
    let config = agreement.node_config(0, dir.path().join("AR.db"), Arc::clone(&clock) as _, None).expect("config");
    let ar = Node::start(config).await.expect("node starts");
    let checkpoint = ar.publish(vec![declaration(0, "at once")]).await.expect("publish");
    let cosign = |party: &cbm_net::local::Party, checkpoint: &cbm_wire::SignedCheckpoint| {
        let body = cbm_wire::CosignBody {
            witness: party.id.clone(),
            checkpoint: checkpoint.body.clone(),
            cosigned_at: cbm_net::Clock::now(clock.as_ref()),
        };
        cbm_wire::Cosignature::sign(body, ar.agreement().hash(), cbm_wire::KeyId(0), &party.signing_key)
    };
    let mut unknown = checkpoint.clone();
    unknown.body.size += 1;
    let ar_party = &agreement.parties[0];
    let mut pushes = Vec::new();
    for party in &agreement.parties[1..] {
        let connection =
            raw_connection(&party.transport_key, &ar_party.transport_key, ar_party.address).await.expect("connects");
        for of in [&checkpoint, &unknown] {
            let request = cbm_wire::Request::PushCosignature { cosignature: cosign(party, of) };
            let connection = connection.clone();
            pushes.push(tokio::spawn(
                async move { cbm_net::client::call(&connection, &request, 16 << 20, PATIENCE).await },
            ));
        }
    }
    let mut answers = Vec::new();
    for push in pushes {
        answers.push(push.await.expect("task"));
    }
    for pair in answers.chunks(2) {
        assert!(matches!(pair[0], Ok(cbm_wire::Response::Accepted)), "{:?}", pair[0]);
        assert!(
            matches!(&pair[1], Err(cbm_net::client::CallError::Refused { code: cbm_wire::ErrorCode::NotFound, .. })),
            "{:?}",
            pair[1]
        );
    }
    let me = ar.signatory().clone();
    let status = ar.status().await.expect("status");
    let log = status.log(&me).expect("own log");
    assert_eq!((log.cosigners.len(), log.receipts, log.settled_size), (4, 4, 1));
    ar.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_far_future_checkpoint_of_an_old_size_does_not_poison_a_witness() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..3], terms(2)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    let (ar, bo) = (SignatoryId::new("AR").expect("id"), SignatoryId::new("BO").expect("id"));
    let settled_at = |size: u64| {
        let ar = ar.clone();
        move |s: &cbm_net::NodeStatus| s.log(&ar).is_some_and(|l| l.settled_size >= size)
    };
    let first = nodes[0].publish(notes(1)).await.expect("publish");
    nodes[0].publish(notes(1)).await.expect("publish");
    for node in &nodes {
        node.wait_until("AR's log settled", PATIENCE, settled_at(2)).await.expect("settled");
    }

    // AR re-signs its first size a year ahead and pushes it to BO alone.
    let (ar_party, bo_party) = (&agreement.parties[0], &agreement.parties[1]);
    let mut body = first.body.clone();
    body.timestamp = cbm_wire::Timestamp(body.timestamp.0 + 365 * day().0);
    let hash = agreement.roster.roster.agreement_hash();
    let poison = cbm_wire::SignedCheckpoint::sign(body, &hash, cbm_wire::KeyId(0), &ar_party.signing_key);
    let connection =
        raw_connection(&ar_party.transport_key, &bo_party.transport_key, bo_party.address).await.expect("connects");
    let request = cbm_wire::Request::PushCheckpoint { checkpoint: poison };
    let _ = cbm_net::client::call(&connection, &request, 16 << 20, PATIENCE).await;

    // BO refused it on arrival and keeps it as a finding against AR, and
    // still cosigns AR's next honest checkpoint.
    let status = nodes[1]
        .wait_until("the poison is kept as evidence", PATIENCE, |s| s.out_of_time_order.contains(&ar))
        .await
        .expect("evidence");
    assert!(status.equivocators.is_empty(), "times out of order are not a split view");
    clock.set(cbm_wire::Timestamp(START.0 + 2 * day().0));
    nodes[0].publish(notes(1)).await.expect("publish");
    nodes[0]
        .wait_until("BO cosigns AR's next checkpoint", PATIENCE, |s| {
            s.log(&ar).is_some_and(|l| l.settled_size >= 3 && l.cosigners.contains(&bo))
        })
        .await
        .expect("BO still cosigns AR's log");

    // BO's export audits with a finding against AR, not as invalid.
    let bundle = dir.path().join("bundle.cbor");
    nodes[1].export(bundle.clone(), true).await.expect("export");
    let report = cbm_log::audit::audit(
        std::fs::File::open(&bundle).expect("bundle"),
        None,
        cbm_wire::Timestamp(START.0 + 3 * day().0),
        |_| {},
    );
    assert_ne!(report.verdict, cbm_log::audit::Verdict::Invalid, "{:?}", report.problems);
    let ar_report = report.signatories.iter().find(|s| s.signatory.as_ref() == Some(&ar)).expect("AR");
    assert!(ar_report.judged.out_of_time_order && !ar_report.judged.equivocated);
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_that_jumps_forward_once_does_not_freeze_the_owners_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = cbm_wire::Timestamp(START.0 + day().0);
    let clock = Arc::new(ManualClock::new(now));
    let mut agreement = LocalAgreement::new(&FIVE[..2], terms(1)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    let ar = SignatoryId::new("AR").expect("id");
    clock.set(cbm_wire::Timestamp(now.0 + 30 * day().0));
    let jumped = nodes[0].publish(notes(1)).await.expect("publish while the clock is ahead");
    clock.set(now);
    let after = nodes[0].publish(notes(1)).await.expect("the log goes on after the clock comes back");
    assert_eq!(after.body.timestamp, jumped.body.timestamp, "the checkpoint keeps the later time");
    nodes[0]
        .wait_until("cosigned after the jump", PATIENCE, |s| s.log(&ar).is_some_and(|l| l.settled_size == 2))
        .await
        .expect("BO cosigns both");
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_before_its_peer_reaches_it_once_the_peer_is_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START));
    let mut agreement = LocalAgreement::new(&FIVE[..2], terms(1)).expect("agreement");
    let bo_config =
        agreement.node_config(1, dir.path().join("BO.db"), Arc::clone(&clock) as _, None).expect("BO's config");
    // BO's roster port is closed while AR starts: AR's first handshakes to
    // it are lost, and AR must not wait on them until its idle timeout.
    let cbm_net::Listen::Socket(socket) = bo_config.listen else { panic!("a bound socket") };
    let address = socket.local_addr().expect("address");
    drop(socket);
    let ar_config = agreement.node_config(0, dir.path().join("AR.db"), Arc::clone(&clock) as _, None).expect("config");
    let ar = Node::start(ar_config).await.expect("AR starts");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let socket = std::net::UdpSocket::bind(address).expect("BO's port again");
    let bo = Node::start(cbm_net::NodeConfig { listen: cbm_net::Listen::Socket(socket), ..bo_config })
        .await
        .expect("BO starts");
    let bo_id = SignatoryId::new("BO").expect("id");
    ar.wait_until("AR reaches BO", std::time::Duration::from_secs(8), |s| {
        s.peers.iter().any(|p| p.peer == bo_id && p.reachable == Some(true))
    })
    .await
    .expect("AR reaches BO once BO is up");
    shutdown(vec![ar, bo]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_left_idle_closes_without_keep_alive_and_the_next_publication_dials_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(cbm_wire::Timestamp(START.0 + day().0)));
    let mut agreement = LocalAgreement::new(&FIVE[..2], terms(1)).expect("agreement");
    let mut nodes = Vec::new();
    for index in 0..2 {
        let store = dir.path().join(format!("{index}.db"));
        let mut config = agreement.node_config(index, store, Arc::clone(&clock) as _, None).expect("config");
        // One gossip round at start, then none for the test's length; a
        // connection with nothing to carry closes after a second.
        config.gossip_interval = std::time::Duration::from_secs(3600);
        config.limits.connection.idle_timeout = std::time::Duration::from_secs(1);
        nodes.push(Node::start(config).await.expect("node"));
    }
    let ar = nodes[0].signatory().clone();
    for round in 1..=2u64 {
        nodes[0].publish(vec![declaration(0, &format!("round {round}"))]).await.expect("publish");
        nodes[1]
            .wait_until("BO holds AR's entry", PATIENCE, |s| s.log(&ar).is_some_and(|l| l.size >= round))
            .await
            .expect("mirrored");
        // Time passes with nothing to carry: the connections close (no
        // keep-alive), and the next publication dials afresh.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    }
    shutdown(nodes).await;
}
