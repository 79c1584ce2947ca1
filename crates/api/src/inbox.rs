//! What the team inbox adds to the API: members signing in with a session
//! cookie, the workspace's conversations with unread counts, read marks, and
//! turning AI replies back on after a hand-off.
//!
//! - `POST /api/v1/connect/inbox/session` takes a [`SignInInput`] and answers
//!   a [`MemberSession`] with a `Set-Cookie` (HttpOnly, SameSite=Lax, Path=/,
//!   Secure over https); `GET` answers the signed-in [`MemberSession`] (401
//!   without one); `DELETE` signs out. A wrong email or password is one
//!   `UNAUTHORIZED` error, whichever was wrong.
//! - The cookie authenticates every call an API key can make, with the
//!   member's role, in the member's workspace only. A state-changing request
//!   with the cookie must come from the server's own origin (`Origin`), else
//!   `FORBIDDEN`.
//! - `GET /api/v1/connect/inbox/events`: the workspace's event stream for a
//!   signed-in member: a `message` event (a `listMessages` item, whose
//!   `conversationId` says where it belongs) for every message stored in any
//!   conversation of the workspace, `id:` and `Last-Event-ID` as in
//!   [`crate::events`].

use serde::{Deserialize, Serialize};

use crate::{Channel, Message, Metadata};

pub const INBOX_SESSION_PATH: &str = "/api/v1/connect/inbox/session";
pub const INBOX_EVENTS_PATH: &str = "/api/v1/connect/inbox/events";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInInput {
    pub email: String,
    pub password: String,
    /// The workspace's slug; the default workspace when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

/// What a member (or an API key) may do in its workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read conversations and messages.
    Read,
    /// Read, create conversations, send, upload, trigger AI.
    Engage,
    /// Everything, deleting conversations too.
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberSession {
    pub member: MemberProfile,
    pub workspace: WorkspaceProfile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberProfile {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceProfile {
    pub slug: String,
    pub name: String,
}

/// The input of `v1.connect.listConversations`: the workspace's top-level
/// conversations, newest activity first. Its answer is a
/// [`crate::Page`]`<`[`ConversationSummary`]`>` whose `nextCursor` leads to
/// conversations with older activity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListConversationsInput {
    /// 1 to 100; 50 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// A page's `nextCursor`; absent for the newest page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl ListConversationsInput {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 100;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    pub id: String,
    pub name: Option<String>,
    pub customer: Option<CustomerProfile>,
    /// The channel of its newest message, else its first channel.
    pub channel: Option<Channel>,
    pub metadata: Metadata,
    pub last_message: Option<Message>,
    /// Customer messages after the caller's read mark (all of them for a
    /// caller that never read it; 0 for an API key).
    pub unread_count: u32,
    /// RFC 3339, UTC: when AI replies were stopped, if they are.
    pub ai_stopped_at: Option<String>,
    /// RFC 3339, UTC: its newest message's time, else its creation.
    pub last_activity_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerProfile {
    pub id: String,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub metadata: Metadata,
}

/// The input of `v1.connect.markRead`: the caller has read the conversation
/// up to and including `messageId`. A mark never moves back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkReadInput {
    pub conversation_id: String,
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkReadOutput {
    pub conversation_id: String,
    /// The caller's read mark after the call.
    pub read_up_to: String,
    pub unread_count: u32,
}

/// The input of `v1.connect.resumeAi`: AI replies are turned back on after a
/// hand-off (`aiStoppedAt` becomes null); answers the [`crate::Conversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResumeAiInput {
    pub conversation_id: String,
}
