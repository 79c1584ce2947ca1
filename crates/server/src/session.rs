//! `POST /api/v1/connect/widget/session`: a website visitor gets a scoped,
//! expiring token and their conversation, without any API key in the page.

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use connect360_api::{WIDGET_SESSION_PATH, WidgetSession, WidgetSessionInput};
use time::OffsetDateTime;

use crate::auth::origin_host;
use crate::backend::{Backend, VisitorArrival, VisitorConversation};
use crate::domain::{CustomerFields, CustomerKey, CustomerRef, Domain};
use crate::error::ApiError;
use crate::extract::Input;
use crate::limits::{ClientIp, Limits};
use crate::store::{Store, Widget};
use crate::validate::{self, MAX_ID, MAX_NAME};
use crate::visitor_token::{self, TokenSigner, VisitorClaims, user_hash_matches};
use crate::{clock, ids};

pub const GUEST_PREFIX: &str = "guest_";

/// Guest ids are random and long, so that one can't be guessed and claimed.
pub fn is_guest_id(id: &str) -> bool {
    id.strip_prefix(GUEST_PREFIX).is_some_and(|rest| {
        (16..=64).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Store>: FromRef<S>,
    Arc<dyn Backend>: FromRef<S>,
    TokenSigner: FromRef<S>,
    Limits: FromRef<S>,
{
    Router::new().route(WIDGET_SESSION_PATH, post(create))
}

async fn create(
    State(store): State<Arc<dyn Store>>,
    State(backend): State<Arc<dyn Backend>>,
    State(signer): State<TokenSigner>,
    State(limits): State<Limits>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Input(input): Input<WidgetSessionInput>,
) -> Result<Json<WidgetSession>, ApiError> {
    let widget = store
        .widget_by_key(input.widget_key.trim())
        .await?
        .ok_or_else(|| ApiError::unauthorized("Unknown widget key."))?;
    let host = origin_host(&headers).ok_or_else(|| {
        ApiError::forbidden("Visitor sessions open from the site's pages: the request has no Origin.")
    })?;
    if !widget.domains.contains(&host) {
        return Err(ApiError::forbidden(format!("{host} is not a domain of this widget.")));
    }
    let domain = Domain::parse("Origin", &host)?;
    limits.session(ip, &widget.id)?;
    let now = OffsetDateTime::now_utc();

    let Visitor { key, known_external_id, merges_guest } =
        visitor_key(&signer, &widget, &input, &host, now.unix_timestamp())?;
    let fields = CustomerFields {
        name: validate::optional_text("name", input.name.as_deref(), MAX_NAME)?,
        email: input.email.as_deref().map(|e| validate::email("email", e)).transpose()?,
        ..CustomerFields::default()
    };
    let VisitorConversation { conversation, customer, channel_id } = backend
        .open_visitor(VisitorArrival {
            widget: widget.clone(),
            customer: CustomerRef { key, fields },
            known_external_id,
            merges_guest,
            site: domain,
        })
        .await?;
    tracing::info!(conversation = %conversation.id, customer = %customer.id, domain = %host, "visitor session");
    let expires = now + time::Duration::seconds(visitor_token::LIFETIME_SECS);
    let claims = VisitorClaims {
        workspace_id: widget.workspace_id.clone(),
        customer_id: customer.id.clone(),
        external_id: customer.external_id.clone(),
        widget_id: widget.id.clone(),
        domain: host.clone(),
        channel_id,
        expires_at: expires.unix_timestamp(),
    };
    Ok(Json(WidgetSession {
        token: signer.sign(&claims),
        expires_at: clock::format(expires),
        customer,
        conversation,
        channel_identifier: host,
    }))
}

/// Who the visitor is, and the guest whose conversations become theirs.
struct Visitor {
    key: CustomerKey,
    /// Their external id when `key` is a resumed token's customer id.
    known_external_id: Option<String>,
    /// The guest customer of the session's token when a known user proved
    /// by `userHash` arrives with it: the guest's chat is merged, not lost.
    merges_guest: Option<String>,
}

/// Who the visitor is: the customer of a still-valid token, a known user
/// proven by `userHash`, their own guest id, or a new guest.
fn visitor_key(
    signer: &TokenSigner,
    widget: &Widget,
    input: &WidgetSessionInput,
    host: &str,
    now: i64,
) -> Result<Visitor, ApiError> {
    let external_id = input.external_id.as_deref().map(|e| validate::text("externalId", e, MAX_ID)).transpose()?;
    let of_this_site = |token: Option<&str>| {
        token.and_then(|t| signer.verify(t, now).ok()).filter(|c| c.widget_id == widget.id && c.domain == host)
    };
    let resumed =
        of_this_site(input.token.as_deref()).filter(|c| external_id.as_ref().is_none_or(|e| *e == c.external_id));
    let visitor = |key| Visitor { key, known_external_id: None, merges_guest: None };
    if let Some(claims) = resumed {
        return Ok(Visitor {
            key: CustomerKey::Id(claims.customer_id),
            known_external_id: Some(claims.external_id),
            merges_guest: None,
        });
    }
    let Some(external_id) = external_id else {
        return Ok(visitor(CustomerKey::ExternalId(ids::new_secret("guest", 16))));
    };
    match (&widget.identity_secret, &input.user_hash) {
        (Some(secret), Some(hash)) if user_hash_matches(secret, &external_id, hash) => Ok(Visitor {
            key: CustomerKey::ExternalId(external_id),
            known_external_id: None,
            merges_guest: of_this_site(input.guest_token.as_deref())
                .filter(|c| is_guest_id(&c.external_id))
                .map(|c| c.customer_id),
        }),
        (Some(_), Some(_)) => Err(ApiError::forbidden("userHash: does not match externalId")),
        (None, Some(_)) => Err(ApiError::invalid("userHash", "this widget has no identity secret to check it with")),
        (_, None) if is_guest_id(&external_id) => Ok(visitor(CustomerKey::ExternalId(external_id))),
        (_, None) => Err(ApiError::forbidden(
            "externalId: a known visitor needs userHash; guests use guest_ ids of 16 to 64 letters and digits",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_ids_are_long_random_tokens() {
        assert!(is_guest_id(&ids::new_secret("guest", 16)));
        assert!(is_guest_id("guest_0123456789abcdef"));
        assert!(!is_guest_id("guest_short"));
        assert!(!is_guest_id("user_42"));
        assert!(!is_guest_id("guest_0123456789abcdef/../x"));
    }
}
