//! Writing files so that a crash never leaves half of one: the one way the
//! queue, the task state and the Maildir put a file in place.
//!
//! A file is written under a temporary name in the directory it will live
//! in (mode 0600), synced when asked, and then renamed over its final name
//! ([`TempFile::replace`]) or linked to a name that must be new
//! ([`TempFile::publish_new`]). Readers see the old file or the new one,
//! never a part. [`sync_dir`] makes the rename itself durable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The prefix of every temporary file: readers skip such names.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Whether a write must reach the disk before the call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync` the file (and, once it is in place, the caller syncs the
    /// directory with [`sync_dir`]).
    Synced,
    /// Leave it to the kernel: a power cut may lose the update (never
    /// produce a torn file).
    Lazy,
}

/// A file written in full under a temporary name, waiting to be put in
/// place. Dropped before it is placed, it is removed.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    /// `None` only inside [`TempFile::into_file`], which consumes it.
    file: Option<File>,
    placed: bool,
}

impl TempFile {
    /// Writes `bytes` to a new file named `.tmp-<pid>-<n>-<nanos>` in `dir`
    /// (which must exist), mode 0600.
    pub fn write(dir: &Path, bytes: &[u8], durability: Durability) -> io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "{TEMP_PREFIX}{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Self::write_at(dir.join(name), bytes, durability)
    }

    /// [`TempFile::write`] to a temporary path of the caller's choosing
    /// (the Maildir's `tmp/<unique>`), which must not exist.
    pub fn write_at(path: PathBuf, bytes: &[u8], durability: Durability) -> io::Result<TempFile> {
        let file = create_new_private(&path)?;
        let temp = TempFile {
            path,
            file: Some(file),
            placed: false,
        };
        let mut file = temp.file();
        file.write_all(bytes)?;
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        Ok(temp)
    }

    /// The temporary path (until the file is placed).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file (for a lock, or to set its modification time).
    pub fn file(&self) -> &File {
        match &self.file {
            Some(file) => file,
            None => unreachable!("only into_file takes the file, and it consumes self"),
        }
    }

    /// The open file. One not placed yet stays at its temporary path.
    pub fn into_file(mut self) -> File {
        match self.file.take() {
            Some(file) => file,
            None => unreachable!("only into_file takes the file, and it consumes self"),
        }
    }

    /// Renames the file over `dest`, replacing what is there.
    pub fn replace(&mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        self.placed_at(dest);
        Ok(())
    }

    /// Puts the file at `dest`, which must not exist yet
    /// ([`io::ErrorKind::AlreadyExists`] otherwise, and the file stays
    /// unplaced, so another name can be tried), by a hard link and the
    /// removal of the temporary name; where the file system cannot link, by
    /// a rename to a name checked to be free.
    pub fn publish_new(&mut self, dest: &Path) -> io::Result<()> {
        match fs::hard_link(&self.path, dest) {
            Ok(()) => {
                let _ = fs::remove_file(&self.path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
            Err(_) => {
                if fs::symlink_metadata(dest).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} exists", dest.display()),
                    ));
                }
                fs::rename(&self.path, dest)?;
            }
        }
        self.placed_at(dest);
        Ok(())
    }

    fn placed_at(&mut self, dest: &Path) {
        self.path = dest.to_path_buf();
        self.placed = true;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed && self.file.is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a
/// rename over it; with [`Durability::Synced`] the file and the directory
/// are synced.
pub fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    TempFile::write(dir, bytes, durability)?.replace(path)?;
    if durability == Durability::Synced {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Makes a rename or removal in `dir` durable (nothing to do outside Unix).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Creates `dir` and its parents, the new ones readable by the owner only.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates `path`, which must not exist, for writing, mode 0600.
pub fn create_new_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Takes an exclusive lock on `file` without waiting: `Ok(false)` when
/// someone else holds one. The lock is released when the file is closed,
/// also by a process killed with SIGKILL (flock(2) on Unix, LockFileEx on
/// Windows).
pub fn try_lock(file: &File) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(fs::TryLockError::WouldBlock) => Ok(false),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_puts_the_whole_file_in_place_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one", Durability::Synced).unwrap();
        write_atomic(&path, b"two", Durability::Lazy).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }

    #[test]
    fn publish_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a");
        TempFile::write(dir.path(), b"first", Durability::Lazy)
            .unwrap()
            .publish_new(&dest)
            .unwrap();
        let mut second = TempFile::write(dir.path(), b"second", Durability::Lazy).unwrap();
        let temp = second.path().to_owned();
        let e = second.publish_new(&dest).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&dest).unwrap(), b"first");
        assert!(temp.exists(), "kept for another name");
        drop(second);
        assert!(!temp.exists(), "the temporary file is removed when dropped");
    }

    #[cfg(unix)]
    #[test]
    fn files_and_dirs_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_private_dir(&sub).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sub), 0o700);
        let path = sub.join("f");
        write_atomic(&path, b"x", Durability::Lazy).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_second_lock_on_the_same_file_waits_for_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"x").unwrap();
        let a = File::open(&path).unwrap();
        let b = File::open(&path).unwrap();
        assert!(try_lock(&a).unwrap());
        assert!(!try_lock(&b).unwrap());
        drop(a);
        assert!(try_lock(&b).unwrap());
    }
}
