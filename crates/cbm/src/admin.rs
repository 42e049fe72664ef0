//! The local admin channel between the `cbm` CLI and a running `cbm node`:
//! a Unix socket in the node's data directory, readable by its owner only,
//! carrying one JSON request line and one JSON response line per
//! connection. Only the node writes its store; the CLI asks it to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use cbm_log::author::{Draft, DraftField};
use cbm_log::calendar::period_of;
use cbm_net::{Node, NodeStatus};
use cbm_wire::{EntryKind, EntryRef, Label, MediaType, SignatoryId, StatusChange, Text, Timestamp, Topic, Wire};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt as _, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::period::PeriodArg;

/// The socket's file name in the data directory.
pub(crate) const SOCKET: &str = "admin.sock";

/// What kind of entry to write, with citations by position: the node
/// looks up the cited entries' hashes in its store.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum KindSpec {
    Declaration { topic: Topic, period: Option<PeriodArg> },
    NoChange { topic: Topic, period: Option<PeriodArg> },
    Notification { topic: Topic },
    Amendment { index: u64, reason: Text },
    Objection { signatory: SignatoryId, index: u64, reason: Text },
    Response { signatory: SignatoryId, index: u64 },
    Request { to: Vec<SignatoryId>, reply_by: Timestamp },
    Status { topic: Topic, change: ChangeSpec, effective_from: Option<Timestamp> },
}

/// A status change, by name.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChangeSpec {
    Suspend,
    Resume,
    Withdraw,
}

/// One field: plain, or committed with its opening for `to`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FieldSpec {
    pub(crate) label: Label,
    pub(crate) media_type: MediaType,
    pub(crate) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) committed_to: Option<Vec<SignatoryId>>,
}

/// A request to the node.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "request")]
pub(crate) enum AdminRequest {
    /// Publishes one entry; with `wait_seconds`, answers once the roster's
    /// quorum has cosigned it (or with an error when the time runs out).
    Publish {
        kind: KindSpec,
        fields: Vec<FieldSpec>,
        wait_seconds: Option<u64>,
        /// The key to publish under; without one, the node derives it from
        /// the draft (see `cbm_net::IdempotencyKey`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency_key: Option<String>,
    },
    /// The status; with `wait_seconds`, once every log held is settled at
    /// its newest checkpoint (or an error when the time runs out).
    Status {
        wait_seconds: Option<u64>,
    },
    /// What happened since the cursor (`cbm watch`).
    Events {
        cursor: Box<cbm_net::EventCursor>,
    },
    Export {
        path: PathBuf,
        public: bool,
    },
    Prove {
        signatory: SignatoryId,
        index: u64,
        path: PathBuf,
    },
    Reveal {
        signatory: SignatoryId,
        index: u64,
        field: u32,
        path: PathBuf,
    },
}

/// The node's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "response")]
pub(crate) enum AdminResponse {
    /// Published (or, `earlier`, found published under the same key: a
    /// retry, and nothing was published again).
    Published {
        index: u64,
        size: u64,
        #[serde(default)]
        earlier: bool,
    },
    /// Published and stored, but the quorum had not received it when the
    /// wait ran out.
    NotYetReceived {
        index: u64,
        size: u64,
        #[serde(default)]
        earlier: bool,
        waited_seconds: u64,
    },
    Events {
        events: Vec<cbm_net::Event>,
        cursor: Box<cbm_net::EventCursor>,
    },
    Status {
        status: NodeStatus,
        obligations: Box<cbm_net::Obligations>,
        /// Asked to wait for every log to settle, and the time ran out.
        #[serde(default)]
        unsettled: bool,
    },
    Exported {
        entries: u64,
        checkpoints: u64,
        cosignatures: u64,
        evidence: u64,
        openings: u64,
        unreadable_openings: u64,
    },
    Proved {
        path: PathBuf,
    },
    Revealed {
        path: PathBuf,
        label: String,
        value: String,
    },
    Error {
        message: String,
    },
}

/// Serves the admin socket of `node` in `data_dir` until the task is dropped.
pub(crate) async fn serve(node: Arc<Node>, data_dir: &Path) -> Result<()> {
    let path = data_dir.join(SOCKET);
    // A socket left by a node that was killed is stale: nothing listens on it.
    if path.exists() && UnixStream::connect(&path).await.is_err() {
        std::fs::remove_file(&path).with_context(|| format!("removing the stale {}", path.display()))?;
    }
    let listener = UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    loop {
        let (stream, _) = listener.accept().await?;
        let node = Arc::clone(&node);
        tokio::spawn(async move {
            if let Err(e) = answer(&node, stream).await {
                tracing::warn!("admin request failed: {e:#}");
            }
        });
    }
}

async fn answer(node: &Node, stream: UnixStream) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read.take(1 << 20)).read_line(&mut line).await?;
    let response = match serde_json::from_str::<AdminRequest>(&line) {
        Ok(request) => {
            execute(node, request).await.unwrap_or_else(|e| AdminResponse::Error { message: format!("{e:#}") })
        }
        Err(e) => AdminResponse::Error { message: format!("malformed admin request: {e}") },
    };
    let mut out = serde_json::to_vec(&response)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    Ok(())
}

async fn execute(node: &Node, request: AdminRequest) -> Result<AdminResponse> {
    match request {
        AdminRequest::Publish { kind, fields, wait_seconds, idempotency_key } => {
            // A chosen key is bound to the request as sent, so that a retry
            // after a period boundary is still its retry; a derived key to
            // the draft as resolved (its period filled in, not its default
            // times), so that the same command in a new period is new.
            let digest = |kind: &KindSpec| -> Result<cbm_wire::Digest> {
                Ok(cbm_wire::Digest(*blake3::hash(&serde_json::to_vec(&(kind, &fields))?).as_bytes()))
            };
            // Resolved once: the draft is the one the key's digest names.
            let resolved = with_period(node, kind.clone())?;
            let key = match idempotency_key {
                Some(chosen) => cbm_net::IdempotencyKey::chosen(&chosen, digest(&kind)?).map_err(|e| anyhow!(e))?,
                None => cbm_net::IdempotencyKey::derived(digest(&resolved)?),
            };
            let draft = draft(node, resolved, fields).await?;
            let (index, size, earlier) = match node.publish_once(key, vec![draft]).await? {
                cbm_net::Published::New(checkpoint) => (checkpoint.body.size - 1, checkpoint.body.size, false),
                cbm_net::Published::Earlier(publication) => (publication.index, publication.size, true),
            };
            if let Some(seconds) = wait_seconds {
                let me = node.signatory().clone();
                let timeout = std::time::Duration::from_secs(seconds);
                let received = |s: &NodeStatus| s.log(&me).is_some_and(|l| l.settled_size >= size);
                if let Err(e) = node.wait_until("the entry settled", timeout, received).await {
                    if !matches!(e, cbm_net::NodeError::Timeout(_)) {
                        return Err(e.into());
                    }
                    return Ok(AdminResponse::NotYetReceived { index, size, earlier, waited_seconds: seconds });
                }
            }
            Ok(AdminResponse::Published { index, size, earlier })
        }
        AdminRequest::Events { cursor } => {
            let (events, cursor) = node.events(*cursor).await?;
            Ok(AdminResponse::Events { events, cursor: Box::new(cursor) })
        }
        AdminRequest::Status { wait_seconds: None } => Ok(AdminResponse::Status {
            status: node.status().await?,
            obligations: Box::new(node.obligations().await?),
            unsettled: false,
        }),
        AdminRequest::Status { wait_seconds: Some(seconds) } => {
            let timeout = std::time::Duration::from_secs(seconds);
            // Out of time, the status is answered as it stands, marked.
            let (status, unsettled) = match node.wait_until("every log settled", timeout, all_settled).await {
                Ok(status) => (status, false),
                Err(cbm_net::NodeError::Timeout(_)) => (node.status().await?, true),
                Err(e) => return Err(e.into()),
            };
            Ok(AdminResponse::Status { status, obligations: Box::new(node.obligations().await?), unsettled })
        }
        AdminRequest::Export { path, public } => {
            let summary = node.export(path, public).await?;
            Ok(AdminResponse::Exported {
                entries: summary.entries,
                checkpoints: summary.checkpoints,
                cosignatures: summary.cosignatures,
                evidence: summary.evidence,
                openings: summary.openings,
                unreadable_openings: summary.unreadable_openings,
            })
        }
        AdminRequest::Reveal { signatory, index, field, path } => {
            let opening = node.opening(&signatory, index, field).await?;
            let entry = node.entry(&signatory, index).await?;
            opening.verify(&entry).context("the stored opening does not match its entry")?;
            let label = entry.body.fields.get(field as usize).map(|f| f.label().to_string()).unwrap_or_default();
            write_private(&path, &opening.encode())?;
            Ok(AdminResponse::Revealed { path, label, value: String::from_utf8_lossy(&opening.value.0).into_owned() })
        }
        AdminRequest::Prove { signatory, index, path } => {
            let proof = node.prove(&signatory, index).await?;
            write_private(&path, &proof.encode())?;
            Ok(AdminResponse::Proved { path })
        }
    }
}

/// Whether every log held is settled at its newest checkpoint.
pub(crate) fn all_settled(status: &NodeStatus) -> bool {
    status.logs.iter().all(|l| l.checkpoint.as_ref().is_none_or(|(size, _, _)| l.settled_size >= *size))
}

/// Writes `bytes` to the new file `path`, readable by its owner only,
/// never over another file.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    cbm_net::files::write_new(path, cbm_net::files::Readers::Owner, |out| out.write_all(bytes))
        .with_context(|| format!("writing {}", path.display()))
}

/// Replaces the file at `path` with `bytes` through a temporary file
/// renamed into place: for a file updated in place, such as a roster
/// gathering its signatures.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Refuses `signatory` unless the roster names it: a commitment, request
/// or citation naming anyone else could never be answered.
fn check_signatory(node: &Node, signatory: &SignatoryId) -> Result<()> {
    if node.agreement().roster().signatory(signatory).is_none() {
        bail!("{signatory} is not a signatory of the roster");
    }
    Ok(())
}

/// The reference to entry `index` of `signatory`'s log, to `what` (amend,
/// cite); refused, saying how many entries the log holds, if the node does
/// not hold it.
async fn cite(node: &Node, signatory: SignatoryId, index: u64, what: &str) -> Result<EntryRef> {
    check_signatory(node, &signatory)?;
    let held = node.status().await?.log(&signatory).map_or(0, |l| l.size);
    if index >= held {
        let entries = if held == 1 { "entry" } else { "entries" };
        let here = if &signatory == node.signatory() { "" } else { " here" };
        bail!("there is no entry {index} to {what}: {signatory}'s log holds {held} {entries}{here}");
    }
    let entry = node.entry(&signatory, index).await.with_context(|| format!("entry {index} of {signatory}"))?;
    Ok(EntryRef { signatory, index, hash: entry.hash() })
}

/// The number of the period `period` names on `topic`'s schedule, or the
/// current period if it names none.
fn period_number(node: &Node, topic: &Topic, period: Option<&PeriodArg>) -> Result<u64> {
    let schedule = node.agreement().roster().schedule(topic).ok_or_else(|| anyhow!("{topic} is not scheduled"))?;
    match period {
        Some(given) => given.number(schedule),
        None => period_of(schedule, node.now()).ok_or_else(|| anyhow!("the schedule for {topic} has not started")),
    }
}

/// `kind` with its period as a number (see [`period_number`]).
fn with_period(node: &Node, kind: KindSpec) -> Result<KindSpec> {
    let number = |topic: &Topic, period: Option<PeriodArg>| -> Result<Option<PeriodArg>> {
        Ok(Some(PeriodArg::Number(period_number(node, topic, period.as_ref())?)))
    };
    Ok(match kind {
        KindSpec::Declaration { period, topic } => KindSpec::Declaration { period: number(&topic, period)?, topic },
        KindSpec::NoChange { period, topic } => KindSpec::NoChange { period: number(&topic, period)?, topic },
        other => other,
    })
}

/// Turns a request into a draft, resolving citations and default periods.
async fn draft(node: &Node, kind: KindSpec, fields: Vec<FieldSpec>) -> Result<Draft> {
    let me = node.signatory().clone();
    let now = node.now();
    let kind = match kind {
        KindSpec::Declaration { topic, period } => {
            EntryKind::Declaration { period: period_number(node, &topic, period.as_ref())?, topic }
        }
        KindSpec::NoChange { topic, period } => {
            EntryKind::NoChange { period: period_number(node, &topic, period.as_ref())?, topic }
        }
        KindSpec::Notification { topic } => EntryKind::Notification { topic },
        KindSpec::Amendment { index, reason } => {
            EntryKind::Amendment { amends: cite(node, me, index, "amend").await?, reason }
        }
        KindSpec::Objection { signatory, index, reason } => {
            EntryKind::Objection { cites: cite(node, signatory, index, "object to").await?, reason }
        }
        KindSpec::Response { signatory, index } => {
            EntryKind::Response { cites: cite(node, signatory, index, "respond to").await? }
        }
        KindSpec::Request { to, reply_by } => {
            to.iter().try_for_each(|signatory| check_signatory(node, signatory))?;
            EntryKind::Request { to, reply_by }
        }
        KindSpec::Status { topic, change, effective_from } => EntryKind::Status {
            topic,
            change: match change {
                ChangeSpec::Suspend => StatusChange::Suspend,
                ChangeSpec::Resume => StatusChange::Resume,
                ChangeSpec::Withdraw => StatusChange::Withdraw,
            },
            effective_from: effective_from.unwrap_or(now),
        },
    };
    for recipient in fields.iter().flat_map(|f| f.committed_to.iter().flatten()) {
        check_signatory(node, recipient)?;
    }
    let fields = fields
        .into_iter()
        .map(|f| match f.committed_to {
            None => DraftField::Plain { label: f.label, media_type: f.media_type, value: f.value.into_bytes() },
            Some(recipients) => DraftField::Committed {
                label: f.label,
                media_type: f.media_type,
                value: f.value.into_bytes(),
                recipients,
            },
        })
        .collect();
    Ok(Draft { kind, fields })
}

/// Sends `request` to the node serving `data_dir` and returns its answer.
pub(crate) async fn call(data_dir: &Path, request: &AdminRequest) -> Result<AdminResponse> {
    let path = data_dir.join(SOCKET);
    // A node that was just started may not have bound its socket yet (or
    // replaced the stale one of a node that was killed): retry briefly.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    let stream = loop {
        match UnixStream::connect(&path).await {
            Ok(stream) => break stream,
            Err(e) if tokio::time::Instant::now() < deadline && e.kind() != std::io::ErrorKind::PermissionDenied => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("no node is running for {} (cannot connect to {})", data_dir.display(), path.display())
                });
            }
        }
    };
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    write.write_all(&line).await.context("sending the request to the node")?;
    // From here on the node may have acted on the request.
    let answered = async {
        write.shutdown().await?;
        let mut answer = String::new();
        BufReader::new(read.take(64 << 20)).read_line(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = match answered.await {
        Ok(answer) if !answer.is_empty() => answer,
        Ok(_) => return Err(OutcomeUnknown("it closed the connection".into()).into()),
        Err(e) => return Err(OutcomeUnknown(e.to_string()).into()),
    };
    match serde_json::from_str(&answer).context("the node's answer is not valid")? {
        AdminResponse::Error { message } => bail!("the node refused: {message}"),
        response => Ok(response),
    }
}

/// The node took a request but went away before it answered: whether it
/// acted on it is unknown.
#[derive(Debug, thiserror::Error)]
#[error("the node went away before it answered ({0}): whether it acted on the request is unknown")]
pub(crate) struct OutcomeUnknown(String);
