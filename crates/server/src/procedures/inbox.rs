//! What the team inbox calls: listConversations, markRead, resumeAi.
//! Members (by session or API key) only; visitor tokens are refused by the
//! procedure table. Read marks are a person's: an API key's unread counts are 0.

use connect360_api::{
    self as api, Conversation, ConversationSummary, ListConversationsInput, MarkReadInput, MarkReadOutput, Page,
    ResumeAiInput,
};

use super::{Ctx, Handle};
use crate::auth::Principal;
use crate::domain::{Credential, Permission};
use crate::error::ApiError;
use crate::store::{ActivityCursor, ConversationsRequest};
use crate::validate;

/// The member whose read marks count: the caller, when signed in.
fn reader(ctx: &Ctx<'_>) -> Result<Option<String>, ApiError> {
    match ctx.principal()? {
        Principal::Member(m) if m.via == Credential::Session => Ok(Some(m.member_id.clone())),
        Principal::Member(_) => Ok(None),
        Principal::Visitor(_) => Err(super::visitor_refused()),
    }
}

/// `nextCursor`: the activity time, last message seq and id of the next
/// page's first conversation.
fn encode_cursor(cursor: ActivityCursor) -> String {
    format!("{}|{}|{}", cursor.last_activity_at, cursor.last_seq, cursor.conversation_id)
}

fn decode_cursor(text: &str) -> Result<ActivityCursor, ApiError> {
    let text = validate::id("cursor", text)?;
    let mut parts = text.splitn(3, '|');
    match (parts.next(), parts.next().map(str::parse::<i64>), parts.next()) {
        (Some(at), Some(Ok(last_seq)), Some(id)) if !at.is_empty() && last_seq >= 0 && !id.is_empty() => {
            Ok(ActivityCursor { last_activity_at: at.to_owned(), last_seq, conversation_id: id.to_owned() })
        }
        _ => Err(ApiError::invalid("cursor", "not a nextCursor of listConversations")),
    }
}

impl Handle for api::ListConversations {
    const PERMISSION: Permission = Permission::Read;

    async fn handle(ctx: &Ctx<'_>, input: ListConversationsInput) -> Result<Page<ConversationSummary>, ApiError> {
        let limit = input.limit.unwrap_or(ListConversationsInput::DEFAULT_LIMIT);
        if !(1..=ListConversationsInput::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                format!("must be between 1 and {}", ListConversationsInput::MAX_LIMIT),
            ));
        }
        let req = ConversationsRequest {
            workspace_id: ctx.actor()?.workspace_id,
            reader: reader(ctx)?,
            limit,
            cursor: input.cursor.as_deref().map(decode_cursor).transpose()?,
        };
        let (items, next) = ctx.store.list_conversations(req).await?;
        Ok(Page { items, next_cursor: next.map(encode_cursor) })
    }
}

impl Handle for api::MarkRead {
    const PERMISSION: Permission = Permission::Read;

    async fn handle(ctx: &Ctx<'_>, input: MarkReadInput) -> Result<MarkReadOutput, ApiError> {
        let actor = ctx.actor()?;
        let conversation_id = validate::id("conversationId", &input.conversation_id)?;
        let message_id = validate::id("messageId", &input.message_id)?;
        let mark = ctx.store.mark_read(&actor.workspace_id, &actor.member_id, &conversation_id, &message_id).await?;
        let unread_count = if reader(ctx)?.is_some() { mark.unread_count } else { 0 };
        Ok(MarkReadOutput { conversation_id, read_up_to: mark.read_up_to, unread_count })
    }
}

impl Handle for api::ResumeAi {
    const PERMISSION: Permission = Permission::Engage;

    async fn handle(ctx: &Ctx<'_>, input: ResumeAiInput) -> Result<Conversation, ApiError> {
        let id = validate::id("conversationId", &input.conversation_id)?;
        Ok(ctx.store.resume_ai(&ctx.actor()?.workspace_id, &id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_a_foreign_one_is_refused() {
        let cursor = ActivityCursor {
            last_activity_at: "2026-12-01T10:00:00.000Z".into(),
            last_seq: 42,
            conversation_id: "conv_1".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor.clone())).unwrap(), cursor);
        assert!(decode_cursor("conv_1").unwrap_err().message.starts_with("cursor: "));
        assert!(decode_cursor("|0|conv_1").is_err());
        assert!(decode_cursor("2026-12-01T10:00:00.000Z|x|conv_1").is_err());
        assert!(decode_cursor("2026-12-01T10:00:00.000Z|-1|conv_1").is_err());
        assert!(decode_cursor("2026-12-01T10:00:00.000Z|conv_1").is_err());
    }
}
