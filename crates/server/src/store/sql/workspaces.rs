//! Workspaces, their API keys, and the server's token key.

use super::*;

pub(super) async fn ensure_workspace(store: &Backend, slug: &str, name: &str) -> Result<Workspace> {
    let mut tx = store.write().await?;
    let existing: Option<(String, String)> = sqlx::query_as(
        "SELECT w.id, m.id AS member_id FROM workspaces w
         JOIN members m ON m.workspace_id = w.id AND m.is_default = 1 WHERE w.slug = $1",
    )
    .bind(slug)
    .fetch_optional(&mut *tx)
    .await?;
    let workspace = match existing {
        Some((id, default_member_id)) => Workspace { id, slug: slug.to_owned(), default_member_id },
        None => {
            let now = clock::now();
            let workspace =
                Workspace { id: ids::new_id("ws"), slug: slug.to_owned(), default_member_id: ids::new_id("mem") };
            sqlx::query("INSERT INTO workspaces (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&workspace.id)
                .bind(slug)
                .bind(name)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO members (id, workspace_id, name, is_default, created_at) VALUES ($1, $2, $3, 1, $4)",
            )
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

pub(super) async fn create_api_key(
    store: &Backend,
    workspace_id: &str,
    member_id: &str,
    name: &str,
    role: Role,
    key_hash: &[u8; 32],
) -> Result<String> {
    let mut tx = store.write().await?;
    let member: Option<String> = sqlx::query_scalar("SELECT id FROM members WHERE id = $1 AND workspace_id = $2")
        .bind(member_id)
        .bind(workspace_id)
        .fetch_optional(&mut *tx)
        .await?;
    if member.is_none() {
        return Err(StoreError::NotFound(format!("Member not found in this workspace: {member_id}")));
    }
    let id = ids::new_id("key");
    sqlx::query(
        "INSERT INTO api_keys (id, member_id, name, role, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(member_id)
    .bind(name)
    .bind(RoleColumn::from(role))
    .bind(key_hash.as_slice())
    .bind(clock::now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub(super) async fn find_api_key(store: &Backend, key_hash: &[u8; 32]) -> Result<Option<MemberPrincipal>> {
    let row: Option<(RoleColumn, String, String)> = sqlx::query_as(
        "SELECT k.role, m.id AS member_id, m.workspace_id FROM api_keys k
         JOIN members m ON m.id = k.member_id WHERE k.key_hash = $1",
    )
    .bind(key_hash.as_slice())
    .fetch_optional(&store.reader)
    .await?;
    Ok(row.map(|(role, member_id, workspace_id)| MemberPrincipal {
        workspace_id,
        member_id,
        role: role.into(),
        via: Credential::ApiKey,
    }))
}

pub(super) async fn token_key(store: &Backend) -> Result<[u8; 32]> {
    let fresh: [u8; 32] = rand::random();
    sqlx::query("INSERT INTO server_secrets (name, value) VALUES ('visitor_token_key', $1) ON CONFLICT DO NOTHING")
        .bind(fresh.as_slice())
        .execute(&store.writer)
        .await?;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'visitor_token_key'")
        .fetch_one(&store.writer)
        .await?;
    stored.try_into().map_err(|_| StoreError::Database("the visitor token key is not 32 bytes".into()))
}
