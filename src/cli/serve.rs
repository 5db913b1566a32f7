//! `attendance serve`: the store over the PostgreSQL wire protocol (see [`crate::server`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::DataArg;
use crate::server::{Log, Server, ServerOptions};
use crate::store::Store;

/// The options of `attendance serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The users file (`attendance users add`)
    #[arg(long)]
    pub users: PathBuf,
    /// Address and port to listen on; anything but loopback needs --tls-cert and --tls-key
    #[arg(long, default_value = "127.0.0.1:5432")]
    pub listen: String,
    /// PEM certificate (chain) for TLS; with it, clients must connect with SSL [default: none]
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS [default: none]
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Connections at once; further clients get SQLSTATE 53300
    #[arg(long, default_value_t = 64)]
    pub max_connections: usize,
    /// Longest a statement may run, e.g. 300s, 5m, 500ms (0: no limit)
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub statement_timeout: Duration,
    /// Append one JSON line per connection and statement to this file [default: none]
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
}

/// `300s`, `5m`, `1h`, `500ms`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 300s, 5m or 500ms"))?;
    Ok(match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("`{s}` is not a duration like 300s, 5m or 500ms")),
    })
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = Store::open_existing(&args.data.data)?;
    let options = ServerOptions {
        listen: args.listen,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        max_connections: args.max_connections,
        statement_timeout: Some(args.statement_timeout).filter(|d| !d.is_zero()),
        audit_log: args.audit_log,
        session: args.data.session_options(),
        log: Log::new(|line| eprintln!("attendance serve: {line}")),
    };
    let tls = options.tls_cert.is_some();
    let server = Server::start(store, &args.users, options).await?;
    eprintln!(
        "attendance serve: listening on {}{} (SIGTERM or Ctrl-C stops)",
        server.addr,
        if tls {
            " with TLS (sslmode=require)"
        } else {
            ", loopback only"
        }
    );
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    eprintln!("attendance serve: stopping; waiting for running statements");
    server.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("s").is_err());
    }
}
