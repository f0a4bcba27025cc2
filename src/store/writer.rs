//! Group commit (issue 7): one writer task per server stores the online submissions.
//!
//! Request handlers validate, rate-limit and prepare a [`NewResponse`] on their own tasks, then
//! hand it to the writer and wait. The writer takes every submission that is waiting (up to
//! [`MAX_BATCH`]), stores them in one transaction (responses, answers, contacts, integrity
//! checks, rollups and the ward alerts, see [`super::responses::insert_batch_mailing`]),
//! commits, and only then answers each handler, which only then sends its 303. A batch costs
//! one fsync (SQLite WAL with `synchronous=FULL`) or one commit round trip (PostgreSQL),
//! whatever its size, so throughput grows with the load while a lone submission is stored at
//! once: the writer never waits for a batch to fill.
//!
//! If a batch fails (a deadlock with another instance on PostgreSQL, one response that breaks a
//! constraint), nothing of it is stored and each of its submissions is retried alone, so one
//! bad submission never costs the others theirs. A submission is acknowledged only after its
//! own commit; one whose transaction failed gets the error and its handler answers 500.

use std::sync::{Arc, Weak};

use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot};

use super::responses::{NewResponse, Outcome, insert_batch_outcomes};
use crate::app::Inner;

/// The most submissions one transaction stores.
pub const MAX_BATCH: usize = 256;

/// How many submissions may wait for the writer before handlers wait to enqueue.
const QUEUE: usize = 4096;

struct Job {
    response: NewResponse,
    reply: oneshot::Sender<Result<Outcome, DbErr>>,
}

/// The handle request handlers submit through; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

/// The receiving end, until [`Writer::start`] hands it to the task.
pub struct Pending(mpsc::Receiver<Job>);

impl Writer {
    pub fn new() -> (Writer, Pending) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Writer { tx }, Pending(rx))
    }

    /// Starts the writer task for the application `inner`. The task holds only a weak
    /// reference: it stops when the application is dropped and the queue is empty.
    pub fn start(inner: &Arc<Inner>, pending: Pending) {
        let weak = Arc::downgrade(inner);
        tokio::spawn(run(weak, pending.0));
    }

    /// Stores `response` durably; returns after the commit.
    pub async fn submit(&self, response: NewResponse) -> Result<Outcome, DbErr> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { response, reply })
            .await
            .map_err(|_| DbErr::Custom("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| DbErr::Custom("the writer dropped the submission".into()))?
    }
}

async fn run(app: Weak<Inner>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let Some(app) = app.upgrade() else {
            for job in jobs.drain(..) {
                let _ = job
                    .reply
                    .send(Err(DbErr::Custom("the server is stopping".into())));
            }
            continue;
        };
        store(&app, &mut jobs).await;
    }
}

/// Stores `jobs` in one transaction, or each alone if that fails; answers every job.
async fn store(app: &Inner, jobs: &mut Vec<Job>) {
    let batch: Vec<NewResponse> = jobs.iter().map(|j| j.response.clone()).collect();
    match commit(app, &batch).await {
        Ok(outcomes) => {
            for (job, outcome) in jobs.drain(..).zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(e) if jobs.len() > 1 => {
            tracing::warn!(error = %e, size = jobs.len(), "a batch failed; storing its submissions one by one");
            for job in jobs.drain(..) {
                let one = std::slice::from_ref(&job.response);
                let result = commit(app, one)
                    .await
                    .map(|mut v| v.pop().expect("one outcome per response"));
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            if let Some(job) = jobs.pop() {
                let _ = job.reply.send(Err(e));
            }
        }
    }
}

async fn commit(app: &Inner, batch: &[NewResponse]) -> Result<Vec<Outcome>, DbErr> {
    let mail = crate::mail::alerts::MailCtx {
        tera: &app.tera,
        base_url: &app.config.base_url,
        cfg: &app.config.mail,
    };
    let txn = super::begin_write(&app.db).await?;
    let outcomes = insert_batch_outcomes(&txn, batch, &app.config.integrity, Some(&mail)).await?;
    txn.commit().await?;
    Ok(outcomes)
}
