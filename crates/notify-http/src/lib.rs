//! The HTTP destinations of notify: a webhook's JSON POST
//! ([`WebhookTransport`]), an ntfy push ([`NtfyTransport`]) and Healthchecks
//! pings ([`HealthchecksTransport`]), each a core
//! [`Transport`](notify_core::Transport) like SMTP and the desktop, so the
//! pipeline decides, queues and retries them the same way.
//!
//! [`HttpClient`] makes one HTTP/1.1 request per connection with hyper's
//! client connection on the caller's tokio runtime, over rustls with the
//! [`ClientConfig`](tokio_rustls::rustls::ClientConfig) the caller gives
//! (notify passes the one its SMTP uses: the same roots, the same
//! `ca_file`, the same explanation of a refused certificate), and gives
//! every request one deadline, connect to last byte. An answer's status is
//! judged by [`HttpError::is_temporary`]: no connection, a timeout, 408,
//! 425, 429 and 5xx may work later (queue and retry), anything else is
//! reported.
//!
//! [`oauth`] speaks OAuth 2.0 for SMTP's XOAUTH2 over the same client: the
//! device authorization grant (`notify account login`) and the refresh
//! grant that turns a kept refresh token into an access token per send.
//!
//! A key design decision made in this crate is that a URL is shown by its
//! site alone (scheme, host, port) in every message and `Debug` print: the
//! path of a webhook (Slack's, Discord's), a Healthchecks ping URL or an
//! ntfy topic is itself the credential, as a header value such as
//! `Authorization` is (kept sensitive).
#![deny(missing_docs)]

mod client;
mod error;
pub mod healthchecks;
pub mod ntfy;
pub mod oauth;
mod secret;
pub mod webhook;

pub use client::{parse_url, site_of, Answer, Call, HttpClient};
pub use error::{HttpError, HttpFailure};
pub use healthchecks::{Check, HealthchecksTransport, Ping};
/// A parsed URL (hyper's), as [`parse_url`] returns it.
pub use hyper::Uri;
pub use ntfy::{NtfyAuth, NtfyTransport};
pub use webhook::{webhook_body, WebhookTransport, WEBHOOK_VERSION};

/// Sends a batch (the queue's retry of one destination) one by one, but
/// once the server proves unreachable (no connection, no answer in time)
/// the rest are reported with that failure without being tried: a dead
/// host costs one timeout per retry, not one per queued notification.
pub(crate) async fn send_each<'a, T>(
    transport: &T,
    notifications: &[&'a notify_core::Notification],
    report: &mut notify_core::BatchReport<'a>,
) where
    T: notify_core::Transport + ?Sized,
{
    let mut unreachable: Option<String> = None;
    for (i, n) in notifications.iter().enumerate() {
        if let Some(why) = &unreachable {
            report(
                i,
                Err(notify_core::TransportError::new(
                    notify_core::ErrorKind::Temporary,
                    format!("not tried: {why}"),
                )),
            );
            continue;
        }
        let sent = transport.send(n).await;
        if let Err(e) = &sent {
            let answered = e
                .detail::<HttpFailure>()
                .is_some_and(|f| f.status.is_some());
            if e.is_transient() && !answered {
                unreachable = Some(e.to_string());
            }
        }
        report(i, sent);
    }
}

/// Makes `call` and turns any answer but a success (2xx) into
/// [`HttpError::Status`], with the start of what the server said.
pub(crate) async fn accepted(
    client: &HttpClient,
    call: Call,
    url: &hyper::Uri,
) -> Result<Answer, HttpError> {
    let answer = client.send(call).await?;
    if (200..300).contains(&answer.status) {
        return Ok(answer);
    }
    let said = String::from_utf8_lossy(&answer.body);
    let location = answer
        .header("location")
        .and_then(|l| l.parse::<hyper::Uri>().ok())
        .map(|l| {
            if l.host().is_some() {
                site_of(&l)
            } else {
                site_of(url)
            }
        });
    Err(HttpError::Status {
        site: site_of(url),
        status: answer.status,
        said: notify_core::text::one_line(said.trim(), Some(200)),
        location,
    })
}
