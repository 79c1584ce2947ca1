//! The visitor's outgoing messages: sending → sent, or sending → failed →
//! (retry) sending → … Each message keeps the client id it was made with; it
//! is the `Idempotency-Key` of every attempt, so a retry never duplicates.

use connect360_api::{AiRequest, Attachment, Content, CustomerInput, Message, SendAs, SendInput, SenderType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sending,
    Sent,
    /// Why, for the visitor.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Made once per message; the idempotency key of every attempt.
    pub client_id: String,
    pub content: Content,
    /// Uploaded files it carries (shown while it is sent).
    pub attachments: Vec<Attachment>,
    pub parent_id: Option<String>,
    pub delivery: Delivery,
    /// The stored message, once known.
    pub stored_id: Option<String>,
    /// What the panel showed when it was first sent; `None` until then (no
    /// stored copy of it can exist yet).
    pub after: Option<Anchor>,
}

/// Where in the conversation a message was sent: its stored copy can only
/// sort after the newest message the panel had then. Only known once a page
/// is loaded: a message written before waits for it to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The conversation was empty.
    Start,
    /// After this `(createdAt, id)`.
    After(String, String),
}

impl Anchor {
    fn precedes(&self, m: &Message) -> bool {
        match self {
            Anchor::Start => true,
            Anchor::After(at, id) => (m.created_at.as_str(), m.id.as_str()) > (at.as_str(), id.as_str()),
        }
    }
}

/// Where sends go and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendContext {
    pub conversation_id: String,
    pub external_id: String,
    pub channel_identifier: String,
    /// The site's `data-ai-agent`, asked to reply to every message.
    pub ai_agent: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outbox {
    items: Vec<Outgoing>,
}

impl Outbox {
    /// A new message, sending (not sent yet: see [`Outbox::attempt`]).
    pub fn push(
        &mut self,
        client_id: String,
        content: Content,
        attachments: Vec<Attachment>,
        parent_id: Option<String>,
    ) -> &Outgoing {
        self.items.push(Outgoing {
            client_id,
            content,
            attachments,
            parent_id,
            delivery: Delivery::Sending,
            stored_id: None,
            after: None,
        });
        self.items.last().expect("just pushed")
    }

    pub fn get(&self, client_id: &str) -> Option<&Outgoing> {
        self.items.iter().find(|o| o.client_id == client_id)
    }

    fn get_mut(&mut self, client_id: &str) -> Option<&mut Outgoing> {
        self.items.iter_mut().find(|o| o.client_id == client_id)
    }

    /// The outgoing message whose stored copy is `id`.
    pub fn by_stored_id(&self, id: &str) -> Option<&Outgoing> {
        self.items.iter().find(|o| o.stored_id.as_deref() == Some(id))
    }

    /// Sends `client_id` now, the panel's newest message being `after`: the
    /// first attempt anchors it there, a retry keeps that anchor (the first
    /// attempt may be the one stored). `None` for an unknown message.
    pub fn attempt(&mut self, client_id: &str, after: Anchor) -> Option<&Outgoing> {
        let o = self.get_mut(client_id)?;
        o.after.get_or_insert(after);
        Some(o)
    }

    /// Messages never sent yet (written before a page was loaded), oldest first.
    pub fn unsent(&self) -> impl Iterator<Item = &Outgoing> {
        self.items.iter().filter(|o| o.after.is_none())
    }

    /// Messages not stored yet (sending or failed), oldest first.
    pub fn unstored(&self) -> impl Iterator<Item = &Outgoing> {
        self.items.iter().filter(|o| o.stored_id.is_none())
    }

    /// The server stored it as `stored_id`.
    pub fn sent(&mut self, client_id: &str, stored_id: &str) {
        if let Some(o) = self.get_mut(client_id) {
            o.delivery = Delivery::Sent;
            o.stored_id = Some(stored_id.to_owned());
        }
    }

    /// The attempt failed. A message already known to be stored stays sent
    /// (its answer was lost, the message was not).
    pub fn failed(&mut self, client_id: &str, reason: impl Into<String>) {
        if let Some(o) = self.get_mut(client_id)
            && o.delivery == Delivery::Sending
        {
            o.delivery = Delivery::Failed(reason.into());
        }
    }

    /// Sends a failed message again, with the same client id. `None` unless
    /// it had failed.
    pub fn retry(&mut self, client_id: &str) -> Option<&Outgoing> {
        let o = self.get_mut(client_id)?;
        if !matches!(o.delivery, Delivery::Failed(_)) {
            return None;
        }
        o.delivery = Delivery::Sending;
        Some(o)
    }

    /// Claims stored copies that a poll brought before the send's own answer
    /// (or instead of it, when the answer was lost): a visitor's message with
    /// the same content and parent, newer than what the visitor saw when
    /// writing, and not already another outgoing message's copy.
    pub fn reconcile(&mut self, stored: &[Message]) {
        self.reconcile_as(stored, SenderType::Customer);
    }

    /// [`Outbox::reconcile`] for the writer of `own`'s messages (the team
    /// inbox: `Workspace`, whose stream brings its own messages too).
    pub fn reconcile_as(&mut self, stored: &[Message], own: SenderType) {
        for i in 0..self.items.len() {
            if self.items[i].stored_id.is_some() {
                continue;
            }
            let o = &self.items[i];
            let found = stored.iter().find(|m| {
                m.sender.kind == own
                    && m.content == o.content
                    && m.attachments.iter().map(|a| &a.id).eq(o.attachments.iter().map(|a| &a.id))
                    && m.parent_id == o.parent_id
                    && o.after.as_ref().is_some_and(|a| a.precedes(m))
                    && self.by_stored_id(&m.id).is_none()
            });
            if let Some(id) = found.map(|m| m.id.clone()) {
                let o = &mut self.items[i];
                o.stored_id = Some(id);
                o.delivery = Delivery::Sent;
            }
        }
    }
}

impl Outgoing {
    /// The input of `send` for this message, from the visitor.
    pub fn send_input(&self, ctx: &SendContext) -> SendInput {
        SendInput {
            channel_identifier: Some(ctx.channel_identifier.clone()),
            sender: SendAs::Customer,
            customer: Some(CustomerInput { external_id: Some(ctx.external_id.clone()), ..Default::default() }),
            ai: ctx.ai_agent.clone().map(|agent_id| AiRequest { agent_id, channel_id: None }),
            ..self.workspace_input(&ctx.conversation_id)
        }
    }

    /// The input of `send` for this message from the workspace (a member
    /// answering in the team inbox) in conversation `conversation_id`.
    pub fn workspace_input(&self, conversation_id: &str) -> SendInput {
        SendInput {
            conversation_id: conversation_id.to_owned(),
            // Files alone make a message: then it has no content at all.
            content: (!self.content.is_empty()).then(|| self.content.clone()),
            attachment_ids: (!self.attachments.is_empty())
                .then(|| self.attachments.iter().map(|a| a.id.clone()).collect()),
            parent_id: self.parent_id.clone(),
            sender: SendAs::Workspace,
            ..Default::default()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::locale::content_for;
    use connect360_api::{Locale, Sender};
    use serde_json::json;

    pub(crate) fn message(id: &str, at: &str, kind: SenderType, text: &str) -> Message {
        Message {
            id: id.into(),
            conversation_id: "c1".into(),
            content: content_for(Locale::En, text),
            attachments: vec![],
            sender: Sender { kind, id: format!("{kind:?}"), name: None, image: None },
            parent_id: None,
            flags: vec![],
            template_id: None,
            channel: None,
            created_at: format!("2026-11-24T10:00:{at}.000Z"),
        }
    }

    fn outbox_with(text: &str) -> Outbox {
        let mut ob = Outbox::default();
        ob.push("k1".into(), content_for(Locale::En, text), vec![], None);
        ob.attempt("k1", Anchor::Start);
        ob
    }

    #[test]
    fn sending_then_sent() {
        let mut ob = outbox_with("hi");
        assert_eq!(ob.get("k1").unwrap().delivery, Delivery::Sending);
        ob.sent("k1", "m9");
        let o = ob.get("k1").unwrap();
        assert_eq!((o.delivery.clone(), o.stored_id.as_deref()), (Delivery::Sent, Some("m9")));
        assert_eq!(ob.unstored().count(), 0);
        assert_eq!(ob.by_stored_id("m9").unwrap().client_id, "k1");
    }

    #[test]
    fn failed_then_retry_keeps_the_key() {
        let mut ob = outbox_with("hi");
        ob.failed("k1", "offline");
        assert_eq!(ob.get("k1").unwrap().delivery, Delivery::Failed("offline".into()));
        let again = ob.retry("k1").unwrap();
        assert_eq!(again.client_id, "k1");
        assert_eq!(again.delivery, Delivery::Sending);
        assert_eq!(ob.unstored().count(), 1, "a retry is not a second message");
    }

    #[test]
    fn only_failed_messages_can_be_retried() {
        let mut ob = outbox_with("hi");
        assert!(ob.retry("k1").is_none(), "already sending");
        ob.sent("k1", "m1");
        assert!(ob.retry("k1").is_none(), "already sent");
        assert!(ob.retry("nope").is_none());
    }

    #[test]
    fn a_failure_after_the_stored_copy_was_seen_stays_sent() {
        let mut ob = outbox_with("hi");
        ob.reconcile(&[message("m1", "01", SenderType::Customer, "hi")]);
        ob.failed("k1", "answer lost");
        assert_eq!(ob.get("k1").unwrap().delivery, Delivery::Sent);
    }

    #[test]
    fn reconcile_claims_only_new_unclaimed_matching_customer_messages() {
        let mut ob = Outbox::default();
        let after = Anchor::After("2026-11-24T10:00:05.000Z".to_owned(), "m5".to_owned());
        for k in ["k1", "k2"] {
            ob.push(k.into(), content_for(Locale::En, "hi"), vec![], None);
            ob.attempt(k, after.clone());
        }
        let stored = [
            message("m1", "01", SenderType::Customer, "hi"),    // before: history
            message("m6", "06", SenderType::Workspace, "hi"),   // not the visitor
            message("m7", "07", SenderType::Customer, "hello"), // other text
            message("m8", "08", SenderType::Customer, "hi"),
        ];
        ob.reconcile(&stored);
        assert_eq!(ob.get("k1").unwrap().stored_id.as_deref(), Some("m8"));
        assert_eq!(ob.get("k1").unwrap().delivery, Delivery::Sent);
        assert_eq!(ob.get("k2").unwrap().stored_id, None, "m8 is k1's");
        assert_eq!(ob.get("k2").unwrap().delivery, Delivery::Sending);
    }

    #[test]
    fn a_message_not_sent_yet_claims_no_stored_copy() {
        let mut ob = Outbox::default();
        ob.push("k1".into(), content_for(Locale::En, "hi"), vec![], None);
        ob.reconcile(&[message("m1", "01", SenderType::Customer, "hi")]);
        assert_eq!(ob.get("k1").unwrap().stored_id, None, "m1 may be an old 'hi'");
        ob.attempt("k1", Anchor::After("2026-11-24T10:00:01.000Z".into(), "m1".into()));
        ob.sent("k1", "m2");
        assert_eq!(ob.get("k1").unwrap().stored_id.as_deref(), Some("m2"));
    }

    #[test]
    fn the_first_attempt_anchors_a_message_and_a_retry_keeps_it() {
        let mut ob = Outbox::default();
        ob.push("k1".into(), content_for(Locale::En, "hi"), vec![], None);
        assert_eq!(ob.unsent().count(), 1, "written before a page was loaded: waits");
        let first = Anchor::After("2026-11-24T10:00:01.000Z".to_owned(), "m1".to_owned());
        assert_eq!(ob.attempt("k1", first.clone()).unwrap().after, Some(first.clone()));
        assert_eq!(ob.unsent().count(), 0);
        ob.failed("k1", "offline");
        ob.retry("k1");
        let later = Anchor::After("2026-11-24T10:00:05.000Z".to_owned(), "m5".to_owned());
        assert_eq!(ob.attempt("k1", later).unwrap().after, Some(first), "the first attempt may be the stored one");
        assert!(ob.attempt("nope", Anchor::Start).is_none());
        // Its copy, stored by the first attempt before m5 came, is claimed.
        ob.reconcile(&[message("m3", "03", SenderType::Customer, "hi")]);
        assert_eq!(ob.get("k1").unwrap().stored_id.as_deref(), Some("m3"));
    }

    #[test]
    fn files_alone_send_without_content_and_with_their_ids() {
        let file = Attachment {
            id: "f1".into(),
            name: "a.png".into(),
            media_type: "image/png".into(),
            size: 3,
            url: "/u".into(),
        };
        let mut ob = Outbox::default();
        let o = ob.push("k1".into(), Content::default(), vec![file], None);
        let ctx = SendContext {
            conversation_id: "c1".into(),
            external_id: "guest_1".into(),
            channel_identifier: "shop.example.com".into(),
            ai_agent: None,
        };
        let input = serde_json::to_value(o.send_input(&ctx)).unwrap();
        assert_eq!(input["attachmentIds"], json!(["f1"]));
        assert!(input.get("content").is_none(), "{input}");
    }

    #[test]
    fn a_site_s_ai_agent_is_asked_with_every_message() {
        let mut ob = Outbox::default();
        let o = ob.push("k1".into(), content_for(Locale::En, "Where is my order?"), vec![], None);
        let ctx = SendContext {
            conversation_id: "c1".into(),
            external_id: "guest_1".into(),
            channel_identifier: "shop.example.com".into(),
            ai_agent: Some("agent_1".into()),
        };
        let input = serde_json::to_value(o.send_input(&ctx)).unwrap();
        assert_eq!(input["ai"], json!({"agentId": "agent_1"}));
    }

    #[test]
    fn send_input_is_a_customer_send() {
        let mut ob = Outbox::default();
        let o = ob.push("k1".into(), content_for(Locale::Tr, "Merhaba"), vec![], Some("m1".into()));
        let ctx = SendContext {
            conversation_id: "c1".into(),
            external_id: "guest_1".into(),
            channel_identifier: "shop.example.com".into(),
            ai_agent: None,
        };
        assert_eq!(
            serde_json::to_value(o.send_input(&ctx)).unwrap(),
            json!({
                "conversationId": "c1",
                "content": {"tr": "Merhaba"},
                "parentId": "m1",
                "channelIdentifier": "shop.example.com",
                "sender": "customer",
                "customer": {"externalId": "guest_1"}
            })
        );
    }

    #[test]
    fn workspace_input_is_a_member_reply() {
        let mut ob = Outbox::default();
        let o = ob.push("k1".into(), content_for(Locale::En, "Hi"), vec![], Some("m1".into()));
        assert_eq!(
            serde_json::to_value(o.workspace_input("c1")).unwrap(),
            json!({"conversationId": "c1", "content": {"en": "Hi"}, "parentId": "m1", "sender": "workspace"})
        );
    }

    #[test]
    fn the_inbox_claims_its_own_side_s_copies() {
        let mut ob = Outbox::default();
        ob.push("k1".into(), content_for(Locale::En, "Hi"), vec![], None);
        ob.attempt("k1", Anchor::Start);
        let customer = message("m1", "01", SenderType::Customer, "Hi");
        ob.reconcile_as(std::slice::from_ref(&customer), SenderType::Workspace);
        assert_eq!(ob.get("k1").unwrap().stored_id, None, "the customer's words are not the member's message");
        ob.reconcile_as(&[customer, message("m2", "02", SenderType::Workspace, "Hi")], SenderType::Workspace);
        assert_eq!(ob.get("k1").unwrap().stored_id.as_deref(), Some("m2"));
        assert_eq!(ob.get("k1").unwrap().delivery, Delivery::Sent);
    }
}
