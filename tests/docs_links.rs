//! Citations of `docs/` stay true (issue #16). Comments cite the notes they rely on as
//! `docs/behaviour/streaks.md#freezes`; this fails when the file is missing or the anchor
//! is not a heading of it, when a link between the docs themselves is broken, and when
//! something still cites the research notes that live outside the repository.

use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Scanned recursively for citations.
const DIRS: &[&str] = &["src", "tests", "benches", "sql", "deploy", "assets", "docs"];
/// Scanned as single files.
const FILES: &[&str] = &[
    "README.md",
    "ARCHITECTURE.md",
    "trophy.toml.example",
    "Cargo.toml",
    "Dockerfile",
];
/// Never scanned: build output, installs, and this file (it names what it forbids).
const SKIP: &[&str] = &["target", ".git", "node_modules", ".venv", "__pycache__"];

/// Names of the outside research notes; a citation of one is allowed only as a file under
/// `docs/`. Written split so that this file does not cite them itself.
fn outside_names() -> Vec<String> {
    ["behaviour", "interface", "sdk-compat", "engineering-notes"]
        .iter()
        .map(|n| format!("{n}.{}", "md"))
        .chain(std::iter::once(format!("shared/{}", "reference")))
        .collect()
}

fn files_to_scan() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    let mut out: Vec<PathBuf> = FILES
        .iter()
        .map(|f| root.join(f))
        .filter(|p| p.is_file())
        .collect();
    for dir in DIRS {
        walk(&root.join(dir), &mut out);
    }
    let me = root.join("tests").join("docs_links.rs");
    out.retain(|p| *p != me);
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if SKIP.iter().any(|s| name == *s) {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A file's text, or None for binaries and other non-UTF-8 files.
fn text(path: &Path) -> Option<String> {
    fs::read(path).ok().and_then(|b| String::from_utf8(b).ok())
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

fn is_anchor_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

/// One `docs/….md[#anchor]` citation: its byte span in the line, file and anchor.
struct Citation {
    span: (usize, usize),
    file: String,
    anchor: Option<String>,
}

/// The `docs/….md` citations of a line. A `docs/` preceded by a path character is part of
/// something else (a URL such as `github.com/trophyso/docs/…`) and is not one.
fn citations(line: &str) -> Vec<Citation> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = line[from..].find("docs/") {
        let start = from + pos;
        from = start + 5;
        if line[..start].chars().next_back().is_some_and(is_path_char) {
            continue;
        }
        let path_len = line[start..]
            .find(|c: char| !is_path_char(c))
            .unwrap_or(line.len() - start);
        let mut path = &line[start..start + path_len];
        // A sentence may end right after the citation.
        while path.ends_with('.') {
            path = &path[..path.len() - 1];
        }
        if !path.ends_with(".md") {
            continue;
        }
        let mut end = start + path.len();
        let mut anchor = None;
        if line[end..].starts_with('#') {
            let len = line[end + 1..]
                .find(|c: char| !is_anchor_char(c))
                .unwrap_or(line.len() - end - 1);
            anchor = Some(line[end + 1..end + 1 + len].to_owned());
            end += 1 + len;
        }
        out.push(Citation {
            span: (start, end),
            file: path.to_owned(),
            anchor,
        });
        from = end;
    }
    out
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (fenced code skipped; repeats get `-1`, `-2`).
fn anchors(markdown: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#');
        if !title.starts_with(' ') {
            continue;
        }
        let base = slug(title);
        let mut anchor = base.clone();
        let mut n = 0;
        while out.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        out.push(anchor);
    }
    out
}

/// Checks that `file` (relative to the root) exists and, when given, has `anchor`.
fn check_target(file: &Path, anchor: Option<&str>) -> Result<(), String> {
    let Some(markdown) = text(file) else {
        return Err(format!("{} does not exist", file.display()));
    };
    match anchor {
        Some(a) if !anchors(&markdown).iter().any(|h| h == a) => Err(format!(
            "{} has no heading with anchor #{a}",
            file.display()
        )),
        _ => Ok(()),
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_docs_citation_names_an_existing_file_and_heading() {
    let root = Path::new(ROOT);
    let mut problems = Vec::new();
    let mut count = 0;
    for path in files_to_scan() {
        let Some(content) = text(&path) else { continue };
        for (n, line) in content.lines().enumerate() {
            for c in citations(line) {
                count += 1;
                if let Err(e) = check_target(&root.join(&c.file), c.anchor.as_deref()) {
                    problems.push(format!("{}:{}: {e}", relative(&path), n + 1));
                }
            }
        }
    }
    assert!(
        count > 0,
        "found no docs/ citation at all: is the scan broken?"
    );
    assert!(
        problems.is_empty(),
        "broken citations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn nothing_cites_the_notes_outside_the_repository() {
    let names = outside_names();
    let mut problems = Vec::new();
    // The docs themselves link to each other relatively; `links_between_the_docs_resolve`
    // checks those.
    let docs = Path::new(ROOT).join("docs");
    for path in files_to_scan()
        .into_iter()
        .filter(|p| !p.starts_with(&docs))
    {
        let Some(content) = text(&path) else { continue };
        for (n, line) in content.lines().enumerate() {
            let allowed = citations(line);
            for name in &names {
                for (at, _) in line.match_indices(name.as_str()) {
                    let inside = allowed
                        .iter()
                        .any(|c| c.span.0 <= at && at + name.len() <= c.span.1);
                    if !inside {
                        problems.push(format!("{}:{}: {}", relative(&path), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "cite the file under docs/ that holds the point instead:\n{}",
        problems.join("\n")
    );
}

#[test]
fn links_between_the_docs_resolve() {
    let mut problems = Vec::new();
    let mut docs = Vec::new();
    walk(&Path::new(ROOT).join("docs"), &mut docs);
    for path in docs
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
    {
        let Some(content) = text(path) else { continue };
        let dir = path.parent().expect("a file has a parent");
        for (n, line) in content.lines().enumerate() {
            let mut rest = line;
            while let Some(pos) = rest.find("](") {
                rest = &rest[pos + 2..];
                let Some(close) = rest.find(')') else { break };
                let target = &rest[..close];
                rest = &rest[close..];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = match target.split_once('#') {
                    Some((f, a)) => (f, Some(a)),
                    None => (target, None),
                };
                let file = if file.is_empty() {
                    path.clone()
                } else {
                    dir.join(file)
                };
                if let Err(e) = check_target(&file, anchor) {
                    problems.push(format!("{}:{}: {e}", relative(path), n + 1));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Freezes"), "freezes");
    assert_eq!(slug("trophy.toml"), "trophytoml");
    assert_eq!(slug("Run and boost timing"), "run-and-boost-timing");
    assert_eq!(slug("Rate-limited types"), "rate-limited-types");
    assert_eq!(slug("`GET /streaks`: lists"), "get-streaks-lists");
    assert_eq!(
        anchors("# A\n## B\n```\n# not\n```\n## B\n"),
        ["a", "b", "b-1"]
    );
    let c = citations("see docs/behaviour/streaks.md#freezes. And docs/interface.md.");
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].file, "docs/behaviour/streaks.md");
    assert_eq!(c[0].anchor.as_deref(), Some("freezes"));
    assert_eq!(c[1].file, "docs/interface.md");
    assert!(citations("https://github.com/trophyso/docs/x.md").is_empty());
}
