//! The member stream (`GET /api/v1/connect/inbox/events`), read with the
//! browser's `EventSource`: a GET to the page's own origin carries the
//! session cookie, and `EventSource` reconnects by itself with
//! `Last-Event-ID`, so nothing is missed across a drop.

use std::time::Duration;

use connect360_api::{INBOX_EVENTS_PATH, Message};
use connect360_widget::browser;
use connect360_widget::transport::json::decode;
use connect360_widget::transport::url::join;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};

use super::Inbox;

/// How long to wait before opening a stream the browser gave up on.
const REOPEN_AFTER: Duration = Duration::from_secs(3);

#[derive(Clone, Copy)]
pub struct Live {
    source: StoredValue<Option<EventSource>, LocalStorage>,
}

impl Default for Live {
    fn default() -> Self {
        Live { source: StoredValue::new_local(None) }
    }
}

impl Live {
    pub fn open(self, inbox: Inbox) {
        self.close();
        let Ok(source) = EventSource::new(&join(&inbox.api_base.get_value(), INBOX_EVENTS_PATH)) else {
            return;
        };
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(data) = ev.data().as_string() else { return };
            // A message this app can't read is skipped; the list's next
            // refresh shows its conversation anyway.
            if let Ok(message) = decode::<Message>(&data) {
                inbox.on_stream_message(message);
            }
        });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_open = Closure::<dyn Fn()>::new(move || inbox.on_stream_open());
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let closed = source.clone();
        let on_error = Closure::<dyn Fn()>::new(move || {
            // CONNECTING: the browser reconnects by itself. CLOSED: refused
            // (a 401 or not an event stream): see why, then start over.
            if closed.ready_state() != EventSource::CLOSED {
                return;
            }
            spawn_local(async move {
                browser::sleep(REOPEN_AFTER).await;
                if inbox.on_stream_closed().await {
                    self.open(inbox);
                }
            });
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // They live as long as the source, which the inbox keeps until it
        // closes it; three closures per sign-in are not worth tracking.
        on_message.forget();
        on_open.forget();
        on_error.forget();
        self.source.set_value(Some(source));
    }

    pub fn close(self) {
        if let Some(source) = self.source.try_update_value(Option::take).flatten() {
            source.close();
        }
    }
}
