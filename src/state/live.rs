//! The conversation's event stream, held while the page is open: which
//! loop holds it, how to end it, where it resumes, and whether polling
//! stands in for it (`crate::live` decides when).

use std::time::Duration;

use leptos::prelude::*;
use web_sys::AbortController;

use crate::live::{Ended, Plan, Reconnect};

/// What keeps the panel up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No stream: none opened yet, or closed while the tab was hidden.
    Off,
    /// The stream, held or being opened again; no polls are scheduled.
    Streaming,
    /// Polls, until the stream is tried again.
    Polling,
}

#[derive(Clone, Copy)]
pub struct Live {
    mode: StoredValue<Mode>,
    /// Bumped for each loop that holds the stream: an older loop stops.
    generation: StoredValue<u32>,
    /// Ends the request being read.
    abort: StoredValue<Option<AbortController>, LocalStorage>,
    /// The stream's last event id: where it resumes.
    last_id: StoredValue<Option<String>>,
    reconnect: StoredValue<Reconnect>,
    /// Closes the stream of a hidden tab.
    close_timer: StoredValue<Option<TimeoutHandle>>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            mode: StoredValue::new(Mode::Off),
            generation: StoredValue::new(0),
            abort: StoredValue::new_local(None),
            last_id: StoredValue::new(None),
            reconnect: StoredValue::new(Reconnect::default()),
            close_timer: StoredValue::new(None),
        }
    }
}

impl Live {
    pub fn mode(self) -> Mode {
        self.mode.get_value()
    }

    /// A new loop holds the stream, the one before stops; its generation.
    pub fn begin(self) -> u32 {
        self.stop();
        self.mode.set_value(Mode::Streaming);
        self.generation.get_value()
    }

    /// Whether the loop of `generation` still holds the stream.
    pub fn current(self, generation: u32) -> bool {
        self.generation.get_value() == generation
    }

    /// Ends the stream and its loop.
    pub fn stop(self) {
        self.generation.update_value(|g| *g = g.wrapping_add(1));
        if let Some(abort) = self.abort.try_update_value(Option::take).flatten() {
            abort.abort();
        }
        self.mode.set_value(Mode::Off);
    }

    /// The controller of the next request (`stop` aborts it).
    pub fn controller(self) -> Option<AbortController> {
        let abort = AbortController::new().ok()?;
        self.abort.set_value(Some(abort.clone()));
        Some(abort)
    }

    /// An event with the stream's last event `id` came.
    pub fn received(self, id: &str) {
        if !id.is_empty() {
            self.last_id.set_value(Some(id.to_owned()));
        }
    }

    pub fn last_id(self) -> Option<String> {
        self.last_id.get_value()
    }

    /// Another conversation began: its stream starts anew.
    pub fn forget(self) {
        self.last_id.set_value(None);
    }

    /// What to do after the stream `ended` (a jittered delay).
    pub fn plan(self, ended: Ended) -> Plan {
        let plan = self.reconnect.try_update_value(|r| r.next(ended, js_sys::Math::random()));
        let plan = plan.unwrap_or(Plan::Poll(crate::live::RETRY_STREAM_MS));
        self.mode.set_value(match plan {
            Plan::Reopen(_) => Mode::Streaming,
            Plan::Poll(_) => Mode::Polling,
        });
        plan
    }

    /// The stream is tried again (polling stops standing in).
    pub fn retry(self) {
        self.mode.set_value(Mode::Streaming);
    }

    /// Closes the stream after `ms` (the tab was hidden), unless [`Live::keep`].
    pub fn close_later(self, ms: u32) {
        self.keep();
        let handle = set_timeout_with_handle(move || self.stop(), Duration::from_millis(ms.into()));
        self.close_timer.set_value(handle.ok());
    }

    /// The tab is shown: the stream stays.
    pub fn keep(self) {
        if let Some(handle) = self.close_timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    }
}
