//! From an `[accounts.NAME]` table to a ready SMTP configuration: provider
//! preset, server and security, login, extra certificates. The password
//! is added by the pipeline, from the store the wiring opens.

use notify_smtp::providers::{self, Provider};
use notify_smtp::{AuthMechanism, Security, SmtpConfig};

use crate::app::config::Account;
use crate::app::error::CliError;
use crate::app::Ui;

/// Default connect and command timeout (SPEC: 30 s).
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The bare address in `Name <addr>` or `addr`.
pub fn bare_address(mailbox: &str) -> &str {
    let m = mailbox.trim();
    match (m.rfind('<'), m.rfind('>')) {
        (Some(a), Some(b)) if a < b => m[a + 1..b].trim(),
        _ => m,
    }
}

/// The provider preset of an account: `provider =`, else the from address's
/// domain when no `server` is set.
pub fn provider_of(name: &str, account: &Account) -> Result<Option<&'static Provider>, CliError> {
    if let Some(id) = &account.provider {
        return providers::by_id(id).map(Some).ok_or_else(|| {
            let ids: Vec<&str> = providers::PROVIDERS.iter().map(|p| p.id).collect();
            CliError::config(format!("account `{name}`: unknown provider `{id}`")).hint(format!(
                "known providers: {} (see `notify providers`)",
                ids.join(", ")
            ))
        });
    }
    if account.server.is_none() {
        if let Some(from) = &account.from {
            return Ok(providers::by_address(bare_address(from)));
        }
    }
    Ok(None)
}

/// The error for an account name that is not configured, listing the ones
/// that are.
pub fn unknown_account(config: &crate::app::config::Config, name: &str) -> CliError {
    let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
    CliError::config(format!("unknown account `{name}`")).hint(if known.is_empty() {
        "no accounts are configured: add one with `notify account add NAME`, or remove \
         `account` to deliver to the local Maildir"
            .to_owned()
    } else {
        format!("configured accounts: {}", known.join(", "))
    })
}

/// Everything but the password: host, port, security, login, TLS options.
pub fn smtp_config(name: &str, account: &Account, ui: &Ui) -> Result<SmtpConfig, CliError> {
    let err = |msg: String| CliError::config(format!("account `{name}`: {msg}"));
    let provider = provider_of(name, account)?;
    let security = match &account.security {
        Some(s) => Some(s.parse::<Security>().map_err(|e| err(e.to_string()))?),
        None => None,
    };
    let mut config = match (&account.server, provider) {
        (Some(server), _) => {
            let (host, port, security) =
                SmtpConfig::parse_server(server, security).map_err(|e| err(e.to_string()))?;
            SmtpConfig::new(host, port, security)
        }
        (None, Some(p)) => {
            let security = security.unwrap_or(p.security);
            let port = if security == p.security {
                p.port
            } else {
                security.default_port()
            };
            SmtpConfig::new(p.host, port, security)
        }
        (None, None) => {
            return Err(err("no `server` is set".into()).hint(
                "add server = \"smtp.example.com:587\", or provider = \"gmail\" (see `notify providers`)",
            ))
        }
    };
    if let Some(auth) = &account.auth {
        config.auth = Some(
            auth.parse::<AuthMechanism>()
                .map_err(|e| err(e.to_string()))?,
        );
    }
    if oauth_of(name, account)?.is_some() {
        match config.auth {
            None => config.auth = Some(AuthMechanism::Xoauth2),
            Some(AuthMechanism::Xoauth2) => {}
            Some(other) => {
                return Err(err(format!(
                    "`oauth` signs in with XOAUTH2, but auth = \"{}\"",
                    other.as_str()
                ))
                .hint("set auth = \"xoauth2\", or remove `auth`"))
            }
        }
        if account.password.is_none() {
            return Err(err("`oauth` needs `password =` to say where the refresh token lives".into())
                .hint(format!(
                    "add password = \"keychain\" (or \"file:PATH\"), then run `notify account login {name}`"
                )));
        }
    }
    config.system_roots = system_roots();
    if let Some(path) = &account.ca_file {
        let path = notify_secrets::expand_home(path);
        let pem = std::fs::read(&path).map_err(|e| {
            err(format!("cannot read ca_file {}: {e}", path.display())).hint(
                "ca_file names a PEM file with the certificate(s) to trust, e.g. your company CA",
            )
        })?;
        config.ca_pem = Some(pem);
        config.ca_file_label = Some(path.display().to_string());
    }
    config.accept_invalid_certs = account.accept_invalid_certs.unwrap_or(false);
    if config.accept_invalid_certs {
        ui.warn(&format!(
            "account `{name}` has accept_invalid_certs = true: the certificate of {} is NOT \
             checked, so anyone on the network path can read and change this mail and the \
             password; use ca_file with the server's certificate instead",
            config.host
        ));
    }
    config.allow_insecure_auth = account.allow_insecure_auth.unwrap_or(false);
    config.helo_name = account.helo_name.clone();
    config.timeout = account
        .timeout
        .map(|d| std::time::Duration::from_secs(d.0.whole_seconds().max(1).unsigned_abs()))
        .unwrap_or(DEFAULT_TIMEOUT);
    if let Some(p) = provider {
        if let Some(user) = username_of(account) {
            if let Err(msg) = providers::check_username(p, &user) {
                ui.warn(&format!("account `{name}`: {msg}"));
            }
        }
    }
    // Everything that can be checked without the password, now: a bad
    // ca_file or helo_name shows up on the first run, not the first failure.
    config.validate().map_err(|e| {
        let e: notify_core::TransportError = e.into();
        let hint = super::hints::transport(&e);
        let err = CliError::config(format!("account `{name}`: {e}"));
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    })?;
    Ok(config)
}

/// The login: `username`, else the from address.
pub fn username_of(account: &Account) -> Option<String> {
    account
        .username
        .clone()
        .or_else(|| account.from.as_deref().map(|f| bare_address(f).to_owned()))
}

/// The OAuth settings of an account with `oauth =`: its server's endpoints
/// and the app registration (`oauth_client_id`, required;
/// `oauth_client_secret`). `None` without `oauth`.
pub fn oauth_of(
    name: &str,
    account: &Account,
) -> Result<Option<(notify_http::oauth::Endpoints, String, Option<String>)>, CliError> {
    use crate::app::config::OAuth;
    use notify_http::oauth::Endpoints;
    let err = |msg: String| CliError::config(format!("account `{name}`: {msg}"));
    let Some(oauth) = &account.oauth else {
        if account.oauth_client_id.is_some() {
            return Err(err("`oauth_client_id` is set but `oauth` is not".into()).hint(
                "add oauth = \"microsoft\" or \"google\" (or a table with device_url, token_url, scope)",
            ));
        }
        return Ok(None);
    };
    let endpoints = match oauth {
        OAuth::Named(n) => Endpoints::named(n).ok_or_else(|| {
            err(format!("unknown oauth `{}`", crate::app::shown(n))).hint(format!(
                "built in: {}; or oauth = {{ device_url = \"...\", token_url = \"...\", scope = \"...\" }}",
                Endpoints::NAMES.join(", ")
            ))
        })?,
        OAuth::Custom {
            device_url,
            authorize_url,
            token_url,
            scope,
        } => match (device_url, authorize_url) {
            (Some(device), authorize) => {
                let mut e = Endpoints::new(device, token_url, scope);
                e.authorize_url = authorize.clone();
                e
            }
            (None, Some(authorize)) => Endpoints::with_browser(authorize, token_url, scope),
            (None, None) => {
                return Err(err("`oauth` needs device_url (or authorize_url)".into()).hint(
                    "oauth = { device_url = \"https://.../devicecode\", token_url = \"https://.../token\", scope = \"...\" }",
                ))
            }
        },
    };
    let client_id = account
        .oauth_client_id
        .clone()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| {
            err("`oauth` needs `oauth_client_id`, the id of your app registration".into()).hint(
                "register an app (see the README, \"OAuth 2.0\") and set oauth_client_id = \"...\"",
            )
        })?;
    Ok(Some((
        endpoints,
        client_id,
        account.oauth_client_secret.clone(),
    )))
}

/// The certificates the system trusts, as TLS connections read them: what
/// `SSL_CERT_FILE` and `SSL_CERT_DIR` name when either is set (as OpenSSL
/// and curl do), else the platform's store.
pub fn system_roots() -> notify_smtp::SystemRoots {
    use crate::app::env_vars::{SSL_CERT_DIR, SSL_CERT_FILE};
    let file = std::env::var_os(SSL_CERT_FILE)
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from);
    let dirs: Vec<std::path::PathBuf> = std::env::var_os(SSL_CERT_DIR)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let named_by = match (&file, dirs.is_empty()) {
        (None, true) => return notify_smtp::SystemRoots::Platform,
        (Some(_), true) => SSL_CERT_FILE.to_owned(),
        (None, false) => SSL_CERT_DIR.to_owned(),
        (Some(_), false) => format!("{SSL_CERT_FILE} and {SSL_CERT_DIR}"),
    };
    notify_smtp::SystemRoots::Paths {
        file,
        dirs,
        named_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            bare_address("Backups <backup@example.com>"),
            "backup@example.com"
        );
        assert_eq!(bare_address(" me@x.org "), "me@x.org");
    }
}
