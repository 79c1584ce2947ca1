//! Members: their sign-in emails and passwords, sessions and read marks.

use super::*;

pub(super) async fn create_member(store: &Backend, member: &NewMember) -> Result<String> {
    let id = ids::new_id("mem");
    let inserted = sqlx::query(
        "INSERT INTO members (id, workspace_id, name, email, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
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

pub(super) async fn set_password(store: &Backend, workspace_id: &str, email: &str, password_hash: &str) -> Result<()> {
    let updated = sqlx::query("UPDATE members SET password_hash = $1 WHERE workspace_id = $2 AND email = $3")
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

pub(super) async fn member_by_email(store: &Backend, slug: &str, email: &str) -> Result<Option<MemberAccount>> {
    let row: Option<AccountRow> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM members m JOIN workspaces w ON w.id = m.workspace_id
         WHERE w.slug = $1 AND m.email = $2"
    ))
    .bind(slug)
    .bind(email)
    .fetch_optional(&store.reader)
    .await?;
    Ok(row.map(MemberAccount::from))
}

pub(super) async fn create_session(
    store: &Backend,
    token_hash: &[u8; 32],
    member_id: &str,
    now_ms: i64,
    expired_before_ms: i64,
) -> Result<()> {
    let mut tx = store.write().await?;
    // Sessions nobody came back to would otherwise stay forever.
    sqlx::query("DELETE FROM member_sessions WHERE last_seen_ms < $1")
        .bind(expired_before_ms)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO member_sessions (token_hash, member_id, created_at, last_seen_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash.as_slice())
    .bind(member_id)
    .bind(clock::now())
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn session(store: &Backend, token_hash: &[u8; 32]) -> Result<Option<StoredSession>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        account: AccountRow,
        last_seen_ms: i64,
    }
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS}, s.last_seen_ms FROM member_sessions s
         JOIN members m ON m.id = s.member_id JOIN workspaces w ON w.id = m.workspace_id WHERE s.token_hash = $1"
    ))
    .bind(token_hash.as_slice())
    .fetch_optional(&store.reader)
    .await?;
    Ok(row.map(|row| StoredSession { account: row.account.into(), last_seen_ms: row.last_seen_ms }))
}

pub(super) async fn touch_session(store: &Backend, token_hash: &[u8; 32], now_ms: i64) -> Result<()> {
    sqlx::query("UPDATE member_sessions SET last_seen_ms = CASE WHEN last_seen_ms > $1 THEN last_seen_ms ELSE $1 END WHERE token_hash = $2")
        .bind(now_ms)
        .bind(token_hash.as_slice())
        .execute(&store.writer)
        .await?;
    Ok(())
}

pub(super) async fn delete_session(store: &Backend, token_hash: &[u8; 32]) -> Result<()> {
    sqlx::query("DELETE FROM member_sessions WHERE token_hash = $1")
        .bind(token_hash.as_slice())
        .execute(&store.writer)
        .await?;
    Ok(())
}

/// The count of customer messages of conversation `conversation` (an SQL
/// expression) after the read mark of member `member` (one too).
pub(super) fn unread_count_sql(conversation: &str, member: &str) -> String {
    format!(
        "(SELECT COUNT(*) FROM messages um WHERE um.conversation_id = {conversation} AND um.sender_type = 'customer'
           AND um.seq > COALESCE((SELECT message_seq FROM read_marks
                                  WHERE member_id = {member} AND conversation_id = {conversation}), 0))"
    )
}

pub(super) async fn mark_read(
    store: &Backend,
    workspace_id: &str,
    member_id: &str,
    conversation_id: &str,
    message_id: &str,
) -> Result<ReadMark> {
    let mut tx = store.write().await?;
    visible_conversation(&mut tx, workspace_id, conversation_id, None).await?;
    let seq = message_seq(&mut tx, conversation_id, message_id, "messageId").await?;
    sqlx::query(
        "INSERT INTO read_marks (member_id, conversation_id, message_seq) VALUES ($1, $2, $3)
         ON CONFLICT (member_id, conversation_id) DO UPDATE SET message_seq = CASE WHEN read_marks.message_seq > excluded.message_seq
                                   THEN read_marks.message_seq ELSE excluded.message_seq END",
    )
    .bind(member_id)
    .bind(conversation_id)
    .bind(seq)
    .execute(&mut *tx)
    .await?;
    let read_up_to: String = sqlx::query_scalar(
        "SELECT m.id FROM read_marks r JOIN messages m ON m.seq = r.message_seq
         WHERE r.member_id = $1 AND r.conversation_id = $2",
    )
    .bind(member_id)
    .bind(conversation_id)
    .fetch_one(&mut *tx)
    .await?;
    let unread: i64 = sqlx::query_scalar(&format!("SELECT {}", unread_count_sql("$1", "$2")))
        .bind(conversation_id)
        .bind(member_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ReadMark { read_up_to, unread_count: count(unread) })
}

/// A row count as the wire's `u32`.
pub(super) fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
