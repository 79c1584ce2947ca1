//! The panel's header: its title, "Talk to a person" while the AI answers,
//! and close.

use leptos::html;
use leptos::prelude::*;

use super::icon::{CLOSE, Icon};
use super::panel::close_to_launcher;
use super::use_chat;
use crate::state::HandOffState;

#[component]
pub fn Header(title: String, launcher: NodeRef<html::Button>) -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let hand_off = chat.session.hand_off;
    let offered = Memo::new(move |_| {
        matches!(hand_off.get(), HandOffState::Available | HandOffState::Asking | HandOffState::Failed(_))
    });
    view! {
        <div class="c360-header">
            <h2 class="c360-title">{title}</h2>
            {move || offered.get().then(|| view! {
                <button
                    type="button"
                    class="c360-hand-off"
                    disabled=move || hand_off.get() == HandOffState::Asking
                    on:click=move |_| chat.hand_off()
                >
                    {s.talk_to_person}
                </button>
            })}
            <button
                type="button"
                class="c360-close"
                aria-label=s.close
                on:click=move |_| close_to_launcher(chat, launcher)
            >
                <Icon d=CLOSE />
            </button>
        </div>
    }
}
