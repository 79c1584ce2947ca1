//! `v1.connect.claimGuestConversations`: a visitor who chatted as a guest
//! and then signed in keeps their conversations.

use serde::{Deserialize, Serialize};

use crate::{CustomerInput, Metadata};

/// Moves a guest's conversations to a known customer. One of `customerId`
/// and `customer` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimGuestConversationsInput {
    /// Proof of speaking for the guest's browser: the guest's current visitor
    /// token (`vt_…`, kept by the widget in the page's localStorage under
    /// `connect360:<widgetKey>:session`). It is signed by the server and names
    /// the guest, so a guest that was never on this browser cannot be named
    /// by guessing.
    pub fingerprint: String,
    /// When given, must be the external id the token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_external_id: Option<String>,
    /// Only this top-level conversation of the guest (with its
    /// sub-conversations); all of the guest's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_local_conversation_id: Option<String>,
    /// A top-level conversation of the known customer: the claimed
    /// conversations become its sub-conversations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerInput>,
    /// Merged into the metadata of every claimed conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimGuestConversationsOutput {
    /// Conversations (top-level and sub) that now belong to the known customer.
    pub claimed: u32,
    /// Of those, the ones moved under `targetParentId`.
    pub reparented: u32,
}
