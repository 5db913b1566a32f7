//! `--audit-log F`: one JSON line per connection event and per statement. Never a result value,
//! never a password, never a bound parameter.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::Log;

/// The audit log (or nothing, without `--audit-log`), and the server's log of problems.
#[derive(Debug, Default)]
pub struct Audit {
    file: Option<Mutex<File>>,
    log: Log,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Audit {
    pub fn open(path: Option<&Path>, log: Log) -> anyhow::Result<Self> {
        let file = match path {
            Some(path) => {
                let mut options = std::fs::OpenOptions::new();
                options.create(true).append(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                Some(Mutex::new(options.open(path).map_err(|e| {
                    anyhow::anyhow!("opening the audit log {}: {e}", path.display())
                })?))
            }
            None => None,
        };
        Ok(Self { file, log })
    }

    fn write(&self, value: serde_json::Value) {
        if let Some(file) = &self.file {
            let mut line = value.to_string();
            line.push('\n');
            if let Ok(mut file) = file.lock() {
                // An audit line that cannot be written is reported, and the server goes on.
                if let Err(e) = file.write_all(line.as_bytes()) {
                    self.log.line(&format!("writing the audit log: {e}"));
                }
            }
        }
    }

    /// A line for the server's log (not the audit log): what went wrong, never a password nor
    /// a value.
    pub fn log(&self, text: &str) {
        self.log.line(&crate::text::printable(text));
    }

    /// A connection event: `connected`, `refused` (with the reason), `disconnected`.
    pub fn connection(&self, user: &str, client: &SocketAddr, event: &str, reason: Option<&str>) {
        self.write(json!({
            "time": now(),
            "kind": "connection",
            "user": user,
            "client": client.to_string(),
            "outcome": event,
            "reason": reason,
        }));
    }

    /// A statement: its text, rows returned, duration and outcome (`ok`, or the SQLSTATE).
    pub fn statement(&self, record: &StatementRecord, rows: usize, outcome: &str) {
        self.write(json!({
            "time": now(),
            "kind": "statement",
            "user": record.user,
            "client": record.client.to_string(),
            "statement": record.statement,
            "rows": rows,
            "duration_ms": record.started.elapsed().as_secs_f64() * 1000.0,
            "outcome": outcome,
        }));
    }
}

/// What the audit needs of a statement while it runs.
#[derive(Debug, Clone)]
pub struct StatementRecord {
    pub user: String,
    pub client: SocketAddr,
    pub statement: String,
    pub started: std::time::Instant,
}

/// Lives in the connection's session extensions: writes `disconnected` when the connection ends.
#[derive(Debug)]
pub struct ConnectionAudit {
    audit: Arc<Audit>,
    pub user: String,
    pub client: SocketAddr,
}

impl ConnectionAudit {
    pub fn new(audit: Arc<Audit>, user: String, client: SocketAddr) -> Self {
        Self {
            audit,
            user,
            client,
        }
    }
}

impl Drop for ConnectionAudit {
    fn drop(&mut self) {
        self.audit
            .connection(&self.user, &self.client, "disconnected", None);
    }
}
