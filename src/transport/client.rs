//! The API client on gloo-net: tRPC procedures and the session endpoint.

use std::time::Duration;

use connect360_api::{Procedure, ProcedureKind, WidgetSession, WidgetSessionInput};
use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::set_timeout_with_handle;
use web_sys::{AbortController, AbortSignal};

use super::error::{ClientError, read_plain, read_trpc};
use super::json::encode;
use super::url;

/// How long a request may take before it is abandoned (as a network error).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Calls the API at `api_base` as the visitor holding `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub api_base: String,
    pub token: String,
}

/// Only "Can't reach the server" is shown; the cause is kept for debugging.
fn network(e: gloo_net::Error) -> ClientError {
    ClientError::Network(e.to_string())
}

impl Client {
    /// `builder` with this visitor's token.
    pub(super) fn authorized(&self, builder: RequestBuilder) -> RequestBuilder {
        builder.header("Authorization", &url::bearer(&self.token))
    }

    /// Calls procedure `P`. A send carries its client message id as
    /// `idempotency_key`, so that its retries never store it twice.
    pub async fn call<P: Procedure>(
        &self,
        input: &P::Input,
        idempotency_key: Option<&str>,
    ) -> Result<P::Output, ClientError> {
        let address = url::trpc(&self.api_base, P::PATH);
        let mut builder = self.authorized(match P::KIND {
            ProcedureKind::Query => Request::get(&address).query([("input", encode(input))]),
            ProcedureKind::Mutation => Request::post(&address),
        });
        if let Some(key) = idempotency_key {
            builder = builder.header("Idempotency-Key", key);
        }
        let (status, body) = send(|signal| {
            let builder = builder.abort_signal(Some(signal));
            match P::KIND {
                ProcedureKind::Query => builder.build(),
                ProcedureKind::Mutation => builder.json(input),
            }
        })
        .await?;
        read_trpc(status, &body)
    }
}

/// Starts (or resumes) a visitor session.
pub async fn start_session(
    api_base: &str,
    input: &WidgetSessionInput,
) -> Result<WidgetSession, ClientError> {
    let builder = Request::post(&url::session(api_base));
    let (status, body) = send(|signal| builder.abort_signal(Some(signal)).json(input)).await?;
    read_plain(status, &body)
}

/// Sends the request `build` makes (abandoned after [`REQUEST_TIMEOUT`]
/// through the signal it is given: a request that hangs must not hold up
/// the polls, nor a send, for good) and reads its status and body.
async fn send(
    build: impl FnOnce(&AbortSignal) -> Result<Request, gloo_net::Error>,
) -> Result<(u16, String), ClientError> {
    let abort = AbortController::new().map_err(|_| ClientError::Network("no AbortController".into()))?;
    let request = build(&abort.signal()).map_err(network)?;
    let timer = set_timeout_with_handle(move || abort.abort(), REQUEST_TIMEOUT);
    let result = async {
        let response: Response = request.send().await.map_err(network)?;
        let body = response.text().await.map_err(network)?;
        Ok((response.status(), body))
    }
    .await;
    if let Ok(timer) = timer {
        timer.clear();
    }
    result
}
