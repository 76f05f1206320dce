//! A JSON POST of the task result and the rendered notification to any
//! URL (`[webhook]`); the body's schema is in docs/json.md.

use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Uri};
use notify_core::{Delivery, Notification, Transport, TransportError};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::client::{site_of, Call, HttpClient};
use crate::error::HttpError;

/// The `version` of the webhook body; a change that renames or removes a
/// field raises it.
pub const WEBHOOK_VERSION: u32 = 1;

/// POSTs each notification as JSON ([`webhook_body`]) to one URL, with
/// extra headers whose values may be secrets (an `Authorization` token).
pub struct WebhookTransport {
    client: HttpClient,
    url: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for WebhookTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL's path may be a token (Slack's, Discord's): only its site.
        f.debug_struct("WebhookTransport")
            .field("site", &site_of(&self.url))
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl WebhookTransport {
    /// Posts to `url` through `client`.
    pub fn new(client: HttpClient, url: Uri) -> Self {
        WebhookTransport {
            client,
            url,
            headers: Vec::new(),
        }
    }

    /// Adds header `name` with `value`, which is kept sensitive: never in a
    /// `Debug` print, an error or a log.
    pub fn header(mut self, name: &str, value: &SecretString) -> Result<Self, HttpError> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| HttpError::Header {
            reason: format!("`{name}` is not a header name"),
        })?;
        if crate::client::RESERVED_HEADERS.contains(&name.as_str()) {
            return Err(HttpError::Header {
                reason: format!(
                    "header `{name}` is notify's to set (it describes the connection or the body)"
                ),
            });
        }
        let value = crate::secret::header_value("", value, str::to_owned).ok_or_else(|| {
            HttpError::Header {
                reason: format!("the value of header `{name}` holds a character a header cannot"),
            }
        })?;
        self.headers.push((name, value));
        Ok(self)
    }
}

/// The JSON a webhook receives: `version`, `text` (the subject: what
/// Slack, Mattermost, Rocket.Chat and Matrix's hookshot show), `subject`,
/// `body` (the rendered text), `task`, `outcome`, `host`, `notify_version`
/// and `result` (the whole task result, as `notify send --result` reads it).
pub fn webhook_body(n: &Notification) -> Value {
    let result = n.result.as_deref();
    json!({
        "version": WEBHOOK_VERSION,
        "text": n.subject,
        "subject": n.subject,
        "body": n.text,
        "task": result.map(|r| r.task_name.as_str()),
        "outcome": result.map(|r| r.outcome).or(n.outcome),
        "host": result.and_then(|r| r.computer_name.as_deref()),
        "notify_version": env!("CARGO_PKG_VERSION"),
        "result": result,
    })
}

#[async_trait::async_trait]
impl Transport for WebhookTransport {
    async fn send(&self, n: &Notification) -> Result<Delivery, TransportError> {
        let body = serde_json::to_vec(&webhook_body(n))
            .map_err(|e| TransportError::new(notify_core::ErrorKind::Config, e.to_string()))?;
        let mut call = Call::new(Method::POST, self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body);
        for (name, value) in &self.headers {
            call = call.header(name.clone(), value.clone());
        }
        let answer = crate::accepted(&self.client, call, &self.url)
            .await
            .map_err(|e| e.into_transport("webhook"))?;
        Ok(Delivery::new(format!(
            "posted to the webhook at {} ({})",
            site_of(&self.url),
            answer.status
        )))
    }

    async fn send_batch<'a>(
        &self,
        notifications: &[&'a Notification],
        report: &mut notify_core::BatchReport<'a>,
    ) {
        crate::send_each(self, notifications, report).await;
    }
}
