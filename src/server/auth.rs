//! Who may connect: a users file of SCRAM-SHA-256 verifiers, and the SCRAM exchange itself.
//!
//! The file holds one `name:verifier` line per user, the verifier in PostgreSQL's form
//! (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64), so it never holds a
//! password nor anything a client could log in with. It is created with mode 0600.
//!
//! pgwire's own SCRAM handler needs the salted password (a password equivalent), so the server
//! side of RFC 5802/7677 is done here from `StoredKey` and `ServerKey`, as PostgreSQL does it.
//! An unknown user goes through the same exchange with a made-up verifier, so a client cannot
//! tell an unknown user from a wrong password.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::{Sink, SinkExt};
use hmac::{Hmac, Mac};
use pgwire::api::auth::{
    DefaultServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{
    ClientInfo, ConnectionManager, PgWireConnectionState, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::Shared;
use super::audit::ConnectionAudit;

/// SCRAM iterations of new verifiers (PostgreSQL's default).
pub const ITERATIONS: u32 = 4096;

/// A parsed SCRAM-SHA-256 verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

impl Verifier {
    /// A verifier for `password` with a fresh random salt.
    pub fn new(password: &str) -> Self {
        Self::with_salt(password, &rand::random::<[u8; 16]>(), ITERATIONS)
    }

    pub fn with_salt(password: &str, salt: &[u8], iterations: u32) -> Self {
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        Self {
            iterations,
            salt: salt.to_vec(),
            stored_key: Sha256::digest(&client_key).to_vec(),
            server_key: hmac(&salted, b"Server Key"),
        }
    }

    /// A stand-in for an unknown user: stable for a name (so repeated attempts look alike) and
    /// matching no password.
    fn unknown(name: &str) -> Self {
        let salt = Sha256::digest(format!("attendance unknown user {name}").as_bytes());
        Self {
            iterations: ITERATIONS,
            salt: salt[..16].to_vec(),
            stored_key: rand::random::<[u8; 32]>().to_vec(),
            server_key: rand::random::<[u8; 32]>().to_vec(),
        }
    }

    /// PostgreSQL's text form.
    pub fn encode(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }

    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let verifier = Self {
            iterations: iterations.parse().ok().filter(|i| *i > 0)?,
            salt: STANDARD.decode(salt).ok()?,
            stored_key: STANDARD.decode(stored).ok()?,
            server_key: STANDARD.decode(server).ok()?,
        };
        (verifier.stored_key.len() == 32 && verifier.server_key.len() == 32).then_some(verifier)
    }
}

/// The users file, read into memory.
#[derive(Debug, Default, Clone)]
pub struct Users {
    pub users: BTreeMap<String, Verifier>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
}

impl Users {
    /// Reads `path`; a missing file is an error (a server with no users admits no one).
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the users file {}", path.display()))?;
        let mut users = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, verifier)) = line.split_once(':') else {
                bail!("{} line {}: not `name:verifier`", path.display(), n + 1);
            };
            let Some(verifier) = Verifier::parse(verifier) else {
                bail!(
                    "{} line {}: the verifier of `{name}` is not SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey",
                    path.display(),
                    n + 1
                );
            };
            users.insert(name.to_owned(), verifier);
        }
        Ok(Self { users })
    }

    fn read_or_empty(path: &Path) -> anyhow::Result<Self> {
        if path.exists() {
            Self::read(path)
        } else {
            Ok(Self::default())
        }
    }

    /// Writes the file (mode 0600) under a temporary name and renames it into place.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = String::new();
        for (name, verifier) in &self.users {
            text.push_str(name);
            text.push(':');
            text.push_str(&verifier.encode());
            text.push('\n');
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".users.")
            .tempfile_in(dir)
            .with_context(|| format!("creating a file in {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Adds or replaces `name`.
    pub fn add(path: &Path, name: &str, password: &str) -> anyhow::Result<bool> {
        if !valid_name(name) {
            bail!("`{name}` is not a user name (letters, digits, _ - . @; at most 63)");
        }
        if password.is_empty() {
            bail!("the password is empty");
        }
        let mut users = Self::read_or_empty(path)?;
        let replaced = users
            .users
            .insert(name.to_owned(), Verifier::new(password))
            .is_some();
        users.write(path)?;
        Ok(replaced)
    }

    pub fn remove(path: &Path, name: &str) -> anyhow::Result<()> {
        let mut users = Self::read(path)?;
        if users.users.remove(name).is_none() {
            bail!("no user `{name}` in {}", path.display());
        }
        users.write(path)
    }
}

/// Where a connection's SCRAM exchange is.
enum State {
    Initial,
    ServerFirstSent {
        user: String,
        verifier: Verifier,
        gs2_header: String,
        client_first_bare: String,
        server_first: String,
        nonce: String,
    },
    Done,
}

/// The startup handler of one connection: SCRAM-SHA-256 against the users file, TLS required
/// when the server has it, and the connection limit.
pub struct ScramStartup {
    pub(super) shared: Arc<Shared>,
    pub(super) manager: Arc<ConnectionManager>,
    /// Past `--max-connections`: the client is refused with 53300 after its startup message.
    pub(super) over_limit: bool,
    state: Mutex<State>,
}

impl ScramStartup {
    pub(super) fn new(
        shared: Arc<Shared>,
        manager: Arc<ConnectionManager>,
        over_limit: bool,
    ) -> Self {
        Self {
            shared,
            manager,
            over_limit,
            state: Mutex::new(State::Initial),
        }
    }
}

fn fatal(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_owned(),
        code.to_owned(),
        message.into(),
    )))
}

fn auth_failed(user: &str) -> PgWireError {
    fatal(
        "28P01",
        format!("password authentication failed for user \"{user}\""),
    )
}

fn attribute<'a>(part: Option<&'a str>, key: &str) -> Option<&'a str> {
    part?.strip_prefix(key)?.strip_prefix('=')
}

fn user_of<C: ClientInfo>(client: &C) -> String {
    client
        .metadata()
        .get(pgwire::api::METADATA_USER)
        .cloned()
        .unwrap_or_default()
}

impl ScramStartup {
    fn log_failure<C: ClientInfo>(&self, client: &C, user: &str, reason: &str) {
        self.shared
            .audit
            .connection(user, &client.socket_addr(), "refused", Some(reason));
        self.shared.audit.log(&format!(
            "connection from {} refused for user \"{user}\": {reason}",
            client.socket_addr(),
        ));
    }

    /// The server-first message for a client-first message.
    fn client_first<C: ClientInfo>(&self, client: &C, data: &[u8]) -> PgWireResult<State> {
        let user = user_of(client);
        let text = std::str::from_utf8(data).map_err(|_| auth_failed(&user))?;
        // gs2-header: "n,," (no channel binding) or "y,," (client could, server offered none).
        let mut parts = text.splitn(3, ',');
        let flag = parts.next().unwrap_or("");
        let authzid = parts.next().unwrap_or("");
        let bare = parts.next().unwrap_or("");
        if !matches!(flag, "n" | "y") || !authzid.is_empty() {
            return Err(auth_failed(&user));
        }
        let gs2_header = format!("{flag},{authzid},");
        let mut fields = bare.split(',');
        let _name = attribute(fields.next(), "n").ok_or_else(|| auth_failed(&user))?;
        let client_nonce = attribute(fields.next(), "r")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| auth_failed(&user))?;
        let verifier = self
            .shared
            .users
            .users
            .get(&user)
            .cloned()
            .unwrap_or_else(|| Verifier::unknown(&user));
        let nonce = format!(
            "{client_nonce}{}",
            STANDARD.encode(rand::random::<[u8; 18]>())
        );
        let server_first = format!(
            "r={nonce},s={},i={}",
            STANDARD.encode(&verifier.salt),
            verifier.iterations
        );
        Ok(State::ServerFirstSent {
            user,
            verifier,
            gs2_header,
            client_first_bare: bare.to_owned(),
            server_first,
            nonce,
        })
    }
}

/// Verifies a client-final message; returns the server-final message.
fn client_final(
    data: &[u8],
    verifier: &Verifier,
    gs2_header: &str,
    client_first_bare: &str,
    server_first: &str,
    nonce: &str,
) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    let (without_proof, proof) = text.rsplit_once(",p=")?;
    let mut fields = without_proof.split(',');
    let binding = attribute(fields.next(), "c")?;
    let client_nonce = attribute(fields.next(), "r")?;
    if binding != STANDARD.encode(gs2_header) || client_nonce != nonce {
        return None;
    }
    let proof = STANDARD.decode(proof).ok()?;
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hmac(&verifier.stored_key, auth_message.as_bytes());
    if proof.len() != signature.len() {
        return None;
    }
    let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
    let computed = Sha256::digest(&client_key);
    // Constant time: every byte is compared.
    let diff = computed
        .iter()
        .zip(&verifier.stored_key)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return None;
    }
    let server_signature = hmac(&verifier.server_key, auth_message.as_bytes());
    Some(format!("v={}", STANDARD.encode(server_signature)))
}

impl ScramStartup {
    /// A client's first message: refused past `--max-connections` or in clear text on a TLS
    /// server, else asked for SCRAM-SHA-256.
    async fn begin<C>(
        &self,
        client: &mut C,
        startup: &pgwire::messages::startup::Startup,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        protocol_negotiation(client, startup).await?;
        save_startup_parameters_to_metadata(client, startup);
        let user = user_of(client);
        if self.over_limit {
            self.log_failure(client, &user, "too many connections");
            return Err(fatal(
                "53300",
                format!(
                    "sorry, too many clients already (--max-connections {})",
                    self.shared.options.max_connections
                ),
            ));
        }
        if self.shared.tls && !client.is_secure() {
            self.log_failure(client, &user, "no TLS");
            return Err(fatal(
                "28000",
                "this server accepts only encrypted connections (sslmode=require)",
            ));
        }
        client.set_state(PgWireConnectionState::AuthenticationInProgress);
        client
            .send(PgWireBackendMessage::Authentication(Authentication::SASL(
                vec!["SCRAM-SHA-256".to_owned()],
            )))
            .await?;
        Ok(())
    }

    /// The proof checked: the server's signature sent, the connection registered for cancel
    /// requests and the audit, and the start-up finished.
    async fn accepted<C>(
        &self,
        client: &mut C,
        user: &str,
        server_final: String,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client
            .send(PgWireBackendMessage::Authentication(
                Authentication::SASLFinal(server_final.into()),
            ))
            .await?;
        let (pid, secret) = RandomPidSecretKeyGenerator::default().generate(client);
        client.set_pid_and_secret_key(pid, secret.clone());
        let (handle, guard) = self.manager.register(pid, secret);
        client.session_extensions().insert(handle);
        client.session_extensions().insert(guard);
        client.session_extensions().insert(ConnectionAudit::new(
            self.shared.audit.clone(),
            user.to_string(),
            client.socket_addr(),
        ));
        self.shared
            .audit
            .connection(user, &client.socket_addr(), "connected", None);
        finish_authentication(client, &DefaultServerParameterProvider::default()).await
    }
}

#[async_trait]
impl StartupHandler for ScramStartup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => self.begin(client, startup).await?,
            PgWireFrontendMessage::PasswordMessageFamily(msg) => {
                let user = user_of(client);
                let mut state = self.state.lock().await;
                match &*state {
                    State::Initial => {
                        let initial = match msg.into_sasl_initial_response() {
                            Ok(m) if m.auth_method == "SCRAM-SHA-256" => m,
                            _ => {
                                self.log_failure(client, &user, "not a SCRAM-SHA-256 exchange");
                                return Err(auth_failed(&user));
                            }
                        };
                        let data = initial.data.as_deref().unwrap_or_default();
                        let next = match self.client_first(client, data) {
                            Ok(next) => next,
                            Err(e) => {
                                self.log_failure(client, &user, "malformed SCRAM message");
                                return Err(e);
                            }
                        };
                        let State::ServerFirstSent { server_first, .. } = &next else {
                            unreachable!()
                        };
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::SASLContinue(server_first.clone().into()),
                            ))
                            .await?;
                        *state = next;
                    }
                    State::ServerFirstSent {
                        user: scram_user,
                        verifier,
                        gs2_header,
                        client_first_bare,
                        server_first,
                        nonce,
                    } => {
                        let known = self.shared.users.users.contains_key(scram_user);
                        let data = msg.into_sasl_response().map(|r| r.data).ok();
                        let server_final = data.as_deref().and_then(|d| {
                            client_final(
                                d,
                                verifier,
                                gs2_header,
                                client_first_bare,
                                server_first,
                                nonce,
                            )
                        });
                        let Some(server_final) = server_final.filter(|_| known) else {
                            let reason = if known {
                                "wrong password"
                            } else {
                                "unknown user"
                            };
                            self.log_failure(client, &user, reason);
                            *state = State::Done;
                            return Err(auth_failed(&user));
                        };
                        *state = State::Done;
                        self.accepted(client, &user, server_final).await?;
                    }
                    State::Done => return Err(auth_failed(&user)),
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_round_trip() {
        let v = Verifier::with_salt("secret", b"0123456789abcdef", 4096);
        assert_eq!(Verifier::parse(&v.encode()), Some(v.clone()));
        assert!(v.encode().starts_with("SCRAM-SHA-256$4096:"));
        assert!(!v.encode().contains("secret"));
    }

    #[test]
    fn rfc7677_vector() {
        // RFC 7677 section 3: user "user", password "pencil".
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = Verifier::with_salt("pencil", &salt, 4096);
        let client_first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final_msg = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        let server_final = client_final(
            client_final_msg.as_bytes(),
            &v,
            "n,,",
            client_first_bare,
            server_first,
            "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        );
        assert_eq!(
            server_final.as_deref(),
            Some("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        );
        let wrong = Verifier::with_salt("pencil2", &salt, 4096);
        assert!(
            client_final(
                client_final_msg.as_bytes(),
                &wrong,
                "n,,",
                client_first_bare,
                server_first,
                "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            )
            .is_none()
        );
    }
}
