//! `notify doctor`'s checks ([`notify_smtp::doctor::diagnose`]) against a
//! real server: aiosmtpd started by `notify-testkit`, over real TLS with
//! test certificates. A test that needs the server is ignored by a plain
//! `cargo test`; `cargo xtask ci` runs it (and a missing server fails it).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::server::{config, login, with_ca, PASSWORD, TOKEN, USER};
use notify_smtp::doctor::{
    self, diagnose, diagnose_with_transcript, Check, Verdict, AUTH, CONFIG, DNS, EHLO, STARTTLS,
    TCP, TLS,
};
use notify_smtp::{AuthMechanism, CertificateProblem, Hint, Security, SmtpConfig};
use notify_testkit::{Cert, Listener, ServerOptions, SmtpServer};

/// Runs the checks, prints them as `notify doctor` might (visible with
/// `--nocapture`) and checks what holds for every run: no secret anywhere,
/// one line per detail, nothing after a failure but skipped steps.
async fn run(config: &SmtpConfig) -> Vec<Check> {
    let checks = diagnose(config).await;
    for c in &checks {
        eprintln!("{:<8} {:<7} {}", c.step, c.verdict, c.detail);
        if let Some(hint) = &c.hint {
            eprintln!("                 hint: {hint:?}");
        }
    }
    eprintln!();
    for c in &checks {
        let all = format!("{} {:?}", c.detail, c.hint);
        assert!(!all.contains(PASSWORD) && !all.contains(TOKEN), "{all}");
        assert!(!c.detail.contains('\n'), "{all}");
        assert!(!c.detail.is_empty());
    }
    if let Some(i) = checks.iter().position(|c| c.verdict == Verdict::Fail) {
        let reason = match checks[i].step {
            CONFIG => "not checked: the account's settings are invalid (see CONFIG)".to_owned(),
            step => format!("not checked: the {step} step failed"),
        };
        for later in &checks[i + 1..] {
            assert_eq!(later.verdict, Verdict::Skipped, "{later:?}");
            assert_eq!(later.detail, reason);
        }
    }
    checks
}

fn steps(checks: &[Check]) -> Vec<(&'static str, Verdict)> {
    checks.iter().map(|c| (c.step, c.verdict)).collect()
}

fn check<'a>(checks: &'a [Check], step: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.step == step)
        .unwrap_or_else(|| panic!("no {step} in {checks:?}"))
}

fn detail<'a>(checks: &'a [Check], step: &str) -> &'a str {
    &check(checks, step).detail
}

fn hint<'a>(checks: &'a [Check], step: &str) -> Option<&'a Hint> {
    check(checks, step).hint.as_ref()
}

/// `127.0.0.1:port` of `listener`, as hints name a server.
fn server_of(server: &SmtpServer, listener: &str) -> String {
    format!("127.0.0.1:{}", server.port(listener))
}

fn assert_contains(text: &str, pieces: &[&str]) {
    for piece in pieces {
        assert!(text.contains(piece), "{text:?} lacks {piece:?}");
    }
}

use Verdict::{Fail, Ok as Good, Skipped, Warn};

// ------------------------------------------------------------- all is well

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn starttls_with_ca_file_all_ok() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission"))
            .user(USER, PASSWORD),
    );
    let port = server.port("submission");
    let config = login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    );
    let checks = run(&config).await;
    assert_eq!(
        steps(&checks),
        [
            (DNS, Good),
            (TCP, Good),
            (STARTTLS, Good),
            (TLS, Good),
            (EHLO, Good),
            (AUTH, Good)
        ]
    );
    assert_eq!(
        detail(&checks, DNS),
        "127.0.0.1 is an IP address: no lookup needed"
    );
    assert_contains(
        detail(&checks, TCP),
        &[&format!("connected to 127.0.0.1:{port} in "), " ms"],
    );
    assert_contains(
        detail(&checks, STARTTLS),
        &["greeting: 220 ", "EHLO offers STARTTLS", "STARTTLS: 220 "],
    );
    assert_contains(
        detail(&checks, TLS),
        &[
            "TLS 1.3, TLS13_",
            "certificate \"localhost\" issued by \"notify test CA\"",
            "names: localhost, 127.0.0.1, ::1",
            "days left",
            "trusted (verified for 127.0.0.1; vouched for by ca_file ",
        ],
    );
    assert_contains(detail(&checks, EHLO), &["SIZE ", "8BITMIME", "AUTH "]);
    assert!(!detail(&checks, EHLO).contains("mx.test.invalid"));
    assert_eq!(
        detail(&checks, AUTH),
        "authenticated as user@example.com with PLAIN"
    );
    assert_eq!(doctor::overall(&checks), Good);
    // Never MAIL; ends with QUIT.
    assert_eq!(
        server.commands("submission"),
        ["EHLO", "STARTTLS", "EHLO", "AUTH", "QUIT"]
    );
    assert!(server.messages().is_empty());
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_private_ca_in_the_system_store_needs_no_ca_file_and_is_named() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission"))
            .user(USER, PASSWORD),
    );
    let ca = server.certs().ca();
    let mut cfg = login(config(&server, "submission", Security::StartTls), PASSWORD);
    cfg.system_roots = notify_smtp::SystemRoots::Paths {
        file: Some(ca.clone()),
        dirs: Vec::new(),
        named_by: "SSL_CERT_FILE".into(),
    };
    let checks = run(&cfg).await;
    assert_eq!(
        check(&checks, TLS).verdict,
        Good,
        "{}",
        detail(&checks, TLS)
    );
    assert_contains(
        detail(&checks, TLS),
        &[&format!(
            "vouched for by the certificates named by SSL_CERT_FILE ({}), 1 certificate)",
            ca.display()
        )],
    );

    // Also with a ca_file: it is named when it alone vouches.
    let both = with_ca(cfg.clone(), &server);
    let checks = run(&both).await;
    assert_contains(detail(&checks, TLS), &["vouched for by ca_file "]);

    // A store that holds nothing: Mozilla's roots stand in, and they do not
    // know the private CA.
    let empty = std::env::temp_dir().join(format!("notify-empty-{}.pem", std::process::id()));
    std::fs::write(&empty, "").unwrap();
    cfg.system_roots = notify_smtp::SystemRoots::Paths {
        file: Some(empty.clone()),
        dirs: Vec::new(),
        named_by: "SSL_CERT_FILE".into(),
    };
    let checks = run(&cfg).await;
    let _ = std::fs::remove_file(&empty);
    assert_eq!(check(&checks, TLS).verdict, Fail);
    assert_contains(detail(&checks, TLS), &["unknown CA"]);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn implicit_tls_with_ca_file_all_ok_for_each_mechanism() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::tls("smtps"))
            .user(USER, PASSWORD)
            .token(USER, TOKEN),
    );
    for (pinned, secret, shown) in [
        (None, PASSWORD, "PLAIN"),
        (Some(AuthMechanism::Login), PASSWORD, "LOGIN"),
        (Some(AuthMechanism::Xoauth2), TOKEN, "XOAUTH2"),
    ] {
        let mut config = login(
            with_ca(config(&server, "smtps", Security::Tls), &server),
            secret,
        );
        config.auth = pinned;
        let checks = run(&config).await;
        assert_eq!(
            steps(&checks),
            [
                (DNS, Good),
                (TCP, Good),
                (TLS, Good),
                (EHLO, Good),
                (AUTH, Good)
            ]
        );
        assert_contains(
            detail(&checks, TLS),
            &["certificate \"localhost\"", "trusted"],
        );
        assert_eq!(
            detail(&checks, AUTH),
            format!("authenticated as user@example.com with {shown}")
        );
    }
    assert_eq!(server.commands("smtps"), ["EHLO", "AUTH", "QUIT"].repeat(3));
    assert!(server.messages().is_empty());
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_host_name_is_resolved_and_its_addresses_listed() {
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
    let checks = run(&config).await;
    assert_eq!(check(&checks, DNS).verdict, Good);
    assert_contains(
        detail(&checks, DNS),
        &["localhost resolves to ", "127.0.0.1", " ms)"],
    );
    // The server listens on 127.0.0.1 only: where localhost is ::1 first,
    // that address fails first and the step says so.
    let tcp = check(&checks, TCP);
    match tcp.verdict {
        Good => assert!(tcp.detail.starts_with("connected to 127.0.0.1:")),
        Warn => {
            assert_contains(&tcp.detail, &["connected to 127.0.0.1:", "[::1]:"]);
            // Whether ::1 is refused or times out depends on the machine.
            assert!(
                matches!(hint(&checks, TCP), Some(Hint::SlowAddresses { .. })),
                "{tcp:?}"
            );
        }
        other => panic!("{other:?}: {tcp:?}"),
    }
    assert_contains(detail(&checks, TLS), &["verified for localhost"]);
    assert_eq!(check(&checks, AUTH).verdict, Good);
}

// ------------------------------------------------------------ certificates

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn an_untrusted_certificate_fails_and_is_shown() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::tls("smtps"))
            .listener(Listener::starttls("submission"))
            .listener(Listener::tls("self").cert(Cert::SelfSigned))
            .user(USER, PASSWORD),
    );

    // Implicit TLS, the test CA not added.
    let checks = run(&login(config(&server, "smtps", Security::Tls), PASSWORD)).await;
    assert_eq!(
        steps(&checks),
        [
            (DNS, Good),
            (TCP, Good),
            (TLS, Fail),
            (EHLO, Skipped),
            (AUTH, Skipped)
        ]
    );
    assert_contains(
        detail(&checks, TLS),
        &[
            "not trusted",
            "UnknownIssuer",
            "the server presented certificate \"localhost\" issued by \"notify test CA\"",
            "names: localhost, 127.0.0.1, ::1",
            "expires ",
            "days left",
        ],
    );
    assert_eq!(
        hint(&checks, TLS),
        Some(&Hint::TrustCertificate { ca_file: None })
    );
    assert_eq!(doctor::overall(&checks), Fail);

    // STARTTLS: the plaintext part works, the handshake does not.
    let checks = run(&login(
        config(&server, "submission", Security::StartTls),
        PASSWORD,
    ))
    .await;
    assert_eq!(
        steps(&checks),
        [
            (DNS, Good),
            (TCP, Good),
            (STARTTLS, Good),
            (TLS, Fail),
            (EHLO, Skipped),
            (AUTH, Skipped)
        ]
    );
    assert_contains(
        detail(&checks, TLS),
        &["UnknownIssuer", "issued by \"notify test CA\""],
    );
    assert_eq!(
        hint(&checks, TLS),
        Some(&Hint::TrustCertificate { ca_file: None })
    );

    // Self-signed.
    let checks = run(&login(config(&server, "self", Security::Tls), PASSWORD)).await;
    assert_eq!(check(&checks, TLS).verdict, Fail);
    assert_contains(
        detail(&checks, TLS),
        &[
            "self-signed",
            "certificate \"localhost\" issued by itself (self-signed)",
        ],
    );
    assert_eq!(
        hint(&checks, TLS),
        Some(&Hint::TrustCertificate { ca_file: None })
    );

    // Nothing after the handshake reached the servers, the password least.
    assert!(server.commands("smtps").is_empty());
    assert!(server.commands("self").is_empty());
    assert_eq!(server.commands("submission"), ["EHLO", "STARTTLS"]);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn accept_invalid_certs_is_a_warning_that_says_what_it_hides() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::tls("self").cert(Cert::SelfSigned))
            .listener(Listener::starttls("submission"))
            .user(USER, PASSWORD),
    );

    let mut c = login(config(&server, "self", Security::Tls), PASSWORD);
    c.accept_invalid_certs = true;
    let checks = run(&c).await;
    assert_eq!(
        steps(&checks),
        [
            (DNS, Good),
            (TCP, Good),
            (TLS, Warn),
            (EHLO, Good),
            (AUTH, Good)
        ]
    );
    assert_contains(
        detail(&checks, TLS),
        &[
            "certificate \"localhost\" issued by itself (self-signed)",
            "NOT checked (accept_invalid_certs = true): it would NOT be trusted: it is self-signed",
        ],
    );
    assert_eq!(
        hint(&checks, TLS),
        Some(&Hint::CheckingOff {
            problem: CertificateProblem::Untrusted,
            ca_file_set: false,
        })
    );
    assert_eq!(doctor::overall(&checks), Warn);

    // A certificate that would pass: say so.
    let mut c = login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    );
    c.accept_invalid_certs = true;
    let checks = run(&c).await;
    assert_eq!(check(&checks, TLS).verdict, Warn);
    assert_contains(detail(&checks, TLS), &["but it would be trusted"]);
    assert_eq!(hint(&checks, TLS), Some(&Hint::CertificateValid));
    assert_eq!(check(&checks, AUTH).verdict, Good);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn expiring_and_expired_certificates() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::tls("expiring").cert(Cert::Expiring))
            .listener(Listener::tls("expired").cert(Cert::Expired))
            .listener(Listener::tls("wrongname").cert(Cert::WrongName))
            .user(USER, PASSWORD),
    );

    let checks = run(&login(
        with_ca(config(&server, "expiring", Security::Tls), &server),
        PASSWORD,
    ))
    .await;
    assert_eq!(check(&checks, TLS).verdict, Warn);
    assert_contains(detail(&checks, TLS), &["days left)", "trusted"]);
    let days = detail(&checks, TLS)
        .split(" days left")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|n| n.parse::<i64>().ok());
    assert!(matches!(days, Some(4 | 5)), "{days:?}");
    assert_eq!(
        hint(&checks, TLS),
        Some(&Hint::CertificateExpiresSoon {
            within_days: doctor::EXPIRY_WARNING_DAYS
        })
    );
    // A warning does not stop the run.
    assert_eq!(check(&checks, AUTH).verdict, Good);

    let expired = with_ca(config(&server, "expired", Security::Tls), &server);
    let checks = run(&login(expired.clone(), PASSWORD)).await;
    assert_eq!(check(&checks, TLS).verdict, Fail);
    assert_contains(
        detail(&checks, TLS),
        &["not valid now", "EXPIRED on ", "(1 day ago)"],
    );
    assert_eq!(hint(&checks, TLS), Some(&Hint::CertificateExpired));

    let mut unchecked = login(expired, PASSWORD);
    unchecked.accept_invalid_certs = true;
    let checks = run(&unchecked).await;
    assert_eq!(check(&checks, TLS).verdict, Warn);
    assert_contains(
        detail(&checks, TLS),
        &["EXPIRED on ", "it would NOT be trusted: it expired on "],
    );
    assert_eq!(
        hint(&checks, TLS),
        Some(&Hint::CheckingOff {
            problem: CertificateProblem::Expired,
            ca_file_set: true,
        })
    );

    let checks = run(&login(
        with_ca(config(&server, "wrongname", Security::Tls), &server),
        PASSWORD,
    ))
    .await;
    assert_eq!(check(&checks, TLS).verdict, Fail);
    assert_contains(
        detail(&checks, TLS),
        &[
            "not valid for the name `127.0.0.1`",
            "certificate \"wrong.example\"",
            "names: wrong.example",
        ],
    );
    assert_eq!(
        hint(&checks, TLS),
        Some(&Hint::CertificateName {
            suggestion: Some(format!("wrong.example:{}", server.port("wrongname")))
        })
    );
}

// -------------------------------------------------------------------- AUTH

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_wrong_password_fails_at_auth_with_a_hint() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission"))
            .user(USER, "the-right-one"),
    );
    let checks = run(&login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    ))
    .await;
    assert_eq!(
        steps(&checks),
        [
            (DNS, Good),
            (TCP, Good),
            (STARTTLS, Good),
            (TLS, Good),
            (EHLO, Good),
            (AUTH, Fail)
        ]
    );
    assert_contains(
        detail(&checks, AUTH),
        &["authentication as user@example.com failed", "535"],
    );
    assert_eq!(
        hint(&checks, AUTH),
        Some(&Hint::CheckCredentials {
            username: Some(USER.to_owned())
        })
    );
    assert_eq!(
        server.commands("submission"),
        ["EHLO", "STARTTLS", "EHLO", "AUTH", "QUIT"]
    );
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn a_relay_without_credentials_skips_auth() {
    let server = SmtpServer::start(ServerOptions::new().listener(Listener::plain("relay")));
    let checks = run(&config(&server, "relay", Security::None)).await;
    assert_eq!(
        steps(&checks),
        [
            (DNS, Good),
            (TCP, Good),
            (TLS, Warn),
            (EHLO, Good),
            (AUTH, Skipped)
        ]
    );
    assert_contains(
        detail(&checks, TLS),
        &["not encrypted (security = \"none\")", "plaintext"],
    );
    assert_eq!(hint(&checks, TLS), Some(&Hint::PlaintextRelay));
    assert_eq!(
        detail(&checks, AUTH),
        "no password configured: the server must accept mail without login (a relay)"
    );
    assert_eq!(check(&checks, AUTH).hint, None);
    assert_eq!(server.commands("relay"), ["EHLO", "QUIT"]);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn auth_problems_seen_in_ehlo() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("no-login").exclude_mechanism("LOGIN"))
            .listener(Listener::plain("relay"))
            .listener(Listener::plain("plain-auth").auth(true))
            .user(USER, PASSWORD),
    );

    // A pinned mechanism the server does not offer.
    let mut c = login(
        with_ca(config(&server, "no-login", Security::StartTls), &server),
        PASSWORD,
    );
    c.auth = Some(AuthMechanism::Login);
    let checks = run(&c).await;
    assert_eq!(check(&checks, EHLO).verdict, Warn);
    assert_contains(
        detail(&checks, EHLO),
        &["auth = \"login\" is set, but the server does not offer AUTH LOGIN"],
    );
    assert_eq!(hint(&checks, EHLO), Some(&Hint::MechanismNotOffered));
    assert_eq!(check(&checks, AUTH).verdict, Fail);
    assert_contains(detail(&checks, AUTH), &["does not offer AUTH LOGIN"]);
    assert_eq!(hint(&checks, AUTH), Some(&Hint::MechanismNotOffered));

    // A password for a server that offers no AUTH.
    let mut c = login(config(&server, "relay", Security::None), PASSWORD);
    c.allow_insecure_auth = true;
    let checks = run(&c).await;
    assert_eq!(check(&checks, TLS).verdict, Warn);
    assert_contains(detail(&checks, TLS), &["the password travel in plaintext"]);
    assert_eq!(check(&checks, EHLO).verdict, Warn);
    assert_contains(
        detail(&checks, EHLO),
        &["no AUTH offered, but a password is configured"],
    );
    assert_eq!(
        hint(&checks, EHLO),
        Some(&Hint::AuthNotOffered {
            security: Security::None
        })
    );
    assert_eq!(check(&checks, AUTH).verdict, Fail);
    assert_contains(detail(&checks, AUTH), &["offers no authentication"]);
    assert_eq!(hint(&checks, AUTH), Some(&Hint::NoLoginNeeded));

    // Plaintext AUTH offered, but the password may not go unencrypted.
    let checks = run(&login(
        config(&server, "plain-auth", Security::None),
        PASSWORD,
    ))
    .await;
    assert_eq!(check(&checks, TLS).verdict, Warn);
    assert_contains(
        detail(&checks, TLS),
        &["the password of user@example.com is not sent"],
    );
    assert_eq!(hint(&checks, TLS), Some(&Hint::EncryptThePassword));
    assert_eq!(check(&checks, EHLO).verdict, Good);
    assert_eq!(check(&checks, AUTH).verdict, Fail);
    assert_contains(detail(&checks, AUTH), &["refusing to send the password"]);
    assert_eq!(hint(&checks, AUTH), Some(&Hint::EncryptThePassword));
    assert_eq!(server.commands("plain-auth"), ["EHLO", "QUIT"]);

    // With no password, a server that offers AUTH gets a hint.
    let checks = run(&config(&server, "plain-auth", Security::None)).await;
    assert_eq!(check(&checks, AUTH).verdict, Skipped);
    assert_eq!(hint(&checks, AUTH), Some(&Hint::AuthOffered));
}

// ------------------------------------------------------- network and mode

#[tokio::test]
async fn connection_refused_fails_at_tcp() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let checks = run(&SmtpConfig::new("127.0.0.1", port, Security::StartTls)).await;
    assert_eq!(
        steps(&checks),
        [
            (DNS, Good),
            (TCP, Fail),
            (STARTTLS, Skipped),
            (TLS, Skipped),
            (EHLO, Skipped),
            (AUTH, Skipped)
        ]
    );
    assert_contains(
        detail(&checks, TCP),
        &[&format!("cannot connect to 127.0.0.1:{port}")],
    );
    assert_eq!(
        hint(&checks, TCP),
        Some(&Hint::NothingListens {
            server: format!("127.0.0.1:{port}")
        })
    );
}

#[tokio::test]
async fn an_unresolvable_host_fails_at_dns() {
    // An empty label: the resolver refuses it without asking any server.
    let checks = run(&SmtpConfig::new(
        "no-such-host..invalid",
        25,
        Security::None,
    ))
    .await;
    assert_eq!(check(&checks, DNS).verdict, Fail);
    assert_contains(
        detail(&checks, DNS),
        &["cannot resolve the host name `no-such-host..invalid`"],
    );
    // No such host, or (without a resolver here) a lookup that failed:
    // either way the hint names the host.
    assert!(
        matches!(
            hint(&checks, DNS),
            Some(Hint::NoSuchHost { host } | Hint::CheckHostName { host })
                if host == "no-such-host..invalid"
        ),
        "{:?}",
        hint(&checks, DNS)
    );
    assert_eq!(check(&checks, TCP).verdict, Skipped);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn the_wrong_security_mode_for_the_port() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::plain("relay"))
            .listener(Listener::tls("smtps"))
            .user(USER, PASSWORD),
    );

    // security = "starttls" on an implicit-TLS port: no greeting, but the
    // port answers a TLS handshake.
    let mut c = config(&server, "smtps", Security::StartTls);
    c.timeout = Duration::from_secs(1);
    let checks = run(&c).await;
    assert_eq!(check(&checks, STARTTLS).verdict, Fail);
    assert_contains(detail(&checks, STARTTLS), &["expects implicit TLS"]);
    assert_eq!(
        hint(&checks, STARTTLS),
        Some(&Hint::UseTls {
            server: server_of(&server, "smtps")
        })
    );
    assert_eq!(check(&checks, TLS).verdict, Skipped);

    // security = "none": the same, at the greeting before EHLO.
    let mut c = config(&server, "smtps", Security::None);
    c.timeout = Duration::from_secs(1);
    let checks = run(&c).await;
    assert_eq!(check(&checks, EHLO).verdict, Fail);
    assert_eq!(
        hint(&checks, EHLO),
        Some(&Hint::UseTls {
            server: server_of(&server, "smtps")
        })
    );

    // security = "tls" on a plaintext port.
    let checks = run(&config(&server, "relay", Security::Tls)).await;
    assert_eq!(check(&checks, TLS).verdict, Fail);
    assert_contains(detail(&checks, TLS), &["answered in plaintext"]);
    assert_eq!(
        hint(&checks, TLS),
        Some(&Hint::UseStartTls {
            server: server_of(&server, "relay")
        })
    );
    assert!(!detail(&checks, TLS).contains("presented"));
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn starttls_not_offered_fails_at_starttls() {
    let server = SmtpServer::start(ServerOptions::new().listener(Listener::plain("relay")));
    let checks = run(&config(&server, "relay", Security::StartTls)).await;
    assert_eq!(check(&checks, STARTTLS).verdict, Fail);
    assert_contains(detail(&checks, STARTTLS), &["does not offer STARTTLS"]);
    assert_eq!(
        hint(&checks, STARTTLS),
        Some(&Hint::StartTlsMissing {
            with_password: false
        })
    );
    assert_eq!(server.commands("relay"), ["EHLO", "QUIT"]);
}

#[tokio::test]
async fn invalid_settings_fail_before_connecting() {
    let mut c = SmtpConfig::new("127.0.0.1", 1, Security::Tls);
    c.ca_pem = Some(b"not a certificate".to_vec());
    c.ca_file_label = Some("/etc/notify/ca.pem".into());
    let checks = run(&c).await;
    assert_eq!(
        steps(&checks),
        [
            (CONFIG, Fail),
            (DNS, Skipped),
            (TCP, Skipped),
            (TLS, Skipped),
            (EHLO, Skipped),
            (AUTH, Skipped)
        ]
    );
    assert_contains(detail(&checks, CONFIG), &["/etc/notify/ca.pem"]);
    assert_eq!(hint(&checks, CONFIG), Some(&Hint::CaFileForm));
    assert_contains(detail(&checks, TCP), &["settings are invalid"]);
}

#[tokio::test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
async fn the_transcript_is_redacted() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .listener(Listener::starttls("submission"))
            .user(USER, PASSWORD),
    );
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let config = login(
        with_ca(config(&server, "submission", Security::StartTls), &server),
        PASSWORD,
    );
    let checks = diagnose_with_transcript(
        &config,
        Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
    )
    .await;
    assert_eq!(doctor::overall(&checks), Good, "{checks:?}");
    let text = lines.lock().unwrap().join("\n");
    assert_contains(
        &text,
        &[
            "* connected to 127.0.0.1:",
            "C: STARTTLS",
            "* TLS established",
            "C: AUTH PLAIN [redacted]",
            "C: QUIT",
        ],
    );
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(!text.contains("MAIL"), "{text}");
}
