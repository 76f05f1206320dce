//! The seam between the pipeline's decisions and the outside world: the
//! pipeline asks a [`Connect`] for every transport and secret store it
//! uses, and decides what to do after a failure from the error's kind
//! alone. The wiring (`wiring::Live`) connects to the real ones; tests pass
//! stubs and mocks.

use notify_core::{ErrorKind, Transport, TransportError};
use notify_http::oauth::{Endpoints, OAuthClient, OAuthError};
use notify_secrets::{normalize_app_password, SecretRef, SecretStore, SecretString};
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

    /// A client of an OAuth server (`endpoints`) for the app `client_id`:
    /// the token exchanges of accounts with `oauth =`.
    fn oauth(
        &self,
        endpoints: Endpoints,
        client_id: &str,
        client_secret: Option<SecretString>,
    ) -> OAuthClient;
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
pub async fn with_credentials(
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
    let oauth = crate::app::account::oauth_of(name, account).map_err(Failure::Config)?;
    let secret = store.get(name).map_err(|e| {
        let err = match (&oauth, &e) {
            (
                Some(_),
                notify_secrets::Error::NoEntry { .. } | notify_secrets::Error::FileMissing { .. },
            ) => CliError::config(format!(
                "account `{name}` has not signed in yet: there is no refresh token in {reference}"
            ))
            .hint(format!("sign in once: notify account login {name}")),
            _ => secret_error(name, &e),
        };
        match e.kind() {
            notify_secrets::ErrorKind::Unavailable => {
                Failure::Temporary(err.with_code(exit::TEMPORARY))
            }
            _ => Failure::Config(err),
        }
    })?;
    let secret = match oauth {
        Some((endpoints, client_id, client_secret)) => {
            let client =
                connect.oauth(endpoints, &client_id, client_secret.map(SecretString::from));
            access_token(&client, name, &secret, store.as_ref()).await?
        }
        None => normalize_app_password(secret),
    };
    let username = username_of(account).ok_or_else(|| {
        Failure::Config(
            CliError::config(format!("account `{name}`: no username and no from address"))
                .hint("set username = \"...\" or from = \"you@example.com\""),
        )
    })?;
    config.credentials = Some(Credentials { username, secret });
    Ok(config)
}

/// Exchanges account `name`'s refresh token for an access token, keeping
/// the new refresh token the server may hand out in its store (a store
/// that cannot be written is said, and the send goes on). No answer now is
/// [`Failure::Temporary`]; a refused refresh token says to sign in again.
async fn access_token(
    client: &OAuthClient,
    name: &str,
    refresh_token: &SecretString,
    store: &dyn SecretStore,
) -> Result<SecretString, Failure> {
    match client.refresh(refresh_token).await {
        Ok(tokens) => {
            if let Some(new) = tokens.refresh_token {
                if let Err(e) = store.set(name, &new) {
                    crate::app::diag(&format!(
                        "warning: account `{name}`: the OAuth server handed out a new refresh \
                         token, which cannot be kept ({e}); if the old one stops working, run \
                         `notify account login {name}`"
                    ));
                }
            }
            Ok(tokens.access_token)
        }
        Err(e @ OAuthError::Unreachable(_)) => Err(Failure::Temporary(CliError::new(
            exit::TEMPORARY,
            format!("account `{name}`: no access token: {e}"),
        ))),
        Err(e @ OAuthError::InvalidGrant { .. }) => Err(Failure::Config(
            CliError::config(format!("account `{name}`: {e}")).hint(format!(
                "the sign-in expired or was revoked: sign in again with `notify account login {name}`"
            )),
        )),
        Err(e) => Err(Failure::Config(
            CliError::config(format!("account `{name}`: no access token: {e}")).hint(
                "check oauth, oauth_client_id and the app registration (see the README, \"OAuth 2.0\")",
            ),
        )),
    }
}

/// The transport of account `name`: its secret fetched now, then the SMTP
/// transport for `config`.
pub async fn account_transport(
    connect: &dyn Connect,
    name: &str,
    account: &Account,
    config: SmtpConfig,
) -> Result<Box<dyn Transport>, Failure> {
    let config = with_credentials(connect, name, account, config).await?;
    connect.smtp(name, config).map_err(Failure::of)
}
