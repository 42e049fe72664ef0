//! Schedule periods (spec/log.md §5.1): when period `k` of a schedule starts,
//! and which period an instant falls in. Calendar months are counted in UTC
//! on the proleptic Gregorian calendar; fixed cadences in milliseconds.

use cbm_wire::{Cadence, Schedule, Timestamp};

const MILLIS_PER_DAY: u64 = 86_400_000;

/// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// `start` moved forward by `months` calendar months, keeping the time of
/// day; a day past the end of the target month clamps to its last day
/// (31 January + 1 month = 28 or 29 February).
fn add_months(start: Timestamp, months: u64) -> Option<Timestamp> {
    // Timestamps end before year 600 million; refusing larger steps keeps the
    // civil-date arithmetic far from overflow.
    const MAX_MONTHS: u64 = 12 * 600_000_000;
    if months > MAX_MONTHS {
        return None;
    }
    let days = i64::try_from(start.0 / MILLIS_PER_DAY).ok()?;
    let time_of_day = start.0 % MILLIS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let total = i64::from(month - 1).checked_add(i64::try_from(months).ok()?)?;
    let (year, month) = (year.checked_add(total.div_euclid(12))?, u32::try_from(total.rem_euclid(12)).ok()? + 1);
    let last_day =
        days_from_civil(if month == 12 { year + 1 } else { year }, month % 12 + 1, 1) - days_from_civil(year, month, 1);
    let day = day.min(u32::try_from(last_day).ok()?);
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    days.checked_mul(MILLIS_PER_DAY)?.checked_add(time_of_day).map(Timestamp)
}

/// When period `period` of `schedule` starts; `None` past the end of time
/// or for a zero cadence.
pub fn period_start(schedule: &Schedule, period: u64) -> Option<Timestamp> {
    match schedule.cadence {
        Cadence::Every { span } if span.0 > 0 => {
            span.0.checked_mul(period).and_then(|offset| schedule.start.0.checked_add(offset)).map(Timestamp)
        }
        Cadence::Months { months } if months > 0 => add_months(schedule.start, u64::from(months).checked_mul(period)?),
        _ => None,
    }
}

/// The period `at` falls in; `None` before the schedule starts or for a
/// zero cadence.
pub fn period_of(schedule: &Schedule, at: Timestamp) -> Option<u64> {
    if at < schedule.start {
        return None;
    }
    match schedule.cadence {
        Cadence::Every { span } if span.0 > 0 => Some((at.0 - schedule.start.0) / span.0),
        Cadence::Months { months } if months > 0 => {
            // Estimate from the average month, then correct by at most a step or two.
            let estimate = (at.0 - schedule.start.0) / (u64::from(months) * 2_629_746_000);
            let mut period = estimate.saturating_sub(1);
            while period_start(schedule, period + 1).is_some_and(|next| next <= at) {
                period += 1;
            }
            Some(period)
        }
        _ => None,
    }
}

/// When the declaration for `period` is due: the period's start plus the
/// schedule's due offset.
pub fn due_at(schedule: &Schedule, period: u64) -> Option<Timestamp> {
    period_start(schedule, period).map(|start| start.saturating_add(schedule.due_offset))
}

/// Period `period` of `schedule` as its calendar names it: a month
/// `2026-03`, a quarter `2026-Q1`, a year `2026`, a day `2026-03-09`;
/// otherwise `from` and the instant it starts.
pub fn period_label(schedule: &Schedule, period: u64) -> Option<String> {
    let start = period_start(schedule, period)?.to_string();
    let (year, month) = (start.get(..4)?, start.get(5..7)?.parse::<u32>().ok()?);
    Some(match schedule.cadence {
        Cadence::Months { months: 1 } => start.get(..7)?.to_owned(),
        Cadence::Months { months: 3 } => format!("{year}-Q{}", (month - 1) / 3 + 1),
        Cadence::Months { months: 12 } => year.to_owned(),
        Cadence::Every { span } if span.0 == 86_400_000 => start.get(..10)?.to_owned(),
        _ => format!("from {start}"),
    })
}

/// The period of `schedule` that [`period_label`] names `label`, if any.
pub fn period_of_label(schedule: &Schedule, label: &str) -> Option<u64> {
    let day = |date: String| format!("{date}T00:00:00Z").parse::<Timestamp>().ok();
    let at = match label.len() {
        4 => day(format!("{label}-01-01")),
        7 if label.as_bytes()[5] == b'Q' => {
            let quarter: u32 = label.get(6..)?.parse().ok().filter(|q| (1..=4).contains(q))?;
            day(format!("{}-{:02}-01", label.get(..4)?, (quarter - 1) * 3 + 1))
        }
        7 => day(format!("{label}-01")),
        10 => day(label.to_owned()),
        _ => None,
    }?;
    // The label is the day, month, quarter or year its period starts in:
    // the period under the label's first instant, or the one after it (a
    // schedule that starts mid-month begins each period within the month).
    let under = period_of(schedule, at).unwrap_or(0);
    [under, under + 1].into_iter().find(|p| period_label(schedule, *p).as_deref() == Some(label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbm_wire::{TimeSpan, Topic};
    use proptest::prelude::*;

    fn schedule(cadence: Cadence, start: Timestamp) -> Schedule {
        Schedule {
            topic: Topic::new("t").expect("topic"),
            cadence,
            start,
            due_offset: TimeSpan::from_days(7),
            ack_window: TimeSpan::from_hours(48),
            applies_to: None,
        }
    }

    fn date(s: &str) -> Timestamp {
        s.parse().expect("date")
    }

    #[test]
    fn calendar_round_trips_and_known_dates() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2026, 11, 26) * 86_400_000, date("2026-11-26T00:00:00Z").0 as i64);
    }

    #[test]
    fn monthly_periods_follow_the_calendar_and_clamp_month_ends() {
        let monthly = schedule(Cadence::Months { months: 1 }, date("2026-01-31T12:00:00Z"));
        assert_eq!(period_start(&monthly, 1), Some(date("2026-02-28T12:00:00Z")));
        assert_eq!(period_start(&monthly, 2), Some(date("2026-03-31T12:00:00Z")));
        assert_eq!(period_start(&monthly, 25), Some(date("2028-02-29T12:00:00Z")));
        let yearly = schedule(Cadence::Months { months: 12 }, date("2026-01-01T00:00:00Z"));
        assert_eq!(period_of(&yearly, date("2026-12-31T23:59:59.999Z")), Some(0));
        assert_eq!(period_of(&yearly, date("2027-01-01T00:00:00Z")), Some(1));
        assert_eq!(period_of(&yearly, date("2025-12-31T23:59:59.999Z")), None);
        assert_eq!(due_at(&yearly, 1), Some(date("2027-01-08T00:00:00Z")));
    }

    proptest! {
        /// A period's calendar label names that period, however the
        /// schedule's start falls within its unit.
        #[test]
        fn a_periods_label_names_it(unit in 0usize..4, offset in 0u64..86_400_000 * 27, period in 0u64..400) {
            let cadence = [
                Cadence::Months { months: 1 },
                Cadence::Months { months: 3 },
                Cadence::Months { months: 12 },
                Cadence::Every { span: TimeSpan::from_days(1) },
            ][unit];
            let start = Timestamp(date("2026-01-01T00:00:00Z").0 + offset);
            let schedule = schedule(cadence, start);
            let label = period_label(&schedule, period).expect("a label");
            prop_assert_eq!(period_of_label(&schedule, &label), Some(period), "{}", label);
        }

        #[test]
        fn every_instant_lies_in_its_period(
            months in 1u32..=24,
            span in 1u64..10_000_000_000,
            start in 0u64..4_000_000_000_000,
            offset in 0u64..3_000_000_000_000,
            monthly in any::<bool>(),
        ) {
            let cadence = if monthly { Cadence::Months { months } } else { Cadence::Every { span: TimeSpan(span) } };
            let s = schedule(cadence, Timestamp(start));
            let at = Timestamp(start + offset);
            let period = period_of(&s, at).expect("after start");
            let begins = period_start(&s, period).expect("start");
            let next = period_start(&s, period + 1).expect("next start");
            prop_assert!(begins <= at && at < next, "{at:?} not in [{begins:?}, {next:?})");
        }
    }
}
