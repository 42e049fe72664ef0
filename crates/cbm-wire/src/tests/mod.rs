//! Unit and property tests of the wire layer.

mod commitments;
mod roundtrip;
mod signatures;
mod text;

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;

/// A proptest strategy for any `Arbitrary` type: the same generators the
/// fuzz targets use, so property tests and fuzzing explore one space.
pub(crate) fn arb<T: for<'a> Arbitrary<'a> + std::fmt::Debug>() -> impl Strategy<Value = T> {
    proptest::collection::vec(any::<u8>(), 0..4096)
        .prop_filter_map("arbitrary ran out of bytes", |bytes| T::arbitrary_take_rest(Unstructured::new(&bytes)).ok())
}
