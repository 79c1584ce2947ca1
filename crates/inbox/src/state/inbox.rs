//! What the inbox does, across its state: signing in and out, the list,
//! the conversation on screen (history, sending with the widget's outbox,
//! files, read marks, hand-off), and the member stream's messages.

use connect360_api::procedure::{HandOff, ListConversations, ListMessages, MarkRead, ResumeAi, SendMessage};
use connect360_api::{
    HandOffInput, ListConversationsInput, ListMessagesInput, Locale, MarkReadInput, MemberSession, Message,
    ResumeAiInput, Role, SenderType, SignInInput,
};
use connect360_widget::browser;
use connect360_widget::i18n::{Strings, strings};
use connect360_widget::session::random_id;
use connect360_widget::transport::{Client, ClientError};
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use super::live::Live;
use super::{List, Thread};
use crate::account;
use crate::conversations::Placement;
use crate::route::Route;

/// Whether a member is signed in.
#[derive(Debug, Clone, PartialEq)]
pub enum Account {
    /// Asking the server whether the browser holds a session.
    Checking,
    /// The sign-in page; `error` says why the last attempt failed.
    SignedOut {
        busy: bool,
        error: Option<String>,
    },
    SignedIn(MemberSession),
}

impl Account {
    /// Whether the member may write: reply, hand off or back. A read-only
    /// member reads (the server would refuse the rest).
    pub fn may_engage(&self) -> bool {
        matches!(self, Account::SignedIn(session) if session.member.role != Role::Read)
    }
}

#[derive(Clone, Copy)]
pub struct Inbox {
    /// The server's origin: the app is served by the API's own server.
    pub api_base: StoredValue<String>,
    pub account: RwSignal<Account>,
    pub route: RwSignal<Route>,
    pub list: List,
    pub thread: Thread,
    /// The clock the list's ages follow (milliseconds since the epoch).
    pub now: RwSignal<f64>,
    /// What the signed-in page's live region says (a hand-off, a hand-back).
    pub announcement: RwSignal<String>,
    live: Live,
}

/// Why sign-in failed, for the member.
fn sign_in_error(e: &ClientError) -> String {
    match e {
        ClientError::Api(shape) if shape.data.http_status == 401 => "Wrong email or password.".to_owned(),
        ClientError::Api(shape) if shape.data.http_status == 429 => {
            "Too many attempts. Wait a minute, then try again.".to_owned()
        }
        other => other.to_string(),
    }
}

impl Inbox {
    pub fn new(api_base: String) -> Inbox {
        Inbox {
            api_base: StoredValue::new(api_base),
            account: RwSignal::new(Account::Checking),
            route: RwSignal::new(Route::List),
            list: List::default(),
            thread: Thread::default(),
            now: RwSignal::new(js_sys::Date::now()),
            announcement: RwSignal::new(String::new()),
            live: Live::default(),
        }
    }

    /// The widget's words the shared parts use (upload errors), in English.
    pub fn strings(self) -> &'static Strings {
        strings(Locale::En)
    }

    /// Calls as the signed-in member: the browser sends the session cookie.
    fn client(self) -> Client {
        Client { api_base: self.api_base.get_value(), token: None }
    }

    /// Follows the address bar and asks whether a session is there.
    pub fn start(self) {
        self.route.set(Route::parse(&location_path()));
        _ = window_event_listener(leptos::ev::popstate, move |_| self.show(Route::parse(&location_path())));
        set_interval(move || self.now.set(js_sys::Date::now()), std::time::Duration::from_secs(30));
        spawn_local(async move {
            match account::current(&self.api_base.get_value()).await {
                Ok(session) => self.signed_in(session),
                Err(_) => self.account.set(Account::SignedOut { busy: false, error: None }),
            }
        });
    }

    pub fn sign_in(self, email: String, password: String) {
        if matches!(self.account.get_untracked(), Account::SignedOut { busy: true, .. }) {
            return;
        }
        self.account.set(Account::SignedOut { busy: true, error: None });
        spawn_local(async move {
            let input = SignInInput { email, password, workspace: None };
            match account::sign_in(&self.api_base.get_value(), &input).await {
                Ok(session) => self.signed_in(session),
                Err(e) => self.account.set(Account::SignedOut { busy: false, error: Some(sign_in_error(&e)) }),
            }
        });
    }

    fn signed_in(self, session: MemberSession) {
        self.account.set(Account::SignedIn(session));
        self.announcement.set(String::new());
        self.refresh_list();
        self.live.open(self);
        if let Some(id) = self.route.get_untracked().conversation() {
            self.open_thread(id.to_owned());
        }
    }

    pub fn sign_out(self) {
        spawn_local(async move {
            // Signed out here whatever the answer: the server forgets the
            // session on its side or has already.
            _ = account::sign_out(&self.api_base.get_value()).await;
            self.session_ended(None);
        });
    }

    /// The session is gone (signed out, expired, revoked): back to sign-in.
    fn session_ended(self, error: Option<String>) {
        self.live.close();
        self.list.clear();
        self.thread.clear();
        self.navigate(Route::List);
        self.account.set(Account::SignedOut { busy: false, error });
    }

    /// What every failed call does: an expired session signs out.
    fn failed(self, e: &ClientError) -> String {
        if e.is_unauthorized() {
            self.session_ended(Some("Your session has ended. Sign in again.".to_owned()));
        }
        e.to_string()
    }

    // --- routes ----------------------------------------------------------

    /// Goes to `route`, as a new entry of the browser's history.
    pub fn navigate(self, route: Route) {
        if self.route.get_untracked() != route
            && let Ok(history) = window().history()
        {
            _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route.path()));
        }
        self.show(route);
    }

    fn show(self, route: Route) {
        let opened = route.conversation().map(str::to_owned);
        let changed = self.route.get_untracked() != route;
        self.route.set(route);
        if let (Some(id), true) = (opened, changed) {
            self.open_thread(id);
        }
    }

    // --- the list --------------------------------------------------------

    /// Loads the newest page of conversations (again).
    pub fn refresh_list(self) {
        spawn_local(async move {
            match self.client().call::<ListConversations>(&ListConversationsInput::default(), None).await {
                Ok(page) => {
                    self.list.error.set(None);
                    self.list.conversations.update(|l| l.apply_newest(page));
                }
                Err(e) => self.list.error.set(Some(self.failed(&e))),
            }
        });
    }

    pub fn load_older_conversations(self) {
        let Some(cursor) = self.list.conversations.with_untracked(|l| l.older_cursor().map(str::to_owned)) else {
            return;
        };
        if self.list.loading_older.get_untracked() {
            return;
        }
        self.list.loading_older.set(true);
        spawn_local(async move {
            let input = ListConversationsInput { cursor: Some(cursor.clone()), limit: None };
            match self.client().call::<ListConversations>(&input, None).await {
                Ok(page) => self.list.conversations.update(|l| l.apply_older(&cursor, page)),
                Err(e) => self.list.error.set(Some(self.failed(&e))),
            }
            self.list.loading_older.set(false);
        });
    }

    // --- the conversation on screen ---------------------------------------

    pub fn open_id(self) -> Option<String> {
        self.route.with_untracked(|r| r.conversation().map(str::to_owned))
    }

    fn open_thread(self, id: String) {
        self.thread.clear();
        spawn_local(async move {
            let input = ListMessagesInput { conversation_id: id.clone(), limit: None, cursor: None };
            let result = self.client().call::<ListMessages>(&input, None).await;
            if self.open_id().as_ref() != Some(&id) {
                return;
            }
            match result {
                Ok(page) => {
                    self.thread.messages.apply_latest(page);
                    // Written before it came: where they stand is known now.
                    for client_id in self.thread.messages.waiting() {
                        spawn_local(self.deliver(client_id));
                    }
                    browser::next_frame().await;
                    self.thread.scroll_to_bottom();
                    self.mark_read();
                }
                Err(e) => self.thread.error.set(Some(self.failed(&e))),
            }
        });
    }

    /// On scroll: near the top, the next older page loads above.
    pub fn on_scroll(self) {
        if self.thread.near_top() {
            self.load_older_messages();
        }
    }

    pub fn load_older_messages(self) {
        let (Some(id), Some(cursor)) = (self.open_id(), self.thread.messages.older_cursor()) else {
            return;
        };
        let loading = self.thread.messages.loading_older;
        if loading.get_untracked() {
            return;
        }
        loading.set(true);
        spawn_local(async move {
            let input = ListMessagesInput { conversation_id: id, limit: None, cursor: Some(cursor.clone()) };
            let result = self.client().call::<ListMessages>(&input, None).await;
            let distance = self.thread.distance_from_bottom();
            match result {
                Ok(page) => self.thread.messages.timeline.update(|t| _ = t.apply_older(&cursor, page)),
                Err(e) => self.thread.error.set(Some(self.failed(&e))),
            }
            loading.set(false);
            browser::next_frame().await;
            self.thread.restore_distance_from_bottom(distance);
        });
    }

    /// Marks the open conversation read up to its newest stored message.
    fn mark_read(self) {
        let Some(conversation_id) = self.open_id() else { return };
        let Some(message_id) =
            self.thread.messages.timeline.with_untracked(|t| t.messages().last().map(|m| m.id.clone()))
        else {
            return;
        };
        spawn_local(async move {
            let input = MarkReadInput { conversation_id, message_id };
            match self.client().call::<MarkRead>(&input, None).await {
                Ok(out) => self.list.conversations.update(|l| l.set_unread(&out.conversation_id, out.unread_count)),
                Err(e) => _ = self.failed(&e),
            }
        });
    }

    // --- sending -----------------------------------------------------------

    pub fn can_send(self) -> bool {
        let (settled, files) = self.thread.uploads.ready();
        settled && (files || self.thread.messages.has_text())
    }

    /// Sends the composer's text and files: shown at once, then stored.
    pub fn send_draft(self) {
        if !self.can_send() {
            return;
        }
        let client_id = random_id("cm_", browser::random_bytes());
        let files = self.thread.uploads.take_done();
        self.thread.messages.queue(client_id.clone(), Locale::En, files);
        spawn_local(async move {
            browser::next_frame().await;
            self.thread.scroll_to_bottom();
        });
        spawn_local(self.deliver(client_id));
    }

    /// Sends a failed message again, with its first idempotency key.
    pub fn retry(self, client_id: String) {
        let mut again = false;
        self.thread.messages.outbox.update(|o| again = o.retry(&client_id).is_some());
        if again {
            spawn_local(self.deliver(client_id));
        }
    }

    async fn deliver(self, client_id: String) {
        let Some(conversation_id) = self.open_id() else { return };
        let messages = self.thread.messages;
        // `None` before the conversation's first page: sent once it is in.
        let Some(input) = messages.attempt(&client_id, |m| m.workspace_input(&conversation_id)) else {
            return;
        };
        match self.client().call::<SendMessage>(&input, Some(&client_id)).await {
            Ok(message) => {
                messages.insert(&message);
                messages.outbox.update(|o| o.sent(&client_id, &message.id));
                self.list.conversations.update(|l| _ = l.on_message(&message, Some(&conversation_id)));
            }
            Err(e) => {
                let why = self.failed(&e);
                messages.outbox.update(|o| o.failed(&client_id, why));
            }
        }
    }

    pub fn attach(self, files: Vec<File>) {
        self.thread.uploads.attach(Some(self.client()), files, self.strings());
    }

    // --- AI replies ----------------------------------------------------------

    /// Stops AI replies (`hand_off`) or turns them back on.
    pub fn switch_ai(self, hand_off: bool) {
        let Some(conversation_id) = self.open_id() else { return };
        if self.thread.switching_ai.get_untracked() {
            return;
        }
        self.thread.switching_ai.set(true);
        spawn_local(async move {
            let client = self.client();
            let result = if hand_off {
                client.call::<HandOff>(&HandOffInput { conversation_id: conversation_id.clone() }, None).await
            } else {
                client.call::<ResumeAi>(&ResumeAiInput { conversation_id: conversation_id.clone() }, None).await
            };
            match result {
                Ok(conversation) => {
                    self.thread.error.set(None);
                    self.list.conversations.update(|l| l.set_ai_stopped(&conversation.id, conversation.ai_stopped_at));
                    self.announcement.set(if hand_off { "AI replies stopped." } else { "AI replies on." }.to_owned());
                }
                Err(e) => self.thread.error.set(Some(self.failed(&e))),
            }
            self.thread.switching_ai.set(false);
        });
    }

    // --- the member stream -------------------------------------------------

    /// A message stored in the workspace: the list moves, the open
    /// conversation shows it and reads it.
    pub fn on_stream_message(self, message: Message) {
        let open = self.open_id();
        let placement = self.list.conversations.try_update(|l| l.on_message(&message, open.as_deref()));
        if placement == Some(Placement::Unknown) {
            self.refresh_list();
        }
        if open.as_deref() != Some(message.conversation_id.as_str()) {
            return;
        }
        let at_bottom = self.thread.near_bottom();
        let messages = self.thread.messages;
        if messages.insert(&message) {
            // The member's own message may come by the stream before the
            // send's answer: it is that message, not another.
            messages
                .timeline
                .with_untracked(|t| messages.outbox.update(|o| o.reconcile_as(t.messages(), SenderType::Workspace)));
            if at_bottom {
                spawn_local(async move {
                    browser::next_frame().await;
                    self.thread.scroll_to_bottom();
                });
            }
            if !browser::hidden() {
                self.mark_read();
            }
        }
    }

    /// The stream (re)connected: what came while it was away is loaded.
    pub(super) fn on_stream_open(self) {
        self.refresh_list();
    }

    /// The stream was refused for good: the session may have ended.
    pub(super) async fn on_stream_closed(self) -> bool {
        match account::current(&self.api_base.get_value()).await {
            Err(e) if e.is_unauthorized() => {
                self.session_ended(Some("Your session has ended. Sign in again.".to_owned()));
                false
            }
            _ => matches!(self.account.get_untracked(), Account::SignedIn(_)),
        }
    }
}

fn location_path() -> String {
    window().location().pathname().unwrap_or_default()
}
