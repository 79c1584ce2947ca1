//! Columns that hold one of a few words. A word read back that is not among
//! them (a row written by something else, a schema that moved on) fails the
//! read with the column's name and the word, instead of passing for a default.

use connect360_api::{ConversationType, SenderType};

use crate::domain::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "UPPERCASE")]
pub(super) enum ConversationKind {
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

/// `messages.sender_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub(super) enum SenderKind {
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
#[sqlx(rename_all = "lowercase")]
pub(super) enum UploaderKind {
    Workspace,
    Customer,
}

/// `api_keys.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub(super) enum RoleColumn {
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

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use super::*;

    #[tokio::test]
    async fn a_word_not_among_a_column_s_fails_loudly() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let kind: ConversationKind = sqlx::query_scalar("SELECT 'GROUP'").fetch_one(&mut conn).await.unwrap();
        assert_eq!(kind, ConversationKind::Group);
        let sender: SenderKind = sqlx::query_scalar("SELECT 'ai'").fetch_one(&mut conn).await.unwrap();
        assert_eq!(SenderType::from(sender), SenderType::Ai);
        let err = sqlx::query_scalar::<_, ConversationKind>("SELECT 'CHANNEL'").fetch_one(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("invalid value \"CHANNEL\" for enum ConversationKind"), "{err}");
        let err = sqlx::query_scalar::<_, SenderKind>("SELECT 'bot'").fetch_one(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("\"bot\""), "{err}");
        let err = sqlx::query_scalar::<_, UploaderKind>("SELECT 'ai'").fetch_one(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("\"ai\""), "{err}");
        let err = sqlx::query_scalar::<_, RoleColumn>("SELECT 'admin'").fetch_one(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("\"admin\""), "{err}");
    }
}
