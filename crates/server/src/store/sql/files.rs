//! Uploaded files' rows: recorded, looked up, removed when unused.

use super::*;

pub(super) async fn insert_files(store: &Backend, files: &[NewFile]) -> Result<()> {
    let mut tx = store.write().await?;
    let now = clock::now();
    for file in files {
        let (uploader_type, uploader_id) = match &file.uploader {
            Uploader::Member(id) => (UploaderKind::Workspace, id),
            Uploader::Customer(id) => (UploaderKind::Customer, id),
        };
        sqlx::query(
            "INSERT INTO files (id, workspace_id, storage_key, name, media_type, size, uploader_type, uploader_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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

#[derive(sqlx::FromRow)]
struct FileRow {
    id: String,
    workspace_id: String,
    storage_key: String,
    name: String,
    media_type: String,
    size: i64,
    uploader_type: UploaderKind,
    uploader_id: String,
    conversation_customer_id: Option<String>,
}

pub(super) async fn file_by_key(store: &Backend, storage_key: &str) -> Result<Option<StoredFile>> {
    let row: Option<FileRow> = sqlx::query_as(
        "SELECT f.id, f.workspace_id, f.storage_key, f.name, f.media_type, f.size, f.uploader_type,
                f.uploader_id, c.customer_id AS conversation_customer_id
         FROM files f
         LEFT JOIN messages m ON m.id = f.message_id
         LEFT JOIN conversations c ON c.id = m.conversation_id
         WHERE f.storage_key = $1",
    )
    .bind(storage_key)
    .fetch_optional(&store.reader)
    .await?;
    Ok(row.map(|r| StoredFile {
        id: r.id,
        workspace_id: r.workspace_id,
        storage_key: r.storage_key,
        name: r.name,
        media_type: r.media_type,
        size: r.size.max(0) as u64,
        uploader: match r.uploader_type {
            UploaderKind::Customer => Uploader::Customer(r.uploader_id),
            UploaderKind::Workspace => Uploader::Member(r.uploader_id),
        },
        conversation_customer_id: r.conversation_customer_id,
    }))
}

pub(super) async fn remove_unused_files(store: &Backend, ids: &[String]) -> Result<()> {
    // Under the write lock, as below.
    let mut tx = store.write().await?;
    sqlx::query(&format!("DELETE FROM files WHERE id IN ({}) AND used_at IS NULL", json_values("$1")))
        .bind(json_text(&ids)?)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn remove_expired_unused_files(store: &Backend, older_than: Duration) -> Result<Vec<String>> {
    let age = time::Duration::try_from(older_than).map_err(|e| StoreError::Database(Box::new(e)))?;
    let cutoff = clock::format(time::OffsetDateTime::now_utc() - age);
    // Under the write lock, which every send takes: a send that attaches
    // the file either ran before (the file is used) or will find it gone.
    let mut tx = store.write().await?;
    let keys =
        sqlx::query_scalar("DELETE FROM files WHERE message_id IS NULL AND created_at < $1 RETURNING storage_key")
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(keys)
}
