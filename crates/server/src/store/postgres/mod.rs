//! The shared store: PostgreSQL, for several server instances on one database.
//!
//! It runs the same queries as the SQLite store (see [`super`]); what differs
//! is how writes are ordered. SQLite has one writer; here every write
//! transaction first takes one transaction-level advisory lock
//! ([`WRITE_LOCK`]), held until it commits or rolls back. Writes of all
//! instances thus commit one at a time, as on SQLite, which makes them sound
//! where PostgreSQL alone would race:
//!
//! - find-or-create (getOrCreateConversation for a customer, a customer by
//!   external id, a website channel, a workspace, an agent) reads under the
//!   lock what the previous write committed, so two instances asking at once
//!   create one;
//! - an idempotency key is checked under the lock, so a retried send on
//!   another instance returns the first message (the unique index backs it);
//! - `messages.seq` is an identity column, drawn when a row is inserted, not
//!   when it commits: concurrent writers could commit 7 before 6, and a
//!   reader resuming "after 6" would miss 7's neighbour. Drawn under the
//!   lock, a greater seq is a later commit, so "after X" is exact and
//!   cursors never skip.
//!
//! Reads take no lock (MVCC). Sends keep group commit: a batch holds the lock
//! once, so the lock costs one round trip and one WAL flush per batch, not
//! per message, which is what bounds write throughput.
//!
//! Events: none are published in-process. A trigger notifies each stored
//! message inside its transaction, and every instance's bus (this one's too)
//! learns of it in commit order: see `pg_events` for why that is exact.

use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Acquire, Postgres};

use super::group_commit::{BeginFuture, GroupCommit};
use super::*;
use crate::hub::EventBus;

#[path = "../sql/mod.rs"]
#[expect(clippy::duplicate_mod, reason = "each backend compiles the shared queries with its own types")]
mod sql;

use sql::*;

type Db = Postgres;
type Conn = PgConnection;
type Backend = PgStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-postgres");

/// How a claim of AI requests locks the rows it takes: rows another
/// instance's claim holds are passed over rather than waited for.
const CLAIM_ROWS: &str = "FOR UPDATE OF r SKIP LOCKED";

/// The key of the advisory lock every write transaction holds.
const WRITE_LOCK: i64 = 0x0C03_6000_0001;

/// Connections per instance: reads run in parallel, writes one at a time.
const MAX_CONNECTIONS: u32 = 16;

#[derive(Clone)]
pub struct PgStore {
    /// One pool: `writer` and `reader` name it for the shared modules.
    writer: PgPool,
    reader: PgPool,
    /// Sends, committed together.
    sends: GroupCommit<NewMessage, Sent>,
    /// Never set: the database notifies (see the module's doc).
    events: Option<Arc<dyn EventBus>>,
}

impl PgStore {
    /// Connects to the database at `url` and migrates it (sqlx's migrator
    /// takes a lock of its own: instances starting together migrate once).
    pub async fn connect(url: &str) -> Result<Self, anyhow::Error> {
        use anyhow::Context;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .context("connecting to the PostgreSQL database (--database-url)")?;
        MIGRATOR.run(&pool).await.context("migrating the PostgreSQL store")?;
        let sends = group_commit(pool.clone(), begin_write, None);
        Ok(PgStore { writer: pool.clone(), reader: pool, sends, events: None })
    }

    /// A write transaction holding the write lock (see the module's doc).
    async fn write(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        let mut tx = self.writer.begin().await?;
        take_write_lock(&mut tx).await?;
        Ok(tx)
    }
}

async fn take_write_lock(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK).execute(conn).await?;
    Ok(())
}

/// `work`, if this instance gets `job`'s lock. The lock is its connection's
/// session's: the connection is closed, not pooled, when done (or dropped
/// mid-way, the server stopping), which releases it.
async fn run_exclusively(store: &PgStore, job: Exclusive, work: ExclusiveWork<'_>) -> Result<bool, StoreError> {
    let mut conn = store.writer.acquire().await?;
    conn.close_on_drop();
    let locked: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(job.lock_key()).fetch_one(&mut *conn).await?;
    if locked {
        work.await;
    }
    Ok(locked)
}

/// Nothing: the pages PostgreSQL caches are its server's memory, not ours.
async fn release_memory(_store: &PgStore) -> Result<(), StoreError> {
    Ok(())
}

/// A batch's write transaction: BEGIN, then the write lock.
fn begin_write(conn: &mut PoolConnection<Postgres>) -> BeginFuture<'_, Postgres> {
    Box::pin(async move {
        let mut tx = conn.begin().await?;
        take_write_lock(&mut tx).await?;
        Ok(tx)
    })
}

/// The values of the JSON array bound at `param`, as rows of a column `value`.
fn json_values(param: &str) -> String {
    format!("SELECT value FROM json_array_elements_text(CAST({param} AS json))")
}

/// The items of the JSON array bound at `param` as a table `r`: each item
/// `r.value`, its index `r.key`.
fn json_rows(param: &str) -> String {
    format!("jsonb_array_elements(CAST({param} AS jsonb)) WITH ORDINALITY AS r(value, key)")
}

/// The rows of `object` (pairs of a key and a value, as `json_build_object`
/// takes them) aggregated in the order of `order` as the text of one JSON
/// array, `[]` for none. `json`, not `jsonb`: object keys stay in the order
/// given. Text, as `JsonText` reads it.
fn json_array_agg(object: &str, order: &str) -> String {
    format!("CAST(COALESCE(json_agg(json_build_object({object}) ORDER BY {order}), '[]') AS text)")
}

/// The JSON held as text in `expr`, to be nested in an object as JSON, not a
/// string. `json` keeps the text as stored: its keys in the order sent.
fn json_of(expr: &str) -> String {
    format!("CAST({expr} AS json)")
}

/// The bytes of the hex text `expr`.
fn hex_bytes(expr: &str) -> String {
    format!("decode({expr}, 'hex')")
}
