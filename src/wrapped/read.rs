//! Builds the `WrappedResponse` of one user and year from the aggregates
//! (docs/behaviour/wrapped.md). Everything is in the user's time zone; the user's own
//! figures come from their day rows, the percentiles from one index range count per slice
//! and period.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::leaderboards::best_ranks;
use super::rules::{self, date_of, day_number, monday_of, month_key, week_key, year_key};
use super::store::{self, DayRow};
use super::streak::longest_streak;
use crate::catalog::Catalog;
use crate::domain::ids::DefinitionId;
use crate::domain::number::json_number;
use crate::domain::user::User;
use crate::error::ApiError;
use crate::rules::local_time::{end_of_local_day, start_of_local_day};
use crate::store::definitions::{self, Kind, Status};
use crate::streaks::StreakSettings;

/// What a source (metric or points system) is called, from its definition.
struct Source {
    is_metric: bool,
    key: String,
    name: String,
    /// Units for a metric, description for a points system.
    detail: Value,
    archived: bool,
}

fn source(conn: &Connection, id: DefinitionId) -> Result<Option<Source>, ApiError> {
    let Some(row) = definitions::by_id(conn, id)? else {
        return Ok(None);
    };
    let is_metric = match row.kind {
        Kind::Metric => true,
        Kind::PointsSystem => false,
        _ => return Ok(None),
    };
    let detail = row
        .body
        .get(if is_metric { "units" } else { "description" })
        .cloned()
        .unwrap_or(Value::Null);
    Ok(Some(Source {
        is_metric,
        name: row
            .body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&row.key)
            .to_owned(),
        key: row.key,
        detail,
        archived: row.status == Status::Archived,
    }))
}

/// A slice's days, in order: `(day, events, amount)`.
type Days = Vec<(i64, i64, f64)>;

/// A period of local dates (both ends inclusive) and its distribution key (none for days).
struct Period {
    first: i64,
    last: i64,
    key: Option<String>,
}

struct Figures {
    total: f64,
    change: f64,
}

/// The slice's total at the end of local day `last`.
fn total_through(days: &Days, last: i64) -> f64 {
    days.iter()
        .take_while(|(day, _, _)| *day <= last)
        .map(|(_, _, amount)| amount)
        .sum()
}

/// The slice's change within `period` and total at its end; `None` without an event in it.
fn figures(days: &Days, period: &Period) -> Option<Figures> {
    let mut total = 0.0;
    let mut change = 0.0;
    let mut active = false;
    for (day, events, amount) in days {
        if *day > period.last {
            break;
        }
        total += amount;
        if *day >= period.first {
            change += amount;
            active |= *events > 0;
        }
    }
    active.then_some(Figures { total, change })
}

struct Reader<'a> {
    conn: &'a Connection,
    user: &'a User,
    catalog: &'a Catalog,
    tz: Tz,
    /// The clock's UTC date, for the leaderboards' status (as the leaderboard reads say it).
    today: NaiveDate,
    /// `None` for ids that are no metric or points system (looked up once).
    sources: BTreeMap<DefinitionId, Option<Source>>,
    /// (source, attr key, attr value) → days.
    slices: BTreeMap<(DefinitionId, String, String), Days>,
    achievements: Achievements<'a>,
}

/// The user's achievements completed from one time to another (ms, end excluded), as the
/// review lists them. The achievements feature answers it (`achievements::view::
/// completed_between`); the caller passes it in, since that feature awards points and
/// points count towards the review.
pub type Achievements<'a> = &'a dyn Fn(i64, i64) -> Result<Vec<Value>, ApiError>;

impl Reader<'_> {
    fn entry(
        &self,
        period: &Period,
        source_id: DefinitionId,
        slice: (&str, &str),
        days: &Days,
        name: &str,
        detail: (&str, &Value),
    ) -> Result<Option<Map<String, Value>>, ApiError> {
        let Some(f) = figures(days, period) else {
            return Ok(None);
        };
        let mut out = Map::new();
        out.insert("name".into(), json!(name));
        out.insert(detail.0.into(), detail.1.clone());
        out.insert("currentTotal".into(), json_number(f.total));
        out.insert("changeThisPeriod".into(), json_number(f.change));
        out.insert(
            "percentChange".into(),
            json_number(rules::percent_change(f.total, f.change)),
        );
        if let Some(key) = &period.key {
            let rank = store::rank(
                self.conn,
                self.user.tenant_id,
                self.user.row_id,
                source_id,
                slice,
                key,
            )?;
            if let Some((at_or_below, users)) = rank {
                out.insert(
                    "percentileThisPeriod".into(),
                    json!(rules::percentile(at_or_below, users)),
                );
            }
        }
        Ok(Some(out))
    }

    fn period(&self, period: &Period) -> Result<Map<String, Value>, ApiError> {
        let mut metrics = Map::new();
        let mut points = Map::new();
        for ((source_id, attr_key, attr_value), days) in &self.slices {
            if !attr_key.is_empty() {
                continue;
            }
            let known = self.sources.get(source_id).and_then(Option::as_ref);
            let Some(source) = known.filter(|s| !s.archived) else {
                continue;
            };
            let detail_name = if source.is_metric {
                "units"
            } else {
                "description"
            };
            let detail = (detail_name, &source.detail);
            let Some(mut entry) = self.entry(
                period,
                *source_id,
                (attr_key, attr_value),
                days,
                &source.name,
                detail,
            )?
            else {
                continue;
            };
            if source.is_metric {
                let mut by_attribute = Map::new();
                let attrs = self
                    .slices
                    .range((*source_id, String::new(), String::new())..)
                    .take_while(|((id, _, _), _)| id == source_id)
                    .filter(|((_, k, _), _)| !k.is_empty());
                for ((_, k, v), attr_days) in attrs {
                    if let Some(e) =
                        self.entry(period, *source_id, (k, v), attr_days, &source.name, detail)?
                    {
                        let values = by_attribute
                            .entry(k.clone())
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Some(values) = values.as_object_mut() {
                            values.insert(v.clone(), Value::Object(e));
                        }
                    }
                }
                entry.insert("byAttribute".into(), Value::Object(by_attribute));
                metrics.insert(source.key.clone(), Value::Object(entry));
            } else {
                points.insert(source.key.clone(), Value::Object(entry));
            }
        }
        // Every active metric has an entry (docs/behaviour/wrapped.md#period-contents), so
        // a client can show "0 this week" without knowing the metric list; a quiet one has
        // no percentile, since that ranks the users who were active in the period.
        for metric in self.catalog.metrics_for(self.user.tenant_id) {
            if metrics.contains_key(&metric.key) {
                continue;
            }
            let total = self
                .slices
                .get(&(metric.id, String::new(), String::new()))
                .map_or(0.0, |days| total_through(days, period.last));
            metrics.insert(
                metric.key.clone(),
                json!({
                    "name": metric.name,
                    "units": metric.units,
                    "currentTotal": json_number(total),
                    "changeThisPeriod": 0,
                    "percentChange": 0,
                    "byAttribute": {},
                }),
            );
        }
        let (from_ms, to_ms) = self.bounds(period)?;
        let mut out = Map::new();
        out.insert("metrics".into(), Value::Object(metrics));
        out.insert("points".into(), Value::Object(points));
        out.insert(
            "achievements".into(),
            Value::Array((self.achievements)(from_ms, to_ms)?),
        );
        out.insert(
            "leaderboards".into(),
            Value::Object(best_ranks(
                self.conn,
                self.catalog,
                self.user,
                self.today,
                from_ms,
                to_ms,
            )?),
        );
        Ok(out)
    }

    /// The UTC milliseconds `[from, to)` of the period's local dates.
    fn bounds(&self, period: &Period) -> Result<(i64, i64), ApiError> {
        let start = date_of(period.first).and_then(|d| start_of_local_day(d, self.tz));
        let end = date_of(period.last).and_then(|d| end_of_local_day(d, self.tz));
        match (start, end) {
            (Some(s), Some(e)) => Ok((s.timestamp_millis(), e.timestamp_millis())),
            _ => Err(ApiError::unprocessable("year is out of range")),
        }
    }
}

fn with(mut period: Map<String, Value>, extra: &[(&str, Value)]) -> Value {
    for (k, v) in extra {
        period.insert((*k).into(), v.clone());
    }
    Value::Object(period)
}

fn date_text(day: i64) -> Value {
    date_of(day).map_or(Value::Null, |d| json!(d.format("%Y-%m-%d").to_string()))
}

/// The `WrappedResponse` of `user` (in `tz`) for local calendar `year` (already
/// validated); `today` is the clock's UTC date.
pub fn wrapped(
    conn: &Connection,
    catalog: &Catalog,
    streaks: &StreakSettings,
    (user, tz): (&User, Tz),
    (year, today): (i32, NaiveDate),
    achievements: Achievements<'_>,
) -> Result<Value, ApiError> {
    let out_of_range = || ApiError::unprocessable("year is out of range");
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(out_of_range)?;
    let dec31 = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(out_of_range)?;
    let (first, last) = (day_number(jan1), day_number(dec31));
    // The last week of the year may end in the next one.
    let rows = store::days_through(conn, user.row_id, monday_of(last) + 6)?;
    let mut reader = Reader {
        conn,
        user,
        catalog,
        tz,
        today,
        sources: BTreeMap::new(),
        slices: BTreeMap::new(),
        achievements,
    };
    let mut events_per_day: BTreeMap<i64, i64> = BTreeMap::new();
    for DayRow {
        source_id,
        attr_key,
        attr_value,
        day,
        events,
        amount,
    } in rows
    {
        let known = match reader.sources.entry(source_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(source(conn, source_id)?),
        };
        let Some(src) = known else {
            continue;
        };
        if src.is_metric && attr_key.is_empty() {
            *events_per_day.entry(day).or_insert(0) += events;
        }
        reader
            .slices
            .entry((source_id, attr_key, attr_value))
            .or_default()
            .push((day, events, amount));
    }
    let activity = rules::activity(&events_per_day, year).ok_or_else(out_of_range)?;

    let day = activity.most_active_day;
    let most_day = reader.period(&Period {
        first: day,
        last: day,
        key: None,
    })?;
    let week = activity.most_active_week;
    let most_week = reader.period(&Period {
        first: week,
        last: week + 6,
        key: Some(week_key(week)),
    })?;
    let month0 = activity.most_active_month;
    let month_first = NaiveDate::from_ymd_opt(year, month0 + 1, 1).ok_or_else(out_of_range)?;
    let month_last = crate::rules::periods::period_containing(
        month_first,
        crate::rules::periods::PeriodKind::Monthly,
    )
    .end;
    let most_month = reader.period(&Period {
        first: day_number(month_first),
        last: day_number(month_last),
        key: Some(month_key(year, month_first.month0())),
    })?;
    let entire = reader.period(&Period {
        first,
        last,
        key: Some(year_key(year)),
    })?;
    let longest = longest_streak(conn, streaks, user.row_id, year)?;
    Ok(json!({
        "user": user.to_json(),
        "activity": {
            "daysActive": activity.days_active,
            "weeksActive": activity.weeks_active,
            "monthsActive": activity.months_active,
            "mostActiveDay": with(most_day, &[("date", date_text(day))]),
            "mostActiveWeek": with(most_week, &[("start", date_text(week)), ("end", date_text(week + 6))]),
            "mostActiveMonth": with(most_month, &[("month", json!(month0))]),
            "entireYear": with(entire, &[("longestStreak", longest)]),
        }
    }))
}
