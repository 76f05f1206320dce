//! One module per command. A command parses what is its own, calls the
//! pipeline and words the outcome; no command calls another.

use crate::app::cli::{Cli, Command, QueueCommand};
use crate::app::error::{exit, CliError};
use crate::app::{emit, Env};
use crate::pipeline::Connect;

pub mod account;
pub mod check;
pub mod digest;
pub mod doctor;
pub mod man;
mod msmtp;
pub mod providers;
pub mod queue;
pub mod run;
mod runner;
pub mod send;
pub mod sendmail;
pub mod status;
mod systemd;
pub mod template;
pub mod test;

/// Runs `command` (any but `providers`, `completions` and `man`, which
/// need no configuration and are run before it is read).
pub fn dispatch(
    env: &Env<'_>,
    connect: &dyn Connect,
    runtime: &tokio::runtime::Runtime,
    command: Command,
) -> Result<u8, CliError> {
    // The commands that deliver stop within a second on SIGTERM, SIGINT or
    // SIGHUP, keeping what was not delivered in the queue.
    if matches!(
        command,
        Command::Run(_)
            | Command::Send(_)
            | Command::Test(_)
            | Command::Check(_)
            | Command::Digest(_)
            | Command::Queue(QueueCommand::Flush)
            | Command::Sendmail { .. }
    ) {
        // `run` arms it once its job has ended.
        crate::app::stop::listen(runtime, !matches!(command, Command::Run(_)));
    }
    match command {
        Command::Run(args) => Ok(runtime.block_on(run::run(env, connect, args))),
        Command::Send(args) => runtime.block_on(send::send(env, connect, args)),
        Command::Test(args) => runtime.block_on(test::test(env, connect, args)),
        Command::Check(args) => runtime.block_on(check::check(env, connect, args)),
        Command::Status(args) => status::status(env, &args),
        Command::Digest(args) => runtime.block_on(digest::digest(env, connect, args)),
        Command::Template(cmd) => template::template(env, cmd),
        Command::Providers { json } => providers::providers(json),
        Command::Completions { shell } => completions(shell),
        Command::Man { dir } => man::man(dir.as_deref()),
        Command::Queue(cmd) => runtime.block_on(queue::queue(env, connect, cmd)),
        Command::Doctor { account, json } => {
            runtime.block_on(doctor::doctor(env, connect, account, json))
        }
        Command::Account(cmd) => runtime.block_on(account::account(env, connect, cmd)),
        Command::Sendmail { args } => runtime.block_on(sendmail::sendmail(env, connect, args)),
    }
}

/// `notify completions SHELL`: the script on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<u8, CliError> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "notify", &mut out);
    emit(&String::from_utf8_lossy(&out));
    Ok(exit::OK)
}
