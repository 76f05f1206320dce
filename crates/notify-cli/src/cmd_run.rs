//! `notify run`: run a command, then notify.

use std::cell::RefCell;

use notify_core::{ExitCodes, TaskResult};
use time::OffsetDateTime;

use crate::cli::RunArgs;
use crate::deliver::{self, Env, DEFAULT_ATTACH_LOG_MAX, DEFAULT_LOG_TAIL_LINES};
use crate::runner;
use crate::tail::Tail;

/// Runs the command and notifies; returns the command's exit code. A failed
/// notification is reported on stderr and never changes that code.
pub async fn run(env: &Env<'_>, args: RunArgs) -> u8 {
    let eff = deliver::effective(env, &args.task, &args.delivery);
    let exit_codes: ExitCodes = args
        .exit_codes
        .clone()
        .or_else(|| eff.settings.exit_codes.clone())
        .unwrap_or_default();
    let lines = eff
        .settings
        .log_tail_lines
        .unwrap_or(DEFAULT_LOG_TAIL_LINES);
    let keep = if eff.settings.attach_log.unwrap_or(false) || args.delivery.attach_log {
        let max = eff
            .settings
            .attach_log_max
            .unwrap_or(DEFAULT_ATTACH_LOG_MAX);
        usize::try_from(max).unwrap_or(usize::MAX).max(64 * 1024)
    } else {
        64 * 1024
    };
    let tail = RefCell::new(Tail::new(keep));

    let started = OffsetDateTime::now_utc();
    start_notice(env, &args, &eff, started).await;
    let finished = runner::run(&args.command, &tail).await;

    let tail = tail.into_inner();
    let mut result = TaskResult::new(
        args.task.clone(),
        exit_codes.outcome(finished.exit_code, finished.signal),
    );
    result.exit_code = finished.exit_code;
    result.signal = finished.signal;
    result.started_at = Some(started);
    result.finished_at = Some(finished.finished_at);
    result.command = Some(runner::display_command(&args.command));
    result.computer_name = Some(crate::computer_name());
    if let Some(e) = &finished.spawn_error {
        result.errors.push(e.clone());
        result.error_count = 1;
    }
    let text = tail.text(lines);
    if !text.is_empty() {
        result.log_tail = Some(text);
    }

    if let Err(e) = deliver::notify(
        env,
        &result,
        &args.delivery,
        Some(tail.bytes()),
        deliver::Caller::Run,
    )
    .await
    {
        eprintln!(
            "notify: the notification for `{}` failed:",
            deliver::shown(&args.task)
        );
        e.report();
    }
    finished.process_exit_code()
}

/// The desktop notice that the job starts (`notify_on_start`, with the
/// desktop on and its level not `never`). Problems are warnings: the job
/// runs regardless.
async fn start_notice(
    env: &Env<'_>,
    args: &RunArgs,
    eff: &crate::config::Effective,
    started: OffsetDateTime,
) {
    let s = &eff.settings;
    if !s.desktop_on(args.delivery.desktop)
        || !s.notify_on_start.unwrap_or(false)
        || s.desktop_level() == notify_core::Level::Never
    {
        return;
    }
    let Ok(locale) = deliver::locale(&eff.locale) else {
        return; // reported with the notification at the end
    };
    let mut start = TaskResult::new(args.task.clone(), notify_core::Outcome::Success);
    start.started_at = Some(started);
    start.command = Some(runner::display_command(&args.command));
    start.computer_name = Some(crate::computer_name());
    let notice = deliver::render_start(env, locale, &start);
    match deliver::desktop(env, &notice, args.delivery.dry_run).await {
        Ok(Some(line)) => env.ui.verbose(&format!(
            "notify: `{}` started {line}",
            deliver::shown(&args.task)
        )),
        Ok(None) => {}
        Err(e) => env.ui.warn(&format!(
            "the start notice for `{}` failed: {}",
            deliver::shown(&args.task),
            e.message()
        )),
    }
}
