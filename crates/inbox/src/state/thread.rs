//! The conversation on screen: its messages and outbox (the widget's
//! `Messages`), the composer's files (the widget's `Attachments`), and the
//! elements scrolled and focused.

use connect360_widget::state::{Attachments, Messages};
use leptos::html;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Thread {
    pub messages: Messages,
    pub uploads: Attachments,
    /// Why its history could not be loaded, or the AI switch failed.
    pub error: RwSignal<Option<String>>,
    /// A hand-off or hand-back is on its way.
    pub switching_ai: RwSignal<bool>,
    pub list: NodeRef<html::Div>,
    pub input: NodeRef<html::Textarea>,
}

impl Default for Thread {
    fn default() -> Self {
        Thread {
            messages: Messages::default(),
            uploads: Attachments::default(),
            error: RwSignal::new(None),
            switching_ai: RwSignal::new(false),
            list: NodeRef::new(),
            input: NodeRef::new(),
        }
    }
}

/// Within this many pixels of an end counts as at it.
const NEAR: i32 = 80;

impl Thread {
    /// Another conversation opens: nothing of the last one stays.
    pub fn clear(self) {
        self.messages.clear();
        self.messages.draft.set(String::new());
        self.uploads.clear();
        self.error.set(None);
    }

    pub fn focus_input(self) {
        if let Some(input) = self.input.get_untracked() {
            _ = input.focus();
        }
    }

    pub fn near_bottom(self) -> bool {
        self.list.get_untracked().is_none_or(|l| l.scroll_height() - l.scroll_top() - l.client_height() < NEAR)
    }

    pub fn near_top(self) -> bool {
        self.list.get_untracked().is_some_and(|l| l.scroll_top() < NEAR)
    }

    pub fn scroll_to_bottom(self) {
        if let Some(l) = self.list.get_untracked() {
            l.set_scroll_top(l.scroll_height());
        }
    }

    /// How far the list is from its bottom: what an older page prepended
    /// above must not change.
    pub fn distance_from_bottom(self) -> Option<i32> {
        self.list.get_untracked().map(|l| l.scroll_height() - l.scroll_top())
    }

    pub fn restore_distance_from_bottom(self, distance: Option<i32>) {
        if let (Some(l), Some(d)) = (self.list.get_untracked(), distance) {
            l.set_scroll_top(l.scroll_height() - d);
        }
    }
}
