//! `GET /users/{id}/wrapped?year=` (docs/behaviour/wrapped.md).

use actix_web::{web, HttpResponse};
use chrono::Datelike;
use serde::Deserialize;

use super::extract::TenantState;
use crate::auth::UserPath;
use crate::error::ApiError;
use crate::rules::local_time::local_date;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/{id}/wrapped", web::get().to(wrapped));
}

#[derive(Deserialize)]
struct Query {
    year: Option<String>,
}

/// `year` as given, or the current local year; 1..=current, else 422.
fn year_of(raw: Option<&str>, current: i32) -> Result<i32, ApiError> {
    let year = match raw {
        None => current,
        Some(text) => text
            .trim()
            .parse::<i32>()
            .map_err(|_| ApiError::unprocessable("year must be an integer"))?,
    };
    if !(1..=current).contains(&year) {
        return Err(ApiError::unprocessable(format!(
            "year must be between 1 and {current}"
        )));
    }
    Ok(year)
}

async fn wrapped(
    state: TenantState,
    UserPath(id): UserPath,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.current();
    let settings = state.settings.clone();
    let now = state.clock.now();
    let year = query.into_inner().year;
    state
        .read_user_json(state.tenant, id, move |conn, user| {
            let tz = user.time_zone(settings.config.server.default_timezone);
            let year = year_of(year.as_deref(), local_date(now, tz).year())?;
            crate::wrapped::read::wrapped(
                conn,
                &catalog,
                &settings.streaks,
                (&user, tz),
                (year, now.date_naive()),
                &|from_ms, to_ms| {
                    crate::achievements::view::completed_between(
                        conn, &catalog, &user, from_ms, to_ms,
                    )
                },
            )
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_from_one_to_the_current_one() {
        assert_eq!(year_of(None, 2031).ok(), Some(2031));
        assert_eq!(year_of(Some("2030"), 2031).ok(), Some(2030));
        assert_eq!(year_of(Some("1"), 2031).ok(), Some(1));
        for bad in ["0", "2032", "-5", "20x", "", "99999999999"] {
            assert!(year_of(Some(bad), 2031).is_err(), "{bad}");
        }
    }
}
