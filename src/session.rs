//! The visitor's identity and session: what is kept in the host page's
//! localStorage and what the session endpoint is asked.

use connect360_api::{WidgetSession, WidgetSessionInput};
use serde::{Deserialize, Serialize};

/// The localStorage key of `name` for this widget: `connect360:<widgetKey>:<name>`.
pub fn storage_key(widget_key: &str, name: &str) -> String {
    format!("connect360:{widget_key}:{name}")
}

/// The guest's external id, made once.
pub const GUEST_ID_KEY: &str = "externalId";
/// The last session's [`StoredSession`], as JSON.
pub const SESSION_KEY: &str = "session";

/// What `identify({ externalId, name, email, userHash })` passes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub user_hash: Option<String>,
}

/// The last session's token and whom it was for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSession {
    pub external_id: String,
    pub token: String,
}

impl StoredSession {
    pub fn of(session: &WidgetSession) -> StoredSession {
        StoredSession { external_id: session.customer.external_id.clone(), token: session.token.clone() }
    }

    pub fn parse(json: Option<&str>) -> Option<StoredSession> {
        crate::transport::json::decode(json?).ok()
    }

    pub fn to_json(&self) -> String {
        crate::transport::json::encode(self)
    }
}

/// A new random id, 128 bits in hex, with a prefix.
pub fn random_id(prefix: &str, bytes: [u8; 16]) -> String {
    let mut id = String::with_capacity(prefix.len() + 32);
    id.push_str(prefix);
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// The session request: as the identified visitor when identified, else as
/// the guest. The stored token is passed back only for the same visitor.
pub fn session_input(
    widget_key: &str,
    guest_id: &str,
    identity: Option<&Identity>,
    stored: Option<&StoredSession>,
) -> WidgetSessionInput {
    let identity = identity.cloned().unwrap_or_default();
    let external_id = identity.external_id.filter(|id| !id.trim().is_empty()).unwrap_or_else(|| guest_id.to_owned());
    let token_of = |id: &str| stored.filter(|s| s.external_id == id).map(|s| s.token.clone());
    let user_hash = identity.user_hash.filter(|_| external_id != guest_id);
    WidgetSessionInput {
        widget_key: widget_key.to_owned(),
        // The guest's chat goes along to the known visitor they proved to be.
        guest_token: user_hash.as_ref().and_then(|_| token_of(guest_id)),
        token: token_of(&external_id),
        user_hash,
        external_id: Some(external_id),
        name: identity.name,
        email: identity.email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: &str) -> StoredSession {
        StoredSession { external_id: id.into(), token: format!("tok-{id}") }
    }

    #[test]
    fn keys_are_per_widget() {
        assert_eq!(storage_key("wk_1", GUEST_ID_KEY), "connect360:wk_1:externalId");
        assert_eq!(storage_key("wk_1", SESSION_KEY), "connect360:wk_1:session");
    }

    #[test]
    fn a_guest_resumes_with_its_token() {
        let input = session_input("wk_1", "guest_a", None, Some(&stored("guest_a")));
        assert_eq!(input.external_id.as_deref(), Some("guest_a"));
        assert_eq!(input.token.as_deref(), Some("tok-guest_a"));
        assert_eq!(input.user_hash, None);
    }

    #[test]
    fn an_identified_visitor_never_gets_anothers_token() {
        let who = Identity {
            external_id: Some("user_42".into()),
            name: Some("Jane".into()),
            email: Some("jane@example.com".into()),
            user_hash: Some("abcd".into()),
        };
        let input = session_input("wk_1", "guest_a", Some(&who), Some(&stored("guest_a")));
        assert_eq!(input.external_id.as_deref(), Some("user_42"));
        assert_eq!(input.token, None);
        assert_eq!(input.user_hash.as_deref(), Some("abcd"));
        assert_eq!(input.name.as_deref(), Some("Jane"));
        let input = session_input("wk_1", "guest_a", Some(&who), Some(&stored("user_42")));
        assert_eq!(input.token.as_deref(), Some("tok-user_42"));
    }

    #[test]
    fn an_identified_guest_hands_its_token_over_for_the_merge() {
        let who =
            Identity { external_id: Some("user_42".into()), user_hash: Some("abcd".into()), ..Default::default() };
        let input = session_input("wk_1", "guest_a", Some(&who), Some(&stored("guest_a")));
        assert_eq!(input.guest_token.as_deref(), Some("tok-guest_a"));
        let input = session_input("wk_1", "guest_a", Some(&who), Some(&stored("user_42")));
        assert_eq!(input.guest_token, None);
        let unproven = Identity { user_hash: None, ..who };
        assert_eq!(session_input("wk_1", "guest_a", Some(&unproven), Some(&stored("guest_a"))).guest_token, None);
    }

    #[test]
    fn identify_without_external_id_names_the_guest() {
        let who = Identity { name: Some("Jane".into()), user_hash: Some("ignored".into()), ..Default::default() };
        let input = session_input("wk_1", "guest_a", Some(&who), None);
        assert_eq!(input.external_id.as_deref(), Some("guest_a"));
        assert_eq!(input.name.as_deref(), Some("Jane"));
        assert_eq!(input.user_hash, None);
    }

    #[test]
    fn stored_sessions_round_trip_and_garbage_is_none() {
        let s = stored("g");
        assert_eq!(StoredSession::parse(Some(&s.to_json())), Some(s));
        assert_eq!(StoredSession::parse(Some("{oops")), None);
        assert_eq!(StoredSession::parse(None), None);
    }

    #[test]
    fn random_ids_are_hex() {
        assert_eq!(random_id("g_", [0xab; 16]), format!("g_{}", "ab".repeat(16)));
    }
}
