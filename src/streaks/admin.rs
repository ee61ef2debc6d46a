//! The Admin API's streak commands (docs/behaviour/streaks.md; request and response
//! shapes from docs/sdk-compat.md#admin-shapes): freezes, restore, reset, pauses and settings.
//! Each item is applied on its own; what fails becomes an issue, the rest goes ahead.

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};

use super::engine::{Rules, UserStreak};
use super::patch::StreakSettingsPatch;
use super::read::index_of;
use super::recompute;
use super::service::{self, Owner};
use super::settings;
use super::store::{self, Pause};
use crate::config::{Frequency, StreakDef};
use crate::domain::bulk::{Archive, Outcome};
use crate::domain::ids::TenantId;
use crate::domain::user::User;
use crate::error::{echo, ApiError};
use crate::writer::{Command, WriteCtx};

/// An `AdminIssue` that both SDKs parse: Python wants `severity` and `message`, Node's
/// `BulkInsertIssue` wants `userId`, `level` and `reason`.
pub fn issue(user_id: Option<&str>, message: &str, reason: &str) -> Value {
    json!({
        "userId": user_id,
        "severity": "error",
        "level": "error",
        "message": message,
        "reason": reason,
    })
}

fn user_not_found(id: &str) -> Value {
    issue(Some(id), "User does not exist", "user_not_found")
}

/// A user's streak loaded and caught up to now, ready to change.
struct Loaded {
    user: User,
    streak: UserStreak,
}

fn load_user(
    ctx: &WriteCtx<'_>,
    rules: Rules<'_>,
    tenant: TenantId,
    id: &str,
) -> Result<Option<Loaded>, ApiError> {
    let Some(user) = crate::store::users::find(ctx.conn, tenant, id)? else {
        return Ok(None);
    };
    let owner = Owner::of(&user, ctx.env.settings.config.server.default_timezone);
    let now = ctx.now.timestamp_millis();
    let mut streak = service::load(ctx.conn, rules, &owner, now)?;
    service::catch_up(ctx.conn, rules, &mut streak, owner.tz, now)?;
    Ok(Some(Loaded { user, streak }))
}

fn persist(ctx: &mut WriteCtx<'_>, rules: Rules<'_>, loaded: &mut Loaded) -> Result<(), ApiError> {
    let now = ctx.now.timestamp_millis();
    service::persist(ctx, rules, &mut loaded.streak, Some(&loaded.user), now)
}

/// `POST /streaks/freezes`: one freeze per entry, up to the maximum.
pub struct GrantFreezes {
    pub tenant: TenantId,
    pub user_ids: Vec<String>,
}

pub struct GrantOutcome {
    pub granted: usize,
    pub issues: Vec<Value>,
}

impl Command for GrantFreezes {
    type Output = GrantOutcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<GrantOutcome, ApiError> {
        let def = ctx.env.settings.streaks.current();
        let mut out = GrantOutcome {
            granted: 0,
            issues: Vec::new(),
        };
        for id in &self.user_ids {
            let exceeds = || issue(Some(id), "Would exceed maximum freeze limit", "max_freezes");
            let Some(def) = def.as_deref() else {
                if crate::store::users::find(ctx.conn, self.tenant, id)?.is_none() {
                    out.issues.push(user_not_found(id));
                } else {
                    out.issues.push(exceeds());
                }
                continue;
            };
            let rules = Rules::new(def);
            let Some(mut loaded) = load_user(ctx, rules, self.tenant, id)? else {
                out.issues.push(user_not_found(id));
                continue;
            };
            let max = rules.max_freezes().unwrap_or(0);
            if loaded.streak.state().freezes >= max {
                out.issues.push(exceeds());
            } else {
                loaded.streak.grant(1);
                out.granted += 1;
            }
            persist(ctx, rules, &mut loaded)?;
        }
        Ok(out)
    }
}

/// `POST /streaks/restore` and `POST /streaks/reset` answer with ids and issues.
pub struct UsersOutcome {
    pub users: Vec<String>,
    pub issues: Vec<Value>,
}

/// `POST /streaks/restore`: back to the longest length reached within the restore window.
pub struct RestoreStreaks {
    pub tenant: TenantId,
    pub user_ids: Vec<String>,
}

impl Command for RestoreStreaks {
    type Output = UsersOutcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<UsersOutcome, ApiError> {
        let def = ctx.env.settings.streaks.current();
        let mut out = UsersOutcome {
            users: Vec::new(),
            issues: Vec::new(),
        };
        let nothing = |id: &str| issue(Some(id), "No streak to restore", "nothing_to_restore");
        for id in &self.user_ids {
            let Some(def) = def.as_deref() else {
                if crate::store::users::find(ctx.conn, self.tenant, id)?.is_none() {
                    out.issues.push(user_not_found(id));
                } else {
                    out.issues.push(nothing(id));
                }
                continue;
            };
            let rules = Rules::new(def);
            let Some(mut loaded) = load_user(ctx, rules, self.tenant, id)? else {
                out.issues.push(user_not_found(id));
                continue;
            };
            // Write the catch-up first so the periods it covered count in the window.
            persist(ctx, rules, &mut loaded)?;
            let now = ctx.now.timestamp_millis();
            let (current, _, today) = rules.period_at(now, loaded.streak.tz);
            let first = window_start(rules, def, current, today);
            let user_id = loaded.user.row_id;
            let longest = store::longest_in(ctx.conn, user_id, first, current)?;
            let fill_from = store::last_covered_before(ctx.conn, user_id, current)?
                .map_or(first, |last| (last + 1).max(first));
            if longest > loaded.streak.length()
                && loaded.streak.restore(rules, now, longest, fill_from)
            {
                persist(ctx, rules, &mut loaded)?;
                out.users.push(id.clone());
            } else {
                out.issues.push(nothing(id));
            }
        }
        Ok(out)
    }
}

/// The first period of the restore window (ADMIN-1.8): daily, the last 90 days; weekly,
/// from the week containing 1 January; monthly, from January of the previous year.
fn window_start(rules: Rules<'_>, def: &StreakDef, current: i64, today: NaiveDate) -> i64 {
    let jan_first = |year: i32| NaiveDate::from_ymd_opt(year, 1, 1);
    match def.frequency {
        Frequency::Daily => current - 90,
        Frequency::Weekly => jan_first(today.year()).map_or(current, |d| index_of(rules, d)),
        Frequency::Monthly => jan_first(today.year() - 1).map_or(current, |d| index_of(rules, d)),
    }
}

/// `POST /streaks/reset`: the streak ends (no `streak.lost`: nothing was missed). A period
/// the user already met stays met, so a reset after today's activity starts the next
/// streak tomorrow, not with another event today.
pub struct ResetStreaks {
    pub tenant: TenantId,
    pub user_ids: Vec<String>,
}

impl Command for ResetStreaks {
    type Output = UsersOutcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<UsersOutcome, ApiError> {
        let def = ctx.env.settings.streaks.current();
        let mut out = UsersOutcome {
            users: Vec::new(),
            issues: Vec::new(),
        };
        for id in &self.user_ids {
            let loaded = match def.as_deref() {
                Some(def) => load_user(ctx, Rules::new(def), self.tenant, id)?,
                None => None,
            };
            match (def.as_deref(), loaded) {
                (Some(def), Some(mut loaded)) => {
                    loaded.streak.reset();
                    persist(ctx, Rules::new(def), &mut loaded)?;
                    out.users.push(id.clone());
                }
                _ => {
                    if crate::store::users::find(ctx.conn, self.tenant, id)?.is_some() {
                        // No streak configured: every streak is already 0.
                        out.users.push(id.clone());
                    } else {
                        out.issues.push(user_not_found(id));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// One requested pause, as sent.
pub struct PauseRequest {
    pub user_id: String,
    pub start: String,
    pub end: String,
}

/// `POST /streaks/pauses`: `start` not before today in the user's zone, `end >= start`.
pub struct CreatePauses {
    pub tenant: TenantId,
    pub pauses: Vec<PauseRequest>,
}

pub struct PausesOutcome {
    pub created: Vec<Value>,
    pub issues: Vec<Value>,
}

impl Command for CreatePauses {
    type Output = PausesOutcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<PausesOutcome, ApiError> {
        let mut out = PausesOutcome {
            created: Vec::new(),
            issues: Vec::new(),
        };
        let default_tz = ctx.env.settings.config.server.default_timezone;
        let now = ctx.now;
        for (index, p) in self.pauses.iter().enumerate() {
            let id = p.user_id.as_str();
            let invalid = |message: &str| {
                let mut i = issue(Some(id), message, "invalid_pause");
                i["index"] = json!(index);
                i
            };
            let Some(user) = crate::store::users::find(ctx.conn, self.tenant, id)? else {
                out.issues.push(user_not_found(id));
                continue;
            };
            let (Ok(start), Ok(end)) = (p.start.parse::<NaiveDate>(), p.end.parse::<NaiveDate>())
            else {
                out.issues
                    .push(invalid("start and end must be dates (YYYY-MM-DD)"));
                continue;
            };
            let today = crate::rules::local_time::local_date(now, user.time_zone(default_tz));
            if start < today {
                out.issues.push(invalid(
                    "start must not be before today in the user's time zone",
                ));
                continue;
            }
            if end < start {
                out.issues.push(invalid("end must not be before start"));
                continue;
            }
            let pause = Pause {
                uuid: uuid::Uuid::new_v4().to_string(),
                user_id: user.row_id,
                first_day: start,
                last_day: end,
            };
            store::insert_pause(ctx.conn, &pause, now.timestamp_millis())?;
            out.created.push(json!({
                "id": pause.uuid,
                "userId": user.id,
                "start": start.to_string(),
                "end": end.to_string(),
                "status": "active",
            }));
        }
        Ok(out)
    }
}

/// The streak pauses, whose bulk archive (`DELETE /streaks/pauses?ids=`) the Admin API sends.
pub struct Pauses;

impl Command for Archive<Pauses> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let mut out = Outcome::default();
        for id in &self.ids {
            if store::archive_pause(ctx.conn, self.tenant, id)? {
                out.items.push(json!({ "id": id }));
            } else {
                let mut i = issue(None, "Pause not found by ID", "not_found");
                i["id"] = json!(id);
                out.issues.push(i);
            }
        }
        Ok(out)
    }
}

/// `PATCH /streaks/settings`: only when trophy.toml does not declare `[streaks]`. A change
/// of frequency, conditions or days off recomputes every streak from the events.
pub struct UpdateSettings {
    pub tenant: TenantId,
    pub patch: StreakSettingsPatch,
}

impl Command for UpdateSettings {
    type Output = Value;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Value, ApiError> {
        let handle = ctx.env.settings.streaks.clone();
        if handle.managed_by_file() {
            return Err(ApiError::unprocessable("managed by trophy.toml"));
        }
        let base = handle.current();
        let def = self
            .patch
            .apply(base.as_deref())
            .map_err(ApiError::Unprocessable)?;
        if let Some(missing) = def
            .metrics
            .iter()
            .find(|m| ctx.catalog.metric(self.tenant, &m.metric).is_none())
        {
            return Err(ApiError::unprocessable(format!(
                "Metric not found: {}",
                echo(&missing.metric)
            )));
        }
        let now = ctx.now.timestamp_millis();
        settings::store(ctx.conn, &def, now)?;
        recompute::reconcile(ctx, Some(&def), now)?;
        let response = settings::view(Some(&def));
        ctx.after_commit(move || handle.replace(Some(def)));
        Ok(response)
    }
}
