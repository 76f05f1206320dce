use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::Error;

/// Which backend holds an account's secret, as written in `password = "..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
