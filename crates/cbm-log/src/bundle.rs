//! Bundles (spec/log.md §6.2): a whole agreement's record in one file, an
//! RFC 8742 CBOR sequence of [`BundleRecord`]s, written and read one record
//! at a time so memory does not grow with the bundle.

use std::io::{self, Read, Write};

use cbm_wire::{
    BundleEnd, BundleHeader, BundleRecord, CanonicalRule, DecodeError, Digest, SignedRoster, Wire, first_item_len,
};

/// Writes a bundle record by record, ending it with a [`BundleEnd`].
#[derive(Debug)]
pub struct BundleWriter<W: Write> {
    out: W,
    records: u64,
    digest: blake3::Hasher,
}

impl<W: Write> BundleWriter<W> {
    /// Starts a bundle: writes the header and the roster, which always come first.
    ///
    /// # Errors
    /// On a write failure.
    pub fn new(out: W, header: BundleHeader, roster: SignedRoster) -> io::Result<Self> {
        let mut writer = Self { out, records: 0, digest: blake3::Hasher::new() };
        writer.write(&BundleRecord::Header { header })?;
        writer.write(&BundleRecord::Roster { roster })?;
        Ok(writer)
    }

    /// Appends one record.
    ///
    /// # Errors
    /// On a write failure.
    pub fn write(&mut self, record: &BundleRecord) -> io::Result<()> {
        let bytes = record.encode();
        self.out.write_all(&bytes)?;
        self.digest.update(&bytes);
        self.records += 1;
        Ok(())
    }

    /// Writes the end record, flushes, and returns the output.
    ///
    /// # Errors
    /// On a write failure.
    pub fn finish(mut self) -> io::Result<W> {
        let end = BundleEnd { records: self.records, digest: Digest(*self.digest.finalize().as_bytes()) };
        self.out.write_all(&BundleRecord::End { end }.encode())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Reading failed.
    #[error("reading the bundle: {0}")]
    Io(#[from] io::Error),
    /// A record is not a valid canonical `BundleRecord`.
    #[error("record at byte {offset}: {source}")]
    Record {
        /// Where the record starts.
        offset: u64,
        /// Why it was rejected.
        source: DecodeError,
    },
    /// The bundle ends inside a record.
    #[error("the bundle ends inside the record at byte {offset}")]
    Truncated {
        /// Where the incomplete record starts.
        offset: u64,
    },
}

/// Reads a bundle record by record, with a buffer bounded by the record size limit.
#[derive(Debug)]
pub struct BundleReader<R: Read> {
    input: R,
    buffer: Vec<u8>,
    start: usize,
    offset: u64,
    records: u64,
    digest: blake3::Hasher,
    eof: bool,
    failed: bool,
}

const CHUNK: usize = 64 * 1024;

impl<R: Read> BundleReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> Self {
        Self {
            input,
            buffer: Vec::with_capacity(CHUNK),
            start: 0,
            offset: 0,
            records: 0,
            digest: blake3::Hasher::new(),
            eof: false,
            failed: false,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The end record that would close the records read so far: what a
    /// bundle's [`BundleRecord::End`] must equal when it is read next.
    pub fn expected_end(&self) -> BundleEnd {
        BundleEnd { records: self.records, digest: Digest(*self.digest.finalize().as_bytes()) }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        let len = self.buffer.len();
        self.buffer.resize(len + CHUNK, 0);
        let read = loop {
            match self.input.read(&mut self.buffer[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let read = read.inspect_err(|_| self.buffer.truncate(len))?;
        self.buffer.truncate(len + read);
        self.eof = read == 0;
        Ok(())
    }

    fn next_record(&mut self) -> Result<Option<BundleRecord>, BundleError> {
        loop {
            let available = &self.buffer[self.start..];
            if available.is_empty() && self.eof {
                return Ok(None);
            }
            match first_item_len(available, &BundleRecord::LIMITS) {
                Ok(len) => {
                    let record = BundleRecord::decode(&available[..len])
                        .map_err(|source| BundleError::Record { offset: self.offset, source })?;
                    if !matches!(record, BundleRecord::End { .. }) {
                        self.digest.update(&available[..len]);
                        self.records += 1;
                    }
                    self.start += len;
                    self.offset += len as u64;
                    return Ok(Some(record));
                }
                Err(e) if e.rule == CanonicalRule::Truncated && !self.eof => self.fill()?,
                Err(e) if e.rule == CanonicalRule::Truncated => {
                    return Err(BundleError::Truncated { offset: self.offset });
                }
                Err(e) => {
                    let source = DecodeError::Canonical { object: BundleRecord::NAME, source: e };
                    return Err(BundleError::Record { offset: self.offset, source });
                }
            }
        }
    }
}

impl<R: Read> Iterator for BundleReader<R> {
    type Item = Result<BundleRecord, BundleError>;

    /// The next record; after the first error, `None`.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = self.next_record().transpose();
        self.failed = matches!(result, Some(Err(_)));
        result
    }
}
