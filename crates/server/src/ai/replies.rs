//! Replies as they are written: the runner publishes them on the hub's
//! conversation topic, and keeps who is writing what so far, so that a
//! watcher who comes late starts from all of it. The stored reply itself
//! reaches the watchers as the store publishes every message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use connect360_api::Sender;

use crate::hub::{Event, EventBus, ReplyEvent, Subscription, Topic};
use crate::lock::lock;

#[derive(Clone)]
pub struct Replies {
    events: Arc<dyn EventBus>,
    /// The reply being written in each conversation: its writer and its text so far.
    writing: Arc<Mutex<HashMap<String, (Sender, String)>>>,
}

impl Replies {
    pub fn new(events: Arc<dyn EventBus>) -> Self {
        Replies { events, writing: Default::default() }
    }

    /// Watches the conversation: the reply being written (its writer and
    /// text so far), if one is, and the events from then on; nothing falls
    /// in between.
    pub fn subscribe(&self, conversation_id: &str) -> (Option<(Sender, String)>, Subscription) {
        let writing = lock(&self.writing);
        let subscription = self.events.subscribe(Topic::Conversation(conversation_id.to_owned()));
        (writing.get(conversation_id).cloned(), subscription)
    }

    /// `agent` starts a reply in the conversation (the text of an earlier,
    /// unfinished attempt is forgotten).
    pub fn begin(&self, conversation_id: &str, agent: Sender) {
        self.publish(conversation_id, ReplyEvent::Start(agent));
    }

    /// Sends to whoever watches the conversation (nobody watching is fine)
    /// and keeps the text for those who come later.
    pub fn publish(&self, conversation_id: &str, event: ReplyEvent) {
        let mut writing = lock(&self.writing);
        match &event {
            ReplyEvent::Start(agent) => {
                writing.insert(conversation_id.to_owned(), (agent.clone(), String::new()));
            }
            // Text after a hand-off (no reply being written) is nobody's.
            ReplyEvent::Delta(text) => match writing.get_mut(conversation_id) {
                Some((_, written)) => written.push_str(text),
                None => return,
            },
            ReplyEvent::Stopped => {
                writing.remove(conversation_id);
            }
        }
        self.events.publish(Event::Reply { conversation_id: conversation_id.to_owned(), event });
    }

    /// The reply is written and about to be stored: a watcher who comes from
    /// now on gets the stored message, not a reply being written. Returns
    /// once its text has reached every instance, which the stored message
    /// then follows.
    pub async fn written(&self, conversation_id: &str) {
        lock(&self.writing).remove(conversation_id);
        self.events.delivered().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use connect360_api::SenderType;
    use futures_util::FutureExt;

    use super::*;
    use crate::hub::InProcessHub;

    fn agent() -> Sender {
        Sender { kind: SenderType::Ai, id: "agent_1".into(), name: Some("Nordwind assistant".into()), image: None }
    }

    fn reply(event: Arc<Event>) -> ReplyEvent {
        match &*event {
            Event::Reply { event, .. } => event.clone(),
            other => panic!("not a reply event: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_late_watcher_starts_from_the_writer_and_text_so_far() {
        let hub = InProcessHub::default();
        let replies = Replies::new(Arc::new(hub.clone()));
        replies.begin("c", agent());
        replies.publish("c", ReplyEvent::Delta("Orders ship ".into()));
        replies.publish("c", ReplyEvent::Delta("in two days".into()));
        let (writing, mut events) = replies.subscribe("c");
        assert_eq!(writing, Some((agent(), "Orders ship in two days".to_owned())));
        replies.publish("c", ReplyEvent::Delta(".".into()));
        assert_eq!(reply(events.recv().await.unwrap()), ReplyEvent::Delta(".".into()));
        replies.publish("c", ReplyEvent::Stopped);
        assert_eq!(reply(events.recv().await.unwrap()), ReplyEvent::Stopped);
        // An agent that goes on after a hand-off writes for nobody.
        replies.publish("c", ReplyEvent::Delta("more".into()));
        assert!(events.recv().now_or_never().is_none());
        assert_eq!(replies.subscribe("c").0, None);
        drop(events);
        assert!(
            lock(&replies.writing).is_empty() && hub.topics() == 0,
            "nothing kept once the reply ended and nobody watches"
        );
    }

    #[tokio::test]
    async fn a_new_attempt_forgets_the_text_of_the_last() {
        let replies = Replies::new(Arc::new(InProcessHub::default()));
        replies.begin("c", agent());
        replies.publish("c", ReplyEvent::Delta("half an ans".into()));
        replies.begin("c", agent());
        replies.publish("c", ReplyEvent::Delta("Yes.".into()));
        assert_eq!(replies.subscribe("c").0, Some((agent(), "Yes.".to_owned())));
        replies.written("c").await;
        assert_eq!(replies.subscribe("c").0, None, "a written reply is read from the store");
    }
}
