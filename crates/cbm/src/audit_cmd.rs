//! `cbm audit` of a bundle or a data directory, and `cbm fsck` of a store.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use cbm_log::audit::{AuditReport, Verdict};
use cbm_log::store::Store;
use cbm_wire::{AgreementHash, Timestamp};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{html, node_cmd, now, pin, report};

/// The exit code of an audit's verdict: 0 ok, 1 findings, 2 invalid.
fn verdict_code(verdict: Verdict) -> ExitCode {
    match verdict {
        Verdict::Ok => ExitCode::SUCCESS,
        Verdict::Findings => ExitCode::from(1),
        Verdict::Invalid => ExitCode::from(2),
    }
}

/// A progress bar over `len` bytes, drawn only on a terminal.
fn byte_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// How an audit reports.
#[derive(Debug)]
pub(crate) struct Output {
    /// JSON on standard output instead of the human view.
    pub(crate) json: bool,
    /// Also an HTML page, written to this new file.
    pub(crate) html: Option<PathBuf>,
}

/// Audits the bundle at `path` as of `at` (now if absent), pinned to
/// `expected` if given, and prints the report (and writes its page).
pub(crate) fn audit(
    path: &Path,
    output: &Output,
    expected: Option<AgreementHash>,
    at: Option<Timestamp>,
) -> Result<ExitCode> {
    if let Some(html) = &output.html {
        check_page_path(html)?;
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            anyhow::bail!("{} is not a regular file: the page reads the bundle twice", path.display());
        }
    }
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = byte_bar(len, "auditing");
    let input = std::io::BufReader::with_capacity(1 << 16, file).take(u64::MAX);
    let report =
        cbm_log::audit::audit(input, expected.as_ref(), at.unwrap_or_else(now), |bytes| bar.set_position(bytes));
    bar.finish_and_clear();
    pin::warn_if_unpinned(expected.as_ref());
    if output.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::render(&report));
    }
    if let Some(html) = &output.html {
        write_page(path, &report, html)?;
        if !output.json {
            println!("\nthe report as a page: {}", html.display());
        }
    }
    Ok(verdict_code(report.verdict))
}

/// Writes the page of `report`, the audit of the bundle at `bundle`, to
/// the new file `html`: the bundle is read once more for what the page
/// draws beyond the report (see [`html::Drawn`]).
pub(crate) fn write_page(bundle: &Path, report: &AuditReport, html: &Path) -> Result<()> {
    let file = std::fs::File::open(bundle).with_context(|| format!("opening {}", bundle.display()))?;
    let drawn = html::Drawn::read(std::io::BufReader::new(file), report)
        .with_context(|| format!("reading {} again for its page", bundle.display()))?;
    let page = html::render(report, &drawn);
    cbm_net::files::write_new(html, cbm_net::files::Readers::Anyone, |out| out.write_all(page.as_bytes()))
        .with_context(|| format!("writing {}", html.display()))
}

/// Refuses, before a long audit, a page the audit could not write: an
/// existing path (a dangling link included), or a directory that is not.
fn check_page_path(html: &Path) -> Result<()> {
    if std::fs::symlink_metadata(html).is_ok() {
        anyhow::bail!("{} exists: the report is never written over a file", html.display());
    }
    let parent = html.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        anyhow::bail!("{} is not a directory to write the report in", parent.display());
    }
    Ok(())
}

/// Checks the store at `path`: exit 0 if sound, 1 if it has problems.
pub(crate) fn fsck(path: &Path, json: bool) -> Result<ExitCode> {
    if !path.exists() {
        anyhow::bail!("{} does not exist", path.display());
    }
    let store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    let bar = ProgressBar::new_spinner();
    bar.set_message("checking entries");
    let report = store.fsck(|checked| bar.set_message(format!("checked {checked} entries")))?;
    bar.finish_and_clear();
    if json {
        let logs: Vec<_> = report
            .logs
            .iter()
            .map(|l| {
                serde_json::json!({
                    "log": l.log.to_string(), "size": l.size, "checkpoints": l.checkpoints, "problems": l.problems,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "ok": report.is_ok(), "logs": logs }))?);
    } else {
        println!("{:<66} {:>10} {:>12}  problems", "log", "entries", "checkpoints");
        for log in &report.logs {
            println!("{:<66} {:>10} {:>12}  {}", log.log.to_string(), log.size, log.checkpoints, log.problems.len());
            for problem in &log.problems {
                println!("    - {problem}");
            }
        }
        println!("{}", if report.is_ok() { "store is sound" } else { "store has problems" });
    }
    Ok(if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Audits a node's data directory: its store is read (never written, so a
/// running node is not disturbed) into a temporary bundle, which is audited.
pub(crate) fn audit_data_dir(
    dir: &Path,
    roster: &Path,
    output: &Output,
    expected: Option<AgreementHash>,
    at: Option<Timestamp>,
) -> Result<ExitCode> {
    let bundle = export_data_dir(dir, roster, true)?;
    audit(bundle.path(), output, expected, at)
}

/// Exports the store of the node data directory `dir`, read-only, under the
/// roster at `roster` into a temporary bundle (private unless `public`).
pub(crate) fn export_data_dir(dir: &Path, roster: &Path, public: bool) -> Result<tempfile::NamedTempFile> {
    let signed = node_cmd::read_roster(roster)?;
    let agreement = cbm_log::agreement::Agreement::adopt(&signed).context("the roster is not adopted")?;
    let path = dir.join("store.db");
    if !path.exists() {
        anyhow::bail!("{} holds no store (no store.db)", dir.display());
    }
    let store = Store::open_reader(&path).with_context(|| format!("opening {}", path.display()))?;
    let bundle = tempfile::NamedTempFile::new().context("creating a temporary bundle")?;
    let spinner = ProgressBar::new_spinner();
    let out = std::io::BufWriter::new(bundle.reopen()?);
    store
        .export(&agreement, signed, out, public, now(), |entries| {
            spinner.set_message(format!("read {entries} entries"))
        })
        .with_context(|| format!("reading {}", path.display()))?;
    spinner.finish_and_clear();
    Ok(bundle)
}
