use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A notification ready to deliver: addresses, rendered subject and bodies.
///
/// Plain data, so a queue can store it and a test can compare it; it never
/// holds a secret. Addresses are RFC 5322 mailboxes as text
/// (`Backups <backup@example.com>` or `ops@example.com`); a transport
/// validates them when it builds the message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Notification {
    /// The sender. A transport may fill in its own default when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Copy recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Blind-copy recipients: in the envelope, never in a header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    /// Where replies should go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The subject line, already free of line breaks.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// An HTML alternative of the body; the message becomes
    /// `multipart/alternative` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Files to attach (e.g. the job's log).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The Message-ID (with angle brackets), fixed once so that a retried
    /// delivery keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The Date header; when absent the transport uses the time of sending.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub date: Option<OffsetDateTime>,
    /// How the run it reports went, when it reports one. Transports may
    /// use it: the desktop transport marks a failure critical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::Outcome>,
    /// The task result it reports, for transports that send data rather
    /// than a letter (a webhook's JSON, a Healthchecks ping's exit code and
    /// log). Email transports ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Box<crate::TaskResult>>,
    /// An id shared by everything sent about one run (Healthchecks' `rid`,
    /// a UUID): the start ping and the end ping carry the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// A whole RFC 5322 message written by another program (what a
    /// `sendmail` command reads): email transports send these bytes as
    /// they are, with the envelope taken from `from` and `to` + `cc` +
    /// `bcc`; `subject` then only names it (in logs and queue listings).
    /// Other transports ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_message: Option<Vec<u8>>,
}

impl Notification {
    /// A notification with `subject` and plain-text body `text`; set the
    /// other fields (recipients, HTML, attachments, ...) as needed.
    ///
    /// ```
    /// use notify_core::{Notification, Outcome};
    /// let mut n = Notification::new("backup: failed", "borg exited with code 2");
    /// n.to = vec!["ops@example.com".into()];
    /// n.outcome = Some(Outcome::Failure);
    /// ```
    pub fn new(subject: impl Into<String>, text: impl Into<String>) -> Self {
        Notification {
            subject: subject.into(),
            text: text.into(),
            ..Notification::default()
        }
    }
}

/// A file attached to a [`Notification`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attachment {
    /// The file name shown to the reader.
    pub filename: String,
    /// The MIME type, e.g. `text/plain; charset=utf-8`.
    pub content_type: String,
    /// The content.
    pub data: Vec<u8>,
}

impl Attachment {
    /// A file named `filename` of MIME type `content_type` (e.g.
    /// `text/plain; charset=utf-8`) holding `data`.
    pub fn new(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        Attachment {
            filename: filename.into(),
            content_type: content_type.into(),
            data: data.into(),
        }
    }
}

/// What a transport reports after a successful delivery, e.g. the server's
/// reply or the path of the file written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// One line for the user: where the message went.
    pub detail: String,
}

impl Delivery {
    /// A delivery described by `detail` (the server's reply, a file's path).
    pub fn new(detail: impl Into<String>) -> Self {
        Delivery {
            detail: detail.into(),
        }
    }
}

/// Whether a failed delivery is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// May work later (connection refused, timeout, 4xx): queue and retry.
    Temporary,
    /// Will not work as it is (5xx, rejected recipient, authentication
    /// refused, an unwritable Maildir): report it.
    Permanent,
    /// The message or the transport's settings are wrong (a malformed
    /// address, a missing setting): fix the configuration.
    Config,
}

/// Why a delivery failed, and what the user could do about it.
///
/// Besides its kind, message, hint and source, an error carries the
/// transport's own typed facts as *details*: any value a transport attaches
/// with [`with_detail`](Self::with_detail) and a caller that knows the
/// transport reads back by type with [`detail`](Self::detail) (the SMTP
/// transport attaches the step, reply code, enhanced status and refused
/// recipient, and a hint as data for the caller to word). Details are not
/// part of the message or the source chain, so printing the error shows
/// each fact once.
pub struct TransportError {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    details: Vec<Box<dyn Detail>>,
}

/// A value attached with [`TransportError::with_detail`].
trait Detail: std::any::Any + fmt::Debug + Send + Sync {}

impl<T: std::any::Any + fmt::Debug + Send + Sync> Detail for T {}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("hint", &self.hint)
            .field("source", &self.source)
            .field("details", &self.details)
            .finish()
    }
}

impl TransportError {
    /// A new error of `kind` with a one-line message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
            hint: None,
            source: None,
            details: Vec::new(),
        }
    }

    /// Adds a hint: what the user can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Attaches a typed fact of the transport (its reply code, the step that
    /// failed, a hint as data); [`detail`](Self::detail) finds it by type.
    /// A second detail of the same type is kept but not found.
    pub fn with_detail<T: std::any::Any + fmt::Debug + Send + Sync>(mut self, detail: T) -> Self {
        self.details.push(Box::new(detail));
        self
    }

    /// The detail of type `T`, if the transport attached one.
    pub fn detail<T: std::any::Any>(&self) -> Option<&T> {
        self.details.iter().find_map(|d| {
            let any: &dyn std::any::Any = &**d;
            any.downcast_ref::<T>()
        })
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The hint, if there is one.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Temporary
    }

    /// Whether retrying will not help.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// What [`Transport::send_batch`] reports after each notification: its
/// index in the batch and how its delivery went.
pub type BatchReport<'a> = dyn FnMut(usize, Result<Delivery, TransportError>) + Send + 'a;

/// Delivers a rendered [`Notification`]: SMTP, a Maildir, stdout, or a test
/// double of your own. One required method, so a stub is a few lines.
///
/// With the `mock` feature, `MockTransport` (generated by mockall) stands in
/// for it in tests that want to set expectations on each call.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Transport: Send + Sync {
    /// Delivers one notification.
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError>;

    /// Delivers several notifications in order and reports each one to
    /// `report` as soon as its delivery is settled, so that a queue can
    /// remove an entry the moment the server has accepted it.
    ///
    /// The default sends them one by one through [`send`](Self::send); a
    /// transport with a costly setup (an SMTP connection, a login) overrides
    /// it to share that setup across the batch. Every notification is
    /// reported exactly once, failures included.
    async fn send_batch<'a>(
        &self,
        notifications: &[&'a Notification],
        report: &mut BatchReport<'a>,
    ) {
        for (i, notification) in notifications.iter().enumerate() {
            report(i, self.send(notification).await);
        }
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Box<T> {
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError> {
        (**self).send(notification).await
    }

    async fn send_batch<'a>(
        &self,
        notifications: &[&'a Notification],
        report: &mut BatchReport<'a>,
    ) {
        (**self).send_batch(notifications, report).await
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError> {
        (**self).send(notification).await
    }

    async fn send_batch<'a>(
        &self,
        notifications: &[&'a Notification],
        report: &mut BatchReport<'a>,
    ) {
        (**self).send_batch(notifications, report).await
    }
}

/// A transport that records every notification it is given and answers as
/// told: for tests of code that sends.
///
/// Clones share one record, so a test can keep a clone and inspect it after
/// handing the other to the code under test.
///
/// ```
/// # use notify_core::{ErrorKind, StubTransport};
/// let stub = StubTransport::new_ok();
/// let seen = stub.clone();
/// stub.fail_next(ErrorKind::Temporary, "451 try again later");
/// // ... hand `stub` to the code under test, which sends ...
/// assert!(seen.messages().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct StubTransport {
    inner: Arc<Mutex<StubInner>>,
}

#[derive(Debug)]
struct StubInner {
    messages: Vec<Notification>,
    fail_with: Option<(ErrorKind, String)>,
    fail_next: Vec<(ErrorKind, String)>,
}

impl StubTransport {
    fn with(fail_with: Option<(ErrorKind, String)>) -> Self {
        StubTransport {
            inner: Arc::new(Mutex::new(StubInner {
                messages: Vec::new(),
                fail_with,
                fail_next: Vec::new(),
            })),
        }
    }

    /// A stub whose every delivery succeeds.
    pub fn new_ok() -> Self {
        Self::with(None)
    }

    /// A stub whose every delivery fails with an error of `kind` carrying
    /// `message`. The attempts are still recorded.
    pub fn new_error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::with(Some((kind, message.into())))
    }

    /// Makes the next delivery fail with an error of `kind`; later ones
    /// behave as before. Calls queue up.
    pub fn fail_next(&self, kind: ErrorKind, message: impl Into<String>) {
        self.lock().fail_next.push((kind, message.into()));
    }

    /// Every notification given to `send` so far, in order.
    pub fn messages(&self) -> Vec<Notification> {
        self.lock().messages.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StubInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Transport for StubTransport {
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError> {
        let mut inner = self.lock();
        inner.messages.push(notification.clone());
        let failure = if inner.fail_next.is_empty() {
            inner.fail_with.clone()
        } else {
            Some(inner.fail_next.remove(0))
        };
        match failure {
            Some((kind, message)) => Err(TransportError::new(kind, message)),
            None => Ok(Delivery {
                detail: format!("recorded by the stub transport (#{})", inner.messages.len()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_found_by_type_and_stay_out_of_the_text() {
        #[derive(Debug, PartialEq)]
        struct Code(u16);
        let err = TransportError::new(ErrorKind::Permanent, "refused")
            .with_detail(Code(550))
            .with_detail("a str");
        assert_eq!(err.detail::<Code>(), Some(&Code(550)));
        assert_eq!(err.detail::<&str>(), Some(&"a str"));
        assert_eq!(err.detail::<u16>(), None);
        assert_eq!(err.to_string(), "refused");
        assert!(std::error::Error::source(&err).is_none());
        assert!(format!("{err:?}").contains("Code(550)"));
    }

    fn notification(subject: &str) -> Notification {
        Notification {
            subject: subject.to_owned(),
            ..Notification::default()
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        // The stub never waits, so one poll settles each future.
        let mut future = std::pin::pin!(future);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the stub transport never waits"),
        }
    }

    #[test]
    fn the_default_batch_sends_each_in_order_and_reports_every_one() {
        let stub = StubTransport::new_ok();
        stub.fail_next(ErrorKind::Temporary, "451 later");
        let (a, b, c) = (notification("a"), notification("b"), notification("c"));
        let mut seen = Vec::new();
        block_on(stub.send_batch(&[&a, &b, &c], &mut |i, r| {
            seen.push((i, r.map_err(|e| e.kind())));
        }));
        let subjects: Vec<_> = stub.messages().into_iter().map(|n| n.subject).collect();
        assert_eq!(subjects, ["a", "b", "c"]);
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], (0, Err(ErrorKind::Temporary)));
        assert!(seen[1].1.is_ok() && seen[2].1.is_ok());
        assert_eq!((seen[1].0, seen[2].0), (1, 2));
    }

    #[test]
    fn a_boxed_transport_passes_the_batch_on() {
        let stub = StubTransport::new_ok();
        let boxed: Box<dyn Transport> = Box::new(stub.clone());
        let a = notification("a");
        let mut count = 0;
        block_on(boxed.send_batch(&[&a, &a], &mut |_, r| {
            assert!(r.is_ok());
            count += 1;
        }));
        assert_eq!(count, 2);
        assert_eq!(stub.messages().len(), 2);
    }
}
