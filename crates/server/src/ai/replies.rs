//! Replies as they are written: one broadcast channel per conversation, from
//! the runner to the `ai-stream` requests that watch it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use connect360_api::Message;
use tokio::sync::broadcast;

/// Deltas are small and a watcher reads them as they come; one far behind
/// misses some text but still gets the stored message, which replaces it.
const BUFFER: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub enum ReplyEvent {
    /// More text of the reply.
    Delta(String),
    /// The reply (or the notice that there is none), stored.
    Message(Box<Message>),
}

#[derive(Clone, Default)]
pub struct Replies {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<ReplyEvent>>>>,
}

impl Replies {
    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<ReplyEvent>>> {
        // The map stays consistent whatever panicked while holding it.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn subscribe(&self, conversation_id: &str) -> broadcast::Receiver<ReplyEvent> {
        self.channels()
            .entry(conversation_id.to_owned())
            .or_insert_with(|| broadcast::channel(BUFFER).0)
            .subscribe()
    }

    /// Sends to whoever watches the conversation; nobody watching is fine.
    pub fn publish(&self, conversation_id: &str, event: ReplyEvent) {
        if let Some(sender) = self.channels().get(conversation_id) {
            let _ = sender.send(event);
        }
    }

    /// Forgets the conversation's channel once nobody watches it; call after
    /// dropping a receiver.
    pub fn release(&self, conversation_id: &str) {
        let mut channels = self.channels();
        if channels.get(conversation_id).is_some_and(|s| s.receiver_count() == 0) {
            channels.remove(conversation_id);
        }
    }
}
