use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::Error;

/// Which backend holds an account's secret, as written in `password = "..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretRef {
    /// The OS keychain: service `notify`, user = the account name.
    Keychain,
    /// An environment variable (read-only).
    Env(String),
    /// A file holding the secret; refused when group- or world-readable.
    File(PathBuf),
    /// The first line of a command's standard output.
    Command(String),
}

impl SecretRef {
    /// This reference with a relative `file:` path made absolute: `~/` is
    /// expanded first, then a path that is still relative is joined onto
    /// `base`. Other references are returned unchanged.
    ///
    /// The CLI passes the directory of the configuration file, so
    /// `password = "file:smtp-password"` means the file next to the config,
    /// whatever directory notify runs from (cron starts jobs in `$HOME` or
    /// `/`, not where the config was written).
    pub fn resolve_relative(&self, base: &Path) -> SecretRef {
        match self {
            SecretRef::File(path) => {
                let path = crate::expand_home(path);
                if path.is_relative() {
                    SecretRef::File(base.join(path))
                } else {
                    SecretRef::File(path)
                }
            }
            other => other.clone(),
        }
    }
}

impl FromStr for SecretRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Error::BadReference;
        if s == "keychain" {
            return Ok(SecretRef::Keychain);
        }
        let (scheme, rest) = s.split_once(':').ok_or_else(bad)?;
        if rest.trim().is_empty() {
            return Err(bad());
        }
        match scheme {
            "env" => Ok(SecretRef::Env(rest.to_owned())),
            "file" => Ok(SecretRef::File(PathBuf::from(rest))),
            "cmd" => Ok(SecretRef::Command(rest.to_owned())),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Keychain => f.write_str("keychain"),
            SecretRef::Env(var) => write!(f, "env:{var}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
            SecretRef::Command(cmd) => write!(f, "cmd:{cmd}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        for text in [
            "keychain",
            "env:SMTP_PASSWORD",
            "file:/etc/notify/pw",
            "cmd:pass show mail",
        ] {
            let r: SecretRef = text.parse().unwrap();
            assert_eq!(r.to_string(), text);
        }
    }

    #[test]
    fn relative_files_resolve_against_the_base() {
        let base = Path::new("/etc/notify");
        let r = |s: &str| s.parse::<SecretRef>().unwrap().resolve_relative(base);
        assert_eq!(
            r("file:pw"),
            SecretRef::File(PathBuf::from("/etc/notify/pw"))
        );
        assert_eq!(
            r("file:./secrets/pw"),
            SecretRef::File(PathBuf::from("/etc/notify/./secrets/pw"))
        );
        assert_eq!(
            r("file:../pw"),
            SecretRef::File(PathBuf::from("/etc/notify/../pw"))
        );
        assert_eq!(r("file:/var/pw"), SecretRef::File(PathBuf::from("/var/pw")));
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            if Path::new(&home).is_absolute() {
                assert_eq!(r("file:~/pw"), SecretRef::File(Path::new(&home).join("pw")));
            }
        }
        for text in ["keychain", "env:pw", "cmd:pass show pw"] {
            assert_eq!(r(text), text.parse().unwrap());
        }
    }

    #[test]
    fn rejects_unknown_forms_clearly() {
        for text in ["", "hunter2", "env:", "vault:x", "Keychain"] {
            let err = text.parse::<SecretRef>().unwrap_err().to_string();
            assert!(
                err.contains("expected `keychain`, `env:VAR`"),
                "{text}: {err}"
            );
        }
        // A password pasted where the reference belongs is never echoed back.
        let err = "canary-S3cret".parse::<SecretRef>().unwrap_err();
        assert!(!err.to_string().contains("canary"));
        assert!(!format!("{err:?}").contains("canary"));
    }
}
