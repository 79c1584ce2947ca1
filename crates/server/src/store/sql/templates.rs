//! Message templates.

use super::*;

pub(super) async fn create_template(
    store: &Backend,
    workspace_id: &str,
    name: &str,
    content: &Content,
) -> Result<Template> {
    let template =
        Template { id: ids::new_id("tpl"), name: name.to_owned(), content: content.clone(), created_at: clock::now() };
    let result =
        sqlx::query("INSERT INTO templates (id, workspace_id, name, content, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&template.id)
            .bind(workspace_id)
            .bind(name)
            .bind(json_text(content)?)
            .bind(&template.created_at)
            .execute(&store.writer)
            .await;
    match result {
        Ok(_) => Ok(template),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(StoreError::Conflict(format!("name: a template named {name:?} exists already")))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn template(store: &Backend, workspace_id: &str, id: &str) -> Result<Option<Template>> {
    let row: Option<(String, String, JsonText<Content>, String)> =
        sqlx::query_as("SELECT id, name, content, created_at FROM templates WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .fetch_optional(&store.reader)
            .await?;
    Ok(row.map(|(id, name, content, created_at)| Template { id, name, content: content.0, created_at }))
}
