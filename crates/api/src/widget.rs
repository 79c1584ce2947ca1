//! Visitor sessions: how the widget gets a scoped token instead of an API key.
//!
//! `POST /api/v1/connect/widget/session` (plain JSON, not tRPC) takes a
//! [`WidgetSessionInput`] and answers a [`WidgetSession`], or an
//! [`crate::ErrorEnvelope`] with the matching HTTP status.

use serde::{Deserialize, Serialize};

use crate::Conversation;

pub const WIDGET_SESSION_PATH: &str = "/api/v1/connect/widget/session";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WidgetSessionInput {
    /// The public key of the site's widget (`wk_…`).
    pub widget_key: String,
    /// The visitor's persistent id; a guest id kept by the widget, or the
    /// site's own user id (then with `userHash` when the widget has an
    /// identity secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Hex HMAC-SHA256(identity secret, externalId), computed by the site's backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_hash: Option<String>,
    /// A token from an earlier session; resumes its customer while valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The token of this browser's guest session, sent along with a known
    /// `externalId` and its `userHash`: the guest's conversations become the
    /// known customer's (nothing is merged without a valid `userHash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetSession {
    /// Sent as `Authorization: Bearer <token>` on every tRPC call.
    pub token: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    pub customer: SessionCustomer,
    /// The visitor's top-level conversation on this site.
    pub conversation: Conversation,
    /// The host domain the token is bound to; `channelIdentifier` of every send.
    pub channel_identifier: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCustomer {
    pub id: String,
    pub external_id: String,
    pub name: Option<String>,
}
