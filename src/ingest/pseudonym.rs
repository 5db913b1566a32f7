//! Pseudonymised pupil ids at the door (`ingest --pseudonymise-key FILE`): every `pupil_id` of
//! the pupils and register files is replaced by a keyed hash before anything is staged or
//! stored, so re-loads, corrections and enrolments still match while the store never holds an
//! id a person could be found by.
//!
//! The pseudonym is HMAC-SHA-256 of the id under a 32-byte secret key, in lowercase hex,
//! truncated to 32 characters. The key never enters the store, a log or an error; the store
//! records only that it is pseudonymised, with a check value (the HMAC of a fixed label, which
//! tells whether a key is the store's without revealing it) in `DATA/_pseudonymised.json`.
//! A pseudonymised store refuses a load without the key or with another key, and a store
//! holding plain ids refuses a load with a key.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::IngestError;
use crate::store::{Store, Table};

/// The file that marks a store as pseudonymised.
pub const MARKER: &str = "_pseudonymised.json";

/// Characters of the hex HMAC kept as the pseudonym (the documented pupil id length).
const PSEUDONYM_CHARS: usize = 32;

/// What the check value is the HMAC of.
const CHECK_LABEL: &[u8] = b"attendance pseudonymisation key check";

pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(key withheld)")
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Marker {
    scheme: String,
    key_check: String,
}

const SCHEME: &str = "HMAC-SHA-256, hex, first 32 characters";

impl Pseudonymiser {
    /// The key in `path`: 32 bytes, as the raw bytes or as 64 hex digits (a final newline
    /// allowed). The message never shows the file's content.
    pub fn from_key_file(path: &Path) -> Result<Self, IngestError> {
        let bad = |why: &str| {
            IngestError::Input(format!(
                "{}: not a pseudonymisation key: {why}",
                crate::text::printable(&path.display().to_string())
            ))
        };
        let bytes = std::fs::read(path).map_err(|e| bad(&e.to_string()))?;
        let key: Vec<u8> = if bytes.len() == 32 {
            bytes
        } else {
            let text = std::str::from_utf8(&bytes)
                .map(|t| t.trim_end_matches(['\n', '\r']))
                .unwrap_or("");
            match hex::decode(text) {
                Ok(key) if key.len() == 32 => key,
                _ => return Err(bad("it must hold 32 bytes, raw or as 64 hex digits")),
            }
        };
        let mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
        Ok(Self { mac })
    }

    /// The pseudonym of `pupil_id`.
    pub fn pseudonym(&self, pupil_id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(pupil_id.as_bytes());
        let mut hex = hex::encode(mac.finalize().into_bytes());
        hex.truncate(PSEUDONYM_CHARS);
        hex
    }

    fn key_check(&self) -> String {
        let mut mac = self.mac.clone();
        mac.update(CHECK_LABEL);
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Checks the key given (if any) against the store, before anything is read: returns the
/// pseudonymiser to apply, and marks a store that holds no pupils yet as pseudonymised. Runs
/// under the store's write lock.
pub async fn for_store(
    store: &Store,
    key_file: Option<&Path>,
) -> Result<Option<Pseudonymiser>, IngestError> {
    let marker_path = store.root().join(MARKER);
    let marker: Option<Marker> =
        match std::fs::read(&marker_path) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
                IngestError::Input(format!("{}: damaged: {e}", marker_path.display()))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(IngestError::Input(format!(
                    "{}: {e}",
                    marker_path.display()
                )));
            }
        };
    let pseudonymiser = key_file.map(Pseudonymiser::from_key_file).transpose()?;
    match (&pseudonymiser, &marker) {
        (None, None) => {}
        (None, Some(_)) => {
            return Err(IngestError::Input(
                "this store holds pseudonymised pupil ids: give the store's key with \
                 --pseudonymise-key FILE"
                    .to_string(),
            ));
        }
        (Some(p), Some(m)) => {
            if m.key_check != p.key_check() {
                return Err(IngestError::Input(
                    "the --pseudonymise-key given is not the key this store was \
                     pseudonymised with"
                        .to_string(),
                ));
            }
        }
        (Some(p), None) => {
            if store.open_named(Table::Pupils.name()).await?.is_some() {
                return Err(IngestError::Input(
                    "this store holds pupil ids that are not pseudonymised: a \
                     --pseudonymise-key load needs a new store"
                        .to_string(),
                ));
            }
            std::fs::create_dir_all(store.root())
                .and_then(|()| {
                    let marker = Marker {
                        scheme: SCHEME.to_string(),
                        key_check: p.key_check(),
                    };
                    let json = serde_json::to_vec_pretty(&marker).expect("a marker serialises");
                    // Written whole or not at all.
                    let mut file = tempfile::NamedTempFile::new_in(store.root())?;
                    std::io::Write::write_all(&mut file, &json)?;
                    file.as_file().sync_all()?;
                    file.persist(&marker_path).map(|_| ()).map_err(|e| e.error)
                })
                .map_err(|e| IngestError::Input(format!("{}: {e}", marker_path.display())))?;
        }
    }
    Ok(pseudonymiser)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 is for a 4-byte key; this checks the construction on a 32-byte
    /// key against HMAC-SHA-256 as computed independently (Python:
    /// `hmac.new(bytes(range(32)), b"P000001", hashlib.sha256).hexdigest()[:32]`).
    #[test]
    fn pseudonym_is_truncated_hex_hmac_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, (0u8..32).collect::<Vec<u8>>()).unwrap();
        let p = Pseudonymiser::from_key_file(&key).unwrap();
        assert_eq!(p.pseudonym("P000001"), EXPECTED_P000001);
        assert_eq!(p.pseudonym("P000001").len(), 32);
        // The same key as 64 hex digits and a newline.
        let hex_key = dir.path().join("key.hex");
        std::fs::write(
            &hex_key,
            format!("{}\n", hex::encode((0u8..32).collect::<Vec<u8>>())),
        )
        .unwrap();
        let q = Pseudonymiser::from_key_file(&hex_key).unwrap();
        assert_eq!(q.pseudonym("P000001"), EXPECTED_P000001);
        // A short key is refused without showing it.
        let short = dir.path().join("short");
        std::fs::write(&short, "secret-value").unwrap();
        let e = Pseudonymiser::from_key_file(&short)
            .unwrap_err()
            .to_string();
        assert!(e.contains("32 bytes") && !e.contains("secret-value"), "{e}");
    }

    const EXPECTED_P000001: &str = "e3ccc1c731f195ccd97960fca272d195";
}
