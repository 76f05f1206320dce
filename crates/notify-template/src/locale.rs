//! Locales: every word and every formatting choice of a language, as data.
//!
//! Adding a locale means adding one more `const` [`Locale`] below and listing
//! it in [`ALL`]; the engine, the catalogue and the value names pick it up
//! from there (names in every locale are accepted in every template).

use notify_core::{Outcome, Silence, TaskResult};

use crate::catalogue::VALUE_COUNT;

/// The words and formats of one language: status sentences, value names and
/// descriptions, date/time, duration, size and number formatting, the
/// placeholder for absent values, the default subject and body, and the
/// notices `render_notification` adds to a mail.
///
/// Locales are plain data (see [`locale`] and [`locales`]); obtain one with
/// [`locale`].
#[derive(Debug, PartialEq, Eq)]
pub struct Locale {
    /// ISO 639-1 code, e.g. `en`.
    pub(crate) code: &'static str,
    /// The language's own name, e.g. `Deutsch`.
    pub(crate) name: &'static str,
    /// Status sentences in the order of [`Outcome::ALL`].
    pub(crate) statuses: [&'static str; 4],
    /// Status words of a check's findings, in the order of
    /// [`Silence::ALL`]: `Overdue`, `Did not finish`, `Still running`.
    pub(crate) silence_statuses: [&'static str; 3],
    /// What an overdue finding says: `{last_run}`, `{last_outcome}` and
    /// `{expected_by}` are replaced.
    pub(crate) overdue: &'static str,
    /// What an overdue finding says of a task that never ran:
    /// `{expected_by}` is replaced.
    pub(crate) overdue_never: &'static str,
    /// What a did-not-finish finding says: `{since}` is replaced.
    pub(crate) did_not_finish: &'static str,
    /// What a still-running finding says: `{since}` is replaced.
    pub(crate) still_running: &'static str,
    /// Notice in a recovery after the task was missing (overdue, or a run
    /// that did not finish) since `{since}`, `{duration}` before.
    pub(crate) streak_recovered_missing: &'static str,
    /// The words of the digest.
    pub(crate) digest: crate::digest::DigestWords,
    /// What an absent optional value renders as.
    pub(crate) absent: &'static str,
    /// What an empty list (no error lines) renders as.
    pub(crate) none: &'static str,
    /// The word before a signal number: `signal 9 (SIGKILL)`.
    pub(crate) signal: &'static str,
    /// Date and time pattern: `%Y` year, `%m` month, `%d` day, `%H` hour,
    /// `%M` minute, `%S` second (all zero-padded), `%z` offset as `+01:00`,
    /// `%%` a percent sign; anything else is copied.
    pub(crate) date_time: &'static str,
    /// Put between groups of three digits in counts (`12,345`).
    pub(crate) thousands_sep: &'static str,
    /// The decimal separator in sizes (`1.5 GB`).
    pub(crate) decimal_sep: &'static str,
    /// Sizes: the unit for exactly one byte, then for other byte counts
    /// below 1000.
    pub(crate) byte_one: &'static str,
    /// Byte units: bytes, then kB, MB, GB, TB, PB, EB (decimal, powers of 1000).
    pub(crate) byte_units: [&'static str; 7],
    /// Duration units: days, hours, minutes, seconds.
    pub(crate) duration_units: [&'static str; 4],
    /// The display name of each value, indexed by `ValueId as usize`.
    pub(crate) value_names: [&'static str; VALUE_COUNT],
    /// A one-line description of each value, indexed by `ValueId as usize`.
    pub(crate) value_descriptions: [&'static str; VALUE_COUNT],
    /// The default subject template.
    pub(crate) default_subject: &'static str,
    /// The default body template.
    pub(crate) default_body: &'static str,
    /// The built-in HTML body template (`html = "default"`).
    pub(crate) default_html: &'static str,
    /// The line after error or warning lines when more were counted than
    /// kept: `{n}` is replaced.
    pub(crate) more_lines: &'static str,
    /// Notice that earlier notifications through an account were given up:
    /// `{n}` and `{host}` are replaced.
    pub(crate) given_up: &'static str,
    /// Notice when a user template failed: `{label}` and `{error}` are
    /// replaced.
    pub(crate) template_error_notice: &'static str,
    /// Notice when the HTML template failed: `{label}` and `{error}` are
    /// replaced.
    pub(crate) html_error_notice: &'static str,
    /// Notice for exactly one held-back notification.
    pub(crate) suppressed_one: &'static str,
    /// Notice for `{n}` held-back notifications.
    pub(crate) suppressed_many: &'static str,
    /// Notice in a reminder: `{n}` failed runs in a row since `{since}`.
    pub(crate) streak_failing: &'static str,
    /// Notice in a recovery after one failed run that began at `{since}`,
    /// `{duration}` ago.
    pub(crate) streak_recovered_one: &'static str,
    /// Notice in a recovery after `{n}` failed runs in a row over
    /// `{duration}`, since `{since}`.
    pub(crate) streak_recovered_many: &'static str,
    /// The summary (title) of a desktop notification about a run.
    pub(crate) desktop_summary: &'static str,
    /// The body of a desktop notification about a run: one or two lines.
    pub(crate) desktop_body: &'static str,
    /// The summary of the desktop notice that a task has started.
    pub(crate) start_summary: &'static str,
    /// The body of the desktop notice that a task has started (not the
    /// command line: it may hold a password, and the notice shows on the
    /// lock screen).
    pub(crate) start_body: &'static str,
}

impl Locale {
    /// The ISO 639-1 code, e.g. `en` or `de`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The language's own name, e.g. `English` or `Deutsch`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The default subject template, written with this locale's value names.
    pub fn default_subject(&self) -> &'static str {
        self.default_subject
    }

    /// The default body template, written with this locale's value names.
    pub fn default_body(&self) -> &'static str {
        self.default_body
    }

    /// The built-in HTML body template (`html = "default"`): a line in the
    /// status's colour, the values as a table, the errors, warnings and log
    /// tail in monospace.
    pub fn default_html(&self) -> &'static str {
        self.default_html
    }

    /// The notice that `n` earlier notifications through an account were
    /// given up, naming the computer whose `notify queue list` shows them.
    pub fn given_up(&self, n: usize, host: &str) -> String {
        self.given_up
            .replace("{n}", &n.to_string())
            .replace("{host}", host)
    }

    /// The summary template of a desktop notification about a run.
    pub fn desktop_summary(&self) -> &'static str {
        self.desktop_summary
    }

    /// The body template of a desktop notification about a run: short, as
    /// desktop notifications are.
    pub fn desktop_body(&self) -> &'static str {
        self.desktop_body
    }

    /// The summary template of the desktop notice that a task has started.
    pub fn start_summary(&self) -> &'static str {
        self.start_summary
    }

    /// The body template of the desktop notice that a task has started.
    pub fn start_body(&self) -> &'static str {
        self.start_body
    }

    /// The status sentence for an outcome, e.g. `Finished successfully`.
    pub fn status(&self, outcome: Outcome) -> &'static str {
        self.statuses[outcome_index(outcome)]
    }

    /// The status word of a check's finding, e.g. `Overdue`.
    pub fn silence_status(&self, silence: Silence) -> &'static str {
        self.silence_statuses[match silence {
            Silence::Overdue => 0,
            Silence::DidNotFinish => 1,
            Silence::StillRunning => 2,
        }]
    }

    /// The status of a result: its finding's word when it is a check's
    /// finding, else its outcome's sentence.
    pub fn status_of(&self, result: &TaskResult) -> &'static str {
        match &result.silence {
            Some(notice) => self.silence_status(notice.kind),
            None => self.status(result.outcome),
        }
    }

    /// What an absent optional value (no source, no exit code, ...) renders as.
    pub fn absent(&self) -> &'static str {
        self.absent
    }
}

fn outcome_index(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Success => 0,
        Outcome::Warning => 1,
        Outcome::Failure => 2,
        Outcome::Cancelled => 3,
    }
}

/// Looks a locale up by code, ignoring case, a region and an encoding:
/// `en`, `DE`, `de-DE`, `de_DE.UTF-8` and `de_AT` all work. `None` for a
/// language notify does not speak.
pub fn locale(code: &str) -> Option<&'static Locale> {
    let lang = code
        .split(['-', '_', '.', '@'])
        .next()
        .unwrap_or_default()
        .trim();
    LOCALES
        .iter()
        .copied()
        .find(|l| l.code.eq_ignore_ascii_case(lang))
}

/// Every locale notify speaks: `en` first, then `de`.
pub fn locales() -> &'static [&'static Locale] {
    &LOCALES
}

static LOCALES: [&Locale; LOCALE_COUNT] = [&EN, &DE];

/// How many locales there are.
pub(crate) const LOCALE_COUNT: usize = 2;

/// All locales, as consts, so the catalogue's alias lists can be built at
/// compile time.
pub(crate) const ALL: [Locale; LOCALE_COUNT] = [EN, DE];

/// English.
pub(crate) const EN: Locale = Locale {
    code: "en",
    name: "English",
    statuses: [
        "Finished successfully",
        "Finished with warnings",
        "Failed",
        "Cancelled",
    ],
    silence_statuses: ["Overdue", "Did not finish", "Still running"],
    overdue: "No run since {last_run} ({last_outcome}); the next was expected by {expected_by}.",
    overdue_never: "No run recorded yet; one was expected by {expected_by}.",
    did_not_finish: "The run that started {since} did not finish: its process is gone (killed, crashed, or the computer restarted).",
    still_running: "The run that started {since} is still running, longer than its max_runtime.",
    streak_recovered_missing: "The task runs again; it was missing since {since} ({duration}).",
    digest: crate::digest::EN,
    absent: "n/a",
    none: "none",
    signal: "signal",
    date_time: "%Y-%m-%d %H:%M:%S %z",
    thousands_sep: ",",
    decimal_sep: ".",
    byte_one: "byte",
    byte_units: ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"],
    duration_units: ["d", "h", "min", "s"],
    value_names: [
        "Task Name",
        "Exit Status",
        "Exit Code",
        "Computer Name",
        "Source",
        "Destination",
        "Start Time",
        "End Time",
        "Elapsed Time",
        "Data Copied",
        "Files Copied",
        "Error Count",
        "Warning Count",
        "Errors",
        "Log Tail",
        "Command",
        "Warnings",
        "Snapshot ID",
        "Archive",
        "Files New",
        "Files Changed",
        "Files Unmodified",
        "Files Deleted",
        "Files Processed",
        "Data Processed",
        "Data Added",
        "Data Compressed",
        "Status Color",
        "Last Run",
        "Expected By",
    ],
    value_descriptions: [
        "The name of the task (backup or job) that ran.",
        "How the run ended, as a sentence: finished successfully, with warnings, failed or cancelled.",
        "The command's exit code, or the signal that ended it.",
        "The name of the computer the task ran on.",
        "What was backed up or copied.",
        "Where the data went.",
        "When the run started, in local time.",
        "When the run finished, in local time.",
        "How long the run took.",
        "How much data was copied (decimal units: 1 kB = 1000 bytes).",
        "How many files were copied.",
        "How many errors the task reported.",
        "How many warnings the task reported.",
        "The error lines the task reported, one per line.",
        "The last lines the task printed.",
        "The command line that ran.",
        "The warning lines the task reported, one per line.",
        "The ID of the snapshot the backup made (restic).",
        "The name of the archive the backup made (borg).",
        "How many files were new since the last backup.",
        "How many files changed since the last backup.",
        "How many files were unchanged since the last backup.",
        "How many files were deleted at the destination.",
        "How many files the tool looked at, changed or not.",
        "How much data the tool looked at, changed or not.",
        "How much new data was added to the repository (after deduplication).",
        "How much data the backup holds after compression.",
        "A colour for the status, for HTML templates: green, orange, red or grey.",
        "When a task found overdue or unfinished last ran, and how that run ended.",
        "When an overdue task's next run was expected.",
    ],
    default_subject: "##Computer Name##: ##Task Name##: ##Exit Status##",
    default_body: "\
##Task Name##: ##Exit Status##

Task name:      ##Task Name##
Status:         ##Exit Status##
Last run:       ##?Last Run##
Expected by:    ##?Expected By##
Exit code:      ##?Exit Code##
Computer:       ##?Computer Name##
Source:         ##?Source##
Destination:    ##?Destination##
Started:        ##?Start Time##
Finished:       ##?End Time##
Elapsed time:   ##?Elapsed Time##
Snapshot:       ##?Snapshot ID##
Archive:        ##?Archive##
Data copied:    ##?Data Copied##
Data added:     ##?Data Added##
Compressed:     ##?Data Compressed##
Files copied:   ##?Files Copied##
New files:      ##?Files New##
Changed files:  ##?Files Changed##
Unchanged:      ##?Files Unmodified##
Deleted files:  ##?Files Deleted##
Errors:         ##Error Count##
Warnings:       ##Warning Count##
Command:        ##?Command##
##if Errors##

Errors
------
##Errors##
##end##
##if Warnings##

Warnings
--------
##Warnings##
##end##
##if Log Tail##

Log tail
--------
##Log Tail##
##end##
",
    default_html: HTML_EN,
    more_lines: "… and {n} more",
    given_up: "{n} earlier notification(s) through this account could not be delivered and were given up (see `notify queue list` on {host}).",
    template_error_notice: "Note: the template {label} has an error ({error}); the default template was used instead.",
    html_error_notice: "Note: the HTML template {label} has an error ({error}); this mail has no HTML part.",
    suppressed_one: "1 earlier notification about this task was held back since the last mail.",
    suppressed_many: "{n} earlier notifications about this task were held back since the last mail.",
    streak_failing: "This task has now failed {n} times in a row, since {since}.",
    streak_recovered_one: "The task works again, after one failed run ({duration} ago, {since}).",
    streak_recovered_many: "The task works again, after {n} failed runs in a row over {duration} (since {since}).",
    desktop_summary: "##Task Name##: ##Exit Status##",
    desktop_body: "Exit code ##Exit Code####if Elapsed Time##, after ##Elapsed Time####end## on ##Computer Name##",
    start_summary: "##Task Name## started",
    start_body: "Started ##Start Time## on ##Computer Name##",
};

/// German.
pub(crate) const DE: Locale = Locale {
    code: "de",
    name: "Deutsch",
    statuses: [
        "Erfolgreich abgeschlossen",
        "Mit Warnungen abgeschlossen",
        "Fehlgeschlagen",
        "Abgebrochen",
    ],
    silence_statuses: ["Überfällig", "Nicht beendet", "Läuft noch"],
    overdue: "Kein Lauf seit {last_run} ({last_outcome}); der nächste wurde bis {expected_by} erwartet.",
    overdue_never: "Noch kein Lauf aufgezeichnet; einer wurde bis {expected_by} erwartet.",
    did_not_finish: "Der Lauf, der {since} begann, wurde nicht beendet: sein Prozess ist fort (beendet, abgestürzt oder der Computer wurde neu gestartet).",
    still_running: "Der Lauf, der {since} begann, läuft noch, länger als seine max_runtime.",
    streak_recovered_missing: "Die Aufgabe läuft wieder; sie fehlte seit {since} ({duration}).",
    digest: crate::digest::DE,
    absent: "k. A.",
    none: "keine",
    signal: "Signal",
    date_time: "%d.%m.%Y %H:%M:%S %z",
    thousands_sep: ".",
    decimal_sep: ",",
    byte_one: "Byte",
    byte_units: ["Bytes", "kB", "MB", "GB", "TB", "PB", "EB"],
    duration_units: ["Tg.", "Std.", "Min.", "Sek."],
    value_names: [
        "Backup-Name",
        "Status beim Beenden",
        "Exit-Code",
        "Computername",
        "Quelle",
        "Ziel",
        "Startzeit",
        "Endzeit",
        "Dauer",
        "Kopierte Daten",
        "Kopierte Dateien",
        "Anzahl Fehler",
        "Anzahl Warnungen",
        "Fehler",
        "Protokollauszug",
        "Befehl",
        "Warnungen",
        "Snapshot-ID",
        "Archiv",
        "Neue Dateien",
        "Geänderte Dateien",
        "Unveränderte Dateien",
        "Gelöschte Dateien",
        "Verarbeitete Dateien",
        "Verarbeitete Daten",
        "Hinzugefügte Daten",
        "Komprimierte Daten",
        "Statusfarbe",
        "Letzter Lauf",
        "Erwartet bis",
    ],
    value_descriptions: [
        "Der Name der Aufgabe (Backup oder Job), die gelaufen ist.",
        "Wie der Lauf endete, als Satz: erfolgreich, mit Warnungen, fehlgeschlagen oder abgebrochen.",
        "Der Exit-Code des Befehls oder das Signal, das ihn beendet hat.",
        "Der Name des Computers, auf dem die Aufgabe lief.",
        "Was gesichert oder kopiert wurde.",
        "Wohin die Daten gingen.",
        "Wann der Lauf begann, in Ortszeit.",
        "Wann der Lauf endete, in Ortszeit.",
        "Wie lange der Lauf dauerte.",
        "Wie viele Daten kopiert wurden (Dezimaleinheiten: 1 kB = 1000 Bytes).",
        "Wie viele Dateien kopiert wurden.",
        "Wie viele Fehler die Aufgabe gemeldet hat.",
        "Wie viele Warnungen die Aufgabe gemeldet hat.",
        "Die gemeldeten Fehlerzeilen, eine pro Zeile.",
        "Die letzten Zeilen, die die Aufgabe ausgegeben hat.",
        "Die Befehlszeile, die ausgeführt wurde.",
        "Die gemeldeten Warnzeilen, eine pro Zeile.",
        "Die ID des Snapshots, den die Sicherung angelegt hat (restic).",
        "Der Name des Archivs, das die Sicherung angelegt hat (borg).",
        "Wie viele Dateien seit der letzten Sicherung neu sind.",
        "Wie viele Dateien sich seit der letzten Sicherung geändert haben.",
        "Wie viele Dateien seit der letzten Sicherung unverändert sind.",
        "Wie viele Dateien am Ziel gelöscht wurden.",
        "Wie viele Dateien das Werkzeug geprüft hat, geändert oder nicht.",
        "Wie viele Daten das Werkzeug geprüft hat, geändert oder nicht.",
        "Wie viele neue Daten dem Repository hinzugefügt wurden (nach Deduplizierung).",
        "Wie viele Daten die Sicherung nach Komprimierung umfasst.",
        "Eine Farbe für den Status, für HTML-Vorlagen: grün, orange, rot oder grau.",
        "Wann eine überfällige oder nicht beendete Aufgabe zuletzt lief und wie dieser Lauf endete.",
        "Bis wann der nächste Lauf einer überfälligen Aufgabe erwartet wurde.",
    ],
    default_subject: "##Computername##: ##Backup-Name##: ##Status beim Beenden##",
    default_body: "\
##Backup-Name##: ##Status beim Beenden##

Backup-Name:       ##Backup-Name##
Status:            ##Status beim Beenden##
Letzter Lauf:      ##?Letzter Lauf##
Erwartet bis:      ##?Erwartet bis##
Exit-Code:         ##?Exit-Code##
Computer:          ##?Computername##
Quelle:            ##?Quelle##
Ziel:              ##?Ziel##
Beginn:            ##?Startzeit##
Ende:              ##?Endzeit##
Dauer:             ##?Dauer##
Snapshot:          ##?Snapshot-ID##
Archiv:            ##?Archiv##
Kopierte Daten:    ##?Kopierte Daten##
Neue Daten:        ##?Hinzugefügte Daten##
Komprimiert:       ##?Komprimierte Daten##
Kopierte Dateien:  ##?Kopierte Dateien##
Neue Dateien:      ##?Neue Dateien##
Geändert:          ##?Geänderte Dateien##
Unverändert:       ##?Unveränderte Dateien##
Gelöscht:          ##?Gelöschte Dateien##
Fehler:            ##Anzahl Fehler##
Warnungen:         ##Anzahl Warnungen##
Befehl:            ##?Befehl##
##if Fehler##

Fehler
------
##Fehler##
##end##
##if Warnungen##

Warnungen
---------
##Warnungen##
##end##
##if Protokollauszug##

Protokollauszug
---------------
##Protokollauszug##
##end##
",
    default_html: HTML_DE,
    more_lines: "… und {n} weitere",
    given_up: "{n} frühere Benachrichtigung(en) über dieses Konto konnten nicht zugestellt werden und wurden aufgegeben (siehe `notify queue list` auf {host}).",
    template_error_notice: "Hinweis: Die Vorlage {label} enthält einen Fehler ({error}); stattdessen wurde die Standardvorlage verwendet.",
    html_error_notice: "Hinweis: Die HTML-Vorlage {label} enthält einen Fehler ({error}); diese Mail hat keinen HTML-Teil.",
    suppressed_one: "1 frühere Benachrichtigung zu dieser Aufgabe wurde seit der letzten Mail zurückgehalten.",
    suppressed_many: "{n} frühere Benachrichtigungen zu dieser Aufgabe wurden seit der letzten Mail zurückgehalten.",
    streak_failing: "Diese Aufgabe ist jetzt {n}-mal in Folge fehlgeschlagen, seit {since}.",
    streak_recovered_one: "Die Aufgabe läuft wieder, nach einem fehlgeschlagenen Lauf (vor {duration}, {since}).",
    streak_recovered_many: "Die Aufgabe läuft wieder, nach {n} fehlgeschlagenen Läufen in Folge über {duration} (seit {since}).",
    desktop_summary: "##Backup-Name##: ##Status beim Beenden##",
    desktop_body: "Exit-Code ##Exit-Code####if Dauer##, nach ##Dauer####end## auf ##Computername##",
    start_summary: "##Backup-Name## gestartet",
    start_body: "Gestartet ##Startzeit## auf ##Computername##",
};

/// The built-in HTML body in English: inline styles only (mail clients drop
/// style sheets), one table row per value, rows of absent values left out.
const HTML_EN: &str = r##"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>##Task Name##: ##Exit Status##</title></head>
<body style="margin:0;padding:16px;background:#f4f4f4;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:760px;margin:0 auto;background:#ffffff;border:1px solid #dddddd;border-collapse:collapse">
<tr><td style="background:##Status Color##;color:#ffffff;padding:14px 18px;font-size:18px;font-weight:bold">##Task Name##: ##Exit Status##</td></tr>
<tr><td style="padding:12px 18px">
<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;font-size:14px">
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Task name</td><td style="padding:3px 0">##Task Name##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Status</td><td style="padding:3px 0">##Exit Status##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Last run</td><td style="padding:3px 0">##?Last Run##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Expected by</td><td style="padding:3px 0">##?Expected By##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Exit code</td><td style="padding:3px 0">##?Exit Code##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Computer</td><td style="padding:3px 0">##?Computer Name##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Source</td><td style="padding:3px 0">##?Source##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Destination</td><td style="padding:3px 0">##?Destination##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Started</td><td style="padding:3px 0">##?Start Time##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Finished</td><td style="padding:3px 0">##?End Time##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Elapsed time</td><td style="padding:3px 0">##?Elapsed Time##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Snapshot</td><td style="padding:3px 0;font-family:Menlo,Consolas,monospace">##?Snapshot ID##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Archive</td><td style="padding:3px 0">##?Archive##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Data copied</td><td style="padding:3px 0">##?Data Copied##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Data added</td><td style="padding:3px 0">##?Data Added##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Compressed</td><td style="padding:3px 0">##?Data Compressed##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Files copied</td><td style="padding:3px 0">##?Files Copied##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">New files</td><td style="padding:3px 0">##?Files New##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Changed files</td><td style="padding:3px 0">##?Files Changed##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Unchanged</td><td style="padding:3px 0">##?Files Unmodified##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Deleted files</td><td style="padding:3px 0">##?Files Deleted##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Errors</td><td style="padding:3px 0">##Error Count##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Warnings</td><td style="padding:3px 0">##Warning Count##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Command</td><td style="padding:3px 0;font-family:Menlo,Consolas,monospace">##?Command##</td></tr>
</table>
</td></tr>
##if Errors##
<tr><td style="padding:6px 18px 12px"><div style="font-weight:bold;margin-bottom:4px">Errors</div><pre style="margin:0;padding:10px;background:#f7f7f7;border:1px solid #e5e5e5;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word">##Errors##</pre></td></tr>
##end##
##if Warnings##
<tr><td style="padding:6px 18px 12px"><div style="font-weight:bold;margin-bottom:4px">Warnings</div><pre style="margin:0;padding:10px;background:#f7f7f7;border:1px solid #e5e5e5;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word">##Warnings##</pre></td></tr>
##end##
##if Log Tail##
<tr><td style="padding:6px 18px 12px"><div style="font-weight:bold;margin-bottom:4px">Log tail</div><pre style="margin:0;padding:10px;background:#f7f7f7;border:1px solid #e5e5e5;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word">##Log Tail##</pre></td></tr>
##end##
</table>
</body>
</html>
"##;

/// The built-in HTML body in German.
const HTML_DE: &str = r##"<!DOCTYPE html>
<html lang="de">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>##Backup-Name##: ##Status beim Beenden##</title></head>
<body style="margin:0;padding:16px;background:#f4f4f4;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:760px;margin:0 auto;background:#ffffff;border:1px solid #dddddd;border-collapse:collapse">
<tr><td style="background:##Status Color##;color:#ffffff;padding:14px 18px;font-size:18px;font-weight:bold">##Backup-Name##: ##Status beim Beenden##</td></tr>
<tr><td style="padding:12px 18px">
<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;font-size:14px">
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Backup-Name</td><td style="padding:3px 0">##Backup-Name##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Status</td><td style="padding:3px 0">##Status beim Beenden##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Letzter Lauf</td><td style="padding:3px 0">##?Letzter Lauf##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Erwartet bis</td><td style="padding:3px 0">##?Erwartet bis##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Exit-Code</td><td style="padding:3px 0">##?Exit-Code##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Computer</td><td style="padding:3px 0">##?Computername##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Quelle</td><td style="padding:3px 0">##?Quelle##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Ziel</td><td style="padding:3px 0">##?Ziel##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Beginn</td><td style="padding:3px 0">##?Startzeit##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Ende</td><td style="padding:3px 0">##?Endzeit##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Dauer</td><td style="padding:3px 0">##?Dauer##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Snapshot</td><td style="padding:3px 0;font-family:Menlo,Consolas,monospace">##?Snapshot-ID##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Archiv</td><td style="padding:3px 0">##?Archiv##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Kopierte Daten</td><td style="padding:3px 0">##?Kopierte Daten##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Neue Daten</td><td style="padding:3px 0">##?Hinzugefügte Daten##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Komprimiert</td><td style="padding:3px 0">##?Komprimierte Daten##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Kopierte Dateien</td><td style="padding:3px 0">##?Kopierte Dateien##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Neue Dateien</td><td style="padding:3px 0">##?Neue Dateien##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Geändert</td><td style="padding:3px 0">##?Geänderte Dateien##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Unverändert</td><td style="padding:3px 0">##?Unveränderte Dateien##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Gelöscht</td><td style="padding:3px 0">##?Gelöschte Dateien##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Fehler</td><td style="padding:3px 0">##Anzahl Fehler##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Warnungen</td><td style="padding:3px 0">##Anzahl Warnungen##</td></tr>
<tr><td style="padding:3px 16px 3px 0;color:#666666;white-space:nowrap;vertical-align:top">Befehl</td><td style="padding:3px 0;font-family:Menlo,Consolas,monospace">##?Befehl##</td></tr>
</table>
</td></tr>
##if Fehler##
<tr><td style="padding:6px 18px 12px"><div style="font-weight:bold;margin-bottom:4px">Fehler</div><pre style="margin:0;padding:10px;background:#f7f7f7;border:1px solid #e5e5e5;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word">##Fehler##</pre></td></tr>
##end##
##if Warnungen##
<tr><td style="padding:6px 18px 12px"><div style="font-weight:bold;margin-bottom:4px">Warnungen</div><pre style="margin:0;padding:10px;background:#f7f7f7;border:1px solid #e5e5e5;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word">##Warnungen##</pre></td></tr>
##end##
##if Protokollauszug##
<tr><td style="padding:6px 18px 12px"><div style="font-weight:bold;margin-bottom:4px">Protokollauszug</div><pre style="margin:0;padding:10px;background:#f7f7f7;border:1px solid #e5e5e5;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word">##Protokollauszug##</pre></td></tr>
##end##
</table>
</body>
</html>
"##;
