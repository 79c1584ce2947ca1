//! Replies as they are written: one broadcast channel per conversation, from
//! the runner to the `ai-stream` requests that watch it, and who is writing
//! what so far, so that a watcher who comes late starts from all of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use connect360_api::{Message, Sender};
use tokio::sync::broadcast;

/// Deltas are small and a watcher reads them as they come; one far behind
/// misses some text but still gets the stored message, which replaces it.
const BUFFER: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub enum ReplyEvent {
    /// A reply is being written, by this agent.
    Start(Sender),
    /// More text of the reply.
    Delta(String),
    /// The reply (or the notice that there is none), stored.
    Message(Box<Message>),
    /// No reply will come: the conversation was handed off to a person.
    Stopped,
}

struct Channel {
    sender: broadcast::Sender<ReplyEvent>,
    /// The reply being written: its writer and its text so far.
    writing: Option<(Sender, String)>,
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
            .or_insert_with(|| Channel { sender: broadcast::channel(BUFFER).0, writing: None })
    }

    /// Watches the conversation: the reply being written (its writer and
    /// text so far), if one is, and the events from then on; nothing falls
    /// in between.
    pub fn subscribe(&self, conversation_id: &str) -> (Option<(Sender, String)>, broadcast::Receiver<ReplyEvent>) {
        let mut channels = self.channels();
        let channel = Self::channel(&mut channels, conversation_id);
        (channel.writing.clone(), channel.sender.subscribe())
    }

    /// `agent` starts a reply in the conversation (the text of an earlier,
    /// unfinished attempt is forgotten).
    pub fn begin(&self, conversation_id: &str, agent: Sender) {
        self.publish(conversation_id, ReplyEvent::Start(agent));
    }

    /// Sends to whoever watches the conversation (nobody watching is fine)
    /// and keeps the text for those who come later.
    pub fn publish(&self, conversation_id: &str, event: ReplyEvent) {
        let mut channels = self.channels();
        let channel = Self::channel(&mut channels, conversation_id);
        match &event {
            ReplyEvent::Start(agent) => channel.writing = Some((agent.clone(), String::new())),
            // Text after a hand-off (no reply being written) is nobody's.
            ReplyEvent::Delta(text) => match &mut channel.writing {
                Some((_, written)) => written.push_str(text),
                None => return,
            },
            ReplyEvent::Message(_) | ReplyEvent::Stopped => channel.writing = None,
        }
        let _ = channel.sender.send(event);
        Self::forget_if_unused(&mut channels, conversation_id);
    }

    /// Forgets the conversation's channel once nobody watches it and no reply
    /// is being written; call after dropping a receiver.
    pub fn release(&self, conversation_id: &str) {
        Self::forget_if_unused(&mut self.channels(), conversation_id);
    }

    fn forget_if_unused(channels: &mut HashMap<String, Channel>, conversation_id: &str) {
        if channels
            .get(conversation_id)
            .is_some_and(|c| c.sender.receiver_count() == 0 && c.writing.is_none())
        {
            channels.remove(conversation_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use connect360_api::SenderType;

    use super::*;

    fn agent() -> Sender {
        Sender { kind: SenderType::Ai, id: "agent_1".into(), name: Some("Nordwind assistant".into()), image: None }
    }

    #[test]
    fn a_late_watcher_starts_from_the_writer_and_text_so_far() {
        let replies = Replies::default();
        replies.begin("c", agent());
        replies.publish("c", ReplyEvent::Delta("Orders ship ".into()));
        replies.publish("c", ReplyEvent::Delta("in two days".into()));
        let (writing, mut events) = replies.subscribe("c");
        assert_eq!(writing, Some((agent(), "Orders ship in two days".to_owned())));
        replies.publish("c", ReplyEvent::Delta(".".into()));
        assert_eq!(events.try_recv().unwrap(), ReplyEvent::Delta(".".into()));
        replies.publish("c", ReplyEvent::Stopped);
        assert_eq!(events.try_recv().unwrap(), ReplyEvent::Stopped);
        // An agent that goes on after a hand-off writes for nobody.
        replies.publish("c", ReplyEvent::Delta("more".into()));
        assert!(events.try_recv().is_err());
        assert_eq!(replies.subscribe("c").0, None);
        drop(events);
        replies.release("c");
        assert!(replies.channels().is_empty(), "nothing kept once the reply ended and nobody watches");
    }

    #[test]
    fn a_new_attempt_forgets_the_text_of_the_last() {
        let replies = Replies::default();
        replies.begin("c", agent());
        replies.publish("c", ReplyEvent::Delta("half an ans".into()));
        replies.begin("c", agent());
        replies.publish("c", ReplyEvent::Delta("Yes.".into()));
        assert_eq!(replies.subscribe("c").0, Some((agent(), "Yes.".to_owned())));
    }
}
