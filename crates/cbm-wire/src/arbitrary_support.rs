//! Helpers for the `arbitrary` implementations used by fuzzing and property tests.

use arbitrary::Unstructured;

/// A token of `[A-Za-z0-9._-]` (plus `extra`), starting alphanumeric, 1..=max bytes.
pub(crate) fn token(u: &mut Unstructured<'_>, max: usize, extra: &[u8]) -> arbitrary::Result<String> {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let len = u.int_in_range(1..=max.min(24))?;
    let mut out = String::with_capacity(len);
    out.push(char::from(*u.choose(ALNUM)?));
    for _ in 1..len {
        let rest: Vec<u8> = ALNUM.iter().chain(b"._-").chain(extra).copied().collect();
        out.push(char::from(*u.choose(&rest)?));
    }
    Ok(out)
}
