//! Pseudonymised ids at the door (issue 12 item 4): `ingest --pseudonymise-key FILE`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_attendance");

fn attendance(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run attendance")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sql(data: &Path, query: &str) -> String {
    let o = attendance(&["sql", "--data", s(data), "--format", "csv", "-c", query]);
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// Every byte of every file under `dir`, concatenated.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = vec![];
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.extend(std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The fixture's pupils P1, P2, P3 under the key 00 01 .. 1f. Expected pseudonyms computed
/// independently with Python's hmac module:
/// `hmac.new(bytes(range(32)), b"P1", hashlib.sha256).hexdigest()[:32]`.
const P1: &str = "9d3dc57fe655262db4de0cf7c1d6974b";
const P2: &str = "9258ea30eb5728859133c9f42bc7e572";
const P3: &str = "e3009850b705ee8c5671279d378d3004";

#[tokio::test]
async fn pupil_ids_are_pseudonymised_before_they_are_stored() {
    let f = Fixture::new();
    let key: Vec<u8> = (0u8..32).collect();
    let key_file = f.bytes("key.bin", &key);
    let schools = f.file("schools.csv", SCHOOLS);
    let pupils = f.file("pupils.csv", PUPILS);
    let registers = f.file("registers.csv", REGISTERS);
    let data = f.data_dir();
    let load = |extra: &[&str]| {
        let mut args = vec![
            "ingest",
            "--data",
            s(&data),
            "--schools",
            s(&schools),
            "--pupils",
            s(&pupils),
            "--registers",
            s(&registers),
        ];
        args.extend(extra);
        attendance(&args)
    };
    let o = load(&["--pseudonymise-key", s(&key_file)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        sql(&data, "SELECT pupil_id FROM pupils ORDER BY pupil_id"),
        format!("pupil_id\n{P2}\n{P1}\n{P3}\n")
    );
    // The marks carry the same pseudonyms, so they still match their enrolments: P2's two
    // marks are N and I.
    assert_eq!(
        sql(
            &data,
            &format!("SELECT code FROM registers WHERE pupil_id = '{P2}' ORDER BY session")
        ),
        "code\nN\nI\n"
    );
    let stored = all_bytes(&data);
    assert!(!contains(&stored, &key), "the raw key is in the store");
    assert!(
        !contains(&stored, hex::encode(&key).as_bytes()),
        "the hex key is in the store"
    );
    for id in ["P1,", "P2,", "P3,"] {
        assert!(!contains(&stored, id.as_bytes()), "{id} is in the store");
    }

    // A correction with the key finds the stored mark: P2's AM N becomes M.
    let fix = f.file(
        "fix.csv",
        "pupil_id,urn,date,session,code\nP2,100001,2024-09-02,AM,M\n",
    );
    let o = attendance(&[
        "ingest",
        "--data",
        s(&data),
        "--registers",
        s(&fix),
        "--update",
        "--pseudonymise-key",
        s(&key_file),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        sql(
            &data,
            "SELECT pupil_id, session, code FROM registers WHERE code IN ('N', 'M') ORDER BY 1"
        ),
        format!("pupil_id,session,code\n{P2},AM,M\n")
    );

    // Without the key, or with another, the store refuses the load and is unchanged.
    let o = attendance(&[
        "ingest",
        "--data",
        s(&data),
        "--registers",
        s(&fix),
        "--update",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("holds pseudonymised pupil ids"),
        "{}",
        stderr(&o)
    );
    let other = f.bytes("other.bin", &[7u8; 32]);
    let o = attendance(&[
        "ingest",
        "--data",
        s(&data),
        "--registers",
        s(&fix),
        "--pseudonymise-key",
        s(&other),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not the key this store was pseudonymised with"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(&hex::encode([7u8; 32])));

    // A store of plain ids refuses a load with a key.
    let plain = f.dir.path().join("plain");
    let o = attendance(&[
        "ingest",
        "--data",
        s(&plain),
        "--schools",
        s(&schools),
        "--pupils",
        s(&pupils),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = attendance(&[
        "ingest",
        "--data",
        s(&plain),
        "--registers",
        s(&registers),
        "--pseudonymise-key",
        s(&key_file),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not pseudonymised"), "{}", stderr(&o));

    // A key file that is not 32 bytes is refused without its content in the message.
    let bad = f.file("bad.key", "hunter2-not-a-key\n");
    let o = attendance(&[
        "ingest",
        "--data",
        s(&f.dir.path().join("new")),
        "--schools",
        s(&schools),
        "--pseudonymise-key",
        s(&bad),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("32 bytes") && !stderr(&o).contains("hunter2"),
        "{}",
        stderr(&o)
    );
}
