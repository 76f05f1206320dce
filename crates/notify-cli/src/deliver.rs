//! From a task result to a delivered notification: decide, render, build,
//! deliver, remember. The wiring of SPEC section 2; every step is a call into
//! a library crate.

use std::path::{Path, PathBuf};

use notify_core::{
    decide, Attachment, Level, Notification, PolicyOptions, TaskResult, Transport,
    DEFAULT_REMIND_EVERY,
};
use notify_smtp::{MaildirTransport, StdoutTransport};
use notify_template::{Context, Source, Sources};
use time::{OffsetDateTime, UtcOffset};

use crate::cli::DeliveryArgs;
use crate::config::{Addresses, Effective, Loaded};
use crate::error::{exit, CliError};
use crate::state::StateStore;
use crate::Ui;

/// Default number of output lines kept for `##Log Tail##`.
pub const DEFAULT_LOG_TAIL_LINES: usize = 50;
/// Default cap of a log attachment (SPEC: 1 MiB, keeping the tail).
pub const DEFAULT_ATTACH_LOG_MAX: u64 = 1024 * 1024;

/// What the rest of the program needs to deliver.
pub struct Env<'a> {
    pub loaded: &'a Loaded,
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
    if let Some(account) = &flags.account {
        s.account = Some(account.clone());
    }
    if flags.attach_log {
        s.attach_log = Some(true);
    }
    eff
}

/// Reads a template given inline or as a file (relative to the config
/// file's directory). A file that cannot be read is reported and treated as
/// absent, so the default template is used: a notification is never lost to
/// a missing template file.
fn template_text(
    env: &Env<'_>,
    inline: &Option<String>,
    file: &Option<PathBuf>,
    key: &str,
) -> Option<(String, String)> {
    if let Some(text) = inline {
        return Some((key.to_owned(), text.clone()));
    }
    let file = file.as_ref()?;
    let path = env.loaded.base_dir().join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some((path.display().to_string(), text)),
        Err(e) => {
            env.ui.warn(&format!(
                "cannot read the template {} ({e}); using the default template",
                path.display()
            ));
            None
        }
    }
}

/// The subject, body and HTML template sources of a task: (label, text).
pub struct TemplateTexts {
    pub subject: Option<(String, String)>,
    pub body: Option<(String, String)>,
    pub html: Option<(String, String)>,
}

impl TemplateTexts {
    pub fn of(env: &Env<'_>, eff: &Effective, scope: &str) -> Self {
        let s = &eff.settings;
        TemplateTexts {
            subject: s.subject.clone().map(|t| (format!("{scope}.subject"), t)),
            body: template_text(env, &s.body, &s.body_file, &format!("{scope}.body")),
            html: template_text(env, &s.html, &s.html_file, &format!("{scope}.html")),
        }
    }

    pub fn sources(&self) -> Sources<'_> {
        fn src(p: &Option<(String, String)>) -> Option<Source<'_>> {
            p.as_ref().map(|(label, text)| Source {
                label: label.as_str(),
                text: text.as_str(),
            })
        }
        Sources {
            subject: src(&self.subject),
            body: src(&self.body),
            html: src(&self.html),
        }
    }
}

/// The locale of a task, or a config error naming the bad value.
pub fn locale(code: &str) -> Result<&'static notify_template::Locale, CliError> {
    notify_template::locale(code).ok_or_else(|| {
        let known: Vec<&str> = notify_template::locales()
            .iter()
            .map(|l| l.code())
            .collect();
        CliError::config(format!("unknown locale `{code}`"))
            .hint(format!("use one of: {}", known.join(", ")))
    })
}

/// Everything `run` and `send` do after the job: decide, render, deliver and
/// remember. Returns the exit code for `send`.
pub async fn notify(
    env: &Env<'_>,
    result: &TaskResult,
    flags: &DeliveryArgs,
    log: Option<&[u8]>,
) -> Result<u8, CliError> {
    let eff = effective(env, &result.task_name, flags);
    let settings = &eff.settings;
    let level = settings.level.unwrap_or(Level::Errors);
    let options = PolicyOptions {
        remind_every: settings.remind_every.map_or(DEFAULT_REMIND_EVERY, |d| d.0),
        cancelled_is_error: settings.cancelled_is_error.unwrap_or(true),
    };
    let locale = locale(&eff.locale)?;

    let states = StateStore::new(env.data_dir);
    let (previous, warning) = states.load(&result.task_name);
    if let Some(w) = warning {
        env.ui.warn(&w);
    }
    let now = OffsetDateTime::now_utc();
    let decision = decide(level, result, previous.as_ref(), &options, now);
    env.ui.verbose(&format!(
        "{}: {} ({}; level {level})",
        result.task_name,
        if decision.send {
            "notifying"
        } else {
            "not notifying"
        },
        decision.reason,
    ));

    let remember = |state: &notify_core::TaskState| {
        if flags.dry_run {
            return;
        }
        if let Err(e) = states.save(&result.task_name, state) {
            env.ui.warn(&format!(
                "cannot save the state of task `{}` in {}: {e}",
                result.task_name,
                states.path(&result.task_name).display()
            ));
        }
    };

    if !decision.send {
        if flags.dry_run {
            env.ui.info(&format!(
                "dry run: no notification for `{}`: {} (level {level})",
                result.task_name, decision.reason
            ));
        }
        remember(&decision.state);
        return Ok(exit::OK);
    }

    let texts = TemplateTexts::of(env, &eff, &scope_of(env, &result.task_name));
    let ctx = Context {
        result,
        locale,
        offset: env.offset,
    };
    let rendered =
        notify_template::render_notification(&texts.sources(), &ctx, &[], decision.suppressed);
    for w in &rendered.warnings {
        env.ui.warn(w);
    }

    let account = settings.account.as_deref();
    if let Some(name) = account {
        if !env.loaded.config.accounts.contains_key(name) {
            let known: Vec<&str> = env
                .loaded
                .config
                .accounts
                .keys()
                .map(String::as_str)
                .collect();
            return Err(CliError::config(format!("unknown account `{name}`")).hint(
                if known.is_empty() {
                    "no [accounts.NAME] table is configured; remove `account` to deliver to the local Maildir".to_owned()
                } else {
                    format!("configured accounts: {}", known.join(", "))
                },
            ));
        }
    }

    let local_user = local_user();
    let to = match &settings.to {
        Some(list) if !list.0.is_empty() => list.0.clone(),
        _ if account.is_none() => vec![format!("{local_user}@localhost")],
        _ => {
            return Err(
                CliError::config(format!("no recipient for task `{}`", result.task_name))
                    .hint("set `to` under [email] or the task's table, or pass --to ADDR"),
            )
        }
    };
    let from = account
        .and_then(|a| env.loaded.config.accounts.get(a))
        .and_then(|a| a.from.clone())
        .unwrap_or_else(|| "notify <notify@localhost>".to_owned());

    let mut attachments = Vec::new();
    if settings.attach_log.unwrap_or(false) {
        if let Some(log) = log.filter(|l| !l.is_empty()) {
            let max = settings
                .attach_log_max
                .unwrap_or(DEFAULT_ATTACH_LOG_MAX)
                .max(1);
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            let start = log.len().saturating_sub(max);
            attachments.push(Attachment {
                filename: "log.txt".to_owned(),
                content_type: "text/plain; charset=utf-8".to_owned(),
                data: log[start..].to_vec(),
            });
        }
    }

    let notification = Notification {
        from: Some(from),
        to,
        cc: settings.cc.clone().map(|a| a.0).unwrap_or_default(),
        bcc: settings.bcc.clone().map(|a| a.0).unwrap_or_default(),
        reply_to: settings.reply_to.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        attachments,
        message_id: Some(notify_smtp::new_message_id("localhost")),
        date: Some(now.to_offset(env.offset)),
    };

    if flags.dry_run {
        StdoutTransport.send(&notification).await?;
        return Ok(exit::OK);
    }

    if let Some(name) = account {
        return Err(CliError::config(format!(
            "account `{name}` is configured, but this build of notify cannot send over SMTP yet"
        ))
        .hint(
            "remove `account` to deliver to the local Maildir, or use --dry-run to see the message",
        ));
    }

    let maildir = MaildirTransport::new(env.data_dir.join("maildir"));
    match maildir.send(&notification).await {
        Ok(delivery) => {
            remember(&decision.state);
            env.ui.info(&format!(
                "notify: `{}` delivered to the local Maildir {} ({}); to send email, configure an account (see README: Configuration)",
                result.task_name,
                maildir.root().display(),
                delivery.detail,
            ));
            Ok(exit::OK)
        }
        Err(e) => Err(e.into()),
    }
}

/// The config table a task's settings come from, for labels in warnings.
fn scope_of(env: &Env<'_>, task: &str) -> String {
    if env.loaded.config.tasks.contains_key(task) {
        format!("tasks.\"{task}\"")
    } else {
        "email".to_owned()
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
