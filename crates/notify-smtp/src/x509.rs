//! The few parts of an X.509 certificate that `notify doctor` shows:
//! subject, issuer, validity and the subjectAltName DNS names and IP
//! addresses.
//!
//! The parsing is RustCrypto's `x509-cert` (strict DER); this module only
//! maps its types into the plain [`Certificate`] and [`Name`] the doctor
//! prints. It reads what a server sent before (or without) trusting it, so
//! anything the parser refuses makes [`Certificate::parse`] return `None`
//! (shown as "a certificate notify cannot decode"), never a guess or a
//! panic. Text taken from a certificate is cleaned for the terminal
//! (control characters escaped, length capped) before anyone prints it.
//!
//! It does not verify anything: that is webpki's job (see `tls.rs`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use time::OffsetDateTime;
use x509_cert::certificate::{CertificateInner, Profile};
use x509_cert::der::asn1::Any;
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::der::{Decode, Encode, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

/// The longest text kept from a certificate field.
const MAX_TEXT: usize = 200;

/// RFC 5280 parsing without the serial-number rule: the doctor shows a
/// certificate whose serial is negative or too long rather than calling it
/// undecodable (webpki judges it; this module only describes it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lenient;

impl Profile for Lenient {
    fn check_serial_number(_: &SerialNumber<Self>) -> x509_cert::der::Result<()> {
        Ok(())
    }
}

fn decode(der: &[u8]) -> Option<CertificateInner<Lenient>> {
    CertificateInner::<Lenient>::from_der(der).ok()
}

/// Whether a DER certificate names itself as its issuer; `false` when it
/// cannot be read.
pub(crate) fn is_self_issued(der: &[u8]) -> bool {
    decode(der).is_some_and(|c| c.tbs_certificate.issuer == c.tbs_certificate.subject)
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
    /// The issuer name is the subject name.
    pub self_issued: bool,
}

impl Certificate {
    /// Reads a DER certificate; `None` for anything `x509-cert` refuses
    /// (never a panic), and for a subjectAltName extension it cannot read.
    pub(crate) fn parse(der: &[u8]) -> Option<Certificate> {
        let tbs = decode(der)?.tbs_certificate;
        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        let san = tbs
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == SubjectAltName::OID);
        if let Some(san) = san {
            let san = SubjectAltName::from_der(san.extn_value.as_bytes()).ok()?;
            for name in &san.0 {
                match name {
                    GeneralName::DnsName(dns) => dns_names.push(clean(dns.as_str())),
                    GeneralName::IpAddress(ip) => {
                        if let Ok(v4) = <[u8; 4]>::try_from(ip.as_bytes()) {
                            ip_addresses.push(IpAddr::V4(Ipv4Addr::from(v4)));
                        } else if let Ok(v6) = <[u8; 16]>::try_from(ip.as_bytes()) {
                            ip_addresses.push(IpAddr::V6(Ipv6Addr::from(v6)));
                        }
                    }
                    // E-mail, URI, ... are not names a server is reached by.
                    _ => {}
                }
            }
        }
        Some(Certificate {
            subject: Name::from_x509(&tbs.subject),
            issuer: Name::from_x509(&tbs.issuer),
            not_before: time_value(tbs.validity.not_before)?,
            not_after: time_value(tbs.validity.not_after)?,
            dns_names,
            ip_addresses,
            self_issued: tbs.issuer == tbs.subject,
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

/// A UTCTime or GeneralizedTime (both in UTC, as DER requires).
fn time_value(t: Time) -> Option<OffsetDateTime> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).ok()?;
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

/// A distinguished name: its relative names in order, each with one or
/// more attributes (`OU=Ops + OU=Mail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    pub rdns: Vec<Vec<(String, String)>>,
}

impl Name {
    fn from_x509(name: &x509_cert::name::Name) -> Name {
        let rdns = name
            .0
            .iter()
            .map(|rdn| {
                rdn.0
                    .iter()
                    .map(|pair| (attribute_name(&pair.oid), string_value(&pair.value)))
                    .collect()
            })
            .collect();
        Name { rdns }
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
fn attribute_name(oid: &ObjectIdentifier) -> String {
    let known = match oid.as_bytes() {
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
        _ => return oid.to_string(),
    };
    known.to_owned()
}

/// An attribute value as text: the string types X.509 uses, else `#` and
/// the hex of the whole element (as OpenSSL shows it).
fn string_value(value: &Any) -> String {
    let content = value.value();
    let text = match u8::from(value.tag()) {
        // UTF8String, PrintableString, IA5String, VisibleString, NumericString
        0x0c | 0x13 | 0x16 | 0x1a | 0x12 => String::from_utf8_lossy(content).into_owned(),
        // TeletexString: in practice Latin-1.
        0x14 => content.iter().map(|&b| char::from(b)).collect(),
        // BMPString: UTF-16BE.
        0x1e => {
            let units = content
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        _ => {
            let whole = value.to_der().unwrap_or_else(|_| content.to_vec());
            let hex: String = whole.iter().map(|b| format!("{b:02X}")).collect();
            format!("#{hex}")
        }
    };
    clean(&text)
}

/// Text from a certificate made safe to print: control characters (a
/// terminal escape sequence in a CN, a newline) are escaped and the length
/// is capped.
pub(crate) fn clean(text: &str) -> String {
    notify_core::text::printable(text, Some(MAX_TEXT))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Universal and context tags of the hand-made certificates.
    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const INTEGER: u8 = 0x02;
    const BOOLEAN: u8 = 0x01;
    const OCTET_STRING: u8 = 0x04;
    const OID: u8 = 0x06;
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;
    const VERSION: u8 = 0xa0;
    const EXTENSIONS: u8 = 0xa3;
    const DNS_NAME: u8 = 0x82;
    const IP_ADDRESS: u8 = 0x87;
    /// id-ce-subjectAltName, 2.5.29.17.
    const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
    /// ecdsa-with-SHA256, 1.2.840.10045.4.3.2.
    const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    /// id-ecPublicKey, 1.2.840.10045.2.1.
    const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

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
        cert_with_serial(&[1], subject, validity, extensions)
    }

    fn cert_with_serial(
        serial: &[u8],
        subject: Vec<u8>,
        validity: Vec<u8>,
        extensions: Option<Vec<u8>>,
    ) -> Vec<u8> {
        let mut tbs = Vec::new();
        if extensions.is_some() {
            tbs.push(tlv(VERSION, &tlv(INTEGER, &[2])));
        }
        tbs.push(tlv(INTEGER, serial));
        tbs.push(seq(&[tlv(OID, ECDSA_SHA256)]));
        tbs.push(name(b"Issuer CA", 0x13));
        tbs.push(validity);
        tbs.push(subject);
        tbs.push(seq(&[
            seq(&[tlv(OID, EC_PUBLIC_KEY)]),
            tlv(0x03, &[0, 4, 1]),
        ]));
        if let Some(ext) = extensions {
            tbs.push(tlv(EXTENSIONS, &ext));
        }
        seq(&[
            seq(&tbs),
            seq(&[tlv(OID, ECDSA_SHA256)]),
            tlv(0x03, &[0, 1]),
        ])
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
        assert!(!is_self_issued(&der));

        // v1: no version, no extensions; a 19xx UTCTime.
        let v1 = cert(
            name(b"old", 0x13),
            seq(&[
                tlv(UTC_TIME, b"990101000000Z"),
                tlv(UTC_TIME, b"491231235959Z"),
            ]),
            None,
        );
        let c = Certificate::parse(&v1).unwrap();
        assert_eq!(c.not_before.year(), 1999);
        assert_eq!((c.not_after.year(), c.not_after.second()), (2049, 59));
        assert!(c.names().is_empty());

        // Self-issued: the issuer's name is the subject's.
        let own = cert(
            name(b"Issuer CA", 0x13),
            times(b"240101000000Z", b"20300101000000Z"),
            None,
        );
        assert!(Certificate::parse(&own).unwrap().self_issued);
        assert!(is_self_issued(&own));
    }

    /// A serial number RFC 5280 forbids (negative, 30 octets) is shown
    /// anyway: judging it is webpki's job.
    #[test]
    fn odd_serial_numbers_are_read() {
        for serial in [&[0xff][..], &[0x11; 30]] {
            let der = cert_with_serial(
                serial,
                name(b"x", 0x0c),
                times(b"240101000000Z", b"20300101000000Z"),
                None,
            );
            assert_eq!(Certificate::parse(&der).unwrap().subject.short(), "x");
        }
    }

    #[test]
    fn string_types_and_cleaning() {
        let bmp: Vec<u8> = "Zoë ☃".encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (tag, bytes, want) in [
            (0x1e, bmp, "Zoë ☃".to_owned()),
            (0x14, vec![b'K', 0xf6, b'l', b'n'], "Köln".to_owned()),
            (
                0x0c,
                b"evil\x1b[31m\nred".to_vec(),
                "evil\\u{1b}[31m\\nred".to_owned(),
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
        assert_eq!(clean(&"x".repeat(500)).chars().count(), MAX_TEXT);
        assert_eq!(clean("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn attribute_names() {
        let oid = |bytes: &[u8]| ObjectIdentifier::from_bytes(bytes).unwrap();
        assert_eq!(attribute_name(&oid(&[0x55, 0x04, 0x03])), "CN");
        assert_eq!(
            attribute_name(&oid(&[
                0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01
            ])),
            "emailAddress"
        );
        assert_eq!(attribute_name(&oid(&[0x55, 0x04, 0x63])), "2.5.4.99");
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
            assert!(Certificate::parse(&good[..n]).is_none(), "truncated to {n}");
            assert!(!is_self_issued(&good[..n]));
        }
        for i in 0..good.len() {
            for b in [0x00, 0x30, 0x80, 0x81, 0x84, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = Certificate::parse(&bad);
                let _ = is_self_issued(&bad);
            }
        }
        for bad_time in [
            &b"2401010000Z0"[..],
            b"241301000000Z",
            b"240230000000Z",
            b"240101250000Z",
            b"24010100000Z",
            b"240101000000+0100",
            // DER requires the seconds; a leap second is no time of day.
            b"9901010000Z",
            b"491231235960Z",
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
        let trailing = cert(
            name(b"x", 0x0c),
            times(b"240101000000Z", b"20300101000000Z"),
            Some(seq(&[seq(&[
                tlv(OID, SUBJECT_ALT_NAME),
                tlv(
                    OCTET_STRING,
                    &[seq(&[tlv(DNS_NAME, b"x")]), vec![0x05, 0x00]].concat(),
                ),
            ])])),
        );
        assert!(Certificate::parse(&trailing).is_none());
        // A string type X.509 allows but the parser does not know
        // (UniversalString) makes the whole certificate undecodable.
        let universal = cert(
            name(&[0, 0, 0, b'u'], 0x1c),
            times(b"240101000000Z", b"20300101000000Z"),
            None,
        );
        assert!(Certificate::parse(&universal).is_none());
        assert!(Certificate::parse(b"").is_none());
        assert!(Certificate::parse(b"-----BEGIN CERTIFICATE-----").is_none());
    }

    /// What `openssl x509 -noout -subject -issuer -enddate -ext
    /// subjectAltName` says, in this module's terms: (subject, issuer,
    /// notAfter as OpenSSL prints it, DNS names, IP addresses).
    type OpensslView = (String, String, String, Vec<String>, Vec<IpAddr>);

    fn openssl_view(dir: &std::path::Path, pem: &str) -> OpensslView {
        let out = notify_testkit::openssl(
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
        );
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
        (
            field("subject="),
            field("issuer="),
            field("notAfter="),
            dns,
            ips,
        )
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
    #[ignore = "needs the SMTP test server (aiosmtpd) and openssl; `cargo xtask ci` runs it"]
    fn agrees_with_openssl() {
        let certs = notify_testkit::test_certs();
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
            notify_testkit::openssl(dir, args);
        }
        for name in ["rich.pem", "nocn.pem", "v1.pem"] {
            files.push(dir.join(name).display().to_string());
        }
        for file in &files {
            let pem = std::fs::read(file).unwrap();
            let der = crate::tls::parse_pem_certificates(&pem).unwrap().remove(0);
            let cert =
                Certificate::parse(der.as_ref()).unwrap_or_else(|| panic!("{file}: not parsed"));
            let (subject, issuer, not_after, dns, ips) = openssl_view(dir, file);
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
            let _ = is_self_issued(&bytes);
        }
    }
}
