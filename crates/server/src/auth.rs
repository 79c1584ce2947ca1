//! Who is calling and what they may do.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;
use sha2::{Digest, Sha256};

use crate::domain::{Allows, Credential, MemberPrincipal, Permission};
use crate::error::ApiError;
use crate::key_cache::KeyCache;
use crate::store::{MemberAccount, Store};
use crate::visitor_token::{self, TokenSigner, VisitorClaims};

/// Who calls. A handler that takes it refuses callers without a valid
/// credential; one that takes `Result<Principal, ApiError>` decides itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A member, through an API key or their inbox session.
    Member(MemberPrincipal),
    /// A website visitor holding a widget session's token.
    Visitor(VisitorClaims),
}

/// The cookie of a member's inbox session.
pub const SESSION_COOKIE: &str = "c360_session";

/// A session's idle expiry unless configured otherwise.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(12 * 60 * 60);

/// What resolving a credential needs: the store for API keys and sessions,
/// the signer for visitor tokens.
#[derive(Clone)]
pub struct Authenticator {
    pub store: Arc<dyn Store>,
    pub signer: TokenSigner,
    /// A member's session ends after this long without a request.
    pub session_idle: Duration,
    /// Upstream mode: API keys and inbox sessions belong to the upstream.
    pub visitors_only: bool,
    /// API keys the store found a moment ago.
    pub keys: KeyCache,
}

impl Authenticator {
    /// [`Authenticator::session_idle`] in milliseconds, as sessions record their last use.
    pub fn session_idle_ms(&self) -> i64 {
        i64::try_from(self.session_idle.as_millis()).unwrap_or(i64::MAX)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let auth = Authenticator::from_ref(state);
        authenticate(&auth, &parts.headers).await
    }
}

impl Principal {
    pub fn workspace_id(&self) -> &str {
        match self {
            Principal::Member(m) => &m.workspace_id,
            Principal::Visitor(v) => &v.workspace_id,
        }
    }

    /// The customer whose conversations alone a visitor may reach; `None`
    /// for members, who reach their whole workspace.
    pub fn only_customer(&self) -> Option<&str> {
        match self {
            Principal::Member(_) => None,
            Principal::Visitor(v) => Some(&v.customer_id),
        }
    }

    /// A visitor reads and writes their own conversation; which procedures
    /// they reach at all is the procedure table's to say.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        match self {
            Principal::Member(m) if m.role.allows(permission) => Ok(()),
            Principal::Member(_) => Err(ApiError::forbidden("Unauthorized API key permissions.")),
            Principal::Visitor(_) if permission != Permission::Delete => Ok(()),
            Principal::Visitor(_) => Err(ApiError::forbidden("Visitor tokens cannot delete.")),
        }
    }
}

/// Keys are random 256-bit secrets, so a plain SHA-256 is a safe lookup hash.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The credential a request carries: `Authorization: Bearer …` or `x-api-key`.
pub fn credential(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::unauthorized("Authorization header is not valid text."))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthorized("Authorization header must be \"Bearer <key>\"."))?;
        return Ok(Some(token.trim()));
    }
    match headers.get("x-api-key") {
        Some(value) => value
            .to_str()
            .map(|v| Some(v.trim()))
            .map_err(|_| ApiError::unauthorized("x-api-key header is not valid text.")),
        None => Ok(None),
    }
}

/// The request's session token (the cookie's value), if it carries one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers).get(SESSION_COOKIE).map(|c| c.value().to_owned())
}

/// The member signed in with the request's session cookie; `Ok(None)`
/// without one. A session idle for longer than allowed is deleted.
pub async fn signed_in(auth: &Authenticator, headers: &HeaderMap) -> Result<Option<MemberAccount>, ApiError> {
    let Some(token) = session_token(headers) else { return Ok(None) };
    let hash = hash_key(&token);
    let ended = || ApiError::unauthorized("Your session has ended: sign in again.");
    let session = auth.store.session(&hash).await?.ok_or_else(ended)?;
    let now = now_ms();
    let idle_ms = auth.session_idle_ms();
    let idle = now.saturating_sub(session.last_seen_ms);
    if idle > idle_ms {
        auth.store.delete_session(&hash).await?;
        return Err(ended());
    }
    // A write per request would be wasted: the expiry slides in steps.
    if idle > (idle_ms / 4).min(60_000) {
        auth.store.touch_session(&hash, now).await?;
    }
    Ok(Some(session.account))
}

/// Unix milliseconds, as sessions record their last use.
pub fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Resolves the request's credential to a principal, or says why it can't.
/// A credential header wins over the session cookie.
///
/// A visitor token used from a browser must come from its own site: the
/// request's Origin, when there is one, must be the token's domain.
pub async fn authenticate(auth: &Authenticator, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let key = credential(headers)?;
    if auth.visitors_only && !key.is_some_and(|key| key.starts_with(visitor_token::PREFIX)) {
        return Err(ApiError::unauthorized(
            "This server serves website visitors only: call the upstream API with your API key.",
        ));
    }
    let Some(key) = key else {
        return match signed_in(auth, headers).await? {
            Some(account) => Ok(Principal::Member(MemberPrincipal {
                workspace_id: account.workspace_id,
                member_id: account.id,
                role: account.role,
                via: Credential::Session,
            })),
            None => Err(ApiError::unauthorized(
                "Missing API key: send Authorization: Bearer <key> or x-api-key: <key>, or sign in.",
            )),
        };
    };
    if key.starts_with(visitor_token::PREFIX) {
        let claims = auth
            .signer
            .verify(key, time::OffsetDateTime::now_utc().unix_timestamp())
            .map_err(|e| ApiError::unauthorized(e.to_string()))?;
        if origin_host(headers).is_some_and(|host| host != claims.domain) {
            return Err(ApiError::forbidden("This visitor token belongs to another site."));
        }
        return Ok(Principal::Visitor(claims));
    }
    let hash = hash_key(key);
    if let Some(member) = auth.keys.get(&hash) {
        return Ok(Principal::Member(member));
    }
    match auth.store.find_api_key(&hash).await? {
        Some(member) => {
            auth.keys.insert(hash, member.clone());
            Ok(Principal::Member(member))
        }
        None => Err(ApiError::unauthorized("Invalid API key.")),
    }
}

/// The host name of the request's `Origin` (`https://shop.example.com:8443` → `shop.example.com`).
pub fn origin_host(headers: &HeaderMap) -> Option<String> {
    host_of_origin(headers.get(axum::http::header::ORIGIN)?.to_str().ok()?)
}

/// An origin's host name, lower-cased; `None` for `null` and schemes other than http(s).
pub fn host_of_origin(origin: &str) -> Option<String> {
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"))?;
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => rest.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_wins_over_x_api_key_and_is_trimmed() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", "other".parse().unwrap());
        headers.insert(AUTHORIZATION, "Bearer  abc ".parse().unwrap());
        assert_eq!(credential(&headers).unwrap(), Some("abc"));
    }

    #[test]
    fn origin_host_drops_scheme_and_port() {
        let host = |origin: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(axum::http::header::ORIGIN, origin.parse().unwrap());
            origin_host(&headers)
        };
        assert_eq!(host("https://Shop.Example.com:8443").as_deref(), Some("shop.example.com"));
        assert_eq!(host("http://localhost:8080").as_deref(), Some("localhost"));
        assert_eq!(host("http://[::1]:8080").as_deref(), Some("::1"));
        assert_eq!(host("null"), None);
        assert_eq!(host("file://"), None);
    }

    #[test]
    fn malformed_authorization_is_unauthorized() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(credential(&headers).unwrap_err().code, connect360_api::ErrorCode::Unauthorized);
    }
}
