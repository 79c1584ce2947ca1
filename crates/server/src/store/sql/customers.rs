//! Customers: found by id or by external id (created then), their fields updated.

use super::*;

/// Finds (or, by external id, creates) the customer and applies the given fields.
pub(super) async fn resolve_customer(conn: &mut Conn, workspace_id: &str, customer: &CustomerRef) -> Result<String> {
    let now = clock::now();
    let row: Option<(String, JsonText<Metadata>)> = match &customer.key {
        CustomerKey::Id(id) => {
            sqlx::query_as("SELECT id, metadata FROM customers WHERE id = $1 AND workspace_id = $2")
                .bind(id)
                .bind(workspace_id)
                .fetch_optional(&mut *conn)
                .await?
        }
        CustomerKey::ExternalId(external) => {
            sqlx::query_as("SELECT id, metadata FROM customers WHERE external_id = $1 AND workspace_id = $2")
                .bind(external)
                .bind(workspace_id)
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    let (id, mut metadata): (String, Metadata) = match (row, &customer.key) {
        (Some((id, metadata)), _) => (id, metadata.0),
        (None, CustomerKey::Id(id)) => return Err(StoreError::NotFound(format!("Customer not found: {id}"))),
        (None, CustomerKey::ExternalId(external)) => {
            let id = ids::new_id("cus");
            sqlx::query(
                "INSERT INTO customers (id, workspace_id, external_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&id)
            .bind(workspace_id)
            .bind(external)
            .bind(&now)
            .bind(&now)
            .execute(&mut *conn)
            .await?;
            (id, Metadata::new())
        }
    };
    apply_customer_fields(conn, workspace_id, &id, &mut metadata, &customer.fields, &now).await?;
    Ok(id)
}

pub(super) async fn apply_customer_fields(
    conn: &mut Conn,
    workspace_id: &str,
    id: &str,
    metadata: &mut Metadata,
    fields: &CustomerFields,
    now: &str,
) -> Result<()> {
    if *fields == CustomerFields::default() {
        return Ok(());
    }
    if let Some(external) = &fields.external_id {
        let taken: Option<String> =
            sqlx::query_scalar("SELECT id FROM customers WHERE workspace_id = $1 AND external_id = $2 AND id != $3")
                .bind(workspace_id)
                .bind(external)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!("customer.externalId: {external} belongs to another customer")));
        }
    }
    if let Some(patch) = &fields.metadata {
        merge_metadata(metadata, patch);
    }
    sqlx::query(
        "UPDATE customers SET external_id = COALESCE($1, external_id), name = COALESCE($2, name),
         email = COALESCE($3, email), phone = COALESCE($4, phone), image = COALESCE($5, image),
         metadata = $6, updated_at = $7 WHERE id = $8",
    )
    .bind(&fields.external_id)
    .bind(&fields.name)
    .bind(&fields.email)
    .bind(&fields.phone)
    .bind(&fields.image)
    .bind(json_text(metadata)?)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn customer(store: &Backend, workspace_id: &str, id: &str) -> Result<Option<CustomerSummary>> {
    let row: Option<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id, external_id, name FROM customers WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .fetch_optional(&store.reader)
            .await?;
    Ok(row.map(|(id, external_id, name)| CustomerSummary { id, external_id, name }))
}
