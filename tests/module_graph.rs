//! The import graph of `src/`'s top-level modules (ARCHITECTURE.md, "Known debt"): the
//! modules that form a cycle may only become fewer. Edges are read from `crate::NAME`
//! paths outside test code; a module importing one that imports it back puts both in the
//! cycle. When a change takes a module out, take it out of `KNOWN_CYCLE` too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The one cycle left (2026-12-06), to be broken by moving the writer's staged state
/// (`leaderboards::RankIndex`, `wrapped::Pending`) behind a trait.
const KNOWN_CYCLE: &[&str] = &[
    "achievements",
    "commands",
    "leaderboards",
    "notifications",
    "points",
    "scheduler",
    "streaks",
    "webhooks",
    "wrapped",
    "writer",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Text before the first `#[cfg(test)]` (test modules sit at the end of a file).
fn non_test(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("name")
            .trim_end_matches(".rs")
            .to_owned();
        if top == "main" || top == "lib" || rel.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let targets = edges.entry(top.clone()).or_default();
        for (at, _) in non_test(&text).match_indices("crate::") {
            let name: String = text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() && name != top {
                targets.insert(name);
            }
        }
    }
    edges
}

/// Modules on some cycle: those that reach themselves.
fn cyclic(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = edges
            .get(from)
            .into_iter()
            .flatten()
            .map(|s| s.as_str())
            .collect();
        while let Some(m) = stack.pop() {
            if seen.insert(m.to_owned()) {
                stack.extend(edges.get(m).into_iter().flatten().map(|s| s.as_str()));
            }
        }
        seen
    };
    edges
        .keys()
        .filter(|m| reach(m).contains(*m))
        .cloned()
        .collect()
}

#[test]
fn no_module_joins_the_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let on_cycle = cyclic(&graph(&src));
    let known: BTreeSet<String> = KNOWN_CYCLE.iter().map(|s| (*s).to_owned()).collect();
    let joined: Vec<&String> = on_cycle.difference(&known).collect();
    assert!(
        joined.is_empty(),
        "modules now on an import cycle: {joined:?}"
    );
    let left: Vec<&String> = known.difference(&on_cycle).collect();
    assert!(
        left.is_empty(),
        "{left:?} left the cycle: take them out of KNOWN_CYCLE (and ARCHITECTURE.md)"
    );
}

#[test]
fn the_check_sees_a_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    edges.entry("c".into()).or_default().insert("a".into());
    edges.entry("d".into()).or_default().insert("a".into());
    let expected: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(cyclic(&edges), expected);
}
