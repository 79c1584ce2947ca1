//! Website widgets and the domains they run on.

use super::*;

pub(super) async fn create_widget(
    store: &Backend,
    workspace_id: &str,
    label: Option<&str>,
    domains: &[Domain],
    identity_secret: Option<&str>,
) -> Result<Widget> {
    let mut tx = store.write().await?;
    let existing: Option<String> = match label {
        Some(label) => {
            sqlx::query_scalar("SELECT id FROM widgets WHERE workspace_id = $1 AND label = $2")
                .bind(workspace_id)
                .bind(label)
                .fetch_optional(&mut *tx)
                .await?
        }
        None => None,
    };
    let id = match existing {
        Some(id) => {
            sqlx::query("UPDATE widgets SET identity_secret = $1 WHERE id = $2")
                .bind(identity_secret)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM widget_domains WHERE widget_id = $1").bind(&id).execute(&mut *tx).await?;
            id
        }
        None => {
            let id = ids::new_id("wid");
            sqlx::query(
                "INSERT INTO widgets (id, workspace_id, public_key, label, identity_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(workspace_id)
            .bind(ids::new_secret("wk", 16))
            .bind(label)
            .bind(identity_secret)
            .bind(clock::now())
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    for domain in domains {
        sqlx::query("INSERT INTO widget_domains (widget_id, domain) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&id)
            .bind(domain.as_str())
            .execute(&mut *tx)
            .await?;
    }
    let key: String =
        sqlx::query_scalar("SELECT public_key FROM widgets WHERE id = $1").bind(&id).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    widget_by_key(store, &key).await?.ok_or_else(|| StoreError::Database("the widget just written is missing".into()))
}

#[derive(sqlx::FromRow)]
struct WidgetRow {
    id: String,
    workspace_id: String,
    public_key: String,
    identity_secret: Option<String>,
    member_id: String,
}

pub(super) async fn widget_by_key(store: &Backend, public_key: &str) -> Result<Option<Widget>> {
    let Some(row) = sqlx::query_as::<_, WidgetRow>(
        "SELECT w.id, w.workspace_id, w.public_key, w.identity_secret, m.id AS member_id
         FROM widgets w JOIN members m ON m.workspace_id = w.workspace_id AND m.is_default = 1
         WHERE w.public_key = $1",
    )
    .bind(public_key)
    .fetch_optional(&store.reader)
    .await?
    else {
        return Ok(None);
    };
    let domains = sqlx::query_scalar("SELECT domain FROM widget_domains WHERE widget_id = $1 ORDER BY domain")
        .bind(&row.id)
        .fetch_all(&store.reader)
        .await?;
    Ok(Some(Widget {
        id: row.id,
        workspace_id: row.workspace_id,
        public_key: row.public_key,
        default_member_id: row.member_id,
        domains,
        identity_secret: row.identity_secret,
    }))
}

pub(super) async fn is_widget_domain(store: &Backend, host: &str) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT domain FROM widget_domains WHERE domain = $1 LIMIT 1")
        .bind(host)
        .fetch_optional(&store.reader)
        .await?;
    Ok(found.is_some())
}
