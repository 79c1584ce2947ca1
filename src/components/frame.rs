//! The widget's frame: the launcher, then the panel it opens.

use leptos::html;
use leptos::prelude::*;

use super::icon::{CHAT, CLOSE, Icon};
use super::{Panel, use_chat};
use crate::locale::is_rtl;

#[component]
pub fn Frame(
    /// Drawn again for a new language: without the opening animation.
    again: bool,
) -> impl IntoView {
    let chat = use_chat();
    let locale = chat.ui.locale.get_untracked();
    let rtl = is_rtl(locale);
    let left = chat.ui.config.with_value(|c| c.on_left(rtl));
    let launcher = NodeRef::<html::Button>::new();
    view! {
        <div
            class="c360"
            class:c360-left=left
            class:c360-again=again
            class:c360-open=move || chat.ui.open.get()
            dir=if rtl { "rtl" } else { "ltr" }
            lang=locale.as_str()
        >
            // Before the panel: Tab goes from the launcher into the panel it opens.
            <Launcher node_ref=launcher />
            <Panel launcher />
        </div>
    }
}

/// The round button that opens and closes the panel; closed, it also says
/// how many replies wait.
#[component]
fn Launcher(node_ref: NodeRef<html::Button>) -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let (open, unread) = (chat.ui.open, chat.ui.unread);
    let waiting = Memo::new(move |_| unread.get() > 0);
    let label = move || {
        if open.get() {
            return s.close.to_owned();
        }
        match unread.get() {
            0 => s.open_chat.to_owned(),
            n => s.open_chat_unread.replace("{n}", &n.to_string()),
        }
    };
    view! {
        <button
            type="button"
            class="c360-launcher"
            aria-label=label
            aria-expanded=move || open.get().to_string()
            aria-controls="c360-panel"
            node_ref=node_ref
            on:click=move |_| chat.toggle()
            on:keydown=move |ev| {
                if ev.key() == "Escape" && open.get_untracked() {
                    chat.set_open(false);
                }
            }
        >
            <Icon class="c360-icon c360-icon-chat" d=CHAT />
            <Icon class="c360-icon c360-icon-close" d=CLOSE />
            {move || waiting.get().then(|| view! {
                <span class="c360-badge" aria-hidden="true">{move || unread.get()}</span>
            })}
        </button>
    }
}
