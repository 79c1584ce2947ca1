//! The message list: older pages loading, the connection's state, the
//! empty state, the messages by day (keyed rows), the AI reply being
//! written and the hand-off's outcome.

use leptos::either::Either;
use leptos::prelude::*;

use super::ai_draft::AiDraft;
use super::message_row::MessageRow;
use super::use_chat;
use crate::browser;
use crate::outbox::Delivery;
use crate::state::{Chat, HandOffState, Status};
use crate::timeline::{Entry, History};

/// A line of the list: a day separator or a message.
#[derive(Clone)]
enum Row {
    Day {
        day: u32,
        label: String,
    },
    Message {
        entry: Entry,
        first_of_group: bool,
        /// Its parent is quoted: a reply to the message right above says so
        /// by its place alone.
        quoted: bool,
    },
}

impl Row {
    /// Changes whenever the row must be drawn again.
    fn key(&self) -> String {
        match self {
            Row::Day { day, .. } => format!("day:{day}"),
            Row::Message { entry, first_of_group, quoted } => {
                let delivery = match &entry.delivery {
                    None => 0,
                    Some(Delivery::Sending) => 1,
                    Some(Delivery::Sent) => 2,
                    Some(Delivery::Failed(_)) => 3,
                };
                format!("m:{}:{}:{delivery}:{}:{}", entry.key, entry.id.is_some(), *first_of_group, *quoted)
            }
        }
    }
}

fn rows(chat: Chat) -> Vec<Row> {
    let lang = chat.ui.locale.get_untracked().as_str();
    let s = chat.strings();
    let entries = chat.messages.timeline.with(|t| chat.messages.outbox.with(|o| t.entries(o)));
    let today = browser::local_day(None);
    let yesterday = browser::yesterday();
    let mut rows = Vec::with_capacity(entries.len() + 4);
    let mut last_day = 0;
    let mut last_sender: Option<(bool, Option<String>)> = None;
    let mut last_id: Option<String> = None;
    for entry in entries {
        let day = browser::local_day(entry.created_at.as_deref());
        if day != last_day {
            let label = if day == today {
                s.today.to_owned()
            } else if day == yesterday {
                s.yesterday.to_owned()
            } else {
                browser::format_day(entry.created_at.as_deref().unwrap_or_default(), lang)
            };
            rows.push(Row::Day { day, label });
            last_day = day;
            last_sender = None;
        }
        let who = (entry.mine, entry.sender.as_ref().map(|s| s.id.clone()));
        let first_of_group = entry.mine && last_sender.as_ref().is_none_or(|l| !l.0)
            || !entry.mine && last_sender.as_ref() != Some(&who);
        last_sender = Some(who);
        let quoted = entry.parent_id.is_some() && entry.parent_id != last_id;
        last_id.clone_from(&entry.id);
        rows.push(Row::Message { entry, first_of_group, quoted });
    }
    rows
}

/// Not live itself: loaded and paged history would be read out. New
/// messages from others are announced by the announcer. Focusable so that
/// the keyboard can scroll it.
#[component]
pub fn MessageList() -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let (status, hand_off) = (chat.session.status, chat.session.hand_off);
    // Said once the first page is in: the session is ready a moment before.
    let empty = Memo::new(move |_| {
        status.get() == Status::Ready
            && chat.messages.timeline.with(|t| *t.history() != History::Unknown && t.messages().is_empty())
            && chat.messages.outbox.with(|o| o.unstored().next().is_none())
    });
    let loading = chat.messages.loading_older;
    view! {
        <div
            class="c360-list"
            role="log"
            aria-live="off"
            aria-label=s.messages
            tabindex="0"
            node_ref=chat.ui.list
            on:scroll=move |_| chat.on_scroll()
        >
            {move || loading.get().then(|| view! {
                <div class="c360-loader" role="status">
                    <span class="c360-spinner" aria-hidden="true"></span>
                    {s.loading}
                </div>
            })}
            {move || match status.get() {
                Status::Connecting => Some(Either::Left(view! {
                    <div class="c360-notice" role="status">{s.connecting}</div>
                })),
                Status::Failed(_) => Some(Either::Right(view! {
                    <div class="c360-notice c360-notice-error" role="alert">
                        {s.cannot_connect}
                        " "
                        <button type="button" class="c360-link-button" on:click=move |_| chat.connect()>
                            {s.retry}
                        </button>
                    </div>
                })),
                _ => None,
            }}
            {move || empty.get().then(|| view! { <div class="c360-empty">{s.empty}</div> })}
            <For each=move || rows(chat) key=Row::key let(row)>
                {match row {
                    Row::Day { label, .. } => Either::Left(view! {
                        <div class="c360-day"><span>{label}</span></div>
                    }),
                    Row::Message { entry, first_of_group, quoted } => Either::Right(view! {
                        <MessageRow entry first_of_group quoted />
                    }),
                }}
            </For>
            <AiDraft />
            {move || match hand_off.get() {
                HandOffState::Done => Some(Either::Left(view! {
                    <div class="c360-notice" role="status">{s.handed_off}</div>
                })),
                HandOffState::Failed(why) => Some(Either::Right(view! {
                    <div class="c360-notice c360-notice-error" role="alert" title=why>
                        {s.hand_off_failed}
                    </div>
                })),
                _ => None,
            }}
        </div>
    }
}
