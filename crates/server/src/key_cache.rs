//! API keys' principals kept in memory for a moment, so that a burst of
//! requests with one key looks it up in the store once, not per request.
//!
//! Correctness first: only keys the store found are kept (a key created a
//! moment ago, e.g. by the `api-key create` command beside the server, works
//! at once), each for [`KeyCache::ttl`] at most, so a key taken out of the
//! store stops working within that time even when another process removed
//! it; and at most [`KeyCache::capacity`] keys are kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::MemberPrincipal;
use crate::lock::lock;

/// How long a looked-up key is trusted without asking the store again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);
/// Distinct keys kept at most; a server has a handful.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Principals by their key's SHA-256, each with when it was looked up.
type Entries = HashMap<[u8; 32], (MemberPrincipal, Instant)>;

#[derive(Clone)]
pub struct KeyCache {
    entries: Arc<Mutex<Entries>>,
    ttl: Duration,
    capacity: usize,
}

impl KeyCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        KeyCache { entries: Arc::default(), ttl, capacity }
    }

    /// The principal of the key, if it was looked up less than the TTL ago.
    pub fn get(&self, key_hash: &[u8; 32]) -> Option<MemberPrincipal> {
        let entries = lock(&self.entries);
        let (principal, at) = entries.get(key_hash)?;
        (at.elapsed() < self.ttl).then(|| principal.clone())
    }

    /// Keeps what the store just said of the key. When full, the expired
    /// entries go first, then all of them: memory stays bounded whatever
    /// keys callers present.
    pub fn insert(&self, key_hash: [u8; 32], principal: MemberPrincipal) {
        let mut entries = lock(&self.entries);
        if entries.len() >= self.capacity && !entries.contains_key(&key_hash) {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key_hash, (principal, Instant::now()));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache::new(DEFAULT_TTL, DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Credential, Role};

    fn principal(member: &str) -> MemberPrincipal {
        MemberPrincipal {
            workspace_id: "ws_1".into(),
            member_id: member.into(),
            role: Role::Engage,
            via: Credential::ApiKey,
        }
    }

    #[test]
    fn a_key_is_kept_for_its_ttl_only() {
        let cache = KeyCache::new(Duration::from_secs(60), 8);
        assert_eq!(cache.get(&[1; 32]), None, "nothing is known before a lookup");
        cache.insert([1; 32], principal("mem_a"));
        assert_eq!(cache.get(&[1; 32]), Some(principal("mem_a")));
        assert_eq!(cache.get(&[2; 32]), None);
        let expired = KeyCache::new(Duration::ZERO, 8);
        expired.insert([1; 32], principal("mem_a"));
        assert_eq!(expired.get(&[1; 32]), None, "expired: the store is asked again");
    }

    #[test]
    fn the_number_of_keys_kept_is_bounded() {
        let cache = KeyCache::new(Duration::from_secs(60), 4);
        for n in 0..4 {
            cache.insert([n; 32], principal("mem_a"));
        }
        assert_eq!(cache.len(), 4);
        cache.insert([0; 32], principal("mem_b"));
        assert_eq!(cache.len(), 4, "a known key is replaced in place");
        assert_eq!(cache.get(&[0; 32]), Some(principal("mem_b")));
        cache.insert([9; 32], principal("mem_c"));
        assert!(cache.len() <= 4, "{} keys kept", cache.len());
        assert_eq!(cache.get(&[9; 32]), Some(principal("mem_c")), "the newest key is kept");
    }
}
