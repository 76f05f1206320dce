//! The edge where notify meets the world: [`Live`] builds the real
//! transports (SMTP, the local Maildir, the desktop, stdout for dry runs,
//! the HTTP destinations)
//! and secret stores (keychain, env, file, command) for the pipeline. It
//! is the only module that names a concrete transport or store.

use std::path::PathBuf;
use std::sync::Arc;

use notify_core::{Transport, TransportError};
use notify_secrets::{SecretRef, SecretStore};
use notify_smtp::{MaildirTransport, SmtpConfig, SmtpTransport, StdoutTransport};

use crate::app::Env;
use crate::pipeline::http::{HttpSpec, HttpTarget};
use crate::pipeline::Connect;

/// The real transports and stores of one invocation.
pub struct Live {
    maildir: PathBuf,
    /// Whether the SMTP dialogue is shown on stderr (`-v`).
    transcript: bool,
}

impl Live {
    /// The wiring of `env`: its data directory's Maildir, its verbosity.
    pub fn new(env: &Env<'_>) -> Self {
        Live {
            maildir: env.data_dir.join(crate::app::paths::MAILDIR),
            transcript: env.ui.is_verbose(),
        }
    }

    /// The SMTP transport itself (for `notify doctor`, which drives it
    /// step by step).
    pub fn smtp_transport(&self, config: SmtpConfig) -> Result<SmtpTransport, TransportError> {
        let transport = SmtpTransport::new(config).map_err(TransportError::from)?;
        Ok(if self.transcript {
            transport.with_transcript(Arc::new(|line: &str| crate::app::diag(line)))
        } else {
            transport
        })
    }
}

/// An OAuth client over an HTTP client trusting what SMTP trusts (the
/// system's roots), 30 s per request.
pub fn oauth_client(
    endpoints: notify_http::oauth::Endpoints,
    client_id: &str,
    client_secret: Option<notify_secrets::SecretString>,
) -> notify_http::oauth::OAuthClient {
    let tls = notify_smtp::tls_client_config(None, &crate::app::account::system_roots(), false)
        .unwrap_or_else(|_| {
            // Only a bad ca_file fails here, and none is given.
            notify_smtp::tls_client_config(None, &notify_smtp::SystemRoots::Compiled, false)
                .expect("the compiled-in roots make a configuration")
        });
    let http = notify_http::HttpClient::new(tls, std::time::Duration::from_secs(30));
    notify_http::oauth::OAuthClient::new(http, endpoints, client_id, client_secret)
}

/// Whether an HTTP destination's URL is https (redirects are not
/// followed, so the scheme decides).
fn speaks_tls(target: &HttpTarget) -> bool {
    let url = match target {
        HttpTarget::Webhook { url, .. } | HttpTarget::Ntfy { url, .. } => url,
        HttpTarget::Healthchecks(notify_http::Check::Url(url)) => url,
        HttpTarget::Healthchecks(notify_http::Check::Slug { server, .. }) => server,
    };
    url.scheme_str() != Some("http")
}

impl Connect for Live {
    fn oauth(
        &self,
        endpoints: notify_http::oauth::Endpoints,
        client_id: &str,
        client_secret: Option<notify_secrets::SecretString>,
    ) -> notify_http::oauth::OAuthClient {
        oauth_client(endpoints, client_id, client_secret)
    }

    fn secret_store(&self, reference: &SecretRef) -> Option<Box<dyn SecretStore>> {
        notify_secrets::store_for(reference)
    }

    fn smtp(&self, _name: &str, config: SmtpConfig) -> Result<Box<dyn Transport>, TransportError> {
        Ok(Box::new(self.smtp_transport(config)?))
    }

    fn maildir(&self) -> Box<dyn Transport> {
        // MaildirTransport::new takes the computer's name from the one
        // source notify uses (notify_smtp::system_hostname), when needed.
        Box::new(MaildirTransport::new(self.maildir.clone()))
    }

    fn desktop(&self) -> Box<dyn Transport> {
        #[cfg(feature = "desktop")]
        {
            Box::new(notify_desktop::DesktopTransport::new())
        }
        #[cfg(not(feature = "desktop"))]
        {
            Box::new(NoDesktop)
        }
    }

    fn dry_run(&self) -> Box<dyn Transport> {
        Box::new(StdoutTransport)
    }

    fn http(&self, spec: HttpSpec, start: bool) -> Result<Box<dyn Transport>, TransportError> {
        // A plain http:// URL (a local Healthchecks, ntfy on the LAN) never
        // asks the roots: the system's are read only for https.
        let roots = if speaks_tls(&spec.target) {
            crate::app::account::system_roots()
        } else {
            notify_smtp::SystemRoots::Compiled
        };
        let tls = notify_smtp::tls_client_config(spec.ca_pem.as_deref(), &roots, false).map_err(
            |reason| {
                TransportError::new(
                    notify_core::ErrorKind::Config,
                    format!(
                        "ca_file {}: {reason}",
                        spec.ca_file.as_deref().unwrap_or_default()
                    ),
                )
            },
        )?;
        let client = notify_http::HttpClient::new(tls, spec.timeout);
        Ok(match spec.target {
            HttpTarget::Webhook { url, headers } => {
                let mut hook = notify_http::WebhookTransport::new(client, url);
                for (name, value) in &headers {
                    hook = hook
                        .header(name, value)
                        .map_err(|e| e.into_transport("webhook"))?;
                }
                Box::new(hook)
            }
            HttpTarget::Ntfy { url, auth, click } => {
                let mut ntfy = notify_http::NtfyTransport::new(client, url);
                if let Some(auth) = auth {
                    ntfy = ntfy.auth(auth);
                }
                if let Some(click) = click {
                    ntfy = ntfy.click(click);
                }
                Box::new(ntfy)
            }
            HttpTarget::Healthchecks(check) => {
                let hc = notify_http::HealthchecksTransport::new(client, check);
                if start {
                    Box::new(StartPing(hc))
                } else {
                    Box::new(hc)
                }
            }
        })
    }
}

/// A Healthchecks check whose every send is the start ping of the run the
/// notification names (`run_id`).
struct StartPing(notify_http::HealthchecksTransport);

#[notify_core::async_trait]
impl Transport for StartPing {
    async fn send(
        &self,
        n: &notify_core::Notification,
    ) -> Result<notify_core::Delivery, TransportError> {
        self.0
            .ping(notify_http::Ping::Start, n.run_id.as_deref(), "")
            .await
    }
}

/// The desktop of a build without the `desktop` feature: every notice is
/// a temporary failure, which the pipeline shows once as a warning.
#[cfg(not(feature = "desktop"))]
struct NoDesktop;

#[cfg(not(feature = "desktop"))]
#[notify_core::async_trait]
impl Transport for NoDesktop {
    async fn send(
        &self,
        _notification: &notify_core::Notification,
    ) -> Result<notify_core::Delivery, TransportError> {
        Err(TransportError::new(
            notify_core::ErrorKind::Temporary,
            "this build of notify has no desktop notifications (built without the `desktop` feature)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::account::smtp_config;
    use crate::app::config::Account;
    use crate::app::Ui;
    use crate::pipeline::connect::with_credentials;

    #[test]
    fn debug_prints_carry_no_secret() {
        const CANARY: &str = "canary-Pa55-w0rd-debug";
        std::env::set_var("NOTIFY_UNIT_CANARY_PW", CANARY);
        let account = Account {
            from: Some("me@example.com".into()),
            server: Some("smtp.example.com:587".into()),
            password: Some("env:NOTIFY_UNIT_CANARY_PW".into()),
            ..Account::default()
        };
        let ui = Ui::silent();
        let live = Live {
            maildir: PathBuf::from("/nonexistent"),
            transcript: false,
        };
        let config = smtp_config("work", &account, &ui).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime
            .block_on(with_credentials(&live, "work", &account, config))
            .unwrap();
        assert!(config.credentials.is_some());
        for text in [
            format!("{config:?}"),
            format!("{config:#?}"),
            format!("{account:?}"),
            format!("{:?}", config.credentials),
        ] {
            assert!(!text.contains(CANARY), "{text}");
        }
        let transport = live.smtp_transport(config).unwrap();
        assert!(!format!("{transport:?}").contains(CANARY));
    }
}
