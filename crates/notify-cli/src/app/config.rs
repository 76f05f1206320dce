//! Configuration (SPEC section 9): built-in defaults < config file <
//! `NOTIFY_*` environment < flags, merged with figment.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use notify_core::{ExitCodes, Level};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use time::Duration;

use crate::app::env_vars;
use crate::app::error::CliError;

/// The top-level tables and keys; environment overrides are read only for
/// these, so unrelated `NOTIFY_*` variables (systemd's `NOTIFY_SOCKET`) do not
/// break the configuration.
const TOP_LEVEL_KEYS: &[&str] = &[
    "locale",
    "email",
    "accounts",
    "tasks",
    "metrics",
    "webhook",
    "ntfy",
    "healthchecks",
    "sendmail",
];

/// The whole configuration file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The language of mails: `en` (default) or `de`.
    #[serde(default)]
    pub locale: Option<LocaleName>,
    /// Delivery settings for every task.
    #[serde(default)]
    pub email: Settings,
    /// Sending accounts by name.
    #[serde(default)]
    pub accounts: BTreeMap<String, Account>,
    /// Per-task overrides of `[email]`, by task name.
    #[serde(default)]
    pub tasks: BTreeMap<String, Settings>,
    /// The Prometheus textfile(s) written after every run, send and check
    /// (`[metrics]`, or `[[metrics]]` for more than one).
    #[serde(default)]
    pub metrics: OneOrMany<Metrics>,
    /// JSON POSTs of every task's results (`[webhook]` or `[[webhook]]`).
    #[serde(default)]
    pub webhook: OneOrMany<Webhook>,
    /// ntfy pushes for every task.
    #[serde(default)]
    pub ntfy: OneOrMany<Ntfy>,
    /// Healthchecks pings for every task.
    #[serde(default)]
    pub healthchecks: OneOrMany<Healthchecks>,
    /// What `notify sendmail` does with local recipients (`[sendmail]`).
    #[serde(default)]
    pub sendmail: Sendmail,
    /// Why `cmd:` secrets of the HTTP destinations are not run: the file is
    /// one others can change (set by [`load`], never read from the file).
    #[serde(skip)]
    pub cmd_refused: Option<String>,
}

/// `[sendmail]`: the sendmail interface (`notify sendmail`, or notify run
/// as `sendmail`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sendmail {
    /// Where mail to a local name (`root`, `admin`: a recipient without a
    /// domain) goes, by name; a name not listed goes to `[email]`'s `to`.
    #[serde(default)]
    pub aliases: BTreeMap<String, Addresses>,
}

/// `[metrics]`: a Prometheus textfile listing every task.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Where the file goes: a `*.prom` file in the directory node_exporter's
    /// textfile collector reads (relative to the config file).
    pub textfile: PathBuf,
}

/// What every HTTP destination has besides its own keys (each table
/// repeats them, so that a mistake in one is reported by its own key).
#[derive(Debug, Clone, Default)]
pub struct HttpCommon {
    /// When to send [default: the task's level; `always` for Healthchecks].
    pub level: Option<Level>,
    /// The longest notify waits for an answer [default: 10s].
    pub timeout: Option<HumanDuration>,
    /// Extra trusted certificates (PEM), as an account's `ca_file`.
    pub ca_file: Option<PathBuf>,
    /// A name of its own, kept by the queue and the state across edits of
    /// the URL [default: from the URL].
    pub name: Option<String>,
}

macro_rules! http_table {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// When to send [default: the task's level; `always` for
            /// Healthchecks].
            pub level: Option<Level>,
            /// The longest notify waits for an answer [default: 10s].
            #[serde(default, deserialize_with = "positive_duration")]
            pub timeout: Option<HumanDuration>,
            /// Extra trusted certificates (PEM), as an account's `ca_file`.
            pub ca_file: Option<PathBuf>,
            /// A name of its own, kept by the queue and the state.
            #[serde(default, deserialize_with = "text")]
            pub name: Option<String>,
        }

        impl $name {
            /// The keys every HTTP destination has.
            pub fn common(&self) -> HttpCommon {
                HttpCommon {
                    level: self.level,
                    timeout: self.timeout,
                    ca_file: self.ca_file.clone(),
                    name: self.name.clone(),
                }
            }

            fn ca_file_mut(&mut self) -> &mut Option<PathBuf> {
                &mut self.ca_file
            }
        }
    };
}

http_table! {
    /// `[webhook]`: a JSON POST of the task result and the rendered mail.
    pub struct Webhook {
        /// Where to POST.
        pub url: String,
        /// Extra headers; a value `env:VAR`, `file:PATH`, `cmd:COMMAND` or
        /// `keychain` is read from that secret store.
        #[serde(default)]
        pub headers: BTreeMap<String, String>,
    }
}

http_table! {
    /// `[ntfy]`: a push through an ntfy server.
    pub struct Ntfy {
        /// The topic's URL (`https://ntfy.sh/my-backups`).
        pub url: String,
        /// An access token, or where it is (`env:NTFY_TOKEN`).
        pub token: Option<String>,
        /// A user, with `password`.
        pub user: Option<String>,
        /// The user's password, or where it is.
        pub password: Option<String>,
        /// A URL to open when the notification is tapped.
        pub click: Option<String>,
    }
}

http_table! {
    /// `[healthchecks]`: pings to Healthchecks.
    pub struct Healthchecks {
        /// One check's ping URL (`https://hc-ping.com/<uuid>`).
        pub url: Option<String>,
        /// The ping server, with `ping_key` [default: `https://hc-ping.com`].
        pub server: Option<String>,
        /// The project's ping key, or where it is: checks by slug.
        pub ping_key: Option<String>,
        /// The check's slug [default: from the task name].
        pub slug: Option<String>,
        /// Create a check on its first ping (with `ping_key`) [default: true].
        pub create: Option<bool>,
    }
}

/// What a `Debug` print shows of a URL or a value that may be a secret:
/// a store reference as it is, anything else redacted.
fn redacted(value: &str) -> &str {
    let v = value.trim();
    if v == "keychain" || ["env:", "file:", "cmd:"].iter().any(|p| v.starts_with(p)) {
        value
    } else {
        "[REDACTED]"
    }
}

/// A URL's scheme and host only (its path may be a token).
fn site(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}/…", rest.split('/').next().unwrap_or("")),
        None => "[REDACTED]".to_owned(),
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: BTreeMap<&str, &str> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), redacted(v)))
            .collect();
        f.debug_struct("Webhook")
            .field("url", &site(&self.url))
            .field("headers", &headers)
            .field("common", &self.common())
            .finish()
    }
}

impl fmt::Debug for Ntfy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ntfy")
            .field("url", &site(&self.url))
            .field("token", &self.token.as_deref().map(redacted))
            .field("user", &self.user)
            .field("password", &self.password.as_deref().map(redacted))
            .field("click", &self.click)
            .field("common", &self.common())
            .finish()
    }
}

impl fmt::Debug for Healthchecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Healthchecks")
            .field("url", &self.url.as_deref().map(site))
            .field("server", &self.server)
            .field("ping_key", &self.ping_key.as_deref().map(redacted))
            .field("slug", &self.slug)
            .field("create", &self.create)
            .field("common", &self.common())
            .finish()
    }
}

/// A table, or an array of tables: `[webhook]` or `[[webhook]]`.
#[derive(Debug, Clone)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table, or an array of tables")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| OneOrMany(vec![t]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<T>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(OneOrMany)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Delivery settings: the `[email]` table, and each `[tasks."NAME"]` table,
/// whose values override `[email]`'s for that task.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The account to send from; absent: the local Maildir.
    #[serde(default, deserialize_with = "text")]
    pub account: Option<String>,
    /// Recipients (a list, or one comma-separated string).
    pub to: Option<Addresses>,
    /// Copy recipients.
    pub cc: Option<Addresses>,
    /// Blind-copy recipients.
    pub bcc: Option<Addresses>,
    /// Reply-To address.
    #[serde(default, deserialize_with = "text")]
    pub reply_to: Option<String>,
    /// When to send.
    pub level: Option<Level>,
    /// The subject template.
    #[serde(default, deserialize_with = "text")]
    pub subject: Option<String>,
    /// The body template, inline.
    #[serde(default, deserialize_with = "text")]
    pub body: Option<String>,
    /// The body template, from a file (relative to the config file).
    pub body_file: Option<PathBuf>,
    /// An HTML body template, inline, or `"default"` for the built-in one.
    #[serde(default, deserialize_with = "text")]
    pub html: Option<String>,
    /// An HTML body template, from a file (relative to the config file).
    pub html_file: Option<PathBuf>,
    /// Attach the job's log.
    pub attach_log: Option<bool>,
    /// The largest log attachment, in bytes (keeps the tail).
    pub attach_log_max: Option<u64>,
    /// How many lines of output the log tail keeps.
    pub log_tail_lines: Option<usize>,
    /// How `notify run` maps exit codes to outcomes [default: the preset of
    /// the recognised tool, else `default`].
    pub exit_codes: Option<ExitCodes>,
    /// Which reader reads the output of `notify run`: `restic`, `borg`,
    /// `rsync`, `rclone`, `none` (the generic reader) or `auto` [default:
    /// recognised from the command].
    #[serde(default, deserialize_with = "tool_choice")]
    pub tool: Option<notify_report::ToolChoice>,
    /// Under `changes`, the least time between reminders of an ongoing
    /// failure (`24h`, `90m`, `1d`, or seconds).
    pub remind_every: Option<HumanDuration>,
    /// Whether a cancelled run counts as an error (default true).
    pub cancelled_is_error: Option<bool>,
    /// How long a notification that cannot be delivered stays queued before
    /// notify gives up on it (default 7 days; read from `[email]`).
    pub queue_max_age: Option<HumanDuration>,
    /// The language of this task's mails.
    pub locale: Option<LocaleName>,
    /// Also show a desktop notification (`--desktop`).
    pub desktop: Option<bool>,
    /// When to show the desktop notification [default: `level`].
    pub desktop_level: Option<Level>,
    /// Show a desktop notice when `notify run` starts the job (only with
    /// `desktop`).
    pub notify_on_start: Option<bool>,
    /// More email destinations, each with its own account, recipients and
    /// level (`[[tasks."NAME".also]]` or `[[email.also]]`).
    pub also: Option<Vec<AlsoEmail>>,
    /// How often the task is expected to run (`24h`): `notify check`
    /// tells when its last run started longer ago than that plus `grace`.
    #[serde(default, deserialize_with = "positive_duration")]
    pub expect_every: Option<HumanDuration>,
    /// When the task is expected to run, as a cron expression in local
    /// time (`0 3 * * *`); instead of `expect_every`.
    pub expect_cron: Option<crate::app::schedule::CronSchedule>,
    /// How late a run may start before the task is overdue [default: a
    /// tenth of the interval, at least 1 minute].
    #[serde(default, deserialize_with = "positive_duration")]
    pub grace: Option<HumanDuration>,
    /// How long a run may take before `notify check` tells that it is
    /// still running (once per run).
    #[serde(default, deserialize_with = "positive_duration")]
    pub max_runtime: Option<HumanDuration>,
    /// A digest of every task sent by `notify check`: `daily`, `weekly`
    /// (on Mondays) or `off` (read from `[email]`).
    pub digest: Option<DigestEvery>,
    /// When the scheduled digest goes out, local time `HH:MM` [default:
    /// 07:00] (read from `[email]`).
    pub digest_at: Option<ClockTime>,
    /// This task's webhooks, instead of the top-level ones.
    pub webhook: Option<OneOrMany<Webhook>>,
    /// This task's ntfy topics, instead of the top-level ones.
    pub ntfy: Option<OneOrMany<Ntfy>>,
    /// This task's Healthchecks checks, instead of the top-level ones.
    pub healthchecks: Option<OneOrMany<Healthchecks>>,
}

/// How often `notify check` sends the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestEvery {
    /// Every day at `digest_at`.
    Daily,
    /// Every Monday at `digest_at`.
    Weekly,
    /// Not at all (`notify digest` still sends one on demand).
    Off,
}

impl fmt::Display for DigestEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DigestEvery::Daily => "daily",
            DigestEvery::Weekly => "weekly",
            DigestEvery::Off => "off",
        })
    }
}

impl<'de> Deserialize<'de> for DigestEvery {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "daily" | "day" => Ok(DigestEvery::Daily),
            "weekly" | "week" => Ok(DigestEvery::Weekly),
            "off" | "never" | "no" => Ok(DigestEvery::Off),
            _ => Err(de::Error::custom(format!(
                "`{text}` is not a digest schedule; write `daily`, `weekly` or `off`"
            ))),
        }
    }
}

/// A time of day, `HH:MM` (24-hour clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockTime {
    pub hour: u8,
    pub minute: u8,
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bad = || {
            de::Error::custom(format!(
                "`{text}` is not a time of day; write `HH:MM` on a 24-hour clock, e.g. `07:00`"
            ))
        };
        let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        if hour > 23 || minute > 59 || m.len() != 2 {
            return Err(bad());
        }
        Ok(ClockTime { hour, minute })
    }
}

/// A [`HumanDuration`] that must be more than zero (an expectation, a
/// grace time, a longest run time).
fn positive_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<HumanDuration>, D::Error> {
    let value = HumanDuration::deserialize(d)?;
    if value.0 <= Duration::ZERO {
        return Err(de::Error::custom(
            "must be more than 0 seconds; write e.g. `24h`, `90m` or `30s`",
        ));
    }
    Ok(Some(value))
}

/// One more email destination of a task (`[[email.also]]`,
/// `[[tasks."NAME".also]]`): the same mail, through its own account to its
/// own recipients, decided by its own level.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlsoEmail {
    /// The account to send from; absent: the task's account.
    #[serde(default, deserialize_with = "text")]
    pub account: Option<String>,
    /// Recipients (required).
    pub to: Option<Addresses>,
    /// Copy recipients.
    pub cc: Option<Addresses>,
    /// Blind-copy recipients.
    pub bcc: Option<Addresses>,
    /// When to send [default: the task's `level`].
    pub level: Option<Level>,
}

/// `oauth =` of an account: a built-in server by name, or one's own.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OAuth {
    /// `microsoft` or `google`.
    Named(String),
    /// `{ device_url, token_url, scope }`, or `authorize_url` instead of
    /// `device_url` for a sign-in through a browser.
    Custom {
        /// The device authorization endpoint.
        #[serde(default)]
        device_url: Option<String>,
        /// The authorization endpoint (code grant with PKCE).
        #[serde(default)]
        authorize_url: Option<String>,
        /// The token endpoint.
        token_url: String,
        /// The scopes, space-separated.
        scope: String,
    },
}

/// An SMTP account (`[accounts.NAME]`). The password is never here: only
/// where to find it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read by SMTP delivery
pub struct Account {
    /// The sender, with an optional display name.
    pub from: Option<String>,
    /// A provider preset.
    pub provider: Option<String>,
    /// `host[:port]`.
    pub server: Option<String>,
    /// `tls`, `starttls` or `none`.
    pub security: Option<String>,
    /// The login (default: the from address).
    pub username: Option<String>,
    /// Where the password is: `keychain`, `env:VAR`, `file:PATH`, `cmd:COMMAND`.
    pub password: Option<String>,
    /// `plain`, `login` or `xoauth2`.
    pub auth: Option<String>,
    /// Extra trusted certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// Do not validate the server's certificate chain.
    pub accept_invalid_certs: Option<bool>,
    /// Allow credentials over an unencrypted connection.
    pub allow_insecure_auth: Option<bool>,
    /// The EHLO name.
    pub helo_name: Option<String>,
    /// Connect and command timeout.
    pub timeout: Option<HumanDuration>,
    /// OAuth 2.0 built in: `microsoft`, `google`, or a table with
    /// `device_url`, `token_url` and `scope`. `password =` then says where
    /// the refresh token lives (`notify account login` puts it there).
    pub oauth: Option<OAuth>,
    /// The OAuth app registration's client id (your own app).
    pub oauth_client_id: Option<String>,
    /// The app's client secret, where the server wants one (Google's
    /// device flow does; it is not a secret for installed apps).
    pub oauth_client_secret: Option<String>,
    /// Why a `cmd:` password of this account is not run: it comes from a
    /// config file that others can change (set by [`load`], never read from
    /// the file).
    #[serde(skip)]
    pub cmd_refused: Option<String>,
}

/// A text value that may also arrive as a number or a boolean: figment reads
/// `NOTIFY_EMAIL__SUBJECT=true` as a boolean, but a subject is text.
fn tool_choice<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<notify_report::ToolChoice>, D::Error> {
    let name = String::deserialize(d)?;
    name.parse().map(Some).map_err(de::Error::custom)
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
    }
    d.deserialize_any(V)
}

/// A locale code that notify knows (`en`, `de`, `de_DE.UTF-8`, ...),
/// checked while the configuration is read so that an error names the file,
/// line and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocaleName(pub String);

impl<'de> Deserialize<'de> for LocaleName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        if notify_template::locale(&code).is_some() {
            Ok(LocaleName(code))
        } else {
            let known: Vec<&str> = notify_template::locales()
                .iter()
                .map(|l| l.code())
                .collect();
            Err(de::Error::custom(format!(
                "unknown locale `{code}`; expected one of: {}",
                known.join(", ")
            )))
        }
    }
}

/// A list of addresses: `["a@x", "b@x"]` or `"a@x, b@x"`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Addresses(pub Vec<String>);

impl Addresses {
    /// Splits each part at commas that separate addresses (not those inside
    /// a quoted display name such as `"Doe, John" <j@example.com>` or inside
    /// `<...>`), trims, and drops empty entries.
    pub fn from_parts<I: IntoIterator<Item = S>, S: AsRef<str>>(parts: I) -> Self {
        Addresses(
            parts
                .into_iter()
                .flat_map(|p| split_addresses(p.as_ref()))
                .collect(),
        )
    }
}

/// Splits `a@x, "Doe, John" <j@x>` into its addresses.
pub fn split_addresses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect()
}

impl<'de> Deserialize<'de> for Addresses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Addresses;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of addresses or a comma-separated string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Addresses, E> {
                Ok(Addresses::from_parts([v]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Addresses, A::Error> {
                // A list holds one address per element: no splitting.
                let mut list: Vec<String> = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    let s = s.trim();
                    if !s.is_empty() {
                        list.push(s.to_owned());
                    }
                }
                Ok(Addresses(list))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration written as `30s`, `90m`, `24h`, `7d`, `1h30m`, or a number of
/// seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bad = || {
            format!("`{text}` is not a duration; write e.g. `30s`, `90m`, `24h`, `7d` or `1h30m`")
        };
        if t.is_empty() {
            return Err(bad());
        }
        if let Ok(secs) = t.parse::<u64>() {
            return i64::try_from(secs)
                .map(|s| HumanDuration(Duration::seconds(s)))
                .map_err(|_| bad());
        }
        let mut total: i64 = 0;
        let mut number = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            if c.is_whitespace() {
                continue;
            }
            let n: i64 = number.parse().map_err(|_| bad())?;
            number.clear();
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return Err(bad()),
            };
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
        }
        if !number.is_empty() {
            return Err(bad());
        }
        Ok(HumanDuration(Duration::seconds(total)))
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HumanDuration::parse(s)
    }
}

/// The compact form: `3d 4h`, `2h 05m`, `45s`; the two largest units.
impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.whole_seconds().max(0);
        let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
        if d > 0 {
            write!(f, "{d}d {h}h")
        } else if h > 0 {
            write!(f, "{h}h {m:02}m")
        } else if m > 0 {
            write!(f, "{m}m {s:02}s")
        } else {
            write!(f, "{s}s")
        }
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"24h\" or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                HumanDuration::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                HumanDuration::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<HumanDuration, E> {
                if v < 0 {
                    return Err(E::custom("a duration cannot be negative"));
                }
                Ok(HumanDuration(Duration::seconds(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Where the configuration came from.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The merged configuration.
    pub config: Config,
    /// The file that was read, if one existed.
    pub file: Option<PathBuf>,
    /// Keys of the file left out for a mistake (an unknown key, an invalid
    /// value), each as one line naming file, line and key: the rest of the
    /// file is in force.
    pub problems: Vec<String>,
}

impl Loaded {
    /// The directory relative paths in the file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// Reads the configuration: `path` when given explicitly (it must exist),
/// else the default path when it exists, then `NOTIFY_*` overrides.
pub fn load(path: &Path, explicit: bool) -> Result<Loaded, CliError> {
    let exists = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => true,
        Ok(meta) => {
            return Err(CliError::config(format!(
                "the config file {} is {}, not a file",
                path.display(),
                notify_secrets::FileKind::of(&meta)
            ))
            .hint("point --config or NOTIFY_CONFIG at the TOML file itself"));
        }
        Err(_) => false,
    };
    if explicit && !exists {
        return Err(CliError::config(format!(
            "the config file {} does not exist",
            path.display()
        ))
        .hint(
            "create it (see the README's Configuration section) or drop --config / NOTIFY_CONFIG",
        ));
    }
    // The file as an editable document, so that a key with a mistake can be
    // left out and the rest kept in force. A file that is not TOML at all
    // is read by figment itself, for its error.
    let text = if exists {
        Some(std::fs::read_to_string(path).map_err(|e| {
            CliError::config(format!(
                "cannot read the config file {}: {e}",
                path.display()
            ))
        })?)
    } else {
        None
    };
    let mut doc = text
        .as_deref()
        .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok());
    let mut problems = Vec::new();
    if let (Some(doc), Some(text)) = (doc.as_mut(), text.as_deref()) {
        machine_wide_only(doc, text, path, &mut problems);
    }
    let file = exists.then_some(path);
    loop {
        let mut figment = Figment::new();
        match (&doc, exists) {
            (Some(doc), _) => figment = figment.merge(Toml::string(&doc.to_string())),
            (None, true) => figment = figment.merge(Toml::file_exact(path)),
            (None, false) => {}
        }
        figment = figment.merge(
            Env::prefixed(env_vars::NOTIFY_PREFIX)
                .split("__")
                .filter(|key| {
                    let top = key.as_str().split('.').next().unwrap_or("");
                    TOP_LEVEL_KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
                }),
        );
        let err = match figment.extract::<Config>() {
            Ok(mut config) => {
                if let (Some(doc), Some(reason)) =
                    (&doc, exists.then(|| unsafe_file(path)).flatten())
                {
                    problems.push(format!(
                        "{} {reason}: anyone who can change it can change what notify does",
                        path.display()
                    ));
                    refuse_commands(&mut config, doc, path, &reason);
                    config.cmd_refused = Some(format!("{} {reason}", path.display()));
                }
                one_expectation(&mut config, text.as_deref(), path, &mut problems);
                metrics_names(&config, text.as_deref(), path, &mut problems);
                if exists {
                    if let Some(dir) = std::path::absolute(path)
                        .ok()
                        .and_then(|p| p.parent().map(Path::to_path_buf))
                    {
                        config.resolve_paths(&dir);
                    }
                }
                return Ok(Loaded {
                    config,
                    file: file.map(Path::to_path_buf),
                    problems,
                });
            }
            Err(err) => err,
        };
        // A mistake in the file: leave that key out, say so, and go on.
        let from_env = err
            .metadata
            .as_ref()
            .is_some_and(|m| m.name.contains("env"));
        let (Some(editable), Some(text), false) = (doc.as_mut(), text.as_deref(), from_env) else {
            return Err(config_error(err, file));
        };
        let key = key_of(&err);
        if key.is_empty() || problems.len() >= MAX_PROBLEMS || !remove_key(editable, &key) {
            return Err(config_error(err, file));
        }
        problems.push(problem_text(&err, &key, path, text));
    }
}

/// A table that sets both `expect_every` and `expect_cron`: the cron
/// expression is kept (it says more), and the problem is reported with
/// the file and line.
fn one_expectation(
    config: &mut Config,
    text: Option<&str>,
    path: &Path,
    problems: &mut Vec<String>,
) {
    let mut tables: Vec<(Vec<String>, &mut Settings)> =
        vec![(vec!["email".to_owned()], &mut config.email)];
    for (name, settings) in &mut config.tasks {
        tables.push((vec!["tasks".to_owned(), name.clone()], settings));
    }
    for (key, settings) in tables {
        if settings.expect_every.is_none() || settings.expect_cron.is_none() {
            continue;
        }
        settings.expect_every = None;
        let mut every = key.clone();
        every.push("expect_every".to_owned());
        let mut at = path.display().to_string();
        if let Some(line) = text.and_then(|t| find_key_line(t, &every)) {
            at.push_str(&format!(", line {line}"));
        }
        problems.push(format!(
            "{at}: `{}` sets both expect_every and expect_cron; expect_every is ignored \
             (keep one of them)",
            key.join(".")
        ));
    }
}

/// `[metrics]` inside `[email]` or a task's table: the textfile lists every
/// task, so it is set once, at the top level. Left out with a problem that
/// says so (an "unknown key" would not).
fn machine_wide_only(
    doc: &mut toml_edit::DocumentMut,
    text: &str,
    path: &Path,
    problems: &mut Vec<String>,
) {
    let mut found = Vec::new();
    if doc.get("email").and_then(|e| e.get("metrics")).is_some() {
        found.push(vec!["email".to_owned(), "metrics".to_owned()]);
    }
    if let Some(tasks) = doc.get("tasks").and_then(|t| t.as_table_like()) {
        for (name, table) in tasks.iter() {
            if table.get("metrics").is_some() {
                found.push(vec![
                    "tasks".to_owned(),
                    name.to_owned(),
                    "metrics".to_owned(),
                ]);
            }
        }
    }
    for key in found {
        let mut at = path.display().to_string();
        if let Some(line) = find_key_line(text, &key) {
            at.push_str(&format!(", line {line}"));
        }
        remove_key(doc, &key);
        problems.push(format!(
            "{at}: `{}` is ignored: the metrics textfile lists every task, so `[metrics]` \
             is set once, at the top level of the file",
            key.join(".")
        ));
    }
}

/// A metrics textfile whose name node_exporter's collector would skip (it
/// reads `*.prom` only): written all the same, with a problem that says so.
fn metrics_names(config: &Config, text: Option<&str>, path: &Path, problems: &mut Vec<String>) {
    for (i, m) in config.metrics.0.iter().enumerate() {
        if m.textfile.extension().is_some_and(|x| x == "prom") {
            continue;
        }
        let mut at = path.display().to_string();
        let line = text.and_then(|t| {
            find_key_line(t, &["metrics".into(), i.to_string(), "textfile".into()])
                .or_else(|| find_key_line(t, &["metrics".into(), "textfile".into()]))
        });
        if let Some(line) = line {
            at.push_str(&format!(", line {line}"));
        }
        problems.push(format!(
            "{at}: metrics.textfile {} does not end in .prom: node_exporter's textfile \
             collector reads only *.prom files",
            m.textfile.display()
        ));
    }
}

/// Why a config file is not safe to run commands from (`cmd:` passwords):
/// others can write it, or it belongs to another user (not root). `None`
/// when it is safe, or on a platform without Unix permissions.
fn unsafe_file(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        let mode = meta.mode();
        if mode & 0o022 != 0 {
            let who = if mode & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            };
            return Some(format!("is writable by {who} (mode {:o})", mode & 0o777));
        }
        let owner = meta.uid();
        let me = effective_uid();
        if owner != me && owner != 0 {
            return Some(format!("belongs to another user (uid {owner}, not {me})"));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}

#[cfg(unix)]
#[allow(unsafe_code, reason = "geteuid(2) through libc: who notify runs as")]
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Marks every account whose `cmd:` password comes from `doc` (the file,
/// not the environment) as refused.
fn refuse_commands(config: &mut Config, doc: &toml_edit::DocumentMut, path: &Path, reason: &str) {
    let Some(accounts) = doc.get("accounts").and_then(|a| a.as_table_like()) else {
        return;
    };
    for (name, account) in config.accounts.iter_mut() {
        let from_file = accounts
            .get(name)
            .and_then(|a| a.as_table_like())
            .and_then(|a| a.get("password"))
            .and_then(|p| p.as_str())
            .is_some_and(|p| p.trim_start().starts_with("cmd:"));
        if from_file {
            account.cmd_refused = Some(format!("{} {reason}", path.display()));
        }
    }
}

/// How many keys with mistakes are left out before the file counts as
/// broken as a whole.
const MAX_PROBLEMS: usize = 20;

/// The key an extraction error is about: its path, and for an unknown key
/// the key itself.
fn key_of(err: &figment::Error) -> Vec<String> {
    let mut key = err.path.clone();
    let field = match &err.kind {
        figment::error::Kind::UnknownField(field, _) => Some(field.clone()),
        // A table with flattened keys (the HTTP destinations' common ones)
        // reports an unknown key as a message.
        figment::error::Kind::Message(m) => m
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_owned()),
        _ => None,
    };
    if let Some(field) = field {
        if key.last() != Some(&field) {
            key.push(field);
        }
    }
    key
}

/// Removes `key` (`["email", "level"]`, `["also", "0", "to"]`) from `doc`;
/// false when it is not there.
fn remove_key(doc: &mut toml_edit::DocumentMut, key: &[String]) -> bool {
    fn remove_in(table: &mut dyn toml_edit::TableLike, key: &[String]) -> bool {
        let Some((first, rest)) = key.split_first() else {
            return false;
        };
        if rest.is_empty() {
            return table.remove(first).is_some();
        }
        let Some(item) = table.get_mut(first) else {
            return false;
        };
        if let Some(array) = item.as_array_of_tables_mut() {
            let Some((index, rest)) = rest.split_first() else {
                return false;
            };
            let Some(element) = index.parse::<usize>().ok().and_then(|i| array.get_mut(i)) else {
                return false;
            };
            if rest.is_empty() {
                return false;
            }
            return remove_in(element, rest);
        }
        match item.as_table_like_mut() {
            Some(inner) => remove_in(inner, rest),
            None => false,
        }
    }
    remove_in(doc.as_table_mut(), key)
}

/// The line that says which key was left out and why.
fn problem_text(err: &figment::Error, key: &[String], path: &Path, text: &str) -> String {
    let mut at = format!("{}", path.display());
    if let Some(line) = find_key_line(text, key) {
        at.push_str(&format!(", line {line}"));
    }
    let shown = key.join(".");
    match &err.kind {
        figment::error::Kind::UnknownField(field, expected) => {
            let mut line = format!("{at}: unknown key `{shown}` (ignored)");
            if let Some(best) = closest(field, expected) {
                line.push_str(&format!("; did you mean `{best}`?"));
            }
            line
        }
        kind => format!(
            "{at}, key `{shown}`: {}; this key is ignored, the rest of the file is in force",
            value_problem(kind, key)
        ),
    }
}

/// The expected name closest to a misspelt `name`, when one is close.
fn closest<'a>(name: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|e| (strsim::damerau_levenshtein(&name.to_lowercase(), e), *e))
        .filter(|(d, e)| *d <= 2.max(e.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e)
}

/// A figment error kind in words, without nested backticks.
fn kind_text(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    match kind {
        Kind::UnknownVariant(found, expected) => {
            format!(
                "unknown value `{found}`; expected one of: {}",
                expected.join(", ")
            )
        }
        Kind::UnknownField(found, expected) => {
            format!(
                "unknown key `{found}`; expected one of: {}",
                expected.join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// Turns a figment error into one that names the file, the line and the key.
fn config_error(err: figment::Error, file: Option<&Path>) -> CliError {
    let key = err.path.join(".");
    let from_file = err
        .metadata
        .as_ref()
        .and_then(|m| m.source.as_ref())
        .and_then(|s| s.file_path())
        .is_some();
    let from_env = err
        .metadata
        .as_ref()
        .is_some_and(|m| m.name.contains("env"));
    let file_text = file.and_then(|path| std::fs::read_to_string(path).ok());
    let mut message = String::new();
    match (file, from_env) {
        (_, true) => {
            let var = format!(
                "{}{}",
                env_vars::NOTIFY_PREFIX,
                err.path.join("__").to_uppercase()
            );
            message.push_str(&format!("in the environment variable {var}"));
        }
        (Some(path), false) => {
            message.push_str(&format!("in {}", path.display()));
            if from_file || !key.is_empty() {
                if let Some(line) = file_text
                    .as_deref()
                    .and_then(|text| find_key_line(text, &err.path))
                {
                    message.push_str(&format!(", line {line}"));
                }
            }
        }
        (None, false) => message.push_str("in the configuration"),
    }
    if !key.is_empty() {
        message.push_str(&format!(", key `{key}`"));
    }
    message.push_str(&format!(": {}", value_problem(&err.kind, &err.path)));
    CliError::config(redact_quoted_secrets(&message, file_text.as_deref()))
        .hint("the README's Configuration section lists every key and its values")
}

/// The TOML parser quotes the line of a syntax error (`3 | password = ...`):
/// where that line holds the value of a key named like a secret
/// (`password`, `secret`, `token`), or a line of one (a multi-line string,
/// an array), the value is replaced, so that a password pasted into the
/// file is never printed. `file_text` is the file the error is about, when
/// it could be read: it tells which lines a multi-line value spans; each
/// quoted line is also judged on its own.
fn redact_quoted_secrets(text: &str, file_text: Option<&str>) -> String {
    let in_file = file_text.map(secret_values).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&redact_line(line, &in_file));
    }
    out
}

/// Whether a key's name says its value may be a secret.
fn secret_like(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "token"]
        .iter()
        .any(|w| name.contains(w))
}

/// What a problem with the value of `key` says: never the value itself
/// when the key is named like a secret (figment's "invalid type: found
/// string "..."" would quote it).
fn value_problem(kind: &figment::error::Kind, key: &[String]) -> String {
    if !key.last().is_some_and(|k| secret_like(k)) {
        return kind_text(kind);
    }
    match kind {
        figment::error::Kind::InvalidType(_, expected) => format!(
            "its value is not valid here, expected {expected} (not shown: it may be a secret)"
        ),
        _ => "its value is not valid here (not shown: it may be a secret)".to_owned(),
    }
}

/// A line that holds (part of) the value of the secret-like `key`: what
/// comes before the value on that line (`password =`), or `None` on a line
/// a multi-line value goes on over.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SecretValue {
    before: Option<String>,
    key: String,
}

/// The 1-based lines of a TOML text that hold (part of) the value of a key
/// named like a secret, found by a scan that tolerates broken TOML (the
/// text has a syntax error, or it would not be quoted): strings, comments,
/// `[headers]`, dotted and quoted keys, inline tables, arrays and
/// multi-line strings; a string left open runs to the end of its line, a
/// multi-line one to the end of the text.
fn secret_values(text: &str) -> BTreeMap<usize, SecretValue> {
    let b = text.as_bytes();
    let mut found = BTreeMap::new();
    let mut mark = |line: usize, before: Option<&[u8]>, key: &str| {
        found.entry(line).or_insert_with(|| SecretValue {
            before: before.map(|b| String::from_utf8_lossy(b).trim_end().to_owned()),
            key: key.to_owned(),
        });
    };
    let (mut i, mut line, mut line_start) = (0, 1, 0);
    // Open `[` and `{` of values; a key may start where the innermost is a
    // `{` (or none), after the line start, `{` or `,`.
    let mut open: Vec<u8> = Vec::new();
    let mut expect_key = true;
    let mut key = String::new();
    // The secret-like key whose value is being read, and at which depth.
    let mut secret: Option<(usize, String)> = None;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                if open.is_empty() {
                    expect_key = true;
                    key.clear();
                    secret = None;
                } else if let Some((_, k)) = &secret {
                    mark(line, None, k);
                }
                i += 1;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'[' if expect_key && open.is_empty() => {
                // A [table] or [[array]] header: no value on this line.
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                let triple = b[i..].starts_with(if c == b'"' { b"\"\"\"" } else { b"'''" });
                let start = i + if triple { 3 } else { 1 };
                let mut j = start;
                let end = loop {
                    if j >= b.len() {
                        break j;
                    }
                    match b[j] {
                        b'\\' if c == b'"' => j += 2,
                        b'\n' if !triple => break j,
                        b'\n' => {
                            line += 1;
                            line_start = j + 1;
                            if let Some((_, k)) = &secret {
                                mark(line, None, k);
                            }
                            j += 1;
                        }
                        q if q == c && (!triple || b[j..].starts_with(&[c, c, c])) => {
                            break j;
                        }
                        _ => j += 1,
                    }
                };
                if expect_key {
                    key = String::from_utf8_lossy(&b[start..end.min(b.len())]).into_owned();
                }
                // Past the closing quote(s); an unclosed string stops at its
                // newline, which the loop then handles.
                i = if end < b.len() && b[end] == c {
                    end + if triple { 3 } else { 1 }
                } else {
                    end
                };
            }
            b'=' if expect_key => {
                expect_key = false;
                if secret.is_none() && secret_like(&key) {
                    mark(line, Some(&b[line_start..=i]), &key);
                    secret = Some((open.len(), key.clone()));
                }
                i += 1;
            }
            b'[' | b'{' => {
                open.push(c);
                expect_key = c == b'{';
                key.clear();
                i += 1;
            }
            b']' | b'}' | b',' => {
                if secret
                    .as_ref()
                    .is_some_and(|(depth, _)| *depth == open.len())
                {
                    secret = None;
                }
                if c != b',' {
                    open.pop();
                }
                expect_key = open.last() == Some(&b'{');
                key.clear();
                i += 1;
            }
            b'.' if expect_key => {
                key.clear();
                i += 1;
            }
            _ => {
                if expect_key && !c.is_ascii_whitespace() {
                    key.push(char::from(c));
                }
                i += 1;
            }
        }
    }
    found
}

/// One line of an error message: a quoted line of the config file
/// (`NN | content`) loses the value of a secret, as `in_file` says (from
/// the file's text, which knows the lines of a multi-line value) or else as
/// the line itself shows (an inline table, a dotted key).
fn redact_line(line: &str, in_file: &BTreeMap<usize, SecretValue>) -> String {
    let Some((gutter, content)) = line.split_once('|') else {
        return line.to_owned();
    };
    let Ok(number) = gutter.trim().parse::<usize>() else {
        return line.to_owned();
    };
    let value = match in_file.get(&number) {
        Some(value) => value.clone(),
        None => match secret_values(content).remove(&1) {
            Some(value) => value,
            None => return line.to_owned(),
        },
    };
    match value.before {
        Some(before) => format!("{gutter}| {} \"…\" (value not shown)", before.trim_start()),
        None => format!(
            "{gutter}| … (a line of the value of `{}`, not shown)",
            value.key
        ),
    }
}

/// Finds the 1-based line on which the key `path` (e.g. `["email", "level"]`
/// or `["tasks", "Daily Backup", "level"]`) is set in a TOML text. Handles
/// `[table]` / `[table."quoted key"]` headers and `key = value` lines; gives
/// up (None) on anything fancier.
pub fn find_key_line(text: &str, path: &[String]) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut span = None;
    let mut steps = path.iter().peekable();
    while let Some(step) = steps.next() {
        let (key, item) = table.get_key_value(step)?;
        span = key.span().or_else(|| item.span());
        // `[[array]]` tables: the next step is the index.
        if let Some(array) = item.as_array_of_tables() {
            let index = steps.peek().and_then(|i| i.parse::<usize>().ok());
            if let Some(index) = index {
                steps.next();
                let element = array.get(index)?;
                span = element.span().or(span);
                table = element;
                continue;
            }
        }
        if steps.peek().is_none() {
            break;
        }
        // A table, a dotted key's implicit table, or an inline table.
        table = item.as_table_like()?;
    }
    line_of(text, span?)
}

/// The 1-based line of a byte range's start.
fn line_of(text: &str, span: std::ops::Range<usize>) -> Option<usize> {
    let before = text.get(..span.start)?;
    Some(before.bytes().filter(|&b| b == b'\n').count() + 1)
}

impl Settings {
    /// The level, `errors` when unset.
    pub fn level(&self) -> Level {
        self.level.unwrap_or(Level::Errors)
    }

    /// Whether the desktop is a destination (`desktop = true` or
    /// `--desktop`).
    pub fn desktop_on(&self, flag: bool) -> bool {
        flag || self.desktop.unwrap_or(false)
    }

    /// The desktop's level: `desktop_level`, else the task's level.
    pub fn desktop_level(&self) -> Level {
        self.desktop_level.unwrap_or(self.level())
    }

    /// When the task is expected to run: `expect_cron`, else
    /// `expect_every` (the loader reports a table that sets both).
    pub fn expectation(&self) -> Option<crate::app::schedule::Expectation> {
        use crate::app::schedule::Expectation;
        match (&self.expect_cron, self.expect_every) {
            (Some(cron), _) => Some(Expectation::Cron(Box::new(cron.clone()))),
            (None, Some(every)) => Some(Expectation::Every(every.0)),
            (None, None) => None,
        }
    }

    /// The policy's other knobs, with their defaults.
    pub fn policy_options(&self) -> notify_core::PolicyOptions {
        let mut options = notify_core::PolicyOptions::default();
        if let Some(every) = self.remind_every {
            options.remind_every = every.0;
        }
        if let Some(counts) = self.cancelled_is_error {
            options.cancelled_is_error = counts;
        }
        options
    }
}

/// The settings in force for one task: flags > `[tasks."NAME"]` > `[email]`
/// > built-in defaults.
#[derive(Debug, Clone)]
pub struct Effective {
    pub settings: Settings,
    pub locale: String,
}

impl Config {
    /// Makes the relative paths of accounts (`ca_file`, `password =
    /// "file:..."`) relative to the config file's directory, as `body_file`
    /// is, so the file works from any working directory (cron's, too).
    pub fn resolve_paths(&mut self, dir: &Path) {
        let resolve = |p: &Path| -> PathBuf {
            if p.is_relative() && !p.starts_with("~") {
                dir.join(p)
            } else {
                p.to_path_buf()
            }
        };
        for metrics in &mut self.metrics.0 {
            metrics.textfile = resolve(&metrics.textfile);
        }
        let mut cas: Vec<&mut Option<PathBuf>> = Vec::new();
        cas.extend(self.webhook.0.iter_mut().map(Webhook::ca_file_mut));
        cas.extend(self.ntfy.0.iter_mut().map(Ntfy::ca_file_mut));
        cas.extend(
            self.healthchecks
                .0
                .iter_mut()
                .map(Healthchecks::ca_file_mut),
        );
        for s in std::iter::once(&mut self.email).chain(self.tasks.values_mut()) {
            cas.extend(
                s.webhook
                    .iter_mut()
                    .flat_map(|w| w.0.iter_mut().map(Webhook::ca_file_mut)),
            );
            cas.extend(
                s.ntfy
                    .iter_mut()
                    .flat_map(|n| n.0.iter_mut().map(Ntfy::ca_file_mut)),
            );
            cas.extend(
                s.healthchecks
                    .iter_mut()
                    .flat_map(|h| h.0.iter_mut().map(Healthchecks::ca_file_mut)),
            );
        }
        for ca in cas {
            if let Some(path) = ca.as_deref() {
                let resolved = resolve(path);
                *ca = Some(resolved);
            }
        }
        for account in self.accounts.values_mut() {
            if let Some(ca) = &account.ca_file {
                account.ca_file = Some(resolve(ca));
            }
            if let Some(file) = account
                .password
                .as_deref()
                .and_then(|p| p.strip_prefix("file:"))
            {
                let resolved = resolve(Path::new(file));
                account.password = Some(format!("file:{}", resolved.display()));
            }
        }
    }

    /// Merges `[email]`, `[tasks."task"]` and the global locale.
    pub fn for_task(&self, task: &str) -> Effective {
        let mut s = self.email.clone();
        if let Some(t) = self.tasks.get(task) {
            overlay(&mut s, t);
        }
        let locale = s
            .locale
            .clone()
            .or_else(|| self.locale.clone())
            .map_or_else(|| "en".to_owned(), |l| l.0);
        Effective {
            settings: s,
            locale,
        }
    }
}

/// Overlays every value set in `top` onto `base`.
fn overlay(base: &mut Settings, top: &Settings) {
    macro_rules! take {
        ($($field:ident),*) => {
            $( if top.$field.is_some() { base.$field = top.$field.clone(); } )*
        };
    }
    take!(
        account,
        to,
        cc,
        bcc,
        reply_to,
        level,
        subject,
        exit_codes,
        tool,
        remind_every,
        cancelled_is_error,
        attach_log,
        attach_log_max,
        log_tail_lines,
        locale,
        queue_max_age,
        desktop,
        desktop_level,
        notify_on_start,
        also,
        grace,
        max_runtime,
        webhook,
        ntfy,
        healthchecks
    );
    // A task's own expectation replaces the [email] one, of either kind.
    if top.expect_every.is_some() || top.expect_cron.is_some() {
        base.expect_every = top.expect_every;
        base.expect_cron = top.expect_cron.clone();
    }
    // A task's own body replaces the [email] body, inline or file alike.
    if top.body.is_some() || top.body_file.is_some() {
        base.body = top.body.clone();
        base.body_file = top.body_file.clone();
    }
    if top.html.is_some() || top.html_file.is_some() {
        base.html = top.html.clone();
        base.html_file = top.html_file.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_secret_lines_are_redacted() {
        let text = "TOML parse error at line 3, column 43\n  |\n3 | password = \"cmd:pass show canary-Pw\n  |                                           ^\ninvalid basic string";
        let out = redact_quoted_secrets(text, None);
        assert!(!out.contains("canary-Pw"), "{out}");
        assert!(
            out.contains("3 | password = \"…\" (value not shown)"),
            "{out}"
        );
        assert!(out.contains("invalid basic string"));
        let other = "2 | from = \"a@example.com";
        assert_eq!(redact_quoted_secrets(other, None), other);
        let token = "7 | oauth_token = abc";
        assert!(!redact_quoted_secrets(token, None).contains("abc"));
        // On its own, a line shows an inline table's secret too.
        let inline = "1 | accounts.x = { from = \"a@b\", password = \"canary-In\", server = oops }";
        assert_eq!(
            redact_quoted_secrets(inline, None),
            "1 | accounts.x = { from = \"a@b\", password = \"…\" (value not shown)"
        );
    }

    /// The scan that finds secrets in a file that does not parse: strings,
    /// comments, headers, dotted and quoted keys, inline tables, arrays and
    /// multi-line strings, open or closed.
    #[test]
    fn secret_values_are_found_in_broken_toml() {
        let text = r#"[accounts.x]
from = "a@b" # password = not a value
password = """
canary-1
  \""" token = canary-2
""" junk
[accounts."password"]
inline = { user = "u=v", "api_token" = 'canary-3', server = oops }
x.Secret = [
 "canary-4",
]
server = "s"
pass = 'open
last = 1
password = '''canary-5
"#;
        let found = secret_values(text);
        let shown: Vec<(usize, Option<&str>, &str)> = found
            .iter()
            .map(|(n, v)| (*n, v.before.as_deref(), v.key.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (3, Some("password ="), "password"),
                (4, None, "password"),
                (5, None, "password"),
                (6, None, "password"),
                (
                    8,
                    Some("inline = { user = \"u=v\", \"api_token\" ="),
                    "api_token"
                ),
                (9, Some("x.Secret ="), "Secret"),
                (10, None, "Secret"),
                (11, None, "Secret"),
                (15, Some("password ="), "password"),
                (16, None, "password"),
            ]
        );
    }

    /// A syntax error quoted on a line inside a password's multi-line
    /// string: only the file knows that the line is part of a secret.
    #[test]
    fn a_quoted_line_of_a_multi_line_secret_is_not_shown() {
        let file = "[accounts.x]\npassword = \"\"\"\ncanary-Ml \\q\n\"\"\"\n";
        let message = "TOML parse error at line 3, column 11\n  |\n3 | canary-Ml \\q\n  |           ^\ninvalid escape sequence";
        let out = redact_quoted_secrets(message, Some(file));
        assert!(!out.contains("canary-Ml"), "{out}");
        assert!(
            out.contains("3 | … (a line of the value of `password`, not shown)"),
            "{out}"
        );
        assert!(out.contains("invalid escape sequence"), "{out}");
        // Another line of the same file is shown as it is.
        let message = "TOML parse error at line 1, column 3\n  |\n1 | [accounts.x]\n";
        assert_eq!(redact_quoted_secrets(message, Some(file)), message);
    }

    /// An invalid value of a secret-like key is not quoted in the message
    /// (figment says `found unsigned int 12345678`).
    #[test]
    fn an_invalid_secret_value_is_not_quoted() {
        let kind = figment::error::Kind::InvalidType(
            figment::error::Actual::Unsigned(12_345_678),
            "a string".into(),
        );
        let key = ["accounts".to_owned(), "x".to_owned(), "password".to_owned()];
        let text = value_problem(&kind, &key);
        assert!(!text.contains("12345678"), "{text}");
        assert!(text.contains("expected a string"), "{text}");
        let key = ["email".to_owned(), "level".to_owned()];
        assert!(value_problem(&kind, &key).contains("12345678"));
    }

    #[test]
    fn durations() {
        let cases = [
            ("24h", 86_400),
            ("90m", 5_400),
            ("1d", 86_400),
            ("1h30m", 5_400),
            ("45", 45),
            ("2w", 1_209_600),
            ("1h 5s", 3_605),
        ];
        for (text, secs) in cases {
            assert_eq!(
                HumanDuration::parse(text).unwrap().0,
                Duration::seconds(secs),
                "{text}"
            );
        }
        assert_eq!(
            HumanDuration(Duration::seconds(97_200)).to_string(),
            "1d 3h"
        );
        assert_eq!(
            HumanDuration(Duration::seconds(7_500)).to_string(),
            "2h 05m"
        );
        assert_eq!(HumanDuration(Duration::seconds(65)).to_string(), "1m 05s");
        assert_eq!(HumanDuration(Duration::seconds(9)).to_string(), "9s");
        for bad in ["", "h", "5x", "10h5", "-3h"] {
            let err = HumanDuration::parse(bad).unwrap_err();
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn key_lines() {
        let text = "locale = \"en\"\n[email]\nto = [\"a@x\"]\nlevel = \"sometimes\"\n\n[tasks.\"Daily Backup\"]\nlevel = \"x\"\n[accounts.work]\nserver = 1\n";
        let p = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(find_key_line(text, &p(&["locale"])), Some(1));
        assert_eq!(find_key_line(text, &p(&["email", "level"])), Some(4));
        assert_eq!(
            find_key_line(text, &p(&["tasks", "Daily Backup", "level"])),
            Some(7)
        );
        assert_eq!(
            find_key_line(text, &p(&["accounts", "work", "server"])),
            Some(9)
        );
        assert_eq!(find_key_line(text, &p(&["accounts", "work"])), Some(8));
        assert_eq!(find_key_line(text, &p(&["email", "nope"])), None);

        // Dotted keys, inline tables and arrays of tables, as TOML has them.
        let text = "email.level = \"x\"\n[accounts]\nwork = { from = \"a\", server = 1 }\n\n[[tasks.\"T\".also]]\nto = [\"a@x\"]\n[[tasks.\"T\".also]]\nlevel = \"y\"\n";
        assert_eq!(find_key_line(text, &p(&["email", "level"])), Some(1));
        assert_eq!(
            find_key_line(text, &p(&["accounts", "work", "server"])),
            Some(3)
        );
        assert_eq!(
            find_key_line(text, &p(&["tasks", "T", "also", "1", "level"])),
            Some(8)
        );
        assert_eq!(find_key_line("not toml = = ", &p(&["x"])), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            Addresses::from_parts(["a@x, b@x", "", "c@x"]).0,
            vec!["a@x", "b@x", "c@x"]
        );
        assert_eq!(
            Addresses::from_parts([r#""Doe, John" <j@x>, Ops <o@x>, "A \"q,\" B" <q@x>"#]).0,
            vec![r#""Doe, John" <j@x>"#, "Ops <o@x>", r#""A \"q,\" B" <q@x>"#]
        );
        let list: Addresses = serde_json::from_str(r#"["\"Doe, John\" <j@x>", " o@x "]"#).unwrap();
        assert_eq!(list.0, vec![r#""Doe, John" <j@x>"#, "o@x"]);
    }

    #[test]
    fn account_paths_are_relative_to_the_config_file() {
        let mut c = Config::default();
        c.accounts.insert(
            "a".into(),
            Account {
                ca_file: Some("certs/ca.pem".into()),
                password: Some("file:pw/a".into()),
                ..Account::default()
            },
        );
        c.accounts.insert(
            "b".into(),
            Account {
                ca_file: Some("/etc/ca.pem".into()),
                password: Some("file:~/pw".into()),
                ..Account::default()
            },
        );
        c.resolve_paths(Path::new("/etc/notify"));
        assert_eq!(
            c.accounts["a"].ca_file.as_deref(),
            Some(Path::new("/etc/notify/certs/ca.pem"))
        );
        assert_eq!(
            c.accounts["a"].password.as_deref(),
            Some("file:/etc/notify/pw/a")
        );
        assert_eq!(
            c.accounts["b"].ca_file.as_deref(),
            Some(Path::new("/etc/ca.pem"))
        );
        assert_eq!(c.accounts["b"].password.as_deref(), Some("file:~/pw"));
    }

    #[test]
    fn metrics_is_a_table_or_an_array_of_tables_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        for (text, files) in [
            ("[metrics]\ntextfile = \"a.prom\"\n", vec!["a.prom"]),
            (
                "[[metrics]]\ntextfile = \"a.prom\"\n[[metrics]]\ntextfile = \"/b/b.prom\"\n",
                vec!["a.prom", "/b/b.prom"],
            ),
            ("", vec![]),
        ] {
            std::fs::write(&path, text).unwrap();
            let loaded = load(&path, true).unwrap();
            assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
            let got: Vec<PathBuf> = loaded
                .config
                .metrics
                .0
                .iter()
                .map(|m| m.textfile.clone())
                .collect();
            let want: Vec<PathBuf> = files
                .iter()
                .map(|f| std::path::absolute(dir.path()).unwrap().join(f))
                .collect();
            assert_eq!(got, want, "{text}");
        }
        std::fs::write(&path, "[metrics]\ntextfil = \"a.prom\"\n").unwrap();
        let loaded = load(&path, true).unwrap();
        assert!(
            loaded.problems.iter().any(|p| p.contains("textfil")),
            "{:?}",
            loaded.problems
        );
    }

    #[test]
    fn http_destinations_read_with_their_mistakes_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[webhook]\nurl = \"https://hooks.example.com/x\"\nlevel = \"always\"\n\
             headers = { Authorization = \"env:HOOK\" }\n\
             [[ntfy]]\nurl = \"https://ntfy.sh/a\"\n[[ntfy]]\nurl = \"https://ntfy.sh/b\"\ntimout = \"5s\"\n\
             [healthchecks]\nping_key = \"env:HC\"\nca_file = \"ca.pem\"\n\
             [tasks.\"T\".webhook]\nurl = \"https://other.example.com/\"\nlevle = \"never\"\n",
        )
        .unwrap();
        let loaded = load(&path, true).unwrap();
        let c = &loaded.config;
        assert_eq!(c.webhook.0.len(), 1);
        assert_eq!(c.webhook.0[0].level, Some(Level::Always));
        assert_eq!(c.webhook.0[0].headers["Authorization"], "env:HOOK");
        assert_eq!(c.healthchecks.0[0].ping_key.as_deref(), Some("env:HC"));
        assert_eq!(
            c.healthchecks.0[0].ca_file.as_deref(),
            Some(
                std::path::absolute(dir.path())
                    .unwrap()
                    .join("ca.pem")
                    .as_path()
            )
        );
        let problems = loaded.problems.join("\n");
        assert!(problems.contains("timout"), "{problems}");
        assert!(problems.contains("levle"), "{problems}");
    }

    #[test]
    fn a_mistake_in_an_http_table_costs_its_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[email]\nto = \"ops@example.com\"\n\
             [[webhook]]\nurl = \"https://a.example.com/\"\ntimeout = \"5 sekunden\"\n\
             [[webhook]]\nurl = \"https://b.example.com/\"\nlevle = \"always\"\n\
             [tasks.\"T\".ntfy]\nurl = \"https://ntfy.sh/t\"\nlevel = \"alwyas\"\n",
        )
        .unwrap();
        let loaded = load(&path, true).unwrap();
        let c = &loaded.config;
        assert_eq!(c.webhook.0.len(), 2);
        assert!(c.webhook.0[0].timeout.is_none());
        assert!(c.tasks["T"]
            .ntfy
            .as_ref()
            .is_some_and(|n| n.0[0].level.is_none()));
        assert!(c.email.to.is_some());
        let problems = loaded.problems.join("\n");
        assert!(problems.contains("webhook.0.timeout"), "{problems}");
        assert!(problems.contains("did you mean `level`"), "{problems}");
        assert!(problems.contains("tasks.T.ntfy.level"), "{problems}");
    }

    #[test]
    fn task_overrides_email() {
        let mut c = Config::default();
        c.email.level = Some(Level::Errors);
        c.email.body = Some("global".into());
        c.email.to = Some(Addresses(vec!["ops@x".into()]));
        let t = Settings {
            level: Some(Level::Always),
            body_file: Some("task.txt".into()),
            ..Settings::default()
        };
        c.tasks.insert("Daily".into(), t);
        let e = c.for_task("Daily");
        assert_eq!(e.settings.level, Some(Level::Always));
        assert_eq!(e.settings.body, None);
        assert_eq!(e.settings.body_file, Some(PathBuf::from("task.txt")));
        assert_eq!(e.settings.to, Some(Addresses(vec!["ops@x".into()])));
        assert_eq!(e.locale, "en");
        let e = c.for_task("Other");
        assert_eq!(e.settings.level, Some(Level::Errors));
    }
}
