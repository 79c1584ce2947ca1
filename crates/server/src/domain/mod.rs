//! What the store and the HTTP side both speak of: roles and permissions,
//! how a caller names a customer, website host names, agents' settings and
//! files' paths. Nothing here imports another module of the crate, so the
//! store and the handlers import these types without importing each other.

pub mod access;
pub mod agent;
pub mod customer;
pub mod files;
pub mod host;

pub use access::{Allows, Credential, MemberPrincipal, Permission, Role};
pub use agent::{AgentConfig, FaqSettings, OpenAiSettings};
pub use customer::{CustomerFields, CustomerKey, CustomerRef};
pub use host::Domain;

/// The workspace that the server, the demo and the admin commands use unless told otherwise.
pub const DEFAULT_WORKSPACE: &str = "default";

/// A `metadata` object's JSON, at most; the store checks it again once merged.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// A rule broken by one field; its message starts with the field's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct Invalid {
    pub field: String,
    pub rule: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Invalid { field: field.into(), rule: rule.into() }
    }
}
