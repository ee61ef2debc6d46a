//! Creating and updating users: `POST /users`, `PUT /users/{id}`, `PATCH /users/{id}`,
//! and the inline upsert every event and completion does.

use ring::rand::{SecureRandom, SystemRandom};

use crate::domain::ids::TenantId;
use crate::domain::user::{User, UserUpsert};
use crate::error::ApiError;
use crate::store;
use crate::writer::{Command, WriteCtx};

/// How an explicit user write treats a user that does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// POST and PUT: create it.
    Create,
    /// PATCH: 404.
    NotFound,
}

#[derive(Clone)]
pub struct UpsertUser {
    pub tenant: TenantId,
    pub upsert: UserUpsert,
    pub missing: Missing,
}

impl Command for UpsertUser {
    type Output = User;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<User, ApiError> {
        if self.missing == Missing::NotFound {
            store::users::existing(ctx.conn, self.tenant, self.upsert.id.as_str())?;
        }
        let upserted = upsert(ctx, self.tenant, &self.upsert, Touch::Row)?;
        crate::points::finish(ctx, &upserted.user, upserted.points)?;
        Ok(upserted.user)
    }
}

pub struct Upserted {
    pub user: User,
    pub created: bool,
    /// Awards of the user_creation triggers; the caller adds its own and finishes them.
    pub points: crate::points::UserPoints,
}

/// Finds or creates the user and applies the changes. Every path that names a user in
/// its body goes through here, so creation side effects happen exactly once.
/// How an upsert of an existing user records its time in `updated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// In the row, written even when no field changed.
    Row,
    /// By the event stored with it (`metric_totals.last_at`): the row is written only
    /// when a field changed, which saves a write of a large row on nearly every event.
    ByEvent,
}

pub fn upsert(
    ctx: &mut WriteCtx<'_>,
    tenant: TenantId,
    upsert: &UserUpsert,
    touch: Touch,
) -> Result<Upserted, ApiError> {
    let found = store::users::find(ctx.conn, tenant, upsert.id.as_str())?;
    upsert_found(ctx, tenant, upsert, touch, found)
}

/// [`upsert`] for a caller that has already looked the user up (`found`, read in this
/// command with nothing written to the user since).
pub fn upsert_found(
    ctx: &mut WriteCtx<'_>,
    tenant: TenantId,
    upsert: &UserUpsert,
    touch: Touch,
    found: Option<User>,
) -> Result<Upserted, ApiError> {
    let now = ctx.now.timestamp_millis();
    match found {
        Some(mut user) => {
            let before = user.clone();
            let old_tz = user.tz.clone();
            user.apply(&upsert.changes, now)?;
            refuse_future_sign_up(ctx, &user)?;
            let unchanged = User {
                updated: before.updated,
                ..user.clone()
            } == before;
            if !(unchanged && touch == Touch::ByEvent) {
                store::users::update(ctx.conn, &user)?;
            }
            if user.tz != old_tz {
                crate::streaks::on_time_zone_change(ctx, &user)?;
            }
            if user.tz != old_tz || user.sign_up_date != before.sign_up_date {
                crate::achievements::anniversary::on_user_changed(ctx, &user)?;
            }
            Ok(Upserted {
                user,
                created: false,
                points: Default::default(),
            })
        }
        None => {
            let ratio =
                crate::store::admin_settings::control_ratio(ctx.conn, &ctx.env.settings.config)?;
            let control = draw_control(ratio);
            let mut user = User::new(tenant, &upsert.id, control, now);
            user.apply(&upsert.changes, now)?;
            refuse_future_sign_up(ctx, &user)?;
            let user = store::users::insert(ctx.conn, &user)?;
            ctx.staged::<crate::activity::Pending>()
                .new_user(tenant, now);
            crate::streaks::on_user_created(ctx, &user)?;
            let points = crate::points::on_user_created(ctx, &user)?;
            if user.sign_up_date.is_some() {
                crate::achievements::anniversary::on_user_changed(ctx, &user)?;
            }
            Ok(Upserted {
                user,
                created: true,
                points,
            })
        }
    }
}

/// Trophy refuses a sign-up date after the user's local today.
fn refuse_future_sign_up(ctx: &WriteCtx<'_>, user: &User) -> Result<(), ApiError> {
    let default_tz = ctx.env.settings.config.server.default_timezone;
    if user.signed_up_in_future(ctx.now.timestamp_millis(), default_tz) {
        return Err(ApiError::unprocessable(
            "signUpDate must not be after today in the user's time zone",
        ));
    }
    Ok(())
}

/// Places a new user in the control group with probability `ratio`.
fn draw_control(ratio: f64) -> bool {
    if ratio <= 0.0 {
        return false;
    }
    let mut bytes = [0u8; 4];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        return false;
    }
    f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX) < ratio
}
