//! The files `trophyd import` reads (README "Importing history"): JSON Lines, one object
//! per line, or CSV with a header row. A CSV row is turned into the object its JSON line
//! would be, so both formats share one parser and one set of checks. Pure: no database.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::Path;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::limits::{MAX_IMPORT_LINES, MAX_IMPORT_LINE_BYTES};
use crate::domain::user::{AdmittedUpsert, UpsertedUserInput};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Csv,
}

impl Format {
    /// `.csv` is CSV; anything else (`.jsonl`, `.ndjson`, ...) is JSON Lines.
    pub fn for_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::JsonLines,
        }
    }
}

/// What the file holds, which decides how CSV columns map to fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Events,
    Users,
}

/// One historic event as read, before it meets the catalog. An import acts for every
/// user, so its users are admitted unscoped as they are read.
#[derive(Debug)]
pub struct EventLine {
    pub user: AdmittedUpsert,
    pub metric: String,
    pub value: f64,
    /// When it happened, to the millisecond the database keeps.
    pub at: DateTime<Utc>,
    pub attributes: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UserRef {
    Id(String),
    User(UpsertedUserInput),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventObject {
    user: UserRef,
    metric: String,
    value: f64,
    timestamp: String,
    #[serde(default)]
    attributes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// Parses one event object.
pub fn event(object: Value) -> Result<EventLine, String> {
    let raw: EventObject = serde_json::from_value(object).map_err(|e| e.to_string())?;
    let at = DateTime::parse_from_rfc3339(&raw.timestamp)
        .map_err(|_| {
            format!(
                "timestamp must be an RFC 3339 time with its offset, such as \
                 2026-03-01T09:30:00Z; found {:?}",
                raw.timestamp
            )
        })?
        .to_utc()
        .trunc_subsecs(3);
    if !raw.value.is_finite() {
        return Err("value must be a finite number".into());
    }
    let user = match raw.user {
        UserRef::Id(id) => UpsertedUserInput::new(id, Default::default()),
        UserRef::User(user) => user,
    }
    .unscoped();
    Ok(EventLine {
        user,
        metric: raw.metric,
        value: raw.value,
        at,
        attributes: raw.attributes.unwrap_or_default(),
        idempotency_key: raw.idempotency_key,
    })
}

/// Parses one user object (the API's `UpsertedUser`), admitted unscoped like an event's.
pub fn user(object: Value) -> Result<AdmittedUpsert, String> {
    serde_json::from_value::<UpsertedUserInput>(object)
        .map(UpsertedUserInput::unscoped)
        .map_err(|e| e.to_string())
}

/// Why the whole file was refused before anything was applied.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Header(String),
    #[error("the file has more than {MAX_IMPORT_LINES} records; split it by time")]
    TooLong,
}

/// Calls `each` with the line number and the object of every record, or why the record
/// cannot be read. Blank JSON lines are skipped.
pub fn read_objects(
    reader: impl Read,
    format: Format,
    kind: Kind,
    mut each: impl FnMut(u64, Result<Value, String>),
) -> Result<(), FileError> {
    match format {
        Format::JsonLines => read_json_lines(reader, &mut each),
        Format::Csv => read_csv(reader, kind, &mut each),
    }
}

fn read_json_lines(
    reader: impl Read,
    each: &mut impl FnMut(u64, Result<Value, String>),
) -> Result<(), FileError> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
    let mut buf = Vec::new();
    let mut records = 0usize;
    let mut line = 0u64;
    loop {
        buf.clear();
        line += 1;
        let read = (&mut reader)
            .take(MAX_IMPORT_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if read == 0 {
            return Ok(());
        }
        if buf.last() != Some(&b'\n') && buf.len() > MAX_IMPORT_LINE_BYTES {
            // Skip the rest of the over-long line without holding it.
            let mut rest = Vec::new();
            while reader.read_until(b'\n', &mut rest)? > 0 && rest.last() != Some(&b'\n') {
                rest.clear();
            }
            records += 1;
            each(
                line,
                Err(format!(
                    "the line is longer than {MAX_IMPORT_LINE_BYTES} bytes"
                )),
            );
        } else {
            let text = buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            records += 1;
            let parsed = serde_json::from_slice::<Value>(text)
                .map_err(|e| format!("not a JSON object: {e}"))
                .and_then(|v| match v {
                    Value::Object(_) => Ok(v),
                    _ => Err("not a JSON object".to_string()),
                });
            each(line, parsed);
        }
        if records > MAX_IMPORT_LINES {
            return Err(FileError::TooLong);
        }
    }
}

/// Columns a CSV file may have, by kind; `attributes.NAME` columns are attributes.
const EVENT_COLUMNS: [&str; 6] = [
    "user_id",
    "metric",
    "value",
    "timestamp",
    "idempotency_key",
    "tz",
];
const USER_COLUMNS: [&str; 6] = [
    "id",
    "name",
    "email",
    "tz",
    "subscribe_to_emails",
    "sign_up_date",
];
const ATTRIBUTE_PREFIX: &str = "attributes.";

fn read_csv(
    reader: impl Read,
    kind: Kind,
    each: &mut impl FnMut(u64, Result<Value, String>),
) -> Result<(), FileError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| FileError::Header(format!("could not read the CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    check_header(&headers, kind).map_err(FileError::Header)?;
    let mut record = csv::StringRecord::new();
    let mut records = 0usize;
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                records += 1;
                if records > MAX_IMPORT_LINES {
                    return Err(FileError::TooLong);
                }
                let line = record.position().map_or(0, |p| p.line());
                let object = if record.as_slice().len() > MAX_IMPORT_LINE_BYTES {
                    Err(format!(
                        "the record is longer than {MAX_IMPORT_LINE_BYTES} bytes"
                    ))
                } else if record.len() != headers.len() {
                    Err(format!(
                        "the record has {} fields; the header has {}",
                        record.len(),
                        headers.len()
                    ))
                } else {
                    csv_object(&headers, &record, kind)
                };
                each(line, object);
            }
            Err(e) => match e.kind() {
                csv::ErrorKind::Io(_) => {
                    return Err(FileError::Io(std::io::Error::other(e.to_string())))
                }
                _ => {
                    records += 1;
                    let line = e.position().map_or(0, |p| p.line());
                    each(line, Err(format!("not a CSV record: {e}")));
                }
            },
        }
    }
}

fn check_header(headers: &[String], kind: Kind) -> Result<(), String> {
    let (known, required): (&[&str], &[&str]) = match kind {
        Kind::Events => (&EVENT_COLUMNS, &EVENT_COLUMNS[..4]),
        Kind::Users => (&USER_COLUMNS, &USER_COLUMNS[..1]),
    };
    for name in headers {
        if !known.contains(&name.as_str()) && !name.starts_with(ATTRIBUTE_PREFIX) {
            return Err(format!(
                "unknown CSV column {name:?}; the columns are {} and attributes.NAME",
                known.join(", ")
            ));
        }
    }
    for name in required {
        if !headers.iter().any(|h| h == name) {
            return Err(format!("the CSV header has no {name:?} column"));
        }
    }
    Ok(())
}

/// The JSON object a CSV row stands for. Empty cells are left out.
fn csv_object(headers: &[String], record: &csv::StringRecord, kind: Kind) -> Result<Value, String> {
    let mut object = Map::new();
    let mut user = Map::new();
    let mut attributes = Map::new();
    for (name, cell) in headers.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let text = Value::String(cell.to_string());
        if let Some(attribute) = name.strip_prefix(ATTRIBUTE_PREFIX) {
            attributes.insert(attribute.to_string(), text);
            continue;
        }
        match (kind, name.as_str()) {
            (Kind::Events, "user_id") => {
                user.insert("id".into(), text);
            }
            (Kind::Events, "tz") => {
                user.insert("tz".into(), text);
            }
            (Kind::Events, "value") => {
                let value: f64 = cell
                    .trim()
                    .parse()
                    .map_err(|_| format!("value must be a number; found {cell:?}"))?;
                let number =
                    serde_json::Number::from_f64(value).ok_or("value must be a finite number")?;
                object.insert("value".into(), Value::Number(number));
            }
            (Kind::Events, "idempotency_key") => {
                object.insert("idempotencyKey".into(), text);
            }
            (Kind::Users, "subscribe_to_emails") => {
                let flag = match cell.trim() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(format!(
                            "subscribe_to_emails must be true or false; found {cell:?}"
                        ))
                    }
                };
                object.insert("subscribeToEmails".into(), Value::Bool(flag));
            }
            (Kind::Users, "sign_up_date") => {
                object.insert("signUpDate".into(), text);
            }
            (_, other) => {
                object.insert(other.to_string(), text);
            }
        }
    }
    if !attributes.is_empty() {
        object.insert("attributes".into(), Value::Object(attributes));
    }
    if kind == Kind::Events {
        object.insert("user".into(), Value::Object(user));
    }
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::field::Field;

    fn objects(text: &str, format: Format, kind: Kind) -> Vec<(u64, Result<Value, String>)> {
        let mut out = Vec::new();
        read_objects(text.as_bytes(), format, kind, |line, o| out.push((line, o))).expect("read");
        out
    }

    #[test]
    fn a_json_line_with_a_user_id_or_a_user_object() {
        let text = concat!(
            r#"{"user":"u1","metric":"lessons","value":2,"timestamp":"2026-03-01T09:30:00.1234+05:30"}"#,
            "\n\n",
            r#"{"user":{"id":"u2","tz":"Asia/Kolkata"},"metric":"m","value":1,"timestamp":"2026-03-01T00:00:00Z","attributes":{"plan":"pro"},"idempotencyKey":"k"}"#,
            "\n"
        );
        let read = objects(text, Format::JsonLines, Kind::Events);
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].0, 3, "line numbers count blank lines");
        let first = event(read[0].1.clone().expect("object")).expect("event");
        assert_eq!(first.user.id(), "u1");
        assert_eq!(first.at.to_rfc3339(), "2026-03-01T04:00:00.123+00:00");
        let second = event(read[1].1.clone().expect("object")).expect("event");
        assert_eq!(second.user.fields.tz, Field::Value("Asia/Kolkata".into()));
        assert_eq!(second.attributes["plan"], "pro");
        assert_eq!(second.idempotency_key.as_deref(), Some("k"));
    }

    #[test]
    fn bad_json_lines_are_refused_one_by_one() {
        let text = "[1]\n{\"user\":\"u\",\"metric\":\"m\",\"value\":1,\"timestamp\":\"yesterday\"}\n{nope\n{\"user\":\"u\",\"metric\":\"m\",\"value\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"extra\":1}\n";
        let read = objects(text, Format::JsonLines, Kind::Events);
        assert!(read[0].1.is_err());
        let bad_time = event(read[1].1.clone().expect("object")).expect_err("bad time");
        assert!(bad_time.contains("RFC 3339"), "{bad_time}");
        assert!(read[2].1.is_err());
        assert!(
            event(read[3].1.clone().expect("object")).is_err(),
            "unknown field"
        );
    }

    #[test]
    fn an_over_long_line_is_refused_and_the_next_one_read() {
        let long = format!("{{\"user\":\"{}\"}}\n", "x".repeat(MAX_IMPORT_LINE_BYTES));
        let text = format!("{long}{{\"a\":1}}\n");
        let read = objects(&text, Format::JsonLines, Kind::Events);
        assert_eq!(read.len(), 2);
        assert!(read[0]
            .1
            .as_ref()
            .expect_err("long")
            .contains("longer than"));
        assert_eq!(read[1].0, 2);
        assert!(read[1].1.is_ok());
    }

    #[test]
    fn a_csv_row_becomes_the_object_of_its_json_line() {
        let text = "user_id,metric,value,timestamp,tz,attributes.plan,idempotency_key\n\
                    u1,lessons,2.5,2026-03-01T09:30:00Z,Pacific/Kiritimati,pro,\n\
                    \"u,2\",lessons,x,2026-03-01T09:30:00Z,,,\n";
        let read = objects(text, Format::Csv, Kind::Events);
        let first = event(read[0].1.clone().expect("object")).expect("event");
        assert_eq!(first.value, 2.5);
        assert_eq!(
            first.user.fields.tz,
            Field::Value("Pacific/Kiritimati".into())
        );
        assert_eq!(first.attributes["plan"], "pro");
        assert_eq!(first.idempotency_key, None, "an empty cell is absent");
        assert_eq!(read[1].0, 3);
        assert!(read[1].1.as_ref().expect_err("x").contains("number"));
    }

    #[test]
    fn a_csv_header_must_name_known_columns_and_the_required_ones() {
        let mut seen = 0;
        let err = read_objects(
            "user_id,metric,value\n".as_bytes(),
            Format::Csv,
            Kind::Events,
            |_, _| seen += 1,
        )
        .expect_err("no timestamp");
        assert!(err.to_string().contains("timestamp"), "{err}");
        let err = read_objects("id,plan\n".as_bytes(), Format::Csv, Kind::Users, |_, _| {})
            .expect_err("unknown column");
        assert!(err.to_string().contains("plan"), "{err}");
        assert_eq!(seen, 0);
    }

    #[test]
    fn a_users_csv_row() {
        let text = "id,name,subscribe_to_emails,sign_up_date,attributes.country\nu1,Ada,true,2025-02-28,NZ\nu2,,maybe,,\n";
        let read = objects(text, Format::Csv, Kind::Users);
        let ada = user(read[0].1.clone().expect("object")).expect("user");
        assert_eq!(ada.id(), "u1");
        assert_eq!(ada.fields.name, Field::Value("Ada".into()));
        assert_eq!(ada.fields.subscribe_to_emails, Field::Value(true));
        assert_eq!(ada.fields.sign_up_date, Field::Value("2025-02-28".into()));
        assert!(read[1].1.is_err());
    }

    #[test]
    fn the_format_follows_the_extension() {
        assert_eq!(Format::for_path(Path::new("a/events.CSV")), Format::Csv);
        assert_eq!(
            Format::for_path(Path::new("events.jsonl")),
            Format::JsonLines
        );
        assert_eq!(Format::for_path(Path::new("events")), Format::JsonLines);
    }
}
