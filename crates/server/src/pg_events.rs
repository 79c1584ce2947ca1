//! Events across server instances on one PostgreSQL database, by
//! `LISTEN`/`NOTIFY`: chosen with `--database-url`.
//!
//! Why nothing is lost and nothing is sent twice:
//!
//! - **Messages.** A trigger on `messages` (migration 0007) notifies inside
//!   the inserting transaction: the notification is delivered if and only if
//!   the message commits, and PostgreSQL delivers notifications in commit
//!   order, which is store order (`seq` is drawn under the store's write
//!   lock, see `PgStore`). The payload carries ids only; each instance's
//!   listener reads the message from the store, one notification after the
//!   other, and publishes it to its own [`InProcessHub`]. Its subscribers (the
//!   event feeds) thus get every instance's messages in store order, as on
//!   SQLite, and skip by their cursor one they read from the store already.
//!   The PostgreSQL store publishes nothing in-process: a direct publish could
//!   overtake another instance's earlier commit, and a feed would skip that.
//! - **A lost connection.** What is notified while the listener is away is
//!   gone. Once it listens again it publishes [`Event::Gap`] to every topic:
//!   each feed reads the store after its cursor (everything committed before
//!   the new `LISTEN`), and skips by its cursor what later notifications
//!   repeat. The same when reading a notified message fails.
//! - **Replies being written** (`start`/`delta`/`idle`) are not stored: they
//!   travel in the payload (a delta cut into pieces well under PostgreSQL's
//!   8000-byte limit), sent one after the other on one connection, each
//!   `NOTIFY` committed before the next, so they arrive in order. This
//!   instance's own subscribers get them directly; its listener skips its
//!   own. The AI runner waits for them to be sent ([`EventBus::delivered`])
//!   before it stores the reply, whose notification therefore comes after
//!   its text everywhere. One lost with a connection is not replayed: the
//!   reply itself is stored, and comes as a message.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use connect360_api::Sender;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::{mpsc, oneshot};

use crate::hub::{Event, EventBus, InProcessHub, ReplyEvent, Subscription, Topic};
use crate::store::Store;

/// The channel every instance listens on and the trigger notifies.
const CHANNEL: &str = "connect360_events";
/// How listeners' and notifiers' connections show in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "connect360 events";
/// Characters of reply text per notification: 6 bytes each at worst once
/// escaped in JSON, well within PostgreSQL's 8000-byte payload.
const DELTA_CHARS: usize = 1000;
/// PostgreSQL's limit on a payload, less a margin.
const MAX_PAYLOAD: usize = 7900;
/// Reply events waiting to be sent before a publisher's are dropped.
const OUTBOX: usize = 1024;
/// How long a listener that could not connect waits before it tries again.
const RETRY: Duration = Duration::from_millis(500);

/// A notification's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum Notice {
    /// A message stored (the trigger's): read it from the store.
    #[serde(rename_all = "camelCase")]
    Message { workspace_id: String, id: String },
    /// A reply event of the instance `from`.
    #[serde(rename_all = "camelCase")]
    Reply { from: String, conversation_id: String, event: ReplyNotice },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum ReplyNotice {
    Start { sender: Sender },
    Delta { text: String },
    Stopped,
}

impl From<ReplyNotice> for ReplyEvent {
    fn from(notice: ReplyNotice) -> Self {
        match notice {
            ReplyNotice::Start { sender } => ReplyEvent::Start(sender),
            ReplyNotice::Delta { text } => ReplyEvent::Delta(text),
            ReplyNotice::Stopped => ReplyEvent::Stopped,
        }
    }
}

/// What the notifier task sends, in order.
enum Outgoing {
    Notify(String),
    /// Answered once everything queued before it is sent.
    Delivered(oneshot::Sender<()>),
}

/// The bus of one instance: its own [`InProcessHub`] for its subscribers,
/// fed by its listener with what every instance stores and the replies the
/// others write.
pub struct PgBus {
    hub: InProcessHub,
    /// This instance, in its reply notices, so that its listener skips them.
    instance: String,
    outbox: mpsc::Sender<Outgoing>,
    /// The listener, stopped with the bus.
    listener: tokio::task::AbortHandle,
}

impl PgBus {
    /// Listens on the database at `url`, publishing to `hub`; reads notified
    /// messages from `store`.
    pub async fn start(url: &str, hub: InProcessHub, store: Arc<dyn Store>) -> anyhow::Result<PgBus> {
        use anyhow::Context;
        let options = PgConnectOptions::from_str(url)
            .context("reading --database-url for the event bus")?
            .application_name(APPLICATION_NAME);
        let connections = || PgPoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(10));
        let listening = connections().connect_with(options.clone()).await.context("connecting the event listener")?;
        let mut listener = PgListener::connect_with(&listening).await.context("connecting the event listener")?;
        listener.listen(CHANNEL).await.context("listening for events")?;
        let instance = crate::ids::new_id("inst");
        let listener = tokio::spawn(listen(listener, listening, hub.clone(), store, instance.clone())).abort_handle();
        let notifying = connections().connect_lazy_with(options);
        let (outbox, queue) = mpsc::channel(OUTBOX);
        tokio::spawn(notify(notifying, queue));
        Ok(PgBus { hub, instance, outbox, listener })
    }

    fn send(&self, outgoing: Outgoing) {
        if let Err(err) = self.outbox.try_send(outgoing) {
            tracing::warn!(
                full = matches!(err, mpsc::error::TrySendError::Full(_)),
                "a reply event could not be queued for the other instances; the stored reply will reach them"
            );
        }
    }

    /// The notices of a reply event: a delta in pieces that fit a payload.
    fn notices(&self, conversation_id: &str, event: &ReplyEvent) -> Vec<String> {
        let notice =
            |event| Notice::Reply { from: self.instance.clone(), conversation_id: conversation_id.to_owned(), event };
        match event {
            ReplyEvent::Start(sender) => {
                // A sender too large for a payload goes without its picture, then its name.
                let lighter = [
                    sender.clone(),
                    Sender { image: None, ..sender.clone() },
                    Sender { image: None, name: None, ..sender.clone() },
                ];
                let payloads = lighter.into_iter().map(|sender| payload(&notice(ReplyNotice::Start { sender })));
                payloads.into_iter().find(|p| p.len() <= MAX_PAYLOAD).into_iter().collect()
            }
            ReplyEvent::Delta(text) => {
                pieces(text).map(|text| payload(&notice(ReplyNotice::Delta { text: text.to_owned() }))).collect()
            }
            ReplyEvent::Stopped => vec![payload(&notice(ReplyNotice::Stopped))],
        }
    }
}

impl Drop for PgBus {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn payload(notice: &Notice) -> String {
    // A notice is strings and a `Sender`: it always serialises.
    serde_json::to_string(notice).unwrap_or_default()
}

/// `text` in pieces of at most [`DELTA_CHARS`] characters.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.char_indices().nth(DELTA_CHARS).map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

impl EventBus for PgBus {
    fn publish(&self, event: Event) {
        if let Event::Reply { conversation_id, event } = &event {
            for notice in self.notices(conversation_id, event) {
                self.send(Outgoing::Notify(notice));
            }
        }
        self.hub.publish(event);
    }

    fn delivered(&self) -> BoxFuture<'static, ()> {
        let (done, sent) = oneshot::channel();
        self.send(Outgoing::Delivered(done));
        // A notifier gone (or a full queue) has nothing more to send.
        Box::pin(async move {
            let _ = sent.await;
        })
    }

    fn subscribe(&self, topic: Topic) -> Subscription {
        self.hub.subscribe(topic)
    }

    fn subscribers(&self, topic: &Topic) -> usize {
        self.hub.subscribers(topic)
    }
}

/// Sends the queued notices one after the other, until the bus is dropped.
async fn notify(pool: PgPool, mut queue: mpsc::Receiver<Outgoing>) {
    while let Some(outgoing) = queue.recv().await {
        match outgoing {
            Outgoing::Notify(payload) => {
                let sent = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(&payload).execute(&pool).await;
                if let Err(err) = sent {
                    tracing::warn!(%err, "a reply event did not reach the other instances; the stored reply will");
                }
            }
            Outgoing::Delivered(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Publishes to `hub` what is notified, until aborted; reconnects when the
/// connection is lost, and tells the subscribers to read what they missed.
async fn listen(first: PgListener, pool: PgPool, hub: InProcessHub, store: Arc<dyn Store>, instance: String) {
    let mut next = Some(first);
    loop {
        let mut listener = match next.take() {
            Some(listener) => listener,
            None => {
                let listener = relisten(&pool).await;
                hub.publish(Event::Gap);
                listener
            }
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if !relay(notification.payload(), &hub, store.as_ref(), &instance).await {
                        hub.publish(Event::Gap);
                    }
                }
                // Reconnected and listening again (sqlx re-listens).
                Ok(None) => {
                    tracing::warn!(
                        "the event listener lost its connection and listens again; streams read what they missed"
                    );
                    hub.publish(Event::Gap);
                }
                Err(err) => {
                    tracing::warn!(%err, "the event listener lost its connection; reconnecting");
                    break;
                }
            }
        }
        // Dropped here: its connection goes back to the pool of one.
    }
}

/// A new listener, once the database answers again.
async fn relisten(pool: &PgPool) -> PgListener {
    loop {
        let listener = async {
            let mut listener = PgListener::connect_with(pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listener.await {
            Ok(listener) => return listener,
            Err(err) => {
                tracing::warn!(%err, "the event listener could not reconnect yet");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// Publishes what a payload says happened; `false` when a message it names
/// could not be read (the subscribers then read the store themselves).
async fn relay(payload: &str, hub: &InProcessHub, store: &dyn Store, instance: &str) -> bool {
    let notice: Notice = match serde_json::from_str(payload) {
        Ok(notice) => notice,
        Err(err) => {
            tracing::error!(%err, payload, "an event notification not understood; ignored");
            return true;
        }
    };
    match notice {
        Notice::Message { workspace_id, id } => match store.stored_message(&workspace_id, &id).await {
            Ok(Some(stored)) => {
                hub.publish(Event::Message(Box::new(stored)));
                true
            }
            // Deleted (with its conversation) since: nothing to tell.
            Ok(None) => true,
            Err(err) => {
                tracing::error!(%err, id, "reading a notified message failed");
                false
            }
        },
        Notice::Reply { from, .. } if from == instance => true,
        Notice::Reply { conversation_id, event, .. } => {
            hub.publish(Event::Reply { conversation_id, event: event.into() });
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use connect360_api::SenderType;

    use super::*;

    #[test]
    fn a_long_delta_goes_in_pieces_that_fit_a_payload_and_join_up_again() {
        let text = format!("{}{}", "é".repeat(1500), "\u{1}".repeat(1200));
        let pieces: Vec<&str> = pieces(&text).collect();
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.concat(), text);
        let notice = |text: &str| {
            payload(&Notice::Reply {
                from: "inst".into(),
                conversation_id: "c".repeat(255),
                event: ReplyNotice::Delta { text: text.into() },
            })
        };
        assert!(pieces.iter().all(|p| notice(p).len() <= MAX_PAYLOAD), "every piece fits");
        assert_eq!(super::pieces("").count(), 0);
    }

    #[test]
    fn the_trigger_s_payload_is_a_message_notice() {
        let notice: Notice =
            serde_json::from_str(r#"{"kind" : "message", "workspaceId" : "ws_1", "id" : "msg_1"}"#).unwrap();
        assert_eq!(notice, Notice::Message { workspace_id: "ws_1".into(), id: "msg_1".into() });
        let sender = Sender { kind: SenderType::Ai, id: "agent_1".into(), name: Some("A".into()), image: None };
        let reply =
            Notice::Reply { from: "i".into(), conversation_id: "c".into(), event: ReplyNotice::Start { sender } };
        assert_eq!(serde_json::from_str::<Notice>(&payload(&reply)).unwrap(), reply);
    }
}
