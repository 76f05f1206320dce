//! Messages written by other programs: what a `sendmail` command reads on
//! its standard input (cron's output, `mail -s`, smartd's warnings), kept
//! as they were written but for the headers a delivery needs.

use std::fmt;

use time::OffsetDateTime;

use crate::message::{date_text, encoded_mailbox_text, validate_message_id};
use crate::Error;

/// A message as another program wrote it: its header fields, each kept
/// byte for byte (folded lines included), and its body.
///
/// [`Incoming::parse`] never fails: whatever a program writes can be
/// delivered. Lines end in CRLF in [`Incoming::to_bytes`], whatever they
/// ended in before.
#[derive(Clone, Default)]
pub struct Incoming {
    fields: Vec<Field>,
    body: Vec<u8>,
}

#[derive(Clone)]
struct Field {
    /// The name as written (`Subject`), compared without case.
    name: String,
    /// The whole field, name and folded lines, each line ending in CRLF.
    raw: Vec<u8>,
}

/// One mailbox of an address list (`To: Ops <ops@example.com>, root (Cron
/// Daemon)`): its display name, if any, and its address as written,
/// without the name, angle brackets or comments (`root` has no domain).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedMailbox {
    /// The display name, or the text of a comment when there is no name
    /// (`root (Cron Daemon)` → `Cron Daemon`), quotes removed.
    pub name: Option<String>,
    /// The address (`ops@example.com`, or `root`).
    pub address: String,
}

impl Incoming {
    /// Splits `bytes` into header fields (up to the first empty line) and
    /// the body. Lines may end in LF or CRLF. A leading mbox `From ` line
    /// is dropped. When the first line is not a header field, all of
    /// `bytes` is the body, as sendmail takes it.
    pub fn parse(bytes: &[u8]) -> Incoming {
        let mut lines = split_lines(bytes).peekable();
        if lines.peek().is_some_and(|l| l.starts_with(b"From ")) {
            lines.next();
        }
        let mut fields: Vec<Field> = Vec::new();
        let mut body = Vec::new();
        let mut in_body = false;
        for line in lines {
            if in_body {
                body.extend_from_slice(line);
                body.extend_from_slice(b"\r\n");
                continue;
            }
            if line.is_empty() {
                in_body = true;
                continue;
            }
            if line.starts_with(b" ") || line.starts_with(b"\t") {
                if let Some(field) = fields.last_mut() {
                    field.raw.extend_from_slice(line);
                    field.raw.extend_from_slice(b"\r\n");
                    continue;
                }
            }
            match field_name(line) {
                Some(name) => {
                    let mut raw = line.to_vec();
                    raw.extend_from_slice(b"\r\n");
                    fields.push(Field { name, raw });
                }
                // Not a header line: the header ends here, and this line
                // starts the body.
                None => {
                    in_body = true;
                    body.extend_from_slice(line);
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
        Incoming { fields, body }
    }

    /// The value of the first `name` field (any case), unfolded and
    /// trimmed; bytes that are not UTF-8 are replaced.
    pub fn header(&self, name: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(Field::value)
    }

    /// The mailboxes of every `name` field (To, Cc, Bcc), in order.
    pub fn mailboxes(&self, name: &str) -> Vec<ListedMailbox> {
        self.fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(name))
            .flat_map(|f| address_list(&f.value()))
            .collect()
    }

    /// Removes every `name` field (any case).
    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|f| !f.name.eq_ignore_ascii_case(name));
    }

    /// Sets the From field to `address` with the display name `name`
    /// (RFC 2047 encoded where needed), where the first From was, or first.
    pub fn set_from(&mut self, name: Option<&str>, address: &str) -> Result<(), Error> {
        let value = encoded_mailbox_text(name, address, "From: ".len())?;
        let field = Field::new("From", &value);
        match self
            .fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case("From"))
        {
            Some(at) => {
                self.remove("From");
                self.fields.insert(at.min(self.fields.len()), field);
            }
            None => self.fields.insert(0, field),
        }
        Ok(())
    }

    /// Adds a Reply-To field for `address` with the display name `name`.
    pub fn add_reply_to(&mut self, name: Option<&str>, address: &str) -> Result<(), Error> {
        let value = encoded_mailbox_text(name, address, "Reply-To: ".len())?;
        self.fields.push(Field::new("Reply-To", &value));
        Ok(())
    }

    /// Adds a Date field for `date` (in its own offset) unless there is
    /// one. A date before 1970 is [`Error::InvalidDate`].
    pub fn add_date(&mut self, date: OffsetDateTime) -> Result<(), Error> {
        if self.header("Date").is_none() {
            self.fields.push(Field::new("Date", &date_text(date)?));
        }
        Ok(())
    }

    /// Adds a Message-ID field (`<unique@domain>`, see
    /// [`new_message_id`](crate::new_message_id)) unless there is one; an
    /// invalid `id` is [`Error::InvalidMessageId`].
    pub fn add_message_id(&mut self, id: &str) -> Result<(), Error> {
        if self.header("Message-ID").is_none() {
            validate_message_id(id)?;
            self.fields.push(Field::new("Message-ID", id));
        }
        Ok(())
    }

    /// The whole message, every line ending in CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.fields.iter().map(|f| f.raw.len()).sum::<usize>() + 2 + self.body.len(),
        );
        for field in &self.fields {
            out.extend_from_slice(&field.raw);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }

    /// The body, every line ending in CRLF.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field(
                "fields",
                &self
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body", &format_args!("{} bytes", self.body.len()))
            .finish()
    }
}

impl Field {
    fn new(name: &str, value: &str) -> Field {
        Field {
            name: name.to_owned(),
            raw: format!("{name}: {value}\r\n").into_bytes(),
        }
    }

    fn value(&self) -> String {
        let text = String::from_utf8_lossy(&self.raw);
        let value = text.split_once(':').map_or("", |(_, v)| v);
        value
            .split("\r\n")
            .map(|l| l.trim_end_matches('\r'))
            .collect::<Vec<_>>()
            .join("")
            .trim()
            .to_owned()
    }
}

/// The lines of `bytes` without their LF or CRLF; a last line without one
/// counts, an empty remainder does not.
fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n')
        .filter(move |_| !empty)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// The field name of a header line (printable ASCII but `:` before the
/// first colon, RFC 5322 2.2), or `None`.
fn field_name(line: &[u8]) -> Option<String> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    (!name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b)))
        .then(|| String::from_utf8_lossy(name).into_owned())
}

/// The mailboxes of an address-list header value: `a@x, "Doe, J" <j@x>`,
/// comments (`root (Cron Daemon)`), groups (`undisclosed-recipients:;`,
/// `team: a@x, b@x;`). Never fails; text that holds no address gives
/// nothing.
pub fn address_list(value: &str) -> Vec<ListedMailbox> {
    #[derive(Default)]
    struct Current {
        phrase: String,
        angle: Option<String>,
        comments: Vec<String>,
    }
    fn finish(current: Current, out: &mut Vec<ListedMailbox>) {
        let comment = || {
            current
                .comments
                .iter()
                .map(|c| c.trim())
                .find(|c| !c.is_empty())
                .map(str::to_owned)
        };
        let (name, address) = match current.angle {
            Some(address) => {
                let name = unquote(current.phrase.trim());
                let name = if name.is_empty() {
                    comment()
                } else {
                    Some(name)
                };
                (name, address.trim().to_owned())
            }
            None => (
                comment(),
                current.phrase.split_whitespace().collect::<String>(),
            ),
        };
        if !address.is_empty() {
            out.push(ListedMailbox { name, address });
        }
    }

    let mut out = Vec::new();
    let mut current = Current::default();
    let mut depth = 0usize;
    let mut quoted = false;
    let mut in_angle = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if depth > 0 {
            match c {
                '\\' => {
                    if let (Some(next), Some(last)) = (chars.next(), current.comments.last_mut()) {
                        last.push(next);
                    }
                }
                '(' => {
                    depth += 1;
                    if let Some(last) = current.comments.last_mut() {
                        last.push(c);
                    }
                }
                ')' => {
                    depth -= 1;
                    if depth > 0 {
                        if let Some(last) = current.comments.last_mut() {
                            last.push(c);
                        }
                    }
                }
                _ => {
                    if let Some(last) = current.comments.last_mut() {
                        last.push(c);
                    }
                }
            }
            continue;
        }
        // A group's name ends at its colon; its members follow.
        let group_colon = c == ':'
            && !quoted
            && !in_angle
            && current.angle.is_none()
            && !current.phrase.contains('@');
        let target = if in_angle {
            current.angle.get_or_insert_with(String::new)
        } else {
            &mut current.phrase
        };
        match c {
            '\\' if quoted => {
                target.push(c);
                if let Some(next) = chars.next() {
                    target.push(next);
                }
            }
            '"' => {
                quoted = !quoted;
                target.push(c);
            }
            _ if quoted => target.push(c),
            '(' => {
                depth = 1;
                current.comments.push(String::new());
            }
            '<' if !in_angle => {
                in_angle = true;
                current.angle = Some(String::new());
            }
            '>' if in_angle => in_angle = false,
            ':' if group_colon => current = Current::default(),
            ',' | ';' if !in_angle => finish(std::mem::take(&mut current), &mut out),
            _ => target.push(c),
        }
    }
    finish(current, &mut out);
    out
}

/// A display name without its surrounding quotes and backslash escapes.
fn unquote(name: &str) -> String {
    let mut out = String::new();
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {}
            '\\' => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(value: &str) -> Vec<(Option<String>, String)> {
        address_list(value)
            .into_iter()
            .map(|m| (m.name, m.address))
            .collect()
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn address_lists() {
        assert_eq!(
            listed("root (Cron Daemon)"),
            [(some("Cron Daemon"), "root".into())]
        );
        assert_eq!(
            listed("\"Doe, John\" <j@example.com>, ops@example.com"),
            [
                (some("Doe, John"), "j@example.com".into()),
                (None, "ops@example.com".into())
            ]
        );
        assert_eq!(listed("undisclosed-recipients:;"), []);
        assert_eq!(
            listed("team: a@example.com, B <b@example.com>;, c@example.com"),
            [
                (None, "a@example.com".into()),
                (some("B"), "b@example.com".into()),
                (None, "c@example.com".into())
            ]
        );
        assert_eq!(
            listed("Ann (x, (y)) <a@example.com> (z)"),
            [(some("Ann"), "a@example.com".into())]
        );
        assert_eq!(listed("  "), []);
        assert_eq!(listed("<a@example.com>"), [(None, "a@example.com".into())]);
        assert_eq!(
            listed("\"a\\\"b\" <q@example.com>"),
            [(some("a\"b"), "q@example.com".into())]
        );
    }

    #[test]
    fn headers_body_and_line_endings() {
        let m = Incoming::parse(
            b"From root\nSubject: Cron <root@h> job\n  continued\nTo: root\n\nline 1\r\nline 2",
        );
        assert_eq!(
            m.header("subject").as_deref(),
            Some("Cron <root@h> job  continued")
        );
        assert_eq!(m.header("To").as_deref(), Some("root"));
        assert_eq!(
            m.to_bytes(),
            b"Subject: Cron <root@h> job\r\n  continued\r\nTo: root\r\n\r\nline 1\r\nline 2\r\n"
        );
        // No header at all: everything is the body.
        let m = Incoming::parse(b"just text\nmore: text\n");
        assert_eq!(m.header("more"), None);
        assert_eq!(m.to_bytes(), b"\r\njust text\r\nmore: text\r\n");
        // A header that ends without an empty line.
        let m = Incoming::parse(b"Subject: s\nthe body\n");
        assert_eq!(m.to_bytes(), b"Subject: s\r\n\r\nthe body\r\n");
        assert_eq!(Incoming::parse(b"").to_bytes(), b"\r\n");
    }

    #[test]
    fn from_date_and_message_id() {
        let mut m = Incoming::parse(b"To: a@example.com\nFrom: root (Cron Daemon)\nX: y\n\nb\n");
        m.set_from(Some("Cron Daemon"), "backup@example.com")
            .unwrap();
        m.add_date(time::macros::datetime!(2026-12-05 03:00:00 +01:00))
            .unwrap();
        m.add_message_id("<x.1@example.com>").unwrap();
        m.add_message_id("<x.2@example.com>").unwrap();
        assert_eq!(
            String::from_utf8(m.to_bytes()).unwrap(),
            "To: a@example.com\r\nFrom: \"Cron Daemon\" <backup@example.com>\r\nX: y\r\n\
             Date: Sat, 05 Dec 2026 03:00:00 +0100\r\nMessage-ID: <x.1@example.com>\r\n\r\nb\r\n"
        );
        m.set_from(Some("Jörg"), "j@example.com").unwrap();
        assert_eq!(
            m.header("From").as_deref(),
            Some("=?utf-8?b?SsO2cmc=?= <j@example.com>")
        );
        let mut m = Incoming::parse(b"Subject: s\n\nb\n");
        assert!(matches!(
            m.add_message_id("no brackets"),
            Err(Error::InvalidMessageId { .. })
        ));
        m.remove("subject");
        m.set_from(None, "a@example.com").unwrap();
        assert_eq!(m.to_bytes(), b"From: a@example.com\r\n\r\nb\r\n");
    }
}
