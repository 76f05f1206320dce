//! Writing the formatted message to stdout (`--dry-run`) or any writer.

use std::fmt;
use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use notify_core::{Delivery, Notification, Transport, TransportError};

use crate::{format_message, Error};

/// Writes each message to standard output instead of sending it: what
/// `--dry-run` uses.
///
/// The output is exactly the bytes that SMTP would carry, CRLF line endings
/// included, written under one lock of stdout with one `write_all` and a
/// flush, so messages from concurrent sends never interleave. The write is
/// blocking and done inline.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutTransport;

impl StdoutTransport {
    /// The stdout transport.
    pub fn new() -> Self {
        StdoutTransport
    }
}

#[async_trait]
impl Transport for StdoutTransport {
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError> {
        let message = format_message(notification)?;
        {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            write_message(&mut out, &message).map_err(|source| Error::Write {
                target: "standard output",
                source,
            })?;
        }
        Ok(Delivery::new(format!(
            "written to standard output ({} bytes)",
            message.len()
        )))
    }
}

/// Writes each message to a writer of your choice, e.g. a `Vec<u8>` in a
/// test or a file; the generic form of [`StdoutTransport`].
///
/// ```
/// # use notify_core::{Notification, Transport};
/// # use notify_smtp::WriterTransport;
/// # async fn demo(n: &Notification) -> Result<(), Box<dyn std::error::Error>> {
/// let transport = WriterTransport::new(Vec::new());
/// transport.send(n).await?;
/// let bytes: Vec<u8> = transport.into_inner();
/// # Ok(()) }
/// ```
pub struct WriterTransport<W> {
    writer: Mutex<W>,
}

impl<W: Write + Send> WriterTransport<W> {
    /// A transport writing every message to `writer`.
    pub fn new(writer: W) -> Self {
        WriterTransport {
            writer: Mutex::new(writer),
        }
    }

    /// Gives the writer back, e.g. to read what was written.
    pub fn into_inner(self) -> W {
        self.writer
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<W> fmt::Debug for WriterTransport<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterTransport").finish_non_exhaustive()
    }
}

#[async_trait]
impl<W: Write + Send> Transport for WriterTransport<W> {
    async fn send(&self, notification: &Notification) -> Result<Delivery, TransportError> {
        let message = format_message(notification)?;
        {
            let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            write_message(&mut *writer, &message).map_err(|source| Error::Write {
                target: "the writer",
                source,
            })?;
        }
        Ok(Delivery::new(format!("written ({} bytes)", message.len())))
    }
}

fn write_message(out: &mut dyn Write, message: &[u8]) -> io::Result<()> {
    out.write_all(message)?;
    out.flush()
}
