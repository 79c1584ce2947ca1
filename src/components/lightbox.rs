//! An image at full size over the panel; a click or Esc closes it.

use leptos::html;
use leptos::prelude::*;

use super::icon::{CLOSE, Icon};
use super::use_chat;

#[component]
pub fn Lightbox() -> impl IntoView {
    let chat = use_chat();
    move || chat.ui.lightbox.get().map(|(src, alt)| view! { <LargeImage src alt /> })
}

#[component]
fn LargeImage(src: String, alt: String) -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let label = alt.clone();
    let close = NodeRef::<html::Button>::new();
    let focus_close = move || {
        if let Some(Some(button)) = close.try_get_untracked() {
            _ = button.focus();
        }
    };
    // Drawn by the next frame: its close button takes the focus.
    request_animation_frame(focus_close);
    view! {
        <div
            class="c360-lightbox"
            role="dialog"
            aria-modal="true"
            aria-label=label
            on:click=move |_| chat.ui.close_image()
            on:keydown=move |ev| {
                // Its close button is all it holds: Tab stays on it.
                if ev.key() == "Tab" {
                    ev.prevent_default();
                    focus_close();
                }
            }
        >
            <img class="c360-lightbox-image" src=src alt=alt />
            <button type="button" class="c360-lightbox-close" aria-label=s.close_image node_ref=close>
                <Icon d=CLOSE />
            </button>
        </div>
    }
}
