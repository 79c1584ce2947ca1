//! The composer: what is replied to, the files, the text and send.

use leptos::html;
use leptos::prelude::*;

use super::icon::{ATTACH, CLOSE, Icon, SEND};
use super::message_row::quoted;
use super::upload_chips::UploadChips;
use super::use_chat;
use crate::state::files_of;

#[component]
pub fn Composer() -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let draft = chat.messages.draft;
    let file_input = NodeRef::<html::Input>::new();
    let rows = move || draft.with(|d| d.lines().count().clamp(1, 5));
    view! {
        <form
            class="c360-composer"
            on:submit=move |ev| {
                ev.prevent_default();
                chat.send_draft();
            }
        >
            <ReplyingTo />
            <UploadChips />
            {move || chat.uploads.error.get().map(|why| view! {
                <div class="c360-upload-error c360-limit" role="alert">{why}</div>
            })}
            <div class="c360-input-row">
                <input
                    type="file"
                    multiple
                    class="c360-file-input"
                    tabindex="-1"
                    aria-hidden="true"
                    node_ref=file_input
                    on:change:target=move |ev| {
                        let input = ev.target();
                        chat.attach(files_of(input.files()));
                        // The same file can be picked again.
                        input.set_value("");
                    }
                />
                <button
                    type="button"
                    class="c360-attach"
                    aria-label=s.attach
                    title=s.attach
                    on:click=move |_| {
                        if let Some(input) = file_input.get_untracked() {
                            input.click();
                        }
                    }
                >
                    <Icon d=ATTACH />
                </button>
                <textarea
                    class="c360-input"
                    dir="auto"
                    rows=rows
                    placeholder=s.placeholder
                    aria-label=s.placeholder
                    node_ref=chat.ui.input
                    prop:value=move || draft.get()
                    on:input:target=move |ev| draft.set(ev.target().value())
                    on:paste=move |ev| {
                        let files = files_of(ev.clipboard_data().and_then(|d| d.files()));
                        if !files.is_empty() {
                            ev.prevent_default();
                            chat.attach(files);
                        }
                    }
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                            ev.prevent_default();
                            chat.send_draft();
                        }
                    }
                ></textarea>
                <button type="submit" class="c360-send" aria-label=s.send disabled=move || !chat.can_send()>
                    <Icon d=SEND />
                </button>
            </div>
        </form>
    }
}

/// The message being replied to, with cancel. Drawn again only for another
/// message (a poll does not take the focus from its cancel button); the
/// quoted words follow the timeline.
#[component]
fn ReplyingTo() -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let replying_to = chat.messages.replying_to;
    move || {
        replying_to.get().map(|id| {
            let (name, text) = quoted(chat, id, "");
            view! {
                <div class="c360-replying">
                    <div class="c360-replying-body">
                        <span class="c360-quote-name">{s.replying_to}" "{name}</span>
                        <span class="c360-quote-text" dir="auto">{text}</span>
                    </div>
                    <button
                        type="button"
                        class="c360-cancel-reply"
                        aria-label=s.cancel_reply
                        on:click=move |_| replying_to.set(None)
                    >
                        <Icon d=CLOSE />
                    </button>
                </div>
            }
        })
    }
}
