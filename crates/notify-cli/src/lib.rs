//! The `notify` command as a library: the binary's `main` is [`main`], and
//! every part of it can be reached from tests.
//!
//! The modules show the flow, and depend on each other in one direction
//! only (a tidy test checks it):
//!
//! - [`app`]: what every part needs — the context ([`app::Env`]), the
//!   command line ([`app::cli`]), the configuration ([`app::config`]),
//!   paths, environment variable names, output ([`app::Ui`]) and the one
//!   error type with its exit codes ([`app::error`]).
//! - [`pipeline`]: from a task result to delivered notifications — plan,
//!   decide, render, deliver through injected transports, queue, retry.
//!   It builds no transport and opens no secret store itself: it asks a
//!   [`pipeline::Connect`].
//! - [`wiring`]: [`wiring::Live`], the one place that builds the real
//!   transports (SMTP, Maildir, desktop, stdout) and secret stores from the
//!   configuration.
//! - [`commands`]: one module per command; none calls another. They parse
//!   what is theirs and call the pipeline.
//!
//! A key design decision made in this crate is that it owns all the wiring
//! and none of the logic: deciding is `notify_core::decide`, rendering is
//! `notify_template`, delivery is a `notify_core::Transport`, the queue is
//! `notify_queue`. Only this crate prints, reads the environment or picks
//! exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use time::UtcOffset;

pub mod app;
pub mod commands;
pub mod pipeline;
pub mod watch;
pub mod wiring;

use app::cli::{Cli, ColorChoice, Command};
use app::error::{exit, CliError};

/// The whole program: parses the command line (of this process), runs the
/// command and returns its exit code.
pub fn main() -> ExitCode {
    no_core_dumps();
    // Read before any thread exists: the time crate refuses to read the local
    // offset from a multi-threaded process on Unix.
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);

    // Run as `sendmail` (a symlink): every argument is sendmail's.
    if let Some(cli) = as_sendmail(std::env::args_os().collect()) {
        return match real_main(cli, offset, Vec::new()) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                e.report();
                ExitCode::from(e.code())
            }
        };
    }
    let color = color_choice(std::env::args_os());
    let parsed = <Cli as clap::CommandFactory>::command()
        .color(color)
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let mut notices = Vec::new();
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let shows = matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayVersion
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            // A mistake in notify's own flags must not skip the job.
            let rescued = if shows {
                None
            } else {
                rescue_run(std::env::args_os().collect())
            };
            let _ = e.print();
            let Some((cli, task)) = rescued else {
                return ExitCode::from(if shows { exit::OK } else { exit::USAGE });
            };
            let mistake = mistake_line(&e);
            app::diag(&format!(
                "notify: running the command anyway, as task `{}`, with notify's defaults \
                 (its other flags are ignored)",
                app::shown(&task)
            ));
            notices.push(format!(
                "notify's command line had a mistake, so the command ran with notify's \
                 defaults: {mistake}"
            ));
            cli
        }
    };

    match real_main(cli, offset, notices) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            e.report();
            ExitCode::from(e.code())
        }
    }
}

/// The command line of a notify run under the name `sendmail` (the file
/// name of `argv[0]`, as `/usr/sbin/sendmail` or `/usr/lib/sendmail` calls
/// it): `notify sendmail` with every argument, `-v` also making notify
/// verbose. `None` under any other name.
fn as_sendmail(args: Vec<std::ffi::OsString>) -> Option<Cli> {
    let mut args = args.into_iter();
    let program = args.next()?;
    let name = std::path::Path::new(&program).file_name()?;
    if name != "sendmail" {
        return None;
    }
    let args: Vec<std::ffi::OsString> = args.collect();
    let verbose = commands::sendmail::parse_flags(&args).is_ok_and(|f| f.verbose);
    Some(Cli {
        global: app::cli::GlobalArgs {
            config: None,
            data_dir: None,
            verbose: u8::from(verbose),
            quiet: false,
            color: ColorChoice::Never,
        },
        command: Command::Sendmail { args },
    })
}

/// notify may hold a password: no core dump and no other process of the
/// same user may read its memory (`PR_SET_DUMPABLE 0`, as ssh-agent and
/// gpg-agent do). The job is not affected: the flag is reset when it
/// executes its program, so its own core dumps stay as they were.
#[cfg(target_os = "linux")]
#[allow(
    unsafe_code,
    reason = "prctl(2) through libc: notify's memory holds passwords"
)]
fn no_core_dumps() {
    // SAFETY: PR_SET_DUMPABLE takes plain integers and touches no memory of
    // ours; a failure leaves the process as it was.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn no_core_dumps() {}

/// For a `notify run ... -- CMD ...` whose flags do not parse: the same
/// run with every notify flag dropped but `--task` (when its value can be
/// read; else the program's name) and the global flags before `run` (when
/// they parse). `None` when there is no command after `--`.
fn rescue_run(args: Vec<std::ffi::OsString>) -> Option<(Cli, String)> {
    let sep = args.iter().position(|a| a == "--")?;
    let command = args.get(sep + 1..).filter(|c| !c.is_empty())?;
    let run_at = args[..sep].iter().position(|a| a == "run")?;
    let mut task = None;
    let mut flags = args[run_at + 1..sep].iter();
    while let Some(flag) = flags.next() {
        let flag = flag.to_string_lossy();
        if flag == "--task" {
            task = flags.next().map(|t| t.to_string_lossy().into_owned());
        } else if let Some(t) = flag.strip_prefix("--task=") {
            task = Some(t.to_owned());
        }
    }
    let task = task.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| {
        std::path::Path::new(&command[0]).file_name().map_or_else(
            || "command".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        )
    });
    let tail = |mut head: Vec<std::ffi::OsString>| {
        head.extend([
            "run".into(),
            "--task".into(),
            task.clone().into(),
            "--".into(),
        ]);
        head.extend(command.iter().cloned());
        head
    };
    let program = args.first().cloned().unwrap_or_else(|| "notify".into());
    [tail(args[..run_at].to_vec()), tail(vec![program])]
        .into_iter()
        .find_map(|argv| <Cli as clap::Parser>::try_parse_from(argv).ok())
        .map(|cli| (cli, task))
}

/// The first line of a clap error, without its `error: `.
fn mistake_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    notify_core::text::one_line(first.strip_prefix("error: ").unwrap_or(first), None)
}

fn real_main(cli: Cli, offset: UtcOffset, notices: Vec<String>) -> Result<u8, CliError> {
    // Commands that need neither the configuration nor the data directory,
    // so that a broken config file cannot break them.
    match &cli.command {
        Command::Providers { json } => return commands::providers::providers(*json),
        Command::Completions { shell } => return commands::completions(*shell),
        Command::Man { dir } => return commands::man::man(dir.as_deref()),
        _ => {}
    }
    let ui = app::Ui::new(cli.global.verbose, cli.global.quiet)
        .with_stdout_color(stdout_color(cli.global.color));
    let (config_path, explicit) = app::paths::config_file(cli.global.config.clone());
    // `sendmail` too: the message must not be lost to a config mistake.
    let is_run = matches!(cli.command, Command::Run(_) | Command::Sendmail { .. });
    // `account add` and `account import` create the config file, also at a
    // path given with --config / NOTIFY_CONFIG.
    let creates_config = matches!(
        cli.command,
        Command::Account(
            app::cli::AccountCommand::Add(_) | app::cli::AccountCommand::Import { .. }
        )
    );
    let explicit = explicit && (!creates_config || config_path.exists());
    // `run` runs the job whatever is wrong with the configuration: a typo in
    // config.toml must not switch backups off. The error is reported and the
    // notification goes to the local Maildir.
    // `sendmail` keeps the message in the local Maildir and exits 78.
    let is_sendmail = matches!(cli.command, Command::Sendmail { .. });
    let mut fell_back = false;
    let loaded = match app::config::load(&config_path, explicit) {
        Ok(loaded) => loaded,
        Err(e) if is_run => {
            e.report();
            fell_back = true;
            ui.warn(if is_sendmail {
                "keeping the message in the local Maildir instead"
            } else {
                "running the command anyway, with the built-in defaults"
            });
            app::config::Loaded::default()
        }
        Err(e) => return Err(e),
    };
    // Keys left out for a mistake: said on every run, on stderr and at the
    // top of the mail, until the file is fixed.
    let mut notices = notices;
    for problem in &loaded.problems {
        ui.warn(problem);
    }
    if !loaded.problems.is_empty() {
        notices.push(format!(
            "notify's configuration has mistakes; these keys were ignored, the rest is in \
             force:\n{}",
            loaded
                .problems
                .iter()
                .map(|p| format!("- {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    let data_dir = match app::paths::data_dir(cli.global.data_dir.clone()) {
        Ok(dir) => dir,
        Err(e) if is_run => {
            e.report();
            std::env::temp_dir().join("notify")
        }
        Err(e) => return Err(e),
    };
    let env = app::Env {
        loaded: &loaded,
        config_path: &config_path,
        data_dir: &data_dir,
        offset,
        ui: &ui,
        notices,
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(exit::PERMANENT, format!("cannot start: {e}")))?;

    let code = commands::dispatch(&env, &wiring::Live::new(&env), &runtime, cli.command);
    // A name lookup that outlived its timeout (getaddrinfo cannot be
    // cancelled) runs on in the blocking pool: notify does not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match code {
        // Kept, not sent: the caller must not take it as delivered.
        Ok(exit::OK) if is_sendmail && fell_back => Ok(exit::CONFIG),
        code => code,
    }
}

/// Whether stdout gets colours: `--color always`, or `auto` when stdout is a
/// terminal and `NO_COLOR` is unset or empty.
fn stdout_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os(app::env_vars::NO_COLOR).is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// `--color` as clap understands it, read before parsing so that even parse
/// errors follow it.
fn color_choice(args: impl Iterator<Item = std::ffi::OsString>) -> clap::ColorChoice {
    let mut choice = ColorChoice::Auto;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--") => break,
            Some("--color") => args.next().and_then(|v| v.into_string().ok()),
            Some(s) if s.starts_with("--color=") => Some(s["--color=".len()..].to_owned()),
            _ => None,
        };
        match value.as_deref() {
            Some("always") => choice = ColorChoice::Always,
            Some("never") => choice = ColorChoice::Never,
            Some("auto") => choice = ColorChoice::Auto,
            _ => {}
        }
    }
    match choice {
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
        ColorChoice::Auto => {
            let no_color = std::env::var_os(app::env_vars::NO_COLOR).is_some_and(|v| !v.is_empty());
            if no_color || !std::io::stderr().is_terminal() {
                clap::ColorChoice::Never
            } else {
                clap::ColorChoice::Auto
            }
        }
    }
}
