//! Composite achievements must not wait on themselves, directly or through others: such an
//! achievement could never be completed.

use std::collections::HashMap;

use super::reader::Sink;

/// One composite achievement: its key, where its `prerequisites` are written, and what they name.
pub(crate) struct Composite {
    pub(crate) key: String,
    pub(crate) at: usize,
    pub(crate) prerequisites: Vec<String>,
}

/// Reports each cycle once, at the member written first in the file, naming the whole loop.
pub(crate) fn report_cycles(composites: &[Composite], sink: &mut Sink) {
    for cycle in find_cycles(composites) {
        let Some(first) = cycle.first() else { continue };
        let mut names: Vec<&str> = cycle.iter().map(|&i| composites[i].key.as_str()).collect();
        names.push(&composites[*first].key);
        sink.report(
            composites[*first].at,
            format!("prerequisite cycle: {}", names.join(" -> ")),
        );
    }
}

/// Indices into `composites`, each cycle rotated to start at its lowest index. Iterative, so that a
/// long chain of prerequisites cannot overflow the stack.
fn find_cycles(composites: &[Composite]) -> Vec<Vec<usize>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, c) in composites.iter().enumerate() {
        index.entry(c.key.as_str()).or_insert(i);
    }
    // Only composites have outgoing edges, so other achievements can be left out of the graph.
    let edges: Vec<Vec<usize>> = composites
        .iter()
        .map(|c| {
            c.prerequisites
                .iter()
                .filter_map(|p| index.get(p.as_str()).copied())
                .collect()
        })
        .collect();

    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnPath,
        Done,
    }
    let mut state = vec![State::New; composites.len()];
    let mut cycles = Vec::new();
    for root in 0..composites.len() {
        if state[root] != State::New {
            continue;
        }
        // (node, next edge to follow)
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = State::OnPath;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let Some(&target) = edges[node].get(*next) else {
                state[node] = State::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match state[target] {
                State::New => {
                    state[target] = State::OnPath;
                    path.push((target, 0));
                }
                State::OnPath => {
                    let from = path.iter().position(|(n, _)| *n == target).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[from..].iter().map(|(n, _)| *n).collect();
                    if let Some(lowest) = cycle.iter().enumerate().min_by_key(|(_, n)| **n) {
                        let shift = lowest.0;
                        cycle.rotate_left(shift);
                    }
                    cycles.push(cycle);
                }
                State::Done => {}
            }
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn composite(key: &str, prerequisites: &[&str]) -> Composite {
        Composite {
            key: key.to_owned(),
            at: 0,
            prerequisites: prerequisites.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn finds_self_reference_and_longer_loops_once_each() {
        let graph = [
            composite("a", &["b"]),
            composite("b", &["c", "x"]),
            composite("c", &["a"]),
            composite("d", &["d"]),
            composite("e", &["a"]),
        ];
        assert_eq!(find_cycles(&graph), vec![vec![0, 1, 2], vec![3]]);
    }

    #[test]
    fn a_diamond_is_not_a_cycle() {
        let graph = [
            composite("top", &["left", "right"]),
            composite("left", &["bottom"]),
            composite("right", &["bottom"]),
            composite("bottom", &["api-one"]),
        ];
        assert!(find_cycles(&graph).is_empty());
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let keys: Vec<String> = (0..100_000).map(|i| format!("k{i}")).collect();
        let graph: Vec<Composite> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Composite {
                key: k.clone(),
                at: 0,
                prerequisites: vec![keys[(i + 1) % keys.len()].clone()],
            })
            .collect();
        let cycles = find_cycles(&graph);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].len(), 100_000);
    }
}
