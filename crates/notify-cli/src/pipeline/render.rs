//! Turning a task result into the notification a destination shows: the
//! mail (templates, attachment, Message-ID) or a desktop notice.

use notify_core::{Attachment, Notification, TaskResult};
use notify_template::{Context, Locale, Source, Sources};
use time::OffsetDateTime;

use super::plan::{Plan, TemplateTexts};
use crate::app::account;
use crate::app::Env;

/// Default cap of a log attachment (SPEC: 1 MiB, keeping the tail).
pub const DEFAULT_ATTACH_LOG_MAX: u64 = 1024 * 1024;

/// The desktop notification about `result`: the locale's short summary and
/// body (with the notices about earlier runs).
pub(super) fn render_desktop(
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
    let ctx = Context::new(result, locale, env.offset);
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
    {
        let mut built = Notification::default();
        built.subject = rendered.subject;
        built.text = rendered.text.trim_end().to_owned();
        built.outcome = outcome;
        built
    }
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
pub(super) fn render_with(
    env: &Env<'_>,
    plan: &Plan,
    texts: &TemplateTexts,
    report: bool,
    result: &TaskResult,
    history: &notify_template::History,
    log: Option<&notify_report::Log>,
    now: OffsetDateTime,
) -> Notification {
    let ctx = Context::new(result, plan.locale, env.offset);
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
    if !env.notices.is_empty() {
        let mut text = env.notices.join("\n");
        text.push_str("\n\n");
        text.push_str(&rendered.text);
        rendered.text = text;
        rendered.html = rendered
            .html
            .map(|page| notify_template::with_notices(&page, &env.notices));
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
            attachments.push(Attachment::new("log.txt", content_type, data));
        }
    }
    let mut built = envelope(env, plan, rendered, now);
    built.attachments = attachments;
    built.outcome = Some(result.outcome);
    built
}

/// A rendered mail addressed the way `plan` says, with its Date and a new
/// Message-ID.
fn envelope(
    env: &Env<'_>,
    plan: &Plan,
    rendered: notify_template::Rendered,
    now: OffsetDateTime,
) -> Notification {
    let domain = account::bare_address(&plan.from)
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let mut built = Notification::default();
    built.from = Some(plan.from.clone());
    built.to = plan.to.clone();
    built.cc = plan.cc.clone();
    built.bcc = plan.bcc.clone();
    built.reply_to = plan.reply_to.clone();
    built.subject = rendered.subject;
    built.text = rendered.text;
    built.html = rendered.html;
    built.message_id = Some(notify_smtp::new_message_id(domain));
    built.date = Some(now.to_offset(env.offset));
    built
}

/// The digest mail, in the plan's language, addressed the way it says
/// (with the configuration's notices at the top, as every mail).
pub fn render_digest(
    env: &Env<'_>,
    plan: &Plan,
    digest: &notify_template::Digest,
    now: OffsetDateTime,
) -> Notification {
    let mut rendered = notify_template::render_digest(digest, plan.locale, env.offset);
    if !env.notices.is_empty() {
        rendered.text = format!("{}\n\n{}", env.notices.join("\n"), rendered.text);
        rendered.html = rendered
            .html
            .map(|page| notify_template::with_notices(&page, &env.notices));
    }
    envelope(env, plan, rendered, now)
}
