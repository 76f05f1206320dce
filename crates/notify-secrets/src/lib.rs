//! Where an account's password comes from: the [`SecretStore`] trait, the
//! [`SecretRef`] that names a backend in configuration (`keychain`,
//! `env:VAR`, `file:PATH`, `cmd:COMMAND`), and an in-memory store for tests.
//!
//! The backends, and what [`store_for`] returns for each `password =`:
//!
//! - `keychain`: `KeychainStore`, the OS keychain through the `keyring`
//!   crate (the Secret Service over D-Bus on Linux, e.g. gnome-keyring or
//!   KWallet; the Keychain on macOS; Credential Manager on Windows), service
//!   `notify`, user = the account name. Behind the cargo feature `keychain`,
//!   on by default; with `default-features = false` nothing native is linked
//!   and `store_for` returns `None` for `keychain`. It never falls back to
//!   keyring's in-memory mock (which forgets everything when the process
//!   ends): where there is no native store, it fails with
//!   [`Error::Inaccessible`]. Keychain items do not move to a new machine:
//!   a missing one is [`Error::NoEntry`], naming the account. No keychain
//!   where notify runs (no Secret Service running; cron, systemd services
//!   and ssh sessions often have no session D-Bus) is [`Error::NoKeychain`]:
//!   the setup must change. A locked one, or one that did not answer, is
//!   [`Error::Inaccessible`], with the reason; [`Error::kind`] says it may
//!   work later. On Linux libdbus is built from
//!   source (keyring's `vendored` feature), so building needs a C compiler
//!   but no libdbus-1-dev. Calls are synchronous, fine inside a tokio
//!   runtime, and give up after a timeout instead of hanging on an unlock
//!   prompt.
//! - `env:VAR`: [`EnvStore`], read-only.
//! - `file:PATH`: [`FileStore`], refused when group- or world-readable,
//!   when it is not a regular file (a FIFO, a device: [`Error::NotAFile`])
//!   and when it is larger than [`SECRET_LIMIT`]; read within
//!   [`FILE_TIMEOUT`]; written as a new file renamed into place, so a
//!   symlink at the path is replaced, never written through. A
//!   relative path is relative to the configuration file's directory when
//!   the store comes from [`store_for_in`] (which the CLI uses, passing that
//!   directory), and to the current directory with plain [`store_for`].
//! - `cmd:COMMAND`: [`CommandStore`], the first line a command prints.
//! - [`MemoryStore`]: in memory with failures on demand, for tests.
//!
//! A key design decision made in this crate is that a secret is a
//! [`secrecy::SecretString`] from the moment it is read until the transport
//! hands it to the mail server: its `Debug` prints `[REDACTED]`, its memory is
//! zeroized, and every read is a greppable `expose_secret()`. No type here
//! derives `Serialize`, so a secret cannot end up in a queue file or a log by
//! accident.
#![deny(missing_docs)]

mod backends;
#[cfg(feature = "keychain")]
mod keychain;
mod memory;
mod reference;

pub use backends::{
    expand_home, split_words, CommandStore, EnvStore, FileStore, COMMAND_TIMEOUT, FILE_TIMEOUT,
    SECRET_LIMIT,
};
#[cfg(feature = "keychain")]
pub use keychain::{KeychainStore, KEYCHAIN_SERVICE, KEYCHAIN_TIMEOUT};
pub use memory::MemoryStore;
pub use reference::SecretRef;

pub use secrecy::{ExposeSecret, SecretString};

/// Why a secret could not be obtained or stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store works, but holds nothing for this account (for the keychain:
    /// never stored on this machine, or deleted).
    #[error("no secret stored for account `{account}`")]
    NoEntry {
        /// The account asked for.
        account: String,
    },
    /// The keychain could not be reached or refused access (a locked
    /// keychain, no Secret Service). Only the keychain backend returns it;
    /// an unreadable `file:PATH` is [`Error::FileUnreadable`].
    #[error("the secret store is not accessible: {reason}")]
    Inaccessible {
        /// What went wrong, without any secret in it.
        reason: String,
    },
    /// There is no keychain to reach where notify runs: no Secret Service
    /// running, or no session D-Bus at all (cron, systemd services, ssh).
    /// Unlike [`Error::Inaccessible`], waiting does not help: the setup must
    /// change (another store, or a keychain started for this environment).
    #[error("no keychain is available here: {reason}")]
    NoKeychain {
        /// What is missing.
        reason: String,
    },
    /// `env:VAR` names a variable that is not set, or is empty.
    #[error("the environment variable {var} {}", if *.empty { "is empty" } else { "is not set" })]
    EnvNotSet {
        /// The variable's name.
        var: String,
        /// Whether it is set but empty.
        empty: bool,
    },
    /// `file:PATH` names a file that does not exist.
    #[error("the password file {} does not exist", .path.display())]
    FileMissing {
        /// The file.
        path: std::path::PathBuf,
    },
    /// `file:PATH` exists but cannot be read or written (permission
    /// denied, a dangling symlink, not UTF-8, an I/O error).
    #[error("cannot access the password file {}: {reason}", .path.display())]
    FileUnreadable {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        reason: String,
    },
    /// `file:PATH` names something that is not a regular file: a
    /// directory, a named pipe, a device, a socket. It is not read: a FIFO
    /// would block until someone writes to it, a device might never end.
    #[error("the password file {} is {kind}, not a regular file", .path.display())]
    NotAFile {
        /// The path.
        path: std::path::PathBuf,
        /// What it is instead.
        kind: FileKind,
    },
    /// `file:PATH` is larger than a password file can be ([`SECRET_LIMIT`]):
    /// it is not read, so it can neither fill the memory nor end up in an
    /// `AUTH` line.
    #[error(
        "the password file {} is {size} bytes long; a password file holds one line (at most {} KiB)",
        .path.display(),
        .limit / 1024
    )]
    FileTooLarge {
        /// The file.
        path: std::path::PathBuf,
        /// Its size in bytes (at least `limit + 1` when the file does not
        /// say, as files in /proc do).
        size: u64,
        /// The most a password file may hold, in bytes.
        limit: u64,
    },
    /// `file:PATH` could not be read within the store's timeout (a network
    /// file system that does not answer). A later attempt may work.
    #[error(
        "the password file {} could not be read within {} s",
        .path.display(),
        .timeout.as_secs_f32()
    )]
    FileTimeout {
        /// The file.
        path: std::path::PathBuf,
        /// How long was waited.
        timeout: std::time::Duration,
    },
    /// `file:PATH` names a file whose first line is empty.
    #[error("the password file {} is empty (the password goes on its first line)", .path.display())]
    FileEmpty {
        /// The file.
        path: std::path::PathBuf,
    },
    /// `file:PATH` names a file others can read.
    #[error("the password file {} is readable by others (mode {mode:03o}); refusing to use it", .path.display())]
    UnsafePermissions {
        /// The file.
        path: std::path::PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// `cmd:COMMAND` failed.
    #[error("the password command `{command}` failed: {reason}")]
    Command {
        /// The command as configured (a reference, not a secret).
        command: String,
        /// What went wrong, including what it printed on stderr.
        reason: String,
    },
    /// The store cannot do this (e.g. `set` on a read-only backend).
    #[error("{0}")]
    Unsupported(String),
    /// A `password =` value that names no known backend. The value itself
    /// is not kept: a user may have pasted the password there.
    #[error("`password` names no secret store; expected `keychain`, `env:VAR`, `file:PATH` or `cmd:COMMAND` (the password itself never goes into the config file)")]
    BadReference,
}

/// What a `file:PATH` that is not a regular file is ([`Error::NotAFile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A named pipe (FIFO).
    Fifo,
    /// A character or block device.
    Device,
    /// A Unix domain socket.
    Socket,
    /// Anything else that is not a regular file.
    Other,
}

impl FileKind {
    /// What the file `meta` describes is, when it is not a regular file
    /// (for a regular file: [`FileKind::Other`]).
    pub fn of(meta: &std::fs::Metadata) -> FileKind {
        if meta.is_dir() {
            return FileKind::Directory;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            let t = meta.file_type();
            if t.is_fifo() {
                return FileKind::Fifo;
            }
            if t.is_char_device() || t.is_block_device() {
                return FileKind::Device;
            }
            if t.is_socket() {
                return FileKind::Socket;
            }
        }
        FileKind::Other
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a named pipe (FIFO)",
            FileKind::Device => "a device",
            FileKind::Socket => "a socket",
            FileKind::Other => "a special file",
        })
    }
}

/// What a caller can do after an [`Error`]: wait, or fix the setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The store could not be reached just now (a locked keychain, no
    /// answer in time, no session bus): a later attempt may work, so a
    /// notification waiting for this secret is worth queueing.
    Unavailable,
    /// The store answered, and the answer will stay the same until the
    /// setup changes: no entry, an unset variable, a missing, empty or
    /// unsafe file, a failing command, a bad reference.
    Config,
}

impl Error {
    /// Whether waiting may help ([`ErrorKind::Unavailable`]) or the setup
    /// must change ([`ErrorKind::Config`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Inaccessible { .. } | Error::FileTimeout { .. } => ErrorKind::Unavailable,
            _ => ErrorKind::Config,
        }
    }
}

/// The store a [`SecretRef`] names. `None` only for `keychain` in a build
/// without the `keychain` feature.
pub fn store_for(reference: &SecretRef) -> Option<Box<dyn SecretStore>> {
    match reference {
        #[cfg(feature = "keychain")]
        SecretRef::Keychain => Some(Box::new(KeychainStore::new())),
        #[cfg(not(feature = "keychain"))]
        SecretRef::Keychain => None,
        SecretRef::Env(var) => Some(Box::new(EnvStore::new(var.clone()))),
        SecretRef::File(path) => Some(Box::new(FileStore::new(path))),
        SecretRef::Command(cmd) => Some(Box::new(CommandStore::new(cmd.clone()))),
    }
}

/// [`store_for`] with a relative `file:` path taken relative to `base`
/// (see [`SecretRef::resolve_relative`]); the CLI passes the directory of
/// the configuration file, so the same config works from any directory.
pub fn store_for_in(reference: &SecretRef, base: &std::path::Path) -> Option<Box<dyn SecretStore>> {
    store_for(&reference.resolve_relative(base))
}

/// A place that keeps account secrets. Small on purpose: a backend or a test
/// double implements three methods.
///
/// With the `mock` feature, `MockSecretStore` (generated by mockall) stands
/// in for it in tests that want to set expectations on each call;
/// [`MemoryStore`] is the simpler fake.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait SecretStore: Send + Sync {
    /// The secret of `account`.
    fn get(&self, account: &str) -> Result<SecretString, Error>;
    /// Stores (or replaces) the secret of `account`.
    fn set(&self, account: &str, secret: &SecretString) -> Result<(), Error>;
    /// Removes the secret of `account`; removing nothing is not an error.
    fn delete(&self, account: &str) -> Result<(), Error>;
}

/// Normalizes an app password as providers display it: the Gmail / Yahoo
/// form `abcd efgh ijkl mnop` (four groups of four letters) loses its spaces.
/// Anything else is returned unchanged, since spaces can be part of a real
/// password.
pub fn normalize_app_password(secret: SecretString) -> SecretString {
    let s = secret.expose_secret();
    let groups: Vec<&str> = s.trim().split(' ').collect();
    let app_form = groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_alphanumeric()));
    if app_form {
        SecretString::from(groups.concat())
    } else {
        secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_passwords_lose_their_spaces() {
        let n = normalize_app_password(SecretString::from("abcd efgh ijkl mnop"));
        assert_eq!(n.expose_secret(), "abcdefghijklmnop");
        let n = normalize_app_password(SecretString::from("correct horse battery staple"));
        assert_eq!(n.expose_secret(), "correct horse battery staple");
        let n = normalize_app_password(SecretString::from("abcdefghijklmnop"));
        assert_eq!(n.expose_secret(), "abcdefghijklmnop");
    }

    #[test]
    fn errors_never_carry_the_secret() {
        let e = Error::NoEntry {
            account: "work".into(),
        };
        assert_eq!(e.to_string(), "no secret stored for account `work`");
    }

    #[test]
    fn an_inaccessible_keychain_is_worth_waiting_for() {
        let e = Error::Inaccessible {
            reason: "the keychain is locked".into(),
        };
        assert_eq!(e.kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn a_password_file_that_did_not_answer_is_worth_waiting_for() {
        let e = Error::FileTimeout {
            path: "/mnt/nfs/pw".into(),
            timeout: std::time::Duration::from_secs(30),
        };
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(
            e.to_string(),
            "the password file /mnt/nfs/pw could not be read within 30 s"
        );
    }

    #[test]
    fn only_an_unreachable_store_is_worth_waiting_for() {
        let config = [
            Error::NoEntry {
                account: "work".into(),
            },
            Error::EnvNotSet {
                var: "PW".into(),
                empty: false,
            },
            Error::FileMissing {
                path: "/nope".into(),
            },
            Error::Command {
                command: "pass x".into(),
                reason: "exit 1".into(),
            },
            Error::BadReference,
            Error::NoKeychain {
                reason: "no session D-Bus".into(),
            },
            Error::NotAFile {
                path: "/run/pw.fifo".into(),
                kind: FileKind::Fifo,
            },
            Error::FileTooLarge {
                path: "/var/log/syslog".into(),
                size: 1 << 30,
                limit: SECRET_LIMIT as u64,
            },
        ];
        for e in config {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        }
    }

    #[test]
    fn store_for_keychain_follows_the_feature() {
        let store = store_for(&SecretRef::Keychain);
        assert_eq!(store.is_some(), cfg!(feature = "keychain"));
    }
}

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
