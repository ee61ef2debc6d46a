//! Points boards through the writer, in process: points systems are built on another
//! branch, so these tests call [`apply`] with `ValueChange::Points` from a command, the
//! way the points engine will.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{apply, RankIndex, ValueChange};
use crate::catalog::{sync_definitions, Catalog, CatalogHandle, Ranking};
use crate::clock::Clock;
use crate::domain::user::User;
use crate::domain::user_id::UserId;
use crate::error::ApiError;
use crate::settings::RuntimeSettings;
use crate::writer::{Command, WriteCtx, Writer, WriterEnv};
use crate::ConfigSource;

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
fn start(now: &str) -> (Writer, RankIndex, i64, i64, i64) {
    let config = crate::config::parse(CONFIG).expect("config");
    let mut conn = rusqlite::Connection::open_in_memory().expect("db");
    crate::db::migrate(&mut conn).expect("migrate");
    crate::store::tenants::ensure_default(&conn, 0).expect("tenant");
    sync_definitions(&mut conn, &config, 0).expect("sync");
    let catalog = Catalog::load(&conn).expect("catalog");
    let system = |key: &str| -> i64 {
        conn.query_row(
            "SELECT id FROM definitions WHERE kind = 'points_system' AND key = ?1",
            [key],
            |r| r.get(0),
        )
        .expect("system")
    };
    let (xp, coins) = (system("xp"), system("coins"));
    let board = catalog.leaderboard(1, "xp-weekly").expect("board");
    assert!(matches!(board.ranking, Ranking::Points { system_id, .. } if system_id == xp));
    let board_id = board.id;
    let index = RankIndex::default();
    let env = WriterEnv {
        clock: Clock::test(t(now)),
        catalog: CatalogHandle::new(catalog),
        settings: Arc::new(RuntimeSettings::new(config, ConfigSource::Demo)),
        wake_delivery: Arc::new(tokio::sync::Notify::new()),
        due_hints: Default::default(),
        leaderboards: index.clone(),
    };
    let writer = Writer::start(conn, env).expect("writer").0;
    (writer, index, board_id, xp, coins)
}

/// What the points engine will do: award points to a user (created if new) and pass the
/// change on to the leaderboards.
struct Award {
    user: &'static str,
    system_id: i64,
    points: i64,
}

impl Command for Award {
    type Output = (User, Map<String, Value>);

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Self::Output, ApiError> {
        let user = match crate::store::users::find(ctx.conn, 1, self.user)? {
            Some(u) => u,
            None => {
                let id = UserId::parse(self.user)?;
                crate::store::users::insert(
                    ctx.conn,
                    &User::new(1, &id, false, ctx.now.timestamp_millis()),
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

async fn award(writer: &Writer, user: &'static str, system_id: i64, points: i64) -> (User, Value) {
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
        group: super::engine::group_name(1, &[]),
    };
    assert_eq!(index.read(&key, |g| g.index_of(bob.row_id)), Some(0));
    assert_eq!(index.read(&key, |g| g.index_of(ann.row_id)), None);
    assert_eq!(index.read(&key, |g| g.len()), 2);
}
