//! `trophy.toml`: reading, validating and layering the configuration.
//!
//! [`parse`] walks the span-preserving TOML tree by hand rather than deriving `Deserialize`, because
//! serde stops at the first error while `trophyd check` must list every problem with its line.

mod achievements;
mod attributes;
mod catalog;
mod defaults;
mod env;
mod keys;
mod leaderboards;
mod location;
mod metrics;
mod model;
pub mod notifications;
mod points;
mod prerequisites;
mod reader;
mod server;
mod streaks;
mod webhooks;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

pub use defaults::*;
pub use model::*;

use catalog::Catalog;
use location::LineIndex;
use reader::{Sink, Table};

/// The configuration used when no file is given: a small but complete gamification setup.
pub const DEMO_CONFIG: &str = include_str!("demo.toml");

/// The commented starter file that `trophyd init` writes; it documents every key.
pub const EXAMPLE_CONFIG: &str = include_str!("../../trophy.toml.example");

/// One thing wrong with a configuration file, located for a person reading it in an editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for Problem {}

#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Io(PathBuf, io::Error),
    /// The file was read but is not a valid configuration; every problem found is listed.
    Invalid(PathBuf, Vec<Problem>),
}

impl fmt::Display for LoadError {
    /// `PATH:LINE:COL: message`, one line per problem, the form editors and CI logs link to.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(path, err) => write!(f, "{}: cannot read: {err}", path.display()),
            LoadError::Invalid(path, problems) => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(
                        f,
                        "{}:{}:{}: {}",
                        path.display(),
                        p.line,
                        p.column,
                        p.message
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io(_, err) => Some(err),
            LoadError::Invalid(..) => None,
        }
    }
}

/// Parses and validates a whole `trophy.toml`. On failure, returns every problem found, in file
/// order. An empty text is valid: all defaults and no definitions.
pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
    let lines = LineIndex::new(text);
    let locate = |found: Vec<(usize, String)>| -> Vec<Problem> {
        found
            .into_iter()
            .map(|(at, message)| {
                let (line, column) = lines.locate(at);
                Problem {
                    line,
                    column,
                    message,
                }
            })
            .collect()
    };

    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // Checking the meaning of a tree the parser had to guess at would mostly report echoes of
        // the syntax errors, so those come alone.
        let mut sink = Sink::default();
        for err in &syntax_errors {
            let span = err.span().unwrap_or(0..0);
            let mut message = err.message().trim().to_owned();
            // The parser points at the repeated key but does not name it.
            if message == "duplicate key" {
                if let Some(key) = text.get(span.clone()).filter(|k| !k.is_empty()) {
                    message = format!("duplicate key \"{}\"", key.trim_matches(['"', '\'']));
                }
            }
            sink.report(span.start, message);
        }
        return Err(locate(sink.into_sorted()));
    }

    let mut sink = Sink::default();
    let config = read_document(&Table::new("the top level", root.get_ref(), 0), &mut sink);
    if sink.is_empty() {
        Ok(config)
    } else {
        Err(locate(sink.into_sorted()))
    }
}

const TOP_KEYS: &[&str] = &[
    "server",
    "auth",
    "limits",
    "attributes",
    "metrics",
    "streaks",
    "achievements",
    "points",
    "leaderboards",
    "webhooks",
    "emails",
    "push",
];

/// Sections are read in the order of their references (attributes and metrics before what names
/// them), whatever order the file writes them in.
fn read_document(root: &Table<'_, '_>, sink: &mut Sink) -> Config {
    root.deny_unknown(sink, TOP_KEYS);
    let mut catalog = Catalog::default();
    let server = server::read_server(root, sink);
    let auth = server::read_auth(root, sink);
    let limits = server::read_limits(root, sink);
    let attributes = attributes::read(root, sink, &mut catalog);
    let metrics = metrics::read(root, sink, &mut catalog);
    let streaks = streaks::read(root, sink, &catalog);
    let achievements = achievements::read(root, sink, &mut catalog);
    let points = points::read(root, sink, &mut catalog);
    let leaderboards = leaderboards::read(root, sink, &catalog);
    let webhooks = webhooks::read(root, sink);
    let emails = notifications::read_emails(root, sink);
    let push = notifications::read_push(root, sink);
    Config {
        server,
        auth,
        limits,
        attributes,
        metrics,
        streaks,
        achievements,
        points,
        leaderboards,
        webhooks,
        emails,
        push,
    }
}

/// Reads and parses a configuration file.
pub fn load_file(path: &Path) -> Result<Config, LoadError> {
    let text =
        std::fs::read_to_string(path).map_err(|err| LoadError::Io(path.to_path_buf(), err))?;
    parse(&text).map_err(|problems| LoadError::Invalid(path.to_path_buf(), problems))
}

/// Applies `TROPHYD_LISTEN`, `TROPHYD_DATA`, `TROPHYD_DURABILITY` (`full`|`normal`),
/// `TROPHYD_MULTI_TENANT` (`true`|`false`), `TROPHYD_DEFAULT_TIMEZONE`, `TROPHYD_API_KEYS` and
/// `TROPHYD_ADMIN_KEYS` (comma-separated, `sha256:<hex>` allowed) over `config`. Unset or empty
/// variables change nothing. On error nothing is changed and the message names every bad variable.
///
/// `vars` is usually `|name| std::env::var(name).ok()`.
pub fn apply_env(config: &mut Config, vars: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    env::apply(config, vars)
}

/// The built-in demo configuration ([`DEMO_CONFIG`]).
pub fn demo() -> Config {
    // DEMO_CONFIG is compiled in and `tests::demo_parses_cleanly` guards it, so this cannot fail
    // for any user input.
    parse(DEMO_CONFIG).expect("the built-in demo configuration is valid")
}
