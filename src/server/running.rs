//! A running statement: its cancel signal, its deadline and its audit record, and the rows of a
//! plan that runs in a task of its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use datafusion::execution::SendableRecordBatchStream;
use datafusion_postgres::arrow_pg::datatypes::encode_recordbatch;
use futures::channel::oneshot;
use futures::{Stream, StreamExt};
use pgwire::api::results::FieldInfo;
use pgwire::api::{ClientInfo, ConnectionHandle};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

use super::Shared;
use super::audit::{ConnectionAudit, StatementRecord};
use super::checks::{cancelled, df_error, sqlstate, timed_out};

/// The user and address of an authenticated connection.
pub(super) fn who<C: ClientInfo + ?Sized>(client: &C) -> (String, std::net::SocketAddr) {
    match client.session_extensions().get::<ConnectionAudit>() {
        Some(c) => (c.user.clone(), c.client),
        None => (String::new(), client.socket_addr()),
    }
}

/// The statement timeout: the server's, or the client's `SET statement_timeout` if shorter.
fn timeout_of<C: ClientInfo + ?Sized>(client: &C, shared: &Shared) -> Option<Duration> {
    let server = shared.options.statement_timeout;
    let client = datafusion_postgres_client_timeout(client);
    match (server, client) {
        (Some(s), Some(c)) => Some(s.min(c)),
        (s, c) => s.or(c),
    }
}

fn datafusion_postgres_client_timeout<C: ClientInfo + ?Sized>(client: &C) -> Option<Duration> {
    client
        .metadata()
        .get("statement_timeout_ms")
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// A running statement's guard: the cancel signal, the deadline, the audit record.
pub(super) struct Running {
    /// The connection's cancel handle. pgwire itself cancels `do_query` (planning here); once
    /// the rows stream, the statement arms its own receiver ([`Running::arm_cancel`]).
    handle: Option<Arc<ConnectionHandle>>,
    arming: Option<Pin<Box<dyn Future<Output = oneshot::Receiver<()>> + Send>>>,
    cancel: Option<oneshot::Receiver<()>>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    record: StatementRecord,
    shared: Arc<Shared>,
    rows: usize,
    outcome: Option<String>,
}

impl Running {
    pub(super) async fn start<C: ClientInfo + ?Sized>(
        client: &C,
        shared: &Arc<Shared>,
        statement: String,
    ) -> Self {
        let handle = client
            .session_extensions()
            .get::<Arc<ConnectionHandle>>()
            .map(|h| Arc::clone(&*h));
        let (user, addr) = who(client);
        shared.running.fetch_add(1, Ordering::SeqCst);
        Self {
            handle,
            arming: None,
            cancel: None,
            deadline: timeout_of(client, shared).map(|d| Box::pin(tokio::time::sleep(d))),
            record: StatementRecord {
                user,
                client: addr,
                statement,
                started: Instant::now(),
            },
            shared: shared.clone(),
            rows: 0,
            outcome: None,
        }
    }

    /// From now on, a cancel request for the connection ends this statement.
    fn arm_cancel(&mut self) {
        if let Some(handle) = self.handle.take() {
            #[allow(clippy::async_yields_async)] // the receiver is awaited while rows stream
            let arming = async move { handle.start_query().await };
            self.arming = Some(Box::pin(arming));
        }
    }

    /// Polls the cancel signal and the deadline: the error to end the statement with, if any.
    fn poll_interrupt(&mut self, cx: &mut Context<'_>) -> Option<PgWireError> {
        if let Some(arming) = &mut self.arming
            && let Poll::Ready(rx) = arming.as_mut().poll(cx)
        {
            self.arming = None;
            self.cancel = Some(rx);
        }
        if let Some(rx) = &mut self.cancel {
            match Pin::new(rx).poll(cx) {
                Poll::Ready(Ok(())) => {
                    self.cancel = None;
                    return Some(cancelled());
                }
                // The sender was replaced (never for a running statement) or dropped.
                Poll::Ready(Err(_)) => self.cancel = None,
                Poll::Pending => {}
            }
        }
        if let Some(deadline) = &mut self.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            self.deadline = None;
            return Some(timed_out());
        }
        None
    }

    /// Runs `future` unless the statement is cancelled or times out first.
    pub(super) async fn guard<T>(
        &mut self,
        future: impl Future<Output = PgWireResult<T>>,
    ) -> PgWireResult<T> {
        let mut future = std::pin::pin!(future);
        let result = std::future::poll_fn(|cx| {
            if let Some(e) = self.poll_interrupt(cx) {
                return Poll::Ready(Err(e));
            }
            future.as_mut().poll(cx)
        })
        .await;
        if let Err(e) = &result {
            self.fail(e);
        }
        result
    }

    fn fail(&mut self, e: &PgWireError) {
        if self.outcome.is_none() {
            self.outcome = Some(sqlstate(e));
        }
    }

    fn finish(mut self, outcome: &str) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome.to_owned());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shared.running.fetch_sub(1, Ordering::SeqCst);
        // Dropped before the end of its rows: the client went away (or stopped reading).
        let outcome = self.outcome.as_deref().unwrap_or("disconnected");
        self.shared
            .audit
            .statement(&self.record, self.rows, outcome);
    }
}

/// The batches of a plan running in its own task; dropping it aborts the task.
struct AbortOnDrop {
    rx: tokio::sync::mpsc::Receiver<
        datafusion::error::Result<datafusion::arrow::array::RecordBatch>,
    >,
    task: tokio::task::AbortHandle,
}

impl Stream for AbortOnDrop {
    type Item = datafusion::error::Result<datafusion::arrow::array::RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A query's rows, stopped by a cancel request or the deadline; dropping it stops the query
/// and frees its memory.
pub(super) struct GuardedRows {
    rows: Pin<Box<dyn Stream<Item = PgWireResult<DataRow>> + Send>>,
    running: Option<Running>,
}

impl GuardedRows {
    /// The rows of `batches`, encoded for the wire as `fields` say, while `running` guards them.
    /// The plan runs in a task of its own on `executor` (threads apart from the connections'),
    /// so that the deadline and a cancel request end the statement for the client even while an
    /// operator computes without yielding; the task is aborted (and the plan's memory freed)
    /// when the rows are dropped.
    pub(super) fn new(
        running: Running,
        fields: Arc<Vec<FieldInfo>>,
        mut batches: SendableRecordBatchStream,
        executor: &tokio::runtime::Handle,
    ) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let task = executor.spawn(async move {
            while let Some(batch) = batches.next().await {
                if tx.send(batch).await.is_err() {
                    break;
                }
            }
        });
        let batches = AbortOnDrop {
            rx,
            task: task.abort_handle(),
        };
        let rows = batches
            .map(move |batch| {
                let rows: Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send> = match batch {
                    Ok(batch) => encode_recordbatch(fields.clone(), batch),
                    Err(e) => Box::new(std::iter::once(Err(df_error(e)))),
                };
                futures::stream::iter(rows)
            })
            .flatten();
        Self {
            rows: Box::pin(rows),
            running: Some(running),
        }
    }
}

impl Stream for GuardedRows {
    type Item = PgWireResult<DataRow>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(running) = &mut this.running else {
            return Poll::Ready(None);
        };
        running.arm_cancel();
        if let Some(e) = running.poll_interrupt(cx) {
            running.fail(&e);
            this.running = None;
            return Poll::Ready(Some(Err(e)));
        }
        match this.rows.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(row))) => {
                running.rows += 1;
                Poll::Ready(Some(Ok(row)))
            }
            Poll::Ready(Some(Err(e))) => {
                running.fail(&e);
                this.running = None;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                if let Some(r) = this.running.take() {
                    r.finish("ok");
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
