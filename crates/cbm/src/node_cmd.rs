//! `cbm node`: runs a signatory node from a TOML configuration until it is
//! interrupted, serving peers over QUIC and the CLI over the admin socket.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cbm_net::{Listen, Node, NodeConfig, NodeLimits, SystemClock};
use cbm_wire::{SignatoryId, SignedRoster};
use serde::Deserialize;

use crate::admin;
use crate::keys::read_key;

/// The node's configuration file (`node.toml`). Relative paths are relative
/// to the file's directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeFile {
    /// Which signatory this node is.
    pub(crate) signatory: SignatoryId,
    /// The adopted roster (`cbm roster sign` output, every signature present).
    pub(crate) roster: PathBuf,
    /// The signing key file.
    pub(crate) signing_key: PathBuf,
    /// The transport key file.
    pub(crate) transport_key: PathBuf,
    /// Directory for the store and the admin socket.
    pub(crate) data_dir: PathBuf,
    /// Address to listen on, e.g. `0.0.0.0:7400`.
    pub(crate) listen: SocketAddr,
    /// Time between gossip rounds, e.g. `"5s"`; 10 s if absent.
    #[serde(default)]
    pub(crate) gossip_interval: Option<String>,
}

/// Reads and checks a node configuration.
pub(crate) fn read_config(path: &Path) -> Result<(NodeFile, PathBuf)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: NodeFile =
        toml::from_str(&text).with_context(|| format!("{} is not a valid node configuration", path.display()))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((file, base))
}

/// Reads a signed roster file.
pub(crate) fn read_roster(path: &Path) -> Result<SignedRoster> {
    crate::read_wire(path, "a roster")
}

/// Runs the node until SIGINT or SIGTERM.
pub(crate) async fn run(config: &Path) -> Result<()> {
    let (file, base) = read_config(config)?;
    let at = |p: &Path| base.join(p);
    let data_dir = at(&file.data_dir);
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let gossip_interval = match &file.gossip_interval {
        Some(text) => humantime_span(text)?,
        None => Duration::from_secs(10),
    };
    let node = Node::start(NodeConfig {
        roster: read_roster(&at(&file.roster))?,
        signatory: file.signatory.clone(),
        signing_key: read_key(&at(&file.signing_key))?,
        transport_key: read_key(&at(&file.transport_key))?,
        store: data_dir.join("store.db"),
        listen: Listen::Address(file.listen),
        partners: None,
        gossip_interval,
        limits: NodeLimits::default(),
        clock: Arc::new(SystemClock),
    })
    .await
    .context("starting the node")?;
    let node = Arc::new(node);
    eprintln!(
        "node {} listening on {}; admin socket {}",
        file.signatory,
        node.local_addr()?,
        data_dir.join(admin::SOCKET).display()
    );
    let mut admin = tokio::spawn({
        let node = Arc::clone(&node);
        let data_dir = data_dir.clone();
        async move { admin::serve(node, &data_dir).await }
    });
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        result = &mut admin => { result??; }
    }
    eprintln!("stopping");
    admin.abort();
    let _ = std::fs::remove_file(data_dir.join(admin::SOCKET));
    // The admin task may still hold the node: stop it through the Arc, so
    // that peers see CONNECTION_CLOSE now rather than at their idle timeout.
    node.shutdown().await;
    Ok(())
}

fn humantime_span(text: &str) -> Result<Duration> {
    let span: cbm_wire::TimeSpan = text.parse().with_context(|| format!("{text:?} is not a duration like \"5s\""))?;
    Ok(Duration::from_millis(span.0))
}
