//! Identifiers: a prefix naming the kind, then a time-ordered UUID.

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// `bytes` random bytes, hex, with a prefix: API keys (32), public widget keys (16).
pub fn new_secret(prefix: &str, bytes: usize) -> String {
    let random: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    format!("{prefix}_{}", hex::encode(random))
}
