//! The visitor routes' data on the upstream: each call made with the key
//! only after this server has checked the visitor may make it.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use connect360_api::{
    AiRequest, Conversation, ConversationType, CustomerInput, GetOrCreateConversation, GetOrCreateConversationInput,
    HandOff, HandOffInput, ListMessages, ListMessagesInput, Message, Page, SendAs, SendInput, SendMessage,
    SessionCustomer,
};
use hashlink::LruCache;

use super::client::{Repeat, TrpcClient};
use super::poller::Pollers;
use crate::ai::replies::Replies;
use crate::backend::{Backend, VisitorArrival, VisitorConversation, website_channel};
use crate::domain::CustomerKey;
use crate::error::ApiError;
use crate::hub::EventBus;
use crate::lock::lock;
use crate::store::{NewMessage, PageRequest};

/// Customers whose conversation is remembered; the least recently seen is
/// forgotten first (a forgotten one costs one upstream call to learn again).
const MAX_REMEMBERED: usize = 100_000;

/// Customer id → their top-level conversation, as the upstream said: the one
/// conversation their token reaches. Bounded: the visitors active now stay.
struct Owners(Mutex<LruCache<String, String>>);

impl Owners {
    fn new(capacity: usize) -> Owners {
        Owners(Mutex::new(LruCache::new(capacity)))
    }

    fn remember(&self, customer_id: &str, conversation_id: &str) {
        lock(&self.0).insert(customer_id.to_owned(), conversation_id.to_owned());
    }

    /// The customer's conversation, if remembered; it is then the most recent.
    fn get(&self, customer_id: &str) -> Option<String> {
        lock(&self.0).get(customer_id).cloned()
    }
}

pub struct UpstreamBackend {
    client: TrpcClient,
    owned: Owners,
    /// The watched conversations' pollers (the event streams' push).
    pollers: Pollers,
}

impl UpstreamBackend {
    /// `events`: where the pollers publish what they find; `replies`: where
    /// the AI replies being written upstream are relayed.
    pub fn new(client: TrpcClient, events: Arc<dyn EventBus>, replies: Replies) -> UpstreamBackend {
        let pollers = Pollers::new(client.clone(), events, replies);
        UpstreamBackend { client, owned: Owners::new(MAX_REMEMBERED), pollers }
    }

    pub fn pollers(&self) -> &Pollers {
        &self.pollers
    }

    pub fn client(&self) -> &TrpcClient {
        &self.client
    }

    async fn get_or_create(&self, input: GetOrCreateConversationInput) -> Result<Conversation, ApiError> {
        let conversation = self.client.call::<GetOrCreateConversation>(&input, Repeat::Idempotent).await?;
        if let Some(customer_id) = &conversation.customer_id {
            self.owned.remember(customer_id, &conversation.id);
        }
        Ok(conversation)
    }

    /// Refuses, before the upstream hears of it, a conversation that is not
    /// the visitor's own: the key would reach every conversation of the workspace.
    pub(super) async fn check_owner(
        &self,
        only_customer: Option<&str>,
        conversation_id: &str,
    ) -> Result<String, ApiError> {
        let customer_id = only_customer.ok_or_else(|| {
            ApiError::forbidden("In upstream mode only visitors are served here; call the upstream API.")
        })?;
        let owned = match self.owned.get(customer_id) {
            Some(id) => id,
            None => {
                let input =
                    GetOrCreateConversationInput { customer_id: Some(customer_id.to_owned()), ..Default::default() };
                self.get_or_create(input).await?.id
            }
        };
        if owned != conversation_id {
            // As the store answers a conversation of another customer: it does not exist for them.
            return Err(ApiError::not_found(format!("Conversation not found: {conversation_id}")));
        }
        Ok(customer_id.to_owned())
    }
}

#[async_trait]
impl Backend for UpstreamBackend {
    async fn open_visitor(&self, arrival: VisitorArrival) -> Result<VisitorConversation, ApiError> {
        let VisitorArrival { customer, known_external_id, merges_guest, site, .. } = arrival;
        if merges_guest.is_some() {
            // The upstream's claim needs its own token of the guest, which it never issued.
            tracing::warn!("upstream mode: a guest's conversations are not merged into the signed-in customer's");
        }
        let (id, external_id) = match customer.key {
            CustomerKey::Id(id) => (Some(id), known_external_id),
            CustomerKey::ExternalId(external) => (None, Some(external)),
        };
        let external_id = external_id.ok_or_else(|| ApiError::internal("visitor without an external id"))?;
        let name = customer.fields.name.clone();
        let input = GetOrCreateConversationInput {
            kind: Some(ConversationType::Direct),
            customer: Some(CustomerInput {
                id: id.clone(),
                // A customer named by id keeps the external id it has.
                external_id: id.is_none().then(|| external_id.clone()),
                name: customer.fields.name,
                email: customer.fields.email,
                ..CustomerInput::default()
            }),
            channel_identifier: Some(site.as_str().to_owned()),
            ..GetOrCreateConversationInput::default()
        };
        let conversation = self.get_or_create(input).await?;
        let customer_id = conversation
            .customer_id
            .clone()
            .ok_or_else(|| ApiError::internal("the upstream's visitor conversation has no customer"))?;
        let channel_id = website_channel(&conversation, site.as_str())?;
        Ok(VisitorConversation {
            conversation,
            customer: SessionCustomer { id: customer_id, external_id, name },
            channel_id,
        })
    }

    async fn send(&self, msg: NewMessage) -> Result<Message, ApiError> {
        let customer_id = self.check_owner(msg.only_customer.as_deref(), &msg.conversation_id).await?;
        let input = SendInput {
            conversation_id: msg.conversation_id,
            content: (!msg.content.is_empty()).then_some(msg.content),
            attachment_ids: (!msg.attachment_ids.is_empty()).then_some(msg.attachment_ids),
            flags: (!msg.flags.is_empty()).then_some(msg.flags),
            parent_id: msg.parent_id,
            channel_id: msg.channel.and_then(|channel| channel.id),
            sender: SendAs::Customer,
            customer_id: Some(customer_id.clone()),
            ai: msg.ai.map(|ai| AiRequest { agent_id: ai.agent_id, channel_id: ai.channel_id }),
            ..SendInput::default()
        };
        // Keys are the visitor's own: one visitor's can't meet another's upstream.
        let key = msg.idempotency.map(|idempotency| format!("{customer_id}:{}", idempotency.key));
        let repeat = key.as_deref().map_or(Repeat::Once, Repeat::Keyed);
        let conversation_id = input.conversation_id.clone();
        let asks_ai = input.ai.is_some();
        let sent = self.client.call::<SendMessage>(&input, repeat).await?;
        // A reply may follow soon: the conversation's streams look now, and often.
        self.pollers.nudge(&conversation_id);
        if asks_ai {
            self.pollers.reply_asked(&conversation_id, &sent.id);
        }
        Ok(sent)
    }

    async fn list_messages(&self, req: PageRequest) -> Result<Page<Message>, ApiError> {
        self.check_owner(req.only_customer.as_deref(), &req.conversation_id).await?;
        let input =
            ListMessagesInput { conversation_id: req.conversation_id, limit: Some(req.limit), cursor: req.cursor };
        Ok(self.client.call::<ListMessages>(&input, Repeat::Query).await?)
    }

    async fn hand_off(
        &self,
        _workspace_id: &str,
        conversation_id: &str,
        only_customer: Option<&str>,
    ) -> Result<Conversation, ApiError> {
        self.check_owner(only_customer, conversation_id).await?;
        let input = HandOffInput { conversation_id: conversation_id.to_owned() };
        // Stopping twice stops once.
        Ok(self.client.call::<HandOff>(&input, Repeat::Idempotent).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owners_stay_within_their_bound_and_the_recently_seen_stay() {
        let owners = Owners::new(3);
        for n in 0..3 {
            owners.remember(&format!("cus_{n}"), &format!("conv_{n}"));
        }
        // cus_0 comes back: it is now the most recent, cus_1 the least.
        assert_eq!(owners.get("cus_0").as_deref(), Some("conv_0"));
        for n in 3..10 {
            owners.remember(&format!("cus_{n}"), &format!("conv_{n}"));
            assert!(lock(&owners.0).len() <= 3, "bounded after {n}");
            assert_eq!(owners.get("cus_0").as_deref(), Some("conv_0"), "a visitor seen at every turn stays");
        }
        assert_eq!(owners.get("cus_1"), None, "the least recently seen went first");
        assert_eq!(owners.get("cus_9").as_deref(), Some("conv_9"));
    }
}
