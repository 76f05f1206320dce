//! The value catalogue: every `##Value##` a template can use, its names in
//! every locale, its description, and the sample values for previews.

use notify_core::{Outcome, TaskResult};
use time::macros::datetime;
use time::UtcOffset;

use crate::locale::{Locale, ALL, LOCALE_COUNT};
use crate::render::write_value;
use crate::{Context, Mode};

/// How many catalogue values there are.
pub(crate) const VALUE_COUNT: usize = 16;

/// A value of the catalogue: one field (or derived fact) of a
/// [`TaskResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
        }
    }

    /// This value's catalogue entry.
    pub fn info(self) -> &'static ValueInfo {
        &CATALOGUE[self as usize]
    }
}

/// A catalogue entry: a value's names, description and sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        let result = sample_result();
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

/// A realistic result for previews and test mails: a successful nightly
/// "Daily Backup" of `/home` with rsync, with times, sizes, counts and a
/// short log tail.
pub fn sample_result() -> TaskResult {
    let mut result = TaskResult::new("Daily Backup", Outcome::Success);
    result.exit_code = Some(0);
    result.started_at = Some(datetime!(2026-11-21 01:00:05 UTC));
    result.finished_at = Some(datetime!(2026-11-21 02:02:10 UTC));
    result.source = Some("/home".to_owned());
    result.destination = Some("/mnt/backup/home".to_owned());
    result.bytes_copied = Some(1_503_238_553);
    result.files_copied = Some(12_345);
    result.log_tail = Some(
        "sent 1,503,612,400 bytes  received 271,480 bytes  401,035.69 bytes/sec\n\
         total size is 48,318,382,080  speedup is 32.13\n"
            .to_owned(),
    );
    result.command = Some("rsync -a --delete /home/ /mnt/backup/home/".to_owned());
    result.computer_name = Some("fileserver".to_owned());
    result
}
