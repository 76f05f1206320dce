//! What the user can do about an error, in notify's own words: the
//! libraries describe what went wrong as data (error variants with their
//! facts); this module turns that into hints that name notify's commands,
//! flags and config keys.

use notify_core::TransportError;
use notify_secrets::{Error, FileKind};

use super::error::CliError;

mod smtp;

pub use smtp::smtp;

/// The hint for a transport's error: notify-smtp's [`notify_smtp::Hint`]
/// worded here, else the transport's own text (desktop, a user's
/// transport).
pub fn transport(e: &TransportError) -> Option<String> {
    match e.detail::<notify_smtp::Hint>() {
        Some(hint) => Some(smtp(hint)),
        None => e.hint().map(str::to_owned),
    }
}

/// The secret error of account `name` as the user reads it: a configuration
/// error with its hint.
pub fn secret_error(name: &str, e: &Error) -> CliError {
    let err = CliError::config(format!("account `{name}`: {e}"));
    match secret(e) {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// The hint for a secret store's error, when there is something to say.
pub fn secret(e: &Error) -> Option<String> {
    match e {
        Error::EnvNotSet { var, .. } => Some(format!(
            "set {var} in the environment notify runs in (cron and systemd do not read your \
             shell's profile), or choose another `password =` store"
        )),
        Error::FileMissing { path } => Some(format!(
            "put the password on the first line of {} and run `chmod 600 {}`",
            path.display(),
            path.display()
        )),
        Error::FileUnreadable { path, .. } => Some(format!(
            "check that {} is a readable file (owned by the user notify runs as, mode 600)",
            path.display()
        )),
        Error::NotAFile {
            path,
            kind: FileKind::Directory,
        } => Some(format!(
            "name the password file itself, not its directory: password = \"file:{}\"",
            path.join("password").display()
        )),
        Error::NotAFile { path, kind } => Some(format!(
            "notify reads a password only from a regular file ({} is {kind}): put the \
             password on the first line of a regular file, run `chmod 600` on it and name \
             that file in password = \"file:...\"",
            path.display()
        )),
        Error::FileTooLarge { path, limit, .. } => Some(format!(
            "{} is not a password file: password = \"file:...\" names a file that holds only \
             the password, on its first line (at most {} KiB)",
            path.display(),
            limit / 1024
        )),
        Error::FileTimeout { path, .. } => Some(format!(
            "the file system of {} did not answer in time (a network mount that hangs?): keep \
             the password file on a local disk, e.g. \
             password = \"file:~/.config/notify/password\" (chmod 600)",
            path.display()
        )),
        Error::FileEmpty { path } => Some(format!(
            "put the password on the first line of {}",
            path.display()
        )),
        Error::UnsafePermissions { path, .. } => {
            Some(format!("run `chmod 600 {}`", path.display()))
        }
        Error::Command { .. } => Some(
            "run the command by hand: it must print the password on its first line and exit 0"
                .to_owned(),
        ),
        Error::BadReference => Some(
            "write e.g. password = \"env:SMTP_PASSWORD\" or password = \"file:~/.config/notify/password\""
                .to_owned(),
        ),
        Error::NoEntry { account } => Some(format!(
            "store it with `notify account set-password {account}`; keychain items do not \
             move with a migration to a new machine"
        )),
        Error::NoKeychain { .. } => Some(
            "where notify runs there is no keychain (cron, systemd services and ssh sessions \
             often have no session D-Bus): keep the password in a file only you can read, \
             password = \"file:~/.config/notify/password\" (chmod 600), or in the job's \
             environment, password = \"env:SMTP_PASSWORD\""
                .to_owned(),
        ),
        Error::Inaccessible { .. } => Some(
            "the keychain must be running and unlocked where notify runs (cron, systemd \
             services and ssh sessions often have none); otherwise keep the password in a \
             file only you can read, password = \"file:~/.config/notify/password\" \
             (chmod 600), or in the job's environment, password = \"env:SMTP_PASSWORD\""
                .to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_entry_names_the_command_that_stores_it() {
        let e = Error::NoEntry {
            account: "work-smtp".into(),
        };
        let hint = secret(&e).unwrap_or_default();
        assert!(
            hint.contains("`notify account set-password work-smtp`"),
            "{hint}"
        );
        assert!(hint.contains("new machine"), "{hint}");
    }

    #[test]
    fn an_inaccessible_keychain_suggests_file_and_env() {
        let e = Error::Inaccessible {
            reason: "the keychain is locked".into(),
        };
        let hint = secret(&e).unwrap_or_default();
        assert!(hint.contains("password = \"file:"), "{hint}");
        assert!(hint.contains("password = \"env:"), "{hint}");
    }

    #[test]
    fn file_and_env_problems_say_what_to_do() {
        let path = std::path::PathBuf::from("/etc/notify/pw");
        let cases = [
            (
                Error::EnvNotSet {
                    var: "PW".into(),
                    empty: false,
                },
                "cron",
            ),
            (
                Error::UnsafePermissions {
                    path: path.clone(),
                    mode: 0o644,
                },
                "chmod 600 /etc/notify/pw",
            ),
            (Error::FileEmpty { path: path.clone() }, "first line"),
            (
                Error::FileUnreadable {
                    path: path.clone(),
                    reason: "denied".into(),
                },
                "check that /etc/notify/pw is a readable file (owned by the user notify runs as, mode 600)",
            ),
            (Error::FileMissing { path: path.clone() }, "chmod 600"),
            (
                Error::Command {
                    command: "pass x".into(),
                    reason: "exit 1".into(),
                },
                "first line and exit 0",
            ),
            (Error::BadReference, "password = \"env:"),
            (
                Error::NotAFile {
                    path: path.clone(),
                    kind: FileKind::Fifo,
                },
                "(/etc/notify/pw is a named pipe (FIFO)): put the password on the first line of a regular file, run `chmod 600`",
            ),
            (
                Error::NotAFile {
                    path: path.clone(),
                    kind: FileKind::Directory,
                },
                "not its directory: password = \"file:/etc/notify/pw/password\"",
            ),
            (
                Error::FileTooLarge {
                    path: path.clone(),
                    size: 1 << 20,
                    limit: 64 * 1024,
                },
                "/etc/notify/pw is not a password file: password = \"file:...\" names a file that holds only the password, on its first line (at most 64 KiB)",
            ),
            (
                Error::FileTimeout {
                    path: path.clone(),
                    timeout: std::time::Duration::from_secs(30),
                },
                "the file system of /etc/notify/pw did not answer in time (a network mount that hangs?)",
            ),
        ];
        for (e, words) in cases {
            let hint = secret(&e).unwrap_or_default();
            assert!(hint.contains(words), "{e}: {hint}");
        }
    }
}
