//! The blob directory: message bytes, one file per distinct content, named by its SHA-256.
//!
//! Layout: `blobs/ab/abcdef…` (the first two hex digits pick one of 256 shard directories, all
//! made at open) and `blobs/tmp/` for files being written. A file under a shard directory is always
//! complete: it was written and fsynced under `tmp/` first, then renamed into place, and the shard
//! directory was fsynced before anyone is told the blob exists.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_lc_rs::digest;
use surel_store::{StoreError, StoreResult};
use surel_types::BlobId;

use crate::error::{failure, io_failure};

/// Distinguishes temporary files of one process; the process id distinguishes processes.
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// The `blobs/` directory of a data directory.
#[derive(Debug)]
pub(crate) struct BlobDir {
    root: PathBuf,
}

impl BlobDir {
    /// Opens (creating if needed) `root`, its `tmp/` and its 256 shard directories. Creations are
    /// made durable here, so writing a blob later needs only the shard directory's fsync.
    pub(crate) fn open(root: PathBuf) -> StoreResult<Self> {
        let mut created = create_dir(&root)?;
        let blobs = BlobDir { root };
        created |= create_dir(&blobs.tmp_dir())?;
        for shard in 0..=255u8 {
            created |= create_dir(&blobs.root.join(format!("{shard:02x}")))?;
        }
        if created {
            sync_dir(&blobs.root)?;
        }
        Ok(blobs)
    }

    /// The id a blob with these bytes has: the lowercase hex SHA-256 of the bytes.
    pub(crate) fn id_of(bytes: &[u8]) -> StoreResult<BlobId> {
        let hash = digest::digest(&digest::SHA256, bytes);
        let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        BlobId::parse(&hex).ok_or_else(|| failure(format!("SHA-256 gave a bad blob id {hex}")))
    }

    /// Where the blob lives.
    pub(crate) fn path(&self, id: &BlobId) -> PathBuf {
        let hex = id.as_str();
        // A BlobId is 64 hex digits, so the shard prefix always exists.
        self.root.join(hex.get(..2).unwrap_or("00")).join(hex)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Stores `bytes` durably and returns their id. Blocking (several fsyncs): call it from a
    /// blocking thread. When this returns, the file and its directory entry survive a crash.
    pub(crate) fn store(&self, bytes: &[u8]) -> StoreResult<BlobId> {
        let id = Self::id_of(bytes)?;
        self.write(&id, bytes)?;
        Ok(id)
    }

    /// Makes sure the blob `id` (whose content is `bytes`) is on disk: a no-op when it is, a full
    /// durable write when it is not (garbage collection removed it after [`BlobDir::store`]).
    pub(crate) fn ensure(&self, id: &BlobId, bytes: &[u8]) -> StoreResult<()> {
        let path = self.path(id);
        match path.try_exists() {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::warn!(blob = %id, "blob vanished before its delivery committed; rewriting");
                self.write(id, bytes)
            }
            Err(e) => Err(io_failure("checking", &path, e)),
        }
    }

    fn write(&self, id: &BlobId, bytes: &[u8]) -> StoreResult<()> {
        let path = self.path(id);
        let exists = path
            .try_exists()
            .map_err(|e| io_failure("checking", &path, e))?;
        if !exists {
            let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
            let tmp = self
                .tmp_dir()
                .join(format!("{id}.{}.{seq}", std::process::id()));
            if let Err(e) = write_synced(&tmp, bytes).and_then(|()| fs::rename(&tmp, &path)) {
                // Best effort: a leftover temp file is removed by garbage collection anyway.
                let _ = fs::remove_file(&tmp);
                return Err(io_failure("writing", &path, e));
            }
        }
        // Also when the file existed: its rename (by a concurrent delivery of the same bytes, or
        // one that crashed) may not be durable yet. The entry must be before metadata names it.
        let shard = path.parent().unwrap_or(&self.root);
        sync_dir(shard)
    }

    /// The bytes of a blob; `NotFound` names it if there is no such file.
    pub(crate) fn read(&self, id: &BlobId) -> StoreResult<Vec<u8>> {
        let path = self.path(id);
        fs::read(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound(format!("blob {id}")),
            _ => io_failure("reading", &path, e),
        })
    }

    /// The blobs in one shard directory (`0..=255`); files that are not blobs are left alone.
    pub(crate) fn list_shard(&self, shard: u8) -> StoreResult<Vec<BlobId>> {
        let dir = self.root.join(format!("{shard:02x}"));
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_failure("listing", &dir, e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_failure("listing", &dir, e))?;
            if let Some(id) = entry.file_name().to_str().and_then(BlobId::parse)
                && self.path(&id) == entry.path()
            {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Deletes a blob file; true if it was there.
    pub(crate) fn remove(&self, id: &BlobId) -> StoreResult<bool> {
        let path = self.path(id);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_failure("removing", &path, e)),
        }
    }

    /// Deletes files in `tmp/` last modified longer than `max_age` ago (writes that crashed or
    /// failed); younger ones may be writes in progress. Returns how many were deleted.
    pub(crate) fn remove_stale_temps(&self, max_age: Duration) -> StoreResult<usize> {
        let dir = self.tmp_dir();
        let entries = fs::read_dir(&dir).map_err(|e| io_failure("listing", &dir, e))?;
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| io_failure("listing", &dir, e))?;
            let path = entry.path();
            let modified = match entry.metadata().and_then(|m| m.modified()) {
                Ok(modified) => modified,
                // Gone meanwhile (renamed into place or removed by another collector).
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_failure("inspecting", &path, e)),
            };
            if now.duration_since(modified).unwrap_or_default() <= max_age {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_failure("removing", &path, e)),
            }
        }
        Ok(removed)
    }
}

/// Creates a directory (private to the owner on Unix); true if it did not exist.
pub(crate) fn create_dir(path: &Path) -> StoreResult<bool> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(false),
        Err(e) => Err(io_failure("creating", path, e)),
    }
}

/// Makes a directory's entries (creations, renames) durable.
pub(crate) fn sync_dir(path: &Path) -> StoreResult<()> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| io_failure("syncing", path, e))
}

/// Writes a new file (readable by the owner only) and fsyncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_id_is_the_sha256_of_the_bytes() {
        // FIPS 180-2 test vector "abc".
        let id = BlobDir::id_of(b"abc").unwrap();
        assert_eq!(
            id.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn stored_blob_lives_in_its_shard_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobDir::open(dir.path().join("blobs")).unwrap();
        let id = blobs.store(b"hello").unwrap();
        let path = blobs.path(&id);
        assert!(path.starts_with(dir.path().join("blobs").join(&id.as_str()[..2])));
        assert_eq!(blobs.read(&id).unwrap(), b"hello");
        // Storing the same bytes again is a no-op that keeps the one file.
        assert_eq!(blobs.store(b"hello").unwrap(), id);
        assert_eq!(
            blobs
                .list_shard(u8::from_str_radix(&id.as_str()[..2], 16).unwrap())
                .unwrap(),
            std::slice::from_ref(&id)
        );
        assert_eq!(fs::read_dir(blobs.tmp_dir()).unwrap().count(), 0);
        assert!(blobs.remove(&id).unwrap());
        assert!(
            matches!(blobs.read(&id), Err(StoreError::NotFound(what)) if what.contains(id.as_str()))
        );
    }

    #[test]
    fn ensure_rewrites_a_vanished_blob() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobDir::open(dir.path().join("blobs")).unwrap();
        let id = blobs.store(b"again").unwrap();
        blobs.remove(&id).unwrap();
        blobs.ensure(&id, b"again").unwrap();
        assert_eq!(blobs.read(&id).unwrap(), b"again");
    }

    #[test]
    fn only_old_temp_files_are_stale() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobDir::open(dir.path().join("blobs")).unwrap();
        let old = blobs.tmp_dir().join("old");
        let young = blobs.tmp_dir().join("young");
        fs::write(&young, b"x").unwrap();
        let file = File::create(&old).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
        assert_eq!(
            blobs.remove_stale_temps(Duration::from_secs(3600)).unwrap(),
            1
        );
        assert!(!old.exists());
        assert!(young.exists());
    }
}
