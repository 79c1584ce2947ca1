//! Visitor tokens: what the widget holds instead of an API key.
//!
//! `vt_<payload>.<signature>`, both base64url; the payload is JSON naming the
//! workspace, customer, widget and domain, and when the token expires; the
//! signature is HMAC-SHA256 with the server's secret. Stateless to check.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const PREFIX: &str = "vt_";
/// A day: a visitor who returns later resumes by external id instead.
pub const LIFETIME_SECS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorClaims {
    #[serde(rename = "ws")]
    pub workspace_id: String,
    #[serde(rename = "cus")]
    pub customer_id: String,
    #[serde(rename = "ext")]
    pub external_id: String,
    #[serde(rename = "wid")]
    pub widget_id: String,
    /// The host domain: the only `channelIdentifier` the token may send with.
    #[serde(rename = "dom")]
    pub domain: String,
    #[serde(rename = "chan")]
    pub channel_id: String,
    /// Unix seconds.
    #[serde(rename = "exp")]
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Visitor token is malformed.")]
    Malformed,
    #[error("Visitor token signature is invalid.")]
    BadSignature,
    #[error("Visitor token has expired.")]
    Expired,
}

#[derive(Clone)]
pub struct TokenSigner {
    key: [u8; 32],
}

impl TokenSigner {
    pub fn new(key: [u8; 32]) -> Self {
        TokenSigner { key }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    pub fn sign(&self, claims: &VisitorClaims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{PREFIX}{payload}.{signature}")
    }

    /// Checks the signature before reading anything, then the expiry against `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<VisitorClaims, TokenError> {
        let body = token.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
        let (payload, signature) = body.split_once('.').ok_or(TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let claims: VisitorClaims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if claims.expires_at <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// hex(HMAC-SHA256(secret, external_id)), compared in constant time.
pub fn user_hash_matches(secret: &str, external_id: &str, user_hash: &str) -> bool {
    let Ok(expected) = hex::decode(user_hash.trim()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(external_id.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires_at: i64) -> VisitorClaims {
        VisitorClaims {
            workspace_id: "ws_1".into(),
            customer_id: "cus_1".into(),
            external_id: "guest_abc".into(),
            widget_id: "wid_1".into(),
            domain: "example.com".into(),
            channel_id: "chan_1".into(),
            expires_at,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let signer = TokenSigner::new([7; 32]);
        let token = signer.sign(&claims(1000));
        assert_eq!(signer.verify(&token, 999), Ok(claims(1000)));
        assert_eq!(signer.verify(&token, 1000), Err(TokenError::Expired));
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let signer = TokenSigner::new([7; 32]);
        let token = signer.sign(&claims(1000));
        assert_eq!(TokenSigner::new([8; 32]).verify(&token, 0), Err(TokenError::BadSignature));
        // Another customer in the payload, the old signature kept.
        let (_, signature) = token.split_once('.').unwrap();
        let mut other = claims(1000);
        other.customer_id = "cus_2".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        let forged = format!("{PREFIX}{forged_payload}.{signature}");
        assert_eq!(signer.verify(&forged, 0), Err(TokenError::BadSignature));
        for junk in ["", "vt_", "vt_abc", "c360_abc", "vt_a.b!"] {
            assert!(signer.verify(junk, 0).is_err(), "{junk}");
        }
    }

    #[test]
    fn user_hash_is_hex_hmac_of_the_external_id() {
        // echo -n user_42 | openssl dgst -sha256 -hmac s3cret
        let hash = "3ef7f38be75e32c21a3751afc6ffeb80bcd28532a892f406137e4d288436cb57";
        assert!(user_hash_matches("s3cret", "user_42", hash));
        assert!(user_hash_matches("s3cret", "user_42", &hash.to_uppercase()));
        assert!(!user_hash_matches("s3cret", "user_43", hash));
        assert!(!user_hash_matches("other", "user_42", hash));
        assert!(!user_hash_matches("s3cret", "user_42", "not hex"));
    }
}
