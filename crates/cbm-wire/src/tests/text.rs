//! Free text cut to its limit.

use proptest::prelude::*;

use crate::Text;
use crate::limits::MAX_TEXT_BYTES;

/// The reference: drop characters from the end until the text fits.
fn reference_truncated(value: &str) -> String {
    let mut s = value.to_owned();
    while s.len() > MAX_TEXT_BYTES {
        s.pop();
    }
    s
}

#[test]
fn truncated_text_with_a_multibyte_char_straddling_the_limit_does_not_panic() {
    // 4095 ASCII bytes, then a 3-byte character across the 4096-byte limit.
    let value = format!("{}€tail", "a".repeat(MAX_TEXT_BYTES - 1));
    let text = Text::truncated(&value);
    assert_eq!(text.as_str(), "a".repeat(MAX_TEXT_BYTES - 1));
    assert!(Text::new(text.as_str()).is_ok());
}

proptest! {
    #[test]
    fn truncated_text_is_the_longest_prefix_that_fits(head in "[a-z]{4000,4100}", tail in "\\PC{0,40}") {
        let value = format!("{head}{tail}");
        let text = Text::truncated(&value);
        prop_assert_eq!(text.as_str(), reference_truncated(&value));
    }
}
