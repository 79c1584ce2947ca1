//! Roles (the API's [`Role`], one type on both ends of the wire) and what
//! they permit.

pub use connect360_api::Role;

/// What a role allows (the reference's `connect360:conversation:*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Engage,
    Delete,
}

/// The permissions of a role. A trait because [`Role`] is the api crate's.
pub trait Allows {
    fn allows(self, permission: Permission) -> bool;
}

impl Allows for Role {
    fn allows(self, permission: Permission) -> bool {
        match self {
            Role::Read => permission == Permission::Read,
            Role::Engage => permission != Permission::Delete,
            Role::Full => true,
        }
    }
}

/// How a member proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A trusted backend's `Authorization: Bearer` key.
    ApiKey,
    /// The inbox's session cookie: state-changing requests must come from
    /// the server's own origin, and read marks are the member's own.
    Session,
}

/// A workspace member acting through an API key or their session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPrincipal {
    pub workspace_id: String,
    pub member_id: String,
    pub role: Role,
    pub via: Credential,
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
