//! Locking the server's in-memory maps and counters.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, also after a thread panicked while holding it: the server's
/// mutexes guard maps, caches and counts that each critical section changes
/// in single steps (an insert, a remove, a count), so they stay consistent
/// whatever panicked, and one panic must not take every later request with it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
