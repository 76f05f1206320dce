//! `notify man`: the manual page, from the command line's own definition
//! (clap_mangen) and the constants the code uses for exit codes,
//! environment variables and files, so the page cannot drift from the
//! program.

use std::path::Path;

use clap::CommandFactory;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

use crate::app::cli::Cli;
use crate::app::error::{exit, CliError};
use crate::app::{emit, env_vars, paths};

/// Examples for the EXAMPLES section: what each does, then the command.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "Wrap a nightly backup; restic's output is read into the mail, which goes out when it fails:",
        "notify run --task \"Daily Backup\" -- restic -r /srv/restic backup /home",
    ),
    (
        "Report a job that ran elsewhere:",
        "notify send --task \"DB dump\" --status failure --exit-code 3 --set Database=prod",
    ),
    (
        "Set up an account, check it step by step, send a test mail:",
        "notify account add gmail --from \"Backups <me@gmail.com>\" && notify doctor && notify test",
    ),
    (
        "Tell about tasks that did not run (from cron or a timer, every few minutes):",
        "notify -q check",
    ),
    (
        "Deliver cron's and daemons' mail through notify's account (notify as sendmail):",
        "printf 'Subject: disk\\n\\nsda is failing\\n' | notify sendmail root",
    ),
    (
        "Install every manual page and read this one:",
        "notify man --dir ~/.local/share/man/man1 && man notify",
    ),
];

/// `notify man`: the page on stdout, or (`--dir`) this page and one per
/// subcommand (notify-run.1, ...) into a directory.
pub fn man(dir: Option<&Path>) -> Result<u8, CliError> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    match dir {
        Some(dir) => {
            let failed = |e: std::io::Error| {
                CliError::new(
                    exit::PERMANENT,
                    format!("cannot write the manual pages into {}: {e}", dir.display()),
                )
            };
            std::fs::create_dir_all(dir).map_err(failed)?;
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                clap_mangen::generate_to(sub.clone(), dir).map_err(failed)?;
            }
            std::fs::write(dir.join("notify.1"), page(&cmd, true)).map_err(failed)?;
        }
        None => emit(&page(&cmd, false)),
    }
    Ok(exit::OK)
}

/// notify.1: clap's NAME, SYNOPSIS, DESCRIPTION and OPTIONS, then the
/// commands (as pages of their own when `with_pages`, else as
/// `notify COMMAND --help`), EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES,
/// SEE ALSO and the version.
pub fn page(cmd: &clap::Command, with_pages: bool) -> String {
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    let head = man
        .render_title(&mut out)
        .and_then(|()| man.render_name_section(&mut out))
        .and_then(|()| man.render_synopsis_section(&mut out))
        .and_then(|()| man.render_description_section(&mut out))
        .and_then(|()| man.render_options_section(&mut out));
    // Writing into a Vec cannot fail.
    debug_assert!(head.is_ok());
    let mut roff = Roff::default();
    commands(&mut roff, cmd, with_pages);
    exit_status(&mut roff);
    environment(&mut roff);
    files(&mut roff);
    examples(&mut roff);
    see_also(&mut roff, cmd, with_pages);
    roff.control("SH", ["VERSION"]);
    roff.text([roman(format!("notify {}", env!("CARGO_PKG_VERSION")))]);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push_str(&roff.to_roff());
    text
}

fn commands(roff: &mut Roff, cmd: &clap::Command, with_pages: bool) {
    roff.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        let more = if with_pages {
            format!("notify-{name}(1)")
        } else {
            format!("notify {name} --help")
        };
        roff.control("TP", []);
        roff.text([bold(format!("notify {name}"))]);
        roff.text([roman(format!("{about} (see ")), italic(more), roman(")")]);
    }
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(
        "notify run exits with the job's own code (128+N when a signal N ended it; 127 when \
         the command is not found), whatever happened to the notification. The other \
         commands:",
    )]);
    for (code, meaning) in exit::MEANINGS {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(*meaning)]);
    }
}

fn environment(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in env_vars::DOCUMENTED {
        roff.control("TP", []);
        roff.text([bold(*name)]);
        roff.text([roman(*meaning)]);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    let config = paths::config_file_default();
    let data = paths::data_dir_default();
    let item = |roff: &mut Roff, path: String, meaning: String| {
        roff.control("TP", []);
        roff.text([italic(path)]);
        roff.text([roman(meaning)]);
    };
    item(
        roff,
        config,
        format!(
            "The configuration file (TOML), unless --config or {} names another.",
            env_vars::NOTIFY_CONFIG
        ),
    );
    item(
        roff,
        data.clone(),
        format!(
            "The data directory, unless --data-dir or {} names another. In it:",
            env_vars::NOTIFY_DATA_DIR
        ),
    );
    for (name, meaning) in [
        (
            paths::MAILDIR,
            "The local Maildir: notifications when no account is set up, and copies of those a \
             server refused (read it with mutt -f)",
        ),
        (
            notify_queue::layout::QUEUE,
            "Notifications waiting for a retry, one JSON file each; failed/ holds those given up on",
        ),
        (
            notify_queue::layout::STATE,
            "What each task's level remembers (changes, reminders)",
        ),
        (
            notify_queue::layout::HISTORY,
            "Each task's runs, for status, the digest, check and the metrics",
        ),
        (
            notify_queue::layout::RUNNING,
            "Runs in progress, for check's \"did not finish\"",
        ),
        (
            paths::DIGEST_STAMP,
            "When the scheduled digest last went out",
        ),
    ] {
        item(roff, format!("{data}/{name}"), format!("{meaning}."));
    }
}

fn examples(roff: &mut Roff) {
    roff.control("SH", ["EXAMPLES"]);
    for (what, command) in EXAMPLES {
        roff.control("PP", []);
        roff.text([roman(*what)]);
        roff.control("RS", ["4"]);
        roff.control("nf", []);
        roff.text([bold(*command)]);
        roff.control("fi", []);
        roff.control("RE", []);
    }
}

fn see_also(roff: &mut Roff, cmd: &clap::Command, with_pages: bool) {
    roff.control("SH", ["SEE ALSO"]);
    let mut refs: Vec<String> = Vec::new();
    if with_pages {
        refs.extend(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| format!("notify-{}(1)", s.get_name())),
        );
    }
    refs.extend(["cron(8)", "systemd.timer(5)", "sendmail(8)"].map(String::from));
    roff.text([roman(refs.join(", "))]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_its_sections_from_the_codes_constants() {
        let mut cmd = Cli::command().disable_help_subcommand(true);
        cmd.build();
        let text = page(&cmd, false);
        for section in [
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH EXAMPLES",
            ".SH COMMANDS",
        ] {
            assert!(text.contains(section), "{section} missing");
        }
        for (code, _) in exit::MEANINGS {
            assert!(text.contains(&format!("\\fB{code}\\fR")), "exit {code}");
        }
        for (name, _) in env_vars::DOCUMENTED {
            assert!(text.contains(name), "{name}");
        }
        assert!(text.contains(notify_queue::layout::QUEUE));
        // Without the other pages installed, none is referred to.
        assert!(!text.contains("notify-run(1)"), "{text}");
        assert!(text.contains("notify run \\-\\-help"), "{text}");
        assert!(page(&cmd, true).contains("notify\\-run(1)"));
    }
}
