//! The single writer: one thread owns the one writing connection and commits in groups.
//!
//! Every write of the process is a job sent to this thread. The thread takes whatever is queued
//! (up to [`MAX_BATCH`]), runs each job in its own savepoint inside one `BEGIN IMMEDIATE`
//! transaction, commits once (one WAL fsync for the whole group), then publishes each job's changes
//! and answers its caller. A job that fails rolls back its savepoint only; the others still commit.
//! A caller is answered only after the commit that holds its write, or with the error that
//! prevented it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use rusqlite::Connection;
use surel_store::{Change, ChangeHub, StoreResult};
use surel_types::AccountId;
use tokio::sync::oneshot;

use crate::error::{Result, failure};

/// The most jobs committed in one transaction; bounds how long the write lock is held.
const MAX_BATCH: usize = 256;

/// A write's result with the changes to publish once it has committed.
pub(crate) struct Done<R> {
    /// What the caller gets.
    pub(crate) value: R,
    /// Published on the [`ChangeHub`] after the commit, before the caller is answered.
    pub(crate) changes: Vec<(AccountId, Change)>,
}

impl<R> Done<R> {
    /// A result with nothing to publish.
    pub(crate) fn quiet(value: R) -> Self {
        Done {
            value,
            changes: Vec::new(),
        }
    }
}

/// One queued write, type-erased so jobs of every result type share the queue.
trait Job: Send {
    /// Runs the write inside its savepoint; false if it failed (the savepoint is rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Ends the job after its batch: `committed` says whether the batch's commit happened.
    fn finish(self: Box<Self>, committed: std::result::Result<(), &str>, hub: &ChangeHub);
}

type Reply<R> = Box<dyn FnOnce(StoreResult<R>) + Send>;

struct Op<R, F> {
    work: Option<F>,
    outcome: Option<Result<Done<R>>>,
    reply: Reply<R>,
}

impl<R, F> Job for Op<R, F>
where
    R: Send,
    F: FnOnce(&Connection) -> Result<Done<R>> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // A bug in one job must not take the writer thread (and every later write) down with it.
        let outcome = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(failure("a write panicked; it was rolled back").into()));
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, committed: std::result::Result<(), &str>, hub: &ChangeHub) {
        let result = match (self.outcome, committed) {
            (Some(Ok(done)), Ok(())) => {
                for (account, change) in done.changes {
                    hub.publish(account, change);
                }
                Ok(done.value)
            }
            (Some(Err(e)), _) => Err(e.into()),
            (Some(Ok(_)) | None, Err(why)) => Err(failure(format!("commit failed: {why}"))),
            (None, Ok(())) => Err(failure("the write was never run")),
        };
        (self.reply)(result);
    }
}

/// The handle to the writer thread. Dropping it lets the thread finish the queue and stop.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `conn`; committed changes are published on `hub`.
    pub(crate) fn start(conn: Connection, hub: Arc<ChangeHub>) -> StoreResult<Writer> {
        let (queue, jobs) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("surel-sqlite-writer".into())
            .spawn(move || writer_loop(&conn, &jobs, &hub))
            .map_err(|e| failure(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Runs `work` in the writer's next transaction and returns its result once committed.
    pub(crate) async fn write<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<Done<R>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.submit(work, Box::new(move |result| drop(tx.send(result))))?;
        rx.await.map_err(|_| writer_gone())?
    }

    /// Like [`Writer::write`], blocking the calling thread (for synchronous callers; never call
    /// it on an async runtime thread).
    pub(crate) fn write_blocking<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<Done<R>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.submit(work, Box::new(move |result| drop(tx.send(result))))?;
        rx.recv().map_err(|_| writer_gone())?
    }

    fn submit<R, F>(&self, work: F, reply: Reply<R>) -> StoreResult<()>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<Done<R>> + Send + 'static,
    {
        let op = Op {
            work: Some(work),
            outcome: None,
            reply,
        };
        let queue = self.queue.as_ref().ok_or_else(writer_gone)?;
        queue.send(Box::new(op)).map_err(|_| writer_gone())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread after the jobs already queued; waiting for it means
        // the connection is closed (and the WAL checkpointed) when the store is gone.
        self.queue = None;
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

fn writer_gone() -> surel_store::StoreError {
    failure("the store's writer thread has stopped")
}

fn writer_loop(conn: &Connection, jobs: &mpsc::Receiver<Box<dyn Job>>, hub: &ChangeHub) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(conn, batch, hub);
    }
}

fn run_batch(conn: &Connection, mut batch: Vec<Box<dyn Job>>, hub: &ChangeHub) {
    let committed = (|| -> rusqlite::Result<()> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        for job in &mut batch {
            conn.execute_batch("SAVEPOINT job")?;
            if job.run(conn) {
                conn.execute_batch("RELEASE job")?;
            } else {
                conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            }
        }
        conn.execute_batch("COMMIT")
    })();
    match committed {
        Ok(()) => {
            for job in batch {
                job.finish(Ok(()), hub);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = batch.len(), "store write batch failed");
            if !conn.is_autocommit() {
                // Nothing of the batch may stay; a failed rollback leaves SQLite to roll back.
                let _ = conn.execute_batch("ROLLBACK");
            }
            let why = e.to_string();
            for job in batch {
                job.finish(Err(&why), hub);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use surel_store::StoreError;

    fn writer() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::schema::open_writer(&dir.path().join("surel.db")).unwrap();
        (
            dir,
            Writer::start(conn, Arc::new(ChangeHub::default())).unwrap(),
        )
    }

    fn count_domains(conn: &Connection) -> Result<i64> {
        Ok(conn.query_row("SELECT count(*) FROM domains", [], |r| r.get(0))?)
    }

    #[test]
    fn a_failed_job_rolls_back_only_itself() {
        let (_dir, writer) = writer();
        writer
            .write_blocking(|conn| {
                conn.execute("INSERT INTO domains (name) VALUES ('a.test')", [])?;
                Ok(Done::quiet(()))
            })
            .unwrap();
        let err = writer
            .write_blocking(|conn| -> Result<Done<()>> {
                conn.execute("INSERT INTO domains (name) VALUES ('b.test')", [])?;
                Err(StoreError::Invalid("refused".into()).into())
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        let n = writer
            .write_blocking(|conn| Ok(Done::quiet(count_domains(conn)?)))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_panicking_job_does_not_stop_the_writer() {
        let (_dir, writer) = writer();
        let err = writer
            .write_blocking(|_| -> Result<Done<()>> { panic!("bug") })
            .unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)));
        assert_eq!(
            writer
                .write_blocking(|conn| Ok(Done::quiet(count_domains(conn)?)))
                .unwrap(),
            0
        );
    }
}
