//! Conversations: top-level threads with a customer, and their sub-conversations.

use serde::{Deserialize, Serialize};

use crate::{Channel, CustomerInput, Metadata, Patch};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConversationType {
    #[default]
    Direct,
    Group,
}

/// The input of `v1.connect.getOrCreateConversation`. At least one of
/// `customerId`, `customer` and `memberIds` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetOrCreateConversationInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ConversationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// The input of `v1.connect.createSubConversation`: a child thread under a
/// top-level conversation, sharing its customer and members.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSubConversationInput {
    pub parent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The parent's channels when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// The input of `v1.connect.updateConversation`. `metadata` is merged into the
/// stored metadata; a key set to `null` is removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateConversationInput {
    pub id: String,
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub name: Patch<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Moves the conversation under a top-level one, or (null) to the top level.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub parent_id: Patch<String>,
}

/// The input of `v1.connect.deleteConversation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteConversationInput {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteConversationOutput {
    pub id: String,
    /// Sub-conversations deleted with it.
    pub deleted_sub_conversations: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: ConversationType,
    pub parent_id: Option<String>,
    pub customer_id: Option<String>,
    pub member_ids: Vec<String>,
    pub channels: Vec<Channel>,
    pub metadata: Metadata,
    /// When AI replies were stopped for the conversation (RFC 3339, UTC):
    /// from then on a person answers and `send`'s `ai` asks nobody.
    #[serde(default)]
    pub ai_stopped_at: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
}

/// The input of `v1.connect.handOff`: the visitor (or a team member) asks
/// for a person. AI replies stop for the conversation, a reply being written
/// is dropped, and later `ai` requests are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandOffInput {
    pub conversation_id: String,
}
