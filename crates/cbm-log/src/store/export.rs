//! Export of a store as a bundle (spec/log.md §6.2), in the layout the spec
//! recommends, streaming entries a page at a time.

use std::io::Write;

use cbm_wire::{BUNDLE_FORMAT_VERSION, BundleHeader, BundleRecord, SignedRoster, Timestamp};

use super::{Store, StoreError};
use crate::agreement::Agreement;
use crate::bundle::BundleWriter;

/// Entries read from the store per query while exporting.
const PAGE: u64 = 1024;

/// What an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Logs written.
    pub logs: u64,
    /// Entries written.
    pub entries: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Cosignatures written.
    pub cosignatures: u64,
    /// Evidence items written.
    pub evidence: u64,
    /// Openings written (0 in a public bundle).
    pub openings: u64,
    /// Stored openings left out because they could not be read (`fsck`
    /// names them).
    pub unreadable_openings: u64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the bundle failed.
    #[error("writing the bundle: {0}")]
    Write(#[from] std::io::Error),
}

impl Store {
    /// Writes every log of `agreement` the store holds to `out` as a bundle:
    /// per log, in roster order, its entries with each checkpoint right
    /// after the last entry it covers and its cosignatures right after it;
    /// then the evidence; then, unless `public`, the openings. `progress` is
    /// called with the number of entries written so far.
    ///
    /// # Errors
    /// On a store failure (a corrupt store is reported, never exported) or a
    /// write failure.
    pub fn export<W: Write>(
        &self,
        agreement: &Agreement,
        roster: SignedRoster,
        out: W,
        public: bool,
        created_at: Timestamp,
        mut progress: impl FnMut(u64),
    ) -> Result<(W, ExportSummary), ExportError> {
        let header = BundleHeader { format_version: BUNDLE_FORMAT_VERSION, created_at, public };
        let mut writer = BundleWriter::new(out, header, roster)?;
        let mut summary = ExportSummary::default();
        let logs: Vec<_> = agreement.roster().signatories.iter().map(|s| agreement.log_of(&s.id)).collect();
        for log in &logs {
            let checkpoints = self.checkpoints(log)?;
            if checkpoints.is_empty() {
                continue;
            }
            summary.logs += 1;
            let cosignatures = self.cosignatures(log)?;
            let mut next = 0;
            for checkpoint in checkpoints {
                while next < checkpoint.body.size {
                    let page = self.entries(log, next, PAGE.min(checkpoint.body.size - next))?;
                    for entry in page {
                        writer.write(&BundleRecord::Entry { entry })?;
                        next += 1;
                        summary.entries += 1;
                    }
                    progress(summary.entries);
                }
                let body = checkpoint.body.clone();
                writer.write(&BundleRecord::Checkpoint { checkpoint })?;
                summary.checkpoints += 1;
                for cosignature in cosignatures.iter().filter(|c| c.body.checkpoint == body) {
                    writer.write(&BundleRecord::Cosignature { cosignature: cosignature.clone() })?;
                    summary.cosignatures += 1;
                }
            }
        }
        for evidence in self.evidence()? {
            writer.write(&BundleRecord::Evidence { evidence })?;
            summary.evidence += 1;
        }
        if !public {
            for log in &logs {
                let page = self.openings(log, 0, None, usize::MAX)?;
                summary.unreadable_openings += page.unreadable;
                let mut openings: Vec<_> = page.openings.into_iter().map(|(_, o)| o).collect();
                // An opening sent to several recipients is one record.
                openings.dedup();
                for opening in openings {
                    writer.write(&BundleRecord::Opening { opening })?;
                    summary.openings += 1;
                }
            }
        }
        Ok((writer.finish()?, summary))
    }
}

impl Store {
    /// A single-entry proof (spec/log.md §6.1) of entry `index` of `log`:
    /// the entry, its inclusion in the smallest stored checkpoint that
    /// covers it and that the roster's quorum has cosigned, that
    /// checkpoint's cosignatures, and the roster.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the entry is not held or no checkpoint
    /// covering it is settled yet.
    pub fn entry_proof(
        &self,
        agreement: &Agreement,
        roster: SignedRoster,
        log: &cbm_wire::LogId,
        index: u64,
    ) -> Result<cbm_wire::EntryProof, StoreError> {
        let entry = self.entry(log, index)?;
        let threshold = agreement.roster().quorum.threshold as usize;
        let cosignatures = self.cosignatures(log)?;
        for checkpoint in self.checkpoints(log)? {
            if checkpoint.body.size <= index {
                continue;
            }
            let mut quorum: Vec<_> =
                cosignatures.iter().filter(|c| c.body.checkpoint == checkpoint.body).cloned().collect();
            quorum.dedup_by(|a, b| a.body.witness == b.body.witness);
            if quorum.len() >= threshold {
                let inclusion = self.inclusion_proof(log, index, checkpoint.body.size)?;
                return Ok(cbm_wire::EntryProof { roster, entry, inclusion, checkpoint, cosignatures: quorum });
            }
        }
        Err(StoreError::NotFound(format!("a settled checkpoint covering entry {index} of log {log}")))
    }
}
