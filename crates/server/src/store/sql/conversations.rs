//! Conversations: created or reused, updated, deleted, handed off to a person.

use super::*;

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: String,
    parent_id: Option<String>,
    customer_id: Option<String>,
    kind: ConversationKind,
    name: Option<String>,
    metadata: JsonText<Metadata>,
    ai_stopped_at: Option<String>,
    created_at: String,
    updated_at: String,
}

pub(super) async fn load_conversation(conn: &mut Conn, workspace_id: &str, id: &str) -> Result<Conversation> {
    let row: ConversationRow = sqlx::query_as(
        "SELECT id, parent_id, customer_id, kind, name, metadata, ai_stopped_at, created_at, updated_at
         FROM conversations WHERE id = $1 AND workspace_id = $2",
    )
    .bind(id)
    .bind(workspace_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| conversation_not_found(id))?;
    let member_ids: Vec<String> =
        sqlx::query_scalar("SELECT member_id FROM conversation_members WHERE conversation_id = $1 ORDER BY member_id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let channels = sqlx::query_as::<_, ChannelRow>(
        "SELECT c.id, c.identifier FROM conversation_channels cc JOIN channels c ON c.id = cc.channel_id
         WHERE cc.conversation_id = $1 ORDER BY c.created_at, c.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Channel::from)
    .collect();
    Ok(Conversation {
        id: row.id,
        name: row.name,
        kind: row.kind.into(),
        parent_id: row.parent_id,
        customer_id: row.customer_id,
        member_ids,
        channels,
        metadata: row.metadata.0,
        ai_stopped_at: row.ai_stopped_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(super) async fn add_members(conn: &mut Conn, conversation_id: &str, member_ids: &[String]) -> Result<()> {
    for member_id in member_ids {
        sqlx::query(
            "INSERT INTO conversation_members (conversation_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(conversation_id)
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn add_channels(conn: &mut Conn, conversation_id: &str, channels: &[Channel]) -> Result<()> {
    for channel in channels {
        sqlx::query(
            "INSERT INTO conversation_channels (conversation_id, channel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(conversation_id)
        .bind(&channel.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The actor plus the named members, each checked to be of the workspace.
pub(super) async fn participants(conn: &mut Conn, actor: &Actor, member_ids: &[String]) -> Result<Vec<String>> {
    let mut all = vec![actor.member_id.clone()];
    for (i, member_id) in member_ids.iter().enumerate() {
        let known: Option<String> = sqlx::query_scalar("SELECT id FROM members WHERE id = $1 AND workspace_id = $2")
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
pub(super) async fn reusable_conversation(
    conn: &mut Conn,
    workspace_id: &str,
    customer_id: Option<&str>,
    members: &[String],
) -> Result<Option<String>> {
    let found = match customer_id {
        Some(customer_id) => {
            sqlx::query_scalar(
                "SELECT id FROM conversations WHERE workspace_id = $1 AND customer_id = $2 AND parent_id IS NULL
                 ORDER BY created_at, id LIMIT 1",
            )
            .bind(workspace_id)
            .bind(customer_id)
            .fetch_optional(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_scalar(&format!(
                "SELECT c.id FROM conversations c
                 WHERE c.workspace_id = $1 AND c.customer_id IS NULL AND c.parent_id IS NULL
                   AND (SELECT COUNT(*) FROM conversation_members m WHERE m.conversation_id = c.id) = $2
                   AND (SELECT COUNT(*) FROM conversation_members m WHERE m.conversation_id = c.id
                        AND m.member_id IN ({})) = $2
                 ORDER BY c.created_at, c.id LIMIT 1",
                json_values("$3")
            ))
            .bind(workspace_id)
            .bind(members.len() as i64)
            .bind(json_text(&members)?)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    Ok(found)
}

pub(super) async fn insert_conversation(
    conn: &mut Conn,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(workspace_id)
    .bind(parent_id)
    .bind(customer_id)
    .bind(ConversationKind::from(kind))
    .bind(name)
    .bind(json_text(metadata)?)
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Whether the caller sees conversation `c`: `$1` its id, `$2` the
/// caller's workspace, `$3` the one customer whose conversations a visitor
/// sees (NULL: any of the workspace's). Statements that check it bind those three first.
pub(super) const VISIBLE_CONVERSATION: &str =
    "c.id = $1 AND c.workspace_id = $2 AND ($3 IS NULL OR c.customer_id = $3)";

/// A conversation that is not there, or not the caller's to see: the same answer.
pub(super) fn conversation_not_found(id: &str) -> StoreError {
    StoreError::NotFound(format!("Conversation not found: {id}"))
}

/// Fails with not found unless the conversation is the workspace's (and the customer's, if given).
pub(super) async fn visible_conversation(
    conn: &mut Conn,
    workspace_id: &str,
    id: &str,
    only_customer: Option<&str>,
) -> Result<()> {
    let exists: Option<String> =
        sqlx::query_scalar(&format!("SELECT c.id FROM conversations c WHERE {VISIBLE_CONVERSATION}"))
            .bind(id)
            .bind(workspace_id)
            .bind(only_customer)
            .fetch_optional(&mut *conn)
            .await?;
    match exists {
        Some(_) => Ok(()),
        None => Err(conversation_not_found(id)),
    }
}

pub(super) async fn get_or_create_conversation(store: &Backend, req: NewConversation) -> Result<Conversation> {
    let ws = &req.actor.workspace_id;
    let mut tx = store.write().await?;
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

pub(super) async fn create_sub_conversation(store: &Backend, req: NewSubConversation) -> Result<Conversation> {
    let ws = &req.actor.workspace_id;
    let mut tx = store.write().await?;
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

pub(super) async fn update_conversation(store: &Backend, req: ConversationUpdate) -> Result<Conversation> {
    let ws = &req.workspace_id;
    let mut tx = store.write().await?;
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
            let children: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE parent_id = $1")
                .bind(&req.id)
                .fetch_one(&mut *tx)
                .await?;
            if children > 0 {
                return Err(StoreError::invalid("parentId", "this conversation has sub-conversations of its own"));
            }
            Some(parent_id)
        }
    };
    sqlx::query("UPDATE conversations SET name = $1, metadata = $2, parent_id = $3, updated_at = $4 WHERE id = $5")
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

pub(super) async fn delete_conversation(
    store: &Backend,
    workspace_id: &str,
    id: &str,
) -> Result<DeleteConversationOutput> {
    let mut tx = store.write().await?;
    load_conversation(&mut tx, workspace_id, id).await?;
    // Sub-conversations and all messages go with it (ON DELETE CASCADE).
    let children =
        sqlx::query("DELETE FROM conversations WHERE parent_id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
    sqlx::query("DELETE FROM conversations WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(DeleteConversationOutput { id: id.to_owned(), deleted_sub_conversations: children })
}

pub(super) async fn hand_off(
    store: &Backend,
    workspace_id: &str,
    conversation_id: &str,
    only_customer: Option<&str>,
) -> Result<Conversation> {
    let mut tx = store.write().await?;
    visible_conversation(&mut tx, workspace_id, conversation_id, only_customer).await?;
    let now = clock::now();
    // The first hand-off's time stands; asking again changes nothing.
    sqlx::query("UPDATE conversations SET ai_stopped_at = $1, updated_at = $1 WHERE id = $2 AND ai_stopped_at IS NULL")
        .bind(&now)
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE ai_requests SET status = 'cancelled' WHERE status = 'pending'
         AND message_id IN (SELECT id FROM messages WHERE conversation_id = $1)",
    )
    .bind(conversation_id)
    .execute(&mut *tx)
    .await?;
    let conversation = load_conversation(&mut tx, workspace_id, conversation_id).await?;
    tx.commit().await?;
    Ok(conversation)
}

pub(super) async fn resume_ai(store: &Backend, workspace_id: &str, conversation_id: &str) -> Result<Conversation> {
    let mut tx = store.write().await?;
    visible_conversation(&mut tx, workspace_id, conversation_id, None).await?;
    // Only a stopped conversation changes; asking again changes nothing.
    sqlx::query(
        "UPDATE conversations SET ai_stopped_at = NULL, updated_at = $1 WHERE id = $2 AND ai_stopped_at IS NOT NULL",
    )
    .bind(clock::now())
    .bind(conversation_id)
    .execute(&mut *tx)
    .await?;
    let conversation = load_conversation(&mut tx, workspace_id, conversation_id).await?;
    tx.commit().await?;
    Ok(conversation)
}
