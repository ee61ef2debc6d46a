//! What the authentication middleware checks a request against, registered as its own
//! application data: the middleware needs the keys, tenants and rate limits, not the whole
//! application state (which sits above every module and would make `auth` depend on it).

use super::{KeyRing, RateLimiter, TenantDirectory, UserKeys};

pub struct Gate {
    pub keys: KeyRing,
    /// Active tenants by customer id (refreshed after tenant changes).
    pub tenants: TenantDirectory,
    /// Active per-user keys (refreshed after key changes).
    pub user_keys: UserKeys,
    pub rate_limiter: RateLimiter,
    pub multi_tenant: bool,
}
