//! Turning a [`Notification`] into an RFC 5322 message with lettre's
//! builder, plus the checks lettre leaves to its caller.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use lettre::address::{AddressError, Envelope};
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue, Headers, To,
};
use lettre::message::{
    Attachment as AttachmentPart, Body, Mailbox, Mailboxes, MultiPart, SinglePart,
};
use lettre::{Address, Message};
use notify_core::{Attachment, Notification};
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::{OffsetDateTime, UtcOffset};

use crate::error::build_failed;
use crate::Error;

/// The value of the `User-Agent` header: `notify/<crate version>`.
pub const USER_AGENT: &str = concat!("notify/", env!("CARGO_PKG_VERSION"));

/// The longest line RFC 5322 allows, in octets, without its CRLF.
pub const MAX_LINE_LEN: usize = 998;

/// The domain used by [`new_message_id`] when the one given cannot be
/// written in a Message-ID as it is (empty, or an internationalized name).
const FALLBACK_DOMAIN: &str = "localhost";

/// `Message-ID: ` takes 12 of a line's 998 octets.
const MAX_MESSAGE_ID_LEN: usize = MAX_LINE_LEN - "Message-ID: ".len();

/// The first second lettre's date formatting cannot write (year 10000);
/// it panics on that and on anything before 1970.
const YEAR_10000: i64 = 253_402_300_800;

/// A message made by [`build_message`]: the RFC 5322 bytes every transport
/// sends, and the SMTP envelope (the sender, and every recipient of `to`,
/// `cc` and `bcc` once, Bcc included).
///
/// It is this crate's own type, so that callers never need lettre.
#[derive(Clone)]
pub struct BuiltMessage {
    formatted: Vec<u8>,
    envelope: Envelope,
}

impl BuiltMessage {
    /// The complete message, CRLF line endings, exactly as SMTP carries it.
    pub fn formatted(&self) -> &[u8] {
        &self.formatted
    }

    /// The message bytes, without a copy.
    pub fn into_formatted(self) -> Vec<u8> {
        self.formatted
    }

    /// The envelope sender (`MAIL FROM`): the address of `from`, without
    /// its display name.
    pub fn sender(&self) -> &str {
        self.envelope.from().map_or("", |a| a.as_ref())
    }

    /// The envelope recipients (`RCPT TO`): the addresses of `to`, `cc` and
    /// `bcc` in that order, each once, without display names.
    pub fn recipients(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.envelope.to().iter().map(|a| a.as_ref())
    }

    /// lettre's envelope, for the SMTP commands.
    #[cfg(feature = "smtp")]
    pub(crate) fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

impl fmt::Debug for BuiltMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltMessage")
            .field("sender", &self.sender())
            .field("recipients", &self.recipients().collect::<Vec<_>>())
            .field("formatted", &format_args!("{} bytes", self.formatted.len()))
            .finish()
    }
}

/// Builds the message for `n` with lettre's builder.
///
/// - `from` is required ([`Error::MissingFrom`]); at least one of `to`, `cc`,
///   `bcc` must hold an address ([`Error::NoRecipients`]). Each address is an
///   RFC 5322 mailbox, `Name <user@example.com>` or `user@example.com`; a bad
///   one is an [`Error::InvalidAddress`] naming the field and the value.
/// - The envelope is built here from `from` and `to` + `cc` + `bcc`
///   (duplicates dropped); `bcc` appears in the envelope only, never as a
///   header.
/// - Headers: Date (`n.date` in its own offset, as in
///   `Sat, 21 Nov 2026 03:00:05 +0100`, or now in UTC; a date before 1970 is
///   [`Error::InvalidDate`]), From, To, Cc, Reply-To, Subject,
///   Message-ID (`n.message_id`, validated, or [`new_message_id`] for the
///   sender's domain), User-Agent ([`USER_AGENT`]) and MIME-Version.
/// - The subject has control characters and line breaks folded to spaces
///   (again: the template engine already does); non-ASCII text in the
///   subject and in display names becomes RFC 2047 encoded-words, split
///   between words (see `encode_phrase`), and so does text that a mail
///   reader would take for an encoded-word (`=?utf-8?q?Hi?=` typed by a
///   user), so that it shows as typed.
/// - The body is `text/plain; charset=utf-8`, or `multipart/alternative`
///   (text, then HTML) when `n.html` is set; with attachments the top level
///   is `multipart/mixed`: the body first, then each attachment, always
///   base64 so its bytes arrive unchanged.
/// - Every line of the result is checked against RFC 5322's 998 octets.
///
/// A notification with a [`raw_message`](Notification::raw_message) (a
/// message another program wrote, see [`Incoming`](crate::Incoming)) is
/// taken as it is, with lines ending in CRLF: only the envelope is built,
/// from `from` and the recipients, checked as above.
pub fn build_message(n: &Notification) -> Result<BuiltMessage, Error> {
    if let Some(raw) = &n.raw_message {
        return build_raw(n, raw);
    }
    let from = match n.from.as_deref() {
        Some(value) if !value.trim().is_empty() => parse_mailbox("from", value)?,
        _ => return Err(Error::MissingFrom),
    };
    let to = parse_mailboxes("to", &n.to)?;
    let cc = parse_mailboxes("cc", &n.cc)?;
    let bcc = parse_mailboxes("bcc", &n.bcc)?;
    let reply_to = match n.reply_to.as_deref() {
        Some(value) if !value.trim().is_empty() => Some(parse_mailbox("reply_to", value)?),
        _ => None,
    };
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err(Error::NoRecipients);
    }
    let date = n.date.unwrap_or_else(OffsetDateTime::now_utc);
    let date_value = date_header_value(date)?;
    let message_id = match &n.message_id {
        Some(id) => {
            validate_message_id(id)?;
            id.clone()
        }
        None => new_message_id(from.email.domain()),
    };

    // The envelope is set explicitly: lettre would otherwise derive it by
    // re-parsing the To/Cc/Bcc headers it just wrote.
    let mut recipients: Vec<Address> = Vec::new();
    for mailbox in to.iter().chain(&cc).chain(&bcc) {
        if !recipients.contains(&mailbox.email) {
            recipients.push(mailbox.email.clone());
        }
    }
    let envelope = Envelope::new(Some(from.email.clone()), recipients).map_err(build_failed)?;

    // lettre's Date header writes UTC only: it holds the header's place
    // here and is replaced by `date_value` once the message is built.
    let mut builder = Message::builder()
        .envelope(envelope.clone())
        .date(SystemTime::from(date))
        .raw_header(address_list_header("From", std::slice::from_ref(&from)));
    if !to.is_empty() {
        builder = builder.raw_header(address_list_header("To", &to));
    }
    if !cc.is_empty() {
        builder = builder.raw_header(address_list_header("Cc", &cc));
    }
    if let Some(mailbox) = reply_to {
        builder = builder.raw_header(address_list_header("Reply-To", &[mailbox]));
    }
    let builder = builder
        .raw_header(subject_header(&fold_controls(&n.subject)))
        .message_id(Some(message_id))
        .user_agent(USER_AGENT.to_owned());

    let body = body_part(n);
    let mut message = if n.attachments.is_empty() {
        match body {
            BodyPart::Single(part) => builder.singlepart(part),
            BodyPart::Multi(part) => builder.multipart(part),
        }
    } else {
        let mut mixed = match body {
            BodyPart::Single(part) => MultiPart::mixed().singlepart(part),
            BodyPart::Multi(part) => MultiPart::mixed().multipart(part),
        };
        for attachment in &n.attachments {
            mixed = mixed.singlepart(attachment_part(attachment)?);
        }
        builder.multipart(mixed)
    }
    .map_err(build_failed)?;
    message.headers_mut().insert_raw(date_value);

    let formatted = message.formatted();
    check_line_lengths(&formatted)?;
    Ok(BuiltMessage {
        formatted,
        envelope,
    })
}

/// The envelope of `n` around a message written elsewhere.
fn build_raw(n: &Notification, raw: &[u8]) -> Result<BuiltMessage, Error> {
    let from = match n.from.as_deref() {
        Some(value) if !value.trim().is_empty() => parse_mailbox("from", value)?,
        _ => return Err(Error::MissingFrom),
    };
    let mut recipients: Vec<Address> = Vec::new();
    for (field, values) in [("to", &n.to), ("cc", &n.cc), ("bcc", &n.bcc)] {
        for mailbox in parse_mailboxes(field, values)? {
            if !recipients.contains(&mailbox.email) {
                recipients.push(mailbox.email);
            }
        }
    }
    if recipients.is_empty() {
        return Err(Error::NoRecipients);
    }
    let envelope = Envelope::new(Some(from.email), recipients).map_err(build_failed)?;
    let mut formatted = Vec::with_capacity(raw.len() + raw.len() / 32);
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        formatted.extend_from_slice(text);
        formatted.extend_from_slice(b"\r\n");
    }
    Ok(BuiltMessage {
        formatted,
        envelope,
    })
}

/// A mailbox for a header written into a message from elsewhere:
/// `address` (checked, an IDN domain as punycode) with the display name
/// `name`, encoded as in [`build_message`] for a header value starting
/// at column `col`.
pub(crate) fn encoded_mailbox_text(
    name: Option<&str>,
    address: &str,
    col: usize,
) -> Result<String, Error> {
    let parsed = parse_mailbox("from", address)?;
    let name = name
        .map(fold_controls)
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    Ok(encoded_mailbox(&Mailbox::new(name, parsed.email), col))
}

/// The complete RFC 5322 message for `n`, with CRLF line endings, exactly as
/// it would go over SMTP. See [`build_message`] for what it contains.
pub fn format_message(n: &Notification) -> Result<Vec<u8>, Error> {
    build_message(n).map(BuiltMessage::into_formatted)
}

/// A new Message-ID, `<unique@domain>` with the angle brackets.
///
/// The unique part combines the time in nanoseconds, the process id, a
/// per-process counter and 64 bits from std's randomly keyed hasher, so ids
/// differ across calls, threads and processes. A `domain` that cannot
/// appear in a Message-ID as it is (empty, non-ASCII, or with characters
/// other than letters, digits, `-` and `.`, or an address literal such as
/// `[192.0.2.1]`) is replaced by `localhost`.
pub fn new_message_id(domain: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let pid = std::process::id();
    let random =
        RandomState::new().hash_one((now.as_nanos(), pid, count, std::thread::current().id()));
    format!(
        "<{:x}.{:x}.{:x}.{:016x}@{}>",
        now.as_nanos(),
        pid,
        count,
        random,
        message_id_domain(domain)
    )
}

fn message_id_domain(domain: &str) -> &str {
    let domain = domain.trim();
    let plain = !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let literal = domain.len() > 2
        && domain.starts_with('[')
        && domain.ends_with(']')
        && domain[1..domain.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b':');
    if plain || literal {
        domain
    } else {
        FALLBACK_DOMAIN
    }
}

/// Checks that a preset Message-ID is `<left@right>`: printable ASCII
/// without spaces, one pair of angle brackets, one `@` between non-empty
/// parts, short enough for one header line. lettre writes Message-ID as
/// free text, so anything else would be mangled into an encoded-word.
pub(crate) fn validate_message_id(id: &str) -> Result<(), Error> {
    let invalid = |reason: &'static str| {
        Err(Error::InvalidMessageId {
            value: id.to_owned(),
            reason,
        })
    };
    if id.len() > MAX_MESSAGE_ID_LEN {
        return invalid("it is longer than 986 characters");
    }
    if id.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return invalid("it must not contain spaces, line breaks, control or non-ASCII characters");
    }
    let Some(inner) = id.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return invalid("it must be enclosed in angle brackets, as in <left@right>");
    };
    if inner.contains(['<', '>']) {
        return invalid("it must hold exactly one pair of angle brackets");
    }
    match inner.split_once('@') {
        Some((left, right)) if !left.is_empty() && !right.is_empty() && !right.contains('@') => {
            Ok(())
        }
        _ => invalid("it must have the form <left@right> with exactly one '@'"),
    }
}

/// The Date header for `date`, in RFC 5322 form and in `date`'s own offset
/// (`Sat, 21 Nov 2026 03:00:05 +0100`); an offset with seconds, which the
/// header cannot write, is written as UTC. Outside 1970..=9999 (lettre's
/// Date, which holds the header's place, panics there) it is
/// [`Error::InvalidDate`].
fn date_header_value(date: OffsetDateTime) -> Result<HeaderValue, Error> {
    Ok(HeaderValue::new(
        HeaderName::new_from_ascii_str("Date"),
        date_text(date)?,
    ))
}

/// The Date header's value for `date`, in its own offset (or UTC when
/// that is not whole minutes); before 1970 is [`Error::InvalidDate`].
pub(crate) fn date_text(date: OffsetDateTime) -> Result<String, Error> {
    let invalid = || Error::InvalidDate {
        value: date.format(&Rfc3339).unwrap_or_else(|_| date.to_string()),
    };
    if !(0..YEAR_10000).contains(&date.unix_timestamp()) {
        return Err(invalid());
    }
    let date = if date.offset().seconds_past_minute() == 0 {
        date
    } else {
        date.to_offset(UtcOffset::UTC)
    };
    date.format(&Rfc2822).map_err(|_| invalid())
}

fn parse_mailboxes(field: &'static str, values: &[String]) -> Result<Vec<Mailbox>, Error> {
    values.iter().map(|v| parse_mailbox(field, v)).collect()
}

/// Parses one mailbox. Control characters are refused before lettre's
/// parser sees them: a line break has no business in an address.
pub(crate) fn parse_mailbox(field: &'static str, value: &str) -> Result<Mailbox, Error> {
    let invalid = |reason: &str| Error::InvalidAddress {
        field,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if value.trim().is_empty() {
        return Err(invalid("is empty"));
    }
    if value.chars().any(is_control_or_break) {
        return Err(invalid(
            "contains a line break or another control character",
        ));
    }
    let mailbox = match value.parse::<Mailbox>() {
        Ok(mailbox) => mailbox,
        Err(err) => match without_comments(value) {
            Some(plain) => plain
                .parse::<Mailbox>()
                .map_err(|_| invalid(address_reason(value, &err)))?,
            None => return Err(invalid(address_reason(value, &err))),
        },
    };
    ascii_domain(mailbox).map_err(|()| invalid("has an invalid international domain after the '@'"))
}

/// The mailbox with an internationalized domain (`exämple.com`) written as
/// punycode A-labels (`xn--exmple-cua.com`, RFC 5890), which every server
/// and every header takes; the part before the `@` stays as it is (a
/// non-ASCII one needs SMTPUTF8, checked when delivering).
fn ascii_domain(mailbox: Mailbox) -> Result<Mailbox, ()> {
    let domain = mailbox.email.domain();
    if domain.is_ascii() {
        return Ok(mailbox);
    }
    let ascii = idna::domain_to_ascii_strict(domain).map_err(|_| ())?;
    let email = Address::new(mailbox.email.user(), ascii).map_err(|_| ())?;
    Ok(Mailbox::new(mailbox.name, email))
}

/// `value` with its RFC 5322 comments (`(...)`, nested, `\`-escaped,
/// outside quoted strings) turned into what lettre's parser takes: a
/// comment in the display name stays in the name, quoted
/// (`Backup (nightly) <n@example.com>` → `"Backup (nightly)"
/// <n@example.com>`); after a bare address it becomes the name, as mail
/// readers show it (`n@example.com (nightly)` → `"nightly"
/// <n@example.com>`); after the `>` it is dropped. `None` when `value`
/// has no comment or an unbalanced one.
fn without_comments(value: &str) -> Option<String> {
    // Split into text outside comments and the comments themselves.
    let mut outside = String::new();
    let mut comments: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut quoted = false;
    let mut chars = value.chars();
    let mut in_angle = false;
    let mut name_comment = false;
    let has_angle = value.contains('<');
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted || depth > 0 => {
                let next = chars.next()?;
                if depth > 0 {
                    comments.last_mut()?.push(next);
                } else {
                    outside.push(c);
                    outside.push(next);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                outside.push(c);
            }
            '(' if !quoted => {
                if depth == 0 {
                    comments.push(String::new());
                    // A comment within the display name stays in it.
                    if has_angle
                        && !in_angle
                        && !outside.contains('>')
                        && !outside.trim().is_empty()
                    {
                        name_comment = true;
                        outside.push_str(" (");
                    }
                } else {
                    comments.last_mut()?.push(c);
                }
                depth += 1;
            }
            ')' if !quoted => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    if name_comment {
                        outside.push_str(comments.last()?.trim());
                        outside.push(')');
                        name_comment = false;
                    }
                } else {
                    comments.last_mut()?.push(c);
                }
            }
            _ if depth > 0 => comments.last_mut()?.push(c),
            _ => {
                in_angle = (in_angle || c == '<') && c != '>';
                outside.push(c);
            }
        }
    }
    if depth > 0 || quoted || comments.is_empty() {
        return None;
    }
    let quote = |name: &str| {
        let name = name.trim();
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .unwrap_or(name);
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    };
    match outside.split_once('<') {
        Some((name, rest)) => {
            let addr = rest.split_once('>')?.0;
            if name.trim().is_empty() {
                Some(format!("<{addr}>"))
            } else {
                Some(format!("{} <{addr}>", quote(name)))
            }
        }
        None => {
            let addr = outside.split_whitespace().collect::<String>();
            let name = comments.iter().map(|c| c.trim()).find(|c| !c.is_empty());
            match name {
                Some(name) => Some(format!("{} <{addr}>", quote(name))),
                None => Some(addr),
            }
        }
    }
}

fn address_reason(value: &str, err: &AddressError) -> &'static str {
    if !value.contains('@') {
        return "has no '@'";
    }
    if value.matches('@').count() > 1 && value.contains([',', ';']) {
        return "holds more than one address";
    }
    match err {
        AddressError::InvalidUser => "has an invalid part before the '@'",
        AddressError::InvalidDomain => "has an invalid domain after the '@'",
        AddressError::Unbalanced => "has unbalanced angle brackets",
        _ => "is not a valid mailbox",
    }
}

fn is_control_or_break(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Replaces every control character (CR, LF, tab, NUL, DEL, C1) and the
/// Unicode line and paragraph separators with a space.
pub(crate) fn fold_controls(s: &str) -> String {
    s.chars()
        .map(|c| if is_control_or_break(c) { ' ' } else { c })
        .collect()
}

/// The longest header line we aim for, without the CRLF (RFC 5322 2.1.1's
/// "SHOULD"); only a single address longer than that exceeds it.
const FOLD_AT: usize = 78;

/// An address-list header (From, To, Cc, Reply-To) folded after the
/// commas, so each physical line stays within [`FOLD_AT`] octets where a
/// single mailbox allows it: lettre writes the whole list on one line, which
/// exceeds RFC 5322's 998 octets at about 60 recipients. Each mailbox is
/// encoded by [`encoded_mailbox`] for the column it starts at; the raw
/// (unencoded) value is the usual comma-separated list.
fn address_list_header(name: &'static str, mailboxes: &[Mailbox]) -> HeaderValue {
    let header_name = HeaderName::new_from_ascii_str(name);
    let raw = mailboxes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut encoded = String::new();
    let mut line_len = name.len() + ": ".len();
    for (i, mailbox) in mailboxes.iter().enumerate() {
        let mut token = encoded_mailbox(mailbox, line_len + usize::from(i > 0));
        if i > 0 {
            encoded.push(',');
            line_len += 1;
            let first_line = token.split("\r\n").next().unwrap_or_default().len();
            if first_line == 0 || line_len + 1 + first_line > FOLD_AT {
                encoded.push_str("\r\n ");
                line_len = 1;
                token = encoded_mailbox(mailbox, line_len);
            } else {
                encoded.push(' ');
                line_len += 1;
            }
        }
        encoded.push_str(&token);
        match token.rsplit_once("\r\n") {
            Some((_, last)) => line_len = last.len(),
            None => line_len += token.len(),
        }
    }
    HeaderValue::dangerous_new_pre_encoded(header_name, raw, encoded)
}

/// One mailbox in a header value starting at column `col`: as lettre
/// encodes it (`Name <a@b>`, the name as an atom or a quoted string) or,
/// where lettre would write the name as encoded-words (which it splits by
/// length, also inside words), with the name written by [`encode_phrase`].
fn encoded_mailbox(mailbox: &Mailbox, col: usize) -> String {
    let value = Header::display(&To::from(Mailboxes::from(mailbox.clone())));
    let mut headers = Headers::new();
    headers.insert_raw(value);
    let line = headers.to_string();
    let lettre = line
        .strip_prefix("To: ")
        .unwrap_or(&line)
        .trim_end_matches("\r\n");
    match mailbox.name.as_deref().map(str::trim) {
        // Printable ASCII with specials (`Doe, John`, `Backup (nightly)`)
        // reads best as a quoted string, where it fits on the line; not
        // text like an encoded-word, which some readers decode even there.
        Some(name)
            if lettre.starts_with("=?")
                && name.bytes().all(|b| (b' '..=b'~').contains(&b))
                && !name.contains("=?")
                && col + name.len() + AsRef::<str>::as_ref(&mailbox.email).len() + 8 <= FOLD_AT =>
        {
            let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{quoted}\" <{}>", mailbox.email)
        }
        Some(name) if lettre.starts_with("=?") => {
            let mut out = Folder::new(col);
            encode_phrase(&mut out, name, is_atom_word);
            out.push(&format!("<{}>", mailbox.email));
            out.text
        }
        _ => lettre.to_owned(),
    }
}

/// The Subject header: plain words as they are, everything else as
/// encoded-words ([`encode_phrase`]), folded between words.
fn subject_header(subject: &str) -> HeaderValue {
    let mut out = Folder::new("Subject: ".len());
    encode_phrase(&mut out, subject, is_text_word);
    HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str("Subject"),
        subject.to_owned(),
        out.text,
    )
}

/// The longest line of a header field that holds encoded-words, and the
/// longest encoded-word (RFC 2047 section 2).
const EW_LINE: usize = 76;
const EW_MAX: usize = 75;
const EW_PREFIX: &str = "=?utf-8?b?";
const EW_SUFFIX: &str = "?=";

/// A word longer than this is encoded (and so split) rather than written as
/// it is, so that no line passes 998 octets; `Reply-To: ` is the longest
/// header name it may follow.
const MAX_PLAIN_WORD: usize = MAX_LINE_LEN - "Reply-To: ".len();

/// A Subject word that can be written as it is: printable ASCII.
fn is_text_word(word: &str) -> bool {
    word.bytes().all(|b| b.is_ascii_graphic())
}

/// A display-name word that can be written as it is: an RFC 5322 atom.
fn is_atom_word(word: &str) -> bool {
    word.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b))
}

/// Header text being written: tokens separated by one space, folded
/// (CRLF and a space) before a token that would pass [`EW_LINE`].
struct Folder {
    text: String,
    col: usize,
    /// Whether the current line holds a token after which it may fold.
    has_token: bool,
}

impl Folder {
    /// Starts at column `col` (after `Name: `).
    fn new(col: usize) -> Self {
        Folder {
            text: String::new(),
            col,
            has_token: false,
        }
    }

    /// Room for the next token on the current line.
    fn room(&self) -> usize {
        EW_LINE.saturating_sub(self.col + usize::from(self.has_token))
    }

    fn fold(&mut self) {
        self.text.push_str("\r\n ");
        self.col = 1;
        self.has_token = false;
    }

    fn push(&mut self, token: &str) {
        if self.has_token {
            if token.len() > self.room() {
                self.fold();
            } else {
                self.text.push(' ');
                self.col += 1;
            }
        }
        self.text.push_str(token);
        self.col += token.len();
        self.has_token = true;
    }
}

/// Writes `text` (words separated by spaces) as header words: a word that
/// `plain` accepts as it is, each run of other words as RFC 2047
/// encoded-words. A word that holds `=?` is never plain: a mail reader
/// would decode it. Where two spaces meet, or at either end, the words
/// around them are encoded, which keeps every space.
///
/// This policy is notify's own; the base64 is the `base64` crate lettre
/// links. lettre's encoder (email-encoding's `rfc2047::encode`) encodes a
/// whole value and ends encoded-words wherever a line is full, so an ASCII
/// subject with one umlaut would turn unreadable in raw form and in every
/// client that shows it undecoded.
///
/// An encoded-word ends between words, with the space inside it (decoders
/// drop the white space between two encoded-words, so the space must be
/// encoded to show), and inside a word only when that word alone is too long
/// for one encoded-word; the pieces are then separated by folding white
/// space only.
fn encode_phrase(out: &mut Folder, text: &str, plain: fn(&str) -> bool) {
    let words: Vec<&str> = text.split(' ').collect();
    let is_plain = |i: usize| {
        let word = words[i];
        !word.is_empty()
            && word.len() <= MAX_PLAIN_WORD
            && !word.contains("=?")
            && plain(word)
            && (i == 0 || !words[i - 1].is_empty())
            && words.get(i + 1).is_none_or(|next| !next.is_empty())
    };
    let mut run_start = None;
    let mut offset = 0;
    for (i, word) in words.iter().enumerate() {
        if is_plain(i) {
            if let Some(start) = run_start.take() {
                encode_run(out, &text[start..offset - 1]);
            }
            out.push(word);
        } else if run_start.is_none() {
            run_start = Some(offset);
        }
        offset += word.len() + 1;
    }
    if let Some(start) = run_start {
        encode_run(out, &text[start..]);
    }
}

/// Writes `run` as encoded-words, each as long as the line allows, ending
/// after a space or at the end of `run` where one fits (else on a new line),
/// inside a word only when that word alone does not fit one encoded-word.
/// The header's first line is never left empty (readers would show the
/// folding space): a first word too long for the rest of it is written
/// there whole, that line then passing 76 octets by at most the header name.
fn encode_run(out: &mut Folder, mut run: &str) {
    while !run.is_empty() {
        let room = out.room().min(EW_MAX);
        let len = if let Some(len) = encodable_prefix(run, room, true) {
            len
        } else if encodable_prefix(run, EW_MAX, true).is_some() {
            if !out.text.is_empty() {
                out.fold();
                continue;
            }
            run.find(' ').map_or(run.len(), |i| i + 1)
        } else if let (false, Some(len)) = (out.has_token, encodable_prefix(run, room, false)) {
            len
        } else {
            out.fold();
            continue;
        };
        let mut word = String::from(EW_PREFIX);
        base64_into(&run.as_bytes()[..len], &mut word);
        word.push_str(EW_SUFFIX);
        out.push(&word);
        run = &run[len..];
    }
}

/// The longest prefix of `s` that fits an encoded-word of at most
/// `max_len` characters, ending after a space or at the end of `s` when
/// `whole_words`, else after any character.
fn encodable_prefix(s: &str, max_len: usize, whole_words: bool) -> Option<usize> {
    let max_bytes = max_len.saturating_sub(EW_PREFIX.len() + EW_SUFFIX.len()) / 4 * 3;
    s.char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take_while(|&end| end <= max_bytes)
        .filter(|&end| !whole_words || end == s.len() || s.as_bytes()[end - 1] == b' ')
        .last()
}

/// Appends the base64 of `bytes` (RFC 4648, padded) to `out`.
fn base64_into(bytes: &[u8], out: &mut String) {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
}

enum BodyPart {
    Single(SinglePart),
    Multi(MultiPart),
}

fn body_part(n: &Notification) -> BodyPart {
    let text = text_part(ContentType::TEXT_PLAIN, &n.text);
    match &n.html {
        None => BodyPart::Single(text),
        Some(html) => BodyPart::Multi(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(text_part(ContentType::TEXT_HTML, html)),
        ),
    }
}

/// A UTF-8 text part. lettre picks 7bit, quoted-printable or base64 and
/// turns LF into CRLF; a bare CR or a NUL would pass through 7bit as it is,
/// so such text is forced to quoted-printable, which escapes them.
fn text_part(content_type: ContentType, text: &str) -> SinglePart {
    let mut builder = SinglePart::builder().header(content_type);
    if needs_escaping(text) {
        builder = builder.header(ContentTransferEncoding::QuotedPrintable);
    }
    builder.body(text.to_owned())
}

fn needs_escaping(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == 0 || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
}

fn attachment_part(a: &Attachment) -> Result<SinglePart, Error> {
    let content_type = parse_content_type(a)?;
    // Base64 for every attachment: lettre would send ASCII bytes as 7bit
    // without normalizing their line endings.
    let body = Body::new_with_encoding(a.data.clone(), ContentTransferEncoding::Base64)
        .unwrap_or_else(Body::new);
    Ok(AttachmentPart::new(clean_filename(&a.filename)).body(body, content_type))
}

fn parse_content_type(a: &Attachment) -> Result<ContentType, Error> {
    let invalid = |reason: String| Error::InvalidContentType {
        filename: a.filename.clone(),
        value: a.content_type.clone(),
        reason,
    };
    let value = a.content_type.trim();
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return Err(invalid("expected type/subtype".to_owned()));
    };
    if kind.trim().is_empty() || subtype.trim().is_empty() {
        return Err(invalid("expected type/subtype".to_owned()));
    }
    if kind.eq_ignore_ascii_case("multipart") || kind.eq_ignore_ascii_case("message") {
        return Err(invalid(format!(
            "a {kind}/* type cannot be attached as a single base64 part"
        )));
    }
    ContentType::parse(value).map_err(|err| invalid(err.to_string()))
}

/// The attachment's file name with control characters folded to spaces and
/// path separators replaced by `_`; `attachment` when nothing is left.
/// lettre encodes non-ASCII names per RFC 2231.
fn clean_filename(name: &str) -> String {
    let cleaned: String = fold_controls(name)
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        cleaned.to_owned()
    }
}

fn check_line_lengths(message: &[u8]) -> Result<(), Error> {
    for (i, line) in message.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_LINE_LEN {
            return Err(Error::LineTooLong {
                line: i + 1,
                len: line.len(),
                start: String::from_utf8_lossy(&line[..40]).into_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = String::new();
            base64_into(input.as_bytes(), &mut out);
            assert_eq!(out, expected, "{input}");
        }
    }

    fn subject(text: &str) -> String {
        let value = subject_header(text);
        let mut headers = Headers::new();
        headers.insert_raw(value);
        let line = headers.to_string();
        line["Subject: ".len()..line.len() - 2].to_owned()
    }

    fn mailbox(value: &str, col: usize) -> String {
        encoded_mailbox(&value.parse().unwrap(), col)
    }

    /// Base64 decoding of one encoded-word's text, for the checks below.
    fn unbase64(s: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut count = 0;
        let mut out = Vec::new();
        for b in s.bytes().filter(|&b| b != b'=') {
            bits = bits << 6 | ALPHABET.iter().position(|&a| a == b).unwrap() as u32;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
            }
        }
        out
    }

    /// The pieces of an encoded header value: (is an encoded-word, text).
    fn pieces(value: &str) -> Vec<(bool, String)> {
        value
            .split([' ', '\r', '\n'])
            .filter(|t| !t.is_empty())
            .map(|t| match t.strip_prefix(EW_PREFIX) {
                Some(rest) => {
                    let text = rest.strip_suffix(EW_SUFFIX).unwrap();
                    (true, String::from_utf8(unbase64(text)).unwrap())
                }
                None => (false, t.to_owned()),
            })
            .collect()
    }

    /// Checks the folding rules: no empty first line, lines within 76
    /// octets where a word allows, encoded-words within 75, the text decoded back whole by RFC
    /// 2047 rules, and every encoded-word that another one follows ending
    /// after a space unless the word it splits is longer than 45 octets.
    fn assert_folded_between_words(text: &str, value: &str, first_col: usize) {
        assert!(!value.starts_with("\r\n"), "empty first line: {value}");
        for (i, line) in value.split("\r\n").enumerate() {
            let len = line.len() + if i == 0 { first_col } else { 0 };
            // Past 76 octets only for a plain word that fits no line, or on
            // the first line for one encoded-word.
            let long_plain = line
                .split(' ')
                .any(|w| !w.starts_with("=?") && w.len() > 70);
            let first_word = i == 0 && line.matches(EW_PREFIX).count() == 1;
            assert!(
                len <= EW_LINE || long_plain || first_word,
                "{len} octets: {line:?}"
            );
        }
        let pieces = pieces(value);
        let mut decoded = String::new();
        for (i, (encoded, piece)) in pieces.iter().enumerate() {
            if i > 0 && !(*encoded && pieces[i - 1].0) {
                decoded.push(' ');
            }
            decoded.push_str(piece);
            let next_encoded = pieces.get(i + 1).is_some_and(|p| p.0);
            if *encoded && next_encoded && !piece.ends_with(' ') {
                let word_start = decoded.rfind(' ').map_or(0, |i| i + 1);
                let word_end = text[decoded.len()..]
                    .find(' ')
                    .map_or(text.len(), |i| decoded.len() + i);
                let word = &text[word_start..word_end];
                assert!(word.len() > 45, "split inside {word:?} in {value}");
            }
        }
        for word in value.split([' ', '\r', '\n']) {
            assert!(!word.starts_with("=?") || word.len() <= EW_MAX, "{word}");
        }
        assert_eq!(decoded, text, "{value}");
    }

    #[test]
    fn text_that_looks_like_an_encoded_word_is_encoded() {
        for (text, expected) in [
            (
                "=?utf-8?q?Hello?= world",
                "=?utf-8?b?PT91dGYtOD9xP0hlbGxvPz0=?= world",
            ),
            (
                "Re: =?UTF-8?B?SGk=?=",
                "Re: =?utf-8?b?PT9VVEYtOD9CP1NHaz0/PQ==?=",
            ),
            // Mail readers find encoded-words inside a word too.
            (
                "job=?utf-8?b?SGk=?=",
                "=?utf-8?b?am9iPT91dGYtOD9iP1NHaz0/PQ==?=",
            ),
            ("a ?= b =? c", "a ?= b =?utf-8?b?PT8=?= c"),
        ] {
            assert_eq!(subject(text), expected, "{text}");
        }
        assert_eq!(
            mailbox("Backup =?utf-8?q?Hello?= Bot <a@example.com>", 6),
            "Backup =?utf-8?b?PT91dGYtOD9xP0hlbGxvPz0=?= Bot <a@example.com>"
        );
        assert_eq!(
            mailbox("\"=?UTF-8?B?SGk=?=\" <a@example.com>", 6),
            "=?utf-8?b?PT9VVEYtOD9CP1NHaz0/PQ==?= <a@example.com>"
        );
    }

    #[test]
    fn plain_words_stay_plain_and_spaces_are_kept() {
        for (text, expected) in [
            ("host: Backup OK", "host: Backup OK"),
            ("Grüße", "=?utf-8?b?R3LDvMOfZQ==?="),
            (
                "Sicherung für Büro OK",
                "Sicherung =?utf-8?b?ZsO8ciBCw7xybw==?= OK",
            ),
            // Where two spaces meet, or at an end, the words around them
            // are encoded, with the spaces.
            ("a  b c", "=?utf-8?b?YSAgYg==?= c"),
            (" x", "=?utf-8?b?IHg=?="),
            ("", ""),
        ] {
            assert_eq!(subject(text), expected, "{text:?}");
        }
    }

    #[test]
    fn encoded_words_break_between_words() {
        let names = [
            "Empfänger für die Überwachung der nächtlichen Sicherungsläufe auf dem Bürorechner in München und in der Zweigstelle Köln",
            "Größere Überwachungsgruppe für nächtliche Sicherungsläufe über alle Außenstellen Österreichs",
            "Служба мониторинга резервного копирования центрального офиса и всех региональных филиалов",
            "バックアップ監視チーム東京本社情報システム部門夜間バッチ処理担当者一同バックアップ監視チーム東京本社情報システム部門担当",
            "Datensicherungsüberwachungsbenachrichtigungsempfängerverwaltungsgesellschaftsmitgliedsausweis",
            "Backup für 🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉 OK",
        ];
        for name in names {
            let value = subject(name);
            assert_folded_between_words(name, &value, "Subject: ".len());
            for col in ["From: ".len(), "Reply-To: ".len(), 1] {
                let value = mailbox(&format!("{name} <ops@example.com>"), col);
                let phrase = value.strip_suffix(" <ops@example.com>").unwrap();
                let phrase = phrase.strip_suffix("\r\n").unwrap_or(phrase);
                assert_folded_between_words(name, phrase, col);
            }
        }
    }

    #[test]
    fn a_word_that_fits_one_encoded_word_is_not_split() {
        // 40 octets: an encoded-word of 68 characters, more than the
        // Subject line has left after `Subject: `.
        let word = "Überwachungsbenachrichtigungsempfänger";
        assert_eq!(word.len(), 40);
        // First on the line: written there (77 octets), not split.
        assert_eq!(
            subject(&format!("{word} OK")),
            "=?utf-8?b?w5xiZXJ3YWNodW5nc2JlbmFjaHJpY2h0aWd1bmdzZW1wZsOkbmdlcg==?=\r\n OK"
        );
        // After other words: on the next line.
        assert_eq!(
            subject(&format!("Sicherung OK {word}")),
            "Sicherung OK\r\n =?utf-8?b?w5xiZXJ3YWNodW5nc2JlbmFjaHJpY2h0aWd1bmdzZW1wZsOkbmdlcg==?="
        );
    }

    #[test]
    fn the_date_keeps_its_offset() {
        use time::macros::datetime;
        for (date, expected) in [
            (
                datetime!(2026-11-21 03:00:05 +01:00),
                "Sat, 21 Nov 2026 03:00:05 +0100",
            ),
            (
                datetime!(2026-06-01 12:00:00 -05:30),
                "Mon, 01 Jun 2026 12:00:00 -0530",
            ),
            (
                datetime!(2024-02-29 23:30:00 UTC),
                "Thu, 29 Feb 2024 23:30:00 +0000",
            ),
            // 1970-01-01 03:00 UTC, a day earlier where it was written.
            (
                datetime!(1969-12-31 22:00:00 -05:00),
                "Wed, 31 Dec 1969 22:00:00 -0500",
            ),
            // An offset with seconds cannot be written: UTC instead.
            (
                datetime!(1900-01-01 00:00:00 +00:53:28)
                    .replace_year(2000)
                    .unwrap(),
                "Fri, 31 Dec 1999 23:06:32 +0000",
            ),
        ] {
            let value = date_header_value(date).unwrap();
            let mut headers = Headers::new();
            headers.insert_raw(value);
            assert_eq!(headers.to_string(), format!("Date: {expected}\r\n"));
        }
        for bad in [
            time::macros::datetime!(1970-01-01 00:30:00 +01:00),
            time::macros::datetime!(1969-12-31 23:59:59 UTC),
        ] {
            assert!(matches!(
                date_header_value(bad),
                Err(Error::InvalidDate { .. })
            ));
        }
    }

    #[test]
    fn message_id_domain_falls_back_for_unusable_domains() {
        assert_eq!(message_id_domain("example.com"), "example.com");
        assert_eq!(message_id_domain("[192.0.2.1]"), "[192.0.2.1]");
        assert_eq!(message_id_domain("bücher.de"), "localhost");
        assert_eq!(message_id_domain(""), "localhost");
        assert_eq!(message_id_domain("a b"), "localhost");
        assert_eq!(message_id_domain("a..b"), "localhost");
    }

    #[test]
    fn message_id_validation() {
        assert!(validate_message_id("<a.b@example.com>").is_ok());
        for bad in [
            "a@b",
            "<a@b",
            "<@b>",
            "<a@>",
            "<a@b@c>",
            "<a b@c>",
            "<a@b>\r\nBcc: evil@x",
            "<<a@b>>",
            "<ä@b>",
        ] {
            assert!(validate_message_id(bad).is_err(), "{bad:?}");
        }
        let long = format!("<{}@b>", "a".repeat(1000));
        assert!(validate_message_id(&long).is_err());
    }

    #[test]
    fn bare_cr_and_nul_need_escaping() {
        assert!(!needs_escaping("a\r\nb\nc"));
        assert!(needs_escaping("50%\r60%"));
        assert!(needs_escaping("a\0b"));
        assert!(needs_escaping("trailing\r"));
    }
}
