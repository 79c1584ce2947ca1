//! The panel: a dialog that takes dropped files, closes on Esc, and holds
//! the header, the list, the announcer, the composer and the lightbox.

use leptos::html;
use leptos::prelude::*;

use super::announcer::Announcer;
use super::composer::Composer;
use super::header::Header;
use super::lightbox::Lightbox;
use super::message_list::MessageList;
use super::use_chat;
use crate::state::{Chat, files_of};

/// Closes the panel and gives the focus back to the launcher.
pub fn close_to_launcher(chat: Chat, launcher: NodeRef<html::Button>) {
    chat.set_open(false);
    // Once the panel is hidden (and the launcher shown again on small screens).
    request_animation_frame(move || {
        if let Some(Some(button)) = launcher.try_get_untracked() {
            _ = button.focus();
        }
    });
}

/// Whether a drag brings files (not text or a link from the page).
fn carries_files(ev: &web_sys::DragEvent) -> bool {
    ev.data_transfer().is_some_and(|d| d.types().iter().any(|t| t.as_string().as_deref() == Some("Files")))
}

#[component]
pub fn Panel(launcher: NodeRef<html::Button>) -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let title = chat
        .ui
        .config
        .with_value(|c| c.title.clone())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| s.title.to_owned());
    let dragging = chat.ui.dragging;
    let label = title.clone();
    view! {
        <section
            id="c360-panel"
            class="c360-panel"
            role="dialog"
            aria-label=label
            hidden=move || !chat.ui.open.get()
            class:c360-dropping=move || { dragging.get() > 0 }
            on:keydown=move |ev| {
                if ev.key() == "Escape" && !ev.is_composing() {
                    if chat.ui.lightbox.get_untracked().is_some() {
                        chat.ui.close_image();
                    } else {
                        close_to_launcher(chat, launcher);
                    }
                }
            }
            on:dragenter=move |ev| {
                if carries_files(&ev) {
                    ev.prevent_default();
                    dragging.update(|n| *n += 1);
                }
            }
            on:dragover=move |ev| {
                // Without this the browser opens the dropped file instead.
                if carries_files(&ev) {
                    ev.prevent_default();
                }
            }
            on:dragleave=move |_| dragging.update(|n| *n = n.saturating_sub(1))
            on:drop=move |ev| {
                dragging.set(0);
                // Dropped text still goes into the composer as the browser does it.
                if !carries_files(&ev) {
                    return;
                }
                ev.prevent_default();
                chat.attach(files_of(ev.data_transfer().and_then(|d| d.files())));
            }
        >
            <div class="c360-drop" aria-hidden="true">{s.drop_files}</div>
            <Header title launcher />
            <MessageList />
            <Announcer />
            <Composer />
            <Lightbox />
        </section>
    }
}
