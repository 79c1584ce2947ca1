//! getOrCreateConversation, createSubConversation, updateConversation,
//! deleteConversation, handOff.

use connect360_api::{
    self as api, Conversation, CreateSubConversationInput, DeleteConversationInput, DeleteConversationOutput,
    GetOrCreateConversationInput, HandOffInput, Metadata, Patch, UpdateConversationInput,
};

use super::{Ctx, Handle};
use crate::domain::Domain;
use crate::domain::Permission;
use crate::error::ApiError;
use crate::hub::ReplyEvent;
use crate::store::{ChannelRefs, ConversationUpdate, NewConversation, NewSubConversation};
use crate::validate::{self, MAX_NAME};

const MAX_MEMBERS: usize = 50;
const MAX_CHANNELS: usize = 20;

pub(super) fn channel_refs(ids: Option<&[String]>, identifier: Option<&str>) -> Result<ChannelRefs, ApiError> {
    Ok(ChannelRefs {
        ids: validate::id_list("channelIds", ids.unwrap_or_default(), MAX_CHANNELS)?,
        website: identifier.map(|d| Domain::parse("channelIdentifier", d)).transpose()?,
    })
}

fn metadata(value: Option<Metadata>) -> Result<Metadata, ApiError> {
    let value = value.unwrap_or_default();
    validate::metadata("metadata", &value)?;
    Ok(value)
}

impl Handle for api::GetOrCreateConversation {
    const PERMISSION: Permission = Permission::Engage;

    async fn handle(ctx: &Ctx<'_>, input: GetOrCreateConversationInput) -> Result<Conversation, ApiError> {
        let actor = ctx.actor()?;
        let customer = validate::customer(input.customer_id.as_deref(), input.customer.as_ref())?;
        if customer.is_none() && input.member_ids.is_none() {
            return Err(ApiError::invalid("customerId", "one of customerId, customer or memberIds is required"));
        }
        let req = NewConversation {
            name: validate::optional_text("name", input.name.as_deref(), MAX_NAME)?,
            kind: input.kind.unwrap_or_default(),
            customer,
            member_ids: validate::id_list("memberIds", input.member_ids.as_deref().unwrap_or_default(), MAX_MEMBERS)?,
            channels: channel_refs(input.channel_ids.as_deref(), input.channel_identifier.as_deref())?,
            metadata: metadata(input.metadata)?,
            actor,
        };
        Ok(ctx.store.get_or_create_conversation(req).await?)
    }
}

impl Handle for api::CreateSubConversation {
    const PERMISSION: Permission = Permission::Engage;

    async fn handle(ctx: &Ctx<'_>, input: CreateSubConversationInput) -> Result<Conversation, ApiError> {
        let given_channels = input.channel_ids.is_some() || input.channel_identifier.is_some();
        let req = NewSubConversation {
            actor: ctx.actor()?,
            parent_id: validate::id("parentId", &input.parent_id)?,
            name: validate::optional_text("name", input.name.as_deref(), MAX_NAME)?,
            channels: given_channels
                .then(|| channel_refs(input.channel_ids.as_deref(), input.channel_identifier.as_deref()))
                .transpose()?,
            metadata: metadata(input.metadata)?,
        };
        Ok(ctx.store.create_sub_conversation(req).await?)
    }
}

impl Handle for api::UpdateConversation {
    const PERMISSION: Permission = Permission::Engage;

    async fn handle(ctx: &Ctx<'_>, input: UpdateConversationInput) -> Result<Conversation, ApiError> {
        let name = match input.name {
            Patch::Set(name) => Patch::Set(validate::text("name", &name, MAX_NAME)?),
            other => other,
        };
        let parent_id = match input.parent_id {
            Patch::Set(id) => Patch::Set(validate::id("parentId", &id)?),
            other => other,
        };
        if let Some(m) = &input.metadata {
            validate::metadata("metadata", m)?;
        }
        let req = ConversationUpdate {
            workspace_id: ctx.actor()?.workspace_id,
            id: validate::id("id", &input.id)?,
            name,
            metadata: input.metadata,
            parent_id,
        };
        Ok(ctx.store.update_conversation(req).await?)
    }
}

impl Handle for api::DeleteConversation {
    const PERMISSION: Permission = Permission::Delete;

    async fn handle(ctx: &Ctx<'_>, input: DeleteConversationInput) -> Result<DeleteConversationOutput, ApiError> {
        let id = validate::id("id", &input.id)?;
        Ok(ctx.store.delete_conversation(&ctx.actor()?.workspace_id, &id).await?)
    }
}

impl Handle for api::HandOff {
    const PERMISSION: Permission = Permission::Engage;
    /// The visitor's "Talk to a person", for their own conversation.
    const VISITORS: bool = true;

    async fn handle(ctx: &Ctx<'_>, input: HandOffInput) -> Result<Conversation, ApiError> {
        let principal = ctx.principal()?;
        let id = validate::id("conversationId", &input.conversation_id)?;
        let conversation = ctx.backend.hand_off(principal.workspace_id(), &id, principal.only_customer()).await?;
        // A reply being written is dropped: its watchers stop waiting for it.
        ctx.ai.replies.publish(&id, ReplyEvent::Stopped);
        Ok(conversation)
    }
}
