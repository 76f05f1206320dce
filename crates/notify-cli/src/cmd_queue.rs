//! Retrying queued notifications, and `notify queue list | flush | purge`.
//!
//! A notification whose delivery failed temporarily waits in
//! `$DATA_DIR/queue`. Every `run`, `send` and `test` first retries the ones
//! that are due; `notify queue flush` retries all of them now. Each
//! account's messages go over one connection.

use std::collections::BTreeMap;

use notify_core::{ErrorKind, Transport};
use time::OffsetDateTime;

use crate::account;
use crate::cli::QueueCommand;
use crate::config::HumanDuration;
use crate::deliver::{self, Env};
use crate::error::{exit, CliError};
use crate::queue::{Claimed, Entry, Queue, Retry, DEFAULT_MAX_AGE};

/// How many queued messages one `run` or `send` retries on its way.
const RETRY_PER_RUN: usize = 50;

/// What a retry pass did.
#[derive(Debug, Default)]
pub struct Flushed {
    pub delivered: usize,
    pub still_queued: usize,
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

/// How many queued messages are read into memory at a time.
const CHUNK: usize = 100;

/// The connection of each account during one retry, opened on its first
/// message and kept for the rest (or why the account cannot send).
type Sessions = BTreeMap<String, Result<notify_smtp::SmtpSession, String>>;

/// Retries the queued messages that are due (or all, for `flush`), grouped
/// by account, reading at most [`CHUNK`] messages at a time; each account
/// gets one connection for the whole retry. Problems are warnings: a retry
/// never changes the outcome of the command that triggered it.
pub async fn retry(env: &Env<'_>, all: bool, limit: usize) -> Flushed {
    let queue = Queue::new(env.data_dir);
    let now = OffsetDateTime::now_utc();
    let mut flushed = Flushed::default();
    let mut sessions = Sessions::new();
    let mut left = limit;
    while left > 0 {
        // One Queue claims each entry at most once, so this ends.
        let (claimed, warnings) = queue.claim_due(now, all, left.min(CHUNK));
        for w in warnings {
            env.ui.warn(&w);
        }
        if claimed.is_empty() {
            break;
        }
        left = left.saturating_sub(claimed.len());
        retry_chunk(env, &queue, claimed, now, &mut sessions, &mut flushed).await;
        if let Err(e) = queue.sync() {
            env.ui.warn(&format!("{e}"));
        }
    }
    for session in sessions.into_values().flatten() {
        session.finish().await;
    }
    flushed
}

async fn retry_chunk(
    env: &Env<'_>,
    queue: &Queue,
    claimed: Vec<Claimed>,
    now: OffsetDateTime,
    sessions: &mut Sessions,
    flushed: &mut Flushed,
) {
    let mut by_account: BTreeMap<Option<String>, Vec<Claimed>> = BTreeMap::new();
    for c in claimed {
        by_account
            .entry(c.entry.account.clone())
            .or_default()
            .push(c);
    }
    let max_age = max_age(env);
    for (account_name, batch) in by_account {
        let outcome = |r: Result<notify_core::Delivery, notify_core::TransportError>| {
            r.map(|d| d.detail).map_err(|e| (e.kind(), e.to_string()))
        };
        let mut results: Vec<Result<String, (ErrorKind, String)>> = Vec::with_capacity(batch.len());
        match &account_name {
            None => {
                let maildir = deliver::maildir(env);
                for c in &batch {
                    results.push(outcome(maildir.send(&c.notification).await));
                }
            }
            Some(name) => {
                let session = sessions.entry(name.clone()).or_insert_with(|| {
                    transport_for(env, name)
                        .map(notify_smtp::SmtpTransport::into_session)
                        .map_err(|e| e.message().to_owned())
                });
                for c in &batch {
                    results.push(match session {
                        Ok(session) => outcome(session.send(&c.notification).await),
                        Err(e) => Err((ErrorKind::Config, e.clone())),
                    });
                }
            }
        }
        let via = account_name
            .as_deref()
            .map_or("the local Maildir".to_owned(), |a| format!("account `{a}`"));
        for (claimed, result) in batch.into_iter().zip(results) {
            let task = deliver::shown(&claimed.entry.task);
            let attempts = claimed.entry.attempts + 1;
            match result {
                Ok(detail) => {
                    if let Err(e) = queue.done(claimed) {
                        env.ui.warn(&format!(
                            "delivered, but cannot remove it from the queue: {e}"
                        ));
                    }
                    flushed.delivered += 1;
                    env.ui.info(&format!(
                        "notify: queued notification for `{task}` delivered through {via} on attempt {attempts}: {detail}"
                    ));
                }
                Err((ErrorKind::Temporary, error)) => {
                    match queue.retry_later(claimed, &error, now, max_age) {
                        Ok(Retry::Later(at)) => {
                            flushed.still_queued += 1;
                            env.ui.warn(&format!(
                                "queued notification for `{task}` not delivered yet ({error}); next try after {}",
                                at.to_offset(env.offset).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
                            ));
                        }
                        Ok(Retry::GaveUp) => {
                            flushed.gave_up += 1;
                            env.ui.warn(&format!(
                                "gave up on the notification for `{task}` after {} days in the queue: {error}",
                                max_age.whole_days()
                            ));
                        }
                        Err(e) => env
                            .ui
                            .warn(&format!("cannot reschedule a queued notification: {e}")),
                    }
                }
                Err((_, error)) => {
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
    }
}

fn transport_for(env: &Env<'_>, name: &str) -> Result<notify_smtp::SmtpTransport, CliError> {
    let acc = env
        .loaded
        .config
        .accounts
        .get(name)
        .ok_or_else(|| account::unknown_account(&env.loaded.config, name))?;
    let config = account::smtp_config(name, acc, env.ui)?;
    account::transport(name, acc, config, env.ui)
}

/// Retries what is due on the way of a `run`, `send` or `test`.
pub async fn retry_due(env: &Env<'_>) {
    retry(env, false, RETRY_PER_RUN).await;
}

pub async fn queue(env: &Env<'_>, cmd: QueueCommand) -> Result<u8, CliError> {
    match cmd {
        QueueCommand::List { json } => list(env, json),
        QueueCommand::Flush => {
            let flushed = retry(env, true, usize::MAX).await;
            let total = flushed.delivered + flushed.still_queued + flushed.gave_up;
            if total == 0 {
                env.ui.info("the queue is empty");
                return Ok(exit::OK);
            }
            env.ui.info(&format!(
                "queue flush: {} delivered, {} still queued, {} given up",
                flushed.delivered, flushed.still_queued, flushed.gave_up
            ));
            Ok(if flushed.gave_up > 0 {
                exit::PERMANENT
            } else if flushed.still_queued > 0 {
                exit::TEMPORARY
            } else {
                exit::OK
            })
        }
        QueueCommand::Purge { older_than } => {
            let queue = Queue::new(env.data_dir);
            let older = older_than.map(|d| d.0);
            let n = queue.purge(older, OffsetDateTime::now_utc()).map_err(|e| {
                CliError::new(exit::PERMANENT, format!("cannot purge the queue: {e}"))
            })?;
            env.ui.info(&format!("removed {n} queued notification(s)"));
            Ok(exit::OK)
        }
    }
}

fn list(env: &Env<'_>, json: bool) -> Result<u8, CliError> {
    let queue = Queue::new(env.data_dir);
    let (entries, warnings) = queue.list();
    let (failed, more) = queue.list_failed();
    for w in warnings.into_iter().chain(more) {
        env.ui.warn(&w);
    }
    if json {
        return list_json(&entries, &failed);
    }
    if entries.is_empty() && failed.is_empty() {
        env.ui.info("the queue is empty");
        return Ok(exit::OK);
    }
    let now = OffsetDateTime::now_utc();
    let when = |t: OffsetDateTime| {
        t.to_offset(env.offset)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let mut out = String::new();
    for (title, list) in [("queued", &entries), ("given up", &failed)] {
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!("{title} ({}):\n", list.len()));
        for e in list.iter() {
            let age = HumanDuration(now - e.first_failed_at).to_string();
            out.push_str(&format!(
                "  {}  task `{}`  via {}\n    subject: {}\n    age {age}, {} attempt(s), next {}\n    last error: {}\n",
                e.id,
                deliver::shown(&e.task),
                e.account.as_deref().map_or("local Maildir".to_owned(), |a| format!("account `{a}`")),
                e.subject,
                e.attempts,
                if title == "queued" { when(e.next_attempt_at) } else { "never".to_owned() },
                e.last_error
            ));
        }
    }
    crate::emit(&out);
    Ok(exit::OK)
}

/// `queue list --json` (docs/json.md): one array, the queued entries and
/// then the given-up ones, as the text lists them; never a message body.
fn list_json(queued: &[Entry], failed: &[Entry]) -> Result<u8, CliError> {
    let utc = |t: OffsetDateTime| {
        t.to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let item = |e: &Entry, state: &str| {
        serde_json::json!({
            "id": e.id,
            "state": state,
            "task": e.task,
            "account": e.account,
            "subject": e.subject,
            "recipients": e.recipients,
            "message_id": e.message_id,
            "queued_at": utc(e.first_failed_at),
            "next_attempt_at": (state == "queued").then(|| utc(e.next_attempt_at)),
            "attempts": e.attempts,
            "last_error": e.last_error,
        })
    };
    let list: Vec<serde_json::Value> = queued
        .iter()
        .map(|e| item(e, "queued"))
        .chain(failed.iter().map(|e| item(e, "failed")))
        .collect();
    crate::emit_json(&list)?;
    Ok(exit::OK)
}
