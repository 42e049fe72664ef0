//! Bundles (spec/log.md §6.2): a whole agreement's record in one file, an
//! RFC 8742 CBOR sequence of [`BundleRecord`]s, written and read one record
//! at a time so memory does not grow with the bundle.

use std::io::{self, Read, Write};

use cbm_wire::{
    BundleEnd, BundleHeader, BundleRecord, CanonicalRule, DecodeError, Digest, SignedRoster, Wire, first_item_len,
};

/// What a bundle's end record states about the records before it, built
/// record by record (spec/log.md §6.2): their number and the BLAKE3 digest
/// of their bytes.
#[derive(Debug, Default, Clone)]
pub struct EndDigest {
    records: u64,
    digest: blake3::Hasher,
}

impl EndDigest {
    /// Counts the encoded record `bytes` in.
    pub fn add(&mut self, bytes: &[u8]) {
        self.digest.update(bytes);
        self.records += 1;
    }

    /// The end record that closes the records added so far.
    pub fn end(&self) -> BundleEnd {
        BundleEnd { records: self.records, digest: Digest(*self.digest.finalize().as_bytes()) }
    }
}

/// Writes a bundle record by record, ending it with a [`BundleEnd`].
#[derive(Debug)]
pub struct BundleWriter<W: Write> {
    out: W,
    digest: EndDigest,
}

impl<W: Write> BundleWriter<W> {
    /// Starts a bundle: writes the header and the roster, which always come first.
    ///
    /// # Errors
    /// On a write failure.
    pub fn new(out: W, header: BundleHeader, roster: SignedRoster) -> io::Result<Self> {
        let mut writer = Self { out, digest: EndDigest::default() };
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
        self.digest.add(&bytes);
        Ok(())
    }

    /// Writes the end record, flushes, and returns the output.
    ///
    /// # Errors
    /// On a write failure.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&BundleRecord::End { end: self.digest.end() }.encode())?;
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
///
/// As an iterator it yields decoded records and checks nothing beyond their
/// encoding; [`BundleReader::expected_end`] says what the end record must
/// state. [`BundleReader::next_raw`] yields the records' bytes only, for a
/// caller that decodes them itself (on several cores, say).
#[derive(Debug)]
pub struct BundleReader<R: Read> {
    input: R,
    buffer: Vec<u8>,
    start: usize,
    offset: u64,
    digest: EndDigest,
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
            digest: EndDigest::default(),
            eof: false,
            failed: false,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The end record that would close the records the iterator has read
    /// so far: what a bundle's [`BundleRecord::End`] must equal when it is
    /// read next.
    pub fn expected_end(&self) -> BundleEnd {
        self.digest.end()
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

    /// The bytes of the next record and the offset where it starts, split
    /// off by its CBOR head (a well-formed, canonical item within the size
    /// limit) but not decoded; `None` at the end; after the first error, `None`.
    pub fn next_raw(&mut self) -> Option<Result<(u64, Vec<u8>), BundleError>> {
        if self.failed {
            return None;
        }
        let result = self.split().transpose();
        self.failed = matches!(result, Some(Err(_)));
        result
    }

    fn split(&mut self) -> Result<Option<(u64, Vec<u8>)>, BundleError> {
        loop {
            let available = &self.buffer[self.start..];
            if available.is_empty() && self.eof {
                return Ok(None);
            }
            match first_item_len(available, &BundleRecord::LIMITS) {
                Ok(len) => {
                    let record = (self.offset, available[..len].to_vec());
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

/// Decodes one record split off by [`BundleReader::next_raw`].
///
/// # Errors
/// [`BundleError::Record`] if it is not a valid canonical `BundleRecord`.
pub fn decode_record(offset: u64, bytes: &[u8]) -> Result<BundleRecord, BundleError> {
    BundleRecord::decode(bytes).map_err(|source| BundleError::Record { offset, source })
}

impl<R: Read> Iterator for BundleReader<R> {
    type Item = Result<BundleRecord, BundleError>;

    /// The next record; after the first error, `None`.
    fn next(&mut self) -> Option<Self::Item> {
        let (offset, bytes) = match self.next_raw()? {
            Ok(raw) => raw,
            Err(e) => return Some(Err(e)),
        };
        let record = decode_record(offset, &bytes);
        match &record {
            Ok(BundleRecord::End { .. }) => {}
            Ok(_) => self.digest.add(&bytes),
            Err(_) => self.failed = true,
        }
        Some(record)
    }
}
