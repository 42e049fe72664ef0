//! What a running node hands out on request: `cbm export` (a bundle),
//! `cbm prove` (a single-entry proof) and `cbm reveal` (an opening).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::EntryAt;
use crate::{admin, ask_node};

/// Has the node write its bundle to `out` (public unless `with_openings`),
/// never over an existing file, and says what it holds.
pub(crate) fn export(data_dir: &Path, out: &Path, with_openings: bool, json: bool) -> Result<ExitCode> {
    let out = std::path::absolute(out)?;
    if out.exists() {
        anyhow::bail!("{} already exists; it was not overwritten", out.display());
    }
    let request = admin::AdminRequest::Export { path: out.clone(), public: !with_openings };
    match ask_node(data_dir, &request, "exporting")? {
        admin::AdminResponse::Exported {
            entries,
            checkpoints,
            cosignatures,
            evidence,
            openings,
            unreadable_openings,
        } => {
            let kind = if with_openings { "private bundle, readable by you only" } else { "public bundle" };
            if json {
                let written = serde_json::json!({
                    "path": out, "public": !with_openings, "entries": entries, "checkpoints": checkpoints,
                    "cosignatures": cosignatures, "evidence": evidence, "openings": openings,
                    "unreadable_openings": unreadable_openings,
                });
                println!("{}", serde_json::to_string_pretty(&written)?);
            } else {
                println!(
                    "wrote {} ({kind}): {entries} entries, {checkpoints} checkpoints, {cosignatures} \
                     cosignatures, {evidence} evidence, {openings} openings",
                    out.display()
                );
            }
            if unreadable_openings > 0 {
                eprintln!(
                    "warning: {unreadable_openings} stored openings could not be read and were left out \
                     (run cbm fsck on the store)"
                );
            }
        }
        other => anyhow::bail!("unexpected answer: {other:?}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Has the node write the single-entry proof of `entry` to `out`.
pub(crate) fn prove(entry: EntryAt, out: &Path, json: bool) -> Result<ExitCode> {
    let path = std::path::absolute(out)?;
    let (signatory, index) = (entry.signatory.to_string(), entry.index);
    let request = admin::AdminRequest::Prove { signatory: entry.signatory, index: entry.index, path: path.clone() };
    ask_node(&entry.data_dir, &request, "proving")?;
    if json {
        let written = serde_json::json!({ "path": path, "signatory": signatory, "index": index });
        println!("{}", serde_json::to_string_pretty(&written)?);
    } else {
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Has the node write the opening of field `field` of `entry` to `out`,
/// and prints the value it opens to.
pub(crate) fn reveal(entry: EntryAt, field: u32, out: &Path, json: bool) -> Result<ExitCode> {
    let path = std::path::absolute(out)?;
    let request = admin::AdminRequest::Reveal { signatory: entry.signatory, index: entry.index, field, path };
    match ask_node(&entry.data_dir, &request, "revealing")? {
        admin::AdminResponse::Revealed { path, label, value } => {
            if json {
                let written = serde_json::json!({ "path": path, "field": field, "label": label, "value": value });
                println!("{}", serde_json::to_string_pretty(&written)?);
            } else {
                println!("{label} = {value}");
                println!("wrote {}", path.display());
            }
        }
        other => anyhow::bail!("unexpected answer: {other:?}"),
    }
    Ok(ExitCode::SUCCESS)
}
