//! The panel as a Leptos component tree. [`App`] provides the [`Chat`]
//! state as context and draws [`Frame`]: the launcher and the [`Panel`]
//! (header, message list, announcer, composer, lightbox).

mod ai_draft;
mod announcer;
mod composer;
mod files;
mod frame;
mod header;
mod icon;
mod lightbox;
mod message_list;
mod message_row;
mod panel;
mod upload_chips;

use connect360_api::{Sender, SenderType};
use leptos::prelude::*;

pub use frame::Frame;
pub use message_row::linked;
pub use panel::Panel;

use crate::i18n::Strings;
use crate::state::Chat;

/// The widget. A change of language (`Chat::set_locale`) draws it again,
/// whole: what it shows lives in the state, not in the view.
#[component]
pub fn App(chat: Chat) -> impl IntoView {
    provide_context(chat);
    let mut drawn = false;
    move || {
        chat.ui.locale.track();
        // Drawn again: the open panel does not play its opening again.
        let again = std::mem::replace(&mut drawn, true);
        view! { <Frame again /> }
    }
}

/// The widget's state, from [`App`].
pub fn use_chat() -> Chat {
    expect_context::<Chat>()
}

/// How a sender is named: their name, else what they are.
pub fn sender_name(sender: &Sender, s: &Strings) -> String {
    match (&sender.name, sender.kind) {
        (Some(name), _) if !name.trim().is_empty() => name.clone(),
        (_, SenderType::Ai) => s.assistant.to_owned(),
        (_, SenderType::Customer) => s.you.to_owned(),
        (_, SenderType::Workspace) => s.support.to_owned(),
    }
}
