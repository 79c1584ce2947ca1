//! Channels: websites by domain (found or created) and channels by id.

use super::*;

/// A channel's `id` and `identifier` columns; every channel is a website's.
#[derive(sqlx::FromRow)]
pub(super) struct ChannelRow {
    pub id: String,
    pub identifier: String,
}

impl From<ChannelRow> for Channel {
    fn from(row: ChannelRow) -> Self {
        Channel { id: row.id, kind: ChannelType::Website, identifier: row.identifier }
    }
}

pub(super) async fn website_channel(conn: &mut Conn, workspace_id: &str, domain: &Domain) -> Result<Channel> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM channels WHERE workspace_id = $1 AND kind = 'website' AND identifier = $2")
            .bind(workspace_id)
            .bind(domain.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let id = match existing {
        Some(id) => id,
        None => {
            let id = ids::new_id("chan");
            sqlx::query("INSERT INTO channels (id, workspace_id, kind, identifier, created_at) VALUES ($1, $2, 'website', $3, $4)")
                .bind(&id)
                .bind(workspace_id)
                .bind(domain.as_str())
                .bind(clock::now())
                .execute(&mut *conn)
                .await?;
            id
        }
    };
    Ok(ChannelRow { id, identifier: domain.as_str().to_owned() }.into())
}

pub(super) async fn channel_by_id(conn: &mut Conn, workspace_id: &str, id: &str, field: &str) -> Result<Channel> {
    let row: ChannelRow = sqlx::query_as("SELECT id, identifier FROM channels WHERE id = $1 AND workspace_id = $2")
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::invalid(field, "unknown channel"))?;
    Ok(row.into())
}

pub(super) async fn resolve_channels(conn: &mut Conn, workspace_id: &str, refs: &ChannelRefs) -> Result<Vec<Channel>> {
    let mut channels = Vec::new();
    for (i, id) in refs.ids.iter().enumerate() {
        channels.push(channel_by_id(conn, workspace_id, id, &format!("channelIds[{i}]")).await?);
    }
    if let Some(domain) = &refs.website {
        let channel = website_channel(conn, workspace_id, domain).await?;
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    Ok(channels)
}

pub(super) async fn resolve_channel(conn: &mut Conn, workspace_id: &str, channel: &ChannelRef) -> Result<Channel> {
    match (&channel.id, &channel.website) {
        (Some(id), website) => {
            let found = channel_by_id(conn, workspace_id, id, "channelId").await?;
            match website {
                Some(domain) if domain.as_str() != found.identifier => {
                    Err(StoreError::invalid("channelIdentifier", format!("differs from channel {id}")))
                }
                _ => Ok(found),
            }
        }
        (None, Some(domain)) => website_channel(conn, workspace_id, domain).await,
        (None, None) => Err(StoreError::invalid("channelId", "channelId or channelIdentifier is required")),
    }
}
