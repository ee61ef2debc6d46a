//! The customer's own identifier for a user.

use super::limits::MAX_USER_ID_BYTES as MAX_LEN;
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<UserId, ApiError> {
        if raw.trim().is_empty() {
            return Err(ApiError::bad_request("user id must be a non-empty string"));
        }
        if raw.len() > MAX_LEN {
            return Err(ApiError::unprocessable(format!(
                "user id must be at most {MAX_LEN} bytes"
            )));
        }
        Ok(UserId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_oversized_ids_are_refused() {
        assert!(matches!(UserId::parse(""), Err(ApiError::BadRequest(_))));
        assert!(matches!(UserId::parse("  "), Err(ApiError::BadRequest(_))));
        assert!(matches!(
            UserId::parse(&"x".repeat(MAX_LEN + 1)),
            Err(ApiError::Unprocessable(_))
        ));
        assert_eq!(
            UserId::parse("user-1").map(|u| u.as_str().to_owned()).ok(),
            Some("user-1".into())
        );
    }
}
