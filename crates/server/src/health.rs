//! `GET /healthz`: whether this instance can serve, part by part, for a load
//! balancer or an orchestrator: `{"status":"ok","database":"up","files":"up"}`,
//! or 503 with the part that is `"down"`. Why a part is down is logged, not
//! told: the route is public.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::attachments::storage::FileStorage;
use crate::store::Store;

/// A part that has not answered by then is down: a load balancer's check must not hang.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartState {
    Up,
    Down,
}

#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` when every part is up, else `unavailable`.
    status: &'static str,
    database: PartState,
    /// The attachments' storage: the local directory or the bucket.
    files: PartState,
}

pub async fn handle(
    State(store): State<Arc<dyn Store>>,
    State(files): State<Arc<dyn FileStorage>>,
) -> (StatusCode, Json<Health>) {
    let (database, files) = tokio::join!(check("database", store.ping()), check("files", files.check()));
    let up = database == PartState::Up && files == PartState::Up;
    let status = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Health { status: if up { "ok" } else { "unavailable" }, database, files }))
}

async fn check<E: std::fmt::Display>(part: &str, answered: impl Future<Output = Result<(), E>>) -> PartState {
    match tokio::time::timeout(CHECK_TIMEOUT, answered).await {
        Ok(Ok(())) => PartState::Up,
        Ok(Err(err)) => {
            tracing::error!(part, %err, "health check failed");
            PartState::Down
        }
        Err(_) => {
            tracing::error!(part, "health check failed: no answer within {CHECK_TIMEOUT:?}");
            PartState::Down
        }
    }
}
