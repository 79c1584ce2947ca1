//! AI requests: the runner's queue, its jobs and their replies.

use super::*;

/// A pending request with its agent and its message's place.
#[derive(sqlx::FromRow)]
struct JobRow {
    agent_id: String,
    channel_id: Option<String>,
    workspace_id: String,
    name: String,
    image: Option<String>,
    kind: String,
    settings: String,
    seq: i64,
    conversation_id: String,
}

/// Unix milliseconds `lease` from now, and now.
fn lease_until(lease: Duration) -> (i64, i64) {
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    (now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)), now)
}

pub(super) async fn claim_ai_requests(
    store: &Backend,
    claimant: &str,
    lease: Duration,
    limit: usize,
) -> Result<AiClaims> {
    let (until, now) = lease_until(lease);
    let mut conn = store.writer.acquire().await?;
    let mut tx = begin_write(&mut conn).await?;
    // The oldest pending request of each conversation, unclaimed or with
    // an expired claim. On PostgreSQL, rows another transaction is claiming
    // are skipped rather than waited for (CLAIM_ROWS).
    let request_ids: Vec<String> = sqlx::query_scalar(&format!(
        "UPDATE ai_requests SET claimed_by = $1, claimed_until = $2 WHERE id IN (
             SELECT r.id FROM ai_requests r JOIN messages m ON m.id = r.message_id
             WHERE r.status = 'pending' AND (r.claimed_until IS NULL OR r.claimed_until < $3)
               AND NOT EXISTS (
                   SELECT 1 FROM ai_requests o JOIN messages om ON om.id = o.message_id
                   WHERE om.conversation_id = m.conversation_id AND o.status = 'pending'
                     AND (o.created_at < r.created_at OR (o.created_at = r.created_at AND o.id < r.id)))
             ORDER BY r.created_at, r.id LIMIT $4 {CLAIM_ROWS})
         RETURNING id"
    ))
    .bind(claimant)
    .bind(until)
    .bind(now)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await?;
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM ai_requests WHERE status = 'pending'").fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(AiClaims { request_ids, pending: usize::try_from(pending).unwrap_or(0) })
}

pub(super) async fn renew_ai_claims(store: &Backend, claimant: &str, lease: Duration) -> Result<()> {
    let (until, _) = lease_until(lease);
    let mut conn = store.writer.acquire().await?;
    let mut tx = begin_write(&mut conn).await?;
    sqlx::query("UPDATE ai_requests SET claimed_until = $1 WHERE claimed_by = $2 AND status = 'pending'")
        .bind(until)
        .bind(claimant)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn ai_job(store: &Backend, request_id: &str, history: u32) -> Result<Option<AiJob>> {
    let mut conn = store.reader.acquire().await?;
    let Some(row) = sqlx::query_as::<_, JobRow>(
        "SELECT r.agent_id, r.channel_id, a.workspace_id, a.name, a.image, a.kind, a.settings, m.seq, m.conversation_id
         FROM ai_requests r JOIN agents a ON a.id = r.agent_id JOIN messages m ON m.id = r.message_id
         WHERE r.id = $1 AND r.status = 'pending'",
    )
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let JsonText(rows): MessageRows = sqlx::query_scalar(&messages_query(
        "WHERE m.conversation_id = $1 AND m.seq <= $2 ORDER BY m.seq DESC LIMIT $3",
    ))
    .bind(&row.conversation_id)
    .bind(row.seq)
    .bind(i64::from(history.max(1)))
    .fetch_one(&mut *conn)
    .await?;
    let history = messages(rows);
    let trigger =
        history.last().cloned().ok_or_else(|| StoreError::Database("an AI request's message is missing".into()))?;
    Ok(Some(AiJob {
        request_id: request_id.to_owned(),
        config: agent_config(&row.kind, &row.settings)?,
        workspace_id: row.workspace_id,
        agent: Sender { kind: SenderType::Ai, id: row.agent_id, name: Some(row.name), image: row.image },
        channel_id: row.channel_id.or_else(|| trigger.channel.as_ref().map(|c| c.id.clone())),
        trigger,
        history,
    }))
}

pub(super) async fn finish_ai_request(
    store: &Backend,
    request_id: &str,
    outcome: AiOutcome,
    reply: NewMessage,
) -> Result<Option<Message>> {
    // The writer connection, held until the reply is published: on SQLite
    // (one writer connection) no other write commits in between, so events
    // keep commit order. (PostgreSQL's come from its trigger, in commit order.)
    let mut conn = store.writer.acquire().await?;
    let mut tx = begin_write(&mut conn).await?;
    let closed = sqlx::query("UPDATE ai_requests SET status = $1 WHERE id = $2 AND status = 'pending'")
        .bind(outcome.as_str())
        .bind(request_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if closed == 0 {
        return Ok(None);
    }
    let mut conversation = send_target(&mut tx, &reply.workspace_id, &reply.conversation_id).await?;
    let record = prepare_message(&mut tx, &reply, &mut conversation).await?;
    write_messages(&mut tx, std::slice::from_ref(&record)).await?;
    touch_conversation(&mut tx, &reply.conversation_id, &record.created_at).await?;
    let row = message_row(&mut tx, &record.id).await?;
    let seq = row.seq;
    let message = Message::from(row);
    tx.commit().await?;
    let stored = StoredMessage { workspace_id: reply.workspace_id, seq, message };
    if let Some(events) = &store.events {
        events.publish(Event::Message(Box::new(stored.clone())));
    }
    drop(conn);
    Ok(Some(stored.message))
}

pub(super) async fn ai_reply_state(
    store: &Backend,
    workspace_id: &str,
    conversation_id: &str,
    only_customer: Option<&str>,
    after: Option<&str>,
) -> Result<AiReplyState> {
    let mut conn = store.reader.acquire().await?;
    visible_conversation(&mut conn, workspace_id, conversation_id, only_customer).await?;
    let after = match after {
        Some(id) => Some(message_seq(&mut conn, conversation_id, id, "lastMessageId").await?),
        None => None,
    };
    let pending: Option<String> = sqlx::query_scalar(
        "SELECT r.id FROM ai_requests r JOIN messages m ON m.id = r.message_id
         WHERE m.conversation_id = $1 AND r.status = 'pending' LIMIT 1",
    )
    .bind(conversation_id)
    .fetch_optional(&mut *conn)
    .await?;
    let JsonText(mut rows): MessageRows = sqlx::query_scalar(&messages_query(
        "WHERE m.conversation_id = $1 AND m.sender_type = 'ai' AND ($2 IS NULL OR m.seq > $2)
         ORDER BY m.seq DESC LIMIT 1",
    ))
    .bind(conversation_id)
    .bind(after)
    .fetch_one(&mut *conn)
    .await?;
    let latest = rows.pop().map(Message::from);
    Ok(AiReplyState { pending: pending.is_some(), latest })
}
