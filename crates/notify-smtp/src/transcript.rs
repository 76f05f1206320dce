//! The SMTP transcript (`-v`): a stream adapter that sees every byte of the
//! decrypted dialogue, cuts it into lines and hands each line to a sink,
//! with AUTH payloads redacted and the message body summarized.
//!
//! lettre has no hook for this, so the adapter is the stream lettre is
//! given. It always sits *above* TLS (between rustls and lettre), so it
//! sees the plaintext dialogue in every mode; see `smtp.rs` for how
//! STARTTLS is arranged to keep it there.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use lettre::transport::smtp::client::AsyncTokioStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::tls::Stream;

/// Where transcript lines go.
pub(crate) type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// What the client side of the dialogue is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Commands: shown as they are.
    Commands,
    /// Inside an AUTH exchange: every client line is a credential.
    Auth,
    /// DATA was sent; waiting for the 354.
    DataSent,
    /// Sending the message body, until `CRLF.CRLF`.
    Body,
}

/// Turns the bytes of both directions into redacted transcript lines.
pub(crate) struct Transcript {
    sink: Option<Sink>,
    client: Vec<u8>,
    server: Vec<u8>,
    mode: Mode,
    body_bytes: usize,
    /// The last bytes of the body, to find the `CRLF.CRLF` that ends it.
    body_tail: [u8; 4],
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transcript")
            .field("enabled", &self.sink.is_some())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Longest line kept whole; longer ones are cut (the rest is still
/// counted and dropped).
const MAX_LINE: usize = 2048;

impl Transcript {
    pub(crate) fn new(sink: Option<Sink>) -> Self {
        Transcript {
            sink,
            client: Vec::new(),
            server: Vec::new(),
            mode: Mode::Commands,
            body_bytes: 0,
            body_tail: *b"\0\0\r\n",
        }
    }

    fn emit(&self, line: &str) {
        if let Some(sink) = &self.sink {
            sink(line);
        }
    }

    /// A note of our own ("* connected to ..."), not part of the dialogue.
    pub(crate) fn note(&self, text: &str) {
        self.emit(&format!("* {text}"));
    }

    /// Bytes written by the client.
    pub(crate) fn client_bytes(&mut self, mut bytes: &[u8]) {
        if self.sink.is_none() {
            return;
        }
        while !bytes.is_empty() {
            if self.mode == Mode::Body {
                let consumed = self.body(bytes);
                bytes = &bytes[consumed..];
                continue;
            }
            match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    push_capped(&mut self.client, &bytes[..i]);
                    bytes = &bytes[i + 1..];
                    let line = take_line(&mut self.client);
                    self.client_line(&line);
                }
                None => {
                    push_capped(&mut self.client, bytes);
                    bytes = &[];
                }
            }
        }
    }

    /// Counts body bytes up to and including the final `.CRLF`; returns how
    /// many of `bytes` belonged to the body.
    fn body(&mut self, bytes: &[u8]) -> usize {
        for (i, &b) in bytes.iter().enumerate() {
            self.body_bytes += 1;
            self.body_tail = [self.body_tail[1], self.body_tail[2], self.body_tail[3], b];
            // The body started at the beginning of a line, so the tail was
            // primed with CRLF: an empty body ends at the first ".CRLF".
            if &self.body_tail[1..] == b".\r\n" && self.body_ends_line_before() {
                let size = self.body_bytes.saturating_sub(3);
                self.emit(&format!("C: [message body: {size} bytes]"));
                self.emit("C: .");
                self.mode = Mode::Commands;
                return i + 1;
            }
        }
        bytes.len()
    }

    fn body_ends_line_before(&self) -> bool {
        // body_tail = [x, '.', '\r', '\n']: the byte before the dot must end
        // a line (or the body is empty and the primed CRLF counts).
        self.body_tail[0] == b'\n'
    }

    fn client_line(&mut self, raw: &[u8]) {
        let line = trim_cr(raw);
        let text = String::from_utf8_lossy(line);
        match self.mode {
            Mode::Auth => self.emit("C: [redacted]"),
            Mode::Commands | Mode::DataSent | Mode::Body => {
                let upper = text.to_ascii_uppercase();
                if upper.starts_with("AUTH ") || upper == "AUTH" {
                    let mut words = text.split_whitespace();
                    let verb = words.next().unwrap_or_default();
                    let mechanism = words.next().unwrap_or_default();
                    if words.next().is_some() {
                        self.emit(&format!("C: {verb} {mechanism} [redacted]"));
                    } else {
                        self.emit(format!("C: {verb} {mechanism}").trim_end());
                    }
                    self.mode = Mode::Auth;
                } else {
                    if upper == "DATA" {
                        self.mode = Mode::DataSent;
                    }
                    self.emit(&format!("C: {text}"));
                }
            }
        }
    }

    /// Bytes received from the server (not the replayed greeting).
    pub(crate) fn server_bytes(&mut self, mut bytes: &[u8]) {
        if self.sink.is_none() {
            return;
        }
        while let Some(i) = bytes.iter().position(|&b| b == b'\n') {
            push_capped(&mut self.server, &bytes[..i]);
            bytes = &bytes[i + 1..];
            let line = take_line(&mut self.server);
            self.server_line(&line);
        }
        push_capped(&mut self.server, bytes);
    }

    /// The server closed the connection.
    pub(crate) fn server_eof(&mut self) {
        if self.sink.is_none() {
            return;
        }
        if !self.server.is_empty() {
            let line = take_line(&mut self.server);
            self.server_line(&line);
        }
        self.emit("* the server closed the connection");
    }

    fn server_line(&mut self, raw: &[u8]) {
        let line = trim_cr(raw);
        let text = String::from_utf8_lossy(line);
        self.emit(&format!("S: {text}"));
        let last = line.len() == 3 || line.get(3) == Some(&b' ');
        if !last {
            return;
        }
        let code = &line[..line.len().min(3)];
        match self.mode {
            Mode::Auth if code != b"334" => self.mode = Mode::Commands,
            Mode::DataSent if code == b"354" => {
                self.mode = Mode::Body;
                self.body_bytes = 0;
                self.body_tail = *b"\0\0\r\n";
            }
            Mode::DataSent => self.mode = Mode::Commands,
            _ => {}
        }
    }
}

fn push_capped(buf: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_LINE.saturating_sub(buf.len());
    buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

fn take_line(buf: &mut Vec<u8>) -> Vec<u8> {
    std::mem::take(buf)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The stream handed to lettre: the connection plus the transcript, and
/// bytes to replay before reading from the connection (the greeting we
/// already read ourselves).
///
/// Writes wait in `out` until the next read or shutdown. lettre flushes
/// after every write, and writes a message's body and its final `.` line
/// separately: sent at once, they would make two TLS records and two
/// packets where one does. SMTP always reads a reply after it writes, so a
/// write never waits longer than the read that follows it.
pub(crate) struct Wire {
    stream: Stream,
    transcript: Transcript,
    replay: Vec<u8>,
    replay_pos: usize,
    out: Vec<u8>,
    out_pos: usize,
    /// Bytes were handed to `stream` that it has not flushed yet (a TLS
    /// stream keeps records until flushed, and a pending flush must be
    /// finished before reading, or they never leave).
    unflushed: bool,
    /// When set, a copy of what the server sends (its EHLO reply to lettre,
    /// which lettre parses without keeping the keywords notify needs).
    capture: Option<Vec<u8>>,
}

/// Writes of this size or more skip `out` (after what waits there).
const OUT_CAP: usize = 64 * 1024;

impl fmt::Debug for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wire")
            .field("stream", &self.stream)
            .field("transcript", &self.transcript)
            .finish_non_exhaustive()
    }
}

impl Wire {
    pub(crate) fn new(stream: Stream, transcript: Transcript) -> Self {
        Wire {
            stream,
            transcript,
            replay: Vec::new(),
            replay_pos: 0,
            out: Vec::new(),
            out_pos: 0,
            unflushed: false,
            capture: None,
        }
    }

    /// Starts keeping a copy of what the server sends.
    pub(crate) fn start_capture(&mut self) {
        self.capture = Some(Vec::new());
    }

    /// What the server sent since [`Wire::start_capture`]; stops keeping.
    pub(crate) fn take_capture(&mut self) -> Vec<u8> {
        self.capture.take().unwrap_or_default()
    }

    /// Whether anything written still has to go out.
    fn has_pending(&self) -> bool {
        !self.out.is_empty() || self.unflushed
    }

    /// Sends what waits in `out`, then flushes the stream until it has
    /// sent everything (also what earlier direct writes left in it).
    fn poll_send_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.out[self.out_pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_pos += n;
            self.unflushed = true;
        }
        self.out.clear();
        self.out_pos = 0;
        if self.unflushed {
            ready!(Pin::new(&mut self.stream).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// Bytes the next reads return before anything from the connection;
    /// they are not logged again.
    pub(crate) fn set_replay(&mut self, bytes: Vec<u8>) {
        self.replay = bytes;
        self.replay_pos = 0;
    }

    /// The stream and transcript back, after a read (so nothing waits in
    /// `out`).
    pub(crate) fn into_parts(self) -> (Stream, Transcript) {
        debug_assert!(!self.has_pending(), "unsent bytes in the Wire");
        (self.stream, self.transcript)
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.has_pending() {
            ready!(this.poll_send_out(cx))?;
        }
        if this.replay_pos < this.replay.len() {
            let rest = &this.replay[this.replay_pos..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.replay_pos += n;
            if this.replay_pos == this.replay.len() {
                this.replay = Vec::new();
                this.replay_pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        if new.is_empty() {
            if buf.remaining() > 0 {
                this.transcript.server_eof();
            }
        } else {
            this.transcript.server_bytes(new);
            if let Some(capture) = &mut this.capture {
                capture.extend_from_slice(new);
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.out.len() + buf.len() > OUT_CAP && !this.out.is_empty() {
            ready!(this.poll_send_out(cx))?;
        }
        let n = if buf.len() >= OUT_CAP {
            let n = ready!(Pin::new(&mut this.stream).poll_write(cx, buf))?;
            this.unflushed = true;
            n
        } else {
            this.out.extend_from_slice(buf);
            buf.len()
        };
        this.transcript.client_bytes(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    /// Deferred to the next read or shutdown (see [`Wire`]).
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_out(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Wire {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }
}

/// One [`Wire`] with two handles: lettre reads and writes through one, and
/// notify through the other when it pipelines MAIL, RCPT and DATA (lettre
/// waits for each reply). They take turns, never overlap: a handle is only
/// used while the other's owner waits for it.
#[derive(Debug, Clone)]
pub(crate) struct Shared(Arc<Mutex<Wire>>);

impl Shared {
    pub(crate) fn new(wire: Wire) -> Self {
        Shared(Arc::new(Mutex::new(wire)))
    }

    /// The wire (a panic elsewhere cannot leave it half-changed in a way
    /// that matters here, so a poisoned lock is taken as it is).
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Wire> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl AsyncRead for Shared {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_read(cx, buf)
    }
}

impl AsyncWrite for Shared {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.lock()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Shared {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.lock().peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn recorder() -> (Transcript, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        let sink: Sink = Arc::new(move |line: &str| seen.lock().unwrap().push(line.to_owned()));
        (Transcript::new(Some(sink)), lines)
    }

    #[test]
    fn dialogue_with_auth_plain_and_body() {
        let (mut t, lines) = recorder();
        t.server_bytes(b"220 mx ESMTP\r\n250-mx\r\n");
        t.server_bytes(b"250 AUTH PLAIN LOGIN\r\n");
        t.client_bytes(b"AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
        t.server_bytes(b"235 2.7.0 ok\r\n");
        t.client_bytes(b"MAIL FROM:<a@b>\r\n");
        t.client_bytes(b"DATA\r\n");
        t.server_bytes(b"354 go ahead\r\n");
        t.client_bytes(b"Subject: x\r\n\r\nsecret body\r\n..dot\r\n");
        t.client_bytes(b"\r\n.\r\n");
        t.server_bytes(b"250 ok\r\n");
        t.client_bytes(b"QUIT\r\n");
        let lines = lines.lock().unwrap().clone();
        assert_eq!(
            lines,
            [
                "S: 220 mx ESMTP",
                "S: 250-mx",
                "S: 250 AUTH PLAIN LOGIN",
                "C: AUTH PLAIN [redacted]",
                "S: 235 2.7.0 ok",
                "C: MAIL FROM:<a@b>",
                "C: DATA",
                "S: 354 go ahead",
                "C: [message body: 36 bytes]",
                "C: .",
                "S: 250 ok",
                "C: QUIT",
            ]
        );
    }

    #[test]
    fn login_continuations_are_redacted() {
        let (mut t, lines) = recorder();
        t.client_bytes(b"AUTH LOGIN\r\n");
        t.server_bytes(b"334 VXNlcm5hbWU6\r\n");
        t.client_bytes(b"dXNlcg==\r\n");
        t.server_bytes(b"334 UGFzc3dvcmQ6\r\n");
        t.client_bytes(b"cGFzcw==\r\n");
        t.server_bytes(b"535 5.7.8 no\r\n");
        t.client_bytes(b"QUIT\r\n");
        let lines = lines.lock().unwrap().clone();
        assert_eq!(
            lines,
            [
                "C: AUTH LOGIN",
                "S: 334 VXNlcm5hbWU6",
                "C: [redacted]",
                "S: 334 UGFzc3dvcmQ6",
                "C: [redacted]",
                "S: 535 5.7.8 no",
                "C: QUIT",
            ]
        );
    }

    #[test]
    fn refused_data_and_split_writes() {
        let (mut t, lines) = recorder();
        t.client_bytes(b"DA");
        t.client_bytes(b"TA\r\n");
        t.server_bytes(b"451 4.3.0 later\r");
        t.server_bytes(b"\n");
        t.client_bytes(b"RSET\r\n");
        t.server_bytes(b"250 partial");
        t.server_eof();
        let lines = lines.lock().unwrap().clone();
        assert_eq!(
            lines,
            [
                "C: DATA",
                "S: 451 4.3.0 later",
                "C: RSET",
                "S: 250 partial",
                "* the server closed the connection",
            ]
        );
    }

    #[test]
    fn empty_body_ends_at_first_dot_line() {
        let (mut t, lines) = recorder();
        t.client_bytes(b"DATA\r\n");
        t.server_bytes(b"354 go\r\n");
        t.client_bytes(b".\r\nNOOP\r\n");
        let lines = lines.lock().unwrap().clone();
        assert_eq!(
            lines,
            [
                "C: DATA",
                "S: 354 go",
                "C: [message body: 0 bytes]",
                "C: .",
                "C: NOOP"
            ]
        );
    }
}
