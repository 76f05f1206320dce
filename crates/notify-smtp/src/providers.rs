//! Settings of well-known mail providers, so that an account needs only a
//! from address and a password.

use std::fmt;
use std::str::FromStr;

use crate::SettingError;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Security {
    /// Implicit TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS (usually port 587); required:
    /// a server that does not offer it is an error, never a silent downgrade.
    StartTls,
    /// No encryption (a local relay, usually port 25).
    None,
}

impl Security {
    /// Every name, as written in `security =`.
    pub const NAMES: &'static [&'static str] = &["tls", "starttls", "none"];

    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::StartTls => "starttls",
            Security::None => "none",
        }
    }

    /// The usual port of this mode: 465, 587 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        }
    }

    /// The mode to assume for a port when none is configured: `tls` for
    /// 465, else `starttls` (SPEC: STARTTLS is the safe default; a plaintext
    /// relay has to be asked for).
    pub fn for_port(port: u16) -> Security {
        if port == 465 {
            Security::Tls
        } else {
            Security::StartTls
        }
    }
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Security {
    type Err = SettingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tls" | "ssl" | "smtps" | "implicit" => Ok(Security::Tls),
            "starttls" | "start_tls" | "start-tls" => Ok(Security::StartTls),
            "none" | "plain" | "plaintext" => Ok(Security::None),
            _ => Err(SettingError::UnknownSecurity {
                value: s.to_owned(),
            }),
        }
    }
}

/// Which login a provider expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameRule {
    /// The full from address.
    FullAddress,
    /// The full address of the Apple ID's own mailbox (@icloud.com, @me.com
    /// or @mac.com), even when sending from a custom-domain alias.
    AppleMailbox,
}

/// A mail provider's submission settings and the advice users need for it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Provider {
    /// The short name used by `--provider` and `provider =`.
    pub id: &'static str,
    /// The display name.
    pub name: &'static str,
    /// Address domains that belong to this provider.
    pub domains: &'static [&'static str],
    /// SMTP submission host.
    pub host: &'static str,
    /// SMTP submission port.
    pub port: u16,
    /// How the connection is secured.
    pub security: Security,
    /// Which login to use.
    pub username: UsernameRule,
    /// What to do about passwords, in one or two sentences.
    pub password_note: &'static str,
}

/// The built-in providers.
pub static PROVIDERS: &[Provider] = &[
    Provider {
        id: "gmail",
        name: "Gmail / Google Workspace",
        domains: &["gmail.com", "googlemail.com"],
        host: "smtp.gmail.com",
        port: 465,
        security: Security::Tls,
        username: UsernameRule::FullAddress,
        password_note: "Needs an app password: turn on 2-Step Verification, then create one at \
            https://myaccount.google.com/apppasswords and use its 16 letters (spaces are ignored).",
    },
    Provider {
        id: "icloud",
        name: "iCloud Mail",
        domains: &["icloud.com", "me.com", "mac.com"],
        host: "smtp.mail.me.com",
        port: 587,
        security: Security::StartTls,
        username: UsernameRule::AppleMailbox,
        password_note: "Needs an app-specific password: sign in at https://account.apple.com, \
            Sign-In and Security > App-Specific Passwords. The login is your @icloud.com (or \
            @me.com / @mac.com) address, also when sending from a custom domain.",
    },
    Provider {
        id: "yahoo",
        name: "Yahoo Mail",
        domains: &[
            "yahoo.com",
            "ymail.com",
            "rocketmail.com",
            "yahoo.de",
            "yahoo.co.uk",
            "yahoo.fr",
        ],
        host: "smtp.mail.yahoo.com",
        port: 465,
        security: Security::Tls,
        username: UsernameRule::FullAddress,
        password_note: "Needs an app password: Account Info > Account Security > Generate app \
            password, then use its 16 letters (spaces are ignored).",
    },
    Provider {
        id: "aol",
        name: "AOL Mail",
        domains: &["aol.com", "aim.com"],
        host: "smtp.aol.com",
        port: 465,
        security: Security::Tls,
        username: UsernameRule::FullAddress,
        password_note: "Needs an app password: Account Info > Account Security > Generate app \
            password.",
    },
    Provider {
        id: "outlook",
        name: "Outlook.com / Hotmail",
        domains: &[
            "outlook.com",
            "hotmail.com",
            "live.com",
            "msn.com",
            "outlook.de",
            "hotmail.de",
        ],
        host: "smtp-mail.outlook.com",
        port: 587,
        security: Security::StartTls,
        username: UsernameRule::FullAddress,
        password_note: "Microsoft is retiring basic authentication: if the password is refused \
            with 5.7.139, sign in with OAuth 2.0: `oauth = \"microsoft\"`, `oauth_client_id`, \
            then `notify account login NAME`.",
    },
    Provider {
        id: "office365",
        name: "Microsoft 365 / Exchange Online",
        domains: &[],
        host: "smtp.office365.com",
        port: 587,
        security: Security::StartTls,
        username: UsernameRule::FullAddress,
        password_note: "SMTP AUTH must be enabled for the mailbox, and basic authentication is \
            disabled in most tenants (5.7.139): sign in with OAuth 2.0: `oauth = \"microsoft\"`, \
            `oauth_client_id`, then `notify account login NAME`.",
    },
    Provider {
        id: "zoho",
        name: "Zoho Mail",
        domains: &["zoho.com", "zohomail.com", "zoho.eu"],
        host: "smtp.zoho.com",
        port: 465,
        security: Security::Tls,
        username: UsernameRule::FullAddress,
        password_note: "With two-factor authentication on, create an application-specific \
            password in Zoho Accounts > Security. Accounts hosted in the EU use smtp.zoho.eu.",
    },
    Provider {
        id: "fastmail",
        name: "Fastmail",
        domains: &[
            "fastmail.com",
            "fastmail.fm",
            "fastmail.de",
            "messagingengine.com",
        ],
        host: "smtp.fastmail.com",
        port: 465,
        security: Security::Tls,
        username: UsernameRule::FullAddress,
        password_note: "Needs an app password: Settings > Privacy & Security > Integrations > \
            App passwords, with SMTP access.",
    },
    Provider {
        id: "gmx",
        name: "GMX",
        domains: &["gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.com"],
        host: "mail.gmx.net",
        port: 587,
        security: Security::StartTls,
        username: UsernameRule::FullAddress,
        password_note: "Turn on \"POP3/IMAP and SMTP access\" in the GMX settings (E-Mail > \
            POP3/IMAP); with two-factor authentication, use an application-specific password.",
    },
];

/// The provider with this id (case-insensitive).
pub fn by_id(id: &str) -> Option<&'static Provider> {
    PROVIDERS
        .iter()
        .find(|p| p.id.eq_ignore_ascii_case(id.trim()))
}

/// The provider an address belongs to, by its domain.
pub fn by_address(address: &str) -> Option<&'static Provider> {
    let domain = address
        .trim()
        .trim_end_matches('>')
        .rsplit('@')
        .next()?
        .to_ascii_lowercase();
    PROVIDERS
        .iter()
        .find(|p| p.domains.iter().any(|d| *d == domain))
}

/// The provider whose submission host this is.
pub fn by_host(host: &str) -> Option<&'static Provider> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    PROVIDERS.iter().find(|p| p.host == host).or_else(|| {
        // Microsoft's hosts share their authentication rules.
        (host.ends_with(".office365.com") || host.ends_with(".outlook.com"))
            .then(|| by_id("office365"))
            .flatten()
    })
}

/// Checks a login against the provider's rule; the error says what to use.
pub fn check_username(provider: &Provider, username: &str) -> Result<(), SettingError> {
    let ok = match provider.username {
        UsernameRule::FullAddress => username.contains('@'),
        UsernameRule::AppleMailbox => {
            let domain = username
                .rsplit('@')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            username.contains('@') && ["icloud.com", "me.com", "mac.com"].contains(&domain.as_str())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(SettingError::Username {
            provider: provider.name,
            username: username.to_owned(),
            rule: provider.username,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_names_and_ports() {
        assert_eq!("TLS".parse::<Security>(), Ok(Security::Tls));
        assert_eq!("starttls".parse::<Security>(), Ok(Security::StartTls));
        assert_eq!("none".parse::<Security>(), Ok(Security::None));
        let err = "ssl3".parse::<Security>().unwrap_err().to_string();
        assert!(
            err.contains("expected one of: tls, starttls, none"),
            "{err}"
        );
        assert_eq!(Security::for_port(465), Security::Tls);
        assert_eq!(Security::for_port(587), Security::StartTls);
        assert_eq!(Security::for_port(25), Security::StartTls);
        assert_eq!(Security::None.default_port(), 25);
    }

    #[test]
    fn lookups() {
        assert_eq!(by_address("Me <me@GMail.com>").unwrap().id, "gmail");
        assert_eq!(by_address("x@me.com").unwrap().id, "icloud");
        assert_eq!(by_address("x@example.com"), None);
        assert_eq!(by_id("Fastmail").unwrap().host, "smtp.fastmail.com");
        assert_eq!(by_host("smtp.gmail.com").unwrap().id, "gmail");
        assert_eq!(by_host("eu.smtp.office365.com").unwrap().id, "office365");
        assert_eq!(by_host("smtp.example.com"), None);
        for p in PROVIDERS {
            assert_eq!(p.port, p.security.default_port(), "{}", p.id);
            assert_eq!(by_id(p.id), Some(p));
        }
    }

    #[test]
    fn usernames() {
        let icloud = by_id("icloud").unwrap();
        assert!(check_username(icloud, "me@icloud.com").is_ok());
        let err = check_username(icloud, "me@example.com").unwrap_err();
        assert_eq!(err.setting(), "username");
        let err = err.to_string();
        assert!(err.contains("@icloud.com"), "{err}");
        assert!(
            err.ends_with("(also when sending from a custom domain)"),
            "{err}"
        );
        assert_eq!(
            check_username(by_id("gmail").unwrap(), "me")
                .unwrap_err()
                .to_string(),
            "Gmail / Google Workspace expects the full email address as the username, not `me`"
        );
        let gmail = by_id("gmail").unwrap();
        assert!(check_username(gmail, "me").is_err());
        assert!(check_username(gmail, "me@gmail.com").is_ok());
    }
}
