//! Where a feed reads the messages its caller missed: this server's store,
//! or (upstream mode) the conversation's poller (`upstream::poller`). The
//! feed is one copy either way; only this seam differs.

use std::sync::Arc;

use async_trait::async_trait;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::hub::{StoredMessage, Topic};
use crate::store::{MessageCursor, Store};

/// A topic's messages in the order its hub events carry (their `seq`).
#[async_trait]
pub trait MessageLog: Send + Sync + 'static {
    /// Where a reader starts: at the message `after` names (`(field, id)`,
    /// refused as `field` when it is not one of the topic's), else at the newest.
    async fn cursor(
        &self,
        workspace_id: &str,
        topic: &Topic,
        only_customer: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> Result<MessageCursor, ApiError>;
    /// The first `limit` messages after the cursor, in order.
    async fn after(&self, cursor: &MessageCursor, limit: u32) -> Result<Vec<StoredMessage>, ApiError>;
}

/// The logs of the conversations' event streams, one per stream.
#[async_trait]
pub trait ConversationLogs: Send + Sync + 'static {
    /// The conversation's log for the caller; held as long as their stream is open.
    async fn open(&self, principal: &Principal, conversation_id: &str) -> Result<Arc<dyn MessageLog>, ApiError>;
}

/// The store's messages (its `message_cursor` checks who may read them).
#[derive(Clone)]
pub struct StoreLog(pub Arc<dyn Store>);

#[async_trait]
impl MessageLog for StoreLog {
    async fn cursor(
        &self,
        workspace_id: &str,
        topic: &Topic,
        only_customer: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> Result<MessageCursor, ApiError> {
        Ok(self.0.message_cursor(workspace_id, topic, only_customer, after).await?)
    }

    async fn after(&self, cursor: &MessageCursor, limit: u32) -> Result<Vec<StoredMessage>, ApiError> {
        Ok(self.0.messages_after(cursor, limit).await?)
    }
}

#[async_trait]
impl ConversationLogs for StoreLog {
    async fn open(&self, _principal: &Principal, _conversation_id: &str) -> Result<Arc<dyn MessageLog>, ApiError> {
        Ok(Arc::new(self.clone()))
    }
}
