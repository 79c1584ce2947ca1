//! The conversation's event stream, held while the page is open: which
//! loop holds it, how to end it, where it resumes, and whether polling
//! stands in for it (`crate::live` decides when).

use std::time::Duration;

use leptos::prelude::*;
use web_sys::AbortController;

use crate::live::{Ended, Plan, Reconnect};

/// What keeps the panel up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// No stream: none opened yet, or closed while the tab was hidden.
    #[default]
    Off,
    /// The stream, held or being opened again; no polls are scheduled.
    Streaming,
    /// Polls, until the stream is tried again.
    Polling,
}

#[derive(Clone, Copy)]
pub struct Live {
    state: StoredValue<State>,
    /// Ends the request being read.
    abort: StoredValue<Option<AbortController>, LocalStorage>,
}

#[derive(Default)]
struct State {
    mode: Mode,
    /// Bumped for each loop that holds the stream: an older loop stops.
    generation: u32,
    /// The stream's last event id: where it resumes.
    last_id: Option<String>,
    reconnect: Reconnect,
    /// Closes the stream of a hidden tab.
    close_timer: Option<TimeoutHandle>,
}

impl Default for Live {
    fn default() -> Self {
        Live { state: StoredValue::new(State::default()), abort: StoredValue::new_local(None) }
    }
}

impl Live {
    pub fn mode(self) -> Mode {
        self.state.with_value(|s| s.mode)
    }

    fn set_mode(self, mode: Mode) {
        self.state.update_value(|s| s.mode = mode);
    }

    /// A new loop holds the stream, the one before stops; its generation.
    pub fn begin(self) -> u32 {
        self.stop();
        self.set_mode(Mode::Streaming);
        self.state.with_value(|s| s.generation)
    }

    /// Whether the loop of `generation` still holds the stream.
    pub fn current(self, generation: u32) -> bool {
        self.state.with_value(|s| s.generation == generation)
    }

    /// Ends the stream and its loop.
    pub fn stop(self) {
        self.state.update_value(|s| {
            s.generation = s.generation.wrapping_add(1);
            s.mode = Mode::Off;
        });
        if let Some(abort) = self.abort.try_update_value(Option::take).flatten() {
            abort.abort();
        }
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
            self.state.update_value(|s| s.last_id = Some(id.to_owned()));
        }
    }

    pub fn last_id(self) -> Option<String> {
        self.state.with_value(|s| s.last_id.clone())
    }

    /// Another conversation began: its stream starts anew.
    pub fn forget(self) {
        self.state.update_value(|s| s.last_id = None);
    }

    /// What to do after the stream `ended` (a jittered delay).
    pub fn plan(self, ended: Ended) -> Plan {
        let jitter = js_sys::Math::random();
        let plan = self.state.try_update_value(|s| {
            let plan = s.reconnect.next(ended, jitter);
            s.mode = match plan {
                Plan::Reopen(_) => Mode::Streaming,
                Plan::Poll(_) => Mode::Polling,
            };
            plan
        });
        plan.unwrap_or(Plan::Poll(crate::live::RETRY_STREAM_MS))
    }

    /// The stream is tried again (polling stops standing in).
    pub fn retry(self) {
        self.set_mode(Mode::Streaming);
    }

    /// Closes the stream after `ms` (the tab was hidden), unless [`Live::keep`].
    pub fn close_later(self, ms: u32) {
        self.keep();
        let handle = set_timeout_with_handle(move || self.stop(), Duration::from_millis(ms.into()));
        self.state.update_value(|s| s.close_timer = handle.ok());
    }

    /// The tab is shown: the stream stays.
    pub fn keep(self) {
        if let Some(handle) = self.state.try_update_value(|s| s.close_timer.take()).flatten() {
            handle.clear();
        }
    }
}
