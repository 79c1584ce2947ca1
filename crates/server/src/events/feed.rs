//! One stream's events over a hub topic (a conversation, or a workspace for
//! the inbox), in order: the AI reply being written (if one is), then what
//! the caller missed, read from its [`MessageLog`] page by page, then live
//! events from the hub, each message once.
//!
//! The stream subscribes before it reads the log, and the log's messages are
//! published in its order after they are in it (the store's after each
//! commit), so every message is either read or
//! received live; one that is both is skipped, by its place in store order
//! ([`MessageCursor::has_passed`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::Event as SseEvent;
use connect360_api::{AiDelta, AiIdle, AiStart, AiStreamEvent, Message, Sender};
use futures_util::Stream;
use futures_util::stream;
use tokio::sync::mpsc;

use super::last_event_id::LastEventId;
use super::log::MessageLog;
use crate::attachments::url::UrlSigner;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::hub::{Event, ReplyEvent, StoredMessage, Subscription};
use crate::store::MessageCursor;

/// Messages read from the store at a time while catching up.
const PAGE: u32 = 100;

/// Relays the subscription into a queue of `buffer` events, from now on,
/// whether the stream is read or not: a reader that lets the queue fill
/// (a slow client, or one whose connection stalled) is dropped then, its
/// subscription with it, rather than buffered for. The queue closes when
/// the reader goes away too.
fn forward(mut subscription: Subscription, buffer: usize) -> mpsc::Receiver<Arc<Event>> {
    let (queue, live) = mpsc::channel(buffer.max(1));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                received = subscription.recv() => {
                    // Lagged (the relay itself fell behind) ends the stream as a full queue does.
                    let Ok(event) = received else { break };
                    if let Err(err) = queue.try_send(event) {
                        if matches!(err, mpsc::error::TrySendError::Full(_)) {
                            tracing::debug!(topic = ?subscription.topic(), "an event stream's reader fell behind; dropping it");
                        }
                        break;
                    }
                }
                () = queue.closed() => break,
            }
        }
    });
    live
}

/// What a stream needs to render events for its caller.
pub struct Feed {
    log: Arc<dyn MessageLog>,
    urls: UrlSigner,
    principal: Principal,
    /// The newest message sent (or the caller's `Last-Event-ID`).
    cursor: MessageCursor,
    /// The reply being written when the stream subscribed.
    writing: Option<(Sender, String)>,
    live: mpsc::Receiver<Arc<Event>>,
}

/// Where a feed starts and whom it renders for.
pub struct Watch {
    /// Where what the caller missed is read.
    pub log: Arc<dyn MessageLog>,
    pub urls: UrlSigner,
    pub principal: Principal,
    /// The topic, subscribed to before the store is read: what is stored in
    /// between is then read or received, and the feed sends it once.
    pub subscription: Subscription,
    /// The reply being written when the subscription began.
    pub writing: Option<(Sender, String)>,
    pub last_event_id: LastEventId,
    /// Events the reader may be behind by before it is dropped ([`forward`]).
    pub buffer: usize,
}

impl Watch {
    /// The feed from the caller's `Last-Event-ID` (else from now on); an id
    /// that is not a message of the topic is a 400, a topic the caller may
    /// not read a 404.
    pub async fn open(self) -> Result<Feed, ApiError> {
        let topic = self.subscription.topic().clone();
        let live = forward(self.subscription, self.buffer);
        let cursor = self
            .log
            .cursor(
                self.principal.workspace_id(),
                &topic,
                self.principal.only_customer(),
                self.last_event_id.as_deref().map(|id| (LastEventId::FIELD, id)),
            )
            .await?;
        Ok(Feed { log: self.log, urls: self.urls, principal: self.principal, cursor, writing: self.writing, live })
    }
}

struct State {
    feed: Feed,
    ready: VecDeque<SseEvent>,
    catching_up: bool,
}

impl Feed {
    /// The events, until the hub drops this reader or the store fails.
    pub fn events(self) -> impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static {
        let mut state = State { ready: VecDeque::new(), catching_up: true, feed: self };
        if let Some((sender, text)) = state.feed.writing.take() {
            state.ready.push_back(state.feed.event(&AiStreamEvent::Start(AiStart { sender })));
            if !text.is_empty() {
                state.ready.push_back(state.feed.event(&AiStreamEvent::Delta(AiDelta { text })));
            }
        }
        stream::unfold(state, |mut state| async move {
            loop {
                if let Some(event) = state.ready.pop_front() {
                    return Some((Ok(event), state));
                }
                if state.catching_up {
                    let page = match state.feed.log.after(&state.feed.cursor, PAGE).await {
                        Ok(page) => page,
                        Err(err) => {
                            // The client resumes with the last id it got.
                            tracing::error!(?err, "reading the messages an event stream missed failed");
                            return None;
                        }
                    };
                    state.catching_up = page.len() == PAGE as usize;
                    for message in page {
                        let event = state.feed.message(message);
                        state.ready.push_back(event);
                    }
                    continue;
                }
                let event = state.feed.live.recv().await?;
                if let Event::Gap = *event {
                    state.catching_up = true;
                    continue;
                }
                if let Some(event) = state.feed.live_event(&event) {
                    return Some((Ok(event), state));
                }
            }
        })
    }

    fn live_event(&mut self, event: &Event) -> Option<SseEvent> {
        match event {
            Event::Message(stored) if self.cursor.has_passed(stored) => None,
            Event::Message(stored) => Some(self.message(StoredMessage::clone(stored))),
            Event::Reply { event: ReplyEvent::Start(sender), .. } => {
                Some(self.event(&AiStreamEvent::Start(AiStart { sender: sender.clone() })))
            }
            Event::Reply { event: ReplyEvent::Delta(text), .. } => {
                Some(self.event(&AiStreamEvent::Delta(AiDelta { text: text.clone() })))
            }
            Event::Reply { event: ReplyEvent::Stopped, .. } => Some(self.event(&AiStreamEvent::Idle(AiIdle {}))),
            // Read from the store instead (see `events`).
            Event::Gap => None,
        }
    }

    /// A `message` event, its attachments signed for the caller; the cursor moves on to it.
    fn message(&mut self, stored: StoredMessage) -> SseEvent {
        self.cursor.advance(&stored);
        let mut message: Message = stored.message;
        self.urls.sign_messages(&self.principal, std::slice::from_mut(&mut message));
        self.event(&AiStreamEvent::Message(Box::new(message)))
    }

    /// An event with the newest message's id: the message's own for a
    /// `message` (the cursor is on it by now).
    fn event(&self, event: &AiStreamEvent) -> SseEvent {
        SseEvent::default().event(event.name()).id(self.cursor.message_id().unwrap_or_default()).data(event.data())
    }
}
