//! Pure achievement rules: attribute filters and the composite cascade.

use std::collections::{BTreeMap, HashSet};
use std::hash::Hash;

/// All pairs must match (docs/behaviour/achievements.md#filters); an empty filter matches everyone.
pub fn filters_match(required: &[(String, String)], actual: &BTreeMap<String, String>) -> bool {
    required
        .iter()
        .all(|(k, v)| actual.get(k).is_some_and(|a| a == v))
}

/// Composites that complete given what is already complete, in completion order: each
/// pass completes every composite whose prerequisites are all done, until a pass adds
/// nothing. `composites` is in definition order, which breaks ties within a pass.
/// Generic over the id: `domain` imports `rules`, so `rules` cannot name `DefinitionId`,
/// which the callers pass.
pub fn cascade<Id: Copy + Eq + Hash>(
    composites: &[(Id, Vec<Id>)],
    completed: &HashSet<Id>,
) -> Vec<Id> {
    let mut done = completed.clone();
    let mut order = Vec::new();
    loop {
        let ready: Vec<Id> = composites
            .iter()
            .filter(|(id, prereqs)| {
                !done.contains(id)
                    && !prereqs.is_empty()
                    && prereqs.iter().all(|p| done.contains(p))
            })
            .map(|(id, _)| *id)
            .collect();
        if ready.is_empty() {
            return order;
        }
        for id in ready {
            done.insert(id);
            order.push(id);
        }
    }
}

/// Rarity as Trophy shows it: percent of the tenant's users, two decimals, 0 for none.
pub fn rarity(completions: i64, users: i64) -> f64 {
    if users <= 0 {
        return 0.0;
    }
    (completions as f64 * 10_000.0 / users as f64).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_filter_pair_must_match() {
        let want = vec![
            ("plan".to_string(), "pro".to_string()),
            ("region".to_string(), "eu".to_string()),
        ];
        assert!(filters_match(
            &want,
            &attrs(&[("plan", "pro"), ("region", "eu"), ("x", "y")])
        ));
        assert!(!filters_match(&want, &attrs(&[("plan", "pro")])));
        assert!(!filters_match(
            &want,
            &attrs(&[("plan", "free"), ("region", "eu")])
        ));
        assert!(filters_match(&[], &attrs(&[])));
    }

    #[test]
    fn three_level_composites_complete_in_order() {
        // 10 needs 1 and 2; 20 needs 10 and 3; 30 needs 20.
        let composites = vec![(30, vec![20]), (20, vec![10, 3]), (10, vec![1, 2])];
        let done: HashSet<i64> = [1, 2, 3].into_iter().collect();
        assert_eq!(cascade(&composites, &done), vec![10, 20, 30]);
        let partial: HashSet<i64> = [1, 2].into_iter().collect();
        assert_eq!(cascade(&composites, &partial), vec![10]);
        let already: HashSet<i64> = [1, 2, 3, 10, 20, 30].into_iter().collect();
        assert!(cascade(&composites, &already).is_empty());
    }

    #[test]
    fn rarity_is_a_percentage_with_two_decimals() {
        assert_eq!(rarity(8, 10), 80.0);
        assert_eq!(rarity(1, 3), 33.33);
        assert_eq!(rarity(2, 3), 66.67);
        assert_eq!(rarity(0, 0), 0.0);
    }
}
