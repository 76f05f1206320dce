//! What every part of the program needs: the context of one invocation
//! ([`Env`]), the command line, the configuration, paths, environment
//! variable names, output ([`Ui`], [`emit`]) and the error type.

use std::path::Path;

use time::UtcOffset;

pub mod account;
pub mod cli;
pub mod config;
pub mod env_vars;
pub mod error;
pub mod hints;
pub mod paths;
pub mod process;
pub mod schedule;
pub mod stop;

use config::Loaded;
use error::{exit, CliError};

/// What the rest of the program needs to deliver.
pub struct Env<'a> {
    pub loaded: &'a Loaded,
    /// The config file in use, or where it would be (for `account add`).
    pub config_path: &'a Path,
    pub data_dir: &'a Path,
    pub offset: UtcOffset,
    pub ui: &'a Ui,
    /// What every notification of this invocation says first: notify's own
    /// mistakes that the run went on despite (a flag that did not parse).
    pub notices: Vec<String>,
}

/// A task name (or any text from outside) as shown in diagnostics: unsafe
/// characters escaped, so a name from a JSON result cannot move the
/// terminal's cursor.
pub fn shown(name: &str) -> String {
    notify_core::text::printable(name, None)
}

/// How chatty to be; every diagnostic goes to stderr through here.
pub struct Ui {
    verbose: u8,
    quiet: bool,
    stdout_color: bool,
}

impl Ui {
    /// A Ui at verbosity `verbose` (the number of `-v`), or quiet (`-q`).
    pub fn new(verbose: u8, quiet: bool) -> Self {
        Ui {
            verbose,
            quiet,
            stdout_color: false,
        }
    }

    /// With colours on stdout (`--color always`, or `auto` on a terminal
    /// without `NO_COLOR`).
    pub fn with_stdout_color(mut self, on: bool) -> Self {
        self.stdout_color = on;
        self
    }

    /// Whether what goes to stdout may be coloured.
    pub fn stdout_color(&self) -> bool {
        self.stdout_color
    }

    /// A Ui that says nothing but warnings.
    pub fn silent() -> Self {
        Ui {
            verbose: 0,
            quiet: true,
            stdout_color: false,
        }
    }

    /// A line about what happened; silenced by `-q`.
    pub fn info(&self, line: &str) {
        if !self.quiet {
            diag(line);
        }
    }

    /// A warning; shown even with `-q`.
    pub fn warn(&self, line: &str) {
        diag(&format!("warning: {line}"));
    }

    /// Whether `-v` was given.
    pub fn is_verbose(&self) -> bool {
        self.verbose > 0
    }

    /// Detail shown with `-v`.
    pub fn verbose(&self, line: &str) {
        if self.verbose > 0 {
            diag(line);
        }
    }
}

/// Writes one diagnostic line to stderr, the only way notify writes there.
/// A stderr that cannot be written (`2>>log` on a full disk, a closed pipe)
/// must never fail the run, skip the delivery or change the job's exit
/// code, so a failed write is ignored (`eprintln!` would panic, and a panic
/// aborts).
pub fn diag(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
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

/// A moment as people read it on this machine: local time to the second,
/// with the offset (`2026-12-05 06:30:00 +01:00`).
pub fn local_time(t: time::OffsetDateTime, offset: UtcOffset) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
    );
    t.to_offset(offset).format(&format).unwrap_or_default()
}

/// This machine's name, for `##Computer Name##`.
pub fn computer_name() -> String {
    notify_smtp::system_hostname()
}
