//! `GET /achievements`, `POST /achievements/{key}/complete`, `GET /users/{id}/achievements`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use super::extract::{AttributesQuery, KeySegment, TenantState};
use crate::achievements::{store, view};
use crate::auth::{RequireKey, Tier, UserPath};
use crate::commands::complete_achievement::CompleteAchievement;
use crate::config::AchievementStatus;
use crate::domain::user::UpsertedUserInput;
use crate::domain::user_scope::UserScope;
use crate::error::ApiError;
use crate::rules::achievements::{filters_match, rarity};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/achievements", web::get().to(all))
        .route("/users/{id}/achievements", web::get().to(of_user));
}

/// Completing an achievement, a write of Trophy's tier 1 (docs/behaviour/api.md#rate-limits).
pub fn configure_writes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/achievements/{key}/complete")
            .wrap(RequireKey::application(Tier::Writes))
            .route(web::post().to(complete)),
    );
}

/// Every active achievement with its completions and rarity in this tenant.
async fn all(
    state: TenantState,
    query: web::Query<AttributesQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.filter()?;
    let catalog = state.catalog.current();
    state
        .read_json(move |conn| {
            let counts = store::counts(conn, state.tenant)?;
            let users = crate::store::users::count(conn, state.tenant)?;
            Ok(catalog
                .achievements_for(state.tenant)
                .filter(|a| a.status == AchievementStatus::Active)
                // "Accessible to a user with the provided attributes": every filter pair of
                // the achievement appears among the attributes given.
                .filter(|a| match &filter {
                    None => true,
                    Some(given) => a.user_attributes.iter().all(|pair| given.contains(pair)),
                })
                .map(|a| {
                    let completions = counts.get(&a.id).copied().unwrap_or(0);
                    view::with_stats(
                        Value::Object(view::achievement(a, &catalog, state.tenant)),
                        completions,
                        rarity(completions, users),
                    )
                })
                .collect::<Vec<_>>())
        })
        .await
}

#[derive(Deserialize)]
struct CompleteBody {
    user: UpsertedUserInput,
}

async fn complete(
    state: TenantState,
    scope: UserScope,
    key: web::Path<KeySegment>,
    body: web::Json<CompleteBody>,
) -> Result<HttpResponse, ApiError> {
    let user = state.validated(body.into_inner().user.admit(&scope)?)?;
    let response = state
        .writer
        .execute(CompleteAchievement {
            tenant: state.tenant,
            key: key.into_inner().key,
            user,
        })
        .await?;
    Ok(HttpResponse::Created().json(response))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserQuery {
    include_incomplete: Option<String>,
}

/// Completed achievements (locked ones included) by completion time, then — with
/// `includeIncomplete=true` — the active ones the user may still complete.
async fn of_user(
    state: TenantState,
    UserPath(id): UserPath,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, ApiError> {
    let include_incomplete = query.include_incomplete.as_deref() == Some("true");
    let catalog = state.catalog.current();
    state
        .read_user_json(state.tenant, id, move |conn, user| {
            let counts = store::counts(conn, state.tenant)?;
            let users = crate::store::users::count(conn, state.tenant)?;
            let completed = store::completed(conn, user.row_id)?;
            let stats = |a: &crate::catalog::Achievement, at: Option<i64>| {
                let completions = counts.get(&a.id).copied().unwrap_or(0);
                view::with_stats(
                    view::user_achievement(a, &catalog, state.tenant, at),
                    completions,
                    rarity(completions, users),
                )
            };
            let mut out = Vec::new();
            for (achievement_id, at) in &completed {
                if let Some(a) = catalog
                    .achievements_for(state.tenant)
                    .find(|a| a.id == *achievement_id)
                {
                    if a.status != AchievementStatus::Inactive {
                        out.push(stats(a, Some(*at)));
                    }
                }
            }
            if include_incomplete {
                for a in catalog.achievements_for(state.tenant) {
                    let done = completed.iter().any(|(id, _)| *id == a.id);
                    if !done
                        && a.status == AchievementStatus::Active
                        && filters_match(&a.user_attributes, &user.attributes)
                    {
                        out.push(stats(a, None));
                    }
                }
            }
            Ok(out)
        })
        .await
}
