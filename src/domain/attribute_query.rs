//! The `userAttributes` query format `key:value,key2:value2`
//! (docs/behaviour/users-and-events.md#user-attributes): split on `,`, then on the first
//! `:`. A pair without a key or without `:` is refused with 422.

use crate::error::{echo, ApiError};

pub fn parse(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    raw.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| match part.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(ApiError::unprocessable(format!(
                "userAttributes must look like key:value,key2:value2; could not read \"{}\"",
                echo(part)
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_on_the_first_colon() {
        assert_eq!(
            parse("plan:premium,region:us:east").expect("parse"),
            vec![
                ("plan".into(), "premium".into()),
                ("region".into(), "us:east".into())
            ]
        );
        assert!(parse("").expect("empty").is_empty());
        assert!(matches!(parse("plan"), Err(ApiError::Unprocessable(_))));
        assert!(matches!(parse(":x"), Err(ApiError::Unprocessable(_))));
    }
}
