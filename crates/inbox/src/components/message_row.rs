//! A message as a member sees it: who wrote it (the customer, the AI, the
//! team), the quote it replies to, its text (links as links, its own
//! direction), its files, its time, delivery with Retry, and Reply.

use connect360_api::{ConversationSummary, SenderType};
use connect360_widget::browser;
use connect360_widget::components::linked;
use connect360_widget::locale::display_text;
use connect360_widget::outbox::Delivery;
use connect360_widget::timeline::Entry;
use leptos::prelude::*;

use super::files::Files;
use super::{sender_name, use_inbox};
use crate::conversations::title;
use crate::state::Account;

#[component]
pub fn MessageRow(entry: Entry, customer: Memo<Option<ConversationSummary>>) -> impl IntoView {
    let inbox = use_inbox();
    let customer_name = customer.with_untracked(|c| c.as_ref().map_or_else(|| "Customer".to_owned(), title));
    let who = match &entry.sender {
        _ if entry.mine => "You".to_owned(),
        Some(sender) => sender_name(sender, &customer_name),
        None => String::new(),
    };
    let ai = entry.sender.as_ref().is_some_and(|s| s.kind == SenderType::Ai);
    let text = display_text(&entry.content, connect360_api::Locale::En).unwrap_or_default();
    let quote = entry.parent_id.clone().map(|parent| {
        let messages = inbox.thread.messages;
        let customer_name = customer_name.clone();
        let quoted = move || {
            messages.timeline.with(|t| {
                t.get(&parent).map_or_else(
                    || ("Earlier message".to_owned(), String::new()),
                    |m| {
                        (
                            sender_name(&m.sender, &customer_name),
                            display_text(&m.content, connect360_api::Locale::En).unwrap_or_default(),
                        )
                    },
                )
            })
        };
        let quoted2 = quoted.clone();
        view! {
            <blockquote class="quote">
                <span class="quote-name">{move || quoted().0}</span>
                <span class="quote-text" dir="auto">{move || quoted2().1}</span>
            </blockquote>
        }
    });
    let time = entry.created_at.clone().map(|at| {
        let shown = browser::format_time(&at, "en");
        view! { <time datetime=at>{shown}</time> }
    });
    let delivery = entry.delivery.clone().map(|d| match d {
        Delivery::Sending => view! { <span class="status">"Sending…"</span> }.into_any(),
        Delivery::Sent => view! { <span class="status">"Sent"</span> }.into_any(),
        Delivery::Failed(why) => {
            let key = entry.key.clone();
            view! {
                <span class="status failed">{format!("Not sent: {why}")}</span>
                <button type="button" class="retry" on:click=move |_| inbox.retry(key.clone())>"Retry"</button>
            }
            .into_any()
        }
    });
    let reply_label = format!("Reply to {who}");
    // A read-only member has no composer to reply with.
    let may_reply = inbox.account.with_untracked(Account::may_engage);
    let reply = entry.id.clone().filter(|_| may_reply).map(|id| {
        view! {
            <button
                type="button"
                class="reply"
                aria-label=reply_label
                on:click=move |_| {
                    inbox.thread.messages.replying_to.set(Some(id.clone()));
                    inbox.thread.focus_input();
                }
            >
                "Reply"
            </button>
        }
    });
    view! {
        <article class="row" class:mine=entry.mine class:ai=ai data-id=entry.id>
            <div class="row-who">{who}</div>
            {quote}
            {(!text.is_empty()).then(|| view! { <div class="bubble" dir="auto">{linked(&text)}</div> })}
            <Files files=entry.attachments />
            <div class="row-meta">{time}{delivery}{reply}</div>
        </article>
    }
}
