//! TLS for the SMTP transport: our own rustls client configuration (ring
//! provider, Mozilla's roots plus the account's `ca_file`), a certificate
//! verifier that says *why* a certificate was refused, and the stream types
//! the SMTP dialogue runs over.
//!
//! Trust anchors are Mozilla's root program as compiled into the
//! `webpki-roots` crate, not the operating system's CA store: notify runs
//! from cron on minimal containers, NAS boxes and fresh servers where
//! `/etc/ssl/certs` is often missing or stale, and a notification must not
//! depend on a package the user never installed. A private or self-signed
//! server is trusted by adding its CA (or its own certificate) with
//! `ca_file`, which extends the bundle rather than replacing it.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};

/// How many bytes the server sent first are kept, to recognise a plaintext
/// SMTP greeting where a TLS handshake was expected.
const SNIFF_LEN: usize = 64;

/// Parses `pem` as one or more PEM certificates. The error is a short
/// reason ("no certificate in it", "line 3: ...").
pub(crate) fn parse_pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        match item {
            Ok(cert) => certs.push(cert),
            Err(err) => return Err(format!("it is not valid PEM: {err}")),
        }
    }
    if certs.is_empty() {
        return Err(
            "it holds no certificate (expected one or more \"-----BEGIN CERTIFICATE-----\" blocks)"
                .to_owned(),
        );
    }
    Ok(certs)
}

/// Builds the client configuration: Mozilla's roots plus `extra`, or no
/// chain validation at all when `accept_invalid` is set (handshake
/// signatures are still checked, so the connection is still bound to the
/// key in the certificate it got).
pub(crate) fn client_config(
    extra: &[CertificateDer<'static>],
    accept_invalid: bool,
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(ring::default_provider());
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for (i, cert) in extra.iter().enumerate() {
        roots.add(cert.clone()).map_err(|err| {
            format!(
                "certificate #{} cannot be used as a trust anchor: {err}",
                i + 1
            )
        })?;
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|err| format!("cannot build the certificate verifier: {err}"))?;
    let verifier = Arc::new(Verifier {
        inner,
        accept_invalid,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("cannot set up TLS: {err}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// webpki's verifier, plus two things: it tells a self-signed certificate
/// apart from one of an unknown CA, and it can be told to accept any
/// certificate (`accept_invalid_certs`).
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    accept_invalid: bool,
}

/// Why a certificate was refused, when webpki's own error is too vague.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertProblem {
    /// The certificate is its own issuer and is not in the trust store.
    SelfSigned,
}

impl fmt::Display for CertProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertProblem::SelfSigned => f.write_str("the certificate is self-signed"),
        }
    }
}

impl std::error::Error for CertProblem {}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => Ok(verified),
            Err(_) if self.accept_invalid => Ok(ServerCertVerified::assertion()),
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
                if is_self_signed(end_entity.as_ref()) =>
            {
                Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                    OtherError(Arc::new(CertProblem::SelfSigned)),
                )))
            }
            Err(err) => Err(err),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// One DER element.
struct Der<'a> {
    /// The whole element, header included.
    whole: &'a [u8],
    /// Its contents.
    content: &'a [u8],
    /// What follows it.
    rest: &'a [u8],
}

/// Parses the DER element at the start of `input`.
fn der_element(input: &[u8]) -> Option<Der<'_>> {
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some(Der {
        whole: &input[..end],
        content: &input[header..end],
        rest: &input[end..],
    })
}

/// Whether an X.509 certificate names itself as its issuer.
fn is_self_signed(cert: &[u8]) -> bool {
    fn issuer_and_subject(cert: &[u8]) -> Option<(&[u8], &[u8])> {
        let certificate = der_element(cert)?.content;
        let tbs = der_element(certificate)?.content;
        let mut rest = tbs;
        // version [0] EXPLICIT, optional
        if rest.first() == Some(&0xa0) {
            rest = der_element(rest)?.rest;
        }
        let rest = der_element(rest)?.rest; // serialNumber
        let rest = der_element(rest)?.rest; // signature algorithm
        let issuer = der_element(rest)?;
        let validity = der_element(issuer.rest)?;
        let subject = der_element(validity.rest)?;
        Some((issuer.whole, subject.whole))
    }
    issuer_and_subject(cert).is_some_and(|(issuer, subject)| issuer == subject)
}

/// A TCP stream that keeps the first bytes the server sends, so a failed
/// handshake can say "the server answered in plaintext".
#[derive(Debug)]
pub(crate) struct Sniff {
    stream: TcpStream,
    first: Vec<u8>,
}

impl Sniff {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Sniff {
            stream,
            first: Vec::new(),
        }
    }

    /// Forgets what was received so far: the plaintext dialogue before
    /// STARTTLS is not what the handshake got.
    pub(crate) fn restart(&mut self) {
        self.first.clear();
    }

    /// The first bytes received (at most 64).
    pub(crate) fn first_bytes(&self) -> &[u8] {
        &self.first
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }
}

impl AsyncRead for Sniff {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if this.first.len() < SNIFF_LEN {
            let new = &buf.filled()[before..];
            let take = new.len().min(SNIFF_LEN - this.first.len());
            this.first.extend_from_slice(&new[..take]);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Sniff {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The connection under the SMTP dialogue: plain TCP, or TLS over it.
pub(crate) enum Stream {
    /// Plaintext (before STARTTLS, or `security = "none"`).
    Plain(Sniff),
    /// TLS (implicit, or after STARTTLS).
    Tls(Box<TlsStream<Sniff>>),
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stream::Plain(_) => f.write_str("Stream::Plain"),
            Stream::Tls(_) => f.write_str("Stream::Tls"),
        }
    }
}

impl Stream {
    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Stream::Plain(s) => s.peer_addr(),
            Stream::Tls(s) => s.get_ref().0.peer_addr(),
        }
    }

    /// "TLSv1.3, TLS13_AES_256_GCM_SHA384" for an encrypted stream.
    pub(crate) fn tls_summary(&self) -> Option<String> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => {
                let conn = s.get_ref().1;
                let version = conn
                    .protocol_version()
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_else(|| "TLS".to_owned());
                let suite = conn
                    .negotiated_cipher_suite()
                    .map(|s| format!(", {:?}", s.suite()))
                    .unwrap_or_default();
                Some(format!("{version}{suite}"))
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The rustls error inside an I/O error from the handshake, if any.
pub(crate) fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// What went wrong in a TLS handshake, for the message and the hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HandshakeProblem {
    /// The server answered with plaintext (its first bytes, lossy text).
    Plaintext(String),
    /// The server sent something that is not TLS.
    NotTls(String),
    /// The certificate chain does not lead to a trusted root.
    UnknownIssuer,
    /// The certificate is self-signed and not trusted.
    SelfSigned,
    /// The certificate does not cover the name we connected to.
    WrongName {
        /// The names in the certificate, when rustls reports them.
        presented: Vec<String>,
    },
    /// Expired or not yet valid.
    Expired(String),
    /// Any other certificate problem.
    OtherCertificate(String),
    /// The server aborted with a TLS alert.
    Alert(String),
    /// The connection was closed during the handshake, before any byte.
    Closed,
    /// Anything else.
    Other(String),
}

/// Classifies a handshake failure, using the first bytes the server sent.
pub(crate) fn handshake_problem(err: &io::Error, first_bytes: &[u8]) -> HandshakeProblem {
    let looks_like_smtp = first_bytes.len() >= 3
        && first_bytes[..3].iter().all(u8::is_ascii_digit)
        && first_bytes.is_ascii();
    if looks_like_smtp {
        let text = String::from_utf8_lossy(first_bytes);
        let line = text.lines().next().unwrap_or_default().trim().to_owned();
        return HandshakeProblem::Plaintext(line);
    }
    match rustls_error(err) {
        Some(rustls::Error::InvalidCertificate(cert)) => certificate_problem(cert),
        Some(rustls::Error::AlertReceived(alert)) => HandshakeProblem::Alert(format!("{alert:?}")),
        Some(
            e @ (rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. }),
        ) => {
            let shown = if first_bytes.is_empty() {
                e.to_string()
            } else {
                format!("{e}; it sent {}", printable(first_bytes))
            };
            HandshakeProblem::NotTls(shown)
        }
        Some(other) => HandshakeProblem::Other(other.to_string()),
        None if err.kind() == io::ErrorKind::UnexpectedEof && first_bytes.is_empty() => {
            HandshakeProblem::Closed
        }
        None if !first_bytes.is_empty() && !looks_like_tls(first_bytes) => {
            HandshakeProblem::NotTls(format!("{err}; it sent {}", printable(first_bytes)))
        }
        None => HandshakeProblem::Other(err.to_string()),
    }
}

fn certificate_problem(err: &CertificateError) -> HandshakeProblem {
    match err {
        CertificateError::UnknownIssuer => HandshakeProblem::UnknownIssuer,
        CertificateError::Other(other) if other.0.downcast_ref::<CertProblem>().is_some() => {
            HandshakeProblem::SelfSigned
        }
        CertificateError::NotValidForName => HandshakeProblem::WrongName {
            presented: Vec::new(),
        },
        CertificateError::NotValidForNameContext { presented, .. } => HandshakeProblem::WrongName {
            presented: presented.iter().map(|n| plain_name(n)).collect(),
        },
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => {
            HandshakeProblem::Expired(rustls::Error::InvalidCertificate(err.clone()).to_string())
        }
        other => HandshakeProblem::OtherCertificate(
            rustls::Error::InvalidCertificate(other.clone()).to_string(),
        ),
    }
}

/// rustls reports presented names as `DnsName("mx.example.com")` or
/// `IpAddress(192.0.2.1)`: keep the name.
fn plain_name(name: &str) -> String {
    let inner = match (name.find('('), name.rfind(')')) {
        (Some(open), Some(close)) if open < close => &name[open + 1..close],
        _ => name,
    };
    inner.trim_matches('"').to_owned()
}

/// Whether bytes start like a TLS record (handshake or alert, version 3.x).
pub(crate) fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16, 0x03, ..])
}

/// Bytes as a short printable string: text in quotes, else hex.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(32)];
    if shown
        .iter()
        .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\r' | b'\n'))
    {
        format!("{:?}", String::from_utf8_lossy(shown).trim_end())
    } else {
        let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
        format!("bytes {}", hex.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_length_forms() {
        assert_eq!(
            der_element(&[0x30, 0x01, 0xff]).map(|e| e.content),
            Some(&[0xff][..])
        );
        let long = [&[0x30, 0x81, 0x02][..], &[1, 2, 3]].concat();
        let e = der_element(&long).unwrap();
        assert_eq!(
            (e.whole.len(), e.content, e.rest),
            (5, &[1, 2][..], &[3][..])
        );
        assert!(der_element(&[0x30, 0x05, 1]).is_none());
        assert!(der_element(&[0x30]).is_none());
        assert!(!is_self_signed(b"not a certificate"));
    }

    #[test]
    fn pem_errors_are_readable() {
        let err = parse_pem_certificates(b"hello").unwrap_err();
        assert!(err.contains("no certificate"), "{err}");
        let err = parse_pem_certificates(
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err();
        assert!(err.contains("not valid PEM"), "{err}");
    }

    #[test]
    fn plaintext_and_tls_bytes() {
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(
            handshake_problem(&eof, b"220 mail.example.com ESMTP\r\n"),
            HandshakeProblem::Plaintext("220 mail.example.com ESMTP".into())
        );
        assert_eq!(handshake_problem(&eof, b""), HandshakeProblem::Closed);
        assert!(looks_like_tls(&[0x16, 0x03, 0x01]));
        assert!(!looks_like_tls(b"220 "));
        assert_eq!(printable(b"220 x\r\n"), "\"220 x\"");
        assert_eq!(printable(&[0x16, 0x03]), "bytes 16 03");
        assert_eq!(plain_name("DnsName(\"mx.example.com\")"), "mx.example.com");
        assert_eq!(plain_name("IpAddress(192.0.2.1)"), "192.0.2.1");
        assert_eq!(plain_name("mx.example.com"), "mx.example.com");
    }
}
