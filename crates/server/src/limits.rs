//! What one address, one widget, one visitor or one API key may do per
//! period, so that no script can exhaust the server: each limit a keyed
//! `governor` quota ([`KeyedLimit`]), checked before anything is written and
//! refused with TOO_MANY_REQUESTS (HTTP 429) and a `Retry-After`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Request, State};
use axum::http::HeaderName;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{credential, hash_key};
use crate::error::ApiError;
use crate::rate_limit::KeyedLimit;
use crate::visitor_token;

/// So many per period: `30/1m`, `60/1h`, `1024/1d`, `5/500ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: NonZeroU32,
    pub per: Duration,
}

impl Rate {
    pub const fn new(count: u32, per: Duration) -> Rate {
        match NonZeroU32::new(count) {
            Some(count) => Rate { count, per },
            None => panic!("a rate allows at least one"),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Rate, String> {
        let bad = || format!("{text:?}: expected COUNT/PERIOD such as 30/1m (periods in ms, s, m, h or d)");
        let (count, period) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let split = period.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let amount: u64 = period[..split].parse().map_err(|_| bad())?;
        let unit = match &period[split..] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            _ => return Err(bad()),
        };
        let per = unit.checked_mul(u32::try_from(amount).map_err(|_| bad())?).ok_or_else(bad)?;
        if per.is_zero() {
            return Err(bad());
        }
        Ok(Rate { count, per })
    }
}

/// The limits a server runs with; the defaults suit a real site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Visitor sessions created per client address.
    pub sessions_per_ip: Rate,
    /// Visitor sessions created per widget, all addresses together.
    pub sessions_per_widget: Rate,
    /// Messages a visitor sends.
    pub sends_per_visitor: Rate,
    /// Upload requests of a visitor.
    pub uploads_per_visitor: Rate,
    /// MiB a visitor uploads.
    pub upload_mib_per_visitor: Rate,
    /// Requests per API key (generous: a backend may be busy).
    pub api_key_requests: Rate,
    /// Inbox sign-in attempts per email (of a workspace).
    pub sign_ins_per_email: Rate,
    /// Inbox sign-in attempts per client address.
    pub sign_ins_per_ip: Rate,
    /// The header a reverse proxy puts the client's address in (its last
    /// entry is taken); without it, the connection's peer address is the client.
    pub trusted_proxy_header: Option<HeaderName>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        const MINUTE: Duration = Duration::from_secs(60);
        LimitsConfig {
            sessions_per_ip: Rate::new(30, MINUTE),
            sessions_per_widget: Rate::new(1200, MINUTE),
            sends_per_visitor: Rate::new(30, MINUTE),
            uploads_per_visitor: Rate::new(60, Duration::from_secs(3600)),
            upload_mib_per_visitor: Rate::new(500, Duration::from_secs(86_400)),
            api_key_requests: Rate::new(1000, Duration::from_secs(1)),
            sign_ins_per_email: Rate::new(5, MINUTE),
            sign_ins_per_ip: Rate::new(20, MINUTE),
            trusted_proxy_header: None,
        }
    }
}

#[derive(Clone)]
pub struct Limits {
    sessions_per_ip: KeyedLimit<IpAddr>,
    sessions_per_widget: KeyedLimit<String>,
    /// Keyed by the visitor's customer id: a new token of the same visitor shares them.
    sends: KeyedLimit<String>,
    uploads: KeyedLimit<String>,
    /// In KiB, so a day's MiB fit governor's 32-bit cells.
    upload_kib: KeyedLimit<String>,
    api_keys: KeyedLimit<[u8; 32]>,
    proxy: TrustedProxy,
}

pub(crate) fn limit<K: std::hash::Hash + Eq + Clone>(rate: Rate) -> KeyedLimit<K> {
    KeyedLimit::per(rate.count, rate.per)
}

impl Limits {
    pub fn new(config: &LimitsConfig) -> Limits {
        let mib = config.upload_mib_per_visitor;
        let kib = NonZeroU32::new(mib.count.get().saturating_mul(1024)).unwrap_or(NonZeroU32::MAX);
        Limits {
            sessions_per_ip: limit(config.sessions_per_ip),
            sessions_per_widget: limit(config.sessions_per_widget),
            sends: limit(config.sends_per_visitor),
            uploads: limit(config.uploads_per_visitor),
            upload_kib: KeyedLimit::per(kib, mib.per),
            api_keys: limit(config.api_key_requests),
            proxy: TrustedProxy(config.trusted_proxy_header.clone()),
        }
    }

    /// A new visitor session from `ip` on widget `widget_id`.
    pub fn session(&self, ip: IpAddr, widget_id: &str) -> Result<(), ApiError> {
        self.sessions_per_ip.check(&ip).map_err(|retry| {
            ApiError::too_many("Too many visitor sessions from this address: try again later.", retry)
        })?;
        self.sessions_per_widget
            .check(&widget_id.to_owned())
            .map_err(|retry| ApiError::too_many("Too many visitor sessions on this widget: try again later.", retry))
    }

    /// A message sent by the visitor (customer) `customer_id`.
    pub fn send(&self, customer_id: &str) -> Result<(), ApiError> {
        self.sends
            .check(&customer_id.to_owned())
            .map_err(|retry| ApiError::too_many("Too many messages: wait a moment and send again.", retry))
    }

    /// An upload request of the visitor, before its body is read.
    pub fn upload(&self, customer_id: &str) -> Result<(), ApiError> {
        self.uploads
            .check(&customer_id.to_owned())
            .map_err(|retry| ApiError::too_many("Too many uploads: try again later.", retry))
    }

    /// The bytes of the visitor's upload, once received and before they are kept.
    pub fn upload_bytes(&self, customer_id: &str, bytes: u64) -> Result<(), ApiError> {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        self.upload_kib
            .check_n(&customer_id.to_owned(), NonZeroU32::new(kib).unwrap_or(NonZeroU32::MIN))
            .map_err(|retry| ApiError::too_many("files: more than this visitor may upload for now.", retry))
    }

    /// The client's address: the trusted proxy's header when configured.
    pub fn client_ip(&self, parts: &Parts) -> Option<IpAddr> {
        self.proxy.client_ip(parts)
    }
}

/// The header a trusted reverse proxy writes the client's address to.
#[derive(Debug, Clone, Default)]
struct TrustedProxy(Option<HeaderName>);

impl TrustedProxy {
    fn client_ip(&self, parts: &Parts) -> Option<IpAddr> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let Some(header) = &self.0 else { return peer };
        // The last entry is the one the proxy itself added; earlier ones came from the client.
        parts
            .headers
            .get_all(header)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
            .or(peer)
    }
}

/// The client's address (see [`LimitsConfig::trusted_proxy_header`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    Limits: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Limits::from_ref(state)
            .client_ip(parts)
            .map(ClientIp)
            .ok_or_else(|| ApiError::internal("the server runs without the peer's address"))
    }
}

/// Counts each request made with an API key, before it is served.
pub async fn per_api_key(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    if let Ok(Some(key)) = credential(req.headers())
        && !key.starts_with(visitor_token::PREFIX)
        && let Err(retry) = limits.api_keys.check(&hash_key(key))
    {
        return ApiError::too_many("Too many requests with this API key: slow down.", retry).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_count_and_period() {
        assert_eq!("30/1m".parse(), Ok(Rate::new(30, Duration::from_secs(60))));
        assert_eq!(" 5 / 500ms ".parse(), Ok(Rate::new(5, Duration::from_millis(500))));
        assert_eq!("1024/1d".parse(), Ok(Rate::new(1024, Duration::from_secs(86_400))));
        for bad in ["30", "0/1m", "30/m", "30/0s", "30/1w", "x/1m", "30/-1s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    fn parts(header: Option<(&str, &str)>) -> Parts {
        let mut req = axum::http::Request::builder();
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 5000))));
        parts
    }

    #[test]
    fn the_proxy_header_counts_only_when_configured_and_its_last_entry_wins() {
        let forwarded = Some(("x-forwarded-for", "6.6.6.6, 203.0.113.7"));
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(TrustedProxy(None).client_ip(&parts(forwarded)), Some(peer));
        let proxy = TrustedProxy(Some(HeaderName::from_static("x-forwarded-for")));
        assert_eq!(proxy.client_ip(&parts(forwarded)), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(proxy.client_ip(&parts(Some(("x-forwarded-for", "garbage")))), Some(peer));
        assert_eq!(proxy.client_ip(&parts(None)), Some(peer));
    }
}
