//! API keys' roles and what they permit.

/// What an API key's role allows (the reference's `connect360:conversation:*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Engage,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Read conversations and messages.
    Read,
    /// Read, create conversations, send, upload, trigger AI.
    Engage,
    /// Everything, deleting conversations too.
    Full,
}

impl Role {
    pub fn allows(self, permission: Permission) -> bool {
        match self {
            Role::Read => permission == Permission::Read,
            Role::Engage => permission != Permission::Delete,
            Role::Full => true,
        }
    }
}

/// A workspace member acting through an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPrincipal {
    pub workspace_id: String,
    pub member_id: String,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_nested_permissions() {
        assert!(Role::Read.allows(Permission::Read));
        assert!(!Role::Read.allows(Permission::Engage));
        assert!(Role::Engage.allows(Permission::Engage));
        assert!(!Role::Engage.allows(Permission::Delete));
        assert!(Role::Full.allows(Permission::Delete));
    }
}
