//! Key files: 32-byte Ed25519 seeds in lowercase hex, written with mode 0600
//! and never over an existing file.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use cbm_wire::SigningKey;

/// Writes `key` to `path`, which must not exist, readable by its owner only.
pub(crate) fn write_key(path: &Path, key: &SigningKey) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| match path.exists() {
        true => format!("{} already exists; refusing to overwrite a key", path.display()),
        false => format!("creating {}", path.display()),
    })?;
    writeln!(file, "{}", hex::encode(key.to_bytes()))?;
    file.sync_all()?;
    Ok(())
}
