//! The widget's state and what it does: the session, sending, polling and
//! loading history. The view (`app`) only reads these signals and calls
//! these methods, so tests can fill the state without a server.

use std::time::Duration;

use connect360_api::procedure::{HandOff, ListMessages, SendMessage};
use connect360_api::{
    AiStreamEvent, AiStreamInput, HandOffInput, ListMessagesInput, Locale, Message, SenderType,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;
use web_sys::{ScrollBehavior, ScrollIntoViewOptions, ScrollLogicalPosition};

use crate::attachments::Uploads;
use crate::browser;
use crate::config::WidgetConfig;
use crate::locale::{content_for, visitor_locale};
use crate::outbox::{Delivery, Outbox, SendContext};
use crate::poll::{Backoff, Outcome};
use crate::reply::{Next, PendingReply};
use crate::session::{
    GUEST_ID_KEY, Identity, SESSION_KEY, StoredSession, random_id, session_input, storage_key,
};
use crate::timeline::{History, Timeline};
use crate::transport::json::encode;
use crate::transport::{Client, ClientError, start_session};

/// The visitor's session, as the calls need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub client: Client,
    pub send: SendContext,
}

/// "Talk to a person": whether it can be asked for, and how asking went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandOffState {
    /// The site has no AI agent: a person answers anyway.
    NoAgent,
    Available,
    Asking,
    Failed(String),
    /// AI replies are stopped for the conversation; a person answers.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No session asked for yet (the panel was never opened).
    Idle,
    Connecting,
    Ready,
    Failed(String),
}

/// Scrolled within this many pixels of the top, older messages load.
const HISTORY_THRESHOLD_PX: i32 = 48;
/// Within this many pixels of the bottom, new messages keep the list at the bottom.
const STICKY_BOTTOM_PX: i32 = 80;
/// Pages loaded at most to find a quoted message.
const MAX_PAGES_TO_FIND_PARENT: usize = 10;
/// Times a broken reply stream is opened again (then polling brings the reply).
const MAX_STREAM_RETRIES: u32 = 3;

#[derive(Clone, Copy)]
pub struct Chat {
    pub config: StoredValue<WidgetConfig>,
    /// The panel's language; `set_locale` changes it live.
    pub locale: RwSignal<Locale>,
    pub open: RwSignal<bool>,
    pub status: RwSignal<Status>,
    pub session: RwSignal<Option<Session>>,
    pub timeline: RwSignal<Timeline>,
    pub outbox: RwSignal<Outbox>,
    pub loading_older: RwSignal<bool>,
    /// The id of the message being replied to.
    pub replying_to: RwSignal<Option<String>>,
    pub draft: RwSignal<String>,
    /// The composer's files, uploading or uploaded, until sent.
    pub uploads: RwSignal<Uploads>,
    /// Why picked files were not uploaded.
    pub upload_error: RwSignal<Option<String>>,
    /// Files dragged over the panel: how many of its elements they entered.
    pub dragging: RwSignal<u32>,
    /// An image shown large: its address and name.
    pub lightbox: RwSignal<Option<(String, String)>>,
    /// What had focus before the image opened, to return to.
    pub lightbox_opener: StoredValue<Option<web_sys::HtmlElement>, LocalStorage>,
    /// The uploads on their way, to cancel.
    pub(crate) xhrs: StoredValue<Vec<(u32, web_sys::XmlHttpRequest)>, LocalStorage>,
    /// Messages from support that arrived while the panel was closed.
    pub unread: RwSignal<u32>,
    /// The AI reply being waited for, as far as it is written.
    pub reply: RwSignal<Option<PendingReply>>,
    pub hand_off: RwSignal<HandOffState>,
    /// The message list and the composer's input, once drawn.
    pub list: StoredValue<Option<web_sys::Element>, LocalStorage>,
    pub input: StoredValue<Option<web_sys::HtmlTextAreaElement>, LocalStorage>,
    identity: StoredValue<Option<Identity>>,
    /// Counts session requests: only the latest one's answer is taken.
    session_requests: StoredValue<u32>,
    backoff: StoredValue<Backoff>,
    timer: StoredValue<Option<TimeoutHandle>>,
    /// A poll is under way / another was asked for meanwhile.
    polling: StoredValue<(bool, bool)>,
    emit: StoredValue<Option<js_sys::Function>, LocalStorage>,
}

impl Chat {
    /// The state of a widget; nothing is asked of the server yet.
    pub fn new(config: WidgetConfig, emit: Option<js_sys::Function>) -> Chat {
        let languages = browser::languages();
        let locale = visitor_locale(
            config.locale.as_deref(),
            crate::web::page_lang().as_deref(),
            languages.iter().map(String::as_str),
        );
        Chat {
            config: StoredValue::new(config),
            locale: RwSignal::new(locale),
            open: RwSignal::new(false),
            status: RwSignal::new(Status::Idle),
            session: RwSignal::new(None),
            timeline: RwSignal::new(Timeline::default()),
            outbox: RwSignal::new(Outbox::default()),
            loading_older: RwSignal::new(false),
            replying_to: RwSignal::new(None),
            draft: RwSignal::new(String::new()),
            uploads: RwSignal::new(Uploads::default()),
            upload_error: RwSignal::new(None),
            dragging: RwSignal::new(0),
            lightbox: RwSignal::new(None),
            lightbox_opener: StoredValue::new_local(None),
            xhrs: StoredValue::new_local(Vec::new()),
            unread: RwSignal::new(0),
            reply: RwSignal::new(None),
            hand_off: RwSignal::new(HandOffState::NoAgent),
            list: StoredValue::new_local(None),
            input: StoredValue::new_local(None),
            identity: StoredValue::new(None),
            session_requests: StoredValue::new(0),
            backoff: StoredValue::new(Backoff::default()),
            timer: StoredValue::new(None),
            polling: StoredValue::new((false, false)),
            emit: StoredValue::new_local(emit),
        }
    }

    fn key(&self, name: &str) -> String {
        self.config.with_value(|c| storage_key(&c.widget_key, name))
    }

    /// Starts work that does not wait for the visitor: a returning visitor
    /// (with a stored session) reconnects at once, to see replies.
    pub fn start(self) {
        if browser::load(&self.key(SESSION_KEY)).is_some() {
            self.connect();
        }
        let on_visibility = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
            if browser::hidden() {
                self.cancel_timer();
            } else {
                self.poll_now();
            }
        });
        _ = document().add_event_listener_with_callback(
            "visibilitychange",
            wasm_bindgen::JsCast::unchecked_ref(on_visibility.as_ref()),
        );
        on_visibility.forget();
        // Kept for the page's life (the handle removes it only when asked).
        _ = window_event_listener(leptos::ev::focus, move |_| self.poll_now());
    }

    pub fn set_open(self, open: bool) {
        if self.open.get_untracked() == open {
            return;
        }
        self.open.set(open);
        self.emit(if open { "open" } else { "close" }, JsValue::UNDEFINED);
        if open {
            self.unread.set(0);
            if matches!(self.status.get_untracked(), Status::Idle | Status::Failed(_)) {
                self.connect();
            } else {
                self.poll_now();
            }
            spawn_local(async move {
                browser::next_frame().await;
                self.scroll_to_bottom();
                if let Some(input) = self.input.get_value() {
                    _ = input.focus();
                }
            });
        }
    }

    /// Shows the panel in `locale`. The panel is drawn again; the list
    /// keeps its place and the composer its text, caret and focus.
    pub fn set_locale(self, locale: Locale) {
        if self.locale.get_untracked() == locale {
            return;
        }
        let scroll = self.list.get_value().map(|l| (l.scroll_top(), self.near_bottom()));
        let caret = self.input.get_value().filter(|i| i.matches(":focus").unwrap_or(false)).map(|i| {
            (i.selection_start().ok().flatten(), i.selection_end().ok().flatten())
        });
        self.locale.set(locale);
        spawn_local(async move {
            browser::next_frame().await;
            match scroll {
                Some((_, true)) => self.scroll_to_bottom(),
                Some((top, false)) => {
                    if let Some(list) = self.list.get_value() {
                        list.set_scroll_top(top);
                    }
                }
                None => {}
            }
            if let (Some((start, end)), Some(input)) = (caret, self.input.get_value()) {
                _ = input.focus();
                _ = input.set_selection_start(start);
                _ = input.set_selection_end(end);
            }
        });
    }

    pub fn toggle(self) {
        self.set_open(!self.open.get_untracked());
    }

    /// Runs the session again as `identity`.
    pub fn identify(self, identity: Identity) {
        self.identity.set_value(Some(identity));
        self.connect();
    }

    fn emit(self, event: &str, detail: JsValue) {
        self.emit.with_value(|emit| {
            if let Some(f) = emit {
                _ = f.call2(&JsValue::NULL, &JsValue::from_str(event), &detail);
            }
        });
    }

    /// Asks for a session (again).
    pub fn connect(self) {
        self.status.set(Status::Connecting);
        spawn_local(async move {
            if let Err(e) = self.renew().await {
                self.status.set(Status::Failed(e.to_string()));
            }
        });
    }

    /// Asks for a session; an answer that a later request overtook is
    /// dropped (e.g. a guest session asked for just before `identify`).
    async fn renew(self) -> Result<(), ClientError> {
        let request = self.session_requests.get_value().wrapping_add(1);
        self.session_requests.set_value(request);
        let guest_key = self.key(GUEST_ID_KEY);
        let session_key = self.key(SESSION_KEY);
        let guest_id = browser::load(&guest_key).unwrap_or_else(|| {
            let id = random_id("guest_", browser::random_bytes());
            browser::save(&guest_key, &id);
            id
        });
        let stored = StoredSession::parse(browser::load(&session_key).as_deref());
        let (widget_key, api_base) =
            self.config.with_value(|c| (c.widget_key.clone(), c.api_base.clone()));
        let identity = self.identity.get_value();
        let mut input = session_input(&widget_key, &guest_id, identity.as_ref(), stored.as_ref());
        let mut result = start_session(&api_base, &input).await;
        if matches!(result, Err(ClientError::Api(_))) && input.token.is_some() {
            // The stored token is no longer good: start afresh without it.
            browser::remove(&session_key);
            input.token = None;
            result = start_session(&api_base, &input).await;
        }
        if self.session_requests.get_value() != request {
            return Ok(());
        }
        let session = result?;
        browser::save(&session_key, &StoredSession::of(&session).to_json());
        let previous = self
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.send.conversation_id.clone()));
        if previous.as_ref().is_some_and(|id| *id != session.conversation.id) {
            self.timeline.set(Timeline::default());
            self.outbox.set(Outbox::default());
            self.replying_to.set(None);
            self.reply.set(None);
        }
        // After a hand-off (on any page) the site's agent is asked no more.
        let handed_off = session.conversation.ai_stopped_at.is_some();
        let ai_agent = self.config.with_value(|c| c.ai_agent.clone());
        self.hand_off.set(match (&ai_agent, handed_off) {
            (None, _) => HandOffState::NoAgent,
            (Some(_), true) => HandOffState::Done,
            (Some(_), false) => HandOffState::Available,
        });
        self.session.set(Some(Session {
            client: Client {
                api_base,
                token: session.token,
            },
            send: SendContext {
                conversation_id: session.conversation.id,
                external_id: session.customer.external_id,
                channel_identifier: session.channel_identifier,
                ai_agent: ai_agent.filter(|_| !handed_off),
            },
        }));
        self.status.set(Status::Ready);
        self.poll_now();
        if previous.is_none() {
            // Messages written while the first session was on its way.
            let waiting: Vec<String> = self.outbox.with_untracked(|o| {
                o.unstored()
                    .filter(|m| m.delivery == Delivery::Sending)
                    .map(|m| m.client_id.clone())
                    .collect()
            });
            for client_id in waiting {
                spawn_local(self.deliver(client_id));
            }
        }
        Ok(())
    }

    // --- sending ---------------------------------------------------------

    /// Whether the composer holds something to send (and no file is still
    /// uploading: the message waits for all of them).
    pub fn can_send(self) -> bool {
        let (busy, files) = self.uploads.with(|u| (u.busy(), !u.done().is_empty()));
        !busy && (files || self.draft.with(|d| !d.trim().is_empty()))
    }

    /// Sends the composer's text and uploaded files (optimistically: it
    /// shows at once). Before the session is ready the message waits, shown
    /// as sending.
    pub fn send_draft(self) {
        if !self.can_send() {
            return;
        }
        let text = self.draft.get_untracked();
        let text = text.trim();
        let client_id = random_id("cm_", browser::random_bytes());
        let after = self.timeline.with_untracked(Timeline::anchor);
        let parent = self.replying_to.get_untracked();
        let content = if text.is_empty() {
            Default::default()
        } else {
            content_for(self.locale.get_untracked(), text)
        };
        let mut files = Vec::new();
        self.uploads.update(|u| files = u.take_done());
        self.upload_error.set(None);
        self.outbox
            .update(|o| _ = o.push(client_id.clone(), content, files, parent, after));
        self.draft.set(String::new());
        self.replying_to.set(None);
        spawn_local(async move {
            browser::next_frame().await;
            self.scroll_to_bottom();
        });
        if self.session.with_untracked(Option::is_some) {
            spawn_local(self.deliver(client_id));
        }
    }

    /// Sends a failed message again, with its first idempotency key.
    pub fn retry(self, client_id: String) {
        let mut again = false;
        self.outbox.update(|o| again = o.retry(&client_id).is_some());
        if again {
            spawn_local(self.deliver(client_id));
        }
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
                self.outbox.update(|o| o.sent(&client_id, &id));
                let asked_ai = self
                    .session
                    .with_untracked(|s| s.as_ref().is_some_and(|s| s.send.ai_agent.is_some()));
                if asked_ai {
                    self.follow_reply(id);
                }
                self.poll_now();
            }
            Ok(None) => {}
            Err(e) => self.outbox.update(|o| o.failed(&client_id, e.to_string())),
        }
    }

    async fn try_deliver(self, client_id: &str) -> Result<Option<Message>, ClientError> {
        let Some(session) = self.session.get_untracked() else {
            return Err(ClientError::Network("no session".into()));
        };
        let Some(input) = self
            .outbox
            .with_untracked(|o| o.get(client_id).map(|m| m.send_input(&session.send)))
        else {
            return Ok(None);
        };
        session
            .client
            .call::<SendMessage>(&input, Some(client_id))
            .await
            .map(Some)
    }

    /// Shows a message that came with an answer (not a poll): the visitor's
    /// own once stored, or a reply from the stream.
    fn receive(self, message: &Message) {
        let mut new = false;
        self.timeline.update(|t| new = t.insert(message.clone()));
        if new {
            self.news(std::slice::from_ref(message));
        }
    }

    /// Messages new to the panel (not history): those from others count as
    /// unread while it is closed; each is told to the page.
    fn news(self, added: &[Message]) {
        let incoming = added
            .iter()
            .filter(|m| m.sender.kind != SenderType::Customer)
            .count() as u32;
        if !self.open.get_untracked() && incoming > 0 {
            self.unread.update(|n| *n += incoming);
        }
        for m in added {
            self.emit("message", to_js(m));
        }
    }

    // --- AI replies ------------------------------------------------------

    /// Follows the AI reply to the visitor's message `after` on the reply
    /// stream: typing, then its words as they come; the stored message
    /// replaces them in the same update, so nothing flickers or shows twice.
    fn follow_reply(self, after: String) {
        self.reply.set(Some(PendingReply::new(after.clone())));
        let ours = move |r: &Option<PendingReply>| r.as_ref().is_some_and(|r| r.after == after);
        spawn_local(async move {
            let mut failures = 0;
            while let Some(session) = self.session.get_untracked() {
                // A newer question's reply is followed instead: stop.
                let Some(cursor) = self
                    .reply
                    .with_untracked(|r| r.as_ref().filter(|_| ours(r)).map(|r| r.cursor.clone()))
                else {
                    return;
                };
                let input = AiStreamInput {
                    conversation_id: session.send.conversation_id.clone(),
                    last_message_id: Some(cursor),
                    ..Default::default()
                };
                let mut next = Next::Read;
                let result = session.client.follow_reply(&input, |event| {
                    let at_bottom = self.near_bottom();
                    if let AiStreamEvent::Message(message) = &event {
                        self.receive(message);
                    }
                    next = Next::Done;
                    self.reply.update(|r| {
                        if ours(r) {
                            next = r.as_mut().map_or(Next::Done, |r| r.on_event(&event));
                        }
                    });
                    if at_bottom {
                        spawn_local(async move {
                            browser::next_frame().await;
                            self.scroll_to_bottom();
                        });
                    }
                    next == Next::Read
                })
                .await;
                match (result, next) {
                    (Ok(()), Next::Reopen) => continue,
                    (Ok(()), Next::Done) => break,
                    // Cut off before its end: open it again, from where it was.
                    (result, _) => {
                        failures += 1;
                        if failures > MAX_STREAM_RETRIES {
                            break;
                        }
                        if result.is_err_and(|e| e.is_unauthorized()) && self.renew().await.is_err() {
                            break;
                        }
                        browser::sleep(Duration::from_secs(failures.into())).await;
                    }
                }
            }
            // Given up or done: the draft goes (a poll brings what is stored).
            self.reply.update(|r| {
                if ours(r) {
                    *r = None;
                }
            });
            self.poll_now();
        });
    }

    /// "Talk to a person": AI replies stop for the conversation.
    pub fn hand_off(self) {
        let Some(session) = self.session.get_untracked() else {
            return;
        };
        self.hand_off.set(HandOffState::Asking);
        spawn_local(async move {
            let input = HandOffInput {
                conversation_id: session.send.conversation_id.clone(),
            };
            match session.client.call::<HandOff>(&input, None).await {
                Ok(_) => {
                    self.session.update(|s| {
                        if let Some(s) = s {
                            s.send.ai_agent = None;
                        }
                    });
                    self.reply.set(None);
                    self.hand_off.set(HandOffState::Done);
                }
                Err(e) => {
                    if e.is_unauthorized() {
                        self.connect();
                    }
                    self.hand_off.set(HandOffState::Failed(e.to_string()));
                }
            }
        });
    }

    // --- polling ---------------------------------------------------------

    fn cancel_timer(self) {
        if let Some(handle) = self.timer.get_value() {
            handle.clear();
        }
        self.timer.set_value(None);
    }

    /// Polls now, and from now on at the shortest interval.
    pub fn poll_now(self) {
        self.backoff.update_value(Backoff::reset);
        self.cancel_timer();
        spawn_local(self.poll());
    }

    fn schedule(self, delay_ms: u32) {
        self.cancel_timer();
        if browser::hidden() || self.session.with_untracked(Option::is_none) {
            return;
        }
        let handle = set_timeout_with_handle(
            move || spawn_local(self.poll()),
            Duration::from_millis(delay_ms.into()),
        );
        self.timer.set_value(handle.ok());
    }

    async fn poll(self) {
        let Some(session) = self.session.get_untracked() else {
            return;
        };
        if browser::hidden() {
            return;
        }
        let (busy, _) = self.polling.get_value();
        if busy {
            self.polling.set_value((true, true));
            return;
        }
        self.polling.set_value((true, false));
        let input = ListMessagesInput {
            conversation_id: session.send.conversation_id.clone(),
            limit: None,
            cursor: None,
        };
        let result = session.client.call::<ListMessages>(&input, None).await;
        let outcome = match result {
            Ok(page) => self.apply_latest(&session, page),
            Err(e) => {
                if e.is_unauthorized() {
                    self.connect();
                }
                Outcome::Failed
            }
        };
        let (_, again) = self.polling.get_value();
        self.polling.set_value((false, false));
        if again {
            self.backoff.update_value(Backoff::reset);
            spawn_local(self.poll());
        } else {
            let delay = self.backoff.try_update_value(|b| b.next(outcome)).unwrap_or(30_000);
            self.schedule(delay);
        }
    }

    fn apply_latest(
        self,
        session: &Session,
        page: connect360_api::Page<Message>,
    ) -> Outcome {
        // A poll answered after a new session began belongs to the old one.
        if self.session.with_untracked(|s| {
            s.as_ref().map(|s| &s.send.conversation_id) != Some(&session.send.conversation_id)
        }) {
            return Outcome::Idle;
        }
        // The first page is history, not news (even when the panel had the
        // visitor's own sent message before it, or the page is empty).
        let first = self.timeline.with_untracked(|t| *t.history() == History::Unknown);
        let at_bottom = first || self.near_bottom();
        let mut added = Vec::new();
        self.timeline.update(|t| added = t.apply_latest(page));
        if added.is_empty() {
            return Outcome::Idle;
        }
        self.timeline
            .with_untracked(|t| self.outbox.update(|o| o.reconcile(t.messages())));
        if !first {
            self.news(&added);
        }
        if at_bottom {
            spawn_local(async move {
                browser::next_frame().await;
                self.scroll_to_bottom();
                self.fill_view().await;
            });
        }
        Outcome::Activity
    }

    // --- history and scrolling -------------------------------------------

    fn near_bottom(self) -> bool {
        self.list.get_value().is_none_or(|l| {
            l.scroll_height() - l.scroll_top() - l.client_height() < STICKY_BOTTOM_PX
        })
    }

    pub fn scroll_to_bottom(self) {
        if let Some(list) = self.list.get_value() {
            list.set_scroll_top(list.scroll_height());
        }
    }

    /// On scroll: near the top, the next older page loads.
    pub fn on_scroll(self) {
        let near_top = self
            .list
            .get_value()
            .is_some_and(|l| l.scroll_top() < HISTORY_THRESHOLD_PX);
        if near_top {
            spawn_local(async move {
                self.load_older().await;
            });
        }
    }

    /// Loads the next older page and prepends it, keeping the messages in
    /// view where they are. Whether a page was loaded.
    pub async fn load_older(self) -> bool {
        let Some(session) = self.session.get_untracked() else {
            return false;
        };
        let Some(cursor) = self
            .timeline
            .with_untracked(|t| t.older_cursor().map(str::to_owned))
        else {
            return false;
        };
        if self.loading_older.get_untracked() {
            return false;
        }
        self.loading_older.set(true);
        let input = ListMessagesInput {
            conversation_id: session.send.conversation_id.clone(),
            limit: None,
            cursor: Some(cursor.clone()),
        };
        let result = session.client.call::<ListMessages>(&input, None).await;
        let loaded = result.is_ok();
        // Measured with the loader still shown: it goes in the same render.
        let before = self.list.get_value().map(|l| (l.scroll_height(), l.scroll_top()));
        if let Ok(page) = result {
            self.timeline.update(|t| _ = t.apply_older(&cursor, page));
        }
        self.loading_older.set(false);
        self.keep_scroll_position(before).await;
        loaded
    }

    /// Loads older pages while the list is too short to scroll (scrolling
    /// to the top is what loads them otherwise).
    async fn fill_view(self) {
        loop {
            let scrollable = self
                .list
                .get_value()
                .is_none_or(|l| l.client_height() == 0 || l.scroll_height() > l.client_height());
            if scrollable || !self.load_older().await {
                return;
            }
        }
    }

    /// After the list grew above the view, scrolls down by as much as it
    /// grew, before the browser paints.
    pub async fn keep_scroll_position(self, before: Option<(i32, i32)>) {
        let Some((height, top)) = before else { return };
        browser::next_frame().await;
        if let Some(list) = self.list.get_value() {
            list.set_scroll_top(top + list.scroll_height() - height);
        }
    }

    /// Scrolls to a message (loading older pages to find it) and marks it.
    pub fn scroll_to_message(self, id: String) {
        spawn_local(async move {
            for _ in 0..MAX_PAGES_TO_FIND_PARENT {
                if let Some(el) = self.message_element(&id) {
                    let opts = ScrollIntoViewOptions::new();
                    opts.set_behavior(if browser::reduced_motion() {
                        ScrollBehavior::Instant
                    } else {
                        ScrollBehavior::Smooth
                    });
                    opts.set_block(ScrollLogicalPosition::Center);
                    el.scroll_into_view_with_scroll_into_view_options(&opts);
                    _ = el.class_list().add_1("c360-flash");
                    set_timeout(
                        move || _ = el.class_list().remove_1("c360-flash"),
                        Duration::from_millis(1_600),
                    );
                    return;
                }
                if !self.load_older().await {
                    return;
                }
                browser::next_frame().await;
            }
        });
    }

    fn message_element(self, id: &str) -> Option<web_sys::Element> {
        let list = self.list.get_value()?;
        let escaped: String = id
            .chars()
            .flat_map(|c| {
                let esc = matches!(c, '"' | '\\').then_some('\\');
                esc.into_iter().chain([c])
            })
            .collect();
        list.query_selector(&format!("[data-id=\"{escaped}\"]")).ok().flatten()
    }
}

/// A message as the API returns it, as a JavaScript object.
fn to_js(message: &Message) -> JsValue {
    js_sys::JSON::parse(&encode(message)).unwrap_or(JsValue::UNDEFINED)
}
