//! The embedded store: SQLite in WAL mode in the data directory.
//!
//! Writes go through a pool of one connection, so write transactions never
//! contend for SQLite's single writer lock; reads use their own pool and see
//! the last committed state. Sends take that connection a batch at a time
//! (see [`super::group_commit`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use connect360_api::{
    Attachment, Channel, ChannelType, Content, Conversation, ConversationType,
    DeleteConversationOutput, Message, Metadata, Page, Patch, Sender, SenderType, Template,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::types::Json;
use sqlx::{Connection, SqliteConnection, SqlitePool};

use super::group_commit::GroupCommit;
use super::*;
use crate::domain::files::asset_path;
use crate::domain::{AgentConfig, Credential, CustomerFields, CustomerKey, CustomerRef, Domain, MAX_METADATA_BYTES, MemberPrincipal, Role};
use crate::hub::{Event, EventBus, StoredMessage};
use crate::{clock, ids};

mod agents;
mod ai;
mod channels;
mod claims;
mod columns;
mod conversations;
mod customers;
mod files;
mod inbox;
mod members;
mod messages;
mod templates;
mod widgets;
mod workspaces;

// The helpers that more than one resource uses.
use self::{agents::*, channels::*, columns::*, conversations::*, customers::*, messages::*};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Sends, committed together on the writer connection.
    sends: GroupCommit<NewMessage, Sent>,
    /// Told of each message once it is committed, in commit order.
    events: Arc<dyn EventBus>,
}

/// What a send stored.
pub(super) enum Sent {
    New(StoredMessage),
    /// A retried send (same idempotency key): the first one's message, not published again.
    Again(Message),
}

impl SqliteStore {
    /// Opens (creating if needed) `connect360.db` in `data_dir` and migrates
    /// it. Every message it stores is published to `events` after its commit,
    /// while the writer connection is still held: one writer means the
    /// events come in commit order, the order of `messages.seq`.
    pub async fn open(data_dir: &Path, events: Arc<dyn EventBus>) -> Result<Self, anyhow::Error> {
        use anyhow::Context;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("connect360.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a send is on disk before it is acknowledged.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening the store in {}", data_dir.display()))?;
        MIGRATOR.run(&writer).await.context("migrating the store")?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .context("opening the store for reading")?;
        let published = events.clone();
        let sends = GroupCommit::spawn(
            writer.clone(),
            |conn, msg| Box::pin(async move { send_in(conn, &msg).await }),
            move |sent| {
                if let Sent::New(stored) = sent {
                    published.publish(Event::Message(stored.clone()));
                }
            },
        );
        Ok(SqliteStore { writer, reader, sends, events })
    }
}

impl SqliteStore {
    /// A write transaction that takes SQLite's write lock at BEGIN. A deferred
    /// one that reads first fails at once (SQLITE_BUSY_SNAPSHOT, no busy wait)
    /// when another process wrote in between, e.g. an admin command run
    /// beside the server.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn json_text<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    Ok(serde_json::from_str(text)?)
}

/// Merges `patch` into `base`: a `null` value removes the key; the other
/// keys keep their order.
fn merge_metadata(base: &mut Metadata, patch: &Metadata) {
    for (key, value) in patch {
        if value.is_null() {
            base.shift_remove(key);
        } else {
            base.insert(key.clone(), value.clone());
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn customer(&self, workspace_id: &str, id: &str) -> Result<Option<CustomerSummary>> {
        customers::customer(self, workspace_id, id).await
    }

    async fn get_or_create_conversation(&self, req: NewConversation) -> Result<Conversation> {
        conversations::get_or_create_conversation(self, req).await
    }

    async fn create_sub_conversation(&self, req: NewSubConversation) -> Result<Conversation> {
        conversations::create_sub_conversation(self, req).await
    }

    async fn update_conversation(&self, req: ConversationUpdate) -> Result<Conversation> {
        conversations::update_conversation(self, req).await
    }

    async fn delete_conversation(&self, workspace_id: &str, id: &str) -> Result<DeleteConversationOutput> {
        conversations::delete_conversation(self, workspace_id, id).await
    }

    async fn claim_guest_conversations(&self, claim: GuestClaim) -> Result<ClaimOutcome> {
        claims::claim_guest_conversations(self, claim).await
    }

    async fn hand_off(&self, workspace_id: &str, conversation_id: &str, only_customer: Option<&str>) -> Result<Conversation> {
        conversations::hand_off(self, workspace_id, conversation_id, only_customer).await
    }

    async fn send(&self, msg: NewMessage) -> Result<Message> {
        Ok(match self.sends.write(msg).await? {
            Sent::New(stored) => stored.message,
            Sent::Again(message) => message,
        })
    }

    async fn list_messages(&self, req: PageRequest) -> Result<Page<Message>> {
        messages::list_messages(self, req).await
    }

    async fn list_conversations(&self, req: ConversationsRequest) -> Result<(Vec<ConversationSummary>, Option<ActivityCursor>)> {
        inbox::list_conversations(self, req).await
    }

    async fn message_position(&self, workspace_id: &str, message_id: &str) -> Result<Option<i64>> {
        inbox::message_position(self, workspace_id, message_id).await
    }

    async fn workspace_messages_after(&self, workspace_id: &str, after_seq: i64, limit: u32) -> Result<Vec<StoredMessage>> {
        inbox::workspace_messages_after(self, workspace_id, after_seq, limit).await
    }

    async fn mark_read(&self, workspace_id: &str, member_id: &str, conversation_id: &str, message_id: &str) -> Result<ReadMark> {
        members::mark_read(self, workspace_id, member_id, conversation_id, message_id).await
    }

    async fn resume_ai(&self, workspace_id: &str, conversation_id: &str) -> Result<Conversation> {
        conversations::resume_ai(self, workspace_id, conversation_id).await
    }

    async fn create_template(&self, workspace_id: &str, name: &str, content: &Content) -> Result<Template> {
        templates::create_template(self, workspace_id, name, content).await
    }

    async fn template(&self, workspace_id: &str, id: &str) -> Result<Option<Template>> {
        templates::template(self, workspace_id, id).await
    }

    async fn ensure_workspace(&self, slug: &str, name: &str) -> Result<Workspace> {
        workspaces::ensure_workspace(self, slug, name).await
    }

    async fn create_member(&self, member: &NewMember) -> Result<String> {
        members::create_member(self, member).await
    }

    async fn set_password(&self, workspace_id: &str, email: &str, password_hash: &str) -> Result<()> {
        members::set_password(self, workspace_id, email, password_hash).await
    }

    async fn member_by_email(&self, slug: &str, email: &str) -> Result<Option<MemberAccount>> {
        members::member_by_email(self, slug, email).await
    }

    async fn create_session(&self, token_hash: &[u8; 32], member_id: &str, now_ms: i64, expired_before_ms: i64) -> Result<()> {
        members::create_session(self, token_hash, member_id, now_ms, expired_before_ms).await
    }

    async fn session(&self, token_hash: &[u8; 32]) -> Result<Option<StoredSession>> {
        members::session(self, token_hash).await
    }

    async fn touch_session(&self, token_hash: &[u8; 32], now_ms: i64) -> Result<()> {
        members::touch_session(self, token_hash, now_ms).await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        members::delete_session(self, token_hash).await
    }

    async fn create_api_key(&self, workspace_id: &str, member_id: &str, name: &str, role: Role, key_hash: &[u8; 32]) -> Result<String> {
        workspaces::create_api_key(self, workspace_id, member_id, name, role, key_hash).await
    }

    async fn find_api_key(&self, key_hash: &[u8; 32]) -> Result<Option<MemberPrincipal>> {
        workspaces::find_api_key(self, key_hash).await
    }

    async fn token_key(&self) -> Result<[u8; 32]> {
        workspaces::token_key(self).await
    }

    async fn create_widget(&self, workspace_id: &str, label: Option<&str>, domains: &[Domain], identity_secret: Option<&str>) -> Result<Widget> {
        widgets::create_widget(self, workspace_id, label, domains, identity_secret).await
    }

    async fn widget_by_key(&self, public_key: &str) -> Result<Option<Widget>> {
        widgets::widget_by_key(self, public_key).await
    }

    async fn is_widget_domain(&self, host: &str) -> Result<bool> {
        widgets::is_widget_domain(self, host).await
    }

    async fn create_agent(&self, workspace_id: &str, name: &str, image: Option<&str>, config: &AgentConfig) -> Result<String> {
        agents::create_agent(self, workspace_id, name, image, config).await
    }

    async fn ensure_agent(&self, workspace_id: &str, name: &str, image: Option<&str>, config: &AgentConfig) -> Result<String> {
        agents::ensure_agent(self, workspace_id, name, image, config).await
    }

    async fn pending_ai_requests(&self) -> Result<Vec<PendingAiRequest>> {
        ai::pending_ai_requests(self).await
    }

    async fn ai_job(&self, request_id: &str, history: u32) -> Result<Option<AiJob>> {
        ai::ai_job(self, request_id, history).await
    }

    async fn finish_ai_request(&self, request_id: &str, outcome: AiOutcome, reply: NewMessage) -> Result<Option<Message>> {
        ai::finish_ai_request(self, request_id, outcome, reply).await
    }

    async fn ai_reply_state(&self, workspace_id: &str, conversation_id: &str, only_customer: Option<&str>, after: Option<&str>) -> Result<AiReplyState> {
        ai::ai_reply_state(self, workspace_id, conversation_id, only_customer, after).await
    }

    async fn insert_files(&self, files: &[NewFile]) -> Result<()> {
        files::insert_files(self, files).await
    }

    async fn file_by_key(&self, storage_key: &str) -> Result<Option<StoredFile>> {
        files::file_by_key(self, storage_key).await
    }

    async fn remove_unused_files(&self, ids: &[String]) -> Result<()> {
        files::remove_unused_files(self, ids).await
    }

    async fn remove_expired_unused_files(&self, older_than: Duration) -> Result<Vec<String>> {
        files::remove_expired_unused_files(self, older_than).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn metadata_merge_sets_and_removes() {
        let mut base: Metadata = serde_json::from_value(json!({"a": 1, "b": 2})).unwrap();
        let patch: Metadata = serde_json::from_value(json!({"b": null, "c": 3})).unwrap();
        merge_metadata(&mut base, &patch);
        assert_eq!(Value::Object(base), json!({"a": 1, "c": 3}));
    }

    #[test]
    fn metadata_merge_keeps_the_order_of_keys() {
        let mut base: Metadata = serde_json::from_str(r#"{"z":1,"a":2,"m":3}"#).unwrap();
        merge_metadata(&mut base, &serde_json::from_str(r#"{"z":null,"b":4}"#).unwrap());
        assert_eq!(serde_json::to_string(&base).unwrap(), r#"{"a":2,"m":3,"b":4}"#);
    }
}
