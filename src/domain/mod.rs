//! Input parsed once into types that cannot hold invalid values ("parse, don't validate").

pub mod attribute_query;
pub mod attributes;
pub mod bulk;
pub mod choices;
pub mod event_facts;
pub mod field;
pub mod ids;
pub mod limits;
pub mod number;
pub mod preferences;
pub mod time_zone;
pub mod user;
pub mod user_id;
pub mod user_scope;
