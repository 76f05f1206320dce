//! SMTP delivery against a real server: aiosmtpd started by
//! `notify-testkit`, over real TLS with test certificates. Every test reads
//! the message back from the server's side. A test that needs the server is
//! ignored by a plain `cargo test`; `cargo xtask ci` runs it (and a missing
//! server fails it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::server::{config, login, with_ca, PASSWORD, TOKEN, USER};
use notify_core::{Delivery, ErrorKind, Notification, Transport, TransportError};
use notify_smtp::{
    format_message, providers, AuthMechanism, Credentials, EnhancedStatus, Hint, Security,
    SmtpConfig, SmtpFailure, SmtpTransport, Step,
};
use notify_testkit::{Cert, Listener, ServerOptions, SmtpServer};
use time::macros::datetime;

use crate::util::Part;

/// A notification with To, Cc and Bcc, non-ASCII text, fixed Date and
/// Message-ID.
fn note(n: u32) -> Notification {
    {
        let mut built = Notification::default();
        built.from = Some("Backups <backup@example.com>".into());
        built.to = vec!["Ops <ops@example.com>".into()];
        built.cc = vec!["cc@example.com".into()];
        built.bcc = vec!["hidden@example.com".into()];
        built.subject = format!("nas: Daily Backup #{n}: Failed");
        built.text = format!("Backup {n} failed.\nFehler: Datei gesperrt – ü\n");
        built.message_id = Some(format!("<test.{n}@example.com>"));
        built.date = Some(datetime!(2024-05-01 12:00:00 UTC));
        built
    }
}

/// Collects transcript lines.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn all(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

fn transport(config: SmtpConfig) -> (SmtpTransport, Lines) {
    let lines = Lines::default();
    let sink = lines.clone();
    let transport = SmtpTransport::new(config)
        .expect("valid config")
        .with_transcript(Arc::new(move |line: &str| {
            sink.0.lock().unwrap().push(line.to_owned())
        }));
    (transport, lines)
}

/// [`Transport::send_batch`], with its reports checked: every message
/// reported once, in order. Returns the results in batch order.
async fn send_batch_checked(
    t: &SmtpTransport,
    batch: &[Notification],
) -> Vec<Result<Delivery, TransportError>> {
    let refs: Vec<&Notification> = batch.iter().collect();
    let mut reports = Vec::new();
    t.send_batch(&refs, &mut |i, result| reports.push((i, result)))
        .await;
    let order: Vec<usize> = reports.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        order,
        (0..batch.len()).collect::<Vec<_>>(),
        "every message reported once, in order"
    );
    reports.into_iter().map(|(_, result)| result).collect()
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
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
    out
}

/// The transcript holds none of the secret's forms.
fn assert_no_secrets(transcript: &str) {
    let forbidden = [
        PASSWORD.to_owned(),
        TOKEN.to_owned(),
        b64(format!("\0{USER}\0{PASSWORD}").as_bytes()),
        b64(PASSWORD.as_bytes()),
        b64(format!("user={USER}\x01auth=Bearer {TOKEN}\x01\x01").as_bytes()),
        b64(TOKEN.as_bytes()),
    ];
    for secret in &forbidden {
        assert!(
            !transcript.contains(secret.as_str()),
            "transcript leaks {secret:?}:\n{transcript}"
        );
    }
}

/// Checks the message the server received against what was sent.
fn assert_received(server: &SmtpServer, index: usize, sent: &Notification) {
    let messages = server.messages();
    let got = messages.get(index).unwrap_or_else(|| {
        panic!(
            "message #{index} not received; server log:\n{}",
            server.log()
        )
    });
    assert_eq!(got.meta["mail_from"], "backup@example.com");
    assert_eq!(
        got.meta["rcpt_tos"],
        notify_testkit::serde_json::json!([
            "ops@example.com",
            "cc@example.com",
            "hidden@example.com"
        ])
    );
    // Exactly the bytes --dry-run would print: the message's last CRLF is
    // the first of the `CRLF.CRLF` that ends DATA, not a line of its own.
    let expected = format_message(sent).unwrap();
    let raw = &got.raw;
    assert_eq!(
        String::from_utf8_lossy(raw),
        String::from_utf8_lossy(&expected),
        "received message differs from format_message"
    );
    let part = Part::parse(&got.raw);
    assert_eq!(part.header("Subject"), Some(sent.subject.as_str()));
    assert_eq!(part.header("To"), Some("Ops <ops@example.com>"));
    assert_eq!(part.header("Cc"), Some("cc@example.com"));
    assert_eq!(part.header("Bcc"), None);
    assert_eq!(part.header("Message-ID"), sent.message_id.as_deref());
    assert_eq!(part.text().trim_end(), sent.text.trim_end());
}

fn err_of(result: &Result<notify_core::Delivery, TransportError>) -> &TransportError {
    match result {
        Ok(d) => panic!("expected a failure, got {d:?}"),
        Err(e) => {
            // Shown with --nocapture: what a user would read.
            eprintln!(
                "error: {e}\n  kind: {:?}\n  hint: {:?}\n  failure: {:?}",
                e.kind(),
                e.detail::<Hint>(),
                e.detail::<SmtpFailure>()
            );
            e
        }
    }
}

/// The hint, as data: notify-smtp words none (the caller does).
fn hint(err: &TransportError) -> Option<&Hint> {
    assert_eq!(err.hint(), None, "a worded hint from notify-smtp: {err:?}");
    err.detail::<Hint>()
}

/// The failure's facts: step, reply code, enhanced status, recipient.
fn failure(err: &TransportError) -> &SmtpFailure {
    err.detail::<SmtpFailure>()
        .unwrap_or_else(|| panic!("no SmtpFailure in {err:?}"))
}

/// The failure's facts as a tuple, to compare at once.
fn facts(err: &TransportError) -> (Step, Option<u16>, Option<EnhancedStatus>, Option<&str>) {
    let f = failure(err);
    (f.step, f.code, f.enhanced_status, f.recipient.as_deref())
}

/// `127.0.0.1:port` of `listener`, as hints name a server.
fn server_of(server: &SmtpServer, listener: &str) -> String {
    format!("127.0.0.1:{}", server.port(listener))
}

// ---------------------------------------------------------------- TLS modes

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn starttls_with_ca_file_and_auto_plain() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission"))
            .user(USER, PASSWORD),
    );
    let (t, lines) = transport(login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    ));
    let sent = note(1);
    let delivery = t
        .send(&sent)
        .await
        .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", e.detail::<Hint>(), lines.all()));
    let port = server.port("submission");
    assert_eq!(
        delivery.detail,
        format!("250 2.0.0 Ok: queued as Q00001 (127.0.0.1:{port}, starttls)")
    );
    assert_received(&server, 0, &sent);
    let meta = &server.messages()[0].meta;
    assert_eq!(meta["tls"], true);
    assert_eq!(meta["auth_login"], USER);
    assert_eq!(
        server.commands("submission"),
        ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "RCPT", "DATA", "QUIT"]
    );
    let transcript = lines.all();
    for piece in [
        "* connected to 127.0.0.1:",
        "S: 220 ",
        "C: STARTTLS",
        "* TLS established (TLSv1_3",
        "certificate verified for 127.0.0.1",
        "C: AUTH PLAIN [redacted]",
        "S: 235 2.7.0 Authentication successful",
        "C: MAIL FROM:<backup@example.com>",
        "C: RCPT TO:<hidden@example.com>",
        "C: DATA",
        "S: 354 ",
        "C: [message body: ",
        "S: 250 2.0.0 Ok: queued as Q00001",
        "C: QUIT",
    ] {
        assert!(
            transcript.contains(piece),
            "transcript lacks {piece:?}:\n{transcript}"
        );
    }
    eprintln!("{transcript}");
    // The greeting is shown once although lettre reads it again.
    assert_eq!(
        transcript.matches("S: 220 mx.test.invalid").count(),
        1,
        "{transcript}"
    );
    assert!(
        !transcript.contains("Backup 1 failed"),
        "body in transcript:\n{transcript}"
    );
    assert_no_secrets(&transcript);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn implicit_tls_with_ca_file_by_host_name() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::tls("smtps"))
            .user(USER, PASSWORD),
    );
    let mut config = login(
        with_ca(config(&server, "smtps", Security::Tls), &server),
        PASSWORD,
    );
    config.host = "localhost".into();
    let (t, lines) = transport(config);
    let sent = note(2);
    let delivery = t
        .send(&sent)
        .await
        .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", e.detail::<Hint>(), lines.all()));
    assert!(
        delivery
            .detail
            .ends_with(&format!("(localhost:{}, tls)", server.port("smtps"))),
        "{}",
        delivery.detail
    );
    assert_received(&server, 0, &sent);
    assert_eq!(server.messages()[0].meta["tls"], true);
    let transcript = lines.all();
    assert!(
        transcript.contains("certificate verified for localhost"),
        "{transcript}"
    );
    assert!(transcript.contains("C: EHLO "), "{transcript}");
    assert_no_secrets(&transcript);
}

/// A message far bigger than the socket buffers, to a server that waits
/// after its 354 before reading (a slow link): everything written must
/// still leave, over TLS too, where the stream keeps records until flushed.
#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn big_message_to_a_slow_reader_over_tls_arrives_whole() {
    let wait = Duration::from_secs(2);
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::tls("smtps").slow_data(wait))
            .listener(Listener::starttls("submission").slow_data(wait))
            .user(USER, PASSWORD),
    );
    for (listener, security) in [("smtps", Security::Tls), ("submission", Security::StartTls)] {
        let mut config = login(
            with_ca(config(&server, listener, security), &server),
            PASSWORD,
        );
        config.timeout = Duration::from_secs(20);
        let (t, lines) = transport(config);
        let mut sent = note(7);
        sent.attachments.push(notify_core::Attachment::new(
            "log.txt",
            "text/plain; charset=utf-8",
            b"0123456789abcdef\n".repeat(300_000),
        ));
        let started = Instant::now();
        t.send(&sent).await.unwrap_or_else(|e| {
            panic!("{listener}: {e}: {:?}\n{}", e.detail::<Hint>(), lines.all())
        });
        assert!(
            started.elapsed() >= wait,
            "{listener}: the server did not wait"
        );
        let got = server
            .messages()
            .into_iter()
            .find(|m| m.meta["listener"] == listener)
            .unwrap_or_else(|| panic!("{listener}: nothing received"));
        // Whole: as long as the message (the MIME boundary differs from
        // one formatting to the next, its length does not), and ending
        // with the closing boundary.
        let expected = format_message(&sent).unwrap();
        let raw = &got.raw;
        assert_eq!(raw.len(), expected.len(), "{listener}: length");
        assert!(raw.len() > 5_000_000, "{listener}: {}", raw.len());
        assert!(raw.ends_with(b"--\r\n"), "{listener}: truncated");
    }
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn accept_invalid_certs_works_with_a_self_signed_server() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::tls("smtps").cert(Cert::SelfSigned))
            .listener(Listener::starttls("submission").cert(Cert::SelfSigned))
            .user(USER, PASSWORD),
    );
    for (listener, security) in [("smtps", Security::Tls), ("submission", Security::StartTls)] {
        let mut config = login(config(&server, listener, security), PASSWORD);
        config.accept_invalid_certs = true;
        let (t, lines) = transport(config);
        t.send(&note(3)).await.unwrap_or_else(|e| {
            panic!("{listener}: {e}: {:?}\n{}", e.detail::<Hint>(), lines.all())
        });
        assert!(
            lines.all().contains("the certificate was NOT verified"),
            "{}",
            lines.all()
        );
    }
    assert_eq!(server.messages().len(), 2);
    assert_received(&server, 1, &note(3));
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn certificates_are_verified_by_default() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::tls("self").cert(Cert::SelfSigned))
            .listener(Listener::starttls("starttls-self").cert(Cert::SelfSigned))
            .listener(Listener::tls("leaf"))
            .listener(Listener::tls("wrongname").cert(Cert::WrongName))
            .user(USER, PASSWORD),
    );

    // Self-signed, nothing added: refused before anything is sent.
    for (listener, security) in [
        ("self", Security::Tls),
        ("starttls-self", Security::StartTls),
    ] {
        let (t, _) = transport(login(config(&server, listener, security), PASSWORD));
        let result = t.send(&note(4)).await;
        let err = err_of(&result);
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains("self-signed"), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("127.0.0.1:{}", server.port(listener))),
            "{err}"
        );
        assert_eq!(hint(err), Some(&Hint::TrustCertificate { ca_file: None }));
        assert_eq!(failure(err).step, Step::TlsHandshake);
    }

    // Signed by the test CA, which the system does not trust.
    let (t, _) = transport(login(config(&server, "leaf", Security::Tls), PASSWORD));
    let result = t.send(&note(4)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("unknown CA (UnknownIssuer)"),
        "{err}"
    );
    assert_eq!(hint(err), Some(&Hint::TrustCertificate { ca_file: None }));

    // A ca_file with the wrong CA: the hint names the file.
    let mut c = login(config(&server, "leaf", Security::Tls), PASSWORD);
    let other = server.certs().other_ca();
    c.ca_pem = Some(server.certs().read(&other));
    c.ca_file_label = Some(other.display().to_string());
    let (t, _) = transport(c);
    let result = t.send(&note(4)).await;
    let err = err_of(&result);
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert_eq!(
        hint(err),
        Some(&Hint::TrustCertificate {
            ca_file: Some(other.display().to_string())
        })
    );

    // The right CA but the wrong name.
    let (t, _) = transport(login(
        with_ca(config(&server, "wrongname", Security::Tls), &server),
        PASSWORD,
    ));
    let result = t.send(&note(4)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string()
            .contains("not valid for the name `127.0.0.1` (it is for wrong.example)"),
        "{err}"
    );
    assert_eq!(
        hint(err),
        Some(&Hint::CertificateName {
            suggestion: Some(format!("wrong.example:{}", server.port("wrongname")))
        })
    );
    assert_eq!(
        facts(err),
        (Step::TlsHandshake, None, None, None),
        "no reply: a handshake failure"
    );

    assert!(server.messages().is_empty());
    assert!(!server
        .commands("starttls-self")
        .contains(&"AUTH".to_owned()));
}

// ------------------------------------------------------------- plain, AUTH

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn plaintext_relay_without_auth() {
    let server = SmtpServer::start(ServerOptions::new().listener(Listener::plain("relay")));
    let mut c = config(&server, "relay", Security::None);
    c.helo_name = Some("backup-host.example.org".into());
    let (t, lines) = transport(c);
    let sent = note(5);
    t.send(&sent)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", lines.all()));
    assert_received(&server, 0, &sent);
    let meta = &server.messages()[0].meta;
    assert_eq!(meta["tls"], false);
    assert_eq!(meta["auth_login"], notify_testkit::serde_json::Value::Null);
    assert_eq!(meta["helo"], "backup-host.example.org");
    assert!(
        lines.all().contains("C: EHLO backup-host.example.org"),
        "{}",
        lines.all()
    );
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn default_helo_is_a_name_or_address_literal() {
    let server = SmtpServer::start(ServerOptions::new().listener(Listener::plain("relay")));
    let (t, _) = transport(config(&server, "relay", Security::None));
    t.send(&note(5)).await.unwrap();
    let helo = server.messages()[0].meta["helo"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !helo.is_empty() && helo != "localhost" && helo != ".",
        "{helo}"
    );
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn auth_plain_login_pinned_and_auto() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("both"))
            .listener(Listener::tls("login-only").exclude_mechanism("PLAIN"))
            .user(USER, PASSWORD),
    );
    let cases = [
        (
            "both",
            Security::StartTls,
            Some(AuthMechanism::Plain),
            "PLAIN",
        ),
        (
            "both",
            Security::StartTls,
            Some(AuthMechanism::Login),
            "LOGIN",
        ),
        ("both", Security::StartTls, None, "PLAIN"),
        ("login-only", Security::Tls, None, "LOGIN"),
    ];
    for (i, (listener, security, auth, expected)) in cases.into_iter().enumerate() {
        let mut c = login(
            with_ca(config(&server, listener, security), &server),
            PASSWORD,
        );
        c.auth = auth;
        let (t, lines) = transport(c);
        let sent = note(10 + i as u32);
        t.send(&sent)
            .await
            .unwrap_or_else(|e| panic!("{listener} {auth:?}: {e}\n{}", lines.all()));
        assert_received(&server, i, &sent);
        assert_eq!(server.messages()[i].meta["auth_login"], USER);
        let mechanisms: Vec<String> = server
            .events()
            .iter()
            .filter(|e| e["event"] == "auth")
            .map(|e| e["mechanism"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            mechanisms.last().map(String::as_str),
            Some(expected),
            "{listener} {auth:?}"
        );
        let transcript = lines.all();
        assert!(
            transcript.contains(&format!("C: AUTH {expected}")),
            "{transcript}"
        );
        if expected == "LOGIN" {
            assert!(
                transcript.contains("S: 334 VXNlciBOYW1lAA=="),
                "{transcript}"
            );
            assert_eq!(
                transcript.matches("C: [redacted]").count(),
                2,
                "{transcript}"
            );
        }
        assert_no_secrets(&transcript);
    }
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn wrong_password_is_permanent_for_plain_and_login() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission"))
            .user(USER, "the-real-password"),
    );
    for auth in [AuthMechanism::Plain, AuthMechanism::Login] {
        let mut c = login(
            with_ca(config(&server, "submission", Security::StartTls), &server),
            PASSWORD,
        );
        c.auth = Some(auth);
        let (t, lines) = transport(c);
        let results = send_batch_checked(&t, &[note(20), note(21)]).await;
        let err = err_of(&results[0]);
        assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
        assert!(
            err.to_string()
                .contains(&format!("authentication as {USER} failed at 127.0.0.1:")),
            "{err}"
        );
        assert!(err.to_string().contains("535 5.7.8"), "{err}");
        assert_eq!(
            hint(err),
            Some(&Hint::CheckCredentials {
                username: Some(USER.to_owned())
            })
        );
        assert_eq!(
            facts(err),
            (
                Step::Auth,
                Some(535),
                Some(EnhancedStatus::new(5, 7, 8)),
                None
            )
        );
        // The second message is not tried again with the same password.
        let second = err_of(&results[1]);
        assert_eq!(second.to_string(), err.to_string());
        assert_eq!(hint(second), hint(err));
        assert_no_secrets(&lines.all());
    }
    assert!(server.messages().is_empty());
    assert_eq!(server.connections("submission"), 2);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn no_password_over_plaintext_unless_allowed() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::plain("plain-auth").auth(true))
            .user(USER, PASSWORD),
    );
    let (t, lines) = transport(login(
        config(&server, "plain-auth", Security::None),
        PASSWORD,
    ));
    let result = t.send(&note(30)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("refusing to send the password"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{}", server.port("plain-auth"))),
        "{err}"
    );
    assert_eq!(hint(err), Some(&Hint::EncryptThePassword));
    assert_eq!(facts(err), (Step::Auth, None, None, None));
    // Nothing was sent: the server never even saw a connection.
    assert_eq!(server.connections("plain-auth"), 0);
    assert!(!server.commands("plain-auth").contains(&"AUTH".to_owned()));
    assert_no_secrets(&lines.all());

    let mut c = login(config(&server, "plain-auth", Security::None), PASSWORD);
    c.allow_insecure_auth = true;
    let (t, lines) = transport(c);
    let sent = note(31);
    t.send(&sent)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", lines.all()));
    assert_received(&server, 0, &sent);
    assert_eq!(server.messages()[0].meta["auth_login"], USER);
    assert_no_secrets(&lines.all());
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn starttls_is_required_when_asked_for() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::plain("no-starttls").auth(true))
            .user(USER, PASSWORD),
    );
    let (t, lines) = transport(login(
        config(&server, "no-starttls", Security::StartTls),
        PASSWORD,
    ));
    let result = t.send(&note(40)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("does not offer STARTTLS"), "{err}");
    assert_eq!(
        hint(err),
        Some(&Hint::StartTlsMissing {
            with_password: true
        })
    );
    assert_eq!(failure(err).step, Step::StartTls);
    assert_eq!(
        server.commands("no-starttls"),
        ["EHLO", "QUIT"],
        "{}",
        lines.all()
    );
    assert!(server.messages().is_empty());
    assert_no_secrets(&lines.all());
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn wrong_security_mode_for_the_port() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::plain("relay"))
            .listener(Listener::tls("smtps"))
            .user(USER, PASSWORD),
    );

    // security = "tls" on a plaintext port.
    let (t, _) = transport(config(&server, "relay", Security::Tls));
    let result = t.send(&note(50)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("answered in plaintext"), "{err}");
    assert_eq!(
        hint(err),
        Some(&Hint::UseStartTls {
            server: server_of(&server, "relay")
        })
    );

    // security = "starttls" (and "none") on an implicit-TLS port: the
    // server waits for a ClientHello and says nothing.
    for security in [Security::StartTls, Security::None] {
        let mut c = config(&server, "smtps", security);
        c.timeout = Duration::from_secs(1);
        let (t, _) = transport(c);
        let result = t.send(&note(51)).await;
        let err = err_of(&result);
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains("expects implicit TLS"), "{err}");
        assert_eq!(
            hint(err),
            Some(&Hint::UseTls {
                server: server_of(&server, "smtps")
            }),
            "{security}"
        );
        assert_eq!(failure(err).step, Step::Greeting);
    }
    assert!(server.messages().is_empty());
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn starttls_on_an_implicit_tls_port_is_diagnosed_before_the_timeout() {
    let server = SmtpServer::start(ServerOptions::new().listener(Listener::tls("smtps")));
    let mut c = config(&server, "smtps", Security::StartTls);
    c.timeout = Duration::from_secs(30);
    let (t, _) = transport(c);
    let start = Instant::now();
    let result = t.send(&note(52)).await;
    let elapsed = start.elapsed();
    eprintln!("diagnosed after {elapsed:?}");
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("expects implicit TLS"), "{err}");
    assert_eq!(
        hint(err),
        Some(&Hint::UseTls {
            server: server_of(&server, "smtps")
        })
    );
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

// ------------------------------------------------------------------ faults

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn rejected_recipient_is_permanent_and_named() {
    let server = SmtpServer::start(
        ServerOptions::new().listener(Listener::plain("relay").reject_rcpt("cc@example.com")),
    );
    let (t, _) = transport(config(&server, "relay", Security::None));
    let result = t.send(&note(60)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Permanent);
    let text = err.to_string();
    assert!(
        text.contains("rejected recipient <cc@example.com>"),
        "{text}"
    );
    assert!(
        text.contains("550 5.1.1 <cc@example.com>: Recipient address rejected"),
        "{text}"
    );
    assert!(!text.contains('\n'));
    assert_eq!(
        facts(err),
        (
            Step::RcptTo,
            Some(550),
            Some(EnhancedStatus::new(5, 1, 1)),
            Some("cc@example.com")
        )
    );
    assert_eq!(hint(err), None);
    assert!(server.messages().is_empty());
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn international_addresses_with_and_without_smtputf8() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::plain("ascii"))
            .listener(Listener::plain("utf8").smtputf8()),
    );
    // An IDN domain goes out as punycode to a server without SMTPUTF8, in
    // the envelope and in the header.
    let (t, lines) = transport(config(&server, "ascii", Security::None));
    let mut sent = note(70);
    sent.to = vec!["Jörg <ops@exämple.com>".into()];
    sent.cc.clear();
    sent.bcc.clear();
    t.send(&sent)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", lines.all()));
    let received = &server.messages()[0];
    assert_eq!(
        received.meta["rcpt_tos"],
        notify_testkit::serde_json::json!(["ops@xn--exmple-cua.com"])
    );
    assert_eq!(
        received.meta["mail_options"],
        notify_testkit::serde_json::json!([])
    );
    let mail = Part::parse(&received.raw);
    assert_eq!(
        mail.header("To"),
        Some("=?utf-8?b?SsO2cmc=?= <ops@xn--exmple-cua.com>")
    );
    assert!(lines.all().contains("C: RCPT TO:<ops@xn--exmple-cua.com>"));

    // A non-ASCII part before the '@' needs SMTPUTF8: a clear error from a
    // server without it, nothing sent...
    sent.to = vec!["jörg@example.com".into()];
    let result = t.send(&sent).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(
        err.to_string(),
        format!(
            "the address jörg@example.com has non-ASCII letters before the '@', which needs \
             SMTPUTF8, and {} does not offer it",
            format_args!("127.0.0.1:{} (none)", server.port("ascii"))
        ),
        "{}",
        lines.all()
    );
    assert_eq!(server.messages().len(), 1);

    // ...and delivered with SMTPUTF8 by a server that offers it.
    let (t, lines) = transport(config(&server, "utf8", Security::None));
    t.send(&sent)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", lines.all()));
    let received = &server.messages()[1];
    assert_eq!(
        received.meta["rcpt_tos"],
        notify_testkit::serde_json::json!(["jörg@example.com"])
    );
    assert!(
        lines
            .all()
            .contains("C: MAIL FROM:<backup@example.com> SMTPUTF8"),
        "{}",
        lines.all()
    );
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_451_is_temporary_and_the_next_message_gets_a_fresh_connection() {
    let server =
        SmtpServer::start(ServerOptions::new().listener(Listener::plain("relay").data_451(1)));
    let (t, _) = transport(config(&server, "relay", Security::None));
    let results = send_batch_checked(&t, &[note(70), note(71)]).await;
    let err = err_of(&results[0]);
    assert_eq!(err.kind(), ErrorKind::Temporary);
    assert!(err.to_string().contains("451 4.3.0"), "{err}");
    assert_eq!(
        facts(err),
        (
            Step::Message,
            Some(451),
            Some(EnhancedStatus::new(4, 3, 0)),
            None
        )
    );
    assert!(results[1].is_ok(), "{:?}", results[1]);
    assert_eq!(server.connections("relay"), 2);
    assert_eq!(server.messages().len(), 1);
    assert_received(&server, 0, &note(71));
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn connection_closed_after_data_is_temporary() {
    let server = SmtpServer::start(
        ServerOptions::new().listener(Listener::plain("relay").drop_after_data()),
    );
    let (t, lines) = transport(config(&server, "relay", Security::None));
    let result = t.send(&note(80)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    assert!(err.to_string().contains("closed the connection"), "{err}");
    assert_eq!(hint(err), Some(&Hint::Unconfirmed { timeout: None }));
    assert_eq!(facts(err), (Step::Message, None, None, None));
    // The server did receive it: the retry is a recognisable duplicate.
    assert_eq!(server.messages()[0].meta["dropped"], true);
    assert!(
        lines.all().contains("* the server closed the connection"),
        "{}",
        lines.all()
    );
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn silent_server_times_out() {
    let server = SmtpServer::start(ServerOptions::new().listener(Listener::silent("silent")));
    let mut c = config(&server, "silent", Security::StartTls);
    c.timeout = Duration::from_secs(2);
    let (t, _) = transport(c);
    let start = Instant::now();
    let result = t.send(&note(90)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    assert!(
        err.to_string()
            .contains("timed out after 2 s waiting for the server's greeting"),
        "{err}"
    );
    assert_eq!(
        hint(err),
        Some(&Hint::NoGreeting {
            timeout: Duration::from_secs(2)
        })
    );
    assert_eq!(facts(err), (Step::Greeting, None, None, None));
    // The implicit-TLS probe fits in the timeout the message names (it
    // used to come on top of it: about 4 s for "after 2 s").
    assert!(
        start.elapsed() < Duration::from_millis(3500),
        "{:?}",
        start.elapsed()
    );
    assert!(server.connections("silent") >= 1);
}

#[tokio::test]
async fn connection_refused_names_the_port() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (t, _) = transport(SmtpConfig::new("127.0.0.1", port, Security::StartTls));
    let result = t.send(&note(91)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Temporary);
    assert!(
        err.to_string()
            .contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{err}"
    );
    // The address once, not "127.0.0.1:P (127.0.0.1:P)".
    assert!(
        !err.to_string().contains(&format!("127.0.0.1:{port} (")),
        "{err}"
    );
    assert_eq!(
        hint(err),
        Some(&Hint::NothingListens {
            server: format!("127.0.0.1:{port}")
        })
    );
    assert_eq!(facts(err), (Step::Connect, None, None, None));
}

/// A server that says 220 to STARTTLS and stays in plaintext (a broken
/// server, or a box in between that strips STARTTLS): no "set security =
/// starttls" (it is set), nothing sent in plaintext. No real server does
/// this on demand, so a few lines of our own play it.
#[tokio::test]
async fn a_yes_to_starttls_without_tls_is_named_as_such() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"220 mx ESMTP\r\n").await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut after_starttls = false;
        loop {
            let n = match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let got = String::from_utf8_lossy(&buf[..n]).into_owned();
            log.lock().unwrap().push(got.clone());
            let reply: &[u8] = if after_starttls {
                // The TLS ClientHello, read as a plaintext command.
                b"500 5.5.2 Error: bad syntax\r\n"
            } else if got.starts_with("EHLO") {
                b"250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"
            } else if got.starts_with("STARTTLS") {
                after_starttls = true;
                b"220 2.0.0 Ready to start TLS\r\n"
            } else {
                b"250 ok\r\n"
            };
            if stream.write_all(reply).await.is_err() {
                break;
            }
        }
    });
    let mut c = SmtpConfig::new("127.0.0.1", port, Security::StartTls);
    c.timeout = Duration::from_secs(5);
    let (t, _) = transport(c);
    let result = t.send(&note(92)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert!(
        err.to_string()
            .contains("the server accepted STARTTLS but did not start TLS"),
        "{err}"
    );
    assert_eq!(hint(err), Some(&Hint::StartTlsBroken));
    server.abort();
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter()
            .all(|l| !l.contains("MAIL FROM") && !l.contains("AUTH ")),
        "nothing after STARTTLS in plaintext: {seen:?}"
    );
}

// ------------------------------------------------------- provider answers

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn gmail_and_microsoft_auth_answers_get_their_hints() {
    let gmail_user = "me@gmail.com";
    let ms_user = "me@contoso.example";
    let server = SmtpServer::start(ServerOptions::new()
        .listener(Listener::tls("smtps"))
        .auth_reply(gmail_user, "534 5.7.9 Application-specific password required. Learn more at https://support.google.com/mail/?p=InvalidSecondFactor")
        .auth_reply(ms_user, "535 5.7.139 Authentication unsuccessful, basic authentication is disabled."));

    let mut c = with_ca(config(&server, "smtps", Security::Tls), &server);
    c.credentials = Some(Credentials::new(gmail_user, PASSWORD));
    let (t, _) = transport(c);
    let mut n = note(100);
    n.from = Some(format!("Me <{gmail_user}>"));
    let result = t.send(&n).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(
        err.to_string()
            .contains("534 5.7.9 Application-specific password required"),
        "{err}"
    );
    let gmail = providers::by_address(gmail_user).unwrap();
    assert_eq!(
        hint(err),
        Some(&Hint::ProviderPassword {
            provider: gmail.name,
            note: gmail.password_note,
        })
    );
    assert!(
        gmail.password_note.contains("apppasswords"),
        "{}",
        gmail.password_note
    );
    assert_eq!(
        facts(err),
        (
            Step::Auth,
            Some(534),
            Some(EnhancedStatus::new(5, 7, 9)),
            None
        )
    );

    let mut c = with_ca(config(&server, "smtps", Security::Tls), &server);
    c.credentials = Some(Credentials::new(ms_user, PASSWORD));
    let (t, _) = transport(c);
    let result = t.send(&note(101)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.to_string().contains("535 5.7.139"), "{err}");
    assert_eq!(hint(err), Some(&Hint::BasicAuthDisabled));
    let f = failure(err);
    assert_eq!(f.step, Step::Auth);
    assert_eq!(f.code, Some(535));
    assert_eq!(f.enhanced_status, Some(EnhancedStatus::new(5, 7, 139)));
    assert_eq!(f.recipient, None);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn xoauth2_when_pinned() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission"))
            .token(USER, TOKEN),
    );
    let mut c = login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        TOKEN,
    );
    c.auth = Some(AuthMechanism::Xoauth2);
    let (t, lines) = transport(c);
    let sent = note(110);
    t.send(&sent)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", lines.all()));
    assert_received(&server, 0, &sent);
    assert_eq!(server.messages()[0].meta["auth_login"], USER);
    let transcript = lines.all();
    assert!(
        transcript.contains("C: AUTH XOAUTH2 [redacted]"),
        "{transcript}"
    );
    assert_no_secrets(&transcript);

    // A wrong token: the error challenge is answered, the 535 reported.
    let mut c = login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        "expired-token",
    );
    c.auth = Some(AuthMechanism::Xoauth2);
    let (t, lines) = transport(c);
    let result = t.send(&note(111)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert!(
        err.to_string().contains("535 5.7.8"),
        "{err}\n{}",
        lines.all()
    );
    assert!(lines.all().contains("S: 334 "), "{}", lines.all());
    assert!(!lines.all().contains("expired-token"));
    // The token hint, not the password one.
    assert_eq!(
        hint(err),
        Some(&Hint::TokenRefused {
            username: Some(USER.to_owned())
        })
    );
    assert_eq!(
        facts(err),
        (
            Step::Auth,
            Some(535),
            Some(EnhancedStatus::new(5, 7, 8)),
            None
        )
    );
    assert_eq!(
        server
            .commands("submission")
            .iter()
            .filter(|v| *v == "AUTH")
            .count(),
        2
    );
}

// ------------------------------------------------------------ pipelining

/// Where the server offers PIPELINING, MAIL, the RCPTs and DATA go out in
/// one write and their replies come back together.
#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn pipelining_sends_the_envelope_in_one_round_trip() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission").pipelining())
            .user(USER, PASSWORD),
    );
    let (t, lines) = transport(login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    ));
    let sent = note(150);
    t.send(&sent)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", lines.all()));
    assert_received(&server, 0, &sent);
    assert_eq!(
        server.commands("submission"),
        ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "RCPT", "DATA", "QUIT"]
    );
    // All four commands were written before the first of their replies
    // was read.
    let transcript = lines.all();
    let at = |piece: &str| {
        transcript
            .find(piece)
            .unwrap_or_else(|| panic!("no {piece:?} in:\n{transcript}"))
    };
    let data = at("C: DATA");
    assert!(at("C: MAIL FROM:") < data, "{transcript}");
    let first_reply = transcript[at("C: MAIL FROM:")..]
        .find("S: 250")
        .map(|i| i + at("C: MAIL FROM:"))
        .unwrap_or(usize::MAX);
    assert!(data < first_reply, "not pipelined:\n{transcript}");
    assert_no_secrets(&transcript);
}

/// A refused recipient while pipelining: the message fails with the
/// recipient named, nothing is delivered (the server's 354 is answered by
/// dropping the connection, not by an empty message), and the next message
/// of the batch goes out on a fresh connection.
#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn pipelining_with_a_refused_recipient_sends_nothing() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(
                Listener::starttls("submission")
                    .pipelining()
                    .reject_rcpt("nobody@example.com"),
            )
            .user(USER, PASSWORD),
    );
    let (t, lines) = transport(login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    ));
    let mut bad = note(151);
    bad.to.push("nobody@example.com".into());
    let good = note(152);
    let results = send_batch_checked(&t, &[bad, good.clone()]).await;
    let err = err_of(&results[0]);
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains("<nobody@example.com>"), "{err}");
    let f = failure(err);
    assert_eq!(f.step, Step::RcptTo);
    assert_eq!(f.code, Some(550));
    assert_eq!(f.recipient.as_deref(), Some("nobody@example.com"));
    results[1]
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{}", lines.all()));
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "only the good message arrives");
    assert_received(&server, 0, &good);
    assert_eq!(server.connections("submission"), 2);
}

/// A temporary refusal of DATA while pipelining is temporary, as one by one.
#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn pipelining_with_451_to_data_is_temporary() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission").pipelining().data_451(-1))
            .user(USER, PASSWORD),
    );
    let (t, _lines) = transport(login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    ));
    let result = t.send(&note(153)).await;
    let err = err_of(&result);
    assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    assert!(err.to_string().contains("451"), "{err}");
    assert_eq!(
        facts(err),
        (
            Step::Message,
            Some(451),
            Some(EnhancedStatus::new(4, 3, 0)),
            None
        )
    );
    assert!(server.messages().is_empty());
}

// ------------------------------------------------------------------- batch

/// A kept connection the server closed after a message (idle timeout,
/// per-connection limit) fails at MAIL FROM; the message goes out on a
/// fresh connection instead of failing.
#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_connection_closed_between_messages_is_reopened() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission").close_after(1))
            .user(USER, PASSWORD),
    );
    let (t, lines) = transport(login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    ));
    let mut session = t.into_session();
    let batch = [note(140), note(141), note(142)];
    for (i, sent) in batch.iter().enumerate() {
        // Give the server time to close the connection it is done with.
        tokio::time::sleep(Duration::from_millis(200)).await;
        session
            .send(sent)
            .await
            .unwrap_or_else(|e| panic!("#{i}: {e}\n{}", lines.all()));
    }
    session.finish().await;
    for (i, sent) in batch.iter().enumerate() {
        assert_received(&server, i, sent);
    }
    assert_eq!(server.connections("submission"), 3);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_batch_uses_one_connection() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission"))
            .user(USER, PASSWORD),
    );
    let (t, lines) = transport(login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    ));
    let batch = [note(120), note(121), note(122)];
    let results = send_batch_checked(&t, &batch).await;
    for (i, r) in results.iter().enumerate() {
        let d = r
            .as_ref()
            .unwrap_or_else(|e| panic!("#{i}: {e}\n{}", lines.all()));
        assert!(
            d.detail
                .starts_with(&format!("250 2.0.0 Ok: queued as Q0000{}", i + 1)),
            "{}",
            d.detail
        );
    }
    assert_eq!(server.connections("submission"), 1);
    for (i, sent) in batch.iter().enumerate() {
        assert_received(&server, i, sent);
    }
    let conns: Vec<_> = server
        .messages()
        .iter()
        .map(|m| m.meta["conn"].clone())
        .collect();
    assert!(conns.iter().all(|c| *c == conns[0]), "{conns:?}");
    let commands = server.commands("submission");
    assert_eq!(commands.iter().filter(|v| *v == "AUTH").count(), 1);
    assert_eq!(commands.iter().filter(|v| *v == "MAIL").count(), 3);
    assert_eq!(commands.last().map(String::as_str), Some("QUIT"));
    assert_eq!(lines.all().matches("C: [message body: ").count(), 3);
    assert_no_secrets(&lines.all());
}

/// `Transport::send_batch` reports each message right after the server's
/// 250 for it, before the next one is sent: at each report the server holds
/// exactly the messages reported so far, all from the same connection.
#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_batch_reports_each_message_as_soon_as_it_is_accepted() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission"))
            .user(USER, PASSWORD),
    );
    let (t, lines) = transport(login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    ));
    let batch = [note(160), note(161), note(162)];
    let refs: Vec<&Notification> = batch.iter().collect();
    // (index, the server's message count at the report, the result)
    let mut reports = Vec::new();
    let stored = || server.messages().len();
    t.send_batch(&refs, &mut |i, result| {
        reports.push((i, stored(), result.map_err(|e| e.to_string())))
    })
    .await;
    assert_eq!(reports.len(), 3, "{reports:?}\n{}", lines.all());
    for (n, (i, count, result)) in reports.iter().enumerate() {
        assert_eq!(*i, n, "reported in order, once each: {reports:?}");
        assert_eq!(*count, n + 1, "reported right after its 250: {reports:?}");
        let d = result.as_ref().unwrap_or_else(|e| panic!("#{n}: {e}"));
        assert!(d.detail.starts_with("250 "), "{}", d.detail);
    }
    assert_eq!(server.connections("submission"), 1);
    let conns: Vec<_> = server
        .messages()
        .iter()
        .map(|m| m.meta["conn"].clone())
        .collect();
    assert_eq!(conns.len(), 3);
    assert!(conns.iter().all(|c| *c == conns[0]), "{conns:?}");
    for (i, sent) in batch.iter().enumerate() {
        assert_received(&server, i, sent);
    }
    let commands = server.commands("submission");
    assert_eq!(commands.iter().filter(|v| *v == "AUTH").count(), 1);
    assert_eq!(commands.last().map(String::as_str), Some("QUIT"));
}

/// A recipient refused for good (550) fails its own message only, named in
/// the error; the others of the batch arrive. As after any failure at the
/// server, the next message goes out on a fresh connection.
#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_batch_with_a_permanently_refused_recipient_delivers_the_others() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission").reject_rcpt("nobody@example.com"))
            .user(USER, PASSWORD),
    );
    let (t, lines) = transport(login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    ));
    let mut refused = note(171);
    refused.to.push("nobody@example.com".into());
    let batch = [note(170), refused, note(172)];
    let results = send_batch_checked(&t, &batch).await;
    results[0]
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{}", lines.all()));
    let err = err_of(&results[1]);
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    assert!(
        err.to_string()
            .contains("rejected recipient <nobody@example.com>"),
        "{err}"
    );
    assert_eq!(
        facts(err),
        (
            Step::RcptTo,
            Some(550),
            Some(EnhancedStatus::new(5, 1, 1)),
            Some("nobody@example.com")
        )
    );
    results[2]
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{}", lines.all()));
    assert_eq!(
        server.messages().len(),
        2,
        "the refused message is not sent"
    );
    assert_received(&server, 0, &batch[0]);
    assert_received(&server, 1, &batch[2]);
    assert_eq!(server.connections("submission"), 2);
    let commands = server.commands("submission");
    assert_eq!(commands.iter().filter(|v| *v == "DATA").count(), 2);
    assert_no_secrets(&lines.all());
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_bad_message_in_a_batch_fails_alone() {
    let server = SmtpServer::start(ServerOptions::new().listener(Listener::plain("relay")));
    let (t, _) = transport(config(&server, "relay", Security::None));
    let mut bad = note(130);
    bad.to = vec!["not an address".into()];
    bad.cc.clear();
    bad.bcc.clear();
    let results = send_batch_checked(&t, &[note(131), bad, note(132)]).await;
    assert!(results[0].is_ok());
    let err = err_of(&results[1]);
    assert_eq!(err.kind(), ErrorKind::Config);
    // Refused before it reached the server: a build error, no SMTP step.
    assert_eq!(hint(err), Some(&Hint::AddressForm { field: "to" }));
    assert_eq!(err.detail::<SmtpFailure>(), None);
    assert!(results[2].is_ok());
    assert_eq!(server.connections("relay"), 1);
    assert_eq!(server.messages().len(), 2);
}

// ------------------------------------------------------ long recipient lists

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn sixty_recipients_are_sent_sixty_rcpt_tos() {
    let server = SmtpServer::start(ServerOptions::new().listener(Listener::plain("relay")));
    let (t, lines) = transport(config(&server, "relay", Security::None));
    let mut n = note(120);
    n.to = (0..40)
        .map(|i| format!("Empfänger Nummer {i} der Überwachung <ops.{i:02}@example.com>"))
        .collect();
    n.cc = (40..60).map(|i| format!("cc.{i:02}@example.com")).collect();
    n.bcc = Vec::new();
    t.send(&n)
        .await
        .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", e.detail::<Hint>(), lines.all()));
    let rcpts = server
        .commands("relay")
        .iter()
        .filter(|c| *c == "RCPT")
        .count();
    assert_eq!(rcpts, 60);
    let got = &server.messages()[0];
    assert_eq!(got.meta["rcpt_tos"].as_array().unwrap().len(), 60);
    let part = Part::parse(&got.raw);
    assert!(part.header("To").unwrap().contains("<ops.39@example.com>"));
    assert!(part.header("Cc").unwrap().contains("cc.59@example.com"));
    for line in got.raw.split(|&b| b == b'\n') {
        assert!(line.len() <= 1000);
    }
}

#[tokio::test]
async fn a_host_that_does_not_exist_is_a_config_error() {
    // `.invalid` never resolves (RFC 6761); the empty label makes the
    // resolver refuse it without asking any server.
    for host in ["no-such-host..invalid", "no-such-host.invalid"] {
        let (t, _) = transport(SmtpConfig::new(host, 25, Security::None));
        let result = t.send(&note(92)).await;
        let err = err_of(&result);
        if err.to_string().contains("Temporary failure") {
            // No resolver at all on this machine: the lookup itself failed.
            assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
            assert_eq!(hint(err), Some(&Hint::CheckHostName { host: host.into() }));
            continue;
        }
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(
            err.to_string()
                .contains(&format!("cannot resolve the host name `{host}`")),
            "{err}"
        );
        assert_eq!(hint(err), Some(&Hint::NoSuchHost { host: host.into() }));
        assert_eq!(facts(err), (Step::Resolve, None, None, None));
    }
}
