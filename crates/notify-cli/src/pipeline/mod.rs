//! From a task result to delivered notifications: plan, decide, render,
//! deliver, remember (SPEC section 2); and the retry of what was queued.
//!
//! Every transport and secret store comes from a [`Connect`] given by the
//! caller, and what happens after a failure is decided from the error's
//! kind ([`connect::Failure`]): temporary → queued, permanent → reported
//! with a copy in the local Maildir, configuration → reported likewise.

use notify_core::{decide, Level, PolicyOptions, TaskResult};
use notify_queue::StateStore;
use notify_template::Locale;
use time::OffsetDateTime;

use crate::app::cli::DeliveryArgs;
use crate::app::config::AlsoEmail;
use crate::app::error::{exit, CliError};
use crate::app::{shown, Env};

pub mod connect;
mod deliver;
mod digest;
pub mod http;
mod plan;
mod render;
pub mod result;
pub mod retry;
mod test_mail;
#[cfg(test)]
mod tests;

pub use connect::Connect;
pub use deliver::{desktop, hold, send_held, Held, Sent};
pub use digest::send_digest;
pub use plan::{effective, locale, Plan, Route, TemplateTexts, DEFAULT_LOG_TAIL_LINES};
pub use render::{render, render_start, DEFAULT_ATTACH_LOG_MAX};
pub use test_mail::test_mail;

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
    /// An HTTP destination; the plan gives the templates and locale it
    /// renders with (its route is not used).
    Http(Box<http::HttpDest>, Box<Plan>),
}

/// Everything `run` and `send` do after the job: decide, render, deliver and
/// remember, for each destination of the task (its email, `[[also]]`
/// emails, the desktop). One failing destination never keeps another from
/// being tried; the error returned is the worst (configuration, then
/// permanent, then queued), the others are reported here.
pub async fn notify(
    env: &Env<'_>,
    connect: &dyn Connect,
    result: &TaskResult,
    flags: &DeliveryArgs,
    log: Option<&notify_report::Log>,
    caller: Caller,
    run_id: Option<&str>,
) -> Result<u8, CliError> {
    let mut failures = Vec::new();
    let now = OffsetDateTime::now_utc();
    // Every run is remembered, whatever its level (`never` included).
    let recording = (!flags.dry_run).then(|| record(env, result, now));
    let destinations = destinations(env, &result.task_name, flags, caller, &mut failures);
    let run = Run {
        result,
        flags,
        log,
        now,
        several: destinations.len() > 1,
        run_id,
        texts: std::cell::OnceCell::new(),
        templates_reported: std::cell::Cell::new(false),
    };
    // Decided and rendered first, each email held in the queue: a notify
    // killed from here on (during the retry below included) leaves this
    // run's notifications for the next one.
    let mut decided = Vec::new();
    for dest in &destinations {
        match decide_for(env, dest, &run).await {
            Ok(Some(d)) => decided.push(d),
            Ok(None) => {}
            Err(e) => failures.push(e),
        }
    }
    // Notifications still queued from earlier runs are tried before this
    // run's, when they are due.
    if !flags.dry_run {
        retry::retry_due(env, connect).await;
    }
    for d in decided {
        if let Err(e) = deliver_decided(env, connect, d, &run).await {
            failures.push(e);
        }
    }
    if let Some(recording) = recording {
        recording.finish(env);
    }
    worst(failures)
}

/// A run being written to its task's history, on a thread of its own so
/// that the file writes overlap the delivery's waits on the network.
struct Recording {
    task: String,
    thread: Option<std::thread::JoinHandle<notify_queue::Result<()>>>,
}

impl Recording {
    /// Waits for the history to be written; a history that cannot be
    /// written is a warning (the notification went ahead regardless).
    fn finish(self, env: &Env<'_>) {
        let Some(thread) = self.thread else {
            return;
        };
        let problem = match thread.join() {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the thread writing it failed".to_owned(),
        };
        env.ui.warn(&format!(
            "cannot remember this run of `{}` in the task history: {problem}",
            shown(&self.task)
        ));
    }
}

/// Starts recording a finished run of a task in its history (not a check's
/// finding: the check records what it finds itself).
fn record(env: &Env<'_>, result: &TaskResult, now: OffsetDateTime) -> Recording {
    let task = result.task_name.clone();
    if result.silence.is_some() {
        return Recording { task, thread: None };
    }
    let write = |data_dir: std::path::PathBuf, name: String, run: notify_core::RunRecord| {
        move || {
            notify_queue::HistoryStore::new(&data_dir)
                .record(&name, run, now)
                .map(drop)
        }
    };
    let job = write(
        env.data_dir.to_path_buf(),
        task.clone(),
        notify_core::RunRecord::of(result, now),
    );
    match std::thread::Builder::new()
        .name("history".into())
        .spawn(job)
    {
        Ok(thread) => Recording {
            task,
            thread: Some(thread),
        },
        // No thread to be had: written here and now.
        Err(_) => {
            let job = write(
                env.data_dir.to_path_buf(),
                task.clone(),
                notify_core::RunRecord::of(result, now),
            );
            if let Err(e) = job() {
                env.ui.warn(&format!(
                    "cannot remember this run of `{}` in the task history: {e}",
                    shown(&task)
                ));
            }
            Recording { task, thread: None }
        }
    }
}

/// What every destination of one run shares.
struct Run<'a> {
    result: &'a TaskResult,
    flags: &'a DeliveryArgs,
    log: Option<&'a notify_report::Log>,
    now: OffsetDateTime,
    several: bool,
    /// The id shared by everything sent about this run (Healthchecks' rid).
    run_id: Option<&'a str>,
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
    for dest in http::of_task(&env.loaded.config, &eff.settings) {
        let channel = format!(
            "http-{:016x}",
            notify_queue::stable_hash(dest.route.as_bytes())
        );
        out.push(Destination {
            label: dest.config.label(),
            state: StateStore::channel(env.data_dir, &channel),
            level: dest.config.level(eff.settings.level()),
            options: eff.settings.policy_options(),
            kind: Kind::Http(Box::new(dest), Box::new(Plan::local(&eff))),
        });
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
fn also_account<'a>(also: &'a AlsoEmail, configured: Option<&'a str>) -> Option<&'a str> {
    also.account.as_deref().or(configured)
}

/// The state channel of an `[[also]]` destination: named by its account and
/// recipients, so reordering the list keeps each one's memory.
fn also_channel(also: &AlsoEmail) -> String {
    let mut key = also.account.clone().unwrap_or_default();
    key.push('\n');
    if let Some(to) = &also.to {
        key.push_str(&to.0.join(","));
    }
    format!("also-{:016x}", notify_queue::stable_hash(key.as_bytes()))
}

/// The most serious of `failures` as the error (configuration, then
/// permanent, then temporary); the others are reported here.
pub(crate) fn worst(mut failures: Vec<CliError>) -> Result<u8, CliError> {
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

/// How long a run waits for another run of the same task to finish
/// deciding and delivering (that one's delivery has its own timeouts).
const STATE_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Takes `task`'s state lock, waiting for another notify that holds it. A
/// lock that cannot be had (an unwritable data dir, a holder stuck past
/// [`STATE_LOCK_WAIT`]) never holds the notification back: notify warns
/// and goes on without it.
async fn lock_state(
    env: &Env<'_>,
    states: &StateStore,
    task: &str,
    who: &str,
) -> Option<notify_queue::StateLock> {
    let deadline = tokio::time::Instant::now() + STATE_LOCK_WAIT;
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match states.try_lock(task) {
            Ok(Some(lock)) => return Some(lock),
            Ok(None) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            Ok(None) => {
                env.ui.warn(&format!(
                    "another notify has been deciding about `{who}` for {} s; going on \
                     without waiting for it",
                    STATE_LOCK_WAIT.as_secs()
                ));
                return None;
            }
            Err(e) => {
                env.ui
                    .warn(&format!("cannot lock the state of `{who}`: {e}"));
                return None;
            }
        }
    }
}

/// One destination's decision to notify, with what it sends and its state
/// lock, between [`decide_for`] and [`deliver_decided`].
struct Decided<'d> {
    dest: &'d Destination,
    /// How diagnostics name the task at this destination.
    who: String,
    state: notify_core::TaskState,
    /// Whether the task turns from failing to working or back.
    flipped: bool,
    what: Rendered<'d>,
    /// Held until the state is saved: runs of one task at the same time
    /// decide in turn.
    _lock: Option<notify_queue::StateLock>,
}

enum Rendered<'d> {
    /// An email by `plan`, held in the queue (a dry run's: not held).
    Email {
        plan: &'d Plan,
        held: Box<Held>,
    },
    Desktop(Box<notify_core::Notification>),
    /// For an HTTP destination, held in the queue under its route.
    Http {
        dest: &'d http::HttpDest,
        held: Box<Held>,
    },
}

/// Decides for one destination; when it is to be notified, renders the
/// notification and holds an email in the queue. Not to be notified, its
/// state is remembered at once.
async fn decide_for<'d>(
    env: &Env<'_>,
    dest: &'d Destination,
    run: &Run<'_>,
) -> Result<Option<Decided<'d>>, CliError> {
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
    // Healthchecks keeps its own schedule: an overdue task or a long run
    // is its to tell, not a ping (a run that did not finish is a failure).
    if let (Kind::Http(h, _), Some(silence)) = (&dest.kind, &result.silence) {
        if h.config.kind() == http::HttpKind::Healthchecks
            && silence.kind != notify_core::Silence::DidNotFinish
        {
            return Ok(None);
        }
    }
    let states = &dest.state;
    let lock = if flags.dry_run {
        None
    } else {
        lock_state(env, states, &result.task_name, &who).await
    };
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
    if !decision.send {
        if flags.dry_run {
            env.ui.info(&format!(
                "dry run: no notification for `{who}`: {} (level {level})",
                decision.reason
            ));
        }
        remember(env, dest, run, &who, &decision.state, flipped);
        return Ok(None);
    }
    let history = notify_template::History::new(decision.suppressed, decision.streak);
    let what = match &dest.kind {
        Kind::Email(plan) => {
            let report = !run.templates_reported.replace(true);
            let texts = run
                .texts
                .get_or_init(|| TemplateTexts::of(env, Some(&result.task_name)));
            let notification =
                render::render_with(env, plan, texts, report, result, &history, log, now);
            if flags.dry_run {
                Rendered::Email {
                    plan,
                    held: Box::new(Held::unheld(notification)),
                }
            } else {
                let held = hold(env, plan, &result.task_name, notification);
                if let Some(id) = held.id() {
                    env.ui
                        .verbose(&format!("{who}: held in the queue as {id} until delivered"));
                }
                Rendered::Email {
                    plan,
                    held: Box::new(held),
                }
            }
        }
        Kind::Desktop(locale) => Rendered::Desktop(Box::new(render::render_desktop(
            env, locale, result, &history,
        ))),
        Kind::Http(http, plan) => {
            let mut notification = if http.config.kind() == http::HttpKind::Webhook {
                let report = !run.templates_reported.replace(true);
                let texts = run
                    .texts
                    .get_or_init(|| TemplateTexts::of(env, Some(&result.task_name)));
                render::render_with(env, plan, texts, report, result, &history, log, now)
            } else {
                render::render_desktop(env, plan.locale, result, &history)
            };
            notification.attachments.clear();
            if http.config.kind() == http::HttpKind::Ntfy {
                // A push is read on a phone: the first error lines say
                // what went wrong.
                for line in result.errors.iter().take(3) {
                    notification.text.push('\n');
                    notification
                        .text
                        .push_str(&notify_core::text::one_line(line, Some(200)));
                }
            }
            notification.outcome = Some(result.outcome);
            notification.result = Some(Box::new(result.clone()));
            notification.run_id = run.run_id.map(str::to_owned);
            let held = if flags.dry_run {
                Held::unheld(notification)
            } else {
                deliver::hold_route(env, Some(&http.route), &result.task_name, notification)
            };
            Rendered::Http {
                dest: http,
                held: Box::new(held),
            }
        }
    };
    Ok(Some(Decided {
        dest,
        who,
        state: decision.state,
        flipped,
        what,
        _lock: lock,
    }))
}

/// Saves the state a destination's decision left (not for a dry run).
fn remember(
    env: &Env<'_>,
    dest: &Destination,
    run: &Run<'_>,
    who: &str,
    state: &notify_core::TaskState,
    flipped: bool,
) {
    if run.flags.dry_run {
        return;
    }
    let task = &run.result.task_name;
    if let Err(e) = dest.state.save(task, state, flipped) {
        env.ui.warn(&format!(
            "cannot save the state of `{who}` in {}: {e}",
            dest.state.path(task).display()
        ));
    }
}

/// Delivers what [`decide_for`] rendered and remembers the decision.
async fn deliver_decided(
    env: &Env<'_>,
    connect: &dyn Connect,
    decided: Decided<'_>,
    run: &Run<'_>,
) -> Result<(), CliError> {
    let Decided {
        dest,
        who,
        state,
        flipped,
        what,
        _lock,
    } = decided;
    let flags = run.flags;
    // Delivered, or queued: queued is as good as sent for the policy (it
    // will be delivered), so the next run must not count this one as unsent.
    let settled = |sent: Sent| {
        remember(env, dest, run, &who, &state, flipped);
        match sent {
            Sent::Delivered(line) => {
                env.ui.info(&format!("notify: `{who}` {line}"));
                Ok(())
            }
            Sent::Queued(e) => Err(e),
        }
    };
    match what {
        Rendered::Email { plan, held } => {
            if flags.dry_run {
                connect.dry_run().send(held.notification()).await?;
                return Ok(());
            }
            let sent = send_held(env, connect, plan, &run.result.task_name, *held).await?;
            settled(sent)
        }
        Rendered::Http { dest: http, held } => {
            if flags.dry_run {
                env.ui
                    .info(&format!("dry run: what {} would get:", http.config.label()));
                connect.dry_run().send(held.notification()).await?;
                return Ok(());
            }
            let sent =
                deliver::send_held_http(env, connect, http, &run.result.task_name, *held).await?;
            settled(sent)
        }
        Rendered::Desktop(notification) => {
            let sent = desktop(env, connect, &notification, flags.dry_run).await;
            // No queue for the desktop: a notice shown later is no use.
            remember(env, dest, run, &who, &state, flipped);
            sent.map(|line| {
                if let Some(line) = line {
                    env.ui.info(&format!("notify: `{who}` {line}"));
                }
            })
        }
    }
}
