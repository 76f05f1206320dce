//! `notify run`: run a command, read its output, then notify.

use std::cell::RefCell;
use std::ffi::OsString;

use notify_core::{ExitCodes, TaskResult};
use notify_report::{Invocation, Report, ToolChoice};
use time::OffsetDateTime;

use super::runner;
use crate::app::cli::RunArgs;
use crate::app::{shown, stop, Env};
use crate::pipeline::{self, Connect, DEFAULT_ATTACH_LOG_MAX, DEFAULT_LOG_TAIL_LINES};

/// The least output kept for the log tail (and the attachment).
const MIN_LOG_BYTES: usize = 64 * 1024;
/// The most output kept for a log attachment, whatever `attach_log_max`
/// says: a mail of more is refused by most servers anyway, and the log
/// holds up to twice it in memory.
const MAX_LOG_BYTES: usize = 32 * 1024 * 1024;

/// Runs the command and notifies; returns the command's exit code. A failed
/// notification is reported on stderr and never changes that code.
pub async fn run(env: &Env<'_>, connect: &dyn Connect, args: RunArgs) -> u8 {
    let eff = pipeline::effective(env, &args.task, &args.delivery);
    let invocation = invocation(&args.command, args.tool.or(eff.settings.tool));
    // An explicit preset wins; else the recognised tool's; else `default`.
    let exit_codes: ExitCodes = args
        .exit_codes
        .clone()
        .or_else(|| eff.settings.exit_codes.clone())
        .or_else(|| invocation.tool().map(|t| ExitCodes::Preset(t.preset())))
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
        usize::try_from(max)
            .unwrap_or(usize::MAX)
            .clamp(MIN_LOG_BYTES, MAX_LOG_BYTES)
    } else {
        MIN_LOG_BYTES
    };
    // The tools' repository variables (RESTIC_REPOSITORY, BORG_REPO) as the
    // job sees them.
    let lookup = |name: &str| std::env::var(name).ok();
    let report = RefCell::new(Report::new(&invocation, &lookup, keep));

    let started = OffsetDateTime::now_utc();
    // Recorded while it runs, so that a check can tell if it stops
    // unfinished (notify killed, a crash, a reboot).
    let running = if args.delivery.dry_run {
        None
    } else {
        crate::watch::started(env, &args.task, started)
    };
    start_notice(env, connect, &args, &eff, &invocation, started).await;
    // One id for everything sent about this run: Healthchecks' start and
    // end pings carry it as `rid`.
    let rid = notify_http::healthchecks::new_run_id();
    let pings = (!args.delivery.dry_run)
        .then(|| pipeline::http::StartPings::prepare(env, connect, &args.task, &eff));
    let start_pings = async {
        if let Some(pings) = pings {
            pings.send(env, &args.task, &rid).await;
        }
    };
    // Until the job has ended, stop signals are the runner's (passed on to
    // the job); from then on, one stops the delivery (queued) and notify
    // exits with the job's code.
    let (finished, ()) = tokio::join!(runner::run(&args.command, &report), start_pings);
    stop::set_exit_code(finished.process_exit_code());
    stop::arm(true);
    if let Some(sig) = finished.interrupted {
        // Asked to stop while the job ran (a shutdown, a Ctrl-C): the run
        // is still reported, but notify does not wait on a slow server.
        stop::stop_after(STOP_GRACE, sig);
    }

    let mut result = TaskResult::new(args.task.clone(), finished.outcome(&exit_codes));
    result.exit_code = finished.exit_code;
    result.signal = finished.signal;
    result.started_at = Some(started);
    result.finished_at = Some(finished.finished_at);
    // The command line with its secrets masked (`RESTIC_PASSWORD=***`).
    result.command = Some(runner::display_command(invocation.shown()));
    result.computer_name = Some(crate::app::computer_name());
    if let Some(e) = &finished.spawn_error {
        result.errors.push(e.clone());
        result.error_count = 1;
    }
    let log = report.into_inner().finish(&mut result);
    let text = log.text(lines);
    if !text.is_empty() {
        result.log_tail = Some(text);
    }
    overrides(env, &args, &mut result);

    if let Err(e) = pipeline::notify(
        env,
        connect,
        &result,
        &args.delivery,
        Some(&log),
        pipeline::Caller::Run,
        Some(&rid),
    )
    .await
    {
        crate::app::diag(&format!(
            "notify: the notification for `{}` failed:",
            shown(&args.task)
        ));
        e.report();
    }
    if let Some(running) = running {
        running.done(env);
    }
    if !args.delivery.dry_run {
        crate::watch::metrics::write(env, OffsetDateTime::now_utc());
    }
    if !args.delivery.dry_run && stop::received().is_none() {
        crate::watch::check_on_the_way(env, connect, OffsetDateTime::now_utc()).await;
    }
    finished.process_exit_code()
}

/// How long the report of a run that notify was asked to stop during may
/// take before it is queued instead.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_millis(800);

/// The command line as the readers see it.
fn invocation(command: &[OsString], choice: Option<ToolChoice>) -> Invocation {
    let argv: Vec<String> = command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    Invocation::parse(&argv, choice.unwrap_or_default())
}

/// `--source`, `--destination` and `--set`, over what the output said. A
/// bad `--set` does not stop the notification: it is reported on stderr and
/// as an error line in the mail.
fn overrides(env: &Env<'_>, args: &RunArgs, result: &mut TaskResult) {
    pipeline::result::set_places(result, &args.source, &args.destination);
    for kv in &args.set {
        if let Err(e) = pipeline::result::apply_set(result, kv) {
            env.ui
                .warn(&format!("{} (the mail says so too)", e.message()));
            result.errors.push(format!("notify: {}", e.message()));
            result.error_count += 1;
        }
    }
}

/// The desktop notice that the job starts (`notify_on_start`, with the
/// desktop on and its level not `never`). Problems are warnings: the job
/// runs regardless.
async fn start_notice(
    env: &Env<'_>,
    connect: &dyn Connect,
    args: &RunArgs,
    eff: &crate::app::config::Effective,
    invocation: &Invocation,
    started: OffsetDateTime,
) {
    let s = &eff.settings;
    if !s.desktop_on(args.delivery.desktop)
        || !s.notify_on_start.unwrap_or(false)
        || s.desktop_level() == notify_core::Level::Never
    {
        return;
    }
    let Ok(locale) = pipeline::locale(&eff.locale) else {
        return; // reported with the notification at the end
    };
    let mut start = TaskResult::new(args.task.clone(), notify_core::Outcome::Success);
    start.started_at = Some(started);
    start.command = Some(runner::display_command(invocation.shown()));
    start.computer_name = Some(crate::app::computer_name());
    let notice = pipeline::render_start(env, locale, &start);
    match pipeline::desktop(env, connect, &notice, args.delivery.dry_run).await {
        Ok(Some(line)) => env
            .ui
            .verbose(&format!("notify: `{}` started {line}", shown(&args.task))),
        Ok(None) => {}
        Err(e) => env.ui.warn(&format!(
            "the start notice for `{}` failed: {}",
            shown(&args.task),
            e.message()
        )),
    }
}
