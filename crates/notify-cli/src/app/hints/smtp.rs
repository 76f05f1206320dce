//! notify-smtp's hints ([`Hint`]: a remedy and its facts) in notify's words:
//! its config keys (`security = "starttls"`, `ca_file`), flags and
//! environment variables.

use std::time::Duration;

use notify_smtp::{CertificateProblem, Hint, MaildirProblem, Security};

use crate::app::env_vars;

/// `hint` as the user reads it.
pub fn smtp(hint: &Hint) -> String {
    match hint {
        // --- Reaching the server ---
        Hint::NothingListens { server } => format!(
            "nothing listens on {server}: check the server name and port (465 for security = \
             \"tls\", 587 for \"starttls\", 25 for a relay)"
        ),
        Hint::CheckHostName { host } => format!(
            "check the server's host name `{host}` (a typo?) and that this machine can resolve \
             names (DNS, network); a temporary DNS failure may go away later"
        ),
        Hint::NoSuchHost { host } => {
            format!("no host named `{host}` exists: check the server's host name (a typo?)")
        }
        Hint::PortBlocked { port } => {
            let port25 = if *port == 25 {
                "; port 25 is often blocked by ISPs and cloud providers: use the submission port \
                 587 (starttls) or 465 (tls)"
            } else {
                ""
            };
            format!(
                "a firewall may be dropping the connection, or the network or ISP blocks port \
                 {port}{port25}; check server and port"
            )
        }
        Hint::CheckNetwork => "check the network connection, server and port".to_owned(),
        Hint::NotSmtp => {
            "check the server and port (465 for tls, 587 for starttls, 25 for a relay)".to_owned()
        }
        Hint::SlowAddresses { timeout } => format!(
            "notify tries the addresses in this order for every connection, so each delivery \
             waits for the failing ones first{}; fix this machine's route to them (often a \
             broken IPv6 setup)",
            match timeout {
                Some(t) => format!(" (up to `timeout`, now {}, each)", secs(*t)),
                None => String::new(),
            }
        ),
        // --- The security mode ---
        Hint::UseStartTls { server } => use_starttls(server),
        Hint::TlsClosed { server } => format!(
            "if this keeps happening, the port may not speak implicit TLS: {}",
            use_starttls(server)
        ),
        Hint::UseTls { server } => format!(
            "{server} expects implicit TLS from the first byte (as port 465 usually does): set \
             security = \"tls\""
        ),
        Hint::NoGreeting { timeout } => format!(
            "{}; if this port expects implicit TLS (465 usually does), set security = \"tls\"",
            slow_server(*timeout)
        ),
        Hint::StartTlsMissing { with_password } => format!(
            "if this port expects implicit TLS, set security = \"tls\"; only for a trusted relay \
             without TLS, set security = \"none\"{}",
            if *with_password {
                " (and allow_insecure_auth = true to send the password unencrypted)"
            } else {
                ""
            }
        ),
        Hint::StartTlsRequired => "set security = \"starttls\"".to_owned(),
        Hint::StartTlsBroken => "security = \"starttls\" is right for this port, but the \
             server, or a firewall or \"mail guard\" in between, answered STARTTLS and stayed \
             in plaintext; tell the server's administrator (notify never falls back to \
             plaintext); if the server offers implicit TLS, security = \"tls\" on port 465 \
             avoids STARTTLS"
            .to_owned(),
        Hint::EncryptThePassword => "use security = \"starttls\" or \"tls\" so the password is \
             encrypted; only for a trusted relay on this machine or network, set \
             allow_insecure_auth = true"
            .to_owned(),
        Hint::PreferEncryption => "use security = \"starttls\" (port 587) or \"tls\" (port 465) \
             if the server offers it"
            .to_owned(),
        Hint::PlaintextRelay => "fine for a relay on this machine or a trusted network; \
             elsewhere use security = \"starttls\" (port 587) or \"tls\" (port 465)"
            .to_owned(),
        // --- Certificates ---
        Hint::TrustCertificate { ca_file } => {
            let added = match ca_file {
                Some(file) => format!(" (the certificates in {file} do not cover it)"),
                None => String::new(),
            };
            format!(
                "if you trust this server, add its CA certificate (or the server's own \
                 certificate) in PEM form with ca_file = \"/path/ca.pem\"{added}; {LAST_RESORT}"
            )
        }
        Hint::CertificateName { suggestion } => format!(
            "connect with a name the certificate covers in `server =`{}; {LAST_RESORT}",
            suggestion
                .as_ref()
                .map(|s| format!(" (e.g. server = \"{s}\")"))
                .unwrap_or_default()
        ),
        Hint::CertificateExpired => format!("{EXPIRED}; {LAST_RESORT}"),
        Hint::CertificateExpiresSoon { within_days } => format!(
            "the server's certificate expires in less than {within_days} days: once it has, delivery \
             fails until it is renewed; tell the server's administrator (or renew it, if the \
             server is yours)"
        ),
        Hint::TlsVersion => "the server may need an older TLS version or another cipher than \
             notify offers (TLS 1.2 and 1.3)"
            .to_owned(),
        Hint::CertificateValid => {
            "the certificate is valid: remove accept_invalid_certs so that it stays checked"
                .to_owned()
        }
        Hint::CheckingOff {
            problem,
            ca_file_set,
        } => {
            let fix = match problem {
                CertificateProblem::WrongName => {
                    "connect with a name the certificate covers in `server =`, then remove \
                     accept_invalid_certs"
                        .to_owned()
                }
                CertificateProblem::Expired => EXPIRED.to_owned(),
                _ if *ca_file_set => "put the CA certificate that issued it (or the server's \
                     own certificate) into ca_file, then remove accept_invalid_certs"
                    .to_owned(),
                _ => "add its CA certificate (or the server's own certificate) in PEM form with \
                      ca_file = \"/path/ca.pem\", then remove accept_invalid_certs"
                    .to_owned(),
            };
            format!(
                "without the check, an impostor in the network path can read the mail and the \
                 password; {fix}"
            )
        }
        // --- Logging in ---
        Hint::BasicAuthDisabled => "Microsoft has turned off basic authentication (passwords) \
             for SMTP: sign in with OAuth 2.0 instead: add oauth = \"microsoft\" and \
             oauth_client_id = \"...\" (your app registration, see the README, \"OAuth 2.0\") \
             to the account, then run `notify account login NAME`"
            .to_owned(),
        Hint::CheckCredentials { username } => check_credentials(username.as_deref()),
        Hint::AppPasswordRequired { username } => format!(
            "the server asks for an app password: create one in the mail account's security \
             settings and store it; {}",
            check_credentials(username.as_deref())
        ),
        Hint::ProviderPassword { provider, note } => format!("{provider}: {note}"),
        Hint::TokenRefused { username } => format!(
            "the OAuth2 access token was refused: check that it is for {} with the SMTP scope \
             (for Microsoft: https://outlook.office.com/SMTP.Send; with `oauth =`, sign in again \
             with `notify account login NAME`; with a token helper, that `password = \
             \"cmd:...\"` prints a fresh access token)",
            username.as_deref().unwrap_or("the from address")
        ),
        Hint::MechanismRefused => "the server does not support this authentication mechanism: \
             remove `auth` to pick one it offers"
            .to_owned(),
        Hint::MechanismNotOffered => {
            "remove `auth` to use what the server offers, or set it to one of those".to_owned()
        }
        Hint::OnlyXoauth2 => "the server takes OAuth 2.0 tokens only: add oauth = \"microsoft\" \
             (or \"google\", or your server's endpoints) and oauth_client_id to the account and \
             run `notify account login NAME` (see the README, \"OAuth 2.0\"); or set auth = \
             \"xoauth2\" and password = \"cmd:...\" with a command that prints an access token"
            .to_owned(),
        Hint::MechanismsUnsupported => "ask the server's administrator to enable AUTH PLAIN \
             or LOGIN over TLS, or use auth = \"xoauth2\" where the server offers it"
            .to_owned(),
        Hint::NoLoginNeeded => {
            "if this is a relay that needs no login, remove `password` from the account".to_owned()
        }
        Hint::AuthNotOffered { security } => match security {
            Security::None => "on many servers AUTH appears only after STARTTLS: set security = \
                 \"starttls\" (port 587), or \"tls\" for port 465"
                .to_owned(),
            _ => "check the port: the submission ports (587 with starttls, 465 with tls) offer \
                  AUTH, a relay port (25) often does not; or, if this relay needs no login, \
                  remove `password`"
                .to_owned(),
        },
        Hint::AuthOffered => "this server offers AUTH: if it refuses mail without a login, set \
             `password` (and `username`) for this account"
            .to_owned(),
        Hint::LoginRequired => "set `password` (and `username` if the login differs from the \
             from address) for this account"
            .to_owned(),
        // --- Delivering ---
        Hint::MessageTooLarge => "the message is too large for this server: lower \
             attach_log_max or turn attach_log off"
            .to_owned(),
        Hint::HeloRefused => "the server refused this machine's name: set helo_name to this \
             machine's public host name"
            .to_owned(),
        Hint::ConnectionLost => "the connection broke before the message was accepted: this is \
             temporary and may work later; if it keeps happening, check the network and the \
             server's logs"
            .to_owned(),
        Hint::SlowServer { timeout } => slow_server(*timeout),
        Hint::Unconfirmed { timeout: Some(t) } => format!(
            "the server did not confirm the message: it may or may not have been delivered; \
             sent again, it has the same Message-ID, so a duplicate is recognisable; {}",
            slow_server(*t)
        ),
        Hint::Unconfirmed { timeout: None } => "the server received the message but closed the \
             connection before confirming it: it may or may not have been delivered; sent \
             again, it has the same Message-ID, so a duplicate is recognisable"
            .to_owned(),
        // --- The message and local delivery ---
        Hint::AddressForm { field } => format!(
            "write an address as \"Name <user@example.com>\" or \"user@example.com\"; give each \
             address of `{field}` as its own entry"
        ),
        Hint::SetFrom => "set `from` in the account, e.g. from = \"Backups \
             <backup@example.com>\" under [accounts.NAME] in the config file"
            .to_owned(),
        Hint::SetRecipients => {
            "set `to` under [email] or for the task in the config file, or pass --to ADDR"
                .to_owned()
        }
        Hint::MessageIdForm => "leave `message_id` unset to have one generated, or use the form \
             <unique-part@example.com> without spaces"
            .to_owned(),
        Hint::DateRange => {
            "leave `date` unset to use the time of sending, or check the clock".to_owned()
        }
        Hint::ContentType => "use a MIME type such as \"text/plain; charset=utf-8\" or \
             \"application/octet-stream\""
            .to_owned(),
        Hint::LineTooLong => "a single address, display name or attachment file name is too \
             long for one line of a mail header (subjects and recipient lists are folded, a \
             single word cannot be): shorten the one the line starts with"
            .to_owned(),
        Hint::CaFileForm => "ca_file must hold one or more PEM certificates (\"-----BEGIN \
             CERTIFICATE-----\"), e.g. the CA that signed the server's certificate or the \
             server's own certificate"
            .to_owned(),
        Hint::FixSetting { setting } => {
            format!("fix `{setting}` in the account's section of the config file")
        }
        Hint::Maildir { dir, problem } => {
            let dir = dir.display();
            let elsewhere = format!("--data-dir or {}", env_vars::NOTIFY_DATA_DIR);
            match problem {
                MaildirProblem::Denied => format!(
                    "make sure {dir} is writable by this user (ls -ld {dir}), or point \
                     {elsewhere} at a writable directory"
                ),
                MaildirProblem::ReadOnly => format!(
                    "{dir} is on a read-only file system; point {elsewhere} at a writable \
                     directory"
                ),
                MaildirProblem::NotADirectory => format!(
                    "{dir} or one of its parents is a file, not a directory; move it away or \
                     point {elsewhere} elsewhere"
                ),
                MaildirProblem::Full => {
                    format!("free some space on the file system holding {dir}")
                }
                _ => format!("check that {dir} is a writable directory"),
            }
        }
        // A remedy this build does not know how to word yet.
        _ => format!("{hint:?}"),
    }
}

const LAST_RESORT: &str = "as a last resort, accept_invalid_certs = true turns certificate \
                           checks off";

const EXPIRED: &str =
    "check this machine's clock; otherwise the server's certificate must be renewed";

fn use_starttls(server: &str) -> String {
    format!(
        "{server} speaks plaintext SMTP, not implicit TLS: set security = \"starttls\" (or \
         security = \"none\" for a relay without TLS, usually port 25), or use the server's \
         implicit-TLS port (465)"
    )
}

fn slow_server(timeout: Duration) -> String {
    format!(
        "the server is slow or stuck; this is temporary and may work later; raise `timeout` \
         (now {}) if this server is always slow",
        secs(timeout)
    )
}

fn check_credentials(username: Option<&str>) -> String {
    let user = username.unwrap_or("the from address");
    format!(
        "check the username ({user}; it is the from address unless `username` is set) and the \
         password that the account's `password =` store holds"
    )
}

/// Seconds as "30 s" or "1.5 s".
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use notify_core::TransportError;

    use super::*;

    /// One of each remedy, with the words its hint must have.
    fn samples() -> Vec<(Hint, &'static [&'static str])> {
        let t = Duration::from_secs(30);
        let maildir = |problem| Hint::Maildir {
            dir: PathBuf::from("/data/maildir/tmp"),
            problem,
        };
        vec![
            (
                Hint::NothingListens {
                    server: "mx.example.com:587".into(),
                },
                &[
                    "nothing listens on mx.example.com:587",
                    "465 for security = \"tls\"",
                ],
            ),
            (
                Hint::CheckHostName {
                    host: "mx.example.com".into(),
                },
                &["check the server's host name `mx.example.com`"],
            ),
            (
                Hint::NoSuchHost {
                    host: "mx.example.com".into(),
                },
                &["no host named `mx.example.com` exists"],
            ),
            (
                Hint::PortBlocked { port: 25 },
                &["port 25 is often blocked", "587 (starttls)"],
            ),
            (
                Hint::PortBlocked { port: 587 },
                &["blocks port 587; check server and port"],
            ),
            (Hint::CheckNetwork, &["check the network connection"]),
            (Hint::NotSmtp, &["465 for tls, 587 for starttls"]),
            (
                Hint::SlowAddresses { timeout: Some(t) },
                &["(up to `timeout`, now 30 s, each)", "IPv6"],
            ),
            (
                Hint::UseStartTls {
                    server: "mx:465".into(),
                },
                &["mx:465 speaks plaintext SMTP", "security = \"starttls\""],
            ),
            (
                Hint::TlsClosed {
                    server: "mx:465".into(),
                },
                &["may not speak implicit TLS", "security = \"starttls\""],
            ),
            (
                Hint::UseTls {
                    server: "mx:587".into(),
                },
                &["set security = \"tls\""],
            ),
            (
                Hint::NoGreeting {
                    timeout: Duration::from_millis(1500),
                },
                &["raise `timeout` (now 1.5 s)", "set security = \"tls\""],
            ),
            (
                Hint::StartTlsMissing {
                    with_password: true,
                },
                &["security = \"tls\"", "allow_insecure_auth = true"],
            ),
            (Hint::StartTlsRequired, &["set security = \"starttls\""]),
            (
                Hint::StartTlsBroken,
                &["stayed in plaintext", "never falls back"],
            ),
            (Hint::EncryptThePassword, &["allow_insecure_auth = true"]),
            (
                Hint::PreferEncryption,
                &["security = \"starttls\" (port 587)"],
            ),
            (Hint::PlaintextRelay, &["relay on this machine"]),
            (
                Hint::TrustCertificate {
                    ca_file: Some("/etc/ca.pem".into()),
                },
                &[
                    "ca_file = \"/path/ca.pem\"",
                    "(the certificates in /etc/ca.pem do not cover it)",
                    "accept_invalid_certs = true",
                ],
            ),
            (
                Hint::CertificateName {
                    suggestion: Some("other.example:587".into()),
                },
                &[
                    "server = \"other.example:587\"",
                    "accept_invalid_certs = true",
                ],
            ),
            (Hint::CertificateExpired, &["clock", "renewed"]),
            (
                Hint::CertificateExpiresSoon { within_days: 14 },
                &["expires in less than 14 days"],
            ),
            (Hint::TlsVersion, &["TLS 1.2 and 1.3"]),
            (Hint::CertificateValid, &["remove accept_invalid_certs"]),
            (
                Hint::CheckingOff {
                    problem: CertificateProblem::Untrusted,
                    ca_file_set: false,
                },
                &[
                    "impostor",
                    "ca_file = \"/path/ca.pem\", then remove accept_invalid_certs",
                ],
            ),
            (
                Hint::CheckingOff {
                    problem: CertificateProblem::Untrusted,
                    ca_file_set: true,
                },
                &["into ca_file, then remove"],
            ),
            (
                Hint::CheckingOff {
                    problem: CertificateProblem::WrongName,
                    ca_file_set: false,
                },
                &["`server =`, then remove"],
            ),
            (
                Hint::BasicAuthDisabled,
                &["oauth = \"microsoft\"", "notify account login NAME"],
            ),
            (
                Hint::CheckCredentials {
                    username: Some("me@example.com".into()),
                },
                &["check the username (me@example.com;"],
            ),
            (
                Hint::AppPasswordRequired { username: None },
                &["app password", "(the from address;"],
            ),
            (
                Hint::ProviderPassword {
                    provider: "Gmail",
                    note: "Needs an app password.",
                },
                &["Gmail: Needs an app password."],
            ),
            (
                Hint::TokenRefused {
                    username: Some("me@example.com".into()),
                },
                &[
                    "the OAuth2 access token was refused",
                    "for me@example.com with the SMTP scope",
                ],
            ),
            (Hint::MechanismRefused, &["remove `auth`"]),
            (Hint::MechanismNotOffered, &["remove `auth`"]),
            (Hint::OnlyXoauth2, &["auth = \"xoauth2\""]),
            (Hint::NoLoginNeeded, &["remove `password`"]),
            (Hint::MechanismsUnsupported, &["AUTH PLAIN or LOGIN"]),
            (
                Hint::AuthNotOffered {
                    security: Security::None,
                },
                &["only after STARTTLS"],
            ),
            (
                Hint::AuthNotOffered {
                    security: Security::Tls,
                },
                &["check the port"],
            ),
            (Hint::AuthOffered, &["offers AUTH", "set `password`"]),
            (Hint::LoginRequired, &["set `password`"]),
            (Hint::MessageTooLarge, &["attach_log_max"]),
            (Hint::HeloRefused, &["helo_name"]),
            (Hint::ConnectionLost, &["may work later"]),
            (
                Hint::SlowServer { timeout: t },
                &["raise `timeout` (now 30 s)"],
            ),
            (
                Hint::Unconfirmed { timeout: Some(t) },
                &["may or may not have been delivered", "now 30 s"],
            ),
            (
                Hint::Unconfirmed { timeout: None },
                &["closed the connection before confirming"],
            ),
            (Hint::AddressForm { field: "cc" }, &["each address of `cc`"]),
            (Hint::SetFrom, &["[accounts.NAME]", "from ="]),
            (Hint::SetRecipients, &["--to ADDR"]),
            (Hint::MessageIdForm, &["`message_id`"]),
            (Hint::DateRange, &["`date`"]),
            (Hint::ContentType, &["application/octet-stream"]),
            (Hint::LineTooLong, &["display name"]),
            (Hint::CaFileForm, &["BEGIN CERTIFICATE"]),
            (
                Hint::FixSetting {
                    setting: "helo_name",
                },
                &["fix `helo_name`"],
            ),
            (
                maildir(MaildirProblem::Denied),
                &["/data/maildir/tmp is writable", "NOTIFY_DATA_DIR"],
            ),
            (
                maildir(MaildirProblem::ReadOnly),
                &["read-only", "--data-dir"],
            ),
            (maildir(MaildirProblem::NotADirectory), &["is a file"]),
            (maildir(MaildirProblem::Full), &["free some space"]),
        ]
    }

    #[test]
    fn every_remedy_is_worded_with_notify_s_names() {
        for (hint, words) in samples() {
            let text = smtp(&hint);
            assert_ne!(text, format!("{hint:?}"), "not worded: {hint:?}");
            for w in words {
                assert!(text.contains(w), "{hint:?}: {text:?} lacks {w:?}");
            }
        }
    }

    /// A hint says what the user can do; whether notify queues is said
    /// once, by the pipeline, and only when it is true.
    #[test]
    fn no_hint_promises_a_retry() {
        for (hint, _) in samples() {
            let text = smtp(&hint);
            assert!(
                !text.contains("queued") && !text.contains("retried"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_transport_error_gets_the_worded_hint_else_its_own() {
        let smtp_err = TransportError::new(notify_core::ErrorKind::Config, "x")
            .with_detail(Hint::StartTlsRequired);
        assert_eq!(
            super::super::transport(&smtp_err).as_deref(),
            Some("set security = \"starttls\"")
        );
        let other = TransportError::new(notify_core::ErrorKind::Temporary, "x").with_hint("own");
        assert_eq!(super::super::transport(&other).as_deref(), Some("own"));
    }
}
