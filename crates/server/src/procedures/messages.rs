//! send and listMessages.

use connect360_api::{self as api, Content, ListMessagesInput, Message, Page, SendAs, SendInput};
use sha2::{Digest, Sha256};

use super::{Ctx, Handle};
use crate::auth::Permission;
use crate::error::ApiError;
use crate::store::{Author, ChannelRef, Idempotency, NewAiRequest, NewMessage, PageRequest};
use crate::validate::{self, Domain, MAX_ATTACHMENTS};
use crate::template;

pub const MAX_IDEMPOTENCY_KEY: usize = 255;

fn idempotency(key: Option<&str>, input: &SendInput) -> Result<Option<Idempotency>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    let valid = !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            format!("1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
        ));
    }
    let request = serde_json::to_vec(input).map_err(ApiError::internal)?;
    Ok(Some(Idempotency { key: key.to_owned(), request_hash: Sha256::digest(request).into() }))
}

/// The message's body: its own content, a rendered template, or only attachments.
async fn body(ctx: &Ctx<'_>, workspace_id: &str, input: &SendInput, has_attachments: bool) -> Result<(Content, Option<String>), ApiError> {
    let content = input.content.clone().filter(|c| !c.is_empty());
    if input.template_context.is_some() && input.template_id.is_none() {
        return Err(ApiError::invalid("templateContext", "only with templateId"));
    }
    match (content, &input.template_id) {
        (Some(_), Some(_)) => Err(ApiError::invalid("templateId", "give content or templateId, not both")),
        (Some(content), None) => {
            validate::content("content", &content)?;
            Ok((content, None))
        }
        (None, Some(template_id)) => {
            let template_id = validate::id("templateId", template_id)?;
            let template = ctx
                .store
                .template(workspace_id, &template_id)
                .await?
                .ok_or_else(|| ApiError::invalid("templateId", "unknown template"))?;
            let content = template::render(&template.content, input.template_context.as_ref())?;
            validate::content("content", &content)?;
            Ok((content, Some(template_id)))
        }
        (None, None) if has_attachments => Ok((Content::new(), None)),
        (None, None) => Err(ApiError::invalid("content", "one of content, attachmentIds or templateId is required")),
    }
}

impl Handle for api::SendMessage {
    const PERMISSION: Permission = Permission::Engage;

    async fn handle(ctx: &Ctx<'_>, input: SendInput) -> Result<Message, ApiError> {
        let actor = ctx.actor()?;
        let idempotency = idempotency(ctx.idempotency_key.as_deref(), &input)?;
        let conversation_id = validate::id("conversationId", &input.conversation_id)?;
        let author = match input.sender {
            SendAs::Workspace => {
                if input.customer_id.is_some() || input.customer.is_some() {
                    return Err(ApiError::invalid("customer", "only with sender \"customer\""));
                }
                Author::Member(actor.member_id.clone())
            }
            SendAs::Customer => Author::Customer(
                validate::customer(input.customer_id.as_deref(), input.customer.as_ref())?.ok_or_else(|| {
                    ApiError::invalid("customer", "sender \"customer\" needs customerId, customer.id or customer.externalId")
                })?,
            ),
        };
        let attachment_ids =
            validate::id_list("attachmentIds", input.attachment_ids.as_deref().unwrap_or_default(), MAX_ATTACHMENTS)?;
        let (content, template_id) = body(ctx, &actor.workspace_id, &input, !attachment_ids.is_empty()).await?;
        let channel = match (&input.channel_id, &input.channel_identifier) {
            (None, None) => None,
            (id, identifier) => Some(ChannelRef {
                id: id.as_deref().map(|id| validate::id("channelId", id)).transpose()?,
                website: identifier.as_deref().map(|d| Domain::parse("channelIdentifier", d)).transpose()?,
            }),
        };
        let ai = input
            .ai
            .as_ref()
            .map(|ai| {
                Ok::<_, ApiError>(NewAiRequest {
                    agent_id: validate::id("ai.agentId", &ai.agent_id)?,
                    channel_id: ai.channel_id.as_deref().map(|c| validate::id("ai.channelId", c)).transpose()?,
                })
            })
            .transpose()?;
        let msg = NewMessage {
            workspace_id: actor.workspace_id,
            conversation_id,
            author,
            content,
            attachment_ids,
            flags: validate::flags("flags", input.flags.as_deref().unwrap_or_default())?,
            parent_id: input.parent_id.as_deref().map(|p| validate::id("parentId", p)).transpose()?,
            template_id,
            channel,
            ai,
            idempotency,
        };
        Ok(ctx.store.send(msg).await?)
    }
}

impl Handle for api::ListMessages {
    const PERMISSION: Permission = Permission::Read;

    async fn handle(ctx: &Ctx<'_>, input: ListMessagesInput) -> Result<Page<Message>, ApiError> {
        let limit = input.limit.unwrap_or(ListMessagesInput::DEFAULT_LIMIT);
        if !(1..=ListMessagesInput::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", format!("must be between 1 and {}", ListMessagesInput::MAX_LIMIT)));
        }
        let req = PageRequest {
            workspace_id: ctx.actor()?.workspace_id,
            conversation_id: validate::id("conversationId", &input.conversation_id)?,
            limit,
            cursor: input.cursor.as_deref().map(|c| validate::id("cursor", c)).transpose()?,
        };
        Ok(ctx.store.list_messages(req).await?)
    }
}
