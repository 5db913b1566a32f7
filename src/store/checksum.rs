//! Checksums of every data file, written with the file and verified whenever it is read.
//!
//! The Parquet crate this engine builds on verifies page CRCs on read but does not write them,
//! so a flipped bit in a data page would otherwise change an answer silently (`/` read as `O`).
//! Every table of a store is therefore opened on a [`ChecksumStore`], an [`ObjectStore`] that
//! wraps the local file system:
//! - **writing** a data file (a `.parquet` file outside `_delta_log/`), it computes the CRC-32
//!   of the bytes as they go out and, once the file is complete, records it in a sidecar
//!   `DATA/_checksums/<table>/<file path>.crc32`. The sidecar exists before the commit that
//!   refers to the file, so every committed file has one. Sidecars live outside the table
//!   directories, where Delta's vacuum does not look; `attendance vacuum` removes those of
//!   deleted files.
//! - **reading** a data file, the first time a process touches it (the same path, size and
//!   modification time), the whole file is read once and its CRC compared with the sidecar;
//!   a mismatch fails the read with "data file ... is damaged". The cost is one sequential
//!   read of each file a query opens (a one-school query opens one LA's files).
//!
//! Files with no sidecar (written before checksums existed, or by another engine) are read
//! unverified; `attendance check` reports them.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    UploadPart,
};

/// Directory of the sidecars, in the store's root.
pub const CHECKSUM_DIR: &str = "_checksums";

/// The outcome of comparing a file with its recorded checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The file's bytes are those written.
    Intact,
    /// No checksum was recorded for the file.
    Unrecorded,
    /// The file differs from what was written.
    Damaged(String),
}

/// An object store that records and verifies checksums of the data files below `root`.
#[derive(Debug)]
pub struct ChecksumStore {
    inner: Arc<dyn ObjectStore>,
    /// The store's root directory, as an object path.
    root: Path,
}

impl ChecksumStore {
    pub fn new(inner: Arc<dyn ObjectStore>, root: Path) -> Self {
        Self { inner, root }
    }

    /// The path relative to the store root of a data file (one whose checksum is kept), or
    /// `None` for anything else (logs, checkpoints, sidecars, files outside the store).
    fn data_file<'a>(&self, location: &'a Path) -> Option<&'a str> {
        let rel = location
            .as_ref()
            .strip_prefix(self.root.as_ref())?
            .strip_prefix('/')?;
        let is_data = rel.ends_with(".parquet")
            && !rel.starts_with('_')
            && !rel.contains("/_delta_log/")
            && !rel.contains("/_");
        is_data.then_some(rel)
    }

    fn sidecar(&self, rel: &str) -> Path {
        Path::from(format!("{}/{CHECKSUM_DIR}/{rel}.crc32", self.root.as_ref()))
    }

    async fn record(&self, rel: &str, crc: u32, size: u64) -> object_store::Result<()> {
        let text = format!("crc32 {crc:08x} {size}\n");
        self.inner
            .put(&self.sidecar(rel), PutPayload::from(text.into_bytes()))
            .await
            .map(|_| ())
    }

    /// Reads the whole of `location` (a data file at `rel`) and compares it with its sidecar.
    pub async fn verify(&self, location: &Path, rel: &str) -> object_store::Result<Verdict> {
        let recorded = match self.inner.get(&self.sidecar(rel)).await {
            Ok(r) => r.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(Verdict::Unrecorded),
            Err(e) => return Err(e),
        };
        let recorded = String::from_utf8_lossy(&recorded).into_owned();
        let mut parts = recorded.split_whitespace();
        let (Some("crc32"), Some(crc), Some(size)) = (parts.next(), parts.next(), parts.next())
        else {
            return Ok(Verdict::Damaged(
                "its recorded checksum is unreadable".to_string(),
            ));
        };
        let (Ok(expected_crc), Ok(expected_size)) =
            (u32::from_str_radix(crc, 16), size.parse::<u64>())
        else {
            return Ok(Verdict::Damaged(
                "its recorded checksum is unreadable".to_string(),
            ));
        };
        let mut stream = self.inner.get(location).await?.into_stream();
        let mut hasher = crc32fast::Hasher::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        let crc = hasher.finalize();
        Ok(if size != expected_size {
            Verdict::Damaged(format!("it has {size} bytes, {expected_size} were written"))
        } else if crc != expected_crc {
            Verdict::Damaged(format!(
                "its CRC-32 is {crc:08x}, {expected_crc:08x} was written"
            ))
        } else {
            Verdict::Intact
        })
    }

    /// Verifies a data file once per process (per path, size and modification time), before
    /// any of its bytes are handed to a reader.
    async fn verified(&self, location: &Path, meta: &ObjectMeta) -> object_store::Result<()> {
        let Some(rel) = self.data_file(location) else {
            return Ok(());
        };
        let key = format!(
            "{}|{}|{}",
            location.as_ref(),
            meta.size,
            meta.last_modified.timestamp_nanos_opt().unwrap_or_default()
        );
        let cell = VERIFIED
            .lock()
            .expect("not poisoned")
            .entry(key)
            .or_default()
            .clone();
        let verdict = cell
            .get_or_try_init(|| async {
                self.verify(location, rel).await.map_err(|e| e.to_string())
            })
            .await;
        match verdict {
            Ok(Verdict::Intact | Verdict::Unrecorded) => Ok(()),
            Ok(Verdict::Damaged(why)) => Err(damaged(rel, why)),
            Err(e) => Err(object_store::Error::Generic {
                store: "attendance",
                source: e.clone().into(),
            }),
        }
    }
}

type VerdictCell = Arc<tokio::sync::OnceCell<Verdict>>;

/// Files this process has verified, by path, size and modification time.
static VERIFIED: LazyLock<Mutex<HashMap<String, VerdictCell>>> = LazyLock::new(Default::default);

fn damaged(rel: &str, why: impl fmt::Display) -> object_store::Error {
    object_store::Error::Generic {
        store: "attendance",
        source: format!(
            "data file {rel} is damaged: {why} (run `attendance check` for the whole store)"
        )
        .into(),
    }
}

impl fmt::Display for ChecksumStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChecksumStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for ChecksumStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let Some(rel) = self.data_file(location) else {
            return self.inner.put_opts(location, payload, opts).await;
        };
        let mut hasher = crc32fast::Hasher::new();
        for chunk in &payload {
            hasher.update(chunk);
        }
        let size = payload.content_length() as u64;
        let result = self.inner.put_opts(location, payload, opts).await?;
        self.record(rel, hasher.finalize(), size).await?;
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        let Some(rel) = self.data_file(location) else {
            return Ok(upload);
        };
        Ok(Box::new(ChecksumUpload {
            upload,
            hasher: crc32fast::Hasher::new(),
            size: 0,
            sidecar: self.sidecar(rel),
            inner: self.inner.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let head = options.head;
        let result = self.inner.get_opts(location, options).await?;
        if !head {
            self.verified(location, &result.meta).await?;
        }
        Ok(result)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        if self.data_file(location).is_some() {
            let meta = self.inner.head(location).await?;
            self.verified(location, &meta).await?;
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

/// A multipart upload that hashes its parts in the order they are given (the order of the
/// file's bytes) and records the checksum when the upload completes.
#[derive(Debug)]
struct ChecksumUpload {
    upload: Box<dyn MultipartUpload>,
    hasher: crc32fast::Hasher,
    size: u64,
    sidecar: Path,
    inner: Arc<dyn ObjectStore>,
}

#[async_trait]
impl MultipartUpload for ChecksumUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        for chunk in &data {
            self.hasher.update(chunk);
        }
        self.size += data.content_length() as u64;
        self.upload.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let result = self.upload.complete().await?;
        let crc = self.hasher.clone().finalize();
        let text = format!("crc32 {crc:08x} {}\n", self.size);
        self.inner
            .put(&self.sidecar, PutPayload::from(text.into_bytes()))
            .await?;
        Ok(result)
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.upload.abort().await
    }
}
