//! What the widget does, across its state: the session, sending, the event
//! stream (and polling in its stead), history and the AI reply. The
//! components read the state's signals and call these methods, so tests can
//! fill the state without a server.

use std::time::Duration;

use connect360_api::procedure::{HandOff, ListMessages, SendMessage};
use connect360_api::{AiStreamEvent, HandOffInput, ListMessagesInput, Locale, Message, SenderType};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;
use web_sys::{File, ScrollBehavior, ScrollIntoViewOptions, ScrollLogicalPosition};

use super::{Attachments, HandOffState, Live, Messages, Mode, Poller, ReplyStream, Session, SessionState, Status, Ui};
use crate::browser;
use crate::config::WidgetConfig;
use crate::i18n::{Strings, strings};
use crate::live::{Ended, FIRST_BYTE_MS, HIDDEN_CLOSE_MS, Plan};
use crate::outbox::SendContext;
use crate::poll::Outcome;
use crate::session::{SESSION_KEY, storage_key};
use crate::transport::json::encode;
use crate::transport::{Client, ClientError, Received};

/// Pages loaded at most to find a quoted message.
const MAX_PAGES_TO_FIND_PARENT: usize = 10;

/// What follows scrolling to the newest message once the panel is drawn.
#[derive(Clone, Copy)]
enum Then {
    Nothing,
    /// The panel was opened: the composer takes the focus.
    Focus,
    /// A page came in: older pages load while the list is too short to scroll.
    FillView,
}

#[derive(Clone, Copy)]
pub struct Chat {
    pub ui: Ui,
    pub session: SessionState,
    pub messages: Messages,
    pub reply: ReplyStream,
    pub uploads: Attachments,
    pub live: Live,
    poller: Poller,
}

impl Chat {
    /// The state of a widget; nothing is asked of the server yet.
    pub fn new(config: WidgetConfig, emit: Option<js_sys::Function>) -> Chat {
        let chat = Chat {
            ui: Ui::new(config, emit),
            session: SessionState::default(),
            messages: Messages::default(),
            reply: ReplyStream::default(),
            uploads: Attachments::default(),
            live: Live::default(),
            poller: Poller::default(),
        };
        // An upload refused for its token renews the session, as a poll's
        // refusal does; the renewal uploads it once more (`renew`).
        chat.uploads.renew_with(std::rc::Rc::new(move || chat.connect()));
        chat
    }

    /// The panel's texts, in its language.
    pub fn strings(self) -> &'static Strings {
        strings(self.ui.locale.get_untracked())
    }

    /// Starts work that does not wait for the visitor: a returning visitor
    /// (with a stored session) reconnects at once, to see replies.
    pub fn start(self) {
        let key = self.ui.config.with_value(|c| storage_key(&c.widget_key, SESSION_KEY));
        if browser::load(&key).is_some() {
            self.connect();
        }
        let on_visibility = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
            if browser::hidden() {
                self.poller.cancel_timer();
                self.live.close_later(HIDDEN_CLOSE_MS);
            } else {
                self.live.keep();
                self.catch_up();
            }
        });
        _ = document().add_event_listener_with_callback(
            "visibilitychange",
            wasm_bindgen::JsCast::unchecked_ref(on_visibility.as_ref()),
        );
        // Kept for the page's life. (The window's focus needs no listener:
        // a held stream is up to date, and polling stands in only briefly.)
        on_visibility.forget();
    }

    pub fn set_open(self, open: bool) {
        if self.ui.open.get_untracked() == open {
            return;
        }
        self.ui.open.set(open);
        self.ui.emit(if open { "open" } else { "close" }, JsValue::UNDEFINED);
        if open {
            self.ui.unread.set(0);
            if matches!(self.session.status.get_untracked(), Status::Idle | Status::Failed(_)) {
                self.connect();
            } else {
                self.catch_up();
            }
            self.scroll_down_soon(Then::Focus);
        }
    }

    pub fn toggle(self) {
        self.set_open(!self.ui.open.get_untracked());
    }

    /// Shows the panel in `locale`. The panel is drawn again; the list
    /// keeps its place and the composer its text, caret and focus.
    pub fn set_locale(self, locale: Locale) {
        let ui = self.ui;
        if ui.locale.get_untracked() == locale {
            return;
        }
        let scroll = ui.list.get_untracked().map(|l| (l.scroll_top(), ui.near_bottom()));
        let caret = ui
            .input
            .get_untracked()
            .filter(|i| i.matches(":focus").unwrap_or(false))
            .map(|i| (i.selection_start().ok().flatten(), i.selection_end().ok().flatten()));
        ui.locale.set(locale);
        spawn_local(async move {
            browser::next_frame().await;
            match scroll {
                Some((_, true)) => ui.scroll_to_bottom(),
                Some((top, false)) => {
                    if let Some(list) = ui.list.get_untracked() {
                        list.set_scroll_top(top);
                    }
                }
                None => {}
            }
            if let (Some((start, end)), Some(input)) = (caret, ui.input.get_untracked()) {
                _ = input.focus();
                _ = input.set_selection_start(start);
                _ = input.set_selection_end(end);
            }
        });
    }

    /// Runs the session again as `identity`.
    pub fn identify(self, identity: crate::session::Identity) {
        self.session.identify(identity);
        self.connect();
    }

    // --- session ---------------------------------------------------------

    /// Asks for a session (again).
    pub fn connect(self) {
        self.session.status.set(Status::Connecting);
        spawn_local(async move {
            if let Err(e) = self.renew().await {
                self.session.status.set(Status::Failed(e.to_string()));
            }
        });
    }

    /// Asks for a session and takes it in, unless a later request overtook it.
    async fn renew(self) -> Result<(), ClientError> {
        let (widget_key, api_base, ai_agent) =
            self.ui.config.with_value(|c| (c.widget_key.clone(), c.api_base.clone(), c.ai_agent.clone()));
        let Some(result) = self.session.request(&widget_key, &api_base).await else {
            return Ok(());
        };
        // Without a new token, the files refused for the last one fail.
        let s = self.strings();
        let session = result.inspect_err(|_| self.uploads.resume(None, s))?;
        let previous = self.session.conversation_id();
        if previous.as_ref().is_some_and(|id| *id != session.conversation.id) {
            self.messages.clear();
            self.reply.clear();
            self.live.forget();
            // The files picked for the last one are not sent into it.
            self.uploads.clear();
        }
        // After a hand-off (on any page) the site's agent is asked no more.
        let handed_off = session.conversation.ai_stopped_at.is_some();
        self.session.hand_off.set(match (&ai_agent, handed_off) {
            (None, _) => HandOffState::NoAgent,
            (Some(_), true) => HandOffState::Done,
            (Some(_), false) => HandOffState::Available,
        });
        let client = Client { api_base, token: Some(session.token) };
        self.uploads.resume(Some(&client), s);
        self.session.current.set(Some(Session {
            client,
            send: SendContext {
                conversation_id: session.conversation.id,
                external_id: session.customer.external_id,
                channel_identifier: session.channel_identifier,
                ai_agent: ai_agent.filter(|_| !handed_off),
            },
        }));
        self.session.status.set(Status::Ready);
        self.poll_now();
        self.listen();
        Ok(())
    }

    /// "Talk to a person": AI replies stop for the conversation.
    pub fn hand_off(self) {
        let Some(session) = self.session.get() else {
            return;
        };
        self.session.hand_off.set(HandOffState::Asking);
        spawn_local(async move {
            let input = HandOffInput { conversation_id: session.send.conversation_id.clone() };
            match session.client.call::<HandOff>(&input, None).await {
                Ok(_) => {
                    self.session.handed_off();
                    self.reply.clear();
                }
                Err(e) => {
                    if e.is_unauthorized() {
                        self.connect();
                    }
                    self.session.hand_off.set(HandOffState::Failed(e.to_string()));
                }
            }
        });
    }

    // --- sending ---------------------------------------------------------

    /// Whether the composer holds something to send (and no file is still
    /// uploading: the message waits for all of them).
    pub fn can_send(self) -> bool {
        let (settled, files) = self.uploads.ready();
        settled && (files || self.messages.has_text())
    }

    /// Sends the composer's text and uploaded files (optimistically: it
    /// shows at once). Before the session and the first page are in, the
    /// message waits, shown as sending.
    pub fn send_draft(self) {
        if !self.can_send() {
            return;
        }
        let client_id = crate::session::random_id("cm_", browser::random_bytes());
        let files = self.uploads.take_done();
        self.messages.queue(client_id.clone(), self.ui.locale.get_untracked(), files);
        self.scroll_down_soon(Then::Nothing);
        if self.session.current.with_untracked(Option::is_some) {
            spawn_local(self.deliver(client_id));
        }
    }

    /// Sends a failed message again, with its first idempotency key.
    pub fn retry(self, client_id: String) {
        let mut again = false;
        self.messages.outbox.update(|o| again = o.retry(&client_id).is_some());
        if again {
            spawn_local(self.deliver(client_id));
        }
    }

    /// Uploads files picked, dropped or pasted into the composer.
    pub fn attach(self, files: Vec<File>) {
        let client = self.session.get().map(|s| s.client);
        self.uploads.attach(client, files, self.strings());
    }

    async fn deliver(self, client_id: String) {
        let mut result = self.try_deliver(&client_id).await;
        if matches!(&result, Err(e) if e.is_unauthorized()) && self.renew().await.is_ok() {
            result = self.try_deliver(&client_id).await;
        }
        match result {
            Ok(Some(message)) => {
                let id = message.id.clone();
                self.receive(&message);
                self.messages.outbox.update(|o| o.sent(&client_id, &id));
                // Its words come on the stream; polling shows the stored reply alone.
                if self.session.asks_ai() && self.live.mode() == Mode::Streaming {
                    self.reply.start(id);
                }
                self.catch_up();
            }
            Ok(None) => {}
            Err(e) => self.messages.outbox.update(|o| o.failed(&client_id, e.to_string())),
        }
    }

    async fn try_deliver(self, client_id: &str) -> Result<Option<Message>, ClientError> {
        let Some(session) = self.session.get() else {
            return Err(ClientError::Network("no session".into()));
        };
        let Some(input) = self.messages.attempt(client_id, |m| m.send_input(&session.send)) else {
            return Ok(None);
        };
        session.client.call::<SendMessage>(&input, Some(client_id)).await.map(Some)
    }

    /// Shows the visitor's own message as the send's answer has it stored.
    fn receive(self, message: &Message) {
        if self.messages.insert(message) {
            self.news(std::slice::from_ref(message));
        }
    }

    /// Messages new to the panel (not history): those from others count as
    /// unread while it is closed; each is told to the page.
    fn news(self, added: &[Message]) {
        let incoming = added.iter().filter(|m| m.sender.kind != SenderType::Customer).count() as u32;
        if !self.ui.open.get_untracked() && incoming > 0 {
            self.ui.unread.update(|n| *n += incoming);
        }
        for m in added {
            // The message as the API returns it, as a JavaScript object.
            self.ui.emit("message", js_sys::JSON::parse(&encode(m)).unwrap_or(JsValue::UNDEFINED));
        }
    }

    /// Once the panel is drawn, scrolls to the newest message, `then` the
    /// rest. One task for all three (each kind of task spawned costs the
    /// bundle its own copy of the task's code).
    fn scroll_down_soon(self, then: Then) {
        spawn_local(async move {
            browser::next_frame().await;
            self.ui.scroll_to_bottom();
            match then {
                Then::Nothing => {}
                Then::Focus => self.ui.focus_input(),
                Then::FillView => self.fill_view().await,
            }
        });
    }

    // --- the event stream ------------------------------------------------

    /// Holds the conversation's event stream from now on (the loop before
    /// stops): its messages show at once, its AI events drive the draft.
    /// Reopened from its last event when it ends; polling stands in while
    /// it can't be held, and the visitor is told nothing of it.
    fn listen(self) {
        let generation = self.live.begin();
        spawn_local(async move {
            while let Some(session) = self.session.get() {
                let ended = self.follow(&session).await;
                if !self.live.current(generation) {
                    return;
                }
                let ended = match ended {
                    Ok(ended) => ended,
                    // A new session listens anew.
                    Err(_) => return self.connect(),
                };
                match self.live.plan(ended) {
                    Plan::Reopen(ms) => browser::sleep(Duration::from_millis(ms.into())).await,
                    Plan::Poll(ms) => {
                        // Its words would not come: the stored reply will.
                        self.reply.clear();
                        self.poll_now();
                        browser::sleep(Duration::from_millis(ms.into())).await;
                        if !self.live.current(generation) {
                            return;
                        }
                        self.live.retry();
                    }
                }
                if !self.live.current(generation) {
                    return;
                }
            }
            if self.live.current(generation) {
                self.live.stop();
            }
        });
    }

    /// Reads the stream once, from its last event (or the newest message
    /// shown); how it ended, or the refusal of the visitor's token.
    async fn follow(self, session: &Session) -> Result<Ended, ClientError> {
        let Some(abort) = self.live.controller() else { return Ok(Ended::Failed) };
        let signal = abort.signal();
        // No byte in time: something buffers the stream (abandoned).
        let silent = set_timeout_with_handle(move || abort.abort(), Duration::from_millis(FIRST_BYTE_MS.into())).ok();
        let resume = self
            .live
            .last_id()
            .or_else(|| self.messages.timeline.with_untracked(|t| t.messages().last().map(|m| m.id.clone())));
        let asked = js_sys::Date::now();
        let mut opened = None;
        let result = session
            .client
            .follow_events(&session.send.conversation_id, resume.as_deref(), &signal, |received| match received {
                Received::Open => {
                    if let Some(timer) = silent {
                        timer.clear();
                    }
                    opened = Some(js_sys::Date::now());
                    self.poller.cancel_timer();
                    // Without a place to resume from, what was stored before
                    // the stream began comes by a poll.
                    if resume.is_none() {
                        self.poll_now();
                    }
                }
                Received::Event(event, id) => self.on_event(&event, &id),
            })
            .await;
        if let Some(timer) = silent {
            timer.clear();
        }
        Ok(match (opened, result) {
            (Some(at), _) => Ended::Held { ms: js_sys::Date::now() - at },
            (None, Err(e)) if e.is_unauthorized() => return Err(e),
            (None, _) if js_sys::Date::now() - asked >= f64::from(FIRST_BYTE_MS) => Ended::Silent,
            (None, _) => Ended::Failed,
        })
    }

    /// An event of the stream, with the stream's last event `id`.
    fn on_event(self, event: &AiStreamEvent, id: &str) {
        self.live.received(id);
        let at_bottom = self.ui.near_bottom();
        if let AiStreamEvent::Message(message) = event
            && self.messages.take_pushed(message)
        {
            self.news(std::slice::from_ref(message));
        }
        self.reply.on_event(event);
        if at_bottom {
            self.scroll_down_soon(Then::Nothing);
        }
    }

    /// Catches up once the page is back (shown, the panel opened, a
    /// message sent): the stream is opened again if it was closed; while
    /// polling stands in, a poll runs now. A held stream needs nothing.
    fn catch_up(self) {
        match self.live.mode() {
            Mode::Streaming => {}
            Mode::Off if self.session.current.with_untracked(Option::is_some) => self.listen(),
            Mode::Off | Mode::Polling => self.poll_now(),
        }
    }

    // --- polling ---------------------------------------------------------

    /// Polls now, and from now on at the shortest interval.
    pub fn poll_now(self) {
        self.poller.reset();
        spawn_local(self.poll());
    }

    async fn poll(self) {
        let Some(session) = self.session.get() else {
            return;
        };
        if browser::hidden() || !self.poller.begin() {
            return;
        }
        let input =
            ListMessagesInput { conversation_id: session.send.conversation_id.clone(), limit: None, cursor: None };
        let outcome = match session.client.call::<ListMessages>(&input, None).await {
            Ok(page) => self.apply_latest(&session, page),
            Err(e) => {
                if e.is_unauthorized() {
                    self.connect();
                }
                Outcome::Failed
            }
        };
        match self.poller.end(outcome) {
            None => spawn_local(self.poll()),
            Some(_)
                if browser::hidden()
                    || self.session.current.with_untracked(Option::is_none)
                    || self.live.mode() == Mode::Streaming =>
            {
                self.poller.cancel_timer()
            }
            Some(delay) => self.poller.schedule(delay, move || spawn_local(self.poll())),
        }
    }

    fn apply_latest(self, session: &Session, page: connect360_api::Page<Message>) -> Outcome {
        // A poll answered after a new session began belongs to the old one.
        if self.session.conversation_id().as_ref() != Some(&session.send.conversation_id) {
            return Outcome::Idle;
        }
        // The first page is history, not news (even when the panel had the
        // visitor's own sent message before it, or the page is empty).
        let first = self.messages.first_page_pending();
        let at_bottom = first || self.ui.near_bottom();
        let added = self.messages.apply_latest(page);
        if first {
            // Messages written before it: where they stand is known now.
            for client_id in self.messages.waiting() {
                spawn_local(self.deliver(client_id));
            }
        }
        if added.is_empty() {
            return Outcome::Idle;
        }
        if !first {
            self.news(&added);
        }
        if at_bottom {
            self.scroll_down_soon(Then::FillView);
        }
        Outcome::Activity
    }

    // --- history and scrolling -------------------------------------------

    /// On scroll: near the top, the next older page loads.
    pub fn on_scroll(self) {
        if self.ui.near_top() {
            spawn_local(async move {
                self.load_older().await;
            });
        }
    }

    /// Loads the next older page and prepends it, keeping the messages in
    /// view where they are. Whether a page was loaded.
    pub async fn load_older(self) -> bool {
        let Some(session) = self.session.get() else {
            return false;
        };
        let Some(cursor) = self.messages.older_cursor() else {
            return false;
        };
        if self.messages.loading_older.get_untracked() {
            return false;
        }
        self.messages.loading_older.set(true);
        let input = ListMessagesInput {
            conversation_id: session.send.conversation_id.clone(),
            limit: None,
            cursor: Some(cursor.clone()),
        };
        let result = session.client.call::<ListMessages>(&input, None).await;
        let loaded = result.is_ok();
        // Measured with the loader still shown: it goes in the same render.
        let before = self.ui.scroll_mark();
        if let Ok(page) = result {
            self.messages.timeline.update(|t| _ = t.apply_older(&cursor, page));
        }
        self.messages.loading_older.set(false);
        self.ui.keep_scroll_position(before).await;
        loaded
    }

    /// Loads older pages while the list is too short to scroll (scrolling
    /// to the top is what loads them otherwise).
    async fn fill_view(self) {
        while !self.ui.scrollable() && self.load_older().await {}
    }

    /// Scrolls to a message (loading older pages to find it) and marks it.
    pub fn scroll_to_message(self, id: String) {
        spawn_local(async move {
            for _ in 0..MAX_PAGES_TO_FIND_PARENT {
                if let Some(el) = self.ui.message_element(&id) {
                    let opts = ScrollIntoViewOptions::new();
                    opts.set_behavior(if browser::reduced_motion() {
                        ScrollBehavior::Instant
                    } else {
                        ScrollBehavior::Smooth
                    });
                    opts.set_block(ScrollLogicalPosition::Center);
                    el.scroll_into_view_with_scroll_into_view_options(&opts);
                    _ = el.class_list().add_1("c360-flash");
                    set_timeout(move || _ = el.class_list().remove_1("c360-flash"), Duration::from_millis(1_600));
                    return;
                }
                if !self.load_older().await {
                    return;
                }
                browser::next_frame().await;
            }
        });
    }
}
