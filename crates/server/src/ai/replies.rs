//! Replies as they are written: one broadcast channel per conversation, from
//! the runner to the `ai-stream` requests that watch it, and the text written
//! so far, so that a watcher who comes late starts from all of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

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
    /// No reply will come: the conversation was handed off to a person.
    Stopped,
}

struct Channel {
    sender: broadcast::Sender<ReplyEvent>,
    /// The reply being written, as far as it is written.
    written: String,
}

#[derive(Clone, Default)]
pub struct Replies {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Replies {
    fn channels(&self) -> MutexGuard<'_, HashMap<String, Channel>> {
        // The map stays consistent whatever panicked while holding it.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn channel<'a>(channels: &'a mut HashMap<String, Channel>, conversation_id: &str) -> &'a mut Channel {
        channels
            .entry(conversation_id.to_owned())
            .or_insert_with(|| Channel { sender: broadcast::channel(BUFFER).0, written: String::new() })
    }

    /// Watches the conversation: the text of the reply written so far (empty
    /// when none is), and the events from then on; nothing falls in between.
    pub fn subscribe(&self, conversation_id: &str) -> (String, broadcast::Receiver<ReplyEvent>) {
        let mut channels = self.channels();
        let channel = Self::channel(&mut channels, conversation_id);
        (channel.written.clone(), channel.sender.subscribe())
    }

    /// A new reply starts in the conversation (text of an earlier, unfinished
    /// attempt is forgotten).
    pub fn begin(&self, conversation_id: &str) {
        if let Some(channel) = self.channels().get_mut(conversation_id) {
            channel.written.clear();
        }
    }

    /// Sends to whoever watches the conversation (nobody watching is fine)
    /// and keeps the text for those who come later.
    pub fn publish(&self, conversation_id: &str, event: ReplyEvent) {
        let mut channels = self.channels();
        let channel = Self::channel(&mut channels, conversation_id);
        match &event {
            ReplyEvent::Delta(text) => channel.written.push_str(text),
            ReplyEvent::Message(_) | ReplyEvent::Stopped => channel.written.clear(),
        }
        let _ = channel.sender.send(event);
        Self::forget_if_unused(&mut channels, conversation_id);
    }

    /// Forgets the conversation's channel once nobody watches it and no reply
    /// is half written; call after dropping a receiver.
    pub fn release(&self, conversation_id: &str) {
        Self::forget_if_unused(&mut self.channels(), conversation_id);
    }

    fn forget_if_unused(channels: &mut HashMap<String, Channel>, conversation_id: &str) {
        if channels
            .get(conversation_id)
            .is_some_and(|c| c.sender.receiver_count() == 0 && c.written.is_empty())
        {
            channels.remove(conversation_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_watcher_starts_from_the_text_written_so_far() {
        let replies = Replies::default();
        replies.begin("c");
        replies.publish("c", ReplyEvent::Delta("Orders ship ".into()));
        replies.publish("c", ReplyEvent::Delta("in two days".into()));
        let (written, mut events) = replies.subscribe("c");
        assert_eq!(written, "Orders ship in two days");
        replies.publish("c", ReplyEvent::Delta(".".into()));
        assert_eq!(events.try_recv().unwrap(), ReplyEvent::Delta(".".into()));
        replies.publish("c", ReplyEvent::Stopped);
        assert_eq!(events.try_recv().unwrap(), ReplyEvent::Stopped);
        drop(events);
        replies.release("c");
        assert!(replies.channels().is_empty(), "nothing kept once the reply ended and nobody watches");
    }

    #[test]
    fn a_new_attempt_forgets_the_text_of_the_last() {
        let replies = Replies::default();
        replies.publish("c", ReplyEvent::Delta("half an ans".into()));
        replies.begin("c");
        replies.publish("c", ReplyEvent::Delta("Yes.".into()));
        assert_eq!(replies.subscribe("c").0, "Yes.");
    }
}
