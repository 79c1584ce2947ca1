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
    /// Waits for the reply to the visitor's message `after` (the reply the
    /// stream began already, if it was quicker than the send's answer).
    pub fn start(self, after: String) {
        self.pending.update(|r| match r {
            Some(r) if r.after.is_none() => r.after = Some(after),
            _ => *r = Some(PendingReply::new(after)),
        });
    }

    pub fn clear(self) {
        self.pending.set(None);
    }

    /// Takes an event of the stream in: a reply begins, its draft grows, or
    /// goes once it is stored or none will come.
    pub fn on_event(self, event: &AiStreamEvent) {
        if self.pending.with_untracked(Option::is_none) {
            if let AiStreamEvent::Start(start) = event {
                self.pending.set(Some(PendingReply::started(start.sender.clone())));
            }
            return;
        }
        self.pending.update(|r| {
            if r.as_mut().is_some_and(|r| r.on_event(event) == Next::Done) {
                *r = None;
            }
        });
    }
}
