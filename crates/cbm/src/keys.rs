//! Key files: 32-byte Ed25519 seeds in lowercase hex, written with mode 0600
//! and never over an existing file, refused on read if others can read
//! them; and public key files, one self-describing line each, the ones a
//! state hands to the others.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use cbm_wire::{PublicKey, SignatoryId, SigningKey};

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
    if path.is_dir() {
        bail!(
            "{} is a directory, not a key file (keygen writes ID.signing.key and ID.transport.key in it)",
            path.display()
        );
    }
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

/// Which of a signatory's two keys a public key file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyRole {
    /// The key that signs entries, checkpoints, cosignatures and adoptions.
    Signing,
    /// The key that authenticates the node's connections.
    Transport,
}

impl KeyRole {
    fn word(self) -> &'static str {
        match self {
            Self::Signing => "signing-key",
            Self::Transport => "transport-key",
        }
    }

    /// The file names `cbm keygen` writes for `id`: secret, public.
    pub(crate) fn file_names(self, id: &SignatoryId) -> (String, String) {
        let role = match self {
            Self::Signing => "signing",
            Self::Transport => "transport",
        };
        (format!("{id}.{role}.key"), format!("{id}.{role}.pub"))
    }
}

/// The one line of a public key file: `cbm/1 signing-key AR <hex>`. It
/// says what it is, so a file handed from one state to another is not
/// mistaken for another key or another state's.
pub(crate) fn public_line(role: KeyRole, id: &SignatoryId, key: &PublicKey) -> String {
    format!("cbm/1 {} {id} {key}", role.word())
}

/// The public key line for the secret key file `path` holding `key`: a
/// public key file's line when the name says whose key it is and which
/// (`AR.signing.key`), otherwise the key in hex.
pub(crate) fn named_public_line(path: &Path, key: &PublicKey) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let named = |suffix: &str, role: KeyRole| {
        name.strip_suffix(suffix).and_then(|id| id.parse::<SignatoryId>().ok()).map(|id| public_line(role, &id, key))
    };
    named(".signing.key", KeyRole::Signing)
        .or_else(|| named(".transport.key", KeyRole::Transport))
        .unwrap_or_else(|| key.to_string())
}

/// Writes the public key file `path` for `id`'s `role` key, readable by
/// anyone, never over an existing file.
pub(crate) fn write_public(path: &Path, role: KeyRole, id: &SignatoryId, key: &PublicKey) -> Result<()> {
    let line = public_line(role, id, key) + "\n";
    cbm_net::files::write_new(path, cbm_net::files::Readers::Anyone, |out| out.write_all(line.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// `id`'s `role` public key from `given`: 64 hex digits, or the path of a
/// public key file naming that role and signatory.
pub(crate) fn read_public(given: &str, role: KeyRole, id: &SignatoryId) -> Result<PublicKey> {
    if let Ok(key) = given.parse::<PublicKey>() {
        return Ok(key);
    }
    let path = Path::new(given);
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{given} is neither a public key (64 hex digits) nor a readable public key file"))?;
    parse_public(&text, role, id).with_context(|| format!("reading {}", path.display()))
}

fn parse_public(text: &str, role: KeyRole, id: &SignatoryId) -> Result<PublicKey> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [version, word, who, key] = words[..] else {
        bail!("not a cbm public key file (expected one line: cbm/1 {} {id} HEX)", role.word());
    };
    if version != "cbm/1" {
        bail!("a public key file of {version}, not cbm/1");
    }
    if word != role.word() {
        bail!("it holds a {word}, not a {}", role.word());
    }
    if who != id.as_str() {
        bail!("it holds {who}'s key, not {id}'s");
    }
    key.parse().map_err(|e| anyhow::anyhow!("its key: {e}"))
}
