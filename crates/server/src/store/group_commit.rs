//! Group commit: concurrent writes share one transaction, so one fsync
//! makes a whole batch durable instead of each write paying for its own.
//!
//! One writer task takes what is queued (at most [`MAX_BATCH`]), opens one
//! write transaction (the backend's [`BeginFn`]: it takes the write lock),
//! runs the writes in order through a fresh [`Batch`], lets the batch flush
//! what they left pending and finish what they share (one statement for all of them instead of one each),
//! commits once, and only then answers the callers. Nothing waits for a
//! batch to fill: a batch is what queued up while the previous one was being
//! written, so a lone write is committed at once.
//!
//! A write that fails fails alone. A batch is first written straight
//! through: savepoints would cost every write two more round trips to the
//! database. If a write fails, that transaction is rolled back and the batch
//! written again with each write in its own savepoint, rolled back alone
//! when it fails. An invalid write costs its batch one more run at most,
//! and never another write's outcome.
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

pub type BeginFuture<'c, DB> = Pin<Box<dyn Future<Output = sqlx::Result<Transaction<'c, DB>>> + Send + 'c>>;
/// Opens a batch's write transaction on the connection.
pub type BeginFn<DB> = for<'c> fn(&'c mut PoolConnection<DB>) -> BeginFuture<'c, DB>;

/// The writes of one run of a batch, as a store does them, in the batch's
/// transaction: each in turn, then what they share. A new value for each run.
pub trait Batch<DB: Database>: Default + Send + 'static {
    type Req: Send + Sync + 'static;
    type Resp: Send + 'static;

    /// One write. What it keeps in `self` for [`Batch::finish`] it keeps
    /// once it has succeeded: a write that fails is rolled back. It may
    /// leave part of its statements to [`Batch::flush`].
    fn write(&mut self, conn: &mut DB::Connection, req: &Self::Req) -> impl Future<Output = Result<()>> + Send;

    /// What the writes since the last flush left to do, done together (one
    /// statement for all of them instead of one each). Called after each
    /// write when writes are rolled back one by one, else once after the
    /// last; when it fails, so did those writes.
    fn flush(&mut self, _conn: &mut DB::Connection) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// After the last write and flush: the answer of each write that succeeded, in order.
    fn finish(self, conn: &mut DB::Connection) -> impl Future<Output = Result<Vec<Self::Resp>>> + Send;
}

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

impl<Req: Send + Sync + 'static, Resp: Send + 'static> GroupCommit<Req, Resp> {
    /// Starts the writer task of batches `B` on the current Tokio runtime.
    pub fn spawn<DB: Database, B: Batch<DB, Req = Req, Resp = Resp>>(
        pool: Pool<DB>,
        begin: BeginFn<DB>,
        after_commit: impl Fn(&Resp) + Send + Sync + 'static,
    ) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run::<DB, B>(pool, begin, after_commit, jobs));
        GroupCommit { queue }
    }

    /// Queues the write and answers once its batch is committed (or failed).
    pub async fn write(&self, req: Req) -> Result<Resp> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job { req, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn miscounted() -> StoreError {
    StoreError::Database("a batch answered another number of writes than succeeded".into())
}

fn stopped() -> StoreError {
    StoreError::Database("the group-commit writer has stopped".into())
}

async fn run<DB: Database, B: Batch<DB>>(
    pool: Pool<DB>,
    begin: BeginFn<DB>,
    after_commit: impl Fn(&B::Resp),
    mut jobs: mpsc::Receiver<Job<B::Req, B::Resp>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Zero only once every handle is gone and the queue is empty.
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A caller that left while queued (its request dropped) is not
        // written for: as before batching, nothing of it is stored.
        batch.retain(|job| !job.reply.is_closed());
        if !batch.is_empty() {
            commit_batch::<DB, B>(&pool, begin, &after_commit, std::mem::take(&mut batch)).await;
        }
    }
    tracing::debug!("group-commit writer stopped");
}

async fn commit_batch<DB: Database, B: Batch<DB>>(
    pool: &Pool<DB>,
    begin: BeginFn<DB>,
    after_commit: &impl Fn(&B::Resp),
    batch: Vec<Job<B::Req, B::Resp>>,
) {
    let size = batch.len();
    let (reqs, replies): (Vec<B::Req>, Vec<_>) = batch.into_iter().map(|job| (job.req, job.reply)).unzip();
    let written = match pool.acquire().await {
        Ok(mut conn) => write_batch::<DB, B>(&mut conn, begin, &reqs).await.map(|outcomes| (conn, outcomes)),
        Err(err) => Err(err.into()),
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
async fn write_batch<DB: Database, B: Batch<DB>>(
    conn: &mut PoolConnection<DB>,
    begin: BeginFn<DB>,
    reqs: &[B::Req],
) -> Result<Vec<Result<B::Resp>>> {
    let written = async {
        match write_once::<DB, B>(conn, begin, reqs, false).await? {
            Some(outcomes) => Ok(outcomes),
            None => write_once::<DB, B>(conn, begin, reqs, true)
                .await?
                .ok_or_else(|| StoreError::Database("a batch written with savepoints gave up".into())),
        }
    }
    .await;
    if written.is_err() {
        // Its transaction may be half undone: the pool gets a fresh connection instead.
        conn.close_on_drop();
    }
    written
}

/// One run of the batch in one transaction, committed. Straight through
/// (no `savepoints`), the first write that fails rolls the run back and
/// it answers `None`; with them, a write that fails is rolled back alone.
async fn write_once<DB: Database, B: Batch<DB>>(
    conn: &mut PoolConnection<DB>,
    begin: BeginFn<DB>,
    reqs: &[B::Req],
    savepoints: bool,
) -> Result<Option<Vec<Result<B::Resp>>>> {
    let mut tx = begin(conn).await?;
    let mut batch = B::default();
    let mut failures = Vec::with_capacity(reqs.len());
    for req in reqs {
        let failure = if savepoints {
            let mut savepoint = (&mut tx).begin().await?;
            let outcome = match batch.write(&mut savepoint, req).await {
                Ok(()) => batch.flush(&mut savepoint).await,
                Err(err) => Err(err),
            };
            match outcome {
                Ok(()) => savepoint.commit().await?,
                Err(_) => savepoint.rollback().await?,
            }
            outcome.err()
        } else {
            match batch.write(&mut tx, req).await {
                Ok(()) => None,
                Err(_) => {
                    tx.rollback().await?;
                    return Ok(None);
                }
            }
        };
        failures.push(failure);
    }
    if !savepoints && batch.flush(&mut tx).await.is_err() {
        tx.rollback().await?;
        return Ok(None);
    }
    let mut answers = batch.finish(&mut tx).await?.into_iter();
    let mut outcomes = Vec::with_capacity(failures.len());
    for failure in failures {
        outcomes.push(match failure {
            Some(err) => Err(err),
            None => Ok(answers.next().ok_or_else(miscounted)?),
        });
    }
    if answers.next().is_some() {
        return Err(miscounted());
    }
    tx.commit().await?;
    Ok(Some(outcomes))
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
    /// Positive ones are written together at the flush, where 999 fails (a
    /// CHECK of `t`). Each write is answered with `n` and the rows its
    /// transaction holds once all of the batch's are written.
    #[derive(Default)]
    struct Inserts {
        pending: Vec<i64>,
        written: Vec<i64>,
    }

    async fn insert(conn: &mut SqliteConnection, ns: &[i64]) -> Result<()> {
        sqlx::query(
            "INSERT INTO t (n, parent) SELECT value, CASE WHEN value > 1000 THEN value + 1 END
             FROM json_each(?) ORDER BY key",
        )
        .bind(serde_json::to_string(ns)?)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    impl Batch<Sqlite> for Inserts {
        type Req = i64;
        type Resp = (i64, i64);

        async fn write(&mut self, conn: &mut SqliteConnection, &n: &i64) -> Result<()> {
            if n < 0 {
                insert(conn, &[n]).await?;
                return Err(StoreError::invalid("n", "must not be negative"));
            }
            self.pending.push(n);
            Ok(())
        }

        async fn flush(&mut self, conn: &mut SqliteConnection) -> Result<()> {
            let pending = std::mem::take(&mut self.pending);
            insert(conn, &pending).await?;
            self.written.extend(pending);
            Ok(())
        }

        async fn finish(self, conn: &mut SqliteConnection) -> Result<Vec<(i64, i64)>> {
            let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&mut *conn).await?;
            Ok(self.written.into_iter().map(|n| (n, rows)).collect())
        }
    }

    fn spawn(pool: &SqlitePool) -> GroupCommit<i64, (i64, i64)> {
        GroupCommit::spawn::<_, Inserts>(pool.clone(), begin, |_| {})
    }

    async fn store() -> (tempfile::TempDir, SqlitePool) {
        let dir = tempfile::tempdir().unwrap();
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        sqlx::query(
            "CREATE TABLE t (n INTEGER PRIMARY KEY CHECK (n <> 999),
             parent INTEGER REFERENCES t(n) DEFERRABLE INITIALLY DEFERRED)",
        )
        .execute(&pool)
        .await
        .unwrap();
        (dir, pool)
    }

    /// Queues the writes before the writer task can run, so they form one batch.
    fn queue_all(commit: &GroupCommit<i64, (i64, i64)>, ns: &[i64]) -> Vec<oneshot::Receiver<Result<(i64, i64)>>> {
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
        let commit = spawn(&pool);
        let answers = queue_all(&commit, &[1, -2, 3]);
        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(answer.await.unwrap());
        }
        assert_eq!(outcomes[0].as_ref().unwrap(), &(1, 2), "answered after the batch's writes, in its transaction");
        assert!(matches!(&outcomes[1], Err(StoreError::Invalid { field, .. }) if field == "n"), "{:?}", outcomes[1]);
        assert_eq!(outcomes[2].as_ref().unwrap(), &(3, 2));
        assert_eq!(stored(&pool).await, vec![1, 3]);
    }

    #[tokio::test]
    async fn a_write_that_fails_when_flushed_fails_alone() {
        let (_dir, pool) = store().await;
        let commit = spawn(&pool);
        let answers = queue_all(&commit, &[1, 999, 3]);
        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(answer.await.unwrap());
        }
        assert_eq!(outcomes[0].as_ref().unwrap(), &(1, 2));
        assert!(
            matches!(&outcomes[1], Err(StoreError::Database(e)) if e.to_string().contains("CHECK")),
            "{:?}",
            outcomes[1]
        );
        assert_eq!(outcomes[2].as_ref().unwrap(), &(3, 2));
        assert_eq!(stored(&pool).await, vec![1, 3]);
    }

    #[tokio::test]
    async fn a_batch_of_refused_writes_stores_none_of_them() {
        let (_dir, pool) = store().await;
        let commit = spawn(&pool);
        for answer in queue_all(&commit, &[-1, -2]) {
            let outcome = answer.await.unwrap();
            assert!(matches!(&outcome, Err(StoreError::Invalid { field, .. }) if field == "n"), "{outcome:?}");
        }
        assert!(stored(&pool).await.is_empty());
        assert_eq!(commit.write(5).await.unwrap(), (5, 1));
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_write_of_its_batch() {
        let (_dir, pool) = store().await;
        let commit = spawn(&pool);
        let answers = queue_all(&commit, &[1, 2000, 3]);
        for answer in answers {
            let outcome = answer.await.unwrap();
            assert!(
                matches!(&outcome, Err(StoreError::Database(e)) if e.to_string().contains("FOREIGN KEY")),
                "{outcome:?}"
            );
        }
        assert!(stored(&pool).await.is_empty());
        assert_eq!(commit.write(4).await.unwrap(), (4, 1), "the next batch is written");
        assert_eq!(stored(&pool).await, vec![4]);
    }

    #[tokio::test]
    async fn a_write_whose_caller_left_is_skipped_and_the_rest_written() {
        let (_dir, pool) = store().await;
        let commit = spawn(&pool);
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
        let commit = spawn(&pool);
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
