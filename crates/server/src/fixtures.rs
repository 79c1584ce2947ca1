//! Values that unit tests build often.

use connect360_api::{Content, Message, Sender, SenderType};

/// A message of `conversation_id` with no content, sent by a member.
pub(crate) fn message(id: impl Into<String>, conversation_id: &str) -> Message {
    Message {
        id: id.into(),
        conversation_id: conversation_id.into(),
        content: Content::new(),
        attachments: Vec::new(),
        sender: Sender { kind: SenderType::Workspace, id: "m".into(), name: None, image: None },
        parent_id: None,
        flags: Vec::new(),
        template_id: None,
        channel: None,
        created_at: String::new(),
    }
}
