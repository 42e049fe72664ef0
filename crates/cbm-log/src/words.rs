//! Times and durations as a report says them to people: `4 days 16 h`,
//! `2026-02-08 00:00 UTC`. The exact values travel beside them (a
//! timestamp, `{"ms", "text"}` for a span).

use cbm_wire::{TimeSpan, Timestamp};

/// A span in words, to its two largest units: `4 days 16 h`, `1 day`,
/// `3 h 20 min`, `45 s`, `250 ms`, `0 s`.
pub fn span_words(span: TimeSpan) -> String {
    const UNITS: [(u64, &str, &str); 5] = [
        (86_400_000, "day", "days"),
        (3_600_000, "h", "h"),
        (60_000, "min", "min"),
        (1_000, "s", "s"),
        (1, "ms", "ms"),
    ];
    let (mut rest, mut parts) = (span.0, Vec::new());
    for (size, one, many) in UNITS {
        let count = rest / size;
        rest %= size;
        if count > 0 {
            parts.push(format!("{count} {}", if count == 1 { one } else { many }));
        } else if !parts.is_empty() {
            break;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() { "0 s".to_owned() } else { parts.join(" ") }
}

/// A time in words, to the minute: `2026-02-08 00:00 UTC`.
pub fn time_words(time: Timestamp) -> String {
    let text = time.to_string();
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(minute)) => format!("{day} {minute} UTC"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_said_to_their_two_largest_units() {
        let cases = [
            (0, "0 s"),
            (250, "250 ms"),
            (45_000, "45 s"),
            (3_600_000, "1 h"),
            (12_000_000, "3 h 20 min"),
            (86_400_000, "1 day"),
            (4 * 86_400_000 + 16 * 3_600_000 + 59_000, "4 days 16 h"),
            (2 * 86_400_000 + 60_000, "2 days"),
        ];
        for (ms, words) in cases {
            assert_eq!(span_words(TimeSpan(ms)), words, "{ms} ms");
        }
    }

    #[test]
    fn times_are_said_to_the_minute_in_utc() {
        let time: Timestamp = "2026-02-08T00:00:00Z".parse().expect("time");
        assert_eq!(time_words(time), "2026-02-08 00:00 UTC");
    }
}
