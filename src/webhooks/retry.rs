//! When a failed delivery is tried again (docs/interface.md#webhook-requests): exponential
//! backoff from the endpoint's `initial_backoff_seconds`, doubling, plus up to 10% jitter,
//! for at least `retry_for_hours` after the row was created; then it is given up.

use chrono::{DateTime, Duration, Utc};

/// Jitter adds up to this fraction of the delay, so receivers recovering from an outage
/// are not hit by every retry in the same second (and tests can wait delay × 1.1 + 1 s).
pub const MAX_JITTER: f64 = 0.1;

/// No single wait is longer than a day, however long the retry period.
const MAX_DELAY_MS: i64 = 24 * 3600 * 1000;

/// The wait after the `failed_attempts`-th failure (1-based): initial × 2^(n−1), capped,
/// plus `jitter` × that (`jitter` in [0, 1) scaled to at most [`MAX_JITTER`]).
pub fn delay(initial_seconds: u32, failed_attempts: u32, jitter: f64) -> Duration {
    let doublings = failed_attempts.saturating_sub(1).min(40);
    let base = (i64::from(initial_seconds) * 1000)
        .saturating_mul(1i64 << doublings)
        .min(MAX_DELAY_MS);
    let extra = (base as f64 * MAX_JITTER * jitter.clamp(0.0, 1.0)) as i64;
    Duration::milliseconds(base + extra)
}

/// When to try again after a failure at `now`, or None to give up. Retries continue until
/// an attempt fails at or after `created + retry_for_hours`; the last wait is shortened so
/// that final attempt falls exactly on that deadline.
pub fn next_attempt(
    created: DateTime<Utc>,
    now: DateTime<Utc>,
    failed_attempts: u32,
    initial_seconds: u32,
    retry_for_hours: u32,
    jitter: f64,
) -> Option<DateTime<Utc>> {
    let deadline = created + Duration::hours(i64::from(retry_for_hours));
    if now >= deadline {
        return None;
    }
    Some((now + delay(initial_seconds, failed_attempts, jitter)).min(deadline))
}

/// A uniformly random fraction in [0, 1) for the jitter.
pub fn random_jitter() -> f64 {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 4];
    match SystemRandom::new().fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn delays_double_from_the_initial_backoff() {
        let secs = |n| delay(60, n, 0.0).num_seconds();
        assert_eq!([secs(1), secs(2), secs(3), secs(4)], [60, 120, 240, 480]);
        assert_eq!(delay(60, 0, 0.0).num_seconds(), 60);
    }

    #[test]
    fn jitter_adds_at_most_ten_percent() {
        assert_eq!(delay(60, 1, 0.999_999).num_milliseconds(), 65_999);
        assert_eq!(delay(60, 3, 0.5).num_milliseconds(), 252_000);
        assert!(delay(60, 2, 7.0) <= Duration::seconds(132));
    }

    #[test]
    fn delays_are_capped_and_never_overflow() {
        assert_eq!(delay(60, 12, 0.0), Duration::hours(24));
        assert_eq!(
            delay(u32::MAX, u32::MAX, 1.0),
            Duration::hours(24) * 11 / 10
        );
    }

    #[test]
    fn retries_continue_for_the_retry_period_and_end_on_its_deadline() {
        let created = at(0);
        // Default policy: 60 s doubling, 24 h.
        let mut now = created;
        let mut attempts = 0;
        let mut times = Vec::new();
        loop {
            attempts += 1;
            match next_attempt(created, now, attempts, 60, 24, 0.0) {
                Some(next) => {
                    assert!(next > now);
                    now = next;
                    times.push((now - created).num_minutes());
                }
                None => break,
            }
        }
        assert_eq!(times, [1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 1440]);
        assert_eq!(attempts, 12, "the attempt at the deadline is the last");
        // A failure at the deadline or later gives up.
        assert_eq!(next_attempt(created, at(86_400), 3, 60, 24, 0.0), None);
        assert_eq!(
            next_attempt(created, at(86_399), 30, 60, 24, 0.0),
            Some(at(86_400))
        );
    }

    #[test]
    fn random_jitter_is_a_fraction() {
        for _ in 0..100 {
            let j = random_jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
