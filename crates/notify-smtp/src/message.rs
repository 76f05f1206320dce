//! Turning a [`Notification`] into an RFC 5322 message with lettre's
//! builder, plus the checks lettre leaves to its caller.

use std::collections::hash_map::RandomState;
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
use time::OffsetDateTime;

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

/// Builds the message for `n` with lettre's builder.
///
/// - `from` is required ([`Error::MissingFrom`]); at least one of `to`, `cc`,
///   `bcc` must hold an address ([`Error::NoRecipients`]). Each address is an
///   RFC 5322 mailbox, `Name <user@example.com>` or `user@example.com`; a bad
///   one is an [`Error::InvalidAddress`] naming the field and the value.
/// - The envelope is built here from `from` and `to` + `cc` + `bcc`
///   (duplicates dropped); `bcc` appears in the envelope only, never as a
///   header.
/// - Headers: Date (`n.date` or now, written in UTC as `+0000`; a date
///   before 1970 is [`Error::InvalidDate`]), From, To, Cc, Reply-To, Subject,
///   Message-ID (`n.message_id`, validated, or [`new_message_id`] for the
///   sender's domain), User-Agent ([`USER_AGENT`]) and MIME-Version.
/// - The subject has control characters and line breaks folded to spaces
///   (again: the template engine already does); non-ASCII text in the
///   subject and in display names becomes RFC 2047 encoded-words.
/// - The body is `text/plain; charset=utf-8`, or `multipart/alternative`
///   (text, then HTML) when `n.html` is set; with attachments the top level
///   is `multipart/mixed`: the body first, then each attachment, always
///   base64 so its bytes arrive unchanged.
/// - Every line of the result is checked against RFC 5322's 998 octets.
pub fn build_message(n: &Notification) -> Result<Message, Error> {
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
    let date = match n.date {
        Some(date) => system_time(date)?,
        None => SystemTime::now(),
    };
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
    let envelope = Envelope::new(Some(from.email.clone()), recipients).map_err(Error::Build)?;

    let mut builder = Message::builder().envelope(envelope).date(date).from(from);
    if !to.is_empty() {
        builder = builder.raw_header(address_list_header("To", &to));
    }
    if !cc.is_empty() {
        builder = builder.raw_header(address_list_header("Cc", &cc));
    }
    if let Some(mailbox) = reply_to {
        builder = builder.reply_to(mailbox);
    }
    let builder = builder
        .raw_header(subject_header(&fold_controls(&n.subject)))
        .message_id(Some(message_id))
        .user_agent(USER_AGENT.to_owned());

    let body = body_part(n);
    let message = if n.attachments.is_empty() {
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
    .map_err(Error::Build)?;

    check_line_lengths(&message.formatted())?;
    Ok(message)
}

/// The complete RFC 5322 message for `n`, with CRLF line endings, exactly as
/// it would go over SMTP. See [`build_message`] for what it contains.
pub fn format_message(n: &Notification) -> Result<Vec<u8>, Error> {
    build_message(n).map(|message| message.formatted())
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
fn validate_message_id(id: &str) -> Result<(), Error> {
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

fn system_time(date: OffsetDateTime) -> Result<SystemTime, Error> {
    let secs = date.unix_timestamp();
    if !(0..YEAR_10000).contains(&secs) {
        let value = date
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| date.to_string());
        return Err(Error::InvalidDate { value });
    }
    Ok(SystemTime::from(date))
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
    value
        .parse::<Mailbox>()
        .map_err(|err| invalid(address_reason(value, &err)))
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

/// An address-list header (To, Cc) folded after the commas, so each
/// physical line stays within [`FOLD_AT`] octets where a single mailbox
/// allows it: lettre writes the whole list on one line, which exceeds
/// RFC 5322's 998 octets at about 60 recipients. Each mailbox is encoded by
/// lettre (RFC 2047 display names), so its encoded-words stay intact; the
/// raw (unencoded) value is the usual comma-separated list.
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
        let token = encoded_mailbox(mailbox);
        let first_line = token.split("\r\n").next().unwrap_or_default().len();
        if i > 0 {
            encoded.push(',');
            line_len += 1;
            if line_len + 1 + first_line > FOLD_AT {
                encoded.push_str("\r\n ");
                line_len = 1;
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

/// One mailbox as lettre encodes it in a header value (`Name <a@b>`, the
/// name quoted or as RFC 2047 encoded-words when it needs to be).
fn encoded_mailbox(mailbox: &Mailbox) -> String {
    let value = Header::display(&To::from(Mailboxes::from(mailbox.clone())));
    let mut headers = Headers::new();
    headers.insert_raw(value);
    let line = headers.to_string();
    line.strip_prefix("To: ")
        .unwrap_or(&line)
        .trim_end_matches("\r\n")
        .to_owned()
}

/// The Subject header as lettre encodes it (plain where it can, RFC 2047
/// encoded-words for words with non-ASCII characters, folded at spaces) or,
/// when that would leave a line over 998 octets (lettre cannot fold a long
/// run without spaces), the whole subject as folded encoded-words.
fn subject_header(subject: &str) -> HeaderValue {
    let name = HeaderName::new_from_ascii_str("Subject");
    let value = HeaderValue::new(name.clone(), subject.to_owned());
    let mut headers = Headers::new();
    headers.insert_raw(value.clone());
    let fits = headers
        .to_string()
        .split("\r\n")
        .all(|line| line.len() <= MAX_LINE_LEN);
    if fits {
        value
    } else {
        HeaderValue::dangerous_new_pre_encoded(name, subject.to_owned(), encoded_words(subject))
    }
}

/// `s` as RFC 2047 base64 encoded-words of whole characters, one per line,
/// each line under 78 octets including `Subject: `.
fn encoded_words(s: &str) -> String {
    const CHUNK: usize = 42; // 56 base64 characters + 12 = 68, + "Subject: " = 77
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            if i + c.len_utf8() > CHUNK {
                break;
            }
            end = i + c.len_utf8();
        }
        if !out.is_empty() {
            out.push_str("\r\n ");
        }
        out.push_str("=?utf-8?b?");
        base64_into(&rest.as_bytes()[..end], &mut out);
        out.push_str("?=");
        rest = &rest[end..];
    }
    out
}

fn base64_into(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
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

    #[test]
    fn encoded_words_keep_characters_whole_and_lines_short() {
        let subject = "ä€😀".repeat(40);
        let encoded = encoded_words(&subject);
        for line in encoded.split("\r\n") {
            assert!(line.len() + "Subject: ".len() <= 78, "{line}");
        }
        assert_eq!(
            encoded.matches("=?utf-8?b?").count(),
            encoded.lines().count()
        );
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
