//! The panel: launcher, header, message list and composer.

use connect360_api::{Attachment, Sender, SenderType};
use leptos::either::Either;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::attachments::{UploadState, file_url, human_size, is_image};
use crate::browser;
use crate::chat::{Chat, HandOffState, Status};
use crate::i18n::{Strings, initials, strings};
use crate::linkify::{Segment, linkify, safe_url};
use crate::locale::{display_text, is_rtl};
use crate::outbox::Delivery;
use crate::timeline::{Entry, History};
use crate::upload;

/// The paths of the icons (24 by 24, drawn by `icon`).
const CHAT: &str = "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.6.5-1.3.1-1.3-.6V16A2.5 2.5 0 0 1 4 13.5z";
const CLOSE: &str = "M6 6l12 12M18 6L6 18";
const REPLY: &str = "M10 8V4l-7 7 7 7v-4c5 0 8.5 1.6 11 5-1-5-4-10-11-11z";
const FILE: &str = "M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8zM14 3v5h5";
const ATTACH: &str = "M20 11.5 12.2 19.3a5 5 0 0 1-7.1-7.1l8-8a3.3 3.3 0 0 1 4.7 4.7l-8 8a1.7 1.7 0 0 1-2.4-2.4l7.3-7.3";
const SEND: &str = "M3.4 20.4 21 12 3.4 3.6 3.4 10.1 15 12 3.4 13.9z";

/// An icon: one path, decorative. One function for all of them, so that
/// their views share one instance of the rendering code.
#[inline(never)]
fn icon(class: &'static str, d: &'static str) -> impl IntoView {
    view! {
        <svg class=class viewBox="0 0 24 24" aria-hidden="true">
            <path d=d />
        </svg>
    }
}

/// A line of the list: a day separator or a message.
#[derive(Clone)]
enum Row {
    Day { day: u32, label: String },
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
            Row::Message {
                entry,
                first_of_group,
                quoted,
            } => {
                let delivery = match &entry.delivery {
                    None => 0,
                    Some(Delivery::Sending) => 1,
                    Some(Delivery::Sent) => 2,
                    Some(Delivery::Failed(_)) => 3,
                };
                format!(
                    "m:{}:{}:{delivery}:{}:{}",
                    entry.key,
                    entry.id.is_some(),
                    *first_of_group,
                    *quoted
                )
            }
        }
    }
}

fn rows(chat: Chat) -> Vec<Row> {
    let lang = chat.locale.get_untracked().as_str();
    let s = strings(chat.locale.get_untracked());
    let entries = chat.timeline.with(|t| chat.outbox.with(|o| t.entries(o)));
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
        rows.push(Row::Message {
            entry,
            first_of_group,
            quoted,
        });
    }
    rows
}

fn sender_name(sender: &Sender, s: &Strings) -> String {
    match (&sender.name, sender.kind) {
        (Some(name), _) if !name.trim().is_empty() => name.clone(),
        (_, SenderType::Ai) => s.assistant.to_owned(),
        (_, SenderType::Customer) => s.you.to_owned(),
        (_, SenderType::Workspace) => s.support.to_owned(),
    }
}

/// The widget. A change of language (`Chat::set_locale`) draws it again,
/// whole: what it shows lives in `chat`, not in the view.
#[component]
pub fn App(chat: Chat) -> impl IntoView {
    let mut drawn = false;
    move || {
        chat.locale.track();
        // Drawn again: the open panel does not play its opening again.
        let again = std::mem::replace(&mut drawn, true);
        view! { <Frame chat again /> }
    }
}

#[component]
fn Frame(chat: Chat, again: bool) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    let rtl = is_rtl(chat.locale.get_untracked());
    let left = chat.config.with_value(|c| c.on_left(rtl));
    let launcher = NodeRef::<leptos::html::Button>::new();
    // Open, it closes the panel; closed, it also says how many replies wait.
    let launcher_label = move || {
        if chat.open.get() {
            return s.close.to_owned();
        }
        match chat.unread.get() {
            0 => s.open_chat.to_owned(),
            n => s.open_chat_unread.replace("{n}", &n.to_string()),
        }
    };
    view! {
        <div
            class="c360"
            class:c360-left=left
            class:c360-again=again
            class:c360-open=move || chat.open.get()
            dir=if rtl { "rtl" } else { "ltr" }
            lang=chat.locale.get_untracked().as_str()
        >
            // Before the panel: Tab goes from the launcher into the panel it opens.
            <button
                type="button"
                class="c360-launcher"
                aria-label=launcher_label
                aria-expanded=move || chat.open.get().to_string()
                aria-controls="c360-panel"
                node_ref=launcher
                on:click=move |_| chat.toggle()
                on:keydown=move |ev| {
                    if ev.key() == "Escape" && chat.open.get_untracked() {
                        chat.set_open(false);
                    }
                }
            >
                {icon("c360-icon c360-icon-chat", CHAT)}
                {icon("c360-icon c360-icon-close", CLOSE)}
                {when(move || chat.unread.get() > 0, move || view! {
                    <span class="c360-badge" aria-hidden="true">{move || chat.unread.get()}</span>
                })}
            </button>
            <Panel chat launcher />
        </div>
    }
}

/// What `<Show>` does, without its type-erased children: `view` drawn
/// while `cond` holds, drawn again only when `cond` changes.
fn when<V: IntoView + 'static>(
    cond: impl Fn() -> bool + Send + Sync + 'static,
    view: impl Fn() -> V + Send + Sync + 'static,
) -> impl IntoView {
    let shown = Memo::new(move |_| cond());
    move || shown.get().then(&view)
}

/// Closes the panel and gives the focus back to the launcher.
fn close_to_launcher(chat: Chat, launcher: NodeRef<leptos::html::Button>) {
    chat.set_open(false);
    // Once the panel is hidden (and the launcher shown again on small screens).
    request_animation_frame(move || {
        if let Some(button) = launcher.get_untracked() {
            _ = button.focus();
        }
    });
}

#[component]
fn Panel(chat: Chat, launcher: NodeRef<leptos::html::Button>) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    let title = chat
        .config
        .with_value(|c| c.title.clone())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| s.title.to_owned());
    let empty = move || {
        chat.status.get() == Status::Ready
            && chat.timeline.with(|t| t.messages().is_empty())
            && chat.outbox.with(|o| o.unstored().next().is_none())
    };
    let label = title.clone();
    view! {
        <section
            id="c360-panel"
            class="c360-panel"
            role="dialog"
            aria-label=label
            hidden=move || !chat.open.get()
            class:c360-dropping=move || { chat.dragging.get() > 0 }
            on:keydown=move |ev| {
                if ev.key() == "Escape" && !ev.is_composing() {
                    if chat.lightbox.get_untracked().is_some() {
                        close_lightbox(chat);
                    } else {
                        close_to_launcher(chat, launcher);
                    }
                }
            }
            on:dragenter=move |ev| {
                if carries_files(&ev) {
                    ev.prevent_default();
                    chat.dragging.update(|n| *n += 1);
                }
            }
            on:dragover=move |ev| {
                // Without this the browser opens the dropped file instead.
                if carries_files(&ev) {
                    ev.prevent_default();
                }
            }
            on:dragleave=move |_| chat.dragging.update(|n| *n = n.saturating_sub(1))
            on:drop=move |ev| {
                chat.dragging.set(0);
                // Dropped text still goes into the composer as the browser does it.
                if !carries_files(&ev) {
                    return;
                }
                ev.prevent_default();
                let files = ev.data_transfer().and_then(|d| d.files());
                upload::attach(chat, upload::files_of(files));
            }
        >
            <div class="c360-drop" aria-hidden="true">{s.drop_files}</div>
            <div class="c360-header">
                <h2 class="c360-title">{title}</h2>
                {when(move || {
                    matches!(chat.hand_off.get(), HandOffState::Available | HandOffState::Asking | HandOffState::Failed(_))
                }, move || view! {
                    <button
                        type="button"
                        class="c360-hand-off"
                        disabled=move || chat.hand_off.get() == HandOffState::Asking
                        on:click=move |_| chat.hand_off()
                    >
                        {s.talk_to_person}
                    </button>
                })}
                <button
                    type="button"
                    class="c360-close"
                    aria-label=s.close
                    on:click=move |_| close_to_launcher(chat, launcher)
                >
                    {icon("c360-icon", CLOSE)}
                </button>
            </div>
            // Not live itself: loaded and paged history would be read out.
            // New messages from others are announced by `announcer`. Focusable
            // so that the keyboard can scroll it.
            <div
                class="c360-list"
                role="log"
                aria-live="off"
                aria-label=s.messages
                tabindex="0"
                node_ref=chat.list
                on:scroll=move |_| chat.on_scroll()
            >
                {when(move || chat.loading_older.get(), move || view! {
                    <div class="c360-loader" role="status">
                        <span class="c360-spinner" aria-hidden="true"></span>
                        {s.loading}
                    </div>
                })}
                {move || match chat.status.get() {
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
                {when(empty, move || view! { <div class="c360-empty">{s.empty}</div> })}
                <For each=move || rows(chat) key=Row::key let:row>
                    {render_row(chat, row)}
                </For>
                {ai_draft(chat)}
                {move || match chat.hand_off.get() {
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
            {announcer(chat)}
            <Composer chat />
            {move || chat.lightbox.get().map(|(src, alt)| lightbox(chat, src, alt))}
        </section>
    }
}

/// A visually hidden status region that says "New message from X: text" for
/// messages from others that arrive while the panel is open; never for the
/// history loaded on opening or paged in above, nor the visitor's own, which
/// are only announced when they could not be sent ("Not sent: text").
fn announcer(chat: Chat) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    let said = RwSignal::new(None::<String>);
    // The newest stored message already looked at (`Some(None)`: none yet);
    // `None` until the first page is in.
    // Each effect keeps what it saw in its own closure.
    let mut seen = None::<Option<(String, String)>>;
    Effect::new(move |_| {
        let fresh = chat.timeline.with(|t| {
            if *t.history() == History::Unknown {
                seen = None;
                return Vec::new();
            }
            let newest = t
                .messages()
                .last()
                .map(|m| (m.created_at.clone(), m.id.clone()));
            let Some(last) = seen.replace(newest) else {
                return Vec::new();
            };
            let is_new = |m: &&connect360_api::Message| {
                last.as_ref().is_none_or(|(at, id)| {
                    (m.created_at.as_str(), m.id.as_str()) > (at.as_str(), id.as_str())
                })
            };
            let mut fresh: Vec<String> = t
                .messages()
                .iter()
                .rev()
                .take_while(is_new)
                .filter(|m| m.sender.kind != SenderType::Customer)
                .take(3)
                .map(|m| {
                    let text = display_text(&m.content, chat.locale.get_untracked())
                        .filter(|t| !t.trim().is_empty())
                        .unwrap_or_else(|| {
                            m.attachments
                                .iter()
                                .map(|a| a.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        });
                    s.new_message
                        .replace("{name}", &sender_name(&m.sender, s))
                        .replace("{text}", &text)
                })
                .collect();
            fresh.reverse();
            fresh
        });
        if !fresh.is_empty() && chat.open.get_untracked() {
            said.set(Some(fresh.join("\n")));
        }
    });
    // The visitor's messages that failed, by client id, once each failure.
    let mut failed = Vec::<String>::new();
    Effect::new(move |_| {
        let mut newly = Vec::new();
        let now: Vec<String> = chat.outbox.with(|o| {
            o.unstored()
                .filter(|m| matches!(m.delivery, Delivery::Failed(_)))
                .map(|m| {
                    if !failed.contains(&m.client_id) {
                        let text = display_text(&m.content, chat.locale.get_untracked()).unwrap_or_default();
                        newly.push(format!("{}: {text}", s.failed));
                    }
                    m.client_id.clone()
                })
                .collect()
        });
        failed = now;
        if !newly.is_empty() && chat.open.get_untracked() {
            said.set(Some(newly.join("\n")));
        }
    });
    // The assistant starts on a reply: said once, as it starts typing.
    let mut typing_for = None::<String>;
    Effect::new(move |_| {
        let after = chat.reply.with(|r| r.as_ref().map(|r| r.after.clone()));
        if after.is_some() && after != typing_for && chat.open.get_untracked() {
            said.set(Some(s.typing.to_owned()));
        }
        typing_for = after;
    });
    Effect::new(move |_| {
        if !chat.open.get() {
            said.set(None);
        }
    });
    view! {
        // A new element each time, so that the same words twice are said twice.
        <div class="c360-sr c360-announcer" role="status">
            {move || said.get().map(|text| view! { <p>{text}</p> })}
        </div>
    }
}

/// Whether a drag brings files (not text or a link from the page).
fn carries_files(ev: &web_sys::DragEvent) -> bool {
    ev.data_transfer()
        .is_some_and(|d| d.types().iter().any(|t| t.as_string().as_deref() == Some("Files")))
}

/// An image at full size over the panel; a click or Esc closes it.
fn lightbox(chat: Chat, src: String, alt: String) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    let close = NodeRef::<leptos::html::Button>::new();
    let label = alt.clone();
    // Drawn by the next frame: its close button takes the focus.
    request_animation_frame(move || {
        if let Some(button) = close.get_untracked() {
            _ = button.focus();
        }
    });
    view! {
        <div class="c360-lightbox" role="dialog" aria-modal="true" aria-label=label
            on:click=move |_| close_lightbox(chat)
            on:keydown=move |ev| {
                // Its close button is all it holds: Tab stays on it.
                if ev.key() == "Tab" {
                    ev.prevent_default();
                    if let Some(button) = close.get_untracked() {
                        _ = button.focus();
                    }
                }
            }>
            <img class="c360-lightbox-image" src=src alt=alt />
            <button type="button" class="c360-lightbox-close" aria-label=s.close_image node_ref=close>
                {icon("c360-icon", CLOSE)}
            </button>
        </div>
    }
}

fn close_lightbox(chat: Chat) {
    chat.lightbox.set(None);
    if let Some(opener) = chat.lightbox_opener.try_update_value(Option::take).flatten() {
        _ = opener.focus();
    }
}

/// The AI reply being written, drawn as its stored message will be (same
/// row, name and avatar), so that the swap moves nothing: three dots until
/// the first words, then the words as they come.
fn ai_draft(chat: Chat) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    // `Some(typing)` while shown: hidden once the reply is stored.
    let shown = Memo::new(move |_| {
        chat.reply.with(|r| {
            r.as_ref()
                .filter(|r| !chat.timeline.with(|t| r.answered_in(t.messages())))
                .map(|r| r.typing())
        })
    });
    let text = move || chat.reply.with(|r| r.as_ref().map(|r| r.text.clone()).unwrap_or_default());
    // As the stream names the writer, else as the agent's last reply shows it.
    let sender = Memo::new(move |_| {
        chat.reply.with(|r| r.as_ref().and_then(|r| r.sender.clone())).or_else(|| {
            chat.timeline.with(|t| {
                t.messages().iter().rev().find(|m| m.sender.kind == SenderType::Ai).map(|m| m.sender.clone())
            })
        })
    });
    let name = move || sender.with(|snd| snd.as_ref().map_or_else(|| s.assistant.to_owned(), |snd| sender_name(snd, s)));
    let avatar = move || sender.with(|snd| avatar(snd.as_ref().and_then(|snd| snd.image.as_deref()), &name(), true));
    // Drawn once when shown; only its parts change after that.
    let visible = Memo::new(move |_| shown.get().is_some());
    move || {
        visible.get().then(|| {
            view! {
                <div class="c360-row c360-theirs c360-first c360-draft">
                    {avatar}
                    <div class="c360-stack">
                        <div class="c360-name">{name}</div>
                        {move || if shown.get() == Some(true) {
                            Either::Left(view! {
                                // Announced by `announcer` when it starts.
                                <div class="c360-bubble c360-typing">
                                    <span class="c360-dot" aria-hidden="true"></span>
                                    <span class="c360-dot" aria-hidden="true"></span>
                                    <span class="c360-dot" aria-hidden="true"></span>
                                    <span class="c360-sr">{s.typing}</span>
                                </div>
                            })
                        } else {
                            Either::Right(view! {
                                <div class="c360-bubble" dir="auto">{move || message_body(text())}</div>
                            })
                        }}
                        // The stored message's time goes here: its line is kept.
                        <div class="c360-meta">"\u{a0}"</div>
                    </div>
                </div>
            }
        })
    }
}

/// A sender's picture (a safe http(s) image) or else their initials.
fn avatar(image: Option<&str>, name: &str, ai: bool) -> impl IntoView + use<> {
    match image.and_then(safe_url) {
        Some(src) => Either::Left(view! {
            <img class="c360-avatar" src=src.to_owned() alt="" loading="lazy" referrerpolicy="no-referrer" />
        }),
        None => Either::Right(view! {
            <span class="c360-avatar" class:c360-avatar-ai=ai aria-hidden="true">{initials(name)}</span>
        }),
    }
}

fn render_row(chat: Chat, row: Row) -> impl IntoView {
    match row {
        Row::Day { label, .. } => Either::Left(view! {
            <div class="c360-day"><span>{label}</span></div>
        }),
        Row::Message {
            entry,
            first_of_group,
            quoted,
        } => Either::Right(bubble(chat, entry, first_of_group, quoted)),
    }
}

/// A message: text as text (never HTML), http(s) links, its own direction.
pub fn message_body(text: String) -> impl IntoView {
    linkify(&text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(text) => Either::Left(text),
            Segment::Link(url) => {
                let href = url.clone();
                Either::Right(view! {
                    <a href=href target="_blank" rel="noopener noreferrer">{url}</a>
                })
            }
        })
        .collect_view()
}

fn bubble(chat: Chat, entry: Entry, first_of_group: bool, quoted: bool) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    let lang = chat.locale.get_untracked().as_str();
    let text = display_text(&entry.content, chat.locale.get_untracked()).unwrap_or_default();
    let mine = entry.mine;
    let sender = entry.sender.clone();
    let name = sender.as_ref().map(|snd| sender_name(snd, s));
    let avatar = (!mine).then(|| {
        if !first_of_group {
            return Either::Left(view! { <span class="c360-avatar c360-avatar-space"></span> });
        }
        let is_ai = sender.as_ref().is_some_and(|snd| snd.kind == SenderType::Ai);
        let image = sender.as_ref().and_then(|snd| snd.image.as_deref());
        Either::Right(avatar(image, name.as_deref().unwrap_or_default(), is_ai))
    });
    let time = entry
        .created_at
        .as_deref()
        .map(|at| view! { <time datetime=at.to_owned()>{browser::format_time(at, lang)}</time> });
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
    let quote = entry
        .parent_id
        .clone()
        .filter(|_| quoted)
        .map(|parent| quote(chat, parent));
    let reply = entry.id.clone().map(|id| {
        view! {
            <button
                type="button"
                class="c360-reply"
                aria-label=s.reply
                title=s.reply
                on:click=move |_| {
                    chat.replying_to.set(Some(id.clone()));
                    if let Some(input) = chat.input.get_untracked() {
                        _ = input.focus();
                    }
                }
            >
                {icon("c360-icon", REPLY)}
            </button>
        }
    });
    view! {
        <div
            class="c360-row"
            class:c360-mine=mine
            class:c360-theirs=!mine
            class:c360-first=first_of_group
            data-id=entry.id.clone()
        >
            {avatar}
            <div class="c360-stack">
                {(!mine && first_of_group).then(|| view! { <div class="c360-name">{name.clone()}</div> })}
                {(mine && first_of_group).then(|| view! { <div class="c360-sr">{s.you}</div> })}
                {quote}
                {(!text.is_empty() || entry.attachments.is_empty())
                    .then(|| view! { <div class="c360-bubble" dir="auto">{message_body(text)}</div> })}
                {attachments(chat, entry.attachments.clone())}
                <div class="c360-meta">{time}{delivery}</div>
            </div>
            {reply}
        </div>
    }
}

/// A message's files: safe images as thumbnails that open large, anything
/// else as a chip that downloads.
fn attachments(chat: Chat, files: Vec<Attachment>) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    let api_base = chat.config.with_value(|c| c.api_base.clone());
    (!files.is_empty()).then(|| {
        view! {
            <ul class="c360-files">
                {files
                    .into_iter()
                    .filter_map(|f| file_url(&api_base, &f.url).map(|url| (url, f)))
                    .map(|(url, f)| if is_image(&f.media_type) {
                        let (src, alt, label) = (url.clone(), f.name.clone(), f.name.clone());
                        Either::Left(view! {
                            <li>
                                <button type="button" class="c360-thumb" aria-label=label
                                    on:click=move |ev| {
                                        let opener = ev.current_target().and_then(|t| t.dyn_into().ok());
                                        chat.lightbox_opener.set_value(opener);
                                        chat.lightbox.set(Some((src.clone(), alt.clone())));
                                    }>
                                    <img class="c360-thumb-image" src=url alt=f.name loading="lazy" />
                                </button>
                            </li>
                        })
                    } else {
                        let download = f.name.clone();
                        Either::Right(view! {
                            <li>
                                <a class="c360-file" href=url download=download rel="noopener noreferrer"
                                    title=s.download>
                                    {file_icon()}
                                    <span class="c360-file-name" dir="auto">{f.name}</span>
                                    <span class="c360-file-size">{human_size(f.size)}</span>
                                </a>
                            </li>
                        })
                    })
                    .collect_view()}
            </ul>
        }
    })
}

fn file_icon() -> impl IntoView {
    icon("c360-icon c360-file-icon", FILE)
}

/// The composer's files: progress and cancel while uploading, the reason
/// and remove when it failed, remove once uploaded.
fn upload_chips(chat: Chat) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    move || {
        let items = chat.uploads.with(|u| u.items().to_vec());
        (!items.is_empty()).then(|| view! {
            <ul class="c360-uploads">
                {items.into_iter().map(|u| {
                    let key = u.key;
                    let (label, on_click): (&str, fn(Chat, u32)) = match u.state {
                        UploadState::Pending | UploadState::Uploading(_) => (s.cancel_upload, upload::cancel),
                        _ => (s.remove_file, |chat: Chat, key| chat.uploads.update(|up| up.remove(key))),
                    };
                    let failed = match &u.state {
                        UploadState::Failed(why) => Some(why.clone()),
                        _ => None,
                    };
                    let progress = match u.state {
                        UploadState::Pending => Some(0),
                        UploadState::Uploading(p) => Some(p),
                        _ => None,
                    };
                    let is_failed = failed.is_some();
                    view! {
                        <li class="c360-upload" class:c360-upload-failed=is_failed>
                            {file_icon()}
                            <span class="c360-upload-body">
                                <span class="c360-file-name" dir="auto">{u.name}</span>
                                <span class="c360-file-size">{human_size(u.size)}</span>
                                {progress.map(|p| view! {
                                    <progress class="c360-progress" max="100" value=p.to_string()
                                        aria-label=s.uploading></progress>
                                })}
                                {failed.map(|why| view! {
                                    <span class="c360-upload-error" role="alert">{s.upload_failed}": "{why}</span>
                                })}
                            </span>
                            <button type="button" class="c360-upload-remove" aria-label=label title=label
                                on:click=move |_| on_click(chat, key)>
                                {icon("c360-icon", CLOSE)}
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        })
    }
}

/// The author and text of a loaded message, as a quote shows them.
fn preview(chat: Chat, id: &str) -> Option<(String, String)> {
    let s = strings(chat.locale.get_untracked());
    chat.timeline.with(|t| {
        t.get(id).map(|m| {
            (
                sender_name(&m.sender, s),
                display_text(&m.content, chat.locale.get_untracked()).unwrap_or_default(),
            )
        })
    })
}

/// The quote of a reply's parent; clicking it scrolls to the parent.
fn quote(chat: Chat, parent: String) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    let id = parent.clone();
    let info = move || preview(chat, &id);
    let info2 = info.clone();
    view! {
        <button
            type="button"
            class="c360-quote"
            on:click=move |_| chat.scroll_to_message(parent.clone())
        >
            <span class="c360-quote-name">
                {move || info().map_or_else(|| s.earlier_message.to_owned(), |i| i.0)}
            </span>
            <span class="c360-quote-text" dir="auto">{move || info2().map(|i| i.1)}</span>
        </button>
    }
}

#[component]
fn Composer(chat: Chat) -> impl IntoView {
    let s = strings(chat.locale.get_untracked());
    let can_send = move || chat.can_send();
    let file_input = NodeRef::<leptos::html::Input>::new();
    let rows = move || chat.draft.with(|d| d.lines().count().clamp(1, 5));
    let replying = move || {
        chat.replying_to.get().map(|id| {
            let (name, text) = preview(chat, &id).unwrap_or_default();
            view! {
                <div class="c360-replying">
                    <div class="c360-replying-body">
                        <span class="c360-quote-name">{s.replying_to}" "{name}</span>
                        <span class="c360-quote-text" dir="auto">{text}</span>
                    </div>
                    <button
                        type="button"
                        class="c360-cancel-reply"
                        aria-label=s.cancel_reply
                        on:click=move |_| chat.replying_to.set(None)
                    >
                        {icon("c360-icon", CLOSE)}
                    </button>
                </div>
            }
        })
    };
    view! {
        <form
            class="c360-composer"
            on:submit=move |ev| {
                ev.prevent_default();
                chat.send_draft();
            }
        >
            {replying}
            {upload_chips(chat)}
            {move || chat.upload_error.get().map(|why| view! {
                <div class="c360-upload-error c360-limit" role="alert">{why}</div>
            })}
            <div class="c360-input-row">
                <input type="file" multiple class="c360-file-input" tabindex="-1" aria-hidden="true"
                    node_ref=file_input
                    on:change:target=move |ev| {
                        let input = ev.target();
                        upload::attach(chat, upload::files_of(input.files()));
                        // The same file can be picked again.
                        input.set_value("");
                    } />
                <button type="button" class="c360-attach" aria-label=s.attach title=s.attach
                    on:click=move |_| if let Some(input) = file_input.get_untracked() { input.click() }>
                    {icon("c360-icon", ATTACH)}
                </button>
                <textarea
                    class="c360-input"
                    dir="auto"
                    rows=rows
                    placeholder=s.placeholder
                    aria-label=s.placeholder
                    node_ref=chat.input
                    prop:value=move || chat.draft.get()
                    on:input:target=move |ev| chat.draft.set(ev.target().value())
                    on:paste=move |ev| {
                        let files = upload::files_of(ev.clipboard_data().and_then(|d| d.files()));
                        if !files.is_empty() {
                            ev.prevent_default();
                            upload::attach(chat, files);
                        }
                    }
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                            ev.prevent_default();
                            chat.send_draft();
                        }
                    }
                ></textarea>
                <button type="submit" class="c360-send" aria-label=s.send disabled=move || !can_send()>
                    {icon("c360-icon", SEND)}
                </button>
            </div>
        </form>
    }
}
