//! `notify digest`: one mail over every task.

use crate::app::cli::{DeliveryArgs, DigestArgs};
use crate::app::error::CliError;
use crate::app::Env;
use crate::pipeline::Connect;
use crate::watch::digest;

/// Builds the digest and sends it through the `[email]` destination.
pub async fn digest(
    env: &Env<'_>,
    connect: &dyn Connect,
    args: DigestArgs,
) -> Result<u8, CliError> {
    let period = args.period.map_or_else(
        || digest::default_period(env.loaded.config.email.digest),
        |p| p.0,
    );
    let flags = DeliveryArgs {
        to: args.to,
        account: args.account,
        dry_run: args.dry_run,
        ..DeliveryArgs::default()
    };
    digest::send(env, connect, &flags, period).await
}
