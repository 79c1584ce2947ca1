//! The conversation list: its pages, and whether an older one is loading.

use leptos::prelude::*;

use crate::conversations::ConversationList;

#[derive(Clone, Copy)]
pub struct List {
    pub conversations: RwSignal<ConversationList>,
    pub loading_older: RwSignal<bool>,
    /// Why the list could not be loaded.
    pub error: RwSignal<Option<String>>,
}

impl Default for List {
    fn default() -> Self {
        List {
            conversations: RwSignal::new(ConversationList::default()),
            loading_older: RwSignal::new(false),
            error: RwSignal::new(None),
        }
    }
}

impl List {
    pub fn clear(self) {
        self.conversations.set(ConversationList::default());
        self.error.set(None);
    }
}
