//! Keyed rate limits (the `governor` crate): so many attempts per key per
//! minute, e.g. sign-ins per email and per IP address.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keys remembered before the idle ones (back at their full quota) are dropped.
const MAX_KEYS: usize = 10_000;

#[derive(Clone)]
pub struct KeyedLimit<K: Hash + Eq + Clone> {
    limiter: Arc<DefaultKeyedRateLimiter<K>>,
}

/// Refused: how long until the key may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up, for a `Retry-After` header.
    pub fn seconds(self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    /// `burst` attempts at once, refilled at `burst` per minute.
    pub fn per_minute(burst: NonZeroU32) -> Self {
        KeyedLimit { limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(burst))) }
    }

    /// Counts an attempt of `key`, or refuses it.
    pub fn check(&self, key: &K) -> Result<(), RetryAfter> {
        if self.limiter.len() > MAX_KEYS {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| RetryAfter(not_until.wait_time_from(DefaultClock::default().now())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_after_its_burst_and_others_are_not() {
        let limit = KeyedLimit::per_minute(NonZeroU32::new(3).unwrap());
        for _ in 0..3 {
            assert_eq!(limit.check(&"a"), Ok(()));
        }
        let refused = limit.check(&"a").unwrap_err();
        assert!((1..=20).contains(&refused.seconds()), "{refused:?}");
        assert_eq!(limit.check(&"b"), Ok(()));
    }
}
