//! `attendance serve` (issue #14) through a real client library (tokio-postgres): a server on an
//! ephemeral loopback port over a fresh store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use attendance::server::auth::Users;
use attendance::server::{Server, ServerOptions};
use attendance::session::{SessionOptions, session};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::common::*;

const USER: &str = "analyst";
const PASSWORD: &str = "correct horse battery staple";

/// Every test body is bounded in time.
const LIMIT: Duration = Duration::from_secs(120);

fn users_file(f: &Fixture) -> PathBuf {
    let path = f.dir.path().join("users.txt");
    if !path.exists() {
        Users::add(&path, USER, PASSWORD).unwrap();
    }
    path
}

fn options() -> ServerOptions {
    ServerOptions {
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    }
}

async fn start(f: &Fixture, options: ServerOptions) -> Server {
    Server::start(f.store(), &users_file(f), options)
        .await
        .expect("server starts")
}

fn config(server: &Server, user: &str, password: Option<&str>) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(server.addr.port())
        .user(user)
        .dbname("attendance")
        .connect_timeout(Duration::from_secs(10));
    if let Some(p) = password {
        config.password(p);
    }
    config
}

async fn try_connect(
    server: &Server,
    user: &str,
    password: Option<&str>,
) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config(server, user, password).connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn connect(server: &Server) -> Client {
    try_connect(server, USER, Some(PASSWORD))
        .await
        .expect("connects")
}

fn code(e: &tokio_postgres::Error) -> Option<SqlState> {
    e.code().cloned()
}

/// Every file under `dir` with its bytes, to compare a store before and after.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n != ".lock") {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The text rows of a simple query (NULL as None).
async fn text_rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .expect(sql)
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// The same query in-process, as text rows.
async fn in_process_rows(f: &Fixture, sql: &str) -> Vec<Vec<Option<String>>> {
    let (ctx, _) = session(&f.store(), &SessionOptions::default())
        .await
        .unwrap();
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut rows = Vec::new();
    let options = FormatOptions::default();
    for batch in batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, fmt)| (!c.is_null(r)).then(|| fmt.value(r).to_string()))
                    .collect(),
            );
        }
    }
    rows
}

#[tokio::test]
async fn authentication_right_wrong_missing_unknown() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let audit = f.dir.path().join("audit.jsonl");
        let server = start(
            &f,
            ServerOptions {
                audit_log: Some(audit.clone()),
                ..options()
            },
        )
        .await;
        let client = connect(&server).await;
        assert_eq!(
            text_rows(&client, "SELECT 1").await,
            vec![vec![Some("1".into())]]
        );

        let wrong = try_connect(&server, USER, Some("not the password"))
            .await
            .unwrap_err();
        assert_eq!(code(&wrong), Some(SqlState::INVALID_PASSWORD), "{wrong}");
        let unknown = try_connect(&server, "nobody", Some(PASSWORD))
            .await
            .unwrap_err();
        assert_eq!(
            code(&unknown),
            Some(SqlState::INVALID_PASSWORD),
            "{unknown}"
        );
        // A client with no password cannot answer SCRAM: the connection fails.
        assert!(try_connect(&server, USER, None).await.is_err());

        drop(client);
        server.stop().await;
        let log = std::fs::read_to_string(&audit).unwrap();
        assert!(log.contains("\"outcome\":\"connected\""), "{log}");
        assert!(log.contains("wrong password"), "{log}");
        assert!(log.contains("unknown user"), "{log}");
        assert!(!log.contains(PASSWORD) && !log.contains("not the password"));
        // The users file keeps no password and is private.
        let users = std::fs::read_to_string(users_file(&f)).unwrap();
        assert!(users.starts_with("analyst:SCRAM-SHA-256$4096:"), "{users}");
        assert!(!users.contains(PASSWORD));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(users_file(&f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    })
    .await
    .expect("bounded in time");
}

#[tokio::test]
async fn writes_ddl_copy_and_files_are_refused_and_the_store_is_unchanged() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let outside = f.file("outside.csv", "a\n1\n");
        let server = start(&f, options()).await;
        let client = connect(&server).await;
        let before = snapshot(&f.data_dir());
        let copy_to = f.dir.path().join("copy.csv");
        let refused = [
            "INSERT INTO registers SELECT * FROM registers".to_owned(),
            "UPDATE registers SET code = '/'".to_owned(),
            "DELETE FROM registers".to_owned(),
            "TRUNCATE registers".to_owned(),
            "MERGE INTO registers r USING registers s ON r.urn = s.urn WHEN MATCHED THEN DELETE"
                .to_owned(),
            "CREATE TABLE t AS SELECT 1".to_owned(),
            "CREATE VIEW v AS SELECT 1".to_owned(),
            "DROP TABLE registers".to_owned(),
            "ALTER TABLE registers ADD COLUMN x INT".to_owned(),
            format!("COPY (SELECT * FROM registers) TO '{}'", copy_to.display()),
            format!(
                "CREATE EXTERNAL TABLE e (a INT) STORED AS TEXTFILE LOCATION '{}'",
                outside.display()
            ),
            format!("SELECT * FROM read_csv('{}')", outside.display()),
            format!("SELECT * FROM read_parquet('{}')", outside.display()),
            format!("SELECT * FROM '{}'", outside.display()),
            format!("SELECT * FROM (SELECT * FROM '{}') x", outside.display()),
            "EXPLAIN ANALYZE INSERT INTO registers SELECT * FROM registers".to_owned(),
        ];
        for sql in &refused {
            let e = client.simple_query(sql).await.unwrap_err();
            let c = code(&e);
            assert!(
                c == Some(SqlState::READ_ONLY_SQL_TRANSACTION)
                    || c == Some(SqlState::INSUFFICIENT_PRIVILEGE),
                "{sql}: {e:?}"
            );
            // Also through the extended protocol.
            let e = client.prepare(sql).await.unwrap_err();
            let c = code(&e);
            assert!(
                c == Some(SqlState::READ_ONLY_SQL_TRANSACTION)
                    || c == Some(SqlState::INSUFFICIENT_PRIVILEGE),
                "prepare {sql}: {e:?}"
            );
        }
        assert!(!copy_to.exists());
        assert_eq!(snapshot(&f.data_dir()), before, "the store changed");
        // What clients send on connect works, and the connection is still usable.
        for sql in [
            "SET application_name = 'test'",
            "SET extra_float_digits = 3",
            "SHOW application_name",
            "BEGIN",
            "COMMIT",
            "DISCARD ALL",
            "SELECT count(*) FROM registers",
        ] {
            client
                .simple_query(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        }
        // A bad query gets its error and the connection stays usable.
        assert!(
            client
                .simple_query("SELECT nope FROM registers")
                .await
                .is_err()
        );
        assert_eq!(
            text_rows(&client, "SELECT 2").await,
            vec![vec![Some("2".into())]]
        );
        drop(client);
        server.stop().await;
    })
    .await
    .expect("bounded in time");
}

#[tokio::test]
async fn attendance_functions_prepared_statements_and_types() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let server = start(&f, options()).await;
        let client = connect(&server).await;

        let sql = "SELECT urn, pupil_id, attendance_category(code) AS category, is_absence(code) AS absent, \
                   academic_year(date) AS year FROM registers ORDER BY urn, pupil_id, date, session";
        let wire = text_rows(&client, sql).await;
        assert_eq!(wire.len(), 6);
        let in_process = in_process_rows(&f, sql).await;
        // Booleans are t/f on the wire, true/false in Arrow.
        let in_process: Vec<Vec<Option<String>>> = in_process
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| {
                        v.map(|v| match v.as_str() {
                            "true" => "t".to_owned(),
                            "false" => "f".to_owned(),
                            _ => v,
                        })
                    })
                    .collect()
            })
            .collect();
        assert_eq!(wire, in_process);

        // Extended protocol with parameters.
        let statement = client
            .prepare("SELECT pupil_id, code FROM registers WHERE urn = $1 AND pupil_id = $2 ORDER BY date, session")
            .await
            .unwrap();
        assert_eq!(statement.params(), &[Type::INT4, Type::TEXT]);
        let rows = client.query(&statement, &[&100001i32, &"P2"]).await.unwrap();
        let codes: Vec<String> = rows.iter().map(|r| r.get::<_, String>(1)).collect();
        assert_eq!(codes, ["N", "I"]);
        let rows = client.query(&statement, &[&100002i32, &"P3"]).await.unwrap();
        assert_eq!(rows.len(), 2);

        // Types.
        let row = client
            .query_one(
                "SELECT CAST(count(*) AS BIGINT) AS n, CAST(1 AS INT) AS i, absence_rate(code) AS rate, \
                 min(date) AS first, bool_or(is_absence(code)) AS any_absence FROM registers",
                &[],
            )
            .await
            .unwrap();
        let types: Vec<Type> = row.columns().iter().map(|c| c.type_().clone()).collect();
        assert_eq!(
            types,
            [Type::INT8, Type::INT4, Type::FLOAT8, Type::DATE, Type::BOOL]
        );
        assert_eq!(row.get::<_, i64>(0), 6);
        assert_eq!(row.get::<_, i32>(1), 1);
        let rate: f64 = row.get(2);
        assert!(rate > 0.0 && rate < 100.0);
        let first: chrono::NaiveDate = row.get(3);
        assert_eq!(first, chrono::NaiveDate::from_ymd_opt(2024, 9, 2).unwrap());
        assert!(row.get::<_, bool>(4));

        // EXPLAIN ANALYZE works.
        assert!(!text_rows(&client, "EXPLAIN ANALYZE SELECT count(*) FROM registers").await.is_empty());
        drop(client);
        server.stop().await;
    })
    .await
    .expect("bounded in time");
}

#[tokio::test]
async fn connection_limit() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let server = start(
            &f,
            ServerOptions {
                max_connections: 2,
                ..options()
            },
        )
        .await;
        let a = connect(&server).await;
        let b = connect(&server).await;
        let e = try_connect(&server, USER, Some(PASSWORD))
            .await
            .unwrap_err();
        assert_eq!(code(&e), Some(SqlState::TOO_MANY_CONNECTIONS), "{e:?}");
        a.simple_query("SELECT 1").await.unwrap();
        drop(a);
        // The slot is freed when the client goes away.
        let mut c = None;
        for _ in 0..100 {
            if let Ok(client) = try_connect(&server, USER, Some(PASSWORD)).await {
                c = Some(client);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let c = c.expect("a freed slot is reused");
        c.simple_query("SELECT 1").await.unwrap();
        drop((b, c));
        server.stop().await;
    })
    .await
    .expect("bounded in time");
}

/// 6^12 (2 billion) rows: far longer than any test waits. An aggregate over a cross join of
/// in-memory batches computes without giving its thread back: a cancel or the deadline ends it
/// for the client at once, but its thread is freed only when it next yields (see the report
/// of #14); one partition each, so that the plan threads are not all taken by them.
const SLOW: &str = "SELECT max(a.pupil_id || b.pupil_id || c.pupil_id || l.pupil_id) FROM registers a, registers b, registers c, registers d, registers e, \
     registers f, registers g, registers h, registers i, registers j, registers k, registers l";

fn one_partition() -> SessionOptions {
    SessionOptions {
        target_partitions: Some(1),
        ..SessionOptions::default()
    }
}

// Two workers: the server runs a plan in a task of its own, next to the connection's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_and_cancel() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let server = start(
            &f,
            ServerOptions {
                statement_timeout: Some(Duration::from_millis(300)),
                session: one_partition(),
                ..options()
            },
        )
        .await;
        let client = connect(&server).await;
        let started = std::time::Instant::now();
        let e = client.simple_query(SLOW).await.unwrap_err();
        assert_eq!(code(&e), Some(SqlState::QUERY_CANCELED), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(20));
        // Still usable.
        assert_eq!(
            text_rows(&client, "SELECT 3").await,
            vec![vec![Some("3".into())]]
        );

        drop(client);
        server.stop().await;
        // A cancel request. (A client that vanishes mid-query is noticed when the server next
        // writes to it, or at the statement timeout: 5 s here, so that the stop below does not
        // wait for it.)
        let server = start(
            &f,
            ServerOptions {
                statement_timeout: Some(Duration::from_secs(5)),
                session: one_partition(),
                ..options()
            },
        )
        .await;
        let client = connect(&server).await;
        let token = client.cancel_token();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            token.cancel_query(NoTls).await
        });
        let e = client.simple_query(SLOW).await.unwrap_err();
        assert_eq!(code(&e), Some(SqlState::QUERY_CANCELED), "{e:?}");
        canceller.await.unwrap().unwrap();
        assert_eq!(
            text_rows(&client, "SELECT 4").await,
            vec![vec![Some("4".into())]]
        );

        // A client that disconnects mid-query: the server goes on serving others.
        let other = connect(&server).await;
        let query = tokio::spawn(async move { other.simple_query(SLOW).await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(300)).await;
        query.abort();
        let _ = query.await;
        assert_eq!(
            text_rows(&client, "SELECT 5").await,
            vec![vec![Some("5".into())]]
        );
        drop(client);
        server.stop().await;
    })
    .await
    .expect("bounded in time");
}

#[tokio::test]
async fn an_ingest_committed_while_serving_is_seen_by_the_next_statement() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let server = start(&f, options()).await;
        let client = connect(&server).await;
        let count = "SELECT count(*) FROM registers";
        assert_eq!(text_rows(&client, count).await, vec![vec![Some("6".into())]]);
        let prepared = client.prepare("SELECT count(*) FROM registers WHERE urn = $1").await.unwrap();
        let more = f.file(
            "more.csv",
            "pupil_id,urn,date,session,code\nP1,100001,2024-09-03,AM,/\nP1,100001,2024-09-03,PM,/\n",
        );
        f.ingest(&f.options(&[&more])).await.expect("ingest");
        assert_eq!(text_rows(&client, count).await, vec![vec![Some("8".into())]]);
        let n: i64 = client.query_one(&prepared, &[&100001i32]).await.unwrap().get(0);
        assert_eq!(n, 6);
        drop(client);
        server.stop().await;
    })
    .await
    .expect("bounded in time");
}

#[tokio::test]
async fn non_loopback_without_tls_is_refused() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let e = Server::start(
            f.store(),
            &users_file(&f),
            ServerOptions {
                listen: "0.0.0.0:0".into(),
                ..options()
            },
        )
        .await
        .err()
        .expect("refused");
        assert!(e.to_string().contains("loopback"), "{e}");
        // A TLS set-up error is fatal, never a fall-back to clear text.
        let e = Server::start(
            f.store(),
            &users_file(&f),
            ServerOptions {
                tls_cert: Some(f.file("bad.crt", "not a certificate")),
                tls_key: Some(f.file("bad.key", "not a key")),
                ..options()
            },
        )
        .await
        .err()
        .expect("refused");
        assert!(format!("{e:#}").contains("TLS"), "{e:#}");
    })
    .await
    .expect("bounded in time");
}

/// A TLS client that trusts only `cert` (DER).
fn tls_client(cert: &[u8]) -> tokio_postgres_rustls::MakeRustlsConnect {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.to_vec().into()).expect("a certificate");
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

#[tokio::test]
async fn tls_with_a_self_signed_certificate() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = f.file("server.crt", &made.cert.pem());
        let key = f.file("server.key", &made.signing_key.serialize_pem());
        let server = start(
            &f,
            ServerOptions {
                tls_cert: Some(cert),
                tls_key: Some(key),
                ..options()
            },
        )
        .await;
        // The certificate names `localhost`; the server listens on 127.0.0.1.
        let mut config = tokio_postgres::Config::new();
        config
            .host("localhost")
            .hostaddr(std::net::IpAddr::from([127, 0, 0, 1]))
            .port(server.addr.port())
            .user(USER)
            .password(PASSWORD)
            .dbname("attendance")
            .connect_timeout(Duration::from_secs(10))
            .ssl_mode(tokio_postgres::config::SslMode::Require);
        let (client, connection) = config
            .connect(tls_client(made.cert.der()))
            .await
            .expect("connects over TLS");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        // The fixture's six marks; at school 100001 P1's `/` and `\` (present), P2's `N`
        // (unauthorised) and `I` (authorised): 4 possible sessions, 2 absences, 50%.
        assert_eq!(
            text_rows(&client, "SELECT count(*) FROM registers").await,
            vec![vec![Some("6".into())]]
        );
        let row = client
            .query_one(
                "SELECT count(*), absence_rate(code) FROM registers WHERE urn = $1",
                &[&100001i32],
            )
            .await
            .unwrap();
        assert_eq!((row.get::<_, i64>(0), row.get::<_, f64>(1)), (4, 50.0));

        // The server has TLS, so it requires it: a clear-text client is refused.
        let clear = config
            .ssl_mode(tokio_postgres::config::SslMode::Disable)
            .connect(NoTls)
            .await;
        assert!(clear.is_err(), "a clear-text connection was accepted");
        // A client that does not trust the certificate does not connect.
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let untrusted = config
            .ssl_mode(tokio_postgres::config::SslMode::Require)
            .connect(tls_client(other.cert.der()))
            .await;
        assert!(
            untrusted.is_err(),
            "a certificate nobody trusts was accepted"
        );
        drop(client);
        server.stop().await;
    })
    .await
    .expect("bounded in time");
}

/// psql's `\dt`, `\d registers` (its first query) and `\df` (with and without a pattern), as
/// psql 15 sends them (captured with `psql -E`): the store's tables, and the attendance
/// functions with PostgreSQL type names, listed in schema `public`.
#[tokio::test]
async fn psql_describes_tables_and_functions() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let server = start(&f, options()).await;
        let client = connect(&server).await;
        let tables = text_rows(&client, PSQL_DT).await;
        let names: Vec<&str> = tables.iter().map(|r| r[1].as_deref().unwrap()).collect();
        // The summary, never built here, is a view computed live, and so are the monitoring
        // views: `\dt` lists tables only (the monitoring views' two parameter tables too).
        assert_eq!(
            names,
            [
                "monitor_parameters",
                "monitor_selection",
                "pupils",
                "registers",
                "schools"
            ]
        );
        let described = text_rows(&client, PSQL_D_REGISTERS).await;
        assert_eq!(described.len(), 1, "{described:?}");
        assert_eq!(described[0][2].as_deref(), Some("registers"));

        let functions = text_rows(&client, PSQL_DF).await;
        let row = |name: &str| {
            functions
                .iter()
                .find(|r| r[1].as_deref() == Some(name))
                .unwrap_or_else(|| panic!("{name} not in \\df: {functions:?}"))
                .clone()
        };
        // absence_rate(code): the share of a set of marks that is absence (an aggregate).
        let rate = row("absence_rate");
        assert_eq!(rate[0].as_deref(), Some("public"));
        assert_eq!(rate[2].as_deref(), Some("double precision"));
        assert_eq!(rate[3].as_deref(), Some("code text"));
        assert_eq!(rate[4].as_deref(), Some("agg"));
        // absence_band(overall, possible, width): a scalar function of three integers.
        let band = row("absence_band");
        assert_eq!(band[2].as_deref(), Some("text"));
        assert_eq!(
            band[3].as_deref(),
            Some("overall bigint, possible bigint, width bigint")
        );
        assert_eq!(band[4].as_deref(), Some("func"));
        // Only attendance functions: none of PostgreSQL's own.
        assert!(functions.iter().all(|r| r[0].as_deref() == Some("public")));
        assert!(!functions.iter().any(|r| r[1].as_deref() == Some("boolin")));

        // A generator and a catalog table function plan in the server's sessions (they used to
        // fail looking for a file table factory bound to a session gone by).
        let generated = text_rows(&client, "SELECT count(*) FROM range(1, 11)").await;
        assert_eq!(generated, [[Some("10".to_string())]]);
        let keywords = text_rows(
            &client,
            "SELECT count(*) > 100 FROM pg_catalog.pg_get_keywords()",
        )
        .await;
        assert_eq!(keywords, [[Some("t".to_string())]]);

        let matching = text_rows(&client, PSQL_DF_ABSENCE).await;
        let mut names: Vec<&str> = matching.iter().map(|r| r[1].as_deref().unwrap()).collect();
        names.dedup();
        assert_eq!(names, ["absence_band", "absence_rate", "absence_reason"]);
    })
    .await
    .expect("in time");
}

const PSQL_DT: &str = r#"SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;"#;

const PSQL_D_REGISTERS: &str = r#"SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(registers)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;"#;

const PSQL_DF: &str = r#"SELECT n.nspname as "Schema",
  p.proname as "Name",
  pg_catalog.pg_get_function_result(p.oid) as "Result data type",
  pg_catalog.pg_get_function_arguments(p.oid) as "Argument data types",
 CASE p.prokind
  WHEN 'a' THEN 'agg'
  WHEN 'w' THEN 'window'
  WHEN 'p' THEN 'proc'
  ELSE 'func'
 END as "Type"
FROM pg_catalog.pg_proc p
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE pg_catalog.pg_function_is_visible(p.oid)
      AND n.nspname <> 'pg_catalog'
      AND n.nspname <> 'information_schema'
ORDER BY 1, 2, 4;"#;

const PSQL_DF_ABSENCE: &str = r#"SELECT n.nspname as "Schema",
  p.proname as "Name",
  pg_catalog.pg_get_function_result(p.oid) as "Result data type",
  pg_catalog.pg_get_function_arguments(p.oid) as "Argument data types",
 CASE p.prokind
  WHEN 'a' THEN 'agg'
  WHEN 'w' THEN 'window'
  WHEN 'p' THEN 'proc'
  ELSE 'func'
 END as "Type"
FROM pg_catalog.pg_proc p
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname OPERATOR(pg_catalog.~) '^(absence.*)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_function_is_visible(p.oid)
ORDER BY 1, 2, 4;"#;

/// SIGTERM to `attendance serve`: a statement running when it arrives finishes and returns
/// its rows, the process exits with success, and no new client is accepted after.
#[tokio::test]
async fn sigterm_lets_running_statements_finish_then_stops() {
    tokio::time::timeout(LIMIT, async {
        let f = Fixture::loaded().await;
        let users = users_file(&f);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_attendance"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(f.data_dir())
            .arg("--users")
            .arg(&users)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // "attendance serve: listening on 127.0.0.1:PORT, loopback only ..."
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
        let line = lines.next().unwrap().unwrap();
        let port: u16 = line
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(port)
            .user(USER)
            .password(PASSWORD)
            .dbname("attendance")
            .connect_timeout(Duration::from_secs(5));
        let (client, connection) = config.connect(NoTls).await.unwrap();
        tokio::spawn(connection);
        // A statement of a few seconds, running when the signal arrives.
        let running = tokio::spawn(async move {
            client
                .simple_query(
                    "WITH d(v) AS (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) \
                     SELECT count(*) AS n FROM d a, d b, d c, d e, d f, d g, d h, d i, d j \
                     WHERE (a.v + b.v + c.v + e.v + f.v + g.v + h.v + i.v + j.v) % 7 = 3",
                )
                .await
        });
        tokio::time::sleep(Duration::from_millis(700)).await;
        if running.is_finished() {
            let _ = child.kill();
            panic!(
                "the statement ended before the signal: {:?}",
                running.await.unwrap()
            );
        }
        let pid = child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let rows = running
            .await
            .unwrap()
            .expect("the running statement finishes");
        let count = rows.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        });
        // The 10^9 strings of nine digits whose digit sum is 3 modulo 7: 142,857,403 (the
        // digit-sum distribution of nine digits, convolved in a few lines of Python, summed
        // over the sums 3, 10, ..., 80).
        assert_eq!(count.as_deref(), Some("142857403"));
        let status = child.wait().unwrap();
        assert!(status.success(), "{status:?}");
        assert!(
            config.connect(NoTls).await.is_err(),
            "a client was accepted after SIGTERM"
        );
    })
    .await
    .expect("in time");
}
