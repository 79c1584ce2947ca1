//! The AI reply being waited for, as far as the event stream has written it.

use connect360_api::AiStreamEvent;
use leptos::prelude::*;

use crate::reply::{Next, PendingReply};

#[derive(Clone, Copy)]
pub struct ReplyStream {
    pub pending: RwSignal<Option<PendingReply>>,
}

impl Default for ReplyStream {
    fn default() -> Self {
        ReplyStream { pending: RwSignal::new(None) }
    }
}

impl ReplyStream {
    /// Waits for the reply to the visitor's message `after`.
    pub fn start(self, after: String) {
        self.pending.set(Some(PendingReply::new(after)));
    }

    pub fn clear(self) {
        self.pending.set(None);
    }

    /// Takes an event of the stream in: the draft grows, or goes once the
    /// reply is stored or none will come. Nothing changes while no reply is
    /// waited for.
    pub fn on_event(self, event: &AiStreamEvent) {
        if self.pending.with_untracked(Option::is_none) {
            return;
        }
        self.pending.update(|r| {
            if r.as_mut().is_some_and(|r| r.on_event(event) == Next::Done) {
                *r = None;
            }
        });
    }
}
