//! Network benchmarks on loopback, each next to raw quinn measured in the
//! same run with the same TLS configuration (BENCHMARKS.md reports ratios):
//!
//! - `publish_settled`: one entry published by one of 5 nodes until the
//!   roster's quorum (3) has cosigned it, against one raw quinn round trip;
//!   p50 and p99 are printed from 200 samples, and those of the hotline's
//!   measure: a notification until *every* other signatory (4) has
//!   acknowledged (cosigned) it;
//! - `proofs_64_in_flight`: inclusion-proof requests to a node, 64 at a
//!   time, against raw quinn request/response with 64 in flight.
#![allow(missing_docs)] // criterion_group! generates undocumented items

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cbm_net::local::{LocalAgreement, Terms};
use cbm_net::tls::{ConnectionLimits, Form, Identity, client_config, server_config};
use cbm_net::{ManualClock, Node};
use cbm_wire::{AgreementId, PublicKey, Request, Response, SigningKey, Text, Timestamp};
use common::{START, note};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const NAMES: [(&str, &str); 5] = [("AR", "AR"), ("BO", "BO"), ("CA", "CA"), ("DO", "DO"), ("EL", "EL")];

async fn network(quorum: u32) -> (LocalAgreement, Vec<Node>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let terms = Terms {
        agreement: AgreementId::new("bench").expect("id"),
        title: Text::new("bench").expect("title"),
        schedules: vec![],
        notices: vec![],
        quorum,
        start: START,
    };
    let mut agreement = LocalAgreement::new(&NAMES, terms).expect("agreement");
    let clock = Arc::new(ManualClock::new(Timestamp(START.0 + 1000)));
    let mut nodes = Vec::new();
    for index in 0..NAMES.len() {
        let store = dir.path().join(format!("{index}.db"));
        let mut config = agreement.node_config(index, store, Arc::clone(&clock) as _, None).expect("config");
        // Measure capacity, not the per-peer rate limit (2000/s by default).
        config.limits.requests_per_second = 1_000_000;
        nodes.push(Node::start(config).await.expect("node"));
    }
    (agreement, nodes, dir)
}

/// The TLS identity of `key`. Raw public keys, the form measured here, bind
/// no agreement; the certificate's does not matter.
fn identity(key: &SigningKey) -> Identity {
    Identity::new(key, cbm_wire::AgreementHash([0; 32])).expect("identity")
}

/// A raw quinn echo server with the same TLS as the nodes; returns its address.
fn echo_server(server: &SigningKey, client: &SigningKey) -> std::net::SocketAddr {
    let config =
        server_config(&identity(server), vec![PublicKey::of(client)], &ConnectionLimits::default()).expect("server");
    let endpoint = quinn::Endpoint::server(config, "127.0.0.1:0".parse().expect("address")).expect("endpoint");
    let address = endpoint.local_addr().expect("address");
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(async move {
                let Ok(connection) = incoming.await else { return };
                while let Ok((mut send, mut recv)) = connection.accept_bi().await {
                    tokio::spawn(async move {
                        let Ok(request) = recv.read_to_end(1 << 20).await else { return };
                        let _ = send.write_all(&request).await;
                        let _ = send.finish();
                    });
                }
            });
        }
    });
    address
}

async fn raw_connection(key: &SigningKey, server: &SigningKey, to: std::net::SocketAddr) -> quinn::Connection {
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().expect("address")).expect("endpoint");
    let config = client_config(&identity(key), PublicKey::of(server), Form::RawPublicKey, &ConnectionLimits::default())
        .expect("client");
    endpoint.connect_with(config, to, "cbm").expect("connect").await.expect("handshake")
}

async fn raw_roundtrip(connection: &quinn::Connection, message: &[u8]) {
    let (mut send, mut recv) = connection.open_bi().await.expect("stream");
    send.write_all(message).await.expect("write");
    send.finish().expect("finish");
    recv.read_to_end(1 << 20).await.expect("read");
}

/// Publishes one entry and waits until the quorum has cosigned it.
async fn publish_once(publisher: &Node, me: &cbm_wire::SignatoryId, n: u64) -> Duration {
    let start = Instant::now();
    let checkpoint = publisher.publish(vec![note(&format!("entry {n}"))]).await.expect("publish");
    let size = checkpoint.body.size;
    publisher
        .wait_until("settled", Duration::from_secs(30), |s| s.log(me).is_some_and(|l| l.settled_size >= size))
        .await
        .expect("settled");
    start.elapsed()
}

/// Publishes one notification and waits until every other node has
/// acknowledged it: the newest checkpoint covering it cosigned by all four.
async fn notify_acknowledged_by_all(publisher: &Node, me: &cbm_wire::SignatoryId, n: u64) -> Duration {
    let start = Instant::now();
    let checkpoint = publisher.publish(vec![note(&format!("incident {n}"))]).await.expect("publish");
    let size = checkpoint.body.size;
    let others = NAMES.len() - 1;
    publisher
        .wait_until("acknowledged by all", Duration::from_secs(30), |s| {
            s.log(me).is_some_and(|l| {
                l.checkpoint.as_ref().is_some_and(|(at, _, _)| *at >= size) && l.cosigners.len() == others
            })
        })
        .await
        .expect("acknowledged");
    start.elapsed()
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn publish_settled(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (agreement, nodes, _dir) = runtime.block_on(network(3));
    let publisher = &nodes[0];
    let me = publisher.signatory().clone();
    let (server_key, client_key) = (SigningKey::from_bytes(&[1; 32]), SigningKey::from_bytes(&[2; 32]));
    let raw = runtime.block_on(async {
        let address = echo_server(&server_key, &client_key);
        raw_connection(&client_key, &server_key, address).await
    });
    // Percentiles from 200 samples, printed for BENCHMARKS.md.
    let (mut settle, mut all, mut trip) = (Vec::new(), Vec::new(), Vec::new());
    runtime.block_on(async {
        for n in 0..200 {
            settle.push(publish_once(publisher, &me, n).await);
            all.push(notify_acknowledged_by_all(publisher, &me, n).await);
            let start = Instant::now();
            raw_roundtrip(&raw, &[0u8; 300]).await;
            trip.push(start.elapsed());
        }
    });
    println!(
        "notification->acknowledged by all 4 others: p50 {:?}, p99 {:?}",
        percentile(&mut all, 0.5),
        percentile(&mut all, 0.99)
    );
    println!(
        "publish->settled at quorum 3 of 5: p50 {:?}, p99 {:?}; raw quinn round trip: p50 {:?}, p99 {:?}",
        percentile(&mut settle, 0.5),
        percentile(&mut settle, 0.99),
        percentile(&mut trip, 0.5),
        percentile(&mut trip, 0.99)
    );
    let mut group = c.benchmark_group("net");
    group.sample_size(30);
    let mut n = 1000;
    group.bench_function("publish_settled_5_nodes", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    total += publish_once(publisher, &me, n).await;
                }
                total
            })
        })
    });
    group.bench_function("limit_quinn_roundtrip", |b| b.to_async(&runtime).iter(|| raw_roundtrip(&raw, &[0u8; 300])));
    group.finish();
    drop(agreement);
    runtime.block_on(async {
        for node in nodes {
            node.shutdown().await;
        }
    });
}

fn proofs_in_flight(c: &mut Criterion) {
    const IN_FLIGHT: usize = 64;
    const ENTRIES: u64 = 4096;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (agreement, nodes, _dir) = runtime.block_on(network(1));
    runtime.block_on(async {
        for batch in 0..(ENTRIES / 256) {
            let drafts = (0..256).map(|i| note(&format!("entry {batch}/{i}"))).collect();
            nodes[0].publish(drafts).await.expect("publish");
        }
    });
    let log = nodes[0].agreement().log_of(nodes[0].signatory());
    let (ar, bo) = (&agreement.parties[0], &agreement.parties[1]);
    let node_connection = runtime.block_on(raw_connection(&bo.transport_key, &ar.transport_key, ar.address));
    let (server_key, client_key) = (SigningKey::from_bytes(&[1; 32]), SigningKey::from_bytes(&[2; 32]));
    let raw = runtime.block_on(async {
        let address = echo_server(&server_key, &client_key);
        raw_connection(&client_key, &server_key, address).await
    });
    let request = Request::InclusionProof { log, index: 1234, size: ENTRIES };
    let mut group = c.benchmark_group("net");
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    group.bench_function("proofs_64_in_flight", |b| {
        b.to_async(&runtime).iter(|| {
            let requests = (0..IN_FLIGHT as u64).map(|i| {
                let connection = node_connection.clone();
                let request = Request::InclusionProof { log, index: (i * 61) % ENTRIES, size: ENTRIES };
                async move {
                    let response = cbm_net::client::call(&connection, &request, 16 << 20, Duration::from_secs(10))
                        .await
                        .expect("answer");
                    assert!(matches!(response, Response::InclusionProof { .. }));
                }
            });
            futures_join(requests)
        })
    });
    let encoded_len = cbm_wire::Wire::encode(&request).len();
    group.bench_function("limit_quinn_64_in_flight", |b| {
        b.to_async(&runtime).iter(|| {
            let requests = (0..IN_FLIGHT).map(|_| {
                let connection = raw.clone();
                async move { raw_roundtrip(&connection, &vec![0u8; encoded_len]).await }
            });
            futures_join(requests)
        })
    });
    group.finish();
    runtime.block_on(async {
        for node in nodes {
            node.shutdown().await;
        }
    });
}

/// Runs every future concurrently on the current task and waits for all.
async fn futures_join<F: Future<Output = ()> + Send + 'static>(futures: impl Iterator<Item = F>) {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    for handle in handles {
        handle.await.expect("task");
    }
}

criterion_group!(benches, publish_settled, proofs_in_flight);
criterion_main!(benches);
