//! The rsync reader.
//!
//! From the command line: the sources (every positional argument but the
//! last, joined with `, `) and the destination (the last one); the options
//! that take a value as a separate word are those of rsync's option table
//! (3.0 to 3.5), so `-e ssh` or `--exclude '*.tmp'` are not taken for paths.
//!
//! From the output:
//!
//! | output                                     | fills                                |
//! |--------------------------------------------|--------------------------------------|
//! | `Number of files: 1,234 (reg: …)`          | [`keys::FILES_PROCESSED`]            |
//! | `Number of created files: 12 (…)`          | [`keys::FILES_NEW`]                  |
//! | `Number of deleted files: 3 (…)`           | [`keys::FILES_DELETED`]              |
//! | `Number of regular files transferred: 200` | files copied (3.0: `Number of files transferred:`) |
//! | `Total file size: 5,000 bytes`             | [`keys::DATA_PROCESSED`]             |
//! | `Total transferred file size: 1,234 bytes` | bytes copied                         |
//! | `total size is 5,000  speedup is …`        | [`keys::DATA_PROCESSED`]             |
//! | `>f+++++++++ name` (`-i`, no `--stats`)    | files copied: one per line           |
//! | `deleting name` (`-v`/`-i` with `--delete`, no `--stats`) | [`keys::FILES_DELETED`] |
//! | `rsync error: … (code N) at …`             | the error that ended the run         |
//! | `rsync: …`, `ERROR: …`, `@ERROR: …`        | errors                               |
//! | `rsync warning: …`, `file has vanished: …`, `WARNING: …` | warnings               |
//!
//! Counts are rsync's totals (directories, links and devices included, as
//! rsync counts "files"). Sizes are read in every form rsync prints them:
//! plain digits (3.0), with a thousands separator (`,` or `.` by locale,
//! 3.1+), or in units with `-h` (units of 1000) and `-hh` (1024), such as
//! `97.66K`, so a size in units is exact only to the digits printed.
//! Without `--stats`, `-v` prints only `total size is`; its file
//! list is not counted (it names directories and files whose attributes
//! changed as well as transferred files), but itemized lines (`-i`) are.
//! A dry run (`-n`, or `(DRY RUN)` in the output) copies and deletes
//! nothing: it fills no files or bytes copied, files new or deleted.
//!
//! rsync writes its errors and warnings to stderr, many of them without a
//! prefix (`cannot delete non-empty directory: …`). A stderr line that is
//! not one of rsync's marked lines is held back: it counts as an error
//! only when the run reports an error, so that a failed run shows what
//! the remote shell said (`ssh: connect to host …`) while a clean run is
//! not marred by an ssh banner. With `--stderr=all` (or `--msgs2stderr`)
//! stderr carries the file list too, and only the marked lines count.
//! Progress lines (`--progress`, `--info=progress2`) are not errors.

use crate::findings::Held;
use crate::generic::{self, Severity};
use crate::{keys, EnvLookup, Findings, Invocation, Reader, Stream};

/// Long options that take a value as the next word (unless written
/// `--option=value`): every string and number option of rsync 3.0 to 3.5.
const LONG_VALUES: &[&str] = &[
    "address",
    "backup-dir",
    "block-size",
    "bwlimit",
    "cc",
    "checksum-choice",
    "checksum-seed",
    "chmod",
    "chown",
    "compare-dest",
    "compress-choice",
    "compress-level",
    "compress-threads",
    "config",
    "confine-root",
    "contimeout",
    "copy-as",
    "copy-dest",
    "debug",
    "dparam",
    "early-input",
    "exclude",
    "exclude-from",
    "files-from",
    "filter",
    "groupmap",
    "iconv",
    "include",
    "include-from",
    "info",
    "link-dest",
    "log-file",
    "log-file-format",
    "log-format",
    "max-alloc",
    "max-delete",
    "max-size",
    "min-size",
    "modify-window",
    "only-write-batch",
    "out-format",
    "outbuf",
    "partial-dir",
    "password-file",
    "port",
    "protocol",
    "read-batch",
    "remote-option",
    "rsh",
    "rsync-path",
    "skip-compress",
    "sockopts",
    "stderr",
    "stop-after",
    "stop-at",
    "suffix",
    "temp-dir",
    "time-limit",
    "timeout",
    "usermap",
    "write-batch",
    "zc",
    "zl",
    "zt",
];

/// Short options that take a value: the rest of the word (`-essh`), or
/// else the next word (`-e ssh`).
const SHORT_VALUES: &str = "efBTM@";

/// What the command line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Options {
    /// Every positional argument but the last, joined with `, `.
    source: Option<String>,
    /// The last positional argument.
    destination: Option<String>,
    /// How many `-h` / `--human-readable` (after the last `--no-h`).
    human: u32,
    /// `-n`, `--dry-run`, `--only-write-batch`.
    dry_run: bool,
    /// `-v`, `--verbose`.
    verbose: bool,
    /// `-i`, `--itemize-changes`, or an `--out-format` with `%i`.
    itemize: bool,
    /// Any `--del`, `--delete*` option.
    delete: bool,
    /// `--stderr=all`, `--stderr=client` or `--msgs2stderr`: the file list
    /// and the statistics go to stderr too.
    messages_on_stderr: bool,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut o = Options::default();
        let mut positional: Vec<&str> = Vec::new();
        let mut read_batch = false;
        let mut words = args.iter().map(String::as_str);
        while let Some(word) = words.next() {
            if word == "--" {
                positional.extend(words.by_ref());
                break;
            }
            if let Some(long) = word.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None if LONG_VALUES.contains(&long) => (long, words.next()),
                    None => (long, None),
                };
                read_batch |= name == "read-batch";
                o.long(name, value.unwrap_or_default());
                continue;
            }
            if let Some(letters) = word.strip_prefix('-').filter(|l| !l.is_empty()) {
                for (i, letter) in letters.char_indices() {
                    if SHORT_VALUES.contains(letter) {
                        // The value is the rest of the word, or the next one.
                        if i + letter.len_utf8() == letters.len() {
                            words.next();
                        }
                        break;
                    }
                    o.short(letter);
                }
                continue;
            }
            positional.push(word);
        }
        match positional.split_last() {
            // `--read-batch FILE DEST`: the batch file is the source.
            Some((last, [])) if read_batch => o.destination = Some((*last).to_owned()),
            // One argument only lists it.
            Some((only, [])) => o.source = Some((*only).to_owned()),
            Some((last, sources)) => {
                o.source = Some(sources.join(", "));
                o.destination = Some((*last).to_owned());
            }
            None => {}
        }
        o
    }

    fn long(&mut self, name: &str, value: &str) {
        match name {
            "human-readable" => self.human += 1,
            "no-human-readable" | "no-h" => self.human = 0,
            "dry-run" | "only-write-batch" => self.dry_run = true,
            "verbose" => self.verbose = true,
            "itemize-changes" => self.itemize = true,
            "out-format" | "log-format" => self.itemize |= value.contains("%i"),
            "del" => self.delete = true,
            "msgs2stderr" => self.messages_on_stderr = true,
            "no-msgs2stderr" => self.messages_on_stderr = false,
            // `--stderr=errors|all|client`, any unique prefix.
            "stderr" => self.messages_on_stderr = value.starts_with(['a', 'c']),
            _ if name.starts_with("delete") => self.delete = true,
            _ => {}
        }
    }

    fn short(&mut self, letter: char) {
        match letter {
            'h' => self.human += 1,
            'n' => self.dry_run = true,
            'v' => self.verbose = true,
            'i' => self.itemize = true,
            _ => {}
        }
    }

    /// What a unit (`K`, `M`, ...) stands for: one `-h` prints units of
    /// 1000, two or more of 1024 (rsync 3.0 to 3.5 alike).
    fn unit(&self) -> f64 {
        if self.human >= 2 {
            1024.0
        } else {
            1000.0
        }
    }
}

/// The reader for one rsync run.
pub(crate) fn reader(
    invocation: &Invocation,
    _env: EnvLookup<'_>,
    found: &mut Findings,
) -> Box<dyn Reader> {
    let options = Options::parse(invocation.args());
    found.source.clone_from(&options.source);
    found.destination.clone_from(&options.destination);
    Box::new(Rsync {
        unit: options.unit(),
        dry_run: options.dry_run,
        count_transfers: options.itemize,
        count_deletions: options.delete && (options.verbose || options.itemize),
        messages_on_stderr: options.messages_on_stderr,
        stats: Stats::default(),
        transfers: 0,
        deletions: 0,
        held: Held::default(),
    })
}

/// The `--stats` values, put into the findings when the output ends (a dry
/// run is known for sure only from its last line).
#[derive(Debug, Default)]
struct Stats {
    files: Option<u64>,
    created: Option<u64>,
    deleted: Option<u64>,
    transferred: Option<u64>,
    total_size: Option<u64>,
    transferred_size: Option<u64>,
}

struct Rsync {
    unit: f64,
    dry_run: bool,
    /// Count `>f` itemized lines as files copied.
    count_transfers: bool,
    /// Count `deleting` lines as files deleted.
    count_deletions: bool,
    messages_on_stderr: bool,
    stats: Stats,
    transfers: u64,
    deletions: u64,
    held: Held,
}

impl Reader for Rsync {
    fn line(&mut self, stream: Stream, line: &str, found: &mut Findings) {
        let line = line.trim_end();
        if self.statistic(line.trim_start()) {
            return;
        }
        if stream == Stream::Stderr && self.message(line, found) {
            return;
        }
        if stream == Stream::Stdout || self.messages_on_stderr {
            self.listing(line);
        } else if !line.trim().is_empty() {
            self.held.push(Severity::Error, line);
        }
    }

    fn finish(&mut self, found: &mut Findings) {
        if found.error_count() > 0 {
            self.held.release(found);
        }
        let s = &self.stats;
        if let Some(n) = s.files {
            found.set_number(keys::FILES_PROCESSED, n);
        }
        if let Some(n) = s.total_size {
            found.set_number(keys::DATA_PROCESSED, n);
        }
        if self.dry_run {
            return;
        }
        found.files_copied = s
            .transferred
            .or(self.count_transfers.then_some(self.transfers));
        found.bytes_copied = s.transferred_size;
        if let Some(n) = s.created {
            found.set_number(keys::FILES_NEW, n);
        }
        if let Some(n) = s.deleted.or(self.count_deletions.then_some(self.deletions)) {
            found.set_number(keys::FILES_DELETED, n);
        }
    }
}

impl Rsync {
    /// A `--stats` line or the closing `total size is` line; whether it was
    /// one.
    fn statistic(&mut self, line: &str) -> bool {
        let s = &mut self.stats;
        if let Some(rest) = line.strip_prefix("Number of files: ") {
            s.files = count(rest).or(s.files);
        } else if let Some(rest) = line.strip_prefix("Number of created files: ") {
            s.created = count(rest).or(s.created);
        } else if let Some(rest) = line.strip_prefix("Number of deleted files: ") {
            s.deleted = count(rest).or(s.deleted);
        } else if let Some(rest) = line
            .strip_prefix("Number of regular files transferred: ")
            .or_else(|| line.strip_prefix("Number of files transferred: "))
        {
            s.transferred = count(rest).or(s.transferred);
        } else if let Some(rest) = line.strip_prefix("Total file size: ") {
            s.total_size = size(rest, self.unit).or(s.total_size);
        } else if let Some(rest) = line.strip_prefix("Total transferred file size: ") {
            s.transferred_size = size(rest, self.unit).or(s.transferred_size);
        } else if let Some(rest) = line.strip_prefix("total size is ") {
            s.total_size = size(rest, self.unit).or(s.total_size);
            self.dry_run |= rest.ends_with("(DRY RUN)") || rest.ends_with("(BATCH ONLY)");
        } else {
            return false;
        }
        true
    }

    /// An error or warning line of rsync's own on stderr; whether it was
    /// one.
    fn message(&mut self, line: &str, found: &mut Findings) -> bool {
        if line.starts_with("rsync error: ") {
            self.held.release(found);
            found.fatal(line);
        } else if line.starts_with("rsync warning: ")
            || line.contains("has vanished: ")
            || line.starts_with("WARNING: ")
        {
            found.warning(line);
        } else if line.starts_with("rsync: ")
            || line.starts_with("ERROR: ")
            || line.starts_with("@ERROR")
        {
            self.held.release(found);
            found.error(line);
        } else if self.messages_on_stderr {
            // The file list is on stderr too: `error.log` is a file name.
            return false;
        } else if is_warning(line) {
            found.warning(line);
        } else if generic::severity(line) == Some(Severity::Error) {
            self.held.release(found);
            found.error(line);
        } else {
            return false;
        }
        true
    }

    /// A line of the file list: itemized transfers and deletions.
    fn listing(&mut self, line: &str) {
        if self.count_deletions && (line.starts_with("deleting ") || line.starts_with("*deleting "))
        {
            self.deletions += 1;
        } else if self.count_transfers && is_itemized_transfer(line) {
            self.transfers += 1;
        }
    }
}

/// rsync's warnings without a `warning` prefix (`FWARNING` messages), and
/// other programs' (`Warning: Permanently added ... to the list of known
/// hosts.`).
fn is_warning(line: &str) -> bool {
    const STARTS: [&str; 5] = [
        "skipping ",
        "skipped ",
        "renaming ",
        "Deletions stopped",
        "*** Try using",
    ];
    STARTS.iter().any(|s| line.starts_with(s))
        || line.contains(" arg does not exist: ")
        || line.contains(" arg is not a dir: ")
        || generic::severity(line) == Some(Severity::Warning)
}

/// An itemized line (`-i`) of a regular file sent or received:
/// `>f+++++++++ name`, `<f.st...... name` (9 to 11 flag characters).
fn is_itemized_transfer(line: &str) -> bool {
    const FLAGS: &[u8] = b".+?cstTpoguaxbn";
    let b = line.as_bytes();
    let Some(end) = b.iter().position(|&c| c == b' ') else {
        return false;
    };
    (9..=11).contains(&end)
        && matches!(b[0], b'<' | b'>')
        && b[1] == b'f'
        && b[2..end].iter().all(|c| FLAGS.contains(c))
        && end + 1 < b.len()
}

/// A count as rsync prints it: `1,234`, `1.234` (a locale's separator) or
/// `1234`, maybe followed by ` (reg: ..., dir: ...)`.
fn count(text: &str) -> Option<u64> {
    let word = text.split_whitespace().next()?;
    let digits: String = word
        .chars()
        .filter(|c| !matches!(c, ',' | '.' | '\''))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A size as rsync prints it: `5,000` or `5,000 bytes`, or in units with
/// `-h` (`97.66K`, `1.23M`, `4,50G` in a locale with a decimal comma; a
/// `B` after the unit is allowed), `unit` being 1000 or 1024.
fn size(text: &str, unit: f64) -> Option<u64> {
    let word = text.split_whitespace().next()?;
    let end = word
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
        .unwrap_or(word.len());
    let (number, suffix) = word.split_at(end);
    let suffix = match suffix.strip_suffix(['B', 'b']) {
        Some(s) if !s.is_empty() => s,
        _ => suffix,
    };
    let power = match suffix {
        "" | "B" | "b" => return count(number),
        "K" | "k" => 1,
        "M" | "m" => 2,
        "G" | "g" => 3,
        "T" | "t" => 4,
        "P" | "p" => 5,
        _ => return None,
    };
    // `%.2f` in the locale: one decimal separator, `.` or `,`.
    let value: f64 = number.replace(',', ".").parse().ok()?;
    let bytes = (value * unit.powi(power)).round();
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_LINES;
    use crate::{Report, ToolChoice};
    use notify_core::{Outcome, TaskResult};

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[track_caller]
    fn check_args(args: &str, source: Option<&str>, destination: Option<&str>) {
        let o = Options::parse(&words(args));
        assert_eq!(
            (o.source.as_deref(), o.destination.as_deref()),
            (source, destination),
            "{args}"
        );
    }

    #[test]
    fn sources_and_destination() {
        check_args(
            "-a /home/ /mnt/backup/",
            Some("/home/"),
            Some("/mnt/backup/"),
        );
        check_args(
            "-a /etc /home host:/backup",
            Some("/etc, /home"),
            Some("host:/backup"),
        );
        check_args(
            "-avz -e ssh /src/ user@host:/dst/",
            Some("/src/"),
            Some("user@host:/dst/"),
        );
        check_args("-avze ssh /src/ /dst/", Some("/src/"), Some("/dst/"));
        check_args("-avzessh /src/ /dst/", Some("/src/"), Some("/dst/"));
        check_args("--rsh=ssh -a /src/ /dst/", Some("/src/"), Some("/dst/"));
        check_args("--rsh ssh -a /src/ /dst/", Some("/src/"), Some("/dst/"));
        check_args(
            "-a --exclude *.tmp --exclude=.cache /s /d",
            Some("/s"),
            Some("/d"),
        );
        check_args("-a -f -_*.o -f+_x /s /d", Some("/s"), Some("/d"));
        check_args("-a --filter -_*.o /s /d", Some("/s"), Some("/d"));
        check_args("--files-from list.txt / /d", Some("/"), Some("/d"));
        check_args("-a --link-dest /prev /s /d", Some("/s"), Some("/d"));
        check_args(
            "-a --backup-dir old --suffix .bak /s /d",
            Some("/s"),
            Some("/d"),
        );
        check_args("-aB 8192 -T /tmp /s /d", Some("/s"), Some("/d"));
        check_args("-a --chmod Du+w --chown a:b /s /d", Some("/s"), Some("/d"));
        check_args(
            "--timeout 30 --bwlimit 1m --max-size 1G /s /d",
            Some("/s"),
            Some("/d"),
        );
        check_args("--info progress2 --debug del /s /d", Some("/s"), Some("/d"));
        check_args(
            "--out-format %n --log-file /l /s /d",
            Some("/s"),
            Some("/d"),
        );
        check_args(
            "-M --fake-super --port 873 /s host::m",
            Some("/s"),
            Some("host::m"),
        );
        check_args(
            "--password-file /p rsync://h/m/ /d",
            Some("rsync://h/m/"),
            Some("/d"),
        );
        check_args(
            "--iconv utf8,latin1 --zc zstd --zl 3 /s /d",
            Some("/s"),
            Some("/d"),
        );
        check_args(
            "--compress-level 9 --skip-compress gz /s /d",
            Some("/s"),
            Some("/d"),
        );
        check_args(
            "--stop-after 60 --stop-at 23:00 /s /d",
            Some("/s"),
            Some("/d"),
        );
        check_args("--usermap a:b --groupmap c:d /s /d", Some("/s"), Some("/d"));
        check_args("--modify-window 2 -@ 1 /s /d", Some("/s"), Some("/d"));
        check_args(
            "--contimeout 5 --sockopts x --address 1.2.3.4 /s /d",
            Some("/s"),
            Some("/d"),
        );
        check_args("--write-batch b /s /d", Some("/s"), Some("/d"));
        check_args("--read-batch b /d", None, Some("/d"));
        check_args(
            "--partial-dir .p --temp-dir /t /s /d",
            Some("/s"),
            Some("/d"),
        );
        check_args("--stderr errors /s /d", Some("/s"), Some("/d"));
        check_args("-a -- -odd-name /d", Some("-odd-name"), Some("/d"));
        check_args("-a host:/src", Some("host:/src"), None);
        check_args("-a", None, None);
        check_args("", None, None);
        check_args("-", Some("-"), None);
        check_args("-é x y", Some("x"), Some("y"));
    }

    #[track_caller]
    fn check_options(args: &str, want: impl Fn(&Options) -> bool) {
        let o = Options::parse(&words(args));
        assert!(want(&o), "{args}: {o:?}");
    }

    #[test]
    fn options_that_change_the_output() {
        check_options("-a /s /d", |o| o.human == 0 && o.unit() == 1000.0);
        check_options("-ah /s /d", |o| o.human == 1 && o.unit() == 1000.0);
        check_options("-ahh /s /d", |o| o.unit() == 1024.0);
        check_options("-h --human-readable /s /d", |o| o.unit() == 1024.0);
        check_options("-hh --no-h -h /s /d", |o| o.unit() == 1000.0);
        check_options("-an /s /d", |o| o.dry_run);
        check_options("--dry-run /s /d", |o| o.dry_run);
        check_options("--only-write-batch=b /s /d", |o| o.dry_run);
        check_options("-e nice /s /d", |o| !o.dry_run);
        check_options("-ai /s /d", |o| o.itemize);
        check_options("--out-format=%i%n /s /d", |o| o.itemize);
        check_options("--out-format %n /s /d", |o| !o.itemize);
        check_options("--delete-after /s /d", |o| o.delete);
        check_options("--del /s /d", |o| o.delete);
        check_options("--delay-updates /s /d", |o| !o.delete);
        check_options("--stderr=all /s /d", |o| o.messages_on_stderr);
        check_options("--stderr c /s /d", |o| o.messages_on_stderr);
        check_options("--stderr=errors /s /d", |o| !o.messages_on_stderr);
        check_options("--msgs2stderr /s /d", |o| o.messages_on_stderr);
    }

    #[test]
    fn numbers() {
        let cases: &[(&str, f64, Option<u64>)] = &[
            ("1,234,567 bytes", 1000.0, Some(1_234_567)),
            ("1.234.567 bytes", 1000.0, Some(1_234_567)),
            ("1234567", 1000.0, Some(1_234_567)),
            ("0 bytes", 1000.0, Some(0)),
            ("300.00K bytes", 1000.0, Some(300_000)),
            ("292.97K", 1024.0, Some(300_001)),
            ("97.66K bytes", 1024.0, Some(100_004)),
            ("1.23M", 1000.0, Some(1_230_000)),
            ("1.23MB", 1000.0, Some(1_230_000)),
            ("4,50G", 1000.0, Some(4_500_000_000)),
            ("1.00T", 1024.0, Some(1 << 40)),
            ("2.00P", 1000.0, Some(2_000_000_000_000_000)),
            ("999", 1000.0, Some(999)),
            ("12B", 1000.0, Some(12)),
            ("", 1000.0, None),
            ("bytes", 1000.0, None),
            ("1.2X", 1000.0, None),
            ("1.2.3K", 1000.0, None),
            ("99999999999999999999999", 1000.0, None),
            ("9999999999999999999999.00P", 1024.0, Some(u64::MAX)),
        ];
        for &(text, unit, want) in cases {
            assert_eq!(size(text, unit), want, "{text:?}");
        }
        assert_eq!(count("1,234 (reg: 1,000, dir: 234)"), Some(1234));
        assert_eq!(count("0"), Some(0));
        assert_eq!(count("(reg: 1)"), None);
        assert_eq!(count(""), None);
    }

    #[test]
    fn itemized_lines() {
        let cases = [
            (">f+++++++++ new.txt", true),
            (">f.st...... changed.txt", true),
            ("<f+++++++++ sent/to/remote", true),
            (">f..t.... old-2.6-format", true),
            (".f...p..... attributes-only", false),
            ("cd+++++++++ dir/", false),
            (">f+++++++++", false),
            ("hf+++++++++ hardlink => x", false),
            ("*deleting   gone.txt", false),
            ("f1", false),
            ("", false),
            (">fé+++++++ x", false),
        ];
        for (line, want) in cases {
            assert_eq!(is_itemized_transfer(line), want, "{line:?}");
        }
    }

    /// Reads `out` and `err` as an rsync run of `args` with `outcome`.
    fn read(args: &str, out: &str, err: &str, outcome: Outcome) -> TaskResult {
        let mut argv = vec!["rsync".to_owned()];
        argv.extend(words(args));
        let invocation = Invocation::parse(&argv, ToolChoice::Auto);
        let mut report = Report::new(&invocation, &|_| None, 1 << 16);
        report.feed(Stream::Stdout, out.as_bytes());
        report.feed(Stream::Stderr, err.as_bytes());
        let mut result = TaskResult::new("t", outcome);
        report.finish(&mut result);
        result
    }

    #[track_caller]
    fn check_output(args: &str, out: &str, err: &str, check: impl Fn(&TaskResult) -> bool) {
        let r = read(args, out, err, Outcome::Success);
        assert!(check(&r), "{args} {out:?} {err:?}: {r:#?}");
    }

    fn extra<'r>(r: &'r TaskResult, key: &str) -> Option<&'r str> {
        r.extra.get(key).map(String::as_str)
    }

    const STATS: &str = "\n\
Number of files: 6 (reg: 4, dir: 2)
Number of created files: 5 (reg: 4, dir: 1)
Number of deleted files: 1 (reg: 1)
Number of regular files transferred: 4
Total file size: 300,003 bytes
Total transferred file size: 200,002 bytes
Literal data: 200,002 bytes
Matched data: 0 bytes
File list size: 0
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 300,402
Total bytes received: 103

sent 300,402 bytes  received 103 bytes  601,010.00 bytes/sec
total size is 300,003  speedup is 1.00
";

    #[test]
    fn statistics() {
        check_output("-a --stats /s /d", STATS, "", |r| {
            r.files_copied == Some(4)
                && r.bytes_copied == Some(200_002)
                && extra(r, keys::FILES_PROCESSED) == Some("6")
                && extra(r, keys::FILES_NEW) == Some("5")
                && extra(r, keys::FILES_DELETED) == Some("1")
                && extra(r, keys::DATA_PROCESSED) == Some("300003")
                && r.error_count == 0
                && r.warning_count == 0
        });
        // rsync 3.0: no separators, no created or deleted counts.
        check_output(
            "-a --stats /s /d",
            "Number of files: 6\nNumber of files transferred: 4\nTotal file size: 300003 bytes\nTotal transferred file size: 300003 bytes\n",
            "",
            |r| {
                r.files_copied == Some(4)
                    && r.bytes_copied == Some(300_003)
                    && extra(r, keys::FILES_NEW).is_none()
                    && extra(r, keys::FILES_DELETED).is_none()
            },
        );
        // -hh: units of 1024.
        check_output(
            "-a -hh --stats /s /d",
            "Number of regular files transferred: 1,000\nTotal file size: 2.00G bytes\nTotal transferred file size: 97.66K bytes\n",
            "",
            |r| {
                r.files_copied == Some(1000)
                    && r.bytes_copied == Some(100_004)
                    && extra(r, keys::DATA_PROCESSED) == Some("2147483648")
            },
        );
        // -h: units of 1000.
        check_output(
            "-avh --stats /s /d",
            "Total transferred file size: 1.23M bytes\ntotal size is 4.56G  speedup is 1.00\n",
            "",
            |r| {
                r.bytes_copied == Some(1_230_000)
                    && extra(r, keys::DATA_PROCESSED) == Some("4560000000")
            },
        );
        // A German locale.
        check_output(
            "-a --stats /s /d",
            "Number of files: 1.234 (reg: 1.000, dir: 234)\nTotal transferred file size: 5.000 bytes\n",
            "",
            |r| extra(r, keys::FILES_PROCESSED) == Some("1234") && r.bytes_copied == Some(5000),
        );
        // Without --stats: the closing lines only.
        check_output(
            "-a /s /d",
            "\nsent 1,234 bytes  received 56 bytes  2,580.00 bytes/sec\ntotal size is 300,003  speedup is 232.56\n",
            "",
            |r| {
                r.files_copied.is_none()
                    && r.bytes_copied.is_none()
                    && extra(r, keys::DATA_PROCESSED) == Some("300003")
            },
        );
        // --stderr=all: the statistics on stderr.
        let r = read("-a --stats --stderr=all /s /d", "", STATS, Outcome::Success);
        assert_eq!((r.files_copied, r.error_count), (Some(4), 0), "{r:#?}");
    }

    #[test]
    fn dry_runs_copy_nothing() {
        for args in ["-an --stats /s /d", "-a --stats /s /d"] {
            let out = STATS.replace("speedup is 1.00", "speedup is 1.00 (DRY RUN)");
            check_output(args, &out, "", |r| {
                r.files_copied.is_none()
                    && r.bytes_copied.is_none()
                    && extra(r, keys::FILES_NEW).is_none()
                    && extra(r, keys::FILES_DELETED).is_none()
                    && extra(r, keys::FILES_PROCESSED) == Some("6")
                    && extra(r, keys::DATA_PROCESSED) == Some("300003")
            });
        }
    }

    #[test]
    fn file_lists() {
        let itemized = "sending incremental file list\n.d..t...... ./\n>f+++++++++ a\n>f.st...... b\ncd+++++++++ sub/\n.f...p..... c\n*deleting   old\n\nsent 1 bytes  received 2 bytes  3.00 bytes/sec\ntotal size is 10  speedup is 1.00\n";
        check_output("-ai --delete /s /d", itemized, "", |r| {
            r.files_copied == Some(2) && extra(r, keys::FILES_DELETED) == Some("1")
        });
        // Not itemized: not counted.
        let verbose = "sending incremental file list\ndeleting old\n./\na\nb\n\nsent 1 bytes  received 2 bytes  3.00 bytes/sec\n";
        check_output("-av --delete /s /d", verbose, "", |r| {
            r.files_copied.is_none() && extra(r, keys::FILES_DELETED) == Some("1")
        });
        check_output("-av /s /d", verbose, "", |r| {
            extra(r, keys::FILES_DELETED).is_none()
        });
        // Itemized, nothing to do: zero.
        check_output("-ai --delete /s /d", "", "", |r| {
            r.files_copied == Some(0) && extra(r, keys::FILES_DELETED) == Some("0")
        });
        // --stats wins over the list.
        let both = format!("{itemized}{STATS}");
        check_output("-ai --delete --stats /s /d", &both, "", |r| {
            r.files_copied == Some(4)
        });
        // Names that look like errors are file names on stdout.
        check_output("-av /s /d", "error.log\nrsync: x\nwarning.txt\n", "", |r| {
            r.error_count == 0 && r.warning_count == 0
        });
        // Progress lines are not errors.
        let progress = "\r         32,768  10%    0.00kB/s    0:00:00  \r        300,003 100%  254.86MB/s    0:00:00 (xfr#4, to-chk=0/6)\n";
        check_output("-a --info=progress2 /s /d", progress, "", |r| {
            r.error_count == 0 && r.warning_count == 0 && r.errors.is_empty()
        });
    }

    #[track_caller]
    fn check_messages(args: &str, err: &str, outcome: Outcome, errors: &[&str], warnings: &[&str]) {
        let r = read(args, "", err, outcome);
        assert_eq!(r.errors, errors, "{args} {err:?}");
        assert_eq!(r.warnings, warnings, "{args} {err:?}");
        assert_eq!(
            (r.error_count, r.warning_count),
            (errors.len() as u64, warnings.len() as u64)
        );
    }

    #[test]
    fn errors_and_warnings() {
        use Outcome::*;
        const DENIED: &str =
            "rsync: [sender] send_files failed to open \"/s/secret\": Permission denied (13)";
        const CODE23: &str = "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [sender=3.2.7]";
        check_messages(
            "-a /s /d",
            &format!("{DENIED}\n{CODE23}\n"),
            Warning,
            &[DENIED, CODE23],
            &[],
        );
        check_messages(
            "-a /nonexistent/ /d",
            "rsync: change_dir \"/nonexistent\" failed: No such file or directory (2)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1207) [sender=3.1.3]\n",
            Warning,
            &[
                "rsync: change_dir \"/nonexistent\" failed: No such file or directory (2)",
                "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1207) [sender=3.1.3]",
            ],
            &[],
        );
        const VANISHED: &str = "file has vanished: \"/s/tmp/x\"";
        const CODE24: &str = "rsync warning: some files vanished before they could be transferred (code 24) at main.c(1338) [sender=3.2.7]";
        check_messages(
            "-a /s /d",
            &format!("{VANISHED}\n{CODE24}\n"),
            Warning,
            &[],
            &[VANISHED, CODE24],
        );
        // Another program's lines count only with an error of rsync's: an
        // ssh banner in a clean run does not, ssh's error in a failed one
        // does, in its place.
        check_messages(
            "-a /s h:/d",
            "Authorized uses only.\nWarning: Permanently added 'h' (ED25519) to the list of known hosts.\n",
            Success,
            &[],
            &["Warning: Permanently added 'h' (ED25519) to the list of known hosts."],
        );
        check_messages(
            "-a /s h:/d",
            "ssh: connect to host h port 22: Connection refused\nrsync: connection unexpectedly closed (0 bytes received so far) [sender]\nrsync error: unexplained error (code 255) at io.c(231) [sender=3.2.7]\n",
            Failure,
            &[
                "ssh: connect to host h port 22: Connection refused",
                "rsync: connection unexpectedly closed (0 bytes received so far) [sender]",
                "rsync error: unexplained error (code 255) at io.c(231) [sender=3.2.7]",
            ],
            &[],
        );
        check_messages(
            "-a /s /d",
            "cannot delete non-empty directory: x\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [generator=3.2.7]\ntrailing\n",
            Warning,
            &[
                "cannot delete non-empty directory: x",
                "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [generator=3.2.7]",
                "trailing",
            ],
            &[],
        );
        check_messages(
            "-a /s h::m/",
            "@ERROR: Unknown module 'm'\nrsync error: error starting client-server protocol (code 5) at main.c(1850) [sender=3.2.7]\n",
            Failure,
            &[
                "@ERROR: Unknown module 'm'",
                "rsync error: error starting client-server protocol (code 5) at main.c(1850) [sender=3.2.7]",
            ],
            &[],
        );
        check_messages(
            "-a /s a b c",
            "ERROR: destination must be a directory when copying more than 1 file\nrsync error: errors selecting input/output files, dirs (code 3) at main.c(791) [Receiver=3.2.7]\n",
            Failure,
            &[
                "ERROR: destination must be a directory when copying more than 1 file",
                "rsync error: errors selecting input/output files, dirs (code 3) at main.c(791) [Receiver=3.2.7]",
            ],
            &[],
        );
        check_messages(
            "-a --link-dest /p /s /d",
            "--link-dest arg does not exist: /p\nskipping non-regular file \"x\"\nWARNING: f failed verification -- update discarded (will try again).\n",
            Success,
            &[],
            &[
                "--link-dest arg does not exist: /p",
                "skipping non-regular file \"x\"",
                "WARNING: f failed verification -- update discarded (will try again).",
            ],
        );
        check_messages(
            "-a /s /d",
            "rsync error: received SIGINT, SIGTERM, or SIGHUP (code 20) at rsync.c(713) [sender=3.2.7]\n",
            Cancelled,
            &["rsync error: received SIGINT, SIGTERM, or SIGHUP (code 20) at rsync.c(713) [sender=3.2.7]"],
            &[],
        );
        // Messages on stderr: only rsync's marked lines count.
        check_messages(
            "-av --stderr=all /s /d",
            "sending incremental file list\nerror.log\nwarning: not-a-warning\nrsync: [sender] send_files failed to open \"/s/x\": Permission denied (13)\n",
            Warning,
            &["rsync: [sender] send_files failed to open \"/s/x\": Permission denied (13)"],
            &[],
        );
        // A failure with nothing recognisable: the last stderr lines.
        check_messages("-a /s /d", "Killed\n", Failure, &["Killed"], &[]);
    }

    #[test]
    fn held_lines_are_bounded_and_counted() {
        let mut err = String::new();
        for i in 0..(MAX_LINES + 20) {
            err.push_str(&format!("cannot delete non-empty directory: d{i}\n"));
        }
        err.push_str("rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [generator=3.2.7]\n");
        let r = read("-a /s /d", "", &err, Outcome::Warning);
        assert_eq!(r.error_count, MAX_LINES as u64 + 21);
        assert_eq!(r.errors.len(), MAX_LINES);
        assert!(r.errors[MAX_LINES - 1].starts_with("rsync error:"));
        assert_eq!(r.errors[0], "cannot delete non-empty directory: d0");
    }

    #[test]
    fn no_panic_on_odd_input() {
        let odd = [
            "Number of files: ",
            "Number of files: x",
            "Total file size: ",
            "Total file size: 1.5Q bytes",
            "Total transferred file size: ,,, bytes",
            "total size is   speedup is",
            ">f",
            "rsync error:",
            "\u{fffd}\u{fffd}",
            "  ",
        ];
        for line in odd {
            for stream in [Stream::Stdout, Stream::Stderr] {
                let invocation = Invocation::parse(&["rsync", "-ai", "--delete"], ToolChoice::Auto);
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
            let mut argv = vec!["rsync".to_owned()];
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
