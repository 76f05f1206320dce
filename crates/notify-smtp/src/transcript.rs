//! The SMTP transcript (`-v`): an observer of every byte of the decrypted
//! dialogue, which cuts it into lines and hands each line to a sink, with
//! AUTH payloads redacted and the message body summarized.
//!
//! It only watches: the client (`client.rs`) shows it each write and each
//! read, above TLS, so it sees the plaintext dialogue in every mode. It
//! never reads, writes or holds back a byte of the stream.

use std::fmt;
use std::sync::Arc;

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

    /// Hands `line` to the sink with every unsafe character escaped: the
    /// server's text (and anything quoted from a message) must not drive
    /// the terminal the transcript is shown on.
    fn emit(&self, line: &str) {
        if let Some(sink) = &self.sink {
            sink(&notify_core::text::printable(line, None));
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
    fn server_text_cannot_drive_the_terminal() {
        let (mut t, lines) = recorder();
        t.server_bytes(b"220 mx \x1b]0;PWNED\x07 ready\r\n550 5.1.1 \x1b[2J\r\n");
        let lines = lines.lock().unwrap();
        assert_eq!(
            *lines,
            [
                "S: 220 mx \\u{1b}]0;PWNED\\u{7} ready",
                "S: 550 5.1.1 \\u{1b}[2J"
            ]
        );
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
