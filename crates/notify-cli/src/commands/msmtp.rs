//! Reads msmtp's configuration (`~/.msmtprc`) for `notify account import
//! --msmtp`: accounts with their host, port, TLS mode, sender, login and
//! password command.

use std::collections::BTreeMap;

/// One msmtp account, with `defaults` and inherited accounts applied.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MsmtpAccount {
    pub name: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// `tls` (on/off).
    pub tls: Option<bool>,
    /// `tls_starttls` (on/off).
    pub starttls: Option<bool>,
    pub tls_trust_file: Option<String>,
    pub from: Option<String>,
    pub user: Option<String>,
    /// `auth` (on/off/plain/login/xoauth2/...).
    pub auth: Option<String>,
    /// `passwordeval`: a shell command printing the password.
    pub passwordeval: Option<String>,
    /// Whether the file holds a plain `password` (never imported as text).
    pub has_password: bool,
}

/// What was read: the accounts in file order, and `account default : NAME`.
#[derive(Debug, Default)]
pub struct Msmtprc {
    pub accounts: Vec<MsmtpAccount>,
    pub default: Option<String>,
}

/// Parses an msmtprc. Errors name the line.
pub fn parse(text: &str) -> Result<Msmtprc, String> {
    let mut defaults = MsmtpAccount::default();
    let mut done: BTreeMap<String, MsmtpAccount> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut current: Option<MsmtpAccount> = None;
    let mut in_defaults = false;
    let mut default = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let arg = unquote(rest.trim());
        match key {
            "defaults" => {
                if let Some(acc) = current.take() {
                    order.push(acc.name.clone());
                    done.insert(acc.name.clone(), acc);
                }
                in_defaults = true;
            }
            "account" => {
                if let Some(acc) = current.take() {
                    order.push(acc.name.clone());
                    done.insert(acc.name.clone(), acc);
                }
                in_defaults = false;
                let (name, bases) = match arg.split_once(':') {
                    Some((n, b)) => (n.trim().to_owned(), b.trim().to_owned()),
                    None => (arg.trim().to_owned(), String::new()),
                };
                if name.is_empty() {
                    return Err(format!("line {}: `account` needs a name", i + 1));
                }
                if name == "default" {
                    default = Some(bases);
                    continue;
                }
                let mut acc = defaults.clone();
                for base in bases.split(',').map(str::trim).filter(|b| !b.is_empty()) {
                    let b = done
                        .get(base)
                        .ok_or_else(|| format!("line {}: unknown account `{base}`", i + 1))?;
                    merge(&mut acc, b);
                }
                acc.name = name;
                current = Some(acc);
            }
            _ => {
                let target = match (&mut current, in_defaults) {
                    (Some(acc), _) => acc,
                    (None, true) => &mut defaults,
                    (None, false) => continue,
                };
                set(target, key, &arg).map_err(|e| format!("line {}: {e}", i + 1))?;
            }
        }
    }
    if let Some(acc) = current.take() {
        order.push(acc.name.clone());
        done.insert(acc.name.clone(), acc);
    }
    Ok(Msmtprc {
        accounts: order.iter().filter_map(|n| done.get(n).cloned()).collect(),
        default,
    })
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else {
        s.to_owned()
    }
}

fn on_off(v: &str) -> Result<bool, String> {
    match v {
        "on" | "" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("expected on or off, not `{other}`")),
    }
}

fn set(acc: &mut MsmtpAccount, key: &str, v: &str) -> Result<(), String> {
    match key {
        "host" => acc.host = Some(v.to_owned()),
        "port" => {
            acc.port = Some(v.parse().map_err(|_| format!("`{v}` is not a port"))?);
        }
        "tls" => acc.tls = Some(on_off(v)?),
        "tls_starttls" => acc.starttls = Some(on_off(v)?),
        "tls_trust_file" => acc.tls_trust_file = Some(v.to_owned()),
        "from" => acc.from = Some(v.to_owned()),
        "user" => acc.user = Some(v.to_owned()),
        "auth" => acc.auth = Some(v.to_owned()),
        "passwordeval" => acc.passwordeval = Some(v.to_owned()),
        "password" => acc.has_password = true,
        _ => {}
    }
    Ok(())
}

fn merge(acc: &mut MsmtpAccount, base: &MsmtpAccount) {
    macro_rules! take {
        ($($f:ident),*) => { $( if base.$f.is_some() { acc.$f = base.$f.clone(); } )* };
    }
    take!(
        host,
        port,
        tls,
        starttls,
        tls_trust_file,
        from,
        user,
        auth,
        passwordeval
    );
    acc.has_password |= base.has_password;
}

impl MsmtpAccount {
    /// notify's `security` for this account: msmtp's `tls off` is `none`,
    /// `tls on` with `tls_starttls off` is `tls`, otherwise `starttls`.
    pub fn security(&self) -> &'static str {
        match (self.tls.unwrap_or(false), self.starttls.unwrap_or(true)) {
            (false, _) => "none",
            (true, false) => "tls",
            (true, true) => "starttls",
        }
    }

    /// `server = "host:port"`, with msmtp's default port for the mode.
    pub fn server(&self) -> Option<String> {
        let host = self.host.as_ref()?;
        let port = self.port.unwrap_or(match self.security() {
            "tls" => 465,
            _ => 25,
        });
        Some(format!("{host}:{port}"))
    }

    /// `auth =` for notify, when msmtp pins a mechanism notify knows.
    pub fn auth_mechanism(&self) -> Option<&'static str> {
        match self.auth.as_deref()? {
            "plain" => Some("plain"),
            "login" => Some("login"),
            "xoauth2" | "oauthbearer" => Some("xoauth2"),
            _ => None,
        }
    }

    /// Whether msmtp logs in for this account.
    pub fn authenticates(&self) -> bool {
        !matches!(self.auth.as_deref(), None | Some("off"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RC: &str = r#"
# msmtp configuration
defaults
auth           on
tls            on
tls_trust_file /etc/ssl/certs/ca-certificates.crt
logfile        ~/.msmtp.log

account        gmail
host           smtp.gmail.com
port           587
from           me@gmail.com
user           me@gmail.com
passwordeval   "gpg --quiet --for-your-eyes-only --no-tty --decrypt ~/.msmtp-gmail.gpg"

account        smtps : gmail
port           465
tls_starttls   off

account        relay
host           relay.lan
auth           off
tls            off
password       hunter2

account default : gmail
"#;

    #[test]
    fn reads_accounts_with_defaults_and_inheritance() {
        let rc = parse(RC).unwrap();
        assert_eq!(rc.default.as_deref(), Some("gmail"));
        let names: Vec<&str> = rc.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["gmail", "smtps", "relay"]);
        let gmail = &rc.accounts[0];
        assert_eq!(gmail.server().as_deref(), Some("smtp.gmail.com:587"));
        assert_eq!(gmail.security(), "starttls");
        assert!(gmail.authenticates());
        assert_eq!(
            gmail.passwordeval.as_deref(),
            Some("gpg --quiet --for-your-eyes-only --no-tty --decrypt ~/.msmtp-gmail.gpg")
        );
        let smtps = &rc.accounts[1];
        assert_eq!(smtps.server().as_deref(), Some("smtp.gmail.com:465"));
        assert_eq!(smtps.security(), "tls");
        assert_eq!(smtps.from.as_deref(), Some("me@gmail.com"));
        let relay = &rc.accounts[2];
        assert_eq!(relay.security(), "none");
        assert!(!relay.authenticates());
        assert!(relay.has_password);
        assert!(!format!("{relay:?}").contains("hunter2"));
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("account a : nope\n").unwrap_err();
        assert_eq!(err, "line 1: unknown account `nope`");
        let err = parse("account a\nport many\n").unwrap_err();
        assert_eq!(err, "line 2: `many` is not a port");
        let err = parse("defaults\ntls maybe\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
    }
}
