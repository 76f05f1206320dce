//! Message building: headers, encodings, structure, errors, injection.

use std::collections::HashSet;

use notify_core::{ErrorKind, Notification, TransportError};
use notify_smtp::{build_message, format_message, new_message_id, Error, Hint, USER_AGENT};
use time::macros::datetime;

use crate::util::{
    all_header_names, assert_well_formed, attachment, decode_2047, disposition_filename,
    fixed_notification, notification, Part,
};

fn format(n: &Notification) -> (Vec<u8>, Part) {
    let bytes = format_message(n).unwrap();
    assert_well_formed(&bytes);
    let part = Part::parse(&bytes);
    (bytes, part)
}

// --- headers -------------------------------------------------------------

#[test]
fn a_simple_message_has_every_required_header() {
    let (bytes, mail) = format(&fixed_notification());
    assert_eq!(mail.header("Date"), Some("Tue, 15 Nov 1994 08:12:31 +0000"));
    assert_eq!(mail.header("From"), Some("Backups <backup@example.com>"));
    assert_eq!(mail.header("To"), Some("ops@example.com"));
    assert_eq!(
        mail.header("Subject"),
        Some("host: Daily Backup: Finished successfully")
    );
    assert_eq!(mail.header("Message-ID"), Some("<fixed.1@example.com>"));
    assert_eq!(mail.header("MIME-Version"), Some("1.0"));
    assert_eq!(mail.header("User-Agent"), Some(USER_AGENT));
    assert_eq!(USER_AGENT, format!("notify/{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(
        mail.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(mail.header("Content-Transfer-Encoding"), Some("7bit"));
    assert_eq!(mail.text(), "All good.\nBytes copied: 12 MB\n\n");
    assert!(bytes.ends_with(b"\r\n"));
    let mut names = mail.names();
    names.sort();
    assert_eq!(
        names,
        [
            "content-transfer-encoding",
            "content-type",
            "date",
            "from",
            "message-id",
            "mime-version",
            "subject",
            "to",
            "user-agent"
        ]
    );
}

#[test]
fn the_whole_simple_message_is_stable() {
    let bytes = format_message(&fixed_notification()).unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        concat!(
            "Date: Tue, 15 Nov 1994 08:12:31 +0000\r\n",
            "From: Backups <backup@example.com>\r\n",
            "To: ops@example.com\r\n",
            "Subject: host: Daily Backup: Finished successfully\r\n",
            "Message-ID: <fixed.1@example.com>\r\n",
            "User-Agent: notify/",
            env!("CARGO_PKG_VERSION"),
            "\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: 7bit\r\n",
            "\r\n",
            "All good.\r\n",
            "Bytes copied: 12 MB\r\n",
            "\r\n",
        )
    );
}

#[test]
fn the_date_keeps_its_offset() {
    for (date, expected) in [
        (
            datetime!(2024-03-01 01:30:00 +02:00),
            "Fri, 01 Mar 2024 01:30:00 +0200",
        ),
        (
            datetime!(2026-11-21 03:00:05 +01:00),
            "Sat, 21 Nov 2026 03:00:05 +0100",
        ),
        (
            datetime!(2026-07-04 09:15:00 -05:30),
            "Sat, 04 Jul 2026 09:15:00 -0530",
        ),
    ] {
        let n = {
            let mut built = notification();
            built.date = Some(date);
            built
        };
        let (_, mail) = format(&n);
        assert_eq!(mail.header("Date"), Some(expected));
        let parsed =
            time::OffsetDateTime::parse(expected, &time::format_description::well_known::Rfc2822)
                .unwrap();
        assert_eq!(parsed, date);
        assert_eq!(parsed.offset(), date.offset());
    }
}

#[test]
fn without_a_date_the_time_of_sending_is_used() {
    let before = std::time::SystemTime::now();
    let (_, mail) = format(&notification());
    let date = mail.header("Date").unwrap();
    let parsed =
        time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc2822).unwrap();
    let before = time::OffsetDateTime::from(before)
        .replace_nanosecond(0)
        .unwrap();
    assert!(parsed >= before && parsed <= before + time::Duration::seconds(5));
}

#[test]
fn a_date_before_1970_is_an_error_not_a_panic() {
    let n = {
        let mut built = notification();
        built.date = Some(datetime!(1969-12-31 23:59:59 UTC));
        built
    };
    let err = format_message(&n).unwrap_err();
    assert!(matches!(err, Error::InvalidDate { .. }), "{err:?}");
    assert!(err.to_string().contains("1969-12-31T23:59:59Z"), "{err}");
    let last = {
        let mut built = notification();
        built.date = Some(datetime!(9999-12-31 23:59:59 UTC));
        built
    };
    let (_, mail) = format(&last);
    assert_eq!(mail.header("Date"), Some("Fri, 31 Dec 9999 23:59:59 +0000"));
}

#[test]
fn recipients_cc_and_reply_to_become_headers() {
    let n = {
        let mut built = notification();
        built.to = vec![
            "Ops <ops@example.com>".into(),
            "admin@example.org".into(),
            "Dr. Who <who@example.net>".into(),
        ];
        built.cc = vec![
            "Team Lead <lead@example.com>".into(),
            "audit@example.com".into(),
        ];
        built.reply_to = Some("Helpdesk <help@example.com>".into());
        built
    };
    let (_, mail) = format(&n);
    assert_eq!(
        mail.header("To"),
        Some("Ops <ops@example.com>, admin@example.org, \"Dr. Who\" <who@example.net>")
    );
    assert_eq!(
        mail.header("Cc"),
        Some("\"Team Lead\" <lead@example.com>, audit@example.com")
    );
    assert_eq!(mail.header("Reply-To"), Some("Helpdesk <help@example.com>"));
}

#[test]
fn bcc_is_in_the_envelope_only() {
    let n = {
        let mut built = notification();
        built.to = vec!["ops@example.com".into()];
        built.cc = vec!["lead@example.com".into(), "ops@example.com".into()];
        built.bcc = vec!["Secret <hidden@example.com>".into()];
        built
    };
    let message = build_message(&n).unwrap();
    assert_eq!(message.sender(), "backup@example.com");
    let to: Vec<&str> = message.recipients().collect();
    assert_eq!(
        to,
        ["ops@example.com", "lead@example.com", "hidden@example.com"],
        "to + cc + bcc, duplicates dropped"
    );
    let bytes = message.into_formatted();
    assert!(crate::util::find(&bytes, b"hidden").is_none(), "Bcc leaked");
    let mail = Part::parse(&bytes);
    assert!(!mail.names().contains(&"bcc".to_owned()));
    assert!(mail.header("Bcc").is_none());
}

#[test]
fn bcc_alone_is_enough_recipients() {
    let n = {
        let mut built = notification();
        built.to = vec![];
        built.bcc = vec!["hidden@example.com".into()];
        built
    };
    let (bytes, mail) = format(&n);
    assert!(mail.header("To").is_none());
    assert!(crate::util::find(&bytes, b"hidden").is_none());
}

// --- Message-ID ----------------------------------------------------------

#[test]
fn a_preset_message_id_is_kept_and_a_missing_one_generated_for_the_sender_domain() {
    let (_, mail) = format(&fixed_notification());
    assert_eq!(mail.header("Message-ID"), Some("<fixed.1@example.com>"));
    let (_, mail) = format(&notification());
    let id = mail.header("Message-ID").unwrap();
    assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
}

#[test]
fn an_invalid_message_id_is_an_error_naming_it() {
    for bad in [
        "no-brackets@example.com",
        "<no-at-sign>",
        "<two words@example.com>",
        "<a@b>\r\nBcc: evil@x",
        "<ü@example.com>",
    ] {
        let n = {
            let mut built = notification();
            built.message_id = Some(bad.into());
            built
        };
        let err = format_message(&n).unwrap_err();
        assert!(
            matches!(err, Error::InvalidMessageId { .. }),
            "{bad:?}: {err:?}"
        );
        assert!(err.to_string().contains("message_id"), "{err}");
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        assert_eq!(TransportError::from(err).kind(), ErrorKind::Config);
    }
}

#[test]
fn ten_thousand_message_ids_are_distinct_and_well_formed() {
    let ids: HashSet<String> = (0..10_000).map(|_| new_message_id("example.com")).collect();
    assert_eq!(ids.len(), 10_000);
    for id in &ids {
        let inner = id
            .strip_prefix('<')
            .unwrap()
            .strip_suffix("@example.com>")
            .unwrap();
        assert!(
            inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.'),
            "{id}"
        );
    }
}

#[test]
fn message_ids_are_distinct_across_threads() {
    let handles: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                (0..2_000)
                    .map(|_| new_message_id("x.org"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = HashSet::new();
    for h in handles {
        for id in h.join().unwrap() {
            assert!(all.insert(id));
        }
    }
    assert_eq!(all.len(), 16_000);
}

#[test]
fn message_ids_are_distinct_across_processes() {
    let mut all = HashSet::new();
    for _ in 0..3 {
        let out = crate::util::run_child_test(
            "message::child_prints_message_ids",
            &[("NOTIFY_SMTP_TEST_CHILD", "ids")],
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        // libtest may print "test name ... " on the first id's line.
        let ids: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.find("ID <").map(|i| &l[i..]))
            .collect();
        assert_eq!(ids.len(), 1_000, "{stdout}");
        for id in ids {
            assert!(all.insert(id.to_owned()), "duplicate {id}");
        }
    }
}

/// Helper for the test above: prints ids when run as a child.
#[test]
#[ignore = "the body of a child process that the test above starts"]
fn child_prints_message_ids() {
    if std::env::var("NOTIFY_SMTP_TEST_CHILD").as_deref() != Ok("ids") {
        panic!("not a test of its own: the test above runs it with NOTIFY_SMTP_TEST_CHILD=ids");
    }
    for _ in 0..1_000 {
        println!("ID {}", new_message_id("example.com"));
    }
}

#[test]
fn an_internationalized_sender_domain_gives_a_punycode_message_id() {
    let n = {
        let mut built = notification();
        built.from = Some("x@bücher.de".into());
        built
    };
    let mail = Part::parse(&format_message(&n).unwrap());
    let id = mail.header("Message-ID").unwrap();
    assert!(id.ends_with("@xn--bcher-kva.de>"), "{id}");
}

// --- errors ----------------------------------------------------------------

#[test]
fn a_missing_sender_is_an_error_naming_the_fix() {
    for from in [None, Some(String::new()), Some("  ".to_owned())] {
        let n = {
            let mut built = notification();
            built.from = from;
            built
        };
        let err = format_message(&n).unwrap_err();
        assert!(matches!(err, Error::MissingFrom), "{err:?}");
        assert_eq!(err.hint(), Some(Hint::SetFrom));
        let t = TransportError::from(err);
        assert_eq!(t.kind(), ErrorKind::Config);
        assert_eq!(t.detail::<Hint>(), Some(&Hint::SetFrom));
        assert_eq!(t.hint(), None, "the library words no hint");
    }
}

#[test]
fn no_recipients_is_an_error() {
    let n = {
        let mut built = notification();
        built.to = vec![];
        built
    };
    let err = format_message(&n).unwrap_err();
    assert!(matches!(err, Error::NoRecipients), "{err:?}");
    assert_eq!(err.hint(), Some(Hint::SetRecipients));
    let t = TransportError::from(err);
    assert_eq!(t.kind(), ErrorKind::Config);
    assert_eq!(t.detail::<Hint>(), Some(&Hint::SetRecipients));
}

#[test]
fn invalid_addresses_name_the_field_and_the_value() {
    let cases: Vec<(&str, Notification, &str, &str)> = vec![
        (
            "from",
            {
                let mut built = notification();
                built.from = Some("Backups backup.example.com".into());
                built
            },
            "Backups backup.example.com",
            "has no '@'",
        ),
        (
            "to",
            {
                let mut built = notification();
                built.to = vec![
                    "ops@example.com".into(),
                    "a@example.com, b@example.com".into(),
                ];
                built
            },
            "a@example.com, b@example.com",
            "holds more than one address",
        ),
        (
            "cc",
            {
                let mut built = notification();
                built.cc = vec!["lead@exa mple.com".into()];
                built
            },
            "lead@exa mple.com",
            "",
        ),
        (
            "bcc",
            {
                let mut built = notification();
                built.bcc = vec![String::new()];
                built
            },
            "",
            "is empty",
        ),
        (
            "reply_to",
            {
                let mut built = notification();
                built.reply_to = Some("Help <help@>".into());
                built
            },
            "Help <help@>",
            "",
        ),
    ];
    for (field, n, value, reason) in cases {
        let err = format_message(&n).unwrap_err();
        match &err {
            Error::InvalidAddress {
                field: f,
                value: v,
                reason: r,
            } => {
                assert_eq!(*f, field);
                assert_eq!(v, value);
                assert!(r.contains(reason), "{r}");
            }
            other => panic!("{field}: {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains(&format!("`{field}`")), "{text}");
        assert!(text.contains(&format!("{value:?}")), "{text}");
        assert_eq!(err.hint(), Some(Hint::AddressForm { field }));
        let t = TransportError::from(err);
        assert_eq!(t.kind(), ErrorKind::Config);
        assert_eq!(t.detail::<Hint>(), Some(&Hint::AddressForm { field }));
    }
}

#[test]
fn a_line_that_cannot_be_folded_is_an_error_not_a_broken_message() {
    let n = {
        let mut built = notification();
        built.from = Some(format!("{} <backup@example.com>", "a".repeat(1200)));
        built
    };
    let err = format_message(&n).unwrap_err();
    match err {
        Error::LineTooLong { line, len, .. } => {
            assert_eq!(line, 2, "the From line");
            assert!(len > 998);
        }
        other => panic!("{other:?}"),
    }
}

// --- encodings -------------------------------------------------------------

#[test]
fn a_long_non_ascii_subject_is_encoded_folded_and_decodes_to_the_original() {
    let subject = "Sicherung fehlgeschlagen auf Rechner „Büro-Server“: Größe überschritten, \
                   Prüfsumme ungültig 😱🔥💾 — bitte sofort prüfen! "
        .repeat(6);
    let subject = subject.trim_end().to_owned();
    let n = {
        let mut built = notification();
        built.subject = subject.clone();
        built
    };
    let (_, mail) = format(&n);
    let lines: Vec<&String> = mail
        .raw_header_lines
        .iter()
        .skip_while(|l| !l.starts_with("Subject:"))
        .take_while(|l| l.starts_with("Subject:") || l.starts_with(' '))
        .collect();
    assert!(lines.len() > 5, "not folded: {lines:?}");
    for line in &lines {
        assert!(line.len() <= 78, "{} octets: {line}", line.len());
        assert!(line.is_ascii());
    }
    assert!(lines.iter().any(|l| l.contains("=?utf-8?b?")), "{lines:?}");
    assert_eq!(decode_2047(mail.header("Subject").unwrap()), subject);
}

#[test]
fn a_known_encoded_subject() {
    let n = {
        let mut built = fixed_notification();
        built.subject = "Grüße".into();
        built
    };
    let (_, mail) = format(&n);
    assert_eq!(mail.header("Subject"), Some("=?utf-8?b?R3LDvMOfZQ==?="));
}

#[test]
fn a_subject_with_a_very_long_word_is_folded_into_encoded_words() {
    for word in ["x".repeat(2000), "ü".repeat(1500)] {
        let subject = format!("Backup {word} failed");
        let n = {
            let mut built = notification();
            built.subject = subject.clone();
            built
        };
        let (bytes, mail) = format(&n);
        assert_well_formed(&bytes);
        assert_eq!(decode_2047(mail.header("Subject").unwrap()), subject);
    }
}

#[test]
fn control_characters_in_the_subject_become_spaces() {
    let n = {
        let mut built = notification();
        built.subject = "a\r\nb\rc\nd\te\u{0}f\u{7f}g\u{85}h\u{2028}i".into();
        built
    };
    let (_, mail) = format(&n);
    assert_eq!(
        decode_2047(mail.header("Subject").unwrap()),
        "a  b c d e f g h i"
    );
}

#[test]
fn non_ascii_display_names_are_encoded() {
    let n = {
        let mut built = notification();
        built.from = Some("Jörg Müller <joerg@example.com>".into());
        built.to = vec!["Δοκιμή Ομάδα <team@example.com>".into()];
        built.reply_to = Some("\"Doe, Jane\" <jane@example.com>".into());
        built
    };
    let (_, mail) = format(&n);
    let from = mail.header("From").unwrap();
    assert!(from.contains("=?utf-8?"), "{from}");
    assert_eq!(decode_2047(from), "Jörg Müller <joerg@example.com>");
    assert_eq!(
        decode_2047(mail.header("To").unwrap()),
        "Δοκιμή Ομάδα <team@example.com>"
    );
    // Printable ASCII with a comma is a quoted string (lettre's encoder
    // would write an encoded-word).
    assert_eq!(
        mail.header("Reply-To").unwrap(),
        "\"Doe, Jane\" <jane@example.com>"
    );
}

#[test]
fn a_utf8_body_with_long_lines_is_transfer_encoded() {
    let line = "Größe überschritten: ".repeat(250); // ~5500 octets, no break
    let text = format!("Kurz.\n{line}\nEnde ✓\n");
    let n = {
        let mut built = notification();
        built.text = text.clone();
        built
    };
    let (_, mail) = format(&n);
    let cte = mail.header("Content-Transfer-Encoding").unwrap();
    assert!(cte == "quoted-printable" || cte == "base64", "{cte}");
    for body_line in mail.body.split(|&b| b == b'\n') {
        assert!(body_line.len() <= 78, "{}", body_line.len());
    }
    assert_eq!(mail.text(), format!("{text}\n"));
}

#[test]
fn a_long_ascii_line_is_quoted_printable() {
    let text = "x".repeat(3000);
    let n = {
        let mut built = notification();
        built.text = text.clone();
        built
    };
    let (_, mail) = format(&n);
    assert_eq!(
        mail.header("Content-Transfer-Encoding"),
        Some("quoted-printable")
    );
    assert_eq!(mail.text(), format!("{text}\n"));
}

#[test]
fn bare_cr_and_nul_in_the_body_are_escaped_and_preserved() {
    let text = "progress 10%\rprogress 100%\nnul:\0:end\n";
    let n = {
        let mut built = notification();
        built.text = text.into();
        built
    };
    let (bytes, mail) = format(&n);
    assert_well_formed(&bytes);
    assert_eq!(
        mail.header("Content-Transfer-Encoding"),
        Some("quoted-printable")
    );
    assert_eq!(mail.text(), format!("{text}\n"));
}

// --- structure -------------------------------------------------------------

#[test]
fn html_makes_multipart_alternative_text_first() {
    let n = {
        let mut built = notification();
        built.html = Some("<p>All <b>good</b> – ✓</p>\n".into());
        built
    };
    let (_, mail) = format(&n);
    let ct = mail.header("Content-Type").unwrap();
    assert!(ct.starts_with("multipart/alternative;"), "{ct}");
    assert_eq!(mail.header("MIME-Version"), Some("1.0"));
    assert!(mail.header("Content-Transfer-Encoding").is_none());
    let parts = mail.parts();
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[0].header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(parts[0].text(), "All good.\nBytes copied: 12 MB\n");
    assert_eq!(
        parts[1].header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(parts[1].text(), "<p>All <b>good</b> – ✓</p>\n");
}

#[test]
fn attachments_make_multipart_mixed_body_first() {
    let log = b"line 1\nline 2\r\nbinary \x00\xff\n".to_vec();
    let n = {
        let mut built = notification();
        built.attachments = vec![
            attachment("backup.log", "text/plain; charset=utf-8", &log),
            attachment("Prüfbericht – März.pdf", "application/pdf", b"%PDF-1.4"),
        ];
        built
    };
    let (_, mail) = format(&n);
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/mixed;"));
    let parts = mail.parts();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        parts[0].header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(parts[0].text(), "All good.\nBytes copied: 12 MB\n");

    assert_eq!(
        parts[1].header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(parts[1].header("Content-Transfer-Encoding"), Some("base64"));
    let disposition = parts[1].header("Content-Disposition").unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert_eq!(disposition_filename(disposition), "backup.log");
    assert_eq!(parts[1].decoded_body(), log, "attachment bytes changed");

    assert_eq!(parts[2].header("Content-Type"), Some("application/pdf"));
    let disposition = parts[2].header("Content-Disposition").unwrap();
    assert!(disposition.is_ascii());
    assert_eq!(disposition_filename(disposition), "Prüfbericht – März.pdf");
}

#[test]
fn html_and_attachments_nest_alternative_inside_mixed() {
    let n = {
        let mut built = notification();
        built.html = Some("<p>hi</p>".into());
        built.attachments = vec![attachment("a.txt", "text/plain", b"a")];
        built
    };
    let (_, mail) = format(&n);
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/mixed;"));
    let parts = mail.parts();
    assert_eq!(parts.len(), 2);
    assert!(parts[0]
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative;"));
    let alternative = parts[0].parts();
    assert_eq!(alternative.len(), 2);
    assert!(alternative[0]
        .header("Content-Type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(alternative[1]
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(
        disposition_filename(parts[1].header("Content-Disposition").unwrap()),
        "a.txt"
    );
}

#[test]
fn an_invalid_content_type_is_an_error_naming_it() {
    for bad in [
        "bogus",
        "text/",
        "text/plain\r\nBcc: evil@x",
        "multipart/mixed",
        "",
    ] {
        let n = {
            let mut built = notification();
            built.attachments = vec![attachment("run.log", bad, b"x")];
            built
        };
        let err = format_message(&n).unwrap_err();
        assert!(
            matches!(err, Error::InvalidContentType { .. }),
            "{bad:?}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(&format!("{bad:?}")), "{text}");
        assert!(text.contains("\"run.log\""), "{text}");
        assert_eq!(TransportError::from(err).kind(), ErrorKind::Config);
    }
}

#[test]
fn path_separators_in_file_names_are_replaced() {
    let n = {
        let mut built = notification();
        built.attachments = vec![attachment("../../etc/passwd", "text/plain", b"x")];
        built
    };
    let (_, mail) = format(&n);
    let parts = mail.parts();
    assert_eq!(
        disposition_filename(parts[1].header("Content-Disposition").unwrap()),
        ".._.._etc_passwd"
    );
}

// --- header injection ------------------------------------------------------

const EVIL: &str = "\r\nBcc: evil@x\r\nX-Injected: yes";

fn assert_no_injection(bytes: &[u8]) {
    assert_well_formed(bytes);
    let mail = Part::parse(bytes);
    let names = all_header_names(&mail);
    for bad in ["bcc", "x-injected"] {
        assert!(
            !names.contains(&bad.to_owned()),
            "{bad} header injected: {names:?}"
        );
    }
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains("\nBcc:"), "{text}");
    assert!(!text.contains("\nX-Injected:"), "{text}");
}

#[test]
fn line_breaks_in_the_subject_cannot_add_headers() {
    let n = {
        let mut built = notification();
        built.subject = format!("Backup{EVIL}");
        built
    };
    let bytes = format_message(&n).unwrap();
    assert_no_injection(&bytes);
    let mail = Part::parse(&bytes);
    assert_eq!(
        decode_2047(mail.header("Subject").unwrap()),
        "Backup  Bcc: evil@x  X-Injected: yes"
    );
}

#[test]
fn line_breaks_in_a_file_name_cannot_add_headers() {
    let n = {
        let mut built = notification();
        built.attachments = vec![
            attachment(&format!("log{EVIL}.txt"), "text/plain", b"x"),
            attachment(&format!("\"quoted\"{EVIL}ü.txt"), "text/plain", b"x"),
        ];
        built
    };
    let bytes = format_message(&n).unwrap();
    assert_no_injection(&bytes);
    let parts = Part::parse(&bytes).parts();
    assert_eq!(
        disposition_filename(parts[1].header("Content-Disposition").unwrap()),
        "log  Bcc: evil@x  X-Injected: yes.txt"
    );
    assert_eq!(
        disposition_filename(parts[2].header("Content-Disposition").unwrap()),
        "\"quoted\"  Bcc: evil@x  X-Injected: yesü.txt"
    );
}

#[test]
fn line_breaks_in_addresses_and_display_names_are_refused() {
    let evil_names = [
        format!("Backups{EVIL} <backup@example.com>"),
        format!("\"Backups{EVIL}\" <backup@example.com>"),
        format!("backup@example.com{EVIL}"),
        "Backups\r\n <backup@example.com>".to_owned(),
    ];
    for evil in evil_names {
        for field in ["from", "to", "cc", "bcc", "reply_to"] {
            let mut n = notification();
            match field {
                "from" => n.from = Some(evil.clone()),
                "to" => n.to = vec![evil.clone()],
                "cc" => n.cc = vec![evil.clone()],
                "bcc" => n.bcc = vec![evil.clone()],
                _ => n.reply_to = Some(evil.clone()),
            }
            match format_message(&n) {
                Err(Error::InvalidAddress {
                    field: f, reason, ..
                }) => {
                    assert_eq!(f, field);
                    assert!(reason.contains("line break"), "{reason}");
                }
                other => panic!("{field} {evil:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn line_breaks_in_the_message_id_are_refused() {
    let n = {
        let mut built = notification();
        built.message_id = Some(format!("<id@example.com>{EVIL}"));
        built
    };
    assert!(matches!(
        format_message(&n),
        Err(Error::InvalidMessageId { .. })
    ));
}

#[test]
fn display_names_with_quotes_and_specials_stay_in_their_header() {
    let n = {
        let mut built = notification();
        built.from = Some("\"Evil\\\" <x@y>, Bcc: evil@x\" <backup@example.com>".into());
        built
    };
    let bytes = format_message(&n).unwrap();
    assert_no_injection(&bytes);
    let message = build_message(&n).unwrap();
    assert_eq!(
        message.recipients().len(),
        1,
        "the display name added a recipient"
    );
}

#[test]
fn everything_at_once_is_well_formed() {
    let n = {
        let mut built = Notification::default();
        built.from = Some("Jörg <joerg@example.com>".into());
        built.to = vec!["a@example.com".into(), "B <b@example.com>".into()];
        built.cc = vec!["c@example.com".into()];
        built.bcc = vec!["d@example.com".into()];
        built.reply_to = Some("r@example.com".into());
        built.subject = format!("Ünïcödé {EVIL} 🎉");
        built.text = "t".repeat(2000);
        built.html = Some(format!("<pre>{}</pre>", "ä".repeat(2000)));
        built.attachments = vec![attachment(
            &format!("{}.log", "long-name-".repeat(30)),
            "text/plain",
            &[b'x'; 5000],
        )];
        built.message_id = Some("<all@example.com>".into());
        built.date = Some(datetime!(2030-01-01 00:00 UTC));
        built.outcome = Some(notify_core::Outcome::Failure);
        built
    };
    let bytes = format_message(&n).unwrap();
    assert_no_injection(&bytes);
    let parts = Part::parse(&bytes).parts();
    assert_eq!(
        disposition_filename(parts[1].header("Content-Disposition").unwrap()),
        format!("{}.log", "long-name-".repeat(30))
    );
}

// --- long recipient lists ------------------------------------------------

/// The To (or Cc) header's physical lines and its unfolded value.
fn header_lines<'a>(part: &'a Part, name: &str) -> Vec<&'a str> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in &part.raw_header_lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            if inside {
                lines.push(line.as_str());
            }
        } else {
            inside = line
                .split_once(':')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name));
            if inside {
                lines.push(line.as_str());
            }
        }
    }
    lines
}

/// The addresses between angle brackets, in order.
fn bracketed(value: &str) -> Vec<String> {
    value
        .split('<')
        .skip(1)
        .map(|s| s.split_once('>').expect("unbalanced <").0.to_owned())
        .collect()
}

#[test]
fn a_hundred_recipients_are_folded() {
    let mut n = fixed_notification();
    let address = |i: usize| format!("member.{i:03}@example.com");
    n.to = (0..100)
        .map(|i| match i % 3 {
            0 => format!(
                "Operations Team Member Number {i} With A Rather Long Display Name <{}>",
                address(i)
            ),
            1 => format!(
                "Empfänger Nr. {i} – Größere Überwachungsgruppe für Sicherungen <{}>",
                address(i)
            ),
            _ => format!("Ops {i} <{}>", address(i)),
        })
        .collect();
    n.cc = (100..200).map(address).collect();
    let (bytes, mail) = format(&n);
    for line in bytes.split(|&b| b == b'\n') {
        assert!(line.len() <= 1000, "{}", String::from_utf8_lossy(line));
    }
    for (name, range) in [("To", 0..100), ("Cc", 100..200)] {
        let lines = header_lines(&mail, name);
        assert!(lines.len() > 10, "{name} is not folded: {lines:?}");
        for line in &lines {
            // Over 78 octets only for a single mailbox longer than that.
            let mailboxes = line.trim().trim_end_matches(',').matches('@').count();
            assert!(
                line.len() <= 78 || mailboxes == 1,
                "{name} line of {} octets: {line:?}",
                line.len()
            );
        }
        let value = mail.header(name).unwrap();
        let expected: Vec<String> = range.map(address).collect();
        if name == "To" {
            assert_eq!(bracketed(value), expected);
            // The display names come back whole.
            let decoded = decode_2047(value);
            assert!(
                decoded.contains(
                    "Empfänger Nr. 1 – Größere Überwachungsgruppe für Sicherungen <member.001@example.com>"
                ),
                "{decoded}"
            );
            assert!(decoded.contains(
                "\"Operations Team Member Number 99 With A Rather Long Display Name\" <member.099@example.com>"
            ), "{decoded}");
        } else {
            let got: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
            assert_eq!(got, expected);
        }
    }
    // The envelope still has every recipient once.
    let message = build_message(&n).unwrap();
    assert_eq!(message.recipients().len(), 200);
}

#[test]
fn a_single_overlong_address_is_refused_with_an_accurate_hint() {
    let mut n = fixed_notification();
    n.to = vec![format!("{} <ops@example.com>", "x".repeat(1200))];
    let err = build_message(&n).unwrap_err();
    assert!(matches!(err, Error::LineTooLong { .. }), "{err}");
    // The hint is about the single word that is too long (an address,
    // display name or file name), not about folding.
    assert_eq!(err.hint(), Some(Hint::LineTooLong));
}

// --- text that looks like an encoded-word --------------------------------

#[test]
fn text_that_looks_like_an_encoded_word_shows_as_typed() {
    let n = {
        let mut built = fixed_notification();
        built.from = Some("\"=?utf-8?q?Hello?=\" <backup@example.com>".into());
        built.to = vec!["\"Backup =?UTF-8?B?SGk=?= Bot\" <ops@example.com>".into()];
        built.subject = "=?utf-8?q?Hello?= world".into();
        built
    };
    let (_, mail) = format(&n);
    let subject = mail.header("Subject").unwrap();
    assert!(!subject.contains("=?utf-8?q?"), "{subject}");
    assert_eq!(decode_2047(subject), "=?utf-8?q?Hello?= world");
    assert_eq!(
        decode_2047(mail.header("From").unwrap()),
        "=?utf-8?q?Hello?= <backup@example.com>"
    );
    assert_eq!(
        decode_2047(mail.header("To").unwrap()),
        "Backup =?UTF-8?B?SGk=?= Bot <ops@example.com>"
    );
}

// --- long display names and subjects ---------------------------------------

/// Display names (and subjects) long enough to need several encoded-words
/// or lines. `true` where every run of words to encode fits one
/// encoded-word, so no encoded-word splits a word or follows another.
const LONG_NAMES: [(&str, bool); 7] = [
    (
        "Operations Team Member Number Seven With A Rather Long Display Name For The Nightly Backup Job Runner On Host Alpha",
        true,
    ),
    (
        "Empfänger für die Überwachung der nächtlichen Sicherungsläufe auf dem Bürorechner in München und in der Zweigstelle Köln",
        true,
    ),
    (
        "Größere Überwachungsgruppe für nächtliche Sicherungsläufe über alle Außenstellen Österreichs",
        false,
    ),
    (
        "バックアップ監視チーム東京本社情報システム部門夜間バッチ処理担当者一同バックアップ監視チーム東京本社情報システム部門担当",
        false,
    ),
    (
        "Datensicherungsüberwachungsbenachrichtigungsempfängerverwaltungsgesellschaftsmitgliedsausweis",
        false,
    ),
    (
        "Nightly-backup-job-runner-for-the-operations-team-of-the-central-office-and-all-branch-sites",
        true,
    ),
    // A first word too long for the rest of the Subject line.
    ("Überwachungsbenachrichtigungsempfänger der Sicherung", true),
];

fn long_name_notification(name: &str) -> Notification {
    {
        let mut built = fixed_notification();
        built.from = Some(format!("{name} <backup@example.com>"));
        built.to = vec![
            format!("{name} <ops@example.com>"),
            "second@example.com".into(),
        ];
        built.cc = vec![format!("{name} <lead@example.com>")];
        built.reply_to = Some(format!("{name} <help@example.com>"));
        built.subject = name.to_owned();
        built.date = Some(datetime!(2026-11-21 03:00:05 +01:00));
        built
    }
}

/// The display name of the first mailbox in an unfolded address header,
/// as its tokens: (is an encoded-word, text decoded on its own).
fn display_name_tokens(value: &str) -> Vec<(bool, String)> {
    let first = value.split(", ").next().unwrap();
    let (phrase, _) = first.rsplit_once(" <").unwrap();
    phrase
        .split_whitespace()
        .map(|t| (t.starts_with("=?"), decode_2047(t)))
        .collect()
}

#[test]
fn long_display_names_and_subjects_break_encoded_words_between_words() {
    for (name, _) in LONG_NAMES {
        let (_, mail) = format(&long_name_notification(name));
        for header in ["From", "To", "Cc", "Reply-To", "Subject"] {
            let value = mail.header(header).unwrap();
            let tokens = if header == "Subject" {
                value
                    .split_whitespace()
                    .map(|t| (t.starts_with("=?"), decode_2047(t)))
                    .collect()
            } else {
                display_name_tokens(value)
            };
            // Where one encoded-word follows another, the first ends after
            // a space, unless the word it ends in is longer than one
            // encoded-word (45 octets) holds.
            let mut decoded = String::new();
            for (i, (encoded, text)) in tokens.iter().enumerate() {
                if i > 0 && !(*encoded && tokens[i - 1].0) {
                    decoded.push(' ');
                }
                decoded.push_str(text);
                if *encoded && tokens.get(i + 1).is_some_and(|t| t.0) && !text.ends_with(' ') {
                    let start = decoded.rfind(' ').map_or(0, |i| i + 1);
                    let word = name[start..].split(' ').next().unwrap();
                    assert!(word.len() > 45, "{header}: split inside {word:?}: {value}");
                }
            }
            if header != "Subject" && !name.is_ascii() {
                assert_eq!(decoded, name, "{header}: {value}");
            }
            if header != "Subject" {
                assert_eq!(
                    decode_2047(value)
                        .split(" <")
                        .next()
                        .unwrap()
                        .trim_matches('"'),
                    name
                );
            } else {
                assert_eq!(decode_2047(value), name);
            }
            for (i, line) in header_lines(&mail, header).into_iter().enumerate() {
                // Past 76 octets only on the first line for a first word
                // that fits one encoded-word but not the rest of that line.
                let encoded = line.contains("=?");
                let first_word = i == 0 && line.matches("=?utf-8?").count() == 1;
                assert!(
                    !encoded || line.len() <= 76 || first_word,
                    "{header}: {line:?}"
                );
                for word in line.split(' ').filter(|w| w.starts_with("=?")) {
                    assert!(word.trim_end_matches(',').len() <= 75, "{word}");
                }
            }
        }
    }
}

// --- an independent reader: Python's email package --------------------------

/// How Python's `email` package reads `raw` (tests/mail_headers.py). The
/// tests that call this are ignored by a plain `cargo test` (they need
/// python3); run, they fail when there is no Python.
fn python_reads(raw: &[u8]) -> notify_testkit::serde_json::Value {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let python = std::env::var_os(notify_testkit::PYTHON_ENV)
        .filter(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mail_headers.py");
    let child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|err| {
        panic!(
            "cannot run {} (these tests need python3; `cargo xtask ci` installs it): {err}",
            python.to_string_lossy()
        )
    });
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(raw)
    );
    notify_testkit::serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs python3; `cargo xtask ci` runs it"]
fn python_reads_text_that_looks_like_an_encoded_word_as_typed() {
    let n = {
        let mut built = fixed_notification();
        built.from = Some("\"=?utf-8?q?Hello?=\" <backup@example.com>".into());
        built.to = vec!["\"Backup =?UTF-8?B?SGk=?= Bot\" <ops@example.com>".into()];
        built.subject = "=?utf-8?q?Hello?= world".into();
        built
    };
    let raw = format_message(&n).unwrap();
    let read = python_reads(&raw);
    assert_eq!(read["subject"], "=?utf-8?q?Hello?= world");
    assert_eq!(read["from"][0]["display_name"], "=?utf-8?q?Hello?=");
    assert_eq!(read["from"][0]["rfc2047"], "=?utf-8?q?Hello?=");
    assert_eq!(read["to"][0]["display_name"], "Backup =?UTF-8?B?SGk=?= Bot");
}

#[test]
#[ignore = "needs python3; `cargo xtask ci` runs it"]
fn python_reads_the_date_in_its_offset() {
    for (date, offset, iso) in [
        (
            datetime!(2026-11-21 03:00:05 +01:00),
            3600.0,
            "2026-11-21T03:00:05+01:00",
        ),
        (
            datetime!(2026-07-04 09:15:00 -05:30),
            -19800.0,
            "2026-07-04T09:15:00-05:30",
        ),
    ] {
        let n = {
            let mut built = fixed_notification();
            built.date = Some(date);
            built
        };
        let read = python_reads(&format_message(&n).unwrap());
        assert_eq!(read["utc_offset"], offset);
        assert_eq!(read["date"], iso);
    }
}

#[test]
#[ignore = "needs python3; `cargo xtask ci` runs it"]
fn python_reads_long_display_names_and_subjects_whole() {
    for (name, single_runs) in LONG_NAMES {
        let n = long_name_notification(name);
        let raw = format_message(&n).unwrap();
        let read = python_reads(&raw);
        assert_eq!(read["subject"], name);
        let mail = Part::parse(&raw);
        for (header, key) in [
            ("From", "from"),
            ("To", "to"),
            ("Cc", "cc"),
            ("Reply-To", "reply-to"),
        ] {
            let mailbox = &read[key][0];
            // RFC 2047 decoding (email.header): exactly the name.
            assert_eq!(mailbox["rfc2047"], name, "{header}");
            let shown = mailbox["display_name"].as_str().unwrap();
            if single_runs || read["keeps_space_between_encoded_words"] == false {
                assert_eq!(shown, name, "{header}");
            } else {
                // This Python's address parser (CPython gh-128110) shows
                // the folding white space between two encoded-words as a
                // space: it must show exactly that and nothing else.
                let tokens = display_name_tokens(mail.header(header).unwrap());
                let with_spaces: Vec<&str> = tokens.iter().map(|t| t.1.as_str()).collect();
                assert_eq!(shown, with_spaces.join(" "), "{header}");
            }
        }
        assert_eq!(read["to"][1]["addr_spec"], "second@example.com");
    }
}

#[test]
fn display_names_with_comments_and_quoted_commas_are_accepted() {
    let cases = [
        // (as typed, the To header, the envelope recipient)
        (
            "Backup (nightly) <n@example.com>",
            "\"Backup (nightly)\" <n@example.com>",
            "n@example.com",
        ),
        (
            "n@example.com (nightly)",
            "nightly <n@example.com>",
            "n@example.com",
        ),
        (
            "Backup (nightly) <n@example.com> (after the address)",
            "\"Backup (nightly)\" <n@example.com>",
            "n@example.com",
        ),
        (
            "(lead) Ann <a@example.com>",
            "Ann <a@example.com>",
            "a@example.com",
        ),
        (
            "Ann (x (nested)) <a@example.com>",
            "\"Ann (x (nested))\" <a@example.com>",
            "a@example.com",
        ),
        (
            "\"Doe, John\" <j@example.com>",
            "\"Doe, John\" <j@example.com>",
            "j@example.com",
        ),
        (
            "plain@example.com",
            "plain@example.com",
            "plain@example.com",
        ),
    ];
    for (typed, header, envelope) in cases {
        let mut n = notification();
        n.to = vec![typed.into()];
        let built = build_message(&n).unwrap_or_else(|e| panic!("{typed}: {e}"));
        let mail = Part::parse(built.formatted());
        assert_eq!(mail.header("To"), Some(header), "{typed}");
        assert_eq!(
            built.recipients().collect::<Vec<_>>(),
            [envelope],
            "{typed}"
        );
    }
    for bad in ["a@example.com (unbalanced", "Ann (x)) <a@example.com>"] {
        let mut n = notification();
        n.to = vec![bad.into()];
        let err = format_message(&n).unwrap_err();
        assert!(
            matches!(err, Error::InvalidAddress { .. }),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains(bad), "{err}");
    }
}

#[test]
fn idn_domains_become_punycode_and_utf8_local_parts_stay() {
    let mut n = notification();
    n.from = Some("Sicherung <backup@bücher.example>".into());
    n.to = vec!["ops@exämple.com".into(), "jörg@example.com".into()];
    let built = build_message(&n).unwrap();
    assert_eq!(built.sender(), "backup@xn--bcher-kva.example");
    assert_eq!(
        built.recipients().collect::<Vec<_>>(),
        ["ops@xn--exmple-cua.com", "jörg@example.com"]
    );
    let mail = Part::parse(built.formatted());
    assert_eq!(
        mail.header("To"),
        Some("ops@xn--exmple-cua.com, jörg@example.com")
    );
    assert!(mail
        .header("Message-ID")
        .is_some_and(|id| id.ends_with("@xn--bcher-kva.example>")));
    // A domain that is not a valid IDN is refused, naming it.
    n.to = vec!["ops@exä_mple.com".into()];
    let err = format_message(&n).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid address in `to`: \"ops@exä_mple.com\" has an invalid international \
         domain after the '@'"
    );
}
