//! Where a stored file's bytes are fetched: its storage key, percent-encoded
//! under the assets prefix. The store writes these paths into messages; the
//! download and the URL signer read the key back out of them.

use connect360_api::ASSETS_PATH_PREFIX;

/// The path of a file's bytes.
pub fn asset_path(key: &str) -> String {
    format!("{ASSETS_PATH_PREFIX}{}", encode_key(key))
}

/// Keeps unreserved characters and the key's `/`; percent-encodes every other byte.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The storage key of a path made by [`asset_path`].
pub fn key_of_path(path: &str) -> Option<String> {
    let encoded = path.strip_prefix(ASSETS_PATH_PREFIX)?;
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail.get(..2)?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ws_1/file_1/Invoice #1 (copy) é.pdf";

    #[test]
    fn paths_round_trip_and_stay_in_one_segment_per_part() {
        let path = asset_path(KEY);
        assert_eq!(path, "/api/v1/connect/assets/ws_1/file_1/Invoice%20%231%20%28copy%29%20%C3%A9.pdf");
        assert_eq!(key_of_path(&path).as_deref(), Some(KEY));
        assert_eq!(key_of_path("/elsewhere/x"), None);
        assert_eq!(key_of_path("/api/v1/connect/assets/a%2"), None);
        assert_eq!(key_of_path("/api/v1/connect/assets/a%ff"), None);
    }
}
