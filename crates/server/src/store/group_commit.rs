//! Group commit: concurrent writes share one transaction, so one fsync
//! makes a whole batch durable instead of each write paying for its own.
//!
//! One writer task takes what is queued (at most [`MAX_BATCH`]), opens one
//! write transaction (the backend's [`BeginFn`]: it takes the write lock), runs each
//! write in its own savepoint (one that fails is rolled back and fails
//! alone), commits once, and only then answers the callers. Nothing waits
//! for a batch to fill: a batch is what queued up while the previous one was
//! being written, so a lone write is committed at once.
//!
//! Once a batch is committed, and before the next one begins, each write
//! that succeeded is handed to the writer's `after_commit` in batch order:
//! what it calls sees the writes in commit order.

use std::future::Future;
use std::pin::Pin;

use sqlx::pool::PoolConnection;
use sqlx::{Acquire, Database, Pool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::{Result, StoreError};

/// The most writes committed together.
const MAX_BATCH: usize = 128;
/// Writes queued beyond this make their callers wait to queue (back-pressure).
const QUEUE_CAPACITY: usize = 1024;

pub type WriteFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>;
/// One write, run on the batch's connection inside the batch's transaction.
pub type WriteFn<DB, Req, Resp> = for<'c> fn(&'c mut <DB as Database>::Connection, Req) -> WriteFuture<'c, Resp>;
pub type BeginFuture<'c, DB> = Pin<Box<dyn Future<Output = sqlx::Result<Transaction<'c, DB>>> + Send + 'c>>;
/// Opens a batch's write transaction on the connection.
pub type BeginFn<DB> = for<'c> fn(&'c mut PoolConnection<DB>) -> BeginFuture<'c, DB>;

struct Job<Req, Resp> {
    req: Req,
    reply: oneshot::Sender<Result<Resp>>,
}

/// The queue of a writer task. The task stops once every handle is dropped
/// and what was queued is written.
pub struct GroupCommit<Req, Resp> {
    queue: mpsc::Sender<Job<Req, Resp>>,
}

impl<Req, Resp> Clone for GroupCommit<Req, Resp> {
    fn clone(&self) -> Self {
        GroupCommit { queue: self.queue.clone() }
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> GroupCommit<Req, Resp> {
    /// Starts the writer task on the current Tokio runtime.
    pub fn spawn<DB: Database>(
        pool: Pool<DB>,
        begin: BeginFn<DB>,
        write: WriteFn<DB, Req, Resp>,
        after_commit: impl Fn(&Resp) + Send + Sync + 'static,
    ) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(pool, begin, write, after_commit, jobs));
        GroupCommit { queue }
    }

    /// Queues the write and answers once its batch is committed (or failed).
    pub async fn write(&self, req: Req) -> Result<Resp> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job { req, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Database("the group-commit writer has stopped".into())
}

async fn run<DB: Database, Req, Resp>(
    pool: Pool<DB>,
    begin: BeginFn<DB>,
    write: WriteFn<DB, Req, Resp>,
    after_commit: impl Fn(&Resp),
    mut jobs: mpsc::Receiver<Job<Req, Resp>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Zero only once every handle is gone and the queue is empty.
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A caller that left while queued (its request dropped) is not
        // written for: as before batching, nothing of it is stored.
        batch.retain(|job| !job.reply.is_closed());
        if !batch.is_empty() {
            commit_batch(&pool, begin, write, &after_commit, std::mem::take(&mut batch)).await;
        }
    }
    tracing::debug!("group-commit writer stopped");
}

async fn commit_batch<DB: Database, Req, Resp>(
    pool: &Pool<DB>,
    begin: BeginFn<DB>,
    write: WriteFn<DB, Req, Resp>,
    after_commit: &impl Fn(&Resp),
    batch: Vec<Job<Req, Resp>>,
) {
    let size = batch.len();
    let (reqs, replies): (Vec<Req>, Vec<_>) = batch.into_iter().map(|job| (job.req, job.reply)).unzip();
    let written = match pool.acquire().await {
        Ok(mut conn) => write_batch(&mut conn, begin, write, reqs).await.map(|outcomes| (conn, outcomes)),
        Err(err) => Err(err),
    };
    match written {
        Ok((conn, outcomes)) => {
            tracing::debug!(size, "group commit");
            crate::telemetry::commit_batch(size);
            outcomes.iter().flatten().for_each(after_commit);
            // Held until `after_commit` has seen the batch: no other write committed in between.
            drop(conn);
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // A caller that left meanwhile has its write stored all the same.
                let _ = reply.send(outcome);
            }
        }
        Err(err) => {
            tracing::error!(%err, size, "a batch of writes failed; none of it is stored");
            for reply in replies {
                let _ = reply.send(Err(StoreError::Database(format!("writing a batch of {size}: {err}").into())));
            }
        }
    }
}

/// Writes the batch in one transaction and returns each write's outcome once
/// the commit is durable; an error here means nothing of the batch is stored.
async fn write_batch<DB: Database, Req, Resp>(
    conn: &mut PoolConnection<DB>,
    begin: BeginFn<DB>,
    write: WriteFn<DB, Req, Resp>,
    reqs: Vec<Req>,
) -> sqlx::Result<Vec<Result<Resp>>> {
    let written = async {
        let mut tx = begin(conn).await?;
        let mut outcomes = Vec::with_capacity(reqs.len());
        for req in reqs {
            let mut savepoint = (&mut tx).begin().await?;
            let outcome = write(&mut savepoint, req).await;
            match outcome {
                Ok(_) => savepoint.commit().await?,
                Err(_) => savepoint.rollback().await?,
            }
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }
    .await;
    if written.is_err() {
        // Its transaction may be half undone: the pool gets a fresh connection instead.
        conn.close_on_drop();
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;
    use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};

    fn begin(conn: &mut PoolConnection<Sqlite>) -> BeginFuture<'_, Sqlite> {
        Box::pin(conn.begin_with("BEGIN IMMEDIATE"))
    }

    /// Writes `n` into `t`; a negative `n` is written, then refused. `n`
    /// above 1000 names a missing parent, which only the commit checks.
    fn insert(conn: &mut SqliteConnection, n: i64) -> WriteFuture<'_, i64> {
        Box::pin(async move {
            let parent = (n > 1000).then_some(n + 1);
            sqlx::query("INSERT INTO t (n, parent) VALUES (?, ?)").bind(n).bind(parent).execute(&mut *conn).await?;
            if n < 0 {
                return Err(StoreError::invalid("n", "must not be negative"));
            }
            Ok(n)
        })
    }

    async fn store() -> (tempfile::TempDir, SqlitePool) {
        let dir = tempfile::tempdir().unwrap();
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        sqlx::query(
            "CREATE TABLE t (n INTEGER PRIMARY KEY,
             parent INTEGER REFERENCES t(n) DEFERRABLE INITIALLY DEFERRED)",
        )
        .execute(&pool)
        .await
        .unwrap();
        (dir, pool)
    }

    /// Queues the writes before the writer task can run, so they form one batch.
    fn queue_all(commit: &GroupCommit<i64, i64>, ns: &[i64]) -> Vec<oneshot::Receiver<Result<i64>>> {
        ns.iter()
            .map(|&n| {
                let (reply, answer) = oneshot::channel();
                commit.queue.try_send(Job { req: n, reply }).unwrap_or_else(|_| panic!("queue has room"));
                answer
            })
            .collect()
    }

    async fn stored(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n").fetch_all(pool).await.unwrap()
    }

    #[tokio::test]
    async fn a_refused_write_is_rolled_back_alone() {
        let (_dir, pool) = store().await;
        let commit = GroupCommit::spawn(pool.clone(), begin, insert, |_| {});
        let answers = queue_all(&commit, &[1, -2, 3]);
        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(answer.await.unwrap());
        }
        assert_eq!(outcomes[0].as_ref().unwrap(), &1);
        assert!(matches!(&outcomes[1], Err(StoreError::Invalid { field, .. }) if field == "n"), "{:?}", outcomes[1]);
        assert_eq!(outcomes[2].as_ref().unwrap(), &3);
        assert_eq!(stored(&pool).await, vec![1, 3]);
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_write_of_its_batch() {
        let (_dir, pool) = store().await;
        let commit = GroupCommit::spawn(pool.clone(), begin, insert, |_| {});
        let answers = queue_all(&commit, &[1, 2000, 3]);
        for answer in answers {
            let outcome = answer.await.unwrap();
            assert!(matches!(&outcome, Err(StoreError::Database(e)) if e.to_string().contains("FOREIGN KEY")), "{outcome:?}");
        }
        assert!(stored(&pool).await.is_empty());
        assert_eq!(commit.write(4).await.unwrap(), 4, "the next batch is written");
        assert_eq!(stored(&pool).await, vec![4]);
    }

    #[tokio::test]
    async fn a_write_whose_caller_left_is_skipped_and_the_rest_written() {
        let (_dir, pool) = store().await;
        let commit = GroupCommit::spawn(pool.clone(), begin, insert, |_| {});
        let mut answers = queue_all(&commit, &[1, 2, 3]);
        drop(answers.remove(1));
        for answer in answers {
            answer.await.unwrap().unwrap();
        }
        assert_eq!(stored(&pool).await, vec![1, 3]);
    }

    #[tokio::test]
    async fn the_writer_drains_the_queue_then_stops() {
        let (_dir, pool) = store().await;
        let tasks = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
        let before = tasks();
        let commit = GroupCommit::spawn(pool.clone(), begin, insert, |_| {});
        assert_eq!(tasks(), before + 1);
        let answers = queue_all(&commit, &[1, 2]);
        drop(commit);
        for answer in answers {
            answer.await.unwrap().unwrap();
        }
        assert_eq!(stored(&pool).await, vec![1, 2]);
        for _ in 0..100 {
            if tasks() == before {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the writer task did not stop");
    }
}
