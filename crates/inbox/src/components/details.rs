//! The customer's details beside the conversation: name, email, external
//! id, site and metadata, as `listConversations` gives them.

use connect360_api::ConversationSummary;
use leptos::prelude::*;

use crate::conversations::site;

#[component]
pub fn Details(summary: Memo<Option<ConversationSummary>>) -> impl IntoView {
    let rows = move || {
        summary.with(|s| {
            let Some(s) = s else { return Vec::new() };
            let customer = s.customer.as_ref();
            let mut rows: Vec<(String, Option<String>)> = [
                ("Name", customer.and_then(|c| c.name.clone())),
                ("Email", customer.and_then(|c| c.email.clone())),
                ("External id", customer.and_then(|c| c.external_id.clone())),
                ("Site", site(s).map(str::to_owned)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            // The customer's metadata, then the conversation's.
            let metadata = customer.map(|c| &c.metadata).into_iter().chain([&s.metadata]);
            for (key, value) in metadata.flat_map(|m| m.iter()) {
                rows.push((key.clone(), Some(value.as_str().map_or_else(|| value.to_string(), str::to_owned))));
            }
            rows.into_iter().map(|(k, v)| (k, v.unwrap_or_else(|| "—".to_owned()))).collect::<Vec<_>>()
        })
    };
    view! {
        // A region of the conversation, not a top-level aside.
        <section class="details" aria-label="Customer details">
            <h3>"Customer"</h3>
            <dl>
                {move || rows().into_iter().map(|(k, v)| view! {
                    <dt dir="auto">{k}</dt>
                    <dd dir="auto">{v}</dd>
                }).collect_view()}
            </dl>
        </section>
    }
}
