//! The compiled-plugin cache on local disk. An entry is native code that
//! `Component::deserialize` trusts blindly, so the cache is guarded like code:
//!
//! - the directory is made owner-only (0700); if its mode cannot be set (another user owns it)
//!   the cache is switched off and every plugin is compiled in memory;
//! - entries are created exclusively, owner-only (0600), fully written and synced under a
//!   temporary name, then renamed into place, so a reader never sees half a file;
//! - each entry starts with a header holding the sha256 of the artefact that follows; an entry
//!   whose owner or mode is wrong, whose header is missing, or whose bytes do not match it
//!   (truncated, corrupted, edited) is deleted with a warning naming the file and recompiled,
//!   never deserialized. The bytes are verified in memory and deserialized from that same buffer,
//!   so the file cannot change between the check and the use.
//!
//! The checksum catches corruption and truncation; it is not a signature. What keeps other users
//! from planting code is the owner-only directory, the same protection the host binary relies on.

use std::{
    fs::{self, OpenOptions},
    io::Write,
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, component::Component};

/// First bytes of every entry; the artefact's hex sha256 and a newline follow.
const MAGIC: &[u8] = b"pitwall-cwasm-v1 sha256=";
/// Length of the whole header: magic, 64 hex digits, newline.
const HEADER_LEN: usize = MAGIC.len() + 64 + 1;

/// The cache directory, once made owner-only; `None` when it cannot be used.
pub struct CompiledCache {
    dir: Option<CacheDir>,
}

struct CacheDir {
    path: PathBuf,
    /// Owner of the directory; entries must belong to the same user.
    uid: u32,
}

impl CompiledCache {
    /// Opens (creating it owner-only) the cache directory `dir`; warns and disables the cache
    /// when the directory cannot be made owner-only.
    pub fn open(dir: Option<PathBuf>) -> Self {
        let dir = dir.and_then(|path| match prepare_dir(&path) {
            Ok(uid) => Some(CacheDir { path, uid }),
            Err(e) => {
                tracing::warn!(dir = %path.display(), error = %e, "compiled-plugin cache disabled: cannot make the directory owner-only (0700)");
                None
            }
        });
        CompiledCache { dir }
    }

    /// Where the entry for `key` lives, if the cache is on.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path.join(format!("{key}.cwasm")))
    }

    /// The component cached under `key`, if there is a sound entry. An unsound one is deleted
    /// with a warning naming the file, and `None` is returned so the caller recompiles.
    pub fn load(&self, engine: &Engine, key: &str) -> Option<Component> {
        let dir = self.dir.as_ref()?;
        let path = self.path(key)?;
        let bytes = match read_entry(&path, dir.uid) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(reason) => {
                discard(&path, &reason);
                return None;
            }
        };
        let artefact = match verify(&bytes) {
            Ok(artefact) => artefact,
            Err(reason) => {
                discard(&path, &reason);
                return None;
            }
        };
        // SAFETY: `artefact` is exactly what this host serialized: the file was created
        // owner-only by this user in an owner-only directory, and its bytes match the sha256
        // recorded when it was written (checked above, on this very buffer). The engine's
        // compatibility hash is part of `key`, and wasmtime checks it again.
        match unsafe { Component::deserialize(engine, artefact) } {
            Ok(component) => Some(component),
            Err(e) => {
                discard(&path, &format!("wasmtime refused it: {e}"));
                None
            }
        }
    }

    /// Writes `component` under `key`: exclusive owner-only temporary file, sync, rename.
    pub fn store(&self, key: &str, component: &Component) {
        let (Some(dir), Some(path)) = (self.dir.as_ref(), self.path(key)) else { return };
        let result = component
            .serialize()
            .map_err(|e| e.to_string())
            .and_then(|artefact| write_entry(&dir.path, &path, &artefact).map_err(|e| e.to_string()));
        if let Err(e) = result {
            tracing::warn!(file = %path.display(), error = %e, "cannot write the compiled-plugin cache");
        }
    }
}

/// Creates `dir` (0700) or tightens an existing one to 0700; returns its owner.
fn prepare_dir(dir: &Path) -> std::io::Result<u32> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(std::io::Error::other("not a directory"));
    }
    if meta.mode() & 0o777 != 0o700 {
        // Fails unless we own the directory, which is what we want to know.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(fs::metadata(dir)?.uid())
}

/// The entry's bytes, `None` when there is none, or why it must not be used.
fn read_entry(path: &Path, uid: u32) -> Result<Option<Vec<u8>>, String> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot inspect it: {e}")),
    };
    if !meta.file_type().is_file() {
        return Err("not a regular file".into());
    }
    if meta.uid() != uid {
        return Err(format!("owned by uid {}, not by the cache directory's owner {uid}", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!("mode {:o} is not owner-only", meta.mode() & 0o777));
    }
    fs::read(path).map(Some).map_err(|e| format!("cannot read it: {e}"))
}

/// The artefact inside `entry` if its header's sha256 matches, else why not.
fn verify(entry: &[u8]) -> Result<&[u8], String> {
    let Some(header) = entry.get(..HEADER_LEN).filter(|h| h.starts_with(MAGIC) && h.ends_with(b"\n")) else {
        return Err("no pitwall checksum header (truncated, or written by another version)".into());
    };
    let recorded = &header[MAGIC.len()..HEADER_LEN - 1];
    let artefact = &entry[HEADER_LEN..];
    let actual = hex::encode(Sha256::digest(artefact));
    if recorded != actual.as_bytes() {
        return Err(format!(
            "sha256 mismatch: header says {}, the {} bytes hash to {}",
            String::from_utf8_lossy(recorded),
            artefact.len(),
            actual
        ));
    }
    Ok(artefact)
}

fn discard(path: &Path, reason: &str) {
    tracing::warn!(file = %path.display(), reason, "discarding a compiled-plugin cache entry; the plugin is recompiled");
    if let Err(e) = fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(file = %path.display(), error = %e, "cannot delete the unusable cache entry");
    }
}

fn write_entry(dir: &Path, path: &Path, artefact: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let tmp = dir.join(format!(".{name}.tmp-{}-{:08x}", std::process::id(), rand::random::<u32>()));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(hex::encode(Sha256::digest(artefact)).as_bytes())?;
        file.write_all(b"\n")?;
        file.write_all(artefact)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(artefact: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(hex::encode(Sha256::digest(artefact)).as_bytes());
        out.push(b'\n');
        out.extend_from_slice(artefact);
        out
    }

    #[test]
    fn verify_accepts_only_matching_bytes() {
        let good = entry(b"native code");
        assert_eq!(verify(&good), Ok(&b"native code"[..]));
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(verify(&flipped).unwrap_err().contains("sha256 mismatch"));
        assert!(verify(&good[..good.len() - 1]).unwrap_err().contains("mismatch"));
        assert!(verify(&good[..10]).unwrap_err().contains("no pitwall checksum header"));
        assert!(
            verify(b"\x7fELF old-style artefact without a header at all, long enough to be read as one")
                .is_err()
        );
    }

    #[test]
    fn entries_are_owner_only_and_dir_is_0700() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let uid = prepare_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        let path = dir.join("k.cwasm");
        write_entry(&dir, &path, b"artefact").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(verify(&read_entry(&path, uid).unwrap().unwrap()), Ok(&b"artefact"[..]));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left behind");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_entry(&path, uid).unwrap_err().contains("not owner-only"));
        assert!(read_entry(&path, uid + 1).unwrap_err().contains("owned by uid"));
        assert_eq!(read_entry(&dir.join("absent.cwasm"), uid), Ok(None));
    }
}
