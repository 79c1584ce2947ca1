//! Caps on the event streams a visitor and a client address hold open at
//! once, so that one page (or one script) cannot hold all the server's
//! connections. API keys are trusted backends and are not capped.
//!
//! The address is the client's as [`crate::limits::ClientIp`] tells it: the
//! TCP peer's, or behind a proxy the one `--trusted-proxy-header` names.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use connect360_api::ErrorCode;

use crate::error::ApiError;
use crate::lock::lock;

pub const DEFAULT_PER_VISITOR: usize = 8;
pub const DEFAULT_PER_IP: usize = 256;
/// When a refused client may try again: about when a tab it closed has let go.
pub const RETRY_AFTER_SECS: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Holder {
    /// A visitor, by customer: their tabs and tokens together.
    Visitor(String),
    Address(IpAddr),
}

#[derive(Debug, Clone)]
pub struct StreamLimits {
    per_visitor: usize,
    per_ip: usize,
    open: Arc<Mutex<HashMap<Holder, usize>>>,
}

/// A refusal: 429 `TOO_MANY_REQUESTS` with `Retry-After`.
#[derive(Debug)]
pub struct TooManyStreams(ApiError);

impl IntoResponse for TooManyStreams {
    fn into_response(self) -> Response {
        let mut res = self.0.into_response();
        res.headers_mut().insert(RETRY_AFTER, RETRY_AFTER_SECS.as_secs().into());
        res
    }
}

/// Open streams counted for their holders until dropped.
#[derive(Debug)]
pub struct Slots {
    limits: StreamLimits,
    held: Vec<Holder>,
}

impl StreamLimits {
    pub fn new(per_visitor: usize, per_ip: usize) -> Self {
        StreamLimits { per_visitor, per_ip, open: Default::default() }
    }

    /// Counts one more stream for the visitor (if it is one) and the
    /// address, or refuses it if either holds its cap already.
    pub fn acquire(&self, visitor: Option<&str>, address: IpAddr) -> Result<Slots, TooManyStreams> {
        let Some(customer_id) = visitor else { return Ok(Slots { limits: self.clone(), held: Vec::new() }) };
        let held =
            [(Holder::Visitor(customer_id.to_owned()), self.per_visitor), (Holder::Address(address), self.per_ip)];
        let mut open = lock(&self.open);
        for (holder, cap) in &held {
            if open.get(holder).copied().unwrap_or(0) >= *cap {
                let whose = match holder {
                    Holder::Visitor(_) => "this visitor",
                    Holder::Address(_) => "this address",
                };
                return Err(TooManyStreams(ApiError::new(
                    ErrorCode::TooManyRequests,
                    format!("Too many open event streams for {whose} (at most {cap}); close one or try again later."),
                )));
            }
        }
        for (holder, _) in &held {
            *open.entry(holder.clone()).or_insert(0) += 1;
        }
        Ok(Slots { limits: self.clone(), held: held.into_iter().map(|(holder, _)| holder).collect() })
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        let mut open = lock(&self.limits.open);
        for holder in &self.held {
            if let Some(count) = open.get_mut(holder) {
                *count -= 1;
                if *count == 0 {
                    open.remove(holder);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const OFFICE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn each_cap_refuses_beyond_it_and_a_dropped_slot_frees_it() {
        let limits = StreamLimits::new(2, 2);
        let first = limits.acquire(Some("cus_1"), HOME).unwrap();
        let _second = limits.acquire(Some("cus_1"), OFFICE).unwrap();
        let refused = limits.acquire(Some("cus_1"), OFFICE).unwrap_err();
        assert_eq!(refused.0.code, ErrorCode::TooManyRequests);
        assert!(refused.0.message.contains("this visitor"), "{}", refused.0.message);
        drop(first);
        let _third = limits.acquire(Some("cus_1"), HOME).unwrap();

        let _others = [limits.acquire(Some("cus_2"), HOME).unwrap()];
        let refused = limits.acquire(Some("cus_3"), HOME).unwrap_err();
        assert!(refused.0.message.contains("this address"), "{}", refused.0.message);
        let res = refused.into_response();
        assert_eq!(
            (res.status().as_u16(), &res.headers()[RETRY_AFTER]),
            (429, &"10".parse::<axum::http::HeaderValue>().unwrap())
        );
    }

    #[test]
    fn api_keys_are_not_capped_and_nothing_is_kept_once_all_close() {
        let limits = StreamLimits::new(1, 1);
        let keys: Vec<_> = (0..5).map(|_| limits.acquire(None, HOME).unwrap()).collect();
        let visitor = limits.acquire(Some("cus_1"), HOME).unwrap();
        drop((keys, visitor));
        assert!(lock(&limits.open).is_empty());
    }
}
