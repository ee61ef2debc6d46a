//! SQL for the foundation's tables, as small functions over a `&Connection` that both the
//! writer (inside its transaction) and the readers call.

pub mod events;
pub mod overview;
pub mod row_uuid;
pub mod tenants;
pub mod users;
