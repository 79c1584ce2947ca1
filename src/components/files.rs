//! A message's files: safe images as thumbnails that open large, anything
//! else as a chip that downloads.

use connect360_api::Attachment;
use leptos::either::Either;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::icon::{FILE, Icon};
use super::use_chat;
use crate::attachments::{file_url, human_size, is_image};

#[component]
pub fn Files(files: Vec<Attachment>) -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let api_base = chat.ui.config.with_value(|c| c.api_base.clone());
    (!files.is_empty()).then(|| {
        let items = files
            .into_iter()
            .filter_map(|f| file_url(&api_base, &f.url).map(|url| (url, f)))
            .map(|(url, f)| {
                if is_image(&f.media_type) {
                    let (src, alt, label) = (url.clone(), f.name.clone(), f.name.clone());
                    Either::Left(view! {
                        <li>
                            <button
                                type="button"
                                class="c360-thumb"
                                aria-label=label
                                on:click=move |ev| {
                                    let opener = ev.current_target().and_then(|t| t.dyn_into().ok());
                                    chat.ui.open_image(src.clone(), alt.clone(), opener);
                                }
                            >
                                <img class="c360-thumb-image" src=url alt=f.name loading="lazy" />
                            </button>
                        </li>
                    })
                } else {
                    let download = f.name.clone();
                    Either::Right(view! {
                        <li>
                            <a class="c360-file" href=url download=download rel="noopener noreferrer" title=s.download>
                                <FileIcon />
                                <FileName name=f.name />
                                <FileSize size=f.size />
                            </a>
                        </li>
                    })
                }
            })
            .collect_view();
        view! { <ul class="c360-files">{items}</ul> }
    })
}

#[component]
pub fn FileIcon() -> impl IntoView {
    view! { <Icon class="c360-icon c360-file-icon" d=FILE /> }
}

#[component]
pub fn FileName(name: String) -> impl IntoView {
    view! { <span class="c360-file-name" dir="auto">{name}</span> }
}

#[component]
pub fn FileSize(size: u64) -> impl IntoView {
    view! { <span class="c360-file-size">{human_size(size)}</span> }
}
