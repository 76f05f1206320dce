//! The SMTP client: the one owner of a connection's stream once it is
//! connected. It writes every command, reads every reply (parsed by
//! `smtp-proto`: multi-line replies, enhanced status codes, EHLO
//! capabilities), holds each read and write under the timeout, and shows
//! both directions to the transcript, which only watches.
//!
//! What makes it fast is here too: a message's body and its final `.` go
//! out in one write (one TLS record, one packet for a small message), the
//! envelope in one write where the server offers PIPELINING (see
//! `smtp.rs`), and [`Conn::quit`] does not wait for the 221.

use std::time::Duration;

use base64::Engine as _;
use notify_core::ErrorKind;
use smtp_proto::response::parser::ResponseReceiver;
use smtp_proto::EhloResponse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use crate::classify::{self, Ctx, Failure};
use crate::failure::{EnhancedStatus, Step};
use crate::hint::Hint;
use crate::tls::{self, Sniff, Stream};
use crate::transcript::Transcript;

/// One reply of the server.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    /// The enhanced status code (RFC 3463), when the server sent one.
    pub(crate) enhanced: Option<[u8; 3]>,
    /// The text of each line, without the codes.
    lines: Vec<String>,
}

impl Reply {
    /// The text after the code on one line: the enhanced status code (if
    /// any), then each line's text, joined by spaces.
    pub(crate) fn text(&self) -> String {
        let text = self.lines.join(" ");
        match self.enhanced {
            Some([a, b, c]) if text.is_empty() => format!("{a}.{b}.{c}"),
            Some([a, b, c]) => format!("{a}.{b}.{c} {text}"),
            None => text,
        }
    }

    fn from_response(response: smtp_proto::Response<String>) -> Reply {
        Reply {
            code: response.code,
            enhanced: Some(response.esc).filter(|e| *e != [0, 0, 0]),
            lines: response.message.split('\n').map(str::to_owned).collect(),
        }
    }

    /// The first reply in `bytes` and the bytes it took (tests).
    #[cfg(test)]
    pub(crate) fn parse(bytes: &[u8]) -> (Reply, Vec<u8>) {
        let mut parser = ResponseReceiver::default();
        let mut rest = bytes.iter();
        let response = parser.parse(&mut rest).expect("a whole reply");
        let end = bytes.len() - rest.len();
        (Reply::from_response(response), bytes[..end].to_vec())
    }

    /// The enhanced status code, for callers.
    pub(crate) fn enhanced_status(&self) -> Option<EnhancedStatus> {
        self.enhanced
            .map(|[a, b, c]| EnhancedStatus::new(a.into(), b.into(), c.into()))
    }

    pub(crate) fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

/// What the server's EHLO reply offers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ehlo {
    /// The capability lines as sent (without the server's name on the
    /// first line), for `notify doctor`.
    pub(crate) lines: Vec<String>,
    extensions: u32,
    mechanisms: u64,
}

impl Ehlo {
    /// The EHLO reply in `bytes` (tests).
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: &[u8]) -> Ehlo {
        let (reply, raw) = Reply::parse(bytes);
        Ehlo::parse(&reply, &raw).expect("an EHLO reply")
    }

    fn parse(reply: &Reply, raw: &[u8]) -> Result<Ehlo, smtp_proto::Error> {
        let parsed = EhloResponse::parse(&mut raw.iter())?;
        Ok(Ehlo {
            lines: reply
                .lines
                .iter()
                .skip(1)
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect(),
            extensions: parsed.capabilities,
            mechanisms: parsed.auth_mechanisms,
        })
    }

    pub(crate) fn starttls(&self) -> bool {
        self.extensions & smtp_proto::EXT_START_TLS != 0
    }

    pub(crate) fn pipelining(&self) -> bool {
        self.extensions & smtp_proto::EXT_PIPELINING != 0
    }

    pub(crate) fn eight_bit_mime(&self) -> bool {
        self.extensions & smtp_proto::EXT_8BIT_MIME != 0
    }

    pub(crate) fn smtputf8(&self) -> bool {
        self.extensions & smtp_proto::EXT_SMTP_UTF8 != 0
    }

    /// Whether the server lists AUTH at all.
    pub(crate) fn auth(&self) -> bool {
        self.extensions & smtp_proto::EXT_AUTH != 0
    }

    /// The mechanisms the AUTH line lists, as sent (`CRAM-MD5 DIGEST-MD5`),
    /// when there is one.
    pub(crate) fn auth_mechanisms(&self) -> Option<String> {
        self.lines.iter().find_map(|line| {
            let upper = line.to_ascii_uppercase();
            let rest = upper
                .strip_prefix("AUTH ")
                .or_else(|| upper.strip_prefix("AUTH="))?;
            Some(crate::classify::one_line(&line[line.len() - rest.len()..]))
        })
    }

    /// Whether AUTH lists a mechanism (one of `smtp_proto::AUTH_*`).
    pub(crate) fn offers(&self, mechanism: u64) -> bool {
        self.mechanisms & mechanism != 0
    }
}

/// Why a reply could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(std::io::Error),
    Eof,
    NotSmtp(Vec<u8>),
    TooLong,
}

/// The most a reply may take before it counts as over-long (Postfix's
/// `smtp_response_limit`; smtp-proto caps each reply's text at 4 KiB).
const MAX_REPLY: usize = 100_000;

/// A connection in the SMTP dialogue: the stream, what was received and
/// not yet parsed, and the transcript.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: Stream,
    transcript: Transcript,
    received: Vec<u8>,
    timeout: Duration,
}

impl Conn {
    pub(crate) fn new(stream: Stream, transcript: Transcript, timeout: Duration) -> Self {
        Conn {
            stream,
            transcript,
            received: Vec::new(),
            timeout,
        }
    }

    pub(crate) fn encrypted(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// The plaintext stream back for the STARTTLS handshake, with the
    /// transcript. Fails when the server has sent anything after its 220
    /// (the STARTTLS command-injection attack) or the stream is TLS
    /// already.
    pub(crate) fn into_plain(self, ctx: &Ctx) -> Result<(Sniff, Transcript), Failure> {
        if !self.received.is_empty() {
            return Err(Failure::new(
                ErrorKind::Permanent,
                format!(
                    "{} sent data after its STARTTLS reply and before the TLS handshake; \
                     refusing to continue (a sign of a STARTTLS injection attack)",
                    ctx.server_mode()
                ),
            )
            .at(Step::StartTls));
        }
        match self.stream {
            Stream::Plain(mut sniff) => {
                sniff.restart();
                Ok((sniff, self.transcript))
            }
            Stream::Tls(_) => Err(Failure::new(
                ErrorKind::Temporary,
                "internal: stream already encrypted",
            )
            .at(Step::StartTls)),
        }
    }

    /// Writes `bytes` and flushes them, under the timeout.
    pub(crate) async fn send(
        &mut self,
        ctx: &Ctx,
        step: Step,
        bytes: &[u8],
    ) -> Result<(), Failure> {
        match timeout(self.timeout, self.write_flush(bytes)).await {
            Err(_) => Err(classify::timeout(ctx, step)),
            Ok(Err(err)) => Err(classify::dropped(ctx, step, &err.to_string())),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Shows `bytes` to the transcript, writes and flushes them.
    async fn write_flush(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.transcript.client_bytes(bytes);
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads one reply, under the timeout.
    pub(crate) async fn reply(&mut self, ctx: &Ctx, step: Step) -> Result<Reply, Failure> {
        self.reply_raw(ctx, step).await.map(|(reply, _)| reply)
    }

    /// [`Conn::reply`] with the reply's raw bytes.
    async fn reply_raw(&mut self, ctx: &Ctx, step: Step) -> Result<(Reply, Vec<u8>), Failure> {
        match timeout(self.timeout, self.read_reply()).await {
            Err(_) => Err(classify::timeout(ctx, step)),
            Ok(Err(err)) => Err(read_failure(ctx, step, err)),
            Ok(Ok(read)) => Ok(read),
        }
    }

    /// Sends one command line (without its CRLF) and reads the reply.
    pub(crate) async fn command(
        &mut self,
        ctx: &Ctx,
        step: Step,
        line: &str,
    ) -> Result<Reply, Failure> {
        self.send(ctx, step, format!("{line}\r\n").as_bytes())
            .await?;
        self.reply(ctx, step).await
    }

    /// EHLO and what its reply offers; anything but 250 is an error.
    pub(crate) async fn ehlo(&mut self, ctx: &Ctx, hello: &str) -> Result<Ehlo, Failure> {
        self.send(ctx, Step::Ehlo, format!("EHLO {hello}\r\n").as_bytes())
            .await?;
        let (reply, raw) = self.reply_raw(ctx, Step::Ehlo).await?;
        if reply.code != 250 {
            return Err(classify::reply(ctx, Step::Ehlo, &reply, None));
        }
        Ehlo::parse(&reply, &raw).map_err(|err| {
            Failure::new(
                ErrorKind::Permanent,
                format!(
                    "{} sent an EHLO reply notify cannot read ({err}): {}",
                    ctx.server_mode(),
                    classify::one_line(&reply.text())
                ),
            )
            .at(Step::Ehlo)
        })
    }

    /// Reads one (possibly multi-line) reply and its raw bytes; bytes after
    /// it stay for the next read. No timeout of its own.
    pub(crate) async fn read_reply(&mut self) -> Result<(Reply, Vec<u8>), ReadError> {
        let mut parser = ResponseReceiver::default();
        let mut parsed = 0;
        loop {
            if parsed < self.received.len() {
                let mut rest = self.received[parsed..].iter();
                match parser.parse(&mut rest) {
                    Ok(response) => {
                        let end = self.received.len() - rest.len();
                        let raw: Vec<u8> = self.received.drain(..end).collect();
                        return Ok((Reply::from_response(response), raw));
                    }
                    Err(smtp_proto::Error::NeedsMoreData { .. }) => {
                        parsed = self.received.len();
                    }
                    Err(smtp_proto::Error::ResponseTooLong) => return Err(ReadError::TooLong),
                    Err(_) => return Err(ReadError::NotSmtp(self.received.clone())),
                }
            }
            if self.received.len() > MAX_REPLY {
                return Err(ReadError::TooLong);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.map_err(ReadError::Io)?;
            if n == 0 {
                self.transcript.server_eof();
                return Err(ReadError::Eof);
            }
            self.transcript.server_bytes(&chunk[..n]);
            self.received.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends QUIT and closes the connection without waiting for the 221,
    /// as Postfix does by default (`smtp_skip_quit_response`): every
    /// message was accepted or refused already, and the reply would only
    /// cost a round trip.
    pub(crate) async fn quit(mut self) {
        let limit = self.timeout.min(Duration::from_secs(5));
        let _ = timeout(limit, self.write_flush(b"QUIT\r\n")).await;
    }
}

/// A failure to read a reply at `step`.
pub(crate) fn read_failure(ctx: &Ctx, step: Step, err: ReadError) -> Failure {
    let failure = match err {
        ReadError::Io(err) => classify::dropped(ctx, step, &err.to_string()),
        ReadError::Eof => classify::dropped(ctx, step, "end of stream"),
        ReadError::NotSmtp(bytes) if tls::looks_like_tls(&bytes) => Failure::new(
            ErrorKind::Config,
            format!(
                "{} answered with TLS data instead of an SMTP greeting: wrong security mode for \
                 this port",
                ctx.server_mode()
            ),
        )
        .hint(Hint::UseTls {
            server: ctx.server(),
        }),
        ReadError::NotSmtp(bytes) => Failure::new(
            ErrorKind::Config,
            format!(
                "{} does not speak SMTP: it sent {} while notify was waiting for {}",
                ctx.server_mode(),
                tls::printable(&bytes),
                step.waiting_for()
            ),
        )
        .hint(Hint::NotSmtp),
        ReadError::TooLong => Failure::new(
            ErrorKind::Temporary,
            format!(
                "{} sent an over-long reply while notify was waiting for {}",
                ctx.server_mode(),
                step.waiting_for()
            ),
        ),
    };
    failure.at(step)
}

/// The DATA payload for `message`: dot-stuffed (a line starting with `.`
/// gets a second one), every line ending in CRLF (a bare CR or LF becomes
/// CRLF, so no `LF.LF` or `CR.CR` can end the data early on a lenient
/// server: SMTP smuggling), and the final `.` line, all in one buffer so
/// they go out in one write.
pub(crate) fn data_payload(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut line_start = true;
    let mut i = 0;
    while i < message.len() {
        let b = message[i];
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                // CRLF is one line end; a lone CR or LF is one too.
                if b == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                line_start = true;
            }
            b'.' if line_start => {
                out.extend_from_slice(b"..");
                line_start = false;
            }
            _ => {
                out.push(b);
                line_start = false;
            }
        }
        i += 1;
    }
    if !line_start || out.is_empty() {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Base64 of `bytes` (SASL payloads).
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The text of a base64 SASL challenge (lossy), or the challenge itself
/// when it is not base64.
pub(crate) fn challenge_text(reply: &Reply) -> String {
    let raw = reply.lines.join("");
    match base64::engine::general_purpose::STANDARD.decode(raw.trim()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => raw,
    }
}

/// Whether an address can go into `MAIL FROM:<...>` / `RCPT TO:<...>` as it
/// is: no angle brackets, spaces or control characters that would end the
/// command or start another one.
pub(crate) fn safe_address(address: &str) -> bool {
    !address.is_empty()
        && !address
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_dot_stuffed_and_ends_once() {
        assert_eq!(data_payload(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(data_payload(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(data_payload(b"no end"), b"no end\r\n.\r\n");
        assert_eq!(data_payload(b""), b"\r\n.\r\n");
        // Bare LF and CR become CRLF, so they cannot end the data early.
        assert_eq!(data_payload(b"x\n.\nrest\r\n"), b"x\r\n..\r\nrest\r\n.\r\n");
        assert_eq!(data_payload(b"x\r.\rrest\r\n"), b"x\r\n..\r\nrest\r\n.\r\n");
        assert_eq!(data_payload(b"x\r\n\r\n"), b"x\r\n\r\n.\r\n");
    }

    #[test]
    fn addresses_cannot_carry_commands() {
        assert!(safe_address("a@example.com"));
        assert!(safe_address("müller@bücher.de"));
        for bad in ["", "a@b\r\nRCPT TO:<x@y>", "a b@c", "a>@b", "<a@b"] {
            assert!(!safe_address(bad), "{bad:?}");
        }
    }

    fn parse(bytes: &[u8]) -> (Reply, Vec<u8>) {
        Reply::parse(bytes)
    }

    #[test]
    fn replies_keep_code_enhanced_code_and_lines() {
        let (r, raw) = parse(b"550-5.1.1 <bob@example.com>: Recipient address rejected:\r\n550 5.1.1 User unknown\r\n250 next");
        assert_eq!(r.code, 550);
        assert_eq!(r.enhanced, Some([5, 1, 1]));
        assert_eq!(
            r.text(),
            "5.1.1 <bob@example.com>: Recipient address rejected: User unknown"
        );
        assert!(raw.ends_with(b"User unknown\r\n"));
        let (r, _) = parse(b"535 5.7.139 Authentication unsuccessful\r\n");
        assert_eq!(r.enhanced, Some([5, 7, 139]));
        let (r, _) = parse(b"220 mx.example.com ESMTP\r\n");
        assert_eq!((r.code, r.enhanced), (220, None));
        assert_eq!(r.text(), "mx.example.com ESMTP");
    }

    #[test]
    fn ehlo_capabilities() {
        let bytes = b"250-mx.example.com at your service\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n250-STARTTLS\r\n250 PIPELINING\r\n";
        let (reply, raw) = parse(bytes);
        let ehlo = Ehlo::parse(&reply, &raw).unwrap();
        assert_eq!(
            ehlo.lines,
            [
                "SIZE 35882577",
                "8BITMIME",
                "AUTH LOGIN PLAIN XOAUTH2",
                "STARTTLS",
                "PIPELINING"
            ]
        );
        assert!(ehlo.starttls() && ehlo.pipelining() && ehlo.eight_bit_mime() && ehlo.auth());
        assert!(!ehlo.smtputf8());
        assert!(ehlo.offers(smtp_proto::AUTH_PLAIN));
        assert_eq!(
            ehlo.auth_mechanisms().as_deref(),
            Some("LOGIN PLAIN XOAUTH2")
        );
        assert!(ehlo.offers(smtp_proto::AUTH_LOGIN));
        assert!(ehlo.offers(smtp_proto::AUTH_XOAUTH2));
        let (reply, raw) = parse(b"250 mx.example.com\r\n");
        let bare = Ehlo::parse(&reply, &raw).unwrap();
        assert!(bare.lines.is_empty() && !bare.starttls() && !bare.auth());
        let (reply, raw) = parse(b"250-mx\r\n250-AUTH=LOGIN PLAIN\r\n250 SMTPUTF8\r\n");
        let old = Ehlo::parse(&reply, &raw).unwrap();
        assert!(old.smtputf8(), "{old:?}");
    }

    #[test]
    fn challenges_are_decoded() {
        let (r, _) = parse(b"334 VXNlcm5hbWU6\r\n");
        assert_eq!(challenge_text(&r), "Username:");
        let (r, _) = parse(b"334 not base64!\r\n");
        assert_eq!(challenge_text(&r), "not base64!");
    }
}
