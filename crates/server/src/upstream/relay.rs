//! The AI reply streamed through the proxy: for a watched conversation in
//! which a reply may be coming (the visitor asked for one, or a stream opened
//! after a visitor's message), the upstream's `ai-stream` is read and its
//! events published into the local hub as the AI runner publishes its own
//! (`ai::replies`): the widget's event stream shows the draft grow word by
//! word, as without upstream mode.
//!
//! One relay per conversation, owned by the conversation's poller (so shared
//! by its streams, and ended with the last of them). It follows one reply at
//! a time; after a stored reply it asks again after that reply (the upstream
//! ends its stream after the first of several pending replies), and it ends
//! once the upstream says that nothing is pending. The stored reply itself
//! reaches the streams through the poller, which the relay wakes.

use std::sync::{Arc, Mutex};

use connect360_api::{AiStreamEvent, AiStreamInput};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::client::TrpcClient;
use super::error::UpstreamError;
use crate::ai::replies::Replies;
use crate::hub::ReplyEvent;
use crate::lock::lock;

/// A conversation's relay, idle until asked.
pub(super) struct Relay {
    client: TrpcClient,
    replies: Replies,
    conversation_id: String,
    /// The conversation's poller looks at once: it brings the stored reply.
    poll_now: Arc<Notify>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The running relay's task, if one runs.
    running: Option<AbortHandle>,
    /// A visitor message asked after while the relay ran: it asks again.
    asked: Option<String>,
    /// The newest visitor message already asked after (not asked twice).
    last: Option<String>,
    /// The conversation's last stream went: no relay starts any more.
    closed: bool,
}

/// How following one reply ended.
#[derive(Debug, PartialEq, Eq)]
enum Followed {
    /// Stored as this message: a later reply may follow it.
    Stored(String),
    /// Nothing pending, the reply dropped, or the stream ended early.
    Over,
}

impl Relay {
    pub(super) fn new(client: TrpcClient, replies: Replies, conversation_id: String, poll_now: Arc<Notify>) -> Relay {
        Relay { client, replies, conversation_id, poll_now, state: Mutex::default() }
    }

    /// A reply may be coming after the visitor's message `after`: relays it,
    /// unless the relay runs already (it then asks after `after` next).
    pub(super) fn ask(self: &Arc<Self>, after: &str) {
        let mut state = lock(&self.state);
        if state.closed || state.last.as_deref() == Some(after) {
            return;
        }
        state.last = Some(after.to_owned());
        if state.running.is_some() {
            state.asked = Some(after.to_owned());
            return;
        }
        let relay = self.clone();
        let after = after.to_owned();
        state.running = Some(tokio::spawn(async move { relay.run(after).await }).abort_handle());
    }

    /// Stops the relay for good: nobody watches the conversation any more.
    pub(super) fn close(&self) {
        let mut state = lock(&self.state);
        state.closed = true;
        if let Some(task) = state.running.take() {
            task.abort();
        }
    }

    async fn run(&self, mut after: String) {
        loop {
            let followed = self.follow(&after).await.unwrap_or_else(|err| {
                tracing::warn!(%err, conversation = %self.conversation_id, "relaying the upstream's AI reply failed");
                Followed::Over
            });
            let mut state = lock(&self.state);
            after = match followed {
                // Asking after the stored reply finds any reply still pending.
                Followed::Stored(reply) => {
                    state.asked = None;
                    reply
                }
                Followed::Over => match state.asked.take() {
                    Some(asked) => asked,
                    None => {
                        state.running = None;
                        return;
                    }
                },
            };
        }
    }

    /// Relays the upstream's stream of the reply after `after` until it ends.
    async fn follow(&self, after: &str) -> Result<Followed, UpstreamError> {
        let input = AiStreamInput {
            conversation_id: self.conversation_id.clone(),
            last_message_id: Some(after.to_owned()),
            ..AiStreamInput::default()
        };
        let response = self.client.ai_stream(&input).await?;
        let url = response.url().to_string();
        let mut events = std::pin::pin!(response.bytes_stream().eventsource());
        let mut writing = Writing { relay: self, started: false };
        while let Some(event) = events.next().await {
            let event = event.map_err(|err| UpstreamError::Unreachable { url: url.clone(), cause: err.to_string() })?;
            let Some(decoded) = AiStreamEvent::decode(&event.event, &event.data) else { continue };
            let decoded = decoded.map_err(|err| UpstreamError::Malformed {
                url: url.clone(),
                status: 200,
                cause: err.to_string(),
            })?;
            match decoded {
                AiStreamEvent::Start(start) => {
                    writing.started = true;
                    self.replies.begin(&self.conversation_id, start.sender);
                }
                AiStreamEvent::Delta(delta) => {
                    self.replies.publish(&self.conversation_id, ReplyEvent::Delta(delta.text))
                }
                AiStreamEvent::Message(reply) => {
                    writing.started = false;
                    // As the runner does: the text is forgotten before the stored reply is published.
                    self.replies.written(&self.conversation_id).await;
                    self.poll_now.notify_one();
                    return Ok(Followed::Stored(reply.id));
                }
                // Right away: nothing is pending. After a start: the reply was dropped (a hand-off).
                AiStreamEvent::Idle(_) => return Ok(Followed::Over),
            }
        }
        Ok(Followed::Over)
    }
}

/// A reply relayed as it is written: if it ends without its stored message
/// (dropped, the upstream's stream broke, or the relay was stopped), its
/// watchers are told that no more of it comes; the poller brings the stored
/// reply if there is one.
struct Writing<'a> {
    relay: &'a Relay,
    started: bool,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if self.started {
            self.relay.replies.publish(&self.relay.conversation_id, ReplyEvent::Stopped);
        }
    }
}
