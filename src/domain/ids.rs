//! The internal row ids of a tenant (`tenants.id`), a user (`users.id`) and a definition
//! (`definitions.id`). All three are an `INTEGER` in SQLite and were a plain `i64` in Rust,
//! so a function taking `(tenant, user)` accepted them swapped without a word; each is its
//! own type here. They bind and read as the bare integer (the stored values are unchanged)
//! and cost nothing at run time.
//!
//! A value of these types comes from a SQLite column (`row.get`) or from another id.
//! `from_raw` is for the few places that read one elsewhere (`last_insert_rowid`, a signed
//! token, a name stored as text), and `get` for the few that need the number itself
//! (arithmetic, bytes, a dynamically typed parameter list).

use std::fmt;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// An id read from somewhere other than a typed SQLite column (`last_insert_rowid`,
            /// a signed token, text), or a cursor bound (0 comes before every row): the
            /// caller vouches that it is this kind of id.
            pub const fn from_raw(raw: i64) -> $name {
                $name(raw)
            }

            /// The integer, for arithmetic or bytes: not for passing on as another id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
    };
}

row_id!(
    /// `tenants.id`.
    TenantId
);

impl TenantId {
    /// The owner of a definition shared by every tenant: its `definitions.tenant_id` is
    /// NULL, read back as `ifnull(tenant_id, 0)`.
    pub const SHARED: TenantId = TenantId(0);
}

row_id!(
    /// `users.id`: the row of one user of one tenant, never the customer's `UserId`.
    UserRow
);

row_id!(
    /// `definitions.id`: a metric, attribute, achievement, points system, trigger, level,
    /// boost or leaderboard, all rows of one table.
    DefinitionId
);

/// Ids the unit tests of many modules name, written once.
#[cfg(test)]
pub mod fixtures {
    use super::{DefinitionId, TenantId, UserRow};

    pub const T1: TenantId = TenantId(1);
    pub const T2: TenantId = TenantId(2);
    pub const T7: TenantId = TenantId(7);
    pub const U0: UserRow = UserRow(0);
    pub const U1: UserRow = UserRow(1);
    pub const U2: UserRow = UserRow(2);
    pub const U3: UserRow = UserRow(3);
    pub const U9: UserRow = UserRow(9);
    pub const D1: DefinitionId = DefinitionId(1);
    pub const D7: DefinitionId = DefinitionId(7);
    pub const D9: DefinitionId = DefinitionId(9);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{params, Connection};

    #[test]
    fn ids_round_trip_through_sqlite_as_plain_integers() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE t (tenant INTEGER, user INTEGER, def INTEGER)")?;
        let (tenant, user, def) = (
            TenantId::from_raw(7),
            UserRow::from_raw(-3),
            DefinitionId::from_raw(i64::MAX),
        );
        conn.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3)",
            params![tenant, user, def],
        )?;

        let back: (TenantId, UserRow, DefinitionId) =
            conn.query_row("SELECT tenant, user, def FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        assert_eq!(back, (tenant, user, def));

        // Stored as the bare integer: the column's type and value are what an i64 gives.
        let raw: (String, i64, i64, i64) =
            conn.query_row("SELECT typeof(tenant), tenant, user, def FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        assert_eq!(raw, ("integer".to_owned(), 7, -3, i64::MAX));
        let matched: i64 = conn.query_row(
            "SELECT count(*) FROM t WHERE tenant = ?1 AND user = ?2",
            params![7_i64, -3_i64],
            |r| r.get(0),
        )?;
        assert_eq!(matched, 1);
        Ok(())
    }

    #[test]
    fn a_non_integer_column_is_an_error_not_an_id() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        let read = conn.query_row("SELECT 'seven'", [], |r| r.get::<_, TenantId>(0));
        assert!(matches!(read, Err(rusqlite::Error::InvalidColumnType(..))));
        let null = conn.query_row("SELECT NULL", [], |r| r.get::<_, Option<UserRow>>(0))?;
        assert_eq!(null, None);
        Ok(())
    }

    #[test]
    fn display_is_the_bare_number() {
        assert_eq!(TenantId::from_raw(12).to_string(), "12");
        assert_eq!(UserRow::from_raw(-1).to_string(), "-1");
        assert_eq!(format!("{:>4}", DefinitionId::from_raw(5)), "   5");
        assert_eq!(DefinitionId::from_raw(5).get(), 5);
    }
}
