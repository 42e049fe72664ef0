//! A second implementation on a common TLS stack and a reference node
//! reach each other (spec/transport.md §2.3.2, §2.3.3), both ways. Written
//! from the spec alone on Python's aioquic and `cryptography`, which have
//! no raw public keys:
//!
//! - `tests/interop/certificate_client.py` proves its transport key in the
//!   certificate form, checks the node's certificate by the spec's rules,
//!   and is answered; a client whose transport key no roster lists, or
//!   whose binding is for another agreement, is refused with the alert the
//!   spec names;
//! - `tests/interop/certificate_server.py` ignores the certificate-type
//!   extensions, as Go's stack does: a node dialling it with raw public
//!   keys is refused, dials again in the certificate form, and the server
//!   checks the node's certificate.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use cbm_net::ManualClock;
use cbm_net::local::LocalAgreement;
use cbm_tests::net::{START, start_all, terms};
use cbm_wire::{PublicKey, Request, Response, SigningKey, Wire};

/// aioquic and everything it needs, pinned.
const AIOQUIC: [&str; 11] = [
    "aioquic==1.7.2",
    "cryptography==50.0.2",
    "cffi==2.1.1",
    "pycparser==3.12",
    "pylsqpack==1.0.0",
    "pyOpenSSL==26.4.0",
    "service-identity==26.1.0",
    "attrs==26.1.0",
    "certifi==2026.10.19.post1",
    "typing_extensions==4.16.0",
    "cbor2==5.6.5",
];

/// What the Python client printed, or how it failed.
struct Outcome {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the Python client as the holder of `transport`, in `agreement`,
/// its own certificate bound for `bound_for`, asking the node at `address`
/// (which must prove `server`) one `Evidence` request.
fn python_client(
    address: std::net::SocketAddr,
    transport: &SigningKey,
    server: &SigningKey,
    agreement: &cbm_wire::AgreementHash,
    bound_for: &cbm_wire::AgreementHash,
) -> Outcome {
    let venv = cbm_tests::python::venv(Path::new(env!("CARGO_TARGET_TMPDIR")), "aioquic-1.7.2", &AIOQUIC);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/certificate_client.py");
    let output = Command::new(venv.join("bin").join("python"))
        .arg(script)
        .args(["--address", &address.to_string()])
        .args(["--transport-seed", &hex::encode(transport.to_bytes())])
        .args(["--server-key", &PublicKey::of(server).to_string()])
        .args(["--agreement", &agreement.to_string()])
        .args(["--bind-agreement", &bound_for.to_string()])
        .args(["--request", &hex::encode(Request::Evidence { after: None }.encode())])
        .output()
        .expect("the Python client runs");
    Outcome {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_in_the_certificate_form_is_answered_by_a_reference_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START));
    let mut agreement = LocalAgreement::new(&[("AR", "Arcadia"), ("BO", "Borduria")], terms(1)).expect("agreement");
    let nodes = start_all(&mut agreement, dir.path(), &clock).await;
    let hash = agreement.roster.roster.agreement_hash();
    let address = agreement.parties[0].address;
    let ar = agreement.parties[0].transport_key.clone();
    let bo = agreement.parties[1].transport_key.clone();
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let elsewhere = cbm_wire::AgreementHash([1; 32]);
    let outcomes = tokio::task::spawn_blocking(move || {
        [
            python_client(address, &bo, &ar, &hash, &hash),
            python_client(address, &stranger, &ar, &hash, &hash),
            python_client(address, &bo, &ar, &hash, &elsewhere),
        ]
    })
    .await
    .expect("the clients ran");
    let [served, stranger, elsewhere] = outcomes;

    assert_eq!(served.status, Some(0), "the client was not answered: {}", served.stderr);
    let response = Response::decode(&hex::decode(&served.stdout).expect("hex")).expect("a canonical response");
    assert!(matches!(response, Response::Evidence { .. }), "{response:?}");
    // Refused in the handshake, with the alerts spec/transport.md §2.3.2 names.
    assert_eq!(stranger.status, Some(2), "a key no roster lists is refused: {}", stranger.stderr);
    assert!(stranger.stderr.contains("error code 0x130"), "unknown_ca: {}", stranger.stderr);
    assert_eq!(elsewhere.status, Some(2), "a binding for another agreement is refused: {}", elsewhere.stderr);
    assert!(elsewhere.stderr.contains("error code 0x12a"), "bad_certificate: {}", elsewhere.stderr);
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_node_dials_a_python_server_that_speaks_only_the_certificate_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START));
    let mut agreement = LocalAgreement::new(&[("AR", "Arcadia"), ("BO", "Borduria")], terms(1)).expect("agreement");
    let hash = agreement.roster.roster.agreement_hash();
    // BO is the Python server, on BO's roster port.
    let bo_config =
        agreement.node_config(1, dir.path().join("BO.db"), Arc::clone(&clock) as _, None).expect("BO's socket");
    let cbm_net::Listen::Socket(socket) = bo_config.listen else { panic!("a bound socket") };
    let port = socket.local_addr().expect("address").port();
    drop(socket);
    let venv = cbm_tests::python::venv(Path::new(env!("CARGO_TARGET_TMPDIR")), "aioquic-1.7.2", &AIOQUIC);
    let mut server = Command::new(venv.join("bin").join("python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/certificate_server.py"))
        .args(["--port", &port.to_string()])
        .args(["--transport-seed", &hex::encode(agreement.parties[1].transport_key.to_bytes())])
        .args(["--client-key", &PublicKey::of(&agreement.parties[0].transport_key).to_string()])
        .args(["--agreement", &hash.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the Python server runs");
    let mut stdout = std::io::BufReader::new(server.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("the server says it listens");
    assert_eq!(line.trim(), "listening");
    // AR dials BO to gossip: with raw public keys first, refused, then in
    // the certificate form, which the server checks.
    let ar_config = agreement.node_config(0, dir.path().join("AR.db"), Arc::clone(&clock) as _, None).expect("config");
    let ar = cbm_net::Node::start(ar_config).await.expect("AR starts");
    let output = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).expect("stdout");
        (server.wait_with_output().expect("the server ends"), rest)
    })
    .await
    .expect("waited");
    let ((status, stderr), said) =
        ((output.0.status, String::from_utf8_lossy(&output.0.stderr).into_owned()), output.1);
    assert!(status.success(), "the Python server was not reached in the certificate form: {stderr}");
    assert_eq!(said.trim(), format!("verified {}", PublicKey::of(&agreement.parties[0].transport_key)));
    ar.shutdown().await;
}
