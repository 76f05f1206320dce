//! One HTTP/1.1 request per connection: hyper's client connection over a
//! tokio `TcpStream` (TCP_NODELAY) or rustls on it, with the caller's TLS
//! configuration, everything under one deadline.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;

use crate::error::HttpError;

/// The most of an answer's body that is read (the rest is not needed: an
/// error message, a JSON confirmation).
const MAX_ANSWER: usize = 64 * 1024;

/// Makes requests with one TLS configuration and one deadline.
#[derive(Clone)]
pub struct HttpClient {
    tls: Arc<ClientConfig>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What the server answered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case, values as text (others left out).
    pub headers: Vec<(String, String)>,
    /// The body, at most 64 KiB of it.
    pub body: Bytes,
}

impl Answer {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A request to make: method, URL, extra headers, body.
#[derive(Clone)]
pub struct Call {
    pub(crate) method: Method,
    pub(crate) url: Uri,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL's path may be the credential; header values may be too.
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("site", &site_of(&self.url))
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Headers notify sets itself, which a destination's `headers` may not
/// set: they describe the connection and the body, not the request.
pub(crate) const RESERVED_HEADERS: [&str; 4] =
    ["host", "content-length", "connection", "transfer-encoding"];

impl Call {
    /// A `method` request to `url` with no body.
    pub fn new(method: Method, url: Uri) -> Call {
        Call {
            method,
            url,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// With header `name: value` (a value marked sensitive is never shown
    /// in a `Debug` print).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Call {
        self.headers.push((name, value));
        self
    }

    /// With `body`.
    pub fn body(mut self, body: impl Into<Bytes>) -> Call {
        self.body = body.into();
        self
    }
}

impl HttpClient {
    /// A client that trusts what `tls` trusts and gives every request
    /// `timeout` in all (connect, TLS, request, answer).
    pub fn new(tls: Arc<ClientConfig>, timeout: Duration) -> HttpClient {
        HttpClient { tls, timeout }
    }

    /// Makes `call`; any answer is `Ok` (the caller judges the status).
    /// Connecting, TLS, the request and the answer's head must come within
    /// the timeout; the body is read for what is left of it, at most
    /// two seconds, and a body cut short keeps the status it came with.
    pub async fn send(&self, call: Call) -> Result<Answer, HttpError> {
        let target = Target::of(&call.url)?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let head = tokio::time::timeout_at(deadline, self.exchange(&target, call)).await;
        let (mut answer, body, _driver) = match head {
            Ok(head) => head?,
            Err(_) => {
                return Err(HttpError::Timeout {
                    site: target.site(),
                    after: self.timeout,
                })
            }
        };
        let body_deadline = deadline.min(tokio::time::Instant::now() + BODY_WAIT);
        let mut kept = Vec::new();
        let _ = tokio::time::timeout_at(body_deadline, read_body(body, &mut kept)).await;
        answer.body = Bytes::from(kept);
        Ok(answer)
    }

    async fn exchange(
        &self,
        target: &Target,
        call: Call,
    ) -> Result<(Answer, hyper::body::Incoming, AbortOnDrop), HttpError> {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| HttpError::Connect {
                site: target.site(),
                source: e,
            })?;
        let _ = tcp.set_nodelay(true);
        if target.tls {
            let name = ServerName::try_from(target.host.clone()).map_err(|_| HttpError::Url {
                reason: format!("`{}` is not a host name", target.host),
            })?;
            let stream = TlsConnector::from(Arc::clone(&self.tls))
                .connect(name, tcp)
                .await
                .map_err(|e| HttpError::Tls {
                    site: target.site(),
                    reason: e.to_string(),
                    // rustls' own verdicts (a certificate refused, a
                    // protocol mismatch) come as InvalidData; a reset or an
                    // early close in the middle may pass.
                    temporary: e.kind() != std::io::ErrorKind::InvalidData,
                })?;
            request(TokioIo::new(stream), target, call).await
        } else {
            request(TokioIo::new(tcp), target, call).await
        }
    }
}

/// How long the body of an answer is waited for once its status is in.
pub const BODY_WAIT: Duration = Duration::from_secs(2);

/// The task driving a connection, ended when the request is done with,
/// whichever way.
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends `call` over `io`; the answer's head, its body to read, and the
/// connection's driver.
async fn request<T>(
    io: TokioIo<T>,
    target: &Target,
    call: Call,
) -> Result<(Answer, hyper::body::Incoming, AbortOnDrop), HttpError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let protocol = |e: hyper::Error| HttpError::Protocol {
        site: target.site(),
        reason: e.to_string(),
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(protocol)?;
    let driver = AbortOnDrop(tokio::spawn(connection));
    let length = call.body.len();
    let mut request = Request::builder()
        .method(call.method)
        .uri(target.path.as_str())
        .header(hyper::header::HOST, target.host_header())
        .header(
            hyper::header::USER_AGENT,
            concat!("notify/", env!("CARGO_PKG_VERSION")),
        )
        .header(hyper::header::CONNECTION, "close")
        // Also for an empty body: some servers refuse a POST without it.
        .header(hyper::header::CONTENT_LENGTH, length)
        .body(Full::new(call.body))
        .map_err(|e| HttpError::Url {
            reason: e.to_string(),
        })?;
    // The destination's own headers replace notify's defaults of the same
    // name (a Content-Type); those of the connection stay notify's.
    for (name, value) in call.headers {
        if !RESERVED_HEADERS.contains(&name.as_str()) {
            request.headers_mut().insert(name, value);
        }
    }
    let answer = sender.send_request(request).await.map_err(protocol)?;
    let status = answer.status().as_u16();
    let headers = answer
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    Ok((
        Answer {
            status,
            headers,
            body: Bytes::new(),
        },
        answer.into_body(),
        driver,
    ))
}

/// Reads up to [`MAX_ANSWER`] bytes of `body` into `kept`.
async fn read_body(mut body: hyper::body::Incoming, kept: &mut Vec<u8>) {
    while kept.len() < MAX_ANSWER {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let room = MAX_ANSWER - kept.len();
                    kept.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
}

/// Where a URL points.
pub(crate) struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// Path and query.
    path: String,
}

impl Target {
    pub(crate) fn of(url: &Uri) -> Result<Target, HttpError> {
        let tls = match url.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(other) => {
                return Err(HttpError::Url {
                    reason: format!("the scheme `{other}` is not http or https"),
                })
            }
            None => {
                return Err(HttpError::Url {
                    reason: "it has no scheme (start it with https://)".into(),
                })
            }
        };
        let host = url
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| HttpError::Url {
                reason: "it has no host".into(),
            })?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = url
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };
        Ok(Target {
            tls,
            host,
            port,
            path,
        })
    }

    /// The scheme, host and port: what messages show of a URL (its path may
    /// hold a token: a Slack webhook, a Healthchecks check's UUID).
    pub(crate) fn site(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.host_header()
        )
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// `url` parsed, with a clear error for a bad one.
pub fn parse_url(url: &str) -> Result<Uri, HttpError> {
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| HttpError::Url {
            reason: e.to_string(),
        })?;
    Target::of(&uri)?;
    Ok(uri)
}

/// What messages show of `url`: its scheme, host and port only.
pub fn site_of(url: &Uri) -> String {
    Target::of(url).map_or_else(|_| "(a bad URL)".to_owned(), |t| t.site())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_and_shown_without_their_path() {
        let u = parse_url("https://hc-ping.com/0b5d-secret-uuid?x=1").unwrap();
        let t = Target::of(&u).unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("hc-ping.com", 443, true));
        assert_eq!(t.path, "/0b5d-secret-uuid?x=1");
        assert_eq!(site_of(&u), "https://hc-ping.com");
        let u = parse_url("http://[::1]:8080").unwrap();
        let t = Target::of(&u).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 8080, "/")
        );
        assert_eq!(t.site(), "http://[::1]:8080");
        for bad in [
            "ftp://x/y",
            "hooks.example.com/x",
            "https://",
            "http://a b/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
