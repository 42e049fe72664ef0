//! `cbm watch`: what happens that needs a person, a line per event as the
//! node sees it (or a JSON object per line), from a cursor kept in a file so
//! that a watcher stopped and started again shows everything once.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cbm_net::{EventCursor, Node};

use crate::admin::{self, AdminRequest, AdminResponse};

/// Watches the node of `data_dir`, keeping its cursor in `cursor_file`;
/// looks every `every`, or once with `once`.
pub(crate) fn watch(data_dir: &Path, cursor_file: &Path, json: bool, once: bool, every: Duration) -> Result<ExitCode> {
    let mut cursor = read_cursor(cursor_file)?;
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        loop {
            let request = AdminRequest::Events { cursor: Box::new(cursor.clone()) };
            let AdminResponse::Events { events, cursor: next } = admin::call(data_dir, &request).await? else {
                anyhow::bail!("unexpected answer to an events request");
            };
            let mut out = std::io::stdout().lock();
            for event in &events {
                if json {
                    writeln!(out, "{}", serde_json::to_string(event)?)?;
                } else {
                    writeln!(out, "{}  {}", event.seen, event.text)?;
                }
            }
            out.flush()?;
            drop(out);
            // Shown, then remembered: a watcher killed in between shows
            // the last batch again rather than lose it.
            cursor = *next;
            admin::replace_file(cursor_file, &serde_json::to_vec(&cursor)?)
                .with_context(|| format!("keeping the cursor in {}", cursor_file.display()))?;
            if once {
                return Ok(ExitCode::SUCCESS);
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            }
        }
    })
}

/// The cursor kept in `path`, or a new one if there is no such file.
fn read_cursor(path: &Path) -> Result<EventCursor> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a cursor cbm watch wrote", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(EventCursor::default()),
        Err(e) => Err(e).with_context(|| format!("{} cannot be read", path.display())),
    }
}

/// Runs `command` (program and arguments) for each event the node sees,
/// the event as JSON on its standard input, looking every `every`, with a
/// cursor kept in `cursor_file` so that a restarted node runs it once per
/// event (`on_event` in the node's configuration). A command that fails or
/// takes over [`ON_EVENT_TIMEOUT`] is logged, and the next event goes on.
pub(crate) async fn run_on_events(node: Arc<Node>, command: Vec<String>, cursor_file: PathBuf, every: Duration) {
    let mut cursor = match read_cursor(&cursor_file) {
        Ok(cursor) => cursor,
        Err(e) => {
            tracing::warn!("on_event: {e:#}; starting from now");
            EventCursor::default()
        }
    };
    loop {
        match node.events(cursor.clone()).await {
            Ok((events, next)) => {
                for event in &events {
                    if let Err(e) = run_one(&command, event).await {
                        tracing::warn!("on_event command for {:?}: {e:#}", event.kind);
                    }
                }
                cursor = next;
                if let Ok(bytes) = serde_json::to_vec(&cursor)
                    && let Err(e) = admin::replace_file(&cursor_file, &bytes)
                {
                    tracing::warn!("on_event: {e:#}");
                }
            }
            Err(e) => tracing::warn!("on_event: {e}"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Longest an `on_event` command may run for one event.
const ON_EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `command` once, `event` as JSON on its standard input.
async fn run_one(command: &[String], event: &cbm_net::Event) -> Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let (program, args) = command.split_first().context("an empty command")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&serde_json::to_vec(event)?).await?;
        stdin.write_all(b"\n").await?;
    }
    let status = tokio::time::timeout(ON_EVENT_TIMEOUT, child.wait())
        .await
        .with_context(|| format!("{program} ran over {} s", ON_EVENT_TIMEOUT.as_secs()))??;
    anyhow::ensure!(status.success(), "{program} failed: {status}");
    Ok(())
}
