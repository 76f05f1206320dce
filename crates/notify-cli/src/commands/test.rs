//! `notify test`: a test mail rendered from sample values, through the
//! configured account (or the local Maildir).

use crate::app::cli::TestArgs;
use crate::app::error::CliError;
use crate::app::Env;
use crate::pipeline::{test_mail, Connect};

/// `notify test`.
pub async fn test(env: &Env<'_>, connect: &dyn Connect, args: TestArgs) -> Result<u8, CliError> {
    test_mail(env, connect, &args.delivery()).await
}
