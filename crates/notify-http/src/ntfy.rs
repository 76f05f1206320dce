//! ntfy (`[ntfy]`): a push to a phone, by POSTing the short message to
//! the topic's URL with the title, priority and tags in headers.

use base64::Engine as _;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION};
use hyper::{Method, Uri};
use notify_core::{Delivery, Notification, Outcome, Transport, TransportError};
use secrecy::SecretString;

use crate::client::{site_of, Call, HttpClient};

/// How notify signs in to an ntfy server that wants it.
pub enum NtfyAuth {
    /// An access token (`Authorization: Bearer tk_...`).
    Token(SecretString),
    /// A user and password (`Authorization: Basic ...`).
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: SecretString,
    },
}

/// Publishes each notification to one ntfy topic.
pub struct NtfyTransport {
    client: HttpClient,
    url: Uri,
    auth: Option<NtfyAuth>,
    click: Option<String>,
}

impl std::fmt::Debug for NtfyTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A topic name is a password of sorts on a public server.
        f.debug_struct("NtfyTransport")
            .field("site", &site_of(&self.url))
            .field("auth", &self.auth.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

impl NtfyTransport {
    /// Publishes to the topic at `url` (`https://ntfy.sh/my-backups`).
    pub fn new(client: HttpClient, url: Uri) -> Self {
        NtfyTransport {
            client,
            url,
            auth: None,
            click: None,
        }
    }

    /// Signs in with `auth`.
    pub fn auth(mut self, auth: NtfyAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Opens `url` when the notification is tapped.
    pub fn click(mut self, url: impl Into<String>) -> Self {
        self.click = Some(url.into());
        self
    }
}

/// ntfy's priority (1 min … 5 max) for how a run went: a failure high, a
/// warning the default, a success low.
pub fn priority(outcome: Option<Outcome>) -> u8 {
    match outcome {
        Some(Outcome::Failure | Outcome::Cancelled) => 4,
        Some(Outcome::Success) => 2,
        _ => 3,
    }
}

/// The emoji tag ntfy shows before the title: ✔, ⚠ or ✖.
pub fn tag(outcome: Option<Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::Success) => "heavy_check_mark",
        Some(Outcome::Warning) => "warning",
        Some(Outcome::Failure | Outcome::Cancelled) => "heavy_multiplication_x",
        _ => "bell",
    }
}

/// A header value for text that may not be ASCII: as it is when it is,
/// else RFC 2047 `=?UTF-8?B?...?=`, which ntfy decodes.
fn text_header(text: &str) -> Option<HeaderValue> {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.is_ascii() {
        HeaderValue::from_str(&clean).ok()
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(clean.as_bytes());
        HeaderValue::from_str(&format!("=?UTF-8?B?{encoded}?=")).ok()
    }
}

#[async_trait::async_trait]
impl Transport for NtfyTransport {
    async fn send(&self, n: &Notification) -> Result<Delivery, TransportError> {
        let outcome = n.result.as_ref().map(|r| r.outcome).or(n.outcome);
        let mut call = Call::new(Method::POST, self.url.clone()).body(n.text.clone().into_bytes());
        let headers = [
            ("title", text_header(&n.subject)),
            (
                "priority",
                Some(HeaderValue::from(u16::from(priority(outcome)))),
            ),
            ("tags", Some(HeaderValue::from_static(tag(outcome)))),
            ("click", self.click.as_deref().and_then(text_header)),
        ];
        for (name, value) in headers {
            if let Some(value) = value {
                call = call.header(HeaderName::from_static(name), value);
            }
        }
        if let Some(auth) = &self.auth {
            let value = match auth {
                NtfyAuth::Token(token) => {
                    crate::secret::header_value("Bearer ", token, str::to_owned)
                }
                NtfyAuth::Basic { user, password } => {
                    crate::secret::header_value("Basic ", password, |password| {
                        base64::engine::general_purpose::STANDARD
                            .encode(format!("{user}:{password}"))
                    })
                }
            };
            let value = value.ok_or_else(|| {
                TransportError::new(
                    notify_core::ErrorKind::Config,
                    "ntfy: the token or password holds a character a header cannot",
                )
            })?;
            call = call.header(AUTHORIZATION, value);
        }
        let answer = crate::accepted(&self.client, call, &self.url)
            .await
            .map_err(|e| e.into_transport("ntfy"))?;
        Ok(Delivery::new(format!(
            "published to ntfy at {} ({})",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_that_are_not_ascii_are_encoded() {
        assert_eq!(
            text_header("host: Backup: Failed").unwrap(),
            "host: Backup: Failed"
        );
        let v = text_header("Sicherung: Fehlgeschlagen ✖\n").unwrap();
        let v = v.to_str().unwrap();
        let inner = v
            .strip_prefix("=?UTF-8?B?")
            .unwrap()
            .strip_suffix("?=")
            .unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(inner)
            .unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "Sicherung: Fehlgeschlagen ✖ "
        );
        assert_eq!(priority(Some(Outcome::Failure)), 4);
        assert_eq!(priority(Some(Outcome::Success)), 2);
        assert_eq!(priority(Some(Outcome::Warning)), 3);
    }
}
