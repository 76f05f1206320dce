//! Silence is not success: every run remembered, and the check that tells
//! when a task is overdue, a run did not finish, or a run goes on past its
//! `max_runtime` (SPEC section 4).
//!
//! What the check finds goes through the task's destinations and levels
//! like a run's result (`pipeline::notify`); the level policy tells each
//! finding once.

use notify_core::{RunRecord, Running, Silence, SilenceNotice};
use notify_queue::HistoryStore;
use time::{Duration, OffsetDateTime};

use crate::app::cli::DeliveryArgs;
use crate::app::error::CliError;
use crate::app::{schedule, shown, Env};
use crate::pipeline::{self, Connect};

pub mod digest;
pub mod metrics;
pub mod overview;

/// A `notify run` that is going on, recorded so that a check can tell when
/// its process is gone without a finish. Removed by [`RunGuard::done`].
pub struct RunGuard {
    task: String,
    id: String,
}

/// Records that a run of `task` started at `started` in this process.
/// `None` (after a warning) when it cannot be recorded: the job runs
/// regardless.
pub fn started(env: &Env<'_>, task: &str, started: OffsetDateTime) -> Option<RunGuard> {
    let pid = std::process::id();
    let id = format!(
        "{pid}-{}",
        started
            .unix_timestamp_nanos()
            .rem_euclid(1_000_000_000_000_000)
    );
    let (process_start, boot_id) = crate::app::process::identity(pid);
    let run = Running::new(id.clone(), pid, started).identity(process_start, boot_id);
    match HistoryStore::new(env.data_dir).started(task, &run) {
        Ok(()) => {
            metrics::write(env, started);
            Some(RunGuard {
                task: task.to_owned(),
                id,
            })
        }
        Err(e) => {
            env.ui.warn(&format!(
                "cannot record that `{}` is running (a check could not tell if it stops \
                 unfinished): {e}",
                shown(task)
            ));
            None
        }
    }
}

impl RunGuard {
    /// The run is over and recorded: its running record goes.
    pub fn done(self, env: &Env<'_>) {
        if let Err(e) = HistoryStore::new(env.data_dir).finished(&self.task, &self.id) {
            env.ui
                .warn(&format!("cannot remove the running record: {e}"));
        }
    }
}

/// One thing a check found.
struct Finding {
    task: String,
    notice: SilenceNotice,
}

/// What a check found and told.
#[derive(Debug, Default)]
pub struct Checked {
    /// Tasks with an expectation, and runs going on, that were looked at.
    pub looked_at: usize,
    /// Findings (told or not, as each destination's level decides).
    pub findings: Vec<String>,
}

/// Looks at every run going on and every task with an expectation, and
/// tells what it finds through the tasks' destinations. With `dry_run`
/// the findings are shown and nothing is recorded or sent.
pub async fn check(
    env: &Env<'_>,
    connect: &dyn Connect,
    flags: &DeliveryArgs,
    now: OffsetDateTime,
) -> (Checked, Result<u8, CliError>) {
    let store = HistoryStore::new(env.data_dir);
    let mut checked = Checked::default();
    let mut findings = Vec::new();
    unfinished_and_long(env, &store, now, flags.dry_run, &mut checked, &mut findings);
    overdue(env, &store, now, flags.dry_run, &mut checked, &mut findings);

    let mut failures = Vec::new();
    for finding in findings {
        checked.findings.push(format!(
            "`{}`: {}",
            shown(&finding.task),
            finding.notice.kind
        ));
        let mut result = finding.notice.into_result(finding.task);
        result.computer_name = Some(crate::app::computer_name());
        if let Err(e) = pipeline::notify(
            env,
            connect,
            &result,
            flags,
            None,
            pipeline::Caller::Run,
            None,
        )
        .await
        {
            failures.push(e);
        }
    }
    if !flags.dry_run {
        metrics::write(env, now);
        if crate::app::stop::received().is_none() {
            digest::send_when_due(env, connect, now).await;
        }
    }
    (checked, pipeline::worst(failures))
}

/// Runs whose process is gone without a finish, and runs past their
/// `max_runtime`.
fn unfinished_and_long(
    env: &Env<'_>,
    store: &HistoryStore,
    now: OffsetDateTime,
    dry_run: bool,
    checked: &mut Checked,
    findings: &mut Vec<Finding>,
) {
    let (running, warnings) = store.running();
    for w in warnings {
        env.ui.warn(&w);
    }
    for entry in running {
        checked.looked_at += 1;
        let task = entry.task;
        let run = entry.run;
        if crate::app::process::is_running(&run) {
            let settings = env.loaded.config.for_task(&task).settings;
            if let Some(max) = settings.max_runtime {
                if now - run.started_at > max.0 {
                    findings.push(Finding {
                        task,
                        notice: SilenceNotice::new(Silence::StillRunning, run.started_at),
                    });
                }
            }
            continue;
        }
        let history = store.load(&task).0;
        // Its notify was stopped after it had recorded the run (while it
        // delivered): the run did finish.
        if history
            .as_ref()
            .is_some_and(|h| h.runs.iter().any(|r| r.started_at == Some(run.started_at)))
        {
            if !dry_run {
                let _ = store.finished(&task, &run.id);
            }
            continue;
        }
        let last = history
            .as_ref()
            .and_then(|h| h.last())
            .map(|r| (r.at(), r.outcome));
        let notice = SilenceNotice::new(Silence::DidNotFinish, run.started_at)
            .last_run(last.map(|l| l.0), last.map(|l| l.1));
        if !dry_run {
            let mut result = notice.clone().into_result(task.clone());
            result.finished_at = Some(now);
            if let Err(e) = store.record(&task, RunRecord::of(&result, now), now) {
                env.ui.warn(&format!(
                    "cannot record the unfinished run of `{}`: {e}",
                    shown(&task)
                ));
            }
            if let Err(e) = store.finished(&task, &run.id) {
                env.ui
                    .warn(&format!("cannot remove the running record: {e}"));
            }
        }
        findings.push(Finding { task, notice });
    }
}

/// Tasks with an expectation whose last run started longer ago than
/// expected plus grace. The configuration's tasks, and, when `[email]`
/// sets an expectation for all, every task notify has heard of.
fn overdue(
    env: &Env<'_>,
    store: &HistoryStore,
    now: OffsetDateTime,
    dry_run: bool,
    checked: &mut Checked,
    findings: &mut Vec<Finding>,
) {
    let config = &env.loaded.config;
    // The index, not every history: one small file however many tasks.
    let (index, warnings) = store.starts();
    for w in warnings {
        env.ui.warn(&w);
    }
    let mut tasks: Vec<String> = config.tasks.keys().cloned().collect();
    if config.email.expectation().is_some() {
        tasks.extend(index.keys().cloned());
        tasks.sort();
        tasks.dedup();
    }
    let running: Vec<(String, OffsetDateTime)> = store
        .running()
        .0
        .into_iter()
        .map(|e| (e.task, e.run.started_at))
        .collect();
    let running_start = |task: &str, last: Option<OffsetDateTime>| {
        last.into_iter()
            .chain(running.iter().filter(|(t, _)| t == task).map(|(_, at)| *at))
            .max()
    };
    // Read only when a task has an expectation.
    let tz = std::cell::OnceCell::new();
    for task in tasks {
        let settings = config.for_task(&task).settings;
        let Some(expectation) = settings.expectation() else {
            continue;
        };
        checked.looked_at += 1;
        // The clock of a task that never ran starts when notify first
        // hears of it.
        let summary = match index.get(&task) {
            Some(summary) => (summary.last_start, summary.first_seen_at),
            None if dry_run => (None, now),
            None => match store.update(&task, now, |_| {}) {
                Ok(h) => (h.last_start(), h.first_seen_at),
                Err(e) => {
                    env.ui.warn(&format!(
                        "cannot start the task history of `{}`: {e}",
                        shown(&task)
                    ));
                    continue;
                }
            },
        };
        let late = |last_start: Option<OffsetDateTime>, first_seen: OffsetDateTime| {
            schedule::due(
                &expectation,
                &settings,
                running_start(&task, last_start),
                Some(first_seen),
                now,
                tz.get_or_init(schedule::local_zone),
            )
            .filter(|(_, late)| *late)
        };
        if late(summary.0, summary.1).is_none() {
            continue;
        }
        // Overdue by the index: the history itself says when it last ran
        // (and the index may lag behind it).
        let (history, warning) = store.load(&task);
        if let Some(w) = warning {
            env.ui.warn(&w);
        }
        let history = history.unwrap_or_else(|| notify_core::History::new(task.clone(), summary.1));
        let Some((due, _)) = late(history.last_start(), history.first_seen_at) else {
            continue;
        };
        let last = history.last();
        findings.push(Finding {
            task,
            notice: SilenceNotice::new(Silence::Overdue, due)
                .last_run(last.map(RunRecord::at), last.map(|r| r.outcome))
                .expected_by(Some(due)),
        });
    }
}

/// The least time between two checks on the way of other commands.
const CHEAP_CHECK_EVERY: Duration = Duration::MINUTE;

/// The check on the way of `run` and `send`, at most once a minute (a
/// stamp file in the data directory says when the last one was). Its
/// problems are warnings; it never changes the command's exit code.
pub async fn check_on_the_way(env: &Env<'_>, connect: &dyn Connect, now: OffsetDateTime) {
    let stamp = env.data_dir.join("check.stamp");
    let recent = std::fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .ok()
        .map(OffsetDateTime::from)
        .is_some_and(|at| now - at < CHEAP_CHECK_EVERY && at <= now);
    if recent {
        return;
    }
    let written = notify_queue::files::create_private_dir(env.data_dir).and_then(|()| {
        notify_queue::files::write_atomic(&stamp, b"", notify_queue::files::Durability::Lazy)
    });
    if let Err(e) = written {
        env.ui
            .verbose(&format!("cannot write {}: {e}", stamp.display()));
        return;
    }
    let flags = DeliveryArgs::default();
    let (_, result) = check(env, connect, &flags, now).await;
    if let Err(e) = result {
        env.ui.warn(&format!(
            "the check for overdue and unfinished tasks: {}",
            e.message()
        ));
    }
}
