//! A message's files for a member: images as thumbnails that open the file
//! in a new tab, anything else as a download with its size.

use connect360_api::Attachment;
use connect360_widget::attachments::{file_url, human_size, is_image};
use leptos::prelude::*;

use super::use_inbox;

#[component]
pub fn Files(files: Vec<Attachment>) -> impl IntoView {
    let api_base = use_inbox().api_base.get_value();
    let items = files
        .into_iter()
        .filter_map(|f| Some((file_url(&api_base, &f.url)?, f)))
        .map(|(url, f)| {
            let thumbnail = is_image(&f.media_type).then(|| {
                view! { <img class="thumb" src=url.clone() alt=f.name.clone() loading="lazy" /> }
            });
            let label = format!("{} ({})", f.name, human_size(f.size));
            let download_label = format!("Download {label}");
            view! {
                <li>
                    <a class="file" href=url download=f.name target="_blank" rel="noopener noreferrer"
                        aria-label=download_label>
                        {thumbnail}
                        <span class="file-label" dir="auto">{label}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="files">{items}</ul> }
}
