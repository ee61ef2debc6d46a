//! Public ids of rows the event path appends (events, points awards, achievement
//! completions, webhook messages).

/// A UUID that starts with the time (version 7). These ids carry a UNIQUE index; random
/// (version 4) ids put each new row on a random page of that index, so every event
/// dirtied a page of each index and wrote it to the WAL at commit (a quarter of the
/// pages a fully configured event wrote). Time-ordered ids land on the index's last
/// page, which the rows of one group commit share. Clients see an ordinary UUID.
pub fn new() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let first = super::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = super::new();
        assert!(first.to_string() < second.to_string());
        assert_eq!(first.get_version_num(), 7);
    }
}
