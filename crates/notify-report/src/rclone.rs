//! The rclone reader.
//!
//! From the command line: the subcommand and its two paths, source and
//! destination, for `sync`, `copy`, `move`, `copyto`, `moveto`, `bisync`,
//! `check`, `cryptcheck` and `copyurl` (flags before or after the
//! subcommand). rclone has hundreds of flags, most of them a backend's
//! (`--s3-region`, `--drive-use-trash`); the global and subcommand flags
//! that take a value are known by name, and any other `--flag` written
//! without `=value` takes the next word only when the subcommand would
//! otherwise have more than its two paths: words that do not look like a
//! path (no `/`, `\` or `:`) are taken as values first. Before the
//! subcommand, such a flag takes the next word unless it names one of
//! these subcommands.
//!
//! From the output, in text (`2026/11/21 02:00:00 ERROR : ...`, any
//! `--log-format`) or `--use-json-log` form (one JSON object a line):
//!
//! | output                                          | fills                     |
//! |-------------------------------------------------|---------------------------|
//! | `Transferred: 1.234 MiB / 1.234 MiB, 100%, …`   | bytes copied (to the digits printed) |
//! | `Transferred: 22 / 22, 100%`                    | files copied              |
//! | `Deleted: 1 (files), 0 (dirs)`                  | [`keys::FILES_DELETED`]   |
//! | `--stats-one-line`: `1.234 MiB / 1.234 MiB, …`   | bytes copied              |
//! | JSON `"stats": {"bytes", "transfers", "deletes"}` | bytes and files copied, files deleted, exact |
//! | `ERROR` (JSON `error`)                          | errors                    |
//! | `CRITICAL`, `ALERT`, `EMERGENCY` (JSON `fatal`, `panic`, `critical`, ...) | the error that ended the run |
//! | `Failed to sync: …` (the closing line: plain in 1.60, `NOTICE` later) | the error that ended the run |
//! | `NOTICE`, `WARNING` (JSON `notice`, `warning`)  | warnings, but see below   |
//! | `INFO`, `DEBUG`                                 | nothing                   |
//!
//! The statistics are printed with `-v`, `-P`, `--stats-log-level NOTICE`,
//! after errors, and in a dry run; the last block printed counts. A stats
//! block with no file count (nothing transferred) means 0 files.
//!
//! A `NOTICE` is rclone's "normal, but significant" level: a warning,
//! except the notices that only inform — dry-run chatter (`Skipped copy as
//! --dry-run is set`), `Config file … not found - using defaults`, the
//! tallies of `check` (`3 matching files`, `1 differences found`, whose
//! failure the closing line reports), bandwidth changes, `There was nothing
//! to transfer` — which are ignored, and those that report the run
//! failing (`Failed to …`), which are errors.
//!
//! rclone retries a failed run (`--retries`, 3 by default) and logs each
//! attempt's errors again. Like rclone's own error count, the result keeps
//! the errors of the last attempt only; each retried attempt leaves one
//! warning, its summary `Attempt 1/3 failed with 2 errors and: …`, and a
//! run that recovered leaves `Attempt 2/3 succeeded`.
//!
//! A dry run (`-n`, `--dry-run`) copies and deletes nothing: it fills no
//! files or bytes copied, no files deleted.

use serde_json::Value;

use crate::findings::Held;
use crate::generic::{self, Severity};
use crate::{keys, EnvLookup, Findings, Invocation, Reader, Stream};

/// The subcommands whose two paths are the source and the destination.
const TRANSFERS: &[&str] = &[
    "sync",
    "copy",
    "move",
    "copyto",
    "moveto",
    "bisync",
    "check",
    "cryptcheck",
    "copyurl",
];

/// Flags that take a value as the next word (unless written
/// `--flag=value`): rclone's global flags (1.60 and later) and those of the
/// subcommands above. Backend flags are left to the rule of the module
/// documentation.
const VALUE_FLAGS: &[&str] = &[
    "backup-dir",
    "backup-dir1",
    "backup-dir2",
    "bind",
    "buffer-size",
    "bwlimit",
    "bwlimit-file",
    "ca-cert",
    "cache-dir",
    "check-filename",
    "check-sync",
    "checkers",
    "checkfile",
    "client-cert",
    "client-key",
    "client-pass",
    "color",
    "combined",
    "compare",
    "compare-dest",
    "config",
    "conflict-loser",
    "conflict-resolve",
    "conflict-suffix",
    "contimeout",
    "copy-dest",
    "cpuprofile",
    "cutoff-mode",
    "default-time",
    "dest-after",
    "differ",
    "disable",
    "dscp",
    "dump",
    "error",
    "exclude",
    "exclude-from",
    "exclude-if-present",
    "expect-continue-timeout",
    "files-from",
    "files-from-raw",
    "filter",
    "filter-from",
    "filters-file",
    "fs-cache-expire-duration",
    "fs-cache-expire-interval",
    "hash-filter",
    "header",
    "header-download",
    "header-upload",
    "http-proxy",
    "include",
    "include-from",
    "kv-lock-time",
    "list-cutoff",
    "log-file",
    "log-file-max-age",
    "log-file-max-backups",
    "log-file-max-size",
    "log-format",
    "log-level",
    "low-level-retries",
    "match",
    "max-age",
    "max-backlog",
    "max-buffer-memory",
    "max-connections",
    "max-delete",
    "max-delete-size",
    "max-depth",
    "max-duration",
    "max-lock",
    "max-size",
    "max-stats-groups",
    "max-transfer",
    "memprofile",
    "metadata-exclude",
    "metadata-exclude-from",
    "metadata-filter",
    "metadata-filter-from",
    "metadata-include",
    "metadata-include-from",
    "metadata-mapper",
    "metadata-set",
    "min-age",
    "min-size",
    "missing-on-dst",
    "missing-on-src",
    "modify-window",
    "multi-thread-chunk-size",
    "multi-thread-cutoff",
    "multi-thread-streams",
    "multi-thread-write-buffer-size",
    "name-transform",
    "order-by",
    "partial-suffix",
    "password-command",
    "rc-addr",
    "rc-allow-origin",
    "rc-baseurl",
    "rc-cert",
    "rc-client-ca",
    "rc-files",
    "rc-htpasswd",
    "rc-job-expire-duration",
    "rc-job-expire-interval",
    "rc-key",
    "rc-max-header-bytes",
    "rc-min-tls-version",
    "rc-pass",
    "rc-realm",
    "rc-server-read-timeout",
    "rc-server-write-timeout",
    "rc-template",
    "rc-user",
    "rc-web-fetch-url",
    "resync-mode",
    "retries",
    "retries-sleep",
    "stats",
    "stats-file-name-length",
    "stats-log-level",
    "stats-one-line-date-format",
    "stats-unit",
    "streaming-upload-cutoff",
    "suffix",
    "syslog-facility",
    "temp-dir",
    "timeout",
    "tpslimit",
    "tpslimit-burst",
    "track-renames-strategy",
    "transfers",
    "user-agent",
    "windows-event-log-level",
    "workdir",
];

/// Short flags that take a value: `-f` (`--filter`), `-C` (`--checkfile`).
const SHORT_VALUES: &str = "fC";

/// A word that is not a flag, and whether it came right after a flag not
/// known to take no value or one (so it may be that flag's value).
#[derive(Debug)]
struct Word<'a> {
    text: &'a str,
    after_unknown_flag: bool,
}

/// What the command line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Options {
    subcommand: Option<String>,
    source: Option<String>,
    destination: Option<String>,
    dry_run: bool,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut o = Options::default();
        let mut words: Vec<Word<'_>> = Vec::new();
        let mut after_unknown_flag = false;
        let mut args = args.iter().map(String::as_str);
        while let Some(arg) = args.next() {
            if arg == "--" {
                words.extend(args.by_ref().map(|text| Word {
                    text,
                    after_unknown_flag: false,
                }));
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (long, None),
                };
                if name == "dry-run" {
                    o.dry_run = value.is_none_or(|v| v != "false");
                }
                after_unknown_flag = value.is_none() && !VALUE_FLAGS.contains(&name);
                if value.is_none() && VALUE_FLAGS.contains(&name) {
                    args.next();
                }
                continue;
            }
            if let Some(letters) = arg.strip_prefix('-').filter(|l| !l.is_empty()) {
                after_unknown_flag = false;
                for (i, letter) in letters.char_indices() {
                    if SHORT_VALUES.contains(letter) {
                        if i + letter.len_utf8() == letters.len() {
                            args.next();
                        }
                        break;
                    }
                    o.dry_run |= letter == 'n';
                }
                continue;
            }
            words.push(Word {
                text: arg,
                after_unknown_flag,
            });
            after_unknown_flag = false;
        }
        // The subcommand: the first word that is not an unknown flag's
        // value, or that names a subcommand.
        let Some(at) = words
            .iter()
            .position(|w| !w.after_unknown_flag || TRANSFERS.contains(&w.text))
        else {
            return o;
        };
        let subcommand = words[at].text;
        o.subcommand = Some(subcommand.to_owned());
        if !TRANSFERS.contains(&subcommand) {
            return o;
        }
        let mut paths: Vec<Word<'_>> = words.split_off(at + 1);
        // Too many words: some are unknown flags' values, those that do
        // not look like paths first (the first of them), then path-like
        // ones (the last of them: a backend flag's file or URL, such as
        // `--sftp-key-file KEY`, comes after the paths more often than a
        // path comes after a boolean flag such as `--fast-list`).
        for path_like in [false, true] {
            while paths.len() > 2 {
                let candidate =
                    |w: &Word<'_>| w.after_unknown_flag && looks_like_path(w.text) == path_like;
                let found = if path_like {
                    paths.iter().rposition(candidate)
                } else {
                    paths.iter().position(candidate)
                };
                let Some(i) = found else {
                    break;
                };
                paths.remove(i);
            }
        }
        let mut paths = paths.into_iter().map(|w| w.text.to_owned());
        o.source = paths.next();
        o.destination = paths.next();
        o
    }
}

/// `remote:path`, `/abs`, `rel/dir`, `C:\dir`, `.`, `~`.
fn looks_like_path(word: &str) -> bool {
    word.contains(['/', '\\', ':']) || word.starts_with(['.', '~'])
}

/// The reader for one rclone run.
pub(crate) fn reader(
    invocation: &Invocation,
    _env: EnvLookup<'_>,
    found: &mut Findings,
) -> Box<dyn Reader> {
    let options = Options::parse(invocation.args());
    found.source.clone_from(&options.source);
    found.destination.clone_from(&options.destination);
    Box::new(Rclone {
        subcommand: options.subcommand.unwrap_or_default(),
        dry_run: options.dry_run,
        bytes: None,
        files: None,
        deleted: None,
        held: Held::default(),
    })
}

/// A log level, text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
}

struct Rclone {
    subcommand: String,
    dry_run: bool,
    bytes: Option<u64>,
    files: Option<u64>,
    deleted: Option<u64>,
    /// The current attempt's errors and warnings: dropped when rclone
    /// retries, recorded when the run ends.
    held: Held,
}

impl Reader for Rclone {
    fn line(&mut self, stream: Stream, line: &str, found: &mut Findings) {
        let line = line.trim_end();
        if line.trim_start().starts_with('{') && self.json(line, found) {
            return;
        }
        let (level, message) = text_log(line);
        if matches!(
            level,
            None | Some(Level::Info | Level::Notice | Level::Debug)
        ) && self.statistic(message)
        {
            return;
        }
        match level {
            Some(level) => self.message(level, message, None, line, found),
            // Lines without a level: the closing `Failed to sync: ...` of
            // rclone 1.60, usage errors (`Error: unknown flag: --x`).
            None if stream == Stream::Stderr => {
                if message.starts_with("Failed to ") {
                    self.held.release(found);
                    found.fatal(line);
                } else if let Some(severity) = generic::severity(message) {
                    self.held.push(severity, line);
                }
            }
            None => {}
        }
    }

    fn finish(&mut self, found: &mut Findings) {
        self.held.release(found);
        if self.dry_run {
            return;
        }
        found.bytes_copied = self.bytes;
        found.files_copied = self.files;
        if let Some(n) = self.deleted {
            found.set_number(keys::FILES_DELETED, n);
        }
    }
}

impl Rclone {
    /// A `--use-json-log` line; whether it was one.
    fn json(&mut self, line: &str, found: &mut Findings) -> bool {
        let Ok(Value::Object(entry)) = serde_json::from_str::<Value>(line) else {
            return self.cut_json(line, found);
        };
        let (Some(level), Some(msg)) = (
            entry.get("level").and_then(Value::as_str),
            entry.get("msg").and_then(Value::as_str),
        ) else {
            return false;
        };
        if let Some(Value::Object(stats)) = entry.get("stats") {
            let number = |key: &str| stats.get(key).and_then(Value::as_u64);
            self.bytes = number("bytes").or(self.bytes);
            self.files = number("transfers").or(self.files);
            self.deleted = number("deletes").or(self.deleted);
            return true;
        }
        let level = match level.to_ascii_lowercase().as_str() {
            "trace" | "debug" => Level::Debug,
            "info" => Level::Info,
            "notice" => Level::Notice,
            // rclone 1.60 logs NOTICE as `warning`.
            "warning" | "warn" => Level::Warning,
            "error" => Level::Error,
            "fatal" | "panic" | "critical" | "alert" | "emergency" => Level::Critical,
            _ => Level::Notice,
        };
        if matches!(level, Level::Info | Level::Notice | Level::Debug) {
            // The stats block as text, one `msg` of several lines.
            let mut any = false;
            for line in msg.lines() {
                any |= self.statistic(line);
            }
            if any {
                return true;
            }
        }
        let object = entry.get("object").and_then(|o| match o {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Null | Value::String(_) => None,
            other => Some(other.to_string()),
        });
        // One line as the text log would show it: `ERROR : object: msg`.
        let msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
        let shown = match &object {
            Some(object) => format!("{:<6}: {object}: {msg}", level_name(level)),
            None => format!("{:<6}: {msg}", level_name(level)),
        };
        self.message(level, &msg, object.as_deref(), &shown, found);
        true
    }

    /// A JSON log line too long to be kept whole (cut with a marker), so
    /// not JSON: an error or a fatal one is recorded as it is; whether it
    /// was one.
    fn cut_json(&mut self, line: &str, found: &mut Findings) -> bool {
        let level = line
            .split_once("\"level\":\"")
            .and_then(|(_, rest)| rest.split('"').next());
        match level {
            Some("error") => self.held.push(Severity::Error, line),
            Some("fatal" | "panic" | "critical" | "alert" | "emergency") => {
                self.held.release(found);
                found.fatal(line);
            }
            Some(_) => {}
            None => return false,
        }
        true
    }

    /// A line of the stats block, or a `--stats-one-line` line; whether it
    /// was one.
    fn statistic(&mut self, message: &str) -> bool {
        let message = message.trim();
        // At a terminal, `-P` redraws the block with cursor movements and
        // no line end: the block's first line follows the last one drawn.
        let message = match message.find("Transferred:") {
            Some(at) if at > 0 && !message.contains(": Transferred:") => &message[at..],
            _ => message,
        };
        if let Some(rest) = message.strip_prefix("Transferred:") {
            if rest.contains(", ETA ") {
                // The first line of a block: what is not listed is zero.
                self.bytes = size(rest).or(self.bytes);
                self.files = Some(0);
                self.deleted = Some(0);
            } else {
                self.files = first_number(rest).or(self.files);
            }
            return true;
        }
        if let Some(rest) = message.strip_prefix("Deleted:") {
            self.deleted = first_number(rest).or(self.deleted);
            return true;
        }
        const OTHERS: [&str; 9] = [
            "Errors:",
            "Checks:",
            "Renamed:",
            "Elapsed time:",
            "Transferring:",
            "Checking:",
            "Server Side Copies:",
            "Server Side Moves:",
            "Listed",
        ];
        if OTHERS.iter().any(|p| message.starts_with(p)) {
            return true;
        }
        // `--stats-one-line`: `1.234 MiB / 1.234 MiB, 100%, 0 B/s, ETA -`,
        // maybe after a `--stats-one-line-date` date.
        if message.contains(" / ") && message.contains(", ETA ") {
            if let Some(bytes) = size(message) {
                self.bytes = Some(bytes);
                return true;
            }
        }
        false
    }

    /// A log message at `level`: `text` is the message (in text form with
    /// the object in front), `object` the JSON log's object, `line` what is
    /// recorded.
    fn message(
        &mut self,
        level: Level,
        text: &str,
        object: Option<&str>,
        line: &str,
        found: &mut Findings,
    ) {
        match level {
            Level::Debug | Level::Info => {}
            Level::Critical => {
                self.held.release(found);
                found.fatal(line);
            }
            Level::Error => match attempt(text) {
                // Another attempt follows: this one's errors are retried.
                Some(Attempt::Failed { last: false }) => {
                    self.held.clear();
                    found.warning(line);
                }
                // The closing `Failed to ...` line says it again.
                Some(Attempt::Failed { last: true }) => {}
                Some(Attempt::Succeeded) => {
                    self.held.release(found);
                    found.warning(line);
                }
                None if is_retry_decision(text) => {}
                None => self.held.push(Severity::Error, line),
            },
            Level::Notice | Level::Warning => {
                if object.is_none() && text.starts_with("Failed to ") {
                    self.held.release(found);
                    if self.is_closing(text) {
                        found.fatal(line);
                    } else {
                        found.error(line);
                    }
                } else if !is_informational(text) {
                    self.held.push(Severity::Warning, line);
                }
            }
        }
    }

    /// `Failed to sync: ...`, `Failed to copy with 3 errors: ...`: the
    /// line that ends a failed run.
    fn is_closing(&self, text: &str) -> bool {
        let Some(rest) = text.strip_prefix("Failed to ") else {
            return false;
        };
        let word = rest.split([' ', ':']).next().unwrap_or_default();
        self.subcommand.is_empty() || word == self.subcommand
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Debug => "DEBUG",
        Level::Info => "INFO",
        Level::Notice => "NOTICE",
        Level::Warning => "WARNING",
        Level::Error => "ERROR",
        Level::Critical => "CRITICAL",
    }
}

/// rclone's retry summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// `Attempt 1/3 failed with 2 errors and: ...`; `last` when no attempt
    /// follows.
    Failed { last: bool },
    /// `Attempt 2/3 succeeded`.
    Succeeded,
}

fn attempt(text: &str) -> Option<Attempt> {
    let rest = text.strip_prefix("Attempt ")?;
    let (numbers, rest) = rest.split_once(' ')?;
    let (this, of) = numbers.split_once('/')?;
    let (this, of): (u32, u32) = (this.parse().ok()?, of.parse().ok()?);
    if rest.starts_with("failed") {
        Some(Attempt::Failed { last: this >= of })
    } else if rest.starts_with("succeeded") {
        Some(Attempt::Succeeded)
    } else {
        None
    }
}

/// rclone deciding not to retry, after errors already logged.
fn is_retry_decision(text: &str) -> bool {
    text.starts_with("Can't retry any of the errors")
        || text.starts_with("Fatal error received - not attempting retries")
}

/// A notice that only informs (see the module documentation).
fn is_informational(text: &str) -> bool {
    // A tally of `check`: `Local file system at /b: 3 matching files`.
    let tail = text.rsplit(": ").next().unwrap_or(text);
    let tally = tail.starts_with(|c: char| c.is_ascii_digit())
        && [
            "matching files",
            "differences found",
            "errors while checking",
            "hashes could not be checked",
            " missing",
        ]
        .iter()
        .any(|end| tail.ends_with(end));
    tally
        || text.contains("--dry-run")
        || (text.contains("Skipped ") && text.contains(" is set"))
        || (text.starts_with("Config file ") && text.contains("not found"))
        || text.starts_with("Bandwidth limit")
        || text.starts_with("Scheduled bandwidth change")
        || text.starts_with("There was nothing to transfer")
        || text.starts_with("bisync is ")
}

/// Splits a text log line into its level and message: `[date] [time]
/// [file:line:] [[pid]] LEVEL : message`, every part of the header
/// optional (`--log-format`). A line without a level is all message after
/// the date and time.
fn text_log(line: &str) -> (Option<Level>, &str) {
    let mut rest = line;
    // Date, time, source position and pid, each followed by a space.
    while let Some((word, after)) = rest.split_once(' ') {
        if is_date(word) || is_time(word) || is_position(word) || is_pid(word) {
            rest = after;
        } else {
            break;
        }
    }
    const LEVELS: [(&str, Level); 8] = [
        ("DEBUG", Level::Debug),
        ("INFO", Level::Info),
        ("NOTICE", Level::Notice),
        ("WARNING", Level::Warning),
        ("ERROR", Level::Error),
        ("CRITICAL", Level::Critical),
        ("ALERT", Level::Critical),
        ("EMERGENCY", Level::Critical),
    ];
    for (name, level) in LEVELS {
        if let Some(after) = rest.strip_prefix(name) {
            if let Some(message) = after.trim_start_matches(' ').strip_prefix(':') {
                return (Some(level), message.strip_prefix(' ').unwrap_or(message));
            }
        }
    }
    (None, rest)
}

/// `2026/11/21`
fn is_date(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 10
        && b[4] == b'/'
        && b[7] == b'/'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// `02:00:00`, `02:00:00.123456`
fn is_time(word: &str) -> bool {
    let (hms, micros) = word.split_once('.').unwrap_or((word, "0"));
    let b = hms.as_bytes();
    b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
        && !micros.is_empty()
        && micros.bytes().all(|c| c.is_ascii_digit())
}

/// `sync.go:123:`, `/path/to/sync.go:123:`
fn is_position(word: &str) -> bool {
    word.strip_suffix(':')
        .and_then(|w| w.rsplit_once(':'))
        .is_some_and(|(file, line)| {
            file.ends_with(".go") && !line.is_empty() && line.bytes().all(|c| c.is_ascii_digit())
        })
}

/// `[1234]`
fn is_pid(word: &str) -> bool {
    word.strip_prefix('[')
        .and_then(|w| w.strip_suffix(']'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
}

/// The first whole number in `text`: `   22 / 22, 100%` → 22.
fn first_number(text: &str) -> Option<u64> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text[..end].parse().ok()
}

/// The first size of `text`, as rclone prints it (binary units):
/// `97.656 KiB / ...`, `0 B / ...`, `1.234M / 1.234 MBytes` (before 1.54).
fn size(text: &str) -> Option<u64> {
    let head = text.split(" / ").next()?;
    let mut words = head.split_whitespace().rev();
    let last = words.next()?;
    // `97.656 KiB` or `1.234M`.
    let (number, unit) = if last.starts_with(|c: char| c.is_ascii_digit()) {
        let end = last
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(last.len());
        last.split_at(end)
    } else {
        (words.next()?, last)
    };
    let power = match unit.chars().next().map(|c| c.to_ascii_uppercase()) {
        None | Some('B') => 0,
        Some('K') => 1,
        Some('M') => 2,
        Some('G') => 3,
        Some('T') => 4,
        Some('P') => 5,
        Some('E') => 6,
        Some(_) => return None,
    };
    let value: f64 = number.parse().ok()?;
    let bytes = (value * 1024f64.powi(power)).round();
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Report, ToolChoice, MAX_LINES};
    use notify_core::{Outcome, TaskResult};

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[track_caller]
    fn check_args(args: &str, subcommand: Option<&str>, source: Option<&str>, dest: Option<&str>) {
        let o = Options::parse(&words(args));
        assert_eq!(
            (
                o.subcommand.as_deref(),
                o.source.as_deref(),
                o.destination.as_deref()
            ),
            (subcommand, source, dest),
            "{args}"
        );
    }

    #[test]
    fn subcommand_source_and_destination() {
        let sync = Some("sync");
        check_args(
            "sync /src remote:dst",
            sync,
            Some("/src"),
            Some("remote:dst"),
        );
        check_args("sync -v --progress /s r:d", sync, Some("/s"), Some("r:d"));
        check_args("-v sync /s r:d", sync, Some("/s"), Some("r:d"));
        check_args(
            "sync --fast-list /data remote:b --sftp-key-file /root/.ssh/id",
            sync,
            Some("/data"),
            Some("remote:b"),
        );
        check_args(
            "sync /data remote:b --s3-endpoint https://s3.example.com",
            sync,
            Some("/data"),
            Some("remote:b"),
        );
        check_args(
            "--config /dev/null sync /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args("--config=/x sync /s r:d", sync, Some("/s"), Some("r:d"));
        check_args("-P --fast-list sync /s r:d", sync, Some("/s"), Some("r:d"));
        check_args(
            "sync /s r:d --transfers 8 --checkers 16",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args(
            "sync --exclude *.tmp --log-level INFO /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args(
            "sync --bwlimit 08:00,512k --stats 1m /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args("sync -f +_*.jpg -f- /s r:d", sync, Some("/s"), Some("r:d"));
        check_args(
            "sync --backup-dir r:old --suffix .bak /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args(
            "sync --max-age 24h --min-size 1M /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args(
            "sync --log-file /l --stats-log-level NOTICE /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args("sync --dry-run=false /s r:d", sync, Some("/s"), Some("r:d"));
        // Backend flags: a value that is not a path is the flag's.
        check_args(
            "sync --s3-region us-east-1 /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args(
            "--s3-region us-east-1 sync /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args(
            "sync --drive-use-trash /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args(
            "sync /s --drive-use-trash r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args(
            "sync --drive-root-folder-id abc --s3-no-check-bucket src r:d",
            sync,
            Some("src"),
            Some("r:d"),
        );
        check_args(
            "sync --sftp-key-file /k/id /s r:d",
            sync,
            Some("/s"),
            Some("r:d"),
        );
        check_args("copy a b", Some("copy"), Some("a"), Some("b"));
        check_args(
            "move /a r:b --delete-empty-src-dirs",
            Some("move"),
            Some("/a"),
            Some("r:b"),
        );
        check_args(
            "copyto /a/f r:b/g",
            Some("copyto"),
            Some("/a/f"),
            Some("r:b/g"),
        );
        check_args(
            "moveto /a/f r:b/g",
            Some("moveto"),
            Some("/a/f"),
            Some("r:b/g"),
        );
        check_args(
            "bisync /a r:b --workdir /w --resync",
            Some("bisync"),
            Some("/a"),
            Some("r:b"),
        );
        check_args(
            "check /a r:b --one-way --combined /c",
            Some("check"),
            Some("/a"),
            Some("r:b"),
        );
        check_args(
            "check -C sha1 sums r:b",
            Some("check"),
            Some("sums"),
            Some("r:b"),
        );
        check_args(
            "cryptcheck /a c:b",
            Some("cryptcheck"),
            Some("/a"),
            Some("c:b"),
        );
        check_args(
            "copyurl https://x/y r:f",
            Some("copyurl"),
            Some("https://x/y"),
            Some("r:f"),
        );
        check_args("sync -- /s -odd", sync, Some("/s"), Some("-odd"));
        check_args("sync /s", sync, Some("/s"), None);
        check_args("sync", sync, None, None);
        check_args("lsd r:", Some("lsd"), None, None);
        check_args("delete r:old", Some("delete"), None, None);
        check_args("-v", None, None, None);
        check_args("", None, None, None);
    }

    #[test]
    fn dry_run_flags() {
        for (args, want) in [
            ("sync -n /s r:d", true),
            ("sync -vn /s r:d", true),
            ("sync --dry-run /s r:d", true),
            ("sync --dry-run=true /s r:d", true),
            ("sync --dry-run=false /s r:d", false),
            ("sync -f n /s r:d", false),
            ("sync /s r:d", false),
        ] {
            assert_eq!(Options::parse(&words(args)).dry_run, want, "{args}");
        }
    }

    #[test]
    fn log_headers() {
        use Level::*;
        let cases: &[(&str, Option<Level>, &str)] = &[
            (
                "2026/11/21 02:00:00 ERROR : f: Failed to copy: x",
                Some(Error),
                "f: Failed to copy: x",
            ),
            (
                "2026/11/21 02:00:00 INFO  : f: Copied (new)",
                Some(Info),
                "f: Copied (new)",
            ),
            (
                "2026/11/21 02:00:00 NOTICE: f: Skipped",
                Some(Notice),
                "f: Skipped",
            ),
            ("2026/11/21 02:00:00 WARNING: w", Some(Warning), "w"),
            ("2026/11/21 02:00:00 CRITICAL: c", Some(Critical), "c"),
            ("2026/11/21 02:00:00.123456 DEBUG : d", Some(Debug), "d"),
            ("02:00:00 ERROR : e", Some(Error), "e"),
            (
                "2026/11/21 02:00:00 sync.go:12: [123] ERROR : e",
                Some(Error),
                "e",
            ),
            ("ERROR : no header", Some(Error), "no header"),
            (
                "2026/11/21 02:00:00 Failed to sync: x",
                None,
                "Failed to sync: x",
            ),
            ("2026/11/21 02:00:00 INFO  : ", Some(Info), ""),
            (
                "Errors:                 1 (retrying may help)",
                None,
                "Errors:                 1 (retrying may help)",
            ),
            ("ERRORS: not a level", None, "ERRORS: not a level"),
            ("2026/11/21", None, "2026/11/21"),
            ("", None, ""),
        ];
        for &(line, level, message) in cases {
            assert_eq!(text_log(line), (level, message), "{line:?}");
        }
    }

    #[test]
    fn sizes() {
        let cases: &[(&str, Option<u64>)] = &[
            (
                "   97.656 KiB / 97.656 KiB, 100%, 0 B/s, ETA -",
                Some(100_000),
            ),
            ("          0 B / 0 B, -, 0 B/s, ETA -", Some(0)),
            ("  22 B / 22 B, 100%", Some(22)),
            ("1.234 GiB / 2 GiB", Some(1_324_997_411)),
            (
                "    1.234M / 1.234 MBytes, 100%, 10 kBytes/s, ETA 0s",
                Some(1_293_943),
            ),
            ("2026/11/21 - 5 MiB / 5 MiB", Some(5 << 20)),
            ("1.5 EiB / x", Some(1_729_382_256_910_270_464)),
            ("x / y", None),
            ("1.2 QiB / y", None),
            ("", None),
            ("KiB / x", None),
        ];
        for &(text, want) in cases {
            assert_eq!(size(text), want, "{text:?}");
        }
        assert_eq!(first_number("            4 / 4, 100%"), Some(4));
        assert_eq!(first_number("  1 (files), 0 (dirs)"), Some(1));
        assert_eq!(first_number(" x"), None);
    }

    #[test]
    fn attempts() {
        assert_eq!(
            attempt("Attempt 1/3 failed with 1 errors and: directory not found"),
            Some(Attempt::Failed { last: false })
        );
        assert_eq!(
            attempt("Attempt 3/3 failed with 2 errors"),
            Some(Attempt::Failed { last: true })
        );
        assert_eq!(attempt("Attempt 2/3 succeeded"), Some(Attempt::Succeeded));
        assert_eq!(attempt("Attempt x/3 failed"), None);
        assert_eq!(attempt("Attempt 1/3 exploded"), None);
        assert_eq!(attempt("Attempted"), None);
    }

    #[test]
    fn notices() {
        for (text, informational) in [
            ("f1: Skipped copy as --dry-run is set (size 97.656Ki)", true),
            ("extra: Skipped delete as --dry-run is set (size 2)", true),
            ("f: Skipped copy as --interactive is set", true),
            (
                "Config file \"/root/.config/rclone/rclone.conf\" not found - using defaults",
                true,
            ),
            ("Local file system at /b: 0 differences found", true),
            ("Local file system at /b: 3 matching files", true),
            ("Local file system at /b: 1 files missing", true),
            ("Local file system at /b: 2 errors while checking", true),
            ("Bandwidth limit set to {1Mi 1Mi}", true),
            ("There was nothing to transfer", true),
            ("bisync is EXPERIMENTAL. Don't use in production!", true),
            ("link: Can't follow symlink without -L/--copy-links", false),
            ("x: Duplicate object found in source - ignoring", false),
            (
                "Local file system at /d: Replacing invalid UTF-8 characters in \"a\\xff\"",
                false,
            ),
            (
                "max transfer limit reached as set by --max-transfer - stopping transfers",
                false,
            ),
        ] {
            assert_eq!(is_informational(text), informational, "{text:?}");
        }
    }

    /// Reads `out` and `err` as an rclone run of `args` with `outcome`.
    fn read(args: &str, out: &str, err: &str, outcome: Outcome) -> TaskResult {
        let mut argv = vec!["rclone".to_owned()];
        argv.extend(words(args));
        let invocation = Invocation::parse(&argv, ToolChoice::Auto);
        let mut report = Report::new(&invocation, &|_| None, 1 << 16);
        report.feed(Stream::Stdout, out.as_bytes());
        report.feed(Stream::Stderr, err.as_bytes());
        let mut result = TaskResult::new("t", outcome);
        report.finish(&mut result);
        result
    }

    fn deleted(r: &TaskResult) -> Option<&str> {
        r.extra.get(keys::FILES_DELETED).map(String::as_str)
    }

    #[track_caller]
    fn check_counts(
        args: &str,
        out: &str,
        err: &str,
        want: (Option<u64>, Option<u64>, Option<&str>),
    ) {
        let r = read(args, out, err, Outcome::Success);
        assert_eq!(
            (r.bytes_copied, r.files_copied, deleted(&r)),
            want,
            "{args} {out:?} {err:?}"
        );
        assert_eq!((r.error_count, r.warning_count), (0, 0), "{r:#?}");
    }

    const VERBOSE: &str = "2026/12/04 16:30:49 INFO  : f1: Copied (new)
2026/12/04 16:30:49 INFO  : extra: Deleted
2026/12/04 16:30:49 INFO  : 
Transferred:   \t   97.656 KiB / 97.656 KiB, 100%, 0 B/s, ETA -
Checks:                 4 / 4, 100%
Deleted:                1 (files), 0 (dirs)
Transferred:            1 / 1, 100%
Elapsed time:         0.0s

";

    #[test]
    fn statistics() {
        check_counts(
            "sync -v /s /d",
            "",
            VERBOSE,
            (Some(100_000), Some(1), Some("1")),
        );
        // -P: the block on stdout, redrawn; the last one counts.
        let progress = "Transferred:   \t   10 KiB / 97.656 KiB, 10%, 0 B/s, ETA 1s\nTransferred:            0 / 1, 0%\nElapsed time:         0.5s\nTransferring:\n *                                            f1: 10% /97.656Ki, 0/s, -\n\
Transferred:   \t   97.656 KiB / 97.656 KiB, 100%, 0 B/s, ETA -\nChecks:                 3 / 3, 100%\nTransferred:            1 / 1, 100%\nElapsed time:         0.0s\n";
        check_counts(
            "sync -P /s /d",
            progress,
            "",
            (Some(100_000), Some(1), Some("0")),
        );
        // Nothing transferred: no count line.
        check_counts(
            "copy -v /s /d",
            "",
            "2026/12/04 16:30:49 INFO  : \nTransferred:   \t          0 B / 0 B, -, 0 B/s, ETA -\nChecks:                 4 / 4, 100%\nElapsed time:         0.0s\n",
            (Some(0), Some(0), Some("0")),
        );
        // --stats-one-line: bytes only.
        check_counts(
            "copy -v --stats-one-line /s /d",
            "",
            "2026/12/04 16:30:49 INFO  : f1: Copied (new)\n2026/12/04 16:30:49 INFO  :    97.656 KiB / 97.656 KiB, 100%, 0 B/s, ETA -\n",
            (Some(100_000), None, None),
        );
        check_counts(
            "copy -P --stats-one-line /s /d",
            "97.656 KiB / 97.656 KiB, 100%, 0 B/s, ETA -\n",
            "",
            (Some(100_000), None, None),
        );
        check_counts(
            "copy -v --stats-one-line-date /s /d",
            "",
            "2026/12/04 16:30:49 INFO  : 2026/12/04 16:30:49 - 1 MiB / 1 MiB, 100%, 0 B/s, ETA -\n",
            (Some(1 << 20), None, None),
        );
        // Older rclone: `Deleted: N` without dirs, units without `i`.
        check_counts(
            "sync -v /s /d",
            "",
            "Transferred:   \t    1.500M / 1.500 MBytes, 100%, 10 kBytes/s, ETA 0s\nDeleted:                2\nTransferred:            3 / 3, 100%\n",
            (Some(1_572_864), Some(3), Some("2")),
        );
        // Nothing printed: nothing known.
        check_counts("sync /s /d", "", "", (None, None, None));
    }

    const JSON_VERBOSE: &str = r#"{"level":"info","msg":"Copied (new)","object":"f1","objectType":"*local.Object","source":"operations/operations.go:566","time":"2026-12-04T16:30:49.546715+00:00"}
{"level":"info","msg":"Deleted","object":"extra","objectType":"*local.Object","source":"operations/operations.go:721","time":"2026-12-04T16:30:49.54698+00:00"}
{"level":"info","msg":"\nTransferred:   \t   97.656 KiB / 97.656 KiB, 100%, 0 B/s, ETA -\nChecks:                 4 / 4, 100%\nDeleted:                1 (files), 0 (dirs)\nTransferred:            1 / 1, 100%\nElapsed time:         0.0s\n\n","source":"accounting/stats.go:482","stats":{"bytes":100000,"checks":4,"deletedDirs":0,"deletes":1,"elapsedTime":0.054835193,"errors":0,"eta":null,"fatalError":false,"renames":0,"retryError":false,"speed":0,"totalBytes":100000,"totalChecks":4,"totalTransfers":1,"transferTime":0,"transfers":1},"time":"2026-12-04T16:30:49.549881+00:00"}
"#;

    #[test]
    fn json_log() {
        check_counts(
            "sync -v --use-json-log /s /d",
            "",
            JSON_VERBOSE,
            (Some(100_000), Some(1), Some("1")),
        );
        // Stats without the object: the text in `msg`.
        check_counts(
            "sync --use-json-log /s /d",
            "",
            r#"{"level":"notice","msg":"\nTransferred:   \t   1 KiB / 1 KiB, 100%, 0 B/s, ETA -\nTransferred:            2 / 2, 100%\n"}"#,
            (Some(1024), Some(2), Some("0")),
        );
        let r = read(
            "sync --use-json-log /s /d",
            "",
            concat!(
                r#"{"level":"error","msg":"Failed to copy: open /s/secret: permission denied","object":"secret","objectType":"*local.Object","source":"operations/copy.go:1","time":"t"}"#,
                "\n",
                r#"{"level":"warning","msg":"Can't follow symlink without -L/--copy-links","object":"link","time":"t"}"#,
                "\n",
                r#"{"level":"warning","msg":"Skipped copy as --dry-run is set (size 2)","object":"x","time":"t"}"#,
                "\n",
                r#"{"level":"notice","msg":"Failed to sync: permission denied","time":"t","source":"cmd/cmd.go:1"}"#,
                "\n",
                r#"{"level":"weird"}"#,
                "\n",
                r#"{"not":"a log line"}"#,
                "\n",
                "{broken json\n",
            ),
            Outcome::Failure,
        );
        assert_eq!(
            r.errors,
            [
                "ERROR : secret: Failed to copy: open /s/secret: permission denied",
                "NOTICE: Failed to sync: permission denied",
            ]
        );
        assert_eq!(
            r.warnings,
            ["WARNING: link: Can't follow symlink without -L/--copy-links"]
        );
        assert_eq!((r.error_count, r.warning_count), (2, 1));
        // rclone 1.60 in JSON mode closes with a plain line.
        let r = read(
            "sync --use-json-log /nonexistent /d",
            "",
            concat!(
                r#"{"level":"error","msg":"error reading source root directory: directory not found","object":"Local file system at /nonexistent","objectType":"*local.Fs","time":"t"}"#,
                "\n2026/12/04 16:30:53 Failed to sync: directory not found\n",
            ),
            Outcome::Failure,
        );
        assert_eq!(
            r.errors,
            [
                "ERROR : Local file system at /nonexistent: error reading source root directory: directory not found",
                "2026/12/04 16:30:53 Failed to sync: directory not found",
            ]
        );
        // A line cut for its length is no JSON, but still an error.
        let long = format!(
            "{{\"level\":\"error\",\"msg\":\"Failed to copy: {} [… 10 bytes cut]\n",
            "x".repeat(100)
        );
        let r = read("sync --use-json-log /s /d", "", &long, Outcome::Failure);
        assert_eq!((r.errors.len(), r.error_count), (1, 1));
        assert!(r.errors[0].starts_with("{\"level\":\"error\""));
        let long = long.replace("error", "info");
        let r = read("sync --use-json-log /s /d", "", &long, Outcome::Success);
        assert_eq!((r.error_count, r.warning_count), (0, 0));
        // Levels of rclone's slog JSON, and a fatal one.
        let r = read(
            "copy --use-json-log /s /d",
            "",
            concat!(
                r#"{"time":"t","level":"critical","msg":"Failed to create file system for \"r:\": didn't find section in config file","source":"cmd/cmd.go:1"}"#,
                "\n",
            ),
            Outcome::Failure,
        );
        assert_eq!(r.errors, ["CRITICAL: Failed to create file system for \"r:\": didn't find section in config file"]);
    }

    #[track_caller]
    fn check_lines(args: &str, err: &str, outcome: Outcome, errors: &[&str], warnings: &[&str]) {
        let r = read(args, "", err, outcome);
        assert_eq!(r.errors, errors, "{args}");
        assert_eq!(r.warnings, warnings, "{args}");
        assert_eq!(
            (r.error_count, r.warning_count),
            (errors.len() as u64, warnings.len() as u64)
        );
    }

    #[test]
    fn errors_warnings_and_retries() {
        use Outcome::*;
        // Three attempts: the last one's errors, each retried one a warning.
        let attempt = |n: u32| {
            format!(
                "2026/12/04 16:30:53 ERROR : Local file system at /nonexistent: error reading source root directory: directory not found\n\
                 2026/12/04 16:30:53 ERROR : Local file system at /d: not deleting files as there were IO errors\n\
                 2026/12/04 16:30:53 ERROR : Attempt {n}/3 failed with 1 errors and: directory not found\n"
            )
        };
        let err = format!(
            "{}{}{}2026/12/04 16:30:53 INFO  : \nTransferred:   \t          0 B / 0 B, -, 0 B/s, ETA -\nErrors:                 1 (retrying may help)\nElapsed time:         0.0s\n\n2026/12/04 16:30:53 Failed to sync: directory not found\n",
            attempt(1),
            attempt(2),
            attempt(3)
        );
        check_lines(
            "sync /nonexistent /d",
            &err,
            Failure,
            &[
                "2026/12/04 16:30:53 ERROR : Local file system at /nonexistent: error reading source root directory: directory not found",
                "2026/12/04 16:30:53 ERROR : Local file system at /d: not deleting files as there were IO errors",
                "2026/12/04 16:30:53 Failed to sync: directory not found",
            ],
            &[
                "2026/12/04 16:30:53 ERROR : Attempt 1/3 failed with 1 errors and: directory not found",
                "2026/12/04 16:30:53 ERROR : Attempt 2/3 failed with 1 errors and: directory not found",
            ],
        );
        // A run that recovered.
        check_lines(
            "copy /s r:d",
            "ERROR : f: Failed to copy: timeout\nERROR : Attempt 1/3 failed with 1 errors and: timeout\nERROR : Attempt 2/3 succeeded\n",
            Success,
            &[],
            &[
                "ERROR : Attempt 1/3 failed with 1 errors and: timeout",
                "ERROR : Attempt 2/3 succeeded",
            ],
        );
        // Not retried.
        check_lines(
            "copy /s r:d",
            "ERROR : f: Failed to copy: quota exceeded\nERROR : Can't retry any of the errors - not attempting retries\nNOTICE: Failed to copy: quota exceeded\n",
            Failure,
            &["ERROR : f: Failed to copy: quota exceeded", "NOTICE: Failed to copy: quota exceeded"],
            &[],
        );
        // Notices.
        check_lines(
            "sync -v /s /d",
            "2026/12/04 16:32:54 NOTICE: Config file \"/x\" not found - using defaults\n\
             2026/12/04 16:32:54 NOTICE: link: Can't follow symlink without -L/--copy-links\n\
             2026/12/04 16:32:54 NOTICE: Failed to read metadata: x\n\
             2026/12/04 16:32:54 NOTICE: Failed to sync with 2 errors: last error was: y\n",
            Failure,
            &[
                "2026/12/04 16:32:54 NOTICE: Failed to read metadata: x",
                "2026/12/04 16:32:54 NOTICE: Failed to sync with 2 errors: last error was: y",
            ],
            &["2026/12/04 16:32:54 NOTICE: link: Can't follow symlink without -L/--copy-links"],
        );
        // check: per-file errors, tallies ignored, the closing line.
        check_lines(
            "check /a /b",
            "2026/12/04 16:32:54 ERROR : f2: sizes differ\n\
             2026/12/04 16:32:54 NOTICE: Local file system at /b: 1 differences found\n\
             2026/12/04 16:32:54 NOTICE: Local file system at /b: 1 errors while checking\n\
             2026/12/04 16:32:54 NOTICE: Local file system at /b: 3 matching files\n\
             2026/12/04 16:32:54 Failed to check: 1 differences found\n",
            Failure,
            &[
                "2026/12/04 16:32:54 ERROR : f2: sizes differ",
                "2026/12/04 16:32:54 Failed to check: 1 differences found",
            ],
            &[],
        );
        // Usage errors, plain lines on stdout.
        check_lines(
            "sync --bogus /s /d",
            "Error: unknown flag: --bogus\nUsage:\n  rclone sync source:path dest:path [flags]\n",
            Failure,
            &["Error: unknown flag: --bogus"],
            &[],
        );
        let r = read(
            "sync -P /s /d",
            "error.log: 100% /1Ki, 0/s, -\n",
            "",
            Success,
        );
        assert_eq!((r.error_count, r.warning_count), (0, 0));
        // Interrupted: rclone says nothing more.
        check_lines(
            "sync /s /d",
            "2026/12/04 16:32:54 INFO  : Signal received: interrupt\n",
            Cancelled,
            &[],
            &[],
        );
        // A failure with nothing recognisable: the last stderr lines.
        check_lines(
            "sync /s /d",
            "panic: runtime error\n",
            Failure,
            &["panic: runtime error"],
            &[],
        );
    }

    #[test]
    fn dry_runs_copy_nothing() {
        let r = read("sync -n /s /d", "", VERBOSE, Outcome::Success);
        assert_eq!(
            (r.bytes_copied, r.files_copied, deleted(&r)),
            (None, None, None)
        );
        let r = read(
            "sync --dry-run --use-json-log /s /d",
            "",
            JSON_VERBOSE,
            Outcome::Success,
        );
        assert_eq!(
            (r.bytes_copied, r.files_copied, deleted(&r)),
            (None, None, None)
        );
    }

    #[test]
    fn retried_lines_are_bounded_and_counted() {
        let mut err = String::new();
        for attempt in 1..=3 {
            for i in 0..(MAX_LINES + 10) {
                err.push_str(&format!("ERROR : f{i}: Failed to copy: denied\n"));
            }
            err.push_str(&format!(
                "ERROR : Attempt {attempt}/3 failed with 60 errors and: denied\n"
            ));
        }
        err.push_str("Failed to sync with 60 errors: last error was: denied\n");
        let r = read("sync /s /d", "", &err, Outcome::Failure);
        assert_eq!(r.error_count, MAX_LINES as u64 + 11);
        assert_eq!(r.errors.len(), MAX_LINES);
        assert_eq!(r.errors[0], "ERROR : f0: Failed to copy: denied");
        assert_eq!(
            r.errors[MAX_LINES - 1],
            "Failed to sync with 60 errors: last error was: denied"
        );
        assert_eq!(r.warning_count, 2);
    }

    #[test]
    fn no_panic_on_odd_input() {
        let odd = [
            "Transferred:",
            "Transferred: , ETA ",
            "Transferred: 99999999999999999999 / 1",
            "Deleted:",
            " / , ETA ",
            "{",
            "{}",
            r#"{"level":1,"msg":2}"#,
            r#"{"level":"error","msg":"","object":{"a":1}}"#,
            r#"{"level":"info","msg":"","stats":{"bytes":-1,"transfers":1.5}}"#,
            "Attempt 99999999999/1 failed",
            "2026/11/21 02:00:00",
            "\u{fffd}ERROR : x",
            "NOTICE:",
        ];
        for line in odd {
            for stream in [Stream::Stdout, Stream::Stderr] {
                let invocation = Invocation::parse(&["rclone", "sync", "a", "b"], ToolChoice::Auto);
                let mut report = Report::new(&invocation, &|_| None, 1 << 16);
                report.feed(stream, line.as_bytes());
                let mut r = TaskResult::new("t", Outcome::Failure);
                report.finish(&mut r);
            }
        }
    }

    proptest::proptest! {
        /// Any command line and any output: no panic.
        #[test]
        fn any_input(
            args in proptest::collection::vec("-{0,2}[a-zA-Z0-9=:/.-]{0,12}", 0..8),
            out in "(?s).{0,300}",
            err in "(?s).{0,300}",
        ) {
            let mut argv = vec!["rclone".to_owned()];
            argv.extend(args);
            let invocation = Invocation::parse(&argv, ToolChoice::Auto);
            let mut report = Report::new(&invocation, &|_| None, 1 << 16);
            report.feed(Stream::Stdout, out.as_bytes());
            report.feed(Stream::Stderr, err.as_bytes());
            let mut r = TaskResult::new("t", Outcome::Failure);
            report.finish(&mut r);
        }
    }
}
