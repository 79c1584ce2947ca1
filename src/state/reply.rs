//! The AI reply being waited for, as far as the stream has written it.

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

    /// Where the stream of the reply to `after` resumes; `None` once a newer
    /// question's reply is followed instead.
    pub fn cursor(self, after: &str) -> Option<String> {
        self.pending.with_untracked(|r| r.as_ref().filter(|r| r.after == after).map(|r| r.cursor.clone()))
    }

    /// Takes an event of the reply to `after` in.
    pub fn on_event(self, after: &str, event: &AiStreamEvent) -> Next {
        let mut next = Next::Done;
        self.pending.update(|r| {
            if let Some(r) = r.as_mut().filter(|r| r.after == after) {
                next = r.on_event(event);
            }
        });
        next
    }

    /// The reply to `after` is done or given up: its draft goes.
    pub fn finish(self, after: &str) {
        self.pending.update(|r| {
            if r.as_ref().is_some_and(|r| r.after == after) {
                *r = None;
            }
        });
    }
}
