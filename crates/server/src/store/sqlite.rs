//! The embedded store: SQLite in WAL mode in the data directory.
//!
//! Writes go through a pool of one connection, so write transactions never
//! contend for SQLite's single writer lock; reads use their own pool and see
//! the last committed state. Sends take that connection a batch at a time
//! (see [`super::group_commit`]).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use connect360_api::{
    Attachment, Channel, ChannelType, Content, Conversation, ConversationType,
    DeleteConversationOutput, Message, Metadata, Page, Patch, Sender, SenderType, Template,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::group_commit::GroupCommit;
use super::*;
use crate::ai::AgentConfig;
use crate::auth::{MemberPrincipal, Role};
use crate::validate::{CustomerFields, CustomerKey, CustomerRef, Domain, MAX_METADATA_BYTES};
use crate::{clock, ids};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Sends, committed together on the writer connection.
    sends: GroupCommit<NewMessage, Message>,
}

impl SqliteStore {
    /// Opens (creating if needed) `connect360.db` in `data_dir` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Self, anyhow::Error> {
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
        let sends = GroupCommit::spawn(writer.clone(), |conn, msg| Box::pin(send_in(conn, msg)));
        Ok(SqliteStore { writer, reader, sends })
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

/// Merges `patch` into `base`: a `null` value removes the key.
fn merge_metadata(base: &mut Metadata, patch: &Metadata) {
    for (key, value) in patch {
        if value.is_null() {
            base.remove(key);
        } else {
            base.insert(key.clone(), value.clone());
        }
    }
}

fn conversation_kind(text: &str) -> ConversationType {
    match text {
        "GROUP" => ConversationType::Group,
        _ => ConversationType::Direct,
    }
}

fn kind_text(kind: ConversationType) -> &'static str {
    match kind {
        ConversationType::Direct => "DIRECT",
        ConversationType::Group => "GROUP",
    }
}

fn sender_type(text: &str) -> SenderType {
    match text {
        "customer" => SenderType::Customer,
        "ai" => SenderType::Ai,
        _ => SenderType::Workspace,
    }
}

fn website(id: String, identifier: String) -> Channel {
    Channel { id, kind: ChannelType::Website, identifier }
}

fn agent_config(kind: &str, settings: &str) -> Result<AgentConfig> {
    let settings: serde_json::Value = from_json(settings)?;
    Ok(serde_json::from_value(serde_json::json!({ "kind": kind, "settings": settings }))?)
}

/// An agent's config as its `kind` and `settings` columns.
fn agent_columns(config: &AgentConfig) -> Result<(String, String)> {
    let serde_json::Value::Object(mut tagged) = serde_json::to_value(config)? else {
        return Err(StoreError::Database("an agent config is not a JSON object".into()));
    };
    let kind = tagged.remove("kind").and_then(|k| k.as_str().map(str::to_owned)).unwrap_or_default();
    Ok((kind, json_text(&tagged.remove("settings"))?))
}

// ---------------------------------------------------------------- customers

/// Finds (or, by external id, creates) the customer and applies the given fields.
async fn resolve_customer(conn: &mut SqliteConnection, workspace_id: &str, customer: &CustomerRef) -> Result<String> {
    let now = clock::now();
    let row = match &customer.key {
        CustomerKey::Id(id) => {
            sqlx::query("SELECT id, metadata FROM customers WHERE id = ? AND workspace_id = ?")
                .bind(id)
                .bind(workspace_id)
                .fetch_optional(&mut *conn)
                .await?
        }
        CustomerKey::ExternalId(external) => {
            sqlx::query("SELECT id, metadata FROM customers WHERE external_id = ? AND workspace_id = ?")
                .bind(external)
                .bind(workspace_id)
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    let (id, mut metadata): (String, Metadata) = match (row, &customer.key) {
        (Some(row), _) => (row.get("id"), from_json(row.get::<&str, _>("metadata"))?),
        (None, CustomerKey::Id(id)) => return Err(StoreError::NotFound(format!("Customer not found: {id}"))),
        (None, CustomerKey::ExternalId(external)) => {
            let id = ids::new_id("cus");
            sqlx::query(
                "INSERT INTO customers (id, workspace_id, external_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&id)
            .bind(workspace_id)
            .bind(external)
            .bind(&now)
            .bind(&now)
            .execute(&mut *conn)
            .await?;
            (id, Metadata::new())
        }
    };
    apply_customer_fields(conn, workspace_id, &id, &mut metadata, &customer.fields, &now).await?;
    Ok(id)
}

async fn apply_customer_fields(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    id: &str,
    metadata: &mut Metadata,
    fields: &CustomerFields,
    now: &str,
) -> Result<()> {
    if *fields == CustomerFields::default() {
        return Ok(());
    }
    if let Some(external) = &fields.external_id {
        let taken: Option<String> =
            sqlx::query_scalar("SELECT id FROM customers WHERE workspace_id = ? AND external_id = ? AND id != ?")
                .bind(workspace_id)
                .bind(external)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "customer.externalId: {external} belongs to another customer"
            )));
        }
    }
    if let Some(patch) = &fields.metadata {
        merge_metadata(metadata, patch);
    }
    sqlx::query(
        "UPDATE customers SET external_id = COALESCE(?, external_id), name = COALESCE(?, name),
         email = COALESCE(?, email), phone = COALESCE(?, phone), image = COALESCE(?, image),
         metadata = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&fields.external_id)
    .bind(&fields.name)
    .bind(&fields.email)
    .bind(&fields.phone)
    .bind(&fields.image)
    .bind(json_text(metadata)?)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- channels

async fn website_channel(conn: &mut SqliteConnection, workspace_id: &str, domain: &Domain) -> Result<Channel> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM channels WHERE workspace_id = ? AND kind = 'website' AND identifier = ?")
            .bind(workspace_id)
            .bind(domain.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let id = match existing {
        Some(id) => id,
        None => {
            let id = ids::new_id("chan");
            sqlx::query("INSERT INTO channels (id, workspace_id, kind, identifier, created_at) VALUES (?, ?, 'website', ?, ?)")
                .bind(&id)
                .bind(workspace_id)
                .bind(domain.as_str())
                .bind(clock::now())
                .execute(&mut *conn)
                .await?;
            id
        }
    };
    Ok(website(id, domain.as_str().to_owned()))
}

async fn channel_by_id(conn: &mut SqliteConnection, workspace_id: &str, id: &str, field: &str) -> Result<Channel> {
    let row = sqlx::query("SELECT id, identifier FROM channels WHERE id = ? AND workspace_id = ?")
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::invalid(field, "unknown channel"))?;
    Ok(website(row.get("id"), row.get("identifier")))
}

async fn resolve_channels(conn: &mut SqliteConnection, workspace_id: &str, refs: &ChannelRefs) -> Result<Vec<Channel>> {
    let mut channels = Vec::new();
    for (i, id) in refs.ids.iter().enumerate() {
        channels.push(channel_by_id(conn, workspace_id, id, &format!("channelIds[{i}]")).await?);
    }
    if let Some(domain) = &refs.website {
        let channel = website_channel(conn, workspace_id, domain).await?;
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    Ok(channels)
}

async fn resolve_channel(conn: &mut SqliteConnection, workspace_id: &str, channel: &ChannelRef) -> Result<Channel> {
    match (&channel.id, &channel.website) {
        (Some(id), website) => {
            let found = channel_by_id(conn, workspace_id, id, "channelId").await?;
            match website {
                Some(domain) if domain.as_str() != found.identifier => {
                    Err(StoreError::invalid("channelIdentifier", format!("differs from channel {id}")))
                }
                _ => Ok(found),
            }
        }
        (None, Some(domain)) => website_channel(conn, workspace_id, domain).await,
        (None, None) => Err(StoreError::invalid("channelId", "channelId or channelIdentifier is required")),
    }
}

// ---------------------------------------------------------------- conversations

async fn load_conversation(conn: &mut SqliteConnection, workspace_id: &str, id: &str) -> Result<Conversation> {
    let row = sqlx::query(
        "SELECT id, parent_id, customer_id, kind, name, metadata, ai_stopped_at, created_at, updated_at
         FROM conversations WHERE id = ? AND workspace_id = ?",
    )
    .bind(id)
    .bind(workspace_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("Conversation not found: {id}")))?;
    let member_ids: Vec<String> =
        sqlx::query_scalar("SELECT member_id FROM conversation_members WHERE conversation_id = ? ORDER BY member_id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let channels = sqlx::query(
        "SELECT c.id, c.identifier FROM conversation_channels cc JOIN channels c ON c.id = cc.channel_id
         WHERE cc.conversation_id = ? ORDER BY c.created_at, c.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| website(r.get("id"), r.get("identifier")))
    .collect();
    Ok(Conversation {
        id: row.get("id"),
        name: row.get("name"),
        kind: conversation_kind(row.get("kind")),
        parent_id: row.get("parent_id"),
        customer_id: row.get("customer_id"),
        member_ids,
        channels,
        metadata: from_json(row.get::<&str, _>("metadata"))?,
        ai_stopped_at: row.get("ai_stopped_at"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    })
}

async fn add_members(conn: &mut SqliteConnection, conversation_id: &str, member_ids: &[String]) -> Result<()> {
    for member_id in member_ids {
        sqlx::query("INSERT OR IGNORE INTO conversation_members (conversation_id, member_id) VALUES (?, ?)")
            .bind(conversation_id)
            .bind(member_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn add_channels(conn: &mut SqliteConnection, conversation_id: &str, channels: &[Channel]) -> Result<()> {
    for channel in channels {
        sqlx::query("INSERT OR IGNORE INTO conversation_channels (conversation_id, channel_id) VALUES (?, ?)")
            .bind(conversation_id)
            .bind(&channel.id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The actor plus the named members, each checked to be of the workspace.
async fn participants(conn: &mut SqliteConnection, actor: &Actor, member_ids: &[String]) -> Result<Vec<String>> {
    let mut all = vec![actor.member_id.clone()];
    for (i, member_id) in member_ids.iter().enumerate() {
        let known: Option<String> = sqlx::query_scalar("SELECT id FROM members WHERE id = ? AND workspace_id = ?")
            .bind(member_id)
            .bind(&actor.workspace_id)
            .fetch_optional(&mut *conn)
            .await?;
        if known.is_none() {
            return Err(StoreError::invalid(format!("memberIds[{i}]"), "unknown member"));
        }
        if !all.contains(member_id) {
            all.push(member_id.clone());
        }
    }
    Ok(all)
}

/// A top-level conversation to reuse: the customer's first, or, with no
/// customer, the first whose members are exactly `members`.
async fn reusable_conversation(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    customer_id: Option<&str>,
    members: &[String],
) -> Result<Option<String>> {
    let found = match customer_id {
        Some(customer_id) => {
            sqlx::query_scalar(
                "SELECT id FROM conversations WHERE workspace_id = ? AND customer_id = ? AND parent_id IS NULL
                 ORDER BY created_at, id LIMIT 1",
            )
            .bind(workspace_id)
            .bind(customer_id)
            .fetch_optional(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT c.id FROM conversations c
                 WHERE c.workspace_id = ?1 AND c.customer_id IS NULL AND c.parent_id IS NULL
                   AND (SELECT COUNT(*) FROM conversation_members m WHERE m.conversation_id = c.id) = ?2
                   AND (SELECT COUNT(*) FROM conversation_members m WHERE m.conversation_id = c.id
                        AND m.member_id IN (SELECT value FROM json_each(?3))) = ?2
                 ORDER BY c.created_at, c.id LIMIT 1",
            )
            .bind(workspace_id)
            .bind(members.len() as i64)
            .bind(json_text(&members)?)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    Ok(found)
}

async fn insert_conversation(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    parent_id: Option<&str>,
    customer_id: Option<&str>,
    kind: ConversationType,
    name: Option<&str>,
    metadata: &Metadata,
) -> Result<String> {
    let id = ids::new_id("conv");
    let now = clock::now();
    sqlx::query(
        "INSERT INTO conversations (id, workspace_id, parent_id, customer_id, kind, name, metadata, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(workspace_id)
    .bind(parent_id)
    .bind(customer_id)
    .bind(kind_text(kind))
    .bind(name)
    .bind(json_text(metadata)?)
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

// ---------------------------------------------------------------- messages

const MESSAGE_SELECT: &str = "
    SELECT m.seq, m.id, m.conversation_id, m.sender_type, m.sender_id, m.parent_id, m.content,
           m.flags, m.template_id, m.created_at,
           COALESCE(mem.name, cus.name, ag.name) AS sender_name,
           COALESCE(mem.image, cus.image, ag.image) AS sender_image,
           ch.id AS channel_id, ch.identifier AS channel_identifier
    FROM messages m
    LEFT JOIN members mem ON m.sender_type = 'workspace' AND mem.id = m.sender_id
    LEFT JOIN customers cus ON m.sender_type = 'customer' AND cus.id = m.sender_id
    LEFT JOIN agents ag ON m.sender_type = 'ai' AND ag.id = m.sender_id
    LEFT JOIN channels ch ON ch.id = m.channel_id";

/// Turns message rows into messages, with their attachments in one more query.
async fn messages_from_rows(conn: &mut SqliteConnection, rows: Vec<sqlx::sqlite::SqliteRow>) -> Result<Vec<Message>> {
    let ids: Vec<String> = rows.iter().map(|r| r.get("id")).collect();
    let files = sqlx::query(
        "SELECT id, message_id, storage_key, name, media_type, size FROM files
         WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id",
    )
    .bind(json_text(&ids)?)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let id: String = row.get("id");
            let attachments = files
                .iter()
                .filter(|f| f.get::<&str, _>("message_id") == id)
                .map(|f| Attachment {
                    id: f.get("id"),
                    name: f.get("name"),
                    media_type: f.get("media_type"),
                    size: f.get::<i64, _>("size").max(0) as u64,
                    url: crate::attachments::url::asset_path(f.get("storage_key")),
                })
                .collect();
            let channel_id: Option<String> = row.get("channel_id");
            Ok(Message {
                conversation_id: row.get("conversation_id"),
                content: from_json(row.get::<&str, _>("content"))?,
                attachments,
                sender: Sender {
                    kind: sender_type(row.get("sender_type")),
                    id: row.get("sender_id"),
                    name: row.get("sender_name"),
                    image: row.get("sender_image"),
                },
                parent_id: row.get("parent_id"),
                flags: from_json(row.get::<&str, _>("flags"))?,
                template_id: row.get("template_id"),
                channel: channel_id.map(|cid| website(cid, row.get("channel_identifier"))),
                created_at: row.get("created_at"),
                id,
            })
        })
        .collect()
}

/// Fails with not found unless the conversation is the workspace's (and the customer's, if given).
async fn visible_conversation(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    id: &str,
    only_customer: Option<&str>,
) -> Result<()> {
    let exists: Option<String> = sqlx::query_scalar(
        "SELECT id FROM conversations WHERE id = ? AND workspace_id = ? AND (?3 IS NULL OR customer_id = ?3)",
    )
    .bind(id)
    .bind(workspace_id)
    .bind(only_customer)
    .fetch_optional(&mut *conn)
    .await?;
    match exists {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("Conversation not found: {id}"))),
    }
}

/// The position of a message of the conversation, named by the field that gave its id.
async fn message_seq(conn: &mut SqliteConnection, conversation_id: &str, id: &str, field: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT seq FROM messages WHERE id = ? AND conversation_id = ?")
        .bind(id)
        .bind(conversation_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::invalid(field, "not a message of this conversation"))
}

async fn load_message(conn: &mut SqliteConnection, id: &str) -> Result<Message> {
    let row = sqlx::query(&format!("{MESSAGE_SELECT} WHERE m.id = ?"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let mut messages = messages_from_rows(conn, vec![row]).await?;
    Ok(messages.remove(0))
}

async fn insert_message(conn: &mut SqliteConnection, msg: &NewMessage, conversation: &Conversation) -> Result<String> {
    let (sender_type, sender_id) = match &msg.author {
        Author::Member(member_id) => ("workspace", member_id.clone()),
        Author::Customer(customer) => {
            let customer_id = resolve_customer(conn, &msg.workspace_id, customer).await?;
            match &conversation.customer_id {
                Some(owner) if *owner != customer_id => {
                    return Err(StoreError::invalid("customer", "is not the customer of this conversation"));
                }
                Some(_) => {}
                // A conversation between members adopts the first customer who writes in it.
                None => {
                    sqlx::query("UPDATE conversations SET customer_id = ? WHERE id = ?")
                        .bind(&customer_id)
                        .bind(&conversation.id)
                        .execute(&mut *conn)
                        .await?;
                }
            }
            ("customer", customer_id)
        }
        Author::Agent(agent_id) => ("ai", agent_id.clone()),
    };
    if let Some(parent_id) = &msg.parent_id {
        let parent: Option<i64> = sqlx::query_scalar("SELECT seq FROM messages WHERE id = ? AND conversation_id = ?")
            .bind(parent_id)
            .bind(&conversation.id)
            .fetch_optional(&mut *conn)
            .await?;
        if parent.is_none() {
            return Err(StoreError::invalid("parentId", "not a message of this conversation"));
        }
    }
    let channel = match &msg.channel {
        Some(channel) => Some(resolve_channel(conn, &msg.workspace_id, channel).await?),
        None => None,
    };
    for (i, file_id) in msg.attachment_ids.iter().enumerate() {
        // A visitor's own uploads only; another visitor's file is as unknown as a missing one.
        let row = sqlx::query(
            "SELECT used_at FROM files WHERE id = ?1 AND workspace_id = ?2
             AND (?3 IS NULL OR (uploader_type = 'customer' AND uploader_id = ?3))",
        )
        .bind(file_id)
        .bind(&msg.workspace_id)
        .bind(&msg.only_customer)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::invalid(format!("attachmentIds[{i}]"), "unknown attachment"))?;
        if row.get::<Option<String>, _>("used_at").is_some() {
            return Err(StoreError::invalid(format!("attachmentIds[{i}]"), "already attached to a message"));
        }
    }
    if let Some(ai) = &msg.ai {
        let agent: Option<String> = sqlx::query_scalar("SELECT id FROM agents WHERE id = ? AND workspace_id = ?")
            .bind(&ai.agent_id)
            .bind(&msg.workspace_id)
            .fetch_optional(&mut *conn)
            .await?;
        if agent.is_none() {
            return Err(StoreError::invalid("ai.agentId", "unknown agent"));
        }
        if let Some(channel_id) = &ai.channel_id {
            channel_by_id(conn, &msg.workspace_id, channel_id, "ai.channelId").await?;
        }
    }

    let id = ids::new_id("msg");
    let now = clock::now();
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, sender_type, sender_id, parent_id, content, flags,
                               template_id, channel_id, idempotency_key, request_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(&conversation.id)
    .bind(sender_type)
    .bind(&sender_id)
    .bind(&msg.parent_id)
    .bind(json_text(&msg.content)?)
    .bind(json_text(&msg.flags)?)
    .bind(&msg.template_id)
    .bind(channel.as_ref().map(|c| &c.id))
    .bind(msg.idempotency.as_ref().map(|i| &i.key))
    .bind(msg.idempotency.as_ref().map(|i| i.request_hash.as_slice()))
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    for file_id in &msg.attachment_ids {
        sqlx::query("UPDATE files SET message_id = ?, used_at = ? WHERE id = ?")
            .bind(&id)
            .bind(&now)
            .bind(file_id)
            .execute(&mut *conn)
            .await?;
    }
    // After a hand-off a person answers: the request is not recorded.
    if let Some(ai) = msg.ai.as_ref().filter(|_| conversation.ai_stopped_at.is_none()) {
        sqlx::query("INSERT INTO ai_requests (id, message_id, agent_id, channel_id, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(ids::new_id("aireq"))
            .bind(&id)
            .bind(&ai.agent_id)
            .bind(&ai.channel_id)
            .bind(&now)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE conversations SET updated_at = ? WHERE id = ?")
        .bind(&now)
        .bind(&conversation.id)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// One send, on the connection of the caller's transaction (a batch of
/// [`GroupCommit`]): an earlier send of the batch with the same idempotency
/// key is seen like a committed one.
async fn send_in(conn: &mut SqliteConnection, msg: NewMessage) -> Result<Message> {
    let conversation = load_conversation(conn, &msg.workspace_id, &msg.conversation_id).await?;
    if msg.only_customer.is_some() && conversation.customer_id != msg.only_customer {
        return Err(StoreError::NotFound(format!("Conversation not found: {}", msg.conversation_id)));
    }
    if let Some(idem) = &msg.idempotency {
        let earlier = sqlx::query("SELECT id, request_hash FROM messages WHERE conversation_id = ? AND idempotency_key = ?")
            .bind(&conversation.id)
            .bind(&idem.key)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = earlier {
            if row.get::<Vec<u8>, _>("request_hash") != idem.request_hash {
                return Err(StoreError::Conflict(
                    "Idempotency-Key was already used for a different message.".into(),
                ));
            }
            return load_message(conn, row.get("id")).await;
        }
    }
    let id = insert_message(conn, &msg, &conversation).await?;
    load_message(conn, &id).await
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn ensure_workspace(&self, slug: &str, name: &str) -> Result<Workspace> {
        let mut tx = self.write().await?;
        let existing = sqlx::query(
            "SELECT w.id, m.id AS member_id FROM workspaces w
             JOIN members m ON m.workspace_id = w.id AND m.is_default = 1 WHERE w.slug = ?",
        )
        .bind(slug)
        .fetch_optional(&mut *tx)
        .await?;
        let workspace = match existing {
            Some(row) => Workspace { id: row.get("id"), slug: slug.to_owned(), default_member_id: row.get("member_id") },
            None => {
                let now = clock::now();
                let workspace = Workspace {
                    id: ids::new_id("ws"),
                    slug: slug.to_owned(),
                    default_member_id: ids::new_id("mem"),
                };
                sqlx::query("INSERT INTO workspaces (id, slug, name, created_at) VALUES (?, ?, ?, ?)")
                    .bind(&workspace.id)
                    .bind(slug)
                    .bind(name)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO members (id, workspace_id, name, is_default, created_at) VALUES (?, ?, ?, 1, ?)")
                    .bind(&workspace.default_member_id)
                    .bind(&workspace.id)
                    .bind(format!("{name} support"))
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                workspace
            }
        };
        tx.commit().await?;
        Ok(workspace)
    }

    async fn create_member(&self, workspace_id: &str, name: &str) -> Result<String> {
        let id = ids::new_id("mem");
        sqlx::query("INSERT INTO members (id, workspace_id, name, created_at) VALUES (?, ?, ?, ?)")
            .bind(&id)
            .bind(workspace_id)
            .bind(name)
            .bind(clock::now())
            .execute(&self.writer)
            .await?;
        Ok(id)
    }

    async fn create_api_key(&self, workspace_id: &str, member_id: &str, name: &str, role: Role, key_hash: &[u8; 32]) -> Result<String> {
        let mut tx = self.write().await?;
        let member: Option<String> = sqlx::query_scalar("SELECT id FROM members WHERE id = ? AND workspace_id = ?")
            .bind(member_id)
            .bind(workspace_id)
            .fetch_optional(&mut *tx)
            .await?;
        if member.is_none() {
            return Err(StoreError::NotFound(format!("Member not found in this workspace: {member_id}")));
        }
        let id = ids::new_id("key");
        sqlx::query("INSERT INTO api_keys (id, member_id, name, role, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&id)
            .bind(member_id)
            .bind(name)
            .bind(role.as_str())
            .bind(key_hash.as_slice())
            .bind(clock::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn find_api_key(&self, key_hash: &[u8; 32]) -> Result<Option<MemberPrincipal>> {
        let row = sqlx::query(
            "SELECT k.role, m.id AS member_id, m.workspace_id FROM api_keys k
             JOIN members m ON m.id = k.member_id WHERE k.key_hash = ?",
        )
        .bind(key_hash.as_slice())
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            let role = Role::from_str(row.get("role")).map_err(|e| StoreError::Database(e.into()))?;
            Ok(MemberPrincipal { workspace_id: row.get("workspace_id"), member_id: row.get("member_id"), role })
        })
        .transpose()
    }

    async fn create_agent(&self, workspace_id: &str, name: &str, image: Option<&str>, config: &AgentConfig) -> Result<String> {
        let id = ids::new_id("agent");
        let (kind, settings) = agent_columns(config)?;
        sqlx::query(
            "INSERT INTO agents (id, workspace_id, name, image, kind, settings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(workspace_id)
        .bind(name)
        .bind(image)
        .bind(kind)
        .bind(settings)
        .bind(clock::now())
        .execute(&self.writer)
        .await?;
        Ok(id)
    }

    async fn ensure_agent(&self, workspace_id: &str, name: &str, image: Option<&str>, config: &AgentConfig) -> Result<String> {
        let (kind, settings) = agent_columns(config)?;
        let updated: Option<String> = sqlx::query_scalar(
            "UPDATE agents SET image = ?, kind = ?, settings = ?
             WHERE id = (SELECT id FROM agents WHERE workspace_id = ? AND name = ? ORDER BY created_at, id LIMIT 1)
             RETURNING id",
        )
        .bind(image)
        .bind(&kind)
        .bind(&settings)
        .bind(workspace_id)
        .bind(name)
        .fetch_optional(&self.writer)
        .await?;
        match updated {
            Some(id) => Ok(id),
            None => self.create_agent(workspace_id, name, image, config).await,
        }
    }

    async fn get_or_create_conversation(&self, req: NewConversation) -> Result<Conversation> {
        let ws = &req.actor.workspace_id;
        let mut tx = self.write().await?;
        let customer_id = match &req.customer {
            Some(customer) => Some(resolve_customer(&mut tx, ws, customer).await?),
            None => None,
        };
        let members = participants(&mut tx, &req.actor, &req.member_ids).await?;
        let channels = resolve_channels(&mut tx, ws, &req.channels).await?;
        let id = match reusable_conversation(&mut tx, ws, customer_id.as_deref(), &members).await? {
            Some(id) => id,
            None => {
                insert_conversation(&mut tx, ws, None, customer_id.as_deref(), req.kind, req.name.as_deref(), &req.metadata)
                    .await?
            }
        };
        add_members(&mut tx, &id, &members).await?;
        add_channels(&mut tx, &id, &channels).await?;
        let conversation = load_conversation(&mut tx, ws, &id).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn create_sub_conversation(&self, req: NewSubConversation) -> Result<Conversation> {
        let ws = &req.actor.workspace_id;
        let mut tx = self.write().await?;
        let parent = load_conversation(&mut tx, ws, &req.parent_id).await?;
        if parent.parent_id.is_some() {
            return Err(StoreError::invalid("parentId", "is a sub-conversation; sub-conversations do not nest"));
        }
        let channels = match &req.channels {
            Some(refs) => resolve_channels(&mut tx, ws, refs).await?,
            None => parent.channels.clone(),
        };
        let id = insert_conversation(
            &mut tx,
            ws,
            Some(&parent.id),
            parent.customer_id.as_deref(),
            parent.kind,
            req.name.as_deref(),
            &req.metadata,
        )
        .await?;
        let mut members = parent.member_ids.clone();
        members.push(req.actor.member_id.clone());
        add_members(&mut tx, &id, &members).await?;
        add_channels(&mut tx, &id, &channels).await?;
        let conversation = load_conversation(&mut tx, ws, &id).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn update_conversation(&self, req: ConversationUpdate) -> Result<Conversation> {
        let ws = &req.workspace_id;
        let mut tx = self.write().await?;
        let mut current = load_conversation(&mut tx, ws, &req.id).await?;
        let name = match req.name {
            Patch::Unchanged => current.name.clone(),
            Patch::Clear => None,
            Patch::Set(name) => Some(name),
        };
        if let Some(patch) = &req.metadata {
            merge_metadata(&mut current.metadata, patch);
            if json_text(&current.metadata)?.len() > MAX_METADATA_BYTES {
                return Err(StoreError::invalid(
                    "metadata",
                    format!("at most {MAX_METADATA_BYTES} bytes of JSON once merged"),
                ));
            }
        }
        let parent_id = match req.parent_id {
            Patch::Unchanged => current.parent_id.clone(),
            Patch::Clear => None,
            Patch::Set(parent_id) => {
                if parent_id == req.id {
                    return Err(StoreError::invalid("parentId", "a conversation cannot be its own parent"));
                }
                let parent = match load_conversation(&mut tx, ws, &parent_id).await {
                    Err(StoreError::NotFound(_)) => return Err(StoreError::invalid("parentId", "unknown conversation")),
                    other => other?,
                };
                if parent.parent_id.is_some() {
                    return Err(StoreError::invalid("parentId", "is a sub-conversation; sub-conversations do not nest"));
                }
                let children: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE parent_id = ?")
                    .bind(&req.id)
                    .fetch_one(&mut *tx)
                    .await?;
                if children > 0 {
                    return Err(StoreError::invalid("parentId", "this conversation has sub-conversations of its own"));
                }
                Some(parent_id)
            }
        };
        sqlx::query("UPDATE conversations SET name = ?, metadata = ?, parent_id = ?, updated_at = ? WHERE id = ?")
            .bind(&name)
            .bind(json_text(&current.metadata)?)
            .bind(&parent_id)
            .bind(clock::now())
            .bind(&req.id)
            .execute(&mut *tx)
            .await?;
        let conversation = load_conversation(&mut tx, ws, &req.id).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn delete_conversation(&self, workspace_id: &str, id: &str) -> Result<DeleteConversationOutput> {
        let mut tx = self.write().await?;
        load_conversation(&mut tx, workspace_id, id).await?;
        // Sub-conversations and all messages go with it (ON DELETE CASCADE).
        let children = sqlx::query("DELETE FROM conversations WHERE parent_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM conversations WHERE id = ?").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(DeleteConversationOutput { id: id.to_owned(), deleted_sub_conversations: children })
    }

    async fn create_template(&self, workspace_id: &str, name: &str, content: &Content) -> Result<Template> {
        let template = Template {
            id: ids::new_id("tpl"),
            name: name.to_owned(),
            content: content.clone(),
            created_at: clock::now(),
        };
        let result = sqlx::query("INSERT INTO templates (id, workspace_id, name, content, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&template.id)
            .bind(workspace_id)
            .bind(name)
            .bind(json_text(content)?)
            .bind(&template.created_at)
            .execute(&self.writer)
            .await;
        match result {
            Ok(_) => Ok(template),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict(format!("name: a template named {name:?} exists already")))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn template(&self, workspace_id: &str, id: &str) -> Result<Option<Template>> {
        let row = sqlx::query("SELECT id, name, content, created_at FROM templates WHERE id = ? AND workspace_id = ?")
            .bind(id)
            .bind(workspace_id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|row| {
            Ok(Template {
                id: row.get("id"),
                name: row.get("name"),
                content: from_json(row.get::<&str, _>("content"))?,
                created_at: row.get("created_at"),
            })
        })
        .transpose()
    }

    async fn send(&self, msg: NewMessage) -> Result<Message> {
        self.sends.write(msg).await
    }

    async fn customer(&self, workspace_id: &str, id: &str) -> Result<Option<CustomerSummary>> {
        let row = sqlx::query("SELECT id, external_id, name FROM customers WHERE id = ? AND workspace_id = ?")
            .bind(id)
            .bind(workspace_id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|r| CustomerSummary { id: r.get("id"), external_id: r.get("external_id"), name: r.get("name") }))
    }

    async fn pending_ai_requests(&self) -> Result<Vec<PendingAiRequest>> {
        Ok(sqlx::query(
            "SELECT r.id, m.conversation_id FROM ai_requests r JOIN messages m ON m.id = r.message_id
             WHERE r.status = 'pending' ORDER BY r.created_at, r.id",
        )
        .fetch_all(&self.reader)
        .await?
        .into_iter()
        .map(|r| PendingAiRequest { id: r.get("id"), conversation_id: r.get("conversation_id") })
        .collect())
    }

    async fn ai_job(&self, request_id: &str, history: u32) -> Result<Option<AiJob>> {
        let mut conn = self.reader.acquire().await?;
        let Some(row) = sqlx::query(
            "SELECT r.message_id, r.agent_id, r.channel_id, a.workspace_id, a.name, a.image, a.kind, a.settings, m.seq, m.conversation_id
             FROM ai_requests r JOIN agents a ON a.id = r.agent_id JOIN messages m ON m.id = r.message_id
             WHERE r.id = ? AND r.status = 'pending'",
        )
        .bind(request_id)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let mut rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = ? AND m.seq <= ? ORDER BY m.seq DESC LIMIT ?"
        ))
        .bind(row.get::<String, _>("conversation_id"))
        .bind(row.get::<i64, _>("seq"))
        .bind(i64::from(history.max(1)))
        .fetch_all(&mut *conn)
        .await?;
        rows.reverse();
        let history = messages_from_rows(&mut conn, rows).await?;
        let trigger = history
            .last()
            .cloned()
            .ok_or_else(|| StoreError::Database("an AI request's message is missing".into()))?;
        let channel_id: Option<String> = row.get("channel_id");
        Ok(Some(AiJob {
            request_id: request_id.to_owned(),
            workspace_id: row.get("workspace_id"),
            agent: Sender { kind: SenderType::Ai, id: row.get("agent_id"), name: row.get("name"), image: row.get("image") },
            config: agent_config(row.get("kind"), row.get("settings"))?,
            channel_id: channel_id.or_else(|| trigger.channel.as_ref().map(|c| c.id.clone())),
            trigger,
            history,
        }))
    }

    async fn finish_ai_request(&self, request_id: &str, outcome: AiOutcome, reply: NewMessage) -> Result<Option<Message>> {
        let mut tx = self.write().await?;
        let closed = sqlx::query("UPDATE ai_requests SET status = ? WHERE id = ? AND status = 'pending'")
            .bind(outcome.as_str())
            .bind(request_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if closed == 0 {
            return Ok(None);
        }
        let conversation = load_conversation(&mut tx, &reply.workspace_id, &reply.conversation_id).await?;
        let id = insert_message(&mut tx, &reply, &conversation).await?;
        let message = load_message(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(Some(message))
    }

    async fn hand_off(&self, workspace_id: &str, conversation_id: &str, only_customer: Option<&str>) -> Result<Conversation> {
        let mut tx = self.write().await?;
        visible_conversation(&mut tx, workspace_id, conversation_id, only_customer).await?;
        let now = clock::now();
        // The first hand-off's time stands; asking again changes nothing.
        sqlx::query("UPDATE conversations SET ai_stopped_at = ?1, updated_at = ?1 WHERE id = ?2 AND ai_stopped_at IS NULL")
            .bind(&now)
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE ai_requests SET status = 'cancelled' WHERE status = 'pending'
             AND message_id IN (SELECT id FROM messages WHERE conversation_id = ?)",
        )
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
        let conversation = load_conversation(&mut tx, workspace_id, conversation_id).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn create_widget(
        &self,
        workspace_id: &str,
        label: Option<&str>,
        domains: &[Domain],
        identity_secret: Option<&str>,
    ) -> Result<Widget> {
        let mut tx = self.write().await?;
        let existing: Option<String> = match label {
            Some(label) => sqlx::query_scalar("SELECT id FROM widgets WHERE workspace_id = ? AND label = ?")
                .bind(workspace_id)
                .bind(label)
                .fetch_optional(&mut *tx)
                .await?,
            None => None,
        };
        let id = match existing {
            Some(id) => {
                sqlx::query("UPDATE widgets SET identity_secret = ? WHERE id = ?")
                    .bind(identity_secret)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM widget_domains WHERE widget_id = ?").bind(&id).execute(&mut *tx).await?;
                id
            }
            None => {
                let id = ids::new_id("wid");
                sqlx::query(
                    "INSERT INTO widgets (id, workspace_id, public_key, label, identity_secret, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(&id)
                .bind(workspace_id)
                .bind(ids::new_secret("wk", 16))
                .bind(label)
                .bind(identity_secret)
                .bind(clock::now())
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        for domain in domains {
            sqlx::query("INSERT OR IGNORE INTO widget_domains (widget_id, domain) VALUES (?, ?)")
                .bind(&id)
                .bind(domain.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let key: String = sqlx::query_scalar("SELECT public_key FROM widgets WHERE id = ?").bind(&id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        self.widget_by_key(&key)
            .await?
            .ok_or_else(|| StoreError::Database("the widget just written is missing".into()))
    }

    async fn widget_by_key(&self, public_key: &str) -> Result<Option<Widget>> {
        let Some(row) = sqlx::query(
            "SELECT w.id, w.workspace_id, w.public_key, w.identity_secret, m.id AS member_id
             FROM widgets w JOIN members m ON m.workspace_id = w.workspace_id AND m.is_default = 1
             WHERE w.public_key = ?",
        )
        .bind(public_key)
        .fetch_optional(&self.reader)
        .await?
        else {
            return Ok(None);
        };
        let id: String = row.get("id");
        let domains = sqlx::query_scalar("SELECT domain FROM widget_domains WHERE widget_id = ? ORDER BY domain")
            .bind(&id)
            .fetch_all(&self.reader)
            .await?;
        Ok(Some(Widget {
            id,
            workspace_id: row.get("workspace_id"),
            public_key: row.get("public_key"),
            default_member_id: row.get("member_id"),
            domains,
            identity_secret: row.get("identity_secret"),
        }))
    }

    async fn is_widget_domain(&self, host: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM widget_domains WHERE domain = ? LIMIT 1")
            .bind(host)
            .fetch_optional(&self.reader)
            .await?;
        Ok(found.is_some())
    }

    async fn token_key(&self) -> Result<[u8; 32]> {
        let fresh: [u8; 32] = rand::random();
        sqlx::query("INSERT OR IGNORE INTO server_secrets (name, value) VALUES ('visitor_token_key', ?)")
            .bind(fresh.as_slice())
            .execute(&self.writer)
            .await?;
        let stored: Vec<u8> = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'visitor_token_key'")
            .fetch_one(&self.writer)
            .await?;
        stored
            .try_into()
            .map_err(|_| StoreError::Database("the visitor token key is not 32 bytes".into()))
    }

    async fn list_messages(&self, req: PageRequest) -> Result<Page<Message>> {
        let mut conn = self.reader.acquire().await?;
        visible_conversation(&mut conn, &req.workspace_id, &req.conversation_id, req.only_customer.as_deref()).await?;
        let before = match &req.cursor {
            Some(cursor) => Some(message_seq(&mut conn, &req.conversation_id, cursor, "cursor").await?),
            None => None,
        };
        // One row more than asked tells whether an older page exists; its id is the cursor.
        let mut rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = ?1 AND (?2 IS NULL OR m.seq <= ?2) ORDER BY m.seq DESC LIMIT ?3"
        ))
        .bind(&req.conversation_id)
        .bind(before)
        .bind(i64::from(req.limit) + 1)
        .fetch_all(&mut *conn)
        .await?;
        let next_cursor = if rows.len() > req.limit as usize {
            rows.pop().map(|row| row.get::<String, _>("id"))
        } else {
            None
        };
        rows.reverse();
        let items = messages_from_rows(&mut conn, rows).await?;
        Ok(Page { items, next_cursor })
    }

    async fn ai_reply_state(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        only_customer: Option<&str>,
        after: Option<&str>,
    ) -> Result<AiReplyState> {
        let mut conn = self.reader.acquire().await?;
        visible_conversation(&mut conn, workspace_id, conversation_id, only_customer).await?;
        let after = match after {
            Some(id) => Some(message_seq(&mut conn, conversation_id, id, "lastMessageId").await?),
            None => None,
        };
        let pending: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM ai_requests r JOIN messages m ON m.id = r.message_id
             WHERE m.conversation_id = ? AND r.status = 'pending' LIMIT 1",
        )
        .bind(conversation_id)
        .fetch_optional(&mut *conn)
        .await?;
        let rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = ?1 AND m.sender_type = 'ai' AND (?2 IS NULL OR m.seq > ?2)
             ORDER BY m.seq DESC LIMIT 1"
        ))
        .bind(conversation_id)
        .bind(after)
        .fetch_all(&mut *conn)
        .await?;
        let latest = messages_from_rows(&mut conn, rows).await?.pop();
        Ok(AiReplyState { pending: pending.is_some(), latest })
    }

    async fn insert_files(&self, files: &[NewFile]) -> Result<()> {
        let mut tx = self.write().await?;
        let now = clock::now();
        for file in files {
            let (uploader_type, uploader_id) = match &file.uploader {
                Uploader::Member(id) => ("workspace", id),
                Uploader::Customer(id) => ("customer", id),
            };
            sqlx::query(
                "INSERT INTO files (id, workspace_id, storage_key, name, media_type, size, uploader_type, uploader_id, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&file.id)
            .bind(&file.workspace_id)
            .bind(&file.storage_key)
            .bind(&file.name)
            .bind(&file.media_type)
            .bind(i64::try_from(file.size).map_err(|e| StoreError::Database(Box::new(e)))?)
            .bind(uploader_type)
            .bind(uploader_id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn file_by_key(&self, storage_key: &str) -> Result<Option<StoredFile>> {
        let row = sqlx::query(
            "SELECT f.id, f.workspace_id, f.storage_key, f.name, f.media_type, f.size, f.uploader_type,
                    f.uploader_id, c.customer_id AS conversation_customer_id
             FROM files f
             LEFT JOIN messages m ON m.id = f.message_id
             LEFT JOIN conversations c ON c.id = m.conversation_id
             WHERE f.storage_key = ?",
        )
        .bind(storage_key)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|r| {
            let uploader_id: String = r.get("uploader_id");
            StoredFile {
                id: r.get("id"),
                workspace_id: r.get("workspace_id"),
                storage_key: r.get("storage_key"),
                name: r.get("name"),
                media_type: r.get("media_type"),
                size: r.get::<i64, _>("size").max(0) as u64,
                uploader: match r.get::<&str, _>("uploader_type") {
                    "customer" => Uploader::Customer(uploader_id),
                    _ => Uploader::Member(uploader_id),
                },
                conversation_customer_id: r.get("conversation_customer_id"),
            }
        }))
    }

    async fn remove_unused_files(&self, ids: &[String]) -> Result<()> {
        sqlx::query("DELETE FROM files WHERE id IN (SELECT value FROM json_each(?)) AND used_at IS NULL")
            .bind(json_text(&ids)?)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn remove_expired_unused_files(&self, older_than: Duration) -> Result<Vec<String>> {
        let age = time::Duration::try_from(older_than).map_err(|e| StoreError::Database(Box::new(e)))?;
        let cutoff = clock::format(time::OffsetDateTime::now_utc() - age);
        // One statement under the single writer: a send that attaches the
        // file either ran before (the file is used) or will find it gone.
        let keys = sqlx::query_scalar(
            "DELETE FROM files WHERE message_id IS NULL AND created_at < ? RETURNING storage_key",
        )
        .bind(cutoff)
        .fetch_all(&self.writer)
        .await?;
        Ok(keys)
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
}
