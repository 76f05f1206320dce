//! The value catalogue: every `##Value##` a template can use, its names in
//! every locale, its description, and the sample values for previews.

use notify_core::{Outcome, TaskResult};
use time::macros::datetime;
use time::UtcOffset;

use crate::locale::{Locale, ALL, LOCALE_COUNT};
use crate::render::write_value;
use crate::{Context, Mode};

/// How many catalogue values there are.
pub(crate) const VALUE_COUNT: usize = 30;

/// A value of the catalogue: one field (or derived fact) of a
/// [`TaskResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ValueId {
    /// `Task Name` / `Backup-Name`.
    TaskName,
    /// `Exit Status` / `Status beim Beenden`: the localized status sentence.
    ExitStatus,
    /// `Exit Code` / `Exit-Code`: the number, or `signal 9 (SIGKILL)`.
    ExitCode,
    /// `Computer Name` / `Computername`.
    ComputerName,
    /// `Source` / `Quelle`.
    Source,
    /// `Destination` / `Ziel`.
    Destination,
    /// `Start Time` / `Startzeit`, in the context's offset.
    StartTime,
    /// `End Time` / `Endzeit`, in the context's offset.
    EndTime,
    /// `Elapsed Time` / `Dauer`.
    ElapsedTime,
    /// `Data Copied` / `Kopierte Daten`, in decimal units.
    DataCopied,
    /// `Files Copied` / `Kopierte Dateien`.
    FilesCopied,
    /// `Error Count` / `Anzahl Fehler`.
    ErrorCount,
    /// `Warning Count` / `Anzahl Warnungen`.
    WarningCount,
    /// `Errors` / `Fehler`: the error lines, one per line.
    Errors,
    /// `Log Tail` / `Protokollauszug`.
    LogTail,
    /// `Command` / `Befehl`.
    Command,
    /// `Warnings` / `Warnungen`: the warning lines, one per line.
    Warnings,
    /// `Snapshot ID` / `Snapshot-ID` (restic).
    SnapshotId,
    /// `Archive` / `Archiv` (borg).
    Archive,
    /// `Files New` / `Neue Dateien`.
    FilesNew,
    /// `Files Changed` / `Geänderte Dateien`.
    FilesChanged,
    /// `Files Unmodified` / `Unveränderte Dateien`.
    FilesUnmodified,
    /// `Files Deleted` / `Gelöschte Dateien`.
    FilesDeleted,
    /// `Files Processed` / `Verarbeitete Dateien`.
    FilesProcessed,
    /// `Data Processed` / `Verarbeitete Daten`.
    DataProcessed,
    /// `Data Added` / `Hinzugefügte Daten`.
    DataAdded,
    /// `Data Compressed` / `Komprimierte Daten`.
    DataCompressed,
    /// `Status Color` / `Statusfarbe`: a colour for the outcome, for HTML.
    StatusColor,
    /// `Last Run` / `Letzter Lauf`: in a check's finding, when the last run
    /// started and how it ended.
    LastRun,
    /// `Expected By` / `Erwartet bis`: in an overdue finding, when the next
    /// run was expected.
    ExpectedBy,
}

/// How a value that a tool's reader found (kept in `TaskResult::extra`
/// under [`ValueId::key`]) is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolKind {
    /// Text as it is.
    Text,
    /// A count, with the locale's thousands separator.
    Count,
    /// A byte count, in decimal units.
    Size,
}

impl ValueId {
    /// Every value, in catalogue order.
    pub const ALL: [ValueId; VALUE_COUNT] = [
        ValueId::TaskName,
        ValueId::ExitStatus,
        ValueId::ExitCode,
        ValueId::ComputerName,
        ValueId::Source,
        ValueId::Destination,
        ValueId::StartTime,
        ValueId::EndTime,
        ValueId::ElapsedTime,
        ValueId::DataCopied,
        ValueId::FilesCopied,
        ValueId::ErrorCount,
        ValueId::WarningCount,
        ValueId::Errors,
        ValueId::LogTail,
        ValueId::Command,
        ValueId::Warnings,
        ValueId::SnapshotId,
        ValueId::Archive,
        ValueId::FilesNew,
        ValueId::FilesChanged,
        ValueId::FilesUnmodified,
        ValueId::FilesDeleted,
        ValueId::FilesProcessed,
        ValueId::DataProcessed,
        ValueId::DataAdded,
        ValueId::DataCompressed,
        ValueId::StatusColor,
        ValueId::LastRun,
        ValueId::ExpectedBy,
    ];

    /// A stable machine name in snake_case, e.g. `task_name` (for JSON
    /// listings; it is also accepted in templates, as `##task_name##`).
    pub fn key(self) -> &'static str {
        match self {
            ValueId::TaskName => "task_name",
            ValueId::ExitStatus => "exit_status",
            ValueId::ExitCode => "exit_code",
            ValueId::ComputerName => "computer_name",
            ValueId::Source => "source",
            ValueId::Destination => "destination",
            ValueId::StartTime => "start_time",
            ValueId::EndTime => "end_time",
            ValueId::ElapsedTime => "elapsed_time",
            ValueId::DataCopied => "data_copied",
            ValueId::FilesCopied => "files_copied",
            ValueId::ErrorCount => "error_count",
            ValueId::WarningCount => "warning_count",
            ValueId::Errors => "errors",
            ValueId::LogTail => "log_tail",
            ValueId::Command => "command",
            ValueId::Warnings => "warnings",
            ValueId::SnapshotId => "snapshot_id",
            ValueId::Archive => "archive",
            ValueId::FilesNew => "files_new",
            ValueId::FilesChanged => "files_changed",
            ValueId::FilesUnmodified => "files_unmodified",
            ValueId::FilesDeleted => "files_deleted",
            ValueId::FilesProcessed => "files_processed",
            ValueId::DataProcessed => "data_processed",
            ValueId::DataAdded => "data_added",
            ValueId::DataCompressed => "data_compressed",
            ValueId::StatusColor => "status_color",
            ValueId::LastRun => "last_run",
            ValueId::ExpectedBy => "expected_by",
        }
    }

    /// For a value a tool's reader finds (`Snapshot ID`, `Data Added`, ...):
    /// how it is shown. It lives in `TaskResult::extra` under
    /// [`ValueId::key`], counts and sizes as whole numbers.
    pub(crate) fn tool_kind(self) -> Option<ToolKind> {
        Some(match self {
            ValueId::SnapshotId | ValueId::Archive => ToolKind::Text,
            ValueId::FilesNew
            | ValueId::FilesChanged
            | ValueId::FilesUnmodified
            | ValueId::FilesDeleted
            | ValueId::FilesProcessed => ToolKind::Count,
            ValueId::DataProcessed | ValueId::DataAdded | ValueId::DataCompressed => ToolKind::Size,
            _ => return None,
        })
    }

    /// Whether this value lives in `TaskResult::extra` (under
    /// [`ValueId::key`]) rather than in a field of its own: the values a
    /// tool's reader finds.
    pub fn is_tool_value(self) -> bool {
        self.tool_kind().is_some()
    }

    /// This value's catalogue entry.
    pub fn info(self) -> &'static ValueInfo {
        &CATALOGUE[self as usize]
    }
}

/// A catalogue entry: a value's names, description and sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValueInfo {
    id: ValueId,
}

impl ValueInfo {
    /// Which value this is.
    pub fn id(&self) -> ValueId {
        self.id
    }

    /// The display name in a locale, e.g. `Task Name` or `Backup-Name`.
    pub fn name(&self, locale: &Locale) -> &'static str {
        locale.value_names[self.id as usize]
    }

    /// Every name the value answers to: its display name in each locale
    /// (English first). Matching also ignores case, spaces, `-` and `_`.
    pub fn names(&self) -> &'static [&'static str] {
        &NAMES[self.id as usize]
    }

    /// A one-line description in a locale.
    pub fn description(&self, locale: &Locale) -> &'static str {
        locale.value_descriptions[self.id as usize]
    }

    /// The value of [`sample_result`] formatted as a template would render
    /// it in `locale` (plain text, times in UTC).
    pub fn sample(&self, locale: &Locale) -> String {
        let result = match self.id {
            ValueId::LastRun | ValueId::ExpectedBy => overdue_sample(),
            _ => full_sample(),
        };
        let ctx = Context {
            result: &result,
            locale,
            offset: UtcOffset::UTC,
        };
        let mut out = String::new();
        self.render(&ctx, Mode::Text, &mut out);
        out
    }

    /// Appends this value of `ctx.result` to `out`, formatted and escaped
    /// for `mode` exactly as in a template.
    pub fn render(&self, ctx: &Context<'_>, mode: Mode, out: &mut String) {
        write_value(self.id, ctx, mode, out);
    }
}

/// The whole catalogue, in [`ValueId::ALL`] order.
pub fn catalogue() -> &'static [ValueInfo] {
    &CATALOGUE
}

static CATALOGUE: [ValueInfo; VALUE_COUNT] = {
    let mut out = [ValueInfo {
        id: ValueId::TaskName,
    }; VALUE_COUNT];
    let mut i = 0;
    while i < VALUE_COUNT {
        out[i] = ValueInfo {
            id: ValueId::ALL[i],
        };
        i += 1;
    }
    out
};

/// Every value's display names, one per locale, built from the locale data.
static NAMES: [[&str; LOCALE_COUNT]; VALUE_COUNT] = {
    let mut out = [[""; LOCALE_COUNT]; VALUE_COUNT];
    let mut value = 0;
    while value < VALUE_COUNT {
        let mut l = 0;
        while l < LOCALE_COUNT {
            out[value][l] = ALL[l].value_names[value];
            l += 1;
        }
        value += 1;
    }
    out
};

/// [`sample_result`] with every value set, also those a restic run does
/// not have (borg's archive, rsync's deleted files, a warning), so that
/// `template values` shows a sample for each.
fn full_sample() -> TaskResult {
    let mut result = sample_result();
    result.warning_count = 1;
    result
        .warnings
        .push("/home/anna/.cache/thumbs.db: file changed while we backed it up".to_owned());
    for (key, value) in [
        ("archive", "fileserver-2026-11-21T01:00:05"),
        ("files_deleted", "12"),
        ("data_compressed", "1102004224"),
    ] {
        result.extra.insert(key.to_owned(), value.to_owned());
    }
    result
}

/// The finding of a check that `Daily Backup` is overdue: it last ran (as
/// in [`sample_result`]) a day and a half before, and was expected a day
/// after that.
pub fn overdue_sample() -> TaskResult {
    let last = sample_result();
    let due = datetime!(2026-11-22 01:00:00 UTC);
    let mut result = notify_core::SilenceNotice::new(notify_core::Silence::Overdue, due)
        .last_run(last.started_at, Some(last.outcome))
        .expected_by(Some(due))
        .into_result(last.task_name);
    result.computer_name = last.computer_name;
    result
}

/// A realistic result for previews and test mails: a successful nightly
/// "Daily Backup" of `/home` with restic, with times, sizes, counts, the
/// snapshot and a log tail as restic prints them.
pub fn sample_result() -> TaskResult {
    let mut result = TaskResult::new("Daily Backup", Outcome::Success);
    result.exit_code = Some(0);
    result.started_at = Some(datetime!(2026-11-21 01:00:05 UTC));
    result.finished_at = Some(datetime!(2026-11-21 02:02:10 UTC));
    result.source = Some("/home".to_owned());
    result.destination = Some("sftp:backup@nas:/srv/restic".to_owned());
    result.bytes_copied = Some(1_503_238_553);
    result.files_copied = Some(12_345);
    for (key, value) in [
        ("snapshot_id", "5d2a4f3c"),
        ("files_new", "120"),
        ("files_changed", "35"),
        ("files_unmodified", "12190"),
        ("files_processed", "12345"),
        ("data_processed", "1503238553"),
        ("data_added", "210763776"),
    ] {
        result.extra.insert(key.to_owned(), value.to_owned());
    }
    result.log_tail = Some(
        "Files:         120 new,    35 changed, 12190 unmodified\n\
         Dirs:            4 new,    18 changed,  1021 unmodified\n\
         Added to the repository: 201.003 MiB (180.327 MiB stored)\n\
         \n\
         processed 12345 files, 1.400 GiB in 1:02:05\n\
         snapshot 5d2a4f3c saved\n"
            .to_owned(),
    );
    result.command = Some("restic -r sftp:backup@nas:/srv/restic backup /home".to_owned());
    result.computer_name = Some("fileserver".to_owned());
    result
}
