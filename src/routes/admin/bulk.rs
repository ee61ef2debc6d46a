//! Conventions every bulk admin route shares
//! (docs/behaviour/admin-api.md#bulk-conventions): at most 100 items,
//! `{created|updated|deleted, issues}`, 201 when something was created, `?ids=` lists, and
//! `limit`/`skip` paging.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::bulk::{Archive, BulkWrite, Outcome};
use crate::error::ApiError;
use crate::routes::extract::TenantState;
use crate::writer::Command;

pub use crate::domain::limits::MAX_BULK_ITEMS as MAX_ITEMS;

pub fn check_count(len: usize) -> Result<(), ApiError> {
    if len == 0 || len > MAX_ITEMS {
        return Err(ApiError::unprocessable(format!(
            "Provide between 1 and {MAX_ITEMS} items"
        )));
    }
    Ok(())
}

/// `?ids=a&ids=b` or `?ids=a,b` (form-decoded: `%2C` is a comma, `+` a space).
pub fn ids(req: &HttpRequest) -> Result<Vec<String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::bad_request(format!("Invalid query string: {e}")))?;
    let out: Vec<String> = pairs
        .iter()
        .filter(|(key, _)| key == "ids")
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    check_count(out.len())
        .map_err(|_| ApiError::unprocessable(format!("Provide between 1 and {MAX_ITEMS} ids")))?;
    Ok(out)
}

#[derive(Deserialize)]
pub struct Paging {
    limit: Option<i64>,
    skip: Option<i64>,
}

impl Paging {
    pub fn limit_skip(&self) -> Result<(i64, i64), ApiError> {
        let limit = self.limit.unwrap_or(10);
        let skip = self.skip.unwrap_or(0);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::unprocessable("limit must be between 1 and 100"));
        }
        if skip < 0 {
            return Err(ApiError::unprocessable("skip must not be negative"));
        }
        Ok((limit, skip))
    }

    /// The page of `items` (in their order) this paging asks for.
    pub fn page<T>(&self, items: impl Iterator<Item = T>) -> Result<Vec<T>, ApiError> {
        let (limit, skip) = self.limit_skip()?;
        Ok(items
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(0))
            .collect())
    }
}

pub fn created(items: Vec<Value>, issues: Vec<Value>) -> HttpResponse {
    let status = if items.is_empty() {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    let mut status = status;
    status.json(json!({ "created": items, "issues": issues }))
}

pub fn updated(items: Vec<Value>, issues: Vec<Value>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "updated": items, "issues": issues }))
}

pub fn deleted(items: Vec<Value>, issues: Vec<Value>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "deleted": items, "issues": issues }))
}

/// The answer to a bulk create (`created`) or update (`updated`).
pub fn written(creates: bool, out: Outcome) -> HttpResponse {
    if creates {
        created(out.items, out.issues)
    } else {
        updated(out.items, out.issues)
    }
}

/// `POST` of a bulk create (201 with what was created, or 200 when nothing was) or `PATCH`
/// of a bulk update.
pub async fn write<C: BulkWrite + Command<Output = Outcome>>(
    state: TenantState,
    body: web::Json<Vec<Value>>,
) -> Result<HttpResponse, ApiError> {
    check_count(body.len())?;
    let out = state
        .writer
        .execute(C::new(state.tenant, body.into_inner()))
        .await?;
    Ok(written(C::CREATES, out))
}

/// `DELETE ?ids=` of a bulk archive of the kind `K`.
pub async fn archive<K: Send + 'static>(
    state: TenantState,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError>
where
    Archive<K>: Command<Output = Outcome>,
{
    let out = state
        .writer
        .execute(Archive::new(state.tenant, ids(&req)?))
        .await?;
    Ok(deleted(out.items, out.issues))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids_of(query: &str) -> Result<Vec<String>, ApiError> {
        ids(&actix_web::test::TestRequest::with_uri(&format!("/x?{query}")).to_http_request())
    }

    #[test]
    fn ids_are_form_decoded_split_at_commas_and_repeatable() {
        let got = ids_of("ids=a%2Cb&other=1&ids=c+d&ids=100%25&ids=%zz,%C3%A9").expect("ids");
        assert_eq!(got, ["a", "b", "c d", "100%", "%zz", "é"]);
        assert!(ids_of("other=1").is_err(), "no ids at all");
        assert!(ids_of("ids=,,").is_err(), "only empty ids");
    }
}
