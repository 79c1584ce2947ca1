//! Messages: sent (idempotently) and listed page by page.

use std::collections::HashMap;

use super::*;

/// A message's sender (name and image) and channel, joined to the message `m`.
const MESSAGE_FROM: &str = "
    FROM messages m
    LEFT JOIN members mem ON m.sender_type = 'workspace' AND mem.id = m.sender_id
    LEFT JOIN customers cus ON m.sender_type = 'customer' AND cus.id = m.sender_id
    LEFT JOIN agents ag ON m.sender_type = 'ai' AND ag.id = m.sender_id
    LEFT JOIN channels ch ON ch.id = m.channel_id";

/// The query of the messages that `tail` chooses (joins, conditions, order
/// and limit after [`MESSAGE_FROM`]): one value, a JSON array of
/// [`MessageRow`]s in store order, each with its attachments. The database
/// builds the array, so a page crosses from its thread as one value, where a
/// row per message and a second query for their files cost a thread switch
/// each (sqlx runs SQLite on a thread of its own).
pub(super) fn messages_query(tail: &str) -> String {
    let files = json_array_agg(
        "'id', f.id, 'name', f.name, 'media_type', f.media_type, 'size', f.size, 'storage_key', f.storage_key",
        "f.created_at, f.id",
    );
    let message = json_array_agg(
        &format!(
            "'seq', p.seq, 'id', p.id, 'conversation_id', p.conversation_id, 'sender_type', p.sender_type,
             'sender_id', p.sender_id, 'sender_name', p.sender_name, 'sender_image', p.sender_image,
             'parent_id', p.parent_id, 'content', {content}, 'flags', {flags}, 'template_id', p.template_id,
             'channel_id', p.channel_id, 'channel_identifier', p.channel_identifier, 'created_at', p.created_at,
             'files', {files}",
            content = json_of("p.content"),
            flags = json_of("p.flags"),
            files = json_of("p.files"),
        ),
        "p.seq",
    );
    format!(
        "SELECT {message} FROM (
             SELECT m.seq, m.id, m.conversation_id, m.sender_type, m.sender_id, m.parent_id, m.content, m.flags,
                    m.template_id, m.created_at,
                    COALESCE(mem.name, cus.name, ag.name) AS sender_name,
                    COALESCE(mem.image, cus.image, ag.image) AS sender_image,
                    ch.id AS channel_id, ch.identifier AS channel_identifier,
                    (SELECT {files} FROM files f WHERE f.message_id = m.id) AS files
             {MESSAGE_FROM} {tail}
         ) p"
    )
}

/// The value of a [`messages_query`].
pub(super) type MessageRows = JsonText<Vec<MessageRow>>;

/// A message of a [`messages_query`].
#[derive(serde::Deserialize)]
pub(super) struct MessageRow {
    /// Store order (see [`crate::hub::StoredMessage::seq`]).
    pub seq: i64,
    pub id: String,
    conversation_id: String,
    sender_type: SenderKind,
    sender_id: String,
    sender_name: Option<String>,
    sender_image: Option<String>,
    parent_id: Option<String>,
    content: Content,
    flags: Vec<String>,
    template_id: Option<String>,
    channel_id: Option<String>,
    channel_identifier: Option<String>,
    created_at: String,
    files: Vec<AttachmentRow>,
}

/// A message's attachment.
#[derive(serde::Deserialize)]
struct AttachmentRow {
    id: String,
    name: String,
    media_type: String,
    size: i64,
    storage_key: String,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        let attachments = row
            .files
            .into_iter()
            .map(|f| Attachment {
                url: asset_path(&f.storage_key),
                id: f.id,
                name: f.name,
                media_type: f.media_type,
                size: f.size.max(0) as u64,
            })
            .collect();
        let channel = match (row.channel_id, row.channel_identifier) {
            (Some(id), Some(identifier)) => Some(ChannelRow { id, identifier }.into()),
            _ => None,
        };
        Message {
            conversation_id: row.conversation_id,
            content: row.content,
            attachments,
            sender: Sender {
                kind: row.sender_type.into(),
                id: row.sender_id,
                name: row.sender_name,
                image: row.sender_image,
            },
            parent_id: row.parent_id,
            flags: row.flags,
            template_id: row.template_id,
            channel,
            created_at: row.created_at,
            id: row.id,
        }
    }
}

/// The messages of `rows`.
pub(super) fn messages(rows: Vec<MessageRow>) -> Vec<Message> {
    rows.into_iter().map(Message::from).collect()
}

/// The position of a message of the conversation, named by the field that gave its id.
pub(super) async fn message_seq(conn: &mut Conn, conversation_id: &str, id: &str, field: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2")
        .bind(id)
        .bind(conversation_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| not_in_conversation(field))
}

/// The message `field` names is not one of the conversation's.
fn not_in_conversation(field: &str) -> StoreError {
    StoreError::invalid(field, "not a message of this conversation")
}

pub(super) async fn load_message(conn: &mut Conn, id: &str) -> Result<Message> {
    Ok(message_row(conn, id).await?.into())
}

/// The stored message `id`, which must be there (one just written, or named by a row that refers to it).
pub(super) async fn message_row(conn: &mut Conn, id: &str) -> Result<MessageRow> {
    let JsonText(mut rows): MessageRows =
        sqlx::query_scalar(&messages_query("WHERE m.id = $1")).bind(id).fetch_one(&mut *conn).await?;
    rows.pop().ok_or_else(|| StoreError::Database(format!("the message {id} is missing").into()))
}

/// What a send needs of its conversation: not its members or channels.
#[derive(sqlx::FromRow, Clone)]
pub(super) struct SendTarget {
    id: String,
    customer_id: Option<String>,
    ai_stopped_at: Option<String>,
}

/// The conversation a message goes to, in the workspace.
pub(super) async fn send_target(conn: &mut Conn, workspace_id: &str, id: &str) -> Result<SendTarget> {
    sqlx::query_as("SELECT id, customer_id, ai_stopped_at FROM conversations WHERE id = $1 AND workspace_id = $2")
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| conversation_not_found(id))
}

/// A message checked against the store and ready to be written with
/// [`write_messages`]: its id and time are chosen, the conversation has
/// adopted its customer if it had none.
pub(super) struct MessageRecord {
    pub id: String,
    conversation_id: String,
    sender_type: SenderKind,
    sender_id: String,
    parent_id: Option<String>,
    /// JSON text, as the column holds it.
    content: String,
    flags: String,
    template_id: Option<String>,
    channel_id: Option<String>,
    idempotency_key: Option<String>,
    /// Hex: the rows travel to the database as JSON.
    request_hash: Option<String>,
    pub created_at: String,
    attachment_ids: Vec<String>,
    /// The AI reply it asks for, unless the conversation was handed off.
    ai: Option<NewAiRequest>,
}

/// Checks the message for `conversation`, which adopts the message's
/// customer if it had none. Nothing of the message itself is written yet.
pub(super) async fn prepare_message(
    conn: &mut Conn,
    msg: &NewMessage,
    conversation: &mut SendTarget,
) -> Result<MessageRecord> {
    let (sender_type, sender_id) = match &msg.author {
        Author::Member(member_id) => (SenderKind::Workspace, member_id.clone()),
        Author::Customer(customer) => {
            let customer_id = resolve_customer(conn, &msg.workspace_id, customer).await?;
            match &conversation.customer_id {
                Some(owner) if *owner != customer_id => {
                    return Err(StoreError::invalid("customer", "is not the customer of this conversation"));
                }
                Some(_) => {}
                // A conversation between members adopts the first customer who writes in it.
                None => {
                    sqlx::query("UPDATE conversations SET customer_id = $1 WHERE id = $2")
                        .bind(&customer_id)
                        .bind(&conversation.id)
                        .execute(&mut *conn)
                        .await?;
                    conversation.customer_id = Some(customer_id.clone());
                }
            }
            (SenderKind::Customer, customer_id)
        }
        Author::Agent(agent_id) => (SenderKind::Ai, agent_id.clone()),
    };
    if let Some(parent_id) = &msg.parent_id {
        message_seq(conn, &conversation.id, parent_id, "parentId").await?;
    }
    let channel = match &msg.channel {
        Some(channel) => Some(resolve_channel(conn, &msg.workspace_id, channel).await?),
        None => None,
    };
    for (i, file_id) in msg.attachment_ids.iter().enumerate() {
        // A visitor's own uploads only; another visitor's file is as unknown as a missing one.
        let used_at: Option<String> = sqlx::query_scalar(
            "SELECT used_at FROM files WHERE id = $1 AND workspace_id = $2
             AND ($3 IS NULL OR (uploader_type = 'customer' AND uploader_id = $3))",
        )
        .bind(file_id)
        .bind(&msg.workspace_id)
        .bind(&msg.only_customer)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::invalid(format!("attachmentIds[{i}]"), "unknown attachment"))?;
        if used_at.is_some() {
            return Err(StoreError::invalid(format!("attachmentIds[{i}]"), "already attached to a message"));
        }
    }
    if let Some(ai) = &msg.ai {
        let agent: Option<String> = sqlx::query_scalar("SELECT id FROM agents WHERE id = $1 AND workspace_id = $2")
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

    Ok(MessageRecord {
        id: ids::new_id("msg"),
        conversation_id: conversation.id.clone(),
        sender_type,
        sender_id,
        parent_id: msg.parent_id.clone(),
        content: json_text(&msg.content)?,
        flags: json_text(&msg.flags)?,
        template_id: msg.template_id.clone(),
        channel_id: channel.map(|c| c.id),
        idempotency_key: msg.idempotency.as_ref().map(|i| i.key.clone()),
        request_hash: msg.idempotency.as_ref().map(|i| hex::encode(i.request_hash)),
        created_at: clock::now(),
        attachment_ids: msg.attachment_ids.clone(),
        // After a hand-off a person answers: the request is not recorded.
        ai: msg.ai.clone().filter(|_| conversation.ai_stopped_at.is_none()),
    })
}

/// Writes `records` with one INSERT (each a round trip to the database
/// otherwise), in their order: store order, see the backend's `write` for
/// why it is commit order. The conversations' `updated_at` is the caller's
/// to set ([`touch_conversation`]): a batch of sends sets it once.
pub(super) async fn write_messages(conn: &mut Conn, records: &[MessageRecord]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = records
        .iter()
        .map(|r| {
            (
                &r.id,
                &r.conversation_id,
                r.sender_type,
                &r.sender_id,
                &r.parent_id,
                &r.content,
                &r.flags,
                &r.template_id,
                &r.channel_id,
                &r.idempotency_key,
                &r.request_hash,
                &r.created_at,
            )
        })
        .collect();
    let column = |i: usize| format!("r.value ->> {i}");
    sqlx::query(&format!(
        "INSERT INTO messages (id, conversation_id, sender_type, sender_id, parent_id, content, flags,
                               template_id, channel_id, idempotency_key, request_hash, created_at)
         SELECT {}, {}, {} FROM {} ORDER BY r.key",
        (0..10).map(column).collect::<Vec<_>>().join(", "),
        hex_bytes(&column(10)),
        column(11),
        json_rows("$1"),
    ))
    .bind(json_text(&rows)?)
    .execute(&mut *conn)
    .await?;
    for record in records {
        for file_id in &record.attachment_ids {
            sqlx::query("UPDATE files SET message_id = $1, used_at = $2 WHERE id = $3")
                .bind(&record.id)
                .bind(&record.created_at)
                .bind(file_id)
                .execute(&mut *conn)
                .await?;
        }
        if let Some(ai) = &record.ai {
            sqlx::query("INSERT INTO ai_requests (id, message_id, agent_id, channel_id, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(ids::new_id("aireq"))
                .bind(&record.id)
                .bind(&ai.agent_id)
                .bind(&ai.channel_id)
                .bind(&record.created_at)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Sets the conversation's `updated_at` to the time of its latest message.
pub(super) async fn touch_conversation(conn: &mut Conn, id: &str, at: &str) -> Result<()> {
    sqlx::query("UPDATE conversations SET updated_at = $1 WHERE id = $2").bind(at).bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// A run of a batch of sends in the transaction of
/// [`GroupCommit`](super::super::group_commit::GroupCommit): each send's
/// checks in turn, then, once for the whole batch, one INSERT of all the
/// new messages (a round trip to the database thread per batch, not per
/// send), each conversation's `updated_at` and one read of the new
/// messages. A send sees the earlier sends of its batch as committed ones:
/// an idempotency key used twice in one batch gives the first message back.
#[derive(Default)]
pub(super) struct SendBatch {
    /// The conversations sent to, by workspace and id, each read once per
    /// batch: a send changes no more of one than the customer it adopts,
    /// which is kept here too.
    targets: HashMap<(String, String), SendTarget>,
    /// The sends checked since the last [`Batch::flush`], written there
    /// with one statement.
    pending: Vec<MessageRecord>,
    /// The time of the latest message of each conversation written to.
    touched: HashMap<String, String>,
    /// What each send that succeeded stored, in order.
    written: Vec<Written>,
}

enum Written {
    New {
        workspace_id: String,
        id: String,
    },
    /// A retried send (same idempotency key): the first one's message.
    Again(Box<Message>),
}

impl Batch<Db> for SendBatch {
    type Req = NewMessage;
    type Resp = Sent;

    async fn write(&mut self, conn: &mut Conn, msg: &NewMessage) -> Result<()> {
        let key = (msg.workspace_id.clone(), msg.conversation_id.clone());
        let mut conversation = match self.targets.get(&key) {
            Some(conversation) => conversation.clone(),
            None => send_target(conn, &msg.workspace_id, &msg.conversation_id).await?,
        };
        if msg.only_customer.is_some() && conversation.customer_id != msg.only_customer {
            return Err(conversation_not_found(&msg.conversation_id));
        }
        if let Some(idem) = &msg.idempotency {
            // A retry in the same batch finds the first send once it is written.
            let retried = |p: &MessageRecord| {
                p.conversation_id == conversation.id && p.idempotency_key.as_ref() == Some(&idem.key)
            };
            if self.pending.iter().any(retried) {
                self.flush(conn).await?;
            }
            let earlier: Option<(String, Vec<u8>)> = sqlx::query_as(
                "SELECT id, request_hash FROM messages WHERE conversation_id = $1 AND idempotency_key = $2",
            )
            .bind(&conversation.id)
            .bind(&idem.key)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some((id, request_hash)) = earlier {
                if request_hash != idem.request_hash {
                    return Err(StoreError::Conflict(
                        "Idempotency-Key was already used for a different message.".into(),
                    ));
                }
                self.written.push(Written::Again(Box::new(load_message(conn, &id).await?)));
                self.targets.insert(key, conversation);
                return Ok(());
            }
        }
        let record = prepare_message(conn, msg, &mut conversation).await?;
        self.targets.insert(key, conversation);
        // In the order of the sends, as `finish` answers them.
        self.written.push(Written::New { workspace_id: msg.workspace_id.clone(), id: record.id.clone() });
        self.pending.push(record);
        Ok(())
    }

    async fn flush(&mut self, conn: &mut Conn) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        if let Err(err) = write_messages(conn, &pending).await {
            // Rolled back with their sends: with a flush after each send, the
            // last one written (a run without savepoints is rolled back
            // whole). A customer adopted on the way may be undone too.
            self.written.truncate(self.written.len() - pending.len());
            self.targets.clear();
            return Err(err);
        }
        for record in pending {
            self.touched.insert(record.conversation_id, record.created_at);
        }
        Ok(())
    }

    async fn finish(self, conn: &mut Conn) -> Result<Vec<Sent>> {
        for (conversation_id, at) in &self.touched {
            touch_conversation(conn, conversation_id, at).await?;
        }
        let ids: Vec<&str> = self
            .written
            .iter()
            .filter_map(|w| match w {
                Written::New { id, .. } => Some(id.as_str()),
                Written::Again(_) => None,
            })
            .collect();
        let rows = match ids.is_empty() {
            true => Vec::new(),
            false => {
                let JsonText(rows): MessageRows =
                    sqlx::query_scalar(&messages_query(&format!("WHERE m.id IN ({})", json_values("$1"))))
                        .bind(json_text(&ids)?)
                        .fetch_one(&mut *conn)
                        .await?;
                rows
            }
        };
        let mut read = rows.into_iter().map(|row| (row.seq, Message::from(row)));
        self.written
            .into_iter()
            .map(|written| match written {
                Written::Again(message) => Ok(Sent::Again(*message)),
                Written::New { workspace_id, id } => match read.next() {
                    Some((seq, message)) if message.id == id => {
                        Ok(Sent::New(StoredMessage { workspace_id, seq, message }))
                    }
                    _ => Err(StoreError::Database(format!("the message {id} just sent was not read back").into())),
                },
            })
            .collect()
    }
}

pub(super) async fn list_messages(store: &Backend, req: PageRequest) -> Result<Page<Message>> {
    let mut conn = store.reader.acquire().await?;
    // One statement, so one trip to the database's thread: whether the
    // caller sees the conversation (no row if not), the cursor's place
    // (NULL if it is not a message of this conversation) and the page. One
    // message more than asked tells whether an older page exists; its id is
    // the next cursor. The page comes oldest first, so that one is the first.
    let cursor_seq = "(SELECT seq FROM messages WHERE id = $4 AND conversation_id = $1)";
    let page = messages_query(&format!(
        "WHERE m.conversation_id = $1 AND ($4 IS NULL OR m.seq <= {cursor_seq}) ORDER BY m.seq DESC LIMIT $5"
    ));
    let found: Option<(Option<i64>, MessageRows)> =
        sqlx::query_as(&format!("SELECT {cursor_seq}, ({page}) FROM conversations c WHERE {VISIBLE_CONVERSATION}"))
            .bind(&req.conversation_id)
            .bind(&req.workspace_id)
            .bind(req.only_customer.as_deref())
            .bind(req.cursor.as_deref())
            .bind(i64::from(req.limit) + 1)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((cursor_seq, JsonText(mut rows))) = found else {
        return Err(conversation_not_found(&req.conversation_id));
    };
    if req.cursor.is_some() && cursor_seq.is_none() {
        return Err(not_in_conversation("cursor"));
    }
    let next_cursor = if rows.len() > req.limit as usize { Some(rows.remove(0).id) } else { None };
    Ok(Page { items: messages(rows), next_cursor })
}

/// The messages of a topic, joined with their conversation `c`: the
/// condition on them, with the topic's id bound at `$1`, and the topic's
/// name in errors.
fn topic_filter(topic: &Topic) -> (&'static str, &str, &'static str) {
    match topic {
        Topic::Conversation(id) => ("m.conversation_id = $1", id, "conversation"),
        Topic::Workspace(id) => ("c.workspace_id = $1", id, "workspace"),
    }
}

pub(super) async fn message_cursor(
    store: &Backend,
    workspace_id: &str,
    topic: &Topic,
    only_customer: Option<&str>,
    after: Option<(&str, &str)>,
) -> Result<MessageCursor> {
    let mut conn = store.reader.acquire().await?;
    match topic {
        Topic::Conversation(id) => visible_conversation(&mut conn, workspace_id, id, only_customer).await?,
        Topic::Workspace(id) if id == workspace_id && only_customer.is_none() => {}
        Topic::Workspace(id) => return Err(StoreError::NotFound(format!("Workspace not found: {id}"))),
    }
    let (filter, topic_id, noun) = topic_filter(topic);
    let from = format!("FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE {filter}");
    let (seq, message_id) = match after {
        Some((field, id)) => sqlx::query_scalar::<_, i64>(&format!("SELECT m.seq {from} AND m.id = $2"))
            .bind(topic_id)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|seq| (seq, Some(id.to_owned())))
            .ok_or_else(|| StoreError::invalid(field, format!("not a message of this {noun}")))?,
        None => sqlx::query_as::<_, (i64, String)>(&format!("SELECT m.seq, m.id {from} ORDER BY m.seq DESC LIMIT 1"))
            .bind(topic_id)
            .fetch_optional(&mut *conn)
            .await?
            .map_or((0, None), |(seq, id)| (seq, Some(id))),
    };
    Ok(MessageCursor { topic: topic.clone(), workspace_id: workspace_id.to_owned(), seq, message_id })
}

pub(super) async fn stored_message(store: &Backend, workspace_id: &str, id: &str) -> Result<Option<StoredMessage>> {
    let mut conn = store.reader.acquire().await?;
    let JsonText(rows): MessageRows = sqlx::query_scalar(&messages_query(
        "JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1 AND c.workspace_id = $2",
    ))
    .bind(id)
    .bind(workspace_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(stored_messages(workspace_id, rows).pop())
}

pub(super) async fn messages_after(store: &Backend, cursor: &MessageCursor, limit: u32) -> Result<Vec<StoredMessage>> {
    let mut conn = store.reader.acquire().await?;
    let (filter, topic_id, _) = topic_filter(&cursor.topic);
    let JsonText(rows): MessageRows = sqlx::query_scalar(&messages_query(&format!(
        "JOIN conversations c ON c.id = m.conversation_id WHERE {filter} AND m.seq > $2 ORDER BY m.seq LIMIT $3"
    )))
    .bind(topic_id)
    .bind(cursor.seq)
    .bind(i64::from(limit))
    .fetch_one(&mut *conn)
    .await?;
    Ok(stored_messages(&cursor.workspace_id, rows))
}

/// `rows` of the workspace as the event streams send them: each message with
/// its place in store order.
fn stored_messages(workspace_id: &str, rows: Vec<MessageRow>) -> Vec<StoredMessage> {
    rows.into_iter()
        .map(|row| StoredMessage { workspace_id: workspace_id.to_owned(), seq: row.seq, message: row.into() })
        .collect()
}
