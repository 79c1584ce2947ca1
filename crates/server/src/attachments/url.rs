//! Files' URLs: the storage key percent-encoded under the assets prefix, and,
//! for visitors, a short-lived signature in the query.
//!
//! `<img src>` cannot send an Authorization header, so a visitor's URLs carry
//! `?for=customer:<id>&exp=<unix>&sig=<hex>`, where `sig` is HMAC-SHA256 over
//! the key, the expiry and the principal, with a key derived from the
//! server's secret. The signature only says who the URL was made for: the
//! download still checks that this customer may read the file, so a deleted
//! conversation takes its links with it. API-key answers get the plain path,
//! fetched with the key in the header: keys live on backends, which can.

use connect360_api::Message;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::Principal;
use crate::domain::files::{asset_path, key_of_path};

/// A signed URL works for at least this long…
pub const SIGNED_URL_LIFETIME_SECS: i64 = 60 * 60;
/// …and its expiry moves in steps of this, so that the URLs of repeated
/// `listMessages` answers stay the same and the browser's cache keeps working.
const EXPIRY_STEP_SECS: i64 = 15 * 60;

/// Whom a signed URL was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    Customer(String),
}

impl Grantee {
    fn encode(&self) -> String {
        match self {
            Grantee::Customer(id) => format!("customer:{id}"),
        }
    }

    fn decode(text: &str) -> Option<Grantee> {
        let id = text.strip_prefix("customer:")?;
        (!id.is_empty()).then(|| Grantee::Customer(id.to_owned()))
    }
}

/// A signature's parts, as the download's query carries them.
#[derive(Debug, Default)]
pub struct SignedQuery {
    pub grantee: Option<String>,
    pub expires: Option<String>,
    pub signature: Option<String>,
}

impl SignedQuery {
    pub fn parse(query: Option<&str>) -> SignedQuery {
        let mut signed = SignedQuery::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match name.as_ref() {
                "for" => signed.grantee = Some(value.into_owned()),
                "exp" => signed.expires = Some(value.into_owned()),
                "sig" => signed.signature = Some(value.into_owned()),
                _ => {}
            }
        }
        signed
    }

    pub fn is_present(&self) -> bool {
        self.grantee.is_some() || self.expires.is_some() || self.signature.is_some()
    }
}

#[derive(Clone)]
pub struct UrlSigner {
    key: [u8; 32],
}

impl UrlSigner {
    /// Derives its own key from the server's secret, so that no visitor
    /// token's signature can ever pass for a URL's, nor the other way round.
    pub fn new(server_secret: &[u8; 32]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(server_secret).expect("HMAC takes keys of any length");
        mac.update(b"connect360 asset urls v1");
        UrlSigner { key: mac.finalize().into_bytes().into() }
    }

    fn mac(&self, key: &str, expires: i64, grantee: &Grantee) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        // NUL cannot occur in a key (names have no control characters) nor in an id.
        mac.update(format!("{key}\0{expires}\0{}", grantee.encode()).as_bytes());
        mac
    }

    /// The file's URL for `grantee`, valid for an hour or a bit more from `now`.
    pub fn signed_url(&self, key: &str, grantee: &Grantee, now: i64) -> String {
        let expires =
            (now + SIGNED_URL_LIFETIME_SECS).div_euclid(EXPIRY_STEP_SECS) * EXPIRY_STEP_SECS + EXPIRY_STEP_SECS;
        let signature = hex::encode(self.mac(key, expires, grantee).finalize().into_bytes());
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("for", &grantee.encode())
            .append_pair("exp", &expires.to_string())
            .append_pair("sig", &signature)
            .finish();
        format!("{}?{query}", asset_path(key))
    }

    /// Signs a plain asset path made by the store; other URLs are left as they are.
    pub fn sign_path(&self, path: &str, grantee: &Grantee, now: i64) -> String {
        match key_of_path(path) {
            Some(key) => self.signed_url(&key, grantee, now),
            None => path.to_owned(),
        }
    }

    /// Signs the attachments' URLs of messages answered to `principal`: a
    /// visitor's, so that the widget can show images with a plain
    /// `<img src>`; API keys fetch with their header and get plain paths.
    pub fn sign_messages(&self, principal: &Principal, messages: &mut [Message]) {
        let Principal::Visitor(v) = principal else { return };
        let grantee = Grantee::Customer(v.customer_id.clone());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        for attachment in messages.iter_mut().flat_map(|m| m.attachments.iter_mut()) {
            attachment.url = self.sign_path(&attachment.url, &grantee, now);
        }
    }

    /// Whom the query's signature was made for, if it is genuine, for this key, and not expired.
    pub fn verify(&self, key: &str, query: &SignedQuery, now: i64) -> Option<Grantee> {
        let grantee = Grantee::decode(query.grantee.as_deref()?)?;
        let expires: i64 = query.expires.as_deref()?.parse().ok()?;
        let signature = hex::decode(query.signature.as_deref()?).ok()?;
        self.mac(key, expires, &grantee).verify_slice(&signature).ok()?;
        (expires > now).then_some(grantee)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ws_1/file_1/Invoice #1 (copy) é.pdf";

    fn query_of(url: &str) -> SignedQuery {
        SignedQuery::parse(url.split_once('?').map(|(_, q)| q))
    }

    #[test]
    fn a_signed_url_verifies_for_its_customer_until_it_expires() {
        let signer = UrlSigner::new(&[7; 32]);
        let customer = Grantee::Customer("cus_1".into());
        let url = signer.signed_url(KEY, &customer, 1_000_000);
        assert!(url.starts_with(&asset_path(KEY)), "{url}");
        let query = query_of(&url);
        let expires: i64 = query.expires.as_deref().unwrap().parse().unwrap();
        let lifetime = SIGNED_URL_LIFETIME_SECS..=SIGNED_URL_LIFETIME_SECS + EXPIRY_STEP_SECS;
        assert!(lifetime.contains(&(expires - 1_000_000)), "{expires}");
        assert_eq!(signer.verify(KEY, &query, 1_000_000), Some(customer.clone()));
        assert_eq!(signer.verify(KEY, &query, expires), None, "expired");
        // The same URL for a while, so that caches keep it.
        assert_eq!(signer.signed_url(KEY, &customer, 1_000_001), url);
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let signer = UrlSigner::new(&[7; 32]);
        let url = signer.signed_url(KEY, &Grantee::Customer("cus_1".into()), 0);
        let good = query_of(&url);
        assert!(signer.verify("ws_1/file_2/x.pdf", &good, 0).is_none(), "another key");
        let other = SignedQuery { grantee: Some("customer:cus_2".into()), ..query_of(&url) };
        assert!(signer.verify(KEY, &other, 0).is_none(), "another customer");
        let later = SignedQuery { expires: Some("99999999999".into()), ..query_of(&url) };
        assert!(signer.verify(KEY, &later, 0).is_none(), "a later expiry");
        assert!(UrlSigner::new(&[8; 32]).verify(KEY, &good, 0).is_none(), "another server");
        assert!(signer.verify(KEY, &SignedQuery::default(), 0).is_none());
    }
}
