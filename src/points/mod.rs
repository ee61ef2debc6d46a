//! Points systems (docs/behaviour/points.md, issue #6): triggers of five kinds, boosts, the cap,
//! levels, summaries and the points webhooks.
//!
//! **Every award is persisted by [`award::persist_award`]** — events, achievement
//! completions (the complete route, cascades and backdates), user creation and time
//! triggers all reach it through `engine`. It runs inside the writer's transaction with
//! `ctx: &mut WriteCtx`, the user row id, tenant, system id (`definitions.id`), the amount
//! awarded and the award time, so anything that must see every award (leaderboards ranked
//! by points, wrapped aggregates) hooks in there. Each path also gets the awards back as
//! `(system_id, awarded)` pairs from [`engine::finish`] (`Finished::awards`).
//!
//! * `rules`: pure rules (thresholds, boosts, cap, levels, summary ranges, time ticks).
//! * `engine`: evaluating triggers for one user and finishing a command's changes.
//! * `store`: the SQL; `view`: the response shapes; `jobs`: time triggers and boost
//!   webhooks; `admin`: the Admin API's writes, with `system_patch`, `trigger_patch`,
//!   `level_patch` and `boost_patch` applying its items onto the typed models (`model/`).

pub mod admin;
pub mod award;
pub mod boost_patch;
pub mod engine;
pub mod jobs;
pub mod level_patch;
pub mod rules;
pub mod store;
pub mod system_patch;
pub mod trigger_patch;
pub mod view;

pub use engine::{
    after_event, check_block, finish, on_achievements, on_user_created, Finished, UserPoints,
};
pub use jobs::{BoostWebhookJob, TimeTriggerJob};
