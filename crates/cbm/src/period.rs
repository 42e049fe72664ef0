//! A period as a person gives it: its number, or its calendar label
//! (`2026-03`, `2026-Q1`, `2026`, `2026-03-09`), which only the schedule
//! turns into a number.

use cbm_log::calendar::{period_label, period_of_label};
use cbm_wire::Schedule;
use serde::{Deserialize, Serialize};

/// A period by number or by label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum PeriodArg {
    /// The period's number.
    Number(u64),
    /// Its calendar label.
    Label(String),
}

impl std::str::FromStr for PeriodArg {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(s.parse().map_or_else(|_| Self::Label(s.to_owned()), Self::Number))
    }
}

impl PeriodArg {
    /// The number of the period of `schedule` this names.
    ///
    /// # Errors
    /// If it is a label `schedule` has no period of.
    pub(crate) fn number(&self, schedule: &Schedule) -> anyhow::Result<u64> {
        match self {
            Self::Number(period) => Ok(*period),
            Self::Label(label) => period_of_label(schedule, label).ok_or_else(|| {
                anyhow::anyhow!(
                    "{label} names no period of the {} schedule (its periods are named like {})",
                    schedule.topic,
                    period_label(schedule, 0).unwrap_or_else(|| "0".into())
                )
            }),
        }
    }

    /// Whether this names period `period` (of `schedule`, for a label).
    pub(crate) fn names(&self, schedule: Option<&Schedule>, period: u64) -> bool {
        match self {
            Self::Number(number) => *number == period,
            Self::Label(label) => schedule.and_then(|s| period_label(s, period)).as_deref() == Some(label),
        }
    }
}
