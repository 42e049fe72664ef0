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
                    writeln!(out, "{}  {}", event.seen, printable(&event.text))?;
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

/// `text` safe to print on a terminal: a signatory writes the reasons and
/// topics an event quotes, so control characters (a newline forging a line,
/// an escape sequence) and bidirectional overrides are shown escaped.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
            if c.is_control() || bidi { c.escape_unicode().to_string() } else { c.to_string() }
        })
        .collect()
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
/// the event as JSON on its standard input, looking every `every` (the
/// first time after three), with a cursor kept in `cursor_file` so that a
/// restarted node does not run it again for what it ran it for
/// (`on_event` in the node's configuration). A command that fails or takes
/// over [`ON_EVENT_TIMEOUT`] is tried three times, then logged and passed
/// by; a node killed between running it and keeping the cursor runs it
/// again for that look's events: at least once, never lost to a restart.
pub(crate) async fn run_on_events(node: Arc<Node>, command: Vec<String>, cursor_file: PathBuf, every: Duration) {
    let mut cursor = match read_cursor(&cursor_file) {
        Ok(cursor) => cursor,
        Err(e) => {
            tracing::warn!("on_event: {e:#}; starting from now");
            EventCursor::default()
        }
    };
    if !cursor.started {
        // A first start: from what the node holds now, so that what comes
        // during the wait below is told; what is overdue is told after it.
        match node.events(cursor.clone()).await {
            Ok((_, now)) => cursor = EventCursor { told: Default::default(), ..now },
            Err(e) => tracing::warn!("on_event: {e}"),
        }
    }
    // As the node's log does, wait until what the peers hold has reached
    // the node: a declaration made while it was down is not overdue.
    tokio::time::sleep(every * 3).await;
    loop {
        match node.events(cursor.clone()).await {
            Ok((events, next)) => {
                for event in events.iter().take(ON_EVENT_PER_LOOK) {
                    run_with_retries(&command, event).await;
                }
                if events.len() > ON_EVENT_PER_LOOK {
                    let more = cbm_net::Event {
                        kind: events[ON_EVENT_PER_LOOK].kind,
                        seen: events[ON_EVENT_PER_LOOK].seen,
                        from: None,
                        entry: None,
                        text: format!(
                            "and {} more events at once: cbm watch and cbm status show them",
                            events.len() - ON_EVENT_PER_LOOK
                        ),
                    };
                    run_with_retries(&command, &more).await;
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

/// Events an `on_event` command is run for per look, at most; past it, it
/// is run once more to say how many more there were (no pager storm when a
/// node starts on an old agreement, or a peer floods notifications).
const ON_EVENT_PER_LOOK: usize = 20;

/// Runs the command for `event`, three times at most, waiting longer each
/// time, and logs a failure that lasts.
async fn run_with_retries(command: &[String], event: &cbm_net::Event) {
    for attempt in 1..=3u32 {
        match run_one(command, event).await {
            Ok(()) => return,
            Err(e) if attempt == 3 => tracing::warn!("on_event command for {:?}, given up: {e:#}", event.kind),
            Err(_) => tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await,
        }
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
        let mut json = serde_json::to_vec(event)?;
        json.push(b'\n');
        // A command that does not read its input is no failure.
        match stdin.write_all(&json).await {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    }
    let status = tokio::time::timeout(ON_EVENT_TIMEOUT, child.wait())
        .await
        .with_context(|| format!("{program} ran over {} s", ON_EVENT_TIMEOUT.as_secs()))??;
    anyhow::ensure!(status.success(), "{program} failed: {status}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn a_signatory_cannot_forge_a_line_or_colour_the_screen_through_the_words_an_event_quotes() {
        let reason = "cannot confirm\n2026-12-08T00:00:00.000Z  evidence found: XX lied\u{1b}[31m\u{202e}";
        let shown = printable(reason);
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}') && !shown.contains('\u{202e}'), "{shown}");
        assert!(shown.starts_with("cannot confirm\\u{a}2026"), "{shown}");
        assert_eq!(printable("plain words, é and ü"), "plain words, é and ü");
    }
}
