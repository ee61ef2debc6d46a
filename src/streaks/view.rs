//! The streak objects of the API: `BaseStreakResponse` (webhooks), its event variant
//! `MetricEventStreakResponse`, and `StreakResponse` (`GET /users/{id}/streak`), with the
//! keys both SDKs require (docs/sdk-compat.md#required-keys-beyond-the-spec:
//! `streakHistory`, `pauses`, `usedPause`).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::engine::{Rules, UserStreak};
use super::settings::{frequency_name, period_kind};
use crate::config::StreakDef;
use crate::rules::local_time::local_date;
use crate::rules::periods::{period_at_index, period_containing};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BaseStreak {
    pub length: u32,
    pub frequency: &'static str,
    pub started: Option<NaiveDate>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub expires: Option<NaiveDate>,
    /// Only when freezes are enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freezes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_freezes: Option<u32>,
    /// Only when auto-earn is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze_auto_earn_interval: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze_auto_earn_amount: Option<u32>,
}

/// `MetricEventStreakResponse`: `extended` is true only when this event raised the length.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventStreak {
    #[serde(flatten)]
    pub base: BaseStreak,
    pub extended: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryItem {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The streak length at the end of the period (0 for a period that had no streak).
    pub length: u32,
    /// Only when freezes are enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_freeze: Option<bool>,
    pub used_pause: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PauseItem {
    pub id: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// `StreakResponse`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StreakResponse {
    #[serde(flatten)]
    pub base: BaseStreak,
    /// The time of the last extension (1.21.1 turned the event variant's flag into this
    /// timestamp here); null while no streak is active, like `started`.
    pub extended: Option<String>,
    pub streak_history: Vec<HistoryItem>,
    /// Deprecated in Trophy: competition rank by active length, null without a streak.
    pub rank: Option<i64>,
    pub pauses: Vec<PauseItem>,
}

/// The streak when no streak is configured: length 0, the current period filled in
/// (docs/behaviour/streaks.md#state-and-responses), in the daily frequency.
pub fn unconfigured(tz: Tz, now: DateTime<Utc>) -> BaseStreak {
    let period = period_containing(local_date(now, tz), period_kind(None));
    BaseStreak {
        length: 0,
        frequency: frequency_name(None),
        started: None,
        period_start: Some(period.start),
        period_end: Some(period.end),
        expires: None,
        freezes: None,
        max_freezes: None,
        freeze_auto_earn_interval: None,
        freeze_auto_earn_amount: None,
    }
}

/// The streak as of `now_ms` (the caller has caught it up to then).
pub fn base(rules: Rules<'_>, streak: &UserStreak, now_ms: i64) -> BaseStreak {
    let (_, period, _) = rules.period_at(now_ms, streak.tz);
    let length = streak.length();
    let state = streak.state();
    // The user must act by the end of the period due next: the next one when the current
    // period is met (or otherwise covered), else the current one. Freezes are ignored.
    let expires = if length > 0 {
        state
            .due_period()
            .and_then(|q| period_at_index(q, rules.kind))
            .map(|p| p.end)
    } else {
        None
    };
    let freezes = FreezeFields::of(rules.def, state.freezes);
    BaseStreak {
        length,
        frequency: frequency_name(Some(rules.def)),
        started: if length > 0 { state.started } else { None },
        period_start: Some(period.start),
        period_end: Some(period.end),
        expires,
        freezes: freezes.freezes,
        max_freezes: freezes.max,
        freeze_auto_earn_interval: freezes.interval,
        freeze_auto_earn_amount: freezes.amount,
    }
}

/// The optional freeze keys: present only when freezes (and auto-earn) are enabled.
struct FreezeFields {
    freezes: Option<u32>,
    max: Option<u32>,
    interval: Option<u32>,
    amount: Option<u32>,
}

impl FreezeFields {
    fn of(def: &StreakDef, freezes: u32) -> FreezeFields {
        let f = def.freezes.as_ref();
        let auto = f.and_then(|f| Some((f.auto_earn_interval_days?, f.auto_earn_amount?)));
        FreezeFields {
            freezes: f.map(|_| freezes),
            max: f.map(|f| f.max_count),
            interval: auto.map(|a| a.0),
            amount: auto.map(|a| a.1),
        }
    }
}

/// A history entry for period `index`, given how the period ended (`cover`, with the length
/// at its end) and whether it is the current period.
pub fn history_item(
    rules: Rules<'_>,
    index: i64,
    covered: Option<(crate::rules::streak::Cover, u32)>,
    current_length: Option<u32>,
) -> Option<HistoryItem> {
    use crate::rules::streak::Cover;
    let period = period_at_index(index, rules.kind)?;
    let length = match (current_length, covered) {
        (Some(l), _) => l,
        (None, Some((_, l))) => l,
        (None, None) => 0,
    };
    let cover = covered.map(|c| c.0);
    Some(HistoryItem {
        period_start: period.start,
        period_end: period.end,
        length,
        used_freeze: rules
            .def
            .freezes
            .as_ref()
            .map(|_| cover == Some(Cover::Freeze)),
        used_pause: cover == Some(Cover::Pause),
    })
}
