//! The panel: launcher, header, message list and composer, drawn with
//! `dom` (why not `view!`: see there).

use connect360_api::{Attachment, Sender, SenderType};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlElement, KeyboardEvent};

use crate::attachments::{Upload, UploadState, file_url, human_size, is_image};
use crate::browser;
use crate::chat::{Chat, HandOffState, Status};
use crate::dom::{El, effect, el, icon, when};
use crate::i18n::{Strings, initials, strings};
use crate::linkify::{Segment, linkify, safe_url};
use crate::locale::{display_text, is_rtl};
use crate::outbox::Delivery;
use crate::timeline::{Entry, History};
use crate::upload;

/// The paths of the icons (24 by 24, drawn by `dom::icon`).
const CHAT: &str = "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.6.5-1.3.1-1.3-.6V16A2.5 2.5 0 0 1 4 13.5z";
const CLOSE: &str = "M6 6l12 12M18 6L6 18";
const REPLY: &str = "M10 8V4l-7 7 7 7v-4c5 0 8.5 1.6 11 5-1-5-4-10-11-11z";
const FILE: &str = "M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8zM14 3v5h5";
const ATTACH: &str = "M20 11.5 12.2 19.3a5 5 0 0 1-7.1-7.1l8-8a3.3 3.3 0 0 1 4.7 4.7l-8 8a1.7 1.7 0 0 1-2.4-2.4l7.3-7.3";
const SEND: &str = "M3.4 20.4 21 12 3.4 3.6 3.4 10.1 15 12 3.4 13.9z";

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

fn key_of(ev: &Event) -> String {
    ev.unchecked_ref::<KeyboardEvent>().key()
}

fn focus(el: &Element) {
    _ = el.unchecked_ref::<HtmlElement>().focus();
}

/// A `<button type="button">`.
fn button(class: &str) -> El {
    el("button", class).attr("type", "button")
}

/// Draws the widget into `container`. A change of language
/// (`Chat::set_locale`) draws it again, whole: what it shows lives in
/// `chat`, not in the elements.
pub fn draw(container: &Element, chat: Chat) {
    let mut drawn = false;
    El(container.clone()).part(move || {
        chat.locale.track();
        // Drawn again: the open panel does not play its opening again.
        let again = std::mem::replace(&mut drawn, true);
        Some(untrack(|| frame(chat, again)))
    });
}

fn frame(chat: Chat, again: bool) -> El {
    let locale = chat.locale.get_untracked();
    let s = strings(locale);
    let rtl = is_rtl(locale);
    let mut class = String::from("c360");
    if chat.config.with_value(|c| c.on_left(rtl)) {
        class.push_str(" c360-left");
    }
    if again {
        class.push_str(" c360-again");
    }
    // Open, it closes the panel; closed, it also says how many replies wait.
    let launcher_label = move || {
        Some(if chat.open.get() {
            s.close.to_owned()
        } else {
            match chat.unread.get() {
                0 => s.open_chat.to_owned(),
                n => s.open_chat_unread.replace("{n}", &n.to_string()),
            }
        })
    };
    let launcher = button("c360-launcher")
        .dyn_attr("aria-label", launcher_label)
        .dyn_attr("aria-expanded", move || Some(chat.open.get().to_string()))
        .attr("aria-controls", "c360-panel")
        .on("click", move |_| chat.toggle())
        .on("keydown", move |ev| {
            if key_of(&ev) == "Escape" && chat.open.get_untracked() {
                chat.set_open(false);
            }
        })
        .child(icon("c360-icon c360-icon-chat", CHAT))
        .child(icon("c360-icon c360-icon-close", CLOSE))
        .part(when(
            move || chat.unread.get() > 0,
            move || {
                el("span", "c360-badge")
                    .attr("aria-hidden", "true")
                    .dyn_text(move || chat.unread.get().to_string())
            },
        ));
    let to_focus = launcher.0.clone();
    el("div", &class)
        .dyn_class("c360-open", move || chat.open.get())
        .attr("dir", if rtl { "rtl" } else { "ltr" })
        .attr("lang", locale.as_str())
        // Before the panel: Tab goes from the launcher into the panel it opens.
        .child(launcher)
        .child(panel(chat, to_focus))
}

/// Closes the panel and gives the focus back to the launcher.
fn close_to_launcher(chat: Chat, launcher: &Element) {
    chat.set_open(false);
    // Once the panel is hidden (and the launcher shown again on small screens).
    let launcher = launcher.clone();
    request_animation_frame(move || focus(&launcher));
}

/// A status line in the list (`role` status, or alert for an error).
fn notice(class: &str, role: &str, text: &str) -> El {
    el("div", class).attr("role", role).text(text)
}

fn panel(chat: Chat, launcher: Element) -> El {
    let s = strings(chat.locale.get_untracked());
    let title = chat
        .config
        .with_value(|c| c.title.clone())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| s.title.to_owned());
    // Said once the first page is in: the session is ready a moment before.
    let empty = move || {
        chat.status.get() == Status::Ready
            && chat.timeline.with(|t| *t.history() != History::Unknown && t.messages().is_empty())
            && chat.outbox.with(|o| o.unstored().next().is_none())
    };
    let close_launcher = launcher.clone();
    let header = el("div", "c360-header")
        .child(el("h2", "c360-title").text(&title))
        .part(when(
            move || {
                matches!(
                    chat.hand_off.get(),
                    HandOffState::Available | HandOffState::Asking | HandOffState::Failed(_)
                )
            },
            move || {
                button("c360-hand-off")
                    .flag("disabled", move || chat.hand_off.get() == HandOffState::Asking)
                    .on("click", move |_| chat.hand_off())
                    .text(s.talk_to_person)
            },
        ))
        .child(
            button("c360-close")
                .attr("aria-label", s.close)
                .on("click", move |_| close_to_launcher(chat, &close_launcher))
                .child(icon("c360-icon", CLOSE)),
        );
    // Not live itself: loaded and paged history would be read out. New
    // messages from others are announced by `announcer`. Focusable so that
    // the keyboard can scroll it.
    let list = el("div", "c360-list")
        .attr("role", "log")
        .attr("aria-live", "off")
        .attr("aria-label", s.messages)
        .attr("tabindex", "0")
        .on("scroll", move |_| chat.on_scroll())
        .part(when(
            move || chat.loading_older.get(),
            move || {
                el("div", "c360-loader")
                    .attr("role", "status")
                    .child(el("span", "c360-spinner").attr("aria-hidden", "true"))
                    .text(s.loading)
            },
        ))
        .part(move || match chat.status.get() {
            Status::Connecting => Some(notice("c360-notice", "status", s.connecting)),
            Status::Failed(_) => Some(
                notice("c360-notice c360-notice-error", "alert", s.cannot_connect).text(" ").child(
                    button("c360-link-button")
                        .on("click", move |_| chat.connect())
                        .text(s.retry),
                ),
            ),
            _ => None,
        })
        .part(when(empty, move || el("div", "c360-empty").text(s.empty)))
        .keyed(move || rows(chat), Row::key, move |row| render_row(chat, row))
        .part(ai_draft(chat))
        .part(move || match chat.hand_off.get() {
            HandOffState::Done => Some(notice("c360-notice", "status", s.handed_off)),
            HandOffState::Failed(why) => Some(
                notice("c360-notice c360-notice-error", "alert", s.hand_off_failed).attr("title", &why),
            ),
            _ => None,
        });
    chat.list.set_value(Some(list.0.clone()));
    el("section", "c360-panel")
        .attr("id", "c360-panel")
        .attr("role", "dialog")
        .attr("aria-label", &title)
        .flag("hidden", move || !chat.open.get())
        .dyn_class("c360-dropping", move || chat.dragging.get() > 0)
        .on("keydown", move |ev| {
            if key_of(&ev) == "Escape" && !ev.unchecked_ref::<KeyboardEvent>().is_composing() {
                if chat.lightbox.get_untracked().is_some() {
                    close_lightbox(chat);
                } else {
                    close_to_launcher(chat, &launcher);
                }
            }
        })
        .on("dragenter", move |ev| {
            if carries_files(&ev) {
                ev.prevent_default();
                chat.dragging.update(|n| *n += 1);
            }
        })
        .on("dragover", |ev| {
            // Without this the browser opens the dropped file instead.
            if carries_files(&ev) {
                ev.prevent_default();
            }
        })
        .on("dragleave", move |_| chat.dragging.update(|n| *n = n.saturating_sub(1)))
        .on("drop", move |ev| {
            chat.dragging.set(0);
            // Dropped text still goes into the composer as the browser does it.
            if !carries_files(&ev) {
                return;
            }
            ev.prevent_default();
            let files = ev.unchecked_ref::<web_sys::DragEvent>().data_transfer().and_then(|d| d.files());
            upload::attach(chat, upload::files_of(files));
        })
        .child(el("div", "c360-drop").attr("aria-hidden", "true").text(s.drop_files))
        .child(header)
        .child(list)
        .child(announcer(chat))
        .child(composer(chat))
        .part(move || chat.lightbox.get().map(|(src, alt)| untrack(|| lightbox(chat, &src, &alt))))
}

/// A visually hidden status region that says "New message from X: text" for
/// messages from others that arrive while the panel is open; never for the
/// history loaded on opening or paged in above, nor the visitor's own, which
/// are only announced when they could not be sent ("Not sent: text").
fn announcer(chat: Chat) -> El {
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
    // A new element each time, so that the same words twice are said twice.
    el("div", "c360-sr c360-announcer")
        .attr("role", "status")
        .part(move || said.get().map(|text| el("p", "").text(&text)))
}

/// Whether a drag brings files (not text or a link from the page).
fn carries_files(ev: &Event) -> bool {
    ev.unchecked_ref::<web_sys::DragEvent>()
        .data_transfer()
        .is_some_and(|d| d.types().iter().any(|t| t.as_string().as_deref() == Some("Files")))
}

/// An image at full size over the panel; a click or Esc closes it.
fn lightbox(chat: Chat, src: &str, alt: &str) -> El {
    let s = strings(chat.locale.get_untracked());
    let close = button("c360-lightbox-close")
        .attr("aria-label", s.close_image)
        .child(icon("c360-icon", CLOSE));
    let close_button = close.0.clone();
    // Drawn by the next frame: its close button takes the focus.
    let first = close_button.clone();
    request_animation_frame(move || focus(&first));
    el("div", "c360-lightbox")
        .attr("role", "dialog")
        .attr("aria-modal", "true")
        .attr("aria-label", alt)
        .on("click", move |_| close_lightbox(chat))
        .on("keydown", move |ev| {
            // Its close button is all it holds: Tab stays on it.
            if key_of(&ev) == "Tab" {
                ev.prevent_default();
                focus(&close_button);
            }
        })
        .child(el("img", "c360-lightbox-image").attr("src", src).attr("alt", alt))
        .child(close)
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
fn ai_draft(chat: Chat) -> impl FnMut() -> Option<El> + 'static {
    let s = strings(chat.locale.get_untracked());
    // `Some(typing)` while shown: hidden once the reply is stored.
    let shown = Memo::new(move |_| {
        chat.reply.with(|r| {
            r.as_ref()
                .filter(|r| !chat.timeline.with(|t| r.answered_in(t.messages())))
                .map(|r| r.typing())
        })
    });
    // As the stream names the writer, else as the agent's last reply shows it.
    let sender = Memo::new(move |_| {
        chat.reply.with(|r| r.as_ref().and_then(|r| r.sender.clone())).or_else(|| {
            chat.timeline.with(|t| {
                t.messages().iter().rev().find(|m| m.sender.kind == SenderType::Ai).map(|m| m.sender.clone())
            })
        })
    });
    let name = move || sender.with(|snd| snd.as_ref().map_or_else(|| s.assistant.to_owned(), |snd| sender_name(snd, s)));
    let draw = move || {
        el("div", "c360-row c360-theirs c360-first c360-draft")
            .part(move || Some(sender.with(|snd| avatar(snd.as_ref().and_then(|snd| snd.image.as_deref()), &name(), true))))
            .child(
                el("div", "c360-stack")
                    .child(el("div", "c360-name").dyn_text(name))
                    .part(move || {
                        Some(if shown.get() == Some(true) {
                            // Announced by `announcer` when it starts.
                            el("div", "c360-bubble c360-typing")
                                .child(el("span", "c360-dot").attr("aria-hidden", "true"))
                                .child(el("span", "c360-dot").attr("aria-hidden", "true"))
                                .child(el("span", "c360-dot").attr("aria-hidden", "true"))
                                .child(el("span", "c360-sr").text(s.typing))
                        } else {
                            // One bubble that grows: its words are written again.
                            let bubble = message_body("");
                            let words = bubble.0.clone();
                            effect(move || {
                                words.set_text_content(None);
                                chat.reply.with(|r| fill_body(&words, r.as_ref().map_or("", |r| &r.text)));
                            });
                            bubble
                        })
                    })
                    // The stored message's time goes here: its line is kept.
                    .child(el("div", "c360-meta").text("\u{a0}")),
            )
    };
    // Drawn once when shown; only its parts change after that.
    when(move || shown.get().is_some(), draw)
}

/// A sender's picture (a safe http(s) image) or else their initials.
fn avatar(image: Option<&str>, name: &str, ai: bool) -> El {
    match image.and_then(safe_url) {
        Some(src) => el("img", "c360-avatar")
            .attr("src", src)
            .attr("alt", "")
            .attr("loading", "lazy")
            .attr("referrerpolicy", "no-referrer"),
        None => el("span", if ai { "c360-avatar c360-avatar-ai" } else { "c360-avatar" })
            .attr("aria-hidden", "true")
            .text(&initials(name)),
    }
}

fn render_row(chat: Chat, row: Row) -> El {
    match row {
        Row::Day { label, .. } => el("div", "c360-day").child(el("span", "").text(&label)),
        Row::Message {
            entry,
            first_of_group,
            quoted,
        } => bubble(chat, entry, first_of_group, quoted),
    }
}

/// A message's bubble: text as text (never HTML), http(s) links, its own
/// direction.
fn message_body(text: &str) -> El {
    let bubble = el("div", "c360-bubble").attr("dir", "auto");
    fill_body(&bubble.0, text);
    bubble
}

fn fill_body(bubble: &Element, text: &str) {
    for segment in linkify(text) {
        match segment {
            Segment::Text(text) => _ = bubble.append_with_str_1(&text),
            Segment::Link(url) => {
                let link = el("a", "")
                    .attr("href", &url)
                    .attr("target", "_blank")
                    .attr("rel", "noopener noreferrer")
                    .text(&url);
                _ = bubble.append_child(&link.0);
            }
        }
    }
}

fn bubble(chat: Chat, entry: Entry, first_of_group: bool, quoted: bool) -> El {
    let locale = chat.locale.get_untracked();
    let s = strings(locale);
    let text = display_text(&entry.content, locale).unwrap_or_default();
    let mine = entry.mine;
    let mut class = String::from(if mine { "c360-row c360-mine" } else { "c360-row c360-theirs" });
    if first_of_group {
        class.push_str(" c360-first");
    }
    let mut row = el("div", &class);
    if let Some(id) = &entry.id {
        row = row.attr("data-id", id);
    }
    let sender = entry.sender.as_ref();
    let name = sender.map(|snd| sender_name(snd, s)).unwrap_or_default();
    let mut stack = el("div", "c360-stack");
    if !mine {
        row = row.child(if first_of_group {
            let is_ai = sender.is_some_and(|snd| snd.kind == SenderType::Ai);
            avatar(sender.and_then(|snd| snd.image.as_deref()), &name, is_ai)
        } else {
            el("span", "c360-avatar c360-avatar-space")
        });
    }
    if first_of_group {
        stack = stack.child(if mine {
            el("div", "c360-sr").text(s.you)
        } else {
            el("div", "c360-name").text(&name)
        });
    }
    let quote = entry.parent_id.clone().filter(|_| quoted).map(|parent| quote(chat, parent));
    let body = (!text.is_empty() || entry.attachments.is_empty()).then(|| message_body(&text));
    let mut meta = el("div", "c360-meta");
    if let Some(at) = entry.created_at.as_deref() {
        meta = meta.child(el("time", "").attr("datetime", at).text(&browser::format_time(at, locale.as_str())));
    }
    meta = match &entry.delivery {
        None => meta,
        Some(Delivery::Sending) => meta.child(el("span", "c360-status").text(s.sending)),
        Some(Delivery::Sent) => meta.child(el("span", "c360-status").text(s.sent)),
        Some(Delivery::Failed(why)) => {
            let key = entry.key.clone();
            meta.child(el("span", "c360-status c360-failed").attr("title", why).text(s.failed)).child(
                button("c360-link-button c360-retry")
                    .on("click", move |_| chat.retry(key.clone()))
                    .text(s.retry),
            )
        }
    };
    let reply = entry.id.clone().map(|id| {
        button("c360-reply")
            .attr("aria-label", s.reply)
            .attr("title", s.reply)
            .on("click", move |_| {
                chat.replying_to.set(Some(id.clone()));
                if let Some(input) = chat.input.get_value() {
                    _ = input.focus();
                }
            })
            .child(icon("c360-icon", REPLY))
    });
    row.child(
        stack
            .maybe(quote)
            .maybe(body)
            .maybe(attachments(chat, &entry.attachments))
            .child(meta),
    )
    .maybe(reply)
}

/// A message's files: safe images as thumbnails that open large, anything
/// else as a chip that downloads.
fn attachments(chat: Chat, files: &[Attachment]) -> Option<El> {
    let s = strings(chat.locale.get_untracked());
    let api_base = chat.config.with_value(|c| c.api_base.clone());
    let items = files.iter().filter_map(|f| file_url(&api_base, &f.url).map(|url| (url, f)));
    (!files.is_empty()).then(|| {
        items.fold(el("ul", "c360-files"), |list, (url, f)| {
            let item = if is_image(&f.media_type) {
                let (src, alt) = (url.clone(), f.name.clone());
                button("c360-thumb")
                    .attr("aria-label", &f.name)
                    .on("click", move |ev| {
                        let opener = ev.current_target().and_then(|t| t.dyn_into().ok());
                        chat.lightbox_opener.set_value(opener);
                        chat.lightbox.set(Some((src.clone(), alt.clone())));
                    })
                    .child(
                        el("img", "c360-thumb-image")
                            .attr("src", &url)
                            .attr("alt", &f.name)
                            .attr("loading", "lazy"),
                    )
            } else {
                el("a", "c360-file")
                    .attr("href", &url)
                    .attr("download", &f.name)
                    .attr("rel", "noopener noreferrer")
                    .attr("title", s.download)
                    .child(file_icon())
                    .child(file_name(&f.name))
                    .child(file_size(f.size))
            };
            list.child(el("li", "").child(item))
        })
    })
}

fn file_icon() -> El {
    icon("c360-icon c360-file-icon", FILE)
}

fn file_name(name: &str) -> El {
    el("span", "c360-file-name").attr("dir", "auto").text(name)
}

fn file_size(size: u64) -> El {
    el("span", "c360-file-size").text(&human_size(size))
}

/// The composer's files: progress and cancel while uploading, the reason
/// and remove when it failed, remove once uploaded. Each keeps its element
/// while its state changes (a focused button stays focused).
fn upload_chips(chat: Chat) -> impl FnMut() -> Option<El> + 'static {
    let items = move || chat.uploads.with(|u| u.items().to_vec());
    when(
        move || chat.uploads.with(|u| !u.items().is_empty()),
        move || el("ul", "c360-uploads").keyed(items, |u: &Upload| u.key.to_string(), move |u| upload_chip(chat, u)),
    )
}

fn upload_chip(chat: Chat, upload: Upload) -> El {
    let s = strings(chat.locale.get_untracked());
    let key = upload.key;
    let state = Memo::new(move |_| {
        chat.uploads.with(|u| u.items().iter().find(|u| u.key == key).map(|u| u.state.clone()))
    });
    let busy = move || state.with(|s| s.as_ref().is_some_and(UploadState::on_its_way));
    let label = move || Some(if busy() { s.cancel_upload } else { s.remove_file }.to_owned());
    let body = el("span", "c360-upload-body")
        .child(file_name(&upload.name))
        .child(file_size(upload.size))
        .part(when(busy, move || {
            el("progress", "c360-progress")
                .attr("max", "100")
                .dyn_attr("value", move || match state.get() {
                    Some(UploadState::Uploading(p)) => Some(p.to_string()),
                    _ => Some("0".to_owned()),
                })
                .attr("aria-label", s.uploading)
        }))
        .part(move || match state.get() {
            Some(UploadState::Failed(why)) => Some(
                el("span", "c360-upload-error")
                    .attr("role", "alert")
                    .text(s.upload_failed)
                    .text(": ")
                    .text(&why),
            ),
            _ => None,
        });
    el("li", "c360-upload")
        .dyn_class("c360-upload-failed", move || matches!(state.get(), Some(UploadState::Failed(_))))
        .child(file_icon())
        .child(body)
        .child(
            button("c360-upload-remove")
                .dyn_attr("aria-label", label)
                .dyn_attr("title", label)
                .on("click", move |_| {
                    if state.with_untracked(|s| s.as_ref().is_some_and(UploadState::on_its_way)) {
                        upload::cancel(chat, key);
                    } else {
                        chat.uploads.update(|up| up.remove(key));
                    }
                })
                .child(icon("c360-icon", CLOSE)),
        )
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
fn quote(chat: Chat, parent: String) -> El {
    let s = strings(chat.locale.get_untracked());
    let (name, text) = quoted(chat, parent.clone(), s.earlier_message);
    button("c360-quote")
        .on("click", move |_| chat.scroll_to_message(parent.clone()))
        .child(el("span", "c360-quote-name").dyn_text(name))
        .child(el("span", "c360-quote-text").attr("dir", "auto").dyn_text(text))
}

/// The author and the text of message `id` as they are loaded (`unknown`
/// and nothing until then), each as a closure that follows the timeline.
fn quoted(chat: Chat, id: String, unknown: &'static str) -> (impl Fn() -> String, impl Fn() -> String) {
    let id2 = id.clone();
    (
        move || preview(chat, &id).map_or_else(|| unknown.to_owned(), |p| p.0),
        move || preview(chat, &id2).map(|p| p.1).unwrap_or_default(),
    )
}

fn composer(chat: Chat) -> El {
    let s = strings(chat.locale.get_untracked());
    // Drawn again only for another message: a poll does not take the focus
    // from its cancel button; the quoted words follow the timeline.
    let replying = move || {
        chat.replying_to.get().map(|id| {
            let (name, text) = quoted(chat, id, "");
            el("div", "c360-replying")
                .child(
                    el("div", "c360-replying-body")
                        .child(el("span", "c360-quote-name").text(s.replying_to).text(" ").dyn_text(name))
                        .child(el("span", "c360-quote-text").attr("dir", "auto").dyn_text(text)),
                )
                .child(
                    button("c360-cancel-reply")
                        .attr("aria-label", s.cancel_reply)
                        .on("click", move |_| chat.replying_to.set(None))
                        .child(icon("c360-icon", CLOSE)),
                )
        })
    };
    let picker = el("input", "c360-file-input")
        .attr("type", "file")
        .attr("multiple", "")
        .attr("tabindex", "-1")
        .attr("aria-hidden", "true");
    let files: web_sys::HtmlInputElement = picker.0.clone().unchecked_into();
    let picker = picker.on("change", {
        let files = files.clone();
        move |_| {
            upload::attach(chat, upload::files_of(files.files()));
            // The same file can be picked again.
            files.set_value("");
        }
    });
    let input = el("textarea", "c360-input")
        .attr("dir", "auto")
        .dyn_attr("rows", move || Some(chat.draft.with(|d| d.lines().count().clamp(1, 5)).to_string()))
        .attr("placeholder", s.placeholder)
        .attr("aria-label", s.placeholder);
    let textarea: web_sys::HtmlTextAreaElement = input.0.clone().unchecked_into();
    chat.input.set_value(Some(textarea.clone()));
    effect({
        let textarea = textarea.clone();
        move || {
            chat.draft.with(|draft| {
                if textarea.value() != *draft {
                    textarea.set_value(draft);
                }
            })
        }
    });
    let input = input
        .on("input", move |_| chat.draft.set(textarea.value()))
        .on("paste", move |ev| {
            let data = ev.unchecked_ref::<web_sys::ClipboardEvent>().clipboard_data();
            let files = upload::files_of(data.and_then(|d| d.files()));
            if !files.is_empty() {
                ev.prevent_default();
                upload::attach(chat, files);
            }
        })
        .on("keydown", move |ev| {
            let key = ev.unchecked_ref::<KeyboardEvent>();
            if key.key() == "Enter" && !key.shift_key() && !key.is_composing() {
                ev.prevent_default();
                chat.send_draft();
            }
        });
    el("form", "c360-composer")
        .on("submit", move |ev| {
            ev.prevent_default();
            chat.send_draft();
        })
        .part(replying)
        .part(upload_chips(chat))
        .part(move || {
            chat.upload_error
                .get()
                .map(|why| el("div", "c360-upload-error c360-limit").attr("role", "alert").text(&why))
        })
        .child(
            el("div", "c360-input-row")
                .child(picker)
                .child(
                    button("c360-attach")
                        .attr("aria-label", s.attach)
                        .attr("title", s.attach)
                        .on("click", move |_| files.click())
                        .child(icon("c360-icon", ATTACH)),
                )
                .child(input)
                .child(
                    el("button", "c360-send")
                        .attr("type", "submit")
                        .attr("aria-label", s.send)
                        .flag("disabled", move || !chat.can_send())
                        .child(icon("c360-icon", SEND)),
                ),
        )
}
