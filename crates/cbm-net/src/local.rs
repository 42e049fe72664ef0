//! An agreement of nodes on one machine: fresh keys for every party, a
//! loopback socket bound for each before the roster is written (so the
//! roster holds real addresses and no port can be taken in between), and a
//! roster every party has adopted. For `cbm demo`, tests and benchmarks.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cbm_wire::{
    Address, AgreementId, KeyId, Notice, PublicKey, QuorumPolicy, Roster, RosterLimits, Schedule, Signatory,
    SignatoryId, SignedRoster, SigningKey, SigningKeyInfo, Text, Timestamp,
};

use crate::clock::Clock;
use crate::node::{Listen, NodeConfig, NodeLimits};

/// What the parties agree on, besides who they are.
#[derive(Clone, Debug)]
pub struct Terms {
    /// The agreement's name.
    pub agreement: AgreementId,
    /// Its title.
    pub title: Text,
    /// The obligations.
    pub schedules: Vec<Schedule>,
    /// Notification topics on a clock.
    pub notices: Vec<Notice>,
    /// Cosignatures that settle a checkpoint.
    pub quorum: u32,
    /// When the parties' keys become valid.
    pub start: Timestamp,
}

/// One party: its keys and its bound socket.
#[derive(Debug)]
pub struct Party {
    /// Its signatory id.
    pub id: SignatoryId,
    /// Its signing key (key number 0 in the roster).
    pub signing_key: SigningKey,
    /// Its transport key.
    pub transport_key: SigningKey,
    /// The address in the roster.
    pub address: SocketAddr,
    socket: Option<UdpSocket>,
}

/// The parties and their adopted roster.
#[derive(Debug)]
pub struct LocalAgreement {
    /// The roster, signed by every party.
    pub roster: SignedRoster,
    /// The parties, in roster order.
    pub parties: Vec<Party>,
}

impl LocalAgreement {
    /// Creates keys and binds a loopback socket for each of `parties`
    /// (`(id, human name)`), then writes and adopts the roster.
    ///
    /// # Errors
    /// If a socket cannot be bound or an id is invalid.
    pub fn new(parties: &[(&str, &str)], terms: Terms) -> std::io::Result<Self> {
        let invalid = |e: cbm_wire::ParseIdError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string());
        let mut bound = Vec::new();
        let mut signatories = Vec::new();
        for (id, name) in parties {
            let socket = UdpSocket::bind("127.0.0.1:0")?;
            let address = socket.local_addr()?;
            let signing_key = SigningKey::generate(&mut rand_core::OsRng);
            let transport_key = SigningKey::generate(&mut rand_core::OsRng);
            let id = SignatoryId::new(*id).map_err(invalid)?;
            signatories.push(Signatory {
                id: id.clone(),
                name: Text::new(*name).map_err(invalid)?,
                signing_keys: vec![SigningKeyInfo {
                    id: KeyId(0),
                    key: PublicKey::of(&signing_key),
                    valid_from: terms.start,
                    valid_until: None,
                }],
                transport_key: PublicKey::of(&transport_key),
                addresses: vec![Address::new(address.to_string()).map_err(invalid)?],
            });
            bound.push(Party { id, signing_key, transport_key, address, socket: Some(socket) });
        }
        let roster = Roster {
            agreement: terms.agreement,
            version: 1,
            title: terms.title,
            signatories,
            schedules: terms.schedules,
            quorum: QuorumPolicy { threshold: terms.quorum },
            limits: RosterLimits::default(),
            previous: None,
            notices: terms.notices,
        };
        let signatures = bound.iter().map(|p| roster.sign_adoption(&p.id, KeyId(0), &p.signing_key)).collect();
        Ok(Self { roster: SignedRoster { roster, signatures }, parties: bound })
    }

    /// The configuration of party `index`'s node, storing in `store`. The
    /// first call takes the party's roster socket; later calls (a second
    /// node under the same keys, as an equivocating party would run) bind a
    /// fresh loopback port that no roster lists.
    ///
    /// # Errors
    /// If a fresh socket cannot be bound.
    ///
    /// # Panics
    /// If `index` is not a party.
    pub fn node_config(
        &mut self,
        index: usize,
        store: PathBuf,
        clock: Arc<dyn Clock>,
        partners: Option<Vec<SignatoryId>>,
    ) -> std::io::Result<NodeConfig> {
        let roster = self.roster.clone();
        let party = &mut self.parties[index];
        let socket = match party.socket.take() {
            Some(socket) => socket,
            None => UdpSocket::bind("127.0.0.1:0")?,
        };
        Ok(NodeConfig {
            roster,
            signatory: party.id.clone(),
            signing_key: party.signing_key.clone(),
            transport_key: party.transport_key.clone(),
            store,
            listen: Listen::Socket(socket),
            partners,
            gossip_interval: Duration::from_millis(200),
            answer_checks: false,
            limits: NodeLimits::default(),
            clock,
        })
    }
}
