//! The conversation as the panel has it: the stored messages (timeline),
//! the visitor's own on their way (outbox), the composer's text and the
//! message being replied to.

use connect360_api::{Attachment, Locale, Message, Page};
use leptos::prelude::*;

use crate::locale::content_for;
use crate::outbox::{Outbox, Outgoing};
use crate::timeline::{History, Timeline};

#[derive(Clone, Copy)]
pub struct Messages {
    pub timeline: RwSignal<Timeline>,
    pub outbox: RwSignal<Outbox>,
    pub loading_older: RwSignal<bool>,
    /// The id of the message being replied to.
    pub replying_to: RwSignal<Option<String>>,
    pub draft: RwSignal<String>,
}

impl Default for Messages {
    fn default() -> Self {
        Messages {
            timeline: RwSignal::new(Timeline::default()),
            outbox: RwSignal::new(Outbox::default()),
            loading_older: RwSignal::new(false),
            replying_to: RwSignal::new(None),
            draft: RwSignal::new(String::new()),
        }
    }
}

impl Messages {
    /// Another conversation began: nothing of the last one stays.
    pub fn clear(self) {
        self.timeline.set(Timeline::default());
        self.outbox.set(Outbox::default());
        self.replying_to.set(None);
    }

    /// Whether the composer has text to send.
    pub fn has_text(self) -> bool {
        self.draft.with(|d| !d.trim().is_empty())
    }

    /// Puts the composer's text (in `locale`) and `files` in the outbox as
    /// message `client_id`, and empties the composer.
    pub fn queue(self, client_id: String, locale: Locale, files: Vec<Attachment>) {
        let text = self.draft.get_untracked();
        let text = text.trim();
        let content = if text.is_empty() { Default::default() } else { content_for(locale, text) };
        let parent = self.replying_to.get_untracked();
        self.outbox.update(|o| _ = o.push(client_id, content, files, parent));
        self.draft.set(String::new());
        self.replying_to.set(None);
    }

    /// The messages written before the first page was loaded, to send now.
    pub fn waiting(self) -> Vec<String> {
        self.outbox.with_untracked(|o| o.unsent().map(|m| m.client_id.clone()).collect())
    }

    /// The `input` of a send of message `client_id` now: anchored after the
    /// newest message shown, so that its stored copy is told from older
    /// ones when the stream or a poll brings it first. `None` while the
    /// first page is still to come (it waits for [`Messages::waiting`]) or
    /// when it is gone.
    pub fn attempt<T>(self, client_id: &str, input: impl FnOnce(&Outgoing) -> T) -> Option<T> {
        let after = self.timeline.with_untracked(Timeline::anchor)?;
        // Untracked: the anchor is not shown.
        self.outbox.try_update_untracked(|o| o.attempt(client_id, after).map(input)).flatten()
    }

    /// Shows `message`; whether it was new.
    pub fn insert(self, message: &Message) -> bool {
        let mut new = false;
        self.timeline.update(|t| new = t.insert(message.clone()));
        new
    }

    /// Shows a message the event stream pushed; whether it was new. The
    /// visitor's own, sent from this page, may come before the send's
    /// answer: the outbox claims it then, so it shows once.
    pub fn take_pushed(self, message: &Message) -> bool {
        let new = self.insert(message);
        if new && self.outbox.with_untracked(|o| o.unstored().next().is_some()) {
            self.timeline.with_untracked(|t| self.outbox.update(|o| o.reconcile(t.messages())));
        }
        new
    }

    /// Whether the first page is still to come.
    pub fn first_page_pending(self) -> bool {
        self.timeline.with_untracked(|t| *t.history() == History::Unknown)
    }

    /// Takes a poll's page in; the messages it added (their delivery is
    /// reconciled with the outbox).
    pub fn apply_latest(self, page: Page<Message>) -> Vec<Message> {
        let mut added = Vec::new();
        self.timeline.update(|t| added = t.apply_latest(page));
        if !added.is_empty() {
            self.timeline.with_untracked(|t| self.outbox.update(|o| o.reconcile(t.messages())));
        }
        added
    }

    pub fn older_cursor(self) -> Option<String> {
        self.timeline.with_untracked(|t| t.older_cursor().map(str::to_owned))
    }
}
