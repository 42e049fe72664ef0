//! The canonical-form scanner: one pass over raw bytes that accepts exactly the
//! cbm CBOR profile (spec/wire.md §2) and rejects everything else with a
//! [`CanonicalError`] naming the rule that was broken and the byte offset.
//!
//! It runs before any value is built, so every length it accepts is already
//! known to fit in the input and under the [`Limits`]: the decoder that follows
//! can never be driven into a large allocation by a forged length.

use crate::error::{CanonicalError, CanonicalRule};
use crate::limits::Limits;

/// CBOR major types (RFC 8949 §3.1).
mod major {
    pub(super) const UNSIGNED: u8 = 0;
    pub(super) const NEGATIVE: u8 = 1;
    pub(super) const BYTES: u8 = 2;
    pub(super) const TEXT: u8 = 3;
    pub(super) const ARRAY: u8 = 4;
    pub(super) const MAP: u8 = 5;
    pub(super) const TAG: u8 = 6;
    pub(super) const SIMPLE: u8 = 7;
}

/// The only simple values in the profile: `false` and `true`.
const SIMPLE_FALSE: u64 = 20;
const SIMPLE_TRUE: u64 = 21;

/// Checks that `input` is exactly one data item in the cbm canonical profile.
///
/// # Errors
/// The first violation found, in input order.
pub(crate) fn check(input: &[u8], limits: &Limits) -> Result<(), CanonicalError> {
    if input.len() > limits.max_bytes {
        return Err(CanonicalError::new(
            0,
            CanonicalRule::TooLarge { len: input.len() as u64, limit: limits.max_bytes as u64 },
        ));
    }
    let mut scanner = Scanner { input, pos: 0, limits };
    scanner.item(1)?;
    if scanner.pos != input.len() {
        return Err(CanonicalError::new(scanner.pos, CanonicalRule::TrailingBytes));
    }
    Ok(())
}

/// The length of the first data item of `input`, which may be followed by
/// more bytes (a CBOR sequence, RFC 8742). The item must be canonical and
/// within `limits`; [`CanonicalRule::Truncated`] means more input is needed.
pub(crate) fn first_item_len(input: &[u8], limits: &Limits) -> Result<usize, CanonicalError> {
    let window = &input[..input.len().min(limits.max_bytes)];
    let mut scanner = Scanner { input: window, pos: 0, limits };
    match scanner.item(1) {
        Err(e) if e.rule == CanonicalRule::Truncated && window.len() == limits.max_bytes => Err(CanonicalError::new(
            0,
            CanonicalRule::TooLarge { len: input.len() as u64, limit: limits.max_bytes as u64 },
        )),
        Err(e) => Err(e),
        Ok(()) => Ok(scanner.pos),
    }
}

/// The bytes of the value under unsigned key `key` in the map that
/// `input` starts with, or `None` if `input` does not start with a map
/// within `limits`, or the map has no such key.
pub(crate) fn map_member<'a>(input: &'a [u8], key: u64, limits: &Limits) -> Option<&'a [u8]> {
    let mut scanner = Scanner { input, pos: 0, limits };
    let head = scanner.head().ok()?;
    if head.major != major::MAP {
        return None;
    }
    for _ in 0..scanner.length(&head, limits.max_collection_len).ok()? {
        let member = scanner.head().ok()?;
        let start = scanner.pos;
        scanner.item(2).ok()?;
        if member.major == major::UNSIGNED && member.arg == key {
            return input.get(start..scanner.pos);
        }
    }
    None
}

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

/// One decoded head: major type, argument, and where the head started.
struct Head {
    major: u8,
    arg: u64,
    at: usize,
}

impl Scanner<'_> {
    #[cold]
    fn fail<T>(&self, at: usize, rule: CanonicalRule) -> Result<T, CanonicalError> {
        Err(CanonicalError::new(at, rule))
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&[u8], CanonicalError> {
        match self.input.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => self.fail(self.input.len(), CanonicalRule::Truncated),
        }
    }

    /// Reads a head and enforces the shortest-form rule (RFC 8949 §4.2.1).
    #[inline]
    fn head(&mut self) -> Result<Head, CanonicalError> {
        let at = self.pos;
        let Some(&initial) = self.input.get(at) else {
            return self.fail(self.input.len(), CanonicalRule::Truncated);
        };
        self.pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        if info < 24 {
            // The common case: the argument is in the initial byte, always minimal.
            return Ok(Head { major, arg: u64::from(info), at });
        }
        let (arg, minimum) = match info {
            24 => (u64::from(self.take(1)?[0]), 24),
            25 => (u64::from(u16::from_be_bytes(self.fixed()?)), 0x100),
            26 => (u64::from(u32::from_be_bytes(self.fixed()?)), 0x1_0000),
            27 => (u64::from_be_bytes(self.fixed()?), 0x1_0000_0000),
            31 => return self.fail(at, CanonicalRule::IndefiniteLength),
            _ => return self.fail(at, CanonicalRule::ReservedAdditionalInfo),
        };
        // Major type 7 with info 25..27 is a float, rejected below; do not
        // mistake a float for a non-minimal head.
        if major != major::SIMPLE && arg < minimum {
            return self.fail(at, CanonicalRule::NonMinimalHead);
        }
        Ok(Head { major, arg, at })
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], CanonicalError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Converts a length argument, rejecting it when it cannot fit in what is
    /// left of the input (each element or byte needs at least one byte).
    fn length(&self, head: &Head, limit: usize) -> Result<usize, CanonicalError> {
        let remaining = (self.input.len() - self.pos) as u64;
        if head.arg > limit as u64 {
            return self.fail(head.at, CanonicalRule::LengthOverLimit { len: head.arg, limit: limit as u64 });
        }
        if head.arg > remaining {
            return self.fail(self.input.len(), CanonicalRule::Truncated);
        }
        Ok(head.arg as usize)
    }

    fn item(&mut self, depth: usize) -> Result<(), CanonicalError> {
        if depth > self.limits.max_depth {
            return self.fail(self.pos, CanonicalRule::TooDeep { limit: self.limits.max_depth as u64 });
        }
        let head = self.head()?;
        match head.major {
            major::UNSIGNED | major::NEGATIVE => Ok(()),
            major::BYTES => {
                let len = self.length(&head, self.limits.max_string_len)?;
                self.take(len).map(drop)
            }
            major::TEXT => {
                let len = self.length(&head, self.limits.max_string_len)?;
                let start = self.pos;
                let text = self.take(len)?;
                match std::str::from_utf8(text) {
                    Ok(_) => Ok(()),
                    Err(e) => self.fail(start + e.valid_up_to(), CanonicalRule::InvalidUtf8),
                }
            }
            major::ARRAY => {
                let len = self.length(&head, self.limits.max_collection_len)?;
                (0..len).try_for_each(|_| self.item(depth + 1))
            }
            major::MAP => {
                let len = self.length(&head, self.limits.max_collection_len)?;
                self.map_body(len, depth)
            }
            major::TAG => self.fail(head.at, CanonicalRule::Tag),
            _ => match head.arg {
                // info 25..27 in major type 7: half, single, double floats.
                _ if (25..=27).contains(&(self.input[head.at] & 0x1f)) => self.fail(head.at, CanonicalRule::Float),
                // Only the one-byte forms 0xf4 and 0xf5: RFC 8949 makes the
                // two-byte form of simple values below 32 not well-formed.
                SIMPLE_FALSE | SIMPLE_TRUE if self.pos == head.at + 1 => Ok(()),
                value => self.fail(head.at, CanonicalRule::SimpleValue { value }),
            },
        }
    }

    /// Map keys must be unsigned integers in strictly increasing order. For
    /// shortest-form unsigned integers, numeric order is the bytewise order of
    /// their encodings that RFC 8949 §4.2.1 requires, so "strictly increasing"
    /// rules out both unsorted and duplicate keys.
    fn map_body(&mut self, len: usize, depth: usize) -> Result<(), CanonicalError> {
        let mut previous: Option<u64> = None;
        for _ in 0..len {
            let key = self.head()?;
            if key.major != major::UNSIGNED {
                return self.fail(key.at, CanonicalRule::MapKeyNotUnsigned);
            }
            match previous {
                Some(prev) if key.arg == prev => {
                    return self.fail(key.at, CanonicalRule::DuplicateKey { key: key.arg });
                }
                Some(prev) if key.arg < prev => {
                    return self.fail(key.at, CanonicalRule::UnsortedKeys { key: key.arg, after: prev });
                }
                _ => previous = Some(key.arg),
            }
            self.item(depth + 1)?;
        }
        Ok(())
    }
}
