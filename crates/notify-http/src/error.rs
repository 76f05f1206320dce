//! Why a request failed, and what that means for a retry.

use std::fmt;
use std::time::Duration;

use notify_core::{ErrorKind, TransportError};

/// Why an HTTP request did not get an answer, or got a refusal.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL cannot be used.
    Url {
        /// What is wrong with it.
        reason: String,
    },
    /// A header cannot be sent as configured.
    Header {
        /// What is wrong with it.
        reason: String,
    },
    /// No connection (refused, unreachable, no such host).
    Connect {
        /// Scheme, host and port.
        site: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TLS handshake failed (an untrusted certificate, a wrong name).
    Tls {
        /// Scheme, host and port.
        site: String,
        /// rustls' reason.
        reason: String,
        /// Whether it may pass: the connection broke in the middle, rather
        /// than rustls refusing the certificate or the protocol.
        temporary: bool,
    },
    /// The server broke HTTP (closed early, sent garbage).
    Protocol {
        /// Scheme, host and port.
        site: String,
        /// hyper's reason.
        reason: String,
    },
    /// No answer within the timeout.
    Timeout {
        /// Scheme, host and port.
        site: String,
        /// The timeout.
        after: Duration,
    },
    /// The server answered with a status that is not a success.
    Status {
        /// Scheme, host and port.
        site: String,
        /// The status code.
        status: u16,
        /// The start of the answer's body, one line, made safe to print.
        said: String,
        /// Where a redirect points (scheme, host and port only).
        location: Option<String>,
    },
}

/// The facts of a refused request, as a detail of the `TransportError`
/// (`TransportError::detail::<HttpFailure>()`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpFailure {
    /// The status code, when the server answered.
    pub status: Option<u16>,
}

impl HttpError {
    /// Whether it may work later: no connection, a timeout, a broken
    /// answer or TLS handshake, 408, 425, 429 and any 5xx. A refused
    /// certificate, a bad URL and other answers (3xx, 4xx) will not.
    pub fn is_temporary(&self) -> bool {
        match self {
            HttpError::Connect { .. } | HttpError::Protocol { .. } | HttpError::Timeout { .. } => {
                true
            }
            HttpError::Status { status, .. } => {
                matches!(status, 408 | 425 | 429) || (500..600).contains(status)
            }
            HttpError::Tls { temporary, .. } => *temporary,
            HttpError::Url { .. } | HttpError::Header { .. } => false,
        }
    }

    /// The status code of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// As a `TransportError` of `what` (`webhook`, `ntfy`, `Healthchecks`):
    /// temporary, permanent, or configuration (a bad URL), with an
    /// [`HttpFailure`] detail.
    pub fn into_transport(self, what: &str) -> TransportError {
        let kind = match &self {
            HttpError::Url { .. } | HttpError::Header { .. } => ErrorKind::Config,
            e if e.is_temporary() => ErrorKind::Temporary,
            _ => ErrorKind::Permanent,
        };
        let status = self.status();
        TransportError::new(kind, format!("{what}: {self}")).with_detail(HttpFailure { status })
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Url { reason } => write!(f, "the URL cannot be used: {reason}"),
            HttpError::Header { reason } => f.write_str(reason),
            HttpError::Connect { site, source } => write!(f, "cannot connect to {site}: {source}"),
            HttpError::Tls { site, reason, .. } => write!(f, "TLS with {site} failed: {reason}"),
            HttpError::Protocol { site, reason } => {
                write!(f, "{site} did not answer properly: {reason}")
            }
            HttpError::Timeout { site, after } => {
                write!(f, "{site} did not answer within {} s", after.as_secs_f64())
            }
            HttpError::Status {
                site,
                status,
                said,
                location,
            } => {
                write!(f, "{site} answered {status}")?;
                if let Some(to) = location {
                    write!(
                        f,
                        " (a redirect to {to}, not followed: put the new URL in the configuration)"
                    )?;
                }
                if !said.is_empty() {
                    write!(f, ": {said}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Connect { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> HttpError {
        HttpError::Status {
            site: "https://x".into(),
            status: code,
            said: String::new(),
            location: None,
        }
    }

    #[test]
    fn what_is_retried() {
        for code in [408, 425, 429, 500, 502, 503, 504] {
            assert!(status(code).is_temporary(), "{code}");
            assert_eq!(
                status(code).into_transport("webhook").kind(),
                ErrorKind::Temporary
            );
        }
        for code in [301, 400, 401, 403, 404, 410, 413] {
            assert!(!status(code).is_temporary(), "{code}");
            let e = status(code).into_transport("webhook");
            assert_eq!(e.kind(), ErrorKind::Permanent);
            assert_eq!(e.detail::<HttpFailure>().and_then(|f| f.status), Some(code));
        }
        let url = HttpError::Url {
            reason: "no scheme".into(),
        };
        assert_eq!(url.into_transport("ntfy").kind(), ErrorKind::Config);
    }
}
