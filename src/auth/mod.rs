//! Who is calling: API keys, the tenant they act for, and their rate limits.

mod gate;
mod generated;
mod keyring;
mod middleware;
mod rate_limit;
mod tenancy;
pub mod user_keys;
mod user_scope;

pub use gate::Gate;
pub use generated::ensure_keys;
pub use keyring::{KeyKind, KeyRing};
pub use middleware::{RequestContext, RequireKey, Tenant};
pub use rate_limit::{RateLimiter, Tier};
pub use tenancy::TenantDirectory;
pub use user_keys::{UserKey, UserKeys};
pub use user_scope::UserPath;
