//! Every address the widget calls, joined in one place: the API base the
//! loader passes (the script's origin, maybe with a trailing `/`) and a path.

use connect360_api::{ATTACHMENTS_PATH, WIDGET_SESSION_PATH};

/// `api_base` and `path` (which starts with `/`) with one `/` between them.
pub fn join(api_base: &str, path: &str) -> String {
    let mut url = api_base.trim_end_matches('/').to_owned();
    url.push_str(path);
    url
}

/// `{apiBase}/api/trpc/<procedure>`.
pub fn trpc(api_base: &str, procedure: &str) -> String {
    join(api_base, &format!("/api/trpc/{procedure}"))
}

pub fn session(api_base: &str) -> String {
    join(api_base, WIDGET_SESSION_PATH)
}

pub fn attachments(api_base: &str) -> String {
    join(api_base, ATTACHMENTS_PATH)
}

/// The `Authorization` header's value for a visitor token.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_is_joined_with_one_slash() {
        for base in ["https://chat.example.com", "https://chat.example.com/", "https://chat.example.com//"] {
            assert_eq!(trpc(base, "v1.connect.send"), "https://chat.example.com/api/trpc/v1.connect.send");
            assert_eq!(session(base), "https://chat.example.com/api/v1/connect/widget/session");
            // Issue: the stream's address was the one not trimmed.
            assert_eq!(join(base, connect360_api::EVENTS_PATH), "https://chat.example.com/api/v1/connect/events");
            assert_eq!(attachments(base), "https://chat.example.com/api/v1/connect/attachments");
        }
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer("t.k"), "Bearer t.k");
    }
}
