//! Unit and property tests of the wire layer.

mod commitments;
mod noncanonical;
mod roundtrip;
mod signatures;

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;

/// A proptest strategy for any `Arbitrary` type: the same generators the
/// fuzz targets use, so property tests and fuzzing explore one space.
pub(crate) fn arb<T: for<'a> Arbitrary<'a> + std::fmt::Debug>() -> impl Strategy<Value = T> {
    proptest::collection::vec(any::<u8>(), 0..4096).prop_filter_map("arbitrary ran out of bytes", |bytes| {
        T::arbitrary_take_rest(Unstructured::new(&bytes)).ok()
    })
}

/// A small CBOR writer for hand-made test inputs, canonical or not.
#[derive(Default)]
pub(crate) struct Cbor(pub(crate) Vec<u8>);

impl Cbor {
    /// A head in shortest form.
    pub(crate) fn head(mut self, major: u8, arg: u64) -> Self {
        let m = major << 5;
        match arg {
            0..=23 => self.0.push(m | arg as u8),
            24..=0xff => self.0.extend([m | 24, arg as u8]),
            0x100..=0xffff => {
                self.0.push(m | 25);
                self.0.extend((arg as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                self.0.push(m | 26);
                self.0.extend((arg as u32).to_be_bytes());
            }
            _ => {
                self.0.push(m | 27);
                self.0.extend(arg.to_be_bytes());
            }
        }
        self
    }
    pub(crate) fn uint(self, n: u64) -> Self {
        self.head(0, n)
    }
    pub(crate) fn bytes(self, b: &[u8]) -> Self {
        let mut s = self.head(2, b.len() as u64);
        s.0.extend_from_slice(b);
        s
    }
    pub(crate) fn text(self, t: &str) -> Self {
        let mut s = self.head(3, t.len() as u64);
        s.0.extend_from_slice(t.as_bytes());
        s
    }
    pub(crate) fn array(self, len: u64) -> Self {
        self.head(4, len)
    }
    pub(crate) fn map(self, len: u64) -> Self {
        self.head(5, len)
    }
    pub(crate) fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
}
