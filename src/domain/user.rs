//! A user as Trophy sees it, and the update rules every upsert path shares (event,
//! achievement completion, POST, PUT and PATCH; docs/behaviour/users-and-events.md#upsert-rules).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{json, Value};

use super::attributes::{check_keys, check_values, AttributeKeys};
use super::field::Field;
use super::ids::{TenantId, UserRow};
use super::limits::{
    check_chars, MAX_DEVICE_TOKENS, MAX_DEVICE_TOKEN_CHARS, MAX_EMAIL_CHARS, MAX_USER_NAME_CHARS,
};
use super::time_zone::parse_time_zone;
use super::user_id::UserId;
use super::user_scope::UserScope;
use crate::clock::{format_timestamp, from_millis};
use crate::domain::attributes::AttributeType;
use crate::error::ApiError;
use crate::rules::anniversary::parse_sign_up_date;
use crate::rules::local_time::local_date;

/// The editable fields as they arrive (`UpdatedUser` in the spec).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFieldsInput {
    #[serde(default)]
    pub email: Field<String>,
    #[serde(default)]
    pub name: Field<String>,
    #[serde(default)]
    pub tz: Field<String>,
    #[serde(default)]
    pub device_tokens: Field<Vec<String>>,
    /// The docs spell it both ways; both are accepted, only one is ever written.
    #[serde(default, alias = "subscribedToEmails")]
    pub subscribe_to_emails: Field<bool>,
    #[serde(default)]
    pub attributes: Field<BTreeMap<String, String>>,
    /// SDK 1.27.0 (newer than the 1.21.1 spec): what anniversary achievements count from.
    #[serde(default)]
    pub sign_up_date: Field<String>,
}

/// `UpsertedUser`: the fields plus the id. The id is private: it is read only once a
/// [`UserScope`] admitted it ([`UpsertedUserInput::admit`]), so a route cannot act for a
/// user named in a body without the per-user key check.
#[derive(Debug, Deserialize)]
pub struct UpsertedUserInput {
    id: String,
    #[serde(flatten)]
    pub fields: UserFieldsInput,
}

/// Fields that passed validation against the catalog.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub email: Field<String>,
    pub name: Field<String>,
    pub tz: Field<Tz>,
    pub device_tokens: Field<Vec<String>>,
    pub subscribe_to_emails: Field<bool>,
    pub attributes: BTreeMap<String, String>,
    pub sign_up_date: Field<NaiveDate>,
}

impl UserFieldsInput {
    pub fn validate(
        self,
        catalog: &impl AttributeKeys,
        tenant: TenantId,
    ) -> Result<UserChanges, ApiError> {
        let attributes = match self.attributes {
            Field::Value(map) => map,
            Field::Absent | Field::Null => BTreeMap::new(),
        };
        check_keys(catalog, tenant, AttributeType::User, &attributes)?;
        check_values("attributes", &attributes)?;
        check_lengths(&self.name, &self.email, &self.device_tokens)
            .map_err(ApiError::Unprocessable)?;
        let tz = match self.tz {
            Field::Value(name) => Field::Value(parse_time_zone(&name)?),
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        };
        let sign_up_date = match self.sign_up_date {
            Field::Value(text) => {
                Field::Value(parse_sign_up_date(&text).map_err(ApiError::unprocessable)?)
            }
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        };
        Ok(UserChanges {
            email: self.email,
            name: self.name,
            tz,
            device_tokens: self.device_tokens,
            subscribe_to_emails: self.subscribe_to_emails,
            attributes,
            sign_up_date,
        })
    }
}

/// The limits of `domain::limits` on the free-text fields.
fn check_lengths(
    name: &Field<String>,
    email: &Field<String>,
    device_tokens: &Field<Vec<String>>,
) -> Result<(), String> {
    if let Field::Value(name) = name {
        check_chars("name", name, MAX_USER_NAME_CHARS)?;
    }
    if let Field::Value(email) = email {
        check_chars("email", email, MAX_EMAIL_CHARS)?;
    }
    if let Field::Value(tokens) = device_tokens {
        if tokens.len() > MAX_DEVICE_TOKENS {
            return Err(format!(
                "deviceTokens must hold at most {MAX_DEVICE_TOKENS} tokens"
            ));
        }
        for (i, token) in tokens.iter().enumerate() {
            check_chars(&format!("deviceTokens[{i}]"), token, MAX_DEVICE_TOKEN_CHARS)?;
        }
    }
    Ok(())
}

/// A validated upsert: who, and what to change.
#[derive(Debug, Clone)]
pub struct UserUpsert {
    pub id: UserId,
    pub changes: UserChanges,
}

impl UpsertedUserInput {
    pub fn new(id: String, fields: UserFieldsInput) -> UpsertedUserInput {
        UpsertedUserInput { id, fields }
    }

    /// The upsert, if `scope` may act for its user (403 otherwise). Only the scope is
    /// checked here; the id and fields are checked by [`AdmittedUpsert::validate`], so a
    /// handler can refuse another user before anything else it checks.
    pub fn admit(self, scope: &UserScope) -> Result<AdmittedUpsert, ApiError> {
        scope.check(&self.id)?;
        Ok(AdmittedUpsert {
            id: self.id,
            fields: self.fields,
        })
    }

    /// For callers that act for every user by construction (the admin key's routes,
    /// `trophyd import`): `admit(&UserScope::Every)`, which cannot fail.
    pub fn unscoped(self) -> AdmittedUpsert {
        AdmittedUpsert {
            id: self.id,
            fields: self.fields,
        }
    }
}

/// An upsert whose user the caller may act for, not yet validated.
#[derive(Debug)]
pub struct AdmittedUpsert {
    id: String,
    pub fields: UserFieldsInput,
}

impl AdmittedUpsert {
    /// The id as given (not yet parsed).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn validate(
        self,
        catalog: &impl AttributeKeys,
        tenant: TenantId,
    ) -> Result<UserUpsert, ApiError> {
        Ok(UserUpsert {
            id: UserId::parse(&self.id)?,
            changes: self.fields.validate(catalog, tenant)?,
        })
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Internal integer id.
    pub row_id: UserRow,
    pub tenant_id: TenantId,
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub tz: Option<String>,
    pub device_tokens: Option<Vec<String>>,
    pub subscribe_to_emails: bool,
    pub attributes: BTreeMap<String, String>,
    pub control: bool,
    pub sign_up_date: Option<NaiveDate>,
    /// Milliseconds since the epoch.
    pub created: i64,
    pub updated: i64,
}

impl User {
    /// A user that does not exist yet; `row_id` is filled in when it is inserted.
    pub fn new(tenant_id: TenantId, id: &UserId, control: bool, now_ms: i64) -> User {
        User {
            row_id: UserRow::from_raw(0),
            tenant_id,
            id: id.as_str().to_owned(),
            email: None,
            name: None,
            tz: None,
            device_tokens: None,
            subscribe_to_emails: true,
            attributes: BTreeMap::new(),
            control,
            sign_up_date: None,
            created: now_ms,
            updated: now_ms,
        }
    }

    /// Applies `changes` by Trophy's rules. Nothing is changed when it fails.
    pub fn apply(&mut self, changes: &UserChanges, now_ms: i64) -> Result<(), ApiError> {
        let mut next = self.clone();
        changes.email.clone().apply_to(&mut next.email);
        changes.name.clone().apply_to(&mut next.name);
        changes
            .tz
            .clone()
            .map(|tz| tz.name().to_owned())
            .apply_to(&mut next.tz);
        changes
            .device_tokens
            .clone()
            .apply_to(&mut next.device_tokens);
        if let Field::Value(subscribe) = changes.subscribe_to_emails {
            next.subscribe_to_emails = subscribe;
        }
        changes
            .sign_up_date
            .clone()
            .apply_to(&mut next.sign_up_date);
        for (k, v) in &changes.attributes {
            next.attributes.insert(k.clone(), v.clone());
        }
        if changes.subscribe_to_emails == Field::Value(true) && next.email.is_none() {
            return Err(ApiError::unprocessable(
                "Email is required when subscribeToEmails is true",
            ));
        }
        // Trophy keeps no address for users who opted out of its emails.
        if !next.subscribe_to_emails {
            next.email = None;
        }
        next.updated = now_ms;
        *self = next;
        Ok(())
    }

    /// The user's zone, falling back to the server default.
    pub fn time_zone(&self, default: Tz) -> Tz {
        self.tz
            .as_deref()
            .and_then(|name| name.parse().ok())
            .unwrap_or(default)
    }

    /// Whether the sign-up date lies after the user's local today, which Trophy refuses.
    pub fn signed_up_in_future(&self, now_ms: i64, default: Tz) -> bool {
        self.sign_up_date
            .is_some_and(|d| d > local_date(from_millis(now_ms), self.time_zone(default)))
    }

    /// The spec's `User` object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "tz": self.tz,
            "deviceTokens": self.device_tokens,
            "subscribeToEmails": self.subscribe_to_emails,
            "attributes": self.attributes,
            "control": self.control,
            "signUpDate": self.sign_up_date.map(|d| d.to_string()),
            "created": format_timestamp(from_millis(self.created)),
            "updated": format_timestamp(from_millis(self.updated)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::ids::fixtures::T1;

    fn user() -> User {
        User::new(T1, &UserId::parse("u1").expect("id"), false, 0)
    }

    #[test]
    fn absent_fields_are_kept_and_null_clears() {
        let mut u = user();
        u.tz = Some("Europe/London".into());
        u.name = Some("Ann".into());
        let changes = UserChanges {
            tz: Field::Null,
            ..Default::default()
        };
        u.apply(&changes, 5).expect("apply");
        assert_eq!(u.tz, None);
        assert_eq!(u.name.as_deref(), Some("Ann"));
        assert_eq!(u.updated, 5);
    }

    #[test]
    fn attributes_merge_key_by_key() {
        let mut u = user();
        u.attributes.insert("plan".into(), "free".into());
        u.attributes.insert("team".into(), "a".into());
        let mut changes = UserChanges::default();
        changes.attributes.insert("plan".into(), "pro".into());
        u.apply(&changes, 1).expect("apply");
        assert_eq!(u.attributes.get("plan").map(String::as_str), Some("pro"));
        assert_eq!(u.attributes.get("team").map(String::as_str), Some("a"));
    }

    #[test]
    fn subscribing_without_an_email_is_refused_and_changes_nothing() {
        let mut u = user();
        let before = u.clone();
        let changes = UserChanges {
            subscribe_to_emails: Field::Value(true),
            name: Field::Value("Bob".into()),
            ..Default::default()
        };
        assert!(matches!(
            u.apply(&changes, 1),
            Err(ApiError::Unprocessable(_))
        ));
        assert_eq!(u, before);
    }

    #[test]
    fn unsubscribing_drops_the_email() {
        let mut u = user();
        let changes = UserChanges {
            email: Field::Value("a@b.c".into()),
            subscribe_to_emails: Field::Value(false),
            ..Default::default()
        };
        u.apply(&changes, 1).expect("apply");
        assert_eq!(u.email, None);
        assert!(!u.subscribe_to_emails);
    }

    #[test]
    fn free_text_fields_are_limited() {
        let value = |s: String| Field::Value(s);
        let ok = check_lengths(
            &value("n".repeat(MAX_USER_NAME_CHARS)),
            &value("e".repeat(MAX_EMAIL_CHARS)),
            &Field::Value(vec!["t".repeat(MAX_DEVICE_TOKEN_CHARS); MAX_DEVICE_TOKENS]),
        );
        assert_eq!(ok, Ok(()));
        let none = Field::Absent;
        let name = check_lengths(&value("n".repeat(256)), &none, &Field::Absent);
        assert_eq!(name, Err("name must be at most 255 characters".into()));
        let email = check_lengths(&none, &value("e".repeat(321)), &Field::Absent);
        assert_eq!(email, Err("email must be at most 320 characters".into()));
        let many = check_lengths(&none, &none, &Field::Value(vec![String::new(); 21]));
        assert_eq!(many, Err("deviceTokens must hold at most 20 tokens".into()));
        let long = check_lengths(
            &none,
            &none,
            &Field::Value(vec!["a".into(), "t".repeat(4097)]),
        );
        assert_eq!(
            long,
            Err("deviceTokens[1] must be at most 4096 characters".into())
        );
    }

    #[test]
    fn json_has_every_required_key() {
        let v = user().to_json();
        for key in [
            "id",
            "email",
            "name",
            "tz",
            "subscribeToEmails",
            "attributes",
            "control",
            "created",
            "updated",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["created"], "1970-01-01T00:00:00Z");
    }
}
