//! The points side of wrapped, driven through `record_points` on a real writer (points
//! systems award through it once merged) and read back with `read::wrapped`.

use std::sync::Arc;

use crate::store::definitions::{self, Kind, Status};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use super::{read, record_points};
use crate::catalog::{Catalog, CatalogHandle};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::ids::{DefinitionId, UserRow};
use crate::domain::user::User;
use crate::domain::user_id::UserId;
use crate::error::ApiError;
use crate::settings::{ConfigSource, RuntimeSettings};
use crate::writer::{Command, WriteCtx, Writer, WriterEnv};

use crate::domain::ids::fixtures::T1;

fn ms(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text)
        .expect("timestamp")
        .with_timezone(&Utc)
        .timestamp_millis()
}

fn writer() -> Writer {
    let mut conn = rusqlite::Connection::open_in_memory().expect("db");
    crate::db::migrate(&mut conn).expect("migrate");
    crate::store::tenants::ensure_default(&conn, 0).expect("tenant");
    let env = WriterEnv {
        clock: Clock::test(Utc::now()),
        catalog: CatalogHandle::new(Catalog::load(&conn).expect("catalog")),
        settings: Arc::new(RuntimeSettings::new(Config::default(), ConfigSource::Demo)),
        wake_delivery: Arc::new(tokio::sync::Notify::new()),
        wake_notifications: Arc::new(tokio::sync::Notify::new()),
        due_hints: crate::scheduler::DueHints::default(),
        shared: crate::writer::Shared::default().with(crate::leaderboards::RankIndex::default()),
    };
    Writer::start(conn, env).expect("writer").0
}

/// Users `ann` and `bob` and the points system `xp`; returns (ann, bob, xp) row ids.
struct Seed;

impl Command for Seed {
    type Output = (UserRow, UserRow, DefinitionId);

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(UserRow, UserRow, DefinitionId), ApiError> {
        let mut rows = Vec::new();
        for id in ["ann", "bob"] {
            let mut user = User::new(T1, &UserId::parse(id)?, false, 0);
            user.tz = Some("Pacific/Kiritimati".into());
            rows.push(crate::store::users::insert(ctx.conn, &user)?.row_id);
        }
        let body = json!({"name": "XP", "description": "Experience"});
        let system = definitions::insert(
            ctx.conn,
            &definitions::New {
                uuid: "xp-uuid",
                tenant: None,
                kind: Kind::PointsSystem,
                key: "xp",
                status: Status::Active,
                managed: false,
                body: body.as_object().expect("object"),
                now_ms: 0,
            },
        )?;
        Ok((rows[0], rows[1], system))
    }
}

struct Award {
    user_row: UserRow,
    system: DefinitionId,
    amount: i64,
    at: &'static str,
}

impl Command for Award {
    type Output = ();

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        let tz: Tz = "Pacific/Kiritimati".parse().map_err(ApiError::internal)?;
        record_points(
            ctx,
            self.user_row,
            T1,
            self.system,
            self.amount,
            ms(self.at),
            tz,
        )
    }
}

struct Review(UserRow);

impl Command for Review {
    type Output = Value;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Value, ApiError> {
        let user = crate::store::users::by_row(ctx.conn, self.0)?
            .ok_or_else(|| ApiError::not_found("User not found"))?;
        let tz: Tz = "Pacific/Kiritimati".parse().map_err(ApiError::internal)?;
        let (conn, catalog) = (ctx.conn, &ctx.catalog);
        read::wrapped(
            conn,
            catalog,
            &ctx.env.settings.streaks,
            (&user, tz),
            (
                2031,
                chrono::NaiveDate::from_ymd_opt(2031, 12, 31)
                    .ok_or_else(|| ApiError::internal("date"))?,
            ),
            &|from_ms, to_ms| {
                crate::achievements::view::completed_between(conn, catalog, &user, from_ms, to_ms)
            },
        )
    }
}

#[tokio::test]
async fn points_awards_build_the_points_map_in_local_time() {
    let writer = writer();
    let (ann, bob, xp) = writer.execute(Seed).await.expect("seed");
    for (user_row, amount, at) in [
        // 09:59Z on 31 December 2030 is 23:59 on 31 December in Kiritimati: not 2031.
        (ann, 7, "2030-12-31T09:59:00Z"),
        (ann, 10, "2031-03-02T10:00:00Z"),
        (ann, 5, "2031-06-01T00:00:00Z"),
        (bob, 30, "2031-03-05T00:00:00Z"),
    ] {
        writer
            .execute(Award {
                user_row,
                system: xp,
                amount,
                at,
            })
            .await
            .expect("award");
    }
    let review = writer.execute(Review(ann)).await.expect("review");
    let a = &review["activity"];
    // Awards are not metric activity.
    assert_eq!(a["daysActive"], 0);
    assert_eq!(
        a["entireYear"]["points"]["xp"],
        json!({"name": "XP", "description": "Experience", "currentTotal": 22,
               "changeThisPeriod": 15, "percentChange": 214.2, "percentileThisPeriod": 50})
    );
    assert_eq!(a["entireYear"]["metrics"], json!({}));
    // January (no metric activity) holds no awards.
    assert_eq!(a["mostActiveMonth"]["points"], json!({}));
    let review = writer.execute(Review(bob)).await.expect("review");
    assert_eq!(
        review["activity"]["entireYear"]["points"]["xp"]["percentileThisPeriod"],
        100
    );
}
