//! AI agents: their name, image and config.

use super::*;

pub(super) fn agent_config(kind: &str, settings: &str) -> Result<AgentConfig> {
    let settings: serde_json::Value = from_json(settings)?;
    Ok(serde_json::from_value(serde_json::json!({ "kind": kind, "settings": settings }))?)
}

/// An agent's config as its `kind` and `settings` columns.
pub(super) fn agent_columns(config: &AgentConfig) -> Result<(String, String)> {
    let serde_json::Value::Object(mut tagged) = serde_json::to_value(config)? else {
        return Err(StoreError::Database("an agent config is not a JSON object".into()));
    };
    let kind = tagged.remove("kind").and_then(|k| k.as_str().map(str::to_owned)).unwrap_or_default();
    Ok((kind, json_text(&tagged.remove("settings"))?))
}

pub(super) async fn create_agent(
    store: &Backend,
    workspace_id: &str,
    name: &str,
    image: Option<&str>,
    config: &AgentConfig,
) -> Result<String> {
    let (kind, settings) = agent_columns(config)?;
    let mut tx = store.write().await?;
    let id = insert_agent(&mut tx, workspace_id, name, image, &kind, &settings).await?;
    tx.commit().await?;
    Ok(id)
}

async fn insert_agent(
    conn: &mut Conn,
    workspace_id: &str,
    name: &str,
    image: Option<&str>,
    kind: &str,
    settings: &str,
) -> Result<String> {
    let id = ids::new_id("agent");
    sqlx::query(
        "INSERT INTO agents (id, workspace_id, name, image, kind, settings, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(workspace_id)
    .bind(name)
    .bind(image)
    .bind(kind)
    .bind(settings)
    .bind(clock::now())
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub(super) async fn ensure_agent(
    store: &Backend,
    workspace_id: &str,
    name: &str,
    image: Option<&str>,
    config: &AgentConfig,
) -> Result<String> {
    let (kind, settings) = agent_columns(config)?;
    // Under the write lock: two instances seeding at once make one agent.
    let mut tx = store.write().await?;
    let updated: Option<String> = sqlx::query_scalar(
        "UPDATE agents SET image = $1, kind = $2, settings = $3
         WHERE id = (SELECT id FROM agents WHERE workspace_id = $4 AND name = $5 ORDER BY created_at, id LIMIT 1)
         RETURNING id",
    )
    .bind(image)
    .bind(&kind)
    .bind(&settings)
    .bind(workspace_id)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    let id = match updated {
        Some(id) => id,
        None => insert_agent(&mut tx, workspace_id, name, image, &kind, &settings).await?,
    };
    tx.commit().await?;
    Ok(id)
}
