//! The import graph of `src/`'s top-level modules (ARCHITECTURE.md, "Code map"): no two
//! modules import each other, even through others, and the foundation (`rules`, `catalog`,
//! `store`, `writer` and what they stand on) imports no feature. Edges are read from
//! `crate::NAME` paths outside test code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules below the features, and the only modules they may import.
const FOUNDATION: &[&str] = &[
    "catalog", "clock", "config", "db", "domain", "error", "model", "rules", "settings", "store",
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

fn src_graph() -> BTreeMap<String, BTreeSet<String>> {
    graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn no_module_is_on_an_import_cycle() {
    let on_cycle = cyclic(&src_graph());
    assert!(
        on_cycle.is_empty(),
        "modules on an import cycle: {on_cycle:?}"
    );
}

#[test]
fn the_foundation_imports_no_feature() {
    let edges = src_graph();
    for module in FOUNDATION {
        let imports = edges.get(*module).cloned().unwrap_or_default();
        let features: Vec<&String> = imports
            .iter()
            .filter(|m| !FOUNDATION.contains(&m.as_str()))
            .collect();
        assert!(
            features.is_empty(),
            "{module} imports {features:?}, which are not in FOUNDATION"
        );
    }
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
