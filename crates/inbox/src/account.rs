//! The member's session: `POST`/`GET`/`DELETE` of the inbox session endpoint
//! (`connect360_api::inbox`). The cookie it sets is HttpOnly: the app never
//! sees it, the browser sends it to its own origin.

use connect360_api::{INBOX_SESSION_PATH, MemberSession, SignInInput};
use connect360_widget::transport::json::encode;
use connect360_widget::transport::url::join;
use connect360_widget::transport::{ClientError, error::read_plain, send};
use gloo_net::http::Request;

/// Signs in; a wrong email or password is an `UNAUTHORIZED` refusal.
pub async fn sign_in(api_base: &str, input: &SignInInput) -> Result<MemberSession, ClientError> {
    let (status, body) = send(Request::post(&join(api_base, INBOX_SESSION_PATH)), Some(encode(input))).await?;
    read_plain(status, &body)
}

/// The signed-in member, if the browser holds a session (401 if not).
pub async fn current(api_base: &str) -> Result<MemberSession, ClientError> {
    let (status, body) = send(Request::get(&join(api_base, INBOX_SESSION_PATH)), None).await?;
    read_plain(status, &body)
}

/// Ends the session on the server (the cookie is cleared by its answer).
pub async fn sign_out(api_base: &str) -> Result<(), ClientError> {
    let (status, body) = send(Request::delete(&join(api_base, INBOX_SESSION_PATH)), None).await?;
    if (200..300).contains(&status) { Ok(()) } else { Err(connect360_widget::transport::error::refusal(status, &body)) }
}
