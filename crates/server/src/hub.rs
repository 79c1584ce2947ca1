//! The event hub: what was stored, and the AI replies being written, handed
//! to whoever watches right now (the event streams, `ai-stream`, issue 14's
//! member stream).
//!
//! Handlers see only [`EventBus`]. On SQLite the store publishes each
//! message after its commit, in commit order (see `SqliteStore::open`); on
//! PostgreSQL the database notifies every instance (`pg_events`). The AI
//! runner publishes the replies it writes (see `ai::replies`). Events are not
//! kept: a watcher that was away reads what it missed from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use connect360_api::{Message, Sender};
use futures_util::future::BoxFuture;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::lock::lock;

/// Events a subscriber may be behind by, per topic, unless configured.
pub const DEFAULT_BUFFER: usize = 64;

/// What a subscriber watches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// One conversation: its messages and its AI replies being written.
    Conversation(String),
    /// Every message of a workspace (not the replies being written).
    Workspace(String),
}

/// A message as the store has it, with what its watchers need to render it
/// for their own caller (e.g. sign its attachment URLs for a visitor).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub workspace_id: String,
    /// The message's place in store order: greater for a later commit.
    pub seq: i64,
    pub message: Message,
}

/// An AI reply as it is written; never stored (the reply itself is, as a message).
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyEvent {
    /// A reply is being written, by this agent.
    Start(Sender),
    /// More text of the reply.
    Delta(String),
    /// No reply will come: the conversation was handed off to a person.
    Stopped,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A message stored or changed (boxed: a message is large, a reply event small).
    Message(Box<StoredMessage>),
    /// Progress of an AI reply in the conversation.
    Reply { conversation_id: String, event: ReplyEvent },
    /// Messages may have been stored without an event (the bus lost its
    /// connection meanwhile): each subscriber reads the store after what it
    /// sent. Goes to every topic.
    Gap,
}

impl Event {
    /// The topics an event goes to; `None` for all of them.
    fn topics(&self) -> Option<impl Iterator<Item = Topic>> {
        let (conversation, workspace) = match self {
            Event::Message(m) => (m.message.conversation_id.clone(), Some(m.workspace_id.clone())),
            Event::Reply { conversation_id, .. } => (conversation_id.clone(), None),
            Event::Gap => return None,
        };
        Some(std::iter::once(Topic::Conversation(conversation)).chain(workspace.map(Topic::Workspace)))
    }
}

/// Fan-out of events to the subscribers of their topics.
///
/// Publishing is cheap when nobody watches (a map lookup), and never waits
/// for a subscriber: one that falls more than the buffer behind gets
/// [`RecvError::Lagged`] and is expected to end, so that its client resumes
/// from the store (`Last-Event-ID`), rather than be buffered for.
///
/// Two implementations: [`InProcessHub`] for one process, and
/// `pg_events::PgBus` for instances sharing a PostgreSQL database, which
/// hands what the other instances publish to its own [`InProcessHub`],
/// whose [`Subscription`]s the handlers hold either way.
pub trait EventBus: Send + Sync + 'static {
    /// Hands the event to the current subscribers of its topics.
    fn publish(&self, event: Event);
    /// Resolves once the events published so far have reached every
    /// instance (at once in one process): the AI runner waits for its
    /// reply's text before it stores the reply, so that nobody gets text
    /// after the stored message.
    fn delivered(&self) -> BoxFuture<'static, ()>;
    /// Watches a topic from now on; dropping the subscription ends it.
    fn subscribe(&self, topic: Topic) -> Subscription;
    /// How many watch the topic now (for tests and diagnostics).
    fn subscribers(&self, topic: &Topic) -> usize;
}

type Channels = Mutex<HashMap<Topic, broadcast::Sender<Arc<Event>>>>;

/// The fan-out of one process: a `tokio::sync::broadcast` per topic, made
/// for its first subscriber and dropped with its last.
#[derive(Clone)]
pub struct InProcessHub {
    channels: Arc<Channels>,
    buffer: usize,
}

impl InProcessHub {
    /// `buffer`: the events a subscriber may be behind by before it lags.
    pub fn new(buffer: usize) -> Self {
        InProcessHub { channels: Default::default(), buffer: buffer.max(1) }
    }

    /// How many topics have a channel now.
    pub fn topics(&self) -> usize {
        lock(&self.channels).len()
    }
}

impl Default for InProcessHub {
    fn default() -> Self {
        InProcessHub::new(DEFAULT_BUFFER)
    }
}

impl EventBus for InProcessHub {
    fn publish(&self, event: Event) {
        let event = Arc::new(event);
        let channels = lock(&self.channels);
        // No receiver left between a drop and its release is fine.
        match event.topics() {
            Some(topics) => {
                for topic in topics {
                    if let Some(sender) = channels.get(&topic) {
                        let _ = sender.send(event.clone());
                    }
                }
            }
            None => {
                for sender in channels.values() {
                    let _ = sender.send(event.clone());
                }
            }
        }
    }

    fn delivered(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }

    fn subscribe(&self, topic: Topic) -> Subscription {
        let mut channels = lock(&self.channels);
        let receiver = channels.entry(topic.clone()).or_insert_with(|| broadcast::channel(self.buffer).0).subscribe();
        Subscription { receiver: Some(receiver), channels: self.channels.clone(), topic }
    }

    fn subscribers(&self, topic: &Topic) -> usize {
        lock(&self.channels).get(topic).map_or(0, broadcast::Sender::receiver_count)
    }
}

/// A topic watched; its channel goes with the topic's last subscription.
pub struct Subscription {
    receiver: Option<broadcast::Receiver<Arc<Event>>>,
    channels: Arc<Channels>,
    topic: Topic,
}

impl Subscription {
    /// The next event; `Lagged` once this subscriber fell behind the buffer.
    pub async fn recv(&mut self) -> Result<Arc<Event>, RecvError> {
        match &mut self.receiver {
            Some(receiver) => receiver.recv().await,
            None => Err(RecvError::Closed),
        }
    }

    pub fn topic(&self) -> &Topic {
        &self.topic
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Counted out first, so that the check below sees only the others;
        // a subscribe in between holds the lock and is counted.
        self.receiver.take();
        let mut channels = lock(&self.channels);
        if channels.get(&self.topic).is_some_and(|s| s.receiver_count() == 0) {
            channels.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(workspace: &str, conversation: &str, seq: i64) -> Event {
        Event::Message(Box::new(StoredMessage {
            workspace_id: workspace.into(),
            seq,
            message: crate::fixtures::message(format!("msg_{seq}"), conversation),
        }))
    }

    #[tokio::test]
    async fn a_message_reaches_its_conversation_and_its_workspace() {
        let hub = InProcessHub::default();
        let mut conversation = hub.subscribe(Topic::Conversation("c1".into()));
        let mut workspace = hub.subscribe(Topic::Workspace("w".into()));
        let mut other = hub.subscribe(Topic::Conversation("c2".into()));
        hub.publish(stored("w", "c1", 1));
        assert_eq!(*conversation.recv().await.unwrap(), stored("w", "c1", 1));
        assert_eq!(*workspace.recv().await.unwrap(), stored("w", "c1", 1));
        hub.publish(Event::Reply { conversation_id: "c1".into(), event: ReplyEvent::Delta("hi".into()) });
        hub.publish(stored("w", "c2", 2));
        assert!(matches!(&*conversation.recv().await.unwrap(), Event::Reply { .. }));
        assert_eq!(
            *workspace.recv().await.unwrap(),
            stored("w", "c2", 2),
            "replies being written are not workspace events"
        );
        assert_eq!(*other.recv().await.unwrap(), stored("w", "c2", 2));
        hub.publish(Event::Gap);
        for subscription in [&mut conversation, &mut workspace, &mut other] {
            assert_eq!(*subscription.recv().await.unwrap(), Event::Gap, "a gap goes to every topic");
        }
    }

    #[tokio::test]
    async fn a_topic_lives_from_its_first_subscriber_to_its_last() {
        let hub = InProcessHub::default();
        let topic = Topic::Conversation("c".into());
        hub.publish(stored("w", "c", 1));
        assert_eq!(hub.topics(), 0, "publishing to nobody keeps nothing");
        let first = hub.subscribe(topic.clone());
        let second = hub.subscribe(topic.clone());
        assert_eq!((hub.topics(), hub.subscribers(&topic)), (1, 2));
        drop(first);
        assert_eq!((hub.topics(), hub.subscribers(&topic)), (1, 1));
        drop(second);
        assert_eq!((hub.topics(), hub.subscribers(&topic)), (0, 0));
    }

    #[tokio::test]
    async fn a_subscriber_behind_the_buffer_lags_instead_of_growing_it() {
        let hub = InProcessHub::new(2);
        let mut slow = hub.subscribe(Topic::Conversation("c".into()));
        for seq in 1..=5 {
            hub.publish(stored("w", "c", seq));
        }
        assert_eq!(slow.recv().await.unwrap_err(), RecvError::Lagged(3));
    }
}
