//! The read-side backends that need no native library: `env:VAR`,
//! `file:PATH` and `cmd:COMMAND`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

use crate::{Error, FileKind, SecretStore};

/// How long a `cmd:` helper may take before it is killed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// `env:VAR`: the secret is the value of an environment variable. Read-only.
#[derive(Debug, Clone)]
pub struct EnvStore {
    var: String,
}

impl EnvStore {
    /// A store reading `var`.
    pub fn new(var: impl Into<String>) -> Self {
        EnvStore { var: var.into() }
    }
}

impl SecretStore for EnvStore {
    fn get(&self, _account: &str) -> Result<SecretString, Error> {
        match std::env::var(&self.var) {
            Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
            Ok(_) => Err(Error::EnvNotSet {
                var: self.var.clone(),
                empty: true,
            }),
            Err(_) => Err(Error::EnvNotSet {
                var: self.var.clone(),
                empty: false,
            }),
        }
    }

    fn set(&self, _account: &str, _secret: &SecretString) -> Result<(), Error> {
        Err(Error::Unsupported(format!(
            "`env:{}` is read-only: set the variable in the job's environment instead",
            self.var
        )))
    }

    fn delete(&self, _account: &str) -> Result<(), Error> {
        Err(Error::Unsupported(format!(
            "`env:{}` is read-only: unset the variable in the job's environment instead",
            self.var
        )))
    }
}

/// How long reading or writing a `file:` password may take: a password file
/// on a network file system that stops answering must not hang a cron job.
pub const FILE_TIMEOUT: Duration = Duration::from_secs(30);

/// `file:PATH`: the first line of a file readable only by its owner, as
/// ssh and msmtp insist. `~/` is expanded.
///
/// Only a small regular file is read: a directory, a named pipe (which
/// would block until someone writes to it), a device (which might never
/// end) or a socket is [`Error::NotAFile`], a file over [`SECRET_LIMIT`]
/// bytes is [`Error::FileTooLarge`]. The file is opened without blocking
/// and checked again once open, and at most [`SECRET_LIMIT`] bytes are
/// read. Each call runs on a helper thread and gives up after
/// [`FILE_TIMEOUT`] ([`Error::FileTimeout`]).
///
/// [`SecretStore::set`] writes a new file (mode 0600) beside the path and
/// renames it into place: a symlink at the path is replaced, never
/// followed, so the secret cannot land in a file the link points to.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    timeout: Duration,
}

impl FileStore {
    /// A store for the file at `path` (`~/` expanded).
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileStore {
            path: expand_home(path.as_ref()),
            timeout: FILE_TIMEOUT,
        }
    }

    /// Changes how long a call may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The file's path, after `~` expansion.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses anything but a regular file, saying what it is.
    fn check_regular(&self, meta: &std::fs::Metadata) -> Result<(), Error> {
        if meta.is_file() {
            return Ok(());
        }
        Err(Error::NotAFile {
            path: self.path.clone(),
            kind: FileKind::of(meta),
        })
    }

    /// Runs `op` on a helper thread, so a file system that never answers
    /// costs [`Self::with_timeout`] at most. A thread that does not answer
    /// in time is left behind (a process cannot interrupt a hung read);
    /// it holds no secret of ours beyond what it was given.
    fn within_timeout<T: Send + 'static>(
        &self,
        op: impl FnOnce(&FileStore) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = mpsc::channel();
        let store = self.clone();
        let spawned = std::thread::Builder::new()
            .name("notify-secret-file".into())
            .spawn(move || {
                let _ = tx.send(op(&store));
            });
        if let Err(e) = spawned {
            return Err(Error::FileUnreadable {
                path: self.path.clone(),
                reason: format!("cannot start a thread to read it: {e}"),
            });
        }
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::FileTimeout {
                path: self.path.clone(),
                timeout: self.timeout,
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::FileUnreadable {
                path: self.path.clone(),
                reason: "reading it failed unexpectedly (its thread panicked)".into(),
            }),
        }
    }

    /// The first line of the file; see [`FileStore`].
    fn read(&self) -> Result<SecretString, Error> {
        let meta = std::fs::metadata(&self.path).map_err(|e| self.io_error(&e))?;
        self.check_regular(&meta)?;
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Swapped for a FIFO after the check above, it still cannot
            // block the open; swapped for a terminal, it does not become
            // notify's controlling terminal.
            options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
        }
        let file = options.open(&self.path).map_err(|e| self.io_error(&e))?;
        // What was opened is what counts.
        let meta = file.metadata().map_err(|e| self.io_error(&e))?;
        self.check_regular(&meta)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::UnsafePermissions {
                    path: self.path.clone(),
                    mode,
                });
            }
        }
        let limit = SECRET_LIMIT as u64;
        let too_large = |size: u64| Error::FileTooLarge {
            path: self.path.clone(),
            size,
            limit,
        };
        if meta.len() > limit {
            return Err(too_large(meta.len()));
        }
        // Room for the whole file and the read that finds its end, so the
        // buffer never moves (a move would leave a copy behind, unzeroized).
        let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 64));
        (&file)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io_error(&e))?;
        // A file that does not know its size (/proc) grows past the limit.
        if bytes.len() as u64 > limit {
            return Err(too_large(bytes.len() as u64));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::FileUnreadable {
            path: self.path.clone(),
            reason: "it is not UTF-8 text".into(),
        })?;
        let secret = SecretString::from(first_line(text).to_owned());
        if secret.expose_secret().is_empty() {
            return Err(Error::FileEmpty {
                path: self.path.clone(),
            });
        }
        Ok(secret)
    }

    /// Writes the secret into a new file (mode 0600) beside the path and
    /// renames it into place.
    fn write(&self, secret: &SecretString) -> Result<(), Error> {
        use std::io::Write;
        let dir = match self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| self.io_error(&e))?;
                dir.to_path_buf()
            }
            None => PathBuf::from("."),
        };
        // A symlink is replaced (its target is never written); anything
        // else that is not a regular file (a directory, a FIFO, a device
        // such as /dev/null) is left alone.
        if let Ok(meta) = std::fs::symlink_metadata(&self.path) {
            if !meta.file_type().is_symlink() {
                self.check_regular(&meta)?;
            }
        }
        let name = self
            .path
            .file_name()
            .map_or_else(|| "password".into(), |n| n.to_string_lossy().into_owned());
        let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        // A leftover of an earlier attempt of this process id (removing a
        // symlink there removes the link only; create_new then refuses
        // anything that appears in between).
        let _ = std::fs::remove_file(&temp);
        let written = options.open(&temp).and_then(|mut f| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            f.write_all(secret.expose_secret().as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        });
        let placed = written.and_then(|()| std::fs::rename(&temp, &self.path));
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&temp);
            return Err(self.io_error(&e));
        }
        // The rename itself, on disk.
        #[cfg(unix)]
        {
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    fn io_error(&self, e: &std::io::Error) -> Error {
        match e.kind() {
            // A symlink whose target is gone: the path exists, so "does not
            // exist" would send the user looking in the wrong place.
            std::io::ErrorKind::NotFound if std::fs::symlink_metadata(&self.path).is_ok() => {
                let target = std::fs::read_link(&self.path)
                    .map(|t| format!(" {}", t.display()))
                    .unwrap_or_default();
                Error::FileUnreadable {
                    path: self.path.clone(),
                    reason: format!("it is a symlink to{target}, which does not exist ({e})"),
                }
            }
            std::io::ErrorKind::NotFound => Error::FileMissing {
                path: self.path.clone(),
            },
            _ => Error::FileUnreadable {
                path: self.path.clone(),
                reason: e.to_string(),
            },
        }
    }
}

/// Expands a leading `~/` to `$HOME/`.
pub fn expand_home(path: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~") {
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            return PathBuf::from(home).join(rest);
        }
    }
    path.to_path_buf()
}

impl SecretStore for FileStore {
    fn get(&self, _account: &str) -> Result<SecretString, Error> {
        self.within_timeout(FileStore::read)
    }

    fn set(&self, _account: &str, secret: &SecretString) -> Result<(), Error> {
        // The helper thread needs its own copy (zeroized when dropped).
        let secret = secret.clone();
        self.within_timeout(move |store| store.write(&secret))
    }

    /// Removes the file, or a symlink at the path (never its target);
    /// anything else that is not a regular file is left alone.
    fn delete(&self, _account: &str) -> Result<(), Error> {
        self.within_timeout(|store| {
            match std::fs::symlink_metadata(&store.path) {
                Ok(meta) if !meta.file_type().is_symlink() => store.check_regular(&meta)?,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(store.io_error(&e)),
            }
            match std::fs::remove_file(&store.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(store.io_error(&e)),
            }
        })
    }
}

/// `cmd:COMMAND`: the first line of a command's standard output (pass,
/// gopass, the 1Password CLI, an OAuth token helper). The command is split
/// into words like a shell would (quotes and backslashes) but run without
/// one; write `cmd:sh -c '...'` for pipes. It gets [`COMMAND_TIMEOUT`].
///
/// The helper runs in its own process group with no stdin; its arguments
/// are the configured words only and its environment is notify's own (no
/// secret is ever put there). Once it has exited and printed a complete
/// first line, nothing more is waited for, even if a process it left in the
/// background still holds stdout open. At the timeout it is killed with its
/// whole process group (on unix). More than 64 KiB on stdout is an error.
#[derive(Debug, Clone)]
pub struct CommandStore {
    command: String,
    timeout: Duration,
}

impl CommandStore {
    /// A store running `command`.
    pub fn new(command: impl Into<String>) -> Self {
        CommandStore {
            command: command.into(),
            timeout: COMMAND_TIMEOUT,
        }
    }

    /// Changes the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl SecretStore for CommandStore {
    fn get(&self, _account: &str) -> Result<SecretString, Error> {
        let words = split_words(&self.command).map_err(|reason| Error::Command {
            command: self.command.clone(),
            reason,
        })?;
        let Some((program, args)) = words.split_first() else {
            return Err(Error::Command {
                command: self.command.clone(),
                reason: "the command is empty".into(),
            });
        };
        let fail = |reason: String| Error::Command {
            command: self.command.clone(),
            reason,
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so a timeout stops whatever it started too.
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let start = Instant::now();
        let deadline = start + self.timeout;
        let mut child = command
            .spawn()
            .map_err(|e| fail(format!("cannot start `{program}`: {e}")))?;
        let stdout = spawn_reader(child.stdout.take(), COMMAND_OUTPUT_LIMIT + 1);
        let stderr = spawn_reader(child.stderr.take(), COMMAND_OUTPUT_LIMIT);

        let mut out = Zeroizing::new(Vec::new());
        let mut out_closed = false;
        let mut status = None;
        loop {
            if status.is_none() {
                status = match child.try_wait() {
                    Ok(s) => s,
                    Err(e) => {
                        stop(&mut child);
                        return Err(fail(format!("cannot wait for it: {e}")));
                    }
                };
            }
            // Everything read so far, after `try_wait`: the reader sends
            // its last chunk before it closes the pipe (which may kill the
            // helper with SIGPIPE), so an exit seen above comes with it.
            while !out_closed {
                match stdout.try_recv() {
                    Ok(chunk) => out.extend_from_slice(&chunk),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => out_closed = true,
                }
            }
            if out.len() > COMMAND_OUTPUT_LIMIT {
                stop(&mut child);
                return Err(fail(format!(
                    "it printed more than {} KiB on stdout; it was stopped",
                    COMMAND_OUTPUT_LIMIT / 1024
                )));
            }
            // Done once it exited and either its stdout is closed or the
            // first line is complete: a background process it left behind
            // may keep the pipe open for as long as it likes. A failure
            // needs no stdout at all.
            match status {
                Some(s) if !s.success() || out_closed || out.contains(&b'\n') => break,
                _ => {}
            }
            let now = Instant::now();
            if now >= deadline {
                stop(&mut child);
                let reason = if status.is_some() {
                    format!(
                        "it exited, but its stdout was still open without a complete line after \
                         {} (a process it started in the background keeps it open); it was stopped",
                        describe(self.timeout)
                    )
                } else {
                    format!(
                        "no answer within {}; it was stopped",
                        describe(self.timeout)
                    )
                };
                return Err(fail(reason));
            }
            let wait = (deadline - now).min(POLL);
            if out_closed {
                std::thread::sleep(wait);
                continue;
            }
            match stdout.recv_timeout(wait) {
                Ok(chunk) => out.extend_from_slice(&chunk),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => out_closed = true,
            }
        }
        let status = status.unwrap_or_else(|| unreachable!("the loop ends only once it exited"));
        if !status.success() {
            // What it said on stderr, waiting for it a little (not past the
            // deadline) in case a background process holds stderr open.
            let until = deadline.min(Instant::now() + STDERR_GRACE);
            let mut err = Vec::new();
            loop {
                let left = until.saturating_duration_since(Instant::now());
                match stderr.recv_timeout(left) {
                    Ok(chunk) => err.extend_from_slice(&chunk),
                    Err(_) => break,
                }
            }
            err.truncate(COMMAND_OUTPUT_LIMIT);
            let err = String::from_utf8_lossy(&err).trim().to_owned();
            let mut reason = format!("it exited with {status}");
            if !err.is_empty() {
                reason.push_str(&format!("; it said: {err}"));
            }
            return Err(fail(reason));
        }
        let text = Zeroizing::new(String::from_utf8_lossy(&out).into_owned());
        let line = first_line(&text);
        if line.is_empty() {
            return Err(fail("it printed nothing on stdout".into()));
        }
        Ok(SecretString::from(line.to_owned()))
    }

    fn set(&self, _account: &str, _secret: &SecretString) -> Result<(), Error> {
        Err(Error::Unsupported(format!(
            "`cmd:{}` only reads secrets: store the password with that tool itself",
            self.command
        )))
    }

    fn delete(&self, _account: &str) -> Result<(), Error> {
        Err(Error::Unsupported(format!(
            "`cmd:{}` only reads secrets: remove the password with that tool itself",
            self.command
        )))
    }
}

/// How much a `cmd:` helper may print on stdout (and how much of its stderr
/// is kept).
const COMMAND_OUTPUT_LIMIT: usize = SECRET_LIMIT;

/// The most a secret store reads: a `file:` password file, a `cmd:`
/// helper's output (64 KiB; a password or a token is far shorter).
pub const SECRET_LIMIT: usize = 64 * 1024;

/// How often a running helper is checked on.
const POLL: Duration = Duration::from_millis(10);

/// How long to wait for the stderr of a helper that failed, once it exited.
const STDERR_GRACE: Duration = Duration::from_millis(500);

/// Reads `stream` on a thread, sending what it reads as chunks, up to about
/// `limit` bytes. The channel is closed at end of file, on an error, once
/// `limit` is passed, or when the receiver is gone. The thread is never
/// joined: a background process may hold the pipe open; it ends when the
/// pipe closes or when the receiver is dropped and more arrives.
fn spawn_reader<R: Read + Send + 'static>(
    stream: Option<R>,
    limit: usize,
) -> mpsc::Receiver<Zeroizing<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut stream) = stream {
        let _ = std::thread::Builder::new()
            .name("notify-cmd-reader".into())
            .spawn(move || {
                let mut total = 0;
                let mut buf = Zeroizing::new(vec![0u8; 8 * 1024]);
                while total < limit {
                    match stream.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            total += n;
                            if tx.send(Zeroizing::new(buf[..n].to_vec())).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            });
    }
    rx
}

/// Kills a helper that is still running, with everything in its process
/// group on unix, and reaps it.
#[allow(
    unsafe_code,
    reason = "kill(2) of the helper's process group through libc"
)]
fn stop(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // `process_group(0)` made its pid the group id.
        if let Ok(pgid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill(2) takes plain integers and touches no memory.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A timeout for a message: whole seconds, or milliseconds below one.
fn describe(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim_end_matches('\r')
}

/// Splits a command line into words: whitespace separates, single quotes
/// keep everything, double quotes keep everything but `\"` and `\\`, and a
/// backslash outside quotes escapes the next character.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("the command ends with a backslash".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A password file on a file system that stopped answering (a hung NFS
    /// mount) costs the timeout, not the cron job: no file can be made to
    /// hang here, so the operation stands in for it.
    #[test]
    fn a_password_file_that_never_answers_costs_the_timeout_only() {
        let store = FileStore::new("/mnt/hung/pw").with_timeout(Duration::from_millis(50));
        let start = Instant::now();
        let e = store
            .within_timeout(|_| {
                std::thread::sleep(Duration::from_secs(3));
                Ok(())
            })
            .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(2), "{e}");
        assert!(
            matches!(&e, Error::FileTimeout { path, timeout }
                if path == Path::new("/mnt/hung/pw") && *timeout == Duration::from_millis(50)),
            "{e:?}"
        );
        assert_eq!(e.kind(), crate::ErrorKind::Unavailable);
        assert_eq!(FileStore::new("x").timeout, FILE_TIMEOUT);
    }

    #[test]
    fn words() {
        let w = |s: &str| split_words(s).unwrap();
        assert_eq!(w("pass show mail/work"), ["pass", "show", "mail/work"]);
        assert_eq!(
            w("sh -c 'echo a b | tr a x'"),
            ["sh", "-c", "echo a b | tr a x"]
        );
        assert_eq!(
            w(r#"op read "op://Private/SMTP \"x\"/password""#),
            ["op", "read", r#"op://Private/SMTP "x"/password"#]
        );
        assert_eq!(w(r"a\ b ''"), ["a b", ""]);
        assert!(split_words("echo 'oops").is_err());
        assert!(split_words("echo \"oops").is_err());
    }
}
