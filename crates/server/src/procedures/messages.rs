//! send and listMessages.

use connect360_api::{self as api, Content, ListMessagesInput, Message, Page, SendAs, SendInput};
use sha2::{Digest, Sha256};

use super::{Ctx, Handle};
use crate::auth::Principal;
use crate::domain::{CustomerKey, Domain};
use crate::domain::{MemberPrincipal, Permission};
use crate::error::ApiError;
use crate::store::{Author, ChannelRef, Idempotency, NewAiRequest, NewMessage, PageRequest};
use crate::template;
use crate::validate::{self, MAX_ATTACHMENTS};
use crate::visitor_token::VisitorClaims;

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
async fn body(
    ctx: &Ctx<'_>,
    workspace_id: &str,
    input: &SendInput,
    has_attachments: bool,
) -> Result<(Content, Option<String>), ApiError> {
    let content = input.content.clone().filter(|c| !c.is_empty());
    if input.template_context.is_some() && input.template_id.is_none() {
        return Err(ApiError::invalid("templateContext", "only with templateId"));
    }
    if let Some(context) = &input.template_context {
        validate::json_size("templateContext", context, validate::MAX_TEMPLATE_CONTEXT_BYTES)?;
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

/// Who writes, where, and what a visitor is held to.
struct Scope {
    workspace_id: String,
    author: Author,
    channel: Option<ChannelRef>,
    only_customer: Option<String>,
}

fn channel_ref(input: &SendInput) -> Result<Option<ChannelRef>, ApiError> {
    if input.channel_id.is_none() && input.channel_identifier.is_none() {
        return Ok(None);
    }
    Ok(Some(ChannelRef {
        id: input.channel_id.as_deref().map(|id| validate::id("channelId", id)).transpose()?,
        website: input.channel_identifier.as_deref().map(|d| Domain::parse("channelIdentifier", d)).transpose()?,
    }))
}

fn member_scope(m: &MemberPrincipal, input: &SendInput) -> Result<Scope, ApiError> {
    let author = match input.sender {
        SendAs::Workspace => {
            if input.customer_id.is_some() || input.customer.is_some() {
                return Err(ApiError::invalid("customer", "only with sender \"customer\""));
            }
            Author::Member(m.member_id.clone())
        }
        SendAs::Customer => Author::Customer(
            validate::customer(input.customer_id.as_deref(), input.customer.as_ref())?.ok_or_else(|| {
                ApiError::invalid(
                    "customer",
                    "sender \"customer\" needs customerId, customer.id or customer.externalId",
                )
            })?,
        ),
    };
    Ok(Scope { workspace_id: m.workspace_id.clone(), author, channel: channel_ref(input)?, only_customer: None })
}

/// A visitor sends as their own customer, through their own site, into their own conversation.
fn visitor_scope(v: &VisitorClaims, input: &SendInput) -> Result<Scope, ApiError> {
    if input.sender != SendAs::Customer {
        return Err(ApiError::forbidden("sender: a visitor sends as \"customer\""));
    }
    if input.template_id.is_some() {
        return Err(ApiError::forbidden("templateId: not for visitor tokens"));
    }
    let mut customer = validate::customer(input.customer_id.as_deref(), input.customer.as_ref())?.ok_or_else(|| {
        ApiError::invalid("customer", "sender \"customer\" needs customerId, customer.id or customer.externalId")
    })?;
    let same = match &customer.key {
        CustomerKey::Id(id) => *id == v.customer_id,
        CustomerKey::ExternalId(external) => *external == v.external_id,
    };
    let same_external = customer.fields.external_id.as_ref().is_none_or(|e| *e == v.external_id);
    if !same || !same_external {
        return Err(ApiError::forbidden("customer: not the visitor this token was issued to"));
    }
    customer.key = CustomerKey::Id(v.customer_id.clone());
    customer.fields.external_id = None;
    let channel = channel_ref(input)?;
    if let Some(channel) = &channel {
        let other_site = channel.website.as_ref().is_some_and(|d| d.as_str() != v.domain)
            || channel.id.as_ref().is_some_and(|id| *id != v.channel_id);
        if other_site {
            return Err(ApiError::forbidden(format!("channelIdentifier: this token sends only for {}", v.domain)));
        }
    }
    Ok(Scope {
        workspace_id: v.workspace_id.clone(),
        author: Author::Customer(customer),
        channel: Some(ChannelRef { id: Some(v.channel_id.clone()), website: None }),
        only_customer: Some(v.customer_id.clone()),
    })
}

impl Handle for api::SendMessage {
    const PERMISSION: Permission = Permission::Engage;
    const VISITORS: bool = true;

    async fn handle(ctx: &Ctx<'_>, input: SendInput) -> Result<Message, ApiError> {
        let scope = match ctx.principal()? {
            Principal::Member(m) => member_scope(m, &input)?,
            Principal::Visitor(v) => visitor_scope(v, &input)?,
        };
        let idempotency = idempotency(ctx.idempotency_key.as_deref(), &input)?;
        let conversation_id = validate::id("conversationId", &input.conversation_id)?;
        let attachment_ids =
            validate::id_list("attachmentIds", input.attachment_ids.as_deref().unwrap_or_default(), MAX_ATTACHMENTS)?;
        let (content, template_id) = body(ctx, &scope.workspace_id, &input, !attachment_ids.is_empty()).await?;
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
            workspace_id: scope.workspace_id,
            conversation_id,
            author: scope.author,
            content,
            attachment_ids,
            flags: validate::flags("flags", input.flags.as_deref().unwrap_or_default())?,
            parent_id: input.parent_id.as_deref().map(|p| validate::id("parentId", p)).transpose()?,
            template_id,
            channel: scope.channel,
            ai,
            idempotency,
            only_customer: scope.only_customer,
        };
        if let Some(customer_id) = &msg.only_customer {
            ctx.limits.send(customer_id)?;
        }
        let asks_ai = msg.ai.is_some();
        let mut message = ctx.backend.send(msg).await?;
        if asks_ai {
            ctx.ai.wake();
        }
        sign_attachments(ctx, std::slice::from_mut(&mut message))?;
        Ok(message)
    }
}

/// See [`crate::attachments::url::UrlSigner::sign_messages`].
fn sign_attachments(ctx: &Ctx<'_>, messages: &mut [Message]) -> Result<(), ApiError> {
    ctx.urls.sign_messages(ctx.principal()?, messages);
    Ok(())
}

impl Handle for api::ListMessages {
    const PERMISSION: Permission = Permission::Read;
    const VISITORS: bool = true;

    async fn handle(ctx: &Ctx<'_>, input: ListMessagesInput) -> Result<Page<Message>, ApiError> {
        let limit = input.limit.unwrap_or(ListMessagesInput::DEFAULT_LIMIT);
        if !(1..=ListMessagesInput::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", format!("must be between 1 and {}", ListMessagesInput::MAX_LIMIT)));
        }
        let principal = ctx.principal()?;
        let req = PageRequest {
            workspace_id: principal.workspace_id().to_owned(),
            only_customer: principal.only_customer().map(str::to_owned),
            conversation_id: validate::id("conversationId", &input.conversation_id)?,
            limit,
            cursor: input.cursor.as_deref().map(|c| validate::id("cursor", c)).transpose()?,
        };
        let mut page = ctx.backend.list_messages(req).await?;
        sign_attachments(ctx, &mut page.items)?;
        Ok(page)
    }
}
