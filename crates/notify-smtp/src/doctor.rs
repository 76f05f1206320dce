//! `notify doctor`: checks an SMTP account step by step and says, for each
//! step, what it found, a verdict and what to do about it.
//!
//! [`diagnose`] watches the connection sequence of a real delivery (the
//! one `SmtpTransport::connect`, through an observer that is shown each
//! step as it succeeds), which stops after AUTH: it never sends MAIL, and
//! it ends with QUIT. A step that fails is the first one not reported yet.
//! The steps, in order:
//!
//! | step       | what it does |
//! |------------|--------------|
//! | `DNS`      | resolves the host name and lists the addresses (up to 4) |
//! | `TCP`      | connects to the first address that answers, timed |
//! | `STARTTLS` | `security = "starttls"` only: greeting, EHLO offers STARTTLS, 220 |
//! | `TLS`      | the handshake: protocol, cipher and the server's certificate (subject, issuer, names, expiry, trusted or not) |
//! | `EHLO`     | the server's capabilities after TLS |
//! | `AUTH`     | logs in, when a password is configured |
//!
//! The first [`Verdict::Fail`] stops the run: the steps after it are
//! reported as [`Verdict::Skipped`] with the reason. When the settings
//! themselves are invalid (a `ca_file` that is not PEM, a bad
//! `helo_name`), the only check made is a failed `CONFIG` step before all
//! the others.
//!
//! A certificate is shown even when it is not trusted: the TLS settings
//! used here are the transport's, with a verifier that also keeps the
//! chain it was shown, so a refused handshake still tells *which*
//! certificate the server presented (on the same connection, so a load
//! balancer cannot show a different one), and with
//! `accept_invalid_certs = true` the report still says whether the
//! certificate would have been trusted.
//!
//! The secret is never part of any detail or hint.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::classify::Failure;
use crate::client::{Ehlo, Reply};
use crate::hint::{CertificateProblem, Hint};
use crate::providers::Security;
use crate::smtp::{
    offered_mechanisms, Attempts, AuthMechanism, Observer, SmtpConfig, SmtpTransport,
};
use crate::tls::{HandshakeProblem, Presented, PresentedChain, Stream, Vouched};
use crate::transcript::Sink;
use crate::x509::Certificate;

/// The step that checks the settings, reported only when they are invalid.
pub const CONFIG: &str = "CONFIG";
/// Resolving the host name.
pub const DNS: &str = "DNS";
/// Connecting.
pub const TCP: &str = "TCP";
/// The plaintext part of STARTTLS (only for `security = "starttls"`).
pub const STARTTLS: &str = "STARTTLS";
/// The TLS handshake and the server's certificate.
pub const TLS: &str = "TLS";
/// The server's capabilities.
pub const EHLO: &str = "EHLO";
/// Logging in.
pub const AUTH: &str = "AUTH";

/// A certificate that expires within this many days is a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Fine.
    Ok,
    /// Works, but something deserves attention (an expiring or unchecked
    /// certificate, no encryption, a mechanism not offered, ...).
    Warn,
    /// Does not work; the later steps were not checked.
    Fail,
    /// Not checked (an earlier step failed, or there is nothing to check).
    Skipped,
}

impl Verdict {
    /// `ok`, `warn`, `fail` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Verdict {
    /// [`Verdict::as_str`]; width and alignment are honoured (`{:<7}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The result of one step.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Check {
    /// [`DNS`], [`TCP`], [`STARTTLS`], [`TLS`], [`EHLO`], [`AUTH`] (or
    /// [`CONFIG`]).
    pub step: &'static str,
    /// How it went.
    pub verdict: Verdict,
    /// What was found, on one line.
    pub detail: String,
    /// What to do about it, for `Warn` and `Fail` (and a few `Skipped`),
    /// as data for the caller to word.
    pub hint: Option<Hint>,
}

/// The worst verdict of a run: `Fail`, else `Warn`, else `Ok` (skipped
/// steps do not count).
pub fn overall(checks: &[Check]) -> Verdict {
    let has = |v: Verdict| checks.iter().any(|c| c.verdict == v);
    if has(Verdict::Fail) {
        Verdict::Fail
    } else if has(Verdict::Warn) {
        Verdict::Warn
    } else {
        Verdict::Ok
    }
}

/// Runs the checks in order: `DNS`, `TCP`, (`STARTTLS`,) `TLS`, `EHLO`,
/// `AUTH`. Stops at the first `Fail` (the later steps are reported as
/// `Skipped` with the reason). Never sends mail; ends with QUIT.
pub async fn diagnose(config: &SmtpConfig) -> Vec<Check> {
    run(config, None).await
}

/// [`diagnose`], also handing each line of the SMTP dialogue to
/// `transcript`, redacted as in
/// [`SmtpTransport::with_transcript`]
/// (for `notify doctor -v`).
pub async fn diagnose_with_transcript(
    config: &SmtpConfig,
    transcript: Arc<dyn Fn(&str) + Send + Sync>,
) -> Vec<Check> {
    run(config, Some(transcript)).await
}

async fn run(config: &SmtpConfig, user_sink: Option<Sink>) -> Vec<Check> {
    let mut report = Report::new(config.security);
    let mut transport = match SmtpTransport::new(config.clone()) {
        Ok(t) => t,
        Err(err) => {
            report.fail(CONFIG, err.to_string(), err.hint());
            return report.finish();
        }
    };
    if let Some(sink) = user_sink {
        transport = transport.with_transcript(sink);
    }
    let record = Arc::new(Presented::default());
    let mut doctor = Doctor {
        cfg: config,
        report,
        record: record.clone(),
        auth_offered: false,
    };
    match transport.connect(&transport.ctx(None), &mut doctor).await {
        Ok(session) => {
            if config.credentials.is_none() {
                let hint = doctor.auth_offered.then_some(Hint::AuthOffered);
                doctor.report.add(
                    AUTH,
                    Verdict::Skipped,
                    "no password configured: the server must accept mail without login (a \
                     relay)"
                        .to_owned(),
                    hint,
                );
            }
            transport.quit(session).await;
        }
        // A failure the doctor reported itself (TCP, a certificate it
        // judged) was reported already; any other belongs to the first
        // step not reported yet.
        Err(failure) if doctor.report.failed.is_none() => {
            let step = doctor.report.next_step();
            let mut detail = failure.message;
            if step == TLS {
                if let Some(presented) = record.take() {
                    let cert = presented.chain.first().and_then(|c| Certificate::parse(c));
                    detail.push_str("; the server presented ");
                    detail.push_str(&describe(
                        cert.as_ref(),
                        &presented,
                        OffsetDateTime::now_utc(),
                    ));
                }
            }
            doctor.report.fail(step, detail, failure.hint);
        }
        Err(_) => {}
    }
    doctor.report.finish()
}

/// The checks so far, and which steps are still to come.
struct Report {
    planned: &'static [&'static str],
    checks: Vec<Check>,
    failed: Option<&'static str>,
}

impl Report {
    fn new(security: Security) -> Report {
        let planned: &'static [&'static str] = match security {
            Security::StartTls => &[DNS, TCP, STARTTLS, TLS, EHLO, AUTH],
            Security::Tls | Security::None => &[DNS, TCP, TLS, EHLO, AUTH],
        };
        Report {
            planned,
            checks: Vec::new(),
            failed: None,
        }
    }

    fn add(&mut self, step: &'static str, verdict: Verdict, detail: String, hint: Option<Hint>) {
        self.checks.push(Check {
            step,
            verdict,
            detail: printable(&detail),
            hint,
        });
    }

    fn fail(&mut self, step: &'static str, detail: String, hint: Option<Hint>) {
        self.add(step, Verdict::Fail, detail, hint);
        self.failed.get_or_insert(step);
    }

    /// The first planned step not reported yet: where the sequence is.
    fn next_step(&self) -> &'static str {
        self.planned
            .iter()
            .copied()
            .find(|step| !self.checks.iter().any(|c| c.step == *step))
            .unwrap_or(AUTH)
    }

    /// The checks, with every planned step not reported as `Skipped`.
    fn finish(mut self) -> Vec<Check> {
        let reason = match self.failed {
            Some(CONFIG) => {
                "not checked: the account's settings are invalid (see CONFIG)".to_owned()
            }
            Some(step) => format!("not checked: the {step} step failed"),
            None => "not checked".to_owned(),
        };
        for step in self.planned {
            if !self.checks.iter().any(|c| c.step == *step) {
                self.checks.push(Check {
                    step,
                    verdict: Verdict::Skipped,
                    detail: reason.clone(),
                    hint: None,
                });
            }
        }
        // CONFIG first, then the planned order.
        let order = |step: &str| {
            self.planned
                .iter()
                .position(|s| *s == step)
                .map_or(0, |i| i + 1)
        };
        self.checks.sort_by_key(|c| order(c.step));
        self.checks
    }
}

/// Watches the delivery's connection sequence and reports each step.
struct Doctor<'a> {
    cfg: &'a SmtpConfig,
    report: Report,
    /// Where the TLS verifier keeps the chain the server presents.
    record: Arc<Presented>,
    /// The server's EHLO lists AUTH.
    auth_offered: bool,
}

impl Observer for Doctor<'_> {
    fn resolved(&mut self, addrs: &[SocketAddr], elapsed: Duration) {
        let detail = dns_detail(&self.cfg.host, addrs, elapsed);
        self.report.add(DNS, Verdict::Ok, detail, None);
    }

    fn connected(&mut self, attempts: &Attempts) {
        let reached = attempts.connected.as_ref().map(|c| (c.addr, c.elapsed));
        let (verdict, detail, hint) = tcp_check(reached, &attempts.failures, self.cfg.timeout);
        if verdict == Verdict::Fail {
            self.report.fail(TCP, detail, hint);
            return;
        }
        self.report.add(TCP, verdict, detail, hint);
        if self.cfg.security == Security::None {
            let (detail, hint) = plaintext_check(self.cfg);
            self.report.add(TLS, Verdict::Warn, detail, Some(hint));
        }
    }

    fn tls_recorder(&mut self) -> Option<Arc<Presented>> {
        Some(self.record.clone())
    }

    fn starttls(&mut self, greeting: &Reply, reply: &Reply) {
        self.report.add(
            STARTTLS,
            Verdict::Ok,
            format!(
                "greeting: {} {}; EHLO offers STARTTLS; STARTTLS: {} {}",
                greeting.code,
                greeting.text(),
                reply.code,
                reply.text()
            ),
            None,
        );
    }

    fn tls(&mut self, stream: &Stream) -> Result<(), Failure> {
        let presented = self.record.take();
        let check = tls_check(
            self.cfg,
            stream,
            presented.as_ref(),
            OffsetDateTime::now_utc(),
        );
        let verdict = check.verdict;
        if verdict == Verdict::Fail {
            self.report.fail(TLS, check.detail, check.hint);
            return Err(Failure::new(
                notify_core::ErrorKind::Config,
                "the TLS step failed",
            ));
        }
        self.report.add(TLS, verdict, check.detail, check.hint);
        Ok(())
    }

    fn ehlo(&mut self, ehlo: &Ehlo) {
        let cfg = self.cfg;
        self.auth_offered = ehlo.auth();
        let detail = if ehlo.lines.is_empty() {
            "the server lists no extensions (its EHLO reply is its name only)".to_owned()
        } else {
            ehlo.lines.join(", ")
        };
        let offered = offered_mechanisms(ehlo);
        match (&cfg.credentials, cfg.auth) {
            (Some(_), _) if !self.auth_offered => {
                self.report.add(
                    EHLO,
                    Verdict::Warn,
                    format!("{detail}; no AUTH offered, but a password is configured"),
                    Some(Hint::AuthNotOffered {
                        security: cfg.security,
                    }),
                );
            }
            (Some(_), Some(pinned)) if !offered.contains(&pinned) => {
                self.report.add(
                    EHLO,
                    Verdict::Warn,
                    format!(
                        "{detail}; auth = \"{pinned}\" is set, but the server does not offer \
                         AUTH {}",
                        pinned.as_str().to_ascii_uppercase()
                    ),
                    Some(Hint::MechanismNotOffered),
                );
            }
            _ => self.report.add(EHLO, Verdict::Ok, detail, None),
        }
    }

    fn authenticated(&mut self, mechanism: AuthMechanism) {
        let user = self
            .cfg
            .credentials
            .as_ref()
            .map_or("", |c| c.username.as_str());
        self.report.add(
            AUTH,
            Verdict::Ok,
            format!(
                "authenticated as {user} with {}",
                mechanism.as_str().to_ascii_uppercase()
            ),
            None,
        );
    }
}

/// What the `TLS` step says about a completed handshake.
struct TlsVerdict {
    verdict: Verdict,
    detail: String,
    hint: Option<Hint>,
}

fn tls_check(
    cfg: &SmtpConfig,
    stream: &Stream,
    presented: Option<&PresentedChain>,
    now: OffsetDateTime,
) -> TlsVerdict {
    let protocol = stream.tls_description().unwrap_or_else(|| "TLS".to_owned());
    let Some(presented) = presented else {
        // Cannot happen with a fresh configuration (no resumption).
        return TlsVerdict {
            verdict: Verdict::Warn,
            detail: format!("{protocol}; the server's certificate was not seen"),
            hint: None,
        };
    };
    let cert = presented.chain.first().and_then(|c| Certificate::parse(c));
    let shown = describe(cert.as_ref(), presented, now);
    if cfg.accept_invalid_certs {
        return match &presented.problem {
            None => TlsVerdict {
                verdict: Verdict::Warn,
                detail: format!(
                    "{protocol}; {shown}; NOT checked (accept_invalid_certs = true), but it \
                     would be trusted"
                ),
                hint: Some(Hint::CertificateValid),
            },
            Some(problem) => TlsVerdict {
                verdict: Verdict::Warn,
                detail: format!(
                    "{protocol}; {shown}; NOT checked (accept_invalid_certs = true): it would \
                     NOT be trusted: {}",
                    problem_text(problem, &cfg.host, cert.as_ref(), now)
                ),
                hint: Some(Hint::CheckingOff {
                    problem: match problem {
                        HandshakeProblem::WrongName { .. } => CertificateProblem::WrongName,
                        HandshakeProblem::Expired(_) => CertificateProblem::Expired,
                        _ => CertificateProblem::Untrusted,
                    },
                    ca_file_set: cfg.ca_file_label.is_some() || cfg.ca_pem.is_some(),
                }),
            },
        };
    }
    let vouched = match &presented.vouched {
        Some(Vouched::CaFile) => match &cfg.ca_file_label {
            Some(file) => format!("ca_file {file}"),
            None => "the extra CA certificates".to_owned(),
        },
        Some(Vouched::System(label)) => label.clone(),
        None => "the trusted roots".to_owned(),
    };
    let detail = format!(
        "{protocol}; {shown}; trusted (verified for {}; vouched for by {vouched})",
        cfg.host
    );
    match cert {
        Some(c) if c.not_after <= now => TlsVerdict {
            verdict: Verdict::Fail,
            detail,
            hint: Some(Hint::CertificateExpired),
        },
        Some(c) if c.not_after - now < time::Duration::days(EXPIRY_WARNING_DAYS) => TlsVerdict {
            verdict: Verdict::Warn,
            detail,
            hint: Some(Hint::CertificateExpiresSoon {
                within_days: EXPIRY_WARNING_DAYS,
            }),
        },
        _ => TlsVerdict {
            verdict: Verdict::Ok,
            detail,
            hint: None,
        },
    }
}

/// Why webpki would refuse the certificate, short.
fn problem_text(
    problem: &HandshakeProblem,
    host: &str,
    cert: Option<&Certificate>,
    now: OffsetDateTime,
) -> String {
    match problem {
        HandshakeProblem::UnknownIssuer => "issued by an unknown CA (UnknownIssuer)".to_owned(),
        HandshakeProblem::SelfSigned => "it is self-signed".to_owned(),
        HandshakeProblem::WrongName { .. } => format!("it is not valid for the name `{host}`"),
        HandshakeProblem::Expired(detail) => match cert {
            Some(c) if c.not_after <= now => format!("it expired on {}", c.not_after.date()),
            Some(c) if c.not_before > now => {
                format!("it is not valid before {}", c.not_before.date())
            }
            _ => detail.clone(),
        },
        HandshakeProblem::OtherCertificate(detail) | HandshakeProblem::Other(detail) => {
            detail.clone()
        }
        other => format!("{other:?}"),
    }
}

/// `certificate "mx.example.com" issued by "R3" (Let's Encrypt); names:
/// mx.example.com; expires 2025-03-01 (45 days left)`.
fn describe(cert: Option<&Certificate>, presented: &PresentedChain, now: OffsetDateTime) -> String {
    let Some(c) = cert else {
        let len = presented.chain.first().map_or(0, |c| c.as_ref().len());
        return format!("a certificate notify cannot decode ({len} bytes)");
    };
    let issuer = if c.self_issued {
        "itself (self-signed)".to_owned()
    } else {
        let org = c
            .issuer
            .get("O")
            .filter(|o| Some(*o) != c.issuer.get("CN"))
            .map(|o| format!(" ({o})"))
            .unwrap_or_default();
        format!("\"{}\"{org}", c.issuer.short())
    };
    let names = c.names();
    let names = match names.len() {
        0 => "no subjectAltName names".to_owned(),
        n if n > 8 => format!("names: {} and {} more", names[..8].join(", "), n - 8),
        _ => format!("names: {}", names.join(", ")),
    };
    format!(
        "certificate \"{}\" issued by {issuer}; {names}; {}",
        c.subject.short(),
        expiry_text(c, now)
    )
}

/// `expires 2036-11-18 (3649 days left)`, or `EXPIRED on ... (N days
/// ago)`, or `not valid before ...`.
fn expiry_text(c: &Certificate, now: OffsetDateTime) -> String {
    let date = c.not_after.date();
    if c.not_after <= now {
        let ago = (now - c.not_after).whole_days();
        return match ago {
            0 => format!("EXPIRED on {date} (today)"),
            1 => format!("EXPIRED on {date} (1 day ago)"),
            n => format!("EXPIRED on {date} ({n} days ago)"),
        };
    }
    if c.not_before > now {
        return format!(
            "NOT valid before {} (this machine's clock says {}); expires {date}",
            c.not_before.date(),
            now.date()
        );
    }
    match (c.not_after - now).whole_days() {
        0 => format!("expires {date} (less than a day left)"),
        1 => format!("expires {date} (1 day left)"),
        n => format!("expires {date} ({n} days left)"),
    }
}

/// The `TLS` step for `security = "none"`.
fn plaintext_check(cfg: &SmtpConfig) -> (String, Hint) {
    match (&cfg.credentials, cfg.allow_insecure_auth) {
        (Some(creds), false) => (
            format!(
                "not encrypted (security = \"none\"): mail travels in plaintext, and the password \
                 of {} is not sent over it (allow_insecure_auth is off)",
                creds.username
            ),
            Hint::EncryptThePassword,
        ),
        (Some(_), true) => (
            "not encrypted (security = \"none\"): mail and the password travel in plaintext \
             (allow_insecure_auth = true)"
                .to_owned(),
            Hint::PreferEncryption,
        ),
        (None, _) => (
            "not encrypted (security = \"none\"): mail travels in plaintext".to_owned(),
            Hint::PlaintextRelay,
        ),
    }
}

/// The `TCP` step: `reached` is the address connected to and how long it
/// took; `failures` are the addresses that failed (before it).
fn tcp_check(
    reached: Option<(SocketAddr, Duration)>,
    failures: &[(SocketAddr, Failure)],
    timeout: Duration,
) -> (Verdict, String, Option<Hint>) {
    let Some((addr, elapsed)) = reached else {
        let detail = failures
            .iter()
            .map(|(_, f)| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let detail = if detail.is_empty() {
            "no address to connect to".to_owned()
        } else {
            detail
        };
        let hint = failures.last().and_then(|(_, f)| f.hint.clone());
        return (Verdict::Fail, detail, hint);
    };
    let mut detail = format!("connected to {addr} in {}", millis(elapsed));
    if failures.is_empty() {
        return (Verdict::Ok, detail, None);
    }
    for (failed, failure) in failures {
        detail.push_str(&format!("; {failed} failed first: {}", failure.message));
    }
    let timed_out = failures
        .iter()
        .any(|(_, f)| matches!(f.hint, Some(Hint::PortBlocked { .. })));
    let hint = Hint::SlowAddresses {
        timeout: timed_out.then_some(timeout),
    };
    (Verdict::Warn, detail, Some(hint))
}

/// `smtp.example.com resolves to 192.0.2.1, 2001:db8::1 (3.1 ms)`.
fn dns_detail(host: &str, addrs: &[SocketAddr], elapsed: Duration) -> String {
    if host.parse::<IpAddr>().is_ok() {
        return format!("{host} is an IP address: no lookup needed");
    }
    let mut ips: Vec<IpAddr> = Vec::new();
    for addr in addrs {
        if !ips.contains(&addr.ip()) {
            ips.push(addr.ip());
        }
    }
    let mut shown: Vec<String> = ips.iter().take(4).map(IpAddr::to_string).collect();
    if ips.len() > 4 {
        shown.push(format!("and {} more", ips.len() - 4));
    }
    format!(
        "{host} resolves to {} ({})",
        shown.join(", "),
        millis(elapsed)
    )
}

/// `0.4 ms`, `23 ms`.
fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Text from outside (server replies, certificate fields) made safe for a
/// terminal: the one sanitiser.
fn printable(text: &str) -> String {
    notify_core::text::printable(text, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_steps_name_the_failure() {
        let mut report = Report::new(Security::StartTls);
        report.add(DNS, Verdict::Ok, "ok".into(), None);
        report.fail(
            TCP,
            "refused".into(),
            Some(Hint::NothingListens {
                server: "mx.example.com:587".into(),
            }),
        );
        let checks = report.finish();
        let steps: Vec<_> = checks.iter().map(|c| (c.step, c.verdict)).collect();
        assert_eq!(
            steps,
            [
                (DNS, Verdict::Ok),
                (TCP, Verdict::Fail),
                (STARTTLS, Verdict::Skipped),
                (TLS, Verdict::Skipped),
                (EHLO, Verdict::Skipped),
                (AUTH, Verdict::Skipped),
            ]
        );
        assert_eq!(
            checks[1].hint,
            Some(Hint::NothingListens {
                server: "mx.example.com:587".into()
            })
        );
        assert_eq!(checks[3].detail, "not checked: the TCP step failed");
        assert_eq!(overall(&checks), Verdict::Fail);

        let mut report = Report::new(Security::Tls);
        report.fail(CONFIG, "bad ca_file".into(), None);
        let checks = report.finish();
        assert_eq!(checks[0].step, CONFIG);
        assert_eq!(checks.len(), 6);
        assert!(checks[1].detail.contains("settings are invalid"));
    }

    #[test]
    fn details_are_printable() {
        let mut report = Report::new(Security::None);
        // The hint is data: passed through unchanged, for the caller to
        // word and escape.
        let hint = Hint::CheckHostName {
            host: "a\nb\x1b[2J".into(),
        };
        report.add(EHLO, Verdict::Ok, "evil\x1b[2J".into(), Some(hint.clone()));
        let c = &report.checks[0];
        assert_eq!(c.detail, "evil\\u{1b}[2J");
        assert_eq!(c.hint, Some(hint));
    }

    #[test]
    fn expiry_texts_and_verdicts() {
        let now = time::macros::datetime!(2026-01-10 12:00 UTC);
        let cert = |not_before: OffsetDateTime, not_after: OffsetDateTime| Certificate {
            subject: x509_name("mx.example.com"),
            issuer: x509_name("R3"),
            not_before,
            not_after,
            dns_names: vec!["mx.example.com".into()],
            ip_addresses: Vec::new(),
            self_issued: false,
        };
        let day = time::Duration::days(1);
        let long_ago = now - 400 * day;
        assert_eq!(
            expiry_text(&cert(long_ago, now + 100 * day), now),
            "expires 2026-04-20 (100 days left)"
        );
        assert_eq!(
            expiry_text(&cert(long_ago, now + time::Duration::hours(3)), now),
            "expires 2026-01-10 (less than a day left)"
        );
        assert_eq!(
            expiry_text(&cert(long_ago, now - 3 * day), now),
            "EXPIRED on 2026-01-07 (3 days ago)"
        );
        assert!(expiry_text(&cert(now + day, now + 90 * day), now)
            .starts_with("NOT valid before 2026-01-11"));

        let presented = PresentedChain {
            chain: Vec::new(),
            problem: None,
            vouched: None,
        };
        let c = cert(long_ago, now + 100 * day);
        assert_eq!(
            describe(Some(&c), &presented, now),
            "certificate \"mx.example.com\" issued by \"R3\"; names: mx.example.com; expires \
             2026-04-20 (100 days left)"
        );
        assert_eq!(
            describe(None, &presented, now),
            "a certificate notify cannot decode (0 bytes)"
        );
        assert_eq!(
            problem_text(
                &HandshakeProblem::Expired("x".into()),
                "mx",
                Some(&cert(long_ago, now - day)),
                now
            ),
            "it expired on 2026-01-09"
        );
    }

    fn x509_name(cn: &str) -> crate::x509::Name {
        crate::x509::Name {
            rdns: vec![vec![("CN".to_owned(), cn.to_owned())]],
        }
    }

    #[test]
    fn tcp_texts() {
        let ctx = crate::classify::Ctx {
            host: "mx.example.com".into(),
            port: 587,
            security: Security::StartTls,
            username: None,
            from: None,
            ca_file: None,
            timeout: Duration::from_secs(30),
            xoauth2: false,
        };
        let v6: SocketAddr = "[2001:db8::1]:587".parse().unwrap();
        let v4: SocketAddr = "192.0.2.1:587".parse().unwrap();
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let timeout = crate::classify::timeout(&ctx, crate::failure::Step::Connect);

        let (verdict, detail, hint) = tcp_check(
            Some((v4, Duration::from_millis(12))),
            &[(v6, timeout.clone())],
            ctx.timeout,
        );
        assert_eq!(verdict, Verdict::Warn);
        assert_eq!(
            detail,
            "connected to 192.0.2.1:587 in 12 ms; [2001:db8::1]:587 failed first: timed out \
             after 30 s connecting to mx.example.com:587"
        );
        assert_eq!(
            hint,
            Some(Hint::SlowAddresses {
                timeout: Some(Duration::from_secs(30))
            })
        );

        let (verdict, detail, hint) = tcp_check(
            None,
            &[
                (
                    v6,
                    crate::classify::connect(&ctx, &v6.to_string(), &refused),
                ),
                (v4, timeout),
            ],
            ctx.timeout,
        );
        assert_eq!(verdict, Verdict::Fail);
        assert!(detail.starts_with("cannot connect to mx.example.com:587 ([2001:db8::1]:587)"));
        assert!(detail.contains("; timed out after 30 s"), "{detail}");
        // The last failure's hint: the connection timed out.
        assert_eq!(hint, Some(Hint::PortBlocked { port: 587 }));

        // A refused address first: slow only by the refusal, no timeout.
        let refusal = crate::classify::connect(&ctx, &v6.to_string(), &refused);
        let (verdict, _, hint) = tcp_check(
            Some((v4, Duration::from_millis(1))),
            &[(v6, refusal.clone())],
            ctx.timeout,
        );
        assert_eq!(verdict, Verdict::Warn);
        assert_eq!(hint, Some(Hint::SlowAddresses { timeout: None }));
        let (verdict, _, hint) = tcp_check(None, &[(v6, refusal)], ctx.timeout);
        assert_eq!(verdict, Verdict::Fail);
        assert_eq!(
            hint,
            Some(Hint::NothingListens {
                server: "mx.example.com:587".into()
            })
        );

        let (verdict, detail, hint) =
            tcp_check(Some((v4, Duration::from_micros(300))), &[], ctx.timeout);
        assert_eq!(
            (verdict, detail.as_str(), hint),
            (Verdict::Ok, "connected to 192.0.2.1:587 in 0.3 ms", None)
        );
    }

    /// The CLI may spawn it on a multi-threaded runtime.
    #[test]
    fn diagnose_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let config = SmtpConfig::new("127.0.0.1", 25, Security::None);
        let future = diagnose(&config);
        assert_send(&future);
        let sink: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|_: &str| {});
        assert_send(&diagnose_with_transcript(&config, sink));
    }

    #[test]
    fn dns_and_time_texts() {
        let addrs: Vec<SocketAddr> = ["192.0.2.1:587", "192.0.2.1:587", "[2001:db8::1]:587"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(
            dns_detail("mx.example.com", &addrs, Duration::from_micros(1500)),
            "mx.example.com resolves to 192.0.2.1, 2001:db8::1 (1.5 ms)"
        );
        assert_eq!(
            dns_detail("192.0.2.1", &addrs[..1], Duration::ZERO),
            "192.0.2.1 is an IP address: no lookup needed"
        );
        let many: Vec<SocketAddr> = (1..=6)
            .map(|i| format!("192.0.2.{i}:25").parse().unwrap())
            .collect();
        assert!(dns_detail("mx", &many, Duration::from_millis(20))
            .ends_with("192.0.2.4, and 2 more (20 ms)"));
        assert_eq!(millis(Duration::from_micros(400)), "0.4 ms");
        assert_eq!(millis(Duration::from_millis(23)), "23 ms");
    }
}
