//! AI-assisted replies: the agents that write them.

pub mod faq;
pub mod openai;
pub mod replies;
pub mod runner;
pub mod stream;
pub mod tokenize;

use std::sync::Arc;

use connect360_api::{Locale, Message};

use crate::hub::EventBus;

/// What the API and the runner share: the wake-up for new requests, the
/// replies being written, and the server's stop, which ends the streams.
#[derive(Clone)]
pub struct Ai {
    pub replies: replies::Replies,
    wake: Arc<tokio::sync::Notify>,
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Ai {
    /// Replies being written are published on `events`.
    pub fn new(events: Arc<dyn EventBus>) -> Self {
        Ai {
            replies: replies::Replies::new(events),
            wake: Default::default(),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }

    /// The server stops: streams end rather than hold the stop up until
    /// their reply; their clients ask the next server with `lastMessageId`.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes once the server stops.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|closing| *closing).await;
        }
    }

    /// A send asked for a reply: the runner looks now rather than at its next sweep.
    pub fn wake(&self) {
        // notify_one keeps the wake-up if the runner is busy, so none is lost.
        self.wake.notify_one();
    }
}

/// Why an agent wrote no reply; the visitor reads this in the notice.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("no API key is configured ({0} is not set on the server)")]
    MissingKey(String),
    #[error("the model service could not be reached")]
    Unreachable(#[source] reqwest::Error),
    #[error("the model service answered HTTP {0}")]
    Status(u16),
    #[error("the model service's answer was not understood")]
    Malformed,
    #[error("the model gave an empty answer")]
    Empty,
    #[error("no answer within {} seconds", runner::REPLY_TIMEOUT.as_secs())]
    TimedOut,
}

/// A message's text and the language it is written in: its letters' language,
/// else the locale it is filed under. Non-text content is given as JSON.
pub fn message_text(message: &Message) -> Option<(Locale, String)> {
    let (locale, value) = message.content.iter().next()?;
    let text = match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    Some((tokenize::detect(&text).unwrap_or(*locale), text))
}
