//! Members: their sign-in emails and passwords, sessions and read marks.

use super::*;

pub(super) async fn create_member(store: &SqliteStore, member: &NewMember) -> Result<String> {
    let id = ids::new_id("mem");
    let inserted = sqlx::query(
        "INSERT INTO members (id, workspace_id, name, email, role, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(&member.workspace_id)
    .bind(&member.name)
    .bind(&member.email)
    .bind(RoleColumn::from(member.role))
    .bind(clock::now())
    .execute(&store.writer)
    .await;
    match inserted {
        Ok(_) => Ok(id),
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Err(StoreError::Conflict(format!(
            "A member of this workspace already has the email {}.",
            member.email.as_deref().unwrap_or_default()
        ))),
        Err(err) => Err(err.into()),
    }
}

pub(super) async fn set_password(store: &SqliteStore, workspace_id: &str, email: &str, password_hash: &str) -> Result<()> {
    let updated = sqlx::query("UPDATE members SET password_hash = ? WHERE workspace_id = ? AND email = ?")
        .bind(password_hash)
        .bind(workspace_id)
        .bind(email)
        .execute(&store.writer)
        .await?
        .rows_affected();
    match updated {
        0 => Err(StoreError::NotFound(format!("No member of this workspace has the email {email}."))),
        _ => Ok(()),
    }
}

/// The columns of an [`AccountRow`], from `members m` joined with `workspaces w`.
const ACCOUNT_COLUMNS: &str = "m.id, m.workspace_id, w.slug AS workspace_slug, w.name AS workspace_name, m.name,
    m.email, m.role, m.password_hash";

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    workspace_id: String,
    workspace_slug: String,
    workspace_name: String,
    name: String,
    email: String,
    role: RoleColumn,
    password_hash: Option<String>,
}

impl From<AccountRow> for MemberAccount {
    fn from(row: AccountRow) -> Self {
        MemberAccount {
            id: row.id,
            workspace_id: row.workspace_id,
            workspace_slug: row.workspace_slug,
            workspace_name: row.workspace_name,
            name: row.name,
            email: row.email,
            role: row.role.into(),
            password_hash: row.password_hash,
        }
    }
}

pub(super) async fn member_by_email(store: &SqliteStore, slug: &str, email: &str) -> Result<Option<MemberAccount>> {
    let row: Option<AccountRow> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM members m JOIN workspaces w ON w.id = m.workspace_id
         WHERE w.slug = ? AND m.email = ?"
    ))
        .bind(slug)
        .bind(email)
        .fetch_optional(&store.reader)
        .await?;
    Ok(row.map(MemberAccount::from))
}

pub(super) async fn create_session(store: &SqliteStore, token_hash: &[u8; 32], member_id: &str, now_ms: i64) -> Result<()> {
    sqlx::query("INSERT INTO member_sessions (token_hash, member_id, created_at, last_seen_ms) VALUES (?, ?, ?, ?)")
        .bind(token_hash.as_slice())
        .bind(member_id)
        .bind(clock::now())
        .bind(now_ms)
        .execute(&store.writer)
        .await?;
    Ok(())
}

pub(super) async fn session(store: &SqliteStore, token_hash: &[u8; 32]) -> Result<Option<StoredSession>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        account: AccountRow,
        last_seen_ms: i64,
    }
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS}, s.last_seen_ms FROM member_sessions s
         JOIN members m ON m.id = s.member_id JOIN workspaces w ON w.id = m.workspace_id WHERE s.token_hash = ?"
    ))
    .bind(token_hash.as_slice())
    .fetch_optional(&store.reader)
    .await?;
    Ok(row.map(|row| StoredSession { account: row.account.into(), last_seen_ms: row.last_seen_ms }))
}

pub(super) async fn touch_session(store: &SqliteStore, token_hash: &[u8; 32], now_ms: i64) -> Result<()> {
    sqlx::query("UPDATE member_sessions SET last_seen_ms = MAX(last_seen_ms, ?) WHERE token_hash = ?")
        .bind(now_ms)
        .bind(token_hash.as_slice())
        .execute(&store.writer)
        .await?;
    Ok(())
}

pub(super) async fn delete_session(store: &SqliteStore, token_hash: &[u8; 32]) -> Result<()> {
    sqlx::query("DELETE FROM member_sessions WHERE token_hash = ?")
        .bind(token_hash.as_slice())
        .execute(&store.writer)
        .await?;
    Ok(())
}

/// Customer messages of the conversation after the member's read mark.
const UNREAD_COUNT: &str = "
    SELECT COUNT(*) FROM messages WHERE conversation_id = ?1 AND sender_type = 'customer'
      AND seq > COALESCE((SELECT message_seq FROM read_marks WHERE member_id = ?2 AND conversation_id = ?1), 0)";

pub(super) async fn mark_read(
    store: &SqliteStore,
    workspace_id: &str,
    member_id: &str,
    conversation_id: &str,
    message_id: &str,
) -> Result<ReadMark> {
    let mut tx = store.write().await?;
    visible_conversation(&mut tx, workspace_id, conversation_id, None).await?;
    let seq = message_seq(&mut tx, conversation_id, message_id, "messageId").await?;
    sqlx::query(
        "INSERT INTO read_marks (member_id, conversation_id, message_seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (member_id, conversation_id) DO UPDATE SET message_seq = MAX(message_seq, excluded.message_seq)",
    )
    .bind(member_id)
    .bind(conversation_id)
    .bind(seq)
    .execute(&mut *tx)
    .await?;
    let read_up_to: String = sqlx::query_scalar(
        "SELECT m.id FROM read_marks r JOIN messages m ON m.seq = r.message_seq
         WHERE r.member_id = ? AND r.conversation_id = ?",
    )
    .bind(member_id)
    .bind(conversation_id)
    .fetch_one(&mut *tx)
    .await?;
    let unread: i64 = sqlx::query_scalar(UNREAD_COUNT).bind(conversation_id).bind(member_id).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(ReadMark { read_up_to, unread_count: count(unread) })
}

/// A row count as the wire's `u32`.
pub(super) fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
