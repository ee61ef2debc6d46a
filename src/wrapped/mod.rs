//! Wrapped, the year in review (`GET /users/{id}/wrapped`, docs/behaviour/wrapped.md). Per-day
//! and per-period aggregates for every source (metric or points system) are folded in from
//! the stored events and points awards shortly after they commit (`fold`), so a review reads
//! a few hundred rows and counts index ranges, and the event path writes none of them.

mod backfill;
mod fold;
mod leaderboards;
mod pending;
pub mod read;
pub mod rules;
mod store;
mod streak;
#[cfg(test)]
mod tests;

pub use backfill::backfill_if_pending;
pub use fold::{complete_export, fold_all, fold_everything, mark_all_folded, Folder};
pub use pending::Pending;
