//! Guest conversations handed to the known customer the guest became.

use super::*;

pub(super) async fn claim_guest_conversations(store: &Backend, claim: GuestClaim) -> Result<ClaimOutcome> {
    let ws = &claim.workspace_id;
    let guest = &claim.guest_customer_id;
    let mut tx = store.write().await?;
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1 AND workspace_id = $2")
        .bind(guest)
        .bind(ws)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound(format!("Guest not found: {guest}")));
    }
    let customer_id = resolve_customer(&mut tx, ws, &claim.customer).await?;
    if customer_id == *guest {
        return Err(StoreError::invalid("customer", "is the guest itself"));
    }
    let target = match &claim.target_parent_id {
        None => None,
        Some(id) => Some(target_parent(&mut tx, ws, id, &customer_id).await?),
    };

    let roots: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM conversations
         WHERE workspace_id = $1 AND customer_id = $2 AND parent_id IS NULL AND ($3 IS NULL OR id = $3)
         ORDER BY created_at, id",
    )
    .bind(ws)
    .bind(guest)
    .bind(&claim.conversation_id)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(id) = &claim.conversation_id
        && roots.is_empty()
    {
        // Claimed before is harmless; anyone else's is not the caller's to know of.
        let owner: Option<Option<String>> =
            sqlx::query_scalar("SELECT customer_id FROM conversations WHERE id = $1 AND workspace_id = $2")
                .bind(id)
                .bind(ws)
                .fetch_optional(&mut *tx)
                .await?;
        if owner.flatten().as_deref() != Some(customer_id.as_str()) {
            return Err(StoreError::NotFound(format!("Guest conversation not found: {id}")));
        }
    }
    let children: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT id FROM conversations WHERE parent_id IN ({}) ORDER BY created_at, id",
        json_values("$1")
    ))
    .bind(json_text(&roots)?)
    .fetch_all(&mut *tx)
    .await?;
    let claimed: Vec<String> = roots.into_iter().chain(children).collect();

    let now = clock::now();
    for id in &claimed {
        let JsonText(mut metadata): JsonText<Metadata> =
            sqlx::query_scalar("SELECT metadata FROM conversations WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        merge_metadata(&mut metadata, &claim.metadata);
        let metadata = json_text(&metadata)?;
        if metadata.len() > MAX_METADATA_BYTES {
            return Err(StoreError::invalid(
                "claimMetadata",
                format!("at most {MAX_METADATA_BYTES} bytes of JSON once merged into {id}"),
            ));
        }
        sqlx::query(
            "UPDATE conversations SET customer_id = $1, parent_id = COALESCE($2, parent_id), metadata = $3, updated_at = $4
             WHERE id = $5",
        )
        .bind(&customer_id)
        .bind(&target)
        .bind(&metadata)
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let claimed_json = json_text(&claimed)?;
    sqlx::query(&format!(
        "UPDATE files SET uploader_id = $1
         WHERE uploader_type = 'customer' AND uploader_id = $2
           AND message_id IN (SELECT id FROM messages WHERE conversation_id IN ({}))",
        json_values("$3")
    ))
    .bind(&customer_id)
    .bind(guest)
    .bind(&claimed_json)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "UPDATE messages SET sender_id = $1
         WHERE sender_type = 'customer' AND sender_id = $2 AND conversation_id IN ({})",
        json_values("$3")
    ))
    .bind(&customer_id)
    .bind(guest)
    .bind(&claimed_json)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    let count = u32::try_from(claimed.len()).unwrap_or(u32::MAX);
    Ok(ClaimOutcome { customer_id, claimed: count, reparented: if target.is_some() { count } else { 0 } })
}

/// The known customer's top-level conversation that claimed ones go under.
async fn target_parent(conn: &mut Conn, ws: &str, id: &str, customer_id: &str) -> Result<String> {
    let parent = match load_conversation(conn, ws, id).await {
        Err(StoreError::NotFound(_)) => return Err(StoreError::invalid("targetParentId", "unknown conversation")),
        other => other?,
    };
    if parent.parent_id.is_some() {
        return Err(StoreError::invalid("targetParentId", "is a sub-conversation; sub-conversations do not nest"));
    }
    if parent.customer_id.as_deref() != Some(customer_id) {
        return Err(StoreError::invalid("targetParentId", "is not a conversation of the customer"));
    }
    Ok(parent.id)
}
