//! `attendance serve` under load (issue #14), run by hand, not in CI:
//!
//! ```sh
//! cargo bench --bench server_load -- --data DIR [--clients 16] [--seconds 30] [--runs 5]
//! ```
//!
//! 1. A server on an ephemeral loopback port over `DIR`; `--clients` tokio-postgres clients each
//!    run W7 and W8 (`queries/workload/`) in turn, over the simple protocol as psql does, for
//!    `--seconds`, each on enrolments of its own (drawn from `pupils`): throughput and p50/p99
//!    latency, per query and together.
//! 2. W1 through the server (a warm connection) against W1 in-process (the session `attendance
//!    sql` builds, planned and collected) and against the `attendance sql -c` command (its whole
//!    run, the session build included): median and min of `--runs` after one warm-up run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use attendance::cli::bench::{WORKLOAD, with_parameters};
use attendance::server::auth::Users;
use attendance::server::{Server, ServerOptions};
use attendance::session::{SessionOptions, session};
use attendance::store::Store;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Int32Type};
use tokio_postgres::{Client, NoTls};

const USER: &str = "bench";
const PASSWORD: &str = "bench password";

struct Args {
    data: PathBuf,
    clients: usize,
    seconds: u64,
    runs: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        data: PathBuf::new(),
        clients: 16,
        seconds: 30,
        runs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => args.data = value()?.into(),
            "--clients" => args.clients = value()?.parse()?,
            "--seconds" => args.seconds = value()?.parse()?,
            "--runs" => args.runs = value()?.parse()?,
            // What `cargo bench` passes to every bench target.
            "--bench" => {}
            other => bail!("unknown option {other}"),
        }
    }
    if args.data.as_os_str().is_empty() {
        bail!("usage: server_load --data DIR [--clients 16] [--seconds 30] [--runs 5]");
    }
    Ok(args)
}

fn workload(id: &str) -> &'static str {
    WORKLOAD
        .iter()
        .find(|(q, _)| *q == id)
        .map(|(_, sql)| *sql)
        .expect("a workload query")
}

/// Up to `n` enrolments (urn, pupil id), spread over the store.
async fn enrolments(store: &Store, n: usize) -> anyhow::Result<Vec<(i32, String)>> {
    let (ctx, _) = session(store, &SessionOptions::default()).await?;
    let sql = format!(
        "SELECT urn, CAST(pupil_id AS VARCHAR) FROM pupils ORDER BY md5(CAST(pupil_id AS VARCHAR)) LIMIT {n}"
    );
    let batches: Vec<RecordBatch> = ctx.sql(&sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in batches {
        let pupil = datafusion::arrow::compute::cast(b.column(1), &DataType::Utf8)?;
        for r in 0..b.num_rows() {
            out.push((
                b.column(0).as_primitive::<Int32Type>().value(r),
                pupil.as_string::<i32>().value(r).to_owned(),
            ));
        }
    }
    if out.is_empty() {
        bail!("the store has no pupils");
    }
    Ok(out)
}

async fn connect(server: &Server) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(server.addr.port())
        .user(USER)
        .password(PASSWORD)
        .dbname("attendance")
        .connect(NoTls)
        .await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The latencies (seconds) of W7 and W8 of one client until `until`.
async fn client_loop(
    client: Client,
    enrolments: Vec<(i32, String)>,
    until: Instant,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let (mut w7, mut w8) = (Vec::new(), Vec::new());
    let mut i = 0;
    while Instant::now() < until {
        let (urn, pupil) = &enrolments[i % enrolments.len()];
        for (id, times) in [("W7", &mut w7), ("W8", &mut w8)] {
            let sql = with_parameters(workload(id), *urn, pupil);
            let started = Instant::now();
            client.simple_query(&sql).await?;
            times.push(started.elapsed().as_secs_f64());
        }
        i += 1;
    }
    Ok((w7, w8))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(what: &str, times: &mut [f64], seconds: f64) {
    times.sort_by(f64::total_cmp);
    println!(
        "{what}: {} queries, {:.1} queries/s, p50 {:.1} ms, p99 {:.1} ms",
        times.len(),
        times.len() as f64 / seconds,
        percentile(times, 50.0) * 1000.0,
        percentile(times, 99.0) * 1000.0
    );
}

async fn load(server: &Server, store: &Store, args: &Args) -> anyhow::Result<()> {
    let all = enrolments(store, args.clients * 16).await?;
    let mut clients = Vec::new();
    for _ in 0..args.clients {
        clients.push(connect(server).await?);
    }
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for (n, client) in clients.into_iter().enumerate() {
        let mine: Vec<_> = all.iter().skip(n).step_by(args.clients).cloned().collect();
        let mine = if mine.is_empty() { all.clone() } else { mine };
        tasks.push(tokio::spawn(client_loop(client, mine, until)));
    }
    let (mut w7, mut w8) = (Vec::new(), Vec::new());
    for task in tasks {
        let (a, b) = task.await??;
        w7.extend(a);
        w8.extend(b);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} clients for {seconds:.1} s (W7 and W8 in turn, simple protocol):",
        args.clients
    );
    report("  W7", &mut w7, seconds);
    report("  W8", &mut w8, seconds);
    let mut both: Vec<f64> = w7.iter().chain(&w8).copied().collect();
    report("  W7+W8", &mut both, seconds);
    Ok(())
}

/// Median and min of `runs` timings after one warm-up.
async fn timed<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(f64, f64)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    f().await?;
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        f().await?;
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times[0]))
}

async fn w1(server: &Server, store: &Store, args: &Args) -> anyhow::Result<()> {
    let sql = workload("W1");
    let client = connect(server).await?;
    let (server_median, server_min) = timed(args.runs, || async {
        client.simple_query(sql).await?;
        Ok(())
    })
    .await?;
    let (ctx, _) = session(store, &SessionOptions::default()).await?;
    let (engine_median, engine_min) = timed(args.runs, || async {
        ctx.sql(sql).await?.collect().await?;
        Ok(())
    })
    .await?;
    let data = args.data.clone();
    let (command_median, command_min) = timed(args.runs, || {
        let data = data.clone();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_attendance"))
                .args([
                    "sql",
                    "--format",
                    "csv",
                    &format!("--command={sql}"),
                    "--data",
                ])
                .arg(&data)
                .output()
                .await?;
            if !out.status.success() {
                bail!("attendance sql: {}", String::from_utf8_lossy(&out.stderr));
            }
            Ok(())
        }
    })
    .await?;
    println!("W1, median (min) of {} runs after a warm-up:", args.runs);
    println!("  through the server (warm connection): {server_median:.3} s ({server_min:.3})");
    println!(
        "  in-process, the session of `attendance sql`: {engine_median:.3} s ({engine_min:.3})"
    );
    println!(
        "  the `attendance sql -c` command, whole run: {command_median:.3} s ({command_min:.3})"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let store = Store::open_existing(&args.data)?;
    let dir = tempfile::tempdir()?;
    let users = dir.path().join("users.txt");
    Users::add(&users, USER, PASSWORD)?;
    let options = ServerOptions {
        listen: "127.0.0.1:0".into(),
        statement_timeout: None,
        ..Default::default()
    };
    let server = Server::start(store.clone(), &users, options).await?;
    println!(
        "store {} ({} cores)",
        args.data.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    load(&server, &store, &args).await?;
    w1(&server, &store, &args).await?;
    server.stop().await;
    Ok(())
}
