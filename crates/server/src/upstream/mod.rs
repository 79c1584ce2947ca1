//! Upstream mode: the widget for workspaces whose conversations live on a
//! hosted Connect360 API. This server then is the trusted backend that holds
//! the API key, hands visitors their scoped tokens and forwards their calls.
//!
//! # Design
//!
//! - [`client::TrpcClient`] is the one way to call the upstream: generic over
//!   the `connect360_api` procedures (their paths, kinds, inputs and outputs
//!   are declared once there), speaking `@trpc/client`'s `httpLink` wire
//!   (queries `GET ?input=`, mutations `POST` JSON, `{"result":{"data"}}` or
//!   the error envelope, decoded to [`error::UpstreamError`] with the tRPC code
//!   and HTTP status). Each attempt has a timeout; only calls that are safe to
//!   repeat are retried: queries, and mutations sent with an
//!   `Idempotency-Key` (a visitor's `send` keeps its key across attempts, so
//!   the upstream stores it once).
//! - The seam between the local and the upstream data is what the visitor
//!   routes need of conversations and messages: the visitor's conversation
//!   for a session, `send` and `listMessages`. The handlers stay one copy
//!   each; the visitor-scope checks (the token names the workspace, customer,
//!   site and channel) run where they run today, before anything is
//!   forwarded, and the upstream is called with the key only for what the
//!   token's scope allows. A conversation id the token's customer does not own
//!   is refused before the upstream hears of it.
//! - Locally only what is ours stays: widgets and their domains, identity
//!   secrets, the token signing key, rate-limit state. Customers,
//!   conversations, messages, attachments and AI replies are upstream's.
//! - Push: the conversation event stream is the same route and feed as
//!   without upstream mode; what a stream missed and what is new come from
//!   one poller per watched conversation ([`poller`]), which reads the
//!   upstream's `listMessages` and publishes into the local hub; and the AI
//!   reply being written, which the poller's [`relay`] reads from the
//!   upstream's `ai-stream` and publishes as the local AI runner would.
//! - The API-key and inbox routes are not served in this mode: the upstream
//!   is the API for them.
//! - Upstream failures become errors the widget knows: a 5xx or an
//!   unreachable upstream is a retryable `INTERNAL_SERVER_ERROR`, a timeout a
//!   `TIMEOUT`, the upstream's own refusals (bad input, not found) pass
//!   through, and a 401/403 (our key is wrong or lacks a permission) is
//!   logged as a configuration problem and never blamed on the visitor.

pub mod backend;
pub mod client;
pub mod error;
pub mod forward;
pub mod poller;
mod relay;

use anyhow::anyhow;
use connect360_api::{ListConversations, ListConversationsInput};

use client::{ClientConfig, Repeat, TrpcClient};

/// Where the upstream is, and the name of the variable its key came from
/// (named in messages; the key itself never is).
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub client: ClientConfig,
    pub key_env: String,
}

/// The client, once a check call has shown that the upstream answers and
/// takes the key: a server that could serve no visitor does not start.
pub async fn connect(config: &UpstreamConfig) -> anyhow::Result<TrpcClient> {
    let client = TrpcClient::new(config.client.clone()).map_err(|err| anyhow!(err))?;
    let url = client.base_url().to_owned();
    let check = ListConversationsInput { limit: Some(1), cursor: None };
    match client.call::<ListConversations>(&check, Repeat::Query).await {
        Ok(_) => {
            tracing::info!(upstream = %url, "upstream mode: the upstream takes our key");
            Ok(client)
        }
        Err(err) if err.is_configuration() => {
            tracing::error!(%err, "CONFIGURATION: the upstream refused our API key");
            Err(anyhow!(
                "the upstream at {url} refused the API key in ${} ({err}); set it to a key of that API",
                config.key_env
            ))
        }
        Err(err) => Err(anyhow!("the upstream at {url} cannot be used: {err}")),
    }
}
