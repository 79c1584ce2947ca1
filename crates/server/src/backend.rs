//! Where conversations and messages live: this server's own store, or the
//! hosted API this server forwards to in upstream mode (the `upstream` module).
//!
//! The visitor routes (the widget session, `send`, `listMessages`, `handOff`) call
//! through [`Backend`], after their scope checks, so each handler exists
//! once whichever side holds the data.

use std::sync::Arc;

use async_trait::async_trait;
use connect360_api::{Conversation, ConversationType, Message, Page, SessionCustomer};

use crate::domain::{CustomerFields, CustomerRef, Domain};
use crate::error::ApiError;
use crate::store::{Actor, ChannelRefs, GuestClaim, NewConversation, NewMessage, PageRequest, Store, Widget};

/// A visitor arriving on a widget's site.
#[derive(Debug, Clone)]
pub struct VisitorArrival {
    pub widget: Widget,
    /// Who they are, with the name and email the page gave.
    pub customer: CustomerRef,
    /// Their external id when `customer` names them by id (a resumed token).
    pub known_external_id: Option<String>,
    /// The guest customer whose conversations become theirs (see `session`).
    pub merges_guest: Option<String>,
    /// The site's host, the conversation's website channel.
    pub site: Domain,
}

/// The visitor's customer and conversation, and the conversation's channel of their site.
#[derive(Debug, Clone)]
pub struct VisitorConversation {
    pub conversation: Conversation,
    pub customer: SessionCustomer,
    pub channel_id: String,
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The visitor's customer (made if new) and their top-level conversation on the site.
    async fn open_visitor(&self, arrival: VisitorArrival) -> Result<VisitorConversation, ApiError>;
    /// Stores a checked message; a visitor's (`only_customer`) only in their own conversation.
    async fn send(&self, msg: NewMessage) -> Result<Message, ApiError>;
    /// A page of a conversation's messages; a visitor's only of their own.
    async fn list_messages(&self, req: PageRequest) -> Result<Page<Message>, ApiError>;
    /// Stops AI replies: a person takes over; a visitor's only in their own conversation.
    async fn hand_off(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        only_customer: Option<&str>,
    ) -> Result<Conversation, ApiError>;
}

/// The data in this server's store.
pub struct LocalBackend(pub Arc<dyn Store>);

#[async_trait]
impl Backend for LocalBackend {
    async fn open_visitor(&self, arrival: VisitorArrival) -> Result<VisitorConversation, ApiError> {
        let store = &self.0;
        let VisitorArrival { widget, customer, merges_guest, site, .. } = arrival;
        if let Some(guest) = merges_guest {
            // Idempotent: a retry after a failure below finds nothing left to move.
            let outcome = store
                .claim_guest_conversations(GuestClaim {
                    workspace_id: widget.workspace_id.clone(),
                    guest_customer_id: guest,
                    conversation_id: None,
                    customer: CustomerRef { key: customer.key.clone(), fields: CustomerFields::default() },
                    target_parent_id: None,
                    metadata: Default::default(),
                })
                .await?;
            tracing::info!(customer = %outcome.customer_id, claimed = outcome.claimed, "guest conversations claimed at sign-in");
        }
        let host = site.as_str().to_owned();
        let conversation = store
            .get_or_create_conversation(NewConversation {
                actor: Actor { workspace_id: widget.workspace_id.clone(), member_id: widget.default_member_id.clone() },
                name: None,
                kind: ConversationType::Direct,
                customer: Some(customer),
                member_ids: Vec::new(),
                channels: ChannelRefs { ids: Vec::new(), website: Some(site) },
                metadata: Default::default(),
            })
            .await?;
        let customer_id = conversation
            .customer_id
            .clone()
            .ok_or_else(|| ApiError::internal("visitor conversation without a customer"))?;
        let customer = store
            .customer(&widget.workspace_id, &customer_id)
            .await?
            .ok_or_else(|| ApiError::internal("visitor customer vanished"))?;
        let external_id = customer
            .external_id
            .clone()
            .ok_or_else(|| ApiError::internal("visitor customer without an external id"))?;
        let channel_id = website_channel(&conversation, &host)?;
        Ok(VisitorConversation {
            conversation,
            customer: SessionCustomer { id: customer.id, external_id, name: customer.name },
            channel_id,
        })
    }

    async fn send(&self, msg: NewMessage) -> Result<Message, ApiError> {
        Ok(self.0.send(msg).await?)
    }

    async fn list_messages(&self, req: PageRequest) -> Result<Page<Message>, ApiError> {
        Ok(self.0.list_messages(req).await?)
    }

    async fn hand_off(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        only_customer: Option<&str>,
    ) -> Result<Conversation, ApiError> {
        Ok(self.0.hand_off(workspace_id, conversation_id, only_customer).await?)
    }
}

/// The id of the conversation's channel for the site `host`.
pub fn website_channel(conversation: &Conversation, host: &str) -> Result<String, ApiError> {
    conversation
        .channels
        .iter()
        .find(|c| c.identifier == host)
        .map(|c| c.id.clone())
        .ok_or_else(|| ApiError::internal("visitor conversation without its website channel"))
}
