//! `GET /api/v1/connect/inbox/events`: the workspace's messages as
//! server-sent events, for the inbox of a signed-in member (or an API key
//! with read permission; visitor tokens are refused).
//!
//! Built on the event hub's workspace topic: subscribed first, then what the
//! client missed (`Last-Event-ID`) read from the store, then live messages;
//! a message is sent once, in store order. A subscriber that falls behind
//! the hub's buffer is ended, and resumes with `Last-Event-ID`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::response::sse::Event;
use axum::routing::get;
use axum::Router;
use connect360_api::{INBOX_EVENTS_PATH, LAST_EVENT_ID};
use futures_util::stream::{self, StreamExt};

use crate::ai::Ai;
use crate::auth::{Authenticator, Principal};
use crate::domain::Permission;
use crate::error::ApiError;
use crate::hub::{self, EventBus, StoredMessage, Subscription, Topic};
use crate::store::Store;
use crate::telemetry::OpenStream;
use crate::validate;

/// Missed messages read from the store at a time.
const CATCH_UP_PAGE: u32 = 100;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Store>: FromRef<S>,
    Arc<dyn EventBus>: FromRef<S>,
    Authenticator: FromRef<S>,
    Ai: FromRef<S>,
{
    Router::new().route(INBOX_EVENTS_PATH, get(open))
}

async fn open(
    State(store): State<Arc<dyn Store>>,
    State(events): State<Arc<dyn EventBus>>,
    State(ai): State<Ai>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Principal::Member(member) = &principal else {
        return Err(ApiError::forbidden("Visitor tokens cannot watch the workspace."));
    };
    principal.require(Permission::Read)?;
    let workspace_id = member.workspace_id.clone();
    // Subscribed before reading the store: a message stored in between is
    // then in one or both, and sent once.
    let live = events.subscribe(Topic::Workspace(workspace_id.clone()));
    let after = match headers.get(LAST_EVENT_ID) {
        Some(value) => {
            let id = value.to_str().map_err(|_| ApiError::invalid("Last-Event-ID", "is not valid text"))?;
            let id = validate::id("Last-Event-ID", id)?;
            let seq = store
                .message_position(&workspace_id, &id)
                .await?
                .ok_or_else(|| ApiError::invalid("Last-Event-ID", "not a message of this workspace"))?;
            Some(seq)
        }
        None => None,
    };
    let state = Relay { store, workspace_id, live, catching_up: after.is_some(), last_sent: after.unwrap_or(0), pending: Vec::new() };
    let messages = stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        let next = state.next().await?;
        Some((next, Some(state)))
    })
    .map(|stored| message_event(&stored));
    let open = OpenStream::new("inbox");
    let events = messages.take_until(ai.closed()).map(move |event| {
        let _counted = &open;
        event
    });
    // The conversation stream's framing: a comment at once, then keep-alives.
    Ok(crate::events::sse(events).into_response())
}

fn message_event(stored: &StoredMessage) -> Result<Event, Infallible> {
    let data = serde_json::to_string(&stored.message).unwrap_or_else(|err| {
        tracing::error!(%err, "serializing a message for the inbox stream");
        String::from("{}")
    });
    Ok(Event::default().event("message").id(stored.message.id.clone()).data(data))
}

/// The stream's position: messages up to `last_sent` (store order) are sent.
struct Relay {
    store: Arc<dyn Store>,
    workspace_id: String,
    live: Subscription,
    catching_up: bool,
    last_sent: i64,
    /// Read from the store, not sent yet.
    pending: Vec<StoredMessage>,
}

impl Relay {
    /// The next message to send; `None` ends the stream.
    async fn next(&mut self) -> Option<StoredMessage> {
        loop {
            if let Some(stored) = self.pending.pop() {
                self.last_sent = stored.seq;
                return Some(stored);
            }
            if self.catching_up {
                match self.store.workspace_messages_after(&self.workspace_id, self.last_sent, CATCH_UP_PAGE).await {
                    Ok(page) => {
                        self.catching_up = page.len() == CATCH_UP_PAGE as usize;
                        self.pending = page.into_iter().rev().collect();
                        continue;
                    }
                    Err(err) => {
                        tracing::error!(%err, "reading missed messages for the inbox stream");
                        return None;
                    }
                }
            }
            match self.live.recv().await {
                Ok(event) => match &*event {
                    hub::Event::Message(stored) if stored.seq > self.last_sent => {
                        self.last_sent = stored.seq;
                        return Some(stored.clone());
                    }
                    _ => continue,
                },
                // Too far behind, or the hub is gone: the client resumes with Last-Event-ID.
                Err(_) => return None,
            }
        }
    }
}
