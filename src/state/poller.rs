//! When the next poll runs: at once, or after the backoff's delay; never
//! two at a time, and none while the page is hidden.

use std::time::Duration;

use leptos::prelude::*;

use crate::poll::Backoff;

#[derive(Clone, Copy)]
pub struct Poller {
    backoff: StoredValue<Backoff>,
    timer: StoredValue<Option<TimeoutHandle>>,
    /// A poll is under way / another was asked for meanwhile.
    polling: StoredValue<(bool, bool)>,
}

impl Default for Poller {
    fn default() -> Self {
        Poller {
            backoff: StoredValue::new(Backoff::default()),
            timer: StoredValue::new(None),
            polling: StoredValue::new((false, false)),
        }
    }
}

impl Poller {
    pub fn cancel_timer(self) {
        if let Some(handle) = self.timer.get_value() {
            handle.clear();
        }
        self.timer.set_value(None);
    }

    /// From now on at the shortest interval.
    pub fn reset(self) {
        self.backoff.update_value(Backoff::reset);
        self.cancel_timer();
    }

    /// Runs `poll` after `delay_ms`.
    pub fn schedule(self, delay_ms: u32, poll: impl Fn() + 'static) {
        self.cancel_timer();
        let handle = set_timeout_with_handle(poll, Duration::from_millis(delay_ms.into()));
        self.timer.set_value(handle.ok());
    }

    /// Whether a poll may start now; if one is under way, the next is
    /// asked for instead.
    pub fn begin(self) -> bool {
        let (busy, _) = self.polling.get_value();
        self.polling.set_value((true, busy));
        !busy
    }

    /// The poll ended as `outcome`: `None` to poll again at once (one was
    /// asked for meanwhile), else the delay before the next.
    pub fn end(self, outcome: crate::poll::Outcome) -> Option<u32> {
        let (_, again) = self.polling.get_value();
        self.polling.set_value((false, false));
        if again {
            self.backoff.update_value(Backoff::reset);
            None
        } else {
            Some(self.backoff.try_update_value(|b| b.next(outcome)).unwrap_or(30_000))
        }
    }
}
