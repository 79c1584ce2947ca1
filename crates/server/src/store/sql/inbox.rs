//! The inbox's list (the workspace's top-level conversations, newest
//! activity first, each with its customer, last message and unread count).

use connect360_api::{ConversationSummary, CustomerProfile};

use super::members::{count, unread_count_sql};
use super::*;

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: String,
    name: Option<String>,
    metadata: JsonText<Metadata>,
    ai_stopped_at: Option<String>,
    last_seq: Option<i64>,
    last_activity_at: String,
    unread: i64,
    customer_id: Option<String>,
    external_id: Option<String>,
    customer_name: Option<String>,
    customer_email: Option<String>,
    customer_metadata: Option<JsonText<Metadata>>,
    first_channel_id: Option<String>,
    first_channel_identifier: Option<String>,
}

/// A conversation's activity is its newest message's time, else its creation.
/// Within one millisecond the newer message (higher `seq`) comes first.
/// Unread: customer messages after `?2`'s read mark; none without a reader.
fn summary_select() -> String {
    format!(
        "
    WITH latest AS (
        SELECT c.*, (SELECT MAX(seq) FROM messages WHERE conversation_id = c.id) AS last_seq
        FROM conversations c WHERE c.workspace_id = $1 AND c.parent_id IS NULL
    ), ranked AS (
        SELECT l.*, COALESCE((SELECT created_at FROM messages WHERE seq = l.last_seq), l.created_at) AS last_activity_at
        FROM latest l
    )
    SELECT r.id, r.name, r.metadata, r.ai_stopped_at, r.last_seq, r.last_activity_at,
        CASE WHEN $2 IS NULL THEN 0 ELSE {unread} END AS unread,
        cus.id AS customer_id, cus.external_id, cus.name AS customer_name, cus.email AS customer_email,
        cus.metadata AS customer_metadata,
        ch.id AS first_channel_id, ch.identifier AS first_channel_identifier
    FROM ranked r
    LEFT JOIN customers cus ON cus.id = r.customer_id
    LEFT JOIN channels ch ON ch.id = (
        SELECT c2.id FROM conversation_channels cc JOIN channels c2 ON c2.id = cc.channel_id
        WHERE cc.conversation_id = r.id ORDER BY c2.created_at, c2.id LIMIT 1
    )
    WHERE $3 IS NULL OR (r.last_activity_at, COALESCE(r.last_seq, 0), r.id) <= ($3, $4, $5)
    ORDER BY r.last_activity_at DESC, COALESCE(r.last_seq, 0) DESC, r.id DESC
    LIMIT $6",
        unread = unread_count_sql("r.id", "$2")
    )
}

pub(super) async fn list_conversations(
    store: &Backend,
    req: ConversationsRequest,
) -> Result<(Vec<ConversationSummary>, Option<ActivityCursor>)> {
    let mut conn = store.reader.acquire().await?;
    let (at, seq, id) = match &req.cursor {
        Some(cursor) => {
            (Some(cursor.last_activity_at.as_str()), Some(cursor.last_seq), Some(cursor.conversation_id.as_str()))
        }
        None => (None, None, None),
    };
    // One row more than asked tells whether an older page exists; it starts the next page.
    let mut rows: Vec<SummaryRow> = sqlx::query_as(&summary_select())
        .bind(&req.workspace_id)
        .bind(&req.reader)
        .bind(at)
        .bind(seq)
        .bind(id)
        .bind(i64::from(req.limit) + 1)
        .fetch_all(&mut *conn)
        .await?;
    let next = if rows.len() > req.limit as usize {
        rows.pop().map(|row| ActivityCursor {
            last_activity_at: row.last_activity_at,
            last_seq: row.last_seq.unwrap_or(0),
            conversation_id: row.id,
        })
    } else {
        None
    };
    let seqs: Vec<i64> = rows.iter().filter_map(|r| r.last_seq).collect();
    let JsonText(last_rows): MessageRows = sqlx::query_scalar(&messages_query(&format!(
        "WHERE m.seq IN (SELECT CAST(value AS BIGINT) FROM ({}) v)",
        json_values("$1")
    )))
    .bind(json_text(&seqs)?)
    .fetch_one(&mut *conn)
    .await?;
    let mut last_messages = messages(last_rows);
    let items = rows
        .into_iter()
        .map(|row| {
            let last_message =
                last_messages.iter().position(|m| m.conversation_id == row.id).map(|i| last_messages.swap_remove(i));
            summary(row, last_message)
        })
        .collect();
    Ok((items, next))
}

fn summary(row: SummaryRow, last_message: Option<Message>) -> ConversationSummary {
    let first_channel = match (row.first_channel_id, row.first_channel_identifier) {
        (Some(id), Some(identifier)) => Some(ChannelRow { id, identifier }.into()),
        _ => None,
    };
    let customer = row.customer_id.map(|id| CustomerProfile {
        id,
        external_id: row.external_id,
        name: row.customer_name,
        email: row.customer_email,
        metadata: row.customer_metadata.map(|m| m.0).unwrap_or_default(),
    });
    ConversationSummary {
        channel: last_message.as_ref().and_then(|m| m.channel.clone()).or(first_channel),
        id: row.id,
        name: row.name,
        customer,
        metadata: row.metadata.0,
        last_message,
        unread_count: count(row.unread),
        ai_stopped_at: row.ai_stopped_at,
        last_activity_at: row.last_activity_at,
    }
}
