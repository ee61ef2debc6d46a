//! Token buckets per key and tier (`[limits]`): 429 with `Retry-After` when empty.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// Events, achievement completions and the Admin API (Trophy's tier 1).
    Writes,
    /// Every other application route.
    Reads,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct RateLimiter {
    writes_per_second: u32,
    reads_per_second: u32,
    buckets: Mutex<HashMap<([u8; 32], Tier), Bucket>>,
}

impl RateLimiter {
    pub fn new(writes_per_second: u32, reads_per_second: u32) -> Self {
        RateLimiter {
            writes_per_second,
            reads_per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key` in `tier`. `Err(seconds)` says when to retry.
    pub fn take(&self, key: [u8; 32], tier: Tier, now: Instant) -> Result<(), u64> {
        let rate = match tier {
            Tier::Writes => self.writes_per_second,
            Tier::Reads => self.reads_per_second,
        };
        if rate == 0 {
            return Ok(());
        }
        let rate = f64::from(rate);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((key, tier)).or_insert(Bucket {
            tokens: rate,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_full_bucket_allows_a_burst_then_refuses_then_refills() {
        let limiter = RateLimiter::new(2, 0);
        let t0 = Instant::now();
        let key = [7u8; 32];
        assert!(limiter.take(key, Tier::Writes, t0).is_ok());
        assert!(limiter.take(key, Tier::Writes, t0).is_ok());
        assert_eq!(limiter.take(key, Tier::Writes, t0), Err(1));
        assert!(limiter
            .take(key, Tier::Writes, t0 + Duration::from_millis(600))
            .is_ok());
        // Reads are unlimited (0), and other keys have their own bucket.
        for _ in 0..100 {
            assert!(limiter.take(key, Tier::Reads, t0).is_ok());
        }
        assert!(limiter.take([8u8; 32], Tier::Writes, t0).is_ok());
    }
}
