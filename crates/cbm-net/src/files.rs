//! Output files written whole or not at all, and never over another file:
//! a bundle, a proof or an opening appears at its path only once it is
//! complete and durable, and a file already there is an error, not lost.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Who may read a file written by [`write_new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readers {
    /// Its owner only (0600): it holds openings of committed fields, or
    /// anything else not meant for everyone on the machine.
    Owner,
    /// Anyone the directory lets in (0644): a public bundle.
    Anyone,
}

/// Writes a new file at `path`: `write` fills a sibling `PATH.partial`
/// (created exclusively, so no symlink there is followed, with the mode
/// `readers` asks for), which is synced and then linked into place. The
/// link fails if `path` exists, so no file is overwritten; the partial file
/// is removed either way.
///
/// # Errors
/// [`std::io::ErrorKind::AlreadyExists`] if `path` exists; any error of
/// creating, writing or syncing the file.
pub fn write_new(
    path: &Path,
    readers: Readers,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if path.exists() {
        return Err(already_exists(path));
    }
    let partial = partial_of(path);
    // A partial file left by a crash is ours to replace; a symlink planted
    // there is removed, not followed.
    match std::fs::remove_file(&partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(
        &mut options,
        match readers {
            Readers::Owner => 0o600,
            Readers::Anyone => 0o644,
        },
    );
    let written = options.open(&partial).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        write(&mut out)?;
        out.flush()?;
        out.into_inner().map_err(std::io::IntoInnerError::into_error)?.sync_all()?;
        std::fs::hard_link(&partial, path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => already_exists(path),
            _ => e,
        })
    });
    let _ = std::fs::remove_file(&partial);
    written
}

fn partial_of(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

fn already_exists(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{} already exists; it was not overwritten (choose another path or remove it)", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_file_never_overwrites_another_and_is_private_when_asked() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("out.cbor");
        write_new(&path, Readers::Owner, |out| out.write_all(b"first"))?;
        let again = write_new(&path, Readers::Owner, |out| out.write_all(b"second"));
        assert_eq!(again.map_err(|e| e.kind()), Err(std::io::ErrorKind::AlreadyExists));
        assert_eq!(std::fs::read(&path)?, b"first");
        assert!(!partial_of(&path).exists(), "no partial file is left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)?.permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_at_the_partial_path_is_not_followed() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("victim");
        std::fs::write(&target, b"keep")?;
        let path = dir.path().join("out.cbor");
        std::os::unix::fs::symlink(&target, partial_of(&path))?;
        write_new(&path, Readers::Owner, |out| out.write_all(b"bundle"))?;
        assert_eq!(std::fs::read(&target)?, b"keep");
        assert_eq!(std::fs::read(&path)?, b"bundle");
        Ok(())
    }
}
