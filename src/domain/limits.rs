//! Every limit on what a client may send, in one place; README "Input limits" lists them
//! with the ones the config validates. Past a limit the request is refused with
//! `{"error": ...}` naming the field and the limit, and nothing is stored.
//!
//! Trophy documents none of these for the fields below (its admin spec caps names and
//! customer ids at 255), so they are ours: generous for any real use, small enough that
//! one client cannot fill the database or the server's memory with one request.
//!
//! Bounds that are part of one rule stay with it: `numEvents` (routes/leaderboards.rs),
//! `historyPeriods` (streaks/read.rs), the event-summary range (rules/event_summary.rs),
//! admin paging (routes/admin/bulk.rs) and what the config validates.

/// A request body, in bytes (413 beyond): room for a 1,000-event batch.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The path and query of a URL, in bytes (414 beyond). Room for 100 user ids of 100
/// characters in `GET /streaks?userIds=`; actix itself refuses URLs of 64 KiB and more.
pub const MAX_URL_BYTES: usize = 16 * 1024;

/// A user id, in bytes: long enough for any id a customer's database produces.
pub const MAX_USER_ID_BYTES: usize = 1024;

/// A user's `name`, in characters, as the admin spec caps every other name.
pub const MAX_USER_NAME_CHARS: usize = 255;

/// A user's `email`, in characters: RFC 3696's 64 for the local part, 1 for `@` and 255
/// for the domain.
pub const MAX_EMAIL_CHARS: usize = 320;

/// Entries in a user's `deviceTokens`: every device one person signs in on.
pub const MAX_DEVICE_TOKENS: usize = 20;

/// One device token, in characters: APNs tokens are 64, FCM tokens about 160; 4,096
/// leaves room for any push service.
pub const MAX_DEVICE_TOKEN_CHARS: usize = 4096;

/// A user or event attribute value, in characters (values are labels such as a plan or a
/// country that leaderboards break down by and filters compare).
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 255;

/// An idempotency key (the `Idempotency-Key` header or a batch item's `idempotencyKey`),
/// in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// A tenant's `customerId` and `name`, in characters (the admin spec's `maxLength`).
pub const MAX_TENANT_FIELD_CHARS: usize = 255;

/// The name of a metric, attribute or points system created through the Admin API, in
/// characters (the admin spec's `maxLength` for names; boosts already had it).
pub const MAX_DEFINITION_NAME_CHARS: usize = 255;

/// User ids in one `GET /streaks?userIds=`.
pub const MAX_USER_IDS: usize = 100;

/// Items in one bulk admin request (docs/behaviour/admin-api.md#bulk-conventions).
pub const MAX_BULK_ITEMS: usize = 100;

/// Events in one `POST /admin/v1/metrics/events` (docs/behaviour/admin-api.md#batch-events).
pub const MAX_BATCH_EVENTS: usize = 1000;

/// Rows in one page of an Admin API log (`limit` of `/admin/v1/notifications/deliveries`).
pub const MAX_PAGE: i64 = 100;

/// The longest unsubscribe token accepted (`/emails/unsubscribe?token=`).
pub const MAX_UNSUBSCRIBE_TOKEN_CHARS: usize = 512;

/// Lines (records) in one file given to `trophyd import`: the events are sorted in memory
/// (about 200 bytes each), so 10 million is about 2 GB. Split larger histories by time.
pub const MAX_IMPORT_LINES: usize = 10_000_000;

/// One line (record) of an import file, in bytes: one event or user, as an API body for
/// one is, with room to spare.
pub const MAX_IMPORT_LINE_BYTES: usize = 64 * 1024;

/// Request bodies being read at once; past it a request with a body is answered 503 at
/// once. With the body timeout this bounds what slow clients can hold: at most this many
/// bodies of at most [`MAX_BODY_BYTES`] each.
pub const MAX_BODIES_IN_FLIGHT: usize = 512;

/// Checks that `value` has at most `max` characters; the error names `field` and the
/// limit.
pub fn check_chars(field: &str, value: &str, max: usize) -> Result<(), String> {
    // `len` counts bytes, never fewer than characters: the common short value needs no
    // count.
    if value.len() <= max || value.chars().count() <= max {
        Ok(())
    } else {
        Err(format!("{field} must be at most {max} characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_counted_not_bytes() {
        assert!(check_chars("name", "Ann", 3).is_ok());
        assert!(check_chars("name", "Anna", 3).is_err());
        // Three characters of two bytes each.
        assert!(check_chars("name", "ééé", 3).is_ok());
        assert_eq!(
            check_chars("name", &"x".repeat(256), MAX_USER_NAME_CHARS),
            Err("name must be at most 255 characters".into())
        );
        assert!(check_chars("name", "", 0).is_ok());
    }
}
