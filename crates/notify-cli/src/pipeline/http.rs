//! The HTTP destinations of a task (`[webhook]`, `[ntfy]`,
//! `[healthchecks]`, SPEC sections 9 and 11): which ones, by which route
//! the queue keeps them, and the spec the wiring builds a transport from,
//! with its secrets read and its `ca_file` loaded.

use std::time::Duration;

use notify_core::Level;
use notify_http::healthchecks::slug;
use notify_http::{Check, NtfyAuth};
use notify_secrets::SecretRef;
use notify_secrets::SecretString;

use super::connect::{Connect, Failure};
use crate::app::config::{Config, Healthchecks, HttpCommon, Ntfy, OneOrMany, Settings, Webhook};

use crate::app::error::{exit, CliError};
use crate::app::Env;

/// How long notify waits for an HTTP destination, unless its `timeout`
/// says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which kind of HTTP destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpKind {
    Webhook,
    Ntfy,
    Healthchecks,
}

impl HttpKind {
    /// Its config key (and its name in messages).
    pub fn key(self) -> &'static str {
        match self {
            HttpKind::Webhook => "webhook",
            HttpKind::Ntfy => "ntfy",
            HttpKind::Healthchecks => "healthchecks",
        }
    }
}

/// One HTTP destination as configured.
#[derive(Debug, Clone)]
pub enum HttpConfig {
    Webhook(Webhook),
    Ntfy(Ntfy),
    Healthchecks(Healthchecks),
}

impl HttpConfig {
    pub fn kind(&self) -> HttpKind {
        match self {
            HttpConfig::Webhook(_) => HttpKind::Webhook,
            HttpConfig::Ntfy(_) => HttpKind::Ntfy,
            HttpConfig::Healthchecks(_) => HttpKind::Healthchecks,
        }
    }

    fn common(&self) -> HttpCommon {
        match self {
            HttpConfig::Webhook(w) => w.common(),
            HttpConfig::Ntfy(n) => n.common(),
            HttpConfig::Healthchecks(h) => h.common(),
        }
    }

    /// The route the queue keeps for it: `http:KIND:NAME`, with its `name`
    /// or a hash of what makes it the destination it is (its URL, the
    /// references of its secrets as written, its slug, its level); never
    /// the URL itself, whose path may be a token. Its timeout and
    /// `ca_file` may change without changing it.
    pub fn route(&self) -> String {
        let common = self.common();
        let id = match &common.name {
            Some(name) => name.clone(),
            None => {
                let mut key = format!("{:?}\n", common.level);
                match self {
                    HttpConfig::Webhook(w) => {
                        key.push_str(&w.url);
                        for (name, value) in &w.headers {
                            key.push_str(&format!("\n{name}: {value}"));
                        }
                    }
                    HttpConfig::Ntfy(n) => key.push_str(&format!(
                        "{}\n{:?}\n{:?}\n{:?}\n{:?}",
                        n.url, n.token, n.user, n.password, n.click
                    )),
                    HttpConfig::Healthchecks(h) => key.push_str(&format!(
                        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
                        h.url, h.server, h.ping_key, h.slug, h.create
                    )),
                }
                format!("{:016x}", notify_queue::stable_hash(key.as_bytes()))
            }
        };
        format!("http:{}:{id}", self.kind().key())
    }

    /// How diagnostics name it: `webhook`, `ntfy "name"`.
    pub fn label(&self) -> String {
        match &self.common().name {
            Some(name) => format!("{} `{name}`", self.kind().key()),
            None => self.kind().key().to_owned(),
        }
    }

    /// Its level: its own, else Healthchecks `always` (a monitor needs
    /// every run), the others the task's.
    pub fn level(&self, task_level: Level) -> Level {
        match (self.common().level, self.kind()) {
            (Some(level), _) => level,
            (None, HttpKind::Healthchecks) => Level::Always,
            (None, _) => task_level,
        }
    }
}

/// A destination with the route it goes by: two tables alike (or with one
/// `name`) are told apart by `~2`, `~3` after the route of the first, so
/// each keeps its own state and queue entries.
#[derive(Debug, Clone)]
pub struct HttpDest {
    pub config: HttpConfig,
    pub route: String,
}

/// The HTTP destinations of a task: its own tables of each kind where it
/// has them, else the top-level ones.
pub fn of_task(config: &Config, settings: &Settings) -> Vec<HttpDest> {
    let mut seen: Vec<String> = Vec::new();
    configs_of_task(config, settings)
        .into_iter()
        .map(|c| {
            let base = c.route();
            let mut route = base.clone();
            let mut n = 1;
            while seen.contains(&route) {
                n += 1;
                route = format!("{base}~{n}");
            }
            seen.push(route.clone());
            HttpDest { config: c, route }
        })
        .collect()
}

fn configs_of_task(config: &Config, settings: &Settings) -> Vec<HttpConfig> {
    fn pick<T: Clone>(own: &Option<OneOrMany<T>>, top: &OneOrMany<T>) -> Vec<T> {
        own.as_ref().map_or_else(|| top.0.clone(), |o| o.0.clone())
    }
    let mut out = Vec::new();
    out.extend(
        pick(&settings.webhook, &config.webhook)
            .into_iter()
            .map(HttpConfig::Webhook),
    );
    out.extend(
        pick(&settings.ntfy, &config.ntfy)
            .into_iter()
            .map(HttpConfig::Ntfy),
    );
    out.extend(
        pick(&settings.healthchecks, &config.healthchecks)
            .into_iter()
            .map(HttpConfig::Healthchecks),
    );
    out
}

/// The destination a queued entry's `route` names, among those of `task`
/// (its own, or the top-level ones).
pub fn by_route(config: &Config, task: &str, route: &str) -> Option<HttpDest> {
    let settings = config.for_task(task).settings;
    of_task(config, &settings)
        .into_iter()
        .find(|d| d.route == route)
}

/// When a destination's secrets are read, which decides what a secret that
/// cannot be had means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsAt {
    /// For this run's own notification: a configuration error.
    Run,
    /// For a queued one, perhaps in another process than the one that
    /// queued it (another cron line, the check timer, with another
    /// environment): temporary, so that it stays queued for a notify that
    /// has the secret.
    Retry,
}

/// What the wiring builds an HTTP transport from: the target with its
/// secrets read, the timeout and the extra trusted certificates.
pub struct HttpSpec {
    pub target: HttpTarget,
    pub timeout: Duration,
    pub ca_pem: Option<Vec<u8>>,
    /// Where `ca_pem` came from, for messages.
    pub ca_file: Option<String>,
}

/// Where an HTTP destination sends, secrets included.
pub enum HttpTarget {
    Webhook {
        url: notify_http::Uri,
        headers: Vec<(String, SecretString)>,
    },
    Ntfy {
        url: notify_http::Uri,
        auth: Option<NtfyAuth>,
        click: Option<String>,
    },
    Healthchecks(Check),
}

/// The spec of `dest` for a notification about `task`: its URL checked,
/// its secrets read from their stores, its `ca_file` read. A store that
/// cannot be reached now is [`Failure::Temporary`]; any other mistake is
/// [`Failure::Config`].
pub fn spec(
    env: &Env<'_>,
    connect: &dyn Connect,
    dest: &HttpConfig,
    task: &str,
    when: SecretsAt,
) -> Result<HttpSpec, Failure> {
    let label = dest.label();
    let config_error = |what: String| Failure::Config(CliError::config(format!("{label}: {what}")));
    let url = |text: &str, key: &str| {
        notify_http::parse_url(text).map_err(|e| {
            Failure::Config(
                CliError::config(format!("{label}: `{key}` {e}"))
                    .hint("write the whole URL, e.g. https://hooks.example.com/notify"),
            )
        })
    };
    let secret =
        |value: &str, key: &str| read_secret(env, connect, &label, dest.kind(), value, key, when);
    let target = match dest {
        HttpConfig::Webhook(w) => HttpTarget::Webhook {
            url: url(&w.url, "url")?,
            headers: w
                .headers
                .iter()
                .map(|(name, value)| {
                    Ok((name.clone(), secret(value, &format!("headers.{name}"))?))
                })
                .collect::<Result<_, Failure>>()?,
        },
        HttpConfig::Ntfy(n) => {
            let auth = match (&n.token, &n.user, &n.password) {
                (Some(token), None, None) => Some(NtfyAuth::Token(secret(token, "token")?)),
                (None, Some(user), Some(password)) => Some(NtfyAuth::Basic {
                    user: user.clone(),
                    password: secret(password, "password")?,
                }),
                (None, None, None) => None,
                _ => {
                    return Err(config_error(
                        "set either `token`, or `user` and `password`".into(),
                    ))
                }
            };
            HttpTarget::Ntfy {
                url: url(&n.url, "url")?,
                auth,
                click: n.click.clone(),
            }
        }
        HttpConfig::Healthchecks(h) => match (&h.url, &h.ping_key) {
            (Some(u), None) => HttpTarget::Healthchecks(Check::Url(url(u, "url")?)),
            (None, Some(key)) => {
                let server = h.server.as_deref().unwrap_or("https://hc-ping.com");
                let slug = h.slug.clone().unwrap_or_else(|| slug(task));
                if slug.is_empty() {
                    return Err(config_error(format!(
                        "the task name `{}` makes no slug; set `slug = \"...\"`",
                        crate::app::shown(task)
                    )));
                }
                HttpTarget::Healthchecks(Check::Slug {
                    server: url(server, "server")?,
                    ping_key: secret(key, "ping_key")?,
                    slug,
                    create: h.create.unwrap_or(true),
                })
            }
            _ => {
                return Err(Failure::Config(
                    CliError::config(format!(
                        "{label}: set either `url` (one check's ping URL) or `ping_key` (checks by slug)"
                    ))
                    .hint("url = \"https://hc-ping.com/<uuid>\", or ping_key = \"env:HC_PING_KEY\""),
                ))
            }
        },
    };
    let common = dest.common();
    let (ca_pem, ca_file) = match &common.ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                config_error(format!("cannot read ca_file {}: {e}", path.display()))
            })?;
            (Some(pem), Some(path.display().to_string()))
        }
        None => (None, None),
    };
    Ok(HttpSpec {
        target,
        timeout: common.timeout.map_or(DEFAULT_TIMEOUT, |t| {
            t.0.try_into().unwrap_or(DEFAULT_TIMEOUT)
        }),
        ca_pem,
        ca_file,
    })
}

/// The start pings of a run: every Healthchecks destination of `task`
/// whose level is not `never`, its secrets read now (before the job
/// starts, so that a slow `cmd:` never holds the job's output back).
pub struct StartPings {
    pings: Vec<(String, Box<dyn notify_core::Transport>)>,
}

impl StartPings {
    /// Reads the destinations' secrets and builds their transports; a
    /// destination that cannot be had is a warning (its end ping says the
    /// same again, as an error).
    pub fn prepare(
        env: &Env<'_>,
        connect: &dyn Connect,
        task: &str,
        eff: &crate::app::config::Effective,
    ) -> StartPings {
        let mut pings = Vec::new();
        for dest in of_task(&env.loaded.config, &eff.settings) {
            let c = &dest.config;
            if c.kind() != HttpKind::Healthchecks || c.level(eff.settings.level()) == Level::Never {
                continue;
            }
            let made = spec(env, connect, c, task, SecretsAt::Run)
                .and_then(|spec| connect.http(spec, true).map_err(Failure::of));
            match made {
                Ok(transport) => pings.push((c.label(), transport)),
                Err(failure) => env.ui.warn(&format!(
                    "no start ping of `{}` to {}: {}",
                    crate::app::shown(task),
                    c.label(),
                    failure.into_error().message()
                )),
            }
        }
        StartPings { pings }
    }

    /// Sends them with run id `rid`, each bounded by its timeout. A
    /// failure is a warning: a start ping is not queued (it is no use
    /// later), and the end ping follows regardless.
    pub async fn send(self, env: &Env<'_>, task: &str, rid: &str) {
        let mut start = notify_core::Notification::new("start", "");
        start.run_id = Some(rid.to_owned());
        for (label, transport) in self.pings {
            let sent = tokio::select! {
                sent = transport.send(&start) => sent,
                _ = crate::app::stop::requested() => return,
            };
            match sent {
                Ok(delivery) => env.ui.verbose(&format!(
                    "notify: `{}` started: {}",
                    crate::app::shown(task),
                    delivery.detail
                )),
                Err(e) => env.ui.warn(&format!(
                    "the start ping of `{}` to {label}: {e}",
                    crate::app::shown(task),
                )),
            }
        }
    }
}

/// A value that is a secret-store reference (`env:VAR`, `file:PATH`,
/// `cmd:COMMAND`, `keychain`), read from that store (the keychain entry is
/// named by the destination's kind); any other value is the secret itself.
fn read_secret(
    env: &Env<'_>,
    connect: &dyn Connect,
    label: &str,
    kind: HttpKind,
    value: &str,
    key: &str,
    when: SecretsAt,
) -> Result<SecretString, Failure> {
    let Ok(reference) = value.trim().parse::<SecretRef>() else {
        return Ok(SecretString::from(value.to_owned()));
    };
    let name = format!("{label} {key}");
    if matches!(reference, SecretRef::Command(_)) {
        if let Some(why) = &env.loaded.config.cmd_refused {
            return Err(Failure::Config(
                CliError::config(format!(
                    "{name}: not running the command: {why}, so anyone who can change it could \
                     run commands as this user"
                ))
                .hint("make the file yours and writable by you only: chown $USER FILE; chmod 600 FILE"),
            ));
        }
    }
    let reference = reference.resolve_relative(&env.loaded.base_dir());
    let store = connect.secret_store(&reference).ok_or_else(|| {
        Failure::Config(
            CliError::config(format!(
                "{name}: \"keychain\" needs the OS keychain, which this build of notify does not include"
            ))
            .hint("use \"env:VAR\", \"file:PATH\" or \"cmd:COMMAND\""),
        )
    })?;
    store.get(kind.key()).map_err(|e| {
        let mut err = CliError::config(format!("{name}: {e}"));
        if let Some(hint) = crate::app::hints::secret(&e) {
            err = err.hint(hint);
        }
        match (e.kind(), when) {
            (notify_secrets::ErrorKind::Unavailable, _) | (_, SecretsAt::Retry) => {
                Failure::Temporary(err.with_code(exit::TEMPORARY))
            }
            _ => Failure::Config(err),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Format as _;

    fn webhook(url: &str, name: Option<&str>) -> HttpConfig {
        let toml = format!(
            "url = \"{url}\"\n{}",
            name.map_or(String::new(), |n| format!("name = \"{n}\"\n"))
        );
        HttpConfig::Webhook(
            figment::Figment::from(figment::providers::Toml::string(&toml))
                .extract()
                .unwrap(),
        )
    }

    #[test]
    fn routes_never_hold_the_url() {
        let secret_url = "https://hooks.slack.com/services/T0/B0/s3cr3t";
        let r = webhook(secret_url, None).route();
        assert!(r.starts_with("http:webhook:"), "{r}");
        assert!(!r.contains("s3cr3t"), "{r}");
        assert_eq!(r, webhook(secret_url, None).route());
        assert_ne!(r, webhook("https://other.example.com/", None).route());
        assert_eq!(
            webhook(secret_url, Some("team")).route(),
            "http:webhook:team"
        );
    }

    #[test]
    fn healthchecks_pings_every_run_by_default() {
        let hc = HttpConfig::Healthchecks(
            figment::Figment::from(figment::providers::Toml::string(
                "url = \"https://hc-ping.com/x\"",
            ))
            .extract::<Healthchecks>()
            .unwrap(),
        );
        assert_eq!(hc.level(Level::Errors), Level::Always);
        assert_eq!(
            webhook("https://x/", None).level(Level::Errors),
            Level::Errors
        );
    }
}
