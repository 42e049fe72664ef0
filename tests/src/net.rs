//! Helpers for tests with real nodes on loopback.

use std::sync::Arc;
use std::time::Duration;

use cbm_log::author::{Draft, DraftField};
use cbm_net::local::{LocalAgreement, Terms};
use cbm_net::{ManualClock, Node};
use cbm_wire::{AgreementId, EntryKind, Label, MediaType, Schedule, Text, TimeSpan, Timestamp, Topic};

/// 2026-01-01T00:00:00Z.
pub const START: Timestamp = Timestamp(1_767_225_600_000);

/// How long a test waits for the network to reach a state before failing.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The scheduled topic of the test agreements.
pub fn topic() -> Topic {
    Topic::new("points-of-contact").expect("topic")
}

/// Monthly declarations due a week into the month, acknowledged within 48 h.
pub fn terms(quorum: u32) -> Terms {
    Terms {
        agreement: AgreementId::new("test-cbm").expect("id"),
        title: Text::new("Test agreement").expect("title"),
        schedules: vec![Schedule::monthly(topic(), START, TimeSpan::from_hours(24 * 7), TimeSpan::from_hours(48))],
        notices: vec![],
        quorum,
        start: START,
    }
}

/// The declaration for `period`, with one plain field.
pub fn declaration(period: u64, text: &str) -> Draft {
    Draft {
        kind: EntryKind::Declaration { topic: topic(), period },
        fields: vec![DraftField::Plain {
            label: Label::new("contact").expect("label"),
            media_type: MediaType::new("text/plain").expect("media type"),
            value: text.as_bytes().to_vec(),
        }],
    }
}

/// Starts one node per party, each with its own store in `dir`.
pub async fn start_all(agreement: &mut LocalAgreement, dir: &std::path::Path, clock: &Arc<ManualClock>) -> Vec<Node> {
    let mut nodes = Vec::new();
    for index in 0..agreement.parties.len() {
        let store = dir.join(format!("{}.db", agreement.parties[index].id));
        let config = agreement.node_config(index, store, Arc::clone(clock) as _, None).expect("config");
        nodes.push(Node::start(config).await.expect("node starts"));
    }
    nodes
}

/// Nodes whose traffic all passes through relays that can cut some of
/// them off: a network partition, with no test code in the node. Each
/// party's roster address is held by its relay, which forwards to the
/// node's real socket; a node cut off receives nothing through its own
/// relay, and the other relays drop what it sends and what would go back.
#[derive(Debug, Default)]
pub struct Partition {
    /// Real socket addresses of the nodes cut off.
    cut: Arc<std::sync::Mutex<std::collections::HashSet<std::net::SocketAddr>>>,
}

impl Partition {
    /// Starts a node per party behind relays, stores in `dir`.
    pub async fn start_all(
        &self,
        agreement: &mut LocalAgreement,
        dir: &std::path::Path,
        clock: &Arc<ManualClock>,
    ) -> Vec<Node> {
        let mut nodes = Vec::new();
        for index in 0..agreement.parties.len() {
            let store = dir.join(format!("{}.db", agreement.parties[index].id));
            let mut config = agreement.node_config(index, store, Arc::clone(clock) as _, None).expect("config");
            let inner = std::net::UdpSocket::bind("127.0.0.1:0").expect("socket");
            let cbm_net::Listen::Socket(front) = std::mem::replace(&mut config.listen, cbm_net::Listen::Socket(inner))
            else {
                unreachable!("local configs listen on a bound socket")
            };
            let node = Node::start(config).await.expect("node starts");
            let node_address = node.local_addr().expect("address");
            tokio::spawn(relay(front, node_address, Arc::clone(&self.cut)));
            nodes.push(node);
        }
        nodes
    }

    /// Cuts `node` off from every other node, or (`false`) lets it back.
    pub fn cut(&self, node: &Node, cut: bool) {
        let address = node.local_addr().expect("address");
        let mut set = self.cut.lock().expect("lock");
        if cut {
            set.insert(address);
        } else {
            set.remove(&address);
        }
    }
}

type CutSet = Arc<std::sync::Mutex<std::collections::HashSet<std::net::SocketAddr>>>;

/// Forwards datagrams arriving at `front` to `node`, each client through
/// its own upstream socket so that replies find their way back; drops any
/// datagram from or to a node in `cut`.
async fn relay(front: std::net::UdpSocket, node: std::net::SocketAddr, cut: CutSet) {
    front.set_nonblocking(true).expect("nonblocking");
    let front = Arc::new(tokio::net::UdpSocket::from_std(front).expect("tokio socket"));
    let blocked = move |cut: &CutSet, client: &std::net::SocketAddr| {
        let set = cut.lock().expect("lock");
        set.contains(&node) || set.contains(client)
    };
    let mut upstreams = std::collections::HashMap::new();
    let mut buffer = vec![0u8; 65_536];
    while let Ok((len, client)) = front.recv_from(&mut buffer).await {
        if blocked(&cut, &client) {
            continue;
        }
        let upstream = upstreams.entry(client).or_insert_with(|| {
            let upstream = Arc::new(tokio::net::UdpSocket::from_std(bound_nonblocking()).expect("tokio socket"));
            let (back, front, cut, upstream_reader) =
                (client, Arc::clone(&front), Arc::clone(&cut), Arc::clone(&upstream));
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65_536];
                while let Ok((len, _)) = upstream_reader.recv_from(&mut buffer).await {
                    if !blocked(&cut, &back) {
                        let _ = front.send_to(&buffer[..len], back).await;
                    }
                }
            });
            upstream
        });
        let _ = upstream.send_to(&buffer[..len], node).await;
    }
}

fn bound_nonblocking() -> std::net::UdpSocket {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("socket");
    socket.set_nonblocking(true).expect("nonblocking");
    socket
}
