//! `cbm node`: runs a signatory node from a TOML configuration until it is
//! interrupted, serving peers over QUIC and the CLI over the admin socket.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
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
    /// Address to listen on, e.g. `0.0.0.0:7400` (as a roster address is
    /// written: see `inputs::check_address`).
    pub(crate) listen: String,
    /// Time between gossip rounds, e.g. `"5s"`; 10 s if absent.
    #[serde(default)]
    pub(crate) gossip_interval: Option<String>,
    /// Whether the node answers communication checks by itself; false (a
    /// person answers them) if absent.
    #[serde(default)]
    pub(crate) answer_checks: bool,
    /// A command (program and arguments) run for each event `cbm watch`
    /// would show, with the event as JSON on its standard input: to route
    /// it to a pager or mail.
    #[serde(default)]
    pub(crate) on_event: Vec<String>,
    /// How long before a declaration of ours is due the node says it is not
    /// made yet, e.g. `"2d"`; 2 days if absent.
    #[serde(default)]
    pub(crate) warn_before: Option<String>,
}

/// Reads and checks a node configuration.
pub(crate) fn read_config(path: &Path) -> Result<(NodeFile, PathBuf)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: NodeFile =
        toml::from_str(&text).with_context(|| format!("{} is not a valid node configuration", path.display()))?;
    crate::inputs::check_address(&file.listen).with_context(|| format!("{}: listen", path.display()))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((file, base))
}

/// The socket address `listen` names (a name is looked up).
fn listen_address(listen: &str) -> Result<SocketAddr> {
    use std::net::ToSocketAddrs as _;
    listen
        .to_socket_addrs()
        .with_context(|| format!("{listen} cannot be looked up"))?
        .next()
        .with_context(|| format!("{listen} names no address"))
}

/// Refuses a roster not every signatory has signed, naming who has not.
fn check_adopted(path: &Path, roster: &SignedRoster) -> Result<()> {
    let missing: Vec<String> = roster
        .roster
        .signatories
        .iter()
        .filter(|s| !roster.signatures.iter().any(|sig| sig.signatory == s.id))
        .map(|s| s.id.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} is not adopted: {} {} not signed it (cbm roster sign {} --id ID --key ID.signing.key)",
            path.display(),
            missing.join(", "),
            if missing.len() == 1 { "has" } else { "have" },
            path.display()
        );
    }
    Ok(())
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
    // Everything the configuration names is checked before anything is
    // created: the data directory, then the socket.
    let gossip_interval = match &file.gossip_interval {
        Some(text) => humantime_span(text)?,
        None => Duration::from_secs(10),
    };
    let warn_before = match &file.warn_before {
        Some(text) => humantime_span(text)?,
        None => NodeLimits::default().warn_before,
    };
    let roster = read_roster(&at(&file.roster))?;
    check_adopted(&at(&file.roster), &roster)?;
    let (signing_key, transport_key) = (read_key(&at(&file.signing_key))?, read_key(&at(&file.transport_key))?);
    let listen = listen_address(&file.listen)?;
    // The socket before the directory: a port in use leaves nothing behind.
    let socket = std::net::UdpSocket::bind(listen).map_err(|e| match e.kind() {
        // A node already running here holds the directory's lock too: that is the better sentence.
        std::io::ErrorKind::AddrInUse if runs_on(&data_dir) => anyhow::anyhow!(
            "another cbm node is running on the data directory {}; one directory serves one node",
            data_dir.display()
        ),
        std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("{} is in use: another node or program listens there", file.listen)
        }
        _ => anyhow::anyhow!("cannot listen on {}: {e}", file.listen),
    })?;
    let _lock = claim_data_dir(&data_dir)?;
    let node = Node::start(NodeConfig {
        roster,
        signatory: file.signatory.clone(),
        signing_key,
        transport_key,
        store: data_dir.join("store.db"),
        listen: Listen::Socket(socket),
        partners: None,
        gossip_interval,
        answer_checks: file.answer_checks,
        limits: NodeLimits { warn_before, ..NodeLimits::default() },
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
    if !file.on_event.is_empty() {
        tokio::spawn(crate::watch_cmd::run_on_events(
            Arc::clone(&node),
            file.on_event.clone(),
            data_dir.join("on_event.cursor"),
            gossip_interval,
        ));
    }
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

/// The lock file that keeps a second node off a data directory.
const LOCK: &str = "node.lock";

/// Makes `dir` the node's data directory: created readable by its owner
/// only (0700), refused if others can read it or the store in it, and
/// locked for as long as the returned file is held, so that a second node
/// on the same directory is refused before it announces anything.
fn claim_data_dir(dir: &Path) -> Result<std::fs::File> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let store = dir.join("store.db");
        for (path, what) in [(dir.to_path_buf(), "data directory"), (store, "store")] {
            let Ok(metadata) = std::fs::metadata(&path) else { continue };
            let mode = metadata.permissions().mode();
            if mode & 0o077 != 0 {
                bail!(
                    "the {what} {} can be read by others (mode {:o}); it holds openings meant for their \
                     recipients only: chmod {} {}",
                    path.display(),
                    mode & 0o777,
                    if metadata.is_dir() { "700" } else { "600" },
                    path.display()
                );
            }
        }
        // SQLite creates the store's write-ahead log and shared-memory files
        // with the mode of the store itself.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(dir.join("store.db")) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(e).with_context(|| format!("creating the store in {}", dir.display()));
            }
            _ => {}
        }
    }
    let path = dir.join(LOCK);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let lock = options.open(&path).with_context(|| format!("opening {}", path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("another cbm node is running on the data directory {}; one directory serves one node", dir.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Whether a node holds the lock of the data directory `dir` (which is
/// looked at, not created).
fn runs_on(dir: &Path) -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(LOCK))
        .is_ok_and(|lock| matches!(lock.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

fn humantime_span(text: &str) -> Result<Duration> {
    let span: cbm_wire::TimeSpan = text.parse().with_context(|| format!("{text:?} is not a duration like \"5s\""))?;
    Ok(Duration::from_millis(span.0))
}
