//! An IANA time zone name that chrono-tz knows.

use chrono_tz::Tz;

use crate::error::{echo, ApiError};

pub fn parse_time_zone(name: &str) -> Result<Tz, ApiError> {
    name.parse::<Tz>()
        .map_err(|_| ApiError::unprocessable(format!("Invalid time zone: {}", echo(name))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_parse_and_others_are_422() {
        assert_eq!(
            parse_time_zone("Asia/Kolkata").ok(),
            Some(chrono_tz::Asia::Kolkata)
        );
        assert!(matches!(
            parse_time_zone("Mars/Olympus"),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            parse_time_zone(""),
            Err(ApiError::Unprocessable(_))
        ));
    }
}
