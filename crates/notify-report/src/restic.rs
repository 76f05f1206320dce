//! The restic reader: the `backup` command line (source, repository) and
//! restic's output, text or `--json`, from restic 0.14 on.
//!
//! What it fills:
//!
//! - Source: the backup paths, joined with `, `; `--files-from FILE` (also
//!   `-verbatim`, `-raw`) reads `files listed in FILE`; `--stdin` reads
//!   `stdin`, and `--stdin-from-command` `output of "COMMAND"`, each with
//!   ` (as NAME)` when `--stdin-filename` is given. Only for `backup`.
//! - Destination: `-r`/`--repo`, else `--repository-file FILE` (read as
//!   `repository named in FILE`: the reader reads no file), else the
//!   variables `RESTIC_REPOSITORY` and `RESTIC_REPOSITORY_FILE`. A password
//!   in a URL (`rest:https://user:secret@host/`) is shown as `***`. Only for
//!   `backup`.
//! - Files and bytes copied: the files and bytes restic processed
//!   (`processed 22 files, 3.098 MiB in 0:00`; sizes in restic's binary
//!   units, rounded to a byte; exact from `--json`'s summary).
//! - Tool values: snapshot ID (8 hex digits, as restic shows it), files new,
//!   changed, unmodified and processed, data processed, data added (not for
//!   a dry run: nothing was added).
//! - Errors: `error: ...` lines (files that could not be read), `Fatal: ...`
//!   and a failed repository lock, each with the lines restic prints after
//!   it joined on (`Is there a repository at the following location?`), and
//!   `--json` error messages. An error found while scanning is not counted:
//!   restic reports the same item again when it backs it up (text output
//!   shows scan errors only with `--verbose`).
//! - Warnings: `Warning: ...`, skipped source paths, retried backend
//!   requests, an unusable cache, the signal that stopped restic; other
//!   lines by the generic rules.
//!
//! Progress lines (`[0:05] 12.34% ...`, `--json` status messages) are
//! skipped. Memory is bounded: the reader keeps one pending line at most.

use serde::Deserialize;
use serde_json::Value;

use crate::{generic, keys, EnvLookup, Findings, Invocation, Reader, Stream, MAX_LINE};

/// The reader for one restic run.
pub(crate) fn reader(
    invocation: &Invocation,
    env: EnvLookup<'_>,
    found: &mut Findings,
) -> Box<dyn Reader> {
    let line = CommandLine::parse(invocation.args());
    if line.subcommand.as_deref() == Some("backup") {
        found.source = line.source();
        found.destination = line.destination(env);
    }
    Box::new(Restic {
        summary: line.has_backup_summary(),
        fatal: None,
    })
}

/// Long options (global ones and `backup`'s, restic 0.14 to current) that
/// take a value; written `--opt VALUE` the value is the next word.
/// `--verbose` is not one: it counts, and takes a level only as
/// `--verbose=2`.
const LONG_VALUES: &[&str] = &[
    // Global options.
    "repo",
    "repository",
    "repository-file",
    "password-file",
    "key-hint",
    "password-command",
    "retry-lock",
    "cache-dir",
    "cacert",
    "tls-client-cert",
    "compression",
    "limit-upload",
    "limit-download",
    "pack-size",
    "option",
    "http-user-agent",
    "stuck-request-timeout",
    "listen-profile",
    "mem-profile",
    "cpu-profile",
    "trace-profile",
    "block-profile",
    // `backup`.
    "parent",
    "group-by",
    "exclude",
    "iexclude",
    "exclude-file",
    "iexclude-file",
    "exclude-if-present",
    "exclude-larger-than",
    "stdin-filename",
    "tag",
    "read-concurrency",
    "host",
    "hostname",
    "files-from",
    "files-from-verbatim",
    "files-from-raw",
    "time",
];

/// Short options that take a value (`-r REPO`, `-rREPO`, `-r=REPO`), with
/// their long names.
const SHORT_VALUES: &[(char, &str)] = &[
    ('r', "repo"),
    ('p', "password-file"),
    ('o', "option"),
    ('e', "exclude"),
    ('H', "host"),
    ('g', "group-by"),
];

/// restic's commands other than `backup`: their output has no backup
/// summary (`copy` prints `snapshot ... saved` for each copy, `diff` a
/// `Files:` line of its own, `restore --json` a summary of its own).
const OTHER_COMMANDS: &[&str] = &[
    "cache",
    "cat",
    "check",
    "copy",
    "diff",
    "dump",
    "features",
    "find",
    "forget",
    "generate",
    "help",
    "init",
    "key",
    "list",
    "ls",
    "migrate",
    "mount",
    "options",
    "prune",
    "recover",
    "repair",
    "restore",
    "rewrite",
    "self-update",
    "snapshots",
    "stats",
    "tag",
    "unlock",
    "version",
];

/// One thing backed up, as the command line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A path given as an argument.
    Path(String),
    /// `--files-from FILE` and its variants.
    ListedIn(String),
}

/// What the reader takes from a restic command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CommandLine {
    /// The first word that is neither an option nor an option's value.
    subcommand: Option<String>,
    /// The words after the subcommand that are not options, and the
    /// `--files-from` lists, in order.
    items: Vec<Item>,
    /// `-r`, `--repo`, `--repository`.
    repo: Option<String>,
    /// `--repository-file`.
    repo_file: Option<String>,
    /// `--stdin`.
    stdin: bool,
    /// `--stdin-from-command`: the positional words are a command.
    stdin_command: bool,
    /// `--stdin-filename`.
    stdin_filename: Option<String>,
}

impl CommandLine {
    /// Reads restic's arguments (the program name excluded) as restic's
    /// option parser does: options anywhere, `--` ending them.
    fn parse(args: &[String]) -> CommandLine {
        let mut line = CommandLine::default();
        let mut words = args.iter().map(String::as_str);
        let mut options_end = false;
        while let Some(word) = words.next() {
            if options_end || word == "-" || !word.starts_with('-') {
                line.positional(word);
            } else if word == "--" {
                options_end = true;
            } else if let Some(long) = word.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (long, None),
                };
                let value = if LONG_VALUES.contains(&name) {
                    inline.or_else(|| words.next())
                } else {
                    inline
                };
                line.option(name, value);
            } else {
                // A cluster of short options: `-qv`, `-vr REPO`, `-rREPO`.
                let letters = &word[1..];
                for (pos, letter) in letters.char_indices() {
                    let Some(&(_, name)) = SHORT_VALUES.iter().find(|(l, _)| *l == letter) else {
                        continue;
                    };
                    let rest = &letters[pos + letter.len_utf8()..];
                    let value = if rest.is_empty() {
                        words.next()
                    } else {
                        Some(rest.strip_prefix('=').unwrap_or(rest))
                    };
                    line.option(name, value);
                    break;
                }
            }
        }
        line
    }

    fn positional(&mut self, word: &str) {
        if self.subcommand.is_none() {
            self.subcommand = Some(word.to_owned());
        } else {
            self.items.push(Item::Path(word.to_owned()));
        }
    }

    fn option(&mut self, name: &str, value: Option<&str>) {
        let flag = || value.is_none_or(|v| !v.eq_ignore_ascii_case("false"));
        match (name, value) {
            ("repo" | "repository", Some(v)) => self.repo = Some(v.to_owned()),
            ("repository-file", Some(v)) => self.repo_file = Some(v.to_owned()),
            ("files-from" | "files-from-verbatim" | "files-from-raw", Some(v)) => {
                self.items.push(Item::ListedIn(v.to_owned()))
            }
            ("stdin-filename", Some(v)) => self.stdin_filename = Some(v.to_owned()),
            ("stdin", _) => self.stdin = flag(),
            ("stdin-from-command", _) => self.stdin_command = flag(),
            _ => {}
        }
    }

    /// What is backed up, as the mail shows it.
    fn source(&self) -> Option<String> {
        let named = |what: String| match &self.stdin_filename {
            Some(name) if !name.is_empty() => format!("{what} (as {name})"),
            _ => what,
        };
        if self.stdin_command {
            let command: Vec<&str> = self
                .items
                .iter()
                .filter_map(|item| match item {
                    Item::Path(word) => Some(word.as_str()),
                    Item::ListedIn(_) => None,
                })
                .collect();
            return Some(named(format!("output of \"{}\"", command.join(" "))));
        }
        if self.stdin {
            return Some(named("stdin".to_owned()));
        }
        let items: Vec<String> = self
            .items
            .iter()
            .map(|item| match item {
                Item::Path(path) => path.clone(),
                Item::ListedIn(file) => format!("files listed in {file}"),
            })
            .collect();
        (!items.is_empty()).then(|| items.join(", "))
    }

    /// The repository, from the command line or else the environment (an
    /// empty value counts as unset, as restic does).
    fn destination(&self, env: EnvLookup<'_>) -> Option<String> {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let from_env = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(repo) = given(&self.repo) {
            return Some(hide_password(&repo));
        }
        if let Some(file) = given(&self.repo_file) {
            return Some(format!("repository named in {file}"));
        }
        if let Some(repo) = from_env("RESTIC_REPOSITORY") {
            return Some(hide_password(&repo));
        }
        from_env("RESTIC_REPOSITORY_FILE").map(|file| format!("repository named in {file}"))
    }

    /// Whether the output may hold a backup summary: `backup`, or a
    /// command line the reader does not know (a script read with
    /// `--tool restic`).
    fn has_backup_summary(&self) -> bool {
        self.subcommand
            .as_deref()
            .is_none_or(|s| !OTHER_COMMANDS.contains(&s))
    }
}

/// `rest:https://user:secret@host/` as `rest:https://user:***@host/`.
fn hide_password(repo: &str) -> String {
    let Some(start) = repo.find("://").map(|i| i + 3) else {
        return repo.to_owned();
    };
    let authority_end = repo[start..].find('/').map_or(repo.len(), |i| start + i);
    let authority = &repo[start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return repo.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return repo.to_owned();
    };
    format!("{}***{}", &repo[..start + colon + 1], &repo[start + at..])
}

/// The most lines joined onto a `Fatal:` line.
const MAX_CONTINUATION: usize = 8;

/// A `Fatal:` line waiting for the lines restic prints after it.
#[derive(Debug)]
struct Pending {
    text: String,
    stream: Stream,
    lines: usize,
}

/// The reader's state.
#[derive(Debug)]
struct Restic {
    /// Whether summary lines are read (see
    /// [`CommandLine::has_backup_summary`]).
    summary: bool,
    /// The fatal message being read.
    fatal: Option<Pending>,
}

impl Restic {
    fn flush(&mut self, found: &mut Findings) {
        if let Some(pending) = self.fatal.take() {
            found.fatal(&pending.text);
        }
    }

    fn read(&mut self, stream: Stream, line: Line<'_>, text: &str, found: &mut Findings) {
        match line {
            Line::Blank | Line::Ignored => {}
            Line::Fatal => {
                self.fatal = Some(Pending {
                    text: text.to_owned(),
                    stream,
                    lines: 0,
                })
            }
            Line::Error => found.error(text),
            Line::Warning => found.warning(text),
            Line::Other => {
                generic::classify(text, found);
            }
            Line::Json(message) => self.json(&message, found),
            summary if self.summary => read_summary(summary, found),
            _ => {}
        }
    }

    fn json(&mut self, message: &Message, found: &mut Findings) {
        match message.message_type.as_str() {
            "summary" if self.summary => {
                let m = message;
                found.files_copied = m.total_files_processed.or(found.files_copied);
                found.bytes_copied = m.total_bytes_processed.or(found.bytes_copied);
                let numbers = [
                    (keys::FILES_NEW, m.files_new),
                    (keys::FILES_CHANGED, m.files_changed),
                    (keys::FILES_UNMODIFIED, m.files_unmodified),
                    (keys::FILES_PROCESSED, m.total_files_processed),
                    (keys::DATA_PROCESSED, m.total_bytes_processed),
                    (keys::DATA_ADDED, m.data_added.filter(|_| !m.dry_run)),
                ];
                for (key, value) in numbers {
                    if let Some(value) = value {
                        found.set_number(key, value);
                    }
                }
                if let Some(id) = m.snapshot_id.as_deref().and_then(short_id) {
                    found.set(keys::SNAPSHOT_ID, id);
                }
            }
            // The scanner only estimates the size; the archiver reports
            // the same item again.
            "error" if message.during.as_deref() == Some("scan") => {}
            "error" => found.error(&error_line(message)),
            "exit_error" => {
                let text = message
                    .message
                    .as_deref()
                    .map(|m| {
                        m.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .fold(String::new(), join)
                    })
                    .unwrap_or_default();
                match message.code {
                    // Cancelled: the signal line says so.
                    Some(130) => {}
                    Some(3) => found.warning(&text),
                    _ if text.is_empty() => found.fatal("Fatal: restic exited with an error"),
                    _ => found.fatal(&text),
                }
            }
            _ => {}
        }
    }
}

impl Reader for Restic {
    fn line(&mut self, stream: Stream, line: &str, found: &mut Findings) {
        let text = line.trim_end();
        let kind = Line::of(text);
        if let Some(pending) = &mut self.fatal {
            if pending.stream == stream {
                let room = pending.text.len() + text.len() < MAX_LINE;
                if matches!(kind, Line::Other) && pending.lines < MAX_CONTINUATION && room {
                    pending.text = join(std::mem::take(&mut pending.text), text.trim_start());
                    pending.lines += 1;
                    return;
                }
                self.flush(found);
            }
        }
        self.read(stream, kind, text, found);
    }

    fn finish(&mut self, found: &mut Findings) {
        self.flush(found);
    }
}

/// `a` and `b` as one sentence-like line: `a; b`, or `a b` after a
/// question, a colon or a full stop.
fn join(mut a: String, b: &str) -> String {
    if !a.is_empty() {
        let sep = if a.ends_with(['?', ':', '.', '!', ';', ',']) {
            " "
        } else {
            "; "
        };
        a.push_str(sep);
    }
    a.push_str(b);
    a
}

/// What a line of restic's output is.
#[derive(Debug)]
enum Line<'a> {
    /// Empty or whitespace.
    Blank,
    /// Progress and notes of no interest (status lines, scan errors that
    /// the archiver reports again).
    Ignored,
    /// `Fatal: ...`, a failed lock: the line that ends the run.
    Fatal,
    /// `error: ...`.
    Error,
    /// `Warning: ...` and restic's other warnings.
    Warning,
    /// `snapshot 5d2a4f3c saved`.
    Snapshot(&'a str),
    /// `Files:  22 new,  0 changed,  0 unmodified`.
    Files {
        new: u64,
        changed: u64,
        unmodified: u64,
    },
    /// `Added to the repository: 3.107 MiB (3.110 MiB stored)`.
    Added(u64),
    /// `processed 22 files, 3.098 MiB in 0:00`.
    Processed { files: u64, bytes: u64 },
    /// A `--json` message.
    Json(Box<Message>),
    /// Anything else.
    Other,
}

impl<'a> Line<'a> {
    fn of(text: &'a str) -> Line<'a> {
        // `-v`/`-vv` lists every file: `new       /x, saved in ...`,
        // `unchanged /x`, `modified  /x, saved in ...`. Most lines of a big
        // backup are these, and none is an error, a warning or the summary.
        if ["unchanged ", "new       ", "modified  "]
            .iter()
            .any(|p| text.starts_with(p))
        {
            return Line::Ignored;
        }
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            return Line::Blank;
        }
        if trimmed.starts_with('{') {
            if let Some(line) = json_line(trimmed) {
                return line;
            }
        }
        if trimmed.starts_with("Fatal:") || trimmed.starts_with("unable to create lock in backend:")
        {
            return Line::Fatal;
        }
        if trimmed.starts_with("error: ") {
            return Line::Error;
        }
        if trimmed.starts_with("Warning: ")
            || trimmed.starts_with("warning: ")
            || is_warning(trimmed)
        {
            return Line::Warning;
        }
        if trimmed.starts_with("scan: ") || is_progress(trimmed) {
            return Line::Ignored;
        }
        summary_line(trimmed).unwrap_or(Line::Other)
    }
}

/// restic's warnings without a `Warning:` word.
fn is_warning(text: &str) -> bool {
    // `/x does not exist, skipping`, `/x cannot be accessed, skipping`,
    // `pattern "x" does not match any files, skipping`.
    (text.ends_with(", skipping")
        && (text.contains(" does not exist")
            || text.contains(" cannot be accessed")
            || text.starts_with("pattern ")))
        // `Load(<data/1234abcd>, 0, 0) returned error, retrying after 1.2s: ...`
        || text.contains(" returned error, retrying after ")
        || text.starts_with("unable to open cache: ")
        // `signal interrupt received, cleaning up`
        || (text.starts_with("signal ") && text.contains(" received, cleaning up"))
}

/// `[0:05] 12.34%  120 files ...`: a progress line.
fn is_progress(text: &str) -> bool {
    let Some((inside, _)) = text.strip_prefix('[').and_then(|r| r.split_once(']')) else {
        return false;
    };
    inside.contains(':') && inside.chars().all(|c| c.is_ascii_digit() || c == ':')
}

/// The lines of the backup summary.
fn summary_line(text: &str) -> Option<Line<'_>> {
    if let Some(id) = text
        .strip_prefix("snapshot ")
        .and_then(|r| r.strip_suffix(" saved"))
    {
        return is_hex(id).then_some(Line::Snapshot(id));
    }
    if let Some(rest) = text.strip_prefix("Files:") {
        let (mut new, mut changed, mut unmodified) = (None, None, None);
        for part in rest.split(',') {
            let (count, what) = part.trim().split_once(' ')?;
            let count = count.parse().ok()?;
            match what.trim() {
                "new" => new = Some(count),
                "changed" => changed = Some(count),
                "unmodified" => unmodified = Some(count),
                _ => return None,
            }
        }
        return Some(Line::Files {
            new: new?,
            changed: changed?,
            unmodified: unmodified?,
        });
    }
    // "Added to the repo:" before restic 0.14; "Would add ..." for a dry
    // run is not read: nothing was added.
    if let Some(rest) = text
        .strip_prefix("Added to the repository:")
        .or_else(|| text.strip_prefix("Added to the repo:"))
    {
        let first = rest.split_once('(').map_or(rest, |(first, _)| first);
        return parse_size(first).map(Line::Added);
    }
    if let Some(rest) = text.strip_prefix("processed ") {
        let (files, rest) = rest.split_once(" files, ")?;
        let (size, _duration) = rest.rsplit_once(" in ")?;
        return Some(Line::Processed {
            files: files.trim().parse().ok()?,
            bytes: parse_size(size)?,
        });
    }
    None
}

fn read_summary(line: Line<'_>, found: &mut Findings) {
    match line {
        Line::Snapshot(id) => {
            if let Some(id) = short_id(id) {
                found.set(keys::SNAPSHOT_ID, id);
            }
        }
        Line::Files {
            new,
            changed,
            unmodified,
        } => {
            found.set_number(keys::FILES_NEW, new);
            found.set_number(keys::FILES_CHANGED, changed);
            found.set_number(keys::FILES_UNMODIFIED, unmodified);
        }
        Line::Added(bytes) => found.set_number(keys::DATA_ADDED, bytes),
        Line::Processed { files, bytes } => {
            found.files_copied = Some(files);
            found.bytes_copied = Some(bytes);
            found.set_number(keys::FILES_PROCESSED, files);
            found.set_number(keys::DATA_PROCESSED, bytes);
        }
        _ => {}
    }
}

fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A snapshot ID as restic shows it: its first 8 hex digits.
fn short_id(id: &str) -> Option<&str> {
    let id = id.trim();
    is_hex(id).then(|| &id[..id.len().min(8)])
}

/// `3.098 MiB`, `729 B` in bytes (restic prints binary units with three
/// decimals), rounded.
fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = text.trim().split_once(' ')?;
    let scale: f64 = match unit.trim() {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "PiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let plain = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().any(|b| b.is_ascii_digit());
    if !plain {
        return None;
    }
    let bytes = (number.parse::<f64>().ok()? * scale).round();
    // `as` saturates; a figure beyond u64 is not a size restic printed.
    (bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// One `--json` message of `backup`, the fields of every kind the reader
/// uses (restic 0.14 to current). Missing fields are `None`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Message {
    message_type: String,
    // `error`: `error` is `{"message": ...}` from 0.17.1, before that the
    // Go error value marshalled as is (`{}` for most).
    error: Option<Value>,
    during: Option<String>,
    item: Option<String>,
    // `summary`.
    files_new: Option<u64>,
    files_changed: Option<u64>,
    files_unmodified: Option<u64>,
    data_added: Option<u64>,
    total_files_processed: Option<u64>,
    total_bytes_processed: Option<u64>,
    snapshot_id: Option<String>,
    dry_run: bool,
    // `exit_error` (0.18 on).
    code: Option<i64>,
    message: Option<String>,
}

/// A `--json` line: a message, a skipped status, or a broken error message
/// (cut as too long) kept as an error as it is; `None` when it is no
/// restic message.
fn json_line(text: &str) -> Option<Line<'static>> {
    // Status lines come ten times a second: not parsed.
    if text.starts_with(r#"{"message_type":"status""#)
        || text.starts_with(r#"{"message_type":"verbose_status""#)
    {
        return Some(Line::Ignored);
    }
    match serde_json::from_str::<Message>(text) {
        Ok(message) if !message.message_type.is_empty() => Some(Line::Json(Box::new(message))),
        Ok(_) => None,
        Err(_) if text.contains(r#""message_type":"error""#) => Some(Line::Error),
        Err(_) if text.contains(r#""message_type":"exit_error""#) => Some(Line::Fatal),
        Err(_) => None,
    }
}

/// An `error` message as a line like restic's text output prints it:
/// `error: open /x/private.key: permission denied`.
fn error_line(message: &Message) -> String {
    if let Some(detail) = message.error.as_ref().and_then(describe_error) {
        return format!("error: {detail}");
    }
    let item = message.item.as_deref().unwrap_or_default().trim();
    let during = match message.during.as_deref().map(str::trim) {
        Some(during) if !during.is_empty() => format!(" during {during}"),
        _ => String::new(),
    };
    if item.is_empty() {
        format!("error{during} (restic printed no details)")
    } else {
        format!("error: {item}: failed{during} (restic printed no details)")
    }
}

/// The text of a Go error as restic's JSON carries it: a string,
/// `{"message": ...}`, or an `os.PathError` / `os.SyscallError` marshalled
/// field by field (`{"Op":"open","Path":"/x","Err":13}`).
fn describe_error(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Object(map) => {
            if let Some(Value::String(m)) = map.get("message") {
                if !m.trim().is_empty() {
                    return Some(m.trim().to_owned());
                }
            }
            let text = |key: &str| {
                map.get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            let cause = map.get("Err").and_then(describe_cause);
            let head = match (text("Op"), text("Path"), text("Syscall")) {
                (Some(op), Some(path), _) => format!("{op} {path}"),
                (_, _, Some(call)) => call.to_owned(),
                _ => return cause,
            };
            Some(match cause {
                Some(cause) => format!("{head}: {cause}"),
                None => head,
            })
        }
        _ => None,
    }
}

/// The cause inside a marshalled Go error: an errno number, or an error.
fn describe_cause(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => n.as_u64().map(errno),
        other => describe_error(other),
    }
}

/// The common errno values, as Linux and macOS number them and Go prints
/// them.
fn errno(n: u64) -> String {
    match n {
        1 => "operation not permitted".to_owned(),
        2 => "no such file or directory".to_owned(),
        5 => "input/output error".to_owned(),
        13 => "permission denied".to_owned(),
        20 => "not a directory".to_owned(),
        21 => "is a directory".to_owned(),
        n => format!("errno {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolChoice;

    /// Reads `output` (lines starting `2> ` are stderr) as the output of
    /// `argv` and compares what was found, one `name: value` line each,
    /// with `expect` (indentation ignored).
    #[track_caller]
    fn check(argv: &str, output: &str, expect: &str) {
        let argv: Vec<&str> = argv.split_whitespace().collect();
        let invocation = Invocation::parse(&argv, ToolChoice::Auto);
        let lookup = |name: &str| invocation.env(name).map(str::to_owned);
        let mut found = Findings::default();
        let mut reader = reader(&invocation, &lookup, &mut found);
        for line in output.lines() {
            let line = line.trim_start();
            match line.strip_prefix("2>") {
                Some(err) => reader.line(
                    Stream::Stderr,
                    err.strip_prefix(' ').unwrap_or(err),
                    &mut found,
                ),
                None => reader.line(Stream::Stdout, line, &mut found),
            }
        }
        reader.finish(&mut found);
        let want: Vec<&str> = expect
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(render(&found), want.join("\n"), "{argv:?}\n{output}");
    }

    fn render(found: &Findings) -> String {
        let mut out = Vec::new();
        let mut put = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                out.push(format!("{name}: {value}"));
            }
        };
        put("source", found.source.clone());
        put("destination", found.destination.clone());
        put("files", found.files_copied.map(|n| n.to_string()));
        put("bytes", found.bytes_copied.map(|n| n.to_string()));
        for key in keys::ALL {
            put(key, found.value(key).map(str::to_owned));
        }
        for line in found.errors() {
            put("error", Some(line.clone()));
        }
        if found.error_count() != found.errors().len() as u64 {
            put("error count", Some(found.error_count().to_string()));
        }
        for line in found.warnings() {
            put("warning", Some(line.clone()));
        }
        if found.warning_count() != found.warnings().len() as u64 {
            put("warning count", Some(found.warning_count().to_string()));
        }
        out.join("\n")
    }

    #[test]
    fn command_lines() {
        check(
            "restic -r /srv/repo backup /home",
            "",
            "source: /home\ndestination: /srv/repo",
        );
        check(
            "restic backup --repo=/srv/repo /home /etc",
            "",
            "source: /home, /etc\ndestination: /srv/repo",
        );
        check(
            "restic --repository /r -p /pw --cache-dir /c backup -o s3.x=1 /data",
            "",
            "source: /data\ndestination: /r",
        );
        check(
            "restic -qv --json -rsftp:u@h:/r backup --exclude /data/tmp /data",
            "",
            "source: /data\ndestination: sftp:u@h:/r",
        );
        check(
            "restic -vr=/r backup -e x -H host /a",
            "",
            "source: /a\ndestination: /r",
        );
        check(
            "restic --verbose backup --tag daily,db --host h --exclude-file /ex /srv",
            "",
            "source: /srv",
        );
        // `--verbose` takes no value word.
        check("restic backup --verbose 2 /srv", "", "source: 2, /srv");
        check(
            "restic backup --files-from /etc/list /extra --files-from-raw /l2",
            "",
            "source: files listed in /etc/list, /extra, files listed in /l2",
        );
        check("restic backup -- -odd /x", "", "source: -odd, /x");
        check(
            "restic backup --stdin --stdin-filename db.sql",
            "",
            "source: stdin (as db.sql)",
        );
        check("restic backup --stdin", "", "source: stdin");
        check(
            "restic backup --stdin-from-command -- pg_dump -Fc db",
            "",
            "source: output of \"pg_dump -Fc db\"",
        );
        check(
            "restic --repository-file /etc/restic/repo backup /x",
            "",
            "source: /x\ndestination: repository named in /etc/restic/repo",
        );
        check(
            "env RESTIC_REPOSITORY=s3:s3.amazonaws.com/bucket restic backup /x",
            "",
            "source: /x\ndestination: s3:s3.amazonaws.com/bucket",
        );
        check(
            "env RESTIC_REPOSITORY_FILE=/etc/r restic backup /x",
            "",
            "source: /x\ndestination: repository named in /etc/r",
        );
        check(
            "env RESTIC_REPOSITORY=/env restic -r /flag backup /x",
            "",
            "source: /x\ndestination: /flag",
        );
        check(
            "sudo -u backup restic -r rest:https://u:secret@host:8000/repo/ backup /x",
            "",
            "source: /x\ndestination: rest:https://u:***@host:8000/repo/",
        );
        check("restic -r /r backup", "", "destination: /r");
        // Other commands: no source or destination.
        check("restic -r /r forget --keep-last 7 --prune", "", "");
        check("restic -r /r check", "", "");
        check("restic", "", "");
        check("restic -r", "", "");
        check("restic backup -r", "", "");
    }

    #[test]
    fn text_output() {
        let ok = "
            no parent snapshot found, will read all files

            Files:          22 new,     0 changed,     0 unmodified
            Dirs:            3 new,     0 changed,     0 unmodified
            Added to the repository: 3.107 MiB (3.110 MiB stored)

            processed 22 files, 3.098 MiB in 0:00
            snapshot 5d2a4f3c saved
        ";
        check(
            "restic -r /r backup /d",
            ok,
            "
            source: /d
            destination: /r
            files: 22
            bytes: 3248488
            snapshot_id: 5d2a4f3c
            files_new: 22
            files_changed: 0
            files_unmodified: 0
            files_processed: 22
            data_processed: 3248488
            data_added: 3257926
            ",
        );
        // A summary of another command is not a backup's.
        check(
            "restic -r /r copy --from-repo /o",
            "snapshot 5d2a4f3c saved\nFiles: 1 new, 0 removed, 0 changed",
            "",
        );
        check(
            "restic backup /d",
            "
            Added to the repo: 729 B
            processed 1 files, 3 B in 1:02:03
            Would add to the repository: 1.000 KiB (1.000 KiB stored)
            Files: 1 new, x changed, 0 unmodified
            snapshot nothex00 saved
            ",
            "
            source: /d
            files: 1
            bytes: 3
            files_processed: 1
            data_processed: 3
            data_added: 729
            ",
        );
        check(
            "restic backup /d",
            "processed 2 files, 1.500 TiB in 10:00:00\nAdded to the repository: 0 B   (0 B   stored)",
            "
            source: /d
            files: 2
            bytes: 1649267441664
            files_processed: 2
            data_processed: 1649267441664
            data_added: 0
            ",
        );
    }

    #[test]
    fn text_errors_and_warnings() {
        check(
            "restic backup /d",
            "
            2> error: Open: open /d/closed: permission denied
            2> error: open /d/private.key: permission denied
            2> Warning: at least one source file could not be read
            2> /missing does not exist, skipping
            2> pattern \"/x*\" does not match any files, skipping
            2> Load(<data/1234abcd>, 0, 0) returned error, retrying after 552ms: EOF
            2> unable to open cache: mkdir /c: permission denied
            2> signal interrupt received, cleaning up
            ",
            "
            source: /d
            error: error: Open: open /d/closed: permission denied
            error: error: open /d/private.key: permission denied
            warning: Warning: at least one source file could not be read
            warning: /missing does not exist, skipping
            warning: pattern \"/x*\" does not match any files, skipping
            warning: Load(<data/1234abcd>, 0, 0) returned error, retrying after 552ms: EOF
            warning: unable to open cache: mkdir /c: permission denied
            warning: signal interrupt received, cleaning up
            ",
        );
        // Progress and scan lines are not read; a file name is not an
        // error; generic rules for the rest.
        check(
            "restic -v backup /d",
            "
            [0:01] 12.34%  3 files 1.000 MiB, total 9 files 8.000 MiB, 1 errors ETA 0:07
            [0:02] 4 files, 2.000 MiB, 1 errors
            /d/error: x
            scan: open /d/closed: permission denied
            new       /d/error.log, saved in 0.001s (10 B added)
            2> ERROR something else
            ",
            "
            source: /d
            error: ERROR something else
            ",
        );
    }

    #[test]
    fn other_commands() {
        check(
            "restic -r /r forget --keep-last 1 --prune",
            "
            Applying Policy: keep 1 latest snapshots
            [0:00] 100.00%  2 / 2 files deleted
            2> error: removing snapshot 56f2d379 failed: permission denied
            to repack:             0 blobs / 0 B
            warning: running prune without a cache, this may be very slow!
            ",
            "
            error: error: removing snapshot 56f2d379 failed: permission denied
            warning: warning: running prune without a cache, this may be very slow!
            ",
        );
        check(
            "restic -r /r check",
            "
            2> error for tree 4645312b:
            2>   tree 4645312b: file \"x\" blob 0 size could not be found
            2> Fatal: repository contains errors
            ",
            "
            error: error for tree 4645312b:
            error: Fatal: repository contains errors
            ",
        );
    }

    #[test]
    fn fatal_lines_take_their_continuation() {
        check(
            "restic -r /nonexistent backup /d",
            "
            2> Fatal: unable to open config file: stat /nonexistent/config: no such file or directory
            2> Is there a repository at the following location?
            2> /nonexistent
            ",
            "
            source: /d
            destination: /nonexistent
            error: Fatal: unable to open config file: stat /nonexistent/config: no such file or directory; Is there a repository at the following location? /nonexistent
            ",
        );
        check(
            "restic -r /r prune",
            "
            2> unable to create lock in backend: repository is already locked by PID 20624 on vm by root (UID 0, GID 0)
            2> lock was created at 2026-12-04 16:31:07 (2.040158838s ago)
            2> storage ID 7a3c7a29
            2> the `unlock` command can be used to remove stale locks
            ",
            "
            error: unable to create lock in backend: repository is already locked by PID 20624 on vm by root (UID 0, GID 0); lock was created at 2026-12-04 16:31:07 (2.040158838s ago); storage ID 7a3c7a29; the `unlock` command can be used to remove stale locks
            ",
        );
        // A stdout line does not end it; a recognised or blank line does.
        check(
            "restic check",
            "
            2> Fatal: a
            out
            2> b
            2> error: c
            2> Fatal: d
            2>
            2> e
            ",
            "
            error: Fatal: a; b
            error: error: c
            error: Fatal: d
            ",
        );
        // Bounded.
        let many: String = (0..20).map(|i| format!("2> line {i}\n")).collect();
        let mut expect = String::from("error: Fatal: x");
        for i in 0..MAX_CONTINUATION {
            expect.push_str(&format!("; line {i}"));
        }
        check("restic backup", &format!("2> Fatal: x\n{many}"), &expect);
        let long = "y".repeat(MAX_LINE);
        check(
            "restic backup",
            &format!("2> Fatal: x\n2> {long}\n2> warning: w"),
            "error: Fatal: x\nwarning: warning: w",
        );
    }

    #[test]
    fn json_output() {
        // restic 0.14: short snapshot ID, errors as Go values.
        check(
            "restic -r /r backup --json /d",
            r#"
            {"message_type":"status","percent_done":0,"error_count":1}
            {"message_type":"verbose_status","action":"new","item":"/d/a","duration":0,"data_size":3,"data_size_in_repo":0,"metadata_size":0,"metadata_size_in_repo":0,"total_files":0}
            {"message_type":"summary","files_new":1,"files_changed":2,"files_unmodified":3,"dirs_new":0,"dirs_changed":0,"dirs_unmodified":1,"data_blobs":0,"tree_blobs":0,"data_added":729,"total_files_processed":6,"total_bytes_processed":3000003,"total_duration":0.2,"snapshot_id":"804495f6"}
            2> {"message_type":"error","error":{},"during":"archival","item":"d/closed"}
            2> {"message_type":"error","error":{},"during":"scan","item":"/d/closed"}
            2> {"message_type":"error","error":{"Op":"open","Path":"d/private.key","Err":13},"during":"archival","item":"/d/private.key"}
            2> {"message_type":"error","error":{"Op":"lstat","Path":"/d/x","Err":{"Syscall":"fstatat","Err":99}},"during":"archival","item":"/d/x"}
            2> {"message_type":"error","error":{"Op":"read","Path":"/d/y"},"during":"archival","item":"/d/y"}
            2> {"message_type":"error","error":"plain text","item":"/d/z"}
            2> {"message_type":"error"}
            2> Warning: at least one source file could not be read
            "#,
            "
            source: /d
            destination: /r
            files: 6
            bytes: 3000003
            snapshot_id: 804495f6
            files_new: 1
            files_changed: 2
            files_unmodified: 3
            files_processed: 6
            data_processed: 3000003
            data_added: 729
            error: error: d/closed: failed during archival (restic printed no details)
            error: error: open d/private.key: permission denied
            error: error: lstat /d/x: fstatat: errno 99
            error: error: read /d/y
            error: error: plain text
            error: error (restic printed no details)
            warning: Warning: at least one source file could not be read
            ",
        );
        // restic 0.17.1 on: error messages; full snapshot IDs; 0.18 exit
        // errors.
        check(
            "restic backup --json /d",
            r#"
            {"message_type":"summary","files_new":0,"files_changed":0,"files_unmodified":0,"data_added":0,"total_files_processed":0,"total_bytes_processed":0,"snapshot_id":"5d2a4f3c0b7a9e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d","dry_run":false}
            2> {"message_type":"error","error":{"message":"open /d/private.key: permission denied"},"during":"archival","item":"/d/private.key"}
            2> {"message_type":"exit_error","code":3,"message":"Warning: at least one source file could not be read"}
            "#,
            "
            source: /d
            files: 0
            bytes: 0
            snapshot_id: 5d2a4f3c
            files_new: 0
            files_changed: 0
            files_unmodified: 0
            files_processed: 0
            data_processed: 0
            data_added: 0
            error: error: open /d/private.key: permission denied
            warning: Warning: at least one source file could not be read
            ",
        );
        check(
            "restic -r /m backup --json /d",
            r#"
            2> {"message_type":"exit_error","code":10,"message":"Fatal: repository does not exist: unable to open config file: stat /m/config: no such file or directory\nIs there a repository at the following location?\n/m"}
            2> {"message_type":"exit_error","code":130,"message":"context canceled"}
            2> {"message_type":"exit_error","code":1}
            "#,
            "
            source: /d
            destination: /m
            error: Fatal: repository does not exist: unable to open config file: stat /m/config: no such file or directory; Is there a repository at the following location? /m
            error: Fatal: restic exited with an error
            ",
        );
        // A dry run adds nothing; a skipped snapshot has no ID; a cut or
        // foreign JSON line.
        check(
            "restic backup --json --dry-run /d",
            r#"
            {"message_type":"summary","files_new":1,"data_added":10,"total_files_processed":1,"total_bytes_processed":5,"dry_run":true}
            2> {"message_type":"error","error":{"message":"open /d/very-long [… 100 bytes cut]
            {"message_type":"summary","total_files_processed":-1}
            {"other":1}
            {not json
            [{"id":"x"}]
            "#,
            r#"
            source: /d
            files: 1
            bytes: 5
            files_new: 1
            files_processed: 1
            data_processed: 5
            error: {"message_type":"error","error":{"message":"open /d/very-long [… 100 bytes cut]
            "#,
        );
        // The summary of `restore --json` is not a backup's.
        check(
            "restic restore --json latest --target /t",
            r#"{"message_type":"summary","total_files":3,"files_restored":3,"total_bytes":10,"bytes_restored":10}"#,
            "",
        );
    }

    #[test]
    fn sizes() {
        let cases: &[(&str, Option<u64>)] = &[
            ("0 B", Some(0)),
            ("729 B", Some(729)),
            ("1.000 KiB", Some(1024)),
            ("3.098 MiB", Some(3_248_488)),
            ("2.862 MiB  ", Some(3_001_025)),
            ("1.000 GiB", Some(1 << 30)),
            ("1.000 PiB", Some(1 << 50)),
            ("1 MB", None),
            ("inf MiB", None),
            ("NaN B", None),
            ("-1 B", None),
            ("1e3 B", None),
            (". B", None),
            ("99999999999999999999999 TiB", None),
            ("", None),
            ("12", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_size(text), want, "{text:?}");
        }
    }

    #[test]
    fn passwords_are_hidden() {
        let cases = [
            ("rest:https://u:p@h/", "rest:https://u:***@h/"),
            ("rest:https://u:p@h", "rest:https://u:***@h"),
            ("rest:https://u@h/", "rest:https://u@h/"),
            ("rest:https://h/a:b@c", "rest:https://h/a:b@c"),
            ("s3:https://k:s:x@h/b", "s3:https://k:***@h/b"),
            ("/srv/repo", "/srv/repo"),
            ("sftp:user@host:/srv", "sftp:user@host:/srv"),
            ("://:@", "://:***@"),
        ];
        for (repo, want) in cases {
            assert_eq!(hide_password(repo), want, "{repo}");
        }
    }

    #[test]
    fn any_input_is_read_without_panic() {
        let inputs = [
            "",
            "{",
            "}",
            "[",
            "[:]",
            "[0:]",
            "Files:",
            "Files: ,",
            "Files: 1",
            "processed ",
            "processed  files,  in ",
            "snapshot  saved",
            "Added to the repository:",
            "Added to the repository: (",
            "\u{e9}\u{e9}",
            "{\"message_type\":\"error\",\"error\":[1]}",
            "{\"message_type\":\"error\",\"error\":{\"Err\":-1}}",
            "{\"message_type\":\"summary\",\"snapshot_id\":\"\u{e9}\"}",
        ];
        for argv in [
            "restic backup",
            "restic -r",
            "restic --",
            "restic -\u{e9}r x backup",
        ] {
            for input in inputs {
                for prefix in ["", "2> ", "2> Fatal: x\n2> "] {
                    let invocation =
                        Invocation::parse(&argv.split(' ').collect::<Vec<_>>(), ToolChoice::Auto);
                    let mut found = Findings::default();
                    let mut r = reader(&invocation, &|_| None, &mut found);
                    for line in format!("{prefix}{input}").lines() {
                        r.line(Stream::Stderr, line, &mut found);
                        r.line(Stream::Stdout, line, &mut found);
                    }
                    r.finish(&mut found);
                }
            }
        }
    }
}
