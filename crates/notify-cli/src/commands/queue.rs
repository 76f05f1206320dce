//! `notify queue list | flush | purge`: the notifications waiting in
//! `$DATA_DIR/queue` after a temporary failure.

use notify_queue::{Entry, Queue};
use time::OffsetDateTime;

use crate::app::cli::QueueCommand;
use crate::app::config::HumanDuration;
use crate::app::error::{exit, CliError};
use crate::app::{shown, Env};
use crate::pipeline::{retry, Connect};

/// `notify queue ...`.
pub async fn queue(
    env: &Env<'_>,
    connect: &dyn Connect,
    cmd: QueueCommand,
) -> Result<u8, CliError> {
    match cmd {
        QueueCommand::List { json } => list(env, json),
        QueueCommand::Flush => {
            let flushed = retry::retry(env, connect, true, usize::MAX).await;
            crate::watch::metrics::write(env, OffsetDateTime::now_utc());
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
    let when = |t: OffsetDateTime| crate::app::local_time(t, env.offset);
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
                shown(&e.task),
                match e.account.as_deref() {
                    None => "local Maildir".to_owned(),
                    // `http:KIND:NAME`: the destination's kind and name.
                    Some(route) if route.starts_with("http:") => {
                        let mut parts = route.splitn(3, ':').skip(1);
                        let kind = parts.next().unwrap_or("http");
                        format!("{kind} `{}`", parts.next().unwrap_or_default())
                    }
                    Some(a) => format!("account `{a}`"),
                },
                e.subject,
                e.attempts,
                if title == "queued" { when(e.next_attempt_at) } else { "never".to_owned() },
                e.last_error
            ));
        }
    }
    crate::app::emit(&out);
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
    crate::app::emit_json(&list)?;
    Ok(exit::OK)
}
