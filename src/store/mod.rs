//! SQL for the foundation's tables, as small functions over a `&Connection` that both the
//! writer (inside its transaction) and the readers call.

pub mod admin_settings;
pub mod definitions;
pub mod engagement;
pub mod events;
pub mod overview;
pub mod row_uuid;
pub mod tenants;
pub mod users;

/// `Ok(Name { a, b, … })` with each field read from the row's column at the field's position
/// in the list: `a` from column 0, `b` from column 1, and so on. For a struct that mirrors a
/// SELECT, so its fields are listed once, in the SELECT's order, rather than numbered one by
/// one. Up to 16 fields (rusqlite reads a row into a tuple of at most 16).
macro_rules! from_columns {
    ($row:expr => $name:ident { $($field:ident),+ $(,)? }) => {{
        let ($($field,)+) = ::std::convert::TryFrom::try_from($row)?;
        ::std::result::Result::Ok($name { $($field),+ })
    }};
}
pub(crate) use from_columns;

/// Every row `sql` selects with `params`, each read by `read` (`|r| r.try_into()` reads a
/// tuple), through the connection's statement cache.
pub fn all_rows<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    conn.prepare_cached(sql)?.query_map(params, read)?.collect()
}

/// A JSON column read back. Text that does not parse is an error naming `what` (the row),
/// never a value quietly replaced: the database was changed outside trophyd or is damaged.
pub fn stored_json(
    text: &str,
    what: impl std::fmt::Display,
) -> rusqlite::Result<serde_json::Value> {
    stored(text, what)
}

/// A JSON column read back into `T` (attributes, device tokens, sums), with the error of
/// [`stored_json`] when it does not parse as one.
pub fn stored<T: serde::de::DeserializeOwned>(
    text: &str,
    what: impl std::fmt::Display,
) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!(
                "{what} is not JSON ({e}); the database was changed outside trophyd or is damaged"
            )
            .into(),
        )
    })
}
