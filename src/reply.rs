//! The AI reply a visitor waits for, followed on the conversation's event
//! stream: typing until the first words, then the text as it is written,
//! until the stored message takes its place.

use connect360_api::{AiStreamEvent, Message, Sender, SenderType};

/// What to do after an event of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Keep reading.
    Read,
    /// The reply is stored (or none will come): stop.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReply {
    /// The visitor's message being answered; `None` while the send's answer
    /// that names it is still on its way (the stream can be quicker).
    pub after: Option<String>,
    /// Who writes it, once the stream said so.
    pub sender: Option<Sender>,
    /// The reply as far as it is written; empty while typing.
    pub text: String,
}

impl PendingReply {
    pub fn new(after: String) -> PendingReply {
        PendingReply { after: Some(after), sender: None, text: String::new() }
    }

    /// A reply the stream began (`start`) before the send's answer came.
    pub fn started(sender: Sender) -> PendingReply {
        PendingReply { after: None, sender: Some(sender), text: String::new() }
    }

    /// No word of the reply yet: the panel shows that it is being typed.
    pub fn typing(&self) -> bool {
        self.text.is_empty()
    }

    /// Takes an event in; a stored message is for the caller to show.
    pub fn on_event(&mut self, event: &AiStreamEvent) -> Next {
        match event {
            AiStreamEvent::Start(start) => {
                self.sender = Some(start.sender.clone());
                Next::Read
            }
            AiStreamEvent::Delta(delta) => {
                self.text.push_str(&delta.text);
                Next::Read
            }
            AiStreamEvent::Message(message) if self.is_reply(message) => Next::Done,
            AiStreamEvent::Message(message) if message.sender.kind == SenderType::Ai => {
                // The text so far was another question's reply: this one's follows.
                self.text.clear();
                Next::Read
            }
            AiStreamEvent::Message(_) => Next::Read,
            AiStreamEvent::Idle(_) => Next::Done,
        }
    }

    fn is_reply(&self, message: &Message) -> bool {
        message.sender.kind == SenderType::Ai
            && self.after.as_ref().is_none_or(|after| message.parent_id.as_ref() == Some(after))
    }

    /// Whether the reply is among `messages` (e.g. a poll brought it before
    /// the stream did): then the stored message shows, and the draft not.
    pub fn answered_in(&self, messages: &[Message]) -> bool {
        messages.iter().rev().any(|m| self.is_reply(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::tests::message;
    use connect360_api::{AiDelta, AiIdle, AiStart};

    fn reply_to(id: &str, parent: &str) -> Message {
        Message { parent_id: Some(parent.into()), ..message(id, "01", SenderType::Ai, "Yes.") }
    }

    fn delta(text: &str) -> AiStreamEvent {
        AiStreamEvent::Delta(AiDelta { text: text.into() })
    }

    #[test]
    fn typing_then_words_then_the_stored_reply() {
        let mut pending = PendingReply::new("q1".into());
        assert!(pending.typing());
        let agent =
            Sender { kind: SenderType::Ai, id: "agent_1".into(), name: Some("Nordwind assistant".into()), image: None };
        assert_eq!(pending.on_event(&AiStreamEvent::Start(AiStart { sender: agent.clone() })), Next::Read);
        assert_eq!((pending.typing(), pending.sender.as_ref()), (true, Some(&agent)));
        assert_eq!(pending.on_event(&delta("Parcels ")), Next::Read);
        assert_eq!(pending.on_event(&delta("ship today.")), Next::Read);
        assert_eq!((pending.typing(), pending.text.as_str()), (false, "Parcels ship today."));
        let stored = reply_to("r1", "q1");
        assert!(!pending.answered_in(&[message("q1", "00", SenderType::Customer, "?")]));
        assert!(pending.answered_in(std::slice::from_ref(&stored)));
        assert_eq!(pending.on_event(&AiStreamEvent::Message(Box::new(stored))), Next::Done);
    }

    #[test]
    fn a_reply_begun_before_the_send_s_answer_is_the_reply_to_any_question() {
        let agent = Sender { kind: SenderType::Ai, id: "agent_1".into(), name: None, image: None };
        let mut pending = PendingReply::started(agent.clone());
        assert_eq!((pending.typing(), pending.sender.as_ref()), (true, Some(&agent)));
        assert_eq!(pending.on_event(&delta("Two days.")), Next::Read);
        assert!(pending.answered_in(&[reply_to("r1", "q9")]));
        let human = Message { parent_id: Some("q9".into()), ..message("h1", "02", SenderType::Workspace, "Hi") };
        assert_eq!(pending.on_event(&AiStreamEvent::Message(Box::new(human))), Next::Read);
        assert_eq!(pending.text, "Two days.");
        assert_eq!(pending.on_event(&AiStreamEvent::Message(Box::new(reply_to("r1", "q9")))), Next::Done);
    }

    #[test]
    fn another_question_s_reply_first_means_waiting_on_for_this_one() {
        let mut pending = PendingReply::new("q2".into());
        pending.on_event(&delta("About your first question"));
        assert_eq!(pending.on_event(&AiStreamEvent::Message(Box::new(reply_to("r1", "q1")))), Next::Read);
        assert!(pending.typing(), "that reply's words are gone");
        // Anyone else's message on the stream changes nothing.
        pending.on_event(&delta("About"));
        assert_eq!(
            pending.on_event(&AiStreamEvent::Message(Box::new(message("h0", "01", SenderType::Workspace, "Hi")))),
            Next::Read
        );
        assert_eq!(pending.text, "About");
        assert!(!pending.answered_in(&[reply_to("r1", "q1")]));
        // A support member's reply to the question is not the AI's.
        let human = Message { parent_id: Some("q2".into()), ..message("h1", "02", SenderType::Workspace, "Hi") };
        assert!(!pending.answered_in(&[human]));
        assert_eq!(pending.on_event(&AiStreamEvent::Idle(AiIdle {})), Next::Done);
    }
}
