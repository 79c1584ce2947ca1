//! Columns that hold one of a few words. A word read back that is not among
//! them (a row written by something else, a schema that moved on) fails the
//! read with the column's name and the word, instead of passing for a default.
//! They are `text` columns on both backends (`type_name` is PostgreSQL's).

use connect360_api::{ConversationType, SenderType};

use crate::domain::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "UPPERCASE")]
pub(in super::super) enum ConversationKind {
    Direct,
    Group,
}

impl From<ConversationType> for ConversationKind {
    fn from(kind: ConversationType) -> Self {
        match kind {
            ConversationType::Direct => ConversationKind::Direct,
            ConversationType::Group => ConversationKind::Group,
        }
    }
}

impl From<ConversationKind> for ConversationType {
    fn from(kind: ConversationKind) -> Self {
        match kind {
            ConversationKind::Direct => ConversationType::Direct,
            ConversationKind::Group => ConversationType::Group,
        }
    }
}

/// `messages.sender_type`; its words also in JSON (a batch's rows of messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub(in super::super) enum SenderKind {
    Workspace,
    Customer,
    Ai,
}

impl From<SenderKind> for SenderType {
    fn from(kind: SenderKind) -> Self {
        match kind {
            SenderKind::Workspace => SenderType::Workspace,
            SenderKind::Customer => SenderType::Customer,
            SenderKind::Ai => SenderType::Ai,
        }
    }
}

/// `files.uploader_type`: a member ("workspace") or a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub(in super::super) enum UploaderKind {
    Workspace,
    Customer,
}

/// `api_keys.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub(in super::super) enum RoleColumn {
    Read,
    Engage,
    Full,
}

impl From<Role> for RoleColumn {
    fn from(role: Role) -> Self {
        match role {
            Role::Read => RoleColumn::Read,
            Role::Engage => RoleColumn::Engage,
            Role::Full => RoleColumn::Full,
        }
    }
}

impl From<RoleColumn> for Role {
    fn from(role: RoleColumn) -> Self {
        match role {
            RoleColumn::Read => Role::Read,
            RoleColumn::Engage => Role::Engage,
            RoleColumn::Full => Role::Full,
        }
    }
}
