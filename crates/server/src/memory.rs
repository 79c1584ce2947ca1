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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::store::Store;

/// How long without a new request counts as quiet.
const QUIET: Duration = Duration::from_secs(1);

/// Requests this process has received, whatever their route or headers.
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Counts `request` as activity (the outermost layer, so every request is seen).
pub fn note_request<B>(request: axum::http::Request<B>) -> axum::http::Request<B> {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
    request
}

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
    let mut watch = QuietWatch::new(REQUESTS.load(Ordering::Relaxed));
    let mut tick = tokio::time::interval(QUIET);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if watch.should_trim(REQUESTS.load(Ordering::Relaxed)) {
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
    fn every_request_counts_as_activity_even_with_its_own_request_id() {
        let before = REQUESTS.load(Ordering::Relaxed);
        let request = axum::http::Request::builder().header("x-request-id", "trace-42").body(()).unwrap();
        let request = note_request(request);
        assert_eq!(request.headers()["x-request-id"], "trace-42", "passed on unchanged");
        assert!(REQUESTS.load(Ordering::Relaxed) > before);
    }

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
