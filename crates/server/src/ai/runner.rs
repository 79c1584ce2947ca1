//! The AI runner: answers the AI requests that `send` records.
//!
//! A background task of the server. It claims what is pending when it
//! starts (requests left by a stop or a crash), then each time a send wakes
//! it, and at every sweep in case a wake-up went to another instance. A claim
//! is the runner's for a lease, renewed at each sweep while it writes the
//! reply: several instances on one store never answer one request, and the
//! requests of an instance that died are claimed by another once its lease
//! runs out. A reply is stored, and its request closed, in one transaction:
//! a request is answered once, or it is still pending and answered later. An
//! agent that fails leaves a notice in the conversation instead of silence.

use std::sync::Arc;
use std::time::Duration;

use connect360_api::{Content, Locale};
use serde_json::Value;
use tokio::task::JoinSet;

use super::faq::KnowledgeBase;
use super::{AgentError, Ai, message_text, openai};
use crate::domain::AgentConfig;
use crate::hub::ReplyEvent;
use crate::ids;
use crate::store::{AiJob, AiOutcome, Author, ChannelRef, NewMessage, Store};

/// Messages of context an agent is given, the asking one included.
pub const HISTORY: u32 = 20;
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// How long a claim holds unless renewed; sweeps come at least three times within it.
pub const DEFAULT_CLAIM_LEASE: Duration = Duration::from_secs(90);
/// Replies written at once; more wait for one of these to finish.
pub const MAX_RUNNING: usize = 16;
/// A reply taking longer fails with a notice rather than keep the visitor waiting.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn run(store: Arc<dyn Store>, ai: Ai, lease: Duration) {
    // Made for the first request to answer: its TLS roots and pool cost
    // memory a server whose agents never reply never needs.
    let mut http: Option<reqwest::Client> = None;
    // This run's name on its claims: a restart is another claimant.
    let claimant = ids::new_id("run");
    // The first tick is at once: the requests left from before a restart.
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL.min(lease / 3));
    // Replies are written side by side, so that a slow model holds up no
    // other conversation; within a conversation one at a time, in order (a
    // claim takes only a conversation's oldest pending request), so that its
    // watchers see one reply's text at a time.
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        tokio::select! {
            _ = ai.wake.notified() => {}
            _ = sweep.tick() => {
                if !running.is_empty() && let Err(err) = store.renew_ai_claims(&claimant, lease).await {
                    tracing::error!(%err, "renewing the claims on AI requests failed");
                }
            }
            Some(finished) = running.join_next() => {
                if let Err(err) = finished {
                    // Its request is claimed again once the claim runs out, not in a tight loop.
                    tracing::error!(%err, "an AI reply task failed");
                }
            }
        }
        let claims = match store.claim_ai_requests(&claimant, lease, MAX_RUNNING - running.len()).await {
            Ok(claims) => claims,
            Err(err) => {
                tracing::error!(%err, "claiming AI requests failed");
                continue;
            }
        };
        crate::telemetry::ai_requests_pending(claims.pending);
        for id in claims.request_ids {
            let http = http.get_or_insert_with(reqwest::Client::new).clone();
            let (store, ai) = (store.clone(), ai.clone());
            running.spawn(async move { answer(store.as_ref(), &ai, &http, &id).await });
        }
    }
}

async fn answer(store: &dyn Store, ai: &Ai, http: &reqwest::Client, request_id: &str) {
    let job = match store.ai_job(request_id, HISTORY).await {
        Ok(Some(job)) => job,
        Ok(None) => return,
        Err(err) => return tracing::error!(%err, request_id, "reading an AI request failed"),
    };
    let conversation_id = job.trigger.conversation_id.clone();
    ai.replies.begin(&conversation_id, job.agent.clone());
    let publish = |text: &str| ai.replies.publish(&conversation_id, ReplyEvent::Delta(text.to_owned()));
    let written =
        tokio::time::timeout(REPLY_TIMEOUT, write(&job, http, publish)).await.unwrap_or(Err(AgentError::TimedOut));
    let (outcome, content) = match written {
        Ok(content) => (AiOutcome::Done, content),
        Err(err) => {
            tracing::warn!(err = ?err, request_id, agent = job.agent.id, "an agent could not answer");
            let locale = message_text(&job.trigger).map_or(Locale::En, |(locale, _)| locale);
            (AiOutcome::Failed, failure_notice(locale, &err))
        }
    };
    let reply = NewMessage {
        workspace_id: job.workspace_id.clone(),
        conversation_id: conversation_id.clone(),
        author: Author::Agent(job.agent.id.clone()),
        content,
        attachment_ids: Vec::new(),
        flags: Vec::new(),
        parent_id: Some(job.trigger.id.clone()),
        template_id: None,
        channel: job.channel_id.clone().map(|id| ChannelRef { id: Some(id), website: None }),
        ai: None,
        idempotency: None,
        only_customer: None,
    };
    // Forgotten before it is stored, so that no watcher gets the text after
    // the message (the store publishes the message once committed).
    ai.replies.written(&conversation_id).await;
    match store.finish_ai_request(request_id, outcome, reply).await {
        Ok(Some(message)) => tracing::debug!(request_id, message_id = message.id, "an AI reply was stored"),
        // Cancelled meanwhile by a hand-off, which told the watchers.
        Ok(None) => tracing::debug!(request_id, "an AI reply was dropped: the request is no longer pending"),
        // Still pending: the next sweep tries again.
        Err(err) => tracing::error!(%err, request_id, "storing an AI reply failed"),
    }
}

/// What an agent's failure leaves in the conversation: the reason in English
/// (for the team), and in the visitor's language, if another, that a person
/// will answer.
fn failure_notice(locale: Locale, err: &AgentError) -> Content {
    let mut notice = Content::from([(Locale::En, Value::String(format!("The assistant could not answer: {err}.")))]);
    let theirs = match locale {
        Locale::En => None,
        Locale::Ar => Some("تعذّر على المساعد الإجابة الآن. سيرد عليك أحد أعضاء فريقنا هنا."),
        Locale::Tr => Some("Asistan şu anda yanıt veremedi. Ekibimizden biri burada yanıt verecek."),
    };
    if let Some(text) = theirs {
        notice.insert(locale, Value::String(text.to_owned()));
    }
    notice
}

/// The agent's reply, handing text to `on_delta` as it is written.
async fn write(job: &AiJob, http: &reqwest::Client, on_delta: impl FnMut(&str)) -> Result<Content, AgentError> {
    let (locale, question) = message_text(&job.trigger).unwrap_or((Locale::En, String::new()));
    match &job.config {
        AgentConfig::Faq(settings) => {
            let reply = KnowledgeBase::parse(&settings.knowledge).reply(&question, locale);
            type_out(&reply.text, on_delta).await;
            Ok(Content::from([(reply.locale, Value::String(reply.text))]))
        }
        AgentConfig::Openai(settings) => {
            let text = openai::reply(http, settings, &job.history, on_delta).await?;
            Ok(Content::from([(locale, Value::String(text))]))
        }
    }
}

/// Time between the words of a `faq` answer as it is typed out.
const WORD_PACE: Duration = Duration::from_millis(20);
/// A long answer is typed out several words at a time, so that it takes at
/// most this long.
const MAX_TYPING: Duration = Duration::from_millis(1_500);

/// Hands a `faq` answer, found at once, to `on_delta` a word at a time, as
/// a model would write it: the visitor sees it come, as with the `openai` kind.
async fn type_out(text: &str, mut on_delta: impl FnMut(&str)) {
    let words: Vec<&str> = text.split_inclusive(char::is_whitespace).collect();
    let steps = (MAX_TYPING.as_millis() / WORD_PACE.as_millis()) as usize;
    let per_delta = words.len().div_ceil(steps).max(1);
    for (i, chunk) in words.chunks(per_delta).enumerate() {
        if i > 0 {
            tokio::time::sleep(WORD_PACE).await;
        }
        on_delta(&chunk.concat());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_faq_answer_is_typed_out_word_by_word_within_the_cap() {
        let text = "Orders ship within two working days.\nTracking follows by email.";
        let started = tokio::time::Instant::now();
        let mut deltas = Vec::new();
        type_out(text, |d| deltas.push(d.to_owned())).await;
        assert_eq!(deltas.concat(), text, "nothing lost or added");
        assert_eq!(deltas.len(), 10);
        assert_eq!(started.elapsed(), WORD_PACE * 9);

        let long = "word ".repeat(1_000);
        let started = tokio::time::Instant::now();
        type_out(&long, |_| {}).await;
        assert!(started.elapsed() <= MAX_TYPING, "{:?}", started.elapsed());
    }
}
