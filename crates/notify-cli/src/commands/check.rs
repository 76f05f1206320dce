//! `notify check`: tell about tasks that did not run, did not finish or run
//! too long.

use time::OffsetDateTime;

use crate::app::cli::{CheckArgs, DeliveryArgs};
use crate::app::error::CliError;
use crate::app::Env;
use crate::pipeline::Connect;

/// Checks every task and run, tells what it finds, and says in one line
/// what it looked at. Exits like `send`: 0 when everything found was
/// delivered (or nothing was found), 75 when something was queued.
pub async fn check(env: &Env<'_>, connect: &dyn Connect, args: CheckArgs) -> Result<u8, CliError> {
    let flags = DeliveryArgs {
        dry_run: args.dry_run,
        ..DeliveryArgs::default()
    };
    let (checked, result) =
        crate::watch::check(env, connect, &flags, OffsetDateTime::now_utc()).await;
    let found = if checked.findings.is_empty() {
        "nothing overdue, unfinished or running too long".to_owned()
    } else {
        format!("found {}", checked.findings.join("; "))
    };
    env.ui.info(&format!(
        "notify check: looked at {} expected task(s) and running job(s); {found}",
        checked.looked_at
    ));
    result
}
