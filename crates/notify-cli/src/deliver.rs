//! From a task result to a delivered notification: plan, decide, render,
//! build, deliver, remember. The wiring of SPEC section 2; every step is a
//! call into a library crate.

use std::path::Path;

use notify_core::{decide, Attachment, Level, Notification, PolicyOptions, TaskResult, Transport};
use notify_smtp::{MaildirTransport, SmtpConfig, StdoutTransport};
use notify_template::{Context, Locale, Source, Sources};
use time::{OffsetDateTime, UtcOffset};

use crate::account;
use crate::cli::DeliveryArgs;
use crate::config::{Account, Addresses, Effective, Loaded, Settings};
use crate::error::{exit, CliError};
use crate::state::StateStore;
use crate::Ui;

/// Default number of output lines kept for `##Log Tail##`.
pub const DEFAULT_LOG_TAIL_LINES: usize = 50;
/// Default cap of a log attachment (SPEC: 1 MiB, keeping the tail).
pub const DEFAULT_ATTACH_LOG_MAX: u64 = 1024 * 1024;
/// The sender of local Maildir notifications.
const LOCAL_FROM: &str = "notify <notify@localhost>";

/// What the rest of the program needs to deliver.
pub struct Env<'a> {
    pub loaded: &'a Loaded,
    /// The config file in use, or where it would be (for `account add`).
    pub config_path: &'a Path,
    pub data_dir: &'a Path,
    pub offset: UtcOffset,
    pub ui: &'a Ui,
}

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

/// A task name as shown in diagnostics: control characters escaped, so a
/// name from a JSON result cannot move the terminal's cursor.
pub fn shown(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
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
    fn for_task(env: &Env<'_>, task: &str, eff: &Effective) -> Result<Plan, CliError> {
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
    fn also(
        env: &Env<'_>,
        task: &str,
        eff: &Effective,
        account: Option<&str>,
        also: &crate::config::AlsoEmail,
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
    fn local(eff: &Effective) -> Plan {
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
        let probe = Notification {
            from: Some(self.from.clone()),
            to: self.to.clone(),
            cc: self.cc.clone(),
            bcc: self.bcc.clone(),
            reply_to: self.reply_to.clone(),
            subject: "check".to_owned(),
            text: String::new(),
            ..Notification::default()
        };
        notify_smtp::build_message(&probe).map(|_| ()).map_err(|e| {
            let hint = e.hint();
            let err = CliError::config(e.to_string());
            match hint {
                Some(h) => err.hint(h),
                None => err
                    .hint("addresses look like ops@example.com or \"Ops Team <ops@example.com>\""),
            }
        })
    }
}

/// How `notify` was asked to deliver: `run` must never lose a
/// notification to a configuration mistake, `send` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Run,
    Send,
}

/// One place a task's notifications go, with its own level and its own
/// memory of earlier runs (for the `changes` level).
struct Destination {
    /// How diagnostics name it: `email`, `desktop`, `also (account ...)`.
    label: String,
    state: StateStore,
    level: Level,
    options: PolicyOptions,
    kind: Kind,
}

enum Kind {
    /// An email, by the plan's route.
    Email(Box<Plan>),
    /// A desktop notification in this locale.
    Desktop(&'static Locale),
}

/// Everything `run` and `send` do after the job: decide, render, deliver and
/// remember, for each destination of the task (its email, `[[also]]`
/// emails, the desktop). One failing destination never keeps another from
/// being tried; the error returned is the worst (configuration, then
/// permanent, then queued), the others are reported here.
pub async fn notify(
    env: &Env<'_>,
    result: &TaskResult,
    flags: &DeliveryArgs,
    log: Option<&notify_report::Log>,
    caller: Caller,
) -> Result<u8, CliError> {
    let mut failures = Vec::new();
    let destinations = destinations(env, &result.task_name, flags, caller, &mut failures);

    // Whatever this run decides, notifications still queued from earlier
    // runs are tried first when they are due.
    if !flags.dry_run {
        crate::cmd_queue::retry_due(env).await;
    }

    let now = OffsetDateTime::now_utc();
    let run = Run {
        result,
        flags,
        log,
        now,
        several: destinations.len() > 1,
        texts: std::cell::OnceCell::new(),
        templates_reported: std::cell::Cell::new(false),
    };
    for dest in &destinations {
        if let Err(e) = deliver_to(env, dest, &run).await {
            failures.push(e);
        }
    }
    worst(failures)
}

/// What every destination of one run shares.
struct Run<'a> {
    result: &'a TaskResult,
    flags: &'a DeliveryArgs,
    log: Option<&'a notify_report::Log>,
    now: OffsetDateTime,
    several: bool,
    /// The task's templates, read once, when the first mail is rendered.
    texts: std::cell::OnceCell<TemplateTexts>,
    /// Whether their warnings were shown already.
    templates_reported: std::cell::Cell<bool>,
}

/// The destinations of `task`: its email (or the local Maildir), each
/// `[[also]]` email, and the desktop when asked for. Configuration errors
/// go to `failures`; under `run` the email falls back to the local Maildir
/// instead, so that nothing is lost.
fn destinations(
    env: &Env<'_>,
    task: &str,
    flags: &DeliveryArgs,
    caller: Caller,
    failures: &mut Vec<CliError>,
) -> Vec<Destination> {
    let name = shown(task);
    let eff = effective(env, task, flags);
    let configured_account = env.loaded.config.for_task(task).settings.account;
    let mut out = Vec::new();
    let email = |plan: Plan, label: String, state: StateStore| Destination {
        label,
        state,
        level: plan.level,
        options: plan.options,
        kind: Kind::Email(Box::new(plan)),
    };
    match Plan::for_task(env, task, &eff) {
        Ok(plan) => out.push(email(plan, "email".into(), StateStore::new(env.data_dir))),
        Err(e) if caller == Caller::Run => {
            e.report();
            env.ui.warn(&format!(
                "the notification for `{name}` goes to the local Maildir instead, so that it is not lost"
            ));
            out.push(email(
                Plan::local(&eff),
                "email".into(),
                StateStore::new(env.data_dir),
            ));
        }
        Err(e) => failures.push(e),
    }
    for also in eff.settings.also.iter().flatten() {
        let account = also_account(also, configured_account.as_deref());
        let label = format!(
            "also (account `{}`, to {})",
            account.unwrap_or("local Maildir"),
            also.to.as_ref().map_or(String::new(), |to| to.0.join(", "))
        );
        let state = StateStore::channel(env.data_dir, &also_channel(also));
        match Plan::also(env, task, &eff, account, also) {
            Ok(plan) => out.push(email(plan, label, state)),
            Err(e) if caller == Caller::Run => {
                e.prefixed(&format!("[[also]] of task `{name}`")).report();
                env.ui.warn(&format!(
                    "that notification for `{name}` goes to the local Maildir instead, so that it is not lost"
                ));
                let mut plan = Plan::local(&eff);
                plan.level = also.level.unwrap_or(plan.level);
                out.push(email(plan, label, state));
            }
            Err(e) => failures.push(e.prefixed(&format!("[[also]] of task `{name}`"))),
        }
    }
    if eff.settings.desktop_on(flags.desktop) {
        // A bad locale is reported with the email; the desktop falls back
        // to English rather than say nothing.
        let locale = match locale(&eff.locale) {
            Ok(locale) => Some(locale),
            Err(_) if caller == Caller::Run => notify_template::locale("en"),
            Err(e) => {
                failures.push(e);
                None
            }
        };
        if let Some(locale) = locale {
            out.push(Destination {
                label: "desktop".into(),
                state: StateStore::channel(env.data_dir, "desktop"),
                level: eff.settings.desktop_level(),
                options: eff.settings.policy_options(),
                kind: Kind::Desktop(locale),
            });
        }
    }
    out
}

/// The account of an `[[also]]` email: its own, else the one the task's
/// configuration names (`--account` is not for it).
fn also_account<'a>(
    also: &'a crate::config::AlsoEmail,
    configured: Option<&'a str>,
) -> Option<&'a str> {
    also.account.as_deref().or(configured)
}

/// The state channel of an `[[also]]` destination: named by its account and
/// recipients, so reordering the list keeps each one's memory.
fn also_channel(also: &crate::config::AlsoEmail) -> String {
    let mut key = also.account.clone().unwrap_or_default();
    key.push('\n');
    if let Some(to) = &also.to {
        key.push_str(&to.0.join(","));
    }
    format!("also-{:016x}", crate::state::fnv1a64(key.as_bytes()))
}

/// The most serious of `failures` as the error (configuration, then
/// permanent, then temporary); the others are reported here.
fn worst(mut failures: Vec<CliError>) -> Result<u8, CliError> {
    fn rank(code: u8) -> u8 {
        match code {
            exit::CONFIG => 3,
            exit::TEMPORARY => 1,
            exit::OK => 0,
            _ => 2,
        }
    }
    let Some(at) = (0..failures.len()).max_by_key(|&i| rank(failures[i].code())) else {
        return Ok(exit::OK);
    };
    let worst = failures.remove(at);
    for other in &failures {
        other.report();
    }
    Err(worst)
}

/// Decides, renders, delivers and remembers for one destination.
async fn deliver_to(env: &Env<'_>, dest: &Destination, run: &Run<'_>) -> Result<(), CliError> {
    let Run {
        result,
        flags,
        log,
        now,
        several,
        ..
    } = *run;
    let name = shown(&result.task_name);
    let who = if several {
        format!("{name} ({})", dest.label)
    } else {
        name.clone()
    };
    let states = &dest.state;
    let (previous, warning) = states.load(&result.task_name);
    if let Some(w) = warning {
        env.ui.warn(&w);
    }
    let decision = decide(dest.level, result, previous.as_ref(), &dest.options, now);
    let level = dest.level;
    let why = match decision.reason {
        notify_core::Reason::LevelAlways | notify_core::Reason::LevelNever => {
            decision.reason.to_string()
        }
        reason => format!("{reason}; level {level}"),
    };
    env.ui.verbose(&format!(
        "{who}: {} ({why})",
        if decision.send {
            "notifying"
        } else {
            "not notifying"
        },
    ));
    // Synced to disk when the task turns from failing to working or back:
    // losing that could hold a notice back; anything else only repeats one.
    let flipped = previous.as_ref().map(|p| p.failing) != Some(decision.state.failing);
    let remember = |state: &notify_core::TaskState| {
        if flags.dry_run {
            return;
        }
        if let Err(e) = states.save(&result.task_name, state, flipped) {
            env.ui.warn(&format!(
                "cannot save the state of `{who}` in {}: {e}",
                states.path(&result.task_name).display()
            ));
        }
    };
    if !decision.send {
        if flags.dry_run {
            env.ui.info(&format!(
                "dry run: no notification for `{who}`: {} (level {level})",
                decision.reason
            ));
        }
        remember(&decision.state);
        return Ok(());
    }

    let history = notify_template::History {
        suppressed: decision.suppressed,
        streak: decision.streak,
    };
    match &dest.kind {
        Kind::Email(plan) => {
            let report = !run.templates_reported.replace(true);
            let texts = run
                .texts
                .get_or_init(|| TemplateTexts::of(env, Some(&result.task_name)));
            let notification = render_with(env, plan, texts, report, result, &history, log, now);
            if flags.dry_run {
                StdoutTransport.send(&notification).await?;
                return Ok(());
            }
            match send_planned(env, plan, &result.task_name, &notification).await? {
                Sent::Delivered(line) => {
                    remember(&decision.state);
                    env.ui.info(&format!("notify: `{who}` {line}"));
                    Ok(())
                }
                // Queued is as good as sent for the policy: it will be
                // delivered, so the next run must not count this one as unsent.
                Sent::Queued(e) => {
                    remember(&decision.state);
                    Err(e)
                }
            }
        }
        Kind::Desktop(locale) => {
            let notification = render_desktop(env, locale, result, &history);
            let sent = desktop(env, &notification, flags.dry_run).await;
            // No queue for the desktop: a notice shown later is no use.
            remember(&decision.state);
            sent.map(|line| {
                if let Some(line) = line {
                    env.ui.info(&format!("notify: `{who}` {line}"));
                }
            })
        }
    }
}

/// The desktop notification about `result`: the locale's short summary and
/// body (with the notices about earlier runs).
fn render_desktop(
    env: &Env<'_>,
    locale: &'static Locale,
    result: &TaskResult,
    history: &notify_template::History,
) -> Notification {
    render_short(
        env,
        locale,
        result,
        history,
        locale.desktop_summary(),
        locale.desktop_body(),
        Some(result.outcome),
    )
}

/// The desktop notice that `result`'s task has started.
pub fn render_start(env: &Env<'_>, locale: &'static Locale, result: &TaskResult) -> Notification {
    let history = notify_template::History::default();
    render_short(
        env,
        locale,
        result,
        &history,
        locale.start_summary(),
        locale.start_body(),
        None,
    )
}

fn render_short(
    env: &Env<'_>,
    locale: &'static Locale,
    result: &TaskResult,
    history: &notify_template::History,
    summary: &str,
    body: &str,
    outcome: Option<notify_core::Outcome>,
) -> Notification {
    let ctx = Context {
        result,
        locale,
        offset: env.offset,
    };
    let sources = Sources {
        subject: Some(Source {
            label: "desktop summary",
            text: summary,
        }),
        body: Some(Source {
            label: "desktop body",
            text: body,
        }),
        html: None,
    };
    let rendered = notify_template::render_notification_with(&sources, &ctx, &[], history);
    Notification {
        subject: rendered.subject,
        text: rendered.text.trim_end().to_owned(),
        outcome,
        ..Notification::default()
    }
}

/// Shows a desktop notification (or prints it, for a dry run). A desktop
/// that cannot be reached (no session bus, no notification server) is a
/// one-line warning, not an error: email delivery and the exit code are
/// not affected. Returns the line to report.
pub async fn desktop(
    env: &Env<'_>,
    notification: &Notification,
    dry_run: bool,
) -> Result<Option<String>, CliError> {
    if dry_run {
        crate::emit(&format!(
            "--- desktop notification ---\nSummary: {}\n\n{}\n",
            notification.subject, notification.text
        ));
        return Ok(None);
    }
    match notify_desktop::DesktopTransport::new()
        .send(notification)
        .await
    {
        Ok(delivery) => Ok(Some(format!("→ {}", delivery.detail))),
        Err(e) if e.kind() == notify_core::ErrorKind::Temporary => {
            // Once per run: with `notify_on_start` it would come twice.
            static WARNED: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(false);
            if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                env.ui.warn(&e.to_string());
                if let Some(hint) = e.hint() {
                    env.ui.verbose(&format!("hint: {hint}"));
                }
            }
            Ok(None)
        }
        Err(e) => Err(CliError::from(e)),
    }
}

/// How [`send_planned`] got on.
pub enum Sent {
    /// Delivered; one line saying where.
    Delivered(String),
    /// Not delivered yet, but queued for retry; the error says why (exit 75).
    Queued(CliError),
}

/// Delivers a rendered notification the way `plan` says. A temporary SMTP
/// failure queues it ([`Sent::Queued`]); any other failure keeps a copy in
/// the local Maildir and returns the error.
pub async fn send_planned(
    env: &Env<'_>,
    plan: &Plan,
    task: &str,
    notification: &Notification,
) -> Result<Sent, CliError> {
    match &plan.route {
        Route::Maildir => {
            let delivery = maildir(env).send(notification).await?;
            Ok(Sent::Delivered(if plan.fallback {
                format!(
                    "→ local Maildir {} (because of the configuration error above)",
                    delivery.detail
                )
            } else {
                format!(
                    "→ local Maildir {} (no email account is configured; see the README, \"Send through your mail provider\")",
                    delivery.detail
                )
            }))
        }
        Route::Smtp {
            name: account_name,
            account,
            config,
        } => {
            // Notifications given up on earlier are mentioned once, in the
            // next mail that gets through this account.
            let queue = crate::queue::Queue::new(env.data_dir);
            let given_up: Vec<_> = queue
                .unreported_failures()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| e.account.as_deref() == Some(account_name.as_str()))
                .collect();
            let mut notification = notification.clone();
            if !given_up.is_empty() {
                let notice = plan
                    .locale
                    .given_up(given_up.len(), &crate::computer_name());
                notification.text = format!("{notice}\n\n{}", notification.text);
                notification.html = notification
                    .html
                    .map(|page| notify_template::with_notices(&page, &[notice]));
            }
            let sent = async {
                let transport =
                    account::transport(account_name, account, (**config).clone(), env.ui)?;
                transport.send(&notification).await.map_err(CliError::from)
            }
            .await;
            match sent {
                Ok(delivery) => {
                    if !given_up.is_empty() {
                        if let Err(e) = queue.mark_reported(given_up) {
                            env.ui.warn(&format!(
                                "cannot mark given-up notifications as reported: {e}"
                            ));
                        }
                    }
                    Ok(Sent::Delivered(format!(
                        "sent to {} through account `{account_name}`: {}",
                        notification.to.join(", "),
                        delivery.detail
                    )))
                }
                Err(e) if e.code() == exit::TEMPORARY => {
                    // Temporary: queue it; every later notify retries it.
                    match queue.enqueue(
                        Some(account_name),
                        task,
                        &notification,
                        e.message(),
                        OffsetDateTime::now_utc(),
                    ) {
                        Ok(id) => {
                            env.ui.warn(&format!(
                                "not sent yet; queued as {id} and retried by the next notify run (or now: `notify queue flush`)"
                            ));
                            Ok(Sent::Queued(e))
                        }
                        Err(queue_err) => {
                            keep_local_copy(env, &notification).await;
                            Err(e.hint(format!("the queue in {} is not writable ({queue_err}); a copy is in the local Maildir", queue.dir().display())))
                        }
                    }
                }
                Err(e) => {
                    keep_local_copy(env, &notification).await;
                    Err(e)
                }
            }
        }
    }
}

/// Keeps a copy of a notification that could not be sent where the user can
/// find it.
async fn keep_local_copy(env: &Env<'_>, notification: &Notification) {
    match maildir(env).send(notification).await {
        Ok(copy) => env.ui.warn(&format!(
            "not sent; a copy is in the local Maildir: {}",
            copy.detail
        )),
        Err(copy_err) => env.ui.warn(&format!(
            "not sent, and no local copy could be kept: {copy_err}"
        )),
    }
}

pub fn maildir(env: &Env<'_>) -> MaildirTransport {
    MaildirTransport::new(env.data_dir.join("maildir")).with_hostname(&crate::computer_name())
}

/// Renders the mail for `result` according to `plan`.
pub fn render(
    env: &Env<'_>,
    plan: &Plan,
    result: &TaskResult,
    history: &notify_template::History,
    log: Option<&notify_report::Log>,
    now: OffsetDateTime,
) -> Notification {
    let texts = TemplateTexts::of(env, Some(&result.task_name));
    render_with(env, plan, &texts, true, result, history, log, now)
}

/// [`render`] with the templates read already; `report` says whether the
/// template warnings go to stderr (once per run, not per destination).
#[allow(clippy::too_many_arguments)]
fn render_with(
    env: &Env<'_>,
    plan: &Plan,
    texts: &TemplateTexts,
    report: bool,
    result: &TaskResult,
    history: &notify_template::History,
    log: Option<&notify_report::Log>,
    now: OffsetDateTime,
) -> Notification {
    let ctx = Context {
        result,
        locale: plan.locale,
        offset: env.offset,
    };
    let mut rendered =
        notify_template::render_notification_with(&texts.sources(plan.locale), &ctx, &[], history);
    if report {
        for w in texts.notes.iter().chain(&rendered.warnings) {
            env.ui.warn(w);
        }
    }
    if !texts.notes.is_empty() {
        let mut text = texts.notes.join("\n");
        text.push_str("\n\n");
        text.push_str(&rendered.text);
        rendered.text = text;
    }

    let settings = &plan.eff.settings;
    let mut attachments = Vec::new();
    if settings.attach_log.unwrap_or(false) {
        if let Some(log) = log.filter(|l| !l.is_empty()) {
            let max = settings
                .attach_log_max
                .unwrap_or(DEFAULT_ATTACH_LOG_MAX)
                .max(1);
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            // Cut at a line boundary, with a line saying what was cut.
            let data = log.attachment(max);
            // Labelled UTF-8 only when it is; other bytes go as they are.
            let content_type = if std::str::from_utf8(&data).is_ok() {
                "text/plain; charset=utf-8"
            } else {
                "application/octet-stream"
            };
            attachments.push(Attachment {
                filename: "log.txt".to_owned(),
                content_type: content_type.to_owned(),
                data,
            });
        }
    }
    let domain = account::bare_address(&plan.from)
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    Notification {
        from: Some(plan.from.clone()),
        to: plan.to.clone(),
        cc: plan.cc.clone(),
        bcc: plan.bcc.clone(),
        reply_to: plan.reply_to.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        attachments,
        message_id: Some(notify_smtp::new_message_id(domain)),
        date: Some(now.to_offset(env.offset)),
        outcome: Some(result.outcome),
    }
}

/// The local user's name, made safe for an address's local part.
fn local_user() -> String {
    let user = std::env::var(crate::env_vars::USER).unwrap_or_default();
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
