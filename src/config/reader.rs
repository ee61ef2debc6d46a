//! Reading typed values out of the span-preserving TOML tree.
//!
//! Every getter reports what is wrong to a [`Sink`] and carries on with `None`, instead of
//! returning early, so that one run of `trophyd check` lists every problem in the file.

use std::ops::RangeInclusive;

use chrono::{NaiveDate, NaiveTime};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::domain::choices::Choice;

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// Problems found so far, as byte offsets; they become lines and columns only once, at the end.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    found: Vec<(usize, String)>,
}

impl Sink {
    pub(crate) fn report(&mut self, at: usize, message: impl Into<String>) {
        self.found.push((at, message.into()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// File order reads best, whatever order the sections were checked in.
    pub(crate) fn into_sorted(mut self) -> Vec<(usize, String)> {
        self.found.sort_by_key(|(at, _)| *at);
        self.found.dedup();
        self.found
    }
}

/// One TOML table and the name it goes by in messages (`[server]`, `[[points.triggers]]`, ...).
#[derive(Clone, Copy)]
pub(crate) struct Table<'a, 'i> {
    name: &'static str,
    table: &'a DeTable<'i>,
    /// Where "missing key" problems point: the `[header]` or the `{` of an inline table.
    at: usize,
}

impl<'a, 'i> Table<'a, 'i> {
    pub(crate) fn new(name: &'static str, table: &'a DeTable<'i>, at: usize) -> Self {
        Table { name, table, at }
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.table.get(key)
    }

    /// Where the key itself is written, or the table when it is absent.
    pub(crate) fn key_at(&self, key: &str) -> usize {
        self.table
            .get_key_value(key)
            .map_or(self.at, |(k, _)| k.span().start)
    }

    /// Reports a model's `problems` at the lines of their keys (the model's stored field
    /// names in snake case, `streakLength` → `streak_length`); true when there are none.
    pub(crate) fn report_problems<F: Copy>(
        &self,
        sink: &mut Sink,
        problems: Vec<crate::model::Problem<F>>,
        stored_name: impl Fn(F) -> &'static str,
    ) -> bool {
        for problem in &problems {
            let mut key = String::new();
            for c in stored_name(problem.field).chars() {
                if c.is_ascii_uppercase() {
                    key.push('_');
                }
                key.push(c.to_ascii_lowercase());
            }
            sink.report(self.value_at(&key), format!("\"{key}\" {}", problem.rule));
        }
        problems.is_empty()
    }

    /// Where the value of `key` is written, or the table when it is absent.
    pub(crate) fn value_at(&self, key: &str) -> usize {
        self.get(key).map_or(self.at, |v| v.span().start)
    }

    /// Entries in file order: the parser keeps them sorted by name, but attribute filters keep
    /// file order and problems read best in file order.
    pub(crate) fn entries(&self) -> Vec<(&'a str, usize, &'a Value<'i>)> {
        let mut entries: Vec<_> = self
            .table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span().start, v))
            .collect();
        entries.sort_by_key(|(_, at, _)| *at);
        entries
    }

    pub(crate) fn deny_unknown(&self, sink: &mut Sink, allowed: &[&str]) {
        for (key, at, _) in self.entries() {
            if !allowed.contains(&key) {
                let hint = closest(key, allowed)
                    .map(|known| format!(" (did you mean \"{known}\"?)"))
                    .unwrap_or_default();
                sink.report(at, format!("unknown key \"{key}\" in {}{hint}", self.name));
            }
        }
    }

    pub(crate) fn missing(&self, sink: &mut Sink, key: &str) {
        sink.report(self.at, format!("missing key \"{key}\" in {}", self.name));
    }

    /// For keys that only make sense with another setting, e.g. `metric_value` with a metric trigger.
    pub(crate) fn only_with(&self, sink: &mut Sink, keys: &[&str], condition: &str) {
        for key in keys {
            if self.has(key) {
                sink.report(
                    self.key_at(key),
                    format!("\"{key}\" is only allowed with {condition}"),
                );
            }
        }
    }

    fn read<T>(
        &self,
        sink: &mut Sink,
        key: &str,
        required: bool,
        convert: impl FnOnce(&'a Value<'i>) -> Result<T, String>,
    ) -> Option<T> {
        let Some(value) = self.get(key) else {
            if required {
                self.missing(sink, key);
            }
            return None;
        };
        match convert(value) {
            Ok(converted) => Some(converted),
            Err(message) => {
                sink.report(value.span().start, message);
                None
            }
        }
    }

    pub(crate) fn opt_str(&self, sink: &mut Sink, key: &str) -> Option<&'a str> {
        self.read(sink, key, false, |v| string(key, v))
    }

    pub(crate) fn req_str(&self, sink: &mut Sink, key: &str) -> Option<&'a str> {
        self.read(sink, key, true, |v| string(key, v))
    }

    /// A required string that must not be empty (names, secrets, ...).
    pub(crate) fn req_nonempty(&self, sink: &mut Sink, key: &str) -> Option<&'a str> {
        self.read(sink, key, true, |v| match string(key, v)? {
            "" => Err(format!("\"{key}\" must not be empty")),
            s => Ok(s),
        })
    }

    /// Optional free text; `""` means the same as leaving the key out, which the example file
    /// relies on for `description = ""` and `badge_url = ""`.
    pub(crate) fn opt_text(&self, sink: &mut Sink, key: &str) -> Option<String> {
        self.opt_str(sink, key)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    pub(crate) fn opt_bool(&self, sink: &mut Sink, key: &str) -> Option<bool> {
        self.read(sink, key, false, |v| match v.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            other => Err(wrong_type(key, "a boolean (true or false)", other)),
        })
    }

    pub(crate) fn opt_int(
        &self,
        sink: &mut Sink,
        key: &str,
        range: RangeInclusive<i64>,
    ) -> Option<i64> {
        self.read(sink, key, false, |v| integer(key, v, &range))
    }

    pub(crate) fn req_int(
        &self,
        sink: &mut Sink,
        key: &str,
        range: RangeInclusive<i64>,
    ) -> Option<i64> {
        self.read(sink, key, true, |v| integer(key, v, &range))
    }

    pub(crate) fn opt_u32(&self, sink: &mut Sink, key: &str, min: u32, max: u32) -> Option<u32> {
        let wide = i64::from(min)..=i64::from(max);
        self.opt_int(sink, key, wide)
            .and_then(|n| u32::try_from(n).ok())
    }

    pub(crate) fn req_u32(&self, sink: &mut Sink, key: &str, min: u32, max: u32) -> Option<u32> {
        let wide = i64::from(min)..=i64::from(max);
        self.req_int(sink, key, wide)
            .and_then(|n| u32::try_from(n).ok())
    }

    /// Integers are accepted too: `threshold = 1` means 1.0.
    pub(crate) fn opt_float(&self, sink: &mut Sink, key: &str) -> Option<f64> {
        self.read(sink, key, false, |v| float(key, v))
    }

    pub(crate) fn req_float(&self, sink: &mut Sink, key: &str) -> Option<f64> {
        self.read(sink, key, true, |v| float(key, v))
    }

    pub(crate) fn opt_choice<T: Copy>(
        &self,
        sink: &mut Sink,
        key: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        self.read(sink, key, false, |v| choice(key, v, choices))
    }

    pub(crate) fn req_choice<T: Copy>(
        &self,
        sink: &mut Sink,
        key: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        self.read(sink, key, true, |v| choice(key, v, choices))
    }

    /// The required choice at `key`. The keys each choice in `owned` may alone have are
    /// reported where another choice was made (only with `key = "name"`); without a
    /// readable choice, they cannot be judged either.
    pub(crate) fn req_variant<T: Choice>(
        &self,
        sink: &mut Sink,
        key: &str,
        owned: &[(T, &[&str])],
    ) -> Option<T> {
        let chosen = self.req_choice(sink, key, T::CHOICES)?;
        for (owner, keys) in owned.iter().filter(|(owner, _)| *owner != chosen) {
            let condition = format!("{key} = \"{}\"", owner.name());
            self.only_with(sink, keys, &condition);
        }
        Some(chosen)
    }

    pub(crate) fn opt_date(&self, sink: &mut Sink, key: &str) -> Option<NaiveDate> {
        self.read(sink, key, false, |v| date(key, v))
    }

    pub(crate) fn req_date(&self, sink: &mut Sink, key: &str) -> Option<NaiveDate> {
        self.read(sink, key, true, |v| date(key, v))
    }

    /// A time of day written `"HH:mm"` or `"HH:mm:ss"` (leaderboard time windows).
    pub(crate) fn opt_time_of_day(&self, sink: &mut Sink, key: &str) -> Option<NaiveTime> {
        self.read(sink, key, false, |v| time_of_day(key, v))
    }

    /// A list of strings, each with where it is written (for reference problems).
    pub(crate) fn opt_str_list(&self, sink: &mut Sink, key: &str) -> Option<Vec<(&'a str, usize)>> {
        let items = self.read(sink, key, false, |v| match v.get_ref() {
            DeValue::Array(items) => Ok(items),
            other => Err(wrong_type(key, "an array of strings", other)),
        })?;
        let mut strings = Vec::with_capacity(items.len());
        let mut all_strings = true;
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => strings.push((s.as_ref(), item.span().start)),
                other => {
                    all_strings = false;
                    let message = wrong_type(&format!("each item of \"{key}\""), "a string", other);
                    sink.report(item.span().start, message);
                }
            }
        }
        all_strings.then_some(strings)
    }

    /// A list of integers (`days_off = [0, 6]`), each with where it is written.
    pub(crate) fn opt_int_list(&self, sink: &mut Sink, key: &str) -> Option<Vec<(i64, usize)>> {
        let items = self.read(sink, key, false, |v| match v.get_ref() {
            DeValue::Array(items) => Ok(items),
            other => Err(wrong_type(key, "an array of integers", other)),
        })?;
        let mut numbers = Vec::with_capacity(items.len());
        for item in items.iter() {
            let each = format!("each item of \"{key}\"");
            match integer(&each, item, &(i64::MIN..=i64::MAX)) {
                Ok(n) => numbers.push((n, item.span().start)),
                Err(message) => sink.report(item.span().start, message),
            }
        }
        Some(numbers)
    }

    pub(crate) fn is_empty_array(&self, key: &str) -> bool {
        matches!(self.get(key).map(|v| v.get_ref()), Some(DeValue::Array(items)) if items.is_empty())
    }

    /// Settings that only mean something together, like `run_unit` and `run_interval`.
    pub(crate) fn both_or_neither(&self, sink: &mut Sink, a: &str, b: &str) {
        let (given, absent) = match (self.has(a), self.has(b)) {
            (true, false) => (a, b),
            (false, true) => (b, a),
            _ => return,
        };
        sink.report(
            self.key_at(given),
            format!("\"{given}\" needs \"{absent}\" as well: give both or neither"),
        );
    }

    /// A sub-table such as `[streaks.freezes]` or an inline `{ plan = "pro" }`.
    pub(crate) fn opt_table(
        &self,
        sink: &mut Sink,
        key: &str,
        name: &'static str,
    ) -> Option<Table<'a, 'i>> {
        self.read(sink, key, false, |v| match v.get_ref() {
            DeValue::Table(table) => Ok(Table::new(name, table, v.span().start)),
            other => Err(wrong_type(key, "a table", other)),
        })
    }

    /// A table of settings (`[server]`): an optional table whose keys must be `allowed`.
    pub(crate) fn section(
        &self,
        sink: &mut Sink,
        key: &str,
        name: &'static str,
        allowed: &[&str],
    ) -> Option<Table<'a, 'i>> {
        let table = self.opt_table(sink, key, name)?;
        table.deny_unknown(sink, allowed);
        Some(table)
    }

    /// An array of tables (`[[metrics]]`, or `metrics = [{...}]`), each of whose keys must
    /// be `allowed`; absent means none.
    pub(crate) fn tables(
        &self,
        sink: &mut Sink,
        key: &str,
        name: &'static str,
        allowed: &[&str],
    ) -> Vec<Table<'a, 'i>> {
        let Some(items) = self.read(sink, key, false, |v| match v.get_ref() {
            DeValue::Array(items) => Ok(items),
            other => Err(wrong_type(
                key,
                &format!("an array of tables ({name})"),
                other,
            )),
        }) else {
            return Vec::new();
        };
        let mut tables = Vec::with_capacity(items.len());
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(table) => {
                    let table = Table::new(name, table, item.span().start);
                    table.deny_unknown(sink, allowed);
                    tables.push(table);
                }
                other => {
                    let message = wrong_type(&format!("each item of \"{key}\""), "a table", other);
                    sink.report(item.span().start, message);
                }
            }
        }
        tables
    }
}

/// `"name"`, or `each item of "days_off"` as it is for list items.
fn label(key: &str) -> String {
    if key.starts_with("each item") {
        key.to_owned()
    } else {
        format!("\"{key}\"")
    }
}

fn wrong_type(key: &str, expected: &str, found: &DeValue<'_>) -> String {
    format!(
        "{} must be {expected}, found {}",
        label(key),
        describe(found)
    )
}

fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("the string \"{s}\""),
        DeValue::Integer(_) => "an integer".to_owned(),
        DeValue::Float(_) => "a float".to_owned(),
        DeValue::Boolean(_) => "a boolean".to_owned(),
        DeValue::Datetime(_) => "a date-time".to_owned(),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

fn string<'a>(key: &str, value: &'a Value<'_>) -> Result<&'a str, String> {
    match value.get_ref() {
        DeValue::String(s) => Ok(s.as_ref()),
        other => Err(wrong_type(key, "a string", other)),
    }
}

fn integer(key: &str, value: &Value<'_>, range: &RangeInclusive<i64>) -> Result<i64, String> {
    let n = match value.get_ref() {
        DeValue::Integer(n) => i64::from_str_radix(n.as_str(), n.radix())
            .map_err(|_| format!("{} is too large", label(key)))?,
        other => return Err(wrong_type(key, "an integer", other)),
    };
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(range_message(key, n, range))
    }
}

fn range_message(key: &str, n: i64, range: &RangeInclusive<i64>) -> String {
    let (lo, hi) = (*range.start(), *range.end());
    if n < lo && lo == 0 {
        format!("\"{key}\" must not be negative")
    } else if n < lo {
        format!("\"{key}\" must be at least {lo}")
    } else {
        format!("\"{key}\" must be at most {hi}")
    }
}

fn float(key: &str, value: &Value<'_>) -> Result<f64, String> {
    let x = match value.get_ref() {
        DeValue::Float(x) => x.as_str().parse::<f64>().ok(),
        // Exact for every integer a person would write; huge ones merely round.
        DeValue::Integer(n) => i64::from_str_radix(n.as_str(), n.radix())
            .ok()
            .map(|n| n as f64),
        other => return Err(wrong_type(key, "a number", other)),
    };
    match x {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(format!("\"{key}\" must be a finite number")),
    }
}

fn choice<T: Copy>(key: &str, value: &Value<'_>, choices: &[(&str, T)]) -> Result<T, String> {
    let given = string(key, value)?;
    if let Some((_, chosen)) = choices.iter().find(|(name, _)| *name == given) {
        return Ok(*chosen);
    }
    let names: Vec<String> = choices
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    Err(format!(
        "\"{key}\" must be one of {}, found \"{given}\"",
        names.join(", ")
    ))
}

/// `YYYY-MM-DD`, written either as a string (as the documentation shows) or as a bare TOML date.
fn date(key: &str, value: &Value<'_>) -> Result<NaiveDate, String> {
    match value.get_ref() {
        DeValue::String(s) => parse_date(s)
            .ok_or_else(|| format!("\"{key}\" must be a date written YYYY-MM-DD, found \"{s}\"")),
        DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                    .ok_or_else(|| format!("\"{key}\" is not a valid date"))
            }
            _ => Err(format!(
                "\"{key}\" must be a date written YYYY-MM-DD, without a time"
            )),
        },
        other => Err(wrong_type(key, "a date written YYYY-MM-DD", other)),
    }
}

fn time_of_day(key: &str, value: &Value<'_>) -> Result<NaiveTime, String> {
    let expected = "a time of day written \"HH:mm\" or \"HH:mm:ss\" (00:00 to 23:59:59)";
    match value.get_ref() {
        DeValue::String(s) => crate::rules::time_window::parse_time_of_day(s)
            .ok_or_else(|| format!("\"{key}\" must be {expected}, found \"{s}\"")),
        other => Err(wrong_type(key, expected, other)),
    }
}

/// Strict on shape (chrono alone would take "2025-1-5"), and rejects impossible days like Feb 30.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let year = s.get(0..4)?.parse().ok()?;
    let month = s.get(5..7)?.parse().ok()?;
    let day = s.get(8..10)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The allowed key nearest to a misspelt one, if it is close enough to be a likely typo.
pub(crate) fn closest<'k>(key: &str, allowed: &[&'k str]) -> Option<&'k str> {
    allowed
        .iter()
        .map(|known| (edit_distance(key, known), *known))
        .filter(|(distance, known)| *distance <= 2 && *distance < known.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            let insert = current[j] + 1;
            let delete = previous[j + 1] + 1;
            current.push(substitute.min(insert).min(delete));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_have_the_exact_shape_and_exist() {
        assert_eq!(
            parse_date("2025-01-05"),
            NaiveDate::from_ymd_opt(2025, 1, 5)
        );
        assert_eq!(
            parse_date("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        for bad in [
            "2025-1-5",
            "2025-02-30",
            "2025/01/05",
            "",
            "2025-01-05T00:00",
            "２０２５-01-05",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn typos_get_a_suggestion() {
        assert_eq!(closest("nmae", &["key", "name"]), Some("name"));
        assert_eq!(closest("colour", &["key", "name"]), None);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
