//! Recognising the tool in a command line, behind the wrappers people put in
//! front of it.

use std::fmt;
use std::str::FromStr;

use notify_core::{ParseError, Preset};

/// A tool notify has a reader for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tool {
    /// restic (`backup`; text or `--json` output).
    Restic,
    /// BorgBackup (`create`; `--stats`, `--json`, `--log-json`).
    Borg,
    /// rsync (`--stats` and ordinary output).
    Rsync,
    /// rclone (`--stats` lines and `--use-json-log`).
    Rclone,
}

impl Tool {
    /// Every tool's name, as `--tool` and `tool =` take them.
    pub const NAMES: &'static [&'static str] = &["restic", "borg", "rsync", "rclone"];

    /// The tool's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Restic => "restic",
            Tool::Borg => "borg",
            Tool::Rsync => "rsync",
            Tool::Rclone => "rclone",
        }
    }

    /// The exit-code preset of the tool, used unless one is configured.
    pub fn preset(self) -> Preset {
        match self {
            Tool::Restic => Preset::Restic,
            Tool::Borg => Preset::Borg,
            Tool::Rsync => Preset::Rsync,
            Tool::Rclone => Preset::Rclone,
        }
    }

    /// The tool a program name stands for: its file name without directory
    /// and `.exe`, e.g. `/usr/bin/restic`, `borg.exe`, `borgbackup`.
    pub fn from_program(program: &str) -> Option<Tool> {
        let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
        let name = name
            .strip_suffix(".exe")
            .or_else(|| name.strip_suffix(".EXE"))
            .unwrap_or(name);
        match name {
            "restic" => Some(Tool::Restic),
            "borg" | "borgbackup" | "borg.py" => Some(Tool::Borg),
            "rsync" => Some(Tool::Rsync),
            "rclone" => Some(Tool::Rclone),
            _ => None,
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tool {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "restic" => Ok(Tool::Restic),
            "borg" | "borgbackup" => Ok(Tool::Borg),
            "rsync" => Ok(Tool::Rsync),
            "rclone" => Ok(Tool::Rclone),
            _ => Err(ParseError::new("tool", s, CHOICES)),
        }
    }
}

const CHOICES: &[&str] = &["restic", "borg", "rsync", "rclone", "none"];

/// Which reader to use: the one the program name says, a named one, or the
/// generic reader whatever the program (`--tool none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ToolChoice {
    /// Recognise the tool from the command line.
    #[default]
    Auto,
    /// The generic reader, whatever the command.
    None,
    /// This tool's reader, whatever the command.
    Tool(Tool),
}

impl FromStr for ToolChoice {
    type Err = ParseError;

    /// A tool name, `none`, or `auto`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" | "generic" => Ok(ToolChoice::None),
            _ => s
                .parse()
                .map(ToolChoice::Tool)
                .map_err(|_| ParseError::new("tool", s, CHOICES)),
        }
    }
}

/// A command line as the readers see it: the wrappers in front taken off,
/// the variables they set kept, and the tool recognised.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    tool: Option<Tool>,
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    shown: Vec<String>,
    redactor: crate::Redactor,
}

impl Invocation {
    /// Reads `argv` (program first). With [`ToolChoice::Auto`] the tool is
    /// recognised from the program name after any of `sudo`, `doas`, `env`,
    /// `nice`, `ionice`, `timeout`, `chrt`, `systemd-inhibit`, `nohup`,
    /// `setpriv`, `flock`, `caffeinate` and their options (in any order and
    /// number); `VAR=VALUE` words before the program are kept as variables.
    pub fn parse<S: AsRef<str>>(argv: &[S], choice: ToolChoice) -> Invocation {
        let words: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
        let (shown, redactor) = crate::Redactor::for_command(&words);
        let mut env = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            if let Some((name, value)) = assignment(word) {
                env.push((name.to_owned(), value.to_owned()));
                i += 1;
                continue;
            }
            match skip_wrapper(&words[i..], &mut env) {
                Some(n) => i += n,
                None => break,
            }
        }
        let program = words.get(i).copied().unwrap_or_default().to_owned();
        let args = words.get(i + 1..).unwrap_or_default();
        let tool = match choice {
            ToolChoice::Auto => Tool::from_program(&program),
            ToolChoice::None => None,
            ToolChoice::Tool(tool) => Some(tool),
        };
        Invocation {
            tool,
            program,
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            env,
            shown,
            redactor,
        }
    }

    /// The whole command line (wrappers included) as it may be shown: its
    /// secrets masked.
    pub fn shown(&self) -> &[String] {
        &self.shown
    }

    /// The command line's secrets, to mask in other text.
    pub fn redactor(&self) -> &crate::Redactor {
        &self.redactor
    }

    /// The tool whose reader reads the output, if any.
    pub fn tool(&self) -> Option<Tool> {
        self.tool
    }

    /// The program after the wrappers, as written.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The program's arguments.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// A variable set on the command line (`env VAR=VALUE restic ...`),
    /// the last one written winning.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `NAME=VALUE` with a shell variable name.
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() || first == '_')
        .then_some(())
        .filter(|()| chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|()| (name, value))
}

/// How a wrapper's options are written: those that take a value (as the
/// next word, unless written `--opt=value` or `-oVALUE`), and how many
/// positional words come before the wrapped command.
struct Wrapper {
    names: &'static [&'static str],
    /// Short options that take a value.
    short_values: &'static str,
    /// Long options that take a value.
    long_values: &'static [&'static str],
    /// Positional words before the command (`timeout DURATION`, `chrt PRIO`,
    /// `flock FILE`).
    positional: usize,
    /// Whether `VAR=VALUE` words after the options are variables (`env`,
    /// `sudo`).
    assignments: bool,
}

const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        names: &["sudo", "doas"],
        short_values: "ugpCDhrtTUcR",
        long_values: &[
            "--user",
            "--group",
            "--prompt",
            "--close-from",
            "--chdir",
            "--host",
            "--role",
            "--type",
            "--command-timeout",
            "--other-user",
            "--login-class",
            "--chroot",
        ],
        positional: 0,
        assignments: true,
    },
    Wrapper {
        names: &["env"],
        short_values: "uCS",
        long_values: &["--unset", "--chdir", "--split-string"],
        positional: 0,
        assignments: true,
    },
    Wrapper {
        names: &["nice"],
        short_values: "n",
        long_values: &["--adjustment"],
        positional: 0,
        assignments: false,
    },
    Wrapper {
        names: &["ionice"],
        short_values: "cnp",
        long_values: &["--class", "--classdata", "--pid"],
        positional: 0,
        assignments: false,
    },
    Wrapper {
        names: &["timeout"],
        short_values: "sk",
        long_values: &["--signal", "--kill-after"],
        positional: 1,
        assignments: false,
    },
    Wrapper {
        names: &["chrt"],
        short_values: "TPD",
        long_values: &["--sched-runtime", "--sched-period", "--sched-deadline"],
        positional: 1,
        assignments: false,
    },
    Wrapper {
        names: &["systemd-inhibit"],
        short_values: "",
        long_values: &["--what", "--who", "--why", "--mode"],
        positional: 0,
        assignments: false,
    },
    Wrapper {
        names: &["nohup", "caffeinate"],
        short_values: "t",
        long_values: &[],
        positional: 0,
        assignments: false,
    },
    Wrapper {
        names: &["setpriv"],
        short_values: "",
        long_values: &[
            "--reuid",
            "--regid",
            "--groups",
            "--inh-caps",
            "--ambient-caps",
            "--bounding-set",
            "--securebits",
            "--pdeathsig",
            "--selinux-label",
            "--apparmor-profile",
            "--landlock-access",
            "--landlock-rule",
        ],
        positional: 0,
        assignments: false,
    },
    Wrapper {
        names: &["flock"],
        short_values: "wEc",
        long_values: &["--timeout", "--conflict-exit-code", "--command"],
        positional: 1,
        assignments: false,
    },
];

/// When `words[0]` is a wrapper, how many words it and its options take
/// (variables it sets go into `env`); `None` when it is the program itself.
fn skip_wrapper(words: &[&str], env: &mut Vec<(String, String)>) -> Option<usize> {
    let first = words.first()?;
    let name = first.rsplit('/').next().unwrap_or(first);
    let wrapper = WRAPPERS.iter().find(|w| w.names.contains(&name))?;
    let mut i = 1;
    // Options.
    while let Some(word) = words.get(i) {
        if *word == "--" {
            i += 1;
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            i += 1;
            let takes_value = wrapper
                .long_values
                .iter()
                .any(|o| o.strip_prefix("--") == Some(long));
            if takes_value {
                i += 1;
            }
            continue;
        }
        if word.len() > 1 && word.starts_with('-') && !is_number(word) {
            i += 1;
            // `-n5`, `-u root`, `-Eu root`: the first value-taking letter
            // takes the rest of the word, or else the next word.
            let letters = &word[1..];
            if let Some(pos) = letters.find(|c| wrapper.short_values.contains(c)) {
                if pos + 1 == letters.len() {
                    i += 1;
                }
            }
            continue;
        }
        // `nice -10` (an old form) is caught above as a number-looking
        // option only when it is not a number; here a number is an option
        // value of `nice`.
        if name == "nice" && is_number(word) {
            i += 1;
            continue;
        }
        break;
    }
    if wrapper.assignments {
        while let Some((n, v)) = words.get(i).and_then(|w| assignment(w)) {
            env.push((n.to_owned(), v.to_owned()));
            i += 1;
        }
    }
    i += wrapper.positional;
    Some(i.min(words.len()))
}

fn is_number(word: &str) -> bool {
    let digits = word.strip_prefix(['-', '+']).unwrap_or(word);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(argv: &str, tool: Option<Tool>, program: &str, args: &str) {
        let words: Vec<&str> = argv.split_whitespace().collect();
        let inv = Invocation::parse(&words, ToolChoice::Auto);
        assert_eq!(inv.tool(), tool, "{argv}");
        assert_eq!(inv.program(), program, "{argv}");
        assert_eq!(inv.args().join(" "), args, "{argv}");
    }

    #[test]
    fn tools_behind_wrappers() {
        use Tool::*;
        check(
            "restic backup /home",
            Some(Restic),
            "restic",
            "backup /home",
        );
        check(
            "/usr/bin/borg create ::a /",
            Some(Borg),
            "/usr/bin/borg",
            "create ::a /",
        );
        check(
            "borgbackup create ::a /",
            Some(Borg),
            "borgbackup",
            "create ::a /",
        );
        check(
            "sudo -u backup -E restic backup /",
            Some(Restic),
            "restic",
            "backup /",
        );
        check(
            "sudo -ubackup restic backup /",
            Some(Restic),
            "restic",
            "backup /",
        );
        check("sudo -- rsync -a a b", Some(Rsync), "rsync", "-a a b");
        check(
            "env RESTIC_REPOSITORY=/r restic backup /",
            Some(Restic),
            "restic",
            "backup /",
        );
        check(
            "env -i -u HOME A=1 rclone sync a b",
            Some(Rclone),
            "rclone",
            "sync a b",
        );
        check(
            "nice -n 19 ionice -c3 restic backup /",
            Some(Restic),
            "restic",
            "backup /",
        );
        check(
            "nice -n19 ionice -c 2 -n 7 borg create",
            Some(Borg),
            "borg",
            "create",
        );
        check("nice -10 rsync a b", Some(Rsync), "rsync", "a b");
        check("nice --adjustment 5 rsync a b", Some(Rsync), "rsync", "a b");
        check(
            "timeout 6h restic backup /",
            Some(Restic),
            "restic",
            "backup /",
        );
        check(
            "timeout -s INT -k 1m 6h restic backup /",
            Some(Restic),
            "restic",
            "backup /",
        );
        check(
            "timeout --signal=INT 6h rsync a b",
            Some(Rsync),
            "rsync",
            "a b",
        );
        check("chrt -i 0 rsync a b", Some(Rsync), "rsync", "a b");
        check("chrt --idle 0 borg create", Some(Borg), "borg", "create");
        check(
            "systemd-inhibit --what=sleep --why=backup restic backup /",
            Some(Restic),
            "restic",
            "backup /",
        );
        check(
            "systemd-inhibit --who backup restic backup /",
            Some(Restic),
            "restic",
            "backup /",
        );
        check(
            "sudo nice -n 10 timeout 2h env B=1 borg create",
            Some(Borg),
            "borg",
            "create",
        );
        check("A=1 restic backup", Some(Restic), "restic", "backup");
        check("pg_dump -Fc db", None, "pg_dump", "-Fc db");
        check("sh -c 'restic backup'", None, "sh", "-c 'restic backup'");
        check("", None, "", "");
        check("sudo", None, "", "");
        check("timeout", None, "", "");
    }

    #[test]
    fn variables_from_the_command_line() {
        let inv = Invocation::parse(
            &[
                "sudo",
                "BORG_REPO=/a",
                "env",
                "BORG_REPO=/b",
                "borg",
                "create",
            ],
            ToolChoice::Auto,
        );
        assert_eq!(inv.env("BORG_REPO"), Some("/b"));
        assert_eq!(inv.env("HOME"), None);
    }

    #[test]
    fn choices() {
        let inv = Invocation::parse(&["my-backup.sh"], "restic".parse().unwrap());
        assert_eq!(inv.tool(), Some(Tool::Restic));
        let inv = Invocation::parse(&["restic", "backup"], "none".parse().unwrap());
        assert_eq!(inv.tool(), None);
        let err = "resticc".parse::<ToolChoice>().unwrap_err().to_string();
        assert!(err.contains("restic, borg, rsync, rclone, none"), "{err}");
        assert_eq!(Tool::Restic.preset(), Preset::Restic);
        assert_eq!(Tool::from_program("BORG.EXE"), None);
        assert_eq!(
            Tool::from_program("C:\\bin\\restic.exe"),
            Some(Tool::Restic)
        );
    }
}
