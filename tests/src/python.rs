//! Python tools the tests run (zcbor, an aioquic client), each in a
//! virtual environment of its own, made on first use with every package
//! pinned (`--no-deps`: nothing floats). A test that cannot make one fails
//! loudly, saying what is missing; it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The virtual environment `name` under `dir` (the test's
/// `CARGO_TARGET_TMPDIR`), holding exactly `packages`; returns its root.
///
/// # Panics
/// If Python 3 with venv is missing or a package cannot be installed.
pub fn venv(dir: &Path, name: &str, packages: &[&str]) -> PathBuf {
    let venv = dir.join(name);
    let done = venv.join(".installed");
    if !done.exists() {
        let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "{name} needs Python 3 with venv (Debian: apt-get install python3-venv; `bash .ci/run` installs it)"
        );
        let pip = venv.join("bin").join("pip");
        let installed = Command::new(pip).args(["install", "--quiet", "--no-deps"]).args(packages).status();
        assert!(installed.is_ok_and(|s| s.success()), "installing {packages:?} into {} failed", venv.display());
        std::fs::write(&done, packages.join("\n")).expect("mark the environment made");
    }
    venv
}
