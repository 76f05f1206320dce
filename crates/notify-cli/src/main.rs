//! The `notify` binary: thin wiring of the notify crates.
//!
//! `main` parses the command line, reads the configuration, picks the local
//! UTC offset, builds a single-threaded tokio runtime and dispatches to one
//! `cmd_*` module. Errors are reported once, here, with an exit code from
//! SPEC section 8.
//!
//! A key design decision made in this crate is that it owns all the wiring
//! and none of the logic: deciding is `notify_core::decide`, rendering is
//! `notify_template`, delivery is a `notify_core::Transport` from
//! `notify_smtp`. Only this crate prints, reads the environment or picks exit
//! codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use time::UtcOffset;

mod account;
mod cli;
mod cmd_account;
mod cmd_doctor;
mod cmd_providers;
mod cmd_queue;
mod cmd_run;
mod cmd_send;
mod cmd_template;
mod cmd_test;
mod config;
mod deliver;
mod env_vars;
mod error;
mod msmtp;
mod paths;
mod queue;
mod runner;
mod state;

use cli::{Cli, ColorChoice, Command};
use error::{exit, CliError};

/// How chatty to be; every diagnostic goes to stderr through here.
pub struct Ui {
    verbose: u8,
    quiet: bool,
}

impl Ui {
    /// A Ui that says nothing but warnings.
    pub fn silent() -> Self {
        Ui {
            verbose: 0,
            quiet: true,
        }
    }

    /// A line about what happened; silenced by `-q`.
    pub fn info(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A warning; shown even with `-q`.
    pub fn warn(&self, line: &str) {
        eprintln!("warning: {line}");
    }

    /// Whether `-v` was given.
    pub fn is_verbose(&self) -> bool {
        self.verbose > 0
    }

    /// Detail shown with `-v`.
    pub fn verbose(&self, line: &str) {
        if self.verbose > 0 {
            eprintln!("{line}");
        }
    }
}

/// Writes a command's result to stdout in one go. A reader that went away
/// (`notify template values | head -1`) is not an error.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Pretty-printed JSON on stdout, as every `--json` output (docs/json.md).
pub fn emit_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(exit::PERMANENT, e.to_string()))?;
    emit(&format!("{text}\n"));
    Ok(())
}

/// This machine's name, for `##Computer Name##`.
pub fn computer_name() -> String {
    notify_smtp::system_hostname()
}

fn main() -> ExitCode {
    // Read before any thread exists: the time crate refuses to read the local
    // offset from a multi-threaded process on Unix.
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);

    let color = color_choice(std::env::args_os());
    let parsed = <Cli as clap::CommandFactory>::command()
        .color(color)
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::OK,
                _ => exit::USAGE,
            });
        }
    };

    match real_main(cli, offset) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            e.report();
            ExitCode::from(e.code())
        }
    }
}

fn real_main(cli: Cli, offset: UtcOffset) -> Result<u8, CliError> {
    // Commands that need neither the configuration nor the data directory,
    // so that a broken config file cannot break them.
    match &cli.command {
        Command::Providers { json } => return cmd_providers::providers(*json),
        Command::Completions { shell } => return completions(*shell),
        Command::Man { dir } => return man(dir.as_deref()),
        _ => {}
    }
    let ui = Ui {
        verbose: cli.global.verbose,
        quiet: cli.global.quiet,
    };
    let (config_path, explicit) = paths::config_file(cli.global.config.clone());
    let is_run = matches!(cli.command, Command::Run(_));
    // `account add` and `account import` create the config file, also at a
    // path given with --config / NOTIFY_CONFIG.
    let creates_config = matches!(
        cli.command,
        Command::Account(cli::AccountCommand::Add(_) | cli::AccountCommand::Import { .. })
    );
    let explicit = explicit && (!creates_config || config_path.exists());
    // `run` runs the job whatever is wrong with the configuration: a typo in
    // config.toml must not switch backups off. The error is reported and the
    // notification goes to the local Maildir.
    let loaded = match config::load(&config_path, explicit) {
        Ok(loaded) => loaded,
        Err(e) if is_run => {
            e.report();
            ui.warn("running the command anyway, with the built-in defaults");
            config::Loaded::default()
        }
        Err(e) => return Err(e),
    };
    let data_dir = match paths::data_dir(cli.global.data_dir.clone()) {
        Ok(dir) => dir,
        Err(e) if is_run => {
            e.report();
            std::env::temp_dir().join("notify")
        }
        Err(e) => return Err(e),
    };
    let env = deliver::Env {
        loaded: &loaded,
        config_path: &config_path,
        data_dir: &data_dir,
        offset,
        ui: &ui,
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(exit::PERMANENT, format!("cannot start: {e}")))?;

    match cli.command {
        Command::Run(args) => Ok(runtime.block_on(cmd_run::run(&env, args))),
        Command::Send(args) => runtime.block_on(cmd_send::send(&env, args)),
        Command::Test(args) => runtime.block_on(cmd_test::test(&env, args)),
        Command::Template(cmd) => cmd_template::template(&env, cmd),
        Command::Providers { .. } | Command::Completions { .. } | Command::Man { .. } => {
            Ok(exit::OK)
        }
        Command::Queue(cmd) => runtime.block_on(cmd_queue::queue(&env, cmd)),
        Command::Doctor { account, json } => {
            runtime.block_on(cmd_doctor::doctor(&env, account, json))
        }
        Command::Account(cmd) => runtime.block_on(cmd_account::account(&env, cmd)),
    }
}

/// `notify completions SHELL`: the script on stdout.
fn completions(shell: clap_complete::Shell) -> Result<u8, CliError> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "notify", &mut out);
    emit(&String::from_utf8_lossy(&out));
    Ok(exit::OK)
}

/// `notify man`: the manual page on stdout, or every page into a directory.
fn man(dir: Option<&std::path::Path>) -> Result<u8, CliError> {
    let cmd = <Cli as clap::CommandFactory>::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(cmd, dir))
                .map_err(|e| {
                    CliError::new(
                        exit::PERMANENT,
                        format!("cannot write the manual pages into {}: {e}", dir.display()),
                    )
                })?;
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| CliError::new(exit::PERMANENT, format!("cannot render: {e}")))?;
            emit(&String::from_utf8_lossy(&out));
        }
    }
    Ok(exit::OK)
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
            let no_color = std::env::var_os(env_vars::NO_COLOR).is_some_and(|v| !v.is_empty());
            if no_color || !std::io::stderr().is_terminal() {
                clap::ColorChoice::Never
            } else {
                clap::ColorChoice::Auto
            }
        }
    }
}
