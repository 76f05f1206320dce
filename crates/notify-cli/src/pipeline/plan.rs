//! What is settled before the job's result is known: the task's effective
//! settings, its templates, locale, addresses and route.

use notify_core::{Level, Notification, PolicyOptions};
use notify_smtp::SmtpConfig;
use notify_template::{Locale, Source, Sources};

use crate::app::account;
use crate::app::cli::DeliveryArgs;
use crate::app::config::{Account, Addresses, AlsoEmail, Effective, Settings};
use crate::app::error::CliError;
use crate::app::{shown, Env};

/// Default number of output lines kept for `##Log Tail##`.
pub const DEFAULT_LOG_TAIL_LINES: usize = 50;

/// The sender of local Maildir notifications.
const LOCAL_FROM: &str = "notify <notify@localhost>";

/// The effective settings of a task with the command-line flags applied.
pub fn effective(env: &Env<'_>, task: &str, flags: &DeliveryArgs) -> Effective {
    let mut eff = env.loaded.config.for_task(task);
    let s = &mut eff.settings;
    if let Some(level) = flags.level {
        s.level = Some(level);
    }
    if !flags.to.is_empty() {
        s.to = Some(Addresses::from_parts(&flags.to));
    }
    if !flags.cc.is_empty() {
        s.cc = Some(Addresses::from_parts(&flags.cc));
    }
    if !flags.bcc.is_empty() {
        s.bcc = Some(Addresses::from_parts(&flags.bcc));
    }
    if let Some(r) = &flags.reply_to {
        s.reply_to = Some(r.clone());
    }
    if let Some(account) = &flags.account {
        s.account = Some(account.clone());
    }
    if flags.attach_log {
        s.attach_log = Some(true);
    }
    eff
}

/// The subject, body and HTML templates of a task, each with the label of
/// where it came from (`email.subject`, `tasks."T".body`, a file path), and
/// notes about templates that could not be read.
pub struct TemplateTexts {
    pub subject: Option<(String, String)>,
    pub body: Option<(String, String)>,
    pub html: Option<(String, String)>,
    pub notes: Vec<String>,
}

impl TemplateTexts {
    /// The templates in force for `task` (`None`: the `[email]` ones).
    pub fn of(env: &Env<'_>, task: Option<&str>) -> Self {
        let config = &env.loaded.config;
        let task_table = task.and_then(|t| config.tasks.get(t).map(|s| (t, s)));
        // The table each template comes from: the task's own when it sets it.
        let pick = |set: &dyn Fn(&Settings) -> bool| -> (String, &Settings) {
            match task_table {
                Some((t, s)) if set(s) => (format!("tasks.\"{}\"", shown(t)), s),
                _ => ("email".to_owned(), &config.email),
            }
        };
        let mut notes = Vec::new();
        let (scope, s) = pick(&|s| s.subject.is_some());
        let subject = s.subject.clone().map(|t| (format!("{scope}.subject"), t));
        let (scope, s) = pick(&|s| s.body.is_some() || s.body_file.is_some());
        let body = read_template(env, &s.body, &s.body_file, &scope, "body", &mut notes);
        let (scope, s) = pick(&|s| s.html.is_some() || s.html_file.is_some());
        let html = read_template(env, &s.html, &s.html_file, &scope, "html", &mut notes);
        TemplateTexts {
            subject,
            body,
            html,
            notes,
        }
    }

    /// The templates as the renderer takes them; `html = "default"` is
    /// `locale`'s built-in HTML body.
    pub fn sources(&self, locale: &'static Locale) -> Sources<'_> {
        fn src(p: &Option<(String, String)>) -> Option<Source<'_>> {
            p.as_ref().map(|(label, text)| Source {
                label: label.as_str(),
                text: text.as_str(),
            })
        }
        let html = src(&self.html).map(|source| {
            if source.text.trim().eq_ignore_ascii_case("default") {
                Source {
                    label: source.label,
                    text: locale.default_html(),
                }
            } else {
                source
            }
        });
        Sources {
            subject: src(&self.subject),
            body: src(&self.body),
            html,
        }
    }
}

/// Reads a template given inline or as a file (relative to the config
/// file's directory). A file that cannot be read becomes a note and the
/// default template is used: a notification is never lost to a missing
/// template file.
fn read_template(
    env: &Env<'_>,
    inline: &Option<String>,
    file: &Option<std::path::PathBuf>,
    scope: &str,
    key: &str,
    notes: &mut Vec<String>,
) -> Option<(String, String)> {
    if let Some(text) = inline {
        return Some((format!("{scope}.{key}"), text.clone()));
    }
    let file = file.as_ref()?;
    let path = env.loaded.base_dir().join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some((path.display().to_string(), text)),
        Err(e) => {
            notes.push(format!(
                "{scope}.{key}_file: cannot read {} ({e}); the default template was used",
                path.display()
            ));
            None
        }
    }
}

/// The locale of a task, or a config error naming the bad value.
pub fn locale(code: &str) -> Result<&'static Locale, CliError> {
    notify_template::locale(code).ok_or_else(|| {
        let known: Vec<&str> = notify_template::locales()
            .iter()
            .map(|l| l.code())
            .collect();
        CliError::config(format!("unknown locale `{code}`"))
            .hint(format!("use one of: {}", known.join(", ")))
    })
}

/// Where a notification goes.
pub enum Route {
    /// Through an SMTP account (the password is fetched only when sending).
    Smtp {
        name: String,
        account: Box<Account>,
        config: Box<SmtpConfig>,
    },
    /// Into the local Maildir.
    Maildir,
}

/// Everything decided before the job's result is known: settings, locale,
/// addresses, route. Checked on every run, so that a mistake shows up on the
/// first run, not on the first failure.
pub struct Plan {
    /// Whether this is the last-resort plan, after a configuration error.
    pub fallback: bool,
    pub eff: Effective,
    pub level: Level,
    pub options: PolicyOptions,
    pub locale: &'static Locale,
    pub route: Route,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub reply_to: Option<String>,
}

/// Who gets an email: the account to send from and the recipients.
struct Recipients<'a> {
    account: Option<&'a str>,
    to: Option<&'a Addresses>,
    cc: Option<&'a Addresses>,
    bcc: Option<&'a Addresses>,
    level: Level,
}

impl Plan {
    /// Checks and resolves the settings of `task`.
    pub fn new(env: &Env<'_>, task: &str, flags: &DeliveryArgs) -> Result<Plan, CliError> {
        Self::for_task(env, task, &effective(env, task, flags))
    }

    /// [`Plan::new`] from the task's settings with the flags applied.
    pub(super) fn for_task(env: &Env<'_>, task: &str, eff: &Effective) -> Result<Plan, CliError> {
        let s = &eff.settings;
        let who = Recipients {
            account: s.account.as_deref(),
            to: s.to.as_ref(),
            cc: s.cc.as_ref(),
            bcc: s.bcc.as_ref(),
            level: s.level(),
        };
        Self::build(env, task, eff, &who)
    }

    /// The plan of an `[[also]]` email of `task` (`eff`: its settings with
    /// the flags applied), through `account` (see [`also_account`]), to its
    /// own recipients (required), at its own level (or the task's). Of the
    /// command-line flags only `--level` reaches it: `--to`, `--account` and
    /// the others change the task's own email.
    pub(super) fn also(
        env: &Env<'_>,
        task: &str,
        eff: &Effective,
        account: Option<&str>,
        also: &AlsoEmail,
    ) -> Result<Plan, CliError> {
        let s = &eff.settings;
        let Some(to) = also.to.as_ref().filter(|to| !to.0.is_empty()) else {
            return Err(CliError::config("an [[also]] destination has no `to`")
                .hint("give each [[also]] entry its recipients: to = [\"me@example.org\"]"));
        };
        let who = Recipients {
            account,
            to: Some(to),
            cc: also.cc.as_ref(),
            bcc: also.bcc.as_ref(),
            level: also.level.unwrap_or(s.level()),
        };
        Self::build(env, task, eff, &who)
    }

    fn build(
        env: &Env<'_>,
        task: &str,
        eff: &Effective,
        who: &Recipients<'_>,
    ) -> Result<Plan, CliError> {
        let s = &eff.settings;
        let locale = locale(&eff.locale)?;
        let route = match who.account {
            None => Route::Maildir,
            Some(name) => {
                let account = env
                    .loaded
                    .config
                    .accounts
                    .get(name)
                    .ok_or_else(|| account::unknown_account(&env.loaded.config, name))?;
                let config = account::smtp_config(name, account, env.ui)?;
                Route::Smtp {
                    name: name.to_owned(),
                    account: Box::new(account.clone()),
                    config: Box::new(config),
                }
            }
        };
        let (from, to) = match &route {
            Route::Maildir => (
                LOCAL_FROM.to_owned(),
                match who.to {
                    Some(list) if !list.0.is_empty() => list.0.clone(),
                    _ => vec![format!("{}@localhost", local_user())],
                },
            ),
            Route::Smtp { name, account, .. } => {
                let from = account.from.clone().ok_or_else(|| {
                    CliError::config(format!("account `{name}` has no `from` address"))
                        .hint("add from = \"Backups <backup@example.com>\" to [accounts.NAME]")
                })?;
                let to = match who.to {
                    Some(list) if !list.0.is_empty() => list.0.clone(),
                    _ => {
                        return Err(CliError::config(format!(
                            "no recipient for task `{}`",
                            shown(task)
                        ))
                        .hint("set `to` under [email] or the task's table, or pass --to ADDR"))
                    }
                };
                (from, to)
            }
        };
        let plan = Plan {
            fallback: false,
            level: who.level,
            options: s.policy_options(),
            locale,
            route,
            from,
            to,
            cc: who.cc.map(|a| a.0.clone()).unwrap_or_default(),
            bcc: who.bcc.map(|a| a.0.clone()).unwrap_or_default(),
            reply_to: s.reply_to.clone(),
            eff: eff.clone(),
        };
        plan.check_addresses()?;
        Ok(plan)
    }

    /// The plan of last resort: the task's level, but English if its locale
    /// is bad, and the local Maildir.
    pub(super) fn local(eff: &Effective) -> Plan {
        let s = &eff.settings;
        Plan {
            fallback: true,
            level: s.level(),
            options: s.policy_options(),
            locale: notify_template::locale(&eff.locale)
                .unwrap_or_else(|| notify_template::locales()[0]),
            route: Route::Maildir,
            from: LOCAL_FROM.to_owned(),
            to: vec![format!("{}@localhost", local_user())],
            cc: Vec::new(),
            bcc: Vec::new(),
            reply_to: None,
            eff: eff.clone(),
        }
    }

    /// Validates every address exactly as delivery will, by building a
    /// message with them.
    fn check_addresses(&self) -> Result<(), CliError> {
        let probe = {
            let mut built = Notification::default();
            built.from = Some(self.from.clone());
            built.to = self.to.clone();
            built.cc = self.cc.clone();
            built.bcc = self.bcc.clone();
            built.reply_to = self.reply_to.clone();
            built.subject = "check".to_owned();
            built.text = String::new();
            built
        };
        notify_smtp::build_message(&probe).map(|_| ()).map_err(|e| {
            let hint = e.hint().map(|h| crate::app::hints::smtp(&h));
            let err = CliError::config(e.to_string());
            match hint {
                Some(h) => err.hint(h),
                None => err
                    .hint("addresses look like ops@example.com or \"Ops Team <ops@example.com>\""),
            }
        })
    }
}

/// The local user's name, made safe for an address's local part.
fn local_user() -> String {
    let user = std::env::var(crate::app::env_vars::USER).unwrap_or_default();
    if !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        user
    } else {
        "root".to_owned()
    }
}
