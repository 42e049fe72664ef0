//! Key files: 32-byte Ed25519 seeds in lowercase hex, written with mode 0600
//! and never over an existing file; refused on read if others can read them.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
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

/// Reads a key written by [`write_key`], refusing a file others can read.
pub(crate) fn read_key(path: &Path) -> Result<SigningKey> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by others (mode {:o}); run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not a hex key", path.display()))?;
    let seed: [u8; 32] =
        bytes.try_into().map_err(|_| anyhow::anyhow!("{} does not hold a 32-byte key", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}
