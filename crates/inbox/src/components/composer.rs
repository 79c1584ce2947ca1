//! The composer: what is replied to, the files with their progress, the
//! text (Enter sends, Shift+Enter starts a new line), attach and send.

use connect360_widget::attachments::UploadState;
use connect360_widget::state::files_of;
use leptos::prelude::*;

use super::use_inbox;

#[component]
pub fn Composer() -> impl IntoView {
    let inbox = use_inbox();
    let messages = inbox.thread.messages;
    let uploads = inbox.thread.uploads;
    let replying = move || {
        let id = messages.replying_to.get()?;
        let text = messages.timeline.with(|t| {
            t.get(&id).and_then(|m| connect360_widget::locale::display_text(&m.content, connect360_api::Locale::En))
        });
        Some(text.unwrap_or_else(|| "a message".to_owned()))
    };
    view! {
        <form class="composer" on:submit=move |ev| {
            ev.prevent_default();
            inbox.send_draft();
        }>
            {move || replying().map(|text| view! {
                <div class="replying">
                    <span>"Replying to "<q dir="auto">{text}</q></span>
                    <button type="button" on:click=move |_| messages.replying_to.set(None)>"Cancel reply"</button>
                </div>
            })}
            <Show when=move || uploads.error.with(Option::is_some)>
                <p class="error" role="alert">{move || uploads.error.get()}</p>
            </Show>
            <ul class="uploads">
                <For each=move || uploads.items.with(|u| u.items().to_vec()) key=|u| u.key let:upload>
                    <UploadItem key=upload.key name=upload.name />
                </For>
            </ul>
            <label for="reply" class="sr-only">"Reply"</label>
            <textarea
                id="reply"
                dir="auto"
                rows="2"
                placeholder="Write a reply…"
                node_ref=inbox.thread.input
                prop:value=move || messages.draft.get()
                on:input:target=move |ev| messages.draft.set(ev.target().value())
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        inbox.send_draft();
                    }
                }
                on:paste=move |ev| {
                    let files = files_of(ev.clipboard_data().and_then(|d| d.files()));
                    if !files.is_empty() {
                        ev.prevent_default();
                        inbox.attach(files);
                    }
                }
            ></textarea>
            <div class="composer-actions">
                <label class="attach">
                    "Attach files"
                    <input
                        type="file"
                        multiple
                        class="sr-only"
                        on:change:target=move |ev| {
                            let input = ev.target();
                            inbox.attach(files_of(input.files()));
                            input.set_value("");
                        }
                    />
                </label>
                <button type="submit" disabled=move || !inbox.can_send()>"Send"</button>
            </div>
        </form>
    }
}

/// A file in the composer, kept while its state changes (a focused
/// Cancel stays focused): its progress, why it failed, cancel or remove.
#[component]
fn UploadItem(key: u32, name: String) -> impl IntoView {
    let uploads = use_inbox().thread.uploads;
    let state =
        Memo::new(move |_| uploads.items.with(|u| u.items().iter().find(|u| u.key == key).map(|u| u.state.clone())));
    let on_its_way = move || state.with(|s| s.as_ref().is_some_and(UploadState::on_its_way));
    let label = name.clone();
    let status = move || match state.get() {
        Some(UploadState::Pending) | None => view! { <span>"Waiting…"</span> }.into_any(),
        Some(UploadState::Uploading(percent)) => view! {
            <progress max="100" value=percent.to_string() aria-label=format!("Uploading {label}")></progress>
        }
        .into_any(),
        Some(UploadState::Done(_)) => view! { <span>"Ready"</span> }.into_any(),
        Some(UploadState::Failed(why)) => view! { <span class="failed">{why}</span> }.into_any(),
    };
    let action = move || if on_its_way() { "Cancel" } else { "Remove" };
    let name2 = name.clone();
    view! {
        <li class="upload">
            <span dir="auto">{name}</span>
            {status}
            <button type="button" aria-label=move || format!("{} {name2}", action())
                on:click=move |_| uploads.cancel_or_remove(key)>{action}</button>
        </li>
    }
}
