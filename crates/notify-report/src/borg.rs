//! The BorgBackup reader.
//!
//! The command line gives the source and destination of `borg create`: the
//! repository (`REPO::ARCHIVE` in borg 1, `--repo`/`-r REPO` or
//! `BORG_REPO` with a bare `ARCHIVE` in borg 2, `::ARCHIVE` with
//! `BORG_REPO`), the archive name as written, and the paths. The output then
//! says what happened, in any of borg's three forms:
//!
//! - text on stderr: the `--stats` block (`Archive name:`, `Number of
//!   files:`, the `This archive:` row of original, compressed and
//!   deduplicated sizes in borg's units), warnings about files
//!   (`PATH: open: [Errno 13] Permission denied: 'NAME'`,
//!   `PATH: file changed while we backed it up`), borg's error messages
//!   (`Repository /x does not exist.`, `Failed to create/acquire the lock
//!   ...`), and Python tracebacks, of which the exception line counts;
//! - `--json`: one pretty-printed JSON document on stdout at the end, with
//!   `archive.name`, `archive.stats` and `repository.location`;
//! - `--log-json`: one JSON object per stderr line, whose `levelname` says
//!   whether a `log_message` is an error or a warning.
//!
//! A question borg answered from its environment
//! (`BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes`) is no warning; one
//! that was declined is. Lines whose meaning is unclear go to
//! [`generic::classify`].

use serde::Deserialize;
use serde_json::Value;

use crate::{generic, keys, EnvLookup, Findings, Invocation, Reader, Stream};

/// The most bytes of a `--json` document gathered from stdout; a larger one
/// is skipped. (borg's is a few kilobytes, more only with thousands of
/// paths on its command line, which it repeats.)
const MAX_JSON: usize = 512 * 1024;

/// Long options of borg 1.2, 1.4 and 2 that take a value (as the next word
/// unless written `--option=value`). Every other option is a flag.
const LONG_VALUES: &[&str] = &[
    "--checkpoint-interval",
    "--checkpoint-volume",
    "--chunker-params",
    "--comment",
    "--compression",
    "--debug-profile",
    "--debug-topic",
    "--digests",
    "--encryption",
    "--exclude",
    "--exclude-from",
    "--exclude-if-present",
    "--files-cache",
    "--files-changed",
    "--filter",
    "--first",
    "--format",
    "--glob-archives",
    "--hostname",
    "--import-related-secrets",
    "--last",
    "--lock-wait",
    "--map",
    "--match-archives",
    "--max-duration",
    "--newer",
    "--newest",
    "--offset",
    "--older",
    "--oldest",
    "--other-repo",
    "--paths-delimiter",
    "--pattern",
    "--patterns-from",
    "--prefix",
    "--read-special-timeout",
    "--recompress",
    "--remote-buffer",
    "--remote-path",
    "--remote-ratelimit",
    "--repo",
    "--restrict-to-path",
    "--restrict-to-repository",
    "--reuse-from",
    "--reuse-path",
    "--rsh",
    "--segment",
    "--sort-by",
    "--stdin-group",
    "--stdin-mode",
    "--stdin-name",
    "--stdin-user",
    "--storage-quota",
    "--strip-components",
    "--tags",
    "--tar-filter",
    "--target",
    "--threshold",
    "--timestamp",
    "--umask",
    "--upload-buffer",
    "--upload-ratelimit",
    "--username",
];

/// Short options of `borg create` that take a value: `-e PATTERN`
/// (exclude), `-c SECONDS` (checkpoint interval), `-C COMPRESSION`, and
/// borg 2's `-r REPO` and `-a PATTERN`.
const CREATE_SHORT_VALUES: &str = "ecCra";

/// Short options before the subcommand that take a value (borg 2's
/// `-r REPO`).
const COMMON_SHORT_VALUES: &str = "r";

/// The command line as borg reads it: the subcommand, its positional words
/// and the few options the reader needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CommandLine {
    /// `create`, `prune`, ...: the first positional word.
    subcommand: Option<String>,
    /// The positional words after the subcommand.
    positionals: Vec<String>,
    /// borg 2's `--repo`/`-r`.
    repo: Option<String>,
    /// `--list`: text lines `A path` are file statuses.
    list: bool,
    /// `--json`: stdout ends with a JSON document.
    json: bool,
    /// `--paths-from-command` or `--content-from-command`: the positional
    /// words after the archive are a command, not paths.
    from_command: bool,
}

impl CommandLine {
    fn parse(args: &[String]) -> CommandLine {
        let mut line = CommandLine::default();
        let mut words = args.iter();
        let mut options_end = false;
        while let Some(word) = words.next() {
            if options_end || word == "-" || !word.starts_with('-') {
                if line.subcommand.is_none() {
                    line.subcommand = Some(word.clone());
                } else {
                    line.positionals.push(word.clone());
                }
                continue;
            }
            if word == "--" {
                options_end = true;
                continue;
            }
            if let Some(long) = word.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (long, None),
                };
                let takes_value = LONG_VALUES
                    .iter()
                    .any(|o| o.strip_prefix("--") == Some(name));
                let value = match inline {
                    Some(v) => Some(v.to_owned()),
                    None if takes_value => words.next().cloned(),
                    None => None,
                };
                match name {
                    "repo" => line.repo = value,
                    "list" => line.list = true,
                    "json" => line.json = true,
                    "paths-from-command" | "content-from-command" => line.from_command = true,
                    _ => {}
                }
                continue;
            }
            // Short options, perhaps bundled (`-sv`, `-Clz4`, `-e '*.tmp'`):
            // the first value-taking letter takes the rest of the word, or
            // else the next word.
            let values = if line.subcommand.is_some() {
                CREATE_SHORT_VALUES
            } else {
                COMMON_SHORT_VALUES
            };
            let letters = &word[1..];
            for (i, letter) in letters.char_indices() {
                if values.contains(letter) {
                    let rest = &letters[i + letter.len_utf8()..];
                    let value = if rest.is_empty() {
                        words.next().cloned()
                    } else {
                        Some(rest.to_owned())
                    };
                    if letter == 'r' {
                        line.repo = value;
                    }
                    break;
                }
            }
        }
        line
    }

    fn is_create(&self) -> bool {
        self.subcommand.as_deref() == Some("create")
    }

    /// Whether the subcommand shows archives that exist (`info`, `list`,
    /// `diff`, borg 2's `repo-info`, ...): their statistics are not this
    /// run's.
    fn describes_archives(&self) -> bool {
        matches!(
            self.subcommand.as_deref(),
            Some("info" | "list" | "diff" | "rinfo" | "rlist" | "repo-info" | "repo-list")
        )
    }
}

/// Splits a borg 1 location `REPO::ARCHIVE` at its `::` (after any `[...]`
/// IPv6 host, whose `::` belongs to the address).
fn split_location(location: &str) -> Option<(&str, &str)> {
    let from = match (location.find('['), location.find(']')) {
        (Some(open), Some(close)) if open < close => close + 1,
        _ => 0,
    };
    let at = location[from..].find("::")? + from;
    Some((&location[..at], &location[at + 2..]))
}

/// The reader for one borg run: reads the command line now (source,
/// destination and archive of `borg create`).
pub(crate) fn reader(
    invocation: &Invocation,
    env: EnvLookup<'_>,
    found: &mut Findings,
) -> Box<dyn Reader> {
    let line = CommandLine::parse(invocation.args());
    if line.is_create() {
        let env_repo = || env("BORG_REPO").filter(|r| !r.is_empty());
        if let Some((first, rest)) = line.positionals.split_first() {
            let (repo, archive) = match split_location(first) {
                Some((repo, archive)) => (
                    Some(repo.to_owned())
                        .filter(|r| !r.is_empty())
                        .or_else(env_repo),
                    archive,
                ),
                None => (line.repo.clone().or_else(env_repo), first.as_str()),
            };
            found.destination = repo;
            if !archive.is_empty() {
                found.set(keys::ARCHIVE, archive);
            }
            if !rest.is_empty() {
                found.source = Some(if line.from_command {
                    rest.join(" ")
                } else {
                    rest.join(", ")
                });
            }
        } else {
            found.destination = line.repo.clone().or_else(env_repo);
        }
    }
    Box::new(Borg {
        list: line.list,
        stats: !line.describes_archives(),
        document: if line.json {
            Document::Idle
        } else {
            Document::Off
        },
        traceback: Traceback::default(),
        sysinfo: false,
        question: None,
    })
}

/// The `--json` document on stdout, gathered line by line.
#[derive(Debug)]
enum Document {
    /// No `--json`: stdout is text.
    Off,
    /// Waiting for the document's first line, `{`.
    Idle,
    /// The lines so far.
    Gathering(String),
    /// Too large: its lines are passed over up to its last, `}`.
    Skipping,
}

impl Document {
    /// Takes `line` when it belongs to the document; a complete document is
    /// read into `found`.
    fn take(&mut self, line: &str, found: &mut Findings) -> bool {
        let line = line.trim_end();
        match self {
            Document::Off => false,
            Document::Idle => {
                if line != "{" {
                    return false;
                }
                *self = Document::Gathering(String::from("{\n"));
                true
            }
            Document::Gathering(text) => {
                let needed = text.len() + line.len() + 1;
                if needed > MAX_JSON {
                    *self = Document::Skipping;
                    return self.take(line, found);
                }
                if needed > text.capacity() {
                    // Grow by doubling, but never past the limit.
                    let capacity = (text.capacity() * 2).clamp(needed, MAX_JSON);
                    text.reserve_exact(capacity - text.len());
                }
                text.push_str(line);
                text.push('\n');
                if line == "}" {
                    // The document's last line: `}` alone, as borg indents.
                    if let Ok(doc) = serde_json::from_str::<CreateDocument>(text) {
                        doc.read(found);
                    }
                    *self = Document::Idle;
                }
                true
            }
            Document::Skipping => {
                if line == "}" {
                    *self = Document::Idle;
                }
                true
            }
        }
    }
}

/// What the reader takes of a `borg create --json` document: the archive's
/// real name, its statistics, and the repository. The rest of the document
/// is passed over without being kept.
#[derive(Debug, Default, Deserialize)]
struct CreateDocument {
    archive: Option<ArchiveDocument>,
    repository: Option<RepositoryDocument>,
}

/// `archive` of a `borg create --json` document.
#[derive(Debug, Default, Deserialize)]
struct ArchiveDocument {
    name: Option<String>,
    stats: Option<ArchiveStats>,
}

/// `archive.stats`: this archive's file count and sizes in bytes.
#[derive(Debug, Default, Deserialize)]
struct ArchiveStats {
    nfiles: Option<u64>,
    original_size: Option<u64>,
    compressed_size: Option<u64>,
    deduplicated_size: Option<u64>,
}

/// `repository` of a `borg --json` document.
#[derive(Debug, Default, Deserialize)]
struct RepositoryDocument {
    location: Option<String>,
}

impl CreateDocument {
    fn read(self, found: &mut Findings) {
        if let Some(archive) = self.archive {
            if let Some(name) = archive.name.filter(|n| !n.is_empty()) {
                found.set(keys::ARCHIVE, name);
            }
            let stats = archive.stats.unwrap_or_default();
            if let Some(n) = stats.nfiles {
                found.files_copied = Some(n);
                found.set_number(keys::FILES_PROCESSED, n);
            }
            if let Some(n) = stats.original_size {
                found.bytes_copied = Some(n);
                found.set_number(keys::DATA_PROCESSED, n);
            }
            if let Some(n) = stats.compressed_size {
                found.set_number(keys::DATA_COMPRESSED, n);
            }
            if let Some(n) = stats.deduplicated_size {
                found.set_number(keys::DATA_ADDED, n);
            }
        }
        let location = self.repository.and_then(|r| r.location);
        if found.destination.is_none() {
            found.destination = location.filter(|l| !l.is_empty());
        }
    }
}

/// Where a Python traceback is, line by line. Only its exception line, the
/// last of the traceback (of the last one, when exceptions are chained),
/// is an error.
#[derive(Debug, Default)]
enum Traceback {
    /// Not in a traceback.
    #[default]
    Outside,
    /// After `Exception ignored in: ...`: Python reports an exception it
    /// could not raise (in a destructor); the traceback that follows did
    /// not end the run.
    Ignored,
    /// After `Traceback (most recent call last):`: indented frame lines.
    Frames { ignored: bool },
    /// After the exception line: a chained traceback may follow.
    After { exception: String, ignored: bool },
}

/// What a line was to the traceback.
#[derive(Debug, PartialEq, Eq)]
enum TracebackLine {
    /// Not part of a traceback.
    Outside,
    /// Part of one.
    Inside,
    /// The traceback ended before this line, with this exception line; the
    /// line itself is not part of it.
    Ended(String),
}

const TRACEBACK: &str = "Traceback (most recent call last):";

impl Traceback {
    fn line(&mut self, line: &str) -> TracebackLine {
        let trimmed = line.trim_end();
        match self {
            Traceback::Outside | Traceback::Ignored if trimmed == TRACEBACK => {
                let ignored = matches!(self, Traceback::Ignored);
                *self = Traceback::Frames { ignored };
                TracebackLine::Inside
            }
            Traceback::Outside if trimmed.starts_with("Exception ignored in") => {
                *self = Traceback::Ignored;
                TracebackLine::Inside
            }
            Traceback::Outside | Traceback::Ignored => {
                *self = Traceback::Outside;
                TracebackLine::Outside
            }
            Traceback::Frames { ignored } => {
                if !trimmed.is_empty() && !trimmed.starts_with(char::is_whitespace) {
                    *self = Traceback::After {
                        exception: trimmed.to_owned(),
                        ignored: *ignored,
                    };
                }
                TracebackLine::Inside
            }
            Traceback::After { ignored, .. } => {
                if trimmed == TRACEBACK {
                    *self = Traceback::Frames { ignored: *ignored };
                    TracebackLine::Inside
                } else if trimmed.is_empty()
                    || trimmed.starts_with("During handling of the above exception")
                    || trimmed.starts_with("The above exception was the direct cause")
                {
                    TracebackLine::Inside
                } else {
                    match std::mem::take(self) {
                        Traceback::After {
                            exception,
                            ignored: false,
                        } => TracebackLine::Ended(exception),
                        _ => TracebackLine::Outside,
                    }
                }
            }
        }
    }

    /// The exception line of a traceback the output ended in.
    fn finish(&mut self) -> Option<String> {
        match std::mem::take(self) {
            Traceback::After {
                exception,
                ignored: false,
            } => Some(exception),
            _ => None,
        }
    }
}

/// The exception line of a traceback in a multi-line log message, if it
/// has one.
fn traceback_exception(message: &str) -> Option<String> {
    let mut traceback = Traceback::default();
    let mut last = None;
    for line in message.lines() {
        if let TracebackLine::Ended(exception) = traceback.line(line) {
            last = Some(exception);
        }
    }
    traceback.finish().or(last)
}

/// The lines of system information borg prints after a traceback.
fn is_sysinfo(line: &str) -> bool {
    const PREFIXES: [&str; 7] = [
        "Platform: ",
        "Linux: ",
        "Borg: ",
        "PID: ",
        "sys.argv: ",
        "SSH_ORIGINAL_COMMAND: ",
        "Borg server: ",
    ];
    PREFIXES.iter().any(|p| line.starts_with(p))
}

/// The reader's state between lines. Bounded: a `--json` document of at
/// most [`MAX_JSON`] bytes, one traceback line, one question.
struct Borg {
    /// `--list`: text lines `A path` are file statuses.
    list: bool,
    /// The statistics of an archive describe this run (not `borg info`).
    stats: bool,
    document: Document,
    traceback: Traceback,
    /// Right after a traceback: its system information lines follow.
    sysinfo: bool,
    /// A question borg asked (`Warning: Attempting to access a previously
    /// unknown unencrypted repository!`), until its answer says whether it
    /// was accepted.
    question: Option<String>,
}

impl Reader for Borg {
    fn line(&mut self, stream: Stream, line: &str, found: &mut Findings) {
        if stream == Stream::Stdout && self.document.take(line, found) {
            return;
        }
        if line.starts_with('{') && self.log_json(line, found) {
            return;
        }
        self.text(line, found);
    }

    fn finish(&mut self, found: &mut Findings) {
        if let Some(exception) = self.traceback.finish() {
            found.fatal(&exception);
        }
        self.unanswered(found);
    }
}

impl Borg {
    /// A question that was not accepted is a warning.
    fn unanswered(&mut self, found: &mut Findings) {
        if let Some(question) = self.question.take() {
            found.warning(&question);
        }
    }

    /// One `--log-json` line; whether it was one.
    fn log_json(&mut self, line: &str, found: &mut Findings) -> bool {
        let object = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return false,
            Err(_) => return self.cut_log_json(line, found),
        };
        let Some(kind) = object.get("type").and_then(Value::as_str) else {
            return false;
        };
        let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("");
        match kind {
            "log_message" => {
                self.unanswered(found);
                let level = object.get("levelname").and_then(Value::as_str);
                self.log_message(
                    level,
                    text("name"),
                    text("message"),
                    object.contains_key("msgid"),
                    found,
                );
            }
            "question_prompt" | "question_prompt_retry" => {
                self.unanswered(found);
                let first = text("message").lines().find(|l| !l.trim().is_empty());
                self.question = first.map(|l| l.trim().to_owned());
            }
            "question_env_answer" => {
                if accepted(text("message").split(" (from ").next().unwrap_or("")) {
                    self.question = None;
                } else {
                    self.unanswered(found);
                }
            }
            "question_accepted_true" => self.question = None,
            "question_accepted_false" | "question_accepted_default" | "question_invalid_answer" => {
                self.unanswered(found)
            }
            // file_status, archive_progress, progress_message,
            // progress_percent: progress, not findings.
            _ => {}
        }
        true
    }

    /// A `--log-json` line cut for its length (a long traceback): its level
    /// and the start of its message are read as far as they go.
    fn cut_log_json(&mut self, line: &str, found: &mut Findings) -> bool {
        if !line.starts_with("{\"type\": \"log_message\"") {
            return false;
        }
        // The cut marker ends the line, after the cut string.
        let (body, marker) = match line.rfind(" [… ") {
            Some(at) if line.ends_with(" bytes cut]") => line.split_at(at),
            _ => (line, ""),
        };
        let level = field(body, "levelname");
        let message = field(body, "message").unwrap_or_default() + marker;
        if level.is_none() && message.starts_with(TRACEBACK) {
            // A traceback whose level was cut off: the error it belongs to
            // was logged on its own line before it.
            return true;
        }
        self.log_message(level.as_deref(), "", &message, false, found);
        true
    }

    /// A `log_message` of `--log-json`, by its level.
    fn log_message(
        &mut self,
        level: Option<&str>,
        name: &str,
        message: &str,
        has_id: bool,
        found: &mut Findings,
    ) {
        if name == "borg.output.show-rc" {
            return;
        }
        match level {
            Some("ERROR" | "CRITICAL") => {
                // A traceback counts by its exception line; a message with
                // an ID is the one main() ended the run with.
                match traceback_exception(message) {
                    Some(exception) => found.fatal(&exception),
                    None => {
                        let text = notify_core::text::one_line(message, None);
                        match (text.is_empty(), has_id) {
                            (true, _) => {}
                            (false, true) => found.fatal(&text),
                            (false, false) => found.error(&text),
                        }
                    }
                }
            }
            Some("WARNING") => {
                let text = notify_core::text::one_line(message, None);
                if text.is_empty() {
                } else if is_unread(&text) {
                    found.error(&text);
                } else {
                    found.warning(&text);
                }
            }
            Some(_) => {
                if self.stats {
                    for line in message.lines() {
                        stats(line, found);
                    }
                }
            }
            None => {
                for line in message.lines() {
                    self.text(line, found);
                }
            }
        }
    }

    /// A text line (borg's logging without `--log-json`, or anything that
    /// is not JSON).
    fn text(&mut self, line: &str, found: &mut Findings) {
        match self.traceback.line(line) {
            TracebackLine::Inside => return,
            TracebackLine::Ended(exception) => {
                found.fatal(&exception);
                self.sysinfo = true;
            }
            TracebackLine::Outside => {}
        }
        let line = line.trim_end();
        if self.sysinfo {
            // System information ends with an empty line.
            self.sysinfo = is_sysinfo(line);
            if self.sysinfo || line.is_empty() {
                return;
            }
        }
        if line.trim().is_empty() {
            return;
        }
        if let Some(question) = self.question.take() {
            // `Do you want to continue? [yN] yes (from BORG_..._IS_OK)`
            if let Some((answer, _)) = line
                .rsplit_once(" (from BORG_")
                .filter(|(_, var)| var.ends_with(')'))
            {
                let word = answer.rsplit(' ').next().unwrap_or("");
                if !accepted(word) {
                    found.warning(&question);
                }
                return;
            }
            found.warning(&question);
        }
        if line.starts_with("Warning: ") && !line.contains(" (from ") {
            // Perhaps a question's first line: its answer follows.
            self.question = Some(line.to_owned());
            return;
        }
        if is_show_rc(line) || self.stats && stats(line, found) {
            return;
        }
        if self.list && is_file_status(line) {
            return;
        }
        let meaning = line.strip_prefix("Remote: ").unwrap_or(line);
        if is_error(meaning) {
            found.fatal(line);
        } else if is_unread(meaning) {
            found.error(line);
        } else if is_warning(meaning) {
            found.warning(line);
        } else {
            generic::classify(line, found);
        }
    }
}

/// The value of string field `key` in a JSON object's text, as far as the
/// text goes (it may be cut inside the value).
fn field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let rest = &json[start..];
    let mut end = rest.len();
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let raw = &rest[..end];
    // Cut inside an escape sequence: drop its start.
    (0..=raw.len().min(6)).find_map(|cut| {
        let raw = raw.get(..raw.len() - cut)?;
        serde_json::from_str::<String>(&format!("\"{raw}\"")).ok()
    })
}

/// Whether an answer to borg's question accepts it (borg's "truish"
/// answers).
fn accepted(answer: &str) -> bool {
    matches!(answer.trim(), "Yes" | "YES" | "yes" | "Y" | "y" | "1")
}

/// `--show-rc`'s last line: the exit code says it already.
fn is_show_rc(line: &str) -> bool {
    line.starts_with("terminating with ") && line.contains(" status, rc ")
}

/// A `--list` line: a status character and the path (`A src/file`).
fn is_file_status(line: &str) -> bool {
    const STATUSES: &str = "AMUECdbchsfix-?+";
    let mut chars = line.chars();
    matches!(
        (chars.next(), chars.next(), chars.next()),
        (Some(status), Some(' '), Some(_)) if STATUSES.contains(status)
    )
}

/// A `--stats` line: the archive's name, its number of files, its sizes,
/// the repository. Whether it was one.
fn stats(line: &str, found: &mut Findings) -> bool {
    if let Some(name) = line.strip_prefix("Archive name: ") {
        let name = name.trim();
        if !name.is_empty() {
            found.set(keys::ARCHIVE, name);
        }
        return true;
    }
    if let Some(count) = line.strip_prefix("Number of files: ") {
        if let Ok(n) = count.trim().parse::<u64>() {
            found.files_copied = Some(n);
            found.set_number(keys::FILES_PROCESSED, n);
        }
        return true;
    }
    if let Some(row) = line.strip_prefix("This archive:") {
        let words: Vec<&str> = row.split_whitespace().collect();
        if let [o, ou, c, cu, d, du] = words[..] {
            if let (Some(o), Some(c), Some(d)) = (size(o, ou), size(c, cu), size(d, du)) {
                found.bytes_copied = Some(o);
                found.set_number(keys::DATA_PROCESSED, o);
                found.set_number(keys::DATA_COMPRESSED, c);
                found.set_number(keys::DATA_ADDED, d);
            }
        }
        return true;
    }
    if let Some(location) = line.strip_prefix("Repository: ") {
        let location = location.trim();
        if found.destination.is_none() && !location.is_empty() {
            found.destination = Some(location.to_owned());
        }
        return true;
    }
    false
}

/// A size as borg prints it (`3.25 MB`, `1.07 kB`, `534 B`; `1.50 GiB`
/// with `--iec`), in bytes, rounded to the nearest byte.
fn size(number: &str, unit: &str) -> Option<u64> {
    const UNITS: [&str; 9] = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];
    let prefix = unit.strip_suffix('B')?;
    let (prefix, base) = match prefix.strip_suffix('i') {
        Some(p) => (if p == "K" { "k" } else { p }, 1024u128),
        None => (prefix, 1000u128),
    };
    let power = UNITS.iter().position(|u| *u == prefix)?;
    let factor = base.checked_pow(u32::try_from(power).ok()?)?;
    let digits = |s: &str| !s.is_empty() && s.len() < 20 && s.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) if digits(fraction) => (whole, fraction),
        Some(_) => return None,
        None => (number, ""),
    };
    if !digits(whole) {
        return None;
    }
    let scale = 10u128.pow(u32::try_from(fraction.len()).ok()?);
    let mantissa: u128 = format!("{whole}{fraction}").parse().ok()?;
    let bytes = mantissa.checked_mul(factor)?.checked_add(scale / 2)? / scale;
    u64::try_from(bytes).ok()
}

/// borg's error messages, as its error classes word them (borg 1.2 to
/// 1.4): `{}` stands for any text. Borg prints them alone on a line and
/// then exits with an error.
const ERRORS: &[&str] = &[
    "A repository already exists at {}.",
    "Archive {} already exists",
    "Archive {} does not exist",
    "Attic repository detected. Please run \"borg upgrade {}\".",
    "Borg server is too old for {}. Required version {}",
    "Cache initialization aborted",
    "Cache is newer than repository - {}",
    "Cache, or information obtained from the security directory is newer than repository - {}",
    "Borg {}: Got unexpected RPC data format from client.",
    "Cancelled by user.",
    "Cannot acquire a passphrase: {}",
    "can not acquire a passphrase: {}",
    "Chunk ID {} missing from chunks index, corrupted chunks index - aborting transaction.",
    "Command Error: {}",
    "Command {} exited with status {}",
    "Connection closed by remote host{}",
    "Connection to remote host is broken. {}",
    "Could not verify manifest: Unsupported suite {}",
    "Data integrity error: {}",
    "Decompression error: {}",
    "Exceeded the maximum password retries.",
    "exceeded the maximum password retries",
    "Failed to acquire the lock {}.",
    "Failed to create/acquire the lock {}",
    "Failed to execute command: {}",
    "Failed to encode filename \"{}\" into file system encoding \"{}\".{}",
    "Failed to release the lock {}",
    "File failed integrity check: {}",
    "Formatting Error: {}",
    "Got Ctrl-C / SIGINT.",
    "Got unexpected RPC data format from {}",
    "Inconsistency detected. Please run \"borg check {}\".",
    "Insufficient free space to complete transaction (required: {}, available: {}).",
    "Integrity checks failed. Corrupted or tampered data.",
    "Invalid key data for repository {} found in {}.",
    "Invalid key file for repository {} found in {}.",
    "Invalid placeholder \"{}\" in string: {}",
    "Key management not available for unencrypted repositories.",
    "Keymanagement not available for unencrypted repositories.",
    "Keyboard interrupt",
    "Local Exception",
    "Mismatch between repository {} and key file {}.",
    "No key entry found in the config of repository {}.",
    "No key file for repository {} found in {}.",
    "Object with key {} not found in repository {}.",
    "Passcommand supplied in BORG_PASSCOMMAND failed: {}",
    "passcommand supplied in BORG_PASSCOMMAND failed: {}",
    "Passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND{} is incorrect.",
    "passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND{} is incorrect.",
    "Permission denied to {}.",
    "Received SIGHUP.",
    "Received SIGTERM",
    "Repository access aborted",
    "Repository encryption method changed since last access, refusing to continue",
    "Repository has no manifest.",
    "Repository path not allowed: {}",
    "Repository {} does not exist.",
    "RPC method {} is not valid{}",
    "Runtime Error: {}",
    "The Borg binary extension modules do not seem to be properly installed.",
    "The parent path of the repo directory [{}] does not exist.",
    "The storage quota ({}) has been exceeded ({}). Try deleting some archives.",
    "There is already something at {}.",
    "Unsupported manifest envelope. A newer version is required to access this repository.",
    "Unsupported payload type {}. A newer version is required to access this repository.",
    "Unsupported repository feature(s) {}. A newer version of {} is required to access this repository.",
    "{} does not have a valid configuration. Check repo config [{}].",
    "{} is not a valid repository. Check repo config.",
];

/// Whether `line` is one of borg's error messages, or an argument error
/// (`borg create: error: ...`).
fn is_error(line: &str) -> bool {
    if line.starts_with("borg") && line.contains(": error: ") {
        return true;
    }
    ERRORS
        .iter()
        .any(|template| matches_template(line, template))
}

/// Whether `line` reads as `template`, each `{}` standing for some text.
fn matches_template(line: &str, template: &str) -> bool {
    let mut parts = template.split("{}");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No placeholder: the whole line.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Whether `line` says a file could not be read, so it is not in the
/// archive (`PATH: open: [Errno 13] Permission denied: ...`): borg calls it a
/// warning (exit 1), notify an error, so that the run mails at the default
/// `errors` level, as restic's and rsync's unreadable files do.
fn is_unread(line: &str) -> bool {
    line.contains(": [Errno ") && !line.starts_with("Failed to ")
        || line.ends_with(": backup error")
}

/// Whether `line` is one of borg's warnings about a file it backs up:
/// `PATH: OP: [Errno N] ...`, `PATH: file changed while we backed it up`,
/// race conditions, `Include pattern '...' never matched.`.
fn is_warning(line: &str) -> bool {
    line.contains(": [Errno ")
        || line.ends_with(": file changed while we backed it up")
        || (line.contains(": file ") && line.contains("(race condition"))
        || line.ends_with(": backup error")
        || line.contains(": not extracted, ")
        || line.contains(": Size inconsistency detected: ")
        || line.contains(": File has damaged (all-zero) chunks.")
        || (line.starts_with("Include pattern '") && line.ends_with("' never matched."))
        || line.starts_with("Unknown file type: ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Report, ToolChoice};
    use notify_core::{Outcome, TaskResult};

    /// Reads `stdout` and `stderr` of the borg run `argv` (words split at
    /// spaces; `BORG_REPO=...` before the program sets the repository) and
    /// checks what the result holds: every field and value found, as
    /// `source=...`, `destination=...`, `bytes=N`, `files=N`, `KEY=VALUE`
    /// for tool values, `error=...` and `warning=...` for each line, and
    /// `errors=N`, `warnings=N` for counts that differ from the lines kept.
    #[track_caller]
    fn check(argv: &str, stdout: &str, stderr: &str, want: &[&str]) {
        let words: Vec<&str> = argv.split_whitespace().collect();
        let invocation = Invocation::parse(&words, ToolChoice::Auto);
        let mut report = Report::new(&invocation, &|_| None, 1 << 16);
        report.feed(Stream::Stdout, stdout.as_bytes());
        report.feed(Stream::Stderr, stderr.as_bytes());
        let mut result = TaskResult::new("t", Outcome::Success);
        report.finish(&mut result);
        let mut got = Vec::new();
        if let Some(s) = &result.source {
            got.push(format!("source={s}"));
        }
        if let Some(d) = &result.destination {
            got.push(format!("destination={d}"));
        }
        if let Some(n) = result.bytes_copied {
            got.push(format!("bytes={n}"));
        }
        if let Some(n) = result.files_copied {
            got.push(format!("files={n}"));
        }
        for (k, v) in &result.extra {
            got.push(format!("{k}={v}"));
        }
        for e in &result.errors {
            got.push(format!("error={e}"));
        }
        if result.error_count != result.errors.len() as u64 {
            got.push(format!("errors={}", result.error_count));
        }
        for w in &result.warnings {
            got.push(format!("warning={w}"));
        }
        if result.warning_count != result.warnings.len() as u64 {
            got.push(format!("warnings={}", result.warning_count));
        }
        let mut want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
        got.sort();
        want.sort();
        assert_eq!(
            got, want,
            "{argv}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    }

    #[test]
    fn command_lines() {
        let cases: &[(&str, &[&str])] = &[
            (
                "borg create /srv/repo::home-{now} /home /etc",
                &[
                    "source=/home, /etc",
                    "destination=/srv/repo",
                    "archive=home-{now}",
                ],
            ),
            (
                "BORG_REPO=/env/repo borg create --stats ::{hostname}-{now} /",
                &[
                    "source=/",
                    "destination=/env/repo",
                    "archive={hostname}-{now}",
                ],
            ),
            ("borg create ::a /data", &["source=/data", "archive=a"]),
            (
                "borg -v --remote-path borg1 --lock-wait 30 create --exclude /home/*/.cache \
                 -e *.tmp --exclude-from ex.txt --pattern +sh:/x --patterns-from p.lst \
                 --compression zstd,6 -C lz4 --comment nightly --timestamp 2026-01-01T00:00:00 \
                 --checkpoint-interval 600 -c 900 --chunker-params buzhash,19,23,21,4095 \
                 --rsh ssh_-i_key --upload-ratelimit 1000 --files-cache ctime,size \
                 --umask 0077 --exclude-if-present .nobackup --list --filter AME \
                 ssh://u@host:22/./repo::arch /home /root",
                &[
                    "source=/home, /root",
                    "destination=ssh://u@host:22/./repo",
                    "archive=arch",
                ],
            ),
            (
                "borg create --exclude=/tmp -Clz4 -e*.iso -svx r::a /a",
                &["source=/a", "destination=r", "archive=a"],
            ),
            (
                "borg create -sC lz4 r::a /a",
                &["source=/a", "destination=r", "archive=a"],
            ),
            (
                "sudo -E nice -n 19 borg create user@backup:repo::a -- -weird /b",
                &[
                    "source=-weird, /b",
                    "destination=user@backup:repo",
                    "archive=a",
                ],
            ),
            (
                "borg create ssh://u@[::1]:2222/repo::x /a",
                &[
                    "source=/a",
                    "destination=ssh://u@[::1]:2222/repo",
                    "archive=x",
                ],
            ),
            (
                "borg create --content-from-command r::db -- pg_dump -Fc db",
                &["source=pg_dump -Fc db", "destination=r", "archive=db"],
            ),
            (
                "borg create --paths-from-stdin r::list",
                &["destination=r", "archive=list"],
            ),
            (
                "borg create r::a -",
                &["source=-", "destination=r", "archive=a"],
            ),
            // borg 2: the repository from --repo/-r or BORG_REPO.
            (
                "borg -r /b2/repo create --compression lz4 docs-{now} /docs",
                &["source=/docs", "destination=/b2/repo", "archive=docs-{now}"],
            ),
            (
                "borg --repo=/b2/repo create docs /docs /more",
                &[
                    "source=/docs, /more",
                    "destination=/b2/repo",
                    "archive=docs",
                ],
            ),
            (
                "borg create --repo /b2/repo --tags daily docs /docs",
                &["source=/docs", "destination=/b2/repo", "archive=docs"],
            ),
            (
                "BORG_REPO=/b2/env borg create docs /docs",
                &["source=/docs", "destination=/b2/env", "archive=docs"],
            ),
            // Other subcommands: no source, destination or archive.
            ("borg prune --keep-daily 7 -w 4 /srv/repo", &[]),
            ("borg check /srv/repo", &[]),
            ("borg compact /srv/repo", &[]),
            ("borg", &[]),
            ("borg --version", &[]),
            ("borg create", &[]),
            ("BORG_REPO=/r borg create", &["destination=/r"]),
        ];
        for (argv, want) in cases {
            check(argv, "", "", want);
        }
    }

    const STATS_1_2: &str = "\
------------------------------------------------------------------------------
Repository: /tmp/bt/repo
Archive name: host-2026-12-04T16:30:17
Archive fingerprint: c053310b894aa816ce98467aad8c2fab439c6b2c24f9551ae4d8b23cd3a729c1
Time (start): Fri, 2026-12-04 16:30:17
Time (end):   Fri, 2026-12-04 16:30:17
Duration: 0.01 seconds
Number of files: 22
Utilization of max. archive size: 0%
------------------------------------------------------------------------------
                       Original size      Compressed size    Deduplicated size
This archive:                3.25 MB              1.07 kB                534 B
All archives:                1.05 MB              1.05 MB              1.05 MB

                       Unique chunks         Total chunks
Chunk index:                      23                   23
------------------------------------------------------------------------------
";

    const JSON_1_2: &str = r#"{
    "archive": {
        "command_line": [
            "/usr/bin/borg",
            "create",
            "--json",
            "repo::{now}",
            "src"
        ],
        "duration": 0.004083,
        "name": "2026-12-04T16:30:18",
        "stats": {
            "compressed_size": 1050520,
            "deduplicated_size": 454,
            "nfiles": 21,
            "original_size": 1050485
        }
    },
    "repository": {
        "id": "c5885f0e",
        "location": "/tmp/bt/repo"
    }
}
"#;

    /// borg 1.2.4, `borg create bad::x src` where `bad/config` says
    /// `version = x`: exit code 2.
    const TRACEBACK_1_2: &str = r##"Exception ignored in: <function Repository.__del__ at 0x7fa57fffc5e0>
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/borg/repository.py", line 190, in __del__
    assert False, "cleanup happened in Repository.__del__"
AssertionError: cleanup happened in Repository.__del__
Local Exception
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/borg/archiver.py", line 5213, in main
    exit_code = archiver.run(args)
                ^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3/dist-packages/borg/archiver.py", line 5144, in run
    return set_ec(func(args))
                  ^^^^^^^^^^
  File "/usr/lib/python3/dist-packages/borg/archiver.py", line 168, in wrapper
    with repository:
  File "/usr/lib/python3/dist-packages/borg/repository.py", line 200, in __enter__
    self.open(self.path, bool(self.exclusive), lock_wait=self.lock_wait, lock=self.do_lock)
  File "/usr/lib/python3/dist-packages/borg/repository.py", line 445, in open
    repo_version = self.config.getint('repository', 'version')
                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/configparser.py", line 834, in getint
    return self._get_conv(section, option, int, raw=raw, vars=vars,
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/configparser.py", line 824, in _get_conv
    return self._get(section, conv, option, raw=raw, vars=vars,
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/configparser.py", line 819, in _get
    return conv(self.get(section, option, **kwargs))
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
ValueError: invalid literal for int() with base 10: 'x'

Platform: Linux vm 6.18.44-fc-v1252 #1 SMP PREEMPT_DYNAMIC @0 x86_64
Linux: Unknown Linux  
Borg: 1.2.4  Python: CPython 3.11.2 msgpack: 1.0.3 fuse: None [pyfuse3,llfuse]
PID: 2138  CWD: /tmp/bt
sys.argv: ['/usr/bin/borg', 'create', 'bad::x', 'src']
SSH_ORIGINAL_COMMAND: None

"##;

    /// The same with `--log-json`.
    const TRACEBACK_LOG_JSON_1_2: &str = r##"Exception ignored in: <function Repository.__del__ at 0x7fc61e7e05e0>
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/borg/repository.py", line 190, in __del__
    assert False, "cleanup happened in Repository.__del__"
AssertionError: cleanup happened in Repository.__del__
{"type": "log_message", "time": 1796402826.290005, "message": "Local Exception", "levelname": "ERROR", "name": "borg.archiver", "msgid": "Exception"}
{"type": "log_message", "time": 1796402826.2900891, "message": "Traceback (most recent call last):\n  File \"/usr/lib/python3/dist-packages/borg/archiver.py\", line 5213, in main\n    exit_code = archiver.run(args)\n                ^^^^^^^^^^^^^^^^^^\n  File \"/usr/lib/python3/dist-packages/borg/archiver.py\", line 5144, in run\n    return set_ec(func(args))\n                  ^^^^^^^^^^\n  File \"/usr/lib/python3/dist-packages/borg/archiver.py\", line 168, in wrapper\n    with repository:\n  File \"/usr/lib/python3/dist-packages/borg/repository.py\", line 200, in __enter__\n    self.open(self.path, bool(self.exclusive), lock_wait=self.lock_wait, lock=self.do_lock)\n  File \"/usr/lib/python3/dist-packages/borg/repository.py\", line 445, in open\n    repo_version = self.config.getint('repository', 'version')\n                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"/usr/lib/python3.11/configparser.py\", line 834, in getint\n    return self._get_conv(section, option, int, raw=raw, vars=vars,\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"/usr/lib/python3.11/configparser.py\", line 824, in _get_conv\n    return self._get(section, conv, option, raw=raw, vars=vars,\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"/usr/lib/python3.11/configparser.py\", line 819, in _get\n    return conv(self.get(section, option, **kwargs))\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\nValueError: invalid literal for int() with base 10: 'x'\n\nPlatform: Linux vm 6.18.44-fc-v1252 #1 SMP PREEMPT_DYNAMIC @0 x86_64\nLinux: Unknown Linux  \nBorg: 1.2.4  Python: CPython 3.11.2 msgpack: 1.0.3 fuse: None [pyfuse3,llfuse]\nPID: 2140  CWD: /tmp/bt\nsys.argv: ['/usr/bin/borg', '--log-json', 'create', 'bad::x', 'src']\nSSH_ORIGINAL_COMMAND: None\n", "levelname": "ERROR", "name": "borg.archiver"}
"##;

    #[test]
    fn recorded_tracebacks() {
        let want = [
            "error=Local Exception",
            "error=ValueError: invalid literal for int() with base 10: 'x'",
            "archive=x",
            "destination=bad",
            "source=src",
        ];
        check("borg create bad::x src", "", TRACEBACK_1_2, &want);
        check(
            "borg --log-json create bad::x src",
            "",
            TRACEBACK_LOG_JSON_1_2,
            &want,
        );
    }

    #[test]
    fn outputs() {
        let create = "borg create /r::{hostname}-{now} /src";
        let at = &["source=/src", "destination=/r"];
        let with = |more: &[&'static str]| -> Vec<&'static str> {
            at.iter().chain(more).copied().collect()
        };
        let cases: Vec<(&str, &str, &str, Vec<&str>)> = vec![
            // --stats text on stderr.
            (
                create,
                "",
                STATS_1_2,
                with(&[
                    "archive=host-2026-12-04T16:30:17",
                    "files=22",
                    "files_processed=22",
                    "bytes=3250000",
                    "data_processed=3250000",
                    "data_compressed=1070",
                    "data_added=534",
                ]),
            ),
            // --iec sizes.
            (
                create,
                "",
                "This archive:             1.50 GiB            512.00 KiB                  0 B\n",
                with(&[
                    "archive={hostname}-{now}",
                    "bytes=1610612736",
                    "data_processed=1610612736",
                    "data_compressed=524288",
                    "data_added=0",
                ]),
            ),
            // A row that is not sizes is passed over.
            (
                create,
                "",
                "This archive: 1.0 XB 2 B\nNumber of files: many\n",
                with(&["archive={hostname}-{now}"]),
            ),
            // --json on stdout; the location only where the command line
            // had none.
            (
                "borg create --json /r::{hostname}-{now} /src",
                JSON_1_2,
                "",
                with(&[
                    "archive=2026-12-04T16:30:18",
                    "files=21",
                    "files_processed=21",
                    "bytes=1050485",
                    "data_processed=1050485",
                    "data_compressed=1050520",
                    "data_added=454",
                ]),
            ),
            (
                "borg create --json ::a /src",
                JSON_1_2,
                "",
                vec![
                    "source=/src",
                    "destination=/tmp/bt/repo",
                    "archive=2026-12-04T16:30:18",
                    "files=21",
                    "files_processed=21",
                    "bytes=1050485",
                    "data_processed=1050485",
                    "data_compressed=1050520",
                    "data_added=454",
                ],
            ),
            // Without --json a JSON-looking stdout is text.
            (
                "borg create /r::a /src",
                "{\n    \"archive\": {\"name\": \"x\"}\n}\n",
                "",
                vec!["source=/src", "destination=/r", "archive=a"],
            ),
            // A broken document is passed over, and the next one read.
            (
                "borg create --json /r::a /src",
                "{\n    \"archive\": [\n}\n{\n\"archive\": {\"name\": \"b\"}\n}\n",
                "",
                vec!["source=/src", "destination=/r", "archive=b"],
            ),
            // --log-json lines.
            (
                create,
                "",
                concat!(
                    r#"{"type": "file_status", "status": "A", "path": "src/a"}"#, "\n",
                    r#"{"original_size": 0, "compressed_size": 0, "deduplicated_size": 0, "nfiles": 0, "path": "src", "time": 1.5, "type": "archive_progress", "finished": false}"#, "\n",
                    r#"{"message": "Initializing cache transaction: Reading config", "operation": 1, "msgid": "cache.begin_transaction", "type": "progress_message", "finished": false, "time": 1.5}"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "src/secret: open: [Errno 13] Permission denied: 'secret'", "levelname": "WARNING", "name": "borg.archiver"}"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "Archive name: host-x", "levelname": "INFO", "name": "borg.output.stats"}"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "Number of files: 4", "levelname": "INFO", "name": "borg.output.stats"}"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "This archive:               18.00 kB             18.02 kB                  0 B", "levelname": "INFO", "name": "borg.output.stats"}"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "terminating with warning status, rc 1", "levelname": "WARNING", "name": "borg.output.show-rc"}"#, "\n",
                ),
                with(&[
                    "archive=host-x",
                    "files=4",
                    "files_processed=4",
                    "bytes=18000",
                    "data_processed=18000",
                    "data_compressed=18020",
                    "data_added=0",
                    "error=src/secret: open: [Errno 13] Permission denied: 'secret'",
                ]),
            ),
            (
                "borg --log-json create /nope::a /src",
                "",
                concat!(
                    r#"{"type": "log_message", "time": 1.5, "message": "Repository /nope does not exist.", "levelname": "ERROR", "name": "borg.archiver", "msgid": "Repository.DoesNotExist"}"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "oops", "levelname": "CRITICAL", "name": "borg.archiver"}"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "debug: x", "levelname": "DEBUG", "name": "borg.archiver"}"#, "\n",
                ),
                vec![
                    "source=/src",
                    "destination=/nope",
                    "archive=a",
                    "error=Repository /nope does not exist.",
                    "error=oops",
                ],
            ),
            // A traceback in one log message: its exception line.
            (
                "borg --log-json check /r",
                "",
                concat!(
                    r#"{"type": "log_message", "time": 1.5, "message": "Local Exception", "levelname": "ERROR", "name": "borg.archiver", "msgid": "Exception"}"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "Traceback (most recent call last):\n  File \"/usr/lib/borg/archiver.py\", line 5089, in main\n    exit_code = archiver.run(args)\n            ^^^^^\nKeyError: 'x'\n\nPlatform: Linux vm 6.1\nLinux: Unknown Linux  \nBorg: 1.2.4  Python: CPython 3.11.2\nPID: 1  CWD: /\nsys.argv: ['borg']\nSSH_ORIGINAL_COMMAND: None\n", "levelname": "ERROR", "name": "borg.archiver"}"#, "\n",
                ),
                vec!["error=Local Exception", "error=KeyError: 'x'"],
            ),
            // A log line cut for its length: what can be read of it.
            (
                "borg --log-json check /r",
                "",
                concat!(
                    r#"{"type": "log_message", "time": 1.5, "message": "Traceback (most recent call last):\n  File \"a.py\", line 1 [… 9000 bytes cut]"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "levelname": "WARNING", "message": "long warning \u00e9 [… 9000 bytes cut]"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "/s/deep: open: [Errno 13] Permission denied: 'x' [… 9000 bytes cut]"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "ab\u00 [… 9000 bytes cut]"#, "\n",
                ),
                vec![
                    "warning=long warning \u{e9} [… 9000 bytes cut]",
                    "error=/s/deep: open: [Errno 13] Permission denied: 'x' [… 9000 bytes cut]",
                ],
            ),
            // Questions: answered yes from the environment, not a warning;
            // declined, a warning.
            (
                "borg --log-json create r::a /s",
                "",
                concat!(
                    r#"{"type": "question_prompt", "msgid": "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "message": "Warning: Attempting to access a previously unknown unencrypted repository!\nDo you want to continue? [yN] "}"#, "\n",
                    r#"{"env_var": "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "type": "question_env_answer", "msgid": "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "message": "yes (from BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK)"}"#, "\n",
                ),
                vec!["source=/s", "destination=r", "archive=a"],
            ),
            (
                "borg --log-json create r::a /s",
                "",
                concat!(
                    r#"{"type": "question_prompt", "msgid": "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "message": "Warning: Attempting to access a previously unknown unencrypted repository!\nDo you want to continue? [yN] "}"#, "\n",
                    r#"{"type": "question_accepted_false", "msgid": "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "message": "Aborting."}"#, "\n",
                    r#"{"type": "log_message", "time": 1.5, "message": "Cache initialization aborted", "levelname": "ERROR", "name": "borg.archiver", "msgid": "Cache.CacheInitAbortedError"}"#, "\n",
                ),
                vec![
                    "source=/s",
                    "destination=r",
                    "archive=a",
                    "warning=Warning: Attempting to access a previously unknown unencrypted repository!",
                    "error=Cache initialization aborted",
                ],
            ),
            (
                "borg --log-json create r::a /s",
                "",
                r#"{"type": "question_prompt", "message": "Warning: The repository at location /a was previously located at /b\nDo you want to continue? [yN] "}"#,
                vec![
                    "source=/s",
                    "destination=r",
                    "archive=a",
                    "warning=Warning: The repository at location /a was previously located at /b",
                ],
            ),
            (
                "borg create r::a /s",
                "",
                "Warning: Attempting to access a previously unknown unencrypted repository!\n\
                 Do you want to continue? [yN] yes (from BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK)\n",
                vec!["source=/s", "destination=r", "archive=a"],
            ),
            (
                "borg create r::a /s",
                "",
                "Warning: Attempting to access a previously unknown unencrypted repository!\n\
                 Do you want to continue? [yN] Aborting.\nCache initialization aborted\n",
                vec![
                    "source=/s",
                    "destination=r",
                    "archive=a",
                    "warning=Warning: Attempting to access a previously unknown unencrypted repository!",
                    "error=Cache initialization aborted",
                ],
            ),
            (
                "borg create r::a /s",
                "",
                "Warning: File system encoding is \"ascii\", extracting non-ascii filenames will not be supported.\n\
                 Hint: You likely need to fix your locale setup.\n",
                vec![
                    "source=/s",
                    "destination=r",
                    "archive=a",
                    "warning=Warning: File system encoding is \"ascii\", extracting non-ascii filenames will not be supported.",
                ],
            ),
            (
                "borg create r::a /s",
                "",
                "Warning: last words",
                vec!["source=/s", "destination=r", "archive=a", "warning=Warning: last words"],
            ),
            // Text warnings about files.
            (
                "borg create --list r::a /s",
                "",
                "A /s/ok\n\
                 /s/secret: open: [Errno 13] Permission denied: 'secret'\n\
                 E /s/secret\n\
                 /s/log: file changed while we backed it up\n\
                 /s/x: file type changed (race condition), skipping file\n\
                 /s/y: file type or inode changed while we backed it up (race condition, skipped file)\n\
                 /s/z: [Errno 2] No such file or directory: 'z'\n\
                 Include pattern 'home/x' never matched.\n\
                 d /s\n",
                vec![
                    "source=/s",
                    "destination=r",
                    "archive=a",
                    "error=/s/secret: open: [Errno 13] Permission denied: 'secret'",
                    "warning=/s/log: file changed while we backed it up",
                    "warning=/s/x: file type changed (race condition), skipping file",
                    "warning=/s/y: file type or inode changed while we backed it up (race condition, skipped file)",
                    "error=/s/z: [Errno 2] No such file or directory: 'z'",
                    "warning=Include pattern 'home/x' never matched.",
                ],
            ),
            // Text errors.
            (
                "borg prune --keep-daily 7 /x",
                "",
                "Repository /x does not exist.\n",
                vec!["error=Repository /x does not exist."],
            ),
            (
                "borg check /x",
                "",
                "Failed to create/acquire the lock /x/lock.exclusive (timeout).\n\
                 /x is not a valid repository. Check repo config.\n\
                 Archive nightly already exists\n\
                 Passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND, or via BORG_PASSPHRASE_FD is incorrect.\n\
                 passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND or via BORG_PASSPHRASE_FD is incorrect.\n\
                 Error: something\n\
                 Remote: Repository /srv/x does not exist.\n\
                 borg create: error: the following arguments are required: PATH\n\
                 Received SIGTERM\n\
                 Got Ctrl-C / SIGINT.\n\
                 terminating with error status, rc 2\n",
                vec![
                    "error=Failed to create/acquire the lock /x/lock.exclusive (timeout).",
                    "error=/x is not a valid repository. Check repo config.",
                    "error=Archive nightly already exists",
                    "error=Passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND, or via BORG_PASSPHRASE_FD is incorrect.",
                    "error=passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND or via BORG_PASSPHRASE_FD is incorrect.",
                    "error=Error: something",
                    "error=Remote: Repository /srv/x does not exist.",
                    "error=borg create: error: the following arguments are required: PATH",
                    "error=Received SIGTERM",
                    "error=Got Ctrl-C / SIGINT.",
                ],
            ),
            (
                "borg create --paths-from-command r::a -- find /srv",
                "",
                "Command 'find' exited with status 1\n\
                 Failed to execute command: [Errno 2] No such file or directory: 'fnd'\n\
                 The Borg binary extension modules do not seem to be properly installed.\n",
                vec![
                    "source=find /srv",
                    "destination=r",
                    "archive=a",
                    "error=Command 'find' exited with status 1",
                    "error=Failed to execute command: [Errno 2] No such file or directory: 'fnd'",
                    "error=The Borg binary extension modules do not seem to be properly installed.",
                ],
            ),
            // borg extract's warnings.
            (
                "borg extract r::a",
                "",
                "x/../y: not extracted, path contains \"../\" (malicious or corrupted archive)\n",
                vec![
                    "warning=x/../y: not extracted, path contains \"../\" (malicious or corrupted archive)",
                ],
            ),
            // The statistics `borg info` shows are not this run's.
            (
                "borg info /r::a",
                "Archive name: a\nNumber of files: 3\n\
                 This archive:                1.00 kB              1.00 kB              1.00 kB\n",
                "",
                vec![],
            ),
            (
                "borg --log-json info /r::a",
                "",
                r#"{"type": "log_message", "message": "Number of files: 3", "levelname": "INFO", "name": "borg.output.stats"}"#,
                vec![],
            ),
            // Not errors: ordinary lines, file names that look like words.
            (
                "borg check -v /x",
                "Keeping archive: a\n",
                "Starting repository check\n\
                 Repository /x does not exist. Really\n\
                 Archive name: not create\n\
                 A errors.log\n\
                 Repository check complete, no problems found.\n",
                vec!["archive=not create"],
            ),
            // A traceback: its last line, not each frame; chained ones
            // count once; system information is passed over.
            (
                "borg check /r",
                "",
                "Local Exception\n\
                 Traceback (most recent call last):\n  \
                 File \"/usr/lib/python3/dist-packages/borg/archiver.py\", line 5089, in main\n    \
                 exit_code = archiver.run(args)\n\
                 OSError: [Errno 28] No space left on device\n\
                 \n\
                 During handling of the above exception, another exception occurred:\n\
                 \n\
                 Traceback (most recent call last):\n  \
                 File \"x.py\", line 1, in <module>\n\
                 borg.locking.LockFailed: Failed to create/acquire the lock /r/lock.exclusive ([Errno 28] No space left on device).\n\
                 \n\
                 Platform: Linux: error 6.1.0\n\
                 Linux: Unknown Linux\n\
                 Borg: 1.2.4  Python: CPython 3.11.2 msgpack: 1.0.3 fuse: llfuse 1.4.1 [pyfuse3,llfuse]\n\
                 PID: 7  CWD: /\n\
                 sys.argv: ['/usr/bin/borg', 'check', 'error: x']\n\
                 SSH_ORIGINAL_COMMAND: None\n\
                 \n\
                 Linux: open: [Errno 13] Permission denied: 'Linux'\n",
                vec![
                    "error=Local Exception",
                    "error=borg.locking.LockFailed: Failed to create/acquire the lock /r/lock.exclusive ([Errno 28] No space left on device).",
                    "error=Linux: open: [Errno 13] Permission denied: 'Linux'",
                ],
            ),
            // A traceback the output ends in.
            (
                "borg check /r",
                "",
                "Traceback (most recent call last):\n  File \"x\", line 1\nValueError: bad",
                vec!["error=ValueError: bad"],
            ),
            // Lines borg did not word go to the generic reader.
            (
                "borg check /r",
                "",
                "ssh: error: connect failed\nnot a json line {\n{\"no\": \"type\"}\n[1, 2]\n",
                vec!["error=ssh: error: connect failed"],
            ),
        ];
        for (argv, stdout, stderr, want) in &cases {
            check(argv, stdout, stderr, want);
        }
    }

    #[test]
    fn sizes() {
        let cases: &[(&str, &str, Option<u64>)] = &[
            ("534", "B", Some(534)),
            ("0", "B", Some(0)),
            ("1.07", "kB", Some(1_070)),
            ("3.25", "MB", Some(3_250_000)),
            ("18.00", "kB", Some(18_000)),
            ("1.23", "TB", Some(1_230_000_000_000)),
            ("1.50", "GiB", Some(1_610_612_736)),
            ("1.00", "KiB", Some(1024)),
            ("1.05", "MiB", Some(1_101_005)),
            ("18.45", "EB", None),
            ("1.00", "ZB", None),
            ("1.0", "XB", None),
            ("1,5", "MB", None),
            ("-1.00", "MB", None),
            ("", "B", None),
            ("1.", "B", None),
            ("99999999999999999999999", "B", None),
            ("1", "", None),
        ];
        for &(number, unit, want) in cases {
            assert_eq!(size(number, unit), want, "{number} {unit}");
        }
    }

    #[test]
    fn a_large_json_document_is_skipped() {
        let mut doc = String::from("{\n    \"archive\": {\"name\": \"big\"},\n    \"pad\": [\n");
        while doc.len() <= MAX_JSON {
            doc.push_str(
                "        \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\n",
            );
        }
        doc.push_str("        0\n    ]\n}\n");
        doc.push_str("{\n    \"archive\": {\"name\": \"after\"}\n}\n");
        check(
            "borg create --json r::a /s",
            &doc,
            "",
            &["source=/s", "destination=r", "archive=after"],
        );
    }

    #[test]
    fn any_input_is_read_without_panic() {
        let inputs = [
            "{",
            "}",
            "{\"type\": \"log_message\"",
            "{\"type\": \"log_message\", \"message\": \"\\",
            "{\"type\": \"log_message\", \"message\": \"\\u12",
            "{\"type\": 5}",
            "This archive:",
            "This archive: é é é é é é",
            "Traceback (most recent call last):",
            "Number of files: -1",
            "é",
            "Warning: ",
            " (from ",
        ];
        for a in inputs {
            for b in inputs {
                let text = format!("{a}\n{b}\n{a}{b}");
                check_no_panic(&text);
            }
        }
    }

    fn check_no_panic(text: &str) {
        for argv in [
            "borg create --json --list r::a /s",
            "borg -r",
            "borg create -e",
        ] {
            let words: Vec<&str> = argv.split_whitespace().collect();
            let invocation = Invocation::parse(&words, ToolChoice::Auto);
            let mut report = Report::new(&invocation, &|_| Some(String::new()), 1 << 16);
            report.feed(Stream::Stdout, text.as_bytes());
            report.feed(Stream::Stderr, text.as_bytes());
            report.finish(&mut TaskResult::new("t", Outcome::Failure));
        }
    }
}
