//! `notify test`: a test mail rendered from sample values, through the
//! configured account (or the local Maildir).

use notify_core::Transport;
use notify_smtp::StdoutTransport;
use time::OffsetDateTime;

use crate::cli::TestArgs;
use crate::deliver::{self, Env, Plan};
use crate::error::{exit, CliError};

/// The task name test mails are planned under: `[email]` settings apply.
const TEST_TASK: &str = "notify test";

pub async fn test(env: &Env<'_>, args: TestArgs) -> Result<u8, CliError> {
    let plan = Plan::new(env, TEST_TASK, &args.delivery())?;
    let mut sample = notify_template::sample_result();
    sample.computer_name = Some(crate::computer_name());
    let now = OffsetDateTime::now_utc();
    let mut notification = deliver::render(
        env,
        &plan,
        &sample,
        &notify_template::History::default(),
        None,
        now,
    );
    let via = match &plan.route {
        deliver::Route::Smtp { name, config, .. } => format!(
            "account `{name}` ({}:{}, {})",
            config.host, config.port, config.security
        ),
        deliver::Route::Maildir => "the local Maildir".to_owned(),
    };
    notification.subject = format!("Test: {}", notification.subject);
    notification.text = format!(
        "This is a test message from notify on {}, sent through {via}.\n\
         If you can read it, notifications will arrive. The values below are samples.\n\n{}",
        crate::computer_name(),
        notification.text
    );
    if args.dry_run {
        StdoutTransport.send(&notification).await?;
        return Ok(exit::OK);
    }
    crate::cmd_queue::retry_due(env).await;
    let line = match deliver::send_planned(env, &plan, TEST_TASK, &notification).await? {
        deliver::Sent::Delivered(line) => line,
        deliver::Sent::Queued(e) => return Err(e),
    };
    env.ui.info(&format!("notify test: {line}"));
    Ok(exit::OK)
}
