//! The conversation on screen: its header (back to the list on a phone,
//! the customer, the AI switch), its history with older pages above, the
//! composer and the customer's details.

use connect360_api::SenderType;
use leptos::prelude::*;

use connect360_widget::outbox::Delivery;

use super::{Composer, Details, MessageRow, use_inbox};
use crate::conversations::title;
use crate::route::Route;
use crate::state::Account;

#[component]
pub fn Conversation(id: String) -> impl IntoView {
    let inbox = use_inbox();
    let thread = inbox.thread;
    let summary = {
        let id = id.clone();
        Memo::new(move |_| inbox.list.conversations.with(|l| l.get(&id).cloned()))
    };
    let name = {
        let id = id.clone();
        Memo::new(move |_| summary.with(|s| s.as_ref().map_or_else(|| id.clone(), title)))
    };
    let ai_stopped = move || summary.with(|s| s.as_ref().is_some_and(|s| s.ai_stopped_at.is_some()));
    let entries = move || {
        let messages = thread.messages;
        messages.timeline.with(|t| messages.outbox.with(|o| t.entries_as(o, SenderType::Workspace)))
    };
    let more = move || thread.messages.timeline.with(|t| t.older_cursor().is_some());
    let may_engage = move || inbox.account.with(Account::may_engage);
    view! {
        <section class="conversation" aria-label=move || format!("Conversation with {}", name.get())>
            <header class="conversation-head">
                <button type="button" class="back" on:click=move |_| inbox.navigate(Route::List)>
                    "Back to conversations"
                </button>
                <h2 dir="auto">{name}</h2>
                <Show when=may_engage>
                    <button
                        type="button"
                        class="ai-switch"
                        disabled=move || thread.switching_ai.get()
                        on:click=move |_| inbox.switch_ai(!ai_stopped())
                    >
                        {move || if ai_stopped() { "Hand back to AI" } else { "Hand off from AI" }}
                    </button>
                </Show>
            </header>
            <Show when=move || thread.error.with(Option::is_some)>
                <p class="error" role="alert">{move || thread.error.get()}</p>
            </Show>
            <div
                class="messages"
                node_ref=thread.list
                tabindex="0"
                role="log"
                aria-label=move || format!("Messages with {}", name.get())
                on:scroll=move |_| inbox.on_scroll()
            >
                <Show when=more>
                    <button type="button" class="older" disabled=move || thread.messages.loading_older.get()
                        on:click=move |_| inbox.load_older_messages()>
                        "Older messages"
                    </button>
                </Show>
                <For each=entries key=|e| (e.key.clone(), e.id.clone(), delivery_key(e.delivery.as_ref())) let:entry>
                    <MessageRow entry customer=summary />
                </For>
            </div>
            <Show
                when=may_engage
                fallback=|| view! { <p class="read-only">"Your role lets you read conversations, not reply."</p> }
            >
                <Composer />
            </Show>
            <Details summary />
        </section>
    }
}

/// A row is drawn again when its delivery changes (sending → sent, failed).
fn delivery_key(delivery: Option<&Delivery>) -> u8 {
    match delivery {
        None => 0,
        Some(Delivery::Sending) => 1,
        Some(Delivery::Sent) => 2,
        Some(Delivery::Failed(_)) => 3,
    }
}
