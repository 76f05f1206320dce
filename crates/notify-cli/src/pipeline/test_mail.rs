//! The test mail: sample values rendered with the task's templates and
//! sent the way a real notification would go (`notify test`, and the end
//! of `notify account add`).

use notify_core::Transport;
use time::OffsetDateTime;

use super::connect::Connect;
use super::deliver::{hold, send_held, Sent};
use super::plan::{Plan, Route};
use super::render::render;
use super::retry::retry_due;
use crate::app::cli::DeliveryArgs;
use crate::app::error::{exit, CliError};
use crate::app::Env;

/// The task name test mails are planned under: `[email]` settings apply.
const TEST_TASK: &str = "notify test";

/// Sends (or, with `flags.dry_run`, shows) a test mail; `Ok` once it is
/// delivered, the error when it was not (a queued one included).
pub async fn test_mail(
    env: &Env<'_>,
    connect: &dyn Connect,
    flags: &DeliveryArgs,
) -> Result<u8, CliError> {
    let plan = Plan::new(env, TEST_TASK, flags)?;
    let mut sample = notify_template::sample_result();
    sample.computer_name = Some(crate::app::computer_name());
    let now = OffsetDateTime::now_utc();
    let mut notification = render(
        env,
        &plan,
        &sample,
        &notify_template::History::default(),
        None,
        now,
    );
    let via = match &plan.route {
        Route::Smtp { name, config, .. } => format!(
            "account `{name}` ({}:{}, {})",
            config.host, config.port, config.security
        ),
        Route::Maildir => "the local Maildir".to_owned(),
    };
    notification.subject = format!("Test: {}", notification.subject);
    notification.text = format!(
        "This is a test message from notify on {}, sent through {via}.\n\
         If you can read it, notifications will arrive. The values below are samples.\n\n{}",
        crate::app::computer_name(),
        notification.text
    );
    if flags.dry_run {
        connect.dry_run().send(&notification).await?;
        return Ok(exit::OK);
    }
    // Held in the queue before the retry, as a run's notification is.
    let held = hold(env, &plan, TEST_TASK, notification);
    retry_due(env, connect).await;
    let line = match send_held(env, connect, &plan, TEST_TASK, held).await? {
        Sent::Delivered(line) => line,
        Sent::Queued(e) => return Err(e),
    };
    env.ui.info(&format!("notify test: {line}"));
    Ok(exit::OK)
}
