//! A message: avatar and name (first of a group), the quote of its parent,
//! its text and files, its time and delivery (with Retry), and Reply.

use connect360_api::SenderType;
use leptos::either::Either;
use leptos::prelude::*;

use super::files::Files;
use super::icon::{Icon, REPLY};
use super::{sender_name, use_chat};
use crate::browser;
use crate::i18n::initials;
use crate::linkify::{Segment, linkify, safe_url};
use crate::locale::display_text;
use crate::outbox::Delivery;
use crate::state::Chat;
use crate::timeline::Entry;

#[component]
pub fn MessageRow(entry: Entry, first_of_group: bool, quoted: bool) -> impl IntoView {
    let chat = use_chat();
    let locale = chat.ui.locale.get_untracked();
    let s = chat.strings();
    let text = display_text(&entry.content, locale).unwrap_or_default();
    let mine = entry.mine;
    let name = entry.sender.as_ref().map(|snd| sender_name(snd, s)).unwrap_or_default();
    let avatar = (!mine).then(|| {
        if first_of_group {
            let sender = entry.sender.as_ref();
            let ai = sender.is_some_and(|snd| snd.kind == SenderType::Ai);
            let image = sender.and_then(|snd| snd.image.clone());
            Either::Left(view! { <Avatar image name=name.clone() ai /> })
        } else {
            Either::Right(view! { <span class="c360-avatar c360-avatar-space"></span> })
        }
    });
    let who = first_of_group.then(|| {
        if mine {
            Either::Left(view! { <div class="c360-sr">{s.you}</div> })
        } else {
            Either::Right(view! { <div class="c360-name">{name}</div> })
        }
    });
    let quote = entry.parent_id.clone().filter(|_| quoted).map(|parent| view! { <Quote parent /> });
    let body = (!text.is_empty() || entry.attachments.is_empty()).then(|| view! { <MessageBody text /> });
    let time = entry.created_at.clone().map(|at| {
        let shown = browser::format_time(&at, locale.as_str());
        view! { <time datetime=at>{shown}</time> }
    });
    let delivery = entry.delivery.clone().map(|d| match d {
        Delivery::Sending => Either::Left(view! { <span class="c360-status">{s.sending}</span> }),
        Delivery::Sent => Either::Left(view! { <span class="c360-status">{s.sent}</span> }),
        Delivery::Failed(why) => {
            let key = entry.key.clone();
            Either::Right(view! {
                <span class="c360-status c360-failed" title=why>{s.failed}</span>
                <button
                    type="button"
                    class="c360-link-button c360-retry"
                    on:click=move |_| chat.retry(key.clone())
                >
                    {s.retry}
                </button>
            })
        }
    });
    let reply = entry.id.clone().map(|id| {
        view! {
            <button
                type="button"
                class="c360-reply"
                aria-label=s.reply
                title=s.reply
                on:click=move |_| {
                    chat.messages.replying_to.set(Some(id.clone()));
                    chat.ui.focus_input();
                }
            >
                <Icon d=REPLY />
            </button>
        }
    });
    view! {
        <div
            class="c360-row"
            class:c360-mine=mine
            class:c360-theirs=!mine
            class:c360-first=first_of_group
            data-id=entry.id
        >
            {avatar}
            <div class="c360-stack">
                {who}
                {quote}
                {body}
                <Files files=entry.attachments />
                <div class="c360-meta">{time}{delivery}</div>
            </div>
            {reply}
        </div>
    }
}

/// A sender's picture (a safe http(s) image) or else their initials.
#[component]
pub fn Avatar(image: Option<String>, name: String, ai: bool) -> impl IntoView {
    match image.as_deref().and_then(safe_url).map(str::to_owned) {
        Some(src) => Either::Left(view! {
            <img class="c360-avatar" src=src alt="" loading="lazy" referrerpolicy="no-referrer" />
        }),
        None => Either::Right(view! {
            <span class="c360-avatar" class:c360-avatar-ai=ai aria-hidden="true">{initials(&name)}</span>
        }),
    }
}

/// A message's text in its bubble: its own direction.
#[component]
pub fn MessageBody(text: String) -> impl IntoView {
    view! { <div class="c360-bubble" dir="auto">{linked(&text)}</div> }
}

/// Text as text (never HTML), with its http(s) links as links.
pub fn linked(text: &str) -> impl IntoView + use<> {
    linkify(text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(text) => Either::Left(text),
            Segment::Link(url) => {
                let href = url.clone();
                Either::Right(view! { <a href=href target="_blank" rel="noopener noreferrer">{url}</a> })
            }
        })
        .collect_view()
}

/// The author and the text of message `id` as they are loaded (`unknown`
/// and nothing until then), each as a closure that follows the timeline.
pub fn quoted(
    chat: Chat,
    id: String,
    unknown: &'static str,
) -> (impl Fn() -> String + Send + Sync + Clone + 'static, impl Fn() -> String + Send + Sync + Clone + 'static) {
    let preview = move |id: &str| {
        let s = chat.strings();
        chat.messages.timeline.with(|t| {
            t.get(id).map(|m| {
                (
                    sender_name(&m.sender, s),
                    display_text(&m.content, chat.ui.locale.get_untracked()).unwrap_or_default(),
                )
            })
        })
    };
    let id2 = id.clone();
    (
        move || preview(&id).map_or_else(|| unknown.to_owned(), |p| p.0),
        move || preview(&id2).map(|p| p.1).unwrap_or_default(),
    )
}

/// The quote of a reply's parent; clicking it scrolls to the parent.
#[component]
fn Quote(parent: String) -> impl IntoView {
    let chat = use_chat();
    let (name, text) = quoted(chat, parent.clone(), chat.strings().earlier_message);
    view! {
        <button type="button" class="c360-quote" on:click=move |_| chat.scroll_to_message(parent.clone())>
            <span class="c360-quote-name">{name}</span>
            <span class="c360-quote-text" dir="auto">{text}</span>
        </button>
    }
}
