//! The two places the HTTP destinations read a secret: into a header value
//! marked sensitive (a token, a password), and into the path of a
//! Healthchecks ping URL (the project's ping key). Nothing else here sees
//! one.

use hyper::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

/// `prefix` followed by the secret (trimmed, or as `encode` makes it), as a
/// header value that is never shown in a `Debug` print; `None` when it holds
/// a character a header cannot.
pub(crate) fn header_value(
    prefix: &str,
    secret: &SecretString,
    encode: impl FnOnce(&str) -> String,
) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!(
        "{prefix}{}",
        encode(secret.expose_secret().trim())
    ))
    .ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The ping key as a path segment of a ping URL.
pub(crate) fn path_segment(ping_key: &SecretString) -> String {
    ping_key.expose_secret().trim().to_owned()
}
