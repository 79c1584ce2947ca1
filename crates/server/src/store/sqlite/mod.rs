//! The embedded store: SQLite in WAL mode in the data directory.
//!
//! Writes go through a pool of one connection, so write transactions never
//! contend for SQLite's single writer lock; reads use their own pool and see
//! the last committed state. Sends take that connection a batch at a time
//! (see [`super::group_commit`]). The queries are the ones PostgreSQL runs
//! too: see [`super`] for how the modules are shared.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};

use super::group_commit::{BeginFuture, GroupCommit};
use super::*;
use crate::hub::EventBus;

#[path = "../sql/mod.rs"]
#[expect(clippy::duplicate_mod, reason = "each backend compiles the shared queries with its own types")]
mod sql;

use sql::*;

type Db = Sqlite;
type Conn = SqliteConnection;
type Backend = SqliteStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// `work`: one instance has this store.
async fn run_exclusively(_store: &SqliteStore, _job: Exclusive, work: ExclusiveWork<'_>) -> Result<bool, StoreError> {
    work.await;
    Ok(true)
}

/// Empties the page cache of each idle connection (`PRAGMA shrink_memory`):
/// the pages are in the file and the system's cache, and each connection
/// keeps up to 2 MiB of its own copies (the writer's fills under sends).
/// Connections in use are left alone.
async fn release_memory(store: &SqliteStore) -> Result<(), StoreError> {
    for pool in [&store.writer, &store.reader] {
        let mut idle = Vec::new();
        while let Some(conn) = pool.try_acquire() {
            idle.push(conn);
        }
        for conn in &mut idle {
            sqlx::query("PRAGMA shrink_memory").execute(&mut **conn).await?;
        }
    }
    Ok(())
}

/// How a claim of AI requests locks the rows it takes: not at all, the one
/// writer connection already writes alone.
const CLAIM_ROWS: &str = "";

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Sends, committed together on the writer connection.
    sends: GroupCommit<NewMessage, Sent>,
    /// Told of each message once it is committed, in commit order (always set).
    events: Option<Arc<dyn EventBus>>,
}

impl SqliteStore {
    /// Opens (creating if needed) `connect360.db` in `data_dir` and migrates
    /// it. Every message it stores is published to `events` after its commit,
    /// while the writer connection is still held: one writer means the
    /// events come in commit order, the order of `messages.seq`.
    pub async fn open(data_dir: &Path, events: Arc<dyn EventBus>) -> Result<Self, anyhow::Error> {
        use anyhow::Context;
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("connect360.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a send is on disk before it is acknowledged.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // No ping before each checkout (sqlx's default for a connection
        // across a network): an embedded database has no connection to
        // lose, and each ping is a round trip to the connection's thread.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening the store in {}", data_dir.display()))?;
        MIGRATOR.run(&writer).await.context("migrating the store")?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .context("opening the store for reading")?;
        let sends = group_commit(writer.clone(), begin_write, Some(events.clone()));
        Ok(SqliteStore { writer, reader, sends, events: Some(events) })
    }

    /// A write transaction on the writer connection (see [`begin_write`]).
    async fn write(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// A write transaction that takes SQLite's write lock at BEGIN. A deferred
/// one that reads first fails at once (SQLITE_BUSY_SNAPSHOT, no busy wait)
/// when another process wrote in between, e.g. an admin command run
/// beside the server. One writer at a time also makes `messages.seq`
/// (AUTOINCREMENT) commit order.
fn begin_write(conn: &mut PoolConnection<Sqlite>) -> BeginFuture<'_, Sqlite> {
    Box::pin(conn.begin_with("BEGIN IMMEDIATE"))
}

/// The values of the JSON array bound at `param`, as rows of a column `value`.
fn json_values(param: &str) -> String {
    format!("SELECT value FROM json_each({param})")
}

/// The items of the JSON array bound at `param` as a table `r`: each item
/// `r.value`, its index `r.key`.
fn json_rows(param: &str) -> String {
    format!("json_each({param}) AS r")
}

/// The rows of `object` (pairs of a key and a value, as `json_object` takes
/// them) aggregated in the order of `order` as one JSON array, `[]` for none.
fn json_array_agg(object: &str, order: &str) -> String {
    format!("json_group_array(json_object({object}) ORDER BY {order})")
}

/// The JSON held as text in `expr`, to be nested in an object as JSON, not a string.
fn json_of(expr: &str) -> String {
    format!("json({expr})")
}

/// The bytes of the hex text `expr`.
fn hex_bytes(expr: &str) -> String {
    format!("unhex({expr})")
}

#[cfg(test)]
mod tests {
    //! The column words, as SQLite reads them back.
    use sqlx::Connection;

    use super::*;
    use connect360_api::SenderType;

    #[tokio::test]
    async fn a_word_not_among_a_column_s_fails_loudly() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let kind: ConversationKind = sqlx::query_scalar("SELECT 'GROUP'").fetch_one(&mut conn).await.unwrap();
        assert_eq!(kind, ConversationKind::Group);
        let sender: SenderKind = sqlx::query_scalar("SELECT 'ai'").fetch_one(&mut conn).await.unwrap();
        assert_eq!(SenderType::from(sender), SenderType::Ai);
        let err = sqlx::query_scalar::<_, ConversationKind>("SELECT 'CHANNEL'").fetch_one(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("invalid value \"CHANNEL\" for enum ConversationKind"), "{err}");
        let err = sqlx::query_scalar::<_, SenderKind>("SELECT 'bot'").fetch_one(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("\"bot\""), "{err}");
        // Messages are read as JSON (`messages_query`): the same word fails there too.
        let err = serde_json::from_str::<SenderKind>("\"bot\"").unwrap_err();
        assert!(err.to_string().contains("unknown variant `bot`"), "{err}");
        let err = sqlx::query_scalar::<_, UploaderKind>("SELECT 'ai'").fetch_one(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("\"ai\""), "{err}");
        let err = sqlx::query_scalar::<_, RoleColumn>("SELECT 'admin'").fetch_one(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("\"admin\""), "{err}");
    }
}
