//! Identifiers: a prefix naming the kind, then a time-ordered UUID.

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A random secret of 32 bytes, hex, with a prefix (API keys, widget keys).
pub fn new_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}_{}", hex::encode(bytes))
}
