//! Delivery into a local Maildir: the default when no account is set up.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use notify_core::{Delivery, Notification, Transport, TransportError};
use notify_queue::files::{self, Durability, TempFile};

use crate::{format_message, Error};

/// Deliveries made by this process, for the `Q` part of file names. Global
/// rather than per transport, so two transports on one Maildir in one
/// process never pick the same name.
static DELIVERIES: AtomicU64 = AtomicU64::new(0);

/// How often a new name is tried when a tmp file of that name exists.
const CREATE_ATTEMPTS: u32 = 8;

/// Delivers each message as one file into a Maildir
/// (`root/{tmp,new,cur}`), readable by mutt, neomutt, aerc, Thunderbird's
/// Maildir store and any other Maildir client.
///
/// Delivery follows the Maildir protocol: the message is written to
/// `tmp/<unique>` (mode 0600 on Unix), fsynced, renamed to `new/<unique>`,
/// and the `new` directory is fsynced on Unix. Unique names have the
/// classic form `<secs>.M<micros>P<pid>Q<counter>.<hostname>`, so
/// concurrent processes and threads never collide. Missing directories are
/// created with mode 0700. A failed delivery removes its tmp file.
///
/// The file holds the RFC 5322 message and nothing else, with **LF line
/// endings**: Maildir files are stored in the local text convention, and
/// Maildir readers convert back to CRLF when they pass a message on.
///
/// The [`Transport`] implementation does this small, blocking file I/O
/// inline on the calling task rather than on a blocking thread pool, so this
/// crate needs no async runtime; a delivery takes a few milliseconds.
#[derive(Debug, Clone)]
pub struct MaildirTransport {
    root: PathBuf,
    hostname: String,
}

impl MaildirTransport {
    /// A transport delivering into the Maildir at `root` (created on first
    /// delivery if missing). The host name in file names is read from the
    /// system; see [`MaildirTransport::with_hostname`].
    pub fn new(root: impl Into<PathBuf>) -> Self {
        MaildirTransport {
            root: root.into(),
            hostname: escape_hostname(&crate::system_hostname()),
        }
    }

    /// Uses `hostname` in file names instead of the computer's name
    /// (gethostname(2), `localhost` when it has none).
    /// `/` and `:` are escaped as `\057` and `\072`, as the Maildir
    /// specification asks.
    pub fn with_hostname(mut self, hostname: &str) -> Self {
        self.hostname = escape_hostname(hostname);
        self
    }

    /// The Maildir directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The (escaped) host name used in file names.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// Creates `root`, `root/tmp`, `root/new` and `root/cur` where missing
    /// (mode 0700 on Unix; existing directories are left as they are).
    pub fn create_dirs(&self) -> Result<(), Error> {
        for dir in [
            self.root.clone(),
            self.root.join("tmp"),
            self.root.join("new"),
            self.root.join("cur"),
        ] {
            files::create_private_dir(&dir).map_err(|source| Error::Io { path: dir, source })?;
        }
        Ok(())
    }

    /// Formats `n` (see [`crate::build_message`]) and delivers it; returns
    /// the path of the file in `new/`.
    pub fn deliver(&self, n: &Notification) -> Result<PathBuf, Error> {
        let message = format_message(n)?;
        self.deliver_raw(&message)
    }

    /// Delivers an already formatted message (CRLF or LF line endings; CRLF
    /// is turned into LF); returns the path of the file in `new/`.
    pub fn deliver_raw(&self, message: &[u8]) -> Result<PathBuf, Error> {
        self.create_dirs()?;
        let data = crlf_to_lf(message);
        self.deliver_into(&data, &self.root.join("tmp"), &self.root.join("new"))
    }

    /// Writes `data` to `tmp_dir/<unique>` (synced) and moves it to
    /// `new_dir`, through notify-queue's one way of writing a file whole.
    fn deliver_into(&self, data: &[u8], tmp_dir: &Path, new_dir: &Path) -> Result<PathBuf, Error> {
        let mut attempt = 0;
        let (name, mut temp) = loop {
            let name = self.unique_name();
            let path = tmp_dir.join(&name);
            match TempFile::write_at(path.clone(), data, Durability::Synced) {
                Ok(temp) => break (name, temp),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                    attempt += 1;
                    if attempt >= CREATE_ATTEMPTS {
                        return Err(Error::Io { path, source: err });
                    }
                }
                // A failed write removed its tmp file already.
                Err(source) => return Err(Error::Io { path, source }),
            }
        };
        let new_path = new_dir.join(&name);
        // Dropped unplaced on failure, the tmp file is removed.
        temp.replace(&new_path).map_err(|source| Error::Io {
            path: new_path.clone(),
            source,
        })?;
        // Makes the rename durable. Not an error when it fails: the message
        // is delivered, and reporting a failure would make the caller queue
        // a duplicate. Some file systems refuse fsync on directories.
        let _ = files::sync_dir(new_dir);
        Ok(new_path)
    }

    /// `<secs>.M<micros>P<pid>Q<counter>.<hostname>`.
    fn unique_name(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let count = DELIVERIES.fetch_add(1, Ordering::Relaxed);
        format!(
            "{}.M{}P{}Q{}.{}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            count,
            self.hostname
        )
    }
}

#[async_trait]
impl Transport for MaildirTransport {
    /// Delivers inline (blocking file I/O, see the type's docs);
    /// [`Delivery::detail`] is the path of the file written in `new/`.
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError> {
        let path = self.deliver(notification)?;
        Ok(Delivery::new(path.display().to_string()))
    }
}

/// Turns every CRLF into LF; lone CRs and LFs stay as they are.
pub(crate) fn crlf_to_lf(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len());
    let mut bytes = message.iter().peekable();
    while let Some(&b) = bytes.next() {
        if b == b'\r' && bytes.peek() == Some(&&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

/// Escapes `/` as `\057` and `:` as `\072` (the Maildir specification's
/// rule), and replaces whitespace and control characters with `_`.
fn escape_hostname(hostname: &str) -> String {
    let hostname = hostname.trim();
    if hostname.is_empty() {
        return "localhost".to_owned();
    }
    let mut out = String::with_capacity(hostname.len());
    for c in hostname.chars() {
        match c {
            '/' => out.push_str("\\057"),
            ':' => out.push_str("\\072"),
            c if c.is_whitespace() || c.is_control() => out.push('_'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn crlf_becomes_lf_and_lone_breaks_stay() {
        assert_eq!(crlf_to_lf(b"a\r\nb\r\n\r\nc"), b"a\nb\n\nc");
        assert_eq!(crlf_to_lf(b"a\rb\nc\r"), b"a\rb\nc\r");
        assert_eq!(crlf_to_lf(b"\r\r\n"), b"\r\n");
    }

    #[test]
    fn a_failed_delivery_removes_its_tmp_file() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        let t = MaildirTransport::new(dir.path());
        // The rename fails: the target directory does not exist.
        let err = t
            .deliver_into(b"Subject: x\n\nbody\n", &tmp, &dir.path().join("missing"))
            .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0, "tmp/ is not empty");
    }

    #[test]
    fn hostnames_are_escaped() {
        assert_eq!(escape_hostname("host.example"), "host.example");
        assert_eq!(escape_hostname("a/b:c"), "a\\057b\\072c");
        assert_eq!(escape_hostname("a b\n"), "a_b");
        assert_eq!(escape_hostname("  "), "localhost");
    }

    #[test]
    fn unique_names_have_the_classic_form() {
        let t = MaildirTransport::new("/nonexistent").with_hostname("h:1");
        let name = t.unique_name();
        let (secs, rest) = name.split_once('.').unwrap();
        assert!(secs.parse::<u64>().is_ok(), "{name}");
        assert!(rest.starts_with('M'), "{name}");
        assert!(
            rest.contains(&format!("P{}Q", std::process::id())),
            "{name}"
        );
        assert!(name.ends_with(".h\\0721"), "{name}");
        assert_ne!(t.unique_name(), name);
    }
}
