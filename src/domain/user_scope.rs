//! Which users a caller may act for (docs/behaviour/api.md#application-keys): a per-user
//! application key acts for its own user only, anything else is 403. Application handlers
//! get a [`UserId`] only from here (a path's `{id}`, a `userIds` list) or from
//! [`UpsertedUserInput::admit`](super::user::UpsertedUserInput::admit) (a body's user), so
//! no route can act for a user without the check.

use super::user_id::UserId;
use crate::error::ApiError;

/// The one refusal, whatever named the other user.
pub const NOT_YOUR_USER: &str = "API key is not authorized for this user";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserScope {
    /// Organisation keys (application and admin), and callers outside HTTP: every user.
    Every,
    /// A per-user application key: the user it was created for (`users.external_id`).
    One(String),
}

impl UserScope {
    /// Refuses an id that is not the caller's. The id is compared as given, before it is
    /// parsed, so an id that would not parse is refused like any other user's.
    pub fn check(&self, raw: &str) -> Result<(), ApiError> {
        match self {
            UserScope::Every => Ok(()),
            UserScope::One(own) if own == raw => Ok(()),
            UserScope::One(_) => Err(ApiError::Forbidden(NOT_YOUR_USER.into())),
        }
    }

    /// The user a path or query names, if the caller may act for them.
    pub fn admit(&self, raw: &str) -> Result<UserId, ApiError> {
        self.check(raw)?;
        UserId::parse(raw)
    }

    /// A list of users (`GET /streaks?userIds=`): all of them the caller's, or 403. The
    /// ids come back unparsed, as the bulk read takes them (an unknown id is a zero row
    /// there, not an error).
    pub fn admit_each(&self, ids: Vec<String>) -> Result<Vec<String>, ApiError> {
        for id in &ids {
            self.check(id)?;
        }
        Ok(ids)
    }

    /// A user named only to place a page of a view every caller may read whole (the
    /// leaderboard page around `userId`): not held to the scope, because the page shows
    /// nothing the caller could not read by paging (docs/behaviour/api.md#application-keys:
    /// leaderboards are allowed).
    pub fn admit_to_public_view(&self, raw: &str) -> Result<UserId, ApiError> {
        UserId::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(result: Result<impl std::fmt::Debug, ApiError>) -> bool {
        matches!(result, Err(ApiError::Forbidden(m)) if m == NOT_YOUR_USER)
    }

    #[test]
    fn a_per_user_scope_admits_its_own_user_only() {
        let ann = UserScope::One("ann".into());
        assert_eq!(ann.admit("ann").ok(), UserId::parse("ann").ok());
        assert!(refused(ann.admit("bob")));
        // Compared as given: no trimming, case folding or decoding.
        assert!(refused(ann.admit(" ann")));
        assert!(refused(ann.admit("Ann")));
        assert!(refused(ann.admit("a%6En")));
        // An id that would not parse is another user's first.
        assert!(refused(ann.admit("  ")));
        assert!(refused(ann.admit(&"x".repeat(1000))));
    }

    #[test]
    fn every_scope_admits_any_parseable_id() {
        assert_eq!(
            UserScope::Every.admit("bob").ok(),
            UserId::parse("bob").ok()
        );
        assert!(matches!(
            UserScope::Every.admit("  "),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn a_list_is_admitted_whole_or_refused() {
        let ann = UserScope::One("ann".into());
        let ids = vec!["ann".to_owned(), "ann".to_owned()];
        assert_eq!(ann.admit_each(ids.clone()).ok(), Some(ids));
        assert!(refused(ann.admit_each(vec!["ann".into(), "bob".into()])));
        assert_eq!(
            UserScope::Every
                .admit_each(vec!["bob".into(), "carol".into()])
                .ok()
                .map(|v| v.len()),
            Some(2)
        );
    }

    #[test]
    fn a_public_view_is_placed_around_anyone() {
        let ann = UserScope::One("ann".into());
        assert_eq!(
            ann.admit_to_public_view("bob").ok(),
            UserId::parse("bob").ok()
        );
    }
}
