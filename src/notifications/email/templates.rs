//! What each lifecycle email says: embedded defaults an operator can replace per message
//! type, in Jinja syntax (minijinja).
//!
//! Everything is compiled at start, so a typo in an operator's template stops trophyd
//! with the file and line instead of failing every send hours later. Rendering is lenient
//! about missing values (the context comes from user data: a user may have no name, a
//! tenant no branding), and HTML is auto-escaped, since names are user input.
//!
//! Besides the builtins, templates get three filters, for things Jinja has no short way
//! to say: `number` (12.0 → "12", 2.5 → "2.5"), `period` ("daily" → "day", ...) and
//! `css_color` (a `#rgb`/`#rrggbb` colour or the default indigo, since the value goes
//! into a `style` attribute, where escaping alone does not stop CSS injection).

use std::path::Path;

use minijinja::{AutoEscape, Environment, Output, State, Value};

use crate::config::{EmailsConfig, MessageTemplates};
use crate::notifications::Kind;

/// One rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line: newlines and runs of whitespace become one space.
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// All message types' templates, compiled.
pub struct Templates {
    env: Environment<'static>,
}

/// Shared by the default HTML and text templates (`{% extends "layout.html" %}`); an
/// operator's templates may extend them too.
const LAYOUTS: [(&str, &str); 2] = [
    ("layout.html", include_str!("templates/layout.html")),
    ("layout.txt", include_str!("templates/layout.txt")),
];

/// The embedded (subject, text, html) of a message type.
fn defaults(kind: Kind) -> [&'static str; 3] {
    match kind {
        Kind::Achievement => [
            include_str!("templates/achievement.subject"),
            include_str!("templates/achievement.txt"),
            include_str!("templates/achievement.html"),
        ],
        Kind::StreakReminder => [
            include_str!("templates/streak_reminder.subject"),
            include_str!("templates/streak_reminder.txt"),
            include_str!("templates/streak_reminder.html"),
        ],
        Kind::Recap => [
            include_str!("templates/recap.subject"),
            include_str!("templates/recap.txt"),
            include_str!("templates/recap.html"),
        ],
        Kind::Reactivation => [
            include_str!("templates/reactivation.subject"),
            include_str!("templates/reactivation.txt"),
            include_str!("templates/reactivation.html"),
        ],
    }
}

fn overrides(config: &EmailsConfig, kind: Kind) -> Option<&MessageTemplates> {
    match kind {
        Kind::Achievement => config.achievement.as_ref(),
        Kind::StreakReminder => config.streak_reminder.as_ref().map(|d| &d.templates),
        Kind::Recap => config.recap.as_ref().map(|d| &d.templates),
        Kind::Reactivation => config.reactivation.as_ref().map(|d| &d.templates),
    }
}

fn names(kind: Kind) -> [String; 3] {
    let k = kind.as_str();
    [
        format!("{k}.subject"),
        format!("{k}.txt"),
        format!("{k}.html"),
    ]
}

/// "file, line N: what": where an operator looks, not minijinja's internal name.
fn describe(source: &str, err: &minijinja::Error) -> String {
    let what = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    match err.line() {
        Some(line) => format!("{source}, line {line}: {what}"),
        None => format!("{source}: {what}"),
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

impl Templates {
    /// The embedded defaults, replaced per type by `subject` (a template string) /
    /// `text_template` / `html_template` (files, read now) from the config; every
    /// template is compiled now.
    pub fn load(config: &EmailsConfig) -> Result<Templates, String> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(html_formatter);
        env.add_filter("number", number);
        env.add_filter("period", period);
        env.add_filter("css_color", css_color);
        for (name, source) in LAYOUTS {
            env.add_template(name, source)
                .map_err(|e| describe(&format!("embedded {name}"), &e))?;
        }
        for kind in Kind::ALL {
            let [subject, text, html] = defaults(kind);
            let own = overrides(config, kind);
            let [subject_name, text_name, html_name] = names(kind);
            let subject = match own.and_then(|o| o.subject.as_ref()) {
                Some(s) => (format!("[emails.{}] subject", kind.as_str()), s.clone()),
                None => (format!("embedded {subject_name}"), subject.to_string()),
            };
            let text = match own.and_then(|o| o.text_template.as_deref()) {
                Some(path) => (path.display().to_string(), read(path)?),
                None => (format!("embedded {text_name}"), text.to_string()),
            };
            let html = match own.and_then(|o| o.html_template.as_deref()) {
                Some(path) => (path.display().to_string(), read(path)?),
                None => (format!("embedded {html_name}"), html.to_string()),
            };
            let entries: [(String, (String, String)); 3] = [
                (subject_name, subject),
                (text_name, text),
                (html_name, html),
            ];
            for (name, (source, body)) in entries {
                env.add_template_owned(name, body)
                    .map_err(|e| describe(&source, &e))?;
            }
        }
        Ok(Templates { env })
    }

    /// The email of type `kind` for `context` (see the module docs of
    /// `notifications::email` for its fields).
    pub fn render(&self, kind: Kind, context: &serde_json::Value) -> Result<Rendered, String> {
        let ctx = Value::from_serialize(normalized(context));
        let [subject, text, html] = names(kind);
        let render = |name: &str| -> Result<String, String> {
            self.env
                .get_template(name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| describe(name, &e))
        };
        Ok(Rendered {
            subject: one_line(&render(&subject)?),
            text: render(&text)?,
            html: render(&html)?,
        })
    }
}

/// The context with `user`, `branding` and the per-type objects always objects: Jinja's
/// lenient mode allows `user.name` when `user` is null but not when it is missing, and a
/// template should not have to guard every lookup.
fn normalized(context: &serde_json::Value) -> serde_json::Value {
    let mut map = match context {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    for key in OBJECTS {
        let entry = map.entry(key).or_insert(serde_json::Value::Null);
        if !entry.is_object() {
            *entry = serde_json::Value::Object(serde_json::Map::new());
        }
    }
    serde_json::Value::Object(map)
}

const OBJECTS: [&str; 6] = [
    "user",
    "branding",
    "achievement",
    "streak",
    "recap",
    "reactivation",
];

/// Collapses whitespace, newlines included: a subject is one header line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// HTML escaping of `& < > " '` only: minijinja's also escapes `/`, which turns every
/// URL in an `href` into `https:&#x2f;&#x2f;...`, valid but unreadable in the source and
/// mangled by some link-rewriting relays.
fn html_formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), minijinja::Error> {
    let text = match (state.auto_escape(), value.as_str()) {
        (AutoEscape::Html, Some(text)) if !value.is_safe() => text,
        _ => return minijinja::escape_formatter(out, state, value),
    };
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.write_str(&rest[..at])?;
        let (entity, len) = match rest.as_bytes()[at] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            _ => ("&#39;", 1),
        };
        out.write_str(entity)?;
        rest = &rest[at + len..];
    }
    out.write_str(rest)?;
    Ok(())
}

/// 12.0 → "12", 2.5 → "2.5", 1.23456 → "1.23"; anything not a number as it is.
fn number(value: Value) -> Value {
    let Some(n) = f64::try_from(value.clone()).ok().filter(|n| n.is_finite()) else {
        return value;
    };
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return Value::from(format!("{}", n as i64));
    }
    let s = format!("{n:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    Value::from(s.to_string())
}

/// A streak or recap frequency as the unit it counts: "daily" → "day".
fn period(value: Value) -> String {
    match value.as_str().unwrap_or("") {
        "weekly" => "week",
        "monthly" => "month",
        "yearly" => "year",
        _ => "day",
    }
    .to_string()
}

/// `#rgb` or `#rrggbb`, else the default brand colour.
fn css_color(value: Value) -> String {
    let s = value.as_str().unwrap_or("").trim();
    let hex = s.strip_prefix('#').unwrap_or("");
    if (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        s.to_string()
    } else {
        "#4f46e5".to_string()
    }
}
