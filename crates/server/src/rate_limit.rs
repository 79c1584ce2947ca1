//! Keyed rate limits (the `governor` crate): so many attempts per key per
//! period, e.g. sign-ins per email and per IP address.

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
    /// How long an emptied key takes to refill.
    period: Duration,
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
    /// `burst` at once, refilled at `burst` per `period` (evenly over it).
    pub fn per(burst: NonZeroU32, period: Duration) -> Self {
        let quota =
            Quota::with_period(period / burst.get()).unwrap_or_else(|| Quota::per_second(burst)).allow_burst(burst);
        KeyedLimit { limiter: Arc::new(RateLimiter::keyed(quota)), period }
    }

    /// Counts an attempt of `key`, or refuses it.
    pub fn check(&self, key: &K) -> Result<(), RetryAfter> {
        self.check_n(key, NonZeroU32::MIN)
    }

    /// Counts `n` units (e.g. KiB) of `key` at once, or refuses them all;
    /// more than the whole burst is refused for a full refill.
    pub fn check_n(&self, key: &K, n: NonZeroU32) -> Result<(), RetryAfter> {
        if self.limiter.len() > MAX_KEYS {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key_n(key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(RetryAfter(not_until.wait_time_from(DefaultClock::default().now()))),
            Err(_insufficient) => Err(RetryAfter(self.period)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_after_its_burst_and_others_are_not() {
        let limit = KeyedLimit::per(NonZeroU32::new(3).unwrap(), Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limit.check(&"a"), Ok(()));
        }
        let refused = limit.check(&"a").unwrap_err();
        assert!((1..=20).contains(&refused.seconds()), "{refused:?}");
        assert_eq!(limit.check(&"b"), Ok(()));
    }

    #[test]
    fn units_are_counted_together_and_more_than_the_burst_never_fits() {
        let limit = KeyedLimit::per(NonZeroU32::new(10).unwrap(), Duration::from_secs(100));
        assert_eq!(limit.check_n(&"a", NonZeroU32::new(6).unwrap()), Ok(()));
        assert!(limit.check_n(&"a", NonZeroU32::new(6).unwrap()).is_err());
        assert_eq!(limit.check_n(&"a", NonZeroU32::new(4).unwrap()), Ok(()));
        let never = limit.check_n(&"b", NonZeroU32::new(11).unwrap()).unwrap_err();
        assert_eq!(never.seconds(), 100);
    }
}
