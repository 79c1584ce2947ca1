//! The conversation list: newest activity first, each with its customer,
//! site, last message, age and unread count; older pages on request.

use connect360_api::{ConversationSummary, Locale};
use connect360_widget::browser;
use connect360_widget::locale::display_text;
use leptos::prelude::*;

use super::use_inbox;
use crate::conversations::{site, title};
use crate::route::Route;
use crate::when::ago;

#[component]
pub fn ConversationList() -> impl IntoView {
    let inbox = use_inbox();
    let list = inbox.list;
    let items = move || list.conversations.with(|l| l.items().to_vec());
    let more = move || list.conversations.with(|l| l.older_cursor().is_some());
    let empty = move || list.conversations.with(|l| l.loaded() && l.items().is_empty());
    view! {
        <nav class="list" aria-label="Conversations">
            <h2 class="list-title">"Conversations"</h2>
            <Show when=move || list.error.with(Option::is_some)>
                <p class="error" role="alert">{move || list.error.get()}</p>
            </Show>
            <Show when=empty>
                <p class="empty">"No conversations yet."</p>
            </Show>
            <ul>
                // Keyed by id and what it shows: a changed item is drawn again.
                <For
                    each=items
                    key=|c| (c.id.clone(), c.last_activity_at.clone(), c.unread_count, c.last_message.as_ref().map(|m| m.id.clone()))
                    let:item
                >
                    <Item item />
                </For>
            </ul>
            <Show when=more>
                <button type="button" class="older" disabled=move || list.loading_older.get()
                    on:click=move |_| inbox.load_older_conversations()>
                    "Older conversations"
                </button>
            </Show>
        </nav>
    }
}

#[component]
fn Item(item: ConversationSummary) -> impl IntoView {
    let inbox = use_inbox();
    let route = Route::Conversation(item.id.clone());
    let href = route.path();
    let id = item.id.clone();
    let current = move || inbox.route.with(|r| r.conversation() == Some(id.as_str())).then_some("page");
    let name = title(&item);
    let site = site(&item).map(str::to_owned);
    let preview = item
        .last_message
        .as_ref()
        .map(|m| display_text(&m.content, Locale::En).unwrap_or_else(|| "Files".to_owned()))
        .unwrap_or_default();
    let at = item.last_activity_at.clone();
    let then = js_sys::Date::parse(&at);
    let age = {
        let at = at.clone();
        move || ago(inbox.now.get(), then).short().unwrap_or_else(|| browser::format_day(&at, "en"))
    };
    let unread = item.unread_count;
    let has_unread = unread > 0;
    view! {
        <li>
            <a
                href=href
                class="item"
                class:unread=has_unread
                aria-current=current
                on:click=move |ev| {
                    ev.prevent_default();
                    inbox.navigate(route.clone());
                }
            >
                <span class="item-name" dir="auto">{name}</span>
                <time class="item-age" datetime=at>{age}</time>
                <span class="item-site">{site}</span>
                <span class="item-preview" dir="auto">{preview}</span>
                {has_unread.then(|| view! {
                    <span class="badge" aria-hidden="true">{unread}</span>
                    <span class="sr-only">{format!("{unread} unread")}</span>
                })}
            </a>
        </li>
    }
}
