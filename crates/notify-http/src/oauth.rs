//! OAuth 2.0 for SMTP's XOAUTH2: the device authorization grant (RFC
//! 8628) or, where a server offers no device flow for mail (Google), the
//! authorization code grant with PKCE and a loopback redirect (RFC 7636,
//! RFC 8252), which `notify account login` runs once; and the refresh
//! grant (RFC 6749 section 6) that turns the kept refresh token into an
//! access token for each send. Microsoft 365 / Outlook.com and Gmail are
//! built in ([`Endpoints::named`]); any other server is its URLs and a
//! scope.
//!
//! The caller owns the clock: [`OAuthClient::poll`] asks once and says
//! how long to wait before the next ask (the server's `interval`, grown by
//! five seconds on `slow_down`). Tokens are [`SecretString`]s: no `Debug`
//! print, error or message shows one; a server's error text is cut to one
//! line and never echoes the request.

use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Method, Uri};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::client::{parse_url, site_of, Call, HttpClient};
use crate::error::HttpError;

/// Where an OAuth server takes requests, and what to ask it for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoints {
    /// The device authorization endpoint (RFC 8628 section 3.1); empty
    /// where the server has none for these scopes.
    pub device_url: String,
    /// The authorization endpoint of the code grant with a loopback
    /// redirect (RFC 8252), used when there is no `device_url`.
    pub authorize_url: Option<String>,
    /// The token endpoint.
    pub token_url: String,
    /// The scopes, space-separated (with `offline_access` where the server
    /// needs it for a refresh token).
    pub scope: String,
}

impl Endpoints {
    /// Endpoints of your own.
    pub fn new(device_url: &str, token_url: &str, scope: &str) -> Endpoints {
        Endpoints {
            device_url: device_url.to_owned(),
            authorize_url: None,
            token_url: token_url.to_owned(),
            scope: scope.to_owned(),
        }
    }

    /// Endpoints of a server signed in to through a browser on this
    /// machine (the authorization code grant with PKCE).
    pub fn with_browser(authorize_url: &str, token_url: &str, scope: &str) -> Endpoints {
        Endpoints {
            device_url: String::new(),
            authorize_url: Some(authorize_url.to_owned()),
            token_url: token_url.to_owned(),
            scope: scope.to_owned(),
        }
    }

    /// Whether `account login` uses the device flow (else the browser).
    pub fn has_device_flow(&self) -> bool {
        !self.device_url.is_empty()
    }

    /// The built-in ones: `microsoft` (Microsoft 365 and Outlook.com,
    /// the `common` tenant, SMTP.Send) and `google` (Gmail).
    pub fn named(name: &str) -> Option<Endpoints> {
        match name {
            "microsoft" => Some(Endpoints::new(
                "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
                "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                "https://outlook.office.com/SMTP.Send offline_access",
            )),
            // Google's device flow refuses the Gmail scope (it allows a
            // short list of others): Gmail signs in through a browser.
            "google" => Some(Endpoints::with_browser(
                "https://accounts.google.com/o/oauth2/v2/auth",
                "https://oauth2.googleapis.com/token",
                "https://mail.google.com/",
            )),
            _ => None,
        }
    }

    /// The names [`Endpoints::named`] knows.
    pub const NAMES: [&'static str; 2] = ["microsoft", "google"];
}

/// Why an OAuth request failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OAuthError {
    /// An endpoint URL cannot be used (not https, except to this machine).
    Url {
        /// Which endpoint.
        endpoint: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No answer, or one that may pass (a timeout, 5xx, 429): try later.
    Unreachable(HttpError),
    /// The refresh token was refused (`invalid_grant`): it expired, was
    /// revoked, or the password changed. Signing in again fixes it.
    InvalidGrant {
        /// The server's description, one line.
        said: String,
    },
    /// The user declined at the sign-in page (`access_denied`).
    Denied,
    /// The device code expired before the user signed in.
    Expired,
    /// Any other refusal (`invalid_client`, `unauthorized_client`,
    /// `invalid_scope`, a 4xx without a code, an answer that is not JSON).
    Refused {
        /// The OAuth error code, when there was one.
        code: Option<String>,
        /// The server's description or status, one line.
        said: String,
    },
}

impl OAuthError {
    /// Whether it may work later unchanged (queue and retry the mail).
    pub fn is_temporary(&self) -> bool {
        matches!(self, OAuthError::Unreachable(_))
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OAuthError::Url { endpoint, reason } => write!(f, "the {endpoint} URL: {reason}"),
            OAuthError::Unreachable(e) => write!(f, "the OAuth server: {e}"),
            OAuthError::InvalidGrant { said } => write!(
                f,
                "the OAuth server refused the refresh token (invalid_grant: {said})"
            ),
            OAuthError::Denied => f.write_str("the sign-in was declined (access_denied)"),
            OAuthError::Expired => {
                f.write_str("the code expired before the sign-in was completed (expired_token)")
            }
            OAuthError::Refused { code, said } => match code {
                Some(code) => write!(f, "the OAuth server refused: {code}: {said}"),
                None => write!(f, "the OAuth server refused: {said}"),
            },
        }
    }
}

impl std::error::Error for OAuthError {}

/// What the user is to do to sign in (RFC 8628 section 3.2).
#[non_exhaustive]
pub struct DeviceCode {
    /// The code to type in at [`DeviceCode::verification_uri`].
    pub user_code: String,
    /// The page where the code is entered.
    pub verification_uri: String,
    /// The page with the code filled in, when the server gives one.
    pub verification_uri_complete: Option<String>,
    /// How long the code is valid.
    pub expires_in: Duration,
    /// How long to wait between polls (the server's, else 5 s).
    pub interval: Duration,
    device_code: SecretString,
}

impl std::fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCode")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Tokens from the token endpoint.
#[non_exhaustive]
pub struct Tokens {
    /// The access token: the XOAUTH2 password.
    pub access_token: SecretString,
    /// A refresh token, when the server sent one (a new one replaces the
    /// old: keep it).
    pub refresh_token: Option<SecretString>,
    /// How long the access token is valid, when said.
    pub expires_in: Option<Duration>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// How one poll of the device flow went.
#[derive(Debug)]
#[non_exhaustive]
pub enum Poll {
    /// Signed in.
    Done(Tokens),
    /// Not yet (`authorization_pending`, or `slow_down`): ask again after
    /// this long.
    Wait(Duration),
}

/// A client of one OAuth server for one app registration.
pub struct OAuthClient {
    http: HttpClient,
    endpoints: Endpoints,
    client_id: String,
    client_secret: Option<SecretString>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("endpoints", &self.endpoints)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The answer of a token or device endpoint, success or error.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Answer {
    error: Option<String>,
    error_description: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    device_code: Option<String>,
    user_code: Option<String>,
    verification_uri: Option<String>,
    /// Google's name for it.
    verification_url: Option<String>,
    verification_uri_complete: Option<String>,
    interval: Option<u64>,
}

impl OAuthClient {
    /// A client of `endpoints` for the app `client_id` (and its secret,
    /// which Google's device flow needs), over `http`.
    pub fn new(
        http: HttpClient,
        endpoints: Endpoints,
        client_id: &str,
        client_secret: Option<SecretString>,
    ) -> OAuthClient {
        OAuthClient {
            http,
            endpoints,
            client_id: client_id.to_owned(),
            client_secret,
        }
    }

    /// Starts the device flow: what the user is to do.
    pub async fn start(&self) -> Result<DeviceCode, OAuthError> {
        let url = endpoint_url("device authorization", &self.endpoints.device_url)?;
        let answer = self
            .post(
                &url,
                &[
                    ("client_id", self.client_id.as_str()),
                    ("scope", self.endpoints.scope.as_str()),
                ],
            )
            .await?;
        let (Some(device_code), Some(user_code)) = (answer.device_code, answer.user_code) else {
            return Err(OAuthError::Refused {
                code: None,
                said: "the answer has no device_code or user_code".to_owned(),
            });
        };
        let Some(verification_uri) = answer.verification_uri.or(answer.verification_url) else {
            return Err(OAuthError::Refused {
                code: None,
                said: "the answer has no verification_uri".to_owned(),
            });
        };
        Ok(DeviceCode {
            user_code: printable(&user_code),
            verification_uri: printable(&verification_uri),
            verification_uri_complete: answer.verification_uri_complete.map(|u| printable(&u)),
            expires_in: Duration::from_secs(answer.expires_in.unwrap_or(900)),
            interval: Duration::from_secs(answer.interval.unwrap_or(5).max(1)),
            device_code: SecretString::from(device_code),
        })
    }

    /// Asks once whether the user has signed in. `interval` is the wait
    /// so far (start with [`DeviceCode::interval`]); [`Poll::Wait`] says
    /// the next one (five seconds longer after `slow_down`, RFC 8628
    /// section 3.5).
    pub async fn poll(&self, device: &DeviceCode, interval: Duration) -> Result<Poll, OAuthError> {
        let url = endpoint_url("token", &self.endpoints.token_url)?;
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", self.client_id.as_str()),
        ];
        match self
            .post_with(&url, &form, &[("device_code", &device.device_code)])
            .await
        {
            Ok(answer) => tokens(answer).map(Poll::Done),
            Err(OAuthError::Refused {
                code: Some(code), ..
            }) if code == "authorization_pending" => Ok(Poll::Wait(interval)),
            Err(OAuthError::Refused {
                code: Some(code), ..
            }) if code == "slow_down" => Ok(Poll::Wait(interval + Duration::from_secs(5))),
            Err(OAuthError::Refused {
                code: Some(code), ..
            }) if code == "access_denied" => Err(OAuthError::Denied),
            Err(OAuthError::Refused {
                code: Some(code), ..
            }) if code == "expired_token" => Err(OAuthError::Expired),
            Err(e) => Err(e),
        }
    }

    /// The page to open in a browser for the code grant: this client,
    /// the scopes, `redirect_uri` (a loopback address), `state` and the
    /// PKCE challenge; offline access and the consent screen asked for,
    /// so a refresh token comes back.
    pub fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce: &Pkce,
    ) -> Result<String, OAuthError> {
        let base = self.endpoints.authorize_url.as_deref().unwrap_or_default();
        endpoint_url("authorization", base)?;
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", self.client_id.as_str()),
                ("redirect_uri", redirect_uri),
                ("scope", self.endpoints.scope.as_str()),
                ("state", state),
                ("code_challenge", pkce.challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("access_type", "offline"),
                ("prompt", "consent"),
            ])
            .finish();
        let sep = if base.contains('?') { '&' } else { '?' };
        Ok(format!("{base}{sep}{query}"))
    }

    /// Exchanges the `code` the browser brought back to `redirect_uri`
    /// for tokens, proving the PKCE verifier.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce: &Pkce,
    ) -> Result<Tokens, OAuthError> {
        let url = endpoint_url("token", &self.endpoints.token_url)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.client_id.as_str()),
        ];
        let answer = self
            .post_with(&url, &form, &[("code_verifier", &pkce.verifier)])
            .await?;
        tokens(answer)
    }

    /// Exchanges `refresh_token` for an access token (and, with servers
    /// that rotate them, a new refresh token: `refresh_token` is `Some`
    /// only when it differs from the one given).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<Tokens, OAuthError> {
        let url = endpoint_url("token", &self.endpoints.token_url)?;
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.client_id.as_str()),
            ("scope", self.endpoints.scope.as_str()),
        ];
        match self
            .post_with(&url, &form, &[("refresh_token", refresh_token)])
            .await
        {
            Ok(answer) => {
                let mut tokens = tokens(answer)?;
                // The same one again is no new one.
                if answer_repeats(&tokens, refresh_token) {
                    tokens.refresh_token = None;
                }
                Ok(tokens)
            }
            Err(OAuthError::Refused {
                code: Some(code),
                said,
            }) if code == "invalid_grant" => Err(OAuthError::InvalidGrant { said }),
            Err(e) => Err(e),
        }
    }

    /// [`OAuthClient::post`] of `form` with the `secrets` fields and the
    /// client secret (when there is one) added: the one place a token
    /// request reads them.
    async fn post_with(
        &self,
        url: &Uri,
        form: &[(&str, &str)],
        secrets: &[(&str, &SecretString)],
    ) -> Result<Answer, OAuthError> {
        let mut fields: Vec<(&str, &SecretString)> = secrets.to_vec();
        if let Some(secret) = &self.client_secret {
            fields.push(("client_secret", secret));
        }
        let mut all: Vec<(&str, &str)> = form.to_vec();
        all.extend(fields.iter().map(|(k, v)| (*k, v.expose_secret())));
        self.post(url, &all).await
    }

    /// POSTs `form` and reads the JSON answer: a 2xx with no `error` is
    /// `Ok`; an OAuth error (400/401 with `error`) is [`OAuthError::Refused`]
    /// with its code; no answer, 429 or 5xx is [`OAuthError::Unreachable`].
    async fn post(&self, url: &Uri, form: &[(&str, &str)]) -> Result<Answer, OAuthError> {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let call = Call::new(Method::POST, url.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(Bytes::from(body));
        let answer = self
            .http
            .send(call)
            .await
            .map_err(OAuthError::Unreachable)?;
        let parsed: Option<Answer> = serde_json::from_slice(&answer.body).ok();
        let status = answer.status;
        if let Some(parsed) = parsed.as_ref().filter(|a| a.error.is_some()) {
            if status == 429 || status >= 500 {
                return Err(OAuthError::Unreachable(HttpError::Status {
                    site: site_of(url),
                    status,
                    said: one_line(parsed.error.as_deref().unwrap_or_default()),
                    location: None,
                }));
            }
            return Err(OAuthError::Refused {
                code: parsed.error.as_deref().map(printable),
                said: one_line(
                    parsed
                        .error_description
                        .as_deref()
                        .unwrap_or(&format!("HTTP {status}")),
                ),
            });
        }
        if status == 429 || status >= 500 {
            return Err(OAuthError::Unreachable(HttpError::Status {
                site: site_of(url),
                status,
                said: String::new(),
                location: None,
            }));
        }
        match parsed {
            Some(parsed) if (200..300).contains(&status) => Ok(parsed),
            _ => Err(OAuthError::Refused {
                code: None,
                said: format!(
                    "HTTP {status} from {} without an OAuth JSON answer",
                    site_of(url)
                ),
            }),
        }
    }
}

/// A PKCE pair (RFC 7636): a random verifier, kept, and its S256
/// challenge, sent with the authorization request.
pub struct Pkce {
    verifier: SecretString,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// A new pair from the system's random source; `None` when it has none.
    pub fn new() -> Option<Pkce> {
        let verifier = random_token(32)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        Some(Pkce {
            challenge: base64url(digest.as_ref()),
            verifier: SecretString::from(verifier),
        })
    }
}

/// `bytes` random bytes as base64url without padding (43 characters for
/// 32): a PKCE verifier, an OAuth `state`.
pub fn random_token(bytes: usize) -> Option<String> {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; bytes];
    ring::rand::SystemRandom::new().fill(&mut buf).ok()?;
    Some(base64url(&buf))
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether the refresh token of `tokens` is `given` again.
fn answer_repeats(tokens: &Tokens, given: &SecretString) -> bool {
    tokens
        .refresh_token
        .as_ref()
        .is_some_and(|t| t.expose_secret() == given.expose_secret())
}

/// The tokens of a success answer.
fn tokens(answer: Answer) -> Result<Tokens, OAuthError> {
    let Some(access_token) = answer.access_token.filter(|t| !t.is_empty()) else {
        return Err(OAuthError::Refused {
            code: None,
            said: "the answer has no access_token".to_owned(),
        });
    };
    Ok(Tokens {
        access_token: SecretString::from(access_token),
        refresh_token: answer
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from),
        expires_in: answer.expires_in.map(Duration::from_secs),
    })
}

/// `url` as an endpoint: https, or http to this machine only (a test
/// server); anything else would send tokens in the clear.
fn endpoint_url(endpoint: &'static str, url: &str) -> Result<Uri, OAuthError> {
    let uri = parse_url(url).map_err(|e| OAuthError::Url {
        endpoint,
        reason: e.to_string(),
    })?;
    let loopback = matches!(
        uri.host(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if loopback => Ok(uri),
        _ => Err(OAuthError::Url {
            endpoint,
            reason: "it must be https (http only to this machine)".to_owned(),
        }),
    }
}

fn one_line(text: &str) -> String {
    notify_core::text::one_line(text, Some(300))
}

fn printable(text: &str) -> String {
    notify_core::text::one_line(text, Some(500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_but_to_this_machine() {
        assert!(endpoint_url("token", "https://login.example.com/token").is_ok());
        assert!(endpoint_url("token", "http://127.0.0.1:8080/token").is_ok());
        assert!(endpoint_url("token", "http://localhost/token").is_ok());
        let err = endpoint_url("token", "http://login.example.com/token").unwrap_err();
        assert!(err.to_string().contains("must be https"), "{err}");
        for name in Endpoints::NAMES {
            let e = Endpoints::named(name).unwrap();
            if e.has_device_flow() {
                assert!(endpoint_url("device", &e.device_url).is_ok());
            } else {
                assert!(endpoint_url("authorization", e.authorize_url.as_deref().unwrap()).is_ok());
            }
            assert!(endpoint_url("token", &e.token_url).is_ok());
        }
        assert!(Endpoints::named("microsoft").unwrap().has_device_flow());
        assert!(!Endpoints::named("google").unwrap().has_device_flow());
    }

    #[test]
    fn pkce_is_s256_of_a_random_verifier() {
        let a = Pkce::new().unwrap();
        let b = Pkce::new().unwrap();
        assert_ne!(a.challenge, b.challenge);
        assert_eq!(a.verifier.expose_secret().len(), 43);
        // As `openssl dgst -sha256 -binary | basenc --base64url` gives it
        // (without the padding).
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            b"dBjftJeZ4CVP-mJ0DAAcYaSBZbJPh5cdU4jOQQJmrHO2W4_DBh0",
        );
        assert_eq!(
            base64url(digest.as_ref()),
            "jKF11JpJ2xX0O8P-VmNEGK43l35xUKm5m9lQQUFIt_s"
        );
        assert!(Endpoints::named("yahoo").is_none());
    }

    #[test]
    fn tokens_never_show() {
        let t = Tokens {
            access_token: SecretString::from("canary-access".to_owned()),
            refresh_token: Some(SecretString::from("canary-refresh".to_owned())),
            expires_in: None,
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("canary"), "{shown}");
    }
}
