//! A small DER reader for the few parts of an X.509 certificate that
//! `notify doctor` shows: subject, issuer, validity and the
//! subjectAltName DNS names and IP addresses.
//!
//! It reads what a server sent before (or without) trusting it, so it
//! trusts nothing: every length is checked against the bytes that are
//! there, nothing is indexed without a bound, and anything it cannot read
//! makes [`Certificate::parse`] return `None` rather than a guess. Text
//! taken from a certificate is cleaned for the terminal (control
//! characters escaped, length capped) before anyone prints it.
//!
//! It does not verify anything: that is webpki's job (see `tls.rs`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Universal tags used here.
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// Context tags inside a certificate.
const VERSION: u8 = 0xa0;
const EXTENSIONS: u8 = 0xa3;
/// GeneralName choices (IMPLICIT, primitive).
const DNS_NAME: u8 = 0x82;
const IP_ADDRESS: u8 = 0x87;
/// id-ce-subjectAltName, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// The longest text kept from a certificate field.
const MAX_TEXT: usize = 200;

/// One DER element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Der<'a> {
    /// The identifier octet (class, constructed bit, tag number).
    pub tag: u8,
    /// The whole element, header included.
    pub whole: &'a [u8],
    /// Its contents.
    pub content: &'a [u8],
    /// What follows it.
    pub rest: &'a [u8],
}

/// Parses the DER element at the start of `input`: one identifier octet
/// (the multi-octet form for tag numbers above 30 is refused: X.509 does
/// not use it), a definite length of at most four octets, and that many
/// content octets, all present.
pub(crate) fn der_element(input: &[u8]) -> Option<Der<'_>> {
    let tag = *input.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2usize)
    } else {
        let n = usize::from(first & 0x7f);
        // 0x80 is the indefinite length of BER, not DER.
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = len.checked_mul(256)? | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    let whole = input.get(..end)?;
    Some(Der {
        tag,
        whole,
        content: whole.get(header..)?,
        rest: input.get(end..)?,
    })
}

/// The element at the start of `input`, if it has tag `tag`.
fn expect(input: &[u8], tag: u8) -> Option<Der<'_>> {
    der_element(input).filter(|e| e.tag == tag)
}

/// The elements of a constructed value, in order; `None` when any of them
/// is malformed.
fn children(mut content: &[u8]) -> Option<Vec<Der<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let e = der_element(content)?;
        content = e.rest;
        out.push(e);
    }
    Some(out)
}

/// The fields of a TBSCertificate this module reads.
struct Tbs<'a> {
    issuer: Der<'a>,
    validity: Der<'a>,
    subject: Der<'a>,
    /// The contents of `extensions [3]`, when present.
    extensions: Option<&'a [u8]>,
}

fn tbs(cert: &[u8]) -> Option<Tbs<'_>> {
    let certificate = expect(cert, SEQUENCE)?;
    let tbs = expect(certificate.content, SEQUENCE)?;
    let mut rest = tbs.content;
    if rest.first() == Some(&VERSION) {
        rest = der_element(rest)?.rest;
    }
    let serial = expect(rest, INTEGER)?;
    let signature = expect(serial.rest, SEQUENCE)?;
    let issuer = expect(signature.rest, SEQUENCE)?;
    let validity = expect(issuer.rest, SEQUENCE)?;
    let subject = expect(validity.rest, SEQUENCE)?;
    let spki = expect(subject.rest, SEQUENCE)?;
    // issuerUniqueID [1], subjectUniqueID [2] (both rare), extensions [3].
    let mut extensions = None;
    for e in children(spki.rest)? {
        if e.tag == EXTENSIONS {
            extensions = Some(e.content);
        }
    }
    Some(Tbs {
        issuer,
        validity,
        subject,
        extensions,
    })
}

/// The encoded issuer and subject names of a certificate, for comparing
/// them byte for byte.
pub(crate) fn issuer_and_subject(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let tbs = tbs(cert)?;
    Some((tbs.issuer.whole, tbs.subject.whole))
}

/// What `notify doctor` shows of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Certificate {
    pub subject: Name,
    pub issuer: Name,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// subjectAltName dNSName entries, in order (cleaned for display).
    pub dns_names: Vec<String>,
    /// subjectAltName iPAddress entries, in order.
    pub ip_addresses: Vec<IpAddr>,
    /// The issuer name is the subject name (byte for byte).
    pub self_issued: bool,
}

impl Certificate {
    /// Reads a DER certificate; `None` for anything it cannot read
    /// completely (never a panic).
    pub(crate) fn parse(der: &[u8]) -> Option<Certificate> {
        let tbs = tbs(der)?;
        let (not_before, not_after) = validity(tbs.validity.content)?;
        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        if let Some(extensions) = tbs.extensions {
            if let Some(san) = find_extension(extensions, SUBJECT_ALT_NAME)? {
                read_general_names(san, &mut dns_names, &mut ip_addresses)?;
            }
        }
        Some(Certificate {
            subject: Name::parse(tbs.subject.content)?,
            issuer: Name::parse(tbs.issuer.content)?,
            not_before,
            not_after,
            dns_names,
            ip_addresses,
            self_issued: tbs.issuer.whole == tbs.subject.whole,
        })
    }

    /// The names the certificate is valid for: DNS names, then addresses.
    pub(crate) fn names(&self) -> Vec<String> {
        self.dns_names
            .iter()
            .cloned()
            .chain(self.ip_addresses.iter().map(IpAddr::to_string))
            .collect()
    }
}

/// `Ok(Some(value))` of the first extension with `oid` in `Extensions`;
/// `Ok(None)` without one; `None` when the list is malformed.
fn find_extension<'a>(extensions: &'a [u8], oid: &[u8]) -> Option<Option<&'a [u8]>> {
    let list = expect(extensions, SEQUENCE)?;
    for ext in children(list.content)? {
        if ext.tag != SEQUENCE {
            return None;
        }
        let id = expect(ext.content, OID)?;
        let mut rest = id.rest;
        if let Some(critical) = expect(rest, BOOLEAN) {
            rest = critical.rest;
        }
        let value = expect(rest, OCTET_STRING)?;
        if id.content == oid {
            return Some(Some(value.content));
        }
    }
    Some(None)
}

/// Reads `GeneralNames`; other kinds of name (e-mail, URI, ...) are
/// skipped, and so is an address of an impossible length.
fn read_general_names(san: &[u8], dns: &mut Vec<String>, ips: &mut Vec<IpAddr>) -> Option<()> {
    let names = expect(san, SEQUENCE)?;
    if !names.rest.is_empty() {
        return None;
    }
    for name in children(names.content)? {
        match name.tag {
            DNS_NAME => dns.push(clean(&String::from_utf8_lossy(name.content))),
            IP_ADDRESS => {
                if let Ok(v4) = <[u8; 4]>::try_from(name.content) {
                    ips.push(IpAddr::V4(Ipv4Addr::from(v4)));
                } else if let Ok(v6) = <[u8; 16]>::try_from(name.content) {
                    ips.push(IpAddr::V6(Ipv6Addr::from(v6)));
                }
            }
            _ => {}
        }
    }
    Some(())
}

fn validity(content: &[u8]) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let not_before = der_element(content)?;
    let not_after = der_element(not_before.rest)?;
    Some((time_value(&not_before)?, time_value(&not_after)?))
}

/// A UTCTime (`YYMMDDHHMMSSZ`; years 50-99 are 19xx, RFC 5280) or a
/// GeneralizedTime (`YYYYMMDDHHMMSSZ`), in UTC.
fn time_value(e: &Der<'_>) -> Option<OffsetDateTime> {
    let text = e.content;
    let (year, rest) = match e.tag {
        UTC_TIME => {
            let yy = i32::from(two_digits(text.get(..2)?)?);
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        GENERALIZED_TIME => {
            let hi = i32::from(two_digits(text.get(..2)?)?);
            let lo = i32::from(two_digits(text.get(2..4)?)?);
            (hi * 100 + lo, text.get(4..)?)
        }
        _ => return None,
    };
    // MMDDHHMMSSZ, the seconds optional (only old UTCTime omits them).
    let (digits, zone) = rest.split_at(rest.len().checked_sub(1)?);
    if zone != b"Z" || (digits.len() != 10 && digits.len() != 8) {
        return None;
    }
    let field = |i: usize| digits.get(i..i + 2).and_then(two_digits);
    let month = Month::try_from(field(0)?).ok()?;
    let date = Date::from_calendar_date(year, month, field(2)?).ok()?;
    let second = if digits.len() == 10 { field(8)? } else { 0 };
    // A leap second (60) is kept as 59.
    let time = Time::from_hms(field(4)?, field(6)?, second.min(59)).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn two_digits(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Some((a - b'0') * 10 + (b - b'0')),
        _ => None,
    }
}

/// A distinguished name: its relative names in order, each with one or
/// more attributes (`OU=Ops + OU=Mail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    pub rdns: Vec<Vec<(String, String)>>,
}

impl Name {
    fn parse(content: &[u8]) -> Option<Name> {
        let mut rdns = Vec::new();
        for rdn in children(content)? {
            if rdn.tag != SET {
                return None;
            }
            let mut attributes = Vec::new();
            for pair in children(rdn.content)? {
                if pair.tag != SEQUENCE {
                    return None;
                }
                let oid = expect(pair.content, OID)?;
                let value = der_element(oid.rest)?;
                if !value.rest.is_empty() {
                    return None;
                }
                attributes.push((attribute_name(oid.content)?, string_value(&value)));
            }
            rdns.push(attributes);
        }
        Some(Name { rdns })
    }

    /// The first value of attribute `key` (`CN`, `O`, ...).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.rdns
            .iter()
            .flatten()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The common name, else the whole name.
    pub(crate) fn short(&self) -> String {
        match self.get("CN") {
            Some(cn) => cn.to_owned(),
            None => self.to_string(),
        }
    }
}

impl fmt::Display for Name {
    /// `C=DE, O=Example, OU=Ops + OU=Mail, CN=mail.example.com`: the order
    /// of the certificate, as `openssl x509 -nameopt oneline` prints it
    /// (without its spaces around `=`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rdns.is_empty() {
            return f.write_str("(empty name)");
        }
        for (i, rdn) in self.rdns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            for (j, (key, value)) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_str(" + ")?;
                }
                write!(f, "{key}={value}")?;
            }
        }
        Ok(())
    }
}

/// The short name of an attribute type (OpenSSL's), else its dotted OID.
fn attribute_name(oid: &[u8]) -> Option<String> {
    let known = match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x04] => "SN",
        [0x55, 0x04, 0x05] => "serialNumber",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x09] => "street",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        [0x55, 0x04, 0x0c] => "title",
        [0x55, 0x04, 0x0f] => "businessCategory",
        [0x55, 0x04, 0x11] => "postalCode",
        [0x55, 0x04, 0x2a] => "GN",
        [0x55, 0x04, 0x61] => "organizationIdentifier",
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
        [0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x03] => "jurisdictionC",
        _ => return dotted_oid(oid),
    };
    Some(known.to_owned())
}

/// `2.5.4.3` from the encoded OID; `None` for an empty, unterminated or
/// oversized one.
fn dotted_oid(bytes: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut pending = false;
    for &b in bytes {
        if !pending && b == 0x80 {
            return None; // a leading 0x80 is not minimal
        }
        value = value.checked_mul(128)?.checked_add(u64::from(b & 0x7f))?;
        pending = b & 0x80 != 0;
        if !pending {
            arcs.push(value);
            value = 0;
        }
    }
    let (&first, rest) = arcs.split_first()?;
    if pending {
        return None;
    }
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for arc in rest {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    Some(out)
}

/// An attribute value as text: the string types X.509 uses, else `#` and
/// the hex of the whole element (as OpenSSL shows it).
fn string_value(e: &Der<'_>) -> String {
    let text = match e.tag {
        // UTF8String, PrintableString, IA5String, VisibleString, NumericString
        0x0c | 0x13 | 0x16 | 0x1a | 0x12 => String::from_utf8_lossy(e.content).into_owned(),
        // TeletexString: in practice Latin-1.
        0x14 => e.content.iter().map(|&b| char::from(b)).collect(),
        // BMPString: UTF-16BE.
        0x1e => {
            let units = e
                .content
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        // UniversalString: UTF-32BE.
        0x1c => e
            .content
            .chunks(4)
            .map(|c| {
                let mut word = [0u8; 4];
                word[..c.len()].copy_from_slice(c);
                char::from_u32(u32::from_be_bytes(word)).unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
        _ => {
            let hex: String = e.whole.iter().map(|b| format!("{b:02X}")).collect();
            format!("#{hex}")
        }
    };
    clean(&text)
}

/// Text from a certificate made safe to print: control characters (a
/// terminal escape sequence in a CN, a newline) are escaped and the length
/// is capped.
pub(crate) fn clean(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_TEXT {
            out.push('…');
            break;
        }
        if c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}') {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER element with a definite length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else if len < 0x100 {
            out.extend([0x81, len as u8]);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(content);
        out
    }

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(SEQUENCE, &parts.concat())
    }

    fn name(cn: &[u8], tag: u8) -> Vec<u8> {
        seq(&[tlv(
            SET,
            &seq(&[tlv(OID, &[0x55, 0x04, 0x03]), tlv(tag, cn)]),
        )])
    }

    /// A hand-made certificate: v1 unless `extensions` is given.
    fn cert(subject: Vec<u8>, validity: Vec<u8>, extensions: Option<Vec<u8>>) -> Vec<u8> {
        let mut tbs = Vec::new();
        if extensions.is_some() {
            tbs.push(tlv(VERSION, &tlv(INTEGER, &[2])));
        }
        tbs.push(tlv(INTEGER, &[1]));
        tbs.push(seq(&[tlv(
            OID,
            &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
        )]));
        tbs.push(name(b"Issuer CA", 0x13));
        tbs.push(validity);
        tbs.push(subject);
        tbs.push(seq(&[seq(&[tlv(OID, &[0x2a])]), tlv(0x03, &[0, 4, 1])]));
        if let Some(ext) = extensions {
            tbs.push(tlv(EXTENSIONS, &ext));
        }
        seq(&[seq(&tbs), seq(&[tlv(OID, &[0x2a])]), tlv(0x03, &[0, 1])])
    }

    fn times(a: &[u8], b: &[u8]) -> Vec<u8> {
        seq(&[tlv(UTC_TIME, a), tlv(GENERALIZED_TIME, b)])
    }

    fn san(names: &[Vec<u8>]) -> Vec<u8> {
        seq(&[seq(&[
            tlv(OID, SUBJECT_ALT_NAME),
            tlv(BOOLEAN, &[0xff]),
            tlv(OCTET_STRING, &seq(names)),
        ])])
    }

    #[test]
    fn der_length_forms() {
        assert_eq!(
            der_element(&[0x30, 0x01, 0xff]).map(|e| e.content),
            Some(&[0xff][..])
        );
        let long = [&[0x30, 0x81, 0x02][..], &[1, 2, 3]].concat();
        let e = der_element(&long).unwrap();
        assert_eq!(
            (e.tag, e.whole.len(), e.content, e.rest),
            (0x30, 5, &[1, 2][..], &[3][..])
        );
        assert!(der_element(&[0x30, 0x05, 1]).is_none(), "short content");
        assert!(der_element(&[0x30]).is_none(), "no length");
        assert!(der_element(&[]).is_none());
        assert!(der_element(&[0x30, 0x80, 0, 0]).is_none(), "indefinite");
        assert!(
            der_element(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none(),
            "5 octets"
        );
        assert!(der_element(&[0x1f, 0x81, 0x01, 0x00]).is_none(), "high tag");
        assert!(der_element(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
    }

    #[test]
    fn hand_made_certificate() {
        let der = cert(
            name(b"mail.example.com", 0x0c),
            times(b"240101000000Z", b"20510630235959Z"),
            Some(san(&[
                tlv(DNS_NAME, b"mail.example.com"),
                tlv(0x81, b"postmaster@example.com"),
                tlv(IP_ADDRESS, &[192, 0, 2, 1]),
                tlv(
                    IP_ADDRESS,
                    &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                ),
                tlv(IP_ADDRESS, &[1, 2, 3]),
            ])),
        );
        let c = Certificate::parse(&der).unwrap();
        assert_eq!(c.subject.to_string(), "CN=mail.example.com");
        assert_eq!(c.issuer.short(), "Issuer CA");
        assert_eq!(c.not_before.to_string(), "2024-01-01 0:00:00.0 +00:00:00");
        assert_eq!(c.not_after.to_string(), "2051-06-30 23:59:59.0 +00:00:00");
        assert_eq!(c.names(), ["mail.example.com", "192.0.2.1", "2001:db8::1"]);
        assert!(!c.self_issued);

        // v1: no version, no extensions; 19xx UTCTime without seconds.
        let v1 = cert(
            name(b"old", 0x13),
            seq(&[
                tlv(UTC_TIME, b"9901010000Z"),
                tlv(UTC_TIME, b"491231235960Z"),
            ]),
            None,
        );
        let c = Certificate::parse(&v1).unwrap();
        assert_eq!(c.not_before.year(), 1999);
        assert_eq!((c.not_after.year(), c.not_after.second()), (2049, 59));
        assert!(c.names().is_empty());
    }

    #[test]
    fn string_types_and_cleaning() {
        let bmp: Vec<u8> = "Zoë ☃".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let universal: Vec<u8> = "ü".chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        for (tag, bytes, want) in [
            (0x1e, bmp, "Zoë ☃".to_owned()),
            (0x1c, universal, "ü".to_owned()),
            (0x14, vec![b'K', 0xf6, b'l', b'n'], "Köln".to_owned()),
            (
                0x0c,
                b"evil\x1b[31m\nred".to_vec(),
                "evil\\u{1b}[31m\\u{a}red".to_owned(),
            ),
            (0x04, vec![0xab], "#0401AB".to_owned()),
        ] {
            let der = cert(
                name(&bytes, tag),
                times(b"240101000000Z", b"20300101000000Z"),
                None,
            );
            let c = Certificate::parse(&der).unwrap();
            assert_eq!(c.subject.short(), want, "tag {tag:#x}");
        }
        assert_eq!(clean(&"x".repeat(500)).chars().count(), MAX_TEXT + 1);
        assert_eq!(clean("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn oids() {
        assert_eq!(dotted_oid(&[0x55, 0x04, 0x03]).as_deref(), Some("2.5.4.3"));
        assert_eq!(
            dotted_oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]).as_deref(),
            Some("1.2.840.113549")
        );
        assert_eq!(dotted_oid(&[0x88, 0x37]).as_deref(), Some("2.999"));
        assert_eq!(dotted_oid(&[]), None);
        assert_eq!(dotted_oid(&[0x86]), None, "unterminated");
        assert_eq!(dotted_oid(&[0x80, 0x01]), None, "not minimal");
        assert_eq!(dotted_oid(&[0xff; 12]), None, "overflow");
        assert_eq!(
            attribute_name(&[0x55, 0x04, 0x63]).as_deref(),
            Some("2.5.4.99")
        );
    }

    #[test]
    fn malformed_input_is_none() {
        let good = cert(
            name(b"x", 0x0c),
            times(b"240101000000Z", b"20300101000000Z"),
            Some(san(&[tlv(DNS_NAME, b"x")])),
        );
        assert!(Certificate::parse(&good).is_some());
        // Every truncation, and every single-byte change of the structure.
        for n in 0..good.len() {
            let _ = Certificate::parse(&good[..n]);
            assert!(Certificate::parse(&good[..n]).is_none(), "truncated to {n}");
        }
        for i in 0..good.len() {
            for b in [0x00, 0x30, 0x80, 0x81, 0x84, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = Certificate::parse(&bad);
                let _ = issuer_and_subject(&bad);
            }
        }
        for bad_time in [
            &b"2401010000Z0"[..],
            b"241301000000Z",
            b"240230000000Z",
            b"240101250000Z",
            b"24010100000Z",
            b"240101000000+0100",
            b"",
            b"Z",
        ] {
            let der = cert(
                name(b"x", 0x0c),
                seq(&[tlv(UTC_TIME, bad_time), tlv(UTC_TIME, bad_time)]),
                None,
            );
            assert!(
                Certificate::parse(&der).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad_time)
            );
        }
        // A SAN that is not a SEQUENCE, or has trailing bytes.
        let odd = cert(
            name(b"x", 0x0c),
            times(b"240101000000Z", b"20300101000000Z"),
            Some(seq(&[seq(&[
                tlv(OID, SUBJECT_ALT_NAME),
                tlv(OCTET_STRING, &[0x04, 0x00]),
            ])])),
        );
        assert!(Certificate::parse(&odd).is_none());
        assert!(Certificate::parse(b"").is_none());
        assert!(Certificate::parse(b"-----BEGIN CERTIFICATE-----").is_none());
    }

    /// What `openssl x509 -noout -subject -issuer -enddate -ext
    /// subjectAltName` says, in this module's terms: (subject, issuer,
    /// notAfter as OpenSSL prints it, DNS names, IP addresses).
    type OpensslView = (String, String, String, Vec<String>, Vec<IpAddr>);

    fn openssl_view(dir: &std::path::Path, pem: &str) -> Option<OpensslView> {
        let out = match notify_testkit::openssl(
            dir,
            &[
                "x509",
                "-in",
                pem,
                "-noout",
                "-subject",
                "-issuer",
                "-enddate",
                "-ext",
                "subjectAltName",
                "-nameopt",
                "oneline,-esc_msb,utf8",
            ],
        ) {
            Ok(out) => out,
            Err(skipped) => {
                eprintln!("skipped: {skipped}");
                return None;
            }
        };
        let field = |prefix: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in {out}"))
                .replace(" = ", "=")
        };
        let (mut dns, mut ips) = (Vec::new(), Vec::new());
        let mut lines = out.lines();
        if lines.any(|l| l.starts_with("X509v3 Subject Alternative Name")) {
            for entry in lines.next().unwrap_or_default().trim().split(", ") {
                if let Some(name) = entry.strip_prefix("DNS:") {
                    dns.push(name.to_owned());
                } else if let Some(ip) = entry.strip_prefix("IP Address:") {
                    ips.push(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}")));
                }
            }
        }
        Some((
            field("subject="),
            field("issuer="),
            field("notAfter="),
            dns,
            ips,
        ))
    }

    /// `Nov 18 22:10:30 2036 GMT`, as OpenSSL prints a time.
    fn openssl_time(t: OffsetDateTime) -> String {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{} {:>2} {:02}:{:02}:{:02} {} GMT",
            MONTHS[usize::from(u8::from(t.month())) - 1],
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.year()
        )
    }

    /// The test server's certificates and a few odder ones, all made by
    /// openssl, read here and by `openssl x509`: the same subject, issuer,
    /// expiry and names.
    #[test]
    fn agrees_with_openssl() {
        let certs = match notify_testkit::test_certs() {
            Ok(certs) => certs,
            Err(skipped) => {
                eprintln!("skipped: {skipped}");
                return;
            }
        };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut files: Vec<String> = ["ca", "leaf", "self", "wrongname", "other-ca"]
            .iter()
            .map(|n| certs.dir().join(format!("{n}.pem")).display().to_string())
            .collect();
        let make: &[&[&str]] = &[
            // RSA (long-form lengths), several and multi-valued RDNs, UTF-8,
            // a GeneralizedTime notAfter (after 2049), every kind of SAN.
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rich.key", "-out",
                "rich.pem", "-utf8", "-subj",
                "/C=DE/ST=Berlin/O=Beispiel GmbH/OU=Mail+OU=Ops/CN=mail.bücher.example/emailAddress=a@b.example",
                "-days", "9000", "-addext",
                "subjectAltName=DNS:mail.example.com,DNS:*.example.org,IP:192.0.2.1,IP:2001:db8::1,email:x@example.com,URI:https://x.example/,DNS:xn--bcher-kva.example",
            ],
            // No CN at all, a critical SAN.
            &[
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", "nocn.key", "-out", "nocn.pem", "-subj",
                "/O=No Name Inc/OU=Relay", "-days", "30", "-addext",
                "subjectAltName=critical,DNS:relay.internal",
            ],
            // Version 1 (no extensions), expired yesterday.
            &[
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", "v1.key", "-out", "v1.csr", "-subj", "/CN=v1.example/O=Old",
            ],
            &[
                "x509", "-req", "-in", "v1.csr", "-signkey", "v1.key", "-days", "-1", "-out",
                "v1.pem",
            ],
        ];
        for args in make {
            if let Err(skipped) = notify_testkit::openssl(dir, args) {
                eprintln!("skipped: {skipped}");
                return;
            }
        }
        for name in ["rich.pem", "nocn.pem", "v1.pem"] {
            files.push(dir.join(name).display().to_string());
        }
        for file in &files {
            let pem = std::fs::read(file).unwrap();
            let der = crate::tls::parse_pem_certificates(&pem).unwrap().remove(0);
            let cert =
                Certificate::parse(der.as_ref()).unwrap_or_else(|| panic!("{file}: not parsed"));
            let Some((subject, issuer, not_after, dns, ips)) = openssl_view(dir, file) else {
                return;
            };
            assert_eq!(cert.subject.to_string(), subject, "{file}");
            assert_eq!(cert.issuer.to_string(), issuer, "{file}");
            assert_eq!(openssl_time(cert.not_after), not_after, "{file}");
            assert_eq!(cert.dns_names, dns, "{file}");
            assert_eq!(cert.ip_addresses, ips, "{file}");
            assert_eq!(
                cert.self_issued,
                subject == issuer,
                "{file}: self-issued {}",
                cert.self_issued
            );
            // Every truncation of a real certificate is refused, quietly.
            for n in (0..der.as_ref().len()).step_by(7) {
                assert!(
                    Certificate::parse(&der.as_ref()[..n]).is_none(),
                    "{file}: {n}"
                );
            }
        }
        let rich = Certificate::parse(
            crate::tls::parse_pem_certificates(&std::fs::read(dir.join("rich.pem")).unwrap())
                .unwrap()[0]
                .as_ref(),
        )
        .unwrap();
        assert_eq!(rich.subject.short(), "mail.bücher.example");
        assert_eq!(rich.subject.get("O"), Some("Beispiel GmbH"));
        assert!(rich.not_after.year() > 2049);
        let nocn = Certificate::parse(
            crate::tls::parse_pem_certificates(&std::fs::read(dir.join("nocn.pem")).unwrap())
                .unwrap()[0]
                .as_ref(),
        )
        .unwrap();
        assert_eq!(nocn.subject.short(), "O=No Name Inc, OU=Relay");
    }

    #[test]
    fn random_bytes_never_panic() {
        // xorshift: deterministic, no dependency.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let template = cert(
            name(b"mail.example.com", 0x0c),
            times(b"240101000000Z", b"20300101000000Z"),
            Some(san(&[
                tlv(DNS_NAME, b"mail.example.com"),
                tlv(IP_ADDRESS, &[1, 2, 3, 4]),
            ])),
        );
        for round in 0..20_000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let len = (next() % 300) as usize;
                (0..len).map(|_| next() as u8).collect()
            } else {
                // Mutate a valid certificate: a few bytes changed.
                let mut b = template.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() as usize) % b.len();
                    b[i] = next() as u8;
                }
                b
            };
            let parsed = Certificate::parse(&bytes);
            if round % 2 == 0 {
                assert!(parsed.is_none() || bytes.first() == Some(&SEQUENCE));
            }
            let _ = issuer_and_subject(&bytes);
        }
    }
}
