//! How a caller names a customer, and what they may set on one.

use connect360_api::Metadata;

/// By our id, or by theirs (found or created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerKey {
    Id(String),
    ExternalId(String),
}

/// The fields a caller may set on a customer; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerFields {
    /// Set on a customer found by id; a customer found by external id has it.
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub image: Option<String>,
    /// Merged into the stored metadata.
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRef {
    pub key: CustomerKey,
    pub fields: CustomerFields,
}
