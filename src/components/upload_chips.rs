//! The composer's files: progress and cancel while uploading, the reason
//! and remove when it failed, remove once uploaded. Keyed: each keeps its
//! element while its state changes (a focused button stays focused).

use leptos::prelude::*;

use super::files::{FileIcon, FileName, FileSize};
use super::icon::{CLOSE, Icon};
use super::use_chat;
use crate::attachments::{Upload, UploadState};

#[component]
pub fn UploadChips() -> impl IntoView {
    let chat = use_chat();
    let items = chat.uploads.items;
    let any = Memo::new(move |_| items.with(|u| !u.items().is_empty()));
    move || {
        any.get().then(|| {
            view! {
                <ul class="c360-uploads">
                    <For each=move || items.with(|u| u.items().to_vec()) key=|u: &Upload| u.key let(upload)>
                        <UploadChip upload />
                    </For>
                </ul>
            }
        })
    }
}

#[component]
fn UploadChip(upload: Upload) -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let key = upload.key;
    let state = Memo::new(move |_| {
        chat.uploads.items.with(|u| u.items().iter().find(|u| u.key == key).map(|u| u.state.clone()))
    });
    let busy = Memo::new(move |_| state.with(|s| s.as_ref().is_some_and(UploadState::on_its_way)));
    let label = move || if busy.get() { s.cancel_upload } else { s.remove_file };
    let percent = move || match state.get() {
        Some(UploadState::Uploading(p)) => p.to_string(),
        _ => "0".to_owned(),
    };
    let failed = move || match state.get() {
        Some(UploadState::Failed(why)) => Some(why),
        _ => None,
    };
    view! {
        <li class="c360-upload" class:c360-upload-failed=move || failed().is_some()>
            <FileIcon />
            <span class="c360-upload-body">
                <FileName name=upload.name />
                <FileSize size=upload.size />
                {move || busy.get().then(|| view! {
                    <progress class="c360-progress" max="100" value=percent aria-label=s.uploading></progress>
                })}
                {move || failed().map(|why| view! {
                    <span class="c360-upload-error" role="alert">{s.upload_failed}": "{why}</span>
                })}
            </span>
            <button
                type="button"
                class="c360-upload-remove"
                aria-label=label
                title=label
                on:click=move |_| chat.uploads.cancel_or_remove(key)
            >
                <Icon d=CLOSE />
            </button>
        </li>
    }
}
