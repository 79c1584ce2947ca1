//! The inbox's sign-in at `INBOX_SESSION_PATH`: `POST` checks a member's
//! email and password and starts a server-side session (a random token in
//! an HttpOnly cookie, only its SHA-256 stored), `GET` says who is signed
//! in, `DELETE` signs out.

use std::net::IpAddr;

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use connect360_api::{INBOX_SESSION_PATH, MemberProfile, MemberSession, SignInInput, WorkspaceProfile};

use crate::auth::{Authenticator, SESSION_COOKIE, hash_key, now_ms, session_token, signed_in};
use crate::csrf::PublicOrigin;
use crate::domain::DEFAULT_WORKSPACE;
use crate::error::ApiError;
use crate::extract::Input;
use crate::limits::{ClientIp, Limits, LimitsConfig, limit};
use crate::rate_limit::{KeyedLimit, RetryAfter};
use crate::store::MemberAccount;
use crate::{ids, password, validate};

#[derive(Clone)]
pub struct SignInLimits {
    /// Keyed by workspace slug and lower-cased email.
    per_email: KeyedLimit<(String, String)>,
    per_ip: KeyedLimit<IpAddr>,
}

impl SignInLimits {
    /// Attempts per email and per client address, as `config` allows.
    pub fn new(config: &LimitsConfig) -> Self {
        SignInLimits { per_email: limit(config.sign_ins_per_email), per_ip: limit(config.sign_ins_per_ip) }
    }
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Authenticator: FromRef<S>,
    SignInLimits: FromRef<S>,
    PublicOrigin: FromRef<S>,
    Limits: FromRef<S>,
{
    Router::new().route(INBOX_SESSION_PATH, post(sign_in).get(current).delete(sign_out))
}

fn wrong() -> ApiError {
    ApiError::unauthorized("Wrong email or password.")
}

fn too_many(retry: RetryAfter) -> Response {
    ApiError::too_many("Too many sign-in attempts: wait a minute and try again.", retry).into_response()
}

fn session_of(account: MemberAccount) -> MemberSession {
    MemberSession {
        member: MemberProfile { id: account.id, name: account.name, email: account.email, role: account.role },
        workspace: WorkspaceProfile { slug: account.workspace_slug, name: account.workspace_name },
    }
}

async fn sign_in(
    State(auth): State<Authenticator>,
    State(limits): State<SignInLimits>,
    State(origin): State<PublicOrigin>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Input(input): Input<SignInInput>,
) -> Result<Response, ApiError> {
    // Signing a browser in to someone else's account is an attack too.
    if headers.contains_key(axum::http::header::ORIGIN) && !origin.is_same_origin(&headers) {
        return Err(ApiError::forbidden("Sign in from this server's own pages (Origin)."));
    }
    let email = input.email.trim().to_lowercase();
    let slug = match input.workspace.as_deref() {
        Some(slug) => validate::text("workspace", slug, validate::MAX_NAME)?,
        None => DEFAULT_WORKSPACE.to_owned(),
    };
    if let Err(retry) = limits.per_ip.check(&ip) {
        return Ok(too_many(retry));
    }
    if let Err(retry) = limits.per_email.check(&(slug.clone(), email.clone())) {
        return Ok(too_many(retry));
    }
    let account = auth.store.member_by_email(&slug, &email).await?;
    let stored = account.as_ref().and_then(|a| a.password_hash.clone());
    let attempt = input.password;
    // An unknown email is checked against a dummy hash: it takes as long.
    let matches = tokio::task::spawn_blocking(move || password::verify(&attempt, stored.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    let account = account.filter(|_| matches).ok_or_else(wrong)?;

    let token = ids::new_secret("ms", 32);
    let now = now_ms();
    let expired_before = now.saturating_sub(auth.session_idle_ms());
    auth.store.create_session(&hash_key(&token), &account.id, now, expired_before).await?;
    tracing::info!(member = %account.id, "member signed in");
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(origin.is_https(&headers));
    Ok((CookieJar::new().add(cookie), Json(session_of(account))).into_response())
}

async fn current(State(auth): State<Authenticator>, headers: HeaderMap) -> Result<Json<MemberSession>, ApiError> {
    match signed_in(&auth, &headers).await? {
        Some(account) => Ok(Json(session_of(account))),
        None => Err(ApiError::unauthorized("Not signed in.")),
    }
}

/// Deletes the session (however stale) and the cookie.
async fn sign_out(State(auth): State<Authenticator>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        auth.store.delete_session(&hash_key(&token)).await?;
    }
    // Removing it from the request's jar answers an expired cookie.
    let jar = CookieJar::from_headers(&headers).remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((StatusCode::NO_CONTENT, jar).into_response())
}
