//! Points boards through the writer, in process: points systems are built on another
//! branch, so these tests call [`apply`] with `ValueChange::Points` from a command, the
//! way the points engine will.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{apply, RankIndex, ValueChange};
use crate::catalog::{sync_definitions, Catalog, CatalogHandle, Ranking};
use crate::clock::Clock;
use crate::domain::ids::{DefinitionId, TenantId, UserRow};
use crate::domain::user::User;
use crate::domain::user_id::UserId;
use crate::error::ApiError;
use crate::settings::RuntimeSettings;
use crate::writer::{Command, WriteCtx, Writer, WriterEnv};
use crate::ConfigSource;

use crate::domain::ids::fixtures::T1;

const CONFIG: &str = r#"
[[metrics]]
key = "lessons"
name = "Lessons"

[[points]]
key = "xp"
name = "XP"

[[points]]
key = "coins"
name = "Coins"

[[leaderboards]]
key = "xp-weekly"
name = "XP this week"
rank_by = "points"
points_system = "xp"
start = "2031-03-03"
run_unit = "day"
run_interval = 7
max_participants = 2
"#;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

/// The writer, the rank index, the board's id and the ids of the two points systems.
fn start(now: &str) -> (Writer, RankIndex, DefinitionId, DefinitionId, DefinitionId) {
    let config = crate::config::parse(CONFIG).expect("config");
    let mut conn = rusqlite::Connection::open_in_memory().expect("db");
    crate::db::migrate(&mut conn).expect("migrate");
    crate::store::tenants::ensure_default(&conn, 0).expect("tenant");
    sync_definitions(&mut conn, &config, 0).expect("sync");
    let catalog = Catalog::load(&conn).expect("catalog");
    let system = |key: &str| -> DefinitionId {
        crate::store::definitions::by_key(
            &conn,
            TenantId::SHARED,
            crate::store::definitions::Kind::PointsSystem,
            key,
        )
        .expect("read")
        .expect("system")
        .id
    };
    let (xp, coins) = (system("xp"), system("coins"));
    let board = catalog.leaderboard(T1, "xp-weekly").expect("board");
    assert!(matches!(board.ranking, Ranking::Points { system_id, .. } if system_id == xp));
    let board_id = board.id;
    let index = RankIndex::default();
    let env = WriterEnv {
        clock: Clock::test(t(now)),
        catalog: CatalogHandle::new(catalog),
        settings: Arc::new(RuntimeSettings::new(config, ConfigSource::Demo)),
        wake_delivery: Arc::new(tokio::sync::Notify::new()),
        wake_notifications: Arc::new(tokio::sync::Notify::new()),
        due_hints: Default::default(),
        shared: crate::writer::Shared::default().with(index.clone()),
    };
    let writer = Writer::start(conn, env).expect("writer").0;
    (writer, index, board_id, xp, coins)
}

/// What the points engine will do: award points to a user (created if new) and pass the
/// change on to the leaderboards.
struct Award {
    user: &'static str,
    system_id: DefinitionId,
    points: i64,
}

impl Command for Award {
    type Output = (User, Map<String, Value>);

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Self::Output, ApiError> {
        let user = match crate::store::users::find(ctx.conn, T1, self.user)? {
            Some(u) => u,
            None => {
                let id = UserId::parse(self.user)?;
                crate::store::users::insert(
                    ctx.conn,
                    &User::new(T1, &id, false, ctx.now.timestamp_millis()),
                )?
            }
        };
        let entries = apply(
            ctx,
            &user,
            &[ValueChange::Points {
                system_id: self.system_id,
                awarded: self.points,
            }],
        )?;
        Ok((user, entries))
    }
}

async fn award(
    writer: &Writer,
    user: &'static str,
    system_id: DefinitionId,
    points: i64,
) -> (User, Value) {
    let (user, entries) = writer
        .execute(Award {
            user,
            system_id,
            points,
        })
        .await
        .expect("award");
    (user, Value::Object(entries))
}

#[tokio::test]
async fn points_boards_rank_points_earned_in_the_run() {
    let (writer, index, board_id, xp, coins) = start("2031-03-04T12:00:00Z");
    let (ann, first) = award(&writer, "ann", xp, 30).await;
    let entry = &first["xp-weekly"];
    assert_eq!(entry["rank"], 1);
    assert_eq!(entry["previousRank"], Value::Null);
    assert_eq!(entry["start"], "2031-03-03");
    assert_eq!(entry["end"], "2031-03-09");
    assert_eq!(entry["pointsSystemKey"], "xp");
    assert_eq!(entry["pointsSystemName"], "XP");
    assert_eq!(entry["threshold"], 0);

    let (_, other_system) = award(&writer, "ann", coins, 50).await;
    assert_eq!(
        other_system,
        Value::Object(Map::new()),
        "coins rank no board"
    );

    let (bob, _) = award(&writer, "bob", xp, 40).await;
    let (_, cat) = award(&writer, "cat", xp, 20).await;
    assert_eq!(
        cat["xp-weekly"]["rank"],
        Value::Null,
        "a full board needs more than 30"
    );
    assert_eq!(cat["xp-weekly"]["threshold"], 30);
    let (_, cat) = award(&writer, "cat", xp, 15).await;
    assert_eq!(cat["xp-weekly"]["rank"], 2, "35 surpasses ann's 30");

    let key = super::index::GroupKey {
        board: board_id,
        run_start: "2031-03-03".parse().expect("date"),
        group: super::engine::group_name(T1, &[]),
    };
    assert_eq!(index.read(&key, |g| g.index_of(bob.row_id)), Some(0));
    assert_eq!(index.read(&key, |g| g.index_of(ann.row_id)), None);
    assert_eq!(index.read(&key, |g| g.len()), 2);
}

/// An award whose command then fails: its SAVEPOINT is rolled back.
struct FailingAward(Award);

impl Command for FailingAward {
    type Output = ();
    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        self.0.apply(ctx)?;
        Err(ApiError::unprocessable("refused after the award"))
    }
}

fn ranked_in_sqlite(writer_db: &rusqlite::Connection, board: DefinitionId) -> Vec<(UserRow, f64)> {
    let mut stmt = writer_db
        .prepare(
            "SELECT user_id, value FROM leaderboard_values
              WHERE leaderboard_id = ?1 AND ranked = 1 ORDER BY value DESC",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([board], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query");
    rows.collect::<rusqlite::Result<_>>().expect("rows")
}

struct Snapshot(DefinitionId);

impl Command for Snapshot {
    type Output = (
        Vec<(UserRow, f64)>,
        Vec<(UserRow, Option<u32>, Option<u32>)>,
    );
    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Self::Output, ApiError> {
        let ranked = ranked_in_sqlite(ctx.conn, self.0);
        let mut stmt = ctx.conn.prepare(
            "SELECT user_id, previous_rank, rank FROM leaderboard_history
              WHERE leaderboard_id = ?1 ORDER BY id",
        )?;
        let history = stmt
            .query_map([self.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok((ranked, history))
    }
}

/// Several changes to one board in one group commit see each other: a user's two awards
/// add up, a newcomer displaces the lowest, the displaced user comes back and displaces
/// the newcomer, and a command rolled back in the middle leaves no trace in the ranks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_in_one_batch_see_each_other_and_a_rolled_back_one_leaves_no_trace() {
    let (writer, index, board_id, xp, _) = start("2031-03-04T12:00:00Z");
    let (ann, _) = award(&writer, "ann", xp, 50).await;
    let (bob, _) = award(&writer, "bob", xp, 30).await;
    let (cat, _) = award(&writer, "cat", xp, 1).await; // off the full board
                                                       // Batches of 2 to 10 commands so far (every command above ran alone).
    let small_batches =
        || writer.stats().batch_size_buckets[1].load(std::sync::atomic::Ordering::Relaxed);
    let small_before = small_batches();

    let held = crate::writer::testing::hold(&writer);
    let send = |user: &'static str, points: i64, fail: bool| {
        let writer = writer.clone();
        let award = Award {
            user,
            system_id: xp,
            points,
        };
        tokio::spawn(async move {
            if fail {
                writer
                    .execute(FailingAward(award))
                    .await
                    .map(|_| Value::Null)
            } else {
                writer
                    .execute(award)
                    .await
                    .map(|(_, entries)| Value::Object(entries))
            }
        })
    };
    // In order: cat 1 -> 40 displaces bob (30); a failed award of 100 to bob is undone;
    // bob 30 -> 45 displaces cat; ann's two awards add up to 70 at rank 1.
    let cat_in = send("cat", 39, false);
    crate::writer::testing::queued(&writer, 1).await;
    let bob_fails = send("bob", 100, true);
    crate::writer::testing::queued(&writer, 2).await;
    let bob_back = send("bob", 15, false);
    crate::writer::testing::queued(&writer, 3).await;
    let ann_1 = send("ann", 10, false);
    crate::writer::testing::queued(&writer, 4).await;
    let ann_2 = send("ann", 10, false);
    crate::writer::testing::queued(&writer, 5).await;
    held.release().await.expect("held");

    let cat_in = cat_in.await.expect("join").expect("cat");
    assert_eq!(cat_in["xp-weekly"]["rank"], 2, "40 surpasses bob's 30");
    assert_eq!(cat_in["xp-weekly"]["previousRank"], Value::Null);
    assert!(bob_fails.await.expect("join").is_err());
    let bob_back = bob_back.await.expect("join").expect("bob");
    assert_eq!(
        bob_back["xp-weekly"]["rank"], 2,
        "45 surpasses cat's 40, not the rolled-back 130"
    );
    let ann_1 = ann_1.await.expect("join").expect("ann");
    let ann_2 = ann_2.await.expect("join").expect("ann");
    assert_eq!(ann_1["xp-weekly"]["rank"], 1);
    assert_eq!(ann_2["xp-weekly"]["rank"], 1);
    let (ranked, history) = writer.execute(Snapshot(board_id)).await.expect("snapshot");
    // Recorded before the snapshot's batch began.
    assert_eq!(
        small_batches() - small_before,
        1,
        "the five ran in one batch"
    );
    assert_eq!(ranked, [(ann.row_id, 70.0), (bob.row_id, 45.0)]);
    let key = super::index::GroupKey {
        board: board_id,
        run_start: "2031-03-03".parse().expect("date"),
        group: super::engine::group_name(T1, &[]),
    };
    // The readers' copy matches SQLite once the batch committed.
    let in_index: Vec<(UserRow, f64)> = index.read(&key, |g| {
        g.page(0, 10).iter().map(|s| (s.user_id, s.value)).collect()
    });
    assert_eq!(in_index, ranked);
    // History of the batch: cat enters at 2 and bob drops out; bob enters at 2 and cat
    // drops out; ann's two awards keep her at 1 (value changes are recorded too).
    let batch: Vec<_> = history.iter().skip(2).cloned().collect();
    assert_eq!(
        batch,
        [
            (bob.row_id, Some(2), None),
            (cat.row_id, None, Some(2)),
            (cat.row_id, Some(2), None),
            (bob.row_id, None, Some(2)),
            (ann.row_id, Some(1), Some(1)),
            (ann.row_id, Some(1), Some(1)),
        ]
    );
}
