//! The visitor's session: whether it is there, the client it gives, and
//! "Talk to a person".

use connect360_api::WidgetSession;
use leptos::prelude::*;

use crate::browser;
use crate::outbox::SendContext;
use crate::session::{GUEST_ID_KEY, Identity, SESSION_KEY, StoredSession, random_id, session_input, storage_key};
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

#[derive(Clone, Copy)]
pub struct SessionState {
    pub status: RwSignal<Status>,
    pub current: RwSignal<Option<Session>>,
    pub hand_off: RwSignal<HandOffState>,
    identity: StoredValue<Option<Identity>>,
    /// Counts session requests: only the latest one's answer is taken.
    requests: StoredValue<u32>,
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState {
            status: RwSignal::new(Status::Idle),
            current: RwSignal::new(None),
            hand_off: RwSignal::new(HandOffState::NoAgent),
            identity: StoredValue::new(None),
            requests: StoredValue::new(0),
        }
    }
}

impl SessionState {
    pub fn identify(self, identity: Identity) {
        self.identity.set_value(Some(identity));
    }

    /// The current session's client and send context.
    pub fn get(self) -> Option<Session> {
        self.current.get_untracked()
    }

    pub fn conversation_id(self) -> Option<String> {
        self.current.with_untracked(|s| s.as_ref().map(|s| s.send.conversation_id.clone()))
    }

    /// Whether the visitor's messages ask the site's agent for a reply.
    pub fn asks_ai(self) -> bool {
        self.current.with_untracked(|s| s.as_ref().is_some_and(|s| s.send.ai_agent.is_some()))
    }

    /// Asks the server for a session as the visitor (the guest kept in
    /// `widget_key`'s storage, or who `identify` named). `None`: a later
    /// request overtook this one (e.g. a guest session asked for just
    /// before `identify`), and its answer is dropped.
    pub async fn request(self, widget_key: &str, api_base: &str) -> Option<Result<WidgetSession, ClientError>> {
        let request = self.requests.get_value().wrapping_add(1);
        self.requests.set_value(request);
        let guest_key = storage_key(widget_key, GUEST_ID_KEY);
        let session_key = storage_key(widget_key, SESSION_KEY);
        let guest_id = browser::load(&guest_key).unwrap_or_else(|| {
            let id = random_id("guest_", browser::random_bytes());
            browser::save(&guest_key, &id);
            id
        });
        let stored = StoredSession::parse(browser::load(&session_key).as_deref());
        let identity = self.identity.get_value();
        let mut input = session_input(widget_key, &guest_id, identity.as_ref(), stored.as_ref());
        let mut result = start_session(api_base, &input).await;
        if matches!(result, Err(ClientError::Api(_))) && input.token.is_some() {
            // The stored token is no longer good: start afresh without it.
            browser::remove(&session_key);
            input.token = None;
            result = start_session(api_base, &input).await;
        }
        if self.requests.get_value() != request {
            return None;
        }
        if let Ok(session) = &result {
            browser::save(&session_key, &StoredSession::of(session).to_json());
        }
        Some(result)
    }

    /// AI replies are stopped: a person answers from now on.
    pub fn handed_off(self) {
        self.current.update(|s| {
            if let Some(s) = s {
                s.send.ai_agent = None;
            }
        });
        self.hand_off.set(HandOffState::Done);
    }
}
