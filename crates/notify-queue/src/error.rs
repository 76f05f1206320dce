use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What the queue or the state store was doing when a file operation
/// failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Creating a file or directory.
    Create,
    /// Opening or reading.
    Read,
    /// Writing.
    Write,
    /// Replacing a file with a new version.
    Replace,
    /// Moving a file to another directory.
    Move,
    /// Removing a file.
    Remove,
    /// Making a change durable (fsync).
    Sync,
    /// Encoding a record as JSON.
    Encode,
    /// Opening or taking a lock file.
    Lock,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Create => "create",
            Op::Read => "read",
            Op::Write => "write",
            Op::Replace => "replace",
            Op::Move => "move",
            Op::Remove => "remove",
            Op::Sync => "sync",
            Op::Encode => "encode a record for",
            Op::Lock => "lock",
        })
    }
}

/// A file operation of the queue or the state store that failed: what was
/// done, to which path, and the OS error.
#[derive(Debug)]
pub struct Error {
    op: Op,
    path: PathBuf,
    source: io::Error,
}

impl Error {
    pub(crate) fn new(op: Op, path: &Path, source: io::Error) -> Self {
        Error {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    /// What was being done.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The file or directory it was done to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kind of the OS error (e.g. `StorageFull`, `PermissionDenied`).
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// The OS error itself.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.op,
            self.path.display(),
            self.source
        )
    }
}

/// The OS error is part of the message, so it is not repeated as a source.
impl std::error::Error for Error {}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps an io error with what was done to which path.
pub(crate) fn at(op: Op, path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::new(op, path, source)
}
