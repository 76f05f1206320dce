//! Delivering a rendered notification the way its plan says, and what
//! happens when that fails: queued when the failure is temporary, else a
//! copy in the local Maildir and the error.

use notify_core::{Notification, Transport};
use time::OffsetDateTime;

use super::connect::{self, Connect, Failure};
use super::plan::{Plan, Route};
use crate::app::error::CliError;
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
    match connect.desktop().send(notification).await {
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

/// How [`send_planned`] got on.
pub enum Sent {
    /// Delivered; one line saying where.
    Delivered(String),
    /// Not delivered yet, but queued for retry; the error says why (exit 75).
    Queued(CliError),
}

/// Delivers a rendered notification the way `plan` says. A temporary
/// failure (of the transport, or of the secret store) queues it
/// ([`Sent::Queued`]); any other failure keeps a copy in the local Maildir
/// and returns the error.
pub async fn send_planned(
    env: &Env<'_>,
    connect: &dyn Connect,
    plan: &Plan,
    task: &str,
    notification: &Notification,
) -> Result<Sent, CliError> {
    let (account_name, account, config) = match &plan.route {
        Route::Maildir => {
            let delivery = connect.maildir().send(notification).await?;
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
    // Notifications given up on earlier are mentioned once, in the next
    // mail that gets through this account.
    let queue = notify_queue::Queue::new(env.data_dir);
    let given_up: Vec<_> = queue
        .unreported_failures()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.account.as_deref() == Some(account_name.as_str()))
        .collect();
    let mut notification = notification.clone();
    if !given_up.is_empty() {
        let notice = plan
            .locale
            .given_up(given_up.len(), &crate::app::computer_name());
        notification.text = format!("{notice}\n\n{}", notification.text);
        notification.html = notification
            .html
            .map(|page| notify_template::with_notices(&page, &[notice]));
    }
    let sent = match connect::account_transport(connect, account_name, account, (**config).clone())
    {
        Ok(transport) => transport.send(&notification).await.map_err(Failure::of),
        Err(failure) => Err(failure),
    };
    match sent {
        Ok(delivery) => {
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
            // Temporary: queue it; every later notify retries it.
            match queue.enqueue(
                Some(account_name),
                task,
                &notification,
                e.message(),
                OffsetDateTime::now_utc(),
            ) {
                Ok(id) => {
                    env.ui.warn(&format!(
                        "not sent yet; queued as {id} and retried by the next notify run (or now: `notify queue flush`)"
                    ));
                    Ok(Sent::Queued(e))
                }
                Err(queue_err) => {
                    keep_local_copy(env, connect, &notification).await;
                    Err(e.hint(format!(
                        "the queue in {} is not writable ({queue_err}); a copy is in the local Maildir",
                        queue.dir().display()
                    )))
                }
            }
        }
        Err(failure @ (Failure::Permanent(_) | Failure::Config(_))) => {
            keep_local_copy(env, connect, &notification).await;
            Err(failure.into_error())
        }
    }
}

/// Keeps a copy of a notification that could not be sent where the user can
/// find it.
async fn keep_local_copy(env: &Env<'_>, connect: &dyn Connect, notification: &Notification) {
    match connect.maildir().send(notification).await {
        Ok(copy) => env.ui.warn(&format!(
            "not sent; a copy is in the local Maildir: {}",
            copy.detail
        )),
        Err(copy_err) => env.ui.warn(&format!(
            "not sent, and no local copy could be kept: {copy_err}"
        )),
    }
}
