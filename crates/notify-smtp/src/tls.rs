//! TLS for the SMTP transport: our own rustls client configuration (ring
//! provider, the system's trusted certificates plus the account's
//! `ca_file`), a certificate verifier that says *why* a certificate was
//! refused and who vouched for it, and the stream types the SMTP dialogue
//! runs over.
//!
//! Trust anchors are the certificates the system trusts
//! ([`SystemRoots`]): on Linux and the BSDs the CA bundle OpenSSL would use
//! (`/etc/ssl/certs/ca-certificates.crt` and its kin, found by
//! `openssl-probe`), or what `SSL_CERT_FILE`/`SSL_CERT_DIR` name; the
//! Keychain on macOS; the certificate store on Windows; all read by
//! `rustls-native-certs`. So a company CA installed system-wide
//! (`update-ca-certificates`) needs no `ca_file`, as with curl and msmtp.
//! Where the system has none (a minimal container, a NAS without the
//! bundle), Mozilla's roots compiled in through `webpki-roots` stand in,
//! so a notification never depends on a package the user never installed.
//! `ca_file` adds to either.
//!
//! `rustls-native-certs` rather than `rustls-platform-verifier`: the
//! roots end up in notify's own verifier, so a refusal is explained the
//! same way everywhere (self-signed, unknown CA, expired, wrong name),
//! `notify doctor` can say which store vouched for a certificate, and
//! the compiled-in fallback is possible; the platform verifier would hand
//! the decision to the OS and give neither.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
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

use crate::x509;

/// How many bytes the server sent first are kept, to recognise a plaintext
/// SMTP greeting where a TLS handshake was expected.
const SNIFF_LEN: usize = 64;

/// Which certificates the system trusts, as notify reads them (see the
/// module's documentation); the account's `ca_file` adds to them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SystemRoots {
    /// The platform's store: the CA bundle OpenSSL would use on Linux and
    /// the BSDs, the Keychain on macOS, the certificate store on Windows.
    /// Mozilla's roots when it holds none.
    #[default]
    Platform,
    /// Only the certificates in `file` (PEM, any number) and the files in
    /// `dirs`: what `SSL_CERT_FILE` and `SSL_CERT_DIR` name, `named_by`
    /// saying so in messages. Mozilla's roots when they hold none.
    Paths {
        /// A PEM bundle.
        file: Option<PathBuf>,
        /// Directories of PEM files (`openssl rehash` style).
        dirs: Vec<PathBuf>,
        /// What named them, for messages (`SSL_CERT_FILE`).
        named_by: String,
    },
    /// Mozilla's roots compiled into notify, whatever the system has.
    Compiled,
}

/// The trust anchors [`SystemRoots`] stands for, loaded once per process.
#[derive(Debug)]
pub(crate) struct Roots {
    pub store: RootCertStore,
    /// What vouches through them, for messages: `the system's
    /// certificates (/etc/ssl/certs/ca-certificates.crt, 146)`.
    pub label: String,
}

impl SystemRoots {
    /// The loaded roots, from a per-process cache: reading and parsing a
    /// system bundle takes milliseconds, once.
    pub(crate) fn load(&self) -> Arc<Roots> {
        static CACHE: Mutex<Vec<(SystemRoots, Arc<Roots>)>> = Mutex::new(Vec::new());
        let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, roots)) = cache.iter().find(|(key, _)| key == self) {
            return roots.clone();
        }
        let roots = Arc::new(self.read());
        cache.push((self.clone(), roots.clone()));
        roots
    }

    fn read(&self) -> Roots {
        let (loaded, place) = match self {
            SystemRoots::Compiled => return compiled("Mozilla's roots compiled into notify"),
            SystemRoots::Paths {
                file,
                dirs,
                named_by,
            } => {
                let shown: Vec<String> = file
                    .iter()
                    .chain(dirs)
                    .map(|p| p.display().to_string())
                    .collect();
                (
                    load_paths(file.as_deref(), dirs),
                    format!(
                        "the certificates named by {named_by} ({})",
                        shown.join(", ")
                    ),
                )
            }
            SystemRoots::Platform => platform(),
        };
        let mut store = RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(loaded.certs);
        if added == 0 {
            let why = loaded
                .errors
                .first()
                .map_or_else(|| "it holds none".to_owned(), ToString::to_string);
            return compiled(&format!(
                "Mozilla's roots compiled into notify (no certificate in {place}: {why})"
            ));
        }
        Roots {
            store,
            label: format!(
                "{place}, {added} certificate{}",
                if added == 1 { "" } else { "s" }
            ),
        }
    }
}

fn compiled(label: &str) -> Roots {
    Roots {
        store: RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
        label: label.to_owned(),
    }
}

/// The certificates of `file` and `dirs`.
fn load_paths(file: Option<&Path>, dirs: &[PathBuf]) -> rustls_native_certs::CertificateResult {
    let mut out = rustls_native_certs::load_certs_from_paths(file, None);
    for dir in dirs {
        let more = rustls_native_certs::load_certs_from_paths(None, Some(dir));
        out.certs.extend(more.certs);
        out.errors.extend(more.errors);
    }
    out
}

/// The platform's certificates, and where they came from.
#[cfg(all(unix, not(target_os = "macos")))]
fn platform() -> (rustls_native_certs::CertificateResult, String) {
    let probe = openssl_probe::probe();
    // The bundle holds what the directory holds (Debian, Fedora, Alpine):
    // the directory is read only when there is no bundle.
    if let Some(file) = probe.cert_file {
        let loaded = rustls_native_certs::load_certs_from_paths(Some(&file), None);
        if !loaded.certs.is_empty() {
            return (
                loaded,
                format!("the system's certificates ({})", file.display()),
            );
        }
    }
    let shown: Vec<String> = probe
        .cert_dir
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if shown.is_empty() {
        return (
            rustls_native_certs::CertificateResult::default(),
            "the system (no CA bundle was found)".to_owned(),
        );
    }
    (
        load_paths(None, &probe.cert_dir),
        format!("the system's certificates ({})", shown.join(", ")),
    )
}

#[cfg(target_os = "macos")]
fn platform() -> (rustls_native_certs::CertificateResult, String) {
    (
        rustls_native_certs::load_native_certs(),
        "the macOS Keychain".to_owned(),
    )
}

#[cfg(windows)]
fn platform() -> (rustls_native_certs::CertificateResult, String) {
    (
        rustls_native_certs::load_native_certs(),
        "the Windows certificate store".to_owned(),
    )
}

#[cfg(not(any(unix, windows)))]
fn platform() -> (rustls_native_certs::CertificateResult, String) {
    (
        rustls_native_certs::CertificateResult::default(),
        "this system (no certificate store is known here)".to_owned(),
    )
}

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

/// Builds the client configuration: the `system` roots plus `extra`, or
/// no chain validation at all when `accept_invalid` is set (handshake
/// signatures are still checked, so the connection is still bound to the
/// key in the certificate it got).
pub(crate) fn client_config(
    extra: &[CertificateDer<'static>],
    system: &SystemRoots,
    accept_invalid: bool,
) -> Result<Arc<ClientConfig>, String> {
    build_config(extra, &system.load(), accept_invalid, None)
}

/// [`client_config`], with a verifier that also keeps the chain the server
/// presented and what webpki thought of it in `record` (for `notify
/// doctor`): the handshake itself succeeds or fails exactly as with
/// [`client_config`].
pub(crate) fn recording_client_config(
    extra: &[CertificateDer<'static>],
    system: &SystemRoots,
    accept_invalid: bool,
    record: Arc<Presented>,
) -> Result<Arc<ClientConfig>, String> {
    build_config(extra, &system.load(), accept_invalid, Some(record))
}

/// A root store of `extra` alone.
fn extra_store(extra: &[CertificateDer<'static>]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in extra.iter().enumerate() {
        roots.add(cert.clone()).map_err(|err| {
            format!(
                "certificate #{} cannot be used as a trust anchor: {err}",
                i + 1
            )
        })?;
    }
    Ok(roots)
}

fn build_config(
    extra: &[CertificateDer<'static>],
    system: &Roots,
    accept_invalid: bool,
    record: Option<Arc<Presented>>,
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(ring::default_provider());
    let own = extra_store(extra)?;
    let mut roots = system.store.clone();
    roots.roots.extend(own.roots.iter().cloned());
    let verifier_of = |roots: RootCertStore| {
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|err| format!("cannot build the certificate verifier: {err}"))
    };
    let inner = verifier_of(roots)?;
    // Only to tell who vouched (`notify doctor`): the account's own
    // certificates alone.
    let record = match record {
        Some(record) => Some(Recording {
            presented: record,
            ca_file_only: if own.is_empty() {
                None
            } else {
                Some(verifier_of(own)?)
            },
            system_label: system.label.clone(),
        }),
        None => None,
    };
    let verifier = Arc::new(Verifier {
        inner,
        accept_invalid,
        record,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("cannot set up TLS: {err}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// webpki's verifier, plus three things: it tells a self-signed
/// certificate apart from one of an unknown CA, it can be told to accept
/// any certificate (`accept_invalid_certs`), and it can keep what it saw.
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    accept_invalid: bool,
    record: Option<Recording>,
}

/// What a recording verifier needs besides the chain's place.
#[derive(Debug)]
struct Recording {
    presented: Arc<Presented>,
    /// A verifier trusting the account's `ca_file` only.
    ca_file_only: Option<Arc<WebPkiServerVerifier>>,
    /// [`Roots::label`] of the system roots in use.
    system_label: String,
}

/// Who vouched for a certificate that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Vouched {
    /// The account's `ca_file`.
    CaFile,
    /// The system's roots (or the compiled-in ones), by [`Roots::label`].
    System(String),
}

/// The certificate chain a server presented, and why webpki would refuse
/// it (`None`: it verified).
#[derive(Debug, Clone)]
pub(crate) struct PresentedChain {
    /// The server's own certificate first, then the intermediates it sent.
    pub chain: Vec<CertificateDer<'static>>,
    /// webpki's objection, even when `accept_invalid_certs` overrode it.
    pub problem: Option<HandshakeProblem>,
    /// Who vouched for it, when it verified.
    pub vouched: Option<Vouched>,
}

/// Where a recording verifier puts the last chain it was shown.
#[derive(Debug, Default)]
pub(crate) struct Presented(Mutex<Option<PresentedChain>>);

impl Presented {
    /// The recorded chain, if the handshake got that far.
    pub(crate) fn take(&self) -> Option<PresentedChain> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn set(&self, chain: PresentedChain) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(chain);
    }
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
        let strict = match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
                if is_self_signed(end_entity.as_ref()) =>
            {
                Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                    OtherError(Arc::new(CertProblem::SelfSigned)),
                )))
            }
            other => other,
        };
        if let Some(record) = &self.record {
            let vouched = strict.is_ok().then(|| {
                let by_ca_file = record.ca_file_only.as_ref().is_some_and(|own| {
                    own.verify_server_cert(
                        end_entity,
                        intermediates,
                        server_name,
                        ocsp_response,
                        now,
                    )
                    .is_ok()
                });
                if by_ca_file {
                    Vouched::CaFile
                } else {
                    Vouched::System(record.system_label.clone())
                }
            });
            record.presented.set(PresentedChain {
                vouched,
                chain: std::iter::once(end_entity)
                    .chain(intermediates)
                    .map(|c| c.clone().into_owned())
                    .collect(),
                problem: strict.as_ref().err().map(|err| match err {
                    rustls::Error::InvalidCertificate(cert) => certificate_problem(cert),
                    other => HandshakeProblem::Other(other.to_string()),
                }),
            });
        }
        match strict {
            Ok(verified) => Ok(verified),
            Err(_) if self.accept_invalid => Ok(ServerCertVerified::assertion()),
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

/// Whether an X.509 certificate names itself as its issuer.
fn is_self_signed(cert: &[u8]) -> bool {
    x509::is_self_issued(cert)
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

    /// "TLS 1.3, TLS13_AES_256_GCM_SHA384", for people.
    pub(crate) fn tls_description(&self) -> Option<String> {
        let Stream::Tls(s) = self else {
            return None;
        };
        let conn = s.get_ref().1;
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
            Some(other) => format!("{other:?}"),
            None => "TLS".to_owned(),
        };
        Some(match conn.negotiated_cipher_suite() {
            Some(suite) => format!("{version}, {:?}", suite.suite()),
            None => version,
        })
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
    fn self_signed_needs_a_certificate() {
        assert!(!is_self_signed(b"not a certificate"));
        assert!(!is_self_signed(b""));
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

    #[test]
    fn the_platform_store_is_read_and_named() {
        let roots = SystemRoots::Platform.load();
        assert!(!roots.store.is_empty());
        let bundle = "/etc/ssl/certs/ca-certificates.crt";
        if Path::new(bundle).exists() {
            assert!(
                roots
                    .label
                    .starts_with(&format!("the system's certificates ({bundle}), ")),
                "{}",
                roots.label
            );
        }
        // Loaded once per process.
        assert!(Arc::ptr_eq(&roots, &SystemRoots::Platform.load()));
    }

    #[test]
    fn an_empty_or_missing_store_falls_back_to_mozillas_roots() {
        let roots = SystemRoots::Paths {
            file: Some(PathBuf::from("/nonexistent/notify-ca.pem")),
            dirs: Vec::new(),
            named_by: "SSL_CERT_FILE".into(),
        }
        .load();
        assert_eq!(roots.store.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        assert!(
            roots.label.starts_with(
                "Mozilla's roots compiled into notify (no certificate in the certificates \
                 named by SSL_CERT_FILE (/nonexistent/notify-ca.pem): "
            ),
            "{}",
            roots.label
        );
        assert_eq!(
            SystemRoots::Compiled.load().label,
            "Mozilla's roots compiled into notify"
        );
    }
}
