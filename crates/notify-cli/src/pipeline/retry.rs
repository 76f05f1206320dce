//! Retrying queued notifications: every `run`, `send` and `test` first
//! retries the ones that are due; `notify queue flush` retries all of them.
//!
//! Each account's messages go through one transport as a batch
//! ([`notify_core::Transport::send_batch`]: one SMTP connection), and each
//! entry is removed from the queue the moment its delivery is reported, so
//! an interrupted retry repeats at most the message that was on the wire.

use std::collections::BTreeMap;

use notify_core::{Delivery, Notification, Transport, TransportError};
use notify_queue::{Claimed, Queue, Retry, DEFAULT_MAX_AGE};
use time::OffsetDateTime;

use super::connect::{self, Connect, Failure};
use crate::app::account;
use crate::app::{shown, stop, Env};

/// How many queued messages one `run` or `send` retries on its way.
const RETRY_PER_RUN: usize = 50;

/// How many queued messages are read into memory at a time.
const CHUNK: usize = 100;

/// What a retry pass did.
#[derive(Debug, Default)]
pub struct Flushed {
    /// Delivered now.
    pub delivered: usize,
    /// Failed temporarily again; still queued.
    pub still_queued: usize,
    /// Given up (too old, or failed for good).
    pub gave_up: usize,
}

/// The oldest a queued message gets before notify gives up on it.
pub fn max_age(env: &Env<'_>) -> time::Duration {
    env.loaded
        .config
        .email
        .queue_max_age
        .map_or(DEFAULT_MAX_AGE, |d| d.0)
}

/// Retries what is due on the way of a `run`, `send` or `test`.
pub async fn retry_due(env: &Env<'_>, connect: &dyn Connect) {
    retry(env, connect, false, RETRY_PER_RUN).await;
}

/// The transport of each route during one retry, made on its first message
/// and kept for the rest (or why the route cannot send). An HTTP route's
/// key holds the task too: a Healthchecks check by slug is the task's own.
type Transports = BTreeMap<(Option<String>, Option<String>), Result<Box<dyn Transport>, Broken>>;

/// Why a route cannot send: the failure's kind and its message.
#[derive(Clone)]
struct Broken {
    temporary: bool,
    message: String,
}

/// Retries the queued messages that are due (or all, for `flush`), grouped
/// by account, reading at most `CHUNK` (100) messages at a time. Problems are
/// warnings: a retry never changes the outcome of the command that
/// triggered it.
pub async fn retry(env: &Env<'_>, connect: &dyn Connect, all: bool, limit: usize) -> Flushed {
    let queue = Queue::new(env.data_dir);
    let now = OffsetDateTime::now_utc();
    let mut flushed = Flushed::default();
    let mut transports = Transports::new();
    let mut left = limit;
    // The task index, read once a queued Healthchecks ping needs it.
    let index = std::cell::OnceCell::new();
    // A stop signal ends the retry: what was not delivered stays queued.
    while left > 0 && stop::received().is_none() {
        // One Queue claims each entry at most once, so this ends.
        let (claimed, warnings) = queue.claim_due(now, all, left.min(CHUNK));
        for w in warnings {
            env.ui.warn(&w);
        }
        if claimed.is_empty() {
            break;
        }
        left = left.saturating_sub(claimed.len());
        let mut by_account: BTreeMap<(Option<String>, Option<String>), Vec<Claimed>> =
            BTreeMap::new();
        for c in claimed {
            let task = c
                .entry
                .account
                .as_deref()
                .is_some_and(is_http)
                .then(|| c.entry.task.clone());
            by_account
                .entry((c.entry.account.clone(), task))
                .or_default()
                .push(c);
        }
        for ((route, task), batch) in by_account {
            let batch = if route
                .as_deref()
                .is_some_and(|r| r.starts_with(HEALTHCHECKS))
            {
                let index =
                    index.get_or_init(|| notify_queue::HistoryStore::new(env.data_dir).index().0);
                still_news(env, &queue, index, batch, now, &mut flushed)
            } else {
                batch
            };
            if batch.is_empty() {
                continue;
            }
            let key = (route.clone(), task.clone());
            if !transports.contains_key(&key) {
                let made = transport_for(env, connect, route.as_deref(), task.as_deref()).await;
                transports.insert(key.clone(), made);
            }
            let Some(transport) = transports.get_mut(&key) else {
                continue;
            };
            retry_batch(
                env,
                &queue,
                transport,
                route.as_deref(),
                batch,
                now,
                &mut flushed,
            )
            .await;
        }
        if let Err(e) = queue.sync() {
            env.ui.warn(&format!("{e}"));
        }
    }
    flushed
}

/// The transport of a queued message's route: its account's, or the local
/// Maildir.
async fn transport_for(
    env: &Env<'_>,
    connect: &dyn Connect,
    account_name: Option<&str>,
    task: Option<&str>,
) -> Result<Box<dyn Transport>, Broken> {
    let Some(name) = account_name else {
        return Ok(connect.maildir());
    };
    let broken = |failure: Failure| Broken {
        temporary: matches!(failure, Failure::Temporary(_)),
        message: failure.into_error().message().to_owned(),
    };
    if is_http(name) {
        let task = task.unwrap_or_default();
        let dest = super::http::by_route(&env.loaded.config, task, name).ok_or_else(|| {
            broken(Failure::Config(crate::app::error::CliError::config(
                format!(
                    "its destination ({}) is no longer in the configuration of `{}`",
                    name.split(':').nth(1).unwrap_or("http"),
                    shown(task)
                ),
            )))
        })?;
        let spec = super::http::spec(
            env,
            connect,
            &dest.config,
            task,
            super::http::SecretsAt::Retry,
        )
        .map_err(broken)?;
        return connect
            .http(spec, false)
            .map_err(|e| broken(Failure::of(e)));
    }
    let config = &env.loaded.config;
    let acc = config
        .accounts
        .get(name)
        .ok_or_else(|| account::unknown_account(config, name))
        .map_err(|e| broken(Failure::Config(e)))?;
    let smtp = account::smtp_config(name, acc, env.ui).map_err(|e| broken(Failure::Config(e)))?;
    connect::account_transport(connect, name, acc, smtp)
        .await
        .map_err(broken)
}

/// The route prefix of a Healthchecks destination.
const HEALTHCHECKS: &str = "http:healthchecks:";

/// How long a queued Healthchecks ping stays news: after that, Healthchecks
/// has told of the missing ping itself, and a late success would restart
/// its clock as if the job had just run.
const PING_NEWS: time::Duration = time::Duration::HOUR;

/// The queued Healthchecks pings worth sending: Healthchecks takes the time
/// of a ping from its arrival and the last one wins, so a ping older than
/// [`PING_NEWS`] is given up, and one whose task has run again since is
/// dropped (that run's own ping tells the current state).
fn still_news(
    env: &Env<'_>,
    queue: &Queue,
    index: &std::collections::BTreeMap<String, notify_queue::Summary>,
    batch: Vec<Claimed>,
    now: OffsetDateTime,
    flushed: &mut Flushed,
) -> Vec<Claimed> {
    let mut keep = Vec::new();
    for claimed in batch {
        let task = shown(&claimed.entry.task);
        let run_at = claimed
            .notification
            .result
            .as_ref()
            .and_then(|r| r.started_at.or(r.finished_at))
            .unwrap_or(claimed.entry.first_failed_at);
        let newer = index
            .get(&claimed.entry.task)
            .and_then(|s| s.last.as_ref())
            .is_some_and(|last| last.at() > run_at + time::Duration::SECOND);
        if newer {
            env.ui.verbose(&format!(
                "dropping a queued Healthchecks ping for `{task}`: the task has run again since"
            ));
            if let Err(e) = queue.done(&claimed) {
                env.ui
                    .warn(&format!("cannot remove it from the queue: {e}"));
            }
        } else if now - claimed.entry.first_failed_at > PING_NEWS {
            flushed.gave_up += 1;
            env.ui.warn(&format!(
                "gave up on the queued Healthchecks ping for `{task}`: after an hour it is no \
                 longer news (Healthchecks has told of the missing ping itself)"
            ));
            if let Err(e) = queue.give_up(claimed, "a Healthchecks ping older than an hour") {
                env.ui
                    .warn(&format!("cannot move it to the failed queue: {e}"));
            }
        } else {
            keep.push(claimed);
        }
    }
    keep
}

/// Whether a queue route is an HTTP destination's (`http:KIND:NAME`).
fn is_http(route: &str) -> bool {
    route.starts_with("http:")
}

/// Sends one account's batch and settles each entry as its result comes:
/// removed when delivered, rescheduled after a temporary failure, given up
/// after a permanent one or when too old.
async fn retry_batch(
    env: &Env<'_>,
    queue: &Queue,
    transport: &Result<Box<dyn Transport>, Broken>,
    route: Option<&str>,
    batch: Vec<Claimed>,
    now: OffsetDateTime,
    flushed: &mut Flushed,
) {
    let via = match route {
        None => "the local Maildir".to_owned(),
        Some(r) if is_http(r) => format!("the {}", r.split(':').nth(1).unwrap_or("http")),
        Some(a) => format!("account `{a}`"),
    };
    // Failures are settled after the batch (rescheduling rewrites the
    // entry, which needs it by value); deliveries at once.
    let mut failed: Vec<Option<Broken>> = vec![None; batch.len()];
    match transport {
        Ok(transport) => {
            let notifications: Vec<&Notification> = batch.iter().map(|c| &c.notification).collect();
            let mut report = |i: usize, result: Result<Delivery, TransportError>| {
                let Some(claimed) = batch.get(i) else {
                    return;
                };
                match result {
                    Ok(delivery) => {
                        delivered(env, queue, claimed, &via, &delivery);
                        flushed.delivered += 1;
                    }
                    Err(e) => {
                        if let Some(slot) = failed.get_mut(i) {
                            *slot = Some(Broken {
                                temporary: e.is_transient(),
                                message: e.to_string(),
                            });
                        }
                    }
                }
            };
            // Stopped mid-batch, the entries not yet reported stay in the
            // queue untouched (their claims end with this function): at most
            // the one in flight is sent again later.
            tokio::select! {
                () = transport.send_batch(&notifications, &mut report) => {}
                _ = stop::requested() => {}
            }
        }
        Err(broken) => failed.fill(Some(broken.clone())),
    }
    let max_age = max_age(env);
    for (claimed, failure) in batch.into_iter().zip(failed) {
        let Some(failure) = failure else {
            continue;
        };
        let task = shown(&claimed.entry.task);
        let first_failed_at = claimed.entry.first_failed_at;
        let error = failure.message;
        if failure.temporary {
            match queue.retry_later(claimed, &error, now, max_age) {
                Ok(Retry::Later(at)) => {
                    flushed.still_queued += 1;
                    env.ui.warn(&format!(
                        "queued notification for `{task}` not delivered yet ({error}); next try after {}",
                        crate::app::local_time(at, env.offset)
                    ));
                }
                Ok(Retry::GaveUp) => {
                    flushed.gave_up += 1;
                    env.ui.warn(&format!(
                        "gave up on the notification for `{task}` after {} in the queue: {error}",
                        crate::app::config::HumanDuration(now - first_failed_at)
                    ));
                }
                Err(e) => env
                    .ui
                    .warn(&format!("cannot reschedule a queued notification: {e}")),
            }
        } else {
            flushed.gave_up += 1;
            env.ui.warn(&format!(
                "gave up on the queued notification for `{task}`: {error}"
            ));
            if let Err(e) = queue.give_up(claimed, &error) {
                env.ui
                    .warn(&format!("cannot move it to the failed queue: {e}"));
            }
        }
    }
}

/// A queued message was delivered: out of the queue at once.
fn delivered(env: &Env<'_>, queue: &Queue, claimed: &Claimed, via: &str, delivery: &Delivery) {
    if let Err(e) = queue.done(claimed) {
        env.ui.warn(&format!(
            "delivered, but cannot remove it from the queue: {e}"
        ));
    }
    let task = shown(&claimed.entry.task);
    let attempts = claimed.entry.attempts + 1;
    env.ui.info(&format!(
        "notify: queued notification for `{task}` delivered through {via} on attempt {attempts}: {}",
        delivery.detail
    ));
}
