//! Storage behind a trait: the handlers speak only to [`Store`]. Two
//! backends: SQLite in the data directory (the embedded default) and
//! PostgreSQL (several instances on one database). Both compile the same
//! resource modules (`sql/`), with their own types and write lock.
//!
//! Every method that writes is one transaction: it either happens whole or
//! not at all, and it is durable once it returns.

mod group_commit;
mod postgres;
mod sqlite;

use async_trait::async_trait;
use connect360_api::{
    Content, Conversation, ConversationSummary, ConversationType, DeleteConversationOutput, Message, Metadata, Page,
    Patch, Sender, Template,
};

use crate::domain::{AgentConfig, CustomerRef, Domain, MemberPrincipal, Role};
use crate::hub::{StoredMessage, Topic};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A PostgreSQL connection URL: `postgres://` or `postgresql://`. Its
/// `Debug` leaves it out: it may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl(String);

impl std::str::FromStr for PgUrl {
    type Err = String;

    fn from_str(url: &str) -> std::result::Result<Self, String> {
        match url.starts_with("postgres://") || url.starts_with("postgresql://") {
            true => Ok(PgUrl(url.to_owned())),
            false => Err("a PostgreSQL URL starts with postgres:// or postgresql://".into()),
        }
    }
}

impl PgUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgUrl(..)")
    }
}

/// The store: PostgreSQL at `database` when given, else SQLite in `data_dir`,
/// which publishes each message it commits to `events`. PostgreSQL's are
/// notified by the database itself, to every instance's
/// `pg_events::PgBus` (`events` is not used then).
pub async fn open(
    data_dir: &std::path::Path,
    database: Option<&PgUrl>,
    events: std::sync::Arc<dyn crate::hub::EventBus>,
) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    Ok(match database {
        Some(PgUrl(url)) => std::sync::Arc::new(PgStore::connect(url).await?),
        None => std::sync::Arc::new(SqliteStore::open(data_dir, events).await?),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{field}: {rule}")]
    Invalid { field: String, rule: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("storage failed: {0}")]
    Database(#[source] BoxError),
}

impl StoreError {
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        StoreError::Invalid { field: field.into(), rule: rule.into() }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Database(Box::new(err))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> Self {
        StoreError::Database(Box::new(err))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: String,
    pub slug: String,
    /// The member that API keys act as unless another is named.
    pub default_member_id: String,
}

/// The workspace member a write is made by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub workspace_id: String,
    pub member_id: String,
}

/// Channels named by id and/or the website's domain (found or created).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelRefs {
    pub ids: Vec<String>,
    pub website: Option<Domain>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation {
    pub actor: Actor,
    pub name: Option<String>,
    pub kind: ConversationType,
    pub customer: Option<CustomerRef>,
    pub member_ids: Vec<String>,
    pub channels: ChannelRefs,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSubConversation {
    pub actor: Actor,
    pub parent_id: String,
    pub name: Option<String>,
    /// `None` inherits the parent's channels.
    pub channels: Option<ChannelRefs>,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationUpdate {
    pub workspace_id: String,
    pub id: String,
    pub name: Patch<String>,
    pub metadata: Option<Metadata>,
    pub parent_id: Patch<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Author {
    Member(String),
    Customer(CustomerRef),
    /// An AI agent, by id: only the AI runner writes as one.
    Agent(String),
}

/// The channel a message came through: by id, by website domain, or both (then they must agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRef {
    pub id: Option<String>,
    pub website: Option<Domain>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAiRequest {
    pub agent_id: String,
    pub channel_id: Option<String>,
}

/// An AI reply to write: what was asked, of which agent, and the
/// conversation so far.
#[derive(Debug, Clone, PartialEq)]
pub struct AiJob {
    pub request_id: String,
    pub workspace_id: String,
    /// The agent, as its reply will name it.
    pub agent: Sender,
    pub config: AgentConfig,
    /// The message that asked; the reply answers it (its `parentId`).
    pub trigger: Message,
    /// The channel the reply goes out on: the request's, else the trigger's.
    pub channel_id: Option<String>,
    /// The conversation's last messages up to the trigger, oldest first.
    pub history: Vec<Message>,
}

/// What the `ai-stream` of a conversation starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct AiReplyState {
    /// A reply is being (or is still to be) written.
    pub pending: bool,
    /// The newest AI message, newer than the one asked about if any.
    pub latest: Option<Message>,
}

/// How an AI request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AiOutcome {
    /// The agent's reply is stored.
    Done,
    /// A notice that the agent could not answer is stored instead.
    Failed,
}

/// Work that one instance at a time does, of all those on one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusive {
    /// The removal of unused uploads, rows and bytes.
    FileCollector,
}

impl Exclusive {
    /// Its PostgreSQL advisory lock (the write lock is 0x0C03_6000_0001).
    pub fn lock_key(self) -> i64 {
        match self {
            Exclusive::FileCollector => 0x0C03_6000_0002,
        }
    }
}

/// Work run by [`Store::run_exclusively`].
pub type ExclusiveWork<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// What a claim of AI requests got: the requests now this claimant's to
/// answer, and how many are pending in all (its own and others' included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiClaims {
    pub request_ids: Vec<String>,
    pub pending: usize,
}

impl AiOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AiOutcome::Done => "done",
            AiOutcome::Failed => "failed",
        }
    }
}

/// A guest's conversations to hand to the known customer the guest became.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestClaim {
    pub workspace_id: String,
    /// The guest customer, as a verified visitor token names it.
    pub guest_customer_id: String,
    /// Only this top-level conversation of the guest, with its sub-conversations.
    pub conversation_id: Option<String>,
    /// The known customer (found, or created by external id).
    pub customer: CustomerRef,
    /// A top-level conversation of the known customer to move the claimed ones under.
    pub target_parent_id: Option<String>,
    /// Merged into each claimed conversation's metadata.
    pub metadata: Metadata,
}

/// What a claim moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimOutcome {
    /// The known customer.
    pub customer_id: String,
    /// Conversations (top-level and sub) now the known customer's.
    pub claimed: u32,
    /// Of those, the ones now under the target parent.
    pub reparented: u32,
}

/// A retried send with the same key returns the first one's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    /// Hash of the request, so a key reused for a different message is refused.
    pub request_hash: [u8; 32],
}

/// A website widget as a visitor session needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widget {
    pub id: String,
    pub workspace_id: String,
    pub public_key: String,
    /// The member visitor conversations are opened with.
    pub default_member_id: String,
    pub domains: Vec<String>,
    pub identity_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSummary {
    pub id: String,
    pub external_id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub workspace_id: String,
    pub conversation_id: String,
    pub author: Author,
    pub content: Content,
    pub attachment_ids: Vec<String>,
    pub flags: Vec<String>,
    pub parent_id: Option<String>,
    pub template_id: Option<String>,
    pub channel: Option<ChannelRef>,
    pub ai: Option<NewAiRequest>,
    pub idempotency: Option<Idempotency>,
    /// A visitor may only write in their own conversations: the conversation
    /// must be this customer's, or it is not found. Their attachments must be
    /// files this customer uploaded.
    pub only_customer: Option<String>,
}

/// Who uploaded a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploader {
    Member(String),
    Customer(String),
}

/// An upload whose bytes are in file storage already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub id: String,
    pub workspace_id: String,
    pub storage_key: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub uploader: Uploader,
}

/// A file with what deciding who may read it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub id: String,
    pub workspace_id: String,
    pub storage_key: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub uploader: Uploader,
    /// The customer of the conversation whose message uses the file.
    pub conversation_customer_id: Option<String>,
}

/// A member to add to a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub workspace_id: String,
    pub name: String,
    /// Lower-cased; unique in the workspace. Without one the member cannot sign in.
    pub email: Option<String>,
    pub role: Role,
}

/// A member who signs in, with their workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccount {
    pub id: String,
    pub workspace_id: String,
    pub workspace_slug: String,
    pub workspace_name: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// Argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
}

/// A stored session and when it was last used (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub account: MemberAccount,
    pub last_seen_ms: i64,
}

/// A page of the workspace's top-level conversations, newest activity first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationsRequest {
    pub workspace_id: String,
    /// The member whose read marks count unread messages; `None` counts none.
    pub reader: Option<String>,
    pub limit: u32,
    /// Where the page starts: a previous page's `nextCursor`.
    pub cursor: Option<ActivityCursor>,
}

/// A position in the order of activity: a conversation's last activity, its
/// last message's `seq` (0 without one: it breaks ties within a millisecond)
/// and id. A conversation active since then moves above it, not into later
/// pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCursor {
    pub last_activity_at: String,
    pub last_seq: i64,
    pub conversation_id: String,
}

/// A member's read mark in a conversation after `mark_read`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadMark {
    pub read_up_to: String,
    /// Customer messages after the mark.
    pub unread_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub workspace_id: String,
    pub conversation_id: String,
    pub limit: u32,
    pub cursor: Option<String>,
    /// As [`NewMessage::only_customer`].
    pub only_customer: Option<String>,
}

/// A place in a topic's messages (a conversation's, or a whole
/// workspace's) that a caller may read from: made only by
/// [`Store::message_cursor`], which checked that they may, or by an event
/// stream's log that did (`MessageCursor::checked`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageCursor {
    topic: Topic,
    workspace_id: String,
    /// The store order ([`StoredMessage::seq`]) of the message it is at; 0 before the first.
    seq: i64,
    message_id: Option<String>,
}

impl MessageCursor {
    /// At `seq` (0 and no message: before the first), for a caller whom the
    /// maker checked may read the topic.
    pub fn checked(topic: Topic, workspace_id: String, seq: i64, message_id: Option<String>) -> MessageCursor {
        MessageCursor { topic, workspace_id, seq, message_id }
    }

    /// Its place in the topic's order (see [`StoredMessage::seq`]).
    pub fn seq(&self) -> i64 {
        self.seq
    }

    pub fn topic(&self) -> &Topic {
        &self.topic
    }

    /// The message it is at; `None` before the topic's first.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// Whether the message is at or before the cursor.
    pub fn has_passed(&self, message: &StoredMessage) -> bool {
        message.seq <= self.seq
    }

    /// Moves on to a message of its topic (others leave it where it is).
    pub fn advance(&mut self, message: &StoredMessage) {
        let of_topic = match &self.topic {
            Topic::Conversation(id) => message.message.conversation_id == *id,
            Topic::Workspace(id) => message.workspace_id == *id,
        };
        if of_topic && message.seq > self.seq {
            self.seq = message.seq;
            self.message_id = Some(message.message.id.clone());
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the store can be read.
    async fn ping(&self) -> Result<()>;
    /// Finds the workspace by slug, creating it and its default member if new.
    async fn ensure_workspace(&self, slug: &str, name: &str) -> Result<Workspace>;
    /// Adds a member; an email already used in the workspace is a conflict.
    async fn create_member(&self, member: &NewMember) -> Result<String>;
    /// Sets the password hash of the workspace's member with this (lower-cased) email.
    async fn set_password(&self, workspace_id: &str, email: &str, password_hash: &str) -> Result<()>;
    /// The member of workspace `slug` with this (lower-cased) email.
    async fn member_by_email(&self, slug: &str, email: &str) -> Result<Option<MemberAccount>>;
    /// Stores a new session, and deletes those last used before `expired_before_ms`.
    async fn create_session(
        &self,
        token_hash: &[u8; 32],
        member_id: &str,
        now_ms: i64,
        expired_before_ms: i64,
    ) -> Result<()>;
    async fn session(&self, token_hash: &[u8; 32]) -> Result<Option<StoredSession>>;
    /// Slides the session's idle expiry forward.
    async fn touch_session(&self, token_hash: &[u8; 32], now_ms: i64) -> Result<()>;
    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()>;
    /// Stores a key (by hash) for a member of the workspace; returns the key's id.
    async fn create_api_key(
        &self,
        workspace_id: &str,
        member_id: &str,
        name: &str,
        role: Role,
        key_hash: &[u8; 32],
    ) -> Result<String>;
    async fn find_api_key(&self, key_hash: &[u8; 32]) -> Result<Option<MemberPrincipal>>;
    async fn create_agent(
        &self,
        workspace_id: &str,
        name: &str,
        image: Option<&str>,
        config: &AgentConfig,
    ) -> Result<String>;
    /// The workspace's agent of this name, its image and config replaced, or
    /// a new one: for seeding what must exist once however often it runs.
    async fn ensure_agent(
        &self,
        workspace_id: &str,
        name: &str,
        image: Option<&str>,
        config: &AgentConfig,
    ) -> Result<String>;

    async fn get_or_create_conversation(&self, req: NewConversation) -> Result<Conversation>;
    async fn create_sub_conversation(&self, req: NewSubConversation) -> Result<Conversation>;
    async fn update_conversation(&self, req: ConversationUpdate) -> Result<Conversation>;
    async fn delete_conversation(&self, workspace_id: &str, id: &str) -> Result<DeleteConversationOutput>;
    /// Moves the guest's conversations to the known customer, in one
    /// transaction: each keeps its id and its messages (their ids and order);
    /// the guest's messages in them, and the files those use, become the
    /// known customer's. With a target parent every claimed conversation
    /// (sub-conversations too, as they do not nest) becomes its child.
    /// Idempotent: a second claim finds nothing left and answers zero counts.
    /// Errors: the guest not in the workspace, or a `conversation_id` that is
    /// neither the guest's nor already the known customer's, is `NotFound`;
    /// the known customer being the guest, a target parent that is a
    /// sub-conversation or not the known customer's, or merged metadata too
    /// large, is `Invalid`.
    async fn claim_guest_conversations(&self, claim: GuestClaim) -> Result<ClaimOutcome>;

    async fn create_template(&self, workspace_id: &str, name: &str, content: &Content) -> Result<Template>;
    async fn template(&self, workspace_id: &str, id: &str) -> Result<Option<Template>>;

    async fn send(&self, msg: NewMessage) -> Result<Message>;
    async fn customer(&self, workspace_id: &str, id: &str) -> Result<Option<CustomerSummary>>;

    /// Claims for `claimant` until `lease` from now at most `limit` pending
    /// requests, oldest first: of each conversation only its oldest pending
    /// one (its replies are written in order, one at a time), and only if
    /// nobody's claim on it is current. No two claimants hold one request;
    /// a claim that was not renewed (its instance died) is taken over.
    async fn claim_ai_requests(&self, claimant: &str, lease: std::time::Duration, limit: usize) -> Result<AiClaims>;
    /// Extends `claimant`'s claims on the requests still pending to `lease` from now.
    async fn renew_ai_claims(&self, claimant: &str, lease: std::time::Duration) -> Result<()>;
    /// The request with what answering it needs; `None` once it is no longer
    /// pending. `history` is how many messages of context to include.
    async fn ai_job(&self, request_id: &str, history: u32) -> Result<Option<AiJob>>;
    /// Stores the reply (or the notice) and closes the request, both or
    /// neither; `None` (nothing stored) when the request is no longer
    /// pending, e.g. cancelled by a hand-off while the reply was written.
    async fn finish_ai_request(
        &self,
        request_id: &str,
        outcome: AiOutcome,
        reply: NewMessage,
    ) -> Result<Option<Message>>;
    /// Stops AI replies in the conversation and cancels the pending ones.
    /// `only_customer` as in [`PageRequest`].
    async fn hand_off(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        only_customer: Option<&str>,
    ) -> Result<Conversation>;
    /// Whether a reply is pending in the conversation, and the newest AI
    /// message after `after` (a message id). `only_customer` as in [`PageRequest`].
    async fn ai_reply_state(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        only_customer: Option<&str>,
        after: Option<&str>,
    ) -> Result<AiReplyState>;

    /// Creates a widget; with a label, the workspace's widget of that label
    /// is updated instead (its key kept, its domains replaced).
    async fn create_widget(
        &self,
        workspace_id: &str,
        label: Option<&str>,
        domains: &[Domain],
        identity_secret: Option<&str>,
    ) -> Result<Widget>;
    async fn widget_by_key(&self, public_key: &str) -> Result<Option<Widget>>;
    /// Whether any widget runs on this host, so browsers there may call the API.
    async fn is_widget_domain(&self, host: &str) -> Result<bool>;
    /// The key visitor tokens are signed with, made on first use.
    async fn token_key(&self) -> Result<[u8; 32]>;
    async fn list_messages(&self, req: PageRequest) -> Result<Page<Message>>;
    /// Where a stream of the topic's messages starts: at the message
    /// `after` names (`field` names it in the error when it is not a
    /// message of the topic), else at the newest one. Not found if the
    /// caller may not read the topic: a conversation of another workspace
    /// or, with `only_customer` (as in [`PageRequest`]), of another
    /// customer; a workspace other than `workspace_id`, or any with
    /// `only_customer`.
    async fn message_cursor(
        &self,
        workspace_id: &str,
        topic: &Topic,
        only_customer: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> Result<MessageCursor>;
    /// The message with its place in store order, if it is still one of the
    /// workspace's: what a notification names (`pg_events`).
    async fn stored_message(&self, workspace_id: &str, id: &str) -> Result<Option<StoredMessage>>;
    /// The first `limit` messages of the cursor's topic after it, in store order.
    ///
    /// "After" must mean "committed after", or a reader resuming from the
    /// newest message it got could miss one committed later with a smaller
    /// position. SQLite has one writer, so `seq` order is commit order;
    /// PostgreSQL draws `seq` under its write lock (see `PgStore`).
    async fn messages_after(&self, cursor: &MessageCursor, limit: u32) -> Result<Vec<StoredMessage>>;

    /// The workspace's top-level conversations, newest activity first; the
    /// page's `nextCursor` is the next page's [`ActivityCursor`].
    async fn list_conversations(
        &self,
        req: ConversationsRequest,
    ) -> Result<(Vec<ConversationSummary>, Option<ActivityCursor>)>;
    /// Moves the member's read mark up to the message (never back); the
    /// message must be one of the conversation's.
    async fn mark_read(
        &self,
        workspace_id: &str,
        member_id: &str,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<ReadMark>;
    /// Turns AI replies back on after a hand-off.
    async fn resume_ai(&self, workspace_id: &str, conversation_id: &str) -> Result<Conversation>;

    /// Records uploads whose bytes are stored: all of them or none.
    async fn insert_files(&self, files: &[NewFile]) -> Result<()>;
    async fn file_by_key(&self, storage_key: &str) -> Result<Option<StoredFile>>;
    /// Deletes the rows of these files, those that no message ever used.
    async fn remove_unused_files(&self, ids: &[String]) -> Result<()>;
    /// Deletes the rows of files that no message uses and that were uploaded
    /// more than `older_than` ago; returns their storage keys, whose bytes are
    /// the caller's to delete. A file attached meanwhile is not among them.
    async fn remove_expired_unused_files(&self, older_than: std::time::Duration) -> Result<Vec<String>>;
    /// Runs `work` unless another instance on this store is running `job`
    /// (on PostgreSQL, a session advisory lock held meanwhile; SQLite's
    /// store has one instance); whether it ran.
    async fn run_exclusively(&self, job: Exclusive, work: ExclusiveWork<'_>) -> Result<bool>;
    /// Frees what it keeps in memory only for speed (a quiet server's).
    async fn release_memory(&self) -> Result<()>;
}
