//! What the user hands the tool, checked before anything is sent or
//! created, with one sentence naming the thing when it is not what was
//! asked for: which kind of cbm file a file is, and the one syntax of a
//! network address (roster addresses and a node's `listen` alike).

use std::path::Path;

use anyhow::{Result, bail};
use cbm_wire::{BundleRecord, EntryProof, Opening, SignedEntry, SignedRoster, Wire};

/// The first bytes of every SQLite database file.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// What the file holding `bytes` is, in words: "a roster", "a bundle"…
pub(crate) fn kind_of(bytes: &[u8]) -> &'static str {
    if bytes.is_empty() {
        "empty"
    } else if bytes.starts_with(SQLITE_HEADER) {
        "a cbm store"
    } else if SignedRoster::decode(bytes).is_ok() {
        "a roster"
    } else if EntryProof::decode(bytes).is_ok() {
        "a single-entry proof"
    } else if Opening::decode(bytes).is_ok() {
        "an opening"
    } else if SignedEntry::decode(bytes).is_ok() {
        "a signed entry"
    } else if cbm_wire::first_item_len(bytes, &cbm_wire::Limits::FRAME)
        .ok()
        .and_then(|len| BundleRecord::decode(&bytes[..len]).ok())
        .is_some_and(|record| matches!(record, BundleRecord::Header { .. }))
    {
        "a bundle"
    } else {
        "no cbm file"
    }
}

/// Reads `path` as `what` (a [`Wire`] object); if it is not one, says what
/// it is instead.
///
/// # Errors
/// If the file cannot be read, or holds something else: "roster.cbm is a
/// roster, not an entry proof".
pub(crate) fn read_as<T: Wire>(path: &Path, what: &str) -> Result<T> {
    if path.is_dir() {
        bail!("{} is a directory, not {what}", path.display());
    }
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{} cannot be read: {e}", path.display()))?;
    match T::decode(&bytes) {
        Ok(value) => Ok(value),
        Err(error) => match kind_of(&bytes) {
            "empty" => bail!("{} is empty, not {what}", path.display()),
            "no cbm file" => bail!("{} is not {what}: {error}", path.display()),
            other => bail!("{} is {other}, not {what}{}", path.display(), advice(other)),
        },
    }
}

/// Refuses a bundle path that holds something else, before an audit:
/// "bundle" is what the audit reads, and an empty file or another kind of
/// file would only make it report a truncated bundle.
///
/// # Errors
/// If the file is empty or holds another kind of cbm object.
pub(crate) fn check_bundle(path: &Path) -> Result<()> {
    let mut head = vec![0u8; 64 << 10];
    let read = std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read(&mut file, &mut head))
        .map_err(|e| anyhow::anyhow!("{} cannot be read: {e}", path.display()))?;
    head.truncate(read);
    match kind_of(&head) {
        "empty" => bail!("{} is empty, not a bundle", path.display()),
        "a bundle" | "no cbm file" => Ok(()),
        // A bundle's first record is read whole from 64 KiB only if small:
        // a header always is, so anything else recognised is not a bundle.
        other => bail!("{} is {other}, not a bundle{}", path.display(), advice(other)),
    }
}

/// What to do with a file of kind `kind` instead, if anything.
fn advice(kind: &str) -> &'static str {
    match kind {
        "a cbm store" => ": use cbm fsck on it, or cbm audit DIR --roster ROSTER on its data directory",
        "a single-entry proof" => ": use cbm verify-proof on it",
        _ => "",
    }
}

/// A network address as cbm takes one, from a roster or a node's
/// configuration: `host:port`, the host a name or an IPv4 address, or an
/// IPv6 address in brackets; the port 1–65535.
///
/// # Errors
/// One sentence naming the text and showing the three forms.
pub(crate) fn check_address(text: &str) -> Result<()> {
    let refuse = || {
        anyhow::anyhow!(
            "{text} is not an address: write host:port, as 192.0.2.1:7400, [2001:db8::1]:7400 or node.example.org:7400"
        )
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(refuse)?;
    let port: u16 = port.parse().map_err(|_| refuse())?;
    if port == 0 {
        return Err(refuse());
    }
    let valid_host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && !host.contains(':')
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                })
        }
    };
    if valid_host { Ok(()) } else { Err(refuse()) }
}

/// [`check_address`] as clap's parser of an `--address` argument.
///
/// # Errors
/// As [`check_address`], or an address the roster cannot hold.
pub(crate) fn parse_address(text: &str) -> std::result::Result<cbm_wire::Address, String> {
    check_address(text).map_err(|e| e.to_string())?;
    cbm_wire::Address::new(text).map_err(|e| format!("{text}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::check_address;

    #[test]
    fn an_address_is_host_and_port_in_one_of_three_forms() {
        for good in ["192.0.2.1:7400", "[2001:db8::1]:7400", "node.example.org:7400", "localhost:1"] {
            assert!(check_address(good).is_ok(), "{good}");
        }
        for bad in
            ["nonsense", "1.2.3.4:99999", "1.2.3.4:0", ":7400", "2001:db8::1:7400", "[::1:7400", "a..b:1", "-a:1"]
        {
            let error = check_address(bad).expect_err(bad).to_string();
            assert!(error.starts_with(&format!("{bad} is not an address: write host:port")), "{error}");
        }
    }
}
