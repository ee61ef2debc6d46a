//! The streak object every event response carries (`MetricEventStreakResponse`).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::{Frequency, StreakDef, WeekStart};
use crate::rules::local_time::local_date;
use crate::rules::periods::{self, PeriodKind};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StreakView {
    pub length: u32,
    pub frequency: &'static str,
    pub started: Option<NaiveDate>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub expires: Option<NaiveDate>,
    pub extended: bool,
}

pub fn period_kind(streak: Option<&StreakDef>) -> PeriodKind {
    match streak.map(|s| (s.frequency, s.week_start)) {
        Some((Frequency::Weekly, WeekStart::Monday)) => {
            PeriodKind::Weekly(periods::WeekStart::Monday)
        }
        Some((Frequency::Weekly, WeekStart::Sunday)) => {
            PeriodKind::Weekly(periods::WeekStart::Sunday)
        }
        Some((Frequency::Monthly, _)) => PeriodKind::Monthly,
        Some((Frequency::Daily, _)) | None => PeriodKind::Daily,
    }
}

fn frequency_name(streak: Option<&StreakDef>) -> &'static str {
    match streak.map(|s| s.frequency) {
        Some(Frequency::Weekly) => "weekly",
        Some(Frequency::Monthly) => "monthly",
        Some(Frequency::Daily) | None => "daily",
    }
}

/// A user with no streak: length 0, the current period filled in (behaviour.md §4.3).
pub fn zero_state(streak: Option<&StreakDef>, tz: Tz, now: DateTime<Utc>) -> StreakView {
    let period = periods::period_containing(local_date(now, tz), period_kind(streak));
    StreakView {
        length: 0,
        frequency: frequency_name(streak),
        started: None,
        period_start: Some(period.start),
        period_end: Some(period.end),
        expires: None,
        extended: false,
    }
}
