//! The seam between the pipeline's decisions and the outside world: the
//! pipeline asks a [`Connect`] for every transport and secret store it
//! uses, and decides what to do after a failure from the error's kind
//! alone. The wiring (`wiring::Live`) connects to the real ones; tests pass
//! stubs and mocks.

use notify_core::{ErrorKind, Transport, TransportError};
use notify_secrets::{normalize_app_password, SecretRef, SecretStore};
use notify_smtp::{Credentials, SmtpConfig};

use crate::app::account::username_of;
use crate::app::config::Account;
use crate::app::error::{exit, CliError};
use crate::app::hints::secret_error;

/// Builds the transports and secret stores the pipeline uses.
pub trait Connect {
    /// The store a `password =` reference names; `None` when this build
    /// has no such store (the keychain without the `keychain` feature).
    fn secret_store(&self, reference: &SecretRef) -> Option<Box<dyn SecretStore>>;

    /// The SMTP transport of account `name` with `config` (its credentials
    /// filled in when the account has a password).
    fn smtp(&self, name: &str, config: SmtpConfig) -> Result<Box<dyn Transport>, TransportError>;

    /// The local Maildir.
    fn maildir(&self) -> Box<dyn Transport>;

    /// The desktop's notification service.
    fn desktop(&self) -> Box<dyn Transport>;

    /// Where a dry run shows what it would send.
    fn dry_run(&self) -> Box<dyn Transport>;

    /// The transport of an HTTP destination (webhook, ntfy, Healthchecks)
    /// as `spec` says, secrets read. With `start`, one whose every send is
    /// a Healthchecks start ping (the other kinds have no start).
    fn http(
        &self,
        spec: super::http::HttpSpec,
        start: bool,
    ) -> Result<Box<dyn Transport>, TransportError>;
}

/// Why an account's transport could not be had, by what the pipeline does
/// about it.
#[derive(Debug)]
pub enum Failure {
    /// May work later (a locked keychain, 4xx, no connection): queue.
    Temporary(CliError),
    /// Will not work as it is (5xx, refused login): report, keep a copy.
    Permanent(CliError),
    /// The setup is wrong (a missing secret, a bad setting): report, keep
    /// a copy.
    Config(CliError),
}

impl Failure {
    /// The failure of a delivery, by its kind.
    pub fn of(e: TransportError) -> Self {
        let kind = e.kind();
        let err = CliError::from(e);
        match kind {
            ErrorKind::Temporary => Failure::Temporary(err),
            ErrorKind::Config => Failure::Config(err),
            _ => Failure::Permanent(err),
        }
    }

    /// The error, whatever the kind.
    pub fn into_error(self) -> CliError {
        match self {
            Failure::Temporary(e) | Failure::Permanent(e) | Failure::Config(e) => e,
        }
    }
}

/// Adds the credentials of account `name` to `config`, with the secret
/// from the store its `password =` names. An account without `password`
/// does not authenticate. A store that cannot be reached now is
/// [`Failure::Temporary`]; anything else wrong with the secret is
/// [`Failure::Config`].
pub fn with_credentials(
    connect: &dyn Connect,
    name: &str,
    account: &Account,
    mut config: SmtpConfig,
) -> Result<SmtpConfig, Failure> {
    let Some(reference) = &account.password else {
        return Ok(config);
    };
    if let Some(why) = &account.cmd_refused {
        return Err(Failure::Config(
            CliError::config(format!(
                "account `{name}`: not running the password command: {why}, so anyone who can \
                 change it could run commands as this user"
            ))
            .hint("make the file yours and writable by you only: chown $USER FILE; chmod 600 FILE"),
        ));
    }
    let reference: SecretRef = reference
        .parse()
        .map_err(|e| Failure::Config(secret_error(name, &e)))?;
    let store = connect
        .secret_store(&reference)
        .ok_or_else(|| {
            Failure::Config(
                CliError::config(format!(
                    "account `{name}`: password = \"keychain\" needs the OS keychain, which this build of notify does not include"
                ))
                .hint("use password = \"env:VAR\", \"file:PATH\" or \"cmd:COMMAND\""),
            )
        })?;
    let secret = store.get(name).map_err(|e| {
        let err = secret_error(name, &e);
        match e.kind() {
            notify_secrets::ErrorKind::Unavailable => {
                Failure::Temporary(err.with_code(exit::TEMPORARY))
            }
            _ => Failure::Config(err),
        }
    })?;
    let username = username_of(account).ok_or_else(|| {
        Failure::Config(
            CliError::config(format!("account `{name}`: no username and no from address"))
                .hint("set username = \"...\" or from = \"you@example.com\""),
        )
    })?;
    config.credentials = Some(Credentials {
        username,
        secret: normalize_app_password(secret),
    });
    Ok(config)
}

/// The transport of account `name`: its secret fetched now, then the SMTP
/// transport for `config`.
pub fn account_transport(
    connect: &dyn Connect,
    name: &str,
    account: &Account,
    config: SmtpConfig,
) -> Result<Box<dyn Transport>, Failure> {
    let config = with_credentials(connect, name, account, config)?;
    connect.smtp(name, config).map_err(Failure::of)
}
