//! The digest mail through the `[email]` destination: rendered, held in the
//! queue, delivered like every notification.

use notify_core::Transport;
use time::OffsetDateTime;

use super::connect::Connect;
use super::deliver::{hold, send_held, Sent};
use super::plan::Plan;
use super::render::render_digest;
use super::retry::retry_due;
use crate::app::cli::DeliveryArgs;
use crate::app::error::{exit, CliError};
use crate::app::Env;

/// The task name a digest is planned and queued under: `[email]` settings
/// apply.
pub const DIGEST_TASK: &str = "notify digest";

/// Sends (or, with `flags.dry_run`, shows) `digest`; the line saying where
/// it went, or the error (a queued one included).
pub async fn send_digest(
    env: &Env<'_>,
    connect: &dyn Connect,
    flags: &DeliveryArgs,
    digest: &notify_template::Digest,
) -> Result<u8, CliError> {
    let plan = Plan::new(env, DIGEST_TASK, flags)?;
    let now = OffsetDateTime::now_utc();
    let notification = render_digest(env, &plan, digest, now);
    if flags.dry_run {
        connect.dry_run().send(&notification).await?;
        return Ok(exit::OK);
    }
    let held = hold(env, &plan, DIGEST_TASK, notification);
    retry_due(env, connect).await;
    match send_held(env, connect, &plan, DIGEST_TASK, held).await? {
        Sent::Delivered(line) => {
            env.ui.info(&format!("notify digest: {line}"));
            Ok(exit::OK)
        }
        Sent::Queued(e) => Err(e),
    }
}
