//! Uploads that no message used within a day are removed, rows and bytes,
//! so that abandoned uploads don't pile up; by one instance at a time of
//! those sharing a store.

use std::sync::Arc;
use std::time::Duration;

use crate::attachments::storage::FileStorage;
use crate::store::{Exclusive, Store, StoreError};

pub const DEFAULT_UNUSED_TTL: Duration = Duration::from_secs(24 * 60 * 60);
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Removes the files unused for longer than `older_than`; returns how many,
/// none when another instance is at it.
pub async fn collect(store: &dyn Store, files: &dyn FileStorage, older_than: Duration) -> Result<usize, StoreError> {
    let mut removed = Ok(0);
    let ran = store
        .run_exclusively(Exclusive::FileCollector, Box::pin(async { removed = remove(store, files, older_than).await }))
        .await?;
    if !ran {
        tracing::debug!("another instance is removing unused uploads");
    }
    removed
}

/// Rows go first: a file whose bytes could not be deleted is then an orphan
/// in storage, never a message's attachment without bytes.
async fn remove(store: &dyn Store, files: &dyn FileStorage, older_than: Duration) -> Result<usize, StoreError> {
    let keys = store.remove_expired_unused_files(older_than).await?;
    for key in &keys {
        if let Err(err) = files.delete(key).await {
            tracing::warn!(%err, key, "could not delete an unused file's bytes");
        }
    }
    if !keys.is_empty() {
        tracing::info!(count = keys.len(), "removed unused uploads");
    }
    Ok(keys.len())
}

/// Collects every `every`, forever; the server aborts it when it stops.
pub async fn run(store: Arc<dyn Store>, files: Arc<dyn FileStorage>, older_than: Duration, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(err) = collect(store.as_ref(), files.as_ref(), older_than).await {
            tracing::error!(%err, "removing unused uploads failed");
        }
    }
}
