//! Memory given back once the server goes quiet.
//!
//! glibc's malloc keeps what a burst of requests freed in its arenas (up to
//! eight per core, one per thread that allocated) for the next burst, and
//! the store's connections keep the pages they read and wrote, so an idle
//! server would hold its busiest moment's memory for good. After a second
//! without a request that follows a busy one, the store empties its caches
//! and `malloc_trim` returns the free pages to the system. Fewer arenas
//! would keep it small too, but cost listMessages a third of its rate
//! (bench/RESULTS.md).

use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;

/// How long without a new request counts as quiet.
const QUIET: Duration = Duration::from_secs(1);

/// Whether to give memory back, from the request counter read every [`QUIET`].
#[derive(Debug)]
pub struct QuietWatch {
    seen: u64,
    /// Given back since the last request.
    trimmed: bool,
}

impl QuietWatch {
    /// Watching from `requests` (nothing to give back at start).
    pub fn new(requests: u64) -> Self {
        QuietWatch { seen: requests, trimmed: true }
    }

    /// True once per quiet spell: at the first reading without a new
    /// request after one with some.
    pub fn should_trim(&mut self, requests: u64) -> bool {
        if requests != self.seen {
            self.seen = requests;
            self.trimmed = false;
            return false;
        }
        !std::mem::replace(&mut self.trimmed, true)
    }
}

/// Gives memory back each time the server goes quiet, for as long as it runs.
pub async fn trim_when_quiet(store: Arc<dyn Store>) {
    let mut watch = QuietWatch::new(crate::telemetry::requests_seen());
    let mut tick = tokio::time::interval(QUIET);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if watch.should_trim(crate::telemetry::requests_seen()) {
            if let Err(err) = store.release_memory().await {
                tracing::warn!(%err, "the store kept its caches");
            }
            // It walks every arena under its lock: not on a worker thread.
            if let Err(err) = tokio::task::spawn_blocking(trim).await {
                tracing::warn!(%err, "giving memory back failed");
            }
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointers; it frees only pages glibc's own
    // allocator holds unused, under each arena's lock.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators give memory back on their own terms.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_given_back_once_per_quiet_spell() {
        let mut watch = QuietWatch::new(5);
        assert!(!watch.should_trim(5), "quiet since the start: nothing was taken");
        assert!(!watch.should_trim(9), "busy");
        assert!(!watch.should_trim(30), "still busy");
        assert!(watch.should_trim(30), "the first quiet second");
        assert!(!watch.should_trim(30), "given back already");
        assert!(!watch.should_trim(31), "busy again");
        assert!(watch.should_trim(31), "quiet again");
    }
}
