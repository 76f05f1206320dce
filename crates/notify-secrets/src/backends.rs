//! The read-side backends that need no native library: `env:VAR`,
//! `file:PATH` and `cmd:COMMAND`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use crate::{Error, SecretStore};

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

/// `file:PATH`: the first line of a file readable only by its owner, as
/// ssh and msmtp insist. `~/` is expanded.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store for the file at `path` (`~/` expanded).
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileStore {
            path: expand_home(path.as_ref()),
        }
    }

    /// The file's path, after `~` expansion.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, e: &std::io::Error) -> Error {
        match e.kind() {
            std::io::ErrorKind::NotFound => Error::FileMissing {
                path: self.path.clone(),
            },
            _ => Error::Inaccessible {
                reason: format!("cannot read {}: {e}", self.path.display()),
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
        let meta = std::fs::metadata(&self.path).map_err(|e| self.io_error(&e))?;
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
        #[cfg(not(unix))]
        let _ = meta;
        let mut text = String::new();
        std::fs::File::open(&self.path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| self.io_error(&e))?;
        let secret = SecretString::from(first_line(&text).to_owned());
        drop(SecretString::from(text));
        if secret.expose_secret().is_empty() {
            return Err(Error::FileEmpty {
                path: self.path.clone(),
            });
        }
        Ok(secret)
    }

    fn set(&self, _account: &str, secret: &SecretString) -> Result<(), Error> {
        use std::io::Write;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io_error(&e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&self.path).map_err(|e| self.io_error(&e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| self.io_error(&e))?;
        }
        f.write_all(secret.expose_secret().as_bytes())
            .and_then(|()| f.write_all(b"\n"))
            .and_then(|()| f.sync_all())
            .map_err(|e| self.io_error(&e))
    }

    fn delete(&self, _account: &str) -> Result<(), Error> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_error(&e)),
        }
    }
}

/// `cmd:COMMAND`: the first line of a command's standard output (pass,
/// gopass, the 1Password CLI, an OAuth token helper). The command is split
/// into words like a shell would (quotes and backslashes) but run without
/// one; write `cmd:sh -c '...'` for pipes. It gets [`COMMAND_TIMEOUT`].
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
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot start `{program}`: {e}")))?;
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let out_thread = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = stdout.as_mut() {
                let _ = s.read_to_end(&mut buf);
            }
            buf
        });
        let err_thread = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.take(64 * 1024).read_to_end(&mut buf);
            }
            buf
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(format!(
                        "no answer within {} s; it was stopped",
                        self.timeout.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(fail(format!("cannot wait for it: {e}"))),
            }
        };
        let out = SecretString::from(
            String::from_utf8_lossy(&out_thread.join().unwrap_or_default()).into_owned(),
        );
        let err = String::from_utf8_lossy(&err_thread.join().unwrap_or_default())
            .trim()
            .to_owned();
        if !status.success() {
            let mut reason = format!("it exited with {status}");
            if !err.is_empty() {
                reason.push_str(&format!("; it said: {err}"));
            }
            return Err(fail(reason));
        }
        let line = first_line(out.expose_secret());
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
