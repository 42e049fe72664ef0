//! The agreement a verifier expects. A bundle or a proof carries its own
//! roster, and anyone can adopt a roster of their own with the agreement's
//! name and ids; only an agreement hash obtained through a trusted channel
//! — given as `--agreement-hash` or as a trusted `--roster` file — pins the
//! result to the agreement the verifier means (spec/README.md, Assumptions).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use cbm_log::agreement::Agreement;
use cbm_wire::AgreementHash;

use crate::node_cmd::read_roster;

/// What an unpinned result shows, in words.
pub(crate) const UNPINNED: &str = "unpinned: no expected agreement was given, so this shows only that some roster, \
                                   adopted by its own keys, says so; pin the agreement you expect with \
                                   --agreement-hash HEX or --roster FILE";

/// The expected agreement, as the command line gives it.
#[derive(Debug, clap::Args)]
pub(crate) struct PinArgs {
    /// The agreement hash you expect (64 hex digits), obtained through a
    /// channel you trust: a proof or bundle of any other roster is invalid.
    #[arg(long, value_name = "HEX")]
    pub(crate) agreement_hash: Option<AgreementHash>,
    /// A roster file you trust: its agreement hash is the one expected.
    #[arg(long, value_name = "FILE")]
    pub(crate) roster: Option<PathBuf>,
}

impl PinArgs {
    /// The agreement hash expected, if one was given. A `--roster` must be
    /// adopted, and must agree with `--agreement-hash` if both are given.
    ///
    /// # Errors
    /// If the roster cannot be read or is not adopted, or the two disagree.
    pub(crate) fn expected(&self) -> Result<Option<AgreementHash>> {
        let Some(path) = &self.roster else { return Ok(self.agreement_hash) };
        let signed = read_roster(path)?;
        let hash =
            *Agreement::adopt(&signed).with_context(|| format!("the roster {} is not adopted", path.display()))?.hash();
        match self.agreement_hash {
            Some(given) if given != hash => {
                bail!("--agreement-hash {given} is not the agreement hash of {} ({hash})", path.display())
            }
            _ => Ok(Some(hash)),
        }
    }
}

/// Says on stderr that a result is unpinned, when it is.
pub(crate) fn warn_if_unpinned(expected: Option<&AgreementHash>) {
    if expected.is_none() {
        eprintln!("note: {UNPINNED}");
    }
}

/// The agreement line of a human report: the hash checked, and whether it
/// was the one expected.
pub(crate) fn agreement_line(hash: &AgreementHash, expected: Option<&AgreementHash>) -> String {
    let how = match expected {
        None => "UNPINNED".to_owned(),
        Some(expected) if expected == hash => "pinned: the agreement expected".to_owned(),
        Some(expected) => format!("NOT the agreement expected, {expected}"),
    };
    format!("agreement hash {hash} ({how})")
}

/// How an audit report stands to its pin, in words: an audit given the
/// agreement to expect accepts only a roster with that hash (it then
/// reads the roster's agreement), so a pinned report without an agreement
/// is one whose roster was refused.
pub(crate) fn report_pin(report: &cbm_log::audit::AuditReport) -> &'static str {
    match (report.pinned, report.agreement.is_some()) {
        (false, _) => "UNPINNED: this shows only that some roster, adopted by its own keys, says so",
        (true, true) => "pinned: this is the agreement the auditor expected",
        (true, false) => {
            "pinned, and the bundle's roster was refused: not the agreement expected, or not adopted (see why below)"
        }
    }
}
