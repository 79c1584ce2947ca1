//! Push in upstream mode: the upstream has no event stream, so each
//! conversation that has an open visitor stream gets one poller, shared by
//! its streams (started by the first, stopped when the last closes), that
//! reads the upstream's newest `listMessages` page, backing off while
//! nothing happens, and publishes what is new into the conversation's hub
//! topic; the event streams' feed does the rest, as with the store.
//!
//! The poller keeps the conversation's messages it has seen in upstream
//! order, numbered by a local `seq` (the feed's order and its dedupe), and
//! is the streams' [`MessageLog`]: catching up after a `Last-Event-ID` reads
//! the upstream's pages back to that message.
//!
//! Each poller holds its conversation's AI reply [`Relay`], asked whenever
//! the newest message is a visitor's (a reply may be coming) or the visitor
//! asks for one ([`Pollers::reply_asked`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use connect360_api::{ListMessages, ListMessagesInput, Message, SenderType};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::backend::UpstreamBackend;
use super::client::{Repeat, TrpcClient};
use super::relay::Relay;
use crate::ai::replies::Replies;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::events::log::{ConversationLogs, MessageLog};
use crate::hub::{Event, EventBus, StoredMessage, Topic};
use crate::lock::lock;
use crate::store::MessageCursor;

/// The wait between polls right after something happened; it doubles while quiet.
const QUICK: Duration = Duration::from_secs(1);
/// The longest wait between polls.
const QUIET: Duration = Duration::from_secs(10);
/// Messages asked for per upstream page.
const PAGE: u32 = 50;
/// Pages read back at most, looking for a known message (a resumed id, or the newest seen).
const MAX_PAGES: usize = 20;
/// Messages a poller keeps: as many as it can read back, so that a stream
/// resumes from any of them, and no more while a stream stays open for long.
const WINDOW: usize = MAX_PAGES * PAGE as usize;

type Running = Mutex<HashMap<String, Weak<Lease>>>;

/// The running pollers, one per watched conversation.
#[derive(Clone)]
pub struct Pollers {
    client: TrpcClient,
    events: Arc<dyn EventBus>,
    /// Where the relays publish the AI replies being written.
    replies: Replies,
    running: Arc<Running>,
}

impl Pollers {
    pub fn new(client: TrpcClient, events: Arc<dyn EventBus>, replies: Replies) -> Pollers {
        Pollers { client, events, replies, running: Default::default() }
    }

    /// Pollers running now (for tests and diagnostics).
    pub fn running(&self) -> usize {
        lock(&self.running).len()
    }

    /// The visitor sent in the conversation: its poller looks at once and soon again.
    pub fn nudge(&self, conversation_id: &str) {
        if let Some(lease) = self.watched(conversation_id) {
            lease.log.nudge.notify_one();
        }
    }

    /// The visitor's message `message_id` asked for an AI reply: a stream
    /// of the conversation shows it as it is written.
    pub fn reply_asked(&self, conversation_id: &str, message_id: &str) {
        if let Some(lease) = self.watched(conversation_id) {
            lease.log.relay.ask(message_id);
        }
    }

    /// The conversation's poller, if a stream watches it.
    fn watched(&self, conversation_id: &str) -> Option<Arc<Lease>> {
        lock(&self.running).get(conversation_id).and_then(Weak::upgrade)
    }

    /// The conversation's poller, started if none runs.
    fn lease(&self, workspace_id: &str, conversation_id: &str) -> Arc<Lease> {
        let mut running = lock(&self.running);
        if let Some(lease) = running.get(conversation_id).and_then(Weak::upgrade) {
            return lease;
        }
        let nudge = Arc::new(Notify::new());
        let relay = Relay::new(self.client.clone(), self.replies.clone(), conversation_id.to_owned(), nudge.clone());
        let log = Arc::new(Log {
            client: self.client.clone(),
            events: self.events.clone(),
            workspace_id: workspace_id.to_owned(),
            conversation_id: conversation_id.to_owned(),
            window: tokio::sync::Mutex::new(Window::new(WINDOW)),
            nudge,
            relay: Arc::new(relay),
        });
        let task = tokio::spawn(poll(log.clone())).abort_handle();
        let lease = Arc::new(Lease { log, task, running: self.running.clone() });
        running.insert(conversation_id.to_owned(), Arc::downgrade(&lease));
        crate::telemetry::upstream_pollers(1.0);
        lease
    }
}

/// A checked visitor's stream holds the conversation's poller.
pub struct UpstreamLogs {
    pub upstream: Arc<UpstreamBackend>,
}

#[async_trait]
impl ConversationLogs for UpstreamLogs {
    async fn open(&self, principal: &Principal, conversation_id: &str) -> Result<Arc<dyn MessageLog>, ApiError> {
        // Another customer's conversation is not found, before the upstream hears of it.
        self.upstream.check_owner(principal.only_customer(), conversation_id).await?;
        Ok(self.upstream.pollers().lease(principal.workspace_id(), conversation_id))
    }
}

/// One conversation's poller, running while a stream holds it.
struct Lease {
    log: Arc<Log>,
    task: AbortHandle,
    running: Arc<Running>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.task.abort();
        self.log.relay.close();
        let mut running = lock(&self.running);
        // A stream opened meanwhile may have started the next poller: that one stays.
        if running.get(&self.log.conversation_id).is_some_and(|lease| lease.upgrade().is_none()) {
            running.remove(&self.log.conversation_id);
        }
        crate::telemetry::upstream_pollers(-1.0);
    }
}

struct Log {
    client: TrpcClient,
    events: Arc<dyn EventBus>,
    workspace_id: String,
    conversation_id: String,
    window: tokio::sync::Mutex<Window>,
    /// Wakes the poll loop at once.
    nudge: Arc<Notify>,
    relay: Arc<Relay>,
}

/// The conversation's newest messages seen, oldest first, contiguous in upstream order.
struct Window {
    messages: VecDeque<StoredMessage>,
    /// The ids of `messages`.
    known: HashSet<String>,
    /// Messages kept at most; the oldest go first.
    cap: usize,
    /// Whether the upstream was read once: what is read later is new.
    synced: bool,
}

impl Window {
    fn new(cap: usize) -> Window {
        Window { messages: VecDeque::new(), known: HashSet::new(), cap: cap.max(1), synced: false }
    }

    fn seq_of(&self, id: &str) -> Option<i64> {
        self.messages.iter().find(|m| m.message.id == id).map(|m| m.seq)
    }

    /// Takes in `fetched` (chronological, the newest upstream pages): older
    /// messages go before the window, newer after it; the newer are returned
    /// (to publish). The first time, all go in as what was there before.
    fn merge(&mut self, workspace_id: &str, fetched: Vec<Message>) -> Vec<StoredMessage> {
        let first_sync = !std::mem::replace(&mut self.synced, true);
        let (newer, next_seq) = match (self.messages.front().cloned(), self.messages.back().cloned()) {
            (Some(first), Some(last)) => {
                if let Some(at) = fetched.iter().position(|m| m.id == first.message.id) {
                    for (seq, message) in (i64::MIN..first.seq).rev().zip(fetched[..at].iter().rev()) {
                        self.known.insert(message.id.clone());
                        let message = message.clone();
                        self.messages.push_front(StoredMessage { workspace_id: workspace_id.to_owned(), seq, message });
                    }
                }
                let newer = match fetched.iter().position(|m| m.id == last.message.id) {
                    Some(at) => fetched[at + 1..].to_vec(),
                    // The newest seen is gone upstream, or further back than was read.
                    None => fetched.into_iter().filter(|m| !self.known.contains(&m.id)).collect(),
                };
                (newer, last.seq + 1)
            }
            _ => (fetched, 1),
        };
        let mut added = Vec::new();
        for (seq, message) in (next_seq..).zip(newer) {
            let stored = StoredMessage { workspace_id: workspace_id.to_owned(), seq, message };
            self.push_back(stored.clone());
            if !first_sync {
                added.push(stored);
            }
        }
        while self.messages.len() > self.cap {
            if let Some(oldest) = self.messages.pop_front() {
                self.known.remove(&oldest.message.id);
            }
        }
        added
    }

    fn push_back(&mut self, stored: StoredMessage) {
        self.known.insert(stored.message.id.clone());
        self.messages.push_back(stored);
    }
}

impl Log {
    /// Reads the upstream's newest pages back to `until` (else to the newest
    /// message seen), takes them in and publishes what is new; how many were.
    async fn sync(&self, until: Option<&str>) -> Result<usize, ApiError> {
        let mut window = self.window.lock().await;
        let stop = until.map(str::to_owned).or_else(|| window.messages.back().map(|m| m.message.id.clone()));
        let mut pages = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let input = ListMessagesInput {
                conversation_id: self.conversation_id.clone(),
                limit: Some(PAGE),
                cursor: cursor.take(),
            };
            crate::telemetry::upstream_poll();
            let page = self.client.call::<ListMessages>(&input, Repeat::Query).await?;
            let found = stop.as_deref().is_none_or(|stop| page.items.iter().any(|m| m.id == stop));
            pages.push(page.items);
            match page.next_cursor {
                Some(next) if !found => cursor = Some(next),
                _ => break,
            }
        }
        let fetched: Vec<Message> = pages.into_iter().rev().flatten().collect();
        let added = window.merge(&self.workspace_id, fetched);
        // Published while the window is held: a reader's catch-up then has them, or its subscription gets them.
        for stored in &added {
            self.events.publish(Event::Message(Box::new(stored.clone())));
        }
        // A visitor's message last: a reply to it may be being written (the relay asks once per message).
        if let Some(newest) = window.messages.back().filter(|m| m.message.sender.kind == SenderType::Customer) {
            self.relay.ask(&newest.message.id);
        }
        Ok(added.len())
    }
}

#[async_trait]
impl MessageLog for Lease {
    async fn cursor(
        &self,
        workspace_id: &str,
        topic: &Topic,
        _only_customer: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> Result<MessageCursor, ApiError> {
        let log = &self.log;
        let known = match after {
            Some((_, id)) => log.window.lock().await.seq_of(id).is_some(),
            None => false,
        };
        log.sync(after.filter(|_| !known).map(|(_, id)| id)).await?;
        let window = log.window.lock().await;
        let (seq, message_id) = match after {
            Some((field, id)) => {
                let seq =
                    window.seq_of(id).ok_or_else(|| ApiError::invalid(field, "not a message of this conversation"))?;
                (seq, Some(id.to_owned()))
            }
            None => window.messages.back().map_or((0, None), |m| (m.seq, Some(m.message.id.clone()))),
        };
        Ok(MessageCursor::checked(topic.clone(), workspace_id.to_owned(), seq, message_id))
    }

    async fn after(&self, cursor: &MessageCursor, limit: u32) -> Result<Vec<StoredMessage>, ApiError> {
        let window = self.log.window.lock().await;
        Ok(window.messages.iter().filter(|m| m.seq > cursor.seq()).take(limit as usize).cloned().collect())
    }
}

/// Polls until its lease aborts it: soon after something happened, then
/// less and less often while the conversation is quiet.
async fn poll(log: Arc<Log>) {
    let mut wait = QUICK;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = log.nudge.notified() => wait = QUICK,
        }
        wait = match log.sync(None).await {
            Ok(0) => (wait * 2).min(QUIET),
            Ok(_) => QUICK,
            Err(err) => {
                tracing::warn!(?err, conversation = %log.conversation_id, "polling the upstream failed; trying again later");
                (wait * 2).min(QUIET)
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(ids: &[&str]) -> Vec<Message> {
        ids.iter().map(|id| crate::fixtures::message(*id, "c")).collect()
    }

    fn seqs<'a>(stored: impl IntoIterator<Item = &'a StoredMessage>) -> Vec<(&'a str, i64)> {
        stored.into_iter().map(|s| (s.message.id.as_str(), s.seq)).collect()
    }

    #[test]
    fn the_first_read_is_history_then_only_what_is_newer_is_news_and_older_pages_go_before() {
        let mut window = Window::new(WINDOW);
        assert!(window.merge("w", messages(&["m2", "m3"])).is_empty(), "history, not news");
        assert_eq!(seqs(&window.merge("w", messages(&["m2", "m3", "m4"]))), [("m4", 3)]);
        assert!(window.merge("w", messages(&["m3", "m4"])).is_empty(), "nothing twice");
        assert_eq!(seqs(&window.merge("w", messages(&["m1", "m2", "m3", "m4", "m5"]))), [("m5", 4)]);
        assert_eq!(seqs(&window.messages), [("m1", 0), ("m2", 1), ("m3", 2), ("m4", 3), ("m5", 4)], "m1 went before");
    }

    #[test]
    fn a_conversation_empty_at_the_first_read_has_news_later() {
        let mut window = Window::new(WINDOW);
        assert!(window.merge("w", Vec::new()).is_empty());
        assert_eq!(seqs(&window.merge("w", messages(&["m1"]))), [("m1", 1)]);
    }

    #[test]
    fn a_long_open_stream_keeps_only_the_newest_messages_and_publishes_each_once() {
        let mut window = Window::new(3);
        window.merge("w", messages(&["m1", "m2"]));
        let mut published = Vec::new();
        for n in 3..=40 {
            // Each poll reads back to the newest seen, as `sync` does.
            let fetched: Vec<String> = [n - 1, n].iter().map(|i| format!("m{i}")).collect();
            let fetched: Vec<&str> = fetched.iter().map(String::as_str).collect();
            published.extend(window.merge("w", messages(&fetched)).into_iter().map(|s| s.message.id));
            assert!(window.messages.len() <= 3 && window.known.len() == window.messages.len(), "bounded at m{n}");
        }
        assert_eq!(published, (3..=40).map(|n| format!("m{n}")).collect::<Vec<_>>(), "each new message once, in order");
        assert_eq!(
            seqs(&window.messages),
            [("m38", 38), ("m39", 39), ("m40", 40)],
            "the newest stay, their seqs unchanged"
        );
        assert_eq!(window.seq_of("m40"), Some(40));
        assert_eq!(window.seq_of("m1"), None, "forgotten");
    }
}
