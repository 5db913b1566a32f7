//! `attendance serve`: the store over the PostgreSQL wire protocol (issue #14), for psql,
//! DBeaver, Power BI, psycopg/pandas and any PostgreSQL client.
//!
//! - [`auth`]: the users file (`attendance users add|remove|list`) and SCRAM-SHA-256.
//! - [`handler`]: statements, on the latest commit: checked read-only by [`checks`], cancellable
//!   and timed out (`running`).
//! - [`audit`]: `--audit-log`, one JSON line per connection event and statement.
//! - `functions`: the attendance functions in `pg_catalog.pg_proc`, for psql's `\df`.
//!
//! Built on `pgwire` 0.41 and the pieces of `datafusion-postgres` 0.19 (`pg_catalog`, Arrow to
//! PostgreSQL encoding, the `SET`/`SHOW`/transaction hooks), with this project's own accept loop:
//! a TLS set-up error is fatal (the crate's `serve` carries on in clear text), clients past
//! `--max-connections` get SQLSTATE 53300 (the crate closes the socket without a word), and
//! SIGTERM drains running statements.
//!
//! Every statement gets a session on the latest committed version of every table: the sessions
//! are built by [`crate::session::session`], cached while the tables' `_delta_log` versions stay
//! the same, and all share one `RuntimeEnv`, so the memory budget holds across connections.

pub mod audit;
pub mod auth;
pub mod checks;
mod functions;
pub mod handler;
mod running;

use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ConnectionManager, PgWireServerHandlers};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::session::{SessionOptions, session};
use crate::store::Store;

use audit::Audit;
use auth::{ScramStartup, Users};
use handler::Service;

/// Where the server's log lines go (refused logins, connection errors, warnings): the library
/// never prints; `attendance serve` prints them on standard error.
#[derive(Clone)]
pub struct Log(Arc<dyn Fn(&str) + Send + Sync>);

impl Log {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// A log nobody reads.
    pub fn silent() -> Self {
        Self::new(|_| {})
    }

    pub fn line(&self, text: &str) {
        (self.0)(text)
    }
}

impl Default for Log {
    fn default() -> Self {
        Self::silent()
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Log")
    }
}

/// How the server runs (what `attendance serve`'s options say).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: String,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub max_connections: usize,
    /// `None`: no limit.
    pub statement_timeout: Option<Duration>,
    pub audit_log: Option<PathBuf>,
    pub session: SessionOptions,
    pub log: Log,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:5432".into(),
            tls_cert: None,
            tls_key: None,
            max_connections: 64,
            statement_timeout: Some(Duration::from_secs(300)),
            audit_log: None,
            session: SessionOptions::default(),
            log: Log::silent(),
        }
    }
}

/// The session of the latest store versions seen, and what they were.
struct Cached {
    versions: Vec<(String, Option<u64>)>,
    ctx: Arc<SessionContext>,
}

/// What every connection shares.
pub struct Shared {
    store: Store,
    options: ServerOptions,
    runtime: Arc<RuntimeEnv>,
    users: Users,
    audit: Arc<Audit>,
    tls: bool,
    store_tables: Vec<String>,
    cache: tokio::sync::Mutex<Option<Cached>>,
    /// A session with no tables, for `SET`/`SHOW` and the transaction statements.
    scratch: SessionContext,
    /// Statements running now (SIGTERM waits for them).
    running: AtomicUsize,
    /// Where plans run: threads of their own, so that a plan computing without a pause never
    /// holds up the connections (their messages, cancel requests and deadlines).
    executor: Executor,
}

/// A tokio runtime for plans, shut down without waiting when the server goes.
struct Executor(Option<tokio::runtime::Runtime>);

impl Executor {
    fn new() -> anyhow::Result<Self> {
        // Twice the cores: a plan that computes without yielding (an aggregate over a cross
        // join of in-memory batches) keeps its thread even after it was cancelled, until it
        // next yields; the other threads go on serving the other statements.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores * 2)
            .thread_name("attendance-plan")
            .enable_all()
            .build()
            .context("starting the threads that run plans")?;
        Ok(Self(Some(runtime)))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("running until dropped").handle()
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed on the connections' runtime.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The newest commit of each table, from its `_delta_log` directory (a directory listing, no
/// log replay).
fn latest_versions(store: &Store) -> Vec<(String, Option<u64>)> {
    store
        .table_names()
        .map(|name| {
            let log = store.root().join(name).join("_delta_log");
            let version = std::fs::read_dir(&log).ok().and_then(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name();
                        let name = name.to_str()?;
                        name.strip_suffix(".json")?.parse::<u64>().ok()
                    })
                    .max()
            });
            (name.to_owned(), version)
        })
        .collect()
}

impl Shared {
    /// A session on the latest committed store, shared while nothing new is committed. A running
    /// statement keeps the session (and the snapshot) it started with.
    async fn fresh_context(&self) -> anyhow::Result<SessionContext> {
        let versions = latest_versions(&self.store);
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref().filter(|c| c.versions == versions) {
            // A statement of its own: `SET` in one connection does not reach another.
            return Ok(SessionContext::new_with_state(c.ctx.state()));
        }
        let ctx = Arc::new(self.build_context().await?);
        *cache = Some(Cached {
            versions,
            ctx: ctx.clone(),
        });
        Ok(SessionContext::new_with_state(ctx.state()))
    }

    async fn build_context(&self) -> anyhow::Result<SessionContext> {
        let options = SessionOptions {
            files_as_tables: false,
            ..self.options.session.clone()
        };
        let (ctx, _) = session(&self.store, &options).await?;
        // One memory pool for every connection: the server's runtime, not the session's own.
        let state = SessionStateBuilder::new_from_existing(ctx.state())
            .with_runtime_env(self.runtime.clone())
            .build();
        let ctx = SessionContext::new_with_state(state);
        for name in ["read_parquet", "read_csv", "read_json", "read_avro"] {
            ctx.deregister_udtf(name);
        }
        let catalog = ctx
            .state()
            .config()
            .options()
            .catalog
            .default_catalog
            .clone();
        datafusion_postgres::datafusion_pg_catalog::setup_pg_catalog(
            &ctx,
            &catalog,
            datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider,
        )
        .map_err(|e| anyhow::anyhow!("setting up pg_catalog: {e}"))?;
        functions::register(&ctx, &catalog)
            .await
            .map_err(|e| anyhow::anyhow!("listing the functions in pg_catalog: {e}"))?;
        Ok(ctx)
    }

    fn scratch_context(&self) -> SessionContext {
        SessionContext::new_with_state(self.scratch.state())
    }
}

/// The handlers of one connection.
struct Connection {
    startup: Arc<ScramStartup>,
    service: Arc<Service>,
    cancel: Arc<DefaultCancelHandler>,
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.service.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.service.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancel.clone()
    }
}

fn is_loopback(listen: &str) -> anyhow::Result<(Vec<SocketAddr>, bool)> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .with_context(|| format!("--listen {listen} is not an address like 127.0.0.1:5432"))?
        .collect();
    let loopback = !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback());
    Ok((addrs, loopback))
}

fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let certs = rustls_pemfile::certs(&mut BufReader::new(
        std::fs::File::open(cert).with_context(|| format!("opening {}", cert.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .with_context(|| format!("reading the certificate {}", cert.display()))?;
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", cert.display());
    }
    let key = rustls_pemfile::private_key(&mut BufReader::new(
        std::fs::File::open(key).with_context(|| format!("opening {}", key.display()))?,
    ))
    .with_context(|| format!("reading the private key {}", key.display()))?
    .with_context(|| format!("{} holds no PEM private key", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the TLS certificate and key do not make a server configuration")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Checks the options (non-loopback without TLS refused, TLS errors fatal), reads the users,
    /// opens the store and binds; the server then runs in a task until [`Server::stop`].
    pub async fn start(
        store: Store,
        users_file: &Path,
        options: ServerOptions,
    ) -> anyhow::Result<Self> {
        let (addrs, loopback) = is_loopback(&options.listen)?;
        let tls = match (&options.tls_cert, &options.tls_key) {
            (Some(cert), Some(key)) => Some(
                tls_acceptor(cert, key)
                    .context("TLS could not be set up; the server does not start without it")?,
            ),
            (None, None) => None,
            _ => bail!("--tls-cert and --tls-key go together"),
        };
        if !loopback && tls.is_none() {
            bail!(
                "--listen {} is not a loopback address: give --tls-cert and --tls-key (pupil registers never cross a network in clear)",
                options.listen
            );
        }
        let users = Users::read(users_file)?;
        if users.users.is_empty() {
            options.log.line(&format!(
                "warning: {} has no users; nobody can connect",
                users_file.display()
            ));
        }
        let audit = Arc::new(Audit::open(
            options.audit_log.as_deref(),
            options.log.clone(),
        )?);
        let runtime = crate::session::base_session(&options.session)?.runtime_env();
        let shared = Arc::new(Shared {
            store_tables: store.table_names().map(str::to_owned).collect(),
            store,
            runtime,
            users,
            audit,
            tls: tls.is_some(),
            cache: tokio::sync::Mutex::new(None),
            scratch: SessionContext::new(),
            running: AtomicUsize::new(0),
            executor: Executor::new()?,
            options,
        });
        // The store is opened once now, so that a broken store fails the start, not a client.
        shared.fresh_context().await?;
        let listener = TcpListener::bind(addrs.as_slice())
            .await
            .with_context(|| format!("listening on {}", shared.options.listen))?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, tls, shared, stop));
        Ok(Self {
            addr,
            shutdown: Some(shutdown),
            task,
        })
    }

    /// Stops accepting, waits for running statements (at most `grace`), and closes every
    /// connection.
    pub async fn stop(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long SIGTERM waits for running statements.
const DRAIN: Duration = Duration::from_secs(30);

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let limit = Arc::new(Semaphore::new(shared.options.max_connections.max(1)));
    let manager = Arc::new(ConnectionManager::new());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (socket, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                shared.audit.log(&format!("accepting a connection: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let permit = limit.clone().try_acquire_owned().ok();
        let handlers = Arc::new(Connection {
            startup: Arc::new(ScramStartup::new(
                shared.clone(),
                manager.clone(),
                permit.is_none(),
            )),
            service: Arc::new(Service::new(shared.clone())),
            cancel: Arc::new(DefaultCancelHandler::new(manager.clone())),
        });
        let tls = tls.clone();
        let shared = shared.clone();
        connections.spawn(async move {
            let _permit = permit;
            if let Err(e) = pgwire::tokio::process_socket(socket, tls, handlers).await {
                shared.audit.log(&format!("connection from {peer}: {e}"));
            }
        });
    }
    drop(listener);
    // Drain: running statements finish (for at most DRAIN), then every connection is closed.
    let started = std::time::Instant::now();
    while shared.running.load(Ordering::SeqCst) > 0 && started.elapsed() < DRAIN {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    connections.shutdown().await;
}
