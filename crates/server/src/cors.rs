//! CORS for the API: browsers may call it only from a widget's domains.
//!
//! tower-http's `CorsLayer` answers, asking the store whether the origin's
//! host runs a widget. It answers every `OPTIONS` itself with 200 and the
//! headers; [`preflight_status`] keeps the statuses the API has always
//! given: 204 for a widget's origin, 403 "origin not allowed" otherwise.
//! What changed with it: an `OPTIONS` without `Access-Control-Request-Method`
//! is answered as a preflight too (it used to reach the routes, which
//! refused the method), `Vary` also names the two request headers of a
//! preflight, and the methods read `GET,POST`. The event stream has a
//! layer of its own ([`events_layer`]), whose preflight allows `Last-Event-ID`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Who may embed an answer with `<img>`/`<script>` (`http` has no constant
/// for it): `same-site` by default, `cross-origin` for what sites embed.
pub const CROSS_ORIGIN_RESOURCE_POLICY: HeaderName = HeaderName::from_static("cross-origin-resource-policy");
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::host_of_origin;
use crate::store::Store;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// An event stream's resume point (`connect360_api::LAST_EVENT_ID`).
const LAST_EVENT_ID: HeaderName = HeaderName::from_static(connect360_api::LAST_EVENT_ID);

/// Browsers on a widget's site may call with what the widget sends;
/// `x-api-key` is not among it: keys stay off the web.
pub fn layer(store: Arc<dyn Store>) -> CorsLayer {
    widget_sites(store).allow_methods([Method::GET, Method::POST]).allow_headers([
        AUTHORIZATION,
        CONTENT_TYPE,
        IDEMPOTENCY_KEY,
    ])
}

/// The event stream's: a GET that resumes with `Last-Event-ID`.
pub fn events_layer(store: Arc<dyn Store>) -> CorsLayer {
    widget_sites(store).allow_methods([Method::GET]).allow_headers([AUTHORIZATION, LAST_EVENT_ID])
}

fn widget_sites(store: Arc<dyn Store>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(move |origin: HeaderValue, _| async move {
            allowed(store.as_ref(), &origin).await
        }))
        .max_age(Duration::from_secs(600))
}

async fn allowed(store: &dyn Store, origin: &HeaderValue) -> bool {
    let Some(host) = origin.to_str().ok().and_then(host_of_origin) else { return false };
    store.is_widget_domain(&host).await.unwrap_or_else(|err| {
        tracing::error!(%err, "checking an origin failed");
        false
    })
}

/// Outside [`layer`]: an answered preflight is 204, a refused one 403.
pub async fn preflight_status(req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut res = next.run(req).await;
    if preflight {
        if res.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
            *res.status_mut() = StatusCode::NO_CONTENT;
        } else {
            *res.status_mut() = StatusCode::FORBIDDEN;
            *res.body_mut() = Body::from("origin not allowed\n");
        }
    }
    res
}
