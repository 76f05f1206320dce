//! A small, independent mail reader for the tests: header unfolding,
//! RFC 2047 and RFC 2231 decoding, base64 and quoted-printable, multipart
//! splitting. Written from the RFCs, not from lettre, so the tests check
//! lettre's output against a second implementation.

#![allow(dead_code)]

use std::process::{Command, Output};

use notify_core::{Attachment, Notification};
use time::macros::datetime;

/// A notification with every field a simple message needs.
pub fn notification() -> Notification {
    {
        let mut built = Notification::default();
        built.from = Some("Backups <backup@example.com>".into());
        built.to = vec!["ops@example.com".into()];
        built.subject = "host: Daily Backup: Finished successfully".into();
        built.text = "All good.\nBytes copied: 12 MB\n".into();
        built
    }
}

/// [`notification`] with a fixed Date and Message-ID, so its single-part
/// output is deterministic.
pub fn fixed_notification() -> Notification {
    {
        let mut built = notification();
        built.date = Some(datetime!(1994-11-15 08:12:31 UTC));
        built.message_id = Some("<fixed.1@example.com>".into());
        built
    }
}

pub fn attachment(filename: &str, content_type: &str, data: &[u8]) -> Attachment {
    Attachment::new(filename, content_type, data)
}

/// One entity: a whole message or one MIME part.
#[derive(Debug, Clone)]
pub struct Part {
    /// Unfolded headers (name, value) in order; the raw physical lines are
    /// in `raw_header_lines`.
    pub headers: Vec<(String, String)>,
    pub raw_header_lines: Vec<String>,
    pub body: Vec<u8>,
}

impl Part {
    /// Parses CRLF text: headers, an empty line, the body.
    pub fn parse(bytes: &[u8]) -> Part {
        let split = find(bytes, b"\r\n\r\n").expect("no empty line after the headers");
        let head = std::str::from_utf8(&bytes[..split]).expect("headers are not UTF-8");
        let body = bytes[split + 4..].to_vec();
        let raw_header_lines: Vec<String> = head.split("\r\n").map(str::to_owned).collect();
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in &raw_header_lines {
            if line.starts_with(' ') || line.starts_with('\t') {
                let last = headers.last_mut().expect("continuation before any header");
                last.1.push_str(line); // unfolding: just remove the CRLF
            } else {
                let (name, value) = line.split_once(':').expect("header line without ':'");
                assert!(
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()),
                    "bad header name {name:?}"
                );
                headers.push((name.to_owned(), value.trim_start().to_owned()));
            }
        }
        Part {
            headers,
            raw_header_lines,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let first = found.next().map(|(_, v)| v.as_str());
        assert!(found.next().is_none(), "header {name} appears twice");
        first
    }

    pub fn names(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }

    /// The decoded body, by Content-Transfer-Encoding.
    pub fn decoded_body(&self) -> Vec<u8> {
        let cte = self
            .header("Content-Transfer-Encoding")
            .unwrap_or("7bit")
            .to_ascii_lowercase();
        match cte.as_str() {
            "7bit" | "8bit" | "binary" => self.body.clone(),
            "quoted-printable" => qp_decode(&self.body),
            "base64" => base64_decode(std::str::from_utf8(&self.body).unwrap()),
            other => panic!("unknown Content-Transfer-Encoding {other}"),
        }
    }

    /// The body text with the part's trailing CRLF removed (lettre ends a
    /// part's body with one) and CRLF turned back into LF.
    pub fn text(&self) -> String {
        let body = self.decoded_body();
        let text = String::from_utf8(body).expect("body is not UTF-8");
        text.replace("\r\n", "\n")
    }

    /// The parts of a multipart entity, from its boundary parameter.
    pub fn parts(&self) -> Vec<Part> {
        let ct = self.header("Content-Type").expect("no Content-Type");
        let boundary = param(ct, "boundary").expect("no boundary");
        let delimiter = format!("--{boundary}");
        let body = &self.body;
        let mut parts = Vec::new();
        let mut pos = find(body, delimiter.as_bytes()).expect("no first boundary");
        assert!(
            pos == 0 || body[..pos].ends_with(b"\r\n"),
            "boundary not at line start"
        );
        loop {
            let after = pos + delimiter.len();
            if body[after..].starts_with(b"--") {
                break; // close delimiter
            }
            assert!(
                body[after..].starts_with(b"\r\n"),
                "boundary line not ended by CRLF"
            );
            let start = after + 2;
            let next = start
                + find(&body[start..], format!("\r\n{delimiter}").as_bytes())
                    .expect("unterminated part");
            parts.push(Part::parse(&body[start..next]));
            pos = next + 2;
        }
        parts
    }
}

/// Byte offset of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A parameter of a structured header value (`boundary`, `charset`,
/// `filename`), unquoted.
pub fn param(value: &str, name: &str) -> Option<String> {
    for piece in value.split(';').skip(1) {
        let (key, val) = piece.trim().split_once('=')?;
        if key.trim().eq_ignore_ascii_case(name) {
            let val = val.trim();
            let val = val
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(val);
            return Some(val.replace("\\\"", "\"").replace("\\\\", "\\"));
        }
    }
    None
}

/// The file name of a Content-Disposition value: plain `filename=`, or the
/// RFC 2231 `filename*0*=utf-8''...; filename*1*=...` continuations.
pub fn disposition_filename(value: &str) -> String {
    if let Some(plain) = param(value, "filename") {
        return plain;
    }
    let mut pieces: Vec<(usize, bool, String)> = Vec::new();
    for piece in value.split(';').skip(1) {
        let (key, val) = piece.trim().split_once('=').unwrap();
        let Some(rest) = key.trim().strip_prefix("filename*") else {
            continue;
        };
        let (index, encoded) = match rest.strip_suffix('*') {
            Some(i) => (i, true),
            None => (rest, false),
        };
        let index = if index.is_empty() {
            0
        } else {
            index.parse().unwrap()
        };
        let val = val.trim().trim_matches('"').to_owned();
        pieces.push((index, encoded, val));
    }
    pieces.sort_by_key(|p| p.0);
    let mut bytes = Vec::new();
    for (i, (_, encoded, val)) in pieces.iter().enumerate() {
        let val = if i == 0 && *encoded {
            let (charset, rest) = val.split_once('\'').unwrap();
            assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
            rest.split_once('\'').unwrap().1.to_owned()
        } else {
            val.clone()
        };
        if *encoded {
            bytes.extend(percent_decode(&val));
        } else {
            bytes.extend(val.bytes());
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\r' | b'\n' | b' ' | b'\t' => continue,
            other => panic!("not base64: {:?}", other as char),
        };
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

pub fn qp_decode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'=' {
            if body[i + 1..].starts_with(b"\r\n") {
                i += 3; // soft line break
                continue;
            }
            let hex = std::str::from_utf8(&body[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

/// Decodes RFC 2047 encoded-words in an unfolded header value; linear
/// white space between two adjacent encoded-words is dropped.
pub fn decode_2047(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut pending_space = String::new();
    let mut last_was_word = false;
    while !rest.is_empty() {
        if let Some((decoded, len)) = encoded_word(rest) {
            if !last_was_word {
                out.push_str(&pending_space);
            }
            pending_space.clear();
            out.push_str(&decoded);
            rest = &rest[len..];
            last_was_word = true;
        } else {
            let c = rest.chars().next().unwrap();
            if c == ' ' || c == '\t' {
                pending_space.push(c);
            } else {
                out.push_str(&pending_space);
                pending_space.clear();
                out.push(c);
                last_was_word = false;
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push_str(&pending_space);
    out
}

fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    if text.contains(' ') || !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let bytes = match encoding {
        "b" | "B" => base64_decode(text),
        "q" | "Q" => qp_decode(text.replace('_', " ").as_bytes()),
        _ => return None,
    };
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((
        String::from_utf8(bytes).expect("encoded-word not UTF-8"),
        len,
    ))
}

/// Checks what every message must satisfy: CRLF line endings only, no
/// line over 998 octets, ASCII headers, folded header lines under 78
/// octets where lettre could fold (reported, not enforced).
pub fn assert_well_formed(message: &[u8]) {
    for (i, &b) in message.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && message[i - 1] == b'\r', "bare LF at {i}");
        }
        if b == b'\r' {
            assert_eq!(message.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
        assert_ne!(b, 0, "NUL at {i}");
    }
    for (n, line) in message.split(|&b| b == b'\n').enumerate() {
        assert!(
            line.len() <= 999,
            "line {} is {} octets",
            n + 1,
            line.len() - 1
        );
    }
    let end = find(message, b"\r\n\r\n").expect("no header/body separator");
    assert!(message[..end].is_ascii(), "non-ASCII in the headers");
}

/// Every header name in the message and, recursively, in all its parts.
pub fn all_header_names(part: &Part) -> Vec<String> {
    let mut names = part.names();
    let is_multipart = part
        .header("Content-Type")
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/"));
    if is_multipart {
        for p in part.parts() {
            names.extend(all_header_names(&p));
        }
    }
    names
}

/// Runs the single test `name` of this test binary in a child process with
/// `env` set, and returns its output. The test must do its work only when
/// the variable is set.
pub fn run_child_test(name: &str, env: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "child {name} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Settings for the real test server, shared by the `smtp` and `doctor`
/// modules.
#[cfg(feature = "smtp")]
pub mod server {
    use std::time::Duration;

    use notify_smtp::{Credentials, Security, SmtpConfig};
    use notify_testkit::SmtpServer;

    pub const USER: &str = "user@example.com";
    pub const PASSWORD: &str = "canary-Pa55-w0rd";
    pub const TOKEN: &str = "canary-oauth-T0ken";

    /// The listener `listener` of `server`, with a 10 s timeout.
    pub fn config(server: &SmtpServer, listener: &str, security: Security) -> SmtpConfig {
        let mut config = SmtpConfig::new("127.0.0.1", server.port(listener), security);
        config.timeout = Duration::from_secs(10);
        config
    }

    /// Trusts the test CA.
    pub fn with_ca(mut config: SmtpConfig, server: &SmtpServer) -> SmtpConfig {
        let ca = server.certs().ca();
        config.ca_pem = Some(server.certs().read(&ca));
        config.ca_file_label = Some(ca.display().to_string());
        config
    }

    /// Logs in as [`USER`] with `secret`.
    pub fn login(mut config: SmtpConfig, secret: &str) -> SmtpConfig {
        config.credentials = Some(Credentials::new(USER, secret));
        config
    }
}
