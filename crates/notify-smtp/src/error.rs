//! The crate's one error type and its mapping onto core's [`TransportError`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use notify_core::{ErrorKind, TransportError};

use crate::hint::{Hint, MaildirProblem};
use crate::providers::UsernameRule;

/// Everything that can go wrong while building a message or delivering it
/// locally.
///
/// Variants that wrap another error do not repeat its text in their own
/// message: print the chain (`{:#}` with anyhow, or walk
/// [`std::error::Error::source`]) to see it. [`Error::hint`] says what the
/// user can do, as data; the conversion into [`TransportError`] attaches it
/// as a detail (`detail::<Hint>()`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An address could not be parsed as an RFC 5322 mailbox.
    #[error("invalid address in `{field}`: {value:?} {reason}")]
    InvalidAddress {
        /// The notification field: `from`, `to`, `cc`, `bcc` or `reply_to`.
        field: &'static str,
        /// The text as given.
        value: String,
        /// What is wrong with it, e.g. "has no '@'".
        reason: String,
    },
    /// The notification has no sender.
    #[error("the message has no sender: `from` is not set")]
    MissingFrom,
    /// None of `to`, `cc` and `bcc` holds an address.
    #[error("the message has no recipients: `to`, `cc` and `bcc` are all empty")]
    NoRecipients,
    /// A preset Message-ID is not of the form `<left@right>`.
    #[error("invalid `message_id` {value:?}: {reason}")]
    InvalidMessageId {
        /// The text as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The Date cannot be written in a mail header (before 1970 or after
    /// 9999).
    #[error("invalid `date` {value}: a mail Date must lie between 1970 and 9999")]
    InvalidDate {
        /// The date as given, in RFC 3339 form where possible.
        value: String,
    },
    /// An attachment's content type is not a valid MIME type.
    #[error("invalid content type {value:?} of attachment {filename:?}: {reason}")]
    InvalidContentType {
        /// The attachment's file name.
        filename: String,
        /// The content type as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A line of the formatted message would exceed the 998 octets RFC 5322
    /// allows: a single address, display name or file name too long to fold
    /// (subjects and To/Cc lists are folded).
    #[error("line {line} of the formatted message is {len} octets long (at most 998 are allowed): {start:?}...")]
    LineTooLong {
        /// The 1-based line number.
        line: usize,
        /// Its length in octets, without the CRLF.
        len: usize,
        /// The first few characters, to find the culprit.
        start: String,
    },
    /// The message builder refused the message (after this crate's own
    /// checks passed, so rarely).
    #[error("cannot build the message")]
    Build(#[source] BuildError),
    /// A file-system operation of the Maildir transport failed.
    #[error("Maildir delivery failed at {}", path.display())]
    Io {
        /// The file or directory being worked on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The extra trusted certificates (`ca_file`) cannot be used (SMTP
    /// only; the variant exists without the `smtp` feature too).
    #[error("cannot use the certificate file {file}: {reason}")]
    CaFile {
        /// The file's path (or `ca_pem` when the bytes came from elsewhere).
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An SMTP setting is invalid (SMTP only; the variant exists without
    /// the `smtp` feature too).
    #[error("invalid `{setting}` {value:?}: {reason}")]
    InvalidSetting {
        /// The setting's name as written in the config file.
        setting: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing the message to stdout (or another writer) failed.
    #[error("cannot write the message to {target}")]
    Write {
        /// Where it was written: "standard output" or "the writer".
        target: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// A setting that cannot be read: `server` ([`SmtpConfig::parse_server`]),
/// `security` ([`Security`]'s `FromStr`), `auth` (`AuthMechanism`'s
/// `FromStr`), or a username a provider does not accept
/// ([`providers::check_username`]). The text says what to write instead.
///
/// [`SmtpConfig::parse_server`]: crate::SmtpConfig::parse_server
/// [`Security`]: crate::Security
/// [`providers::check_username`]: crate::providers::check_username
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingError {
    /// `server` is empty.
    #[error("the server is empty: write it as host or host:port, e.g. smtp.example.com:587")]
    EmptyServer,
    /// `server` is not `host`, `host:port` or `[IPv6]:port`.
    #[error("invalid server `{server}`: {reason}")]
    InvalidServer {
        /// The setting as given.
        server: String,
        /// What is wrong with it and how to write it.
        reason: String,
    },
    /// The port of `server` is not a number from 1 to 65535.
    #[error(
        "invalid port `{port}` in server `{server}`: expected a number from 1 to 65535 \
         (465 for tls, 587 for starttls, 25 for a relay)"
    )]
    InvalidPort {
        /// The whole `server` setting.
        server: String,
        /// The port as given.
        port: String,
    },
    /// `security` is not one of [`Security::NAMES`](crate::Security::NAMES).
    #[error("unknown security `{value}`; expected one of: tls, starttls, none")]
    UnknownSecurity {
        /// The value as given.
        value: String,
    },
    /// `auth` is not one of `AuthMechanism::NAMES`.
    #[error("unknown auth mechanism `{value}`; expected one of: plain, login, xoauth2")]
    UnknownAuthMechanism {
        /// The value as given.
        value: String,
    },
    /// The username does not follow the provider's rule.
    #[error("{}", username_text(provider, username, *rule))]
    Username {
        /// The provider's display name.
        provider: &'static str,
        /// The username as given.
        username: String,
        /// What the provider expects.
        rule: UsernameRule,
    },
}

impl SettingError {
    /// The setting it is about: `server`, `security`, `auth` or `username`.
    pub fn setting(&self) -> &'static str {
        match self {
            SettingError::EmptyServer
            | SettingError::InvalidServer { .. }
            | SettingError::InvalidPort { .. } => "server",
            SettingError::UnknownSecurity { .. } => "security",
            SettingError::UnknownAuthMechanism { .. } => "auth",
            SettingError::Username { .. } => "username",
        }
    }
}

fn username_text(provider: &str, username: &str, rule: UsernameRule) -> String {
    match rule {
        UsernameRule::FullAddress => {
            format!("{provider} expects the full email address as the username, not `{username}`")
        }
        UsernameRule::AppleMailbox => format!(
            "{provider} expects your @icloud.com, @me.com or @mac.com address as the username, \
             not `{username}` (also when sending from a custom domain)"
        ),
    }
}

/// Why the message builder refused a message: its text and its
/// [`source`](std::error::Error::source) chain. The builder's own error type
/// is not part of this crate's API.
#[derive(Debug)]
pub struct BuildError(lettre::error::Error);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// [`Error::Build`] for lettre's `err`.
pub(crate) fn build_failed(err: lettre::error::Error) -> Error {
    Error::Build(BuildError(err))
}

impl Error {
    /// What the user can do about it, as data, when there is something to
    /// say; the caller words it with its own names for the settings.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            Error::InvalidAddress { field, .. } => Some(Hint::AddressForm { field }),
            Error::MissingFrom => Some(Hint::SetFrom),
            Error::NoRecipients => Some(Hint::SetRecipients),
            Error::InvalidMessageId { .. } => Some(Hint::MessageIdForm),
            Error::InvalidDate { .. } => Some(Hint::DateRange),
            Error::InvalidContentType { .. } => Some(Hint::ContentType),
            Error::LineTooLong { .. } => Some(Hint::LineTooLong),
            Error::Build(_) => None,
            Error::CaFile { .. } => Some(Hint::CaFileForm),
            Error::InvalidSetting { setting, .. } => Some(Hint::FixSetting { setting }),
            Error::Io { path, source } => io_hint(path, source),
            Error::Write { .. } => None,
        }
    }

    /// How a transport should treat this error; the `From<Error>` impl for
    /// [`TransportError`] documents the mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidAddress { .. }
            | Error::MissingFrom
            | Error::NoRecipients
            | Error::InvalidMessageId { .. }
            | Error::InvalidDate { .. }
            | Error::InvalidContentType { .. }
            | Error::LineTooLong { .. }
            | Error::Build(_)
            | Error::CaFile { .. }
            | Error::InvalidSetting { .. } => ErrorKind::Config,
            Error::Io { source, .. } => io_kind(source),
            Error::Write { .. } => ErrorKind::Permanent,
        }
    }
}

/// Address and message problems become [`ErrorKind::Config`]. A Maildir
/// that cannot be written as it is (permission denied, read-only file
/// system, a path component that is not a directory) becomes
/// [`ErrorKind::Permanent`] with a hint naming the directory; a full disk
/// and any other I/O failure become [`ErrorKind::Temporary`] (they may
/// work later). A failed write to stdout is permanent.
impl From<Error> for TransportError {
    fn from(err: Error) -> Self {
        let kind = err.kind();
        let hint = err.hint();
        let message = err.to_string();
        let mut out = TransportError::new(kind, message);
        if let Some(hint) = hint {
            out = out.with_detail(hint);
        }
        match err {
            Error::Io { source, .. } | Error::Write { source, .. } => out.with_source(source),
            Error::Build(source) => out.with_source(source),
            _ => out,
        }
    }
}

// errno values shared by Linux, the BSDs and macOS. `io::ErrorKind` has
// names for them only since Rust 1.83, above this workspace's MSRV.
const ENOTDIR: i32 = 20;
const ENOSPC: i32 = 28;
const EROFS: i32 = 30;
#[cfg(target_os = "linux")]
const EDQUOT: i32 = 122;
#[cfg(not(target_os = "linux"))]
const EDQUOT: i32 = 69;

enum IoCause {
    Denied,
    ReadOnly,
    NotADirectory,
    Full,
    Other,
}

fn io_cause(err: &io::Error) -> IoCause {
    match err.kind() {
        io::ErrorKind::PermissionDenied => return IoCause::Denied,
        // Creating a directory where a file of that name exists.
        io::ErrorKind::AlreadyExists => return IoCause::NotADirectory,
        _ => {}
    }
    if cfg!(unix) {
        match err.raw_os_error() {
            Some(EROFS) => return IoCause::ReadOnly,
            Some(ENOTDIR) => return IoCause::NotADirectory,
            Some(ENOSPC) | Some(EDQUOT) => return IoCause::Full,
            _ => {}
        }
    }
    IoCause::Other
}

fn io_kind(err: &io::Error) -> ErrorKind {
    match io_cause(err) {
        IoCause::Denied | IoCause::ReadOnly | IoCause::NotADirectory => ErrorKind::Permanent,
        IoCause::Full | IoCause::Other => ErrorKind::Temporary,
    }
}

/// The directory a Maildir path lives in: the path itself for the
/// `tmp`/`new`/`cur` directories and the root, else its parent.
fn directory_of(path: &Path) -> &Path {
    let is_file = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == "tmp" || dir == "new" || dir == "cur");
    match path.parent() {
        Some(parent) if is_file => parent,
        _ => path,
    }
}

fn io_hint(path: &Path, err: &io::Error) -> Option<Hint> {
    let problem = match io_cause(err) {
        IoCause::Denied => MaildirProblem::Denied,
        IoCause::ReadOnly => MaildirProblem::ReadOnly,
        IoCause::NotADirectory => MaildirProblem::NotADirectory,
        IoCause::Full => MaildirProblem::Full,
        IoCause::Other => return None,
    };
    Some(Hint::Maildir {
        dir: directory_of(path).to_owned(),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_err(path: &str, source: io::Error) -> Error {
        Error::Io {
            path: PathBuf::from(path),
            source,
        }
    }

    #[test]
    fn permission_denied_is_permanent_and_names_the_directory() {
        let err = io_err(
            "/data/maildir/tmp/123.M1P2Q3.host",
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        let t = TransportError::from(err);
        assert_eq!(t.kind(), ErrorKind::Permanent);
        assert_eq!(
            t.detail::<Hint>(),
            Some(&Hint::Maildir {
                dir: PathBuf::from("/data/maildir/tmp"),
                problem: MaildirProblem::Denied
            })
        );
        assert!(t.hint().is_none(), "the library words no hint");
        assert!(t.to_string().contains("/data/maildir/tmp/123.M1P2Q3.host"));
        assert!(std::error::Error::source(&t).is_some());
    }

    #[cfg(unix)]
    #[test]
    fn read_only_and_not_a_directory_are_permanent() {
        for (code, problem) in [
            (EROFS, MaildirProblem::ReadOnly),
            (ENOTDIR, MaildirProblem::NotADirectory),
        ] {
            let t =
                TransportError::from(io_err("/data/maildir", io::Error::from_raw_os_error(code)));
            assert_eq!(t.kind(), ErrorKind::Permanent, "errno {code}");
            assert_eq!(
                t.detail::<Hint>(),
                Some(&Hint::Maildir {
                    dir: PathBuf::from("/data/maildir"),
                    problem
                }),
                "errno {code}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn disk_full_and_other_io_are_temporary() {
        let full = TransportError::from(io_err(
            "/data/maildir/new",
            io::Error::from_raw_os_error(ENOSPC),
        ));
        assert_eq!(full.kind(), ErrorKind::Temporary);
        assert_eq!(
            full.detail::<Hint>(),
            Some(&Hint::Maildir {
                dir: PathBuf::from("/data/maildir/new"),
                problem: MaildirProblem::Full
            })
        );
        let other = TransportError::from(io_err(
            "/data/maildir/new",
            io::Error::from(io::ErrorKind::Interrupted),
        ));
        assert_eq!(other.kind(), ErrorKind::Temporary);
        assert!(other.detail::<Hint>().is_none());
    }

    #[test]
    fn message_problems_are_config_errors_with_hints() {
        let errors = [
            Error::MissingFrom,
            Error::NoRecipients,
            Error::InvalidAddress {
                field: "to",
                value: "nobody".into(),
                reason: "has no '@'".into(),
            },
            Error::InvalidMessageId {
                value: "x".into(),
                reason: "r",
            },
            Error::InvalidDate {
                value: "1969".into(),
            },
            Error::InvalidContentType {
                filename: "a".into(),
                value: "b".into(),
                reason: "c".into(),
            },
        ];
        for err in errors {
            let t = TransportError::from(err);
            assert_eq!(t.kind(), ErrorKind::Config, "{t}");
            assert!(t.detail::<Hint>().is_some(), "{t}");
        }
    }

    #[test]
    fn setting_errors_name_every_accepted_value() {
        let security = SettingError::UnknownSecurity { value: "x".into() }.to_string();
        assert!(
            security.ends_with(&crate::Security::NAMES.join(", ")),
            "{security}"
        );
        #[cfg(feature = "smtp")]
        {
            let auth = SettingError::UnknownAuthMechanism { value: "x".into() }.to_string();
            assert!(
                auth.ends_with(&crate::AuthMechanism::NAMES.join(", ")),
                "{auth}"
            );
        }
        assert_eq!(SettingError::EmptyServer.setting(), "server");
    }

    #[test]
    fn write_failures_are_permanent() {
        let t = TransportError::from(Error::Write {
            target: "standard output",
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        });
        assert_eq!(t.kind(), ErrorKind::Permanent);
    }
}
