//! Delivering a rendered notification the way its plan says, and what
//! happens when that fails: queued when the failure is temporary, else a
//! copy in the local Maildir and the error.

use notify_core::{Notification, Transport};
use time::OffsetDateTime;

use super::connect::{self, Connect, Failure};
use super::plan::{Plan, Route};
use crate::app::error::{exit, CliError};
use crate::app::stop;
use crate::app::Env;

/// Shows a desktop notification (or prints it, for a dry run). A desktop
/// that cannot be reached (no session bus, no notification server) is a
/// one-line warning, not an error: email delivery and the exit code are
/// not affected. Returns the line to report.
pub async fn desktop(
    env: &Env<'_>,
    connect: &dyn Connect,
    notification: &Notification,
    dry_run: bool,
) -> Result<Option<String>, CliError> {
    if dry_run {
        crate::app::emit(&format!(
            "--- desktop notification ---\nSummary: {}\n\n{}\n",
            notification.subject, notification.text
        ));
        return Ok(None);
    }
    let desktop = connect.desktop();
    let shown = tokio::select! {
        shown = desktop.send(notification) => shown,
        // A desktop notice is not queued: on a stop signal it is left out.
        _ = stop::requested() => return Ok(None),
    };
    match shown {
        Ok(delivery) => Ok(Some(format!("→ {}", delivery.detail))),
        Err(e) if e.kind() == notify_core::ErrorKind::Temporary => {
            // Once per run: with `notify_on_start` it would come twice.
            static WARNED: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(false);
            if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                env.ui.warn(&e.to_string());
                if let Some(hint) = crate::app::hints::transport(&e) {
                    env.ui.verbose(&format!("hint: {hint}"));
                }
            }
            Ok(None)
        }
        Err(e) => Err(CliError::from(e)),
    }
}

/// How [`send_held`] got on.
pub enum Sent {
    /// Delivered; one line saying where.
    Delivered(String),
    /// Not delivered yet, but queued for retry; the error says why (exit 75).
    Queued(CliError),
}

/// A rendered notification written ahead into the queue, claimed by this
/// process, before anything else is done for it ([`hold`]): a notify killed
/// from then on (kill -9, a crash, a reboot) leaves it for the next one,
/// which delivers it like any queued notification.
pub struct Held {
    notification: Notification,
    /// The queue entry; `None` when the queue could not take it (the
    /// delivery goes ahead all the same).
    claim: Option<notify_queue::Claimed>,
}

impl Held {
    /// A notification not written to the queue (a dry run's).
    pub fn unheld(notification: Notification) -> Held {
        Held {
            notification,
            claim: None,
        }
    }

    /// The notification.
    pub fn notification(&self) -> &Notification {
        &self.notification
    }

    /// The queue entry's id, when it has one.
    pub fn id(&self) -> Option<&str> {
        self.claim.as_ref().map(|c| c.entry.id.as_str())
    }
}

/// Writes `notification` ahead into the queue under `plan`'s route (its
/// account, or the local Maildir) and holds it there until
/// [`send_held`] settles it. Not synced to disk: it guards against the
/// process dying, and costs a write and a rename.
pub fn hold(env: &Env<'_>, plan: &Plan, task: &str, notification: Notification) -> Held {
    let account = match &plan.route {
        Route::Smtp { name, .. } => Some(name.as_str()),
        Route::Maildir => None,
    };
    hold_route(env, account, task, notification)
}

/// [`hold`] under a route of its own: an account's name, an HTTP
/// destination's `http:KIND:NAME`, `None` for the local Maildir.
pub fn hold_route(
    env: &Env<'_>,
    route: Option<&str>,
    task: &str,
    notification: Notification,
) -> Held {
    let queue = notify_queue::Queue::new(env.data_dir);
    let claim = queue
        .hold(route, task, &notification, OffsetDateTime::now_utc())
        .ok();
    Held {
        notification,
        claim,
    }
}

/// Delivers a held notification to an HTTP destination. A temporary
/// failure (no connection, a timeout, 429, 5xx, a keychain locked now)
/// leaves it queued ([`Sent::Queued`]); any other failure (4xx, a bad URL,
/// a missing secret) is the error returned, and nothing is queued. Its
/// queue entry goes once it is delivered.
pub async fn send_held_http(
    env: &Env<'_>,
    connect: &dyn Connect,
    dest: &super::http::HttpDest,
    task: &str,
    held: Held,
) -> Result<Sent, CliError> {
    let queue = notify_queue::Queue::new(env.data_dir);
    let Held {
        notification,
        claim,
    } = held;
    let label = dest.config.label();
    let attempt = async {
        let spec = super::http::spec(
            env,
            connect,
            &dest.config,
            task,
            super::http::SecretsAt::Run,
        )?;
        let transport = connect.http(spec, false).map_err(Failure::of)?;
        transport.send(&notification).await.map_err(Failure::of)
    };
    let sent = tokio::select! {
        sent = attempt => sent,
        signal = stop::requested() => Err(Failure::Temporary(CliError::new(
            exit::TEMPORARY,
            format!("delivery to the {label} stopped by {signal}"),
        ))),
    };
    let settle = |claim: Option<notify_queue::Claimed>| {
        if let Some(claim) = claim {
            if let Err(e) = queue.discard(claim) {
                env.ui.warn(&format!(
                    "its entry stays in the queue and may be delivered once more: {e}"
                ));
            }
        }
    };
    match sent {
        Ok(delivery) => {
            settle(claim);
            Ok(Sent::Delivered(format!("→ {}", delivery.detail)))
        }
        Err(Failure::Temporary(e)) => {
            let now = OffsetDateTime::now_utc();
            let queued = match claim {
                Some(claim) => {
                    let id = claim.entry.id.clone();
                    queue
                        .retry_later(claim, e.message(), now, super::retry::max_age(env))
                        .map(|_| id)
                }
                None => queue
                    .enqueue(Some(&dest.route), task, &notification, e.message(), now)
                    .map(|id| id.to_string()),
            };
            match queued {
                Ok(id) => {
                    env.ui.warn(&format!(
                        "not delivered to the {label} yet; queued as {id} and retried by the next \
                         notify run (or now: `notify queue flush`)"
                    ));
                    Ok(Sent::Queued(e))
                }
                Err(queue_err) => Err(e.with_code(exit::PERMANENT).hint(format!(
                    "the queue in {} is not writable ({queue_err}), so it will not be retried",
                    queue.dir().display()
                ))),
            }
        }
        Err(failure @ (Failure::Permanent(_) | Failure::Config(_))) => {
            settle(claim);
            Err(failure.into_error())
        }
    }
}

/// Delivers a held notification the way `plan` says. A temporary failure
/// (of the transport, or of the secret store) leaves it queued
/// ([`Sent::Queued`]); any other failure keeps a copy in the local Maildir
/// and returns the error. Its queue entry goes once it is delivered.
pub async fn send_held(
    env: &Env<'_>,
    connect: &dyn Connect,
    plan: &Plan,
    task: &str,
    held: Held,
) -> Result<Sent, CliError> {
    let queue = notify_queue::Queue::new(env.data_dir);
    let Held {
        mut notification,
        claim,
    } = held;
    let discard = |claim: Option<notify_queue::Claimed>| {
        if let Some(claim) = claim {
            if let Err(e) = queue.discard(claim) {
                env.ui.warn(&format!(
                    "its entry stays in the queue and may be delivered once more: {e}"
                ));
            }
        }
    };
    let (account_name, account, config) = match &plan.route {
        Route::Maildir => {
            let sent = connect.maildir().send(&notification).await;
            // Delivered, or not to be retried: the Maildir's trouble is not
            // one that passes.
            discard(claim);
            let delivery = match sent {
                Ok(delivery) => delivery,
                Err(e) => {
                    let err = CliError::from(e);
                    dump_to_stderr(&notification);
                    return Err(unkept(err, None));
                }
            };
            return Ok(Sent::Delivered(if plan.fallback {
                format!(
                    "→ local Maildir {} (because of the configuration error above)",
                    delivery.detail
                )
            } else {
                format!(
                    "→ local Maildir {} (no email account is configured; see the README, \"Send through your mail provider\")",
                    delivery.detail
                )
            }));
        }
        Route::Smtp {
            name,
            account,
            config,
        } => (name, account, config),
    };
    // Notifications given up on earlier (also by the retry that ran after
    // this one was held) are mentioned once, in the next mail that gets
    // through this account.
    // A message written elsewhere (`notify sendmail`) is sent as it is:
    // the next notification of notify's own tells instead.
    let given_up: Vec<_> = if notification.raw_message.is_some() {
        Vec::new()
    } else {
        queue
            .unreported_failures()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.account.as_deref() == Some(account_name.as_str()))
            .collect()
    };
    let mut claim = claim;
    if !given_up.is_empty() {
        let notice = plan
            .locale
            .given_up(given_up.len(), &crate::app::computer_name());
        notification.text = format!("{notice}\n\n{}", notification.text);
        notification.html = notification
            .html
            .map(|page| notify_template::with_notices(&page, &[notice]));
        // Queued again after a temporary failure, it says so too.
        if let Some(claim) = claim.as_mut() {
            claim.notification = notification.clone();
        }
    }
    let attempt = async {
        match connect::account_transport(connect, account_name, account, (**config).clone()).await {
            Ok(transport) => transport.send(&notification).await.map_err(Failure::of),
            Err(failure) => Err(failure),
        }
    };
    // A stop signal ends the attempt at once; the notification is queued
    // like after any temporary failure, and the next notify delivers it.
    let sent = tokio::select! {
        sent = attempt => sent,
        signal = stop::requested() => Err(Failure::Temporary(CliError::new(
            exit::TEMPORARY,
            format!("delivery through account `{account_name}` stopped by {signal}"),
        ))),
    };
    match sent {
        Ok(delivery) => {
            discard(claim);
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
        Err(Failure::Temporary(e)) => {
            // Temporary: queue it (the entry written ahead becomes its first
            // attempt); every later notify retries it.
            let queued = match claim {
                Some(claim) => {
                    let id = claim.entry.id.clone();
                    queue
                        .retry_later(
                            claim,
                            e.message(),
                            OffsetDateTime::now_utc(),
                            super::retry::max_age(env),
                        )
                        .map(|_| id)
                }
                None => queue
                    .enqueue(
                        Some(account_name),
                        task,
                        &notification,
                        e.message(),
                        OffsetDateTime::now_utc(),
                    )
                    .map(|id| id.to_string()),
            };
            match queued {
                Ok(id) => {
                    env.ui.warn(&format!(
                        "not sent yet; queued as {id} and retried by the next notify run (or now: `notify queue flush`)"
                    ));
                    Ok(Sent::Queued(e))
                }
                Err(queue_err) => {
                    // Not queued, so not retried: exit 75 would promise
                    // a retry that never comes.
                    let queue_dir = queue.dir().display().to_string();
                    match keep_local_copy(env, connect, &notification).await {
                        Some(copy) => Err(e.with_code(exit::PERMANENT).hint(format!(
                            "the queue in {queue_dir} is not writable ({queue_err}), so it \
                             will not be retried; a copy is in the local Maildir: {copy}"
                        ))),
                        None => Err(unkept(
                            e,
                            Some(&format!(
                                "the queue in {queue_dir} and the local Maildir cannot be \
                                 written ({queue_err})"
                            )),
                        )),
                    }
                }
            }
        }
        Err(failure @ (Failure::Permanent(_) | Failure::Config(_))) => {
            // Not to be retried: the entry written ahead goes; a local copy
            // is kept instead.
            discard(claim);
            let err = failure.into_error();
            match keep_local_copy(env, connect, &notification).await {
                Some(_) => Err(err),
                None => Err(unkept(
                    err,
                    Some("no copy could be kept: the local Maildir cannot be written"),
                )),
            }
        }
    }
}

/// Keeps a copy of a notification that could not be sent where the user can
/// find it, and says where; `None` when no copy could be kept, after the
/// whole notification was written to stderr instead.
async fn keep_local_copy(
    env: &Env<'_>,
    connect: &dyn Connect,
    notification: &Notification,
) -> Option<String> {
    match connect.maildir().send(notification).await {
        Ok(copy) => {
            env.ui.warn(&format!(
                "not sent; a copy is in the local Maildir: {}",
                copy.detail
            ));
            Some(copy.detail)
        }
        Err(copy_err) => {
            env.ui.warn(&format!(
                "not sent, and no local copy could be kept: {copy_err}"
            ));
            dump_to_stderr(notification);
            None
        }
    }
}

/// `err` of a notification that could be neither delivered nor kept: exit
/// 74. The hint keeps what `err` already advises, adds `why` (when the
/// error is not already about it), and says where the text went.
fn unkept(err: CliError, why: Option<&str>) -> CliError {
    let mut parts: Vec<String> = err.hint_text().map(str::to_owned).into_iter().collect();
    let had_advice = !parts.is_empty();
    if let Some(why) = why {
        parts.push(why.to_owned());
    }
    parts.push(
        "the whole notification is above on stderr (cron mails it, journald keeps it)".to_owned(),
    );
    if !had_advice {
        parts.push(format!(
            "make the data directory writable, or point --data-dir or {} at one that is",
            crate::app::env_vars::NOTIFY_DATA_DIR
        ));
    }
    err.with_code(exit::UNKEPT).hint(parts.join("; "))
}

/// The last place a notification can go: the whole of it on stderr, between
/// marker lines, every line made safe for a terminal.
fn dump_to_stderr(n: &Notification) {
    let mut out = String::from("----- notification not delivered and not kept -----\n");
    let mut field = |name: &str, value: &str| {
        if !value.is_empty() {
            out.push_str(&format!(
                "{name}: {}\n",
                notify_core::text::one_line(value, None)
            ));
        }
    };
    field("From", n.from.as_deref().unwrap_or_default());
    field("To", &n.to.join(", "));
    field("Cc", &n.cc.join(", "));
    field("Subject", &n.subject);
    out.push('\n');
    let raw = n.raw_message.as_deref().map(String::from_utf8_lossy);
    for line in raw.as_deref().unwrap_or(&n.text).lines() {
        out.push_str(&notify_core::text::printable(line, None));
        out.push('\n');
    }
    for a in &n.attachments {
        out.push_str(&format!(
            "\n--- attachment {} ({} bytes) ---\n",
            notify_core::text::one_line(&a.filename, None),
            a.data.len()
        ));
        if a.content_type.starts_with("text/") {
            for line in String::from_utf8_lossy(&a.data).lines() {
                out.push_str(&notify_core::text::printable(line, None));
                out.push('\n');
            }
        }
    }
    out.push_str("----- end of notification -----");
    crate::app::diag(&out);
}
